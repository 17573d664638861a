"""`make run` the first time fills itself: with no click, every city gets its first scrape
(the sources are the local site server), and the home page shows it happen, live."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e_run.conftest import FILLED, FirstRun

pytestmark = pytest.mark.browser

TOTAL = 49


def test_the_first_run_fills_cities_without_a_click(browser: Browser, first_run: FirstRun) -> None:
    """Every other city's first scrape ends (its pages answer 404) while the three with
    events are held at the site server; let go, their counts rise on the open home page
    without a reload, and the progress line goes once every city is in."""
    assert first_run.sites is not None
    home = browser.new_page()
    home.goto(first_run.url + "/")
    progress = home.locator("#fill-progress")
    # The first scrapes of the other cities end on their own, one by one, on this page.
    expect(progress).to_have_text(
        f"Gathering events: {TOTAL - len(FILLED)} of {TOTAL} cities", timeout=180_000
    )
    counts = {
        city_id: home.locator(f"[data-city-link='{city_id}'] .nc-city-count") for city_id in FILLED
    }
    for count in counts.values():
        expect(count).to_have_text("0")
    home.evaluate("window.sameDocument = true")  # gone if the page is loaded again
    # A city page opened while its city has no events says that they are on their way.
    chicago = browser.new_page()
    chicago.goto(first_run.url + "/city/il--chicago")
    expect(chicago.get_by_text("Gathering events for Chicago…")).to_be_visible()

    first_run.sites.release.set()
    for count in counts.values():
        expect(count).to_have_text(re.compile(r"^[1-9]\d*$"), timeout=60_000)
    expect(progress).to_have_count(0, timeout=60_000)  # every city in: the line goes
    assert home.evaluate("window.sameDocument") is True  # pushed, not reloaded
    # The Chicago page heard its scrape end, live too.
    expect(chicago.get_by_text("Gathering events for Chicago…")).to_have_count(0)
