"""Fetching throughput: a whole city scraped through real Chromium and httpx from the
local site server (tests/support/site_server.py), with a simulated network latency.

    python bench/bench_scrape.py [--latency 0.1] [--rounds 3]

Prints the browser's launch time, the time per page by path (Chromium tab vs httpx), and
a whole Chicago scrape (3 sources, 11 pages) with no politeness delay and with the
default delay, so the cost of politeness is visible. Never fails on timings.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nocturne.cities import require_city  # noqa: E402
from nocturne.settings import Settings  # noqa: E402
from scrapers.crawl import crawl  # noqa: E402
from scrapers.fetch import Fetcher  # noqa: E402
from scrapers.sites import CITY_SOURCES, SITES  # noqa: E402
from tests.support.site_server import SiteServer  # noqa: E402

CITY = require_city("il--chicago")


async def _scrape_city(fetcher: Fetcher) -> tuple[int, int]:
    async def one(source: str) -> tuple[int, int]:
        pages = events = 0
        async for page in crawl(fetcher=fetcher, site=SITES[source], city=CITY):
            pages += 1
            events += len(page.events)
        return pages, events

    results = await asyncio.gather(*(one(s) for s in CITY_SOURCES))
    return sum(p for p, _ in results), sum(e for _, e in results)


async def main(latency: float, rounds: int) -> None:
    with SiteServer.chicago(latency=latency) as srv:
        settings = Settings(**srv.settings_overrides())
        page_url = f"{srv.base_url}/d/il--chicago/all-events/?page=2"
        api_url = f"{srv.base_url}/discover/get-paginated-events?latitude=1&longitude=2"
        async with Fetcher(settings) as fetcher:
            started = time.perf_counter()
            await fetcher.browser()
            launch = time.perf_counter() - started
            browser_times, http_times = [], []
            async with fetcher.city_context(CITY.id) as ctx:
                for _ in range(10):
                    t = time.perf_counter()
                    await ctx.fetch_page(page_url, source="eventbrite")
                    browser_times.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    await fetcher.fetch_http(api_url, source="luma")
                    http_times.append(time.perf_counter() - t)
            print(f"simulated latency per request: {latency * 1000:.0f} ms")
            print(f"chromium launch:               {launch * 1000:7.0f} ms")
            print(
                f"page via chromium (warm tab):  {statistics.median(browser_times[1:]) * 1000:7.0f}"
                f" ms median  (first in a new context {browser_times[0] * 1000:.0f} ms)"
            )
            print(f"JSON via httpx:                {statistics.median(http_times) * 1000:7.0f} ms")
            walls = []
            for _ in range(rounds):
                t = time.perf_counter()
                pages, events = await _scrape_city(fetcher)
                walls.append(time.perf_counter() - t)
            wall = statistics.median(walls)
            print(
                f"Chicago, 3 sources, no delay:  {wall:7.2f} s  ({pages} pages, {events} events,"
                f" {pages / wall:.1f} pages/s)"
            )
        polite = Settings(**srv.settings_overrides(scrape_delay_seconds=1.0))
        async with Fetcher(polite) as fetcher:
            await fetcher.browser()
            t = time.perf_counter()
            pages, _ = await _scrape_city(fetcher)
            wall = time.perf_counter() - t
        # The three sources share one host here, so the delay serializes all of them;
        # live, each source is its own host with its own gate.
        print(f"Chicago with the default 1 s delay per host: {wall:.2f} s ({pages} pages)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(main(args.latency, args.rounds))
