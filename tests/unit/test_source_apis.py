"""The Eventbrite search API and Meetup GraphQL answers (raw JSON), field by field.

The fixtures (tests/fixtures/pages/eventbrite/search_api.json and
tests/fixtures/pages/meetup/gql_event_search.json) are the project's own, written in the
shape of those answers; the generic fixture test in test_parsers.py checks them whole.
"""

from __future__ import annotations

import copy
import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from scrapers.errors import UnrecognizedPage
from scrapers.event import ScrapedEvent
from scrapers.sites import eventbrite, luma, meetup
from scrapers.sites.common import looks_like_json

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"
CHICAGO = "America/Chicago"
EB_URL = (
    "https://www.eventbrite.com/api/v3/destination/search/"
    "?slug=il--chicago&dates=current_future&page_size=20&page=1"
)
GQL_URL = "https://www.meetup.com/gql2"


def _load(name: str) -> dict[str, Any]:
    return json.loads((PAGES / name).read_text(encoding="utf-8"))


def _text(data: object) -> str:
    return json.dumps(data)


def _by_title(events: list[ScrapedEvent]) -> dict[str, ScrapedEvent]:
    return {ev.title: ev for ev in events}


def _malformed(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "malformed" in r.getMessage()]


# --------------------------------------------------------------------------- Eventbrite


@pytest.fixture
def eb_answer() -> dict[str, Any]:
    return _load("eventbrite/search_api.json")


def test_eventbrite_api_fields(eb_answer: dict[str, Any]) -> None:
    events = eventbrite.parse(_text(eb_answer), EB_URL, tz=CHICAGO)
    assert [ev.source_event_id for ev in events] == [
        "2101000000031",
        "2101000000032",
        "2101000000033",
        "2101000000034",
    ]
    by = _by_title(events)

    noise = by["Basement Noise Showcase"]
    assert noise.source == "eventbrite"
    assert noise.link == (
        "https://www.eventbrite.com/e/basement-noise-showcase-tickets-2101000000031"
    )  # aff= dropped
    assert noise.start == datetime(2026, 12, 4, 21, 0, tzinfo=ZoneInfo(CHICAGO))
    assert noise.start.isoformat() == "2026-12-04T21:00:00-06:00"
    assert noise.end is not None and noise.end.isoformat() == "2026-12-05T01:30:00-06:00"
    assert noise.timezone == CHICAGO and not noise.date_only
    assert noise.venue == "The Boiler Room Below"
    assert noise.address == "1842 S Halsted St, Chicago, IL 60608"
    assert (noise.latitude, noise.longitude) == (41.8567012, -87.6465098)
    assert (noise.price_min, noise.price_max, noise.currency, noise.is_free) == (
        15.0,
        30.0,
        "USD",
        False,
    )
    assert noise.image_url is not None
    assert noise.image_url.startswith("https://img.evbuc.com/")
    assert "s=0a0b0c0d0031" in noise.image_url
    assert noise.tags == ["Music", "Experimental", "noise"]
    assert noise.description == "Four harsh-noise sets in a Pilsen basement. Earplugs at the door."
    assert noise.status == "scheduled" and not noise.is_online

    zines = by["Zine Swap & Cut-and-Paste Night"]  # &amp; unescaped
    assert zines.is_free is True
    assert (zines.price_min, zines.price_max, zines.currency) == (0.0, 0.0, None)
    assert zines.tags == ["Performing & Visual Arts"]  # "Other" dropped

    online = by["Modular Synth Patching 101 (Livestream)"]
    assert online.is_online
    assert online.venue is None and online.address is None and online.latitude is None
    assert online.image_url is None
    assert online.timezone == "America/New_York"  # the event's own zone beats tz
    assert online.start.isoformat() == "2026-12-12T14:00:00-05:00"

    fire = by["Winter Solstice Rooftop Fire Circle"]
    assert fire.status == "cancelled"
    assert fire.price_min == 20.0 and fire.is_free is False


