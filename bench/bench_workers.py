"""Workers at scale: a full scrape on 1 and 2 arq workers, live latency, shared sync.

    python bench/bench_workers.py                 # all three
    python bench/bench_workers.py scrape --cities 40 --latency 0.2 --workers 1 2
    python bench/bench_workers.py scrape --cities 40 --workers 2 --delay 0.5   # politeness
    python bench/bench_workers.py live --messages 500
    python bench/bench_workers.py sync --events 1000

Needs the PostgreSQL and Redis the tests use (127.0.0.1) and Debian's Chromium.

scrape: N cities x 3 sources against the local saved-page server (tests/support/
site_server.py) with ``--latency`` seconds added to every response; each source on its own loopback
address (127.0.0.2-4), so each is a host of its own as on the real sites. Real ``arq``
worker processes (``arq workers.main.WorkerSettings``) take the ``scrape_city`` jobs from
one Redis, sharing each host's gate there; wall time runs from enqueueing to the last
ScrapeRun finished. Beside it the politeness bound: the requests the busiest host got
(from the server's log) x ``--delay``, no schedule can be faster, and wall / bound. Peak
memory per worker is the largest RSS sampled (every second) of the worker process alone,
and the largest PSS of it plus its Chromium processes. The load average (``uptime``) is
printed before and after each run: on a shared machine the figures are only as quiet as
it was.

live: a publisher (this process) and a subscriber (another process) on Redis pub/sub; each
message is an ``events`` message of 10 cards stamped with its send time.

sync: 1,000 new events from a local PostgreSQL to a second one (the shared database).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
from sqlalchemy import func  # noqa: E402
from sqlmodel import Session, col, select  # noqa: E402

from nocturne.cities import CITIES, City  # noqa: E402
from nocturne.models import ScrapeRun  # noqa: E402
from tests.support.services import (  # noqa: E402
    create_pg_database,
    drop_pg_database,
    lease_redis_db,
    migrate,
)
from tests.support.site_server import SiteServer, city_routes  # noqa: E402

SOURCES = ["eventbrite", "meetup", "luma"]
ADDRESSES = ("127.0.0.2", "127.0.0.3", "127.0.0.4")


def _uptime() -> str:
    out = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout
    return out.strip()


class Sampler(threading.Thread):
    """Peak RSS of each worker process, alone and with its children (Chromium)."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.procs = [psutil.Process(p) for p in pids]
        self.peak_self = [0] * len(pids)
        self.peak_tree = [0] * len(pids)
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for i, proc in enumerate(self.procs):
                try:
                    own = proc.memory_info().rss
                    # PSS: Chromium's processes share most pages; summing RSS counts them
                    # once per process and wildly overstates the tree.
                    kids = sum(c.memory_full_info().pss for c in proc.children(recursive=True))
                    own_pss = proc.memory_full_info().pss
                except psutil.Error:
                    continue
                self.peak_self[i] = max(self.peak_self[i], own)
                self.peak_tree[i] = max(self.peak_tree[i], own_pss + kids)
            self.stop.wait(1.0)  # reading smaps is not free: sample each second


def _finished_runs(db_url: str) -> tuple[int, int, int]:
    from nocturne.db import get_engine

    with Session(get_engine(db_url)) as s:
        done = s.exec(select(func.count()).where(col(ScrapeRun.finished_at).is_not(None))).one()
        failed = s.exec(select(func.count()).where(ScrapeRun.status == "failed")).one()
        found = s.exec(select(func.coalesce(func.sum(ScrapeRun.found), 0))).one()
    return done, failed, found


def _failures(db_url: str) -> list[tuple[str, int]]:
    from nocturne.db import get_engine

    with Session(get_engine(db_url)) as s:
        rows = s.exec(
            select(ScrapeRun.source, ScrapeRun.error, func.count())
            .where(ScrapeRun.status == "failed")
            .group_by(ScrapeRun.source, ScrapeRun.error)
        ).all()
    return [(f"{source}: {(error or '')[:120]}", n) for source, error, n in rows]


