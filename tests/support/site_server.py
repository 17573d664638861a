"""A real local HTTP server that plays the sources from saved pages.

Pages are served under each source's real URL paths (``/d/<state>--<city>/all-events/
?page=N``, ``/find/?location=...&keywords=...``, the Luma API's
``/discover/get-paginated-events?...``, 19hz's ``/eventlisting_<region>.php``), and
calendar feeds and venue pages under paths of their own, with their dates shifted so that
the fixtures' December 2026 falls a week from today (past events stay past). The server can add
latency, answer 429 with ``Retry-After`` or a 5xx a given number of times, serve a block
page, and it records every request (when it arrived and was answered, and on which address:
``SiteServer(addresses=("127.0.0.2", "127.0.0.3"))`` listens on each, one host per
source as in production, see ``source_urls``). It also speaks Firecrawl's ``POST /v1/scrape``,
answering from its own pages, so the fetcher's fallback can be tested end to end.

    with SiteServer.chicago(latency=0.05) as srv:
        settings = Settings(**srv.settings_overrides())
        ...
        srv.count("/d/il--chicago/all-events/")
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route as StarletteRoute

PAGES = Path(__file__).resolve().parent.parent / "fixtures" / "pages"
# The fixtures' events sit in late November / December 2026; this day is moved to a week
# from today, so "upcoming" and "past" keep their meaning in the shifted pages.
FIXTURE_ANCHOR = date(2026, 12, 1)
_DATE_RE = re.compile(r"(?<![\d-])(\d{4})-(\d{2})-(\d{2})(?![\d])")

BLOCK_PAGE = (
    "<!DOCTYPE html><html><head><title>Access denied</title></head><body>"
    "<h1>Please verify you are a human</h1>"
    '<div id="px-captcha"></div></body></html>'
)


def default_shift_days(today: date | None = None) -> int:
    """Days to add to fixture dates so FIXTURE_ANCHOR lands a week from ``today``."""
    today = today or datetime.now(UTC).date()
    return (today + timedelta(days=7) - FIXTURE_ANCHOR).days


def shift_dates(text: str, days: int) -> str:
    """Every valid ``YYYY-MM-DD`` in ``text`` moved by ``days`` (invalid dates kept as is);
    in an iCalendar feed its events' dates (``20261205T033000Z``), in a 19hz listing its
    rows' dates (``Sat: Dec 19``, weekdays included, and the ``2026/12/19`` sort dates)."""
    if not days:
        return text
    if text.lstrip("\ufeff").startswith("BEGIN:VCALENDAR"):
        text = _shift_ical(text, days)
    elif "Event Title @ Venue" in text:
        text = _shift_19hz(text, days)

    def move(match: re.Match[str]) -> str:
        try:
            day = date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return match[0]
        return (day + timedelta(days=days)).isoformat()

    return _DATE_RE.sub(move, text)


_ICAL_DATE_RE = re.compile(r"(?<=[:;=,])(20\d{2})(\d{2})(\d{2})(?=T\d{6}|[;,\r\n]|$)")
_ICAL_WHEN = ("DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE", "RRULE", "DUE")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_HZ_DAY_RE = re.compile(
    r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun): (" + "|".join(_MONTHS) + r") (\d{1,2})\b"
)
_HZ_HOURS_DAY_RE = re.compile(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun): (?=\d|noon|midnight)")
_HZ_SORT_RE = re.compile(r"(?<=>)(\d{4})/(\d{2})/(\d{2})(?=<)")


def _shift_ical(text: str, days: int) -> str:
    """The dates of a feed's events (not of its VTIMEZONE rules, nor DTSTAMP/CREATED)."""

    def move(match: re.Match[str]) -> str:
        day = date(int(match[1]), int(match[2]), int(match[3])) + timedelta(days=days)
        return f"{day:%Y%m%d}"

    out, in_zone = [], False
    for line in text.splitlines(keepends=True):
        name = re.split(r"[;:]", line, maxsplit=1)[0].strip().upper()
        if line.startswith(("BEGIN:VTIMEZONE", "END:VTIMEZONE")):
            in_zone = line.startswith("BEGIN")
        elif not in_zone and name in _ICAL_WHEN:
            line = _ICAL_DATE_RE.sub(move, line)
        out.append(line)
    return "".join(out)


def _near_anchor(month: int, day: int) -> date:
    """The date with this month and day nearest FIXTURE_ANCHOR (fixtures span the turn
    of the year)."""
    options = []
    for year in range(FIXTURE_ANCHOR.year - 1, FIXTURE_ANCHOR.year + 2):
        with contextlib.suppress(ValueError):  # Feb 29
            options.append(date(year, month, day))
    return min(options, key=lambda d: abs((d - FIXTURE_ANCHOR).days))


