"""Luma: discover and calendar API answers, discover pages (``__NEXT_DATA__``) and JSON-LD.

The API answers ``{"entries": [{"event": {...}, "ticket_info": {...}, ...}], "has_more",
"next_cursor"}``; discover pages embed the same entries in ``__NEXT_DATA__``. An event's
``url`` is its slug on Luma; calendar entries that point at another site (``platform:
"external"``) carry that site's full URL, which is kept as the link.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from scrapers.clean import (
    SITE_BASES,
    Price,
    canonical_link,
    clean_text,
    parse_datetime,
    parse_duration,
    parse_price,
    to_float,
    zone,
)
from scrapers.errors import MalformedItem, UnrecognizedPage
from scrapers.event import ScrapedEvent, Status
from scrapers.sites.base import CityLike, CityRequest, Site
from scrapers.sites.common import (
    collect,
    event_from_jsonld,
    jsonld_blocks,
    looks_like_json,
    merge_by_link,
    scan_jsonld,
    script_json,
    with_query,
)

SOURCE = "luma"
BASE = SITE_BASES[SOURCE]  # https://luma.com; lu.ma links are rewritten to it
API_BASE = "https://api.lu.ma"
_ONLINE_TYPES = frozenset({"online", "zoom", "meet", "google_meet", "teams", "webex", "virtual"})


def discover_url(
    api_base: str,
    place_id: str | None = None,
    lat: float | None = None,
    lng: float | None = None,
    cursor: str | None = None,
    *,
    limit: int = 50,
) -> str:
    """The discover API page for a place id, or for coordinates when there is none."""
    params: dict[str, object] = {}
    if place_id:
        params["discover_place_api_id"] = place_id
    elif lat is not None and lng is not None:
        params["latitude"], params["longitude"] = lat, lng
    else:
        raise ValueError("discover_url needs a place_id or lat and lng")
    params["pagination_limit"] = limit
    if cursor:
        params["pagination_cursor"] = cursor
    return f"{api_base.rstrip('/')}/discover/get-paginated-events?{urlencode(params)}"


def calendar_url(
    api_base: str,
    calendar_id: str,
    cursor: str | None = None,
    *,
    limit: int = 50,
    period: str = "future",
) -> str:
    """The calendar get-items API page for a calendar id (``cal-...``)."""
    params: dict[str, object] = {
        "calendar_api_id": calendar_id,
        "period": period,
        "pagination_limit": limit,
    }
    if cursor:
        params["pagination_cursor"] = cursor
    return f"{api_base.rstrip('/')}/calendar/get-items?{urlencode(params)}"


def place_url(base: str, slug: str) -> str:
    """A city's discover page on the website, e.g. ``https://luma.com/nyc``."""
    return f"{base.rstrip('/')}/{slug.strip('/')}"


def _entries_in(data: object) -> list[dict[str, Any]]:
    """Entries (``{"event": {...}, ...}``) or bare event objects anywhere in page data."""
    found: list[dict[str, Any]] = []
    stack: list[Any] = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(reversed(node))
        elif isinstance(node, dict):
            inner = node.get("event")
            if isinstance(inner, dict) and "start_at" in inner and "name" in inner:
                found.append(node)
            elif "start_at" in node and "name" in node and "url" in node:
                found.append({"event": node})
            else:
                stack.extend(reversed(list(node.values())))
    return found


def _link(url: object) -> str | None:
    if isinstance(url, str) and "://" not in url and not url.startswith("//"):
        url = url.strip().strip("/")
    return canonical_link(url, BASE)


def _place(event: dict[str, Any]) -> tuple[str | None, str | None]:
    geo = event.get("geo_address_info") or event.get("geo_address_json") or {}
    if not isinstance(geo, dict):
        return None, None
    name = clean_text(geo.get("address")) or None
    full = clean_text(geo.get("full_address")) or clean_text(geo.get("short_address")) or None
    if name and (geo.get("type") == "manual" or name[:1].isdigit()):
        # A street line (or a typed-in address), not a place name.
        return None, full or name
    if not name and not full:
        return None, clean_text(geo.get("city_state")) or None
    if name and full and full.casefold().startswith(name.casefold() + ","):
        full = full[len(name) + 1 :].strip() or None
    return name, full


def _cents(value: object, key: str = "cents") -> float | None:
    if not isinstance(value, dict):
        return None
    cents = to_float(value.get(key))
    return cents / 100 if cents is not None else None


def _price(info: object) -> Price:
    if not isinstance(info, dict):
        return Price(None, None, None, None)
    price, top = info.get("price"), info.get("max_price")
    low = _cents(price, "min_cents") if isinstance(price, dict) and "min_cents" in price else None
    low = low if low is not None else _cents(price)
    high = _cents(top) if _cents(top) is not None else _cents(price)
    currency = (price or {}).get("currency") if isinstance(price, dict) else None
    is_free = info.get("is_free") if isinstance(info.get("is_free"), bool) else None
    if is_free is False and low is None and high is None:
        # Luma says "not free" for approval-only events with no ticket price: unknown.
        is_free = None
    return parse_price(low, high, currency=currency, is_free=is_free)


