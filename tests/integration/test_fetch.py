"""The fetcher against a real local HTTP server, with real Chromium and real httpx.

Politeness (per-host limit, delay, backoff honouring Retry-After), block detection, the
consent handler, resource blocking and the Firecrawl fallback, each observed from the
server's side (what it was asked, when, by whom).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import statistics
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from nocturne.cities import require_city
from nocturne.settings import Settings
from scrapers.crawl import city_requests, crawl
from scrapers.errors import BlockedPage, FetchError, UnrecognizedPage
from scrapers.fetch import Fetcher, backoff_delay, block_reason, retry_after_seconds
from scrapers.sites import SITES, eventbrite
from tests.support.site_server import (
    BLOCK_PAGE,
    PAGES,
    Route,
    SiteServer,
    page_with,
    shift_dates,
)

CHICAGO = require_city("il--chicago")
LUMA_PATH = "/discover/get-paginated-events"
EB_PATH = "/d/il--chicago/all-events/"
UA = "NocturneTest/9.9 (+https://nocturne.example/bot)"


@pytest.fixture
def server():
    with SiteServer.chicago() as srv:
        yield srv


def make_settings(srv: SiteServer, **extra: object) -> Settings:
    return Settings(**srv.settings_overrides(**extra))


def luma_url(srv: SiteServer) -> str:
    return f"{srv.base_url}{LUMA_PATH}?latitude=41.8781&longitude=-87.6298"


# --------------------------------------------------------------------------- pure helpers


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(
        format_datetime(now + timedelta(seconds=90), usegmt=True), now=now
    ) == pytest.approx(90)
    assert retry_after_seconds(format_datetime(now - timedelta(hours=1), usegmt=True), now=now) == 0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    waits = [backoff_delay(n, base=1.0, cap=100.0) for n in range(4) for _ in range(50)]
    for n in range(4):
        chunk = waits[n * 50 : (n + 1) * 50]
        assert all(0.5 * 2**n <= w <= 1.5 * 2**n for w in chunk)
        assert len(set(chunk)) > 1  # jittered, not a fixed schedule
    assert backoff_delay(20, base=1.0, cap=30.0) == 30.0


def test_block_detection_flags_challenges_but_not_real_pages() -> None:
    for path in PAGES.rglob("*"):
        if path.suffix in (".html", ".json") and not path.name.endswith(".expected.json"):
            assert block_reason(path.read_text(encoding="utf-8")) is None, path
    assert block_reason(BLOCK_PAGE)
    assert block_reason("<html><head><title>Just a moment...</title></head></html>")
    assert block_reason('<html><body><script src="https://geo.captcha-delivery.com/c.js">')
    assert block_reason("<html><body>ok</body></html>", 403) == "access denied"
    # A real listing may load reCAPTCHA for its forms: its embedded data says it is real.
    assert (
        block_reason(
            '<script>window.__SERVER_DATA__ = {"events": []};</script>'
            '<script src="https://www.google.com/recaptcha/api.js"></script>'
            '<div class="g-recaptcha">'
        )
        is None
    )


# --------------------------------------------------------------------------- httpx path


async def test_429_is_retried_after_the_time_retry_after_asks(server: SiteServer) -> None:
    server.fail(LUMA_PATH, status=429, retry_after="1")
    async with Fetcher(make_settings(server)) as fetcher:
        started = time.monotonic()
        page = await fetcher.fetch_http(luma_url(server), source="luma")
        elapsed = time.monotonic() - started
    hits = server.requests_to(LUMA_PATH)
    assert [h.status for h in hits] == [429, 200]
    assert hits[1].at - hits[0].at >= 0.95
    assert elapsed >= 1.0
    assert json.loads(page.text)["has_more"] is True
    assert page.via == "http"


async def test_5xx_backs_off_exponentially_then_succeeds(server: SiteServer) -> None:
    server.fail(LUMA_PATH, status=503, times=2)
    settings = make_settings(server, scrape_backoff_seconds=0.2, scrape_max_retries=3)
    async with Fetcher(settings) as fetcher:
        page = await fetcher.fetch_http(luma_url(server), source="luma")
    hits = server.requests_to(LUMA_PATH)
    assert [h.status for h in hits] == [503, 503, 200]
    first_gap, second_gap = hits[1].at - hits[0].at, hits[2].at - hits[1].at
    assert 0.09 <= first_gap < 3  # 0.2 s, jittered 50-150 %
    assert 0.19 <= second_gap < 3  # doubled
    assert page.status == 200


async def test_a_lasting_429_is_a_typed_block_after_the_retries(server: SiteServer) -> None:
    server.fail(LUMA_PATH, status=429, times=99, retry_after="0")
    async with Fetcher(make_settings(server, scrape_max_retries=2)) as fetcher:
        with pytest.raises(BlockedPage) as info:
            await fetcher.fetch_http(luma_url(server), source="luma")
    assert info.value.status == 429
    assert info.value.source == "luma" and info.value.url == luma_url(server)
    assert server.count(LUMA_PATH) == 3


async def test_a_retry_after_beyond_the_longest_wait_gives_up_at_once(server: SiteServer) -> None:
    server.fail(LUMA_PATH, status=503, times=99, retry_after="3600")
    async with Fetcher(make_settings(server, scrape_max_wait_seconds=5)) as fetcher:
        started = time.monotonic()
        with pytest.raises(FetchError) as info:
            await fetcher.fetch_http(luma_url(server), source="luma")
    assert time.monotonic() - started < 2
    assert info.value.status == 503
    assert server.count(LUMA_PATH) == 1


async def test_missing_page_is_a_fetch_error_with_its_status(server: SiteServer) -> None:
    async with Fetcher(make_settings(server)) as fetcher:
        with pytest.raises(FetchError) as info:
            await fetcher.fetch_http(f"{server.base_url}/nowhere", source="luma")
    assert info.value.status == 404
    assert server.count("/nowhere") == 1  # a 404 is not retried


async def test_unreachable_host_is_a_fetch_error_after_retries() -> None:
    settings = Settings(scrape_max_retries=1, scrape_backoff_seconds=0.01, scrape_delay_seconds=0)
    async with Fetcher(settings) as fetcher:
        with pytest.raises(FetchError) as info:
            await fetcher.fetch_http("http://127.0.0.1:9/x", source="luma")
    assert info.value.status is None
    assert "network error" in str(info.value)


async def test_per_host_limit_caps_concurrent_requests() -> None:
    with SiteServer.chicago(latency=0.3) as srv:
        settings = make_settings(srv, scrape_per_host_concurrency=2)
        async with Fetcher(settings) as fetcher:
            started = time.monotonic()
            await asyncio.gather(
                *(fetcher.fetch_http(luma_url(srv), source="luma") for _ in range(6))
            )
            elapsed = time.monotonic() - started
    assert srv.max_active == 2
    assert srv.count(LUMA_PATH) == 6
    assert elapsed >= 0.85  # three rounds of two


async def test_delay_spaces_requests_to_one_host() -> None:
    with SiteServer.chicago() as srv:
        settings = make_settings(srv, scrape_per_host_concurrency=4, scrape_delay_seconds=0.25)
        async with Fetcher(settings) as fetcher:
            await asyncio.gather(
                *(fetcher.fetch_http(luma_url(srv), source="luma") for _ in range(4))
            )
    starts = sorted(h.at for h in srv.requests_to(LUMA_PATH))
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(gaps) == 3
    # Arrival times jitter on a busy machine; the spacing shows in the median and the span.
    assert statistics.median(gaps) >= 0.2, gaps
    assert starts[-1] - starts[0] >= 0.65, gaps


async def test_user_agent_is_the_configured_one_in_both_paths(server: SiteServer) -> None:
    async with Fetcher(make_settings(server, scrape_user_agent=UA)) as fetcher:
        await fetcher.fetch_http(luma_url(server), source="luma")
        await fetcher.fetch_page(f"{server.base_url}{EB_PATH}?page=1", source="eventbrite")
    agents = {h.headers.get("user-agent") for h in server.hits}
    assert agents == {UA}


# --------------------------------------------------------------------------- browser path

_CONSENT_PAGE = page_with(
    """
    <link rel="stylesheet" href="/style.css">
    <img src="/photo.jpg" alt="">
    <script src="/app.js"></script>
    <div id="onetrust-banner-sdk" style="position:fixed;inset:0;background:#000">
      <p>We use cookies.</p>
      <button id="onetrust-accept-btn-handler" onclick="
        document.getElementById('onetrust-banner-sdk').remove();
        const s = document.createElement('script');
        s.type = 'application/ld+json';
        s.textContent = JSON.stringify({'@type': 'Event', name: 'Consent Given Party'});
        document.body.appendChild(s);">Accept All Cookies</button>
    </div>
    """,
    title="Consent wall",
)
_GENERIC_CONSENT_PAGE = page_with(
    """
    <div class="cookie-notice" role="dialog">
      <span>Cookies keep this site working.</span>
      <button onclick="document.body.dataset.consented = 'yes';
                       document.querySelector('.cookie-notice').remove();">Accept all</button>
      <button>Manage settings</button>
    </div>
    <main>Listing</main>
    """,
    title="Generic consent",
)


async def test_consent_wall_is_dismissed_and_heavy_resources_never_requested(
    server: SiteServer,
) -> None:
    server.add(Route("/consent", _CONSENT_PAGE))
    server.add(Route("/app.js", "window.appLoaded = true;", content_type="text/javascript"))
    server.add(Route("/style.css", "body{font-family:x}", content_type="text/css"))
    server.add(Route("/photo.jpg", "not really a jpeg", content_type="image/jpeg"))
    async with Fetcher(make_settings(server)) as fetcher:
        page = await fetcher.fetch_page(f"{server.base_url}/consent", source="eventbrite")
    assert page.consent == "#onetrust-accept-btn-handler"
    assert "Consent Given Party" in page.text
    assert "onetrust-banner-sdk" not in page.text
    assert server.count("/app.js") == 1  # scripts and styles still load
    assert server.count("/style.css") == 1
    assert server.count("/photo.jpg") == 0  # images are blocked in the browser


async def test_consent_button_found_by_its_words(server: SiteServer) -> None:
    server.add(Route("/generic", _GENERIC_CONSENT_PAGE))
    async with Fetcher(make_settings(server)) as fetcher:
        page = await fetcher.fetch_page(f"{server.base_url}/generic", source="meetup")
    assert page.consent == "text:accept all"
    assert 'data-consented="yes"' in page.text


async def test_page_without_a_wall_clicks_nothing(server: SiteServer) -> None:
    async with Fetcher(make_settings(server)) as fetcher:
        page = await fetcher.fetch_page(f"{server.base_url}{EB_PATH}?page=2", source="eventbrite")
    assert page.consent is None
    assert page.via == "browser"
    assert len(eventbrite.parse(page.text, "https://www.eventbrite.com" + EB_PATH)) == 3


async def test_captcha_page_raises_a_typed_block(server: SiteServer) -> None:
    server.block(EB_PATH)
    url = f"{server.base_url}{EB_PATH}?page=1"
    async with Fetcher(make_settings(server)) as fetcher:
        with pytest.raises(BlockedPage) as info:
            await fetcher.fetch_page(url, source="eventbrite")
    assert info.value.source == "eventbrite" and info.value.url == url
    assert "Access denied" in str(info.value)
    assert server.count(EB_PATH) == 1  # a block page is not hammered


async def test_browser_honours_retry_after_too(server: SiteServer) -> None:
    server.fail(EB_PATH, status=429, retry_after="1")
    async with Fetcher(make_settings(server)) as fetcher:
        page = await fetcher.fetch_page(f"{server.base_url}{EB_PATH}?page=2", source="eventbrite")
    hits = server.requests_to(EB_PATH)
    assert [h.status for h in hits] == [429, 200]
    assert hits[1].at - hits[0].at >= 0.95
    assert "__SERVER_DATA__" in page.text


async def test_firecrawl_fetches_what_the_browser_was_blocked_on() -> None:
    with SiteServer.chicago(firecrawl_key="fc-test-key") as srv:
        srv.block(EB_PATH)
        settings = make_settings(srv, firecrawl_api_key="fc-test-key")
        async with Fetcher(settings) as fetcher:
            page = await fetcher.fetch_page(f"{srv.base_url}{EB_PATH}?page=2", source="eventbrite")
        scrape_calls = srv.requests_to("/v1/scrape")
    assert page.via == "firecrawl"
    assert len(eventbrite.parse(page.text, "https://www.eventbrite.com" + EB_PATH)) == 3
    assert len(scrape_calls) == 1
    assert scrape_calls[0].method == "POST"
    assert scrape_calls[0].headers["authorization"] == "Bearer fc-test-key"


async def test_failed_firecrawl_still_reports_the_block() -> None:
    with SiteServer.chicago(firecrawl_key="the-right-key") as srv:
        srv.block(EB_PATH)
        settings = make_settings(srv, firecrawl_api_key="a-wrong-key")
        async with Fetcher(settings) as fetcher:
            with pytest.raises(BlockedPage) as info:
                await fetcher.fetch_page(f"{srv.base_url}{EB_PATH}?page=1", source="eventbrite")
    assert "Firecrawl answered HTTP 401" in str(info.value)


async def test_city_context_is_shared_while_in_use_and_fresh_afterwards(
    server: SiteServer,
) -> None:
    async with Fetcher(make_settings(server)) as fetcher:
        async with (
            fetcher.city_context("il--chicago") as a,
            fetcher.city_context("il--chicago") as b,
        ):
            assert a is b
            first = await a.browser_context()
            await a.fetch_page(f"{server.base_url}{EB_PATH}?page=2", source="eventbrite")
        async with fetcher.city_context("il--chicago") as c:
            assert c is not a
            assert await c.browser_context() is not first
        async with fetcher.city_context("ny--new-york") as d:
            assert d is not c


async def test_a_page_held_up_by_a_script_is_read_as_served(server: SiteServer) -> None:
    data = (PAGES / "eventbrite" / "search_page2.html").read_text(encoding="utf-8")
    stuck = data.replace("<body>", '<body><script src="/never.js"></script>', 1)
    assert stuck != data
    server.add(Route("/stuck", stuck))
    server.add(Route("/never.js", "", content_type="text/javascript", delay=20))
    async with Fetcher(make_settings(server, scrape_timeout_seconds=2)) as fetcher:
        page = await fetcher.fetch_page(f"{server.base_url}/stuck", source="eventbrite")
    assert server.count("/never.js") == 0  # still being "served" when the page was read
    assert len(eventbrite.parse(page.text, "https://www.eventbrite.com" + EB_PATH)) == 3


# --------------------------------------------------------------------------- crawl paging


def scrape_source(*, fetcher, city, source, max_pages=None, keywords=None):  # type: ignore[no-untyped-def]
    """The crawl of one site, with Meetup's keywords given here rather than in settings."""
    site = SITES[source]
    requests = None
    if keywords is not None:
        options = {"keywords": keywords}
        requests = city_requests(site, city, fetcher.settings.source_base_urls, options)
    return crawl(fetcher=fetcher, site=site, city=city, requests=requests, max_pages=max_pages)


