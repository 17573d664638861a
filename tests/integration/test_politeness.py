"""Politeness is per site, not per worker: the host gate held in Redis (scrapers/gate.py).

First the gate alone against real Redis (two gates standing for two workers, a lapsed
lease, Redis gone), then two real arq workers scraping several cities from the local site
server, each source on a loopback address of its own as in production, judged by the
server's own request log: starts to one host never closer than the delay, never more at
once than the concurrency setting, across both workers.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
import time
from collections import defaultdict

import pytest
import redis.asyncio as aioredis
from sqlmodel import Session, select

from nocturne import queue
from nocturne.cities import CITIES
from nocturne.db import get_engine
from nocturne.models import ScrapeRun
from nocturne.settings import ROOT, Settings, settings
from scrapers.gate import RedisHostGate
from tests.support.services import migrate
from tests.support.site_server import Hit, SiteServer, city_routes

SOURCES = ["eventbrite", "meetup", "luma"]
ADDRESSES = ("127.0.0.2", "127.0.0.3", "127.0.0.4")
# Scheduling noise between a request's stamped start and the server's note of it (the
# machine is shared): a gap may look this much shorter than the delay. Seen: up to 8 ms.
TOLERANCE = 0.05


def min_gap(starts: list[float]) -> float:
    ordered = sorted(starts)
    return min(b - a for a, b in itertools.pairwise(ordered))


def max_overlap(spans: list[tuple[float, float]]) -> int:
    """The most intervals open at one instant (an end before a start at the same time)."""
    edges = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans])
    most = now = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


# --- the gate alone ---------------------------------------------------------------------


async def _through(gate: RedisHostGate, hold: float, log: list[tuple[float, float]]) -> None:
    async with gate.slot():
        start = time.monotonic()
        await asyncio.sleep(hold)
        log.append((start, time.monotonic()))


async def test_two_gates_on_one_host_share_its_delay_and_slots(redis_url: str) -> None:
    a, b = aioredis.Redis.from_url(redis_url), aioredis.Redis.from_url(redis_url)
    try:
        gates = [RedisHostGate(r, "site.test", limit=2, delay=0.1, lease=30) for r in (a, b)]
        log: list[tuple[float, float]] = []
        # Each request outlasts two delays, so the slots, not the delay, set the pace.
        began = time.monotonic()
        await asyncio.gather(*(_through(gates[i % 2], 0.35, log) for i in range(8)))
        took = time.monotonic() - began
        assert await a.zcard("nocturne:gate:site.test:slots") == 0  # every slot given back
    finally:
        await a.aclose()
        await b.aclose()
    assert len(log) == 8
    assert min_gap([s for s, _ in log]) >= 0.1 - 0.01
    assert max_overlap(log) == 2
    assert took >= 4 * 0.35  # 8 requests, 2 at a time


async def test_a_dead_workers_slot_comes_back_when_its_lease_lapses(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        dead = RedisHostGate(client, "site.test", limit=1, delay=0.0, lease=1.0)
        await dead._reserve("never-released")  # a worker killed mid-request
        alive = RedisHostGate(client, "site.test", limit=1, delay=0.0, lease=30)
        began = time.monotonic()
        async with alive.slot():
            waited = time.monotonic() - began
        other = RedisHostGate(client, "other.test", limit=1, delay=0.0, lease=30)
        began = time.monotonic()
        async with other.slot():  # another host never waits on this one
            other_waited = time.monotonic() - began
    finally:
        await client.aclose()
    assert 0.8 <= waited < 2.0
    assert other_waited < 0.5


async def test_without_redis_the_gate_still_spaces_this_process(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gone = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    gate = RedisHostGate(gone, "site.test", limit=1, delay=0.15, lease=30)
    log: list[tuple[float, float]] = []
    caplog.set_level("ERROR", logger="scrapers.gate")  # the warning is expected here
    await asyncio.gather(*(_through(gate, 0.0, log) for _ in range(3)))
    await gone.aclose()
    assert min_gap([s for s, _ in log]) >= 0.15 - 0.01


# --- two workers against the site server ------------------------------------------------

DELAY = 0.4
LIMIT = 2
LATENCY = 1.0  # longer than LIMIT x DELAY: the slot count binds as well as the delay
CITY_COUNT = 6


@pytest.fixture
def pg_app(pg_url: str) -> str:
    migrate(pg_url, "head")
    return pg_url


def _worker(n: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``arq --burst workers.main.WorkerSettings``, its requests signed ``worker-<n>``."""
    agent = f"{Settings().scrape_user_agent} worker-{n}"
    return subprocess.Popen(
        [sys.executable, "-m", "arq", "--burst", "workers.main.WorkerSettings"],
        cwd=ROOT,
        env={**env, "SCRAPE_USER_AGENT": agent},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def test_two_workers_keep_each_hosts_delay_and_concurrency(
    pg_app: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cities = CITIES[:CITY_COUNT]
    routes = [r for c in cities for r in city_routes(c.id)]
    monkeypatch.setattr(settings, "redis_url", redis_url)
    with SiteServer(routes, latency=LATENCY, addresses=ADDRESSES) as srv:
        for city in cities:
            await queue.enqueue(
                "scrape_city", city_id=city.id, sources=SOURCES, _job_id=f"scrape:{city.id}"
            )
        await queue.shutdown()
        env = {
            **os.environ,
            "DATABASE_URL": pg_app,
            "REDIS_URL": redis_url,
            "SHARED_DATABASE_URL": "",
            "SOURCE_BASE_URLS": json.dumps(srv.source_urls(SOURCES)),
            "SCRAPE_DELAY_SECONDS": str(DELAY),
            "SCRAPE_PER_HOST_CONCURRENCY": str(LIMIT),
            "SCRAPE_BACKOFF_SECONDS": "0.05",
            "SCRAPE_MEETUP_KEYWORDS": '["music","art"]',
            "WORKER_MAX_JOBS": str(CITY_COUNT // 2),  # half the cities each
            "AUTOFILL": "false",
        }
        workers = [_worker(n, env) for n in range(2)]
        try:
            outputs = [await asyncio.to_thread(w.communicate, timeout=180) for w in workers]
        finally:
            for w in workers:
                if w.poll() is None:
                    w.kill()
                    w.wait()
        hits = list(srv.hits)
    assert [w.returncode for w in workers] == [0, 0], [err[-2000:] for _, err in outputs]

    engine = get_engine(pg_app)
    with Session(engine) as session:
        runs = list(session.exec(select(ScrapeRun)))
    engine.dispose()
    assert len(runs) == CITY_COUNT * len(SOURCES)
    assert {r.status for r in runs} == {"ok"}, [(r.source, r.error) for r in runs]

    by_host: dict[str, list[Hit]] = defaultdict(list)
    for hit in hits:
        by_host[hit.host].append(hit)
    assert len(by_host) == len(SOURCES)  # one address each
    for host, host_hits in by_host.items():
        agents = {h.headers["user-agent"].rsplit(" ", 1)[-1] for h in host_hits}
        assert agents == {"worker-0", "worker-1"}, host  # both workers on every host
        gap = min_gap([h.at for h in host_hits])
        assert gap >= DELAY - TOLERANCE, (host, gap)
        assert max_overlap([(h.at, h.done) for h in host_hits]) <= LIMIT, host
    # The load reached both bounds: Eventbrite (3 pages a city) ran 2 at once.
    eventbrite = by_host[srv.source_urls(SOURCES)["eventbrite"].removeprefix("http://")]
    assert len(eventbrite) == 3 * CITY_COUNT
    assert max_overlap([(h.at, h.done) for h in eventbrite]) == LIMIT
