"""A city's pages from one site: fetch, parse, follow the next page. No database.

:func:`crawl` is the only way events get from a site into the pipeline: the scrape job
(``workers.jobs.scrape``) stores what it yields, the CLI's ``scrape`` runs that job.
Each site fetches its pages the cheapest way that works: plain HTTP first, a browser only
when the site needs one and the plain answer was blocked or unreadable.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from scrapers.dedupe import filter_for_city
from scrapers.errors import BlockedPage, FetchError, UnrecognizedPage
from scrapers.event import ScrapedEvent
from scrapers.sites import CITY_SOURCES, SITES
from scrapers.sites.base import CityLike, CityRequest, FetchMode, Site

if TYPE_CHECKING:
    from nocturne.settings import Settings
    from scrapers.fetch import CityContext, Fetcher

log = logging.getLogger(__name__)

DROP_REASONS = ("spam", "past", "online")  # what filter_for_city counts as left out
END_OF_LISTING_STATUSES = frozenset({404, 410})  # a page past the first: no more pages


@dataclass(slots=True)
class Page:
    """One fetched page of one site: the events a city list shows, and what was dropped.

    ``found`` counts what the page listed; ``dropped`` (by reason in ``drop_counts``) what
    was left out as spam, past or online-only; ``repeated`` what an earlier page of the
    same crawl already yielded (not yielded again). ``number`` counts pages from 1.
    """

    source: str
    url: str
    events: list[ScrapedEvent]
    number: int = 1
    found: int = 0
    dropped: int = 0
    drop_counts: dict[str, int] = field(default_factory=dict)
    repeated: int = 0
    via: str = "http"


class SiteUrls:
    """Where a site's requests go (the configured base, a local server in tests) and the
    canonical URL the parser sees, so event links stay on the real site."""

    def __init__(self, site: Site, base: str) -> None:
        self.real = site.default_base
        self.base = base.rstrip("/")

    @staticmethod
    def _swap(url: str, old: str, new: str) -> str:
        if old != new and (url == old or url.startswith((old + "/", old + "?"))):
            return new + url[len(old) :]
        return url

    def canonical(self, url: str) -> str:
        return self._swap(url, self.base, self.real)

    def fetchable(self, url: str) -> str:
        return self._swap(url, self.real, self.base)


def site_base(site: Site, base_urls: Mapping[str, str]) -> str:
    """The root a site's requests go to: the configured override, else its real root."""
    return (base_urls.get(site.name) or site.default_base).rstrip("/")


def site_options(settings: Settings) -> dict[str, object]:
    """What sites' first requests may read of the settings (Meetup's search keywords)."""
    return {"keywords": list(settings.scrape_meetup_keywords)}


def city_requests(
    site: Site, city: CityLike, base_urls: Mapping[str, str], options: Mapping[str, object]
) -> list[CityRequest]:
    """A city's first requests to a site, on the configured base."""
    return list(site.first_requests(city, site_base(site, base_urls), options))


def city_sources(
    city: CityLike, base_urls: Mapping[str, str], options: Mapping[str, object]
) -> list[str]:
    """The registry's own sources that list ``city`` (19hz only where a region covers it)."""
    return [name for name in CITY_SOURCES if city_requests(SITES[name], city, base_urls, options)]


async def _fetch_text(ctx: CityContext, site: Site, url: str, mode: FetchMode) -> tuple[str, str]:
    if mode == "browser":
        page = await ctx.fetch_page(url, source=site.name)
    elif site.from_feeds:  # someone's calendar: the safe fetch, with its caps
        page = await ctx.fetcher.fetch_feed(url, source=site.name)
    else:
        page = await ctx.fetcher.fetch_http(url, source=site.name)
    return page.text, page.via