async def test_eventbrite_paging_stops_at_the_empty_page(server: SiteServer) -> None:
    async with Fetcher(make_settings(server)) as fetcher:
        pages = [p async for p in scrape_source(fetcher=fetcher, city=CHICAGO, source="eventbrite")]
    assert [h.query.get("page") for h in server.requests_to(EB_PATH)] == ["1", "2", "3"]
    assert [p.found for p in pages] == [10, 3, 0]
    assert pages[0].drop_counts == {"spam": 1, "past": 1, "online": 1}
    assert sum(len(p.events) for p in pages) == 10


async def test_max_pages_caps_the_listing(server: SiteServer) -> None:
    async with Fetcher(make_settings(server)) as fetcher:
        pages = [
            p
            async for p in scrape_source(
                fetcher=fetcher, city=CHICAGO, source="eventbrite", max_pages=2
            )
        ]
    assert len(pages) == 2
    assert server.count(EB_PATH) == 2


async def test_meetup_sweeps_keywords_and_yields_each_event_once(server: SiteServer) -> None:
    async with Fetcher(make_settings(server)) as fetcher:
        pages = [
            p
            async for p in scrape_source(
                fetcher=fetcher, city=CHICAGO, source="meetup", keywords=["music", "dance", "art"]
            )
        ]
    asked = [h.query.get("keywords") for h in server.requests_to("/find/")]
    assert asked == ["music", "dance", "art"]
    assert [len(p.events) for p in pages] == [5, 0, 0]
    assert [p.repeated for p in pages] == [0, 5, 5]
    links = [e.link for p in pages for e in p.events]
    assert all(link.startswith("https://www.meetup.com/") and "?" not in link for link in links)


