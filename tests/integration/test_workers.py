"""The jobs on a real arq worker (burst mode, real Redis) and in-process: same tests.

Each test runs in both modes and, where the database matters, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, select

from nocturne import live
from nocturne.db import get_engine
from nocturne.models import Event, ScrapeRun
from scrapers.errors import BlockedPage, FetchError
from tests.support import jobs as support
from tests.support.jobs import Harness, PageSource, future_events

app_db, mode, fast_retries = support.app_db, support.mode, support.fast_retries  # fixtures

LA = "ca--los-angeles"
SF = "ca--san-francisco"


def _events(city_id: str | None = None) -> list[Event]:
    with Session(get_engine()) as session:
        stmt = select(Event).order_by(col(Event.link))
        if city_id:
            stmt = stmt.where(Event.city_id == city_id)
        return list(session.exec(stmt))


def _runs(city_id: str) -> list[ScrapeRun]:
    with Session(get_engine()) as session:
        return list(
            session.exec(
                select(ScrapeRun).where(ScrapeRun.city_id == city_id).order_by(col(ScrapeRun.id))
            )
        )


def _snapshot(city_id: str) -> list[tuple]:
    return [
        (e.link, e.title, e.start_at, e.status, e.missed_scrapes, e.sources, tuple(e.links))
        for e in _events(city_id)
    ]


async def _collect(city_id: str, sub: live.Subscription, until: str = "scrape_finished"):
    messages = []
    while True:
        message = await sub.get(timeout=30)
        assert message is not None, f"no {until} message; got {messages}"
        messages.append(message)
        if message["type"] == until:
            return messages


async def test_scrape_city_saves_pages_records_runs_and_publishes_progress(app_db, mode):
    source = PageSource()
    eb = future_events("eventbrite", 5, key="eb")
    source.set(LA, "eventbrite", eb[:3], eb[3:])
    source.set(LA, "meetup", future_events("meetup", 2, key="mu"))
    source.fail(LA, "luma", BlockedPage("luma", "https://lu.ma/la", status=403))

    async with Harness(mode[0], source, mode[1]) as h, live.subscribe(LA) as sub:
        job_id = await h.enqueue("scrape_city", city_id=LA)
        assert job_id == f"scrape:{LA}"
        await h.drain()
        messages = await _collect(LA, sub)

    assert len(_events(LA)) == 7
    runs = {r.source: r for r in _runs(LA)}
    assert (runs["eventbrite"].status, runs["eventbrite"].found, runs["eventbrite"].new) == (
        "ok",
        5,
        5,
    )
    assert (runs["meetup"].status, runs["meetup"].new) == ("ok", 2)
    assert runs["luma"].status == "failed" and "BlockedPage" in runs["luma"].error
    assert "403" in runs["luma"].error
    # Blocked is permanent: recorded, not retried.
    assert source.calls[(LA, "luma")] == 1

    types = [m["type"] for m in messages]
    assert types[0] == "scrape_started" and types[-1] == "scrape_finished"
    assert messages[0]["job_id"] == job_id and set(messages[0]["sources"]) == {
        "eventbrite",
        "meetup",
        "luma",
        "19hz",  # Los Angeles has a 19hz region page
    }
    # The new events arrive per saved page, as cards, before their source finishes.
    eb_msgs = [m for m in messages if m.get("source") == "eventbrite"]
    assert [m["type"] for m in eb_msgs] == ["source_started", "events", "events", "source_finished"]
    assert [len(m["events"]) for m in eb_msgs[1:3]] == [3, 2]
    card = eb_msgs[1]["events"][0]
    assert card["title"] == eb[0].title and card["link"] == eb[0].link
    assert card["price_label"] == "$10\u2013$25" and card["sources"] == ["eventbrite"]
    assert card["start_at"].endswith("Z") and card["day_label"]
    failed = next(m for m in messages if m["type"] == "source_failed")
    assert failed["source"] == "luma" and "BlockedPage" in failed["error"]
    final = messages[-1]
    assert (final["new"], final["updated"], final["failed_sources"]) == (7, 0, ["luma"])
    assert all(m["city_id"] == LA for m in messages)


async def test_running_a_scrape_twice_leaves_the_database_as_once(app_db, mode):
    source = PageSource()
    source.set(SF, "eventbrite", future_events("eventbrite", 4, key="a"))
    source.set(SF, "luma", future_events("luma", 3, key="b"))
    async with Harness(mode[0], source, mode[1]) as h:
        await h.enqueue("scrape_city", city_id=SF)
        await h.drain()
        once = _snapshot(SF)
        assert len(once) == 7
        assert await h.enqueue("scrape_city", city_id=SF) == f"scrape:{SF}"
        await h.drain()
    assert _snapshot(SF) == once
    second = _runs(SF)[-3:]
    assert sum(r.new for r in second) == 0 and sum(r.updated for r in second) == 0
    assert {r.found for r in second if r.source != "meetup"} == {4, 3}


async def test_a_city_is_never_scraped_by_two_jobs_at_once(app_db, mode):
    source = PageSource(delay=0.3)
    source.set(LA, "eventbrite", future_events("eventbrite", 2, key="c"))
    source.set(SF, "eventbrite", future_events("eventbrite", 2, key="d"))
    async with Harness(mode[0], source, mode[1]) as h:
        assert await h.enqueue("scrape_city", city_id=LA, sources=["eventbrite"]) == f"scrape:{LA}"
        # Same city while the first is queued or running: refused by its job id.
        assert await h.enqueue("scrape_city", city_id=LA, sources=["eventbrite"]) is None
        # Even under another job id, the city lock turns the second one away.
        sneaky = await h.enqueue(
            "scrape_city", city_id=LA, sources=["eventbrite"], _job_id="sneaky"
        )
        assert sneaky == "sneaky"
        assert await h.enqueue("scrape_city", city_id=SF, sources=["eventbrite"])
        await h.drain(workers=2)
        if mode[0] == "inprocess":  # arq keeps no result for scrapes (keep_result=0)
            results = [await h.result(j) for j in (f"scrape:{LA}", "sneaky")]
            assert {"city_id": LA, "skipped": "already running"} in results
    assert source.max_active[LA] == 1 and source.calls[(LA, "eventbrite")] == 1
    assert source.calls[(SF, "eventbrite")] == 1
    assert len(_runs(LA)) == 1


@pytest.mark.usefixtures("fast_retries")
async def test_transient_failures_retry_with_backoff_then_succeed(app_db, mode):
    source = PageSource()
    source.set(LA, "eventbrite", future_events("eventbrite", 2, key="e"))
    # Two 503s: the source's own retry inside the job uses one, the next fails the try,
    # and as every source failed transiently the job is retried (arq Retry) and succeeds.
    source.fail(LA, "eventbrite", *(FetchError("eventbrite", "u", status=503) for _ in range(2)))
    async with Harness(mode[0], source, mode[1]) as h:
        await h.enqueue("scrape_city", city_id=LA, sources=["eventbrite"])
        await h.drain()
    runs = _runs(LA)
    assert [r.status for r in runs] == ["failed", "ok"]
    assert "503" in runs[0].error
    assert source.calls[(LA, "eventbrite")] == 3
    assert len(_events(LA)) == 2


async def test_permanent_errors_are_recorded_with_their_reason(app_db, mode):
    source = PageSource()
    async with Harness(mode[0], source, mode[1]) as h:
        job = await h.enqueue("scrape_city", city_id="zz--atlantis", _job_id="atlantis")
        await h.drain()
        if mode[0] == "inprocess":  # arq keeps no result for scrapes (keep_result=0)
            assert await h.result(job) == {
                "city_id": "zz--atlantis",
                "error": "unknown city 'zz--atlantis'",
            }
    assert _runs("zz--atlantis") == []


async def test_scrape_all_queues_every_city_once(app_db, mode):
    from nocturne.cities import CITIES

    source = PageSource()
    async with Harness(mode[0], source, mode[1]) as h:
        first = await h.enqueue("scrape_all")
        assert first == "scrape_all"
        await h.drain()
        assert await h.result(first) == {"queued": len(CITIES), "skipped": []}
    assert {city for city, _ in source.calls} == {c.id for c in CITIES}
    assert all(n == 1 for n in source.calls.values())


async def test_scrape_all_skips_cities_already_queued(app_db, redis_url, monkeypatch):
    from arq.connections import RedisSettings, create_pool

    from nocturne.cities import CITIES
    from nocturne.settings import settings

    monkeypatch.setattr(settings, "redis_url", redis_url)
    async with Harness("arq", PageSource(), redis_url) as h:
        # LA is queued (due in a minute) when the daily scrape_all comes round.
        assert await h.enqueue("scrape_city", city_id=LA, _defer_by=60)
        job = await h.enqueue("scrape_all")
        worker = h.worker(max_burst_jobs=1)  # run scrape_all only; its jobs stay queued
        await worker.main()
        await worker.close()
        assert await h.result(job) == {"queued": len(CITIES) - 1, "skipped": [LA]}
        pool = await create_pool(RedisSettings.from_dsn(redis_url))
        try:
            queued = {j.decode() for j in await pool.zrange("arq:queue", 0, -1)}
        finally:
            await pool.aclose()
    assert queued == {f"scrape:{c.id}" for c in CITIES}


async def test_cleanup_removes_old_events_and_keeps_a_result(app_db, mode):
    from datetime import UTC, datetime, timedelta

    from nocturne.crud import upsert_events
    from nocturne.db import session_scope

    now = datetime.now(UTC)
    old = future_events("eventbrite", 3, key="old", start=now - timedelta(days=45))
    recent = future_events("meetup", 2, key="new", start=now - timedelta(days=5))
    with session_scope() as session:
        upsert_events(session=session, city_id=LA, events=old + recent)
    async with Harness(mode[0], PageSource(), mode[1]) as h:
        job = await h.enqueue("cleanup_old_events")
        await h.drain()
        assert await h.result(job) == {"deleted": 3, "days": 30}
        again = await h.enqueue("cleanup_old_events", _job_id="cleanup-again")
        await h.drain()
        assert await h.result(again) == {"deleted": 0, "days": 30}
    assert sorted(e.link for e in _events(LA)) == sorted(e.link for e in recent)


async def test_duplicate_job_ids_are_refused_until_the_job_is_done(app_db, mode):
    source = PageSource(delay=0.2)
    source.set(LA, "meetup", future_events("meetup", 1, key="f"))
    async with Harness(mode[0], source, mode[1]) as h:
        assert await h.enqueue("scrape_city", city_id=LA, sources=["meetup"])
        assert await h.enqueue("scrape_city", LA, ["meetup"]) is None  # positional, same id
        await h.drain()
        # Finished scrapes keep no result, so the next scrape of the city is welcome.
        assert await h.enqueue("scrape_city", city_id=LA, sources=["meetup"]) == f"scrape:{LA}"
        await h.drain()
    assert source.calls[(LA, "meetup")] == 2


async def test_unknown_source_is_a_recorded_error_and_no_scrape(app_db):
    from workers.jobs.scrape import scrape_city

    source = PageSource()
    result = await scrape_city({"crawl": source.crawl}, LA, ["myspace"])
    assert result == {"city_id": LA, "error": "unknown sources ['myspace']"}
    assert source.calls == {}


@pytest.mark.parametrize("all_fail", [True, False])
async def test_job_level_retry_only_when_every_source_failed_transiently(
    app_db, fast_retries, all_fail
):
    from arq.worker import Retry

    from workers.jobs.scrape import scrape_city

    source = PageSource()
    for s in ("eventbrite", "meetup"):
        source.fail(LA, s, *(TimeoutError() for _ in range(2)))
    if not all_fail:
        source.set(LA, "luma", future_events("luma", 1, key="g"))
    sources = ["eventbrite", "meetup"] + ([] if all_fail else ["luma"])
    ctx = {"crawl": source.crawl, "job_try": 1}
    if all_fail:
        with pytest.raises(Retry):
            await scrape_city(ctx, LA, sources)
    else:
        result = await scrape_city(ctx, LA, sources)
        assert result["failed_sources"] == ["eventbrite", "meetup"] and result["new"] == 1


async def test_two_cities_listing_the_same_events_at_once_both_save(app_db, mode):
    # Oakland's and San Francisco's listings share events: both scrapes insert the same
    # links at the same moment, and neither may fail on the unique key.
    source = PageSource()
    shared = future_events("eventbrite", 30, key="bay")
    for city in (LA, SF):
        source.set(city, "eventbrite", shared[:10], shared[10:20], shared[20:])
    async with Harness(mode[0], source, mode[1]) as h:
        for city in (LA, SF):
            await h.enqueue("scrape_city", city_id=city, sources=["eventbrite"])
        await h.drain()
    runs = _runs(LA) + _runs(SF)
    assert [r.status for r in runs] == ["ok", "ok"], [r.error for r in runs]
    assert len(_events()) == 30 and all(r.found == 30 for r in runs)


async def test_one_event_listed_by_two_sources_at_once_is_stored_once(app_db, mode):
    """The sources of a scrape run concurrently; a cross-listed event must not be saved twice."""
    from dataclasses import replace
    from datetime import timedelta

    source = PageSource()
    eb = future_events("eventbrite", 3, key="x")
    # Luma lists the same three events: same title and venue, start 10 minutes later.
    lu = [
        replace(
            e, source="luma", link=f"https://luma.com/x-{i}", start=e.start + timedelta(minutes=10)
        )
        for i, e in enumerate(eb)
    ]
    source.set(LA, "eventbrite", *[[e] for e in eb])
    source.set(LA, "luma", *[[e] for e in lu])
    source.set(LA, "meetup", [])

    async with Harness(mode[0], source, mode[1]) as h:
        await h.enqueue("scrape_city", city_id=LA)
        await h.drain()

    rows = _events(LA)
    assert len(rows) == 3
    assert all(len(r.links) == 2 for r in rows)


async def test_runs_left_running_by_a_dead_worker_are_closed_by_the_next_scrape(app_db, mode):
    from nocturne.crud import start_scrape_run
    from nocturne.db import session_scope

    with session_scope() as session:
        stale = start_scrape_run(session=session, city_id=LA, source="meetup").id
    source = PageSource()
    source.set(LA, "eventbrite", future_events("eventbrite", 1))
    source.set(LA, "meetup", [])
    source.set(LA, "luma", [])

    async with Harness(mode[0], source, mode[1]) as h:
        await h.enqueue("scrape_city", city_id=LA)
        await h.drain()

    with Session(get_engine()) as session:
        runs = {r.id: r for r in session.exec(select(ScrapeRun))}
    assert runs[stale].status == "failed" and "abandoned" in (runs[stale].error or "")
    assert runs[stale].finished_at is not None
    assert [r.status for r in runs.values() if r.id != stale] == ["ok"] * 4  # 19hz too
