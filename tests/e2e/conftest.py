"""The real app under Reflex's AppHarnessProd, with its own database and the saved-page server.

Run in its own pytest process (`scripts/run-browser-tests`): Playwright's sync API runs an
event loop that clashes with pytest-asyncio. The app is embedded (no Redis): jobs run in
the app's own loop and live messages fan out in memory, as `make run` does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nocturne.settings import ROOT, settings
from tests.support.browser import CHROMIUM, LAUNCH_ARGS, reflex_env
from tests.support.services import migrate
from tests.support.site_server import SiteServer

ARTIFACTS = ROOT / "test-artifacts"
# After-dark events seeded per city (what the city page opens on); Los Angeles also has
# the seed's DAYTIME events, which "Everything" adds.
SEEDED = {"ca--los-angeles": 30, "ny--new-york": 24}
ADMIN_TOKEN = "e2e-admin-token"  # the review page's sign-in


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    """Debian's Chromium, never a downloaded one."""
    return {"executable_path": CHROMIUM, "args": LAUNCH_ARGS}


@pytest.fixture(scope="session")
def site_server() -> Iterator[SiteServer]:
    with SiteServer.chicago(latency=0.05) as server:
        yield server


@pytest.fixture(scope="session")
def app_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    from tests.e2e.seed import seed

    url = f"sqlite:///{tmp_path_factory.mktemp('app') / 'nocturne.db'}"
    migrate(url, "head")
    seed(url, "ca--los-angeles", SEEDED["ca--los-angeles"], xss=True, with_daytime=True)
    seed(url, "ny--new-york", SEEDED["ny--new-york"])
    return url


@pytest.fixture(scope="session")
def harness(
    app_db: str, site_server: SiteServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """The whole app (prod build) on random ports, its scrapes aimed at the site server."""
    from reflex.testing import AppHarnessProd

    overrides = site_server.settings_overrides(
        database_url=app_db,
        redis_url=None,
        scrape_meetup_keywords=["music"],
        email_provider="outbox",
        email_outbox_dir=tmp_path_factory.mktemp("outbox"),
        rate_limit_enabled=False,
        autofill=False,  # the tests scrape when they click
        admin_token=ADMIN_TOKEN,
    )
    saved = {k: getattr(settings, k) for k in overrides if hasattr(settings, k)}
    env = {**reflex_env(), "DATABASE_URL": app_db}
    old_env = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    os.environ.pop("REDIS_URL", None)
    os.environ.pop("REFLEX_REDIS_URL", None)
    # Every module reads this one object, whatever imported it first.
    for key, value in overrides.items():
        if hasattr(settings, key):
            setattr(settings, key, value)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        with AppHarnessProd.create(root=Path(ROOT), app_name="nocturne") as h:
            yield h
    finally:
        for key, value in saved.items():
            setattr(settings, key, value)
        for key, old in old_env.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@pytest.fixture
def base_url(harness: Any) -> str:
    return str(harness.frontend_url).rstrip("/")
