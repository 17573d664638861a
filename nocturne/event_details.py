"""An event's own page as plain values: when, where, links out, a safe description.

Pure functions of an :class:`~nocturne.models.Event` (or its fields), shared by the event
page and the link-preview head tags; no Reflex, no database.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypedDict
from urllib.parse import quote, urlencode, urlsplit
from zoneinfo import ZoneInfo

from nocturne.cards import credit, price_label
from nocturne.cities import get_city
from nocturne.crud import event_sources
from nocturne.models import Event
from nocturne.settings import settings
from scrapers.sites import SITES
from scrapers.tags import AGES, TAGS

# Shown as times only while the end is this close to the start (10 PM to 3 AM).
_SAME_NIGHT = timedelta(hours=18)
# http(s) addresses in plain text; a trailing full stop, comma or bracket is the sentence's.
_URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""
_GCAL_DETAILS_MAX = 900


class Segment(TypedDict):
    """A run of description text, a link when ``href`` is set."""

    text: str
    href: str


def clock(moment: datetime) -> str:
    """ "10 PM", "9:30 AM" (no leading zero, minutes only when there are some)."""
    hour = moment.hour % 12 or 12
    minutes = f":{moment.minute:02d}" if moment.minute else ""
    return f"{hour}{minutes} {'AM' if moment.hour < 12 else 'PM'}"


def day_label(day: date) -> str:
    """ "Sat Dec 12" """
    return f"{day:%a} {day:%b} {day.day}"


def time_range(
    *, start: datetime, end: datetime | None, timezone: str, all_day: bool = False
) -> str:
    """When an event is, in its city's zone, the way Americans read it.

    "Sat Dec 12 · 10 PM \u2013 3 AM" (an en dash); an end more than 18 hours on names
    its day ("Fri Dec 11, 8 PM \u2013 Sun Dec 13, 2 AM"); a day-only listing reads
    "Sat Dec 12 · All day".
    """
    tz = ZoneInfo(timezone)
    local = start.astimezone(tz)
    if all_day:
        return f"{day_label(local.date())} · All day"
    if end is None or end <= start:
        return f"{day_label(local.date())} · {clock(local)}"
    local_end = end.astimezone(tz)
    if end - start <= _SAME_NIGHT:
        return f"{day_label(local.date())} · {clock(local)} \u2013 {clock(local_end)}"
    return (
        f"{day_label(local.date())}, {clock(local)} \u2013 "
        f"{day_label(local_end.date())}, {clock(local_end)}"
    )


def place_query(*, venue: str | None, address: str | None, city_id: str) -> str:
    """What to search a map for: the address (else the venue) and the city, once."""
    place = (address or venue or "").strip()
    if not place:
        return ""
    city = get_city(city_id)
    if city and city.name.lower() not in place.lower():
        place = f"{place}, {city.name}, {city.state}"
    return place


def osm_link(
    *,
    latitude: float | None,
    longitude: float | None,
    venue: str | None,
    address: str | None,
    city_id: str,
) -> str:
    """The place on OpenStreetMap: a marker at its coordinates when known, else a search
    for its address; "" for an event with neither."""
    if latitude is not None and longitude is not None:
        lat, lon = f"{latitude:.6f}", f"{longitude:.6f}"
        return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"
    query = place_query(venue=venue, address=address, city_id=city_id)
    return f"https://www.openstreetmap.org/search?query={quote(query)}" if query else ""


def _gcal_stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def google_calendar_link(
    *,
    title: str,
    start: datetime,
    end: datetime | None,
    timezone: str,
    all_day: bool = False,
    location: str = "",
    details: str = "",
) -> str:
    """Google Calendar's "add event" link (its TEMPLATE action). With no end the event
    lasts two hours; a day-only listing is an all-day event on its local date."""
    if all_day:
        day = start.astimezone(ZoneInfo(timezone)).date()
        dates = f"{day:%Y%m%d}/{day + timedelta(days=1):%Y%m%d}"
    else:
        finish = end if end and end > start else start + timedelta(hours=2)
        dates = f"{_gcal_stamp(start)}/{_gcal_stamp(finish)}"
    if len(details) > _GCAL_DETAILS_MAX:
        details = details[: _GCAL_DETAILS_MAX - 1].rstrip() + "…"
    params = {"action": "TEMPLATE", "text": title, "dates": dates, "ctz": timezone}
    if location:
        params["location"] = location
    if details:
        params["details"] = details
    return "https://calendar.google.com/calendar/render?" + urlencode(
        params, quote_via=lambda v, *_: quote(v, safe="/")
    )


def safe_href(url: str | None) -> str:
    """``url`` if it is an absolute http(s) address with a host, else ""."""
    url = (url or "").strip()
    parts = urlsplit(url)
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else ""


def description_segments(text: str | None) -> list[Segment]:
    """A scraped description as text runs and links, for rendering as text children: any
    markup in it stays text, and only http(s) addresses become links."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    segments: list[Segment] = []
    pos = 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        end = match.start() + len(url)
        href = safe_href(url)
        if not href:
            continue
        if match.start() > pos:
            segments.append({"text": text[pos : match.start()], "href": ""})
        segments.append({"text": url, "href": href})
        pos = end
    if pos < len(text):
        segments.append({"text": text[pos:], "href": ""})
    return segments


