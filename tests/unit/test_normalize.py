"""Helpers in scrapers.normalize: time, links, text, prices, spam, merging and filtering."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scrapers.event import ScrapedEvent
from scrapers.normalize import (
    Price,
    canonical_link,
    clean_text,
    combine_local,
    dedupe,
    filter_for_city,
    is_spam,
    join_address,
    merge_events,
    parse_datetime,
    parse_duration,
    parse_price,
    same_event,
    spam_reason,
    titles_match,
)

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


# --------------------------------------------------------------------------- time


@pytest.mark.parametrize(
    ("value", "tz", "expected"),
    [
        ("2026-12-12T22:00:00Z", None, "2026-12-12T22:00:00+00:00"),
        ("2026-12-12T22:00:00.000Z", "America/Chicago", "2026-12-12T22:00:00+00:00"),
        ("2026-12-12T16:00:00-06:00", "Europe/Berlin", "2026-12-12T16:00:00-06:00"),
        ("2026-12-12T16:00:00.123456789-06:00", None, "2026-12-12T16:00:00.123456-06:00"),
        ("2026-12-12T16:00:00", "America/Chicago", "2026-12-12T16:00:00-06:00"),
        ("2026-07-12T16:00", "America/Chicago", "2026-07-12T16:00:00-05:00"),
        ("2026-12-12", "America/Denver", "2026-12-12T00:00:00-07:00"),
        (1_796_000_000, None, "2026-11-30T00:53:20+00:00"),
        (1_796_000_000_000, None, "2026-11-30T00:53:20+00:00"),
    ],
)
def test_parse_datetime(value: object, tz: str | None, expected: str) -> None:
    parsed = parse_datetime(value, tz)
    assert parsed is not None and parsed.isoformat() == expected


@pytest.mark.parametrize(
    ("value", "tz"),
    [
        ("2026-12-12T16:00:00", None),  # naive and no zone: refusing beats guessing
        ("2026-12-12", None),
        ("2026-12-12T16:00:00", "Mars/Olympus_Mons"),
        ("next tuesday", "America/Chicago"),
        ("2026-02-30", "America/Chicago"),
        ("", "America/Chicago"),
        (None, "America/Chicago"),
        (True, "America/Chicago"),
        ({"utc": "x"}, "America/Chicago"),
    ],
)
def test_parse_datetime_refuses(value: object, tz: str | None) -> None:
    assert parse_datetime(value, tz) is None


def test_combine_local_and_durations() -> None:
    start, date_only = combine_local("2026-12-12", "22:00", "America/Chicago")
    assert start is not None and start.isoformat() == "2026-12-12T22:00:00-06:00"
    assert not date_only
    day, date_only = combine_local("2026-12-12", None, "America/Chicago")
    assert day is not None and day.isoformat() == "2026-12-12T00:00:00-06:00" and date_only
    assert combine_local("12/12/2026", "22:00", "America/Chicago") == (None, False)
    assert parse_duration("P0Y0M0DT33H0M0S") == timedelta(hours=33)
    assert parse_duration("PT1H30M") == timedelta(hours=1, minutes=30)
    assert parse_duration("P1D") == timedelta(days=1)
    assert parse_duration("P1M") is None  # a month has no fixed length
    assert parse_duration("PT") is None
    assert parse_duration("3 hours") is None


# --------------------------------------------------------------------------- links


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        (
            "https://www.eventbrite.com/e/x-tickets-1?aff=ebdssbcitybrowse&_eboga=abc&keep_tld=1",
            None,
            "https://www.eventbrite.com/e/x-tickets-1",
        ),
        (
            "https://www.meetup.com/chipy/events/3/?recId=a&recSource=b&searchId=c"
            "&eventOrigin=find_page%24all",
            None,
            "https://www.meetup.com/chipy/events/3/",
        ),
        (
            "http://EXAMPLE.com:80/a?utm_source=x&UTM_Medium=y&id=7&fbclid=z&gclid=q#top",
            None,
            "https://example.com/a?id=7",
        ),
        ("https://example.com/a?b=2&ref=home&a=1&mc_cid=9", None, "https://example.com/a?b=2&a=1"),
        ("https://lu.ma/abc123?utm_source=discover", None, "https://luma.com/abc123"),
        ("https://www.luma.com/abc123", None, "https://luma.com/abc123"),
        ("https://meetup.com/chipy/events/3/", None, "https://www.meetup.com/chipy/events/3/"),
        ("abc123", "https://luma.com/chicago", "https://luma.com/abc123"),
        (
            "/e/x-tickets-1",
            "https://www.eventbrite.com/d/il--chicago/",
            "https://www.eventbrite.com/e/x-tickets-1",
        ),
        ("events/9/", "https://www.meetup.com/chipy/", "https://www.meetup.com/chipy/events/9/"),
        ("//cdn.example.com/i.png", None, "https://cdn.example.com/i.png"),
        ("www.eventbrite.com/e/x-1", None, "https://www.eventbrite.com/e/x-1"),
        ("https://example.com/a?x=1&amp;y=2", None, "https://example.com/a?x=1&y=2"),
        ("https://user:pw@example.com:8443/p", None, "https://example.com:8443/p"),
        ("https://example.com/caf\u00e9 bar", None, "https://example.com/caf%C3%A9%20bar"),
        ("https://example.com", None, "https://example.com/"),
    ],
)
def test_canonical_link(url: str, base: str | None, expected: str) -> None:
    assert canonical_link(url, base) == expected


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "mailto:x@example.com",
        "data:text/html,<b>x</b>",
        "ftp://example.com/x",
        "",
        "   ",
        None,
        42,
        'https://example.com/"><img src=x>',
        "abc123",  # a bare slug with no site to resolve it on
    ],
)
def test_canonical_link_refuses(url: object) -> None:
    assert canonical_link(url) is None


# --------------------------------------------------------------------------- text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Rock &amp; Roll", "Rock & Roll"),
        ("Rock &amp;amp; Roll", "Rock & Roll"),
        ("Jazz <img src=x onerror=alert(1)> Brunch", "Jazz Brunch"),
        ("<img src=x onerror=alert(1)>", ""),
        ("&lt;img src=x onerror=alert(1)&gt;Party", "Party"),
        ("Party <img src=x onerror=alert(1)", "Party"),
        ("Bingo &amp; <b>prizes</b>, hosted", "Bingo & prizes, hosted"),
        ("a<script>alert('x')</script>b", "a b"),
        ("<style>p{}</style>Hello<!-- hidden -->", "Hello"),
        ("  lots\t of \n space  ", "lots of space"),
        ("zero\u200bwidth\ufeff", "zerowidth"),
        ("AT&T Park", "AT&T Park"),
        ("I <3 NY", "I <3 NY"),
        ("a < b", "a < b"),
        ("Cafe\u0301", "Caf\u00e9"),
        (None, ""),
        (12, ""),
    ],
)
def test_clean_text(raw: object, expected: str) -> None:
    assert clean_text(raw) == expected


def test_clean_text_multiline_keeps_paragraphs() -> None:
    raw = "<p>One   line.</p><p>Two<br>lines.</p>\n\n\n\n  Three  "
    assert clean_text(raw, multiline=True) == "One line.\n\nTwo\nlines.\n\nThree"


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (
            ("260 Queen St W, Toronto, ON M5V 1Z4, Canada, Toronto, ON", "Toronto", "ON"),
            "260 Queen St W, Toronto, ON M5V 1Z4, Canada",
        ),
        (("1806 E 12th Street ,, Austin , TX", "Austin ", "TX"), "1806 E 12th Street, Austin, TX"),
        (("108 College St, Toronto, ON, ON", "Toronto, ON", "ON"), "108 College St, Toronto, ON"),
        (
            ("6900 Airport Road", "Mississauga", "ON", "L4V 1E8"),
            "6900 Airport Road, Mississauga, ON L4V 1E8",
        ),
        (("", "Chicago", "IL"), "Chicago, IL"),
        (("", None, None), None),
    ],
)
def test_join_address(parts: tuple, expected: str | None) -> None:
    assert join_address(*parts) == expected


# --------------------------------------------------------------------------- price


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ((0,), {"currency": "usd"}, Price(0.0, 0.0, None, True)),
        ((33.9,), {"currency": "cad"}, Price(33.9, 33.9, "CAD", False)),
        (("$10 - $25",), {}, Price(10.0, 25.0, "USD", False)),
        (("CA$15.50",), {}, Price(15.5, 15.5, "CAD", False)),
        (("From $15 per person",), {}, Price(15.0, 15.0, "USD", False)),
        (("12.00 EUR",), {}, Price(12.0, 12.0, "EUR", False)),
        (("Free",), {}, Price(0.0, 0.0, None, True)),
        (("1,250.00", "2,000"), {"currency": "USD"}, Price(1250.0, 2000.0, "USD", False)),
        ((40, 15), {"currency": "USD"}, Price(15.0, 40.0, "USD", False)),
        ((None, None), {"is_free": True}, Price(0.0, 0.0, None, True)),
        ((None, None), {"is_free": False}, Price(None, None, None, False)),
        ((None, None), {"currency": "USD"}, Price(None, None, None, None)),
        ((0, 5), {"currency": "USD"}, Price(0.0, 5.0, "USD", False)),
        (("TBA",), {}, Price(None, None, None, None)),
        ((-3,), {}, Price(None, None, None, None)),
    ],
)
def test_parse_price(args: tuple, kwargs: dict, expected: Price) -> None:
    assert parse_price(*args, **kwargs) == expected


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
