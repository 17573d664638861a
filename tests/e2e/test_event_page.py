"""The event page in Chromium (details, links, the same night, reload, share, 404) and its
HTML as a link-preview bot reads it: a plain GET, no JavaScript."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Dialog, expect
from sqlmodel import col, select

from nocturne.cities import require_city
from nocturne.crud import upsert_events
from nocturne.db import session_scope
from nocturne.models import Event
from nocturne.settings import settings
from scrapers.event import ScrapedEvent
from scrapers.tags import TAGS
from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

CITY = "wa--seattle"  # no other browser test lists Seattle
MAIN = "Basement Techno <b>Marathon</b>"
DESCRIPTION = (
    'Four rooms, <script>alert("x")</script> no phones.\n'
    "Lineup and tickets: https://tickets.example/techno?night=1. Dress warm.\n"
    "Not a link: javascript:alert(2)"
)


def _night() -> datetime:
    tz = require_city(CITY).tz
    return datetime.combine(datetime.now(tz).date() + timedelta(days=3), time(22), tz)


@pytest.fixture(scope="module")
def seattle(app_db: str) -> dict[str, int]:
    """Four Seattle events: the main one (listed on two sites), two more the same night
    (one of them cancelled) and one the night after; ids by title."""
    start = _night()

    def one(title: str, at: datetime, key: str, **fields: Any) -> ScrapedEvent:
        return ScrapedEvent(
            title=title, link=f"https://www.eventbrite.com/e/{key}", source="eventbrite",
            start=at, end=at + timedelta(hours=5), venue="The Vault",
            address="1 Pike St", is_free=False, price_min=15.0, price_max=15.0, currency="USD",
            **fields,
        )  # fmt: skip

    events = [
        one(MAIN, start, "main", description=DESCRIPTION, links=["https://lu.ma/techno"]),
        one("Early Jazz", start - timedelta(hours=2), "early"),
        one("Late Dub", start + timedelta(hours=1), "late", status="cancelled"),
        one("Next Night Noise", start + timedelta(days=1), "next"),
    ]
    with session_scope(app_db) as session:
        upsert_events(session=session, city_id=CITY, events=events)
    with session_scope(app_db) as session:
        rows = session.exec(select(Event.title, Event.id).where(col(Event.city_id) == CITY))
        return {title: event_id or 0 for title, event_id in rows}


def test_event_page_links_same_night_reload_share_and_404(
    browser: Browser, base_url: str, app_db: str, seattle: dict[str, int]
) -> None:
    with session_scope(app_db) as session:
        stored = session.get(Event, seattle[MAIN])
        assert stored is not None
        labels = [TAGS[t] for t in stored.tags if t in TAGS]
        reasons = ", ".join(stored.after_dark_reasons)
    assert labels and stored.after_dark and reasons  # a techno night at 10 PM
    context = browser.new_context()
    page = context.new_page()
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    url = f"{base_url}/event/{seattle[MAIN]}"
    page.goto(url)

    def shows_main() -> None:
        expect(page.locator("h1")).to_have_text(MAIN)  # markup in a title stays text
        expect(page.locator("#event-when")).to_contain_text("· 10 PM \u2013 3 AM")
        expect(page.locator("#event-price")).to_have_text("$15")
        expect(page.locator("#same-night .nc-night-item")).to_have_count(2)

    shows_main()
    expect(page).to_have_title(f"{MAIN} · Nocturne")
    expect(page.locator(".nc-ev-tags .nc-tag")).to_have_text(labels)
    expect(page.locator(".nc-ev .nc-card-why")).to_have_text(f"After dark: {reasons}")
    page.screenshot(path=str(ARTIFACTS / "event-page.png"), full_page=True)
    map_link = page.locator("#event-map-link")
    assert map_link.get_attribute("href") == (
        "https://www.openstreetmap.org/search?query=1%20Pike%20St%2C%20Seattle%2C%20WA"
    )
    # Every listing of the event, named by its site.
    sources = page.locator("#event-sources a")
    expect(sources).to_have_text(["Eventbrite", "Luma"])
    assert sources.nth(1).get_attribute("href") == "https://lu.ma/techno"
    # The description is text: its markup shows, never runs; only the http(s) address links.
    description = page.locator("#event-description")
    expect(description).to_contain_text('<script>alert("x")</script>')
    expect(description).to_contain_text("javascript:alert(2)")
    links = description.locator("a")
    expect(links).to_have_count(1)
    assert links.first.get_attribute("href") == "https://tickets.example/techno?night=1"
    assert links.first.get_attribute("rel") == "nofollow noopener noreferrer"
    assert page.locator("#event-ics").get_attribute("href") == (
        f"/cities/{CITY}/events/{seattle[MAIN]}.ics"
    )
    gcal = page.locator("#event-gcal").get_attribute("href") or ""
    assert gcal.startswith("https://calendar.google.com/calendar/render?action=TEMPLATE&text=")
    assert "ctz=America/Los_Angeles" in gcal
    # Same night: the earlier and later events, not the next night's.
    night = page.locator("#same-night .nc-night-link")
    expect(night).to_have_text(["Early Jazz", "Late Dub"])
    expect(page.locator("#same-night .nc-night-status")).to_have_text(["cancelled"])

    # Its own URL survives a reload.
    page.reload()
    shows_main()
    expect(page).to_have_url(url)

    # Share: no Web Share in headless Chromium on Linux, so the address is copied.
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    page.locator("#event-share").click()
    expect(page.locator(".nc-ev-share-note")).to_have_text("Link copied")
    assert page.evaluate("navigator.clipboard.readText()") == url

    # A same-night event opens its own page, which lists the main one in turn.
    night.filter(has_text="Late Dub").click()
    expect(page).to_have_url(f"{base_url}/event/{seattle['Late Dub']}")
    expect(page.locator("h1")).to_have_text("Late Dub")
    expect(page.locator(".nc-ev-status")).to_have_text("cancelled")
    expect(page.locator("#same-night .nc-night-link")).to_have_text(["Early Jazz", MAIN])

    # An unknown event: a page that says so, with a way back.
    page.goto(f"{base_url}/event/987654321")
    expect(page.get_by_role("heading", name="Event not found")).to_be_visible()
    page.get_by_role("link", name="← All cities").click()
    expect(page).to_have_url(re.compile(r"/$"))
    assert dialogs == []
    context.close()


class _Head(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "meta" and (key := a.get("property") or a.get("name")):
            self.meta[key] = a.get("content") or ""


def _preview(url: str) -> tuple[int, dict[str, str]]:
    """What a link-preview bot gets: the status and the head's meta tags, no JavaScript."""
    reply = httpx.get(url, headers={"User-Agent": "Twitterbot/1.0"}, timeout=10)
    head = _Head()
    head.feed(reply.text)
    return reply.status_code, head.meta


