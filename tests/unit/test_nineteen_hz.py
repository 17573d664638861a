"""The 19hz.info region listing parser (scrapers.sites.nineteen_hz)."""

from __future__ import annotations

import json
import logging
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from scrapers.errors import UnrecognizedPage
from scrapers.event import ScrapedEvent
from scrapers.sites import nineteen_hz
from scrapers.sites.nineteen_hz import Hours, parse_hours

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"
TEXAS = PAGES / "19hz" / "eventlisting_Texas.html"
REAL = Path("/work/shared/fixtures/19hz/dancedestination_eventlisting_BayArea_2019-08.php")
URL = "https://19hz.info/eventlisting_Texas.php"
TZ = "America/Chicago"

_HEAD = (
    "<html><head><title>Texas Electronic Music - Event Listing</title></head><body>"
    "<h2>Texas</h2><a href='http://19hz.info'>Home page</a><table><thead><tr>"
    "<th>Date/Time</th><th>Event Title @ Venue</th><th>Tags</th><th>Price | Age</th>"
    "<th>Organizers</th><th>Links</th><th></th></tr></thead><tbody>"
)


def _row(when: str, title: str, sort: str = "", price: str = "$10 | 21+", href: str = "") -> str:
    href = href or "https://ra.co/events/" + title.lower().replace(" ", "-")
    link = f"<a href='{href}'>{title}</a>"
    return (
        f"<tr><td>{when}</td><td>{link} @ Somewhere (Austin)<td>techno</td><td>{price}</td>"
        f"<td></td><td></td><td><div class='shrink'>{sort}</div></td></tr>"
    )


def _page(*rows: str) -> str:
    return _HEAD + "".join(rows) + "</tbody></table></body></html>"


def test_fixture_page_parses_to_expected(caplog: pytest.LogCaptureFixture) -> None:
    spec = json.loads(TEXAS.with_name("eventlisting_Texas.expected.json").read_text("utf-8"))
    text = TEXAS.read_text(encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="scrapers"):
        events = nineteen_hz.parse(text, spec["url"], tz=spec["tz"], now=None)
    assert [ev.to_json() for ev in events] == spec["events"]
    skipped = [r for r in caplog.records if "malformed" in r.getMessage()]
    assert len(skipped) == spec["malformed_skipped"] == 1
    assert "Mystery Loft Party" in skipped[0].getMessage()
    assert all(r.levelno == logging.WARNING for r in skipped)
    assert nineteen_hz.next_page_url(text, spec["url"]) == spec["next_page_url"] is None


def test_fixture_rows() -> None:
    events = nineteen_hz.parse(TEXAS.read_text(encoding="utf-8"), URL, tz=TZ)
    by_title = {ev.title: ev for ev in events}
    assert len(events) == 6  # 8 rows: one repeated listing merged, one without a date
    assert "Bass Bin Tuesdays" not in by_title and "First Friday House" not in by_title
    nye = by_title["Bass & Bloom NYE: All Night Long"]  # past midnight, into the new year
    assert (nye.start.isoformat(), nye.end and nye.end.isoformat()) == (
        "2026-12-31T22:00:00-06:00",
        "2027-01-01T04:00:00-06:00",
    )
    picnic = by_title["New Year Recovery Picnic"]
    assert picnic.is_free and picnic.price_max == 0 and picnic.tags[-1] == "all ages"
    assert picnic.start.isoformat() == "2027-01-01T12:00:00-06:00"
    swap = by_title["Vinyl Swap & Listening Session"]  # no hours
    assert swap.date_only and swap.end is None and swap.tags == ["record fair", "dj sets"]
    dub = by_title["Deep Roots: Dub Night"]  # no link anywhere in the row
    assert dub.link == URL + "#2027-01-02-deep-roots-dub-night"
    assert (dub.price_min, dub.price_max, dub.tags[-1], dub.description) == (10, 10, "18+", None)
    merged = by_title["Subterranea: Kessler b2b Marisol"]
    assert merged.link == "https://ra.co/events/2100001"  # utm_source dropped
    assert merged.tags == ["techno", "industrial techno", "acid", "21+"]  # age stays last
    assert merged.description == "by Subterranea Collective, Night Shift"
    camp = by_title["Frozen Frequencies Campout"]
    assert camp.end and camp.end.isoformat() == "2027-01-10T18:00:00-06:00"
    assert camp.tags == ["multigenre festival", "18+"]  # "18_" on the page
    towns = [nineteen_hz.town_of(ev) for ev in events]
    assert towns == ["Dallas", "Dallas", "Austin", "Austin", "Austin", "Marfa"]
    assert len({ev.source_event_id for ev in events}) == 6


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10pm-3am", Hours(time(22), time(3))),
        ("9:30pm-2am", Hours(time(21, 30), time(2))),
        ("8pm", Hours(time(20), None)),
        ("noon-6pm", Hours(time(12), time(18))),
        ("2pm-2am", Hours(time(14), time(2))),
        ("8pm-12am", Hours(time(20), time(0))),
        ("12pm-9pm", Hours(time(12), time(21))),
        ("midnight-6am", Hours(time(0), time(6))),
        ("8pm-11:59pm", Hours(time(20), time(23, 59))),
        ("10:30 PM \u2013 2:30 AM", Hours(time(22, 30), time(2, 30))),
        ("10pm-late", Hours(time(22), None)),
        ("11-2am", Hours(time(23), time(2))),
        ("11-1pm", Hours(time(11), time(13))),
        ("9-11pm", Hours(time(21), time(23))),
        ("10pm-2", Hours(time(22), time(2))),
        ("22:00-04:00", Hours(time(22), time(4))),
        ("Fri: 8pm-Sun: 6pm", Hours(time(20), time(18), 6)),
        ("Sat: 12pm-Mon: 1am", Hours(time(12), time(1), 0)),
        ("9-2", None),
        ("9", None),
        ("TBA", None),
        ("", None),
    ],
)
def test_parse_hours(text: str, expected: Hours | None) -> None:
    assert parse_hours(text) == expected


