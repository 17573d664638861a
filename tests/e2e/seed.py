"""Events for the browser tests and the UI bench, saved the way a scrape saves them."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from nocturne.cities import require_city
from nocturne.crud import upsert_events
from nocturne.db import session_scope
from scrapers.event import ScrapedEvent

SOURCES = ("eventbrite", "meetup", "luma")  # the seeded city page spreads its events over these

XSS_TITLE = "<img src=x onerror=alert(1)>"
_NAMES = (
    "Warehouse Rave", "Basement Jazz Session", "Queer Disco Night", "Synth Meetup",
    "Rooftop Cumbia", "Noise Show at the Loft", "Zine Fair After Dark", "Techno in the Tunnel",
    "Open Decks", "Analog Film Club", "Poetry & Punk", "Dub Sound System",
)  # fmt: skip


def scraped(city_id: str, n: int, *, tag: str = "seed", start_day: int = 1) -> list[ScrapedEvent]:
    """``n`` plausible events over the coming two weeks, mostly at night, city-local."""
    tz = require_city(city_id).tz
    today = datetime.now(UTC).astimezone(tz).date()
    events = []
    for i in range(n):
        day = today + timedelta(days=start_day + (i * 3) % 14)
        start = datetime.combine(day, time(19 + i % 5, (i * 15) % 60), tz)
        source = SOURCES[i % len(SOURCES)]
        free = i % 4 == 0
        events.append(
            ScrapedEvent(
                title=f"{_NAMES[i % len(_NAMES)]} #{i + 1}",
                link=f"https://example.test/{source}/{city_id}/{tag}-{i}",
                source=source,
                start=start,
                end=start + timedelta(hours=4),
                venue=f"Venue {i % 7 + 1}",
                address=f"{100 + i} Main St",
                is_free=free,
                price_min=None if free else 10.0 + i % 3 * 5,
                price_max=None if free else 25.0,
                currency=None if free else "USD",
            )
        )
    return events


def seed(database_url: str, city_id: str, n: int, *, xss: bool = False, tag: str = "seed") -> int:
    """Save ``n`` events for ``city_id`` (plus one with markup in its title); returns count."""
    events = scraped(city_id, n, tag=tag)
    if xss:
        events[0].title = XSS_TITLE
    with session_scope(database_url) as session:
        upsert_events(session=session, city_id=city_id, events=events)
    return len(events)
