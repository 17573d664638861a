"""The first run fills itself: fill_cities / fill_city in-process and on real arq workers.

Every city but four is recorded as scraped, so each start has four never-scraped cities
to queue; the crawl is the in-memory ``PageSource``, everything after it is real.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, func, select

from nocturne import live, queue
from nocturne.autofill import (
    PROGRESS_CHANNEL,
    cities_to_fill,
    fill_progress,
    gathered_city_ids,
    was_gathered,
)
from nocturne.cities import CITIES
from nocturne.db import get_engine, session_scope
from nocturne.models import Event, ScrapeRun, utcnow
from nocturne.settings import settings
from tests.support import jobs as support
from tests.support.jobs import Harness, PageSource, future_events
from workers.jobs.autofill import fill_cities, start_filling

app_db, mode = support.app_db, support.mode  # fixtures

NY, CHICAGO, SEATTLE, DENVER = "ny--new-york", "il--chicago", "wa--seattle", "co--denver"
# The order the first run takes them in: the biggest first, then the catalogue's.
FILL = [NY, CHICAGO, SEATTLE, DENVER]


class OrderedSource(PageSource):
    """A PageSource that also notes the order in which cities' crawls began."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__(delay)
        self.order: list[str] = []

    def crawl(self, **kwargs: Any) -> Any:
        if kwargs["city"].id not in self.order:
            self.order.append(kwargs["city"].id)
        return super().crawl(**kwargs)


@pytest.fixture
def autofill(app_db: str, monkeypatch: pytest.MonkeyPatch) -> OrderedSource:
    """AUTOFILL on; every city but FILL scraped already; FILL's pages in a source."""
    monkeypatch.setattr(settings, "autofill", True)
    with session_scope() as session:
        for city in CITIES:
            if city.id not in FILL:
                session.add(
                    ScrapeRun(
                        city_id=city.id, source="eventbrite", status="ok", finished_at=utcnow()
                    )
                )
    source = OrderedSource()
    for city_id in FILL:
        source.set(city_id, "eventbrite", future_events("eventbrite", 2, key=city_id))
    return source


def _finished_runs() -> Counter[str]:
    """Complete eventbrite runs per FILL city (one a stop cut short is closed "failed")."""
    with Session(get_engine()) as session:
        rows = session.exec(
            select(ScrapeRun.city_id).where(
                col(ScrapeRun.city_id).in_(FILL),
                ScrapeRun.source == "eventbrite",
                ScrapeRun.status == "ok",
            )
        )
        return Counter(rows)


def _events_per_city() -> dict[str, int]:
    with Session(get_engine()) as session:
        stmt = select(Event.city_id, func.count()).group_by(Event.city_id)
        return dict(session.exec(stmt).all())  # type: ignore[arg-type]


def _calls(source: PageSource) -> dict[str, int]:
    return {city_id: source.calls[(city_id, "eventbrite")] for city_id in FILL}


async def _start(h: Harness, workers: int = 1) -> None:
    """A start of the app (in-process) or of ``workers`` arq workers, run to the end."""
    if h.mode == "inprocess":
        assert await start_filling() == "fill_cities"
        assert await start_filling() is None  # a second process's start: queued once
    await h.drain(workers=workers)


async def test_a_start_queues_each_never_scraped_city_once_and_a_second_start_none(
    autofill: OrderedSource, mode: tuple[str, str | None]
) -> None:
    with session_scope() as session:
        assert cities_to_fill(session=session) == FILL
        assert fill_progress(session=session).done == len(CITIES) - len(FILL)
    async with (
        live.subscribe(PROGRESS_CHANNEL) as progress,
        Harness(mode[0], autofill, mode[1]) as h,
    ):
        await _start(h, workers=2)  # two worker processes start at once (arq mode)
        announced = [m["filled"] for m in await progress.pending(100)]
        if mode[0] == "arq":  # pub/sub: the messages may still be on their way
            while len(announced) < len(FILL) and (m := await progress.get(timeout=5)):
                announced.append(m["filled"])
        assert sorted(announced) == sorted(FILL)
        assert _calls(autofill) == dict.fromkeys(FILL, 1)
        assert _finished_runs() == Counter(FILL)
        assert all(_events_per_city()[city_id] == 2 for city_id in FILL)
        with session_scope() as session:
            assert cities_to_fill(session=session) == []
            assert fill_progress(session=session).complete

        await _start(h)  # the next start finds nothing to do
        assert _calls(autofill) == dict.fromkeys(FILL, 1)
        assert _finished_runs() == Counter(FILL)
        assert await progress.pending(100) == []
        assert await fill_cities({"redis": await queue.pool()} if mode[1] else {}) == {
            "queued": [],
            "skipped": [],
        }
    if mode[1]:
        redis = await queue.pool(mode[1])
        assert await redis.zcard("arq:queue") == 0
        await queue.shutdown()