def _from_entry(entry: dict[str, Any], tz: str | None) -> ScrapedEvent:
    event = entry["event"]
    title = clean_text(event.get("name"))
    if not title:
        raise MalformedItem("no title")
    link = _link(event.get("url"))
    if not link:
        raise MalformedItem(f"no usable link in {event.get('url')!r}")
    own_zone = event.get("timezone") if isinstance(event.get("timezone"), str) else None
    zone_name = own_zone if own_zone and zone(own_zone) else tz
    start = parse_datetime(event.get("start_at") or entry.get("start_at"), zone_name)
    if start is None:
        raise MalformedItem(f"unreadable start {event.get('start_at')!r}")
    end = parse_datetime(event.get("end_at"), zone_name)
    if end is None and (duration := parse_duration(event.get("duration_interval"))):
        end = start + duration
    if end is not None and end < start:
        end = None
    venue, address = _place(event)
    coordinate = event.get("coordinate") if isinstance(event.get("coordinate"), dict) else {}
    lat, lng = to_float(coordinate.get("latitude")), to_float(coordinate.get("longitude"))
    if lat is None or lng is None:
        lat = lng = None
    location_type = str(event.get("location_type") or "").casefold()
    price = _price(entry.get("ticket_info"))
    tags = []
    for tag in entry.get("tags") or []:
        name = clean_text(tag.get("name") if isinstance(tag, dict) else tag)
        if name and name not in tags:
            tags.append(name)
    # The calendar says what kind of thing it lists ("Drive-In Movies at Union Market",
    # "DC Data & AI Events"); "Personal" calendars say nothing.
    calendar = entry.get("calendar")
    calendar_name = clean_text(calendar.get("name")) if isinstance(calendar, dict) else ""
    if calendar_name and calendar_name.casefold() != "personal" and calendar_name not in tags:
        tags.append(calendar_name)
    status: Status = (
        "cancelled" if event.get("is_canceled") or event.get("is_cancelled") else "scheduled"
    )
    api_id = event.get("api_id") or entry.get("api_id")
    return ScrapedEvent(
        title=title,
        link=link,
        source=SOURCE,
        start=start,
        end=end,
        source_event_id=str(api_id) if api_id else None,
        timezone=zone_name,
        venue=venue,
        address=address,
        latitude=lat,
        longitude=lng,
        price_min=price.min,
        price_max=price.max,
        currency=price.currency,
        is_free=price.is_free,
        image_url=canonical_link(event.get("cover_url"), BASE),
        description=clean_text(event.get("description"), multiline=True) or None,
        tags=tags,
        status=status,
        is_online=location_type in _ONLINE_TYPES,
    )


def _api_entries(text: str, url: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UnrecognizedPage(SOURCE, url, f"not valid JSON: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("entries"), list):
        return data["entries"], data
    if isinstance(data, dict) and isinstance(data.get("event"), dict):
        return [data], data
    raise UnrecognizedPage(SOURCE, url, "JSON is not a Luma entries answer")


def parse(
    text: str, url: str, *, tz: str | None = None, now: datetime | None = None
) -> list[ScrapedEvent]:
    """Events in a Luma API answer (raw JSON) or a Luma page (HTML), in listing order.

    ``tz`` places times without a zone (Luma normally sends UTC). Past, online and
    cancelled events are returned, marked; filtering is the caller's business.
    """
    if looks_like_json(text):
        entries, _ = _api_entries(text, url)
        items = list(
            collect(entries, lambda e: _from_entry(e, tz), source=SOURCE, url=url, kind="entry")
        )
        return merge_by_link(items)
    next_data = script_json(text, "__NEXT_DATA__") if "__NEXT_DATA__" in text else None
    entries = _entries_in(next_data) if next_data is not None else []
    page_props = (
        (next_data.get("props") or {}).get("pageProps") if isinstance(next_data, dict) else None
    )
    known_page = isinstance(page_props, dict) and "initialData" in page_props
    scan = scan_jsonld(jsonld_blocks(text))
    if not entries and not known_page and not scan.events and not scan.has_list:
        raise UnrecognizedPage(SOURCE, url)
    items = list(
        collect(entries, lambda e: _from_entry(e, tz), source=SOURCE, url=url, kind="entry")
    )
    items += collect(
        scan.events,
        lambda node: event_from_jsonld(node, source=SOURCE, base=BASE, tz=tz),
        source=SOURCE,
        url=url,
        kind="JSON-LD",
    )
    return merge_by_link(items)


def next_page_url(text: str, url: str) -> str | None:
    """The API URL of the next page (``pagination_cursor``) while ``has_more`` is true."""
    if not looks_like_json(text):
        return None
    try:
        _, data = _api_entries(text, url)
    except UnrecognizedPage:
        return None
    cursor = data.get("next_cursor")
    if data.get("has_more") is True and isinstance(cursor, str) and cursor:
        return with_query(url, pagination_cursor=cursor)
    return None


def looks_like_api_answer(text: str) -> bool:
    """A discover or calendar API answer: JSON with ``entries`` and Luma's paging keys."""
    if not looks_like_json(text):
        return False
    head = text[:200_000]
    return '"entries"' in head and ('"start_at"' in head or '"has_more"' in head)


def first_requests(
    city: CityLike, base: str, options: Mapping[str, object]
) -> Sequence[CityRequest]:
    """The discover API for the city's place id, or for its coordinates without one."""
    place = city.slugs.get(SOURCE)
    if place:
        return [CityRequest(discover_url(base, place))]
    return [CityRequest(discover_url(base, None, city.latitude, city.longitude))]


SITE = Site(
    name=SOURCE,
    display_name="Luma",
    home=BASE,
    fetch_base=API_BASE,
    parse=parse,
    hosts=("lu.ma", "luma.com"),
    markers=("luma.com/", "lu.ma/", "lumacdn.com"),
    detect=looks_like_api_answer,
    fetch=("http",),
    first_requests=first_requests,
    next_page=next_page_url,
)


__all__ = [
    "API_BASE",
    "BASE",
    "SITE",
    "SOURCE",
    "calendar_url",
    "discover_url",
    "next_page_url",
    "parse",
    "place_url",
]
