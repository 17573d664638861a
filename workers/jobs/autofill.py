"""fill_cities and fill_city: a first run fills itself.

At start-up (each arq worker's ``on_startup``; the app's own start in embedded mode)
:func:`start_filling` queues ``fill_cities`` under one job id, so several processes starting
at once queue it once. It reads the cities never scraped from the database and queues
``fill_city`` for each under the city's scrape id (``scrape:<city_id>``): a city already
queued or running (an earlier start, a page that asked for it) is left alone, and a
restart queues exactly what is still missing. The scrapes then run at the worker's own
limits (``max_jobs``, the fetcher's per-host gates), as the nightly ``scrape_all`` does.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from arq.worker import Retry

from nocturne import live, queue
from nocturne.autofill import PROGRESS_CHANNEL, cities_to_fill
from nocturne.db import session_scope
from nocturne.settings import settings
from workers.jobs.common import enqueue_from_job
from workers.jobs.ids import default_job_id
from workers.jobs.scrape import scrape_city

log = logging.getLogger(__name__)

FILL_JOB_ID = "fill_cities"


def _cities_to_fill() -> list[str]:
    with session_scope() as session:
        return cities_to_fill(session=session)


async def start_filling(ctx: dict[str, Any] | None = None) -> str | None:
    """Queue ``fill_cities`` (from a worker's ``ctx``, or the app's queue) unless AUTOFILL
    is off; its id, or None when off or already queued."""
    if not settings.autofill:
        return None
    if ctx is not None:
        return await enqueue_from_job(ctx, "fill_cities", _job_id=FILL_JOB_ID)
    return await queue.enqueue("fill_cities", _job_id=FILL_JOB_ID)


async def fill_cities(ctx: dict[str, Any]) -> dict[str, Any]:
    """Queue the first scrape of every city never scraped (or cut short), the biggest first."""
    if not settings.autofill:
        return {"queued": [], "skipped": [], "off": True}
    queued: list[str] = []
    skipped: list[str] = []
    for n, city_id in enumerate(await asyncio.to_thread(_cities_to_fill)):
        job_id = default_job_id("scrape_city", (), {"city_id": city_id})
        # arq orders its queue by enqueue time in ms, ties by id: 1 ms apart keeps ours.
        done = await enqueue_from_job(
            ctx, "fill_city", city_id=city_id, _job_id=job_id, _defer_by=n / 1000
        )
        (queued if done else skipped).append(city_id)
    if queued:
        log.info("first run: %d cities queued, %d already on their way", len(queued), len(skipped))
    return {"queued": queued, "skipped": skipped}


async def fill_city(ctx: dict[str, Any], city_id: str) -> dict[str, Any]:
    """A city's first scrape (``scrape_city``), then a word to the home pages."""
    try:
        summary = await scrape_city(ctx, city_id)
    except Retry:
        await _announce(city_id)  # its runs are recorded: the city counts as gathered
        raise
    await _announce(city_id)
    return summary


async def _announce(city_id: str) -> None:
    await live.publish(PROGRESS_CHANNEL, {"type": "city_filled", "filled": city_id})
