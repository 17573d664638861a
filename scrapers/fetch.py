"""The only code that touches the network: Chromium (Playwright) for pages, httpx for JSON.

One :class:`Fetcher` per worker process holds one browser (launched on first use and
relaunched if it dies) and one httpx client. Each city gets a fresh browser context
(``async with fetcher.city_context(city_id)``), shared by the sources scraped for it at
the same time. Every request passes its host's gate (``scrapers.gate``: a concurrency limit
and a delay between starts, held in Redis for every worker when REDIS_URL is set), is
retried with exponential backoff and jitter on 429/5xx (honouring ``Retry-After``), and
is checked for block and captcha pages, which raise
:class:`~scrapers.errors.BlockedPage` rather than yielding zero events. When a Firecrawl
key is configured, a page the browser was blocked on is fetched once more through
Firecrawl's scrape endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from nocturne.settings import Settings
from nocturne.settings import settings as default_settings
from scrapers.errors import BlockedPage, FetchError, RefusedFeed
from scrapers.gate import Gate, HostGate, Leaving, RedisHostGate
from scrapers.safe_fetch import RefusedURL, fetch_user_url

log = logging.getLogger(__name__)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BLOCKED_RESOURCES = frozenset({"image", "font", "media"})
# Analytics and ad hosts: nothing a listing needs, and each one slows the page down.
BLOCKED_HOST_SUFFIXES = (
    "google-analytics.com",
    "googletagmanager.com",
    "doubleclick.net",
    "googleadservices.com",
    "googlesyndication.com",
    "facebook.net",
    "facebook.com",
    "connect.facebook.net",
    "analytics.tiktok.com",
    "pinterest.com",
    "pinimg.com",
    "bat.bing.com",
    "clarity.ms",
    "hotjar.com",
    "contentsquare.net",
    "heapanalytics.com",
    "segment.com",
    "segment.io",
    "hs-analytics.net",
    "hs-scripts.com",
    "hsadspixel.net",
    "hs-banner.com",
    "hsleadflows.net",
    "usemessages.com",
    "hubspot.com",
    "impactcdn.com",
    "byspotify.com",
    "branch.io",
    "sentry.io",
    "newrelic.com",
    "nr-data.net",
    "fullstory.com",
    "mixpanel.com",
    "amplitude.com",
    "intercom.io",
    "criteo.com",
    "adsrvr.org",
    "quantserve.com",
    "scorecardresearch.com",
)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_USER_AGENT = Settings.model_fields["scrape_user_agent"].default

# Buttons that dismiss cookie/consent walls: OneTrust, Didomi, Quantcast, Cookiebot,
# TrustArc, Usercentrics, then generic buttons by their words. Tried in this order.
CONSENT_SELECTORS = (
    "#onetrust-accept-btn-handler",
    "#didomi-notice-agree-button",
    ".qc-cmp2-summary-buttons button[mode='primary']",
    "#CybotCookiebotDialogBodyLevelButtonLLSelectAll",
    "#CybotCookiebotDialogBodyButtonAccept",
    "#truste-consent-button",
    "button[data-testid='uc-accept-all-button']",
    "[data-testid='cookie-banner-accept']",
    "button[id*='accept' i][id*='cookie' i]",
)
CONSENT_WORDS = (
    "accept all",
    "accept all cookies",
    "accept cookies",
    "accept",
    "i accept",
    "agree",
    "i agree",
    "allow all",
    "allow all cookies",
    "got it",
    "ok",
)
_CONSENT_JS = """
([selectors, words]) => {
  const visible = (el) =>
    !!(el && (el.offsetWidth || el.offsetHeight || el.getClientRects().length));
  for (const sel of selectors) {
    let el = null;
    try { el = document.querySelector(sel); } catch (e) { continue; }
    if (visible(el)) { el.click(); return sel; }
  }
  const scopes = document.querySelectorAll(
    "[id*='consent' i], [class*='consent' i], [id*='cookie' i], [class*='cookie' i], " +
    "[aria-label*='cookie' i], [aria-label*='consent' i], [role='dialog']");
  for (const scope of scopes) {
    for (const el of scope.querySelectorAll("button, a[role='button'], input[type='button']")) {
      const text = (el.innerText || el.value || "").trim().toLowerCase();
      if (words.includes(text) && visible(el)) { el.click(); return "text:" + text; }
    }
  }
  return null;
}
"""

# Block and captcha pages. Titles are checked on every page; body markers only on a page
# that carries none of the data a real listing embeds (a real page may load reCAPTCHA).
_BLOCK_TITLE_RE = re.compile(
    r"access denied|attention required|just a moment|are you a robot|"
    r"please verify you are a human|verify you are human|pardon our interruption|"
    r"request unsuccessful|security check|captcha|blocked",
    re.I,
)
_BLOCK_BODY_RE = re.compile(
    r"cf-challenge|cf_chl_|challenge-platform|px-captcha|_pxCaptcha|perimeterx|"
    r"captcha-delivery\.com|datadome|please verify you are a human|access to this page has "
    r"been denied|g-recaptcha|h-captcha|hcaptcha\.com|incapsula incident",
    re.I,
)
_TITLE_RE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.I | re.S)
_DATA_MARKERS = ("__SERVER_DATA__", "__NEXT_DATA__", "__APOLLO_STATE__", "application/ld+json")


@dataclass(slots=True)
class FetchedPage:
    """What a fetch brought back: the text (HTML or JSON) and how it was got."""

    url: str
    final_url: str
    status: int
    text: str
    via: Literal["browser", "http", "firecrawl"]
    consent: str | None = None  # which consent control was clicked, if any


def block_reason(text: str, status: int | None = None) -> str | None:
    """Why a response looks like a block or captcha page (None when it looks real)."""
    if status == 403:
        return "access denied"
    head = text[:20_000]
    title_match = _TITLE_RE.search(head)
    if title_match:
        title = " ".join(title_match.group(1).split())
        if _BLOCK_TITLE_RE.search(title):
            return f"block page: {title[:80]!r}"
    if head.lstrip().startswith(("{", "[")) or any(m in text for m in _DATA_MARKERS):
        return None  # JSON answers and pages with embedded data are the real thing
    body = _BLOCK_BODY_RE.search(text[:200_000])
    if body:
        return f"challenge marker {body.group(0)!r}"
    return None


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds: delta-seconds or an HTTP date; None when absent/invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff_delay(attempt: int, *, base: float, cap: float) -> float:
    """Exponential backoff with jitter: about ``base * 2**attempt``, between 50% and 150%."""
    return min(cap, base * (2**attempt) * random.uniform(0.5, 1.5))


@dataclass(slots=True)
class _Answer:
    status: int
    headers: Mapping[str, str]
    text: str
    final_url: str
    consent: str | None = None


class CityContext:
    """A browser context for one city: fresh cookies and storage, heavy resources blocked."""

    def __init__(self, fetcher: Fetcher, city_id: str) -> None:
        self.fetcher = fetcher
        self.city_id = city_id
        self._context: Any = None
        self._lock = asyncio.Lock()
        self._idle_pages: list[Any] = []  # a new tab costs more than the fetch itself
        self.users = 0

    async def browser_context(self) -> Any:
        """The Playwright BrowserContext, created on first use."""
        async with self._lock:
            if self._context is None:
                browser = await self.fetcher.browser()
                self._context = await browser.new_context(
                    user_agent=self.fetcher.user_agent,
                    locale="en-US",
                    viewport={"width": 1280, "height": 900},
                    service_workers="block",
                )
                self._context.set_default_timeout(self.fetcher.timeout_ms)
                await self._context.route("**/*", _block_heavy)
            return self._context

    async def fetch_page(self, url: str, *, source: str) -> FetchedPage:
        """A page's HTML after Chromium loaded it and any consent wall was dismissed."""
        return await self.fetcher.fetch_page(url, source=source, context=self)

    @contextlib.asynccontextmanager
    async def tab(self) -> AsyncIterator[Any]:
        """A browser tab of this context: an idle one reused, else a new one."""
        browser_context = await self.browser_context()
        page = None
        while self._idle_pages and page is None:
            candidate = self._idle_pages.pop()
            page = None if candidate.is_closed() else candidate
        if page is None:
            page = await browser_context.new_page()
        ok = False
        try:
            yield page
            ok = True
        finally:
            if ok and not page.is_closed() and self._context is browser_context:
                self._idle_pages.append(page)
            else:
                with contextlib.suppress(Exception):
                    await page.close()

    async def close(self) -> None:
        self._idle_pages.clear()
        if self._context is not None:
            with contextlib.suppress(Exception):  # the browser may already be gone
                await self._context.close()
            self._context = None


