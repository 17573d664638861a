"""`make run` on a non-default port, first time, no PUBLIC_URL: links, API docs offline,
icons, and what it prints."""

from __future__ import annotations

import email
import json
import re
import sqlite3
import time
from email import policy
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, Route, expect

from tests.e2e_run.conftest import FirstRun, digests

pytestmark = pytest.mark.browser

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _wait_for_email(outbox: Path, timeout: float = 30) -> email.message.EmailMessage:
    deadline = time.monotonic() + timeout
    while not (files := sorted(outbox.glob("*.eml"))):
        assert time.monotonic() < deadline, f"no email in {outbox}"
        time.sleep(0.2)
    msg = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    return msg


def _links(msg: email.message.EmailMessage) -> list[str]:
    """Every http(s) link in the email: headers, text part and HTML part."""
    text = str(msg["List-Unsubscribe"] or "")
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            text += "\n" + part.get_content()
    return [url.rstrip(".,") for url in re.findall(r"https?://[^\s<>\"']+", text)]


def test_links_follow_the_port_make_run_serves_on(browser: Browser, first_run: FirstRun) -> None:
    """Subscribe in the page; every link of the email is on this port; the confirm link
    leads to "You're subscribed" there and its way back to the home page."""
    page = browser.new_page()
    page.goto(first_run.url + "/")
    page.locator("#subscribe-email").fill("first.run@example.com")
    page.locator("#subscribe-city").select_option("ny--new-york")
    page.locator("#subscribe-submit").click()
    expect(page.locator("#subscribe-ok")).to_be_visible()

    msg = _wait_for_email(first_run.outbox)
    links = [url for url in _links(msg) if "w3.org" not in url]
    assert links, msg.as_string()[:2000]
    assert {f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in links} == {first_run.url}
    confirm = next(u for u in links if urlsplit(u).path == "/confirm")

    page.goto(confirm)  # opening the link changes nothing: it shows a button
    expect(page.locator("h1")).to_have_text(re.compile(r"Confirm your New York.* digest"))
    page.get_by_role("button", name="Confirm subscription").click()
    expect(page.locator("h1")).to_have_text("You're subscribed")
    assert page.url.startswith(first_run.url + "/confirm")
    with sqlite3.connect(first_run.database) as db:
        status = db.execute(
            "SELECT status FROM subscription WHERE email = 'first.run@example.com'"
        ).fetchone()
    assert status == ("active",)

    page.get_by_role("link", name="Back to Nocturne").click()
    expect(page).to_have_url(first_run.url + "/")
    expect(page.locator("[data-city-id]")).to_have_count(49)


def test_feed_links_follow_the_port(first_run: FirstRun) -> None:
    atom = httpx.get(f"{first_run.url}/cities/ny--new-york/events.atom", timeout=10)
    assert atom.status_code == 200
    assert f'rel="alternate" href="{first_run.url}/"' in atom.text


def _block_outside(page: Page) -> list[str]:
    """Abort every request that leaves this machine; the list of those aborted."""
    blocked: list[str] = []

    def handle(route: Route, request: Request) -> None:
        if urlsplit(request.url).hostname in LOCAL_HOSTS or request.url.startswith(
            ("data:", "blob:")
        ):
            route.continue_()
        else:
            blocked.append(request.url)
            route.abort()

    page.route("**/*", handle)
    return blocked


