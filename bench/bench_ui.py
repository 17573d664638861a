"""UI figures: first card, JS shipped, publish-to-card latency, 200 tabs receiving a refresh.

Runs the real app (Reflex prod build under AppHarnessProd) on loopback with its own SQLite
database and live messages over the real Redis (as in production), and drives Debian's
Chromium. Usage: .venv/bin/python bench/bench_ui.py [--sessions 200] [--samples 40]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CITY = "ca--los-angeles"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def js_shipped() -> tuple[int, int, int]:
    """(files, raw bytes, gzipped bytes) of the built client's JavaScript."""
    files = list((ROOT / ".web/build/client").rglob("*.js"))
    raw = sum(f.stat().st_size for f in files)
    gz = sum(len(gzip.compress(f.read_bytes(), 9)) for f in files)
    return len(files), raw, gz


def card(event_id: int, title: str) -> dict:
    return {
        "id": event_id, "title": title, "link": f"https://example.test/bench/{event_id}",
        "links": [], "sources": ["eventbrite"], "start_at": "2030-01-04T04:00:00Z",
        "local_date": "2030-01-03", "local_time": "20:00", "day_label": "Thu 3 Jan",
        "venue": "Bench Hall", "address": "", "price_label": "Free", "is_free": True,
        "image_url": "", "status": "scheduled", "is_online": False,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--loads", type=int, default=10)
    args = parser.parse_args()

    for key, value in {
        "PATH": f"{ROOT / '.tools/node_modules/.bin'}:{os.environ.get('PATH', '')}",
        "REFLEX_DIR": str(ROOT / ".reflex-home"),
        "BUN_INSTALL": str(ROOT / ".bun-home"),
        "BUN_INSTALL_CACHE_DIR": str(ROOT / ".bun-cache"),
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_CHECK_LATEST_VERSION": "false",
    }.items():
        os.environ[key] = value
    os.environ.pop("REFLEX_REDIS_URL", None)

    import redis
    from playwright.sync_api import sync_playwright
    from reflex.testing import AppHarnessProd

    from nocturne.live import channel
    from nocturne.settings import settings
    from tests.e2e.seed import seed
    from tests.support.browser import CHROMIUM, LAUNCH_ARGS
    from tests.support.services import lease_redis_db, migrate

    tmp = Path(tempfile.mkdtemp(prefix="nocturne-bench-ui-"))
    db = f"sqlite:///{tmp / 'bench.db'}"
    migrate(db, "head")
    seed(db, CITY, 120)
    with lease_redis_db() as redis_url:
        settings.database_url, settings.redis_url = db, redis_url
        os.environ["DATABASE_URL"], os.environ["REDIS_URL"] = db, redis_url
        pub = redis.Redis.from_url(redis_url)
        with AppHarnessProd.create(root=ROOT, app_name="nocturne") as harness:
            base = str(harness.frontend_url).rstrip("/")
            files, raw, gz = js_shipped()
            print(f"JS shipped: {files} files, {raw / 1024:.0f} KB raw, {gz / 1024:.0f} KB gzipped"
                  f" (target < 500 KB gzipped)")  # fmt: skip
            with sync_playwright() as p:
                # Background tabs must keep receiving updates at full speed.
                args = [*LAUNCH_ARGS, "--disable-renderer-backgrounding",
                        "--disable-background-timer-throttling"]  # fmt: skip
                browser = p.chromium.launch(executable_path=CHROMIUM, args=args)

                # 1. Time to first event card, cold browser context each time.
                firsts = []
                for _ in range(args.loads):
                    ctx = browser.new_context()
                    page = ctx.new_page()
                    page.goto(base + f"/city/{CITY}", wait_until="commit")
                    page.wait_for_selector("[data-event-id]")
                    firsts.append(page.evaluate("performance.now()"))
                    ctx.close()
                print(f"First event card (cold, {args.loads} loads): median "
                      f"{statistics.median(firsts):.0f} ms, max {max(firsts):.0f} ms")  # fmt: skip

                # 2. Publish -> card visible, one watching tab.
                page = browser.new_page()
                page.goto(base + f"/city/{CITY}")
                page.wait_for_selector("[data-event-id]")
                page.evaluate(
                    """() => { window.__seen = {};
                    new MutationObserver(() => {
                      for (const el of document.querySelectorAll('.nc-card--fresh')) {
                        const id = el.dataset.eventId;
                        if (!(id in window.__seen)) window.__seen[id] = Date.now();
                      }
                    }).observe(document.body, {childList: true, subtree: true}); }"""
                )
                time.sleep(1.0)  # the listener subscribes just after the page loads
                sent: dict[str, float] = {}
                for i in range(args.samples):
                    eid = 9_000_000 + i
                    message = {
                        "type": "events",
                        "source": "eventbrite",
                        "events": [card(eid, f"Bench {i}")],
                    }
                    sent[str(eid)] = time.time() * 1000
                    pub.publish(channel(CITY), json.dumps({**message, "city_id": CITY}))
                    time.sleep(0.15)
                page.wait_for_function(
                    f"Object.keys(window.__seen).length >= {args.samples}", timeout=30_000
                )
                seen = page.evaluate("window.__seen")
                lat = [seen[k] - sent[k] for k in sent]
                print(f"Publish -> card visible ({args.samples} events): "
                      f"p50 {pct(lat, 50):.0f} ms, p95 {pct(lat, 95):.0f} ms, "
                      f"max {max(lat):.0f} ms (target p95 < 300 ms)")  # fmt: skip
                page.close()

                # 3. Many open sessions on one city all receiving a refresh.
                contexts = [browser.new_context() for _ in range(4)]
                pages = []
                t0 = time.perf_counter()
                for i in range(args.sessions):
                    pg = contexts[i % len(contexts)].new_page()
                    pg.goto(base + f"/city/{CITY}", wait_until="commit")
                    pages.append(pg)
                for pg in pages:
                    pg.wait_for_selector("[data-event-id]", timeout=120_000)
                opened = time.perf_counter() - t0
                time.sleep(2.0)
                batch = [card(9_500_000 + i, f"Refresh {i}") for i in range(5)]
                t1 = time.perf_counter()
                for message in (
                    {"type": "scrape_started", "sources": ["eventbrite"], "job_id": "bench"},
                    {"type": "source_started", "source": "eventbrite"},
                    {"type": "events", "source": "eventbrite", "events": batch},
                    {"type": "source_finished", "source": "eventbrite", "found": 5, "new": 5},
                    {"type": "scrape_finished", "new": 5, "updated": 0, "failed_sources": []},
                ):  # fmt: skip
                    pub.publish(channel(CITY), json.dumps({**message, "city_id": CITY}))
                done = []
                for pg in pages:
                    pg.wait_for_function(
                        "document.querySelector('#found')?.textContent === 'Found 5 new events' && "
                        "document.querySelectorAll('.nc-card--fresh').length === 5",
                        timeout=120_000,
                    )
                    done.append(time.perf_counter() - t1)
                print(f"{args.sessions} open tabs on one city (opened in {opened:.1f} s): all had "
                      f"the 5 new cards and 'Found 5 new events' {max(done) * 1000:.0f} ms after "
                      f"the refresh was published")  # fmt: skip
                for ctx in contexts:
                    ctx.close()
                browser.close()
        pub.close()


if __name__ == "__main__":
    main()
