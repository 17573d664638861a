"""GET /events/{city_id} on PostgreSQL with 1,000,000 events: API latency vs the bare query.

Fills a PostgreSQL database (reused when it already holds the events), serves the API
app alone in separate processes (uvicorn or granian, which Reflex serves with; the
Reflex pages are not needed to answer JSON), then measures:

- the bare SQL of a page (the exact statement and parameters the API runs, captured from
  SQLAlchemy, replayed with psycopg and fetched): p50/p99;
- with the page cache off (every request queries) and on (API_CACHE_SECONDS=30; the
  city's version is still read per request):
  - the API one request at a time over HTTP (same pages): p50/p99, and the ratio to SQL;
  - the API under wrk at a fixed 200 requests/second (rotating cities): p50/p99, req/s;
  - the API under wrk flat out: req/s.

Usage: .venv/bin/python bench/bench_api.py [--events 1000000] [--fresh] [--seconds 20]
       [--server uvicorn|granian] [--workers 1]
Needs PostgreSQL on 127.0.0.1:5432 and `wrk` (apt-get install -y wrk).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import event
from sqlmodel import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nocturne import crud  # noqa: E402
from nocturne.cities import CITIES  # noqa: E402
from nocturne.db import get_engine  # noqa: E402
from tests.support.api_server import free_port  # noqa: E402
from tests.support.services import PG_ADMIN_URL, migrate  # noqa: E402

DB_NAME = "nocturne_bench_api"
PAGE = 100
TARGET_P99_MS = 20.0
TARGET_RATIO = 3.0


def pg_url() -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}"


def raw_url() -> str:
    return f"postgresql://postgres@127.0.0.1:5432/{DB_NAME}"


def ensure_data(n_events: int, *, fresh: bool) -> None:
    """Create and fill the bench database unless it already holds ``n_events`` events."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        exists = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)
        ).fetchone()
        if exists and fresh:
            admin.execute(f"DROP DATABASE {DB_NAME} WITH (FORCE)")
            exists = None
        if not exists:
            admin.execute(f"CREATE DATABASE {DB_NAME}")
    migrate(pg_url(), "head")
    with psycopg.connect(raw_url(), autocommit=True) as conn:
        have = conn.execute("SELECT count(*) FROM event").fetchone()[0]  # type: ignore[index]
        if have == n_events:
            print(f"reusing {have:,} events in {DB_NAME}")
            return
        conn.execute("TRUNCATE event, event_link RESTART IDENTITY CASCADE")
        cities = ", ".join(f"({i}, '{c.id}', '{c.timezone}')" for i, c in enumerate(CITIES))
        started = time.perf_counter()
        # Events from 30 days ago to 120 days ahead, spread over every city, some free,
        # some cancelled, some online: the mix a real catalogue holds.
        conn.execute(
            f"""
            WITH city(idx, id, tz) AS (VALUES {cities}),
            gen AS (
                SELECT g, now() - interval '30 days'
                    + (g::float8 / %(n)s) * interval '150 days' AS start_at
                FROM generate_series(1, %(n)s) AS g
            )
            INSERT INTO event (title, link, links, source, sources, city_id, start_at, end_at,
                timezone, local_date, local_time, venue, address, price_min, price_max,
                currency, is_free, description, tags, status, is_online, missed_scrapes,
                first_seen, last_scraped, created_at, updated_at)
            SELECT 'Event ' || g, 'https://bench.example/e/' || g,
                json_build_array('https://bench.example/e/' || g),
                (ARRAY['eventbrite','meetup','luma'])[1 + g %% 3],
                ',' || (ARRAY['eventbrite','meetup','luma'])[1 + g %% 3] || ',',
                city.id, gen.start_at, gen.start_at + interval '4 hours', city.tz,
                to_char(gen.start_at AT TIME ZONE city.tz, 'YYYY-MM-DD'),
                to_char(gen.start_at AT TIME ZONE city.tz, 'HH24:MI'),
                'Venue ' || (g %% 500), (g %% 900) || ' Main St', 10, 25, 'USD',
                g %% 5 = 0, 'A night of underground music number ' || g, '[]'::json,
                CASE WHEN g %% 50 = 0 THEN 'cancelled' ELSE 'scheduled' END,
                g %% 40 = 0, 0, now(), now(), now(), now()
            FROM gen JOIN city ON city.idx = gen.g %% {len(CITIES)}
            """,
            {"n": n_events},
        )
        conn.execute("VACUUM ANALYZE event")
        print(f"generated {n_events:,} events in {time.perf_counter() - started:.1f} s")


