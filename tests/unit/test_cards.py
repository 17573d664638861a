"""Event cards as plain values: excerpt, price, time, picture fallback, source links, and
the listing under its day headings (tonight until 6 AM, cancelled after the live ones)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from nocturne.cards import (
    day_groups,
    day_heading,
    event_card,
    excerpt,
    fallback_art,
    night_of,
    price_label,
)
from nocturne.models import Event
from nocturne.pages.city import day_count

LA = ZoneInfo("America/Los_Angeles")
# Sat Dec 12 2026, 10 PM in Los Angeles (PST, UTC-8)
SAT_10PM = datetime(2026, 12, 13, 6, 0, tzinfo=UTC)


def _event(**fields: Any) -> Event:
    start = fields.pop("start_at", SAT_10PM)
    local = start.astimezone(LA)
    values: dict[str, Any] = {
        "id": 1,
        "title": "Warehouse Rave",
        "link": "https://www.eventbrite.com/e/warehouse-rave-1",
        "source": "eventbrite",
        "city_id": "ca--los-angeles",
        "start_at": start,
        "timezone": "America/Los_Angeles",
        "local_date": local.date().isoformat(),
        "local_time": local.strftime("%H:%M"),
    }
    return Event(**{**values, **fields})


def test_excerpt_is_one_line_of_plain_text_cut_at_a_word() -> None:
    text = "<b>Doors</b> at ten.\n\n  " + "Bring cash for the bar and a friend. " * 10
    cut = excerpt(text)
    assert cut.startswith("<b>Doors</b> at ten. Bring cash")  # markup kept, shown as text
    assert "\n" not in cut and "  " not in cut
    assert len(cut) <= 160 and cut.endswith("\u2026")
    assert cut[:-1].split()[-1] in text.split()  # a whole word before the ellipsis
    assert excerpt("Short and sweet.") == "Short and sweet."
    assert excerpt(None) == excerpt("   ") == ""


@pytest.mark.parametrize(
    ("fields", "label"),
    [
        ({"is_free": True}, "Free"),
        ({"price_min": 10.0, "price_max": 25.0, "currency": "USD"}, "$10\u2013$25"),
        ({"price_min": 12.5, "price_max": 12.5, "currency": "USD"}, "$12.50"),
        ({"price_min": None, "price_max": 20.0, "currency": "EUR"}, "EUR 20"),
        ({}, ""),
    ],
)
def test_price_label(fields: dict[str, Any], label: str) -> None:
    event = _event(**fields)
    assert price_label(event) == label
    assert event_card(event)["price_label"] == label


def test_card_time_is_read_the_american_way_in_the_city_zone() -> None:
    card = event_card(_event())
    assert card["when"] == "Sat Dec 12 · 10 PM"
    assert card["night"] == "2026-12-12"
    late = event_card(_event(start_at=SAT_10PM + timedelta(hours=3, minutes=30)))
    assert late["when"] == "Sun Dec 13 · 1:30 AM"
    assert late["night"] == "2026-12-12"  # a 1:30 AM set is Saturday night's
    all_day = event_card(_event(local_time=""))
    assert all_day["when"] == "Sat Dec 12 · All day"


def test_card_picture_location_and_every_source_linked() -> None:
    event = _event(
        image_url="https://img.example.com/rave.jpg",
        venue="The Bunker",
        address="12 Alley St",
        description="Techno all night.",
        links=[
            "https://www.eventbrite.com/e/warehouse-rave-1",
            "https://www.meetup.com/la-techno/events/99/",
            "javascript:alert(1)",
        ],
        sources=",eventbrite,meetup,",
    )
    card = event_card(event)
    assert card["image_url"] == "https://img.example.com/rave.jpg"
    assert card["location"] == "The Bunker, 12 Alley St"
    assert card["excerpt"] == "Techno all night."
    assert card["source_links"] == [
        {"href": "https://www.eventbrite.com/e/warehouse-rave-1", "name": "Eventbrite"},
        {"href": "https://www.meetup.com/la-techno/events/99/", "name": "Meetup"},
    ]
    # No image, or one that is not http(s): the title's gradient, the same every time.
    plain = event_card(_event(image_url="data:image/png;base64,AAAA"))
    assert plain["image_url"] == ""
    assert plain["fallback"] == fallback_art("Warehouse Rave")
    assert plain["fallback"].startswith("linear-gradient(")
    assert fallback_art("Warehouse Rave") != fallback_art("Basement Jazz")


def _card(id_: int, local: datetime, status: str = "scheduled") -> dict[str, Any]:
    local_date, local_time = local.date().isoformat(), local.strftime("%H:%M")
    return {
        "id": id_,
        "start_at": local.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "local_date": local_date,
        "local_time": local_time,
        "night": night_of(local_date, local_time),
        "status": status,
    }


def test_day_groups_headings_and_cancelled_after_the_live_ones() -> None:
    now = datetime(2026, 12, 7, 19, 0, tzinfo=LA)  # Monday 7 PM
    cards = [
        _card(1, datetime(2026, 12, 12, 22, 0, tzinfo=LA)),
        _card(2, datetime(2026, 12, 7, 21, 0, tzinfo=LA), status="cancelled"),
        _card(3, datetime(2026, 12, 7, 23, 0, tzinfo=LA)),
        _card(4, datetime(2026, 12, 8, 2, 0, tzinfo=LA)),  # Monday night, small hours
        _card(5, datetime(2026, 12, 8, 20, 0, tzinfo=LA)),
        _card(6, datetime(2026, 12, 7, 22, 0, tzinfo=LA), status="gone"),
    ]
    groups = day_groups(cards, now=now)
    assert [g["heading"] for g in groups] == [
        "Tonight, Mon Dec 7 · 5 PM\u20136 AM",
        "Tomorrow, Tue Dec 8",
        "Saturday, Dec 12",
    ]
    assert [[c["id"] for c in g["cards"]] for g in groups] == [[3, 4, 2, 6], [5], [1]]


def test_tonight_at_2_am_is_the_night_under_way() -> None:
    two_am = datetime(2026, 12, 8, 2, 0, tzinfo=LA)  # Tuesday 2 AM: still Monday night
    groups = day_groups(
        [
            _card(1, datetime(2026, 12, 8, 3, 0, tzinfo=LA)),
            _card(2, datetime(2026, 12, 8, 21, 0, tzinfo=LA)),
        ],
        now=two_am,
    )
    assert [g["heading"] for g in groups] == [
        "Tonight, Mon Dec 7 · 5 PM\u20136 AM",
        "Tomorrow, Tue Dec 8",
    ]
    six_am = datetime(2026, 12, 8, 6, 0, tzinfo=LA)  # the night is over at 6
    assert day_heading("2026-12-08", now=six_am).startswith("Tonight, Tue Dec 8")
    assert day_heading("2026-12-07", now=six_am) == "Monday, Dec 7"


def test_daytime_events_make_tonight_read_today() -> None:
    now = datetime(2026, 12, 7, 9, 0, tzinfo=LA)
    groups = day_groups(
        [_card(1, datetime(2026, 12, 7, 11, 0, tzinfo=LA)), _card(2, now.replace(hour=22))],
        now=now,
    )
    assert [g["heading"] for g in groups] == ["Today, Mon Dec 7"]


def test_chart_bar_reads_as_a_day_and_a_sentence() -> None:
    wed = day_count(date(2026, 12, 9), 8)
    assert (wed["label"], wed["tip"]) == ("Wed 9", "Wed Dec 9: 8 events")
    assert (wed["weekday"], wed["weekend"]) == (8, 0)
    sat = day_count(date(2026, 12, 12), 1)
    assert (sat["tip"], sat["weekday"], sat["weekend"]) == ("Sat Dec 12: 1 event", 0, 1)