async def test_luma_follows_the_cursor_while_has_more(server: SiteServer) -> None:
    async with Fetcher(make_settings(server)) as fetcher:
        pages = [p async for p in scrape_source(fetcher=fetcher, city=CHICAGO, source="luma")]
    hits = server.requests_to(LUMA_PATH)
    assert len(hits) == 2
    assert "pagination_cursor" not in hits[0].query
    assert hits[1].query["pagination_cursor"] == "eyJzdiI6IjIwMjYtMTItMTMifQ"
    assert hits[0].query["latitude"] == "41.8781"  # Chicago has no discover place id
    assert [p.found for p in pages] == [7, 0]
    assert all(e.link.startswith("https://luma.com/") for e in pages[0].events)


async def test_an_unrecognised_first_page_is_a_typed_error(server: SiteServer) -> None:
    server.add(Route(EB_PATH, page_with("<p>Nothing structured here</p>"), {"page": "1"}))
    async with Fetcher(make_settings(server)) as fetcher:
        with pytest.raises(UnrecognizedPage) as info:
            async for _ in scrape_source(fetcher=fetcher, city=CHICAGO, source="eventbrite"):
                pass
    assert info.value.source == "eventbrite"
    assert info.value.url == "https://www.eventbrite.com/d/il--chicago/all-events/?page=1"


