"""The in-process queue: a worker's jobs and cron schedule, run in the app's own loop.

Without ``REDIS_URL`` the app runs the very functions and cron schedule of
``workers.main.WorkerSettings`` as asyncio tasks, with a ctx built by the same
``on_startup``, the same ``max_tries``/``timeout`` and arq's ``Retry``; a second job with
the id of one still queued or running is refused, as arq refuses it.

``nocturne.queue`` never imports this: the app module and ``workers.main`` hand an
:class:`InProcess` to ``nocturne.queue.install``, which then takes from it the job-id rule
(both modes) and the execution (embedded mode).
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

from arq.worker import Function, Retry

from nocturne import queue
from nocturne.settings import settings
from workers.jobs.ids import default_job_id

log = logging.getLogger(__name__)

_DEFAULT_TIMEOUT_S = 300.0
_DEFAULT_MAX_TRIES = 5
_KEEP_RESULTS = 200

JobIdRule = Callable[[str, tuple[Any, ...], dict[str, Any]], str | None]


@dataclass(slots=True)
class JobResult:
    job_id: str
    function: str
    success: bool
    result: Any
    tries: int
    finished: datetime


class _Slots:
    """At most ``limit`` jobs at once, the others waiting in turn; a job hurried while it
    waits (a city page opened for a city that has no events yet) starts at once."""

    def __init__(self, limit: int) -> None:
        self.free = max(1, limit)
        self.waiting: OrderedDict[str, asyncio.Future[bool]] = OrderedDict()

    async def take(self, job_id: str) -> bool:
        """Wait for a slot; True when the job holds one (to :meth:`give` back)."""
        if self.free > 0 and not self.waiting:
            self.free -= 1
            return True
        turn = self.waiting[job_id] = asyncio.get_running_loop().create_future()
        try:
            return await turn
        except asyncio.CancelledError:
            if self.waiting.get(job_id) is turn:
                del self.waiting[job_id]
            if turn.done() and not turn.cancelled() and turn.result():
                self.give()  # handed a slot just as it was cancelled
            raise

    def give(self) -> None:
        while self.waiting:
            _, turn = self.waiting.popitem(last=False)
            if not turn.done():
                turn.set_result(True)
                return
        self.free += 1

    def hurry(self, job_id: str) -> bool:
        turn = self.waiting.pop(job_id, None)
        if turn is None or turn.done():
            return False
        turn.set_result(False)
        return True


class _Embedded:
    """In-process jobs of one event loop: running tasks, the shared ctx, recent results."""

    def __init__(self) -> None:
        self.running: dict[str, asyncio.Task[Any]] = {}
        self.results: OrderedDict[str, JobResult] = OrderedDict()
        self.ctx: dict[str, Any] | None = None
        self.ctx_lock = asyncio.Lock()
        self.scheduler: asyncio.Task[None] | None = None
        # As an arq worker runs at most max_jobs at once, so does the app's own loop.
        self.slots = _Slots(settings.worker_max_jobs)


class InProcess:
    """The jobs of an arq ``WorkerSettings`` class, run by this process's event loops.

    ``worker_settings`` is read when used, not copied, so its ``functions``, ``cron_jobs``,
    ``on_startup`` and ``on_shutdown`` are always the worker's own. State is kept per
    event loop, as arq keeps it per worker.
    """

    def __init__(self, worker_settings: Any, *, job_id: JobIdRule = default_job_id) -> None:
        self.worker_settings = worker_settings
        self._job_id = job_id
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Embedded] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        return f"InProcess({self.worker_settings.__module__}.{self.worker_settings.__name__})"

    def _state(self) -> _Embedded:
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            state = self._loops[loop] = _Embedded()
        return state

    def job_id(self, job: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
        """The id that keeps ``job`` from running twice at once (``scrape:<city_id>``)."""
        return self._job_id(job, args, kwargs)

    def functions(self) -> dict[str, Function]:
        """Every job by name, as the worker registers it."""
        return {f.name: f for f in self.worker_settings.functions}

    async def enqueue(
        self, job: str, *args: Any, _job_id: str | None = None, **kwargs: Any
    ) -> str | None:
        """Start ``job`` in this loop as arq's ``enqueue_job`` would queue it.

        Returns its id, or None while a job with that id is running. ``_defer_by`` is
        honoured; arq's other options mean nothing here and are dropped.
        """
        functions = self.functions()
        if job not in functions:
            raise ValueError(f"unknown job {job!r}; known: {', '.join(sorted(functions))}")
        fn = functions[job]
        defer = float(kwargs.pop("_defer_by", 0) or 0)
        kwargs = {k: v for k, v in kwargs.items() if not k.startswith("_")}
        return self._start(
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
        self,
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
        state = self._state()
        task = state.running.get(job_id)
        if task is not None and not task.done():
            return None
        task = asyncio.get_running_loop().create_task(
            self._run(state, job_id, name, coroutine, args, kwargs, max_tries, timeout, defer),
            name=f"job:{job_id}",
        )
        state.running[job_id] = task
        task.add_done_callback(
            lambda t: state.running.pop(job_id, None) if state.running.get(job_id) is t else None
        )
        return job_id

    async def _context(
        self, state: _Embedded, seed: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        async with state.ctx_lock:
            if state.ctx is None:
                ctx: dict[str, Any] = dict(seed or {})
                await self.worker_settings.on_startup(ctx)
                state.ctx = ctx
        return state.ctx

    async def context(self, **seed: Any) -> dict[str, Any]:
        """This loop's job ctx, built once by the worker's ``on_startup``.

        ``seed`` values are put in first when the ctx is built (``fetcher=...`` to bring
        one's own, as arq's ``Worker(ctx=...)`` does); they are ignored once it exists.
        """
        return await self._context(self._state(), seed)

    async def _run(
        self,
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
        held = await state.slots.take(job_id)
        try:
            return await self._attempts(
                state, job_id, name, coroutine, args, kwargs, max_tries, timeout
            )
        finally:
            if held:
                state.slots.give()

    async def _attempts(
        self,
        state: _Embedded,
        job_id: str,
        name: str,
        coroutine: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        max_tries: int | None,
        timeout: float | None,
    ) -> Any:
        ctx = await self._context(state)
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

    async def hurry(self, job_id: str) -> bool:
        """Start a job of this loop waiting for a slot now; False when none is waiting."""
        return self._state().slots.hurry(job_id)

    async def result(self, job_id: str, *, timeout: float | None = None) -> Any:
        """Wait for a job of this loop and return its result; raises what the job raised."""
        state = self._state()
        task = state.running.get(job_id)
        if task is not None:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        done = state.results.get(job_id)
        if done is None:
            raise KeyError(job_id)
        if not done.success:
            if isinstance(done.result, BaseException):
                raise done.result
            raise RuntimeError(done.result)
        return done.result

    def recent_results(self) -> list[JobResult]:
        """The last job results of this loop, oldest first."""
        return list(self._state().results.values())

    async def job_state(self, job_id: str) -> str:
        """``in_progress`` | ``complete`` | ``not_found`` (arq's names)."""
        state = self._state()
        task = state.running.get(job_id)
        if task is not None and not task.done():
            return "in_progress"
        return "complete" if job_id in state.results else "not_found"

    async def wait_idle(self, timeout: float | None = None) -> None:
        """Wait for every job of this loop to finish (tests, shutdown)."""
        state = self._state()
        while state.running:
            await asyncio.wait_for(
                asyncio.gather(*state.running.values(), return_exceptions=True), timeout
            )

    async def run_scheduler(self, *, now: Callable[[], datetime] | None = None) -> None:
        """Run the worker's ``cron_jobs`` in this loop on their arq schedule, until cancelled."""
        clock = now or (lambda: datetime.now().astimezone())
        jobs = list(self.worker_settings.cron_jobs)
        for cj in jobs:
            cj.next_run = None
            cj.calculate_next(clock())
            if cj.run_at_startup:  # as an arq worker does when it starts
                self._start(
                    f"{cj.name}:startup",
                    cj.name,
                    cj.coroutine,
                    (),
                    {},
                    max_tries=cj.max_tries,
                    timeout=cj.timeout_s,
                )
        while True:
            upcoming = min(jobs, key=lambda cj: cj.next_run)
            wait = (upcoming.next_run - clock()).total_seconds()
            await asyncio.sleep(max(0.0, min(wait, 60.0)))
            current = clock()
            for cj in jobs:
                if cj.next_run is not None and cj.next_run <= current:
                    self._start(
                        f"{cj.name}:{int(cj.next_run.timestamp() * 1000)}",
                        cj.name,
                        cj.coroutine,
                        (),
                        {},
                        max_tries=cj.max_tries,
                        timeout=cj.timeout_s,
                    )
                    cj.calculate_next(cj.next_run)

    def start_scheduler(self) -> asyncio.Task[None] | None:
        """Start this loop's cron (embedded mode only; arq workers run it otherwise)."""
        if settings.redis_url:
            return None
        state = self._state()
        if state.scheduler is None or state.scheduler.done():
            state.scheduler = asyncio.get_running_loop().create_task(
                self.run_scheduler(), name="nocturne-scheduler"
            )
        return state.scheduler

    async def shutdown(self) -> None:
        """Stop this loop's scheduler and jobs and run the worker's ``on_shutdown``.

        ``nocturne.queue.shutdown`` calls this, then closes the Redis connections.
        """
        state = self._loops.pop(asyncio.get_running_loop(), None)
        if state is None:
            return
        tasks = [t for t in (state.scheduler, *state.running.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if state.ctx is not None:
            await self.worker_settings.on_shutdown(state.ctx)

    @contextlib.asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        """For ``app.register_lifespan_task``: the in-process cron while the app runs."""
        self.start_scheduler()
        try:
            yield
        finally:
            await queue.shutdown()
