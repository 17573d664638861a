"""`scripts/prod` run for real: nginx, two app processes, two arq workers, PostgreSQL, Redis.

Run in its own pytest process with ``-p no:asyncio`` (Playwright's loop), as
``scripts/run-browser-tests`` does. The production mode gets a throwaway PostgreSQL
database, two leased Redis dbs (jobs + live channel, Reflex state), free ports, its own
RUN_DIR, and the saved-page server as every source.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from nocturne.settings import ROOT
from tests.support.browser import CHROMIUM, LAUNCH_ARGS
from tests.support.services import create_pg_database, drop_pg_database, lease_redis_db
from tests.support.site_server import SiteServer

ARTIFACTS = ROOT / "test-artifacts"
# Every job times out after this; arq retries a killed worker's job (cap + 10) s after it
# started, when its in-progress key expires (arq 0.25), so the test waits seconds, not an hour.
JOB_TIMEOUT_CAP = 12
FRIEND_ORIGIN = "https://friend.example"  # CORS_ORIGINS of the production run
READY_TIMEOUT = 240  # includes `reflex export` (~10 s here, longer on a cold bun cache)


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    """Debian's Chromium, never a downloaded one."""
    return {"executable_path": CHROMIUM, "args": LAUNCH_ARGS}


def _free_port_pair() -> int:
    """A port P with P and P+1 both free on 127.0.0.1 (the two app processes)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port >= 65000:
            continue
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return port
    raise RuntimeError("no two adjacent free ports")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env_value(value: Any) -> str:
    if isinstance(value, list | dict):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class Prod:
    """The running production mode: its URL, RUN_DIR and what it was started with."""

    url: str
    run_dir: Path
    proc: subprocess.Popen[bytes]
    database_url: str
    redis_url: str
    reflex_redis_url: str
    site: SiteServer
    app_ports: tuple[int, int]
    http_url: str  # nginx's plain-HTTP port: the site itself, or (TLS) its redirect
    cert: Path | None = None  # the self-signed certificate, when served over TLS

    def pid(self, name: str) -> int:
        return int((self.run_dir / f"{name}.pid").read_text())

    def log(self, name: str) -> str:
        return (self.run_dir / f"{name}.log").read_text(errors="replace")

    def all_pids(self) -> list[int]:
        return [int(p.read_text()) for p in self.run_dir.glob("*.pid")]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        """Signal scripts/prod and wait for it; its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)


def alive(pid: int) -> bool:
    """Whether a process with this id exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key (openssl, valid one day)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="session")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prod]:
    """`scripts/prod` started as a subprocess; stopped with SIGTERM, leaving no process."""
    with run_prod(tmp_path_factory) as running:
        yield running


@contextlib.contextmanager
def run_prod(tmp_path_factory: pytest.TempPathFactory, *, tls: bool = False) -> Iterator[Prod]:
    """`scripts/prod` with its own database, Redis dbs, ports and RUN_DIR; with ``tls``, a
    self-signed certificate for it to serve https with (deploy/nginx/nocturne.conf)."""
    db_name = f"nocturne_prod_{uuid.uuid4().hex[:8]}"
    database_url = create_pg_database(db_name)
    run_dir = tmp_path_factory.mktemp("run")
    port, app_base = _free_port(), _free_port_pair()
    http_url = f"http://127.0.0.1:{port}"
    tls_env: dict[str, str] = {}
    cert = None
    if tls:
        cert, key = self_signed_certificate(run_dir)
        https_port = _free_port()
        tls_env = {"TLS_CERT": str(cert), "TLS_KEY": str(key), "HTTPS_PORT": str(https_port)}
    url = f"https://127.0.0.1:{tls_env['HTTPS_PORT']}" if tls else http_url
    try:
        with (
            lease_redis_db() as redis_url,
            lease_redis_db() as reflex_redis_url,
            SiteServer.chicago(latency=0.05) as site,
        ):
            overrides = site.settings_overrides(
                scrape_meetup_keywords=["music"],
                email_provider="outbox",
                email_outbox_dir=run_dir / "outbox",
                rate_limit_enabled=False,
                job_timeout_cap_seconds=JOB_TIMEOUT_CAP,
                log_level="INFO",
                autofill=False,  # the tests scrape when they ask
            )
            env = {
                **os.environ,
                **{k.upper(): _env_value(v) for k, v in overrides.items()},
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_url,
                "REFLEX_REDIS_URL": reflex_redis_url,
                "PORT": str(port),
                "APP_BASE_PORT": str(app_base),
                "RUN_DIR": str(run_dir),
                "CORS_ORIGINS": json.dumps([FRIEND_ORIGIN]),
                **tls_env,
            }
            out = (run_dir / "prod.out").open("wb")
            proc = subprocess.Popen(
                ["bash", str(ROOT / "scripts/prod")],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            prod = Prod(
                url=url,
                run_dir=run_dir,
                proc=proc,
                database_url=database_url,
                redis_url=redis_url,
                reflex_redis_url=reflex_redis_url,
                site=site,
                app_ports=(app_base, app_base + 1),
                http_url=http_url,
                cert=cert,
            )
            try:
                deadline = time.monotonic() + READY_TIMEOUT
                while b"Nocturne (production mode) on" not in (run_dir / "prod.out").read_bytes():
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(
                            "scripts/prod did not start:\n"
                            + (run_dir / "prod.out").read_text(errors="replace")[-4000:]
                        )
                    time.sleep(0.5)
                yield prod
            finally:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    prod.stop()
                with contextlib.suppress(ProcessLookupError):  # whatever is left of the group
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                out.close()
    finally:
        drop_pg_database(db_name)
