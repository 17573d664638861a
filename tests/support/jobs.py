"""Running jobs in tests, the same way in both modes: a real arq worker or in-process.

``PageSource`` stands in for the crawl (``scrapers.crawl.crawl``, through ``ctx["crawl"]``):
it yields pages of normalized events from memory so a test controls what each source
"lists" (and when it fails). Everything after the crawl is real: the jobs, the queue,
Redis, arq, the database, the live channel.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from nocturne.settings import settings
from scrapers.crawl import Page
from scrapers.event import ScrapedEvent

SOURCE_HOSTS = {
    "eventbrite": "https://www.eventbrite.com/e/",
    "meetup": "https://www.meetup.com/g/events/",
    "luma": "https://lu.ma/",
}


def future_events(
    source: str, n: int, *, key: str = "x", start: datetime | None = None
) -> list[ScrapedEvent]:
    """``n`` distinct upcoming events of ``source`` (titles and times never collide)."""
    base = start or datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    offset = {"eventbrite": 0, "meetup": 7, "luma": 13}[source]
    return [
        ScrapedEvent(
            title=f"{source} {key} night {i}",
            link=f"{SOURCE_HOSTS[source]}{key}-{i}",
            source=source,  # type: ignore[arg-type]
            start=base + timedelta(hours=offset + 24 * i),
            venue=f"Venue {source} {i}",
            price_min=10.0,
            price_max=25.0,
            currency="USD",
        )
        for i in range(n)
    ]


class PageSource:
    """What each (city, source) lists: a list of pages, or an exception to raise."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.pages: dict[tuple[str, str], list[list[ScrapedEvent]]] = {}
        self.errors: dict[tuple[str, str], list[BaseException]] = defaultdict(list)
        self.calls: dict[tuple[str, str], int] = defaultdict(int)
        self.active: dict[str, int] = defaultdict(int)
        self.max_active: dict[str, int] = defaultdict(int)
        self._city_sources: dict[str, int] = defaultdict(int)

    def set(self, city_id: str, source: str, *pages: list[ScrapedEvent]) -> None:
        self.pages[(city_id, source)] = list(pages)

    def fail(self, city_id: str, source: str, *errors: BaseException) -> None:
        """Raise these, one per call, before listing normally again."""
        self.errors[(city_id, source)].extend(errors)

    async def crawl(
        self, *, fetcher: Any, site: Any, city: Any, requests: Any = None, max_pages: int
    ) -> AsyncIterator[Page]:
        source = site.name
        key = (city.id, source)
        self.calls[key] += 1
        self._city_sources[city.id] += 1
        # Several sources of one job run at once; a second *job* on the city would show
        # up as more concurrent sources than the city has.
        self.active[city.id] += 1
        self.max_active[city.id] = max(self.max_active[city.id], self.active[city.id])
        try:
            if self.errors.get(key):
                await asyncio.sleep(self.delay)
                raise self.errors[key].pop(0)
            for n, events in enumerate(self.pages.get(key, [])[:max_pages], start=1):
                await asyncio.sleep(self.delay)
                yield Page(source=source, url=f"memory://{source}/{n}", events=events, number=n)
        finally:
            self.active[city.id] -= 1


class Harness:
    """Enqueue and drain jobs; ``mode`` is "inprocess" or "arq"."""

    def __init__(
        self, mode: str, source: PageSource | None, redis_url: str | None, *, fetcher: Any = None
    ) -> None:
        """``source=None`` runs the real crawl (``scrapers.crawl``) with ``fetcher``."""
        self.mode = mode
        self.source = source
        self.redis_url = redis_url
        self.workers_run = 0
        self.ctx: dict[str, Any] = {"fetcher": fetcher}
        if source is not None:
            self.ctx["crawl"] = source.crawl

    async def __aenter__(self) -> Harness:
        from nocturne import queue
        from workers.main import in_process

        queue.install(in_process)  # as the app module does
        if self.mode == "inprocess":
            await in_process.context(**self.ctx)
        return self

    async def __aexit__(self, *exc: object) -> None:
        from nocturne import queue

        await queue.shutdown()

    async def enqueue(self, job: str, *args: Any, **kwargs: Any) -> str | None:
        from nocturne import queue

        return await queue.enqueue(job, *args, **kwargs)

    def worker(self, *, burst: bool = True, **kwargs: Any) -> Any:
        from arq.connections import RedisSettings
        from arq.worker import Worker

        from workers.main import WorkerSettings, on_shutdown, on_startup

        assert self.redis_url
        params: dict[str, Any] = {
            "functions": WorkerSettings.functions,
            "redis_settings": RedisSettings.from_dsn(self.redis_url),
            "burst": burst,
            "poll_delay": 0.05,
            "handle_signals": False,
            "on_startup": on_startup,
            "on_shutdown": on_shutdown,
            "ctx": dict(self.ctx),
            "max_jobs": settings.worker_max_jobs,
        }
        params.update(kwargs)
        return Worker(**params)

    async def drain(self, workers: int = 1) -> None:
        """Run every queued job to the end (and the jobs those jobs queue)."""
        from workers.main import in_process

        if self.mode == "inprocess":
            await in_process.wait_idle(timeout=60)
            return
        batch = [self.worker() for _ in range(workers)]
        try:
            await asyncio.wait_for(asyncio.gather(*(w.main() for w in batch)), 60)
        finally:
            for w in batch:
                await w.close()
        self.workers_run += workers

    async def result(self, job_id: str) -> Any:
        from nocturne import queue

        return await queue.result(job_id, timeout=10)


# --- fixtures (import them into a test module) -------------------------------------------

import pytest  # noqa: E402


@pytest.fixture
def app_db(db_url: str, engine: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Point the app (settings.database_url) at a migrated database on each backend."""
    monkeypatch.setattr(settings, "database_url", db_url)
    return db_url


@pytest.fixture(params=["inprocess", "arq"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str | None]:
    """Run the test with jobs in-process (no Redis) and on a real arq worker."""
    if request.param == "arq":
        url = request.getfixturevalue("redis_url")
        monkeypatch.setattr(settings, "redis_url", url)
        return "arq", url
    monkeypatch.setattr(settings, "redis_url", None)
    return "inprocess", None


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "job_retry_seconds", 0.05)
