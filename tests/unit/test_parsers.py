"""The site parsers against the project's own fixture pages (tests/fixtures/pages)."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path

import pytest

from scrapers.dedupe import dedupe, filter_for_city
from scrapers.errors import UnrecognizedPage
from scrapers.event import ScrapedEvent
from scrapers.sites import SITES, detect_site, eventbrite, luma, meetup, parse_page

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"
EXPECTED_SUFFIX = ".expected.json"


def _pages() -> list[Path]:
    return sorted(
        p for p in PAGES.glob("*/*") if p.is_file() and not p.name.endswith(EXPECTED_SUFFIX)
    )


def _expected(page: Path) -> dict:
    target = page.with_name(page.name.rsplit(".", 1)[0] + EXPECTED_SUFFIX)
    return json.loads(target.read_text(encoding="utf-8"))


def _now(spec: dict) -> datetime | None:
    return datetime.fromisoformat(spec["now"]) if spec.get("now") else None


def _parse(page: Path) -> list[ScrapedEvent]:
    spec = _expected(page)
    text = page.read_text(encoding="utf-8")
    return SITES[page.parent.name].parse(text, spec["url"], tz=spec["tz"], now=_now(spec))


@pytest.mark.parametrize("page", _pages(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_page_parses_to_expected(page: Path, caplog: pytest.LogCaptureFixture) -> None:
    spec = _expected(page)
    site = page.parent.name
    text = page.read_text(encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="scrapers"):
        events = SITES[site].parse(text, spec["url"], tz=spec["tz"], now=_now(spec))
    assert [ev.to_json() for ev in events] == spec["events"]
    skipped = [r for r in caplog.records if "malformed" in r.getMessage()]
    assert len(skipped) == spec["malformed_skipped"]
    assert all(r.levelno == logging.WARNING for r in skipped)
    assert SITES[site].next_page(text, spec["url"]) == spec["next_page_url"]


def test_every_site_has_fixtures_and_every_fixture_an_expectation() -> None:
    by_site = {site: [p for p in _pages() if p.parent.name == site] for site in SITES}
    for site, pages in by_site.items():
        assert pages, f"no fixture pages for {site}"
        assert any(_expected(p)["events"] for p in pages), f"{site}: no fixture with events"
    for page in _pages():
        assert page.parent.name in SITES, page
        assert page.with_name(page.name.rsplit(".", 1)[0] + EXPECTED_SUFFIX).exists(), page


@pytest.mark.parametrize("page", _pages(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_site_is_detected_from_content_alone(page: Path) -> None:
    assert detect_site(page.read_text(encoding="utf-8"), "") == page.parent.name


@pytest.mark.parametrize("page", _pages(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_output_is_plain_text_and_well_formed(page: Path) -> None:
    for ev in _parse(page):
        for text in (ev.title, ev.description or "", ev.venue or "", ev.address or ""):
            assert "<" not in text and "onerror" not in text, text
            assert "&amp;" not in text and "\u200b" not in text, text
        assert ev.title.strip() == ev.title and ev.title
        assert ev.link.startswith("https://")
        assert "utm_" not in ev.link and "aff=" not in ev.link and "recId" not in ev.link
        assert ev.start.utcoffset() is not None
        assert ev.end is None or ev.end >= ev.start
        assert ScrapedEvent.from_json(json.loads(json.dumps(ev.to_json()))) == ev


def test_parsers_keep_past_cancelled_online_and_spam_listings() -> None:
    events = _parse(PAGES / "eventbrite" / "city_browse.html")
    titles = {ev.title: ev for ev in events}
    assert titles["Late Autumn Poetry Slam"].start.year == 2026  # past on 2026-12-01
    assert titles["Lakefront Winter Kite Festival"].status == "cancelled"
    assert titles["Intro to Watercolor (Live Online)"].is_online
    assert "QuickBooks Customer Care Number +1-(888)-555-0147 Call Now" in titles


def test_eventbrite_merges_server_data_and_jsonld_per_event() -> None:
    events = _parse(PAGES / "eventbrite" / "city_browse.html")
    techno = [ev for ev in events if ev.source_event_id == "2101000000001"]
    assert len(techno) == 1  # two buckets + JSON-LD, three tracking variants of one link
    assert techno[0].link == (
        "https://www.eventbrite.com/e/warehouse-techno-night-loft-sessions-tickets-2101000000001"
    )
    assert not techno[0].date_only  # the timed server data beats the JSON-LD date
    assert techno[0].description and "21+ with ID" in techno[0].description  # longer text kept
    yoga = next(ev for ev in events if ev.title == "Sunrise Yoga on the Pier")
    assert yoga.date_only and yoga.start.isoformat() == "2026-12-20T00:00:00-06:00"


def test_jsonld_dates_without_a_zone_need_tz(caplog: pytest.LogCaptureFixture) -> None:
    text = (PAGES / "eventbrite" / "jsonld_listing.html").read_text()
    with caplog.at_level(logging.WARNING, logger="scrapers"):
        assert eventbrite.parse(text, "https://www.eventbrite.com/") == []
    assert any("tz=None" in r.getMessage() for r in caplog.records)
    with_tz = eventbrite.parse(text, "https://www.eventbrite.com/", tz="America/Los_Angeles")
    assert with_tz[0].start.isoformat() == "2026-12-11T00:00:00-08:00"


UNRELATED = [
    "<html><head><title>Just a moment...</title></head><body>Checking your browser</body></html>",
    '<html><head><script type="application/ld+json">{"@type":"Organization","name":"X"}'
    "</script></head><body></body></html>",
    '<html><body><script id="__NEXT_DATA__" type="application/json">{"props":{"pageProps":{}}}'
    "</script></body></html>",
]


@pytest.mark.parametrize("site", sorted(SITES))
@pytest.mark.parametrize("text", UNRELATED, ids=["captcha", "organization-only", "bare-next"])
def test_unrecognised_pages_raise(site: str, text: str) -> None:
    with pytest.raises(UnrecognizedPage) as info:
        SITES[site].parse(text, "https://example.test/page")
    assert info.value.source == site
    assert info.value.url == "https://example.test/page"


def test_luma_rejects_json_that_is_not_an_entries_answer() -> None:
    with pytest.raises(UnrecognizedPage):
        luma.parse('{"error": "rate limited"}', "https://api.lu.ma/discover/x")
    with pytest.raises(UnrecognizedPage):
        luma.parse('{"entries": [', "https://api.lu.ma/discover/x")


def test_recognised_pages_with_no_events_give_empty_lists() -> None:
    empty_list = (
        '<script type="application/ld+json">{"@context":"https://schema.org",'
        '"@type":"ItemList","itemListElement":[]}</script>'
    )
    assert eventbrite.parse(empty_list, "https://www.eventbrite.com/d/x/") == []
    assert luma.parse(empty_list, "https://luma.com/x") == []
    apollo = (
        '<script id="__NEXT_DATA__" type="application/json">'
        '{"props":{"pageProps":{"__APOLLO_STATE__":{"ROOT_QUERY":{"__typename":"Query"}}}}}'
        "</script>"
    )
    assert meetup.parse(apollo, "https://www.meetup.com/find/") == []


def test_broken_server_data_falls_back_to_jsonld(caplog: pytest.LogCaptureFixture) -> None:
    text = (PAGES / "eventbrite" / "city_browse.html").read_text()
    broken = text.replace("window.__SERVER_DATA__ = {", "window.__SERVER_DATA__ = {oops", 1)
    with caplog.at_level(logging.WARNING, logger="scrapers"):
        events = eventbrite.parse(
            broken, "https://www.eventbrite.com/d/il--chicago/events/", tz="America/Chicago"
        )
    assert len(events) == 10  # the script tag's JSON-LD still lists them (dates only)
    assert all(ev.date_only for ev in events)
    assert any("__SERVER_DATA__" in r.getMessage() for r in caplog.records)


def test_detect_site_by_url_and_failure() -> None:
    assert detect_site("", "https://www.eventbrite.co.uk/d/x/") == "eventbrite"
    assert detect_site("", "https://www.meetup.com/find/") == "meetup"
    assert detect_site("", "https://api.lu.ma/discover/get-paginated-events") == "luma"
    assert detect_site("", "https://luma.com/nyc") == "luma"
    with pytest.raises(UnrecognizedPage):
        detect_site("<html>hello</html>", "https://example.com/")
    with pytest.raises(UnrecognizedPage):
        detect_site('{"data": []}', "")


def test_parse_page_dispatches() -> None:
    page = PAGES / "luma" / "calendar_items.json"
    events = parse_page(page.read_text(), tz="America/Chicago")
    assert [ev.source for ev in events] == ["luma"] * 3
    with pytest.raises(ValueError, match="unknown source"):
        parse_page("{}", site="facebook")


def test_url_builders() -> None:
    assert (
        eventbrite.city_url("https://www.eventbrite.com/", "il--chicago", page=3)
        == "https://www.eventbrite.com/d/il--chicago/all-events/?page=3"
    )
    assert meetup.location_slug("IL", "St. Louis") == "us--il--st-louis"
    assert (
        meetup.find_url("https://www.meetup.com", "us--il--chicago", "live music")
        == "https://www.meetup.com/find/?location=us--il--chicago&source=EVENTS"
        "&keywords=live+music"
    )
    assert (
        meetup.find_url("https://www.meetup.com/", "us--il--chicago", event_type="inPerson")
        == "https://www.meetup.com/find/?location=us--il--chicago&source=EVENTS&eventType=inPerson"
    )
    assert (
        luma.discover_url("https://api.lu.ma", place_id="discplace-abc", cursor="c1")
        == "https://api.lu.ma/discover/get-paginated-events?discover_place_api_id=discplace-abc"
        "&pagination_limit=50&pagination_cursor=c1"
    )
    assert (
        luma.discover_url("https://api.lu.ma/", lat=41.88, lng=-87.63, limit=20)
        == "https://api.lu.ma/discover/get-paginated-events?latitude=41.88&longitude=-87.63"
        "&pagination_limit=20"
    )
    with pytest.raises(ValueError):
        luma.discover_url("https://api.lu.ma")
    assert (
        luma.calendar_url("https://api.lu.ma", "cal-1")
        == "https://api.lu.ma/calendar/get-items?calendar_api_id=cal-1&period=future"
        "&pagination_limit=50"
    )
    assert luma.place_url("https://luma.com/", "chicago") == "https://luma.com/chicago"


def test_next_page_replaces_an_existing_cursor() -> None:
    text = (PAGES / "luma" / "discover_chicago.json").read_text()
    url = (
        "https://api.lu.ma/discover/get-paginated-events?pagination_cursor=old&pagination_limit=50"
    )
    assert luma.next_page_url(text, url) == (
        "https://api.lu.ma/discover/get-paginated-events"
        "?pagination_cursor=eyJzdiI6IjIwMjYtMTItMTMifQ&pagination_limit=50"
    )
    assert luma.next_page_url("<html></html>", url) is None


def test_chicago_sources_combined() -> None:
    """The three sources' Chicago fixtures, deduplicated and filtered the way a city refresh
    would: the shared events collapse, the rest are counted out by reason."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    names = [
        "eventbrite/city_browse.html",
        "eventbrite/search_page2.html",
        "meetup/find_page.html",
        "luma/discover_chicago.json",
        "luma/calendar_items.json",
        "luma/discover_page.html",
    ]
    listings = [ev for name in names for ev in _parse(PAGES / name)]
    merged = dedupe(listings)
    techno = [ev for ev in merged if "Techno" in ev.title]
    assert len(techno) == 1
    assert techno[0].links == [
        "https://www.eventbrite.com/e/warehouse-techno-night-loft-sessions-tickets-2101000000001",
        "https://luma.com/loft-sessions-dec",
    ]
    python_night = [ev for ev in merged if ev.title == "Chicago Python Project Night"]
    assert len(python_night) == 1 and python_night[0].source == "meetup"
    assert len(merged) == len(listings) - 3

    now = datetime(2026, 12, 1, 12, 0, tzinfo=ZoneInfo("America/Chicago"))
    kept, counts = filter_for_city(merged, now=now)
    assert counts == {"spam": 1, "past": 3, "online": 3, "kept": len(kept)}
    assert len(kept) + 7 == len(merged)
    assert all(not ev.is_online and ev.start.year == 2026 for ev in kept)


