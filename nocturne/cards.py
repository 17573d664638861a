"""Event cards: an Event as the plain dict that the city page, the live channel and the
digest email render.

A card is built where the event is read or saved and carries everything its renderers
need, so none of them queries again; it crosses Redis as JSON in ``events`` messages of
:mod:`nocturne.live`, hence only JSON types.
"""

from __future__ import annotations

from datetime import UTC, date
from typing import Any

from sqlalchemy.orm import object_session

from nocturne.crud import event_sources
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


def event_card(event: Event) -> dict[str, Any]:
    """Everything a browser needs to render one event card, with no further query."""
    return {
        "id": event.id,
        "title": event.title,
        "link": event.link,
        "links": list(event.links or [event.link]),
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
        "image_url": event.image_url or "",
        "status": event.status,
        "is_online": event.is_online,
        "tags": list(event.tags or []),
        "tag_labels": [TAGS[t] for t in event.tags or () if t in TAGS][:3],
        "after_dark": bool(event.after_dark),
        "after_dark_why": ", ".join(event.after_dark_reasons or []),
        "age": event.age or "",
        "age_label": AGES.get(event.age or "", ""),
    }