@dataclass(slots=True)
class _Crawl:
    site: Site
    tz: str
    now: datetime
    urls: SiteUrls
    modes: list[FetchMode]
    seen: set[str] = field(default_factory=set)

    async def fetch_and_parse(
        self, ctx: CityContext, url: str
    ) -> tuple[list[ScrapedEvent], str, str]:
        """Fetch ``url`` the cheapest way that works; a mode that fails falls to the next,
        and the one that worked is kept for the rest of the crawl."""
        canonical = self.urls.canonical(url)
        for i, mode in enumerate(self.modes):
            last = i == len(self.modes) - 1
            try:
                text, via = await _fetch_text(ctx, self.site, url, mode)
                events = self.site.parse(text, canonical, tz=self.tz, now=self.now)
            except (BlockedPage, UnrecognizedPage) as exc:
                if last:
                    raise
                log.info(
                    "%s: %s over %s (%s); trying %s",
                    self.site.name,
                    url,
                    mode,
                    exc,
                    self.modes[i + 1],
                )
                continue
            self.modes = self.modes[i:]
            log.debug("%s: %d events from %s via %s", self.site.name, len(events), url, via)
            return events, text, via
        raise AssertionError("unreachable")

    def page(self, url: str, number: int, events: list[ScrapedEvent], via: str) -> Page:
        kept, counts = filter_for_city(events, now=self.now)
        fresh = [e for e in kept if e.link not in self.seen]
        self.seen.update(e.link for e in fresh)
        drops = {k: counts[k] for k in DROP_REASONS if counts.get(k)}
        return Page(
            source=self.site.name,
            url=url,
            events=fresh,
            number=number,
            found=len(events),
            dropped=sum(drops.values()),
            drop_counts=drops,
            repeated=len(kept) - len(fresh),
            via=via,
        )


async def crawl(
    *,
    fetcher: Fetcher,
    site: Site,
    city: CityLike,
    requests: Sequence[CityRequest] | None = None,
    max_pages: int | None = None,
    now: datetime | None = None,
) -> AsyncIterator[Page]:
    """Yield one :class:`Page` per page of ``site`` for ``city``, as fetched.

    ``requests`` are the first requests (default: the site's own for the city; a feed's
    URL for feed-driven sites). From each, next pages are followed while a page has events
    and names a next one, ``max_pages`` at most (``SCRAPE_MAX_PAGES``). Events are
    upcoming, in-person and not spam; each is yielded once. The very first page being
    unrecognisable raises UnrecognizedPage; a later one is logged and ends its chain, as
    does a next page answering 404/410 or listing nothing. Other BlockedPage and
    FetchError propagate.
    """
    settings = fetcher.settings
    base_urls = settings.source_base_urls
    if requests is None:
        requests = city_requests(site, city, base_urls, site_options(settings))
    limit = max(1, max_pages if max_pages is not None else settings.scrape_max_pages)
    state = _Crawl(
        site,
        city.timezone,
        now or datetime.now(UTC),
        SiteUrls(site, site_base(site, base_urls)),
        list(site.fetch),
    )
    first = True
    async with fetcher.city_context(city.id) as ctx:
        for request in requests:
            url: str | None = request.url
            for number in range(1, limit + 1):
                assert url is not None
                try:
                    events, text, via = await state.fetch_and_parse(ctx, url)
                except UnrecognizedPage as exc:
                    if first:
                        raise
                    log.warning("%s; ending this listing here", exc)
                    break
                except FetchError as exc:
                    # A next page that is not there: the listing ended, nothing failed.
                    if number == 1 or exc.status not in END_OF_LISTING_STATUSES:
                        raise
                    log.info("%s; the listing ends at page %d", exc, number - 1)
                    break
                first = False
                yield state.page(url, number, events, via)
                next_url = site.next_page(text, state.urls.canonical(url))
                if not events or next_url is None:
                    break
                url = state.urls.fetchable(next_url)
            else:
                log.info("%s %s: stopped at the page limit (%d)", site.name, city.id, limit)


__all__ = [
    "DROP_REASONS",
    "Page",
    "SiteUrls",
    "city_requests",
    "crawl",
    "site_base",
    "site_options",
]
