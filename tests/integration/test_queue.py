"""nocturne.queue, its in-process backend and the worker's settings: cron, results,
`arq --check`, status."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime

import pytest
import redis
from arq.cron import cron

from nocturne import queue
from nocturne.settings import ROOT, settings
from tests.support import jobs as support
from tests.support.jobs import Harness, PageSource, future_events
from workers.jobs.common import enqueue_from_job
from workers.main import WorkerSettings, in_process, job_functions

app_db, mode = support.app_db, support.mode  # fixtures
ticks: list[float] = []


async def tick(ctx: dict) -> int:
    """A cron job that leaves a trace wherever it runs."""
    ticks.append(time.monotonic())
    if ctx.get("redis") is not None:
        return await ctx["redis"].incr("test:ticks")
    return len(ticks)


def test_worker_settings_register_every_job_and_the_schedule():
    assert set(job_functions()) == {
        "scrape_city",
        "scrape_all",
        "fill_cities",
        "fill_city",
        "cleanup_old_events",
        "sync_shared",
        "send_confirmation",
        "send_weekly_digests",
        "retag_events",
        "preview_suggestion",
        "send_suggestion_decision",
    }
    by_name = {cj.name: cj for cj in WorkerSettings.cron_jobs}
    start = datetime(2030, 6, 3, 0, 0, 30).astimezone()  # a Monday
    nexts = {}
    for name, cj in by_name.items():
        cj.calculate_next(start)
        nexts[name] = cj.next_run
        cj.next_run = None
    scrape = nexts["cron:scrape_all"]
    assert (scrape.hour, scrape.minute) == (settings.scrape_cron_hour, settings.scrape_cron_minute)
    cleanup = nexts["cron:cleanup_old_events"]
    assert (cleanup.hour, cleanup.minute) == (
        settings.cleanup_cron_hour,
        settings.cleanup_cron_minute,
    )
    assert (nexts["cron:send_weekly_digests"].hour, nexts["cron:send_weekly_digests"].minute) == (
        1,
        0,
    )  # hourly: the job itself picks the cities where it is Monday 09:xx
    assert nexts["cron:sync_shared"].minute == settings.sync_every_minutes


async def test_in_process_cron_runs_the_worker_schedule(app_db, monkeypatch):
    monkeypatch.setattr(settings, "redis_url", None)
    monkeypatch.setattr(WorkerSettings, "cron_jobs", [cron(tick, second=set(range(60)))])
    ticks.clear()
    await in_process.context(fetcher=None)
    task = in_process.start_scheduler()
    assert task is not None and in_process.start_scheduler() is task  # one scheduler per loop
    try:
        await asyncio.sleep(2.6)
    finally:
        await queue.shutdown()
    assert len(ticks) >= 2


async def test_arq_worker_runs_cron_jobs(redis_url, monkeypatch):
    monkeypatch.setattr(settings, "redis_url", redis_url)
    ticks.clear()
    h = Harness("arq", PageSource(), redis_url)
    worker = h.worker(burst=False, cron_jobs=[cron(tick, second=set(range(60)))])
    task = asyncio.create_task(worker.main())
    try:
        await asyncio.sleep(2.8)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await worker.close()
    client = redis.Redis.from_url(redis_url)
    try:
        assert int(client.get("test:ticks")) >= 2
    finally:
        client.close()


async def test_results_and_job_states_in_both_modes(app_db, mode):
    async with Harness(mode[0], PageSource(), mode[1]) as h:
        job = await h.enqueue("cleanup_old_events", days=10, _job_id="clean-10")
        assert job == "clean-10"
        assert await queue.job_state(job) in ("queued", "in_progress")
        await h.drain()
        assert await queue.job_state(job) == "complete"
        assert await h.result(job) == {"deleted": 0, "days": 10}
        # The kept result holds the id: arq and the in-process queue both refuse a rerun
        # only while queued/running; arq also while the result is kept.
        again = await h.enqueue("cleanup_old_events", days=10, _job_id="clean-10")
        assert again is None if mode[0] == "arq" else again == "clean-10"


@pytest.mark.allow_error_logs
async def test_a_crashing_job_is_recorded_as_failed_in_process(app_db, monkeypatch, caplog):
    monkeypatch.setattr(settings, "redis_url", None)
    async with Harness("inprocess", PageSource(), None) as h:
        job = await h.enqueue("cleanup_old_events", days="thirty")
        await h.drain()
        assert await queue.job_state(job) == "complete"
        with pytest.raises(TypeError):
            await h.result(job)
        [failed] = [r for r in in_process.recent_results() if r.job_id == job]
        assert (failed.success, failed.tries) == (False, 1)  # a bug is not retried
    assert any(f"job {job} (cleanup_old_events) failed" in r.getMessage() for r in caplog.records)


async def test_unknown_job_is_refused_in_process(monkeypatch):
    monkeypatch.setattr(settings, "redis_url", None)
    queue.install(in_process)
    with pytest.raises(ValueError, match="unknown job"):
        await queue.enqueue("mine_bitcoin")


@pytest.fixture
def no_backend():
    """nocturne.queue as the core alone leaves it: nothing installed."""
    previous = queue.installed()
    queue.install(None)
    yield
    queue.install(previous)


async def test_enqueue_without_a_backend_says_what_to_install(no_backend, monkeypatch):
    monkeypatch.setattr(settings, "redis_url", None)
    for kwargs in ({"days": 10}, {"days": 10, "_job_id": "clean-10"}):
        with pytest.raises(RuntimeError, match=r"queue\.install\(workers\.main\.in_process\)"):
            await queue.enqueue("cleanup_old_events", **kwargs)
    with pytest.raises(RuntimeError, match="no job backend"):
        await queue.job_state("clean-10")


async def test_a_job_called_outside_any_queue_leaves_its_follow_up(no_backend, monkeypatch, caplog):
    monkeypatch.setattr(settings, "redis_url", None)
    assert await enqueue_from_job({"fetcher": None}, "sync_shared") is None
    assert "sync_shared not queued" in caplog.text


async def test_arq_mode_needs_a_backend_only_to_name_a_job(no_backend, redis_url, monkeypatch):
    monkeypatch.setattr(settings, "redis_url", redis_url)
    try:
        # The rule for scrape_all lives with the jobs: without it, refuse rather than queue
        # a second scrape_all under a random id.
        with pytest.raises(RuntimeError, match="no job backend"):
            await queue.enqueue("scrape_all")
        assert await queue.enqueue("scrape_all", _job_id="scrape_all") == "scrape_all"
        queue.install(in_process)
        assert await queue.enqueue("scrape_all") is None  # the same id: refused as queued
        assert await queue.enqueue("scrape_city", city_id="ca--oakland") == "scrape:ca--oakland"
    finally:
        await queue.shutdown()


def _wait_for(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_arq_check_reads_a_live_workers_health(app_db, redis_url):
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DATABASE_URL": app_db,
        "SHARED_DATABASE_URL": "",
    }
    arq = [sys.executable, "-m", "arq"]
    check = [*arq, "--check", "workers.main.WorkerSettings"]
    client = redis.Redis.from_url(redis_url)
    worker = subprocess.Popen(
        [*arq, "workers.main.WorkerSettings"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _wait_for(lambda: client.exists("arq:queue:health-check")), "worker never healthy"
        ok = subprocess.run(check, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert "Health check successful" in ok.stdout + ok.stderr
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    finally:
        worker.kill()
        stderr = worker.communicate()[1]
        client.close()
    functions = len(WorkerSettings.functions) + len(WorkerSettings.cron_jobs)
    assert f"Starting worker for {functions} functions" in stderr
    down = subprocess.run(check, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert down.returncode == 1


async def test_status_lists_queued_jobs_and_last_runs(app_db, redis_url, monkeypatch):
    monkeypatch.setattr(settings, "redis_url", redis_url)
    source = PageSource()
    source.set("ca--oakland", "meetup", future_events("meetup", 2, key="st"))
    async with Harness("arq", source, redis_url) as h:
        await h.enqueue("scrape_city", city_id="ca--oakland", sources=["meetup"])
        await h.drain()
        await h.enqueue("scrape_city", city_id="ca--oakland", _defer_by=300)
    env = {**os.environ, "REDIS_URL": redis_url, "DATABASE_URL": app_db}
    out = subprocess.run(
        [sys.executable, "-m", "workers", "status", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert [j["job_id"] for j in report["queued"]] == ["scrape:ca--oakland"]
    assert report["queued"][0]["kwargs"] == {"city_id": "ca--oakland"}
    assert report["running"] == []
    run = report["last_runs"]["ca--oakland"]["meetup"]
    assert (run["status"], run["found"], run["new"]) == ("ok", 2, 2)
    text = subprocess.run(
        [sys.executable, "-m", "workers", "status"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "scrape:ca--oakland" in text and "ok 2/+2" in text
