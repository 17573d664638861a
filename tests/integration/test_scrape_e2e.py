"""End to end: the scrape job (real httpx, Chromium where a site needs it) scrapes Chicago
from the local site server into a real database migrated to head; the CLI's ``scrape``
(the same job, in-process) and ``load`` too."""

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

from nocturne.cities import require_city
from nocturne.db import get_engine
from nocturne.models import Event, EventLink, ScrapeRun
from nocturne.settings import ROOT, Settings
from scrapers.dedupe import filter_for_city
from scrapers.fetch import Fetcher
from scrapers.sites import eventbrite, luma, meetup
from tests.support import jobs as support
from tests.support.services import migrate
from tests.support.site_server import PAGES, SiteServer
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


def expected_links(srv: SiteServer) -> dict[str, dict[str, object]]:
    """What the pure parsers make of the shifted pages the server serves: link -> start."""
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    out: dict[str, dict[str, object]] = {}
    pages = [
        (eventbrite.parse, "eventbrite/city_browse.html", "https://www.eventbrite.com/d/x/"),
        (eventbrite.parse, "eventbrite/search_page2.html", "https://www.eventbrite.com/d/x/"),
        (meetup.parse, "meetup/find_page.html", "https://www.meetup.com/find/"),
        (luma.parse, "luma/discover_chicago.json", "https://api.lu.ma/discover/x"),
    ]
    for parse, name, url in pages:
        text = srv.page_text(next(r for r in srv.routes if str(r.body) == name))
        kept, _ = filter_for_city(parse(text, url, tz=CHICAGO.timezone), now=now)
        out.update({e.link: {"start": e.start, "source": e.source} for e in kept})
    return out


@pytest.fixture
def pg(pg_url: str) -> str:
    migrate(pg_url, "head")
    return pg_url


app_db = support.app_db  # fixture: settings.database_url on a migrated database


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
        ("eventbrite", "meetup", "luma"), "ok"
    )
    assert (first["eventbrite"]["pages"], first["eventbrite"]["found"]) == (3, 10)
    assert (first["meetup"]["pages"], first["meetup"]["found"]) == (2, 5)
    assert (first["luma"]["pages"], first["luma"]["found"]) == (2, 5)
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

    # Running it again stores nothing new.
    assert all(r["status"] == "ok" and r["new"] == 0 and r["updated"] == 0 for r in again.values())
    assert {(r.source, r.status) for r in runs[:3]} == {
        ("eventbrite", "ok"),
        ("meetup", "ok"),
        ("luma", "ok"),
    }
    assert len(runs) == 6 and all(r.finished_at is not None for r in runs)
    assert {r.source: r.found for r in runs[:3]} == {"eventbrite": 10, "meetup": 5, "luma": 5}


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
