"""The production nginx config passes `nginx -t` (with test certificates and a local upstream)."""

import shutil
import subprocess
from pathlib import Path

import pytest

from nocturne.settings import ROOT

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@pytest.fixture
def nginx_bin() -> str:
    if not Path(NGINX).exists():
        pytest.skip("nginx is not installed (make test installs it)")
    return NGINX


def test_production_nginx_config_is_valid(tmp_path: Path, nginx_bin: str):
    cert, key = tmp_path / "fullchain.pem", tmp_path / "privkey.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=nocturne.test", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    site = (ROOT / "deploy/nginx/nocturne.conf").read_text()
    site = site.replace("server app:3000", "server 127.0.0.1:3000")
    site = site.replace("/etc/letsencrypt/live/nocturne.example.com/fullchain.pem", str(cert))
    site = site.replace("/etc/letsencrypt/live/nocturne.example.com/privkey.pem", str(key))
    site = site.replace("listen 80;", "listen 18080;").replace("listen [::]:80;", "")
    site = site.replace("listen 443 ssl http2;", "listen 18443 ssl http2;")
    site = site.replace("listen [::]:443 ssl http2;", "")
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        "events {}\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {tmp_path};\n"
        f"  include {tmp_path}/site.conf;\n}}\n"
    )
    result = subprocess.run(
        [nginx_bin, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr and "test is successful" in result.stderr
