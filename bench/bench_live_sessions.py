"""Many open sessions on one city, all receiving a refresh, measured with light clients.

Opening 200 Chromium tabs on 2 cores measures Chromium more than the app. Here each
session is a socket.io client speaking Reflex's own protocol to the app's ``/_event``
endpoint: its own token in the query and, in the CONNECT packet, the very boot event
(``hydrate_and_load`` of ``/city/<id>``) that a real Chromium tab sent. The server thus
hydrates one CityState per session and runs its on_load (``load_city``), whose listener
subscribes the session to the city's live channel: Redis NUMSUB confirms the count.

Then the real scrape job runs in a worker process (``scrape_city`` with a stub runner in
place of the network: real save, real ``live.publish`` over Redis), one event per page,
and every session timestamps the state delta that brings each event. One real Chromium
tab watches too, as a cross-check that a browser shows the cards.

Usage: .venv/bin/python bench/bench_live_sessions.py [--sessions 200] [--events 10]
       [--interval 0.2] [--open-concurrency 20] [--redis-state]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ui_app import CITY, EXTRA_CHROMIUM_ARGS, WATCH_FRESH_CARDS_JS, pct, running_app

NAMESPACE = "/_event"


# --- role "clients": the light sessions (their own process, apart from the server) -----


@dataclass(slots=True)
class Session:
    token: str
    started: float = 0.0
    loaded: float | None = None  # the delta with the city's cards arrived
    fresh: dict[int, float] = field(default_factory=dict)  # event id -> delta arrival
    finished: float | None = None  # "Found N new events" arrived
    error: str = ""


async def _open_session(
    session: Session, spec: dict[str, Any], gate: asyncio.Semaphore, done: asyncio.Event
) -> Any:
    import socketio

    keys = spec["keys"]
    client = socketio.AsyncClient(
        reconnection=False, websocket_extra_options={"protocols": [spec["protocol"]]}
    )

    def on_event(update: dict[str, Any]) -> None:
        now = time.time()
        city = (update.get("delta") or {}).get(keys["state"])
        if not city:
            return
        if city.get(keys["cards"]) and session.loaded is None:
            session.loaded = now
            done.set()
        for group in city.get(keys["cards"]) or ():  # the listing under its day headings
            for card in group["cards"]:
                if card.get("fresh"):
                    session.fresh.setdefault(card["id"], now)
        if city.get(keys["found"]) and session.finished is None:
            session.finished = now

    client.on("event", on_event, namespace=NAMESPACE)
    async with gate:
        session.started = time.time()
        try:
            await client.connect(
                f"{spec['backend']}?token={session.token}",
                headers={"Origin": spec["origin"]},
                auth=spec["auth"],
                transports=["websocket"],
                namespaces=[NAMESPACE],
                socketio_path=NAMESPACE,
                wait_timeout=60,
            )
            # Like a tab, the session counts as open once its cards have arrived.
            while session.loaded is None:
                done.clear()
                await asyncio.wait_for(done.wait(), 60)
        except Exception as exc:  # a failed session is reported, not fatal
            session.error = f"{type(exc).__name__}: {exc}"
    return client


async def run_clients(spec_path: str, out_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    sessions = [Session(token=str(uuid.uuid4())) for _ in range(spec["sessions"])]
    gate = asyncio.Semaphore(spec["open_concurrency"])
    t0 = time.time()
    clients = await asyncio.gather(
        *(_open_session(s, spec, gate, asyncio.Event()) for s in sessions)
    )
    opened = time.time() - t0
    print(json.dumps({"ready": True, "opened_s": opened}), flush=True)

    # The main process says when the job has published everything; then wait for stragglers.
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    deadline = time.time() + spec["timeout"]
    expected = spec["events"]
    while time.time() < deadline and not all(
        len(s.fresh) >= expected and s.finished for s in sessions if not s.error
    ):
        await asyncio.sleep(0.05)
    result = {"opened_s": opened, "sessions": [asdict(s) for s in sessions]}
    Path(out_path).write_text(json.dumps(result))
    await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)


# --- role "publish": the scrape job, as a worker process runs it -----------------------


async def run_publisher(events: int, interval: float, out_path: str) -> None:
    from nocturne import live
    from nocturne.settings import settings
    from tests.support.jobs import PageSource, future_events
    from workers.jobs.scrape import scrape_city

    sent: dict[str, float] = {}
    publish = live.publish

    async def timed_publish(city_id: str, message: dict[str, Any]) -> None:
        now = time.time()
        if message.get("type") == "events":
            sent.update({str(card["id"]): now for card in message["events"]})
        else:
            sent[str(message.get("type"))] = now
        await publish(city_id, message)

    live.publish = timed_publish  # type: ignore[assignment]
    settings.scrape_max_pages = events  # one event per page, all of them
    source = PageSource(delay=interval)
    new = future_events("eventbrite", events, key=f"bench-{uuid.uuid4().hex[:8]}")
    source.set(CITY, "eventbrite", *([e] for e in new))
    summary = await scrape_city(
        {"crawl": source.crawl, "job_id": "bench"}, CITY, ["eventbrite"]
    )
    await live.close()
    assert summary["new"] == events, summary
    Path(out_path).write_text(json.dumps(sent))


# --- role "main": the app, one Chromium tab, the two processes above --------------------


def _capture_boot(page: Any, url: str) -> tuple[str, dict[str, Any]]:
    """Open ``url`` in a real tab; the websocket URL and CONNECT payload it sent."""
    frames: list[tuple[str, str]] = []

    def on_socket(ws: Any) -> None:
        ws.on("framesent", lambda frame: frames.append((ws.url, str(frame))))

    page.on("websocket", on_socket)
    page.goto(url)
    page.wait_for_selector("[data-event-id]")
    prefix = f"40{NAMESPACE},"
    ws_url, connect = next((u, f) for u, f in frames if f.startswith(prefix))
    return ws_url.split("?", 1)[0], json.loads(connect[len(prefix) :])


def _state_keys() -> dict[str, str]:
    from nocturne.pages.city import CityState

    def field_name(var: Any) -> str:
        return str(var).rsplit(".", 1)[-1]

    return {
        "state": CityState.get_full_name(),
        "cards": field_name(CityState.days),
        "found": field_name(CityState.found_message),
    }


def _wait_subscribers(redis_url: str, channel: str, want: int, timeout: float = 60) -> int:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        deadline = time.time() + timeout
        while True:
            count = int(dict(client.pubsub_numsub(channel)).get(channel.encode(), 0))
            if count >= want or time.time() > deadline:
                return count
            time.sleep(0.1)
    finally:
        client.close()


def _idle_cpu(seconds: float) -> float:
    """Share of one core this process (the app server's threads) used over ``seconds``."""
    import psutil

    me = psutil.Process()
    before, t0 = me.cpu_times(), time.perf_counter()
    time.sleep(seconds)
    after = me.cpu_times()
    used = (after.user - before.user) + (after.system - before.system)
    return used / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between pages")
    parser.add_argument("--open-concurrency", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle CPU sampling")
    parser.add_argument("--redis-state", action="store_true", help="tab state in Redis, as in prod")
    parser.add_argument("--role", choices=["main", "clients", "publish"], default="main")
    parser.add_argument("--spec", default="")
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    if args.role == "clients":
        asyncio.run(run_clients(args.spec, args.out))
        return
    if args.role == "publish":
        asyncio.run(run_publisher(args.events, args.interval, args.out))
        return

    load_before = os.getloadavg()
    with running_app(redis_state=args.redis_state) as app:
        from playwright.sync_api import sync_playwright
        from reflex_base.constants import Reflex

        from nocturne.live import channel
        from tests.support.browser import CHROMIUM, LAUNCH_ARGS

        tmp = app.workdir
        me = [sys.executable, __file__]
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, args=[*LAUNCH_ARGS, *EXTRA_CHROMIUM_ARGS]
            )
            tab = browser.new_page()
            backend, auth = _capture_boot(tab, f"{app.base_url}/city/{CITY}")
            tab.evaluate(WATCH_FRESH_CARDS_JS)
            spec = {
                "backend": backend,
                "origin": app.base_url,
                "auth": auth,
                "protocol": Reflex.VERSION,
                "keys": _state_keys(),
                "sessions": args.sessions,
                "open_concurrency": args.open_concurrency,
                "events": args.events,
                "timeout": args.timeout,
            }
            (tmp / "spec.json").write_text(json.dumps(spec))
            clients = subprocess.Popen(
                [*me, "--role", "clients", "--spec", str(tmp / "spec.json"),
                 "--out", str(tmp / "clients.json")],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            try:
                assert clients.stdin and clients.stdout
                ready = json.loads(clients.stdout.readline() or "{}")
                if not ready:
                    raise SystemExit("the client process died while opening sessions")
                chan = channel(CITY)
                subscribed = _wait_subscribers(app.redis_url, chan, args.sessions + 1)
                print(f"{args.sessions} sessions opened ({args.open_concurrency} at a time, each "
                      f"hydrate + load_city) in {ready['opened_s']:.1f} s; the city channel has "
                      f"{subscribed} subscribers (sessions + 1 Chromium tab)")  # fmt: skip
                idle = _idle_cpu(args.idle)
                print(f"App server CPU while the {args.sessions} sessions sit idle for "
                      f"{args.idle:g} s: {idle * 100:.0f}% of one core")  # fmt: skip

                load_during = os.getloadavg()
                subprocess.run(
                    [*me, "--role", "publish", "--events", str(args.events),
                     "--interval", str(args.interval), "--out", str(tmp / "sent.json")],
                    check=True,
                )  # fmt: skip
                clients.stdin.write("published\n")
                clients.stdin.flush()
                if clients.wait(timeout=args.timeout + 60):
                    raise SystemExit("the client process failed")
                sent = json.loads((tmp / "sent.json").read_text())
                report(json.loads((tmp / "clients.json").read_text()), sent, args)
            finally:
                if clients.poll() is None:  # it failed or hangs: never leave it behind
                    clients.kill()

            tab.wait_for_function(
                f"Object.keys(window.__seen).length >= {args.events} && "
                f"document.querySelector('#found')?.textContent === "
                f"'Found {args.events} new events'",
                timeout=30_000,
            )
            seen = tab.evaluate("window.__seen")
            lat = [seen[k] - sent[k] * 1000 for k in seen if k in sent]
            print(f"Chromium tab (cross-check): {len(seen)}/{args.events} cards visible, "
                  f"publish -> card visible p50 {pct(lat, 50):.0f} ms, "
                  f"max {max(lat):.0f} ms")  # fmt: skip
            browser.close()
    print("load average (1, 5, 15 min): before "
          f"{' '.join(f'{x:.2f}' for x in load_before)}, when publishing "
          f"{' '.join(f'{x:.2f}' for x in load_during)}")  # fmt: skip


def report(result: dict[str, Any], sent: dict[str, float], args: argparse.Namespace) -> None:
    sessions = result["sessions"]
    event_ids = [k for k in sent if k.isdigit()]
    failed = [s for s in sessions if s["error"]]
    opens = [(s["loaded"] - s["started"]) * 1000 for s in sessions if s["loaded"]]
    latencies: list[float] = []
    missed = 0
    all_in: list[float] = []
    for s in sessions:
        got = s["fresh"]
        latencies += [(got[k] - sent[k]) * 1000 for k in event_ids if k in got]
        if any(k not in got for k in event_ids):
            missed += 1
        else:
            all_in.append(max(got[k] for k in event_ids))
    first, last = min(sent[k] for k in event_ids), max(sent[k] for k in event_ids)
    finished = [s["finished"] for s in sessions if s["finished"]]
    print(f"Session open (connect -> cards delta): p50 {pct(opens, 50):.0f} ms, "
          f"p95 {pct(opens, 95):.0f} ms, max {max(opens):.0f} ms; failed to open: "
          f"{len(failed)}")  # fmt: skip
    print(f"Refresh: the scrape job published {len(event_ids)} new events over "
          f"{(last - first) * 1000:.0f} ms (one page every {args.interval:g} s)")  # fmt: skip
    print(f"Delivery, publish -> state delta at the session ({len(sessions)} sessions x "
          f"{len(event_ids)} events = {len(latencies)}): p50 {pct(latencies, 50):.0f} ms, "
          f"p95 {pct(latencies, 95):.0f} ms, max {max(latencies):.0f} ms")  # fmt: skip
    if all_in:
        print(f"All {len(all_in)} sessions had all {len(event_ids)} events "
              f"{(max(all_in) - first) * 1000:.0f} ms after the first publish "
              f"({(max(all_in) - last) * 1000:.0f} ms after the last)")  # fmt: skip
    if finished and "scrape_finished" in sent:
        print(f"'Found {len(event_ids)} new events' reached {len(finished)} sessions, the "
              f"last {(max(finished) - sent['scrape_finished']) * 1000:.0f} ms after "
              f"scrape_finished was published")  # fmt: skip
    print(f"Sessions that missed events: {missed} (must be 0)")


if __name__ == "__main__":
    main()
