"""scrape_city end to end: the real runner and fetcher (Chromium + httpx) against the
local saved-page server, on a real arq worker and in-process."""

from __future__ import annotations

from sqlmodel import Session, col, select

from nocturne import live
from nocturne.db import get_engine
from nocturne.models import Event, ScrapeRun
from nocturne.settings import Settings
from scrapers.fetch import Fetcher
from tests.support import jobs as support
from tests.support.jobs import Harness
from tests.support.site_server import SiteServer

app_db, mode = support.app_db, support.mode  # fixtures
CHICAGO = "il--chicago"


async def test_scrape_city_with_the_real_runner_saves_and_streams_every_source(app_db, mode):
    with SiteServer.chicago(latency=0.02) as srv:
        fetcher = Fetcher(Settings(**srv.settings_overrides(scrape_meetup_keywords=["music"])))
        async with fetcher, Harness(mode[0], None, mode[1], fetcher=fetcher) as h:
            async with live.subscribe(CHICAGO) as sub:
                await h.enqueue("scrape_city", city_id=CHICAGO)
                await h.drain()
                heard = []
                while not heard or heard[-1]["type"] != "scrape_finished":
                    message = await sub.get(timeout=30)
                    assert message is not None, heard
                    heard.append(message)
            first = _snapshot()
            # Again: the same pages, the same database.
            await h.enqueue("scrape_city", city_id=CHICAGO)
            await h.drain()
            assert _snapshot() == first
    with Session(get_engine()) as session:
        runs = list(session.exec(select(ScrapeRun).order_by(col(ScrapeRun.id))))
    assert {r.source: r.status for r in runs[:4]} == {
        s: "ok" for s in ("eventbrite", "meetup", "luma", "19hz")
    }
    assert all(r.found > 0 for r in runs[:4]), [(r.source, r.found, r.error) for r in runs]
    # Again: 19hz's region page is fetched once a day, so the second scrape skips it.
    assert [r.source for r in runs[4:]] != [] and "19hz" not in {r.source for r in runs[4:]}
    assert sum(r.new for r in runs[4:]) == 0

    cards = [c for m in heard if m["type"] == "events" for c in m["events"]]
    final = heard[-1]
    assert final["failed_sources"] == [] and final["new"] == len(cards) == len(first)
    assert {s for c in cards for s in c["sources"]} == {"eventbrite", "meetup", "luma", "19hz"}
    assert all(c["title"] and c["link"].startswith("http") for c in cards)


def _snapshot() -> list[tuple]:
    with Session(get_engine()) as session:
        return [
            (e.link, e.title, e.start_at, e.venue, e.status, e.sources)
            for e in session.exec(select(Event).order_by(col(Event.link)))
        ]