def captured_queries(cities: list[str]) -> list[tuple[str, dict]]:
    """The statement and parameters the API runs for each city's first page."""
    engine = get_engine(pg_url())
    seen: list[tuple[str, dict]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append((statement, dict(parameters)))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with Session(engine) as session:
            for city_id in cities:
                crud.events_for_city(session=session, city_id=city_id, limit=PAGE)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return seen


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def bare_sql(queries: list[tuple[str, dict]], rounds: int) -> list[float]:
    times = []
    with psycopg.connect(raw_url()) as conn:
        for _ in range(2):  # warm the cache and the plan
            for statement, params in queries:
                conn.execute(statement, params).fetchall()
        for _ in range(rounds):
            for statement, params in queries:
                t = time.perf_counter()
                rows = conn.execute(statement, params).fetchall()
                times.append((time.perf_counter() - t) * 1000)
                assert len(rows) == PAGE
    return times


def sequential_api(base: str, cities: list[str], rounds: int) -> list[float]:
    times = []
    with httpx.Client(base_url=base) as client:
        for city_id in cities * 2:
            client.get(f"/events/{city_id}", params={"limit": PAGE}).raise_for_status()
        for _ in range(rounds):
            for city_id in cities:
                t = time.perf_counter()
                r = client.get(f"/events/{city_id}", params={"limit": PAGE})
                times.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200 and len(r.json()) == PAGE
    return times


def wrk_script(cities: list[str], *, rate: float | None) -> str:
    """wrk's Lua: rotate over the cities; with ``rate``, send on a fixed schedule.

    wrk alone is closed-loop (each connection waits for its answer, then its delay), which
    undershoots a target rate by the latency. Here every request takes the next slot of
    one schedule (LuaJIT's FFI reads the monotonic clock), so the offered load is ``rate``
    whatever the latency, as long as a connection is free.
    """
    paths = ", ".join(f'"/events/{c}?limit={PAGE}"' for c in cities)
    pacing = (
        f"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct {{ long tv_sec; long tv_nsec; }} timespec;
int clock_gettime(int clk_id, timespec *tp);
]]
local ts = ffi.new("timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end
local interval = {1000 / rate}
local slot = nil
delay = function()
  local t = now_ms()
  slot = (slot or t) + interval
  if slot < t then return 0 end
  return slot - t
end
"""
        if rate
        else ""
    )
    return f"""
local paths = {{ {paths} }}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
{pacing}
done = function(summary, latency, requests)
  io.write(string.format("RESULT p50=%.3f p90=%.3f p99=%.3f max=%.3f requests=%d errors=%d\\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout))
end
"""


def run_wrk(base: str, cities: list[str], *, seconds: int, connections: int, rate: float | None):  # type: ignore[no-untyped-def]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(wrk_script(cities, rate=rate))
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", f.name, base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(f.name)
    m = re.search(
        r"RESULT p50=([\d.]+) p90=([\d.]+) p99=([\d.]+) max=([\d.]+) requests=(\d+) errors=(\d+)",
        out,
    )
    assert m, out
    p50, p90, p99, mx = (float(x) for x in m.groups()[:4])
    requests, errors = int(m.group(5)), int(m.group(6))
    return {
        "p50": p50,
        "p90": p90,
        "p99": p99,
        "max": mx,
        "rps": requests / seconds,
        "errors": errors,
    }


@contextmanager
def api_server(*, server: str, workers: int, cache_seconds: float) -> Iterator[str]:
    """The API app alone, served by ``server`` with ``workers`` processes; yields its URL."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": pg_url(),
        "REDIS_URL": "",
        "RATE_LIMIT_ENABLED": "false",
        "API_CACHE_SECONDS": str(cache_seconds),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    if server == "granian":
        cmd = [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "asgi",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
            "nocturne.api:create_api",
        ]
    else:
        cmd = [sys.executable, "-m", "uvicorn", "--factory", "nocturne.api:create_api",
               "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
               "--no-access-log", "--log-level", "warning"]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/api/openapi.json", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the API server did not start") from None
                time.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(15)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--fresh", action="store_true", help="regenerate the events")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--server", choices=["granian", "uvicorn"], default="granian")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk not found: apt-get install -y wrk")
        return 1

    ensure_data(args.events, fresh=args.fresh)
    cities = [c.id for c in CITIES]
    queries = captured_queries(cities)
    sql = bare_sql(queries, args.rounds)
    results = {}
    for label, cache_seconds in (("cache off", 0.0), ("cache on", 30.0)):
        serving = api_server(server=args.server, workers=args.workers, cache_seconds=cache_seconds)
        with serving as base:
            one = sequential_api(base, cities, args.rounds)
            paced = run_wrk(base, cities, seconds=args.seconds, connections=32, rate=200)
            flat = run_wrk(
                base, cities, seconds=max(5, args.seconds // 2), connections=16, rate=None
            )
        results[label] = (one, paced, flat)

    sql50, sql99 = statistics.median(sql), percentile(sql, 99)
    load = os.getloadavg()[0]
    print(
        f"\nGET /events/{{city_id}}?limit={PAGE} over {args.events:,} events, 49 cities, "
        f"PostgreSQL, {args.server} {args.workers} worker(s) (API app only), "
        f"{os.cpu_count()} cores, load average {load:.1f}"
    )

    def row(label: str, p50: float, p99: float, rps: float | None, ratio: str = "") -> None:
        rate = "" if rps is None else f"{rps:.0f}"
        print(f"{label:42}{p50:9.2f}{p99:9.2f}{rate:>9}{ratio:>10}")

    print(f"{'':42}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>9}{'/ SQL p50':>10}")
    row("bare SQL (psycopg, fetch 100)", sql50, sql99, None, "1.0x")
    errors = 0
    for label, (one, paced, flat) in results.items():
        p50 = statistics.median(one)
        row(f"API {label}, one at a time", p50, percentile(one, 99), 1000 / p50,
            f"{p50 / sql50:.1f}x")  # fmt: skip
        row(f"API {label}, wrk at 200 req/s", paced["p50"], paced["p99"], paced["rps"])
        row(f"API {label}, wrk flat out (16 conn)", flat["p50"], flat["p99"], flat["rps"])
        errors += paced["errors"] + flat["errors"]
    on_one, on_paced, _ = results["cache on"]
    print(
        f"targets: p99 at 200 req/s < {TARGET_P99_MS} ms (cache on {on_paced['p99']:.1f}, "
        f"off {results['cache off'][1]['p99']:.1f}); API within {TARGET_RATIO}x of the query "
        f"(cache on {statistics.median(on_one) / sql50:.1f}x, "
        f"off {statistics.median(results['cache off'][0]) / sql50:.1f}x); errors: {errors}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