def plain_summary(text: str | None, *, limit: int = 200) -> str:
    """The description on one line, cut at a word near ``limit`` characters."""
    flat = " ".join((text or "").split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut[limit // 2 :] else cut).rstrip(",.;: ") + "…"


def event_url(event_id: int) -> str:
    """The event page's canonical address on the site."""
    return f"{settings.public_url.rstrip('/')}/event/{event_id}"


def location_line(event: Event) -> str:
    return ", ".join(p for p in dict.fromkeys([event.venue or "", event.address or ""]) if p)


def _site_name(host: str) -> str:
    """The site a link belongs to, by its host ("Eventbrite"), else the bare host."""
    site = next((s for s in SITES.values() if s.hosts and s.owns_host(host)), None)
    return site.display_name if site else host.removeprefix("www.")


def source_links(event: Event) -> list[dict[str, str]]:
    """Every listing of the event (its merged links, http(s) only), each named by its site."""
    links = []
    for link in dict.fromkeys(event.links or [event.link]):
        if href := safe_href(link):
            links.append({"href": href, "name": _site_name(urlsplit(href).hostname or "")})
    return links


def event_details(event: Event) -> dict[str, Any]:
    """Everything the event page shows, as JSON values."""
    all_day = event.local_time == ""
    location = location_line(event)
    description = event.description or ""
    page_url = event_url(event.id or 0)
    return {
        "id": event.id,
        "title": event.title,
        "city_id": event.city_id,
        "city_name": (city.name if (city := get_city(event.city_id)) else event.city_id),
        "when": time_range(
            start=event.start_at, end=event.end_at, timezone=event.timezone, all_day=all_day
        ),
        "start_at": event.start_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "venue": event.venue or "",
        "address": event.address or "",
        "map_link": osm_link(
            latitude=event.latitude,
            longitude=event.longitude,
            venue=event.venue,
            address=event.address,
            city_id=event.city_id,
        ),
        "price": price_label(event) or "Price not listed",
        "is_free": bool(event.is_free),
        "status": event.status,
        "description": description_segments(description),
        "links": source_links(event),
        "sources": event_sources(event),
        "credit": credit(event),
        "tags": [TAGS[t] for t in event.tags or () if t in TAGS],
        "after_dark": bool(event.after_dark),
        "after_dark_reasons": list(event.after_dark_reasons or []),
        "age_label": AGES.get(event.age or "", ""),
        "image_url": safe_href(event.image_url),
        "ics_link": f"/cities/{event.city_id}/events/{event.id}.ics",
        "google_link": google_calendar_link(
            title=event.title,
            start=event.start_at,
            end=event.end_at,
            timezone=event.timezone,
            all_day=all_day,
            location=location,
            details="\n\n".join(p for p in (page_url, plain_summary(description, limit=600)) if p),
        ),
        "url": page_url,
    }


def same_night_item(event: Event) -> dict[str, Any]:
    """One line of the "same night" list."""
    return {
        "id": event.id,
        "title": event.title,
        "time": "All day"
        if event.local_time == ""
        else clock(event.start_at.astimezone(ZoneInfo(event.timezone))),
        "venue": event.venue or "",
        "status": event.status,
        "href": f"/event/{event.id}",
    }
