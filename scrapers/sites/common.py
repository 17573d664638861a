"""What the site parsers share: finding embedded JSON fast, and reading schema.org events.

Embedded JSON is located with plain string searches and decoded with
``json.JSONDecoder.raw_decode`` from its opening brace, so a 1 MB page is never scanned by
a regex over its whole body or parsed into a DOM.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, unquote_plus, urlsplit, urlunsplit

from scrapers.clean import (
    canonical_link,
    clean_text,
    is_date_only,
    join_address,
    parse_datetime,
    parse_price,
    to_float,
)
from scrapers.dedupe import merge_events
from scrapers.errors import MalformedItem
from scrapers.event import ScrapedEvent, Source, Status

log = logging.getLogger(__name__)

_DECODER = json.JSONDecoder(strict=False)
_LD_OPEN_RE = re.compile(
    r"<script\b[^>]*?type\s*=\s*[\"']?application/ld\+json[\"']?[^>]*>", re.IGNORECASE
)
_SCRIPT_CLOSE_RE = re.compile(r"</script\s*>", re.IGNORECASE)


def decode_at(text: str, index: int) -> Any:
    """The JSON value that starts at ``text[index]`` (whitespace skipped); ValueError if none."""
    while index < len(text) and text[index] in " \t\r\n":
        index += 1
    value, _ = _DECODER.raw_decode(text, index)
    return value


def assigned_json(text: str, name: str) -> Any | None:
    """The object literal assigned to a global, e.g. ``window.__SERVER_DATA__ = {...};``.

    Mentions of the name that are not an assignment of an object (JavaScript that reads
    the variable) are skipped.
    """
    pattern = re.compile(re.escape(name) + r"\s*=\s*(?=[{\[])")
    for match in pattern.finditer(text):
        try:
            return decode_at(text, match.end())
        except ValueError as exc:
            log.warning("%s assignment at %d is not valid JSON: %s", name, match.start(), exc)
    return None


def script_json(text: str, element_id: str) -> Any | None:
    """The JSON inside ``<script id="element_id" ...>`` (e.g. Next.js ``__NEXT_DATA__``)."""
    for quote in ('"', "'"):
        at = text.find(f"id={quote}{element_id}{quote}")
        if at != -1:
            break
    else:
        at = text.find(f"id={element_id}")
        if at == -1:
            return None
    open_end = text.find(">", at)
    if open_end == -1:
        return None
    try:
        return decode_at(text, open_end + 1)
    except ValueError as exc:
        log.warning("<script id=%s> is not valid JSON: %s", element_id, exc)
        return None


def jsonld_blocks(text: str) -> list[Any]:
    """Every parsed ``<script type="application/ld+json">`` block; broken ones are logged."""
    blocks: list[Any] = []
    for match in _LD_OPEN_RE.finditer(text):
        close = _SCRIPT_CLOSE_RE.search(text, match.end())
        body = text[match.end() : close.start() if close else len(text)].strip()
        if body.startswith("<!--"):
            body = body.removeprefix("<!--").removesuffix("-->").strip()
        if not body:
            continue
        try:
            blocks.append(_DECODER.decode(body))
        except ValueError as exc:
            log.warning("skipping a JSON-LD block that is not valid JSON: %s", exc)
    return blocks


def looks_like_json(text: str) -> bool:
    """Whether the text is a bare JSON document (an API answer) rather than HTML."""
    return text.lstrip()[:1] in ("{", "[")


# --------------------------------------------------------------------------- JSON-LD


_SUBTYPE_RE = re.compile(r"(?<=[a-z])([A-Z])")


def _types(node: dict[str, Any]) -> list[str]:
    kind = node.get("@type")
    if isinstance(kind, str):
        return [kind]
    if isinstance(kind, list):
        return [k for k in kind if isinstance(k, str)]
    return []


def is_event_node(node: object) -> bool:
    """A schema.org Event or one of its subtypes (MusicEvent, SocialEvent, Festival...)."""
    if not isinstance(node, dict):
        return False
    return any(t.endswith("Event") or t == "Festival" for t in _types(node))


@dataclass(slots=True)
class JsonLdScan:
    """Events found in JSON-LD blocks, and whether any block was an event list at all."""

    events: list[dict[str, Any]]
    has_list: bool


def scan_jsonld(blocks: list[Any]) -> JsonLdScan:
    """Collect Event nodes from blocks: bare events, lists of them, ``@graph``s and
    ``ItemList``s (whose ``itemListElement`` holds ListItems with an ``item``)."""
    events: list[dict[str, Any]] = []
    has_list = False
    stack: list[Any] = list(reversed(blocks))
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(reversed(node))
            continue
        if not isinstance(node, dict):
            continue
        if is_event_node(node):
            events.append(node)
            continue
        types = _types(node)
        if "ItemList" in types or "OfferCatalog" in types:
            has_list = True
            elements = node.get("itemListElement")
            if isinstance(elements, list):
                for element in reversed(elements):
                    if isinstance(element, dict) and not is_event_node(element):
                        element = element.get("item", element)
                    stack.append(element)
        graph = node.get("@graph")
        if isinstance(graph, list):
            stack.extend(reversed(graph))
    return JsonLdScan(events, has_list)


def _first_image(value: object, base: str) -> str | None:
    if isinstance(value, list):
        for item in value:
            found = _first_image(item, base)
            if found:
                return found
        return None
    if isinstance(value, dict):
        return _first_image(value.get("url") or value.get("contentUrl"), base)
    return canonical_link(value, base) if isinstance(value, str) else None


_STATUS_BY_SUFFIX: dict[str, Status] = {
    "eventcancelled": "cancelled",
    "eventcanceled": "cancelled",
    "eventpostponed": "postponed",
}


def schema_status(value: object) -> Status:
    """``cancelled``/``postponed`` from a schema.org eventStatus URL or name, else scheduled."""
    if not isinstance(value, str):
        return "scheduled"
    key = value.rstrip("/").rsplit("/", 1)[-1].casefold()
    return _STATUS_BY_SUFFIX.get(key, "scheduled")


def _places(location: object) -> tuple[list[dict[str, Any]], bool]:
    """(physical places, whether a virtual location was listed)."""
    items = location if isinstance(location, list) else [location]
    places: list[dict[str, Any]] = []
    virtual = False
    for item in items:
        if isinstance(item, str) and item.strip():
            places.append({"name": item})
        elif isinstance(item, dict):
            if "VirtualLocation" in _types(item):
                virtual = True
            else:
                places.append(item)
    return places, virtual


def _address_text(address: object) -> tuple[str | None, str | None]:
    """(one-line address, street line) of a PostalAddress or a plain string."""
    if isinstance(address, str):
        text = clean_text(address)
        return text or None, text or None
    if not isinstance(address, dict):
        return None, None
    street = clean_text(address.get("streetAddress"))
    line = join_address(
        street,
        address.get("addressLocality"),
        address.get("addressRegion"),
        address.get("postalCode"),
    )
    return line, street or None


def _place_fields(
    place: dict[str, Any],
) -> tuple[str | None, str | None, float | None, float | None]:
    name = clean_text(place.get("name")) or None
    postal = place.get("address")
    address, street = _address_text(postal)
    if isinstance(postal, dict) and name:
        locality = clean_text(postal.get("addressLocality")).casefold()
        if street and street.casefold() == name.casefold():
            # The venue name repeated as the street line: only the locality is an address.
            address, _ = _address_text({**postal, "streetAddress": ""})
        elif not street and locality and name.split(",")[0].strip().casefold() == locality:
            # "Toronto, ON": the source hides the address until one registers.
            name = None
    geo = place.get("geo")
    geo = geo if isinstance(geo, dict) else {}
    lat = to_float(geo.get("latitude", place.get("latitude")))
    lng = to_float(geo.get("longitude", place.get("longitude")))
    if lat is None or lng is None or not (-90 <= lat <= 90 and -180 <= lng <= 180):
        lat = lng = None
    if name and address and name.casefold() == address.casefold():
        name = None
    return name, address, lat, lng


def offers_price(offers: object, free_flag: object) -> tuple[Any, Any, Any, bool | None]:
    """(low, high, currency, free flag) from schema.org offers (Offer, AggregateOffer, lists)."""
    items = offers if isinstance(offers, list) else [offers]
    lows: list[float] = []
    highs: list[float] = []
    currency = None
    for offer in items:
        if not isinstance(offer, dict):
            continue
        currency = currency or offer.get("priceCurrency")
        spec = offer.get("priceSpecification")
        if isinstance(spec, dict):
            currency = currency or spec.get("priceCurrency")
        low = to_float(offer.get("lowPrice", offer.get("price")))
        if low is None and isinstance(spec, dict):
            low = to_float(spec.get("minPrice", spec.get("price")))
        high = to_float(offer.get("highPrice"))
        if high is None and isinstance(spec, dict):
            high = to_float(spec.get("maxPrice"))
        if low is not None:
            lows.append(low)
        if high is not None or low is not None:
            highs.append(high if high is not None else low)  # type: ignore[arg-type]
    is_free = free_flag if isinstance(free_flag, bool) else None
    return (min(lows) if lows else None), (max(highs) if highs else None), currency, is_free


def event_from_jsonld(
    node: dict[str, Any],
    *,
    source: Source,
    base: str,
    tz: str | None,
    event_id: Callable[[str], str | None] | None = None,
) -> ScrapedEvent:
    """A ScrapedEvent from one schema.org Event node; MalformedItem when it lacks a title,
    an http(s) link or a readable start."""
    title = clean_text(node.get("name"))
    if not title:
        raise MalformedItem("no title")
    link = canonical_link(node.get("url") or node.get("@id"), base)
    if not link:
        raise MalformedItem(f"no usable link in {node.get('url')!r}")
    raw_start = node.get("startDate")
    start = parse_datetime(raw_start, tz)
    if start is None:
        raise MalformedItem(f"unreadable start {raw_start!r} (tz={tz!r})")
    date_only = is_date_only(raw_start)
    end = parse_datetime(node.get("endDate"), tz)
    if end is not None and end < start:
        end = None
    places, virtual = _places(node.get("location"))
    venue = address = None
    lat = lng = None
    if places:
        venue, address, lat, lng = _place_fields(places[0])
    mode = str(node.get("eventAttendanceMode") or "")
    status_value = str(node.get("eventStatus") or "")
    if "Online" in mode:
        is_online = "Mixed" not in mode
    elif "Offline" in mode or "Mixed" in mode:
        is_online = False
    else:
        is_online = virtual and not places
    if status_value.endswith("EventMovedOnline"):
        is_online = True
    low, high, currency, free_flag = offers_price(
        node.get("offers"), node.get("isAccessibleForFree")
    )
    price = parse_price(low, high, currency=currency, is_free=free_flag)
    keywords = node.get("keywords")
    tags: list[str] = []
    if isinstance(keywords, str):
        keywords = keywords.split(",")
    if isinstance(keywords, list):
        tags = list(dict.fromkeys(t for t in (clean_text(k) for k in keywords) if t))
    # a subtype names the kind of event: MusicEvent -> "Music event"
    for kind in _types(node):
        named = _SUBTYPE_RE.sub(r" \1", kind).capitalize()
        if kind != "Event" and is_event_node({"@type": kind}) and named not in tags:
            tags.insert(0, named)
    return ScrapedEvent(
        title=title,
        link=link,
        source=source,
        start=start,
        end=end,
        source_event_id=event_id(link) if event_id else None,
        timezone=tz,
        venue=venue,
        address=address,
        latitude=lat,
        longitude=lng,
        price_min=price.min,
        price_max=price.max,
        currency=price.currency,
        is_free=price.is_free,
        image_url=_first_image(node.get("image"), base),
        description=clean_text(node.get("description"), multiline=True) or None,
        tags=tags,
        status=schema_status(status_value),
        is_online=is_online,
        date_only=date_only,
    )


# --------------------------------------------------------------------------- assembly


def collect(
    items: list[Any],
    build: Callable[[Any], ScrapedEvent],
    *,
    source: str,
    url: str,
    kind: str,
) -> Iterator[ScrapedEvent]:
    """Build events one by one; a malformed item is logged and skipped, never the page."""
    for index, item in enumerate(items):
        try:
            yield build(item)
        except (MalformedItem, KeyError, TypeError, ValueError, AttributeError) as exc:
            name = item.get("name") or item.get("title") if isinstance(item, dict) else None
            log.warning(
                "%s: skipping malformed %s item #%d (%r) on %s: %s",
                source,
                kind,
                index,
                name,
                url,
                exc,
            )


def merge_by_link(
    events: list[ScrapedEvent], *, key: Callable[[ScrapedEvent], str] | None = None
) -> list[ScrapedEvent]:
    """One event per canonical link, or per ``key`` (e.g. the source's event id), in page
    order; later listings of an event fill the gaps of the first."""
    by_key: dict[str, ScrapedEvent] = {}
    for ev in events:
        k = key(ev) if key else ev.link
        seen = by_key.get(k)
        by_key[k] = ev if seen is None else merge_events(seen, ev)
    return list(by_key.values())


def with_query(url: str, **params: object) -> str:
    """``url`` with the given query parameters set (replaced or appended, order kept);
    a None value removes the parameter."""
    parts = urlsplit(url)
    pairs = [p for p in parts.query.split("&") if p]
    out: list[str] = []
    pending = dict(params)
    for pair in pairs:
        name = unquote_plus(pair.split("=", 1)[0])
        if name in pending:
            value = pending.pop(name)
            if value is not None:
                out.append(f"{quote_plus(name)}={quote_plus(str(value))}")
        else:
            out.append(pair)
    out += [f"{quote_plus(k)}={quote_plus(str(v))}" for k, v in pending.items() if v is not None]
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "&".join(out), ""))


def resolve_base(url: str, default: str) -> str:
    """The page URL when it is an absolute http(s) URL, else the site's root."""
    return url if url.startswith(("http://", "https://")) else default
