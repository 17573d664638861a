"""What a source is: the one shape every module in ``scrapers/sites/`` fills in.

A :class:`Site` says how to recognise the source's pages (hosts, content markers, a
content test), where it lives (its real root, overridable per deployment through
``settings.source_base_urls``), how to build a city's first requests and the next page,
how its answers are fetched (plain HTTP before a browser), and its pure ``parse``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from scrapers.event import ScrapedEvent

FetchMode = Literal["http", "browser"]


class Parser(Protocol):
    def __call__(
        self, text: str, url: str, *, tz: str | None = None, now: datetime | None = None
    ) -> list[ScrapedEvent]: ...


class CityLike(Protocol):
    """What a site needs of a city (``nocturne.cities.City`` is one)."""

    @property
    def id(self) -> str: ...
    @property
    def latitude(self) -> float: ...
    @property
    def longitude(self) -> float: ...
    @property
    def timezone(self) -> str: ...
    @property
    def slugs(self) -> Mapping[str, str]: ...


@dataclass(frozen=True, slots=True)
class CityRequest:
    """A city's first request to a site: the URL to fetch (on the fetch base)."""

    url: str
    label: str = ""  # what this request asks for ("music" for a Meetup keyword), for logs


def _no_next(text: str, url: str) -> str | None:
    return None


def _no_requests(city: CityLike, base: str, options: Mapping[str, object]) -> Sequence[CityRequest]:
    return ()


@dataclass(frozen=True, slots=True)
class Site:
    """One source. ``parse(text, url, *, tz, now)`` must be pure: text in, events out.

    ``home`` is the real site's root (event links are built on it); ``fetch_base`` the root
    requests go to when it differs (Luma's API host). ``first_requests(city, base,
    options)`` builds a city's requests on ``base`` (the configured fetch root); a site
    without it is fed by URLs from data (a city's calendar feeds). ``min_interval`` caps
    how often one URL is fetched (19hz's hand-kept pages: once a day). ``city_key`` reads
    the place an event names, for sites whose page covers a region of several cities.
    """

    name: str
    display_name: str
    home: str
    parse: Parser
    fetch_base: str | None = None
    hosts: tuple[str, ...] = ()
    markers: tuple[str, ...] = ()
    detect: Callable[[str], bool] | None = None
    generic: bool = False  # a format many sites carry: detected only when no site claims it
    fetch: tuple[FetchMode, ...] = ("http",)
    first_requests: Callable[[CityLike, str, Mapping[str, object]], Sequence[CityRequest]] = (
        _no_requests
    )
    next_page: Callable[[str, str], str | None] = _no_next
    from_feeds: bool = False
    min_interval: timedelta | None = None
    city_key: Callable[[ScrapedEvent], str | None] | None = None
    credit: str = ""

    @property
    def default_base(self) -> str:
        return (self.fetch_base or self.home).rstrip("/")

    def owns_host(self, host: str) -> bool:
        """Whether a URL host is this site's (``"eventbrite.*"`` matches any country domain)."""
        host = host.casefold()
        labels = host.split(".")[:-1]
        return any(
            (h[:-2] in labels) if h.endswith(".*") else (host == h or host.endswith("." + h))
            for h in self.hosts
        )
