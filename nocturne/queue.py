"""enqueue(job, ...): arq on Redis when ``REDIS_URL`` is set, in-process otherwise.

The core never imports ``workers/``: what it needs of the jobs, the rule that names a job
(``scrape:<city_id>``) and, without Redis, something to run it, comes from a backend
installed at start-up (:func:`install`). The app module and ``workers.main`` install
``workers.main.in_process`` (a :class:`workers.inprocess.InProcess`), which runs the worker's
very functions and cron schedule in the app's own loop.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from typing import Any, Protocol

from arq.connections import ArqRedis, RedisSettings, create_pool

from nocturne.settings import settings

_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, ArqRedis]] = (
    weakref.WeakKeyDictionary()
)


class Backend(Protocol):
    """The jobs' side of the queue, as :func:`install` takes it."""

    def job_id(self, job: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
        """The id that keeps ``job`` from running twice at once, or None for a fresh one."""
        ...

    async def enqueue(
        self, job: str, *args: Any, _job_id: str | None = None, **kwargs: Any
    ) -> str | None:
        """Run ``job`` in this process; its id, or None while one with that id runs."""
        ...

    async def result(self, job_id: str, *, timeout: float | None = None) -> Any: ...

    async def hurry(self, job_id: str) -> bool:
        """Start a job of this process waiting for its turn at once."""
        ...

    async def job_state(self, job_id: str) -> str: ...

    async def shutdown(self) -> None:
        """Stop this event loop's jobs and close what they opened."""
        ...


_backend: Backend | None = None


def install(backend: Backend | None) -> None:
    """Make ``backend`` the one every enqueue uses (None removes it)."""
    global _backend
    _backend = backend


def installed() -> Backend | None:
    """The backend every enqueue uses, if one is installed."""
    return _backend


def _require_backend() -> Backend:
    if _backend is None:
        raise RuntimeError(
            "nocturne.queue has no job backend: call "
            "nocturne.queue.install(workers.main.in_process) at start-up, as the app module "
            "(nocturne.nocturne) and workers.main do. It names jobs (scrape:<city_id>) and, "
            "without REDIS_URL, runs them."
        )
    return _backend


async def pool(url: str | None = None) -> ArqRedis:
    """This loop's arq connection to ``url`` (default: settings.redis_url)."""
    url = url or settings.redis_url
    if not url:
        raise RuntimeError("REDIS_URL is not set")
    per_loop = _pools.setdefault(asyncio.get_running_loop(), {})
    if url not in per_loop:
        per_loop[url] = await create_pool(RedisSettings.from_dsn(url))
    return per_loop[url]


async def enqueue(job: str, *args: Any, _job_id: str | None = None, **kwargs: Any) -> str | None:
    """Queue ``job`` and return its id, or None when one with that id is queued or running.

    Without ``_job_id`` the installed backend names the job (``scrape:<city_id>``, so a
    city is never scraped by two jobs at once); other arq options (``_defer_by``...) pass
    through to arq. Raises RuntimeError when the job needs a backend and none is installed.
    """
    if _job_id is None:
        _job_id = _require_backend().job_id(job, args, kwargs)
    if settings.redis_url:
        queued = await (await pool()).enqueue_job(job, *args, _job_id=_job_id, **kwargs)
        return queued.job_id if queued else None
    return await _require_backend().enqueue(job, *args, _job_id=_job_id, **kwargs)


async def hurry(job_id: str) -> bool:
    """Put a waiting job ahead of every other; False when it is not waiting (running,
    done, unknown). In-process it starts at once, beyond the loop's job limit."""
    if settings.redis_url:
        from arq.constants import default_queue_name

        redis = await pool()
        first = await redis.zrange(default_queue_name, 0, 0, withscores=True)
        # Scores are enqueue (or defer) times in ms; arq skips a job whose score is 0.
        score = max(1, min(int(first[0][1]) - 1, int(time.time() * 1000))) if first else 1
        return bool(await redis.zadd(default_queue_name, {job_id: score}, xx=True, ch=True))
    return await _require_backend().hurry(job_id)


async def result(job_id: str, *, timeout: float | None = None) -> Any:
    """Wait for a job and return its result (either mode); raises what the job raised."""
    if settings.redis_url:
        from arq.jobs import Job

        return await Job(job_id, await pool()).result(timeout=timeout)
    return await _require_backend().result(job_id, timeout=timeout)


async def job_state(job_id: str) -> str:
    """``queued`` | ``in_progress`` | ``complete`` | ``not_found`` (arq's names)."""
    if settings.redis_url:
        from arq.jobs import Job

        return str((await Job(job_id, await pool()).status()).value)
    return await _require_backend().job_state(job_id)


async def shutdown() -> None:
    """Stop this loop's in-process jobs, close its Redis connections and live channel."""
    if _backend is not None:
        await _backend.shutdown()
    for arq_pool in _pools.pop(asyncio.get_running_loop(), {}).values():
        await arq_pool.aclose()
    from nocturne import live

    await live.close()
