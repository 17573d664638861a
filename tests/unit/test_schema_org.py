"""The generic schema.org Event JSON-LD parser (scrapers.sites.schema_org)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from scrapers.errors import UnrecognizedPage
from scrapers.event import ScrapedEvent
from scrapers.sites import schema_org

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages" / "schema_org"
SHARED = Path("/work/shared/fixtures/jsonld")
FILLMORE = SHARED / "livenation_fillmore_sf_events.html"
UC_THEATRE = SHARED / "uctheatre_berkeley_events.html"
PAGE = "https://venue.example/calendar/"


def _ld(*nodes: object) -> str:
    blocks = "".join(
        f'<script type="application/ld+json">{json.dumps(node)}</script>' for node in nodes
    )
    return f"<html><head>{blocks}</head><body><h1>Shows</h1></body></html>"


def _show(name: str, start: str, **extra: object) -> dict[str, object]:
    return {"@type": "MusicEvent", "name": name, "startDate": start, **extra}


def test_fixture_page_parses_to_expected(caplog: pytest.LogCaptureFixture) -> None:
    page = PAGES / "venue_events.html"
    spec = json.loads(page.with_name("venue_events.expected.json").read_text(encoding="utf-8"))
    text = page.read_text(encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="scrapers"):
        events = schema_org.parse(text, spec["url"], tz=spec["tz"], now=None)
    assert [ev.to_json() for ev in events] == spec["events"]
    skipped = [r for r in caplog.records if "malformed" in r.getMessage()]
    assert len(skipped) == spec["malformed_skipped"] == 1
    assert "Secret Show" in skipped[0].getMessage()
    assert schema_org.next_page_url(text, spec["url"]) == spec["next_page_url"] is None
    assert schema_org.has_event_jsonld(text)


def test_fixture_covers_itemlist_graph_date_only_and_repeats() -> None:
    page = PAGES / "venue_events.html"
    events = schema_org.parse(
        page.read_text(encoding="utf-8"),
        "https://lanternroom.example/events/",
        tz="America/Chicago",
    )
    by_title = {ev.title: ev for ev in events}
    modular = by_title["Midnight Modular: Ana Ruiz & Theo Park"]  # ItemList item + own block
    assert modular.link == "https://lanternroom.example/events/midnight-modular"
    assert modular.description and modular.price_min == 15.0  # filled from both listings
    nye = by_title["Basement Ballroom: New Year's Eve"]  # floating local time, read in tz
    assert nye.start.isoformat() == "2026-12-31T22:00:00-06:00"
    zines = by_title["Zine Swap"]
    assert zines.date_only and zines.start.isoformat() == "2027-01-16T00:00:00-06:00"
    assert zines.link == "https://lanternroom.example/events/#2027-01-16-zine-swap"
    # url == the listing page and a fragment @id: anchored like an event without url
    puppets = by_title["Winter Puppet Cabaret"]
    assert puppets.link == (
        "https://lanternroom.example/events/#2027-01-09-1930-winter-puppet-cabaret"
    )
    assert by_title["Noise Floor: Tape Loops"].status == "cancelled"
    assert len({ev.link for ev in events}) == len(events) == 5


@pytest.mark.parametrize(
    "text",
    [
        "<html><head><title>Just a moment...</title></head><body>Checking</body></html>",
        _ld({"@context": "https://schema.org", "@type": "Organization", "name": "X"}),
        _ld({"@type": "BreadcrumbList", "itemListElement": []}),
        '<script type="application/ld+json">{"@type": "MusicEvent", </script>',
        "",
    ],
    ids=["captcha", "organization-only", "breadcrumbs", "broken-json", "empty"],
)
def test_pages_without_events_raise(text: str, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(UnrecognizedPage) as info:
        schema_org.parse(text, PAGE, tz="America/Chicago")
    assert info.value.source == "schema_org" and info.value.url == PAGE
    assert not schema_org.has_event_jsonld(text)


def test_an_empty_event_list_is_a_page_with_no_events() -> None:
    text = _ld({"@context": "https://schema.org", "@type": "ItemList", "itemListElement": []})
    assert schema_org.parse(text, PAGE, tz="America/Chicago") == []
    assert not schema_org.has_event_jsonld(text)


def test_has_event_jsonld_finds_events_in_graphs_and_lists() -> None:
    graph = {"@graph": [{"@type": "WebPage"}, {"@type": ["Event", "Thing"], "name": "x"}]}
    assert schema_org.has_event_jsonld(_ld(graph))
    listing = {"@type": "ItemList", "itemListElement": [{"item": _show("x", "2026-12-01")}]}
    assert schema_org.has_event_jsonld(_ld(listing))
    assert schema_org.has_event_jsonld(_ld([_show("a", "2026-12-01")]))
    assert not schema_org.has_event_jsonld("<html><body>Festival lineup</body></html>")


def test_offsets_are_kept_and_floating_times_need_tz(caplog: pytest.LogCaptureFixture) -> None:
    text = _ld(
        _show("Offset", "2026-12-05T21:00:00-05:00", url="/e/offset"),
        _show("Floating", "2026-12-05T21:00", url="/e/floating"),
    )
    with caplog.at_level(logging.WARNING, logger="scrapers"):
        events = schema_org.parse(text, PAGE)
    assert [(ev.title, ev.start.isoformat()) for ev in events] == [
        ("Offset", "2026-12-05T21:00:00-05:00")
    ]
    assert any("Floating" in r.getMessage() and "tz=None" in r.getMessage() for r in caplog.records)
    events = schema_org.parse(text, PAGE, tz="America/Los_Angeles")
    assert events[1].start.isoformat() == "2026-12-05T21:00:00-08:00"


def test_links_resolve_against_the_page_and_drop_tracking() -> None:
    text = _ld(
        _show("Root", "2026-12-05T21:00:00-06:00", url="/shows/root?utm_medium=x&id=4"),
        _show("Relative", "2026-12-06T21:00:00-06:00", url="../tickets/rel"),
        _show("Absolute", "2026-12-07T21:00:00-06:00", url="http://other.example/a#top"),
        _show("Id only", "2026-12-08T21:00:00-06:00", **{"@id": "https://venue.example/e/9"}),
    )
    assert [ev.link for ev in schema_org.parse(text, PAGE)] == [
        "https://venue.example/shows/root?id=4",
        "https://venue.example/tickets/rel",
        "https://other.example/a",
        "https://venue.example/e/9",
    ]


def test_events_without_a_page_of_their_own_get_stable_anchors() -> None:
    text = _ld(
        _show("Jazz &amp; Soul: Night One", "2026-12-05T20:00"),
        _show("Jazz &amp; Soul: Night Two", "2026-12-06T20:00", url=PAGE),
        _show("Open Studio", "2026-12-07", **{"@id": PAGE + "#open-studio"}),
    )
    first = schema_org.parse(text, PAGE + "?utm_source=x", tz="America/Chicago")
    again = schema_org.parse(text, PAGE, tz="America/Chicago")
    assert (
        [ev.link for ev in first]
        == [ev.link for ev in again]
        == [
            PAGE + "#2026-12-05-2000-jazz-soul-night-one",
            PAGE + "#2026-12-06-2000-jazz-soul-night-two",
            PAGE + "#2026-12-07-open-studio",
        ]
    )
    assert first[0].title == "Jazz & Soul: Night One"
    assert first[2].date_only
    with pytest.raises(UnrecognizedPage):
        schema_org.parse("<html></html>", "")
    # Without a page URL there is nothing to anchor on: only the event with a URL is kept.
    alone = schema_org.parse(text, "", tz="America/Chicago")
    assert [(ev.title, ev.link) for ev in alone] == [("Jazz & Soul: Night Two", PAGE)]


def test_a_saved_page_without_url_falls_back_to_its_own_page_url() -> None:
    page = PAGES / "venue_events.html"
    text = page.read_text(encoding="utf-8")  # has <link rel="canonical">
    with_url = schema_org.parse(text, "https://lanternroom.example/events/", tz="America/Chicago")
    assert schema_org.parse(text, "", tz="America/Chicago") == with_url
    og = '<meta property="og:url" content="https://venue.example/shows?x=1&amp;y=2">'
    assert schema_org.page_url(og, "") == "https://venue.example/shows?x=1&y=2"
    nodes = [
        {"@type": "Organization", "url": "https://venue.example/"},
        {"@graph": [{"@type": "CollectionPage", "url": "https://venue.example/shows"}]},
        _show("x", "2026-12-01", url="https://venue.example/e/x"),
    ]
    assert schema_org.page_url(_ld(*nodes), "") == "https://venue.example/shows"
    assert schema_org.page_url(_ld(*nodes[:1]), "") == "https://venue.example/"
    assert schema_org.page_url(_ld(nodes[2]), "") is None
    assert schema_org.page_url(og, "https://given.example/") == "https://given.example/"


def test_repeats_merge_per_link_and_day_but_two_nights_stay_two() -> None:
    text = _ld(
        _show("Two Nights", "2026-12-11T20:00:00-06:00", url="/e/two"),
        _show("Two Nights", "2026-12-12T20:00:00-06:00", url="/e/two"),
        _show("Two Nights", "2026-12-11", url="/e/two", description="Both nights."),
    )
    events = schema_org.parse(text, PAGE, tz="America/Chicago")
    assert [(ev.start.isoformat(), ev.description) for ev in events] == [
        ("2026-12-11T20:00:00-06:00", "Both nights."),
        ("2026-12-12T20:00:00-06:00", None),
    ]


def test_slugify() -> None:
    assert schema_org.slugify("Café Tacvba: ¡En Vivo! (21+)") == "cafe-tacvba-en-vivo-21"
    assert schema_org.slugify("a very long title indeed", 12) == "a-very-long"
    assert schema_org.slugify("!!!") == ""


def _well_formed(events: list[ScrapedEvent]) -> None:
    for ev in events:
        assert ev.title and "<" not in ev.title and "&amp;" not in ev.title
        assert ev.link.startswith("https://")
        assert ev.start.utcoffset() is not None
        assert ev.end is None or ev.end >= ev.start
        assert ev.source == "schema_org"
        assert ScrapedEvent.from_json(json.loads(json.dumps(ev.to_json()))) == ev
    assert len({ev.link for ev in events}) == len(events)


@pytest.mark.skipif(not FILLMORE.exists(), reason="shared real page not available")
def test_real_live_nation_venue_page() -> None:
    """31 JSON-LD blocks, each one MusicEvent with its own url and an offset."""
    text = FILLMORE.read_text(encoding="utf-8")
    assert schema_org.has_event_jsonld(text)
    url = "https://www.livenation.com/venue/KovZpZAE6eeA/the-fillmore-events"
    events = schema_org.parse(text, url, tz="America/Los_Angeles")
    assert len(events) == 31
    _well_formed(events)
    first, last = events[0], events[-1]
    assert first.title == "Yukimi (of Little Dragon)"
    assert first.start.isoformat() == "2025-05-02T20:00:00-07:00"
    assert first.link == "https://www.livenation.com/event/G5vYZbxUtu-zC/yukimi-of-little-dragon"
    assert last.start.isoformat() == "2025-12-18T20:00:00-08:00"
    assert {ev.venue for ev in events} == {"The Fillmore"}
    assert {ev.address for ev in events} == {"1805 Geary Boulevard, San Francisco, CA 94115"}
    assert all(ev.link.startswith("https://www.livenation.com/event/") for ev in events)
    assert not any(ev.date_only or ev.is_online for ev in events)


@pytest.mark.skipif(not UC_THEATRE.exists(), reason="shared real page not available")
def test_real_venue_page_with_floating_times_and_no_urls() -> None:
    """24 MusicEvents (and one EntertainmentBusiness block), floating local times, no url,
    ``&amp;`` in names: times read in tz, links anchored on the page."""
    text = UC_THEATRE.read_text(encoding="utf-8")
    assert schema_org.has_event_jsonld(text)
    url = "https://www.theuctheatre.org/events"
    events = schema_org.parse(text, url, tz="America/Los_Angeles")
    assert len(events) == 24
    _well_formed(events)
    assert events[0].title == "Superheaven"
    assert events[0].start.isoformat() == "2025-05-03T19:00:00-07:00"
    assert events[0].end is None  # endDate is the bare day, before the start time
    assert events[0].link == url + "#2025-05-03-1900-superheaven"
    assert events[-1].start.isoformat() == "2025-12-02T20:00:00-08:00"  # PST by December
    titles = {ev.title for ev in events}
    assert "Jazz Is Dead: Ebo Taylor & Pat Thomas" in titles
    assert "Femi Kuti & The Positive Force" in titles
    assert {ev.address for ev in events} == {"2036 University Ave., Berkeley, CA 94704"}
    assert all(ev.link.startswith(url + "#2025-") for ev in events)
    # Without tz the floating times cannot be placed: every event is skipped, not guessed.
    assert schema_org.parse(text, url) == []
    # Read without its URL, the page is anchored on the site its JSON-LD names.
    saved = schema_org.parse(text, "", tz="America/Los_Angeles")
    assert len(saved) == 24
    assert saved[0].link == "https://theuctheatre.org/#2025-05-03-1900-superheaven"