def _shift_19hz(text: str, days: int) -> str:
    def move_day(match: re.Match[str]) -> str:
        day = _near_anchor(_MONTHS.index(match[2]) + 1, int(match[3])) + timedelta(days=days)
        return f"{_WEEKDAYS[day.weekday()]}: {_MONTHS[day.month - 1]} {day.day}"

    def move_weekday(match: re.Match[str]) -> str:
        return f"{_WEEKDAYS[(_WEEKDAYS.index(match[1]) + days) % 7]}: "

    def move_sort(match: re.Match[str]) -> str:
        day = date(int(match[1]), int(match[2]), int(match[3])) + timedelta(days=days)
        return f"{day:%Y/%m/%d}"

    text = _HZ_HOURS_DAY_RE.sub(move_weekday, text)
    text = _HZ_DAY_RE.sub(move_day, text)
    return _HZ_SORT_RE.sub(move_sort, text)


@dataclass(slots=True)
class Route:
    """One page: its path, the query parameters it must match, and what to answer.

    ``query`` values must equal the request's; a None value means "absent". The route
    with the most matching parameters wins. ``body`` is text or a fixture path
    (relative to tests/fixtures/pages).
    """

    path: str
    body: str | Path
    query: Mapping[str, str | None] = field(default_factory=dict)
    status: int = 200
    content_type: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (a slow script, a slow API)
    shift: bool = True  # move its dates like the fixtures' (False: served as written)

    def matches(self, path: str, params: Mapping[str, str]) -> int | None:
        if path.rstrip("/") != self.path.rstrip("/"):
            return None
        for name, wanted in self.query.items():
            if (name in params) if wanted is None else (params.get(name) != wanted):
                return None
        return len(self.query)


