"""docker-compose.yml parses and starts processes the way the Makefile does."""

import re

import yaml

from nocturne.settings import ROOT


def test_compose_file_parses_and_matches_the_real_start_commands():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "app", "worker"} <= set(services)
    app_cmd = " ".join(services["app"]["command"])
    worker_cmd = " ".join(services["worker"]["command"])
    assert "scripts/prestart" in app_cmd and "scripts/prestart" in worker_cmd
    assert "arq workers.main.WorkerSettings" in worker_cmd
    makefile = (ROOT / "Makefile").read_text()
    run_line = re.search(r"^run:.*\n\t(.+)$", makefile, re.M)
    assert run_line, "Makefile has a run target"
    make_run = run_line.group(1).split("reflex ", 1)[1].split(" --frontend-port")[0]
    assert f"reflex {make_run}" in app_cmd
    # Secrets are required, not defaulted.
    assert "${SECRET_KEY:?" in (ROOT / "docker-compose.yml").read_text()
    assert "PUBLIC_URL: ${PUBLIC_URL:?" in (ROOT / "docker-compose.yml").read_text()
