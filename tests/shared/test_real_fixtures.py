"""The parsers over real pages saved by other projects (read in place, never copied here).

Runs when ``../shared/fixtures`` exists next to the repository; skipped otherwise. The
counts and values asserted below were checked by hand against the pages.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from scrapers.dedupe import dedupe, filter_for_city, spam_reason
from scrapers.event import ScrapedEvent
from scrapers.sites import SITES, detect_site

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures"

# The city each saved page lists, i.e. the zone its naive dates are read in.
ZONES = {
    "py-webscraper_": "America/New_York",
    "torontobuilds_": "America/Toronto",
    "alc-docs_": "America/Chicago",
    "dc-frontier_": "America/New_York",
    "jackofthewood_": "America/New_York",
    "meetup_triangle_": "America/New_York",
    "parklife_": "America/Chicago",
    "thebackdoor_": "America/Indiana/Indianapolis",
    "livenation_fillmore_": "America/Los_Angeles",
    "uctheatre_": "America/Los_Angeles",
    "dancedestination_": "America/Los_Angeles",
}
# Which site reads each folder of ../shared/fixtures.
FOLDER_SITES = {"ics": "ical", "jsonld": "schema_org"}

pytestmark = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"shared real fixtures not present at {SHARED}"
)


def _pages() -> list[Path]:
    if not SHARED.is_dir():
        return []
    return sorted(
        p for p in SHARED.glob("*/*") if p.is_file() and not p.name.endswith(".source.txt")
    )


def _zone(page: Path) -> str:
    return next(zone for prefix, zone in ZONES.items() if page.name.startswith(prefix))


def _site(page: Path) -> str:
    return FOLDER_SITES.get(page.parent.name, page.parent.name)


def _url(page: Path) -> str:
    """A feed is read at its own URL (events without a URL of their own link to it); the
    saved pages are read as the sites' listings were, without one."""
    return f"https://feeds.example/{page.name}" if page.parent.name == "ics" else ""


def parse(relative: str) -> list[ScrapedEvent]:
    page = SHARED / relative
    site = SITES[_site(page)]
    return site.parse(page.read_text(encoding="utf-8"), _url(page), tz=_zone(page))


