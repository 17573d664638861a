"""UI figures: JS shipped, time to the first event card (and where it goes), publish-to-card.

Runs the real app (Reflex prod build under AppHarnessProd, see ui_app.py) on loopback with
its own SQLite database and live messages over the real Redis (as in production), and
drives Debian's Chromium. 200 sessions receiving a refresh: bench_live_sessions.py (light
websocket clients); ``--tabs N`` here opens N real Chromium tabs instead (slow on 2 cores).
Usage: .venv/bin/python bench/bench_ui.py [--samples 40] [--loads 10] [--tabs 0]
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ui_app import (
    CITY,
    EXTRA_CHROMIUM_ARGS,
    ROOT,
    WATCH_FRESH_CARDS_JS,
    pct,
    running_app,
)


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
        "night": "2030-01-03", "when": "Thu Jan 3 · 8 PM", "excerpt": "",
        "location": "Bench Hall", "fallback": "", "source_links": [],
    }  # fmt: skip


# Timestamps (performance.now(), ms from navigation start) of one cold load's milestones,
# taken in the page: the hydrate leaving on the websocket, the delta with the cards coming
# back, the first card entering the DOM. __CARDS__ is the cards field as the delta names it.
FIRST_CARD_PROBE = """(() => {
  const t = (window.__fc = {});
  const WS = window.WebSocket;
  window.WebSocket = class extends WS {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (e) => {
        if (t.delta === undefined && String(e.data).includes('"__CARDS__":[{'))
          t.delta = performance.now();
      });
    }
    send(data) {
      if (t.hydrate === undefined && String(data).includes("hydrate_and_load"))
        t.hydrate = performance.now();
      return super.send(data);
    }
  };
  new MutationObserver((_, observer) => {
    if (document.querySelector("[data-event-id]")) {
      t.card = performance.now();
      observer.disconnect();
    }
  }).observe(document, { childList: true, subtree: true });
})();"""

MILESTONES = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const route = performance.getEntriesByType("resource").find((r) => r.name.includes("/_city_"));
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  return { html: nav.responseEnd, scripts: nav.domContentLoadedEventEnd,
           route: route ? route.responseEnd : null, ...window.__fc,
           paint: fcp ? fcp.startTime : null };
}"""


def first_card(browser: Any, base: str, loads: int) -> None:
    """Cold loads of a city page: where the time to the first event card goes."""
    from nocturne.pages.city import CityState

    probe = FIRST_CARD_PROBE.replace("__CARDS__", str(CityState.days).rsplit(".", 1)[-1])
    runs, seen_by_playwright = [], []
    for _ in range(loads):
        ctx = browser.new_context()
        ctx.add_init_script(probe)
        page = ctx.new_page()
        page.goto(base + f"/city/{CITY}", wait_until="commit")
        page.wait_for_selector("[data-event-id]")
        seen_by_playwright.append(page.evaluate("performance.now()"))
        page.wait_for_function("performance.getEntriesByName('first-contentful-paint').length")
        runs.append(page.evaluate(MILESTONES))
        ctx.close()
    steps = [
        ("html", "HTML received"),
        ("scripts", "app scripts run"),
        ("route", "city page module loaded"),
        ("hydrate", "hydrate sent (websocket)"),
        ("delta", "cards delta received"),
        ("card", "first card in the DOM"),
        ("paint", "first contentful paint"),
    ]
    print(f"First event card, cold ({loads} loads), median ms from navigation start:")
    for key, label in steps:
        values = [r[key] for r in runs if r.get(key) is not None]
        if values:
            print(f"  {label:28s} {statistics.median(values):5.0f}  (max {max(values):.0f})")
    print(f"  {'as Playwright sees the card':28s} {statistics.median(seen_by_playwright):5.0f}  "
          f"(max {max(seen_by_playwright):.0f}; adds its polling and a round trip)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tabs", type=int, default=0, help="Chromium tabs for the refresh test")
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--loads", type=int, default=10)
    args = parser.parse_args()

    with running_app() as app:
        import redis
        from playwright.sync_api import sync_playwright

        from nocturne.live import channel
        from tests.support.browser import CHROMIUM, LAUNCH_ARGS

        base = app.base_url
        pub = redis.Redis.from_url(app.redis_url)
        files, raw, gz = js_shipped()
        print(f"JS shipped: {files} files, {raw / 1024:.0f} KB raw, {gz / 1024:.0f} KB gzipped"
              f" (target < 500 KB gzipped)")  # fmt: skip
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, args=[*LAUNCH_ARGS, *EXTRA_CHROMIUM_ARGS]
            )

            # 1. Time to first event card, cold browser context each time.
            first_card(browser, base, args.loads)

            # 2. Publish -> card visible, one watching tab.
            page = browser.new_page()
            page.goto(base + f"/city/{CITY}")
            page.wait_for_selector("[data-event-id]")
            page.evaluate(WATCH_FRESH_CARDS_JS)
            time.sleep(1.0)  # the listener subscribes just after the page loads
            sent: dict[str, float] = {}
            for i in range(args.samples):
                eid = 9_000_000 + i
                events = [card(eid, f"Bench {i}")]
                message = {"type": "events", "source": "eventbrite", "events": events}
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

            # 3. Optional: real tabs on one city all receiving a refresh.
            if args.tabs:
                refresh_tabs(browser, base, pub, channel(CITY), args.tabs)
            browser.close()
        pub.close()


def refresh_tabs(browser: Any, base: str, pub: Any, chan: str, tabs: int) -> None:
    contexts = [browser.new_context() for _ in range(4)]
    pages = []
    t0 = time.perf_counter()
    for i in range(tabs):
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
        pub.publish(chan, json.dumps({**message, "city_id": CITY}))
    done = []
    for pg in pages:
        pg.wait_for_function(
            "document.querySelector('#found')?.textContent === 'Found 5 new events' && "
            "document.querySelectorAll('.nc-card--fresh').length === 5",
            timeout=120_000,
        )
        done.append(time.perf_counter() - t1)
    print(f"{tabs} open tabs on one city (opened in {opened:.1f} s): all had "
          f"the 5 new cards and 'Found 5 new events' {max(done) * 1000:.0f} ms after "
          f"the refresh was published")  # fmt: skip
    for ctx in contexts:
        ctx.close()


if __name__ == "__main__":
    main()
