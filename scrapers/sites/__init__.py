"""The site parsers, by source name, and a detector for which site a page came from."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from scrapers.errors import UnrecognizedPage
from scrapers.event import ScrapedEvent
from scrapers.sites import eventbrite, luma, meetup
from scrapers.sites.common import looks_like_json

Parser = Callable[..., list[ScrapedEvent]]
NextPage = Callable[[str, str], str | None]

PARSERS: dict[str, Parser] = {
    "eventbrite": eventbrite.parse,
    "meetup": meetup.parse,
    "luma": luma.parse,
}
NEXT_PAGE: dict[str, NextPage] = {
    "eventbrite": eventbrite.next_page_url,
    "meetup": meetup.next_page_url,
    "luma": luma.next_page_url,
}

_HOST_SUFFIXES = (
    ("meetup.com", "meetup"),
    ("lu.ma", "luma"),
    ("luma.com", "luma"),
)
# Markers counted in the first part of a page when its URL does not tell.
_MARKERS = {
    "eventbrite": ("eventbrite.", "evbuc.com", "evbstatic.com"),
    "meetup": ("meetup.com/", "meetupstatic.com"),
    "luma": ("luma.com/", "lu.ma/", "lumacdn.com"),
}
_SNIFF = 200_000


def site_for_url(url: str) -> str | None:
    """The source a URL belongs to, from its host (any Eventbrite country domain)."""
    host = (urlsplit(url).hostname or "").casefold() if "://" in url else ""
    if not host:
        return None
    labels = host.split(".")
    if "eventbrite" in labels[:-1]:
        return "eventbrite"
    for suffix, site in _HOST_SUFFIXES:
        if host == suffix or host.endswith("." + suffix):
            return site
    return None


def detect_site(text: str, url: str = "") -> str:
    """Which source a page (or API answer) came from: by URL host, else by content.

    Raises UnrecognizedPage("unknown", url) when neither tells.
    """
    site = site_for_url(url)
    if site:
        return site
    head = text[:_SNIFF]
    if looks_like_json(text):
        if '"entries"' in head and ('"start_at"' in head or '"has_more"' in head):
            return "luma"
        raise UnrecognizedPage("unknown", url, "JSON that no known source answers with")
    if "__SERVER_DATA__" in head or "__SERVER_DATA__" in text:
        return "eventbrite"
    if "__APOLLO_STATE__" in head and "meetup" in head:
        return "meetup"
    counts = {name: sum(head.count(m) for m in marks) for name, marks in _MARKERS.items()}
    best = max(counts, key=lambda name: counts[name])
    if counts[best] == 0:
        raise UnrecognizedPage("unknown", url, "no known source's markers")
    return best


def parse_page(
    text: str, url: str = "", *, site: str | None = None, tz: str | None = None
) -> list[ScrapedEvent]:
    """Parse with the given site's parser, or the detected one's."""
    name = site or detect_site(text, url)
    if name not in PARSERS:
        raise ValueError(f"unknown site {name!r}; known: {', '.join(PARSERS)}")
    return PARSERS[name](text, url, tz=tz)


__all__ = ["NEXT_PAGE", "PARSERS", "detect_site", "parse_page", "site_for_url"]