@pytest.mark.parametrize("page", _pages(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_real_page_yields_well_formed_events(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert detect_site(text, "") == _site(page)
    events = SITES[_site(page)].parse(text, _url(page), tz=_zone(page))
    assert events, page.name
    for ev in events:
        assert ev.title and "<" not in ev.title
        assert ev.link.startswith(("https://", "http://")), ev.link
        assert ev.start.utcoffset() is not None  # all-day events too: local midnight
        assert ev.end is None or ev.end >= ev.start
        assert spam_reason(ev) is None, (ev.title, spam_reason(ev))


def test_eventbrite_nyc_city_page() -> None:
    events = parse("eventbrite/py-webscraper_nyc_city_page.html")
    # 40 cards in six buckets (and 40 JSON-LD items), 34 distinct events
    assert len(events) == 34
    assert len({ev.source_event_id for ev in events}) == 34
    assert sum(ev.is_online for ev in events) == 8
    assert not any(ev.date_only for ev in events)  # server data gives every time of day
    first = events[0]
    assert first.title == "Pink Lemonade 2025"
    assert first.start.isoformat() == "2025-07-27T15:00:00-04:00"
    assert first.end is not None and first.end.isoformat() == "2025-07-27T21:00:00-04:00"
    assert first.venue == "Brooklyn Children's Museum Rooftop"
    assert first.address == "145 Brooklyn Avenue, Brooklyn, NY 11213"
    assert first.latitude == pytest.approx(40.6744611) and first.description == "Pink Lemonade"
    berlin = next(ev for ev in events if ev.link.startswith("https://www.eventbrite.de/"))
    assert berlin.timezone == "Europe/Berlin"
    assert berlin.start.isoformat() == "2025-07-30T17:00:00+02:00"
    assert first.tags == ["Party or Social Gathering"]  # the catch-all "Other" is dropped


def test_eventbrite_toronto_jsonld_listing() -> None:
    events = parse("eventbrite/torontobuilds_eventbrite_listing.html")
    assert len(events) == 8
    assert all(ev.date_only for ev in events)
    first = events[0]
    assert first.title == "Global Data Centre & Cloud Expo Canada"
    assert first.start.isoformat() == "2026-10-20T00:00:00-04:00"
    assert first.address == "6900 Airport Road, Mississauga, ON L4V 1E8"
    assert [ev.link.split("/")[2] for ev in events[:2]] == [
        "www.eventbrite.com",
        "www.eventbrite.ca",
    ]
    assert events[-1].start.isoformat() == "2026-11-04T00:00:00-05:00"  # after the DST change


def test_luma_toronto_jsonld_listing() -> None:
    events = parse("luma/torontobuilds_luma_listing.html")
    assert len(events) == 20
    assert all(ev.link.startswith("https://luma.com/") for ev in events)
    health = next(ev for ev in events if ev.title == "Health Toronto")
    assert (health.price_min, health.currency, health.is_free) == (33.9, "CAD", False)
    assert health.start.isoformat() == "2026-09-28T18:00:00-04:00"
    hidden = [ev for ev in events if ev.venue is None]
    assert len(hidden) == 4  # "Toronto, ON" placeholders for addresses shown after sign-up
    assert sum(ev.is_free is True for ev in events) == 13


def test_luma_dc_discover_answer() -> None:
    events = parse("luma/dc-frontier_discover_washington-dc.json")
    assert len(events) == 16
    first = events[0]
    assert (first.title, first.link) == ("DC Systems 015", "https://luma.com/e65xkgrk")
    assert first.venue == "Antithesis"
    assert first.address == "8607 Westwood Center Dr suite 550, Vienna, VA 22182, USA"
    assert first.is_free is None  # "not free" but no price: approval-only
    tedx = next(ev for ev in events if ev.title == "2026: TEDxLogan Circle")
    assert (tedx.price_min, tedx.price_max, tedx.currency) == (45.0, 195.0, "USD")
    assert sum(ev.is_free is True for ev in events) == 4


def test_luma_dc_calendar_answer_with_an_eventbrite_hosted_entry() -> None:
    events = parse("luma/dc-frontier_calendar_get_items.json")
    assert len(events) == 4
    power_bi = events[1]
    assert power_bi.link == (
        "https://www.eventbrite.com/e/power-bi-days-dc-2026-tickets-1985215710631"
    )
    assert power_bi.source == "luma" and power_bi.source_event_id == "calev-iUZCNF58m4NOB1G"
    assert power_bi.end is not None and (power_bi.end - power_bi.start).total_seconds() == 33 * 3600
    assert power_bi.address == "1300 Wilson Boulevard, Arlington, VA 22209"
    assert events[0].title == "\u26a1\ufe0f Side Projects and Networking: DSDC Meetup"
    assert events[0].tags == ["AI/ML", "Data Science", "DC Data & AI Events"]  # + its calendar


def test_meetup_toronto_find_page() -> None:
    events = parse("meetup/torontobuilds_meetup_find.html")
    assert len(events) == 12
    assert [ev.title for ev in events if ev.is_online] == [
        "Automatic Writing - Explore Your Unconscious"
    ]
    assert all(ev.end is None and ev.image_url is None for ev in events)  # "" and fallbacks
    techtalk = events[0]
    assert techtalk.start.isoformat() == "2026-09-29T22:00:00+00:00"
    assert techtalk.address == "260 Queen St W, Toronto, ON M5V 1Z4, Canada"
    assert all("\u200b" not in (ev.description or "") for ev in events)


def test_meetup_group_page_apollo_state() -> None:
    events = parse("meetup/alc-docs_group_events.html")
    assert len(events) == 6  # 6 in the Apollo cache; the 2 JSON-LD events are among them
    now = datetime(2024, 9, 15, tzinfo=ZoneInfo("America/Chicago"))
    kept, counts = filter_for_city(events, now=now)
    assert counts == {"spam": 0, "past": 4, "online": 0, "kept": 2}
    hacky = next(ev for ev in kept if "Claud-Dev" in ev.title)
    assert hacky.start.isoformat() == "2024-09-25T18:00:00-05:00"
    assert hacky.venue == "Skinny's Off Track Bar"
    assert hacky.address == "1806 E 12th Street, Austin, TX"
    assert hacky.image_url == (
        "https://secure.meetupstatic.com/photos/event/1/f/1/4/highres_522667956.jpeg"
    )


def test_toronto_sources_deduplicate_across_sites() -> None:
    listings = [
        *parse("meetup/torontobuilds_meetup_find.html"),
        *parse("luma/torontobuilds_luma_listing.html"),
        *parse("eventbrite/torontobuilds_eventbrite_listing.html"),
    ]
    merged = dedupe(listings)
    together = [ev for ev in merged if ev.title.startswith("Together Toronto and YC")]
    assert len(together) == 1
    assert sorted(together[0].links) == [
        "https://luma.com/together-toronto-october-2026",
        "https://www.meetup.com/techto/events/316492775/",
    ]
    # "Health Toronto" is listed at "30 Wellington Street West" on Meetup and "GreenShield"
    # (coordinates only) on Luma: without geocoding that is not provably one place.
    assert len(merged) == len(listings) - 1
