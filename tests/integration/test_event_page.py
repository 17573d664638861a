"""The event page's data (get_event_page, same_night) on PostgreSQL and SQLite, and the
link-preview HTML served for event and city pages over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlmodel import Session

from nocturne.api import create_api, previews
from nocturne.api.ratelimit import memory_store
from nocturne.crud.events import get_event_page, same_night
from nocturne.event_details import event_details
from nocturne.models import EventStatus
from nocturne.settings import settings
from tests.support.api_server import make_event, serve

LA = "ca--los-angeles"
SITE = "https://nocturne.test"


def _saturday_10pm() -> datetime:
    """10 PM of a Saturday two weeks or more away in Los Angeles, clear of a clock change."""
    tz = ZoneInfo("America/Los_Angeles")
    day = datetime.now(tz).date() + timedelta(days=14)
    day += timedelta(days=(5 - day.weekday()) % 7)
    while (
        datetime.combine(day, time(12), tz).utcoffset()
        != datetime.combine(day + timedelta(days=1), time(12), tz).utcoffset()
    ):
        day += timedelta(weeks=1)
    return datetime.combine(day, time(22), tz).astimezone(UTC)


SAT_10PM = _saturday_10pm()
SHELL = (
    '<!DOCTYPE html><html lang="en"><head><meta charSet="utf-8"/>'
    '<link rel="modulepreload" href="/assets/app.js"/></head>'
    '<body><div id="root"></div><script>window.app = 1</script></body></html>'
)


class _Meta(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.canonical = ""
        self.in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "head":
            self.in_head = True
        if tag == "meta" and self.in_head and (key := a.get("property") or a.get("name")):
            self.meta[key] = a.get("content") or ""
        if tag == "link" and a.get("rel") == "canonical":
            self.canonical = a.get("href") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self.in_head = False


def meta_of(html: str) -> _Meta:
    parser = _Meta()
    parser.feed(html)
    return parser


def test_get_event_page_hides_unknown_and_gone_events(session: Session) -> None:
    shown = make_event(session, start=SAT_10PM)
    cancelled = make_event(session, start=SAT_10PM, status=EventStatus.cancelled)
    gone = make_event(session, start=SAT_10PM, status=EventStatus.gone)
    assert get_event_page(session=session, event_id=shown.id) == shown  # type: ignore[arg-type]
    assert get_event_page(session=session, event_id=cancelled.id) == cancelled  # type: ignore[arg-type]
    assert get_event_page(session=session, event_id=gone.id) is None  # type: ignore[arg-type]
    assert get_event_page(session=session, event_id=gone.id + 1000) is None  # type: ignore[operator]
    assert get_event_page(session=session, event_id=0) is None
    assert get_event_page(session=session, event_id=2**40) is None  # beyond the id column


def test_same_night_lists_the_city_s_other_events_that_night(session: Session) -> None:
    event = make_event(session, title="Main", start=SAT_10PM)
    early = make_event(session, title="Early", start=SAT_10PM - timedelta(hours=5))  # 5 PM
    late = make_event(session, title="Late", start=SAT_10PM + timedelta(hours=1, minutes=30))
    small_hours = make_event(session, title="After hours", start=SAT_10PM + timedelta(hours=7))
    # Not listed: the afternoon, the next morning, another city, gone, online.
    make_event(session, title="Matinee", start=SAT_10PM - timedelta(hours=6))  # 4 PM
    make_event(session, title="Brunch", start=SAT_10PM + timedelta(hours=8))  # 6 AM Sunday
    make_event(session, title="Elsewhere", start=SAT_10PM, city_id="ny--new-york")
    make_event(session, title="Gone", start=SAT_10PM, status=EventStatus.gone)
    make_event(session, title="Online", start=SAT_10PM, is_online=True)
    assert same_night(session=session, event=event) == [early, late, small_hours]
    assert same_night(session=session, event=event, limit=1) == [early]
    # A set in the small hours belongs to the night before, and so lists it.
    assert same_night(session=session, event=small_hours) == [early, event, late]


def test_event_details_of_a_merged_event(session: Session) -> None:
    event = make_event(
        session,
        title="Warehouse <b>Rave</b>",
        start=SAT_10PM,
        hours=5,
        latitude=34.05,
        longitude=-118.25,
        links=["https://www.eventbrite.com/e/1", "https://lu.ma/rave", "javascript:alert(1)"],
        link="https://www.eventbrite.com/e/1",
        sources=",eventbrite,luma,",
        description="Bring ID. Tickets: https://tix.example/rave <script>alert(1)</script>",
        tags=["club-night", "music"],
        after_dark=True,
        after_dark_reasons=["club night", "10 PM"],
        age="21+",
    )
    details = event_details(event)
    assert details["when"].endswith("· 10 PM \u2013 3 AM")
    assert details["links"] == [
        {"href": "https://www.eventbrite.com/e/1", "name": "Eventbrite"},
        {"href": "https://lu.ma/rave", "name": "Luma"},
    ]
    assert details["map_link"].startswith("https://www.openstreetmap.org/?mlat=34.050000")
    assert details["price"] == "$10\u2013$25"
    assert details["age_label"] == "21+" and details["after_dark_reasons"] == [
        "club night",
        "10 PM",
    ]
    assert [s["href"] for s in details["description"] if s["href"]] == ["https://tix.example/rave"]
    assert details["ics_link"] == f"/cities/{LA}/events/{event.id}.ics"
    assert details["url"] == f"{settings.public_url.rstrip('/')}/event/{event.id}"


@pytest.fixture
def client(
    monkeypatch: pytest.MonkeyPatch,
    db_url: str,
    engine,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> Iterator[httpx.Client]:
    shell = tmp_path / "__spa-fallback.html"
    shell.write_text(SHELL, encoding="utf-8")
    monkeypatch.setattr(previews, "shell_path", lambda: shell)
    monkeypatch.setattr(settings, "database_url", db_url)
    monkeypatch.setattr(settings, "redis_url", None)
    monkeypatch.setattr(settings, "rate_limit_enabled", False)
    monkeypatch.setattr(settings, "public_url", SITE)
    memory_store.clear()
    with serve(create_api()) as base, httpx.Client(base_url=base, timeout=10) as http:
        yield http


def test_event_and_city_html_carry_preview_tags_without_javascript(
    client: httpx.Client, session: Session
) -> None:
    event = make_event(
        session,
        title='Rave "Night" <One>',
        start=SAT_10PM,
        description="Deep   techno\nall night. " + "More words. " * 40,
        image_url="https://img.example/rave.jpg",
    )
    page = client.get(f"/event/{event.id}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    # The built shell goes out whole, the tags at the end of its head.
    assert '<div id="root"></div><script>window.app = 1</script>' in page.text
    assert page.text.index('property="og:title"') < page.text.index("</head>")
    found = meta_of(page.text)
    assert found.meta["og:title"] == 'Rave "Night" <One>'
    assert found.meta["og:url"] == found.canonical == f"{SITE}/event/{event.id}"
    assert found.meta["og:image"] == "https://img.example/rave.jpg"
    assert found.meta["twitter:card"] == "summary_large_image"
    description = found.meta["og:description"]
    assert description.startswith("Sat ") and "· 10 PM" in description
    assert "The Basement, 123 Main St · Los Angeles. Deep techno all night." in description
    assert len(description) < 300
    assert "<One>" not in page.text  # escaped, never markup
    assert client.head(f"/event/{event.id}").status_code == 200
    assert client.get(f"/event/{event.id}/").status_code == 200

    city = client.get(f"/city/{LA}", params={"show": "all"})
    assert city.status_code == 200
    tags = meta_of(city.text).meta
    assert tags["og:title"] == "Underground events in Los Angeles, CA · Nocturne"
    assert tags["og:url"] == f"{SITE}/city/{LA}"
    assert tags["og:image"] == f"{SITE}/icon-512.png" and tags["twitter:card"] == "summary"
    assert "Los Angeles" in tags["og:description"]


def test_unknown_or_removed_events_and_cities_are_404(
    client: httpx.Client, session: Session
) -> None:
    gone = make_event(session, start=SAT_10PM, status=EventStatus.gone)
    for path in (f"/event/{gone.id}", f"/event/{(gone.id or 0) + 999}", "/event/abc", "/event/0",
                 "/event/99999999999999999999", "/city/zz--atlantis"):  # fmt: skip
        page = client.get(path)
        assert page.status_code == 404, path
        assert '<div id="root"></div>' in page.text  # the app still shows its own page
        found = meta_of(page.text)
        assert found.meta["robots"] == "noindex"
        assert "not found" in found.meta["og:title"] or "No such city" in found.meta["og:title"]
