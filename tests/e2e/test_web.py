"""The web app in Chromium: map, city page, live refresh in two tabs, refresh limit, subscribe."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from nocturne.db import session_scope
from nocturne.models import Event, Subscription
from tests.e2e.conftest import ARTIFACTS, SEEDED
from tests.e2e.seed import XSS_TITLE
from tests.support.site_server import SiteServer

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1366, "height": 900}
CARD = "[data-event-id]"


def _watch_dialogs(page: Page) -> list[str]:
    seen: list[str] = []
    page.on("dialog", lambda d: (seen.append(d.message), d.dismiss()))
    return seen


def test_pick_a_city_on_the_map_and_see_its_events(browser: Browser, base_url: str) -> None:
    page = browser.new_page(viewport=DESKTOP)
    dialogs = _watch_dialogs(page)
    page.goto(base_url + "/")
    dot = page.locator("[data-city-id='ca--los-angeles']")
    expect(dot).to_have_attribute("aria-label", re.compile(r"Los Angeles, 30 coming events"))
    # Dots are sized by coming events: a seeded city outgrows an empty one.
    empty = page.locator("[data-city-id='tx--austin']")
    assert float(dot.get_attribute("r") or 0) > float(empty.get_attribute("r") or 0)
    dot.click()
    expect(page).to_have_url(re.compile(r"/city/ca--los-angeles$"))
    expect(page.locator("h1")).to_contain_text("Los Angeles")
    expect(page.locator(CARD)).to_have_count(SEEDED["ca--los-angeles"])
    # Untrusted markup in a title is shown as text and never runs.
    expect(page.get_by_text(XSS_TITLE)).to_be_visible()
    assert page.locator("img[src='x']").count() == 0
    # A card's title opens the event's own page.
    card = page.locator(CARD).first
    link = card.locator("a.nc-card-link")
    assert link.get_attribute("href") == f"/event/{card.get_attribute('data-event-id')}"
    title = link.inner_text()
    link.click()
    expect(page).to_have_url(re.compile(r"/event/\d+$"))
    expect(page.locator("h1")).to_have_text(title)
    assert page.locator("img[src='x']").count() == 0
    assert dialogs == []


def test_keyboard_opens_a_city_and_the_list_searches(browser: Browser, base_url: str) -> None:
    page = browser.new_page(viewport=DESKTOP)
    page.goto(base_url + "/")
    page.fill("#city-search", "york")
    expect(page.locator("[data-city-link]")).to_have_count(1)
    expect(page.locator("[data-city-link='ny--new-york']")).to_contain_text("24")
    dot = page.locator("[data-city-id='ny--new-york']")
    dot.focus()
    page.keyboard.press("Space")
    expect(page).to_have_url(re.compile(r"/city/ny--new-york$"))
    expect(page.locator(CARD)).to_have_count(SEEDED["ny--new-york"])


def test_deep_link_filters_and_unknown_city(browser: Browser, base_url: str) -> None:
    page = browser.new_page(viewport=DESKTOP)
    page.goto(base_url + "/city/ny--new-york")
    expect(page.locator(CARD)).to_have_count(SEEDED["ny--new-york"])
    page.get_by_role("button", name="Free only").click()
    cards = page.locator(CARD)
    expect(cards).to_have_count(6)  # every fourth seeded event is free
    for text in cards.all_inner_texts():
        assert "Free" in text
    page.get_by_role("button", name="Free only").click()
    page.locator("select.nc-select").first.select_option("meetup")
    expect(cards).to_have_count(8)
    assert all("MEETUP" in t.upper() for t in cards.all_inner_texts())
    page.locator("select.nc-select").first.select_option("")
    page.get_by_role("button", name="Next 7 days").click()
    expect(page.get_by_role("button", name="Next 7 days")).to_have_attribute("aria-pressed", "true")
    expect(cards).not_to_have_count(SEEDED["ny--new-york"])
    expect(cards.first).to_be_visible()
    assert 0 < cards.count() < SEEDED["ny--new-york"]
    expect(page.locator(".recharts-bar-rectangle").first).to_be_attached()
    page.goto(base_url + "/city/zz--atlantis")
    expect(page.get_by_text("No such city")).to_be_visible()


def test_refresh_streams_into_two_tabs_and_is_limited_per_session(
    browser: Browser, base_url: str, site_server: SiteServer
) -> None:
    clicker_ctx, watcher_ctx = browser.new_context(), browser.new_context()
    clicker, watcher = clicker_ctx.new_page(), watcher_ctx.new_page()
    # A second tab of the clicker's browser session, opened before the refresh is used:
    # its button still offers one, so only the server can refuse it.
    stale = clicker_ctx.new_page()
    stale.goto(base_url + "/city/ca--los-angeles")
    expect(stale.locator("#refresh-button")).to_have_text("REFRESH EVENTS (1/1)")
    url = base_url + "/city/il--chicago"
    for page, view in ((clicker, ""), (watcher, "?show=all")):  # After dark; Everything
        page.goto(url + view)
        expect(page.locator(".nc-empty")).to_be_visible()
        page.evaluate("window.__noReload = true")
    button = clicker.locator("#refresh-button")
    expect(button).to_have_text("REFRESH EVENTS (1/1)")
    site_server.reset_counts()
    button.click()
    expect(button).to_have_text("REFRESH USED (0/1)")
    for page in (clicker, watcher):
        expect(page.locator("#found")).to_have_text(
            re.compile(r"Found \d+ new events?"), timeout=60_000
        )
        assert page.evaluate("window.__noReload") is True  # streamed in, not reloaded
    expect(watcher.locator(".nc-card--fresh").first).to_be_visible()
    # Chicago's 19hz nights stream in credited to 19hz.
    expect(clicker.locator(".nc-card-credit", has_text="via 19hz").first).to_be_visible()
    found = int(re.findall(r"\d+", clicker.locator("#found").inner_text())[0])
    with session_scope() as session:
        saved = session.exec(select(Event.after_dark).where(Event.city_id == "il--chicago")).all()
    assert found == len(saved) > 0
    expect(watcher.locator(".nc-card--fresh")).to_have_count(len(saved))
    # The clicker's page is on After dark: only those stream into it.
    expect(clicker.locator(".nc-card--fresh")).to_have_count(sum(saved))
    # The watcher's own browser session still has its refresh.
    expect(watcher.locator("#refresh-button")).to_have_text("REFRESH EVENTS (1/1)")
    assert site_server.count() > 0

    # The limit holds across a reload and another city, for this browser session.
    clicker.reload()
    expect(clicker.locator("#refresh-button")).to_have_text("REFRESH USED (0/1)")
    clicker.goto(base_url + "/city/ca--los-angeles")
    expect(clicker.locator(CARD).first).to_be_visible()
    expect(clicker.locator("#refresh-button")).to_have_text("REFRESH USED (0/1)")
    expect(clicker.locator("#refresh-button")).to_be_disabled()

    # The stale tab's button is no guard: the server refuses and starts no scrape.
    hits = site_server.count()
    stale.locator("#refresh-button").click()
    expect(stale.get_by_text("This browser session has used its refresh.")).to_be_visible()
    expect(stale.locator("#refresh-button")).to_have_text("REFRESH USED (0/1)")
    time.sleep(1.0)
    assert site_server.count() == hits
    for ctx in (clicker_ctx, watcher_ctx):
        ctx.close()


def test_subscribe_validates_and_sends_once(browser: Browser, base_url: str) -> None:
    page = browser.new_page(viewport=DESKTOP)
    page.goto(base_url + "/")
    email = page.locator("#subscribe-email")
    submit = page.locator("#subscribe-submit")
    email.fill("not an email")
    submit.click()
    assert page.evaluate("document.querySelector('#subscribe-email').validity.valid") is False
    expect(page.locator("#subscribe-ok")).to_have_count(0)
    # The browser lets this one through; the server refuses it.
    email.fill("someone@localhost")
    submit.click()
    expect(page.locator("#subscribe-error")).to_contain_text("doesn't look right")
    email.fill("night.owl@example.com")
    page.locator("#subscribe-city").select_option("ny--new-york")
    submit.dblclick()
    expect(page.locator("#subscribe-ok")).to_have_text(
        "Check your inbox to confirm your subscription."
    )
    expect(page.locator("#subscribe-error")).to_have_count(0)
    with session_scope() as session:
        subs = session.exec(
            select(Subscription).where(Subscription.email == "night.owl@example.com")
        ).all()
    assert [(s.city_id, s.status) for s in subs] == [("ny--new-york", "pending")]


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_screenshots(browser: Browser, base_url: str, device: str) -> None:
    viewport = PHONE if device == "phone" else DESKTOP
    page = browser.new_page(viewport=viewport)
    page.goto(base_url + "/")
    expect(page.locator("[data-city-id]")).to_have_count(49)
    expect(page.locator("[data-city-link='ca--los-angeles']")).to_contain_text("30")
    # Nothing sticks out sideways on a 375 px phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    page.screenshot(path=str(ARTIFACTS / f"home-{device}.png"), full_page=True)
    page.goto(base_url + "/city/ca--los-angeles")
    expect(page.locator(CARD).first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    page.screenshot(path=str(ARTIFACTS / f"city-{device}.png"), full_page=device == "desktop")
