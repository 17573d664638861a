"""Production mode end to end: Chromium through nginx, a live refresh, a worker killed mid-job.

The tests run in order on one `scripts/prod` (see conftest): the site and a refresh
streaming in, then a worker SIGKILLed while it scrapes (the other worker finishes the
job once arq's in-progress key expires), then SIGTERM stopping every process.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections.abc import Callable
from typing import TypeVar
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest
import redis
from playwright.sync_api import Browser, expect
from sqlalchemy import create_engine, text

from tests.e2e_prod.conftest import ARTIFACTS, FRIEND_ORIGIN, JOB_TIMEOUT_CAP, Prod, alive

pytestmark = [pytest.mark.browser, pytest.mark.prod]

T = TypeVar("T")
CITY = "il--chicago"
JOB_REF = f"scrape:{CITY}:scrape_city"


def _job_lines(prod: Prod, worker: str, mark: str) -> list[dict]:
    """This worker's arq log records about the city's scrape job with ``mark`` (→ or ←)."""
    records = []
    for line in prod.log(worker).splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if JOB_REF in record["message"] and f" {mark} " in record["message"]:
            records.append(record)
    return records


def _wait_for(condition: Callable[[], T], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _saved_events(prod: Prod) -> int:
    engine = create_engine(prod.database_url)
    try:
        with engine.connect() as conn:
            query = text("SELECT count(*) FROM event WHERE city_id = :city")
            return int(conn.execute(query, {"city": CITY}).scalar_one())
    finally:
        engine.dispose()


def _socket_upstreams(prod: Prod) -> set[str]:
    """The app processes that held a closed /_event websocket, from nginx's JSON log."""
    path = prod.run_dir / "nginx-access.log"
    lines = path.read_text().splitlines() if path.exists() else []
    records = [json.loads(line) for line in lines]
    return {r["upstream"] for r in records if r["request"].startswith("GET /_event")}


def test_cors_through_the_whole_stack_grants_only_configured_origins(prod: Prod) -> None:
    """Reflex's own CORS middleware sits outside the API's: it must grant no more."""

    def grant(method: str, origin: str) -> tuple[int, str | None]:
        headers = {"Origin": origin}
        if method == "OPTIONS":
            headers["Access-Control-Request-Method"] = "POST"
        request = Request(f"{prod.url}/events/{CITY}", headers=headers, method=method)
        try:
            with urlopen(request, timeout=10) as response:
                return response.status, response.headers.get("Access-Control-Allow-Origin")
        except HTTPError as refused:
            return refused.code, refused.headers.get("Access-Control-Allow-Origin")

    assert grant("GET", FRIEND_ORIGIN) == (200, FRIEND_ORIGIN)
    assert grant("GET", "https://evil.example") == (200, None)
    assert grant("OPTIONS", FRIEND_ORIGIN) == (200, FRIEND_ORIGIN)
    assert grant("OPTIONS", "https://evil.example") == (400, None)


def test_site_through_nginx_streams_a_refresh(prod: Prod, browser: Browser) -> None:
    with urlopen(prod.url + "/ping") as response:
        assert response.status == 200
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.goto(prod.url + f"/city/{CITY}?show=all")  # every event, not only after dark
    expect(page.locator(".nc-empty")).to_be_visible(timeout=30_000)
    page.evaluate("window.__noReload = true")
    button = page.locator("#refresh-button")
    expect(button).to_have_text("REFRESH EVENTS (1/1)")
    prod.site.reset_counts()
    button.click()
    expect(button).to_have_text("REFRESH USED (0/1)")
    expect(page.locator("#found")).to_have_text(
        re.compile(r"Found \d+ new events?"), timeout=90_000
    )
    assert page.evaluate("window.__noReload") is True  # streamed in over the websocket
    found = int(re.findall(r"\d+", page.locator("#found").inner_text())[0])
    saved = _saved_events(prod)
    assert found == saved > 0
    expect(page.locator(".nc-card--fresh[data-event-id]")).to_have_count(saved)
    assert prod.site.count() > 0  # the scrape really went to the saved-page server
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "prod-mode-city.png"), full_page=True)

    # The page went through nginx to both app processes, and Reflex's state is in Redis.
    for port in prod.app_ports:
        assert '"status": 200' in prod.log(f"app-{port}"), f"app on {port} served nothing"
    assert redis.Redis.from_url(prod.reflex_redis_url).dbsize() > 0
    # One tab's state survives its websocket moving between app processes: a filter set
    # on one stays set after reloads land the tab's socket on the other.
    free = page.get_by_role("button", name="Free only")
    free.click()
    expect(free).to_have_attribute("aria-pressed", "true")
    for _ in range(12):
        if len(_socket_upstreams(prod)) == 2:
            break
        page.reload()
        expect(page.get_by_role("button", name="Free only")).to_have_attribute(
            "aria-pressed", "true"
        )
        with urlopen(prod.url + "/ping"):  # shifts nginx's round robin by one
            pass
    assert _socket_upstreams(prod) == {f"127.0.0.1:{p}" for p in prod.app_ports}
    # Exactly one worker ran the job, and said so in JSON.
    ran = [w for w in ("worker-1", "worker-2") if _job_lines(prod, w, "←")]
    assert len(ran) == 1
    context.close()


