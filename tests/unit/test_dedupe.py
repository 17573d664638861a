"""List policy in scrapers.dedupe: spam, merging listings and filtering for a city."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scrapers.dedupe import (
    dedupe,
    filter_for_city,
    is_spam,
    merge_events,
    same_event,
    spam_reason,
    titles_match,
)
from scrapers.event import ScrapedEvent

CHI = ZoneInfo("America/Chicago")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=CHI)


def make(title: str = "Warehouse Techno Night", **kw: object) -> ScrapedEvent:
    defaults: dict[str, object] = {
        "link": f"https://www.eventbrite.com/e/{abs(hash(title))}",
        "source": "eventbrite",
        "start": datetime(2026, 12, 12, 22, 0, tzinfo=CHI),
    }
    defaults.update(kw)
    return ScrapedEvent(title=title, **defaults)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- spam

SPAM = [
    ("QuickBooks Customer Care Number +1-(888)-555-0147 Call Now", True, ""),
    ("Coinbase Support Number 1 888 555 0147 USA", False, ""),
    ("Expedia Airlines Helpline Booking Desk", True, ""),
    ("Customer Service Toll-Free 24/7 Assistance", True, ""),
    ("Cash App customer service: how to reach a live person", True, "Call 1.888.555.0147 now"),
    ("Lakers vs Celtics Tickets Online Free", False, ""),
    ("[[WATCH]] Championship Final Live Stream Free", True, ""),
    ("Recover Stolen Crypto Fast - Certified Experts", False, ""),
    ("Bitcoin Recovery Specialist Hire Today", True, ""),
    ("Chicago Call Girls Available Tonight", False, ""),
    ("Escort Service Near You 24/7", False, ""),
    ("Plumber Plumber Plumber Plumber Chicago Best Plumber Cheap", False, ""),
]
NOT_SPAM = [
    ("Bitcoin & Web3 Builders Meetup", False, ""),
    ("Customer Service Excellence Workshop", False, ""),
    (
        "Customer Service Excellence Webinar",
        True,
        "Learn de-escalation from a 20-year support lead.",
    ),
    ("World Cup Watch Party - Free Entry", False, ""),
    ("Comedy Mob @ New York Comedy Club: Free Comedy Show NYC", False, ""),
    ("Call of Duty Tournament Night", False, ""),
    ("Hotline Bling: A Drake Dance Party", False, ""),
    ("Crisis Helpline Volunteer Training", False, ""),
    ("Tax Help Desk for Artists (in person)", False, ""),
    ("Saturday 26th July 2025: Saturdays at Amadeus Nightclub", False, ""),
    ("Salsa Salsa Salsa! Night of Dance", False, ""),
    ("NYE 2026-2027 Countdown Party", False, ""),
    ("Dance Party 10pm-4am (21+) Tickets $20", False, ""),
    ("Crypto Tax Workshop: Reporting 2026 Gains", False, ""),
]


@pytest.mark.parametrize(("title", "online", "description"), SPAM)
def test_spam_is_caught(title: str, online: bool, description: str) -> None:
    ev = make(title, is_online=online, description=description or None)
    assert is_spam(ev), title
    assert spam_reason(ev)


@pytest.mark.parametrize(("title", "online", "description"), NOT_SPAM)
def test_real_events_are_not_spam(title: str, online: bool, description: str) -> None:
    ev = make(title, is_online=online, description=description or None)
    assert spam_reason(ev) is None, title


# --------------------------------------------------------------------------- merging


def test_merge_keeps_the_richest_fields() -> None:
    server = make(
        "Warehouse Techno Night",
        link="https://www.eventbrite.com/e/techno-1",
        source_event_id="1",
        description="Short.",
        tags=["Music"],
        price_min=15.0,
        price_max=40.0,
        currency="USD",
        is_free=False,
    )
    jsonld = make(
        "Warehouse Techno Night",
        link="https://www.eventbrite.com/e/techno-1",
        start=datetime(2026, 12, 12, tzinfo=CHI),
        end=datetime(2026, 12, 13, tzinfo=CHI),
        date_only=True,
        description="A much longer description of the night.",
        tags=["music", "Electronic"],
        venue="The Foundry Annex",
        latitude=41.88,
        longitude=-87.66,
        status="cancelled",
        image_url="https://img.example.com/1.png",
    )
    merged = merge_events(jsonld, server)
    assert not merged.date_only and merged.start == server.start and merged.end is None
    assert merged.description == "A much longer description of the night."
    assert merged.tags == ["music", "Electronic"]
    assert (merged.price_min, merged.price_max, merged.currency) == (15.0, 40.0, "USD")
    assert merged.venue == "The Foundry Annex" and merged.latitude == 41.88
    assert merged.status == "cancelled"
    assert merged.source_event_id == "1"
    assert merged.links == []  # one link, nothing merged across sources


def test_titles_match() -> None:
    assert titles_match(
        "Warehouse Techno Night: Loft Sessions", "Warehouse Techno Night \u2013 Loft Sessions"
    )
    assert titles_match("Health Toronto", "Health Toronto | Sept 28, 2026")
    assert titles_match("Rock & Roll Bingo", "Rock and Roll Bingo!")
    assert titles_match("Chicago Python Project Nite", "Chicago Python Project Night")
    assert not titles_match("Jazz Brunch", "Jazz Night")
    assert not titles_match("Open Mic", "Poetry Slam")
    assert not titles_match("", "Anything")


def _pair(**b: object) -> tuple[ScrapedEvent, ScrapedEvent]:
    a = make(
        "Warehouse Techno Night: Loft Sessions",
        link="https://www.eventbrite.com/e/techno-1",
        venue="The Foundry Annex",
        latitude=41.8868231,
        longitude=-87.6641122,
    )
    other = dict(
        title="Warehouse Techno Night - Loft Sessions",
        link="https://luma.com/loft",
        source="luma",
        start=a.start + timedelta(minutes=10),
        venue="Foundry Annex",
        latitude=41.8867012,
        longitude=-87.6648511,
    )
    other.update(b)
    return a, replace(a, **other)  # type: ignore[arg-type]


def test_same_event_rules() -> None:
    assert same_event(*_pair())
    assert same_event(*_pair(venue="Totally Different Name"))  # coordinates ~60 m apart
    assert same_event(*_pair(venue=None, latitude=None, longitude=None))  # one place missing
    assert not same_event(*_pair(venue="Other Club", latitude=41.95, longitude=-87.70))
    assert not same_event(*_pair(venue="Other Club", latitude=None, longitude=None))
    far = _pair()[0].start + timedelta(minutes=31)
    assert not same_event(*_pair(start=far))
    assert not same_event(*_pair(title="Sunday Jazz Brunch"))
    assert not same_event(*_pair(is_online=True))
    day = datetime(2026, 12, 12, tzinfo=CHI)
    assert same_event(*_pair(start=day, date_only=True))
    assert not same_event(*_pair(start=day + timedelta(days=1), date_only=True))


def test_dedupe_within_a_source_by_link_and_by_id() -> None:
    a = make("Salsa Social", link="https://www.eventbrite.com/e/salsa-8", source_event_id="8")
    b = replace(a, description="Beginner lesson at 8.")
    c = replace(a, link="https://www.eventbrite.ca/e/salsa-8", price_min=10.0, price_max=18.0)
    other = make("Poetry Slam", link="https://www.eventbrite.com/e/poetry-4")
    out = dedupe([a, other, b, c])
    assert [ev.title for ev in out] == ["Salsa Social", "Poetry Slam"]
    assert out[0].description == "Beginner lesson at 8." and out[0].price_max == 18.0
    assert out[0].link == "https://www.eventbrite.com/e/salsa-8"


def test_dedupe_across_sources_collects_every_link() -> None:
    eventbrite_ev, luma_ev = _pair()
    luma_ev = replace(luma_ev, price_min=25.0, price_max=40.0, currency="USD", is_free=False)
    meetup_ev = replace(
        eventbrite_ev,
        link="https://www.meetup.com/techno/events/5/",
        source="meetup",
        start=eventbrite_ev.start - timedelta(minutes=15),
        latitude=None,
        longitude=None,
        venue="The Foundry Annex",
    )
    unrelated = make("Poetry Slam", link="https://www.eventbrite.com/e/poetry-4")
    out = dedupe([eventbrite_ev, unrelated, luma_ev, meetup_ev])
    assert len(out) == 2
    merged = next(ev for ev in out if "Techno" in ev.title)
    assert merged.links[0] == merged.link
    assert sorted(merged.links) == sorted(
        [
            "https://www.eventbrite.com/e/techno-1",
            "https://luma.com/loft",
            "https://www.meetup.com/techno/events/5/",
        ]
    )
    assert merged.price_max == 40.0  # filled from the Luma listing


def test_dedupe_does_not_merge_two_listings_of_one_source() -> None:
    a = make("Open Mic", link="https://luma.com/a", source="luma", venue="Café Mirage")
    b = replace(a, link="https://luma.com/b")  # a recurring series: same time is a coincidence
    assert len(dedupe([a, b])) == 2


# --------------------------------------------------------------------------- filtering


def test_filter_for_city_counts_each_drop_once() -> None:
    upcoming = make("Salsa Social", start=NOW + timedelta(days=2))
    ongoing = make("All-Day Market", start=NOW - timedelta(hours=3), end=NOW + timedelta(hours=3))
    today_date_only = make("Craft Fair", start=datetime(2026, 12, 1, tzinfo=CHI), date_only=True)
    past = make("Poetry Slam", start=NOW - timedelta(days=1))
    online = make("Watercolor (Online)", start=NOW + timedelta(days=1), is_online=True)
    spam = make(
        "QuickBooks Helpline +1 888 555 0147", start=NOW - timedelta(days=5), is_online=True
    )
    cancelled = make("Kite Festival", start=NOW + timedelta(days=9), status="cancelled")
    kept, counts = filter_for_city(
        [upcoming, ongoing, today_date_only, past, online, spam, cancelled], now=NOW
    )
    assert kept == [upcoming, ongoing, today_date_only, cancelled]
    assert counts == {"spam": 1, "past": 1, "online": 1, "kept": 4}
    kept, counts = filter_for_city([online, spam], now=NOW, drop_online=False, drop_spam=False)
    assert kept == [online] and counts == {"spam": 0, "past": 1, "online": 0, "kept": 1}


def test_filter_for_city_needs_an_aware_now() -> None:
    with pytest.raises(ValueError):
        filter_for_city([], now=datetime(2026, 12, 1))
    assert filter_for_city([], now=datetime(2026, 12, 1, tzinfo=UTC)) == (
        [],
        {"spam": 0, "past": 0, "online": 0, "kept": 0},
    )
