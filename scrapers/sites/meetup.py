"""Meetup pages: the Apollo cache in ``__NEXT_DATA__``, JSON-LD Event lists, and the
GraphQL API's JSON answers.

Next.js pages embed the GraphQL client's normalised cache (``__APOLLO_STATE__``): events
live under ``Event:<id>`` keys and point at their venue, group and photo through
``{"__ref": "Venue:<id>"}`` references. Pages also carry a JSON-LD array of the upcoming
events. Both are read and merged per event id, the cache first.

The pages load further events from the GraphQL endpoint (``POST /gql2``), which answers
``{"data": {<query>: {"edges": [{"node": {<Event>}}], "pageInfo": {...}}}}`` with the
connection under whichever field the query asked for (``result``, ``eventSearch``,
``recommendedEvents``, ``groupByUrlname.events``...). There the events are inline rather
than references, and are read the same way as the cache's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus, urlsplit

from scrapers.clean import (
    SITE_BASES,
    Price,
    canonical_link,
    clean_text,
    join_address,
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
    resolve_base,
    scan_jsonld,
    script_json,
)

SOURCE = "meetup"
BASE = SITE_BASES[SOURCE]
_EVENT_ID_RE = re.compile(r"/events/([A-Za-z0-9]+)")
_ONLINE_VENUE_NAMES = frozenset({"online event", "online", "virtual event"})
# Meetup's generic group-cover pictures say nothing about the event.
_FALLBACK_IMAGE = "/images/fallbacks/"
# An edge's node is an event when it is typed so or carries an event's own fields.
_EVENT_NODE_KEYS = ("eventUrl", "dateTime")
_SNIFF = 200_000


def find_url(
    base: str, location: str, keyword: str | None = None, *, event_type: str | None = None
) -> str:
    """The events search page for a location slug (``us--ny--new-york``), optionally
    narrowed by keyword and ``event_type`` (``inPerson`` / ``online``)."""
    url = f"{base.rstrip('/')}/find/?location={quote_plus(location)}&source=EVENTS"
    if keyword:
        url += f"&keywords={quote_plus(keyword)}"
    if event_type:
        url += f"&eventType={quote_plus(event_type)}"
    return url


def gql_url(base: str) -> str:
    """The GraphQL endpoint the find, group and event pages call, e.g.
    ``https://www.meetup.com/gql2``.

    The web app POSTs JSON to it: ``{"operationName", "variables", "extensions":
    {"persistedQuery": {"version": 1, "sha256Hash"}}}`` naming one of its persisted
    queries (whose hashes change with its builds), or a plain ``"query"`` text. Later
    pages are asked for by passing the previous answer's ``pageInfo.endCursor`` as the
    ``after`` variable, so a next page is a request body, not a URL: ``next_page_url``
    gives None for these answers.
    """
    return f"{base.rstrip('/')}/gql2"


def location_slug(state: str, city: str, country: str = "us") -> str:
    """Meetup's location slug: ``us--ny--new-york``."""
    slug = re.sub(r"[^a-z0-9]+", "-", city.casefold()).strip("-")
    return f"{country.casefold()}--{state.casefold()}--{slug}"


def event_id_from_link(link: str) -> str | None:
    """The event id in a ``/<group>/events/<id>/`` link."""
    match = _EVENT_ID_RE.search(urlsplit(link).path)
    return match.group(1) if match else None


def _apollo_state(next_data: object) -> dict[str, Any] | None:
    """The Apollo cache wherever this Next.js build put it (breadth-first, shallow)."""
    queue: list[tuple[object, int]] = [(next_data, 0)]
    while queue:
        node, depth = queue.pop(0)
        if not isinstance(node, dict) or depth > 4:
            continue
        for name in ("__APOLLO_STATE__", "apolloState", "__APOLLO_CACHE__"):
            state = node.get(name)
            if isinstance(state, dict):
                return state
        queue.extend((value, depth + 1) for value in node.values() if isinstance(value, dict))
    return None


def _deref(cache: dict[str, Any], value: object) -> dict[str, Any]:
    if isinstance(value, dict) and isinstance(value.get("__ref"), str):
        value = cache.get(value["__ref"])
    return value if isinstance(value, dict) else {}


def _cache_events(cache: dict[str, Any]) -> list[dict[str, Any]]:
    events = []
    for key, value in cache.items():
        if not isinstance(value, dict):
            continue
        if not (key.startswith("Event:") or value.get("__typename") == "Event"):
            continue
        # Stubs (an id and a typename, cached for an RSVP or a link) are not listings.
        if "title" not in value and "dateTime" not in value:
            continue
        events.append(value)
    return events


def _status(value: object) -> Status:
    text = str(value or "").upper()
    if "CANCEL" in text:
        return "cancelled"
    if "POSTPONE" in text:
        return "postponed"
    return "scheduled"


