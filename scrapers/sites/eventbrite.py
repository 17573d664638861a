"""Eventbrite city listings: ``window.__SERVER_DATA__``, the JSON-LD ItemList, and the
search API's JSON answer.

Browse pages embed their events twice: in ``__SERVER_DATA__`` (``buckets[].events`` on the
city page, ``search_data.events.results`` on search pages; local date and time plus the
event's own time zone, venue, tags, ticket prices) and in a schema.org ItemList (dates
only). Both are read and merged per event, the richer server data first.

The listing pages' scripts call the search API for further pages (``POST
/api/v3/destination/search/``), whose answer is ``{"events": {"results": [...],
"pagination": {"page_number", "page_count", "object_count", ...}}}``; its results are the
same ``destination_event`` objects as the server data's, and are read the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit

from scrapers.clean import (
    SITE_BASES,
    canonical_link,
    clean_text,
    combine_local,
    join_address,
    parse_price,
    to_float,
    zone,
)
from scrapers.errors import MalformedItem, UnrecognizedPage
from scrapers.event import ScrapedEvent, Status
from scrapers.sites.base import CityLike, CityRequest, Site
from scrapers.sites.common import (
    assigned_json,
    collect,
    event_from_jsonld,
    jsonld_blocks,
    looks_like_json,
    merge_by_link,
    offers_price,
    resolve_base,
    scan_jsonld,
    schema_status,
    with_query,
)

SOURCE = "eventbrite"
BASE = SITE_BASES[SOURCE]
_EID_RE = re.compile(r"(\d{6,})/?$")
_LINK_ID_RE = re.compile(r"(\d{6,})/?(?:[?#]|$)")
_SKIP_TAGS = frozenset({"other"})
_SNIFF = 200_000
SEARCH_API_PATH = "/api/v3/destination/search/"
SEARCH_API_PAGE_SIZE = 20
# What the listing page asks the search API to expand in each result (without these the
# results lack venue, image and ticket prices).
SEARCH_API_EXPAND = (
    "primary_venue",
    "image",
    "ticket_availability",
    "saves",
    "event_sales_status",
    "primary_organizer",
)


def city_url(base: str, slug: str, page: int = 1) -> str:
    """A city's all-events listing page, e.g. ``{base}/d/ny--new-york/all-events/?page=2``."""
    return f"{base.rstrip('/')}/d/{slug.strip('/')}/all-events/?page={int(page)}"


def search_api_url(base: str, slug: str, page: int = 1) -> str:
    """One page of a city's search API listing, written as a URL, e.g.
    ``{base}/api/v3/destination/search/?slug=il--chicago&dates=current_future&page_size=20&page=2``.

    Eventbrite is not known to answer a GET there: the listing page's script POSTs JSON to
    ``/api/v3/destination/search/`` (with the ``csrftoken`` cookie echoed in an
    ``X-CSRFToken`` header and the city page as ``Referer``), a body like
    ``{"event_search": {"dates": "current_future", "dedup": true, "places": ["85940195"],
    "page": 2, "page_size": 20}, "expand.destination_event": [...], "browse_surface":
    "search"}``. The place is a numeric place id (the city page's
    ``__SERVER_DATA__.search_data.event_search.places``), not the slug. This URL only
    records the request (slug, dates, page size, page) so that pagination can be expressed
    as a URL (``next_page_url`` sets ``page``); a fetcher turns it into the POST with
    ``search_api_body``.
    """
    return (
        f"{base.rstrip('/')}{SEARCH_API_PATH}?slug={quote_plus(slug.strip('/'))}"
        f"&dates=current_future&page_size={SEARCH_API_PAGE_SIZE}&page={int(page)}"
    )


def search_api_body(url: str, place_id: str) -> dict[str, Any]:
    """The JSON body to POST to the search API for a ``search_api_url`` (or its
    ``next_page_url``), given the city's numeric place id."""
    query = parse_qs(urlsplit(url).query)

    def first(name: str, default: str) -> str:
        values = query.get(name)
        return values[0] if values and values[0] else default

    try:
        page = max(1, int(first("page", "1")))
    except ValueError:
        page = 1
    try:
        page_size = max(1, int(first("page_size", str(SEARCH_API_PAGE_SIZE))))
    except ValueError:
        page_size = SEARCH_API_PAGE_SIZE
    return {
        "event_search": {
            "dates": first("dates", "current_future"),
            "dedup": True,
            "places": [str(place_id)],
            "page": page,
            "page_size": page_size,
        },
        "expand.destination_event": list(SEARCH_API_EXPAND),
        "browse_surface": "search",
    }


