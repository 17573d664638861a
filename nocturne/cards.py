"""Event cards: an Event as the plain dict that the city page, the live channel and the
digest email render.

A card is built where the event is read or saved and carries everything its renderers
need, so none of them queries again; it crosses Redis as JSON in ``events`` messages of
:mod:`nocturne.live`, hence only JSON types.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import object_session

from nocturne.crud import event_sources
from nocturne.crud.events import NIGHT_ENDS, NIGHT_STARTS
from nocturne.models import CityFeed, Event
from scrapers.sites import SITES
from scrapers.tags import AGES, TAGS


def _money(amount: float) -> str:
    return f"{amount:.0f}" if float(amount).is_integer() else f"{amount:.2f}"


def price_label(event: Event) -> str:
    """ "Free", "$10", "$10-$25" (an en dash), or "" when the source gave no price."""
    if event.is_free:
        return "Free"
    lo, hi = event.price_min, event.price_max
    if lo is None and hi is None:
        return ""
    sign = "$" if (event.currency or "USD").upper() == "USD" else f"{event.currency} "
    if lo is None or hi is None or lo == hi:
        return f"{sign}{_money(lo if lo is not None else hi)}"  # type: ignore[arg-type]
    return f"{sign}{_money(lo)}\u2013{sign}{_money(hi)}"


def _day_label(local_date: str) -> str:
    day = date.fromisoformat(local_date)
    return f"{day:%a} {day.day} {day:%b}"


def _feed_name(event: Event) -> str:
    """The name of the feed that first listed ``event``, read in the event's own session
    (one lookup per feed and session: the identity map keeps it)."""
    session = object_session(event)
    feed = session.get(CityFeed, event.feed_id) if session and event.feed_id else None
    return feed.name if feed else ""


def credit(event: Event) -> str:
    """Whom the card thanks besides the source badges: a calendar feed or venue page by its
    own name ("via Elsewhere Brooklyn calendar"), a hand-kept listing such as 19hz by the
    site's ("via 19hz"); "" for the big sites' own listings."""
    if name := _feed_name(event):
        return f"via {name}"
    credited = [
        SITES[s].display_name for s in event_sources(event) if s in SITES and SITES[s].credit
    ]
    return f"via {credited[0]}" if credited else ""


EXCERPT_CHARS = 160
# Drawn after the live events of their day, and dimmed.
ENDED_STATUSES = ("cancelled", "gone")


def excerpt(text: str | None, *, limit: int = EXCERPT_CHARS) -> str:
    """The description on one line, cut at a word near ``limit`` characters: what fills
    the card's two lines. Rendered as text, so any markup in it shows as written."""
    flat = " ".join((text or "").split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(",.;:-\u2013 ") + "\u2026"


def fallback_art(title: str) -> str:
    """A quiet gradient for a card with no image, the same for the same title (no network)."""
    hue = zlib.crc32(title.encode()) % 360
    return f"linear-gradient(135deg, hsl({hue} 45% 22%), hsl({(hue + 50) % 360} 55% 12%))"


def night_of(local_date: str, local_time: str) -> str:
    """The night (its evening's date, YYYY-MM-DD) an event belongs to: a start before 6 AM
    is the night before's, as on the event page's same-night list."""
    day = date.fromisoformat(local_date)
    if local_time and local_time < NIGHT_ENDS.strftime("%H:%M"):
        day -= timedelta(days=1)
    return day.isoformat()


def _clock(hour: int) -> str:
    return f"{hour % 12 or 12} {'AM' if hour < 12 else 'PM'}"


def day_heading(night: str, *, now: datetime, daytime: bool = False) -> str:
    """ "Tonight, Mon Dec 7 · 5 PM-6 AM" (until 6 AM the night under way), "Tomorrow, Tue
    Dec 8", "Saturday, Dec 12"; "Today, Mon Dec 7" when ``daytime`` events share tonight.
    ``now`` is in the city's zone."""
    tonight = now.date() - timedelta(days=1) if now.time() < NIGHT_ENDS else now.date()
    day = date.fromisoformat(night)
    if day == tonight:
        if daytime:
            return f"Today, {day_name(day)}"
        hours = f"{_clock(NIGHT_STARTS.hour)}\u2013{_clock(NIGHT_ENDS.hour)}"
        return f"Tonight, {day_name(day)} · {hours}"
    if day == tonight + timedelta(days=1):
        return f"Tomorrow, {day_name(day)}"
    return f"{day:%A}, {day:%b} {day.day}"


def day_name(day: date) -> str:
    """ "Sat Dec 12" """
    return f"{day:%a} {day:%b} {day.day}"


def card_order(card: dict[str, Any]) -> tuple[str, bool, str, int]:
    """Sort key of a listing: by night, the live events before the cancelled and gone
    ones of that night, then by start."""
    return (
        card["night"],
        card["status"] in ENDED_STATUSES,
        card["start_at"],
        card["id"] or 0,
    )


def day_groups(cards: Iterable[dict[str, Any]], *, now: datetime) -> list[dict[str, Any]]:
    """Cards under their day headings, in listing order: ``[{"night", "heading",
    "cards"}]``. ``now`` is in the city's zone (it decides which night is tonight)."""
    groups: list[dict[str, Any]] = []
    for card in sorted(cards, key=card_order):
        if not groups or groups[-1]["night"] != card["night"]:
            groups.append({"night": card["night"], "heading": "", "cards": []})
        groups[-1]["cards"].append(card)
    for group in groups:
        daytime = any(
            c["local_time"] and c["night"] == c["local_date"] and c["local_time"] < "17:00"
            for c in group["cards"]
        )
        group["heading"] = day_heading(group["night"], now=now, daytime=daytime)
    return groups


def flatten(groups: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [card for group in groups for card in group["cards"]]


def _card_links(event: Event, links: list[dict[str, str]]) -> list[dict[str, str]]:
    """The listings named by their site; the first listing's link keeps its source's name
    even on a host of its own (a mirror, a test server)."""
    site = SITES.get(event.source)
    if site is None or not site.hosts:
        return links
    return [
        {**link, "name": site.display_name} if link["href"] == event.link else link
        for link in links
    ]


def event_card(event: Event) -> dict[str, Any]:
    """Everything a browser needs to render one event card, with no further query."""
    # Imported here: nocturne.event_details builds on this module (credit, price_label).
    from nocturne.event_details import location_line, safe_href, source_links, time_range

    return {
        "id": event.id,
        "title": event.title,
        "link": event.link,
        "links": list(event.links or [event.link]),
        "source_links": _card_links(event, source_links(event)),
        # "Sat Dec 12 · 10 PM" in the city's zone
        "when": time_range(
            start=event.start_at, end=None, timezone=event.timezone, all_day=not event.local_time
        ),
        "night": night_of(event.local_date, event.local_time),
        "excerpt": excerpt(event.description),
        "location": location_line(event),
        "fallback": fallback_art(event.title),
        "sources": event_sources(event),
        "credit": credit(event),
        "start_at": event.start_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "local_date": event.local_date,
        "local_time": event.local_time,
        "day_label": _day_label(event.local_date),
        "venue": event.venue or "",
        "address": event.address or "",
        "price_label": price_label(event),
        "is_free": bool(event.is_free),
        "image_url": safe_href(event.image_url),
        "status": event.status,
        "is_online": event.is_online,
        "tags": list(event.tags or []),
        "tag_labels": [TAGS[t] for t in event.tags or () if t in TAGS][:3],
        "after_dark": bool(event.after_dark),
        "after_dark_why": ", ".join(event.after_dark_reasons or []),
        "age": event.age or "",
        "age_label": AGES.get(event.age or "", ""),
    }