def test_shifted_fixture_dates_keep_invalid_ones() -> None:
    text = '"start_date":"2026-12-10","bad":"2026-02-30","ts":"2026-12-31T23:00:00Z"'
    assert shift_dates(text, 3) == (
        '"start_date":"2026-12-13","bad":"2026-02-30","ts":"2027-01-03T23:00:00Z"'
    )


# --------------------------------------------------------------------------- real pages

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"no real pages at {SHARED}")


@needs_shared
def test_real_pages_are_not_taken_for_blocks() -> None:
    pages = [p for p in SHARED.glob("*/*") if p.suffix in (".html", ".json")]
    assert pages
    for page in pages:
        assert block_reason(page.read_text(encoding="utf-8")) is None, page


@needs_shared
async def test_a_real_eventbrite_page_reads_the_same_through_chromium() -> None:
    real = SHARED / "eventbrite" / "py-webscraper_nyc_city_page.html"
    new_york = require_city("ny--new-york")
    path = "/d/ny--new-york/all-events/"
    # The saved page pulls scripts and styles from hosts unreachable here; a page that
    # does not finish loading is read from the HTML as served.
    with SiteServer([Route(path, real)], shift_days=0) as srv:
        settings = make_settings(srv, scrape_timeout_seconds=4)
        async with Fetcher(settings) as fetcher, fetcher.city_context(new_york.id) as ctx:
            page = await ctx.fetch_page(f"{srv.base_url}{path}?page=1", source="eventbrite")
    url = "https://www.eventbrite.com/d/ny--new-york/all-events/?page=1"
    direct = eventbrite.parse(real.read_text(encoding="utf-8"), url, tz=new_york.timezone)
    through_browser = eventbrite.parse(page.text, url, tz=new_york.timezone)
    assert direct
    assert [(e.link, e.start, e.title) for e in through_browser] == [
        (e.link, e.start, e.title) for e in direct
    ]