def bench_scrape(
    cities: int, latency: float, worker_counts: list[int], delay: float, max_jobs: int
) -> None:
    chosen = CITIES[:cities]
    routes = [r for c in chosen for r in city_routes(c.id)]
    server = SiteServer(routes, latency=latency, addresses=ADDRESSES).start()
    urls = server.source_urls(SOURCES)
    print(f"\n== scrape: {cities} cities x 3 sources, +{latency * 1000:.0f} ms per response")
    print(
        f"   politeness: {delay} s between starts per host, 2 at once per host, one gate"
        f" for all workers (Redis); {max_jobs} jobs at once per worker"
    )
    print(f"{'workers':>8} {'wall s':>8} {'bound s':>8} {'ratio':>6} {'runs':>6} {'failed':>7}"
          f" {'events':>7} {'peak RSS/worker (py)':>22} {'PSS +chromium':>14}")  # fmt: skip
    try:
        for n in worker_counts:
            name = f"nocturne_bench_{uuid.uuid4().hex[:8]}"
            db_url = create_pg_database(name)
            migrate(db_url, "head")
            try:
                with lease_redis_db() as redis_url:
                    import redis

                    redis.Redis.from_url(redis_url).flushdb()
                    env = {
                        **os.environ,
                        "DATABASE_URL": db_url,
                        "REDIS_URL": redis_url,
                        "SHARED_DATABASE_URL": "",
                        "SOURCE_BASE_URLS": json.dumps(urls),
                        "SCRAPE_DELAY_SECONDS": str(delay),
                        "SCRAPE_BACKOFF_SECONDS": "0.1",
                        "SCRAPE_MEETUP_KEYWORDS": '["music","art"]',
                        "WORKER_MAX_JOBS": str(max_jobs),
                        "AUTOFILL": "false",  # the bench queues its own cities
                    }
                    procs = [
                        subprocess.Popen(
                            [sys.executable, "-m", "arq", "workers.main.WorkerSettings"],
                            cwd=ROOT,
                            env=env,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                        )
                        for _ in range(n)
                    ]
                    sampler = Sampler([p.pid for p in procs])
                    sampler.start()
                    try:
                        time.sleep(2.0)  # workers up (not counted)
                        load_before = _uptime()
                        server.reset_counts()
                        began = time.monotonic()  # the server's clock
                        start = time.perf_counter()
                        asyncio.run(_enqueue_cities(redis_url, chosen))
                        expected = len(chosen) * 3
                        while _finished_runs(db_url)[0] < expected:
                            if time.perf_counter() - start > 1800:
                                raise RuntimeError("scrape did not finish in 30 min")
                            time.sleep(0.25)
                        wall = time.perf_counter() - start
                    finally:
                        sampler.stop.set()
                        sampler.join()
                        for p in procs:
                            p.terminate()
                        for p in procs:
                            p.wait(timeout=30)
                    done, failed, found = _finished_runs(db_url)
                    reasons = _failures(db_url)
                    py = max(sampler.peak_self) / 2**20
                    tree = max(sampler.peak_tree) / 2**20
                    per_host = {
                        name: [h.at - began for h in server.hits if url.endswith(h.host)]
                        for name, url in urls.items()
                    }
                    bound = max(len(at) for at in per_host.values()) * delay
                    ratio = f"{wall / bound:>6.2f}" if bound else f"{'-':>6}"
                    print(f"{n:>8} {wall:>8.1f} {bound:>8.1f} {ratio} {done:>6} {failed:>7}"
                          f" {found:>7} {py:>18.0f} MiB {tree:>10.0f} MiB")  # fmt: skip
                    # A host kept busy while its work waited ends near its own bound.
                    for name, at in per_host.items():
                        print(f"{'':>10}{name}: {len(at)} requests, the last {max(at):.1f} s"
                              f" in (its own bound {len(at) * delay:.1f} s)")  # fmt: skip
                    print(f"{'':>10}load before: {load_before}")
                    print(f"{'':>10}load after:  {_uptime()}")
                    for reason, count in reasons:
                        print(f"{'':>10}failed x{count}: {reason}")
            finally:
                from nocturne.db import get_engine

                get_engine(db_url).dispose()
                drop_pg_database(name)
    finally:
        server.stop()


async def _enqueue_cities(redis_url: str, cities: list[City]) -> None:
    from arq.connections import RedisSettings, create_pool

    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    try:
        for city in cities:
            await pool.enqueue_job(
                "scrape_city", city_id=city.id, sources=SOURCES, _job_id=f"scrape:{city.id}"
            )
    finally:
        await pool.aclose()


SUBSCRIBER = textwrap.dedent(
    """
    import asyncio, json, sys, time
    from nocturne import live

    async def main(n, out):
        lat = []
        async with live.subscribe("bench--city") as sub:
            print("ready", flush=True)
            while len(lat) < n:
                m = await sub.get(timeout=30)
                if m is None:
                    break
                lat.append(time.time() - m["sent_at"])
        json.dump(lat, open(out, "w"))

    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
    """
)


def _cards(n: int) -> list[dict]:
    from nocturne.cards import event_card
    from nocturne.models import Event

    start = datetime.now(UTC) + timedelta(days=2)
    return [
        event_card(
            Event(
                id=i, title=f"Warehouse night {i}", link=f"https://lu.ma/e{i}", source="luma",
                sources=",luma,", city_id="il--chicago", start_at=start, timezone="America/Chicago",
                local_date=start.date().isoformat(), local_time="22:00", venue="Somewhere",
                price_min=10.0, price_max=20.0, currency="USD",
            )
        )
        for i in range(n)
    ]  # fmt: skip


