"""`python -m workers scrape / cleanup / run`, as a person runs them: in a subprocess,
against a migrated SQLite file, the local site server and (for the queued mode) a real
Redis with a real worker started by `run --burst`."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from nocturne.settings import ROOT
from tests.support.services import migrate
from tests.support.site_server import SiteServer

PAGES = ROOT / "tests" / "fixtures" / "pages"


def _run(module: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k.upper() != "REDIS_URL"}
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env={**base, "PYTHONPATH": str(ROOT), "AUTOFILL": "false", **env},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def _database(tmp_path: Path) -> tuple[str, Path]:
    path = tmp_path / "cli.db"
    url = f"sqlite:///{path}"
    migrate(url, "head")
    return url, path


def _site_env(srv: SiteServer) -> dict[str, str]:
    return {
        k.upper(): json.dumps(v) if isinstance(v, dict) else str(v)
        for k, v in srv.settings_overrides().items()
    }


def _luma_events(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT count(*) FROM event WHERE city_id = 'il--chicago' AND sources LIKE '%,luma,%'"
        ).fetchone()[0]


def test_scrape_without_redis_runs_here_and_prints_the_summary(tmp_path: Path) -> None:
    url, path = _database(tmp_path)
    with SiteServer.chicago() as srv:
        done = _run(
            "workers", "scrape", "il--chicago", "--source", "luma",
            env={"DATABASE_URL": url, **_site_env(srv)},
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["city_id"] == "il--chicago"
    assert summary["sources"]["luma"]["status"] == "ok"
    new = summary["sources"]["luma"]["new"]
    assert new > 0 and _luma_events(path) == new
    assert set(summary["sources"]) == {"luma"}


def test_scrape_with_redis_is_queued_once_and_a_burst_worker_runs_it(
    tmp_path: Path, redis_url: str
) -> None:
    url, path = _database(tmp_path)
    with SiteServer.chicago() as srv:
        env = {"DATABASE_URL": url, "REDIS_URL": redis_url, **_site_env(srv)}
        first = _run("workers", "scrape", "il--chicago", "--source", "luma", env=env)
        assert first.returncode == 0, first.stderr
        assert "queued as scrape:il--chicago" in first.stderr
        again = _run("workers", "scrape", "il--chicago", env=env)
        assert again.returncode == 0 and "already queued or running" in again.stderr

        status = json.loads(_run("workers", "status", "--json", env=env).stdout)
        [job] = status["queued"]
        assert job["job_id"] == "scrape:il--chicago"
        assert job["kwargs"] == {"city_id": "il--chicago", "sources": ["luma"]}
        assert _luma_events(path) == 0
        assert _run("workers", "run", "--check", env=env).returncode == 1  # no worker yet

        worker = _run("workers", "run", "--burst", env=env)
        assert worker.returncode == 0, worker.stderr
    assert _luma_events(path) > 0
    with sqlite3.connect(path) as db:
        runs = db.execute("SELECT source, status FROM scrape_run").fetchall()
    assert runs == [("luma", "ok")]
    status = json.loads(_run("workers", "status", "--json", env=env).stdout)
    assert status["queued"] == [] and status["running"] == []


def test_cleanup_without_redis_deletes_what_ended_before_the_cut(tmp_path: Path) -> None:
    url, path = _database(tmp_path)
    loaded = _run(
        "scrapers", "load", str(PAGES / "eventbrite" / "city_browse.html"), "--city",
        "il--chicago", env={"DATABASE_URL": url},
    )  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    ended = "coalesce(end_at, start_at) < datetime('now')"
    with sqlite3.connect(path) as db:
        total, over = db.execute(f"SELECT count(*), sum({ended}) FROM event").fetchone()
    assert 0 < over < total  # the saved page's dates are fixed: some are over by now

    done = _run("workers", "cleanup", "--days", "0", env={"DATABASE_URL": url})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"deleted": over, "days": 0}
    with sqlite3.connect(path) as db:
        assert db.execute(f"SELECT count(*), sum({ended}) FROM event").fetchone() == (
            total - over,
            0,
        )
