"""End to end: the scrape job (real httpx, Chromium where a site needs it) scrapes Chicago
from the local site server into a real database migrated to head, with all six kinds of
source (the three big sites, 19hz's region page, a venue's iCalendar feed and a venue's
schema.org page, the last two as the city's CityFeed rows), in-process and on a real arq
worker; the CLI's ``scrape`` (the same job, in-process) and ``load`` too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select

from nocturne.cards import event_card
from nocturne.cities import city_for_place, require_city
from nocturne.db import get_engine, session_scope
from nocturne.feeds import add_city_feed
from nocturne.models import CityFeed, Event, EventLink, ScrapeRun
from nocturne.settings import ROOT, Settings
from scrapers.dedupe import filter_for_city
from scrapers.fetch import Fetcher
from scrapers.sites import SITES, eventbrite, luma, meetup, nineteen_hz
from tests.support import jobs as support
from tests.support.jobs import Harness
from tests.support.services import migrate
from tests.support.site_server import CHICAGO_FEEDS, PAGES, SiteServer
from workers.jobs.scrape import scrape_city

CHICAGO = require_city("il--chicago")
CHI = ZoneInfo("America/Chicago")
TECHNO = "https://www.eventbrite.com/e/warehouse-techno-night-loft-sessions-tickets-2101000000001"
LUMA_TECHNO = "https://luma.com/loft-sessions-dec"
LOCAL_TIMES = {
    "https://www.eventbrite.com/e/rock-roll-bingo-tickets-2101000000002": (
        date(2026, 12, 3),
        "19:30",
    ),
    "https://www.meetup.com/chipy/events/310000004/": (date(2026, 12, 16), "18:30"),
}
ONLINE = "https://www.eventbrite.com/e/intro-to-watercolor-live-online-tickets-2101000000009"


def expected_links(srv: SiteServer, *, feeds: bool = False) -> dict[str, dict[str, object]]:
    """What the pure parsers make of the shifted pages the server serves: link -> start
    (19hz's rows of Chicago only; with ``feeds``, CHICAGO_FEEDS' events too, read under the
    URL the crawl hands the parser)."""
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    out: dict[str, dict[str, object]] = {}
    pages = [
        (eventbrite.parse, "eventbrite/city_browse.html", "https://www.eventbrite.com/d/x/"),
        (eventbrite.parse, "eventbrite/search_page2.html", "https://www.eventbrite.com/d/x/"),
        (meetup.parse, "meetup/find_page.html", "https://www.meetup.com/find/"),
        (luma.parse, "luma/discover_chicago.json", "https://api.lu.ma/discover/x"),
        (nineteen_hz.parse, "19hz/eventlisting_CHI.html", "https://19hz.info/eventlisting_CHI.php"),
    ]
    if feeds:
        pages += [
            (SITES[kind].parse, _fixture_of(srv, path), SITES[kind].default_base + path)
            for _, path, kind in CHICAGO_FEEDS
        ]
    for parse, name, url in pages:
        text = srv.page_text(next(r for r in srv.routes if str(r.body) == name))
        kept, _ = filter_for_city(parse(text, url, tz=CHICAGO.timezone, now=now), now=now)
        out.update({e.link: {"start": e.start, "source": e.source} for e in kept if _in_chicago(e)})
    return out


def _fixture_of(srv: SiteServer, path: str) -> str:
    return str(next(r.body for r in srv.routes if r.path == path))


def _in_chicago(event: object) -> bool:
    from scrapers.event import ScrapedEvent

    assert isinstance(event, ScrapedEvent)
    if event.source != "19hz":
        return True
    town = nineteen_hz.town_of(event)
    return town is not None and city_for_place("19hz", "CHI", town) == CHICAGO


def add_chicago_feeds(srv: SiteServer) -> dict[str, int]:
    """CHICAGO_FEEDS as Chicago's CityFeed rows, on this server: kind -> feed id."""
    with session_scope() as session:
        feeds = [
            add_city_feed(
                session=session, city_id=CHICAGO.id, name=name, url=srv.base_url + path, kind=kind
            )
            for name, path, kind in CHICAGO_FEEDS
        ]
        return {f.kind: f.id for f in feeds if f.id is not None}


@pytest.fixture
def pg(pg_url: str) -> str:
    migrate(pg_url, "head")
    return pg_url


