"""`make demo` in a fresh copy: the sample events, dated in the coming two weeks, on the
New York page, with nothing fetched from outside."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Request, Route, expect

from tests.e2e_run.conftest import (
    READY_TIMEOUT,
    FirstRun,
    _clean_env,
    _copy_checkout,
    _free_port,
    _stop_group,
    digests,
)

pytestmark = pytest.mark.browser

CARD = "[data-event-id]"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FirstRun]:
    root = tmp_path_factory.mktemp("demo-clone") / "nocturne"
    _copy_checkout(root)
    port = _free_port()
    log_path = root.parent / "make-demo.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            ["make", "-o", "install", "demo", f"PORT={port}"],
            cwd=root,
            env=_clean_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    run = FirstRun(f"http://localhost:{port}", port, root, log_path, proc, digests(root))
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"`make demo` did not start:\n{run.output[-4000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                    break
            time.sleep(0.5)
        yield run
    finally:
        _stop_group(proc)


def test_make_demo_shows_events_on_the_new_york_page(browser: Browser, demo: FirstRun) -> None:
    assert "sample events in New York over the next 14 days" in demo.output
    with sqlite3.connect(demo.database) as db:
        (count, after_dark, first, last) = db.execute(
            "SELECT count(*), sum(status = 'scheduled' AND after_dark), min(start_at),"
            " max(start_at) FROM event WHERE city_id = 'ny--new-york'"
        ).fetchone()
    assert count >= 20 and after_dark > 0
    now = datetime.now(UTC).replace(tzinfo=None)
    # Stored as naive UTC; each start was moved into the fortnight after `make demo` ran.
    assert now - timedelta(hours=1) < datetime.fromisoformat(first)
    assert datetime.fromisoformat(last) < now + timedelta(days=14)

    page = browser.new_page()
    outside: list[str] = []
    pictures: list[str] = []

    def only_local(route: Route, request: Request) -> None:
        if urlsplit(request.url).hostname in LOCAL_HOSTS or request.url.startswith("data:"):
            route.continue_()
        else:
            # An event's picture lives on its source's host: offline it fails and the card
            # shows its drawn fallback. Anything else from outside is a fault of the page.
            (pictures if request.resource_type == "image" else outside).append(request.url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(demo.url + "/city/ny--new-york")  # After dark, the page's first view
    expect(page.locator(CARD).first).to_be_visible(timeout=30_000)
    page.goto(demo.url + "/city/ny--new-york?show=all")  # Everything
    cards = page.locator(CARD)
    expect(cards.first).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Warehouse Techno Night: Loft Sessions").first).to_be_visible()
    expect(cards.nth(19)).to_be_attached()  # cards stream in, staggered

    page.goto(demo.url + "/")  # the home page counts the coming after-dark ones
    ny = page.locator("[data-city-link='ny--new-york'] .nc-city-count")
    expect(ny).to_have_text(str(after_dark))
    assert outside == []  # the page needs nothing from outside this machine
    assert all(urlsplit(url).scheme == "https" for url in pictures)  # the events' own, refused

    time.sleep(3)  # long enough for a scrape the page might have started to record itself
    with sqlite3.connect(demo.database) as db:
        runs = db.execute("SELECT city_id, source FROM scrape_run").fetchall()
    assert runs == []  # the demo never tried to reach the sources
