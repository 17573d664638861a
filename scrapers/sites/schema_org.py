"""Any venue's events page that carries schema.org ``Event`` JSON-LD.

Venue sites (Live Nation's venue pages, theatre and club websites, WordPress calendars)
describe their shows in ``<script type="application/ld+json">`` blocks: one block per
event, one block holding a list of events, an ``ItemList`` of ``ListItem``s, or a
``@graph`` mixing events with the venue's Organization and WebPage nodes. Any node typed
``Event`` or a subtype (``MusicEvent``, ``TheaterEvent``, ``ComedyEvent``, ``Festival``...)
is read with the shared JSON-LD rules (:func:`scrapers.sites.common.event_from_jsonld`):

- ``startDate``/``endDate`` with an offset keep it; floating local times
  (``2025-05-03T19:00``) are read in ``tz``; a bare date gives a ``date_only`` event;
- relative URLs (``url``, images) resolve against the page URL;
- names and descriptions are plain text (HTML entities decoded, tags dropped).

An event's link is its ``url`` (or an ``@id`` without a fragment). Events that have none,
or whose ``url`` is only the listing page itself, are linked to the page with a stable
anchor made of their local start and title: ``<page>#2025-05-03-1900-superheaven``. The
page is the URL it was fetched from; a saved page read without one falls back to its
canonical link, ``og:url``, or the URL of the site its JSON-LD describes.
The same event listed twice (an ItemList summary and a full block) is merged, per link
and start day. Pages are read one at a time: no next page is followed.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from scrapers.clean import canonical_link
from scrapers.errors import MalformedItem, UnrecognizedPage
from scrapers.event import ScrapedEvent
from scrapers.sites.base import Site
from scrapers.sites.common import (
    collect,
    event_from_jsonld,
    is_event_node,
    jsonld_blocks,
    merge_by_link,
    scan_jsonld,
)

SOURCE = "schema_org"
_LD_MARK_RE = re.compile(r"application/ld\+json", re.IGNORECASE)
_CANONICAL_RE = re.compile(r"<link\b[^>]*\brel\s*=\s*[\"']?canonical\b[^>]*>", re.IGNORECASE)
_OG_URL_RE = re.compile(r"<meta\b[^>]*\bproperty\s*=\s*[\"']?og:url\b[^>]*>", re.IGNORECASE)
_TARGET_RE = re.compile(r"\b(?:href|content)\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)
_SLUG_RE = re.compile(r"[^a-z0-9]+")
_SLUG_TITLE_CHARS = 60


def has_event_jsonld(text: str) -> bool:
    """Whether the page's JSON-LD holds at least one schema.org Event node."""
    if not _LD_MARK_RE.search(text):
        return False
    return bool(scan_jsonld(jsonld_blocks(text)).events)


