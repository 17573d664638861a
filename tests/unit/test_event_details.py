"""The event page's pure formatting: time range, map and calendar links, safe description,
and the link-preview head tags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from nocturne.api.previews import fill_head, head_tags
from nocturne.event_details import (
    clock,
    description_segments,
    google_calendar_link,
    osm_link,
    plain_summary,
    safe_href,
    time_range,
)

LA = "America/Los_Angeles"
# Sat Dec 12 2026, 10 PM in Los Angeles (PST, UTC-8)
SAT_10PM = datetime(2026, 12, 13, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "end", "all_day", "expected"),
    [
        (SAT_10PM, SAT_10PM + timedelta(hours=5), False, "Sat Dec 12 · 10 PM \u2013 3 AM"),
        (SAT_10PM, None, False, "Sat Dec 12 · 10 PM"),
        (SAT_10PM, SAT_10PM, False, "Sat Dec 12 · 10 PM"),  # an end no later than the start
        (
            SAT_10PM + timedelta(minutes=30),
            SAT_10PM + timedelta(hours=1, minutes=45),
            False,
            "Sat Dec 12 · 10:30 PM \u2013 11:45 PM",
        ),
        (SAT_10PM - timedelta(hours=10), SAT_10PM + timedelta(hours=2), False,
         "Sat Dec 12 · 12 PM \u2013 12 AM"),  # noon to midnight
        (SAT_10PM, SAT_10PM + timedelta(days=1, hours=4), False,
         "Sat Dec 12, 10 PM \u2013 Mon Dec 14, 2 AM"),  # a weekend: each end names its day
        (SAT_10PM, None, True, "Sat Dec 12 · All day"),
    ],
)  # fmt: skip
def test_time_range_reads_the_american_way_in_the_city_zone(
    start: datetime, end: datetime | None, all_day: bool, expected: str
) -> None:
    assert time_range(start=start, end=end, timezone=LA, all_day=all_day) == expected


def test_time_range_follows_the_city_zone_not_utc() -> None:
    assert time_range(start=SAT_10PM, end=None, timezone="America/New_York") == "Sun Dec 13 · 1 AM"


def test_clock() -> None:
    assert [clock(datetime(2026, 1, 1, h, m)) for h, m in ((0, 0), (9, 5), (12, 0), (23, 59))] == [
        "12 AM",
        "9:05 AM",
        "12 PM",
        "11:59 PM",
    ]


def test_osm_link_marks_coordinates_when_known() -> None:
    url = osm_link(
        latitude=34.0778, longitude=-118.2606, venue="The Echo", address=None,
        city_id="ca--los-angeles",
    )  # fmt: skip
    parts = urlsplit(url)
    assert parts.netloc == "www.openstreetmap.org"
    assert parse_qs(parts.query) == {"mlat": ["34.077800"], "mlon": ["-118.260600"]}
    assert parts.fragment == "map=17/34.077800/-118.260600"


def test_osm_link_searches_the_address_in_its_city_else_nothing() -> None:
    url = osm_link(
        latitude=None, longitude=None, venue="The Echo", address="1822 Sunset Blvd",
        city_id="ca--los-angeles",
    )  # fmt: skip
    parts = urlsplit(url)
    assert parts.path == "/search"
    assert parse_qs(parts.query)["query"] == ["1822 Sunset Blvd, Los Angeles, CA"]
    # An address naming its city already is searched as it is; a venue alone is searched.
    named = osm_link(
        latitude=None, longitude=None, venue=None, address="1 Main St, Los Angeles, CA 90012",
        city_id="ca--los-angeles",
    )  # fmt: skip
    assert parse_qs(urlsplit(named).query)["query"] == ["1 Main St, Los Angeles, CA 90012"]
    venue = osm_link(
        latitude=None, longitude=None, venue="Elsewhere", address="", city_id="ny--new-york"
    )
    assert parse_qs(urlsplit(venue).query)["query"] == ["Elsewhere, New York, NY"]
    assert osm_link(latitude=None, longitude=None, venue=None, address=" ", city_id="x") == ""


def test_google_calendar_link_carries_utc_times_zone_place_and_details() -> None:
    url = google_calendar_link(
        title="Rave & Friends", start=SAT_10PM, end=SAT_10PM + timedelta(hours=5), timezone=LA,
        location="The Echo, 1822 Sunset Blvd", details="https://nocturne.test/event/7\n\nBring ID",
    )  # fmt: skip
    parts = urlsplit(url)
    assert (parts.netloc, parts.path) == ("calendar.google.com", "/calendar/render")
    assert "dates=20261213T060000Z/20261213T110000Z" in parts.query  # the slash left as is
    assert parse_qs(parts.query) == {
        "action": ["TEMPLATE"],
        "text": ["Rave & Friends"],
        "dates": ["20261213T060000Z/20261213T110000Z"],
        "ctz": [LA],
        "location": ["The Echo, 1822 Sunset Blvd"],
        "details": ["https://nocturne.test/event/7\n\nBring ID"],
    }


def test_google_calendar_link_defaults_two_hours_and_all_day_dates() -> None:
    no_end = parse_qs(urlsplit(google_calendar_link(
        title="x", start=SAT_10PM, end=None, timezone=LA)).query)  # fmt: skip
    assert no_end["dates"] == ["20261213T060000Z/20261213T080000Z"]
    assert "location" not in no_end and "details" not in no_end
    all_day = parse_qs(urlsplit(google_calendar_link(
        title="x", start=SAT_10PM, end=None, timezone=LA, all_day=True)).query)  # fmt: skip
    assert all_day["dates"] == ["20261212/20261213"]  # the local date, not UTC's
    long = google_calendar_link(
        title="x", start=SAT_10PM, end=None, timezone=LA, details="y" * 5000
    )
    assert len(long) < 2000


def test_description_keeps_markup_as_text_and_links_only_http() -> None:
    text = (
        'Line up: <b>DJ Nobody</b> <a href="javascript:alert(1)">tickets</a>\n'
        "More at https://example.org/lineup?day=1. Or (http://b.example/x), "
        "not javascript:alert(2) nor ftp://files.example/x nor data:text/html,hi"
    )
    segments = description_segments(text)
    links = [s for s in segments if s["href"]]
    assert links == [
        {"text": "https://example.org/lineup?day=1", "href": "https://example.org/lineup?day=1"},
        {"text": "http://b.example/x", "href": "http://b.example/x"},
    ]
    # Nothing is lost or added: the runs put back together are the text itself.
    assert "".join(s["text"] for s in segments) == text
    assert segments[0] == {"text": text[: text.index("https://")], "href": ""}
    assert description_segments(None) == [] and description_segments("  ") == []


def test_safe_href_and_summary() -> None:
    assert safe_href("https://x.example/a") == "https://x.example/a"
    assert safe_href("javascript:alert(1)") == ""
    assert safe_href("//x.example/a") == "" and safe_href("http://") == ""
    assert plain_summary("a  b\n c") == "a b c"
    long = plain_summary("word " * 100, limit=50)
    assert len(long) <= 50 and long.endswith("word…")


def test_head_tags_escape_values_and_fill_the_head() -> None:
    tags = head_tags(
        title='Rave "<script>"', description="A & B", url="https://n.test/event/1", image=""
    )
    assert '<meta property="og:title" content="Rave &quot;&lt;script&gt;&quot;"/>' in tags
    assert '<meta name="twitter:card" content="summary"/>' in tags
    assert "<script>" not in tags
    big = head_tags(title="t", description="d", url="u", image="https://img.test/a.jpg")
    assert '<meta name="twitter:card" content="summary_large_image"/>' in big
    html = fill_head("<html><head><meta charset='utf-8'/></head><body></body></html>", tags)
    assert html.index("og:title") < html.index("</head>")