def event_id_from_link(link: str) -> str | None:
    """The numeric event id at the end of an ``/e/<slug>-tickets-<id>`` link."""
    match = _EID_RE.search(urlsplit(link).path)
    return match.group(1) if match else None


def _server_events(server: dict[str, Any]) -> list[dict[str, Any]]:
    """Event objects anywhere in the server data (buckets, search results, promoted...),
    in document order; the embedded JSON-LD copy is read separately."""
    found: list[dict[str, Any]] = []
    stack: list[Any] = [server]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "start_date" in node and "url" in node and "name" in node:
                found.append(node)
                continue
            stack.extend(v for k, v in reversed(node.items()) if k != "jsonld")
        elif isinstance(node, list):
            stack.extend(reversed(node))
    return found


def _text(value: object) -> str:
    if isinstance(value, dict):  # API-style {"text": ..., "html": ...}
        value = value.get("text") or value.get("html")
    return clean_text(value)


def _money(value: object) -> float | None:
    if not isinstance(value, dict):
        return None
    major = to_float(value.get("major_value"))
    if major is not None:
        return major
    minor = to_float(value.get("value"))
    return minor / 100 if minor is not None else None


def _status(event: dict[str, Any]) -> Status:
    flags = [str(event.get("status") or "")]
    sales = event.get("event_sales_status")
    if isinstance(sales, dict):
        flags += [str(sales.get("sales_status") or ""), str(sales.get("message_code") or "")]
    text = " ".join(flags).casefold()
    if event.get("is_cancelled") is True or "cancel" in text:
        return "cancelled"
    if "postpone" in text:
        return "postponed"
    return "scheduled"


def _from_server(event: dict[str, Any], base: str, tz: str | None) -> ScrapedEvent:
    title = _text(event.get("name"))
    if not title:
        raise MalformedItem("no title")
    link = canonical_link(event.get("url"), base)
    if not link:
        raise MalformedItem(f"no usable link in {event.get('url')!r}")
    own_zone = event.get("timezone") if isinstance(event.get("timezone"), str) else None
    zone_name = own_zone if own_zone and zone(own_zone) else tz
    start, date_only = combine_local(event.get("start_date"), event.get("start_time"), zone_name)
    if start is None:
        raise MalformedItem(
            f"unreadable start {event.get('start_date')!r} {event.get('start_time')!r}"
            f" (zone={zone_name!r})"
        )
    end, _ = combine_local(
        event.get("end_date"), None if date_only else event.get("end_time"), zone_name
    )
    if end is not None and end < start:
        end = None
    venue = event.get("primary_venue") or event.get("venue")
    venue = venue if isinstance(venue, dict) else {}
    address = venue.get("address")
    address = address if isinstance(address, dict) else {}
    lat = to_float(address.get("latitude"))
    lng = to_float(address.get("longitude"))
    if lat is None or lng is None:
        lat = lng = None
    tickets = event.get("ticket_availability") or {}
    low, high = (
        _money(tickets.get("minimum_ticket_price")),
        _money(tickets.get("maximum_ticket_price")),
    )
    currency = (tickets.get("minimum_ticket_price") or {}).get("currency")
    free_flag = tickets.get("is_free")
    price = parse_price(
        low, high, currency=currency, is_free=free_flag if isinstance(free_flag, bool) else None
    )
    image = event.get("image") or event.get("logo") or {}
    description = clean_text(event.get("full_description"), multiline=True) or clean_text(
        event.get("summary"), multiline=True
    )
    tags: list[str] = []
    for tag in event.get("tags") or []:
        name = clean_text(tag.get("display_name") if isinstance(tag, dict) else tag).lstrip("#")
        if name and name.casefold() not in _SKIP_TAGS and name not in tags:
            tags.append(name)
    eid = event.get("eid") or event.get("id") or event.get("eventbrite_event_id")
    return ScrapedEvent(
        title=title,
        link=link,
        source=SOURCE,
        start=start,
        end=end,
        source_event_id=str(eid) if eid else event_id_from_link(link),
        timezone=zone_name,
        venue=clean_text(venue.get("name")) or None,
        address=(
            clean_text(address.get("localized_address_display"))
            or join_address(
                address.get("address_1"),
                address.get("city"),
                address.get("region"),
                address.get("postal_code"),
            )
            or None
        ),
        latitude=lat,
        longitude=lng,
        price_min=price.min,
        price_max=price.max,
        currency=price.currency,
        is_free=price.is_free,
        image_url=canonical_link(image.get("url"), base) if isinstance(image, dict) else None,
        description=description or None,
        tags=tags,
        status=_status(event),
        is_online=event.get("is_online_event") is True,
        date_only=date_only,
    )