def slugify(text: str, limit: int | None = None) -> str:
    """Lower-case ASCII words joined by ``-`` (``"Jazz Is Dead: Ebo & Pat"`` ->
    ``"jazz-is-dead-ebo-pat"``), cut at a word boundary within ``limit`` characters."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    slug = _SLUG_RE.sub("-", folded).strip("-")
    if limit is not None and len(slug) > limit:
        cut = slug[:limit]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else cut
    return slug


def anchor_link(page: str, start: datetime, title: str, *, date_only: bool = False) -> str:
    """A stable link for an event that has no page of its own: the listing page plus an
    anchor of its local start and title (``#2026-12-31-2200-nye-party``)."""
    when = start.strftime("%Y-%m-%d" if date_only else "%Y-%m-%d-%H%M")
    name = slugify(title, _SLUG_TITLE_CHARS)
    return f"{page}#{when}-{name}" if name else f"{page}#{when}"


def _same_page(link: str, page: str | None) -> bool:
    return page is not None and link.rstrip("/") == page.rstrip("/")


def _own_link(node: dict[str, Any], base: str | None, page: str | None) -> str | None:
    """The event's own page: ``url``, else an ``@id`` that is a plain URL (``#fragment``
    ids name a node, not a page); None when it is only the listing page."""
    candidates = [node.get("url")]
    node_id = node.get("@id")
    if isinstance(node_id, str) and "#" not in node_id:
        candidates.append(node_id)
    for candidate in candidates:
        link = canonical_link(candidate, base)
        if link and not _same_page(link, page):
            return link
    return None


def _event(
    node: dict[str, Any], *, base: str | None, page: str | None, tz: str | None
) -> ScrapedEvent:
    link = _own_link(node, base, page)
    if link is not None:
        return event_from_jsonld({**node, "url": link}, source=SOURCE, base=base or "", tz=tz)
    if page is None:
        raise MalformedItem("no event url, and no page URL to anchor it on")
    event = event_from_jsonld({**node, "url": page}, source=SOURCE, base=page, tz=tz)
    event.link = anchor_link(page, event.start, event.title, date_only=event.date_only)
    return event


def _described_urls(blocks: list[Any]) -> Iterator[tuple[bool, str]]:
    """(is a page node, url) of the non-event nodes of JSON-LD blocks: the WebPage,
    WebSite or venue Organization a page's JSON-LD describes besides its events."""
    stack: list[Any] = list(reversed(blocks))
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(reversed(node))
        elif isinstance(node, dict) and not is_event_node(node):
            kind = node.get("@type")
            kinds = kind if isinstance(kind, list) else [kind]
            found = node.get("url")
            if isinstance(found, str) and found.startswith(("http://", "https://")):
                yield any(isinstance(k, str) and k.endswith("Page") for k in kinds), found
            graph = node.get("@graph")
            if isinstance(graph, list):
                stack.extend(reversed(graph))


def page_url(text: str, url: str, blocks: list[Any] | None = None) -> str | None:
    """The URL events are anchored on and relative links resolved against: ``url`` when
    it is an http(s) URL; for a saved page without one, its ``<link rel=canonical>`` or
    ``og:url``, else the URL of the page, site or venue its JSON-LD describes."""
    if url.startswith(("http://", "https://")):
        return url
    for pattern in (_CANONICAL_RE, _OG_URL_RE):
        tag = pattern.search(text)
        value = _TARGET_RE.search(tag.group(0)) if tag else None
        if value and value.group(1).strip().startswith(("http://", "https://")):
            return html.unescape(value.group(1).strip())
    described = sorted(
        _described_urls(jsonld_blocks(text) if blocks is None else blocks),
        key=lambda pair: not pair[0],
    )
    return described[0][1] if described else None


def parse(
    text: str, url: str, *, tz: str | None = None, now: datetime | None = None
) -> list[ScrapedEvent]:
    """Events in a page's schema.org JSON-LD, in page order, repeated listings merged.

    ``tz`` places floating local times and bare dates (an event is skipped, with a
    warning, when it has one and ``tz`` is missing). ``now`` is unused: past events are
    returned; filtering is the caller's business. Raises UnrecognizedPage when the page
    has neither an Event node nor an (empty) ItemList.
    """
    blocks = jsonld_blocks(text)
    scan = scan_jsonld(blocks)
    if not scan.events and not scan.has_list:
        raise UnrecognizedPage(SOURCE, url, "no schema.org Event in the page's JSON-LD")
    base = page_url(text, url, blocks)
    page = canonical_link(base) if base else None
    items = list(
        collect(
            scan.events,
            lambda node: _event(node, base=base, page=page, tz=tz),
            source=SOURCE,
            url=url,
            kind="JSON-LD event",
        )
    )
    return merge_by_link(items, key=lambda ev: f"{ev.link} {ev.start.date().isoformat()}")


def next_page_url(text: str, url: str) -> str | None:
    """Venue pages are read one at a time: there is no next page to follow."""
    return None


SITE = Site(
    name=SOURCE,
    display_name="Event page",
    home="https://feeds.nocturne.invalid",
    parse=parse,
    detect=has_event_jsonld,
    generic=True,
    fetch=("http",),
    next_page=next_page_url,
    from_feeds=True,
)

__all__ = [
    "SITE",
    "SOURCE",
    "anchor_link",
    "has_event_jsonld",
    "next_page_url",
    "page_url",
    "parse",
    "slugify",
]
