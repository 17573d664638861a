"""Feeds: an iCalendar feed and an Atom feed per city, and one .ics per event.

Feeds take the filters of ``/events/{city_id}``, so any filtered view can be subscribed
to. A UID is the event's id (``<id>@nocturne``), which survives re-scrapes because
upserts keep the row; cancelled events stay in the feed with STATUS:CANCELLED so
calendars strike them out instead of silently dropping them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import Response

from nocturne.api.deps import CityDep, FiltersDep, SessionDep
from nocturne.api.ratelimit import read_limit
from nocturne.api.schemas import Problem
from nocturne.cards import price_label
from nocturne.cities import City
from nocturne.models import Event, EventStatus
from nocturne.settings import settings
from scrapers.tags import TAGS

router = APIRouter(tags=["feeds"], dependencies=[Depends(read_limit)])

ICS_TYPE = "text/calendar; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
_STATUS = {
    EventStatus.cancelled: "CANCELLED",
    EventStatus.postponed: "TENTATIVE",
    EventStatus.gone: "CANCELLED",
}
# XML 1.0 forbids most control characters; scraped text sometimes carries them.
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "Unknown city or event"},
    429: {"model": Problem, "description": "Rate limited; see Retry-After"},
}


# --- iCalendar (RFC 5545) ----------------------------------------------------------------


def ics_escape(value: str) -> str:
    """TEXT escaping: backslash, semicolon, comma, newlines; other controls dropped."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    value = value.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")
    return re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", value)


def fold(line: str) -> str:
    """Fold a content line at 75 octets (CRLF + space), never inside a UTF-8 character."""
    out: list[str] = []
    current, size = "", 0
    for ch in line:
        width = len(ch.encode())
        if size + width > 75:
            out.append(current)
            current, size = " ", 1
        current += ch
        size += width
    out.append(current)
    return "\r\n".join(out)


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _vevent(ev: Event) -> list[str]:
    lines = [
        "BEGIN:VEVENT",
        f"UID:{ev.id}@nocturne",
        f"DTSTAMP:{_utc(ev.updated_at)}",
        f"LAST-MODIFIED:{_utc(ev.updated_at)}",
        f"CREATED:{_utc(ev.created_at)}",
    ]
    if ev.local_time:
        lines.append(f"DTSTART:{_utc(ev.start_at)}")
        if ev.end_at and ev.end_at > ev.start_at:
            lines.append(f"DTEND:{_utc(ev.end_at)}")
    else:  # the source gave only a day: an all-day event on the city's local date
        lines.append(f"DTSTART;VALUE=DATE:{ev.local_date.replace('-', '')}")
    lines.append(f"SUMMARY:{ics_escape(ev.title)}")
    location = ", ".join(p for p in dict.fromkeys([ev.venue or "", ev.address or ""]) if p)
    if location:
        lines.append(f"LOCATION:{ics_escape(location)}")
    if ev.latitude is not None and ev.longitude is not None:
        lines.append(f"GEO:{ev.latitude:.6f};{ev.longitude:.6f}")
    details = [ev.description or "", price_label(ev), ev.link]
    lines.append(f"DESCRIPTION:{ics_escape(chr(10).join(d for d in details if d))}")
    lines.append(f"URL:{ics_escape(ev.link)}")
    if categories := _categories(ev):
        lines.append(f"CATEGORIES:{','.join(ics_escape(label) for _, label in categories)}")
    lines.append(f"STATUS:{_STATUS.get(ev.status, 'CONFIRMED')}")  # type: ignore[call-overload]
    lines.append("END:VEVENT")
    return lines


def _categories(ev: Event) -> list[tuple[str, str]]:
    """(term, label) of the event's tags, "after-dark" first when it is."""
    tags = [(t, TAGS[t]) for t in ev.tags or () if t in TAGS]
    return [("after-dark", "After dark"), *tags] if ev.after_dark else tags