@dataclass(slots=True)
class Hit:
    """One request the server saw (``at``: when it arrived, ``done``: when its answer was
    ready, both time.monotonic(); ``host``: the address:port it came to)."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    at: float
    headers: dict[str, str]
    host: str = ""
    done: float = 0.0


@dataclass(slots=True)
class _Fault:
    status: int
    times: int
    retry_after: str | None = None
    body: str = ""


class SiteServer:
    """The local stand-in for the sources (and Firecrawl). A context manager."""

    def __init__(
        self,
        routes: Iterable[Route] = (),
        *,
        latency: float = 0.0,
        shift_days: int | None = None,
        firecrawl_key: str | None = None,
        addresses: Sequence[str] = ("127.0.0.1",),
    ) -> None:
        self.routes: list[Route] = list(routes)
        self.addresses = list(addresses)
        self.latency = latency
        self.shift_days = default_shift_days() if shift_days is None else shift_days
        self.firecrawl_key = firecrawl_key
        self.hits: list[Hit] = []
        self.active = 0
        self.max_active = 0
        self._faults: dict[str, _Fault] = {}
        self._blocked: set[str] = set()
        self._lock = threading.Lock()
        self._cache: dict[Path, str] = {}
        self._shifted: dict[tuple[Path, int], str] = {}
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sockets: list[socket.socket] = []
        self.port = 0
        self.ports: list[int] = []

    # -- presets -------------------------------------------------------------------

    @classmethod
    def chicago(cls, **kwargs: Any) -> SiteServer:
        """Chicago on every source, from the project's fixtures.

        Eventbrite: page 1 (browse), page 2, page 3 empty. Meetup: the find page for every
        keyword. Luma: the discover API (by coordinates or place id), then an empty page
        for the cursor it hands out. 19hz: the Chicago and Los Angeles region pages. The
        feeds of CHICAGO_FEEDS: a venue's iCalendar feed and a venue's schema.org page.
        """
        return cls(chicago_routes(), **kwargs)

    # -- control -------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self.base_urls[0]

    @property
    def base_urls(self) -> list[str]:
        """One origin per address listened on."""
        return [f"http://{a}:{p}" for a, p in zip(self.addresses, self.ports, strict=True)]

    def source_urls(self, sources: Iterable[str]) -> dict[str, str]:
        """``source_base_urls`` giving each source an address of its own (in turn)."""
        urls = self.base_urls
        return {name: urls[i % len(urls)] for i, name in enumerate(sources)}

    def settings_overrides(self, **extra: Any) -> dict[str, Any]:
        """Settings fields pointing every source (and Firecrawl) here, with no delays."""
        from scrapers.sites import SITES

        values: dict[str, Any] = {
            "source_base_urls": dict.fromkeys(SITES, self.base_url),
            "firecrawl_base_url": self.base_url,
            "scrape_delay_seconds": 0.0,
            "scrape_backoff_seconds": 0.05,
            "scrape_timeout_seconds": 15.0,
            # This server is on 127.0.0.1: the feeds it serves are private addresses.
            "allow_private_feed_hosts": True,
        }
        values.update(extra)
        return values

    def add(self, route: Route) -> None:
        """Serve one more page (a later route beats an earlier one on a tie)."""
        with self._lock:
            self.routes.append(route)

    def fail(
        self, path: str, *, status: int = 429, times: int = 1, retry_after: str | None = None
    ) -> None:
        """Answer ``status`` for the next ``times`` requests to ``path``."""
        with self._lock:
            self._faults[path.rstrip("/")] = _Fault(status, times, retry_after, f"HTTP {status}")

    def block(self, path: str, on: bool = True) -> None:
        """Serve a captcha block page (HTTP 200) at ``path`` until unblocked."""
        with self._lock:
            (self._blocked.add if on else self._blocked.discard)(path.rstrip("/"))

    def requests_to(self, path: str) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.path.rstrip("/") == path.rstrip("/")]

    def count(self, path: str | None = None) -> int:
        """Requests seen (to ``path``, or to anything)."""
        return len(self.requests_to(path)) if path else len(self.hits)

    def reset_counts(self) -> None:
        with self._lock:
            self.hits.clear()
            self.max_active = 0

    # -- serving -------------------------------------------------------------------

    def page_text(self, route: Route) -> str:
        if isinstance(route.body, Path):
            path = route.body if route.body.is_absolute() else PAGES / route.body
            if path not in self._cache:
                self._cache[path] = path.read_text(encoding="utf-8")
            text = self._cache[path]
            if route.shift:  # shifting a big page takes long enough to blur the log's times
                key = (path, self.shift_days)
                if key not in self._shifted:
                    self._shifted[key] = shift_dates(text, self.shift_days)
                return self._shifted[key]
            return text
        return shift_dates(route.body, self.shift_days) if route.shift else route.body

    def find(self, path: str, params: Mapping[str, str]) -> Route | None:
        best: tuple[int, int, Route] | None = None
        with self._lock:
            for i, route in enumerate(self.routes):
                score = route.matches(path, params)
                if score is not None and (best is None or (score, i) >= best[:2]):
                    best = (score, i, route)
        return best[2] if best else None

    def _record(self, request: Request, status: int, arrived: float | None = None) -> None:
        now = time.monotonic()
        server = request.scope.get("server") or ("", 0)
        with self._lock:
            self.hits.append(
                Hit(
                    request.method,
                    request.url.path,
                    dict(request.query_params),
                    status,
                    now if arrived is None else arrived,
                    {k.lower(): v for k, v in request.headers.items()},
                    f"{server[0]}:{server[1]}",
                    now,
                )
            )

    async def _serve(self, request: Request) -> Response:
        arrived = time.monotonic()
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            route = self.find(request.url.path, dict(request.query_params))
            delay = self.latency + (route.delay if route else 0.0)
            if delay:
                await asyncio.sleep(delay)
            response = self._answer(request.url.path, dict(request.query_params))
            self._record(request, response.status_code, arrived)
            return response
        finally:
            with self._lock:
                self.active -= 1

    def _answer(self, path: str, params: Mapping[str, str], *, firecrawl: bool = False) -> Response:
        key = path.rstrip("/")
        if not firecrawl:
            with self._lock:
                fault = self._faults.get(key)
                if fault and fault.times > 0:
                    fault.times -= 1
                    headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                    return Response(fault.body, fault.status, headers, media_type="text/plain")
                blocked = key in self._blocked
            if blocked:
                return Response(BLOCK_PAGE, 200, media_type="text/html")
        route = self.find(path, params)
        if route is None:
            return Response("<html><title>Not found</title></html>", 404, media_type="text/html")
        text = self.page_text(route)
        media = route.content_type or (
            "application/json" if text.lstrip().startswith(("{", "[")) else "text/html"
        )
        return Response(text, route.status, dict(route.headers), media_type=media)

    async def _firecrawl(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.firecrawl_key}":
            self._record(request, 401)
            return JSONResponse({"success": False, "error": "Unauthorized"}, 401)
        body = await request.json()
        from urllib.parse import parse_qsl, urlsplit

        target = urlsplit(str(body.get("url", "")))
        answer = self._answer(target.path or "/", dict(parse_qsl(target.query)), firecrawl=True)
        self._record(request, 200)
        page = bytes(answer.body).decode("utf-8")
        return JSONResponse(
            {
                "success": True,
                "data": {
                    "rawHtml": page,
                    "metadata": {"sourceURL": body.get("url"), "statusCode": answer.status_code},
                },
            }
        )

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                StarletteRoute("/v1/scrape", self._firecrawl, methods=["POST"]),
                StarletteRoute("/{path:path}", self._serve, methods=["GET", "HEAD"]),
            ]
        )

    def start(self) -> SiteServer:
        self._sockets = []
        for address in self.addresses:
            sock = socket.socket()
            sock.bind((address, 0))
            self._sockets.append(sock)
        self.ports = [s.getsockname()[1] for s in self._sockets]
        self.port = self.ports[0]
        config = uvicorn.Config(
            self.app(),
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": self._sockets}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("site server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None
        for sock in self._sockets:
            sock.close()
        self._sockets = []

    def __enter__(self) -> SiteServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


ICS = "text/calendar; charset=utf-8"
# Calendar feeds and venue pages a test registers as a city's CityFeed rows (their URLs
# on this server): name, path, kind. The city page credits each by its name.
CHICAGO_FEEDS: tuple[tuple[str, str, str], ...] = (
    ("Ember Room calendar", "/calendar/ember-room/basic.ics", "ical"),
    ("The Lantern Room", "/lantern-room/events/", "schema_org"),
)


def chicago_routes() -> list[Route]:
    """The fixtures as Chicago's pages, under each source's real paths; 19hz's Chicago and
    Los Angeles region pages; the Chicago feeds of CHICAGO_FEEDS."""
    eb = "/d/il--chicago/all-events/"
    return [
        Route("/eventlisting_CHI.php", Path("19hz/eventlisting_CHI.html")),
        Route("/eventlisting_LosAngeles.php", Path("19hz/eventlisting_LosAngeles.html")),
        Route(CHICAGO_FEEDS[0][1], Path("ical/venue_feed.ics"), content_type=ICS),
        Route(CHICAGO_FEEDS[1][1], Path("schema_org/venue_events.html")),
        Route(eb, Path("eventbrite/city_browse.html")),
        Route(eb, Path("eventbrite/city_browse.html"), {"page": "1"}),
        Route(eb, Path("eventbrite/search_page2.html"), {"page": "2"}),
        Route(eb, Path("eventbrite/empty_search.html"), {"page": "3"}),
        Route("/find/", Path("meetup/find_page.html"), {"location": "us--il--chicago"}),
        Route("/chicago", Path("luma/discover_page.html")),
        Route("/discover/get-paginated-events", Path("luma/discover_chicago.json")),
        Route(
            "/discover/get-paginated-events",
            Path("luma/empty_calendar.json"),
            {"pagination_cursor": "eyJzdiI6IjIwMjYtMTItMTMifQ"},
        ),
    ]


def city_routes(city_id: str) -> list[Route]:
    """The Chicago fixtures of Eventbrite (3 pages), Meetup and Luma served as any city's
    pages, under each source's real paths (for benches and tests of many cities)."""
    eb = f"/d/{city_id}/all-events/"
    return [
        Route(eb, Path("eventbrite/city_browse.html")),
        Route(eb, Path("eventbrite/city_browse.html"), {"page": "1"}),
        Route(eb, Path("eventbrite/search_page2.html"), {"page": "2"}),
        Route(eb, Path("eventbrite/empty_search.html"), {"page": "3"}),
        Route("/find/", Path("meetup/find_page.html"), {"location": f"us--{city_id}"}),
        Route("/discover/get-paginated-events", Path("luma/discover_chicago.json")),
        Route(
            "/discover/get-paginated-events",
            Path("luma/empty_calendar.json"),
            {"pagination_cursor": "eyJzdiI6IjIwMjYtMTItMTMifQ"},
        ),
    ]


def page_with(events_html: str, *, title: str = "Events", head: str = "") -> str:
    """A small HTML page (for tests that need a page of their own)."""
    return (
        f"<!DOCTYPE html><html><head><title>{title}</title>{head}</head>"
        f"<body>{events_html}</body></html>"
    )


__all__ = [
    "BLOCK_PAGE",
    "CHICAGO_FEEDS",
    "FIXTURE_ANCHOR",
    "ICS",
    "Hit",
    "Route",
    "SiteServer",
    "chicago_routes",
    "city_routes",
    "default_shift_days",
    "page_with",
    "shift_dates",
]
