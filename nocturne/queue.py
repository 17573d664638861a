"""enqueue(job, ...): arq on Redis when ``REDIS_URL`` is set, in-process otherwise.

The in-process mode (the embedded default) runs the very functions and cron schedule of
``workers.main.WorkerSettings`` as asyncio tasks in the app's own loop, with a ctx built by
the same ``on_startup``, the same ``max_tries``/``timeout`` and arq's ``Retry``; a second
job with the id of one still queued or running is refused, as arq refuses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.worker import Retry

from nocturne.settings import settings

log = logging.getLogger(__name__)

_DEFAULT_TIMEOUT_S = 300.0
_DEFAULT_MAX_TRIES = 5
_KEEP_RESULTS = 200

_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, ArqRedis]] = (
    weakref.WeakKeyDictionary()
)


@dataclass(slots=True)
class JobResult:
    job_id: str
    function: str
    success: bool
    result: Any
    tries: int
    finished: datetime


class _Embedded:
    """In-process jobs of one event loop: running tasks, the shared ctx, recent results."""

    def __init__(self) -> None:
        self.running: dict[str, asyncio.Task[Any]] = {}
        self.results: OrderedDict[str, JobResult] = OrderedDict()
        self.ctx: dict[str, Any] | None = None
        self.ctx_lock = asyncio.Lock()
        self.scheduler: asyncio.Task[None] | None = None
        # As an arq worker runs at most max_jobs at once, so does the app's own loop.
        self.slots = asyncio.Semaphore(settings.worker_max_jobs)


_embedded: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Embedded] = (
    weakref.WeakKeyDictionary()
)


def _state() -> _Embedded:
    loop = asyncio.get_running_loop()
    state = _embedded.get(loop)
    if state is None:
        state = _embedded[loop] = _Embedded()
    return state


def default_job_id(job: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
    """The id that keeps a job from running twice at once (``scrape:<city_id>``)."""
    if job == "scrape_city":
        city_id = kwargs.get("city_id", args[0] if args else None)
        return f"scrape:{city_id}" if city_id else None
    if job in ("scrape_all", "sync_shared", "cleanup_old_events"):
        return job
    return None


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

    ``scrape_city`` defaults to the id ``scrape:<city_id>`` so a city is never scraped by
    two jobs at once; other arq options (``_defer_by``...) pass through to arq.
    """
    _job_id = _job_id or default_job_id(job, args, kwargs)
    if settings.redis_url:
        queued = await (await pool()).enqueue_job(job, *args, _job_id=_job_id, **kwargs)
        return queued.job_id if queued else None
    from workers.main import job_functions

    functions = job_functions()
    if job not in functions:
        raise ValueError(f"unknown job {job!r}; known: {', '.join(sorted(functions))}")
    fn = functions[job]
    defer = float(kwargs.pop("_defer_by", 0) or 0)
    kwargs = {k: v for k, v in kwargs.items() if not k.startswith("_")}
    return _start(
        _job_id or uuid.uuid4().hex,
        job,
        fn.coroutine,
        args,
        kwargs,
        max_tries=fn.max_tries,
        timeout=fn.timeout_s,
        defer=defer,
    )


def _start(
    job_id: str,
    name: str,
    coroutine: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    max_tries: int | None,
    timeout: float | None,
    defer: float = 0,
) -> str | None:
    state = _state()
    task = state.running.get(job_id)
    if task is not None and not task.done():
        return None
    task = asyncio.get_running_loop().create_task(
        _run(state, job_id, name, coroutine, args, kwargs, max_tries, timeout, defer),
        name=f"job:{job_id}",
    )
    state.running[job_id] = task
    task.add_done_callback(
        lambda t: state.running.pop(job_id, None) if state.running.get(job_id) is t else None
    )
    return job_id


async def _context(state: _Embedded, seed: dict[str, Any] | None = None) -> dict[str, Any]:
    async with state.ctx_lock:
        if state.ctx is None:
            from workers.main import on_startup

            ctx: dict[str, Any] = dict(seed or {})
            await on_startup(ctx)
            state.ctx = ctx
    return state.ctx


async def context(**seed: Any) -> dict[str, Any]:
    """This loop's in-process job ctx, built once by ``workers.main.on_startup``.

    ``seed`` values are put in first when the ctx is built (``fetcher=...`` to bring one's
    own, as arq's ``Worker(ctx=...)`` does); they are ignored once it exists.
    """
    return await _context(_state(), seed)


async def _run(
    state: _Embedded,
    job_id: str,
    name: str,
    coroutine: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    max_tries: int | None,
    timeout: float | None,
    defer: float,
) -> Any:
    if defer:
        await asyncio.sleep(defer)
    async with state.slots:
        return await _attempts(state, job_id, name, coroutine, args, kwargs, max_tries, timeout)


