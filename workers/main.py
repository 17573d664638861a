"""The arq worker: ``arq workers.main.WorkerSettings`` (any number, on any machine, one Redis).

The same functions and cron schedule run in-process when REDIS_URL is unset:
``in_process`` (``workers.inprocess``), with a ctx built by the same ``on_startup``. It is
also what ``nocturne.queue`` names jobs by, so ``on_startup`` installs it: jobs enqueue
other jobs.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from arq.connections import RedisSettings
from arq.cron import CronJob, cron
from arq.worker import Function, func

from nocturne import live, queue
from nocturne.db import get_engine
from nocturne.settings import settings
from workers.inprocess import InProcess
from workers.jobs.autofill import fill_cities, fill_city, start_filling
from workers.jobs.cleanup import cleanup_old_events
from workers.jobs.email import send_confirmation, send_weekly_digests
from workers.jobs.ids import default_job_id
from workers.jobs.retag import retag_events
from workers.jobs.scrape import SCRAPE_MAX_TRIES, SCRAPE_TIMEOUT_S, scrape_all, scrape_city
from workers.jobs.suggestions import preview_suggestion, send_suggestion_decision
from workers.jobs.sync import SYNC_MAX_TRIES, sync_shared

log = logging.getLogger(__name__)


async def _open_fetcher(ctx: dict[str, Any], stack: contextlib.AsyncExitStack) -> None:
    """One browser per worker process, opened once and shared by every job."""
    if "fetcher" in ctx:  # brought by the caller (Worker(ctx=...), in_process.context(...))
        return
    try:
        from scrapers.fetch import Fetcher
    except ImportError as exc:  # the pipeline's fetcher is not installed in this tree
        log.warning("no scrapers.fetch.Fetcher (%s): scrape jobs need ctx['scrape_source']", exc)
        ctx["fetcher"] = None
        return
    ctx["fetcher"] = await stack.enter_async_context(Fetcher())


async def on_startup(ctx: dict[str, Any]) -> None:
    """Open the database engine and the fetcher (HTTP client + browser) once per worker,
    and queue the first scrape of cities never scraped (``fill_cities``, once for all).

    The browser itself starts with the first page fetched, so a worker that only sends
    email never launches one.
    """
    queue.install(in_process)
    stack = contextlib.AsyncExitStack()
    ctx["exit_stack"] = stack
    ctx.setdefault("engine", get_engine())
    await _open_fetcher(ctx, stack)
    if ctx.get("redis") is not None:  # an arq worker; the app starts the fill in-process
        await start_filling(ctx)


async def on_shutdown(ctx: dict[str, Any]) -> None:
    """Close what on_startup opened, and this loop's live-channel connections."""
    stack = ctx.pop("exit_stack", None)
    if stack is not None:
        await stack.aclose()
    await live.close()


FUNCTIONS: list[Function] = [
    # keep_result=0: a finished scrape must not block the next one with the same job id.
    func(
        scrape_city,
        max_tries=SCRAPE_MAX_TRIES,
        timeout=settings.job_timeout(SCRAPE_TIMEOUT_S),
        keep_result=0,
    ),
    func(scrape_all, max_tries=3, timeout=settings.job_timeout(120)),
    func(fill_cities, max_tries=3, timeout=settings.job_timeout(120), keep_result=0),
    func(
        fill_city,
        max_tries=SCRAPE_MAX_TRIES,
        timeout=settings.job_timeout(SCRAPE_TIMEOUT_S),
        keep_result=0,
    ),
    func(cleanup_old_events, max_tries=3, timeout=settings.job_timeout(600)),
    func(sync_shared, max_tries=SYNC_MAX_TRIES, timeout=settings.job_timeout(900), keep_result=0),
    func(send_confirmation, max_tries=5, timeout=settings.job_timeout(120)),
    func(send_weekly_digests, max_tries=3, timeout=settings.job_timeout(3600)),
    func(retag_events, max_tries=3, timeout=settings.job_timeout(1800)),
    # keep_result=0: an admin may ask for another look at the same suggestion later.
    func(preview_suggestion, max_tries=2, timeout=settings.job_timeout(60), keep_result=0),
    func(send_suggestion_decision, max_tries=5, timeout=settings.job_timeout(120)),
]

CRON_JOBS: list[CronJob] = [
    cron(
        scrape_all,
        hour=settings.scrape_cron_hour,
        minute=settings.scrape_cron_minute,
        timeout=settings.job_timeout(120),
    ),
    cron(
        cleanup_old_events,
        hour=settings.cleanup_cron_hour,
        minute=settings.cleanup_cron_minute,
        timeout=settings.job_timeout(600),
    ),
    # A safety net: scrapes enqueue a sync themselves; this catches what a failure left.
    cron(
        sync_shared,
        minute=set(range(0, 60, max(1, min(60, settings.sync_every_minutes)))),
        timeout=settings.job_timeout(900),
    ),
    # Hourly: the job picks the cities whose local time is Monday DIGEST_LOCAL_HOUR, so
    # every time zone gets its digest at its own 09:00 whatever the server's zone.
    cron(send_weekly_digests, minute=0, timeout=settings.job_timeout(3600)),
    # Events classified by older rules (after a deploy that changed scrapers/tags.py): at a
    # worker's start, and hourly for the in-process schedule, which has no start-up runs.
    cron(
        retag_events,
        minute=40,
        run_at_startup=True,
        timeout=settings.job_timeout(1800),
    ),
]


def job_functions() -> dict[str, Function]:
    """Every job by name, as the worker registers it."""
    return {f.name: f for f in WorkerSettings.functions}


class WorkerSettings:
    """arq's documented shape: ``arq workers.main.WorkerSettings``."""

    functions = FUNCTIONS
    cron_jobs = CRON_JOBS
    on_startup = on_startup
    on_shutdown = on_shutdown
    redis_settings = RedisSettings.from_dsn(settings.redis_url or "redis://localhost:6379")
    max_jobs = settings.worker_max_jobs
    job_timeout = settings.job_timeout(SCRAPE_TIMEOUT_S)
    keep_result = 3600
    health_check_interval = 30


# The same jobs and schedule in the app's own loop when there is no Redis (and the job-id
# rule in both modes): the app module installs it, and on_startup does in every worker.
in_process = InProcess(WorkerSettings, job_id=default_job_id)


@contextlib.asynccontextmanager
async def embedded_lifespan() -> AsyncIterator[None]:
    """The app's lifespan without Redis: the in-process cron, and the first run's fill."""
    async with in_process.lifespan():
        await start_filling()
        yield
