"""Events for the browser tests and the UI bench, saved the way a scrape saves them."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from nocturne.cities import require_city
from nocturne.crud import upsert_events
from nocturne.db import session_scope
from scrapers.dedupe import merge_events
from scrapers.event import ScrapedEvent

SOURCES = ("eventbrite", "meetup", "luma")  # the seeded city page spreads its events over these

XSS_TITLE = "<img src=x onerror=alert(1)>"
_NAMES = (
    "Warehouse Rave", "Basement Jazz Session", "Queer Disco Night", "Synth Meetup",
    "Rooftop Cumbia", "Noise Show at the Loft", "Zine Fair After Dark", "Techno in the Tunnel",
    "Open Decks", "Analog Film Club", "Poetry & Punk", "Dub Sound System",
)  # fmt: skip


# Daytime events, none of them after dark: (title, hour, venue, description).
DAYTIME = (
    ("Tech Career Fair", 10, "Convention Center", "Meet recruiters. Bring your resume."),
    ("Kids' Pottery Class", 11, "Clay Studio", "A hands-on class for children. All ages welcome."),
    ("Startup Pitch Breakfast", 9, "WeWork", "Founders pitch investors over coffee."),
)


def scraped(city_id: str, n: int, *, tag: str = "seed", start_day: int = 1) -> list[ScrapedEvent]:
    """``n`` plausible events over the coming two weeks, all at night (after dark), city-local."""
    tz = require_city(city_id).tz
    today = datetime.now(UTC).astimezone(tz).date()
    events = []
    for i in range(n):
        day = today + timedelta(days=start_day + (i * 3) % 14)
        start = datetime.combine(day, time(20 + i % 4, (i * 15) % 60), tz)
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


def daytime(city_id: str) -> list[ScrapedEvent]:
    """The :data:`DAYTIME` events, tomorrow and the days after, city-local."""
    tz = require_city(city_id).tz
    today = datetime.now(UTC).astimezone(tz).date()
    return [
        ScrapedEvent(
            title=title,
            link=f"https://example.test/eventbrite/{city_id}/day-{i}",
            source="eventbrite",
            start=datetime.combine(today + timedelta(days=1 + i), time(hour), tz),
            venue=venue,
            description=description,
        )
        for i, (title, hour, venue, description) in enumerate(DAYTIME)
    ]


# Seeded on the second event; out of reach here, so its card falls back to the gradient
# (tests/e2e/test_cards.py points an event of its own at an image the app serves).
SEED_IMAGE = "https://example.test/img/warehouse.jpg"


def picture_and_merge(
    events: list[ScrapedEvent], *, image_url: str = SEED_IMAGE
) -> list[ScrapedEvent]:
    """The second event with an image and a description; the third merged from two
    sources' listings (Luma's and Eventbrite's), as cross-source de-duplication does."""
    events = list(events)
    events[1].image_url = image_url
    events[1].description = "<p>Live trio until late.</p> Doors at nine, " + "bring friends. " * 20
    third = events[2]
    name = "-".join(third.link.rsplit("/", 2)[-2:])  # "<city id>-<tag>-<i>": unique
    third.source, third.link = "luma", f"https://lu.ma/{name}"
    other = ScrapedEvent(
        title=third.title,
        link=f"https://www.eventbrite.com/e/{name}-123",
        source="eventbrite",
        start=third.start,
        end=third.end,
        venue=third.venue,
        address=third.address,
    )
    events[2] = merge_events(third, other)
    return events


def seed(
    database_url: str,
    city_id: str,
    n: int,
    *,
    xss: bool = False,
    tag: str = "seed",
    with_daytime: bool = False,
    rich: bool = True,
) -> int:
    """Save ``n`` events for ``city_id`` (plus one with markup in its title, and the
    daytime ones if asked; with ``rich``, :func:`picture_and_merge`); returns how many
    after-dark events were saved."""
    events = scraped(city_id, n, tag=tag)
    if rich and n >= 3:
        events = picture_and_merge(events)
    if xss:
        events[0].title = XSS_TITLE
    events += daytime(city_id) if with_daytime else []
    with session_scope(database_url) as session:
        upsert_events(session=session, city_id=city_id, events=events)
    return n