def _image(cache: dict[str, Any], event: dict[str, Any], base: str) -> str | None:
    photo = _deref(cache, event.get("featuredEventPhoto") or event.get("displayPhoto"))
    if not photo:
        photo = _deref(cache, _first(event.get("featuredEventPhotos")))
    for name in ("highResUrl", "standardUrl", "source", "baseUrl"):
        url = photo.get(name)
        if isinstance(url, str) and url:
            if name == "baseUrl" and photo.get("id"):
                url = f"{url.rstrip('/')}/{photo['id']}/676x380.jpg"
            return canonical_link(url, base)
    return canonical_link(event.get("imageUrl"), base)


def _first(value: object) -> object:
    """The first item of a list (GraphQL answers list venues and photos), else None."""
    if isinstance(value, list):
        return next((item for item in value if isinstance(item, dict)), None)
    return None


def _price(fee: object) -> Price:
    if not isinstance(fee, dict):
        return Price(None, None, None, None)
    return parse_price(fee.get("amount"), currency=fee.get("currency"))


def _from_cache(
    event: dict[str, Any], cache: dict[str, Any], base: str, tz: str | None
) -> ScrapedEvent:
    title = clean_text(event.get("title"))
    if not title:
        raise MalformedItem("no title")
    group = _deref(cache, event.get("group"))
    link = canonical_link(event.get("eventUrl"), base)
    if not link and event.get("id") and group.get("urlname"):
        link = canonical_link(f"/{group['urlname']}/events/{event['id']}/", base)
    if not link:
        raise MalformedItem(f"no usable link in {event.get('eventUrl')!r}")
    own_zone = group.get("timezone") if isinstance(group.get("timezone"), str) else None
    zone_name = own_zone if own_zone and zone(own_zone) else tz
    start = parse_datetime(event.get("dateTime"), zone_name)
    if start is None:
        raise MalformedItem(f"unreadable start {event.get('dateTime')!r} (zone={zone_name!r})")
    end = parse_datetime(event.get("endTime"), zone_name)
    if end is None and (duration := parse_duration(event.get("duration"))):
        end = start + duration
    if end is not None and end < start:
        end = None
    kind = str(event.get("eventType") or "").upper()
    is_online = kind == "ONLINE" or (not kind and event.get("isOnline") is True)
    venue = _deref(cache, event.get("venue")) or _deref(cache, _first(event.get("venues")))
    venue_name = clean_text(venue.get("name")) or None
    if venue_name and venue_name.casefold() in _ONLINE_VENUE_NAMES:
        venue, venue_name = {}, None
    lat = to_float(venue.get("lat"))
    lng = to_float(venue.get("lng", venue.get("lon")))
    if lat is None or lng is None or (lat == 0 and lng == 0):
        lat = lng = None
    address = join_address(
        venue.get("address"), venue.get("city"), venue.get("state"), venue.get("postalCode")
    )
    if venue_name and address and venue_name.casefold() == address.casefold():
        address = join_address("", venue.get("city"), venue.get("state"))
    price = _price(event.get("feeSettings") or event.get("fee"))
    return ScrapedEvent(
        title=title,
        link=link,
        source=SOURCE,
        start=start,
        end=end,
        source_event_id=str(event["id"]) if event.get("id") else event_id_from_link(link),
        timezone=zone_name,
        venue=venue_name,
        address=address,
        latitude=lat,
        longitude=lng,
        price_min=price.min,
        price_max=price.max,
        currency=price.currency,
        is_free=price.is_free,
        image_url=_image(cache, event, base),
        description=clean_text(event.get("description"), multiline=True) or None,
        tags=[name] if (name := clean_text(group.get("name"))) else [],  # the group says the topic
        status=_status(event.get("status")),
        is_online=is_online,
    )


def _from_jsonld(node: dict[str, Any], base: str, tz: str | None) -> ScrapedEvent:
    event = event_from_jsonld(node, source=SOURCE, base=base, tz=tz, event_id=event_id_from_link)
    if event.image_url and _FALLBACK_IMAGE in event.image_url:
        event.image_url = None
    return event


def _key(event: ScrapedEvent) -> str:
    return event.source_event_id or event.link


def _gql_answer(text: str, url: str) -> list[Any]:
    """The ``data`` of a GraphQL answer (or of each answer in a batch); UnrecognizedPage for
    JSON that is not one, or that holds only errors."""
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise UnrecognizedPage(SOURCE, url, f"not valid JSON: {exc}") from exc
    answers = parsed if isinstance(parsed, list) else [parsed]
    found = [a["data"] for a in answers if isinstance(a, dict) and isinstance(a.get("data"), dict)]
    if found:
        return found
    errors = [
        str(error.get("message") if isinstance(error, dict) else error)
        for answer in answers
        if isinstance(answer, dict) and isinstance(answer.get("errors"), list)
        for error in answer["errors"]
    ]
    if errors:
        raise UnrecognizedPage(SOURCE, url, "GraphQL errors: " + "; ".join(errors)[:300])
    raise UnrecognizedPage(SOURCE, url, "JSON is not a Meetup GraphQL answer")


