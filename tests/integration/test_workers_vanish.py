"""Vanished events: gone only after N consecutive complete scrapes missed them."""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, select

from nocturne.db import get_engine
from nocturne.models import Event, ScrapeRun
from scrapers.crawl import Page
from scrapers.errors import FetchError
from tests.support import jobs as support
from tests.support.jobs import PageSource, future_events
from workers.jobs.scrape import looks_partial, scrape_city

app_db, fast_retries = support.app_db, support.fast_retries  # fixtures
LA = "ca--los-angeles"


def _event(link: str) -> Event:
    with Session(get_engine()) as session:
        return session.exec(select(Event).where(Event.link == link)).one()


def _last_run() -> ScrapeRun:
    with Session(get_engine()) as session:
        return session.exec(select(ScrapeRun).order_by(col(ScrapeRun.id).desc())).first()


async def _scrape(source: PageSource, *sources: str) -> dict:
    return await scrape_city({"crawl": source.crawl}, LA, list(sources))


def test_partial_means_under_half_the_median_of_recent_runs():
    assert looks_partial(4, [10, 10, 9])
    assert not looks_partial(5, [10, 10, 9])
    assert not looks_partial(0, [])  # no history: nothing to compare with


async def test_missing_event_is_gone_after_three_complete_scrapes_and_returns(app_db):
    source = PageSource()
    events = future_events("eventbrite", 10, key="v")
    missing, last = events[5], events[9]
    source.set(LA, "eventbrite", events)
    for _ in range(2):
        await _scrape(source, "eventbrite")

    # A5 disappears; A9 (the latest) too, but it lies beyond what the listing reached.
    without = [e for e in events if e not in (missing, last)]
    source.set(LA, "eventbrite", without)
    for n in (1, 2):
        await _scrape(source, "eventbrite")
        row = _event(missing.link)
        assert (row.missed_scrapes, row.status) == (n, "scheduled")

    # A partial scrape (3 of ~10) and a failed one are not evidence of anything.
    source.set(LA, "eventbrite", without[:3])
    await _scrape(source, "eventbrite")
    assert _last_run().status == "partial"
    source.fail(LA, "eventbrite", ValueError("page structure changed"))
    await _scrape(source, "eventbrite")
    assert _last_run().status == "failed"
    # Nor is a complete scrape of another source.
    source.set(LA, "meetup", future_events("meetup", 2, key="m"))
    await _scrape(source, "meetup")
    assert _event(missing.link).missed_scrapes == 2

    source.set(LA, "eventbrite", without)
    await _scrape(source, "eventbrite")
    row = _event(missing.link)
    assert (row.missed_scrapes, row.status) == (3, "gone")
    assert _event(last.link).status == "scheduled" and _event(last.link).missed_scrapes == 0
    # Once gone it stays gone (and uncounted) while the source keeps missing it.
    await _scrape(source, "eventbrite")
    assert (_event(missing.link).missed_scrapes, _event(missing.link).status) == (3, "gone")

    source.set(LA, "eventbrite", events)
    result = await _scrape(source, "eventbrite")
    row = _event(missing.link)
    assert (row.missed_scrapes, row.status) == (0, "scheduled")
    assert result["updated"] >= 1


@pytest.mark.usefixtures("fast_retries")
async def test_a_source_failing_midway_keeps_saved_pages_and_marks_nothing(app_db):
    class HalfSource(PageSource):
        async def crawl(self, *, fetcher, site, city, requests=None, max_pages):
            self.calls[(city.id, site.name)] += 1
            yield Page(
                source="luma", url="memory://luma/1", events=future_events("luma", 2, key="h")
            )
            raise FetchError("luma", "https://lu.ma/x", "connection reset")

    source = HalfSource()
    # Partial is not failed: it saved its first page, and the whole job is not retried.
    ctx = {"crawl": source.crawl, "job_try": 1}
    result = await scrape_city(ctx, LA, ["luma"])
    assert result["sources"]["luma"]["status"] == "partial"
    assert result["sources"]["luma"]["reason"] == "network"
    assert result["new"] == 2 and result["failed_sources"] == []
    assert source.calls[(LA, "luma")] == 2  # transient: retried once inside the job
    run = _last_run()
    assert run.status == "partial" and run.found == 2
    assert run.error.startswith("network: stopped at page 2: ") and "connection reset" in run.error
