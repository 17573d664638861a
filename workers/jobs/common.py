"""What every job shares: backoff, transient-error detection, enqueueing from a job."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
from sqlalchemy.exc import DBAPIError, OperationalError

from nocturne import queue
from nocturne.settings import settings
from scrapers.errors import TRANSIENT_REASONS, ScraperError
from workers.jobs.ids import default_job_id

log = logging.getLogger(__name__)


def backoff(job_try: int, *, base: float | None = None, cap: float = 3600.0) -> float:
    """Seconds to wait before try ``job_try + 1``: base, 2*base, 4*base... capped."""
    base = settings.job_retry_seconds if base is None else base
    return min(cap, base * 2 ** max(0, job_try - 1))


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: the network, a timeout, a 429/5xx, a database that went away (a
    scraper error by its reason: see ``scrapers.errors.TRANSIENT_REASONS``)."""
    if isinstance(exc, ScraperError):
        return exc.reason in TRANSIENT_REASONS
    if isinstance(exc, OperationalError):
        return True
    if isinstance(exc, DBAPIError):
        return bool(exc.connection_invalidated)
    if type(exc).__name__ == "TimeoutError":  # playwright's TimeoutError too
        return True
    return isinstance(exc, asyncio.TimeoutError | httpx.TransportError | ConnectionError | OSError)


def describe(exc: BaseException) -> str:
    """A short reason for a ScrapeRun row or a live message."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:500] if text else type(exc).__name__


async def enqueue_from_job(ctx: dict[str, Any], job: str, **kwargs: Any) -> str | None:
    """Queue another job from inside a job: on the worker's Redis, or in-process.

    A job called directly (``python -m scrapers scrape`` runs ``scrape_city`` itself) has
    no queue without Redis unless its caller installed one; its own work is done, so the
    follow-up is left to the schedule rather than failing the job.
    """
    job_id = kwargs.pop("_job_id", None) or default_job_id(job, (), kwargs)
    redis = ctx.get("redis")
    if redis is not None:
        queued = await redis.enqueue_job(job, _job_id=job_id, **kwargs)
        return queued.job_id if queued else None
    if queue.installed() is None and not settings.redis_url:
        log.warning(
            "%s not queued: no job queue in this process (install workers.main.in_process "
            "into nocturne.queue to run follow-up jobs here)",
            job,
        )
        return None
    return await queue.enqueue(job, _job_id=job_id, **kwargs)