def test_killed_worker_job_finishes_on_the_other(prod: Prod, browser: Browser) -> None:
    before = {w: len(_job_lines(prod, w, "→")) for w in ("worker-1", "worker-2")}
    done_before = {w: len(_job_lines(prod, w, "←")) for w in ("worker-1", "worker-2")}
    prod.site.latency = 1.5  # every page takes 1.5 s: the scrape runs for several seconds
    context = browser.new_context()  # a new browser session: it has its own refresh
    page = context.new_page()
    page.goto(prod.url + f"/city/{CITY}")
    button = page.locator("#refresh-button")
    expect(button).to_have_text("REFRESH EVENTS (1/1)", timeout=30_000)
    button.click()
    expect(button).to_have_text("REFRESH USED (0/1)")

    def holder() -> str | None:
        started = [w for w in before if len(_job_lines(prod, w, "→")) > before[w]]
        return started[0] if started else None

    victim = _wait_for(holder, 30, "a worker to start the scrape")
    survivor = "worker-2" if victim == "worker-1" else "worker-1"
    time.sleep(1.0)  # well inside the job: the first pages are still loading
    assert len(_job_lines(prod, victim, "←")) == done_before[victim], "finished too soon"
    victim_pid = prod.pid(victim)
    prod.site.latency = 0.05
    killed_at = time.monotonic()
    os.kill(victim_pid, signal.SIGKILL)
    _wait_for(lambda: not alive(victim_pid), 10, "the killed worker to vanish")

    # arq 0.25: the job stays queued; its in-progress key expires (cap + 10) s after the
    # start, then the surviving worker takes it as try 2 and finishes it.
    def retried() -> bool:
        return any("try=2" in r["message"] for r in _job_lines(prod, survivor, "→"))

    _wait_for(retried, JOB_TIMEOUT_CAP + 40, "the surviving worker to take the job")
    _wait_for(
        lambda: len(_job_lines(prod, survivor, "←")) > done_before[survivor],
        JOB_TIMEOUT_CAP + 30,
        "the surviving worker to finish the job",
    )
    assert time.monotonic() - killed_at >= 5  # not before the key expired
    # The page (on whichever app process holds its websocket) hears the finish.
    expect(page.locator("#found")).to_have_text(
        re.compile(r"Found \d+ new events?"), timeout=30_000
    )
    assert "exited (137); the other workers carry on" in (prod.run_dir / "prod.out").read_text()
    with urlopen(prod.url + "/ping") as response:  # the site stays up
        assert response.status == 200
    context.close()


def test_sigterm_stops_every_process(prod: Prod) -> None:
    pids = prod.all_pids()
    assert len(pids) >= 4  # two apps, nginx, the surviving worker (the killed one's file stays)
    assert prod.stop(signal.SIGTERM, timeout=60) == 143  # bash's status for SIGTERM
    leftover = [pid for pid in pids if alive(pid)]
    assert leftover == []
    assert "stopped" in (prod.run_dir / "prod.out").read_text()
    # Nothing logged an ERROR along the way (the JSON logs of every app process and worker).
    for log in sorted(prod.run_dir.glob("*.log")):
        assert '"level": "ERROR"' not in log.read_text(errors="replace"), log.name
