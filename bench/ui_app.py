"""The real app for the UI benches: Reflex prod build under AppHarnessProd on loopback.

Its own SQLite database seeded with one city's events, live messages over the real Redis
(a leased db), one backend (as AppHarnessProd runs it) keeping the tabs' state in memory,
or in Redis as production does (``redis_state=True``).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CITY = "ca--los-angeles"
# Chromium throttles background tabs; a bench tab must keep receiving at full speed.
EXTRA_CHROMIUM_ARGS = ["--disable-renderer-backgrounding", "--disable-background-timer-throttling"]


# In a tab: window.__seen[event id] = when each fresh (live) card entered the page.
WATCH_FRESH_CARDS_JS = """() => { window.__seen = {};
new MutationObserver(() => {
  for (const el of document.querySelectorAll('.nc-card--fresh')) {
    const id = el.dataset.eventId;
    if (!(id in window.__seen)) window.__seen[id] = Date.now();
  }
}).observe(document.body, {childList: true, subtree: true}); }"""


@dataclass(frozen=True, slots=True)
class RunningApp:
    base_url: str  # the front end, where a browser goes
    database_url: str
    redis_url: str
    workdir: Path  # a temporary directory, removed with the app


def use_reflex_env() -> None:
    """What the Makefile exports, so the bench runs the same way from a bare shell."""
    from tests.support.browser import reflex_env

    os.environ.update(reflex_env())
    os.environ.pop("REFLEX_REDIS_URL", None)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@contextmanager
def running_app(seed_events: int = 120, *, redis_state: bool = False) -> Iterator[RunningApp]:
    """The app up and serving; DATABASE_URL and REDIS_URL exported for child processes."""
    use_reflex_env()
    from reflex.testing import AppHarnessProd

    from nocturne.settings import settings
    from tests.e2e.seed import seed
    from tests.support.services import lease_redis_db, migrate

    tmp_dir = tempfile.TemporaryDirectory(prefix="nocturne-bench-ui-", ignore_cleanup_errors=True)
    tmp = Path(tmp_dir.name)
    # Without Redis, Reflex keeps tab states on disk and rescans the whole directory every
    # couple of seconds: states left by earlier runs (thousands) must not weigh on this one.
    os.environ["REFLEX_STATES_WORKDIR"] = str(tmp / "states")
    db = f"sqlite:///{tmp / 'bench.db'}"
    migrate(db, "head")
    seed(db, CITY, seed_events)
    with tmp_dir, lease_redis_db() as redis_url:
        settings.database_url, settings.redis_url = db, redis_url
        os.environ["DATABASE_URL"], os.environ["REDIS_URL"] = db, redis_url
        settings.autofill, os.environ["AUTOFILL"] = False, "false"  # no first-run scrapes
        if redis_state:
            # As scripts/prod and docker-compose.yml run it; REFLEX_OPLOCK_ENABLED=false compares.
            os.environ["REFLEX_REDIS_URL"] = redis_url
            os.environ.setdefault("REFLEX_OPLOCK_ENABLED", "true")
        with AppHarnessProd.create(root=ROOT, app_name="nocturne") as harness:
            yield RunningApp(str(harness.frontend_url).rstrip("/"), db, redis_url, tmp)