@pytest.mark.parametrize(
    ("when", "start", "end"),
    [
        ("Sat: Dec 19 <br />(10pm-3am)", "2026-12-19T22:00:00-06:00", "2026-12-20T03:00:00-06:00"),
        ("Sat: Dec 19 <br />(8pm-12am)", "2026-12-19T20:00:00-06:00", "2026-12-20T00:00:00-06:00"),
        ("Sat: Dec 19 <br />(2pm-2am)", "2026-12-19T14:00:00-06:00", "2026-12-20T02:00:00-06:00"),
        ("Sat: Dec 19 <br />(6am-11am)", "2026-12-19T06:00:00-06:00", "2026-12-19T11:00:00-06:00"),
        ("Sat: Dec 19 <br />(9pm)", "2026-12-19T21:00:00-06:00", None),
        ("Sat: Dec 19 <br />", "2026-12-19T00:00:00-06:00", None),
        ("Sat: Dec 19 <br />(doors at dusk)", "2026-12-19T00:00:00-06:00", None),
        (
            "Sat: Dec 19-Mon: Dec 21 <br />(Sat: 2pm-Mon: 1am)",
            "2026-12-19T14:00:00-06:00",
            "2026-12-21T01:00:00-06:00",
        ),
        (
            "Sat: Dec 19-Sun: Dec 20 <br />",
            "2026-12-19T00:00:00-06:00",
            "2026-12-20T00:00:00-06:00",
        ),
        (
            "Sat: Dec 19 <br />(Sat: 8pm-Sun: 6pm)",
            "2026-12-19T20:00:00-06:00",
            "2026-12-20T18:00:00-06:00",
        ),
    ],
)
def test_row_times(when: str, start: str, end: str | None) -> None:
    (event,) = nineteen_hz.parse(_page(_row(when, "Night", "2026/12/19")), URL, tz=TZ)
    assert event.start.isoformat() == start
    assert (event.end.isoformat() if event.end else None) == end
    assert event.date_only == ("(" not in when or when.endswith("(doors at dusk)"))


def test_year_comes_from_the_sort_date_across_new_year() -> None:
    text = _page(
        _row("Thu: Dec 31 <br />(10pm-4am)", "NYE", "2026/12/31"),
        _row("Fri: Jan 1 <br />(2pm-8pm)", "Day One", "2027/01/01"),
        _row("Sat: Jan 2 <br />(9pm-2am)", "No Sort Date", ""),  # year from the row above
        _row("Wed: Dec 30 <br />(9pm-2am)", "Late Addition", "2027/12/30"),
    )
    events = nineteen_hz.parse(text, URL, tz=TZ)
    assert [(ev.title, ev.start.date().isoformat()) for ev in events] == [
        ("NYE", "2026-12-31"),
        ("Day One", "2027-01-01"),
        ("No Sort Date", "2027-01-02"),
        ("Late Addition", "2027-12-30"),
    ]
    assert events[0].end and events[0].end.isoformat() == "2027-01-01T04:00:00-06:00"


def test_rows_without_sort_dates_take_the_year_nearest_now(
    caplog: pytest.LogCaptureFixture,
) -> None:
    text = _page(
        _row("Thu: Dec 31 <br />(10pm-4am)", "NYE"), _row("Fri: Jan 1 <br />(2pm)", "Day One")
    )
    now = datetime(2026, 12, 20, 12, tzinfo=ZoneInfo(TZ))
    events = nineteen_hz.parse(text, URL, tz=TZ, now=now)
    assert [ev.start.date().isoformat() for ev in events] == ["2026-12-31", "2027-01-01"]
    with caplog.at_level(logging.WARNING, logger="scrapers"):
        assert nineteen_hz.parse(text, URL, tz=TZ) == []  # no year to be had
    assert sum("malformed" in r.getMessage() for r in caplog.records) == 2