app_db, mode = support.app_db, support.mode  # fixtures: a migrated app database; job modes


async def test_chicago_scraped_from_the_site_server_lands_in_the_database(app_db: str) -> None:
    engine = get_engine(app_db)
    with SiteServer.chicago(latency=0.02) as srv:
        settings = Settings(**srv.settings_overrides(scrape_meetup_keywords=["music", "art"]))
        expected = expected_links(srv)
        async with Fetcher(settings) as fetcher:
            first = (await scrape_city({"fetcher": fetcher}, CHICAGO.id))["sources"]
            again = (await scrape_city({"fetcher": fetcher}, CHICAGO.id))["sources"]
        hits = [(h.path, h.query.get("page") or h.query.get("keywords")) for h in srv.hits]

    assert {s: r["status"] for s, r in first.items()} == dict.fromkeys(
        ("eventbrite", "meetup", "luma", "19hz"), "ok"
    )
    assert (first["eventbrite"]["pages"], first["eventbrite"]["found"]) == (3, 10)
    assert (first["meetup"]["pages"], first["meetup"]["found"]) == (2, 5)
    assert (first["luma"]["pages"], first["luma"]["found"]) == (2, 5)
    # 19hz's Chicago page lists five nights; the one in Milwaukee is no Chicago event.
    assert (first["19hz"]["pages"], first["19hz"]["found"], first["19hz"]["new"]) == (1, 5, 4)
    assert first["eventbrite"]["dropped"] == 3  # spam, past, online
    assert ("/find/", "art") in hits and ("/d/il--chicago/all-events/", "3") in hits

    with Session(engine) as session:
        links = {row.link: row for row in session.exec(select(EventLink))}
        events = {row.id: row for row in session.exec(select(Event))}
        runs = list(session.exec(select(ScrapeRun).order_by(col(ScrapeRun.id))))

    # Every upcoming in-person listing is stored, under the start the parser read.
    assert set(links) == set(expected)
    for link, want in expected.items():
        event = events[links[link].event_id]
        assert event.city_id == CHICAGO.id
        if event.source == want["source"]:
            assert event.start_at == want["start"], link
    assert ONLINE not in links
    # Local times survive the trip: the wall-clock times the sources list, in Chicago,
    # on the (shifted) fixture days.
    for link, (fixture_day, hhmm) in LOCAL_TIMES.items():
        event = events[links[link].event_id]
        day = fixture_day + timedelta(days=srv.shift_days)
        assert event.start_at.utcoffset() is not None
        assert event.start_at.astimezone(CHI).strftime("%Y-%m-%d %H:%M") == f"{day} {hhmm}"
        assert (event.local_date, event.local_time) == (day.isoformat(), hhmm)
    # The techno night is listed on Eventbrite and Luma: one row keeps both links.
    techno = events[links[TECHNO].event_id]
    assert links[LUMA_TECHNO].event_id == techno.id
    assert set(techno.links) >= {TECHNO, LUMA_TECHNO}
    assert len(events) < len(links)

    # Running it again stores nothing new, and leaves 19hz's hand-kept page alone today.
    assert again.pop("19hz")["status"] == "skipped"
    assert all(r["status"] == "ok" and r["new"] == 0 and r["updated"] == 0 for r in again.values())
    assert {(r.source, r.status) for r in runs[:4]} == {
        ("eventbrite", "ok"),
        ("meetup", "ok"),
        ("luma", "ok"),
        ("19hz", "ok"),
    }
    assert len(runs) == 7 and all(r.finished_at is not None for r in runs)
    assert {r.source: r.found for r in runs[:4]} == {
        "eventbrite": 10,
        "meetup": 5,
        "luma": 5,
        "19hz": 5,
    }
    assert srv.count("/eventlisting_CHI.php") == 1


