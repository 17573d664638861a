"""A refresh with the sources out of reach: each source says why, the summary is an error,
the retry counts down, the title does not move, and a second tab sees the same."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from nocturne.settings import settings
from scrapers.sites import SITES
from tests.e2e.conftest import ARTIFACTS
from tests.support.site_server import SiteServer

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 900}
CITY = "ak--anchorage"  # never seeded, and no other browser test refreshes it
COUNTDOWN = re.compile(r"retrying in (\d+) s")


@pytest.fixture
def sites_down(site_server: SiteServer) -> Iterator[None]:
    """The saved-page server stopped for the test; started again (on a new port, which
    the app is told of) after it. Retries slowed: 10 s for a source, 60 s for the job."""
    saved = settings.job_retry_seconds
    settings.job_retry_seconds = 60.0
    site_server.stop()
    try:
        yield
    finally:
        settings.job_retry_seconds = saved
        site_server.start()
        overrides = site_server.settings_overrides()
        settings.source_base_urls = dict.fromkeys(SITES, site_server.base_url)
        settings.firecrawl_base_url = overrides["firecrawl_base_url"]


def _seconds(page: Page, selector: str) -> int:
    match = COUNTDOWN.fullmatch(page.locator(selector).inner_text().strip())
    assert match, page.locator(selector).inner_text()
    return int(match[1])


def _steady(lines: list[str]) -> list[str]:
    """Lines without the seconds, which tick on."""
    return sorted(COUNTDOWN.sub("", t) for t in lines)


def _lines(page: Page) -> list[str]:
    return [t.strip() for t in page.locator("#refresh-status .nc-src").all_inner_texts()]


@pytest.mark.usefixtures("sites_down")
def test_a_refresh_with_the_sites_unreachable_says_why(browser: Browser, base_url: str) -> None:
    first_ctx = browser.new_context(viewport=DESKTOP)
    page = first_ctx.new_page()
    page.goto(f"{base_url}/city/{CITY}")
    button = page.locator("#refresh-button")
    expect(button).to_have_text("REFRESH EVENTS (1/1)")
    expect(page.locator("#refresh-hint")).to_have_text(re.compile("One refresh per browser"))
    title = page.locator("#city-title")
    expect(title.locator("h1")).to_contain_text("Anchorage")
    before = title.bounding_box()

    button.click()
    # Each source fails, says why, and counts down to its own second try.
    retrying = page.locator("#refresh-status .nc-src--retrying")
    expect(retrying.first).to_be_visible(timeout=30_000)
    expect(retrying.first).to_contain_text("could not reach the site")
    expect(retrying.first.locator(".nc-countdown")).to_have_text(COUNTDOWN)
    # Then every source has failed: the summary says so in the error style, and the
    # whole refresh counts down to its next try, in the browser (no server round trip).
    found = page.locator("#found")
    expect(found).to_contain_text("Every source failed: could not reach the site", timeout=60_000)
    expect(found).to_have_class(re.compile(r"\bnc-found--failed\b"))
    assert "Found 0" not in found.inner_text()
    expect(found.locator(".nc-countdown")).to_have_text(COUNTDOWN)
    lines = page.locator("#refresh-status .nc-src")
    assert lines.count() >= 2
    for text in _lines(page):
        assert "could not reach the site" in text and "searching" not in text, text
    first = _seconds(page, "#found .nc-countdown")
    page.wait_for_timeout(2500)
    later = _seconds(page, "#found .nc-countdown")
    assert 0 < later < first <= 60
    expect(lines.first.locator(".nc-countdown")).to_have_text(COUNTDOWN)

    # The status panel grew over the page: the title block did not move or change size.
    after = title.bounding_box()
    assert before is not None and after is not None
    box = ("x", "y", "width", "height")
    assert [round(before[k]) for k in box] == [round(after[k]) for k in box], (before, after)
    page.screenshot(path=str(ARTIFACTS / "refresh-sites-down.png"))

    # The used button says why it is off and when it comes back.
    expect(button).to_be_disabled()
    hint = page.locator("#refresh-hint")
    expect(hint).to_have_text(re.compile(r"Used for this browser session\. Back in a new session"))
    expect(hint).to_contain_text(" or on ")
    assert button.get_attribute("aria-describedby") == "refresh-hint"

    # Another browser session opening the city now sees the same status, from the
    # server's kept status, not from the first tab.
    other_ctx = browser.new_context(viewport=DESKTOP)
    other = other_ctx.new_page()
    other.goto(f"{base_url}/city/{CITY}")
    expect(other.locator("#found")).to_contain_text("Every source failed: could not reach")
    expect(other.locator("#found .nc-countdown")).to_have_text(COUNTDOWN)
    assert _steady(_lines(other)) == _steady(_lines(page))
    gap = _seconds(other, "#found .nc-countdown") - _seconds(page, "#found .nc-countdown")
    assert abs(gap) <= 2
    for ctx in (first_ctx, other_ctx):
        ctx.close()