def test_a_malformed_row_is_skipped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    text = _page(
        _row("Sat: Dec 19 <br />(9pm-2am)", "Good One", "2026/12/19"),
        "<tr><td>Sat: Dec 19 <br />(9pm-2am)</td><td> @ Nowhere (Austin)<td></td><td></td>"
        "<td></td><td></td><td><div class='shrink'>2026/12/19</div></td></tr>",
        _row("Someday <br />(9pm-2am)", "Undated", ""),
        _row("Sun: Dec 20 <br />(9pm-2am)", "Good Two", "2026/12/20"),
    )
    with caplog.at_level(logging.WARNING, logger="scrapers"):
        events = nineteen_hz.parse(text, URL, tz=TZ)
    assert [ev.title for ev in events] == ["Good One", "Good Two"]
    messages = [r.getMessage() for r in caplog.records if "malformed" in r.getMessage()]
    assert len(messages) == 2
    assert "no title" in messages[0] and "no date" in messages[1]
    assert all(r.levelno == logging.WARNING for r in caplog.records)


UNRELATED = [
    "<html><head><title>Just a moment...</title></head><body>Checking</body></html>",
    (PAGES / "schema_org" / "venue_events.html").read_text(encoding="utf-8"),
    "<html><body><table><tr><td>Fri: Aug 23</td><td>Something</td></tr></table></body></html>",
    '{"events": []}',
    "",
]


@pytest.mark.parametrize("text", UNRELATED, ids=["captcha", "jsonld", "table", "json", "empty"])
def test_pages_that_are_not_listings_raise(text: str) -> None:
    with pytest.raises(UnrecognizedPage) as info:
        nineteen_hz.parse(text, URL, tz=TZ)
    assert info.value.source == "19hz" and info.value.url == URL
    assert not nineteen_hz.looks_like_19hz(text)


def test_only_a_recurring_table_is_not_a_listing_but_an_empty_one_is() -> None:
    recurring = _HEAD.replace("<h2>Texas</h2>", "<h3 id='recurring'>Recurring</h3>")
    weekly = "<tr class='even'><td>Tuesdays <br />(10pm-2am)</td><td>x @ y (Austin)<td></td></tr>"
    with pytest.raises(UnrecognizedPage):
        nineteen_hz.parse(recurring + weekly + "</tbody></table>", URL, tz=TZ)
    assert nineteen_hz.parse(_page(), URL, tz=TZ) == []


def test_detection() -> None:
    assert nineteen_hz.looks_like_19hz(TEXAS.read_text(encoding="utf-8"))
    assert nineteen_hz.looks_like_19hz(_page())
    assert not nineteen_hz.looks_like_19hz(_page().replace("19hz", "example"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$20", (20, 20, "USD", False)),
        ("$15-25", (15, 25, "USD", False)),
        ("free", (0, 0, None, True)),
        ("Free", (0, 0, None, True)),
        ("$10 before 11pm", (10, 10, "USD", False)),
        ("Free w/RSVP b4 10pm/$5", (0, 5, "USD", False)),
        ("$10 b4 10pm/$15 pre/$20", (10, 20, "USD", False)),
        ("$5 b4 10/$8", (5, 8, "USD", False)),
        ("$17.50-27.50", (17.5, 27.5, "USD", False)),
        ("$20+", (20, 20, "USD", False)),
        ("Free w/RSVP / $0", (0, 0, None, True)),
        ("$5 suggested donation", (5, 5, "USD", False)),
        ("", (None, None, None, None)),
        ("TBA", (None, None, None, None)),
    ],
)
def test_price_of(text: str, expected: tuple[object, ...]) -> None:
    assert tuple(nineteen_hz.price_of(text)) == expected


@pytest.mark.parametrize(
    ("cell", "age"),
    [
        ("$10 | 21+", "21+"),
        ("21+", "21+"),
        ("$20 | 18+", "18+"),
        ("$20+ | 18_", "18+"),
        ("Free | All ages", "all ages"),
        ("All ages", "all ages"),
        ("$15-20", None),
        ("$55 single day/Free <10", None),
        ("", None),
    ],
)
def test_age_is_the_last_tag_only_when_stated(cell: str, age: str | None) -> None:
    text = _page(_row("Sat: Dec 19 <br />(9pm)", "Night", "2026/12/19", price=cell))
    (event,) = nineteen_hz.parse(text, URL, tz=TZ)
    assert event.tags == (["techno", age] if age else ["techno"])