async def test_a_city_with_all_six_kinds_of_source(
    app_db: str, mode: tuple[str, str | None]
) -> None:
    """Chicago's three big sites, 19hz's region page, and its two CityFeed rows (a venue's
    iCalendar feed, a venue's schema.org page), scraped by the job in-process and on an
    arq worker: each source's run counts what it found and what was new, and every
    upcoming event of each kind is stored once."""
    engine = get_engine(app_db)
    with SiteServer.chicago(latency=0.02) as srv:
        feed_ids = add_chicago_feeds(srv)
        settings = Settings(**srv.settings_overrides(scrape_meetup_keywords=["music"]))
        expected = expected_links(srv, feeds=True)
        fetcher = Fetcher(settings)
        async with fetcher, Harness(mode[0], None, mode[1], fetcher=fetcher) as h:
            assert await h.enqueue("scrape_city", city_id=CHICAGO.id)
            await h.drain()

    with Session(engine) as session:
        runs = list(session.exec(select(ScrapeRun).order_by(col(ScrapeRun.id))))
        links = list(session.exec(select(EventLink)))
        events = {e.id: e for e in session.exec(select(Event))}
        feeds = {f.id: f for f in session.exec(select(CityFeed))}

    by_kind = {(r.source, r.feed_id): r for r in runs}
    assert set(by_kind) == {
        ("eventbrite", None),
        ("meetup", None),
        ("luma", None),
        ("19hz", None),
        ("ical", feed_ids["ical"]),
        ("schema_org", feed_ids["schema_org"]),
    }, [(r.source, r.feed_id, r.status, r.error) for r in runs]
    assert all(r.status == "ok" and r.finished_at for r in runs), [
        (r.source, r.error) for r in runs
    ]
    wanted = {kind: {lk for lk, v in expected.items() if v["source"] == kind} for kind in SITES}
    found = {source: r.found for (source, _), r in by_kind.items()}
    new = {source: r.new for (source, _), r in by_kind.items()}
    assert found == {
        "eventbrite": 10,
        "meetup": 5,
        "luma": 5,
        "19hz": 5,  # with the night in Milwaukee, which is not stored for Chicago
        "ical": 5,  # a cancelled show and two all-day events among them
        "schema_org": 6,
    }
    assert {k: len(v) for k, v in wanted.items()} == {**found, "19hz": 4}
    # Eventbrite's and Luma's techno night is one event (new for whichever saved first).
    assert new["eventbrite"] + new["luma"] == found["eventbrite"] + found["luma"] - 1
    assert (new["meetup"], new["19hz"], new["ical"], new["schema_org"]) == (5, 4, 5, 6)
    assert sum(new.values()) == len(events)

    # Every listing of each kind is stored, under the start its parser read; feed events
    # carry their feed.
    stored = {(lk.source, lk.link): events[lk.event_id] for lk in links}
    for kind, kind_links in wanted.items():
        assert {link for source, link in stored if source == kind} == kind_links, kind
    for (source, link), event in stored.items():
        assert event.city_id == CHICAGO.id
        if event.source == source:
            assert event.start_at == expected[link]["start"], link
        if source in ("ical", "schema_org") and event.source == source:
            assert feeds[event.feed_id].kind == source
        elif event.source == source:
            assert event.feed_id is None
    winter_fair = next(e for e in events.values() if e.title == "Winter Zine Fair")
    assert winter_fair.local_time == ""  # an all-day feed event stays all-day
    assert next(e for e in events.values() if e.title == "Basement Jazz Session").status == (
        "cancelled"
    )
    assert all(e.city_id == CHICAGO.id for e in events.values())
    # The city page credits each feed by its own name, and 19hz as 19hz.
    with Session(engine) as session:
        credits = {e.source: event_card(e)["credit"] for e in session.exec(select(Event))}
    assert credits == {
        "eventbrite": "",
        "meetup": "",
        "luma": "",
        "19hz": "via 19hz",
        "ical": "via Ember Room calendar",
        "schema_org": "via The Lantern Room",
    }


async def test_19hz_los_angeles_page_feeds_the_cities_of_its_region(app_db: str) -> None:
    """One region page, several cities: each row is stored under the city its town names
    (Long Beach and DTLA are Los Angeles, San Diego its own), a town no city claims is
    left out, and the page is fetched once a day whatever the refresh says."""
    engine = get_engine(app_db)
    with SiteServer.chicago() as srv:
        settings = Settings(**srv.settings_overrides())
        async with Fetcher(settings) as fetcher:
            first = await scrape_city({"fetcher": fetcher}, "ca--los-angeles", ["19hz"])
            again = await scrape_city({"fetcher": fetcher}, "ca--los-angeles", ["19hz"])
        fetched = srv.count("/eventlisting_LosAngeles.php")
    assert first["sources"]["19hz"]["status"] == "ok"
    assert (first["sources"]["19hz"]["found"], first["sources"]["19hz"]["new"]) == (5, 3)
    assert again["sources"]["19hz"]["status"] == "skipped" and fetched == 1
    with Session(engine) as session:
        cities = {e.title: e.city_id for e in session.exec(select(Event))}
    assert cities == {
        "Palm Static: Warehouse Edition": "ca--los-angeles",
        "Sub Club LB: Bass Sessions": "ca--los-angeles",
        "Lavender Haze: Queer Disco": "ca--los-angeles",
        "Harbor Lights: House Night": "ca--san-diego",
    }


