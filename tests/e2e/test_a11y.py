"""axe-core (shipped in the axe-playwright-python wheel, never fetched) on the home, city
and event pages: no critical or serious violation."""

from __future__ import annotations

import json
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from nocturne.db import session_scope
from nocturne.models import Event
from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 375, "height": 812}


def _serious(page: Page, name: str) -> list[str]:
    """The critical and serious violations; every violation is kept in test-artifacts/."""
    results: dict[str, Any] = Axe().run(page).response
    assert results["testEngine"]["name"] == "axe-core"
    (ARTIFACTS / f"axe-{name}.json").write_text(json.dumps(results["violations"], indent=1))
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + "; ".join(str(n["target"]) for n in v["nodes"][:5])
        for v in results["violations"]
        if v["impact"] in ("critical", "serious")
    ]


def _event_id() -> int:
    with session_scope() as session:
        event_id = session.exec(
            select(Event.id).where(Event.city_id == "ny--new-york").limit(1)
        ).first()
    assert event_id is not None
    return event_id


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_home_city_and_event_pages_pass_axe(
    browser: Browser, base_url: str, viewport: dict[str, int]
) -> None:
    page = browser.new_page(viewport=viewport)
    device = "phone" if viewport == PHONE else "desktop"
    page.goto(base_url + "/")
    expect(page.locator("[data-city-link]")).to_have_count(49)
    home = _serious(page, f"home-{device}")
    page.goto(base_url + "/city/ny--new-york")
    expect(page.locator("[data-event-id]").first).to_be_visible()
    city = _serious(page, f"city-{device}")
    page.goto(f"{base_url}/event/{_event_id()}")
    expect(page.locator("h1")).to_be_visible()
    event = _serious(page, f"event-{device}")
    assert (home, city, event) == ([], [], [])
    # The check can fail: a button with no name is a critical violation.
    page.evaluate("document.querySelector('main, body').append(document.createElement('button'))")
    assert any(v.startswith("button-name (critical)") for v in _serious(page, f"broken-{device}"))