def _timed_out(exc: BaseException) -> bool:
    """A timeout rather than a refused or broken connection (httpx, Playwright, asyncio)."""
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return True
    return type(exc).__name__ == "TimeoutError" or "TIMED_OUT" in str(exc)


def _is_tracker(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return any(host == s or host.endswith("." + s) for s in BLOCKED_HOST_SUFFIXES)


async def _block_heavy(route: Any) -> None:
    request = route.request
    if request.resource_type in BLOCKED_RESOURCES or _is_tracker(request.url):
        await route.abort()
    else:
        await route.continue_()


class Fetcher:
    """One browser and one HTTP client for a worker process (or a CLI run).

    Use ``async with Fetcher(settings) as f`` or ``f = await Fetcher(settings).start()`` and
    ``await f.close()``. The browser is launched on the first page fetched.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or default_settings
        self.user_agent = self.settings.scrape_user_agent or DEFAULT_USER_AGENT
        self.timeout_ms = int(self.settings.scrape_timeout_seconds * 1000)
        self._gates: dict[str, Gate] = {}
        self._redis: Any = None
        self._http: httpx.AsyncClient | None = None
        self._playwright: Any = None
        self._browser: Any = None
        self._browser_lock = asyncio.Lock()
        self._contexts: dict[str, CityContext] = {}

    async def start(self) -> Fetcher:
        """Open the HTTP client (the browser waits for the first page)."""
        if self._http is None:
            self._http = httpx.AsyncClient(
                timeout=self.settings.scrape_timeout_seconds,
                follow_redirects=True,
                headers={
                    "User-Agent": self.user_agent,
                    "Accept": "application/json, text/html;q=0.9, */*;q=0.5",
                    "Accept-Language": "en-US,en;q=0.8",
                },
            )
        return self

    async def close(self) -> None:
        """Close every context, the browser, Playwright and the HTTP client."""
        for ctx in list(self._contexts.values()):
            await ctx.close()
        self._contexts.clear()
        if self._browser is not None:
            with contextlib.suppress(Exception):
                await self._browser.close()
            self._browser = None
        if self._playwright is not None:
            await self._playwright.stop()
            self._playwright = None
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def __aenter__(self) -> Fetcher:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- the browser ---------------------------------------------------------------

    def chromium_path(self) -> str:
        """The system Chromium: CHROMIUM_PATH, else `chromium` on PATH, else Debian's."""
        return self.settings.chromium_path or shutil.which("chromium") or "/usr/bin/chromium"

    async def browser(self) -> Any:
        """The process's Chromium, launched on first use and again if it died."""
        async with self._browser_lock:
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            if self._browser is not None:
                log.warning("chromium disconnected; launching it again")
                for ctx in self._contexts.values():
                    ctx._context = None
                    ctx._idle_pages.clear()
            if self._playwright is None:
                from playwright.async_api import async_playwright

                self._playwright = await async_playwright().start()
            self._browser = await self._playwright.chromium.launch(
                executable_path=self.chromium_path(),
                args=CHROMIUM_ARGS,
                timeout=self.timeout_ms,
            )
            return self._browser

    @contextlib.asynccontextmanager
    async def city_context(self, city_id: str) -> AsyncIterator[CityContext]:
        """A fresh browser context for a city, shared by whoever scrapes it at the moment
        and closed when the last of them is done."""
        ctx = self._contexts.get(city_id)
        if ctx is None:
            ctx = self._contexts[city_id] = CityContext(self, city_id)
        ctx.users += 1
        try:
            yield ctx
        finally:
            ctx.users -= 1
            if ctx.users == 0 and self._contexts.get(city_id) is ctx:
                del self._contexts[city_id]
                await ctx.close()

    # -- fetching ------------------------------------------------------------------

    def gate(self, url: str) -> Gate:
        """The host's gate: held in Redis for every worker when REDIS_URL is set, else
        this process's own."""
        host = urlsplit(url).netloc.lower()
        gate = self._gates.get(host)
        if gate is not None:
            return gate
        limit = self.settings.scrape_per_host_concurrency
        delay = self.settings.scrape_delay_seconds
        if self.settings.redis_url:
            if self._redis is None:
                import redis.asyncio as aioredis

                self._redis = aioredis.Redis.from_url(self.settings.redis_url)
            # A slot outlives the longest request (timeout + the 5 s of wait_for) a little.
            lease = self.settings.scrape_timeout_seconds + 10
            gate = RedisHostGate(self._redis, host, limit=limit, delay=delay, lease=lease)
        else:
            gate = HostGate(limit, delay)
        self._gates[host] = gate
        return gate

    async def fetch_page(
        self, url: str, *, source: str, context: CityContext | None = None
    ) -> FetchedPage:
        """Load ``url`` in Chromium and return its HTML.

        Raises BlockedPage (after trying Firecrawl, when configured) or FetchError.
        """
        if context is None:
            async with self.city_context(f"_adhoc:{id(asyncio.current_task())}") as ctx:
                return await self.fetch_page(url, source=source, context=ctx)

        from playwright.async_api import TimeoutError as PlaywrightTimeout

        async def attempt(_leaving: Leaving) -> _Answer:
            async with context.tab() as page:
                response = await page.goto(url, wait_until="commit", timeout=self.timeout_ms)
                status = response.status if response is not None else 200
                headers = await response.all_headers() if response is not None else {}
                try:
                    await page.wait_for_load_state("domcontentloaded", timeout=self.timeout_ms)
                except PlaywrightTimeout:
                    # A script that never loads holds up the DOM; the HTML as served still
                    # carries the embedded data the parsers read.
                    log.info("%s: %s did not finish loading; using the HTML as served", source, url)
                    text = await response.text() if response is not None else await page.content()
                    return _Answer(status, headers, text, page.url)
                consent = None
                if status < 400:
                    consent = await self._dismiss_consent(page)
                return _Answer(status, headers, await page.content(), page.url, consent)

        try:
            answer = await self._with_retries(source, url, attempt)
            self._check(source, url, answer)
        except BlockedPage as blocked:
            if not self.settings.firecrawl_api_key:
                raise
            log.info("%s: %s blocked (%s); trying Firecrawl", source, url, blocked.message)
            return await self.fetch_via_firecrawl(url, source=source, blocked=blocked)
        return FetchedPage(
            url, answer.final_url, answer.status, answer.text, "browser", answer.consent
        )

    async def fetch_http(self, url: str, *, source: str) -> FetchedPage:
        """GET ``url`` with plain HTTP (httpx): an API answer, a feed, or a page whose served
        HTML already carries its data. The text is returned unparsed for the parser."""
        client = (await self.start())._http
        assert client is not None

        async def attempt(leaving: Leaving) -> _Answer:
            async def trace(event: str, info: Mapping[str, Any]) -> None:
                if event in (
                    "http11.send_request_headers.started",
                    "http2.send_request_headers.started",
                ):
                    await leaving()  # the host's delay counts from here, not from the gate

            response = await client.get(url, extensions={"trace": trace})
            return _Answer(response.status_code, response.headers, response.text, str(response.url))

        answer = await self._with_retries(source, url, attempt)
        self._check(source, url, answer)
        return FetchedPage(url, answer.final_url, answer.status, answer.text, "http")

    async def fetch_feed(self, url: str, *, source: str) -> FetchedPage:
        """GET a city's calendar feed (a URL someone gave us) through the safe fetch: public
        addresses only, checked at every hop, within FEED_MAX_BYTES and FEED_TIMEOUT_SECONDS;
        the host's gate and the retries of every other request."""

        async def attempt(_leaving: Leaving) -> _Answer:
            try:
                page = await fetch_user_url(url, settings=self.settings)
            except RefusedURL as refused:
                if refused.status is not None:  # judged like any answer: 5xx retried...
                    return _Answer(refused.status, refused.headers, "", url)
                if refused.reason == "too_slow":
                    raise TimeoutError(refused.message) from refused
                if refused.reason == "unreachable":
                    raise httpx.ConnectError(refused.message) from refused
                raise RefusedFeed(source, url, refused.message) from refused
            return _Answer(page.status, {}, page.text, page.final_url)

        answer = await self._with_retries(source, url, attempt)
        self._check(source, url, answer)
        return FetchedPage(url, answer.final_url, answer.status, answer.text, "http")

    async def fetch_via_firecrawl(
        self, url: str, *, source: str, blocked: BlockedPage | None = None
    ) -> FetchedPage:
        """Fetch ``url`` through Firecrawl's ``/v1/scrape`` (raw HTML format)."""
        client = (await self.start())._http
        assert client is not None
        endpoint = self.settings.firecrawl_base_url.rstrip("/") + "/v1/scrape"
        reason = blocked.message if blocked else "blocked"
        try:
            response = await client.post(
                endpoint,
                json={"url": url, "formats": ["rawHtml"]},
                headers={"Authorization": f"Bearer {self.settings.firecrawl_api_key}"},
                timeout=max(60.0, self.settings.scrape_timeout_seconds * 2),
            )
        except httpx.HTTPError as exc:
            raise BlockedPage(source, url, f"{reason}; Firecrawl failed: {exc!r}") from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        data = body.get("data") if isinstance(body, dict) else None
        html = data.get("rawHtml") or data.get("html") if isinstance(data, dict) else None
        if response.status_code != 200 or not body.get("success") or not isinstance(html, str):
            detail = body.get("error") if isinstance(body, dict) else None
            raise BlockedPage(
                source,
                url,
                f"{reason}; Firecrawl answered HTTP {response.status_code}"
                + (f": {detail}" if detail else ""),
            )
        assert isinstance(data, dict)  # html came from it
        meta = data["metadata"] if isinstance(data.get("metadata"), dict) else {}
        status = int(meta.get("statusCode") or 200)
        self._check(source, url, _Answer(status, {}, html, url))
        return FetchedPage(url, str(meta.get("sourceURL") or url), status, html, "firecrawl")

    # -- helpers -------------------------------------------------------------------

    async def _dismiss_consent(self, page: Any) -> str | None:
        """Click a cookie/consent wall's accept button when there is one."""
        try:
            clicked = await page.evaluate(
                _CONSENT_JS, [list(CONSENT_SELECTORS), list(CONSENT_WORDS)]
            )
        except Exception as exc:  # a page that navigates away mid-check
            log.debug("consent check failed on %s: %r", page.url, exc)
            return None
        if clicked:
            log.debug("consent dismissed on %s via %s", page.url, clicked)
            with contextlib.suppress(Exception):
                await page.wait_for_load_state("domcontentloaded", timeout=5000)
        return clicked

    def _check(self, source: str, url: str, answer: _Answer) -> None:
        status = answer.status
        wait = retry_after_seconds(answer.headers.get("retry-after"))
        if status in (401, 403, 407, 429) or (status == 503 and block_reason(answer.text)):
            refused = block_reason(answer.text, status) or "refused"
            raise BlockedPage(source, url, refused, status=status, retry_after=wait)
        if status >= 400:
            raise FetchError(source, url, "unexpected answer", status=status, retry_after=wait)
        reason = block_reason(answer.text)
        if reason:
            raise BlockedPage(source, url, reason, status=status)

    async def _with_retries(
        self, source: str, url: str, attempt: Callable[[Leaving], Awaitable[_Answer]]
    ) -> _Answer:
        """Run ``attempt`` through the host's gate, retrying 429/5xx and network errors."""
        from playwright.async_api import Error as PlaywrightError

        tries = max(0, self.settings.scrape_max_retries)
        base = self.settings.scrape_backoff_seconds
        cap = self.settings.scrape_max_wait_seconds
        gate = self.gate(url)
        for n in range(tries + 1):
            try:
                async with gate.slot() as leaving:
                    answer = await asyncio.wait_for(
                        attempt(leaving), timeout=self.settings.scrape_timeout_seconds + 5
                    )
            except (httpx.TransportError, PlaywrightError, TimeoutError) as exc:
                if n == tries:
                    message = f"network error: {exc!r}"[:300]
                    raise FetchError(source, url, message, timed_out=_timed_out(exc)) from exc
                wait = backoff_delay(n, base=base, cap=cap)
                log.info("%s: %s failed (%r); again in %.1fs", source, url, exc, wait)
                await asyncio.sleep(wait)
                continue
            if answer.status not in RETRY_STATUSES:
                return answer
            if answer.status == 503 and block_reason(answer.text):
                return answer  # a challenge page, not an outage: retrying will not help
            asked = retry_after_seconds(answer.headers.get("retry-after"))
            wait = asked if asked is not None else backoff_delay(n, base=base, cap=cap)
            if n == tries or wait > cap:
                return answer
            log.info("%s: HTTP %d from %s; again in %.1fs", source, answer.status, url, wait)
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")


__all__ = [
    "BLOCKED_HOST_SUFFIXES",
    "CHROMIUM_ARGS",
    "CityContext",
    "FetchedPage",
    "Fetcher",
    "HostGate",
    "backoff_delay",
    "block_reason",
    "retry_after_seconds",
]
