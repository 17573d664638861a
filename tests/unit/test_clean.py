"""Field cleaners in scrapers.clean: time, links, text and prices."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scrapers.clean import (
    Price,
    canonical_link,
    clean_text,
    combine_local,
    join_address,
    parse_datetime,
    parse_duration,
    parse_price,
)

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