def calendar(events: Iterable[Event], *, name: str, city: City | None = None) -> str:
    """A VCALENDAR with one VEVENT per event, CRLF line ends, folded lines."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Nocturne//Events//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{ics_escape(name)}",
        "REFRESH-INTERVAL;VALUE=DURATION:PT6H",
        "X-PUBLISHED-TTL:PT6H",
    ]
    if city:
        lines.append(f"X-WR-TIMEZONE:{city.timezone}")
    for ev in events:
        lines.extend(_vevent(ev))
    lines.append("END:VCALENDAR")
    return "\r\n".join(fold(ln) for ln in lines) + "\r\n"


# --- Atom (RFC 4287) ---------------------------------------------------------------------


def _xml_text(value: str | None) -> str:
    return _XML_BAD.sub("", value or "")


def _tag_base() -> str:
    host = urlsplit(settings.public_url).hostname or "nocturne.local"
    return f"tag:{host},2026:"


def atom(events: list[Event], *, city: City, self_url: str) -> bytes:
    """An Atom feed: one entry per event, id stable across scrapes."""
    ns = "http://www.w3.org/2005/Atom"
    ET.register_namespace("", ns)
    feed = ET.Element(f"{{{ns}}}feed")

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ns}}}{tag}", attrs)
        if text is not None:
            el.text = _xml_text(text)
        return el

    updated = max((ev.updated_at for ev in events), default=datetime(2026, 1, 1, tzinfo=UTC))
    sub(feed, "id", f"{_tag_base()}city/{city.id}")
    sub(feed, "title", f"Nocturne: events in {city.name}")
    sub(feed, "updated", updated.astimezone(UTC).isoformat())
    sub(feed, "link", rel="self", href=_xml_text(self_url))
    sub(feed, "link", rel="alternate", href=f"{settings.public_url.rstrip('/')}/")
    author = sub(feed, "author")
    sub(author, "name", "Nocturne")
    for ev in events:
        entry = sub(feed, "entry")
        sub(entry, "id", f"{_tag_base()}event/{ev.id}")
        prefix = "Cancelled: " if ev.status == EventStatus.cancelled else ""
        when = f"{ev.local_date} {ev.local_time}".strip()
        sub(entry, "title", f"{prefix}{ev.title} ({when})")
        sub(entry, "updated", ev.updated_at.astimezone(UTC).isoformat())
        sub(entry, "published", ev.created_at.astimezone(UTC).isoformat())
        sub(entry, "link", rel="alternate", href=_xml_text(ev.link))
        place = ", ".join(p for p in dict.fromkeys([ev.venue or "", ev.address or ""]) if p)
        summary = " · ".join(
            p for p in (when, place, price_label(ev), ev.status if prefix else "") if p
        )
        sub(entry, "summary", summary)
        if ev.description:
            sub(entry, "content", ev.description, type="text")
        for source in (s for s in ev.sources.split(",") if s):
            sub(entry, "category", term=source)
        for term, label in _categories(ev):
            sub(entry, "category", term=term, label=label, scheme=f"{_tag_base()}tags")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


# --- routes ------------------------------------------------------------------------------


@router.get(
    "/cities/{city_id}/events.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}, **_RESPONSES},
)
def city_calendar(city: CityDep, filters: FiltersDep, session: SessionDep) -> Response:
    """The city's events (same filters as /events) as a subscribable iCalendar feed."""
    events = filters.query(session=session, city_id=city.id)
    body = calendar(events, name=f"Nocturne · {city.name}", city=city)
    return Response(
        body,
        media_type=ICS_TYPE,
        headers={
            "Content-Disposition": f'inline; filename="nocturne-{city.id}.ics"',
            "Cache-Control": "public, max-age=300",
        },
    )


@router.get(
    "/cities/{city_id}/events.atom",
    response_class=Response,
    responses={200: {"content": {"application/atom+xml": {}}}, **_RESPONSES},
)
def city_atom(
    city: CityDep, filters: FiltersDep, session: SessionDep, request: Request
) -> Response:
    """The city's events (same filters as /events) as an Atom feed."""
    events = filters.query(session=session, city_id=city.id)
    return Response(
        atom(events, city=city, self_url=str(request.url)),
        media_type=ATOM_TYPE,
        headers={"Cache-Control": "public, max-age=300"},
    )


@router.get(
    "/cities/{city_id}/events/{event_id}.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}, **_RESPONSES},
)
def event_calendar(
    city: CityDep,
    event_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    session: SessionDep,
) -> Response:
    """One event as an .ics file, to add to a calendar."""
    ev = session.get(Event, event_id)
    if ev is None or ev.city_id != city.id:
        raise HTTPException(status_code=404, detail=f"No event {event_id} in {city.id}")
    return Response(
        calendar([ev], name=ev.title, city=city),
        media_type=ICS_TYPE,
        headers={"Content-Disposition": f'attachment; filename="nocturne-event-{ev.id}.ics"'},
    )