def bench_live(messages: int) -> None:
    from nocturne import live
    from nocturne.settings import settings

    print(f"\n== live: {messages} 'events' messages of 10 cards, publisher -> subscriber")
    cards = _cards(10)
    with lease_redis_db() as redis_url, tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "lat.json"
        env = {**os.environ, "REDIS_URL": redis_url}
        proc = subprocess.Popen(
            [sys.executable, "-c", SUBSCRIBER, str(messages), str(out)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        settings.redis_url = redis_url

        async def publish_all() -> None:
            for _ in range(messages):
                await live.publish(
                    "bench--city",
                    {"type": "events", "source": "luma", "events": cards, "sent_at": time.time()},
                )
                await asyncio.sleep(0.005)  # a realistic trickle, not a flood
            await live.close()

        asyncio.run(publish_all())
        proc.wait(timeout=60)
        lat = sorted(json.loads(out.read_text()))
    _report_latency("redis pub/sub, other process", lat)

    settings.redis_url = None

    async def in_memory() -> list[float]:
        got: list[float] = []
        async with live.subscribe("bench--city") as sub:
            for _ in range(messages):
                await live.publish("bench--city", {"type": "events", "events": cards,
                                                   "sent_at": time.perf_counter()})  # fmt: skip
                m = await sub.get(timeout=1)
                assert m is not None
                got.append(time.perf_counter() - m["sent_at"])
        return got

    _report_latency("in-memory (embedded), same process", sorted(asyncio.run(in_memory())))


def _report_latency(label: str, lat: list[float]) -> None:
    p50 = statistics.median(lat) * 1000
    p95 = lat[int(0.95 * (len(lat) - 1))] * 1000
    print(f"   {label:<38} n={len(lat):<5} p50 {p50:7.3f} ms   p95 {p95:7.3f} ms"
          f"   max {lat[-1] * 1000:7.3f} ms")  # fmt: skip


def bench_sync(events: int, batch: int) -> None:
    from nocturne.crud import upsert_events
    from nocturne.db import get_engine
    from scrapers.event import ScrapedEvent
    from workers.jobs.sync import shared_engine, sync_to_shared

    print(f"\n== sync: {events} new events, local PostgreSQL -> shared PostgreSQL, batch {batch}")
    names = [f"nocturne_bench_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    local_url, shared_url = (create_pg_database(n) for n in names)
    try:
        for url in (local_url, shared_url):
            migrate(url, "head")
        start = datetime.now(UTC) + timedelta(days=3)
        scraped = [
            ScrapedEvent(
                title=f"Loft party {i}", link=f"https://www.eventbrite.com/e/bench-{i}",
                source="eventbrite", start=start + timedelta(minutes=45 * i), venue=f"Loft {i}",
                address=f"{i} Main St, Chicago, IL", price_min=5.0, price_max=30.0,
                currency="USD", description="Bring friends. " * 20, tags=["music", "dance"],
            )
            for i in range(events)
        ]  # fmt: skip
        with Session(get_engine(local_url)) as s:
            upsert_events(session=s, city_id="il--chicago", events=scraped)
            s.commit()
        local, shared = get_engine(local_url), shared_engine(shared_url)
        with shared.connect():
            pass  # connect once, as a worker's engine would already have
        t = time.perf_counter()
        result = sync_to_shared(local=local, shared=shared, batch_size=batch)
        first = time.perf_counter() - t
        t = time.perf_counter()
        again = sync_to_shared(local=local, shared=shared, batch_size=batch)
        idle = time.perf_counter() - t
        per100 = first / events * 100
        print(f"   synced {result['synced']} in {result['batches']} batches: {first:.3f} s"
              f"  = {per100 * 1000:.1f} ms per 100 events (promise < 1 s)")  # fmt: skip
        print(f"   nothing to sync (second run): {idle * 1000:.1f} ms, synced {again['synced']}")
        local.dispose()
        shared.dispose()
    finally:
        for n in names:
            drop_pg_database(n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("which", nargs="*", default=["scrape", "live", "sync"])
    parser.add_argument("--cities", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--delay", type=float, default=0.0, help="SCRAPE_DELAY_SECONDS")
    parser.add_argument("--max-jobs", type=int, default=10, help="WORKER_MAX_JOBS")
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    if "scrape" in args.which:
        bench_scrape(args.cities, args.latency, args.workers, args.delay, args.max_jobs)
    if "live" in args.which:
        bench_live(args.messages)
    if "sync" in args.which:
        bench_sync(args.events, args.batch)


if __name__ == "__main__":
    main()
