"""Production mode through the production TLS site (deploy/nginx/nocturne.conf): a
self-signed certificate, the page over https, the live refresh over wss, plain HTTP
redirected to https, HSTS on every answer, HTTP/2 offered.

A `scripts/prod` of its own (TLS_CERT/TLS_KEY), after test_prod_mode's has stopped: it
builds the front end for its https address.
"""

from __future__ import annotations

import http.client
import json
import re
import signal
import socket
import ssl
from collections.abc import Iterator
from urllib.parse import urlsplit
from urllib.request import urlopen

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e_prod.conftest import Prod, alive, run_prod
from tests.e2e_prod.test_prod_mode import CITY, _saved_events, _wait_for

pytestmark = [pytest.mark.browser, pytest.mark.prod]

HSTS = "max-age=31536000; includeSubDomains"


@pytest.fixture(scope="module")
def prod_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prod]:
    with run_prod(tmp_path_factory, tls=True) as running:
        yield running


def _trusting(prod: Prod) -> ssl.SSLContext:
    """Verifies the server against the test's own certificate (hostname 127.0.0.1 too)."""
    assert prod.cert is not None
    return ssl.create_default_context(cafile=str(prod.cert))


def test_plain_http_redirects_to_https(prod_tls: Prod) -> None:
    split = urlsplit(prod_tls.http_url)
    conn = http.client.HTTPConnection(split.hostname, split.port, timeout=10)
    conn.request("GET", f"/city/{CITY}?when=week")
    answer = conn.getresponse()
    assert answer.status == 301
    assert answer.getheader("Location") == f"{prod_tls.url}/city/{CITY}?when=week"
    conn.close()


def test_https_answers_carry_hsts_and_offer_http2(prod_tls: Prod) -> None:
    context = _trusting(prod_tls)
    with urlopen(prod_tls.url + "/", context=context, timeout=10) as page:
        assert page.status == 200
        assert page.headers.get_all("Strict-Transport-Security") == [HSTS]
        html = page.read().decode()
    # A fingerprinted asset goes through its own location (long caching): HSTS there too.
    asset = re.search(r'(?:src|href)="(/assets/[^"]+)"', html)
    assert asset, html[:2000]
    with urlopen(prod_tls.url + asset[1], context=context, timeout=10) as page:
        assert page.status == 200
        assert page.headers.get_all("Strict-Transport-Security") == [HSTS]
        assert page.headers.get_all("Cache-Control") == ["public, max-age=2592000, immutable"]
    for path in ("/ping", f"/events/{CITY}"):
        with urlopen(prod_tls.url + path, context=context, timeout=10) as answer:
            assert answer.headers.get_all("Strict-Transport-Security") == [HSTS], path

    context.set_alpn_protocols(["h2", "http/1.1"])
    split = urlsplit(prod_tls.url)
    with (
        socket.create_connection((split.hostname, split.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=split.hostname) as tls,
    ):
        assert tls.selected_alpn_protocol() == "h2"
        assert tls.version() in {"TLSv1.2", "TLSv1.3"}


def test_page_over_https_and_the_refresh_over_wss(prod_tls: Prod, browser: Browser) -> None:
    context = browser.new_context(ignore_https_errors=True)  # Chromium: self-signed is fine
    page = context.new_page()
    sockets: list[str] = []
    plain: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.on(
        "request",
        lambda r: plain.append(r.url) if r.url.startswith(("http:", "ws:")) else None,
    )
    page.goto(prod_tls.url + f"/city/{CITY}?show=all")  # every event, not only after dark
    expect(page.locator(".nc-empty")).to_be_visible(timeout=30_000)
    page.evaluate("window.__noReload = true")
    button = page.locator("#refresh-button")
    expect(button).to_have_text("REFRESH EVENTS (1/1)")
    button.click()
    expect(page.locator("#found")).to_have_text(
        re.compile(r"Found \d+ new events?"), timeout=90_000
    )
    assert page.evaluate("window.__noReload") is True  # streamed in over the websocket
    found = int(re.findall(r"\d+", page.locator("#found").inner_text())[0])
    saved = _saved_events(prod_tls)
    assert found == saved > 0
    expect(page.locator(".nc-card--fresh[data-event-id]")).to_have_count(saved)
    assert sockets and all(
        s.startswith(f"wss://{urlsplit(prod_tls.url).netloc}/_event") for s in sockets
    )
    assert plain == []  # nothing of the page went over plain HTTP
    context.close()

    # nginx's log: the websocket was upgraded (101) by the TLS site and held by an app
    # process. Its line is written when it closes, just after the page did.
    def upgraded() -> list[dict]:
        lines = (prod_tls.run_dir / "nginx-access.log").read_text().splitlines()
        records = [json.loads(line) for line in lines]
        return [r for r in records if r["request"].startswith("GET /_event") and r["status"] == 101]

    sockets_logged = _wait_for(upgraded, 15, "nginx to log the closed websocket")
    assert {r["upstream"] for r in sockets_logged} <= {f"127.0.0.1:{p}" for p in prod_tls.app_ports}


def test_sigterm_stops_every_process_of_the_tls_run(prod_tls: Prod) -> None:
    pids = prod_tls.all_pids()
    assert prod_tls.stop(signal.SIGTERM, timeout=60) == 143
    assert [pid for pid in pids if alive(pid)] == []
    for log in sorted(prod_tls.run_dir.glob("*.log")):
        assert '"level": "ERROR"' not in log.read_text(errors="replace"), log.name