async def test_a_blocked_source_fails_alone_and_is_recorded(app_db: str) -> None:
    engine = get_engine(app_db)
    with SiteServer.chicago() as srv:
        srv.block("/find/")
        settings = Settings(**srv.settings_overrides(scrape_meetup_keywords=["music"]))
        async with Fetcher(settings) as fetcher:
            summary = await scrape_city({"fetcher": fetcher}, CHICAGO.id, ["meetup", "luma"])
    result = summary["sources"]
    assert result["luma"]["status"] == "ok" and result["luma"]["new"] == 5
    assert result["meetup"]["status"] == "failed"
    assert "Access denied" in (result["meetup"]["error"] or "")
    with Session(engine) as session:
        runs = {r.source: r for r in session.exec(select(ScrapeRun))}
    assert runs["meetup"].status == "failed" and "Access denied" in (runs["meetup"].error or "")
    assert runs["luma"].status == "ok" and runs["luma"].new == 5


def _past_events(page: Path) -> int:
    from datetime import UTC, datetime

    from scrapers.runner import read_saved_page

    now = datetime.now(UTC)
    _, events = read_saved_page(page, city=CHICAGO)
    kept, _ = filter_for_city(events, now=datetime(1970, 1, 1, tzinfo=UTC))
    return sum(1 for e in kept if (e.end or e.start) < now)


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scrapers", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_scrape_and_load_into_postgresql(pg: str) -> None:
    with SiteServer.chicago() as srv:
        env = {
            "DATABASE_URL": pg,
            **{
                k.upper(): json.dumps(v) if isinstance(v, dict) else str(v)
                for k, v in srv.settings_overrides().items()
            },
            "SCRAPE_MEETUP_KEYWORDS": '["music"]',
        }
        scraped = _cli("scrape", CHICAGO.id, "--source", "luma", "--source", "meetup", env=env)
    assert scraped.returncode == 0, scraped.stderr
    report = {s["source"]: s for s in json.loads(scraped.stdout)[CHICAGO.id]}
    assert report["luma"]["status"] == "ok" and report["luma"]["new"] == 5
    assert report["meetup"]["status"] == "ok" and report["meetup"]["found"] == 5
    assert "luma" in scraped.stderr  # the progress lines go to stderr

    bad = PAGES.parent / "does-not-exist.html"
    loaded = _cli(
        "load",
        str(PAGES / "eventbrite" / "city_browse.html"),
        str(bad),
        str(PAGES / "eventbrite" / "search_page2.html"),
        "--city",
        CHICAGO.id,
        env={"DATABASE_URL": pg},
    )
    assert loaded.returncode == 1  # one file could not be read...
    assert "does-not-exist.html" in loaded.stderr
    summary = json.loads(loaded.stdout)  # ...and the others were stored
    past = summary[0].pop("past")  # the saved pages' dates do not move: count them here
    assert past == _past_events(PAGES / "eventbrite" / "city_browse.html") + _past_events(
        PAGES / "eventbrite" / "search_page2.html"
    )
    assert (past > 0) == ("already over" in loaded.stderr)
    assert summary == [
        {
            "source": "eventbrite",
            "status": "ok",
            "pages": 2,
            "found": 11,  # 13 listed, less one spam and one online-only (past ones kept)
            "new": 11,
            "updated": 0,
            "dropped": 2,
            "error": None,
        }
    ]
    with Session(get_engine(pg)) as session:
        sources = {e.source for e in session.exec(select(Event))}
        assert session.exec(select(EventLink).where(EventLink.link == TECHNO)).first()
    assert sources == {"eventbrite", "meetup", "luma"}