def test_eventbrite_api_places_zoneless_results_in_the_given_zone(
    eb_answer: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    text = _text(eb_answer)
    denver = _by_title(eventbrite.parse(text, EB_URL, tz="America/Denver"))
    zines = denver["Zine Swap & Cut-and-Paste Night"]  # the one result without "timezone"
    assert zines.timezone == "America/Denver"
    assert zines.start.isoformat() == "2026-12-09T18:30:00-07:00"
    assert denver["Basement Noise Showcase"].start.isoformat() == "2026-12-04T21:00:00-06:00"

    with caplog.at_level(logging.WARNING, logger="scrapers"):
        no_tz = eventbrite.parse(text, EB_URL)
    assert "Zine Swap & Cut-and-Paste Night" not in _by_title(no_tz)
    assert len(no_tz) == 3
    assert len(_malformed(caplog)) == 1


def test_eventbrite_api_malformed_results_are_skipped(
    eb_answer: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    results = eb_answer["events"]["results"]
    del results[0]["name"]
    results[2]["start_date"] = None
    results.append("not an event")
    with caplog.at_level(logging.WARNING, logger="scrapers"):
        events = eventbrite.parse(_text(eb_answer), EB_URL, tz=CHICAGO)
    assert [ev.source_event_id for ev in events] == ["2101000000032", "2101000000034"]
    skipped = _malformed(caplog)
    assert len(skipped) == 3
    assert all(r.levelno == logging.WARNING for r in skipped)
    assert any("no title" in r.getMessage() for r in skipped)
    assert any("unreadable start" in r.getMessage() for r in skipped)


def test_eventbrite_api_empty_results() -> None:
    empty = _text(
        {
            "events": {
                "results": [],
                "pagination": {"object_count": 0, "page_number": 1, "page_count": 0},
            }
        }
    )
    assert eventbrite.parse(empty, EB_URL, tz=CHICAGO) == []
    assert eventbrite.next_page_url(empty, EB_URL) is None
    # page_count says there is more, but an empty page ends the walk
    hollow = _text({"events": {"results": [], "pagination": {"page_number": 1, "page_count": 5}}})
    assert eventbrite.next_page_url(hollow, EB_URL) is None


def test_eventbrite_api_promoted_results_are_read_and_merged(eb_answer: dict[str, Any]) -> None:
    first = copy.deepcopy(eb_answer["events"]["results"][0])
    eb_answer["events"]["promoted_results"] = [first]
    events = eventbrite.parse(_text(eb_answer), EB_URL, tz=CHICAGO)
    assert len(events) == 4  # the promoted copy merges into its listing


def test_eventbrite_api_next_page(eb_answer: dict[str, Any]) -> None:
    text = _text(eb_answer)
    assert eventbrite.next_page_url(text, EB_URL) == EB_URL.replace("page=1", "page=2")

    pagination = eb_answer["events"]["pagination"]
    pagination["page_number"] = 2
    page2_url = EB_URL.replace("page=1", "page=2")
    assert eventbrite.next_page_url(_text(eb_answer), page2_url) is None  # 2 of 2

    del pagination["page_number"]  # then the URL's page counts
    pagination["page_count"] = 3
    assert eventbrite.next_page_url(_text(eb_answer), page2_url) == EB_URL.replace(
        "page=1", "page=3"
    )

    del pagination["page_count"]  # no count: has_more_items decides
    assert eventbrite.next_page_url(_text(eb_answer), page2_url) == EB_URL.replace(
        "page=1", "page=3"
    )
    pagination["has_more_items"] = False
    assert eventbrite.next_page_url(_text(eb_answer), page2_url) is None

    bare = "https://www.eventbrite.com/api/v3/destination/search/"
    assert eventbrite.next_page_url(text, bare) == bare + "?page=2"


def test_eventbrite_rejects_json_that_is_not_a_search_answer() -> None:
    others = [
        '{"error": "NOT_AUTHORIZED", "status_code": 403}',
        '{"events": [',
        (PAGES / "luma" / "calendar_items.json").read_text(encoding="utf-8"),
        (PAGES / "meetup" / "gql_event_search.json").read_text(encoding="utf-8"),
    ]
    for text in others:
        with pytest.raises(UnrecognizedPage) as info:
            eventbrite.parse(text, EB_URL, tz=CHICAGO)
        assert info.value.source == "eventbrite"
        assert eventbrite.next_page_url(text, EB_URL) is None


def test_eventbrite_search_api_url_and_body() -> None:
    url = eventbrite.search_api_url("https://www.eventbrite.com/", "/il--chicago/")
    assert url == EB_URL
    assert eventbrite.search_api_url("http://127.0.0.1:8001", "ny--new-york", page=3) == (
        "http://127.0.0.1:8001/api/v3/destination/search/"
        "?slug=ny--new-york&dates=current_future&page_size=20&page=3"
    )
    body = eventbrite.search_api_body(EB_URL.replace("page=1", "page=2"), "85940195")
    assert body["event_search"] == {
        "dates": "current_future",
        "dedup": True,
        "places": ["85940195"],
        "page": 2,
        "page_size": 20,
    }
    assert "primary_venue" in body["expand.destination_event"]
    assert "ticket_availability" in body["expand.destination_event"]
    assert eventbrite.search_api_body("https://x.test/?page=oops", "1")["event_search"]["page"] == 1


# --------------------------------------------------------------------------- Meetup


@pytest.fixture
def gql_answer() -> dict[str, Any]:
    return _load("meetup/gql_event_search.json")


def test_meetup_gql_fields(gql_answer: dict[str, Any]) -> None:
    events = meetup.parse(_text(gql_answer), GQL_URL, tz=CHICAGO)
    assert [ev.source_event_id for ev in events] == ["310000051", "310000052", "310000053"]
    by = _by_title(events)

    press = by["Late-Night Letterpress Open Studio"]
    assert press.source == "meetup"
    assert press.link == "https://www.meetup.com/chicago-print-collective/events/310000051/"
    assert press.start == datetime(2026, 12, 3, 20, 0, tzinfo=ZoneInfo(CHICAGO))
    assert press.end is not None and press.end.isoformat() == "2026-12-03T23:30:00-06:00"
    assert press.timezone == CHICAGO
    assert press.venue == "Ravenswood Print Shop"
    assert press.address == "4437 N Ravenswood Ave, Chicago, IL 60640"
    assert (press.latitude, press.longitude) == (41.962731, -87.674902)  # venue "lon"
    assert (press.price_min, press.price_max, press.currency, press.is_free) == (
        10.0,
        10.0,
        "USD",
        False,
    )
    assert press.image_url == (
        "https://secure.meetupstatic.com/photos/event/e/5/f/6/highres_67001.jpeg"
    )
    assert press.description is not None and press.description.startswith("Ink up the")
    assert "\n\nPaper provided" in press.description
    assert press.status == "scheduled" and not press.is_online

    online = by["Field Recording Listening Session (Online)"]
    assert online.is_online
    assert online.venue is None and online.address is None  # "Online event" is no venue
    assert online.latitude is None and online.longitude is None
    assert online.image_url is None
    assert (online.price_min, online.is_free) == (None, None)  # no fee settings: unknown

    jam = by["Basement Jazz Jam"]
    assert jam.status == "cancelled"
    assert jam.venue == "The Cellar on 53rd"  # from the "venues" list
    assert jam.address == "1510 E 53rd St, Chicago, IL 60615"
    assert jam.end is not None and jam.end.isoformat() == "2026-12-20T00:00:00-06:00"  # PT3H
    assert jam.image_url == (
        "https://secure.meetupstatic.com/photos/event/g/7/h/8/67003/676x380.jpg"
    )  # from "featuredEventPhotos"


def test_meetup_gql_offsetless_times_use_the_group_zone_then_tz(
    gql_answer: dict[str, Any],
) -> None:
    nodes = [e["node"] for e in gql_answer["data"]["result"]["edges"]]
    nodes[0]["dateTime"] = "2026-12-03T20:00:00"
    nodes[0]["endTime"] = None
    nodes[1]["dateTime"] = "2026-12-08T19:00:00"
    nodes[1]["endTime"] = None
    del nodes[1]["group"]["timezone"]
    by = _by_title(meetup.parse(_text(gql_answer), GQL_URL, tz="America/Denver"))
    assert by["Late-Night Letterpress Open Studio"].start.isoformat() == (
        "2026-12-03T20:00:00-06:00"
    )
    online = by["Field Recording Listening Session (Online)"]
    assert online.timezone == "America/Denver"
    assert online.start.isoformat() == "2026-12-08T19:00:00-07:00"


def test_meetup_gql_malformed_nodes_are_skipped(
    gql_answer: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    edges = gql_answer["data"]["result"]["edges"]
    del edges[0]["node"]["title"]
    del edges[2]["node"]["dateTime"]
    with caplog.at_level(logging.WARNING, logger="scrapers"):
        events = meetup.parse(_text(gql_answer), GQL_URL, tz=CHICAGO)
    assert [ev.source_event_id for ev in events] == ["310000052"]
    skipped = _malformed(caplog)
    assert len(skipped) == 2
    assert all(r.levelno == logging.WARNING for r in skipped)
    assert any("no title" in r.getMessage() for r in skipped)
    assert any("unreadable start" in r.getMessage() for r in skipped)


def test_meetup_gql_empty_answers() -> None:
    empty = {"data": {"result": {"edges": [], "pageInfo": {"hasNextPage": False}}}}
    assert meetup.parse(_text(empty), GQL_URL, tz=CHICAGO) == []
    assert meetup.parse('{"data": {"groupByUrlname": null}}', GQL_URL, tz=CHICAGO) == []
    assert meetup.next_page_url(_text(empty), GQL_URL) is None


def test_meetup_gql_finds_events_wherever_the_query_put_them(
    gql_answer: dict[str, Any],
) -> None:
    nodes = [e["node"] for e in gql_answer["data"]["result"]["edges"]]
    member = {"__typename": "Member", "id": "1", "name": "Someone"}
    nodes[0]["going"] = {"totalCount": 1, "edges": [{"node": member}]}
    group_answer = {
        "data": {
            "groupByUrlname": {
                "id": "5101",
                "name": "Chicago Print Collective",
                "events": {
                    "pageInfo": {"hasNextPage": False, "endCursor": None},
                    "edges": [{"node": nodes[0]}],
                },
            }
        }
    }
    search_answer = {  # keyword search wraps each event in a result node
        "data": {
            "keywordSearch": {
                "edges": [{"node": {"id": "r1", "result": nodes[1]}}],
                "pageInfo": {"hasNextPage": False},
            }
        }
    }
    recommended = {"data": {"recommendedEvents": {"edges": [{"node": nodes[2]}]}}}
    batch = [group_answer, search_answer, recommended]
    events = meetup.parse(_text(batch), GQL_URL, tz=CHICAGO)
    assert [ev.source_event_id for ev in events] == ["310000051", "310000052", "310000053"]
    assert all(ev.title != "Someone" for ev in events)  # RSVP edges are not events


def test_meetup_rejects_json_that_is_not_a_graphql_answer() -> None:
    with pytest.raises(UnrecognizedPage, match="rate limit exceeded"):
        meetup.parse('{"errors": [{"message": "rate limit exceeded"}]}', GQL_URL)
    others = [
        '{"data": ',
        (PAGES / "eventbrite" / "search_api.json").read_text(encoding="utf-8"),
        (PAGES / "luma" / "discover_chicago.json").read_text(encoding="utf-8"),
    ]
    for text in others:
        with pytest.raises(UnrecognizedPage) as info:
            meetup.parse(text, GQL_URL, tz=CHICAGO)
        assert info.value.source == "meetup"


def test_meetup_gql_url_and_no_next_page(gql_answer: dict[str, Any]) -> None:
    assert meetup.gql_url("https://www.meetup.com/") == GQL_URL
    assert meetup.gql_url("http://127.0.0.1:8002") == "http://127.0.0.1:8002/gql2"
    assert meetup.next_page_url(_text(gql_answer), GQL_URL) is None


# --------------------------------------------------------------------------- shared


def _fixture_texts() -> dict[str, str]:
    return {
        f"{p.parent.name}/{p.name}": p.read_text(encoding="utf-8")
        for p in sorted(PAGES.glob("*/*"))
        if p.is_file() and not p.name.endswith(".expected.json")
    }


def test_api_answer_tests_claim_only_their_own_answers() -> None:
    claims = {
        name: [
            site
            for site, test in (
                ("eventbrite", eventbrite.looks_like_api_answer),
                ("meetup", meetup.looks_like_api_answer),
                ("luma", luma_looks_like_api_answer),
            )
            if test(text)
        ]
        for name, text in _fixture_texts().items()
    }
    assert claims["eventbrite/search_api.json"] == ["eventbrite"]
    assert claims["meetup/gql_event_search.json"] == ["meetup"]
    for name, sites in claims.items():
        if not name.endswith(".json"):
            assert "eventbrite" not in sites and "meetup" not in sites, name
        assert len(sites) <= 1, (name, sites)
    empty = '{"events": {"results": [], "pagination": {"page_number": 1, "page_count": 0}}}'
    assert eventbrite.looks_like_api_answer(empty)
    assert not meetup.looks_like_api_answer(empty)


def luma_looks_like_api_answer(text: str) -> bool:
    """Luma's JSON answers as the registry tells them (the ``entries`` markers)."""
    test = getattr(luma, "looks_like_api_answer", None)
    if test is not None:
        return bool(test(text))
    head = text[:200_000]
    return (
        looks_like_json(text)
        and '"entries"' in head
        and ('"start_at"' in head or '"has_more"' in head)
    )


def test_parsers_accept_now() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=ZoneInfo(CHICAGO))
    for parse, name in (
        (eventbrite.parse, "eventbrite/search_api.json"),
        (meetup.parse, "meetup/gql_event_search.json"),
        (eventbrite.parse, "eventbrite/search_page2.html"),
        (meetup.parse, "meetup/find_page.html"),
    ):
        text = (PAGES / name).read_text(encoding="utf-8")
        url = EB_URL if "eventbrite" in name else GQL_URL
        assert parse(text, url, tz=CHICAGO, now=now) == parse(text, url, tz=CHICAGO)