def test_cli_parse_prints_the_events(capsys: pytest.CaptureFixture[str]) -> None:
    from scrapers.cli import main

    page = PAGES / "meetup" / "find_page.html"
    spec = _expected(page)
    assert main(["parse", str(page), "--url", spec["url"], "--tz", spec["tz"]]) == 0
    printed = json.loads(capsys.readouterr().out)
    verdicts = [event.pop("classified") for event in printed]  # the classifier's, per event
    assert printed == spec["events"]
    assert [v["tags"][0] for v in verdicts[:2]] == ["tech", "online"]
    assert [v["after_dark"] for v in verdicts[:2]] == [False, False]
    assert all(set(v) == {"tags", "after_dark", "after_dark_reasons", "age"} for v in verdicts)
    assert main(["parse", str(page), "--city", "il--chicago"]) == 0  # site detected, zone too
    assert len(json.loads(capsys.readouterr().out)) == len(spec["events"])


def test_cli_parse_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from scrapers.cli import main

    unknown = tmp_path / "page.html"
    unknown.write_text("<html><body>nothing here</body></html>")
    assert main(["parse", str(unknown)]) == 1
    assert main(["parse", str(unknown), "--site", "luma"]) == 1
    assert main(["parse", str(unknown), "--tz", "Nowhere/Else"]) == 2
    assert main(["parse", str(tmp_path / "missing.html")]) == 2
    assert "error:" in capsys.readouterr().err