def _is_event_node(node: object) -> bool:
    if not isinstance(node, dict):
        return False
    if node.get("__typename") == "Event":
        return True
    return any(key in node for key in _EVENT_NODE_KEYS)


def _edge_event(edge: dict[str, Any]) -> dict[str, Any] | None:
    """The event of a connection edge: its ``node``, or the node's ``result`` (search
    connections wrap each event in a result node)."""
    inner = edge.get("node")
    if isinstance(inner, dict) and not _is_event_node(inner):
        inner = inner.get("result")
    return inner if isinstance(inner, dict) and _is_event_node(inner) else None


def _gql_events(data: object) -> list[dict[str, Any]]:
    """Event nodes of every connection edge (``{"edges": [{"node": ...}]}``) anywhere in
    a GraphQL answer, in document order. Event nodes are not searched further (their own
    connections hold RSVPs and topics); other nodes are (a group's upcoming events)."""
    found: list[dict[str, Any]] = []
    stack: list[Any] = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(reversed(node))
            continue
        if not isinstance(node, dict):
            continue
        event = _edge_event(node) if "node" in node else None
        if event is not None:
            found.append(event)
            continue
        stack.extend(reversed(list(node.values())))
    return found


def parse(
    text: str, url: str, *, tz: str | None = None, now: datetime | None = None
) -> list[ScrapedEvent]:
    """Events on a Meetup find, group or event page, or in a GraphQL API answer (raw
    JSON), merged per event id, in page order.

    ``tz`` places times without an offset (Meetup normally sends offsets). Past, online and
    cancelled events are returned, marked; filtering is the caller's business (``now`` is
    accepted for a uniform parser signature and not used).
    """
    if looks_like_json(text):
        answers = _gql_answer(text, url)
        gql_base = resolve_base(url, BASE)
        return merge_by_link(
            list(
                collect(
                    _gql_events(answers),
                    lambda item: _from_cache(item, {}, gql_base, tz),
                    source=SOURCE,
                    url=url,
                    kind="GraphQL Event",
                )
            ),
            key=_key,
        )
    next_data = script_json(text, "__NEXT_DATA__") if "__NEXT_DATA__" in text else None
    cache = _apollo_state(next_data) if next_data is not None else None
    scan = scan_jsonld(jsonld_blocks(text))
    if cache is None and not scan.events and not scan.has_list:
        raise UnrecognizedPage(SOURCE, url)
    base = resolve_base(url, BASE)
    events = list(
        collect(
            _cache_events(cache) if cache else [],
            lambda item: _from_cache(item, cache or {}, base, tz),
            source=SOURCE,
            url=url,
            kind="Apollo Event",
        )
    )
    events += collect(
        scan.events,
        lambda node: _from_jsonld(node, base, tz),
        source=SOURCE,
        url=url,
        kind="JSON-LD",
    )
    return merge_by_link(events, key=_key)


def looks_like_api_answer(text: str) -> bool:
    """A GraphQL answer listing events: JSON with ``"data"``, ``"edges"`` and an event's
    own field (``"eventUrl"`` or ``"dateTime"``). An answer with no events holds nothing
    Meetup's own, so it is not claimed here; its URL (``/gql2``) tells it apart."""
    if not looks_like_json(text):
        return False
    head = text[:_SNIFF]
    return (
        '"data"' in head
        and '"edges"' in head
        and '"node"' in head
        and ('"eventUrl"' in head or '"dateTime"' in head)
    )


def next_page_url(text: str, url: str) -> str | None:
    """Always None: a Meetup page's server render holds its first batch only, and later
    batches come from the GraphQL API rather than from another page URL. A GraphQL
    answer's ``pageInfo.endCursor`` is a variable of the next POST body, which has no URL
    form (see ``gql_url``)."""
    return None


def _detect(text: str) -> bool:
    head = text[:200_000]
    return ("__APOLLO_STATE__" in head and "meetup" in head) or looks_like_api_answer(text)


def first_requests(
    city: CityLike, base: str, options: Mapping[str, object]
) -> Sequence[CityRequest]:
    """One find page per keyword (a find query returns only a handful)."""
    location = city.slugs.get(SOURCE) or f"us--{city.id}"
    raw = options.get("keywords")
    words = [str(w) for w in raw] if isinstance(raw, list | tuple) and raw else [""]
    return [CityRequest(find_url(base, location, w), w) for w in words]


SITE = Site(
    name=SOURCE,
    display_name="Meetup",
    home=BASE,
    parse=parse,
    hosts=("meetup.com",),
    markers=("meetup.com/", "meetupstatic.com"),
    detect=_detect,
    fetch=("http", "browser"),
    first_requests=first_requests,
    next_page=next_page_url,
)


__all__ = [
    "BASE",
    "SITE",
    "SOURCE",
    "event_id_from_link",
    "find_url",
    "gql_url",
    "location_slug",
    "looks_like_api_answer",
    "next_page_url",
    "parse",
]
