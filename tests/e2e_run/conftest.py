"""The README's `make run`, for real, the first time: a fresh copy of this checkout.

The copy has no `.web`, no Reflex home, no database, no `.env` and no `PUBLIC_URL`: what a
new clone has. It shares only the installed tools (the virtualenv, bun and bun's package
cache, symlinked; `make -o install` leaves them be). `make run` serves it on a free port
that is not the default 3000, its sources pointed at a local site server (nothing else of
the environment is set); the tests then use it as a person would. Run in its own
pytest process with `-p no:asyncio` (Playwright's loop), as `scripts/run-browser-tests` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from nocturne.settings import ROOT, Settings
from tests.support.browser import CHROMIUM, LAUNCH_ARGS
from tests.support.site_server import PAGES, Route, SiteServer, chicago_routes

READY_TIMEOUT = 300  # a first run: bun install from the cache, compile, production build
SHARED = (".venv", ".tools", ".bun-cache")  # installed once, symlinked into the copy
LEFT_OUT = {
    ".git", *SHARED, ".web", ".states", ".reflex-home", ".bun-home", ".run", "outbox",
    "node_modules", "test-artifacts", "__pycache__", ".pytest_cache", ".ruff_cache",
    ".mypy_cache", ".env",
}  # fmt: skip


# The first run's first three cities (nocturne.autofill.BIGGEST) list events on the site
# server; every other city's pages answer 404, so its first scrape ends at once.
FILLED = ("ny--new-york", "ca--los-angeles", "il--chicago")


class HeldSiteServer(SiteServer):
    """The site server, holding its answers to ``held`` paths until ``release`` is set,
    so a test sees the first run before and after those cities come in."""

    def __init__(self, routes: list[Route], held: set[str]) -> None:
        super().__init__(routes)
        self.held = held
        self.release = threading.Event()

    async def _serve(self, request: Any) -> Any:
        while request.url.path.rstrip("/") in self.held and not self.release.is_set():
            await asyncio.sleep(0.05)
        return await super()._serve(request)


def first_run_sites() -> HeldSiteServer:
    """Chicago's Eventbrite and Meetup pages, and Eventbrite pages of New York and Los
    Angeles (Chicago's, with links of their own). No Luma: its discover route would answer
    every city with Chicago's events."""
    routes = [r for r in chicago_routes() if "/find/" in r.path or "/all-events/" in r.path]
    listing = (PAGES / "eventbrite/city_browse.html").read_text(encoding="utf-8")
    for city_id in FILLED[:2]:
        path = f"/d/{city_id}/all-events/"
        page = listing.replace("eventbrite.com/e/", f"eventbrite.com/e/{city_id}-")
        routes += [
            Route(path, page),
            Route(path, page, {"page": "1"}),
            Route(path, Path("eventbrite/empty_search.html"), {"page": "2"}),
        ]
    return HeldSiteServer(routes, held={f"/d/{c}/all-events" for c in FILLED})


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    """Debian's Chromium, never a downloaded one."""
    return {"executable_path": CHROMIUM, "args": LAUNCH_ARGS}


@dataclass
class FirstRun:
    """`make run` in a fresh copy: where it serves and what it printed."""

    url: str
    port: int
    root: Path
    log_path: Path
    proc: subprocess.Popen[bytes]
    files_before: dict[str, str]  # every file of the copy, before the run: its digest
    sites: HeldSiteServer | None = None  # where its sources point

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def database(self) -> Path:
        return self.root / "nocturne.db"


def digests(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root``, by relative path (the shared tools left out)."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] in SHARED or not path.is_file() or path.is_symlink():
            continue
        found[rel.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port != 3000:
            return port


def _copy_checkout(dest: Path) -> None:
    """The files a clone has (the working tree's versions), without anything built or run."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        return {n for n in names if n in LEFT_OUT or n.endswith((".db", ".db-shm", ".db-wal"))}

    shutil.copytree(ROOT, dest, ignore=ignore, symlinks=True)  # copy2 keeps mtimes
    for name in SHARED:
        (dest / name).symlink_to(ROOT / name)


def _clean_env() -> dict[str, str]:
    """This environment without any Nocturne or Reflex setting: the README's defaults."""
    names = {name.upper() for name in Settings.model_fields} | {"PUBLIC_URL", "PORT"}
    return {
        k: v
        for k, v in os.environ.items()
        if k.upper() not in names and not k.upper().startswith(("REFLEX_", "NPM_CONFIG_"))
    }


@pytest.fixture(scope="session")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FirstRun]:
    root = tmp_path_factory.mktemp("clone") / "nocturne"
    _copy_checkout(root)
    files_before = digests(root)
    port = _free_port()
    log_path = root.parent / "make-run.log"
    sites = first_run_sites().start()
    env = {
        **_clean_env(),
        "SOURCE_BASE_URLS": json.dumps(sites.settings_overrides()["source_base_urls"]),
        "SCRAPE_DELAY_SECONDS": "0",
        # The held listings wait for their test, and must leave the server's other pages
        # (one host for every source) requests to spare.
        "SCRAPE_TIMEOUT_SECONDS": "900",
        "SCRAPE_PER_HOST_CONCURRENCY": "8",
    }
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            ["make", "-o", "install", "run", f"PORT={port}"],
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    run = FirstRun(f"http://localhost:{port}", port, root, log_path, proc, files_before, sites)
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"`make run` did not start:\n{run.output[-4000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                    break
            time.sleep(0.5)
        yield run
    finally:
        sites.release.set()
        _stop_group(proc)
        sites.stop()


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group this fixture started (make, reflex, its web workers),
    SIGKILL to whatever is left of it after 30 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        proc.poll()
        time.sleep(0.2)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