def test_event_and_city_html_carry_open_graph_tags(harness: Any, seattle: dict[str, int]) -> None:
    """On the app's own port (the back end, which serves the built pages in production and
    behind nginx): the built shell with the page's tags in its head."""
    from reflex.config import get_config

    backend = get_config().api_url.rstrip("/")
    site = settings.public_url.rstrip("/")
    status, meta = _preview(f"{backend}/event/{seattle[MAIN]}")
    assert status == 200
    assert meta["og:title"] == MAIN
    assert meta["og:url"] == f"{site}/event/{seattle[MAIN]}"
    day = _night()
    assert meta["og:description"].startswith(f"{day:%a} {day:%b} {day.day} · 10 PM \u2013 3 AM")
    assert "The Vault, 1 Pike St · Seattle. Four rooms," in meta["og:description"]
    assert meta["og:image"] == f"{site}/icon-512.png"
    assert meta["twitter:card"] == "summary"
    # The shell is the real build: the app's scripts come with it.
    body = httpx.get(f"{backend}/event/{seattle[MAIN]}", timeout=10).text
    assert "__reactRouterContext" in body and "/assets/" in body

    status, meta = _preview(f"{backend}/city/{CITY}?show=all")
    assert status == 200
    assert meta["og:title"] == "Underground events in Seattle, WA · Nocturne"
    assert meta["og:url"] == f"{site}/city/{CITY}"
    assert meta["twitter:card"] == "summary" and meta["og:description"]

    status, meta = _preview(f"{backend}/event/987654321")
    assert status == 404 and meta["robots"] == "noindex"
    assert _preview(f"{backend}/city/zz--atlantis")[0] == 404
