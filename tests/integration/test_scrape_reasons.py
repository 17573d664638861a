"""Every failure says why, and partial is not failed: the job's recorded reasons, its live
messages, the listing's end, and the status a tab joining a refresh replays.

Each test runs with jobs in-process and on a real arq worker, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import time

import pytest
from sqlmodel import Session, col, select

from nocturne import live
from nocturne.db import get_engine
from nocturne.models import Event, ScrapeRun
from nocturne.settings import Settings
from scrapers.errors import BlockedPage, FetchError, UnrecognizedPage, parse_recorded, recorded
from scrapers.fetch import Fetcher
from tests.support import jobs as support
from tests.support.jobs import Harness, PageSource, future_events
from tests.support.site_server import Route, SiteServer

app_db, mode, fast_retries = support.app_db, support.mode, support.fast_retries  # fixtures

LA = "ca--los-angeles"
CHICAGO = "il--chicago"
EB_LISTING = "/d/il--chicago/all-events/"


def _runs(city_id: str) -> dict[str, ScrapeRun]:
    with Session(get_engine()) as session:
        stmt = select(ScrapeRun).where(ScrapeRun.city_id == city_id).order_by(col(ScrapeRun.id))
        return {r.source: r for r in session.exec(stmt)}


async def _heard(sub: live.Subscription) -> list[dict]:
    messages: list[dict] = []
    while not messages or messages[-1]["type"] != "scrape_finished":
        message = await sub.get(timeout=60)
        assert message is not None, messages
        messages.append(message)
    return messages


@pytest.mark.usefixtures("fast_retries")
async def test_each_failed_source_records_and_publishes_its_reason(app_db, mode):
    source = PageSource()
    source.fail(LA, "eventbrite", *(FetchError("eventbrite", "u", "network error") for _ in "ab"))
    source.fail(LA, "meetup", BlockedPage("meetup", "u", "challenge marker 'px-captcha'"))
    source.fail(LA, "luma", UnrecognizedPage("luma", "u"))
    async with Harness(mode[0], source, mode[1]) as h, live.subscribe(LA) as sub:
        sources = ["eventbrite", "meetup", "luma"]
        await h.enqueue("scrape_city", city_id=LA, sources=sources)
        await h.drain()
        messages = await _heard(sub)

    runs = _runs(LA)
    reasons = {s: parse_recorded(runs[s].error) for s in ("eventbrite", "meetup", "luma")}
    assert {s: r.reason for s, r in reasons.items() if r} == {
        "eventbrite": "network",
        "meetup": "blocked",
        "luma": "changed",
    }
    assert all(r.status == "failed" for r in runs.values())
    # The transient one was tried again inside the job, announced with a deadline first.
    assert source.calls[(LA, "eventbrite")] == 2 and source.calls[(LA, "meetup")] == 1
    retrying = [m for m in messages if m["type"] == "source_retrying"]
    assert [(m["source"], m["reason"]) for m in retrying] == [("eventbrite", "network")]
    assert retrying[0]["retry_at"] > time.time() - 60
    eb = [m["type"] for m in messages if m.get("source") == "eventbrite"]
    assert eb == ["source_started", "source_retrying", "source_started", "source_failed"]
    failed = {m["source"]: m["reason"] for m in messages if m["type"] == "source_failed"}
    assert failed == {"eventbrite": "network", "meetup": "blocked", "luma": "changed"}
    final = messages[-1]
    assert sorted(final["failed_sources"]) == ["eventbrite", "luma", "meetup"]
    # Blocked and changed will not pass by themselves: no retry of the whole job.
    assert final["sources"] == 3 and "retry_at" not in final


@pytest.mark.usefixtures("fast_retries")
async def test_when_every_source_failed_the_end_says_when_the_job_tries_again(app_db, mode):
    source = PageSource()
    for s in ("eventbrite", "meetup"):
        source.fail(LA, s, *(FetchError(s, "u", "network error") for _ in range(2)))
        source.set(LA, s, future_events(s, 1, key="later"))
    async with Harness(mode[0], source, mode[1]) as h, live.subscribe(LA) as sub:
        await h.enqueue("scrape_city", city_id=LA, sources=["eventbrite", "meetup"])
        await h.drain()
        first, second = await _heard(sub), await _heard(sub)

    assert first[-1]["reasons"] == ["network"]
    assert first[-1]["failed_sources"] == ["eventbrite", "meetup"]
    assert first[-1]["retry_at"] >= time.time() - 60  # the job's own retry, announced
    assert second[0]["type"] == "scrape_started"  # ...and made
    assert second[-1]["failed_sources"] == [] and second[-1]["new"] == 2


@pytest.mark.usefixtures("fast_retries")
async def test_a_rate_limited_source_waits_as_long_as_the_site_asked(app_db, mode):
    source = PageSource()
    source.fail(LA, "luma", BlockedPage("luma", "u", "refused", status=429, retry_after=0.3))
    source.set(LA, "luma", future_events("luma", 2, key="rl"))
    async with Harness(mode[0], source, mode[1]) as h, live.subscribe(LA) as sub:
        await h.enqueue("scrape_city", city_id=LA, sources=["luma"])
        await h.drain()
        messages = await _heard(sub)
    retrying = next(m for m in messages if m["type"] == "source_retrying")
    assert retrying["reason"] == "rate_limited"
    started = next(m for m in messages if m["type"] == "source_started" and m.get("attempt"))
    assert retrying["retry_at"] - time.time() < 60
    assert started["attempt"] == 2
    assert _runs(LA)["luma"].status == "ok" and messages[-1]["new"] == 2


@pytest.mark.usefixtures("fast_retries")
async def test_a_listing_that_breaks_after_its_first_page_is_partial_not_failed(app_db, mode):
    with SiteServer.chicago() as srv:
        srv.add(Route(EB_LISTING, "HTTP 503", {"page": "2"}, status=503))
        overrides = srv.settings_overrides(scrape_max_retries=1, scrape_backoff_seconds=0.01)
        fetcher = Fetcher(Settings(**overrides))
        harness = Harness(mode[0], None, mode[1], fetcher=fetcher)
        async with fetcher, harness as h, live.subscribe(CHICAGO) as sub:
            await h.enqueue("scrape_city", city_id=CHICAGO, sources=["eventbrite"])
            await h.drain()
            messages = await _heard(sub)
    run = _runs(CHICAGO)["eventbrite"]
    with Session(get_engine()) as session:
        saved = len(session.exec(select(Event.id).where(Event.city_id == CHICAGO)).all())
    assert run.status == "partial" and run.new == saved > 0
    back = parse_recorded(run.error)
    assert back is not None and (back.reason, back.page) == ("unavailable", 2)
    end = next(m for m in messages if m.get("source") == "eventbrite" and "found" in m)
    assert end["type"] == "source_finished"  # partial: what it saved, and why it stopped
    assert (end["new"], end["reason"], end["stopped_at"]) == (saved, "unavailable", 2)
    assert messages[-1]["failed_sources"] == [] and messages[-1]["new"] == saved


@pytest.mark.parametrize("end", ["404", "empty"])
async def test_a_next_page_that_is_gone_or_empty_ends_the_listing(app_db, end):
    with SiteServer.chicago() as srv:
        if end == "404":
            srv.add(Route(EB_LISTING, "<html><title>Not found</title></html>", {"page": "2"}, 404))
        fetcher = Fetcher(Settings(**srv.settings_overrides()))
        async with fetcher, Harness("inprocess", None, None, fetcher=fetcher) as h:
            await h.enqueue("scrape_city", city_id=CHICAGO, sources=["eventbrite"])
            await h.drain()
        pages = {h.query.get("page") for h in srv.requests_to(EB_LISTING)}
    run = _runs(CHICAGO)["eventbrite"]
    assert (run.status, run.error) == ("ok", None) and run.new > 0
    assert "2" in pages and "4" not in pages  # page 2 was asked for and ended it (or page 3)


async def test_a_tab_joining_a_refresh_replays_the_same_status(app_db, mode):
    # Published as a job does; the kept status is what a second tab replays on opening.
    await live.publish(LA, {"type": "scrape_started", "sources": ["eventbrite", "meetup"]})
    await live.publish(LA, {"type": "source_started", "source": "eventbrite"})
    await live.publish(LA, {"type": "events", "source": "eventbrite", "events": []})
    await live.publish(
        LA, {"type": "source_retrying", "source": "eventbrite", "reason": "network", "retry_at": 9}
    )
    await live.publish(LA, {"type": "source_failed", "source": "meetup", "reason": "blocked"})
    kept = await live.status(LA)
    assert kept[0]["type"] == "scrape_started"
    assert sorted((m["type"], m.get("source")) for m in kept[1:]) == [
        ("source_failed", "meetup"),
        ("source_retrying", "eventbrite"),
    ]
    await live.publish(LA, {"type": "scrape_finished", "new": 0, "retry_at": 99})
    assert (await live.status(LA))[-1]["type"] == "scrape_finished"
    # The next scrape starts afresh.
    await live.publish(LA, {"type": "scrape_started", "sources": ["luma"]})
    assert [m["type"] for m in await live.status(LA)] == ["scrape_started"]
    assert await live.status("ny--new-york") == []


async def test_a_site_that_asks_for_a_long_wait_is_not_asked_again_sooner(app_db, fast_retries):
    from arq.worker import Retry

    from workers.jobs.scrape import scrape_city

    source = PageSource()
    source.fail(LA, "luma", BlockedPage("luma", "u", "refused", status=429, retry_after=600))
    async with live.subscribe(LA) as sub:
        with pytest.raises(Retry) as raised:
            await scrape_city({"crawl": source.crawl, "job_try": 1}, LA, ["luma"])
        messages = await _heard(sub)
    assert source.calls[(LA, "luma")] == 1  # too long a wait to spend inside the job
    failed = next(m for m in messages if m["type"] == "source_failed")
    assert (failed["reason"], failed["wait"]) == ("rate_limited", 600)
    assert raised.value.defer_score == 600_000  # the job comes back when the site said
    assert 590 < messages[-1]["retry_at"] - time.time() <= 600


async def test_the_freshness_lines_read_the_recorded_reasons(app_db):
    from nocturne.crud import finish_scrape_run, start_scrape_run
    from nocturne.db import session_scope
    from nocturne.pages.city import _freshness

    runs = {
        "eventbrite": ("failed", 0, recorded("network", "FetchError: x: u: network error")),
        "meetup": ("partial", 26, recorded("network", "FetchError: x: u: network error", page=2)),
        "luma": ("failed", 0, "BlockedPage: luma: u: access denied (HTTP 403)"),  # an old row
        "19hz": ("ok", 4, None),
    }
    with session_scope() as session:
        for source, (status, new, error) in runs.items():
            run = start_scrape_run(session=session, city_id=LA, source=source)
            finish_scrape_run(session=session, run=run, status=status, new=new, error=error)
    lines = {line["source"]: (line["text"], line["state"]) for line in _freshness(LA)}
    assert lines == {
        "eventbrite": ("failed just now: could not reach the site", "failed"),
        "meetup": ("26 new just now · stopped at page 2: could not reach the site", "partial"),
        "luma": ("failed just now: blocked by the site (a block or captcha page)", "failed"),
        "19hz": ("updated just now", "done"),
    }