async def test_a_city_already_queued_or_running_is_not_queued_again(
    autofill: OrderedSource, mode: tuple[str, str | None]
) -> None:
    """A city a page (or a refresh) queued first is left to that job."""
    async with Harness(mode[0], autofill, mode[1]) as h:
        assert await h.enqueue("fill_city", city_id=DENVER, _job_id=f"scrape:{DENVER}")
        ctx = {"redis": await queue.pool()} if mode[1] else {}
        result = await fill_cities(ctx)
        assert result == {"queued": [NY, CHICAGO, SEATTLE], "skipped": [DENVER]}
        await h.drain()
    assert _calls(autofill) == dict.fromkeys(FILL, 1)
    assert _finished_runs() == Counter(FILL)


async def _wait_for(predicate: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_restart_mid_way_resumes_and_scrapes_nothing_twice(
    autofill: OrderedSource, mode: tuple[str, str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopped after its first city, the next start scrapes the rest, not that city."""
    monkeypatch.setattr(settings, "worker_max_jobs", 1)  # one city at a time
    autofill.delay = 0.3
    async with Harness(mode[0], autofill, mode[1]) as h:
        if mode[0] == "inprocess":
            await start_filling()
        else:
            worker = h.worker(burst=False, max_jobs=1)
            running = asyncio.ensure_future(worker.main())
        # One job at a time: Chicago's crawl begun, New York's job is over.
        await _wait_for(lambda: CHICAGO in autofill.order)
        if mode[0] == "inprocess":
            await queue.shutdown()  # the app stops: its in-process jobs with it
        else:
            running.cancel()  # as arq's signal handler: no more polling, and
            await asyncio.gather(running, return_exceptions=True)
            await worker.close()  # its job cancelled: "will be run again"
    before = _finished_runs()
    assert before[SEATTLE] == before[DENVER] == 0 and autofill.order == [NY, CHICAGO]

    async with Harness(mode[0], autofill, mode[1]) as h:
        await _start(h)
    after, calls = _finished_runs(), _calls(autofill)
    assert set(after) == set(FILL)
    # Done before the stop, or not begun: scraped once. Chicago, cut short, again (its
    # run never finished, or arq runs its cancelled job again; saving twice saves once).
    assert all(after[c] == calls[c] == 1 for c in (NY, SEATTLE, DENVER))
    assert 1 <= calls[CHICAGO] <= 2 and 1 <= after[CHICAGO] <= 2
    assert _events_per_city()[CHICAGO] == 2


async def test_a_city_page_puts_its_city_ahead_of_the_queue(
    autofill: OrderedSource, mode: tuple[str, str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the city page does for a city never scraped: queue its scrape, or hurry the
    one the first run queued; it then starts before the cities queued before it."""
    monkeypatch.setattr(settings, "worker_max_jobs", 1)
    autofill.delay = 0.1
    async with Harness(mode[0], autofill, mode[1]) as h:
        if mode[0] == "inprocess":
            await start_filling()
            await _wait_for(lambda: autofill.order == [NY])  # one slot, NY holds it
        else:
            await fill_cities({"redis": await queue.pool()})  # queued, no worker yet
        job_id = f"scrape:{DENVER}"
        assert await queue.enqueue("fill_city", city_id=DENVER, _job_id=job_id) is None
        assert await queue.hurry(job_id) is True
        assert await queue.hurry("scrape:nowhere") is False
        await h.drain()
    # In-process NY held the one slot and Denver started beside it; on arq, Denver first.
    if mode[0] == "inprocess":
        assert autofill.order == [NY, DENVER, CHICAGO, SEATTLE]
    else:
        assert autofill.order[0] == DENVER
    assert sorted(autofill.order) == sorted(FILL)
    assert _finished_runs() == Counter(FILL)


async def test_autofill_off_queues_nothing(
    autofill: OrderedSource, mode: tuple[str, str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "autofill", False)
    async with Harness(mode[0], autofill, mode[1]) as h:
        assert await start_filling() is None
        await h.drain()  # arq: a worker's start queues nothing either
        assert await fill_cities({}) == {"queued": [], "skipped": [], "off": True}
    assert autofill.order == []
    assert _finished_runs() == Counter()


def test_a_city_is_gathered_once_a_scrape_of_it_ended(app_db: str) -> None:
    """One source done and another still fetching is not gathered; a refresh of a
    gathered city (runs running again, long after) leaves it gathered."""
    start = utcnow()
    with session_scope() as session:

        def run(city_id: str, source: str, began: float, ended: float | None) -> None:
            session.add(
                ScrapeRun(
                    city_id=city_id,
                    source=source,
                    started_at=start + timedelta(seconds=began),
                    finished_at=None if ended is None else start + timedelta(seconds=ended),
                    status="running" if ended is None else "failed",
                )
            )

        run(NY, "meetup", 0, 1)  # under way: meetup failed fast, eventbrite still fetching
        run(NY, "eventbrite", 0, None)
        run(CHICAGO, "eventbrite", 0, 5)  # gathered, now refreshed
        run(CHICAGO, "eventbrite", 60, None)
        run(DENVER, "eventbrite", 0, 5)  # gathered
        session.flush()
        assert gathered_city_ids(session=session) == {CHICAGO, DENVER}
        assert was_gathered(session=session, city_id=CHICAGO)
        assert not was_gathered(session=session, city_id=NY)
        assert fill_progress(session=session).done == 2
        assert cities_to_fill(session=session)[:2] == [NY, "ca--los-angeles"]
        assert CHICAGO not in cities_to_fill(session=session)