async def _attempts(
    state: _Embedded,
    job_id: str,
    name: str,
    coroutine: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    max_tries: int | None,
    timeout: float | None,
) -> Any:
    ctx = await _context(state)
    tries = max_tries or _DEFAULT_MAX_TRIES
    enqueued = time.time()
    success, result, attempt = False, None, 0
    for attempt in range(1, tries + 1):
        job_ctx = {**ctx, "job_id": job_id, "job_try": attempt, "enqueue_time": enqueued}
        try:
            result = await asyncio.wait_for(
                coroutine(job_ctx, *args, **kwargs), timeout or _DEFAULT_TIMEOUT_S
            )
            success = True
            break
        except Retry as retry:
            if attempt >= tries:
                log.warning("job %s (%s) gave up after %d tries", job_id, name, attempt)
                result = retry
                break
            delay = (retry.defer_score or 0) / 1000
            log.info("job %s (%s) retrying in %.2fs (try %d)", job_id, name, delay, attempt)
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("job %s (%s) failed", job_id, name)
            result = exc
            break
    state.results[job_id] = JobResult(
        job_id, name, success, result, attempt, datetime.now().astimezone()
    )
    while len(state.results) > _KEEP_RESULTS:
        state.results.popitem(last=False)
    return result


async def result(job_id: str, *, timeout: float | None = None) -> Any:
    """Wait for a job and return its result (either mode); raises what the job raised."""
    if settings.redis_url:
        from arq.jobs import Job

        return await Job(job_id, await pool()).result(timeout=timeout)
    state = _state()
    task = state.running.get(job_id)
    if task is not None:
        await asyncio.wait_for(asyncio.shield(task), timeout)
    done = state.results.get(job_id)
    if done is None:
        raise KeyError(job_id)
    if not done.success:
        raise done.result if isinstance(done.result, BaseException) else RuntimeError(done.result)
    return done.result


def recent_results() -> list[JobResult]:
    """The last in-process job results of this loop, oldest first."""
    return list(_state().results.values())


async def job_state(job_id: str) -> str:
    """``queued`` | ``in_progress`` | ``complete`` | ``not_found`` (arq's names)."""
    if settings.redis_url:
        from arq.jobs import Job

        return str((await Job(job_id, await pool()).status()).value)
    state = _state()
    task = state.running.get(job_id)
    if task is not None and not task.done():
        return "in_progress"
    return "complete" if job_id in state.results else "not_found"


async def wait_idle(timeout: float | None = None) -> None:
    """Wait for every in-process job of this loop to finish (tests, shutdown)."""
    state = _state()
    while state.running:
        await asyncio.wait_for(
            asyncio.gather(*state.running.values(), return_exceptions=True), timeout
        )


async def run_scheduler(*, now: Callable[[], datetime] | None = None) -> None:
    """Run ``WorkerSettings.cron_jobs`` in-process on their arq schedule, until cancelled."""
    from workers.main import WorkerSettings

    clock = now or (lambda: datetime.now().astimezone())
    jobs = list(WorkerSettings.cron_jobs)
    for cj in jobs:
        cj.next_run = None
        cj.calculate_next(clock())
    while True:
        upcoming = min(jobs, key=lambda cj: cj.next_run)  # type: ignore[arg-type,return-value]
        wait = (upcoming.next_run - clock()).total_seconds()  # type: ignore[operator]
        await asyncio.sleep(max(0.0, min(wait, 60.0)))
        current = clock()
        for cj in jobs:
            if cj.next_run is not None and cj.next_run <= current:
                _start(
                    f"{cj.name}:{int(cj.next_run.timestamp() * 1000)}",
                    cj.name,
                    cj.coroutine,
                    (),
                    {},
                    max_tries=cj.max_tries,
                    timeout=cj.timeout_s,
                )
                cj.calculate_next(cj.next_run)


def start_scheduler() -> asyncio.Task[None] | None:
    """Start the in-process cron (embedded mode only; arq workers run it otherwise)."""
    if settings.redis_url:
        return None
    state = _state()
    if state.scheduler is None or state.scheduler.done():
        state.scheduler = asyncio.get_running_loop().create_task(
            run_scheduler(), name="nocturne-scheduler"
        )
    return state.scheduler


async def shutdown() -> None:
    """Stop this loop's scheduler and jobs, run on_shutdown, close Redis connections."""
    state = _embedded.pop(asyncio.get_running_loop(), None)
    if state is not None:
        tasks = [t for t in (state.scheduler, *state.running.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if state.ctx is not None:
            from workers.main import on_shutdown

            await on_shutdown(state.ctx)
    for arq_pool in _pools.pop(asyncio.get_running_loop(), {}).values():
        await arq_pool.aclose()
    from nocturne import live

    await live.close()


@contextlib.asynccontextmanager
async def embedded_lifespan() -> AsyncIterator[None]:
    """For ``app.register_lifespan_task``: the in-process cron while the app runs."""
    start_scheduler()
    try:
        yield
    finally:
        await shutdown()