def test_zone_falls_back_to_the_region_of_the_url() -> None:
    text = _page(_row("Sat: Dec 19 <br />(9pm)", "Night", "2026/12/19"))
    (event,) = nineteen_hz.parse(text, "https://19hz.info/eventlisting_BayArea.php")
    assert event.timezone == "America/Los_Angeles"
    assert event.start.isoformat() == "2026-12-19T21:00:00-08:00"
    untitled = text.replace("Texas Electronic Music", "Electronic Music")
    assert nineteen_hz.parse(untitled, "https://example.test/listing") == []  # no zone: skipped


@pytest.mark.parametrize(
    ("page", "zone"),
    [
        ("eventlisting_CHI.html", "America/Chicago"),
        ("eventlisting_LosAngeles.html", "America/Los_Angeles"),
        ("eventlisting_Texas.html", "America/Chicago"),
    ],
)
def test_a_saved_page_read_without_its_url_takes_the_zone_its_title_names(
    page: str, zone: str
) -> None:
    text = (PAGES / "19hz" / page).read_text(encoding="utf-8")
    events = nineteen_hz.parse(text, "saved.html")
    assert events and {e.timezone for e in events} == {zone}


def test_regions() -> None:
    assert nineteen_hz.region_url("https://19hz.info", "BayArea") == URL.replace("Texas", "BayArea")
    assert nineteen_hz.region_url("https://19hz.info/", "CHI") == (
        "https://19hz.info/eventlisting_CHI.php"
    )
    assert nineteen_hz.region_of(URL) == "Texas"
    assert set(nineteen_hz.REGIONS) == set(nineteen_hz.REGION_TIMEZONES)
    assert {"BayArea", "LosAngeles", "Seattle", "Texas", "CHI", "ORE", "DC"} <= set(
        nineteen_hz.REGIONS
    )
    assert all(ZoneInfo(name) for name in nineteen_hz.REGION_TIMEZONES.values())


@pytest.mark.parametrize(
    ("address", "town"),
    [
        ("San Francisco", "San Francisco"),
        ("6780 Depot Street, Suite 120, Sebastopol", "Sebastopol"),
        ("Treasure Island/San Francisco", "San Francisco"),
        ("Austin, TX", "Austin"),
        (None, None),
        ("", None),
    ],
)
def test_town_of(address: str | None, town: str | None) -> None:
    event = ScrapedEvent(
        title="x",
        link="https://19hz.info/",
        source="19hz",
        start=datetime(2026, 12, 19, tzinfo=ZoneInfo(TZ)),
        address=address,
    )
    assert nineteen_hz.town_of(event) == town


@pytest.mark.skipif(not REAL.exists(), reason="shared real page not available")
def test_real_bay_area_page() -> None:
    """336 dated rows (one listed twice: 'DJ Dan' at Halcyon), a 64-row Recurring table,
    a venue list and a promoter list; dates 2019-08-23..2019-12-30."""
    text = REAL.read_text(encoding="utf-8")
    assert text.startswith("\u00ef\u00bb\u00bf")  # the mojibake'd BOM
    assert nineteen_hz.looks_like_19hz(text)
    url = "https://19hz.info/eventlisting_BayArea.php"
    events = nineteen_hz.parse(text, url, tz="America/Los_Angeles")
    assert len(events) == 335
    for ev in events:
        assert ev.title and "<" not in ev.title and "&amp;" not in ev.title
        assert ev.link.startswith("https://") and ev.start.utcoffset() is not None
        assert ev.end is None or ev.end > ev.start
        assert ev.venue and nineteen_hz.town_of(ev)
        assert ev.start.year == 2019 and not ev.date_only
        assert ScrapedEvent.from_json(json.loads(json.dumps(ev.to_json()))) == ev
    assert events[0].start.isoformat() == "2019-08-23T10:00:00-07:00"
    assert events[0].title == "Masha + Sinead: All Night"
    assert events[-1].start.isoformat() == "2019-12-30T20:00:00-08:00"
    titles = [ev.title for ev in events]
    assert "Death Guild" not in titles  # a Recurring row
    assert titles.count("DJ Dan") == 1 and titles.count("Prefuse 73") == 2  # two dates
    assert sum(ev.tags[-1] in ("21+", "18+", "all ages") for ev in events) == 305
    towns = [nineteen_hz.town_of(ev) for ev in events]
    assert (towns.count("San Francisco"), towns.count("Oakland")) == (217, 40)
    sound = next(ev for ev in events if ev.title == "Sound System")
    assert (sound.price_min, sound.price_max, sound.description) == (0, 5, "by Miles Otway")
    alien = next(ev for ev in events if ev.title == "Alien Disco 4")
    assert alien.end and alien.end.isoformat() == "2019-09-16T06:00:00-07:00"
