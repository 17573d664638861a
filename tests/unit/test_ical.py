"""The iCalendar feed parser: zones, repeating events, links, limits, and four real feeds."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from scrapers.errors import ScraperError, UnrecognizedPage
from scrapers.event import ScrapedEvent
from scrapers.sites import ical

CHICAGO = ZoneInfo("America/Chicago")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=CHICAGO)
FEED = "https://venue.example/cal.ics"
REAL_FEEDS = Path("/work/shared/fixtures/ics")


def calendar(*events: str, head: str = "") -> str:
    """A feed with the given VEVENT bodies (and calendar-level lines), CRLF-terminated."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Nocturne//Tests//EN"]
    lines += [line for line in head.strip().splitlines() if line.strip()]
    for body in events:
        lines += ["BEGIN:VEVENT", *(ln.strip() for ln in body.strip().splitlines()), "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def parse(text: str, url: str = FEED, **kwargs: object) -> list[ScrapedEvent]:
    kwargs.setdefault("tz", "America/Chicago")
    kwargs.setdefault("now", NOW)
    return ical.parse(text, url, **kwargs)  # type: ignore[arg-type]


def local(event: ScrapedEvent, zone: str = "America/Chicago") -> str:
    return event.start.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


# --------------------------------------------------------------------------- recurrence

WEEKLY_JAM = """
UID:jam-1@venue.example
DTSTART;TZID=America/Chicago:20261204T210000
DTEND;TZID=America/Chicago:20261204T230000
RRULE:FREQ=WEEKLY;BYDAY=FR;COUNT=6
EXDATE;TZID=America/Chicago:20261225T210000
SUMMARY:Friday Night Jam
URL:https://venue.example/jam
"""
JAM_MOVED = """
UID:jam-1@venue.example
RECURRENCE-ID;TZID=America/Chicago:20261218T210000
DTSTART;TZID=America/Chicago:20261219T220000
DTEND;TZID=America/Chicago:20261220T000000
SUMMARY:Friday Night Jam (on Saturday)
URL:https://venue.example/jam
"""


def test_repeating_event_with_a_moved_and_a_skipped_occurrence() -> None:
    events = parse(calendar(WEEKLY_JAM, JAM_MOVED))
    assert [(local(e), e.title) for e in events] == [
        ("2026-12-04 21:00 CST", "Friday Night Jam"),
        ("2026-12-11 21:00 CST", "Friday Night Jam"),
        ("2026-12-19 22:00 CST", "Friday Night Jam (on Saturday)"),
        ("2027-01-01 21:00 CST", "Friday Night Jam"),
        ("2027-01-08 21:00 CST", "Friday Night Jam"),
    ]  # COUNT=6 minus the EXDATE of Christmas
    moved = events[2]
    assert moved.end == datetime(2026, 12, 20, 0, 0, tzinfo=CHICAGO)
    # An occurrence is named by its RECURRENCE-ID: moving it keeps its link and id.
    assert moved.link == f"{FEED}#uid=jam-1@venue.example&occurrence=20261218T2100"
    assert moved.source_event_id == "jam-1@venue.example@20261218T2100"
    unmoved = parse(calendar(WEEKLY_JAM))
    assert moved.link in {e.link for e in unmoved}
    assert len({e.link for e in events}) == len(events)
    assert all(e.link.startswith(FEED + "#uid=jam-1@venue.example&occurrence=") for e in events)


def test_only_occurrences_in_the_window_are_expanded() -> None:
    events = parse(calendar(WEEKLY_JAM, JAM_MOVED), now=datetime(2026, 12, 12, 3, tzinfo=UTC))
    # From a day before now (the 11th's jam started an hour ago) to eight weeks ahead.
    assert [local(e)[:10] for e in events] == [
        "2026-12-11",
        "2026-12-19",
        "2027-01-01",
        "2027-01-08",
    ]
    assert parse(calendar(WEEKLY_JAM), now=datetime(2027, 3, 1, tzinfo=UTC)) == []
    daily = "UID:d@x\nDTSTART;TZID=America/Chicago:20000101T200000\nRRULE:FREQ=DAILY\nSUMMARY:Daily"
    events = parse(calendar(daily))
    assert len(events) == 57  # Nov 30 20:00 (within the day before now) .. Jan 25 20:00
    assert events[0].start == datetime(2026, 11, 30, 20, tzinfo=CHICAGO)
    assert events[-1].start - events[0].start == ical.HORIZON


def test_rdates_and_overrides_without_their_series() -> None:
    rdates = """
    UID:popup@venue.example
    DTSTART;TZID=America/Chicago:20261120T230000
    RDATE;TZID=America/Chicago:20261205T230000,20261219T230000,20270102T230000
    EXDATE;TZID=America/Chicago:20261219T230000
    SUMMARY:Pop-up Rave
    """
    orphan = """
    UID:gone-series@venue.example
    RECURRENCE-ID;TZID=America/Chicago:20261212T210000
    DTSTART;TZID=America/Chicago:20261212T220000
    SUMMARY:One Night Only
    """
    events = parse(calendar(rdates, orphan))
    assert [(local(e), e.title) for e in events] == [
        ("2026-12-05 23:00 CST", "Pop-up Rave"),  # the DTSTART on Nov 20 is before the window
        ("2027-01-02 23:00 CST", "Pop-up Rave"),
        ("2026-12-12 22:00 CST", "One Night Only"),  # its master is not in the feed
    ]
    assert events[2].link == f"{FEED}#uid=gone-series@venue.example&occurrence=20261212T2100"


def test_long_running_ordinary_rules_are_not_refused() -> None:
    yearly = [
        f"UID:y{i}@x\nDTSTART;VALUE=DATE:1900010{i + 1}\nRRULE:FREQ=YEARLY\nSUMMARY:Yearly {i}"
        for i in range(8)
    ]
    monthly = (
        "UID:m@x\nDTSTART:19700102T030000Z\nRRULE:FREQ=MONTHLY;BYDAY=1FR\nSUMMARY:First Friday"
    )
    daily = "UID:d@x\nDTSTART:19900101T030000Z\nRRULE:FREQ=DAILY;BYDAY=MO,WE,FR\nSUMMARY:Daily"
    began = time.monotonic()
    events = parse(calendar(*yearly, monthly, daily))
    assert time.monotonic() - began < 3
    assert len(events) == 8 + 2 + 24  # Jan 1-8 2027; Dec 4 and Jan 1 (UTC); MWF for 8 weeks


def test_weekly_event_keeps_its_local_time_across_the_november_dst_change() -> None:
    weekly = """
    UID:late-show@venue.example
    DTSTART;TZID=America/Chicago:20261016T220000
    DTEND;TZID=America/Chicago:20261017T010000
    RRULE:FREQ=WEEKLY
    SUMMARY:Late Show
    """
    events = parse(calendar(weekly), now=datetime(2026, 10, 20, 12, tzinfo=CHICAGO))
    assert len(events) == 8  # Oct 23 .. Dec 11
    assert {e.start.astimezone(CHICAGO).strftime("%a %H:%M") for e in events} == {"Fri 22:00"}
    assert [e.start.utcoffset() for e in events[:3]] == [
        timedelta(hours=-5),
        timedelta(hours=-5),
        timedelta(hours=-6),  # Nov 6, after the change on Nov 1
    ]
    assert events[1].start.astimezone(UTC).hour == 3 and events[2].start.astimezone(UTC).hour == 4
    assert all(e.end and e.end - e.start == timedelta(hours=3) for e in events)
    assert {e.timezone for e in events} == {"America/Chicago"}


def test_a_cancelled_occurrence() -> None:
    cancelled = """
    UID:jam-1@venue.example
    RECURRENCE-ID;TZID=America/Chicago:20261211T210000
    DTSTART;TZID=America/Chicago:20261211T210000
    DTEND;TZID=America/Chicago:20261211T230000
    SUMMARY:Friday Night Jam
    STATUS:CANCELLED
    """
    events = parse(calendar(WEEKLY_JAM, cancelled))
    assert [(local(e)[:10], e.status) for e in events] == [
        ("2026-12-04", "scheduled"),
        ("2026-12-11", "cancelled"),
        ("2026-12-18", "scheduled"),
        ("2027-01-01", "scheduled"),
        ("2027-01-08", "scheduled"),
    ]
    one_off = "UID:c@x\nDTSTART:20261205T030000Z\nSUMMARY:Gone\nSTATUS:CANCELLED"
    assert parse(calendar(one_off))[0].status == "cancelled"
    titled = "UID:p@x\nDTSTART:20261205T030000Z\nSUMMARY:POSTPONED: Winter Rave"
    assert parse(calendar(titled))[0].status == "postponed"


def test_a_broken_rule_skips_its_series_only(caplog: pytest.LogCaptureFixture) -> None:
    broken = "UID:b@x\nDTSTART:20261205T030000Z\nRRULE:FREQ=SOMETIMES\nSUMMARY:Broken"
    fine = "UID:f@x\nDTSTART:20261206T030000Z\nSUMMARY:Fine"
    with caplog.at_level(logging.WARNING, logger="scrapers"):
        events = parse(calendar(broken, fine))
    assert [e.title for e in events] == ["Fine"]
    assert any("malformed" in r.getMessage() and "'b@x'" in r.getMessage() for r in caplog.records)


# --------------------------------------------------------------------------- limits


@pytest.mark.parametrize(
    ("rule", "start"),
    [
        ("FREQ=MINUTELY", "20260101T000000Z"),  # dense and long ago: too many steps
        ("FREQ=MINUTELY", "20261201T180000Z"),  # dense from now: too many occurrences
        ("FREQ=SECONDLY", "19900101T000000Z"),
        ("FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11;BYMINUTE=0,15,30,45", "20200101"),
    ],
)
def test_runaway_rules_raise_quickly(rule: str, start: str) -> None:
    value = f"DTSTART;VALUE=DATE:{start}" if "T" not in start else f"DTSTART:{start}"
    text = calendar(f"UID:r@x\n{value}\nRRULE:{rule}\nSUMMARY:Runaway")
    began = time.monotonic()
    with pytest.raises(ScraperError) as info:
        parse(text)
    assert time.monotonic() - began < 3
    assert isinstance(info.value, UnrecognizedPage)
    assert info.value.source == "ical" and info.value.url == FEED


def test_too_many_occurrences_in_one_feed_raise() -> None:
    series = [
        f"UID:s{i}@x\nDTSTART;TZID=America/Chicago:20261101T{i % 24:02d}0000\n"
        f"RRULE:FREQ=DAILY\nSUMMARY:Series {i}"
        for i in range(40)
    ]
    assert len(parse(calendar(*series[:30]))) == 30 * 57
    with pytest.raises(UnrecognizedPage, match=f"more than {ical.MAX_OCCURRENCES} events"):
        parse(calendar(*series))


# --------------------------------------------------------------------------- zones


def test_all_day_events() -> None:
    one_day = "UID:a@x\nDTSTART;VALUE=DATE:20261231\nDTEND;VALUE=DATE:20270101\nSUMMARY:NYE"
    three = "UID:b@x\nDTSTART;VALUE=DATE:20270115\nDTEND;VALUE=DATE:20270118\nSUMMARY:Fest"
    bare = "UID:c@x\nDTSTART;VALUE=DATE:20270120\nSUMMARY:Day"
    nye, fest, day = parse(calendar(one_day, three, bare))
    assert nye.date_only and nye.start == datetime(2026, 12, 31, tzinfo=CHICAGO)
    assert nye.end is None  # DTEND is exclusive: a one-day event has no end
    assert fest.date_only and fest.end == datetime(2027, 1, 17, tzinfo=CHICAGO)
    assert day.date_only and day.end is None
    assert nye.timezone == "America/Chicago"
    yearly = "UID:y@x\nDTSTART;VALUE=DATE:20201224\nRRULE:FREQ=YEARLY\nSUMMARY:Eve"
    (eve,) = parse(calendar(yearly))
    assert eve.date_only and eve.start == datetime(2026, 12, 24, tzinfo=CHICAGO)
    assert eve.link == f"{FEED}#uid=y@x&occurrence=20261224"


def test_all_day_and_floating_times_need_a_zone(caplog: pytest.LogCaptureFixture) -> None:
    day = "UID:a@x\nDTSTART;VALUE=DATE:20261231\nSUMMARY:NYE"
    floating = "UID:b@x\nDTSTART:20261205T210000\nSUMMARY:Floating"
    utc = "UID:c@x\nDTSTART:20261205T030000Z\nSUMMARY:UTC"
    with caplog.at_level(logging.WARNING, logger="scrapers"):
        events = parse(calendar(day, floating, utc), tz=None)
    assert [e.title for e in events] == ["UTC"]
    assert events[0].start == datetime(2026, 12, 5, 3, tzinfo=UTC) and events[0].timezone is None
    assert sum("tz=None" in r.getMessage() for r in caplog.records) == 2
    floating_event = parse(calendar(floating), tz="America/Denver")[0]
    assert floating_event.start.isoformat() == "2026-12-05T21:00:00-07:00"


CUSTOM_ZONE = """
BEGIN:VTIMEZONE
TZID:Nocturne Test Eastern
BEGIN:STANDARD
DTSTART:19701101T020000
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
TZNAME:EST
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700308T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
TZNAME:EDT
END:DAYLIGHT
END:VTIMEZONE
"""


def test_zones_defined_only_by_a_vtimezone_block() -> None:
    winter = 'UID:w@x\nDTSTART;TZID="Nocturne Test Eastern":20261205T220000\nSUMMARY:Winter'
    summer = 'UID:s@x\nDTSTART;TZID="Nocturne Test Eastern":20260705T220000\nSUMMARY:Summer'
    # The VTIMEZONE block comes after the events that use it (RFC 5545 allows that).
    text = calendar(winter, summer).replace(
        "END:VCALENDAR", CUSTOM_ZONE.strip() + "\r\nEND:VCALENDAR"
    )
    text = text.replace("\n", "\r\n").replace("\r\r\n", "\r\n")
    w, s = parse(text, tz=None)
    assert w.start == datetime(2026, 12, 6, 3, tzinfo=UTC)
    assert s.start == datetime(2026, 7, 6, 2, tzinfo=UTC)
    assert w.timezone is None  # a made-up zone name is not one to store
    w, s = parse(text, tz="America/New_York")
    assert w.start.isoformat() == "2026-12-05T22:00:00-05:00" and w.timezone == "America/New_York"
    assert s.start.isoformat() == "2026-07-05T22:00:00-04:00"


def test_windows_zone_names() -> None:
    event = 'UID:w@x\nDTSTART;TZID="Eastern Standard Time":20261205T220000\nSUMMARY:Outlook'
    (e,) = parse(calendar(event))
    assert e.start.isoformat() == "2026-12-05T22:00:00-05:00"
    assert e.timezone == "America/New_York"


def test_google_x_wr_timezone_places_floating_and_utc_times() -> None:
    head = "X-WR-CALNAME:Basement Shows\nX-WR-TIMEZONE:America/Los_Angeles"
    floating = "UID:f@google.com\nDTSTART:20261205T200000\nDTEND:20261205T230000\nSUMMARY:Floating"
    utc = "UID:u@google.com\nDTSTART:20261206T040000Z\nSUMMARY:UTC"
    weekly = "UID:r@google.com\nDTSTART:20261021T020000Z\nRRULE:FREQ=WEEKLY;COUNT=4\nSUMMARY:Weekly"
    events = parse(calendar(floating, utc, weekly, head=head), tz="America/New_York")
    f, u, *repeats = events
    assert f.start.isoformat() == "2026-12-05T20:00:00-08:00"  # X-WR-TIMEZONE beats tz
    assert f.end and f.end.isoformat() == "2026-12-05T23:00:00-08:00"
    assert u.start.isoformat() == "2026-12-05T20:00:00-08:00"
    assert f.timezone == u.timezone == "America/Los_Angeles"
    # Google means UTC repeats as local ones: 19:00 Tuesdays across the DST change.
    weekly_now = datetime(2026, 10, 20, tzinfo=UTC)
    repeats = parse(calendar(weekly, head=head), tz="America/New_York", now=weekly_now)
    assert [r.start.isoformat() for r in repeats] == [
        "2026-10-20T19:00:00-07:00",
        "2026-10-27T19:00:00-07:00",
        "2026-11-03T19:00:00-08:00",
        "2026-11-10T19:00:00-08:00",
    ]
    bogus = parse(calendar(floating, head="X-WR-TIMEZONE:Mars/Olympus_Mons"))
    assert bogus[0].start.isoformat() == "2026-12-05T20:00:00-06:00"  # falls back to tz


# --------------------------------------------------------------------------- links


def test_events_without_their_own_url_link_to_the_feed() -> None:
    events = [
        "UID:abc123@google.com\nDTSTART:20261205T030000Z\nSUMMARY:No URL",
        "UID:evt 42/ä&x=1\nDTSTART:20261206T030000Z\nSUMMARY:Odd UID",
        "UID:h1@x\nDTSTART:20261207T030000Z\nSUMMARY:Home A\nURL:https://venue.example/",
        "UID:h2@x\nDTSTART:20261208T030000Z\nSUMMARY:Shared A\nURL:https://venue.example/events",
        "UID:h3@x\nDTSTART:20261209T030000Z\nSUMMARY:Shared B\nURL:https://venue.example/events",
        "UID:own@x\nDTSTART:20261210T030000Z\nSUMMARY:Own\nURL:https://venue.example/e/own?utm_source=x",
        "DTSTART:20261211T030000Z\nSUMMARY:No UID",
    ]
    text = calendar(*events)
    first, second = parse(text), parse(text)
    assert [e.link for e in first] == [e.link for e in second]
    assert len({e.link for e in first}) == len(first) == 7
    links = {e.title: e.link for e in first}
    assert links["No URL"] == f"{FEED}#uid=abc123@google.com"
    assert links["Odd UID"] == f"{FEED}#uid=evt%2042/%C3%A4%26x%3D1"
    assert links["Home A"] == f"{FEED}#uid=h1@x"  # a home page names no event
    assert links["Shared A"] == f"{FEED}#uid=h2@x" and links["Shared B"] == f"{FEED}#uid=h3@x"
    assert links["Own"] == "https://venue.example/e/own"
    assert links["No UID"].startswith(f"{FEED}#event=")
    ids = {e.title: e.source_event_id for e in first}
    assert ids["No URL"] == "abc123@google.com" and ids["No UID"] is None


def test_a_uid_repeated_on_one_off_events_is_told_apart_by_start() -> None:
    a = "UID:dup@x\nDTSTART:20261205T030000Z\nSUMMARY:First"
    b = "UID:dup@x\nDTSTART:20261212T030000Z\nSUMMARY:Second"
    first, second = parse(calendar(a, b))
    assert first.link == f"{FEED}#uid=dup@x&occurrence=20261205T0300Z"  # as the feed says
    assert second.source_event_id == "dup@x@20261212T0300Z"
    c = "UID:dup2@x\nDTSTART;TZID=America/Chicago:20261205T220000\nSUMMARY:Third"
    d = "UID:dup2@x\nDTSTART;TZID=America/Chicago:20261212T220000\nSUMMARY:Fourth"
    assert parse(calendar(c, d))[1].link == f"{FEED}#uid=dup2@x&occurrence=20261212T2200"


def test_webcal_feed_urls(caplog: pytest.LogCaptureFixture) -> None:
    text = calendar("UID:w@x\nDTSTART:20261205T030000Z\nSUMMARY:Webcal")
    (event,) = parse(text, url="webcal://venue.example/cal.ics?ical=1&utm_source=app")
    assert event.link == "https://venue.example/cal.ics?ical=1#uid=w@x"
    (event,) = parse(text, url="WEBCALS://Venue.Example/cal.ics")
    assert event.link == "https://venue.example/cal.ics#uid=w@x"
    with_url = "UID:u@x\nDTSTART:20261206T030000Z\nSUMMARY:Has URL\nURL:https://venue.example/e/1"
    with caplog.at_level(logging.WARNING, logger="scrapers"):
        events = parse(calendar("UID:w@x\nDTSTART:20261205T030000Z\nSUMMARY:W", with_url), url="")
    assert [e.title for e in events] == ["Has URL"]  # no feed URL to name the other on
    assert any("malformed" in r.getMessage() for r in caplog.records)


# --------------------------------------------------------------------------- fields


def test_location_geo_categories_image_price_and_text() -> None:
    event = r"""
    UID:f@x
    DTSTART;TZID=America/Chicago:20261205T220000
    DURATION:PT5H
    SUMMARY:   Noise &amp\; Drone   Night
    DESCRIPTION:<p>Three sets.</p><p>$10 - $15 at the door\, $2 off beer.</p>
    LOCATION:Empty Basement\, 1035 N Western Ave\, Chicago\, IL 60622
    GEO:41.9001;-87.6868
    CATEGORIES:Noise,Experimental
    CATEGORIES:noise
    IMAGE;VALUE=URI:https://venue.example/img/noise.png
    """
    (e,) = parse(calendar(event))
    assert e.title == "Noise & Drone Night"
    assert e.description == "Three sets.\n\n$10 - $15 at the door, $2 off beer."
    assert (e.venue, e.address) == ("Empty Basement", "1035 N Western Ave, Chicago, IL 60622")
    assert (e.latitude, e.longitude) == (41.9001, -87.6868)
    assert e.tags == ["Noise", "Experimental"]
    assert e.image_url == "https://venue.example/img/noise.png"
    assert (e.price_min, e.price_max, e.currency, e.is_free) == (10.0, 15.0, "USD", False)
    assert e.end == e.start + timedelta(hours=5)
    specials = "UID:s@x\nDTSTART:20261205T030000Z\nSUMMARY:Bar\nDESCRIPTION:$4 wells\\, $1 off beer"
    assert parse(calendar(specials))[0].price_min is None  # drink specials are no price
    online = "UID:o@x\nDTSTART:20261205T030000Z\nSUMMARY:Stream\nLOCATION:https://zoom.us/j/1"
    (o,) = parse(calendar(online))
    assert o.is_online and o.venue is None


def test_malformed_vevents_are_skipped_not_the_feed(caplog: pytest.LogCaptureFixture) -> None:
    events = [
        "UID:1@x\nSUMMARY:No start",
        "UID:2@x\nDTSTART:20261205T030000Z",
        "UID:3@x\nDTSTART:tomorrow night\nSUMMARY:Unreadable start",
        "UID:4@x\nDTSTART:20261206T030000Z\nSUMMARY:Fine\nDTEND:20261205T030000Z",
    ]
    with caplog.at_level(logging.WARNING, logger="scrapers"):
        parsed = parse(calendar(*events))
    assert [e.title for e in parsed] == ["Fine"]
    assert parsed[0].end is None  # an end before the start is dropped
    skipped = [r for r in caplog.records if "malformed" in r.getMessage()]
    assert len(skipped) == 3 and all(r.levelno == logging.WARNING for r in skipped)


# --------------------------------------------------------------------------- documents

GARBAGE = [
    "",
    "hello",
    "<html><head><title>Just a moment...</title></head><body></body></html>",
    '{"events": []}',
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:cut off",  # truncated
    "BEGIN:VCALENDAR\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VCALENDAR\r\n",  # never closed
]


@pytest.mark.parametrize("text", GARBAGE)
def test_text_that_is_no_calendar_raises(text: str) -> None:
    with pytest.raises(UnrecognizedPage) as info:
        parse(text)
    assert info.value.source == "ical" and info.value.url == FEED


def test_empty_calendars_and_detection() -> None:
    assert parse(calendar()) == []
    assert parse("\ufeff\r\n  " + calendar(head="REFRESH-INTERVAL:P15M")) == []  # Tockify's
    assert ical.looks_like_ical("\ufeff\n\n  BEGIN:VCALENDAR\nEND:VCALENDAR")
    assert ical.looks_like_ical("begin:vcalendar\r\n")
    assert not ical.looks_like_ical("<html>BEGIN:VCALENDAR</html>")
    assert not ical.looks_like_ical("")
    assert ical.next_page_url(calendar(), FEED) is None


def test_now_defaults_to_the_current_time() -> None:
    daily = "UID:d@x\nDTSTART:20000101T030000Z\nRRULE:FREQ=DAILY\nSUMMARY:Daily"
    events = ical.parse(calendar(daily), FEED, tz="America/Chicago")
    assert 55 <= len(events) <= 58
    assert abs(events[0].start - datetime.now(UTC)) <= timedelta(days=1)


# --------------------------------------------------------------------------- real feeds

# name: (city zone, VEVENTs, events parsed with now in Dec 2026)
REAL = {
    "jackofthewood_asheville_eventsmanager": ("America/New_York", 50, 50),
    "meetup_triangle_board_games_and_bars_raleigh": ("America/New_York", 10, 10),
    # 276 VEVENTs: 275 one-offs and a weekly series that ended in August 2015.
    "parklife_minneapolis_music_movies_2015": ("America/Chicago", 276, 275),
    "thebackdoor_bloomington_tockify": ("America/Indiana/Indianapolis", 258, 258),
}


def _real(name: str) -> str:
    path = REAL_FEEDS / f"{name}.ics"
    if not path.exists():
        pytest.skip(f"{path} is not here")
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_feeds_parse_whole(name: str, caplog: pytest.LogCaptureFixture) -> None:
    text = _real(name)
    zone, vevents, expected = REAL[name]
    assert text.count("BEGIN:VEVENT") == vevents
    url = f"https://calendars.example/{name}.ics"
    with caplog.at_level(logging.WARNING, logger="scrapers"):
        events = ical.parse(text, url, tz=zone, now=NOW)
    assert not caplog.records
    assert len(events) == expected
    assert len({e.link for e in events}) == expected
    assert len({e.source_event_id for e in events}) == expected
    for e in events:
        assert e.title and e.title == e.title.strip() and "&amp;" not in e.title
        assert e.link.startswith("https://")
        assert e.start.utcoffset() is not None and not e.date_only
        assert e.end is None or e.end >= e.start
        assert e.timezone == zone
        assert "<" not in (e.description or "")
        assert ScrapedEvent.from_json(e.to_json()) == e


def test_real_feeds_by_hand() -> None:
    jack = ical.parse(
        _real("jackofthewood_asheville_eventsmanager"),
        "https://jackofthewood.com/events.ics",
        tz="America/New_York",
        now=NOW,
    )
    first = jack[0]
    assert first.title == "Utility Players"
    assert first.link == "https://jackofthewood.com/events/utility-players-3/"
    assert first.start.isoformat() == "2026-08-21T20:30:00-04:00"
    assert first.end and first.end.isoformat() == "2026-08-21T23:30:00-04:00"
    assert (first.price_min, first.is_free) == (10.0, False)  # "$10 cover at the door"
    assert first.image_url and first.image_url.endswith("UtilityPlayers_IG_1080x1440.jpg")
    assert "Peggy & the Daddy LongLegs" in {e.title for e in jack}

    meetup = ical.parse(
        _real("meetup_triangle_board_games_and_bars_raleigh"),
        "webcal://www.meetup.com/triangle-board-games-and-bars/events/ical/",
        tz="America/New_York",
        now=NOW,
    )
    assert meetup[0].link == (
        "https://www.meetup.com/triangle-board-games-and-bars/events/315891844/"
    )
    assert meetup[0].start.isoformat() == "2026-08-24T18:00:00-04:00"
    assert meetup[-1].title == "Play Games at Gamers Geekery!"

    back_door = ical.parse(
        _real("thebackdoor_bloomington_tockify"),
        "https://tockify.com/api/feeds/ics/thebackdoor",
        tz="America/Indiana/Indianapolis",
        now=NOW,
    )
    line_dancing = back_door[0]
    assert line_dancing.title == "Country Line Dancing!"  # SUMMARY: " Country Line Dancing!"
    assert line_dancing.start.isoformat() == "2026-07-21T19:30:00-04:00"  # 23:30Z
    assert line_dancing.link == "https://tockify.com/thebackdoor/detail/1623/1784676600000"
    assert line_dancing.price_min == 3.0  # "$3 at the door to dance"
    assert back_door[-1].start.year == 2028


def test_real_google_feed_in_its_season() -> None:
    url = "https://calendar.google.com/calendar/ical/parklife/public/basic.ics"
    text = _real("parklife_minneapolis_music_movies_2015")
    events = ical.parse(text, url, tz="America/Chicago", now=datetime(2015, 8, 1, tzinfo=UTC))
    assert len(events) == 275 + 4  # the weekly Vita.mn series: four Fridays in August
    vita = [e for e in events if e.title == "Vita.mn Presents Music & Movie Series"]
    assert [e.start.isoformat() for e in vita] == [
        "2015-08-07T19:30:00-05:00",
        "2015-08-14T19:30:00-05:00",
        "2015-08-21T19:30:00-05:00",
        "2015-08-28T19:30:00-05:00",
    ]
    assert (
        vita[0].link == f"{url}#uid=ulb4reu6foqomld9qedh59t7mg@google.com&occurrence=20150807T1930"
    )
    assert (vita[0].venue, vita[0].address) == (
        "Lake Harriet Bandshell",
        "4135 West Lake Harriet Parkway, Minneapolis, MN 55419, United States",
    )
    blank_slate = next(e for e in events if e.title == "Blank Slate")
    assert blank_slate.start.isoformat() == "2015-08-03T19:00:00-05:00"  # 00:00Z on the 4th
    assert blank_slate.link == f"{url}#uid=nal9vhrvmrja4ql9k44gklf2ds@google.com"
    park = next(e for e in events if e.venue and e.venue.startswith("Rev. Dr. Martin"))
    assert park.venue == "Rev. Dr. Martin Luther King, Jr. Memorial Park" and park.address is None
