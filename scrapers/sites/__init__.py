"""SITES: the one registry of sources, name -> :class:`Site`. Everything else reads it.

Detection, fetching, the settings' base URLs, city slugs, the API's enums, the UI's badges
and the tests' site server are all derived from this mapping. Adding a source is a module
in this package and one line here.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from scrapers.errors import UnrecognizedPage
from scrapers.event import ScrapedEvent
from scrapers.sites import eventbrite, ical, luma, meetup, nineteen_hz, schema_org
from scrapers.sites.base import CityRequest, Site
from scrapers.sites.common import looks_like_json

SITES: dict[str, Site] = {
    site.name: site
    for site in (
        eventbrite.SITE,
        meetup.SITE,
        luma.SITE,
        nineteen_hz.SITE,
        ical.SITE,
        schema_org.SITE,
    )
}
SOURCE_NAMES: tuple[str, ...] = tuple(SITES)
# Sources a city scrape runs for every city; feed-driven ones run for the feeds it has.
CITY_SOURCES: tuple[str, ...] = tuple(n for n, s in SITES.items() if not s.from_feeds)
DISPLAY_NAMES: dict[str, str] = {n: s.display_name for n, s in SITES.items()}
# What the pages and the API docs say events come from: "Eventbrite, Meetup, Luma, 19hz and
# venues' and collectives' own calendars".
GATHERED_FROM = ", ".join(DISPLAY_NAMES[n] for n in CITY_SOURCES) + (
    " and venues' and collectives' own calendars"
    if any(s.from_feeds for s in SITES.values())
    else ""
)
_SNIFF = 200_000


def get_site(name: str) -> Site:
    """The site called ``name``; ValueError naming the known ones otherwise."""
    site = SITES.get(name)
    if site is None:
        raise ValueError(f"unknown source {name!r}; known: {', '.join(SITES)}")
    return site


def site_for_url(url: str) -> str | None:
    """The source a URL belongs to, from its host."""
    host = (urlsplit(url).hostname or "") if "://" in url else ""
    if not host:
        return None
    return next((name for name, site in SITES.items() if site.owns_host(host)), None)


def detect_site(text: str, url: str = "") -> str:
    """Which source a page, feed or API answer came from: by URL host, then by each site's
    content test, then by counting each site's markers in the first part of the text, and
    last by generic formats that many sites' pages carry (schema.org events).

    Raises UnrecognizedPage("unknown", url) when nothing tells.
    """
    site = site_for_url(url)
    if site:
        return site
    specific = [(n, s) for n, s in SITES.items() if not s.generic]
    for name, candidate in specific:
        if candidate.detect is not None and candidate.detect(text):
            return name
    if looks_like_json(text):
        raise UnrecognizedPage("unknown", url, "JSON that no known source answers with")
    head = text[:_SNIFF]
    counts = {name: sum(head.count(m) for m in s.markers) for name, s in specific}
    best = max(counts, key=lambda name: counts[name])
    if counts[best] > 0:
        return best
    for name, candidate in SITES.items():
        if candidate.generic and candidate.detect is not None and candidate.detect(text):
            return name
    raise UnrecognizedPage("unknown", url, "no known source's markers")


def parse_page(
    text: str,
    url: str = "",
    *,
    site: str | None = None,
    tz: str | None = None,
    now: datetime | None = None,
) -> list[ScrapedEvent]:
    """Parse with the given site's parser, or the detected one's."""
    chosen = get_site(site or detect_site(text, url))
    return chosen.parse(text, url or chosen.home + "/", tz=tz, now=now)


__all__ = [
    "CITY_SOURCES",
    "DISPLAY_NAMES",
    "SITES",
    "SOURCE_NAMES",
    "CityRequest",
    "Site",
    "detect_site",
    "get_site",
    "parse_page",
    "site_for_url",
]