def _read(text: str) -> tuple[dict[str, Any] | None, list[Any]]:
    server = assigned_json(text, "__SERVER_DATA__") if "__SERVER_DATA__" in text else None
    blocks: list[Any] = jsonld_blocks(text)
    if not isinstance(server, dict):
        return None, blocks
    embedded = server.get("jsonld")
    # The server data repeats the page's JSON-LD; read that copy only when the tag is absent.
    if embedded and not scan_jsonld(blocks).events:
        blocks.append(embedded)
    return server, blocks


def _key(event: ScrapedEvent) -> str:
    return event.source_event_id or event.link


def _api_answer(text: str, url: str) -> dict[str, Any]:
    """The search API's answer, or UnrecognizedPage for JSON that is not one."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UnrecognizedPage(SOURCE, url, f"not valid JSON: {exc}") from exc
    events = data.get("events") if isinstance(data, dict) else None
    if isinstance(events, dict) and isinstance(events.get("results"), list):
        return data
    raise UnrecognizedPage(SOURCE, url, "JSON is not an Eventbrite search API answer")


def _api_events(data: dict[str, Any]) -> list[Any]:
    """Every result of a search API answer (malformed ones too, so that they are logged),
    then any promoted results."""
    events = data["events"]
    items = list(events["results"])
    promoted = events.get("promoted_results")
    if isinstance(promoted, list):
        items += promoted
    return items


def parse(
    text: str, url: str, *, tz: str | None = None, now: datetime | None = None
) -> list[ScrapedEvent]:
    """Events on an Eventbrite listing page or in a search API answer (raw JSON), merged
    per event id, in page order.

    ``tz`` (the city's zone) places dates that come without a zone of their own (the
    JSON-LD dates; server data and API results carry each event's zone). Past, online and
    cancelled events are returned, marked; filtering is the caller's business (``now`` is
    accepted for a uniform parser signature and not used).
    """
    if looks_like_json(text):
        data = _api_answer(text, url)
        api_base = resolve_base(url, BASE)
        return merge_by_link(
            list(
                collect(
                    _api_events(data),
                    lambda item: _from_server(item, api_base, tz),
                    source=SOURCE,
                    url=url,
                    kind="search API",
                )
            ),
            key=_key,
        )
    server, blocks = _read(text)
    scan = scan_jsonld(blocks)
    if server is None and not scan.events and not scan.has_list:
        raise UnrecognizedPage(SOURCE, url)
    base = resolve_base(url, BASE)
    events = list(
        collect(
            _server_events(server) if server else [],
            lambda item: _from_server(item, base, tz),
            source=SOURCE,
            url=url,
            kind="__SERVER_DATA__",
        )
    )
    known = {ev.source_event_id: ev for ev in events if ev.source_event_id}
    rest = [node for node in scan.events if not _fill_known(known, node)]
    events += collect(
        rest,
        lambda node: event_from_jsonld(
            node, source=SOURCE, base=base, tz=tz, event_id=event_id_from_link
        ),
        source=SOURCE,
        url=url,
        kind="JSON-LD",
    )
    return merge_by_link(events, key=_key)


def _fill_known(known: dict[str, ScrapedEvent], node: dict[str, Any]) -> bool:
    """Fold a JSON-LD item into the server-data event it repeats; False if there is none.

    The JSON-LD copy carries a subset of the server data (dates without times), so only
    what it can add is read: a longer description, a cancellation, a price.
    """
    match = _LINK_ID_RE.search(str(node.get("url") or ""))
    event = known.get(match.group(1)) if match else None
    if event is None:
        return False
    description = node.get("description")
    if isinstance(description, str) and len(description) > len(event.description or ""):
        text = clean_text(description, multiline=True)
        if len(text) > len(event.description or ""):
            event.description = text
    status = schema_status(node.get("eventStatus"))
    if event.status == "scheduled" and status != "scheduled":
        event.status = status
    if event.price_min is None and event.price_max is None and node.get("offers"):
        low, high, currency, free = offers_price(node.get("offers"), None)
        price = parse_price(low, high, currency=currency, is_free=free)
        event.price_min, event.price_max = price.min, price.max
        event.currency, event.is_free = price.currency, price.is_free
    return True


def _page_number(url: str) -> int:
    match = re.search(r"[?&]page=(\d+)", url)
    return int(match.group(1)) if match else 1


def next_page_url(text: str, url: str) -> str | None:
    """The next listing page, or None on the last one.

    Search pages state their page count (``search_data.events.pagination``); otherwise
    the next page is asked for until a page comes back with no events. For a search API
    answer it is the same API URL with ``page`` set to the next page number (see
    ``search_api_url``) while ``page_number < page_count`` and the page had results.
    """
    if looks_like_json(text):
        return _api_next_page(text, url)
    try:
        server, blocks = _read(text)
    except ValueError:
        return None
    search = (server or {}).get("search_data") or {}
    pagination = (
        (search.get("events") or {}).get("pagination") if isinstance(search, dict) else None
    )
    page = _page_number(url)
    if isinstance(pagination, dict) and pagination.get("page_count") is not None:
        current = int(pagination.get("page_number") or page)
        if current >= int(pagination["page_count"]):
            return None
        return with_query(url, page=current + 1)
    has_events = bool(server and _server_events(server)) or bool(scan_jsonld(blocks).events)
    return with_query(url, page=page + 1) if has_events else None


def looks_like_api_answer(text: str) -> bool:
    """A search API answer: JSON with ``"events"`` holding ``"results"``, and either its
    ``"pagination"`` or a result typed ``destination_event``. (An empty answer holds
    nothing Eventbrite's own, so this is a test of shape; its URL tells it apart.)"""
    if not looks_like_json(text):
        return False
    head = text[:_SNIFF]
    return (
        '"events"' in head
        and '"results"' in head
        and ('"destination_event"' in head or '"pagination"' in text)
    )


def _api_next_page(text: str, url: str) -> str | None:
    try:
        data = _api_answer(text, url)
    except UnrecognizedPage:
        return None
    events = data["events"]
    pagination = events.get("pagination")
    if not events["results"] or not isinstance(pagination, dict):
        return None
    try:
        current = int(pagination.get("page_number") or _page_number(url))
        count = pagination.get("page_count")
        if count is not None:
            return with_query(url, page=current + 1) if current < int(count) else None
    except (TypeError, ValueError):
        return None
    if pagination.get("has_more_items") is True:
        return with_query(url, page=current + 1)
    return None


def _detect(text: str) -> bool:
    return "__SERVER_DATA__" in text[:2_000_000] or looks_like_api_answer(text)


def first_requests(
    city: CityLike, base: str, options: Mapping[str, object]
) -> Sequence[CityRequest]:
    """Page 1 of the city's all-events listing (its served HTML carries the data)."""
    return [CityRequest(city_url(base, city.slugs.get(SOURCE) or city.id, 1))]


SITE = Site(
    name=SOURCE,
    display_name="Eventbrite",
    home=BASE,
    parse=parse,
    hosts=("eventbrite.*",),
    markers=("eventbrite.", "evbuc.com", "evbstatic.com"),
    detect=_detect,
    fetch=("http", "browser"),
    first_requests=first_requests,
    next_page=next_page_url,
)


__all__ = [
    "BASE",
    "SEARCH_API_EXPAND",
    "SEARCH_API_PATH",
    "SITE",
    "SOURCE",
    "city_url",
    "event_id_from_link",
    "looks_like_api_answer",
    "next_page_url",
    "parse",
    "search_api_body",
    "search_api_url",
]