def _operations(first_run: FirstRun) -> list[str]:
    """The operation ids of the app's OpenAPI schema."""
    spec = httpx.get(f"{first_run.url}/api/openapi.json", timeout=10).json()
    return [
        operation["operationId"]
        for item in spec["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def test_api_docs_work_with_no_internet(browser: Browser, first_run: FirstRun) -> None:
    """Swagger UI lists every operation with every outside request refused, and the
    page's CSP blocks nothing it needs."""
    operations = _operations(first_run)
    assert len(operations) > 10
    page = browser.new_page()
    blocked = _block_outside(page)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(first_run.url + "/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Nocturne API")
    expect(page.locator(".opblock")).to_have_count(len(operations))
    get_cities = page.locator(".opblock-get", has=page.locator("[data-path='/cities']"))
    expect(get_cities).to_have_count(1)
    get_cities.locator(".opblock-summary").click()  # expands, with the parameters and try-out
    expect(get_cities.locator(".try-out__btn")).to_be_visible()
    assert blocked == []
    assert problems == []


def test_redoc_works_with_no_internet(browser: Browser, first_run: FirstRun) -> None:
    operations = _operations(first_run)
    page = browser.new_page()
    blocked = _block_outside(page)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(first_run.url + "/api/redoc")
    expect(page.get_by_role("heading", name=re.compile("Nocturne API"))).to_be_visible()
    sections = page.locator("[data-section-id*='operation/']")
    expect(sections.first).to_be_attached()
    ids = sections.evaluate_all("els => els.map(e => e.dataset.sectionId)")
    assert {i.rsplit("operation/", 1)[-1] for i in ids} == set(operations)
    assert blocked == []
    # ReDoc's "API docs by Redocly" logo comes from cdn.redoc.ly: the CSP refuses it (so it
    # never reaches the network) and ReDoc drops the image when it fails to load.
    expect(page.locator("img[alt='redocly logo']")).to_have_count(0)
    assert [p for p in problems if "https://cdn.redoc.ly/redoc/logo-mini.svg" not in p] == []


ICON_TYPES = {
    ".ico": ("image/vnd.microsoft.icon", "image/x-icon"),
    ".svg": ("image/svg+xml",),
    ".png": ("image/png",),
    ".webmanifest": ("application/manifest+json",),
}


def _check(first_run: FirstRun, path: str) -> bytes:
    r = httpx.get(first_run.url + path, timeout=10)
    assert r.status_code == 200, path
    kind = r.headers["content-type"].split(";")[0]
    assert kind in ICON_TYPES[Path(path).suffix], (path, kind)
    return r.content


@pytest.mark.parametrize("path", ["/", "/city/ny--new-york", "/api/docs", "/api/redoc"])
def test_every_page_links_the_icon_and_the_manifest(
    browser: Browser, first_run: FirstRun, path: str
) -> None:
    page = browser.new_page()
    page.goto(first_run.url + path)
    icons = page.locator("head link[rel~='icon']")
    expect(icons.first).to_be_attached()
    for href in icons.evaluate_all("els => els.map(e => e.getAttribute('href'))"):
        _check(first_run, href)
    if path.startswith("/api/"):
        return  # Swagger UI's and ReDoc's own pages: an icon, no app manifest
    manifest = page.locator("head link[rel='manifest']")
    expect(manifest).to_have_count(1)
    assert manifest.get_attribute("href") == "/manifest.webmanifest"


def test_favicon_and_manifest_answer_with_their_types(first_run: FirstRun) -> None:
    assert _check(first_run, "/favicon.ico")[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert _check(first_run, "/favicon.svg").startswith(b"<svg")
    assert _check(first_run, "/apple-touch-icon.png").startswith(b"\x89PNG")
    manifest = json.loads(_check(first_run, "/manifest.webmanifest"))
    assert manifest["name"] == "Nocturne" and manifest["start_url"] == "/"
    sizes = set()
    for icon in manifest["icons"]:
        assert _check(first_run, icon["src"])
        sizes.add(icon["sizes"])
    assert {"192x192", "512x512"} <= sizes  # what browsers want to install an app


def test_confirm_page_links_the_icon(first_run: FirstRun) -> None:
    page = httpx.get(f"{first_run.url}/confirm", params={"token": "not-a-token"}, timeout=10)
    assert page.status_code == 400  # a bad link, said so, on the site's own page
    assert '<link rel="icon" href="/favicon.ico"' in page.text
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page.text


def test_start_up_gives_no_misleading_advice(first_run: FirstRun) -> None:
    out = first_run.output
    assert "Initializing nocturne" in out  # a true first run: Reflex set up .web
    assert f"App running at: http://0.0.0.0:{first_run.port}/" in out
    for advice in (
        "uv run reflex",  # `make run` is how this project starts
        "reflex db",  # migrations are alembic's, run by `make run` itself
        "npmmirror",  # Reflex timing a registry this machine may not reach
        "Failed to connect",
        "Traceback",
        '"logger": "alembic',  # a dozen lines of alembic plugins on every start
    ):
        assert advice not in out, f"{advice!r} in:\n{out}"


def test_first_run_leaves_the_checkout_as_it_was(first_run: FirstRun) -> None:
    """It adds what is git-ignored (.web, the database, outbox/) and changes no file of the
    checkout: Reflex writes reflex.lock/package.json back in its own format on a first run,
    so the committed file is in that format."""
    after = digests(first_run.root)
    changed = [p for p, digest in first_run.files_before.items() if after.get(p) != digest]
    assert changed == []
