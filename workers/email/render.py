"""Email rendering: pure Jinja2, no I/O beyond reading the templates.

Every email has an HTML part (inline CSS, table layout, readable in Gmail and Outlook, dark
mode where the client supports it) and a plain-text part. Event text is escaped by Jinja2's
autoescape in HTML; the text part is plain text and needs none.

A digest is the same for every subscriber of a city but for the unsubscribe link, so it is
rendered once with :data:`UNSUBSCRIBE_PLACEHOLDER` and personalized with
:func:`with_unsubscribe` (a string replace, not a re-render).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import escape

TEMPLATES = Path(__file__).resolve().parent / "templates"
UNSUBSCRIBE_PLACEHOLDER = "__NOCTURNE_UNSUBSCRIBE_URL__"
# Gmail clips messages over ~102 KB; past this many events the digest links to the site.
DIGEST_MAX_EVENTS = 60
# Events that are not after dark: a line each, after the after-dark ones, at most this many.
DIGEST_MAX_ALSO = 15


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    html: str
    text: str
    preheader: str = ""


@dataclass(slots=True)
class DigestDay:
    day: date
    label: str  # "Friday, November 28"
    events: list[dict[str, Any]] = field(default_factory=list)


@cache
def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _render(name: str, context: Mapping[str, Any]) -> str:
    return _env().get_template(name).render(**context)


def safe_link(url: str | None) -> str:
    """Only http(s) links reach an email; anything else (``javascript:``...) is dropped."""
    url = (url or "").strip()
    return url if url.lower().startswith(("https://", "http://")) else ""


def time_label(local_time: str) -> str:
    """ "20:30" -> "8:30 PM"; "" (a date-only listing) -> "All day"."""
    if not local_time:
        return "All day"
    hour, minute = (int(part) for part in local_time.split(":", 1))
    suffix = "AM" if hour < 12 else "PM"
    return f"{hour % 12 or 12}:{minute:02d} {suffix}"


def day_label(day: date) -> str:
    return f"{day:%A}, {day:%B} {day.day}"


def range_label(week_start: date) -> str:
    end = week_start + timedelta(days=6)
    if end.month == week_start.month:
        return f"{week_start:%b} {week_start.day}\u2013{end.day}"
    return f"{week_start:%b} {week_start.day} \u2013 {end:%b} {end.day}"


def digest_days(cards: Sequence[Mapping[str, Any]], *, week_start: date) -> list[DigestDay]:
    """Event cards grouped by local day, in order, for the seven days from ``week_start``.

    Days without events are left out; cards outside the week are ignored.
    """
    days = {
        week_start + timedelta(days=i): DigestDay(
            week_start + timedelta(days=i), day_label(week_start + timedelta(days=i))
        )
        for i in range(7)
    }
    ordered = sorted(cards, key=lambda c: (c["local_date"], c.get("local_time") or "", c["title"]))
    for card in ordered:
        try:
            day = days.get(date.fromisoformat(card["local_date"]))
        except ValueError:
            continue
        if day is None:
            continue
        day.events.append(
            {
                "title": card["title"],
                "link": safe_link(card.get("link")),
                "time_label": time_label(card.get("local_time") or ""),
                "venue": card.get("venue") or "",
                "price_label": card.get("price_label") or "",
                "tags": ", ".join(card.get("tag_labels") or []),
                "day_short": f"{day.day:%a}",
            }
        )
    return [d for d in days.values() if d.events]


def render_confirmation(
    *,
    email: str,
    city_name: str,
    confirm_url: str,
    unsubscribe_url: str,
    expires_days: int = 7,
) -> RenderedEmail:
    """The "please confirm" email with its signed link."""
    subject = f"Confirm your Nocturne digest for {city_name}"
    context: dict[str, Any] = {
        "subject": subject,
        "preheader": f"One click and the weekly digest for {city_name} is yours.",
        "email": email,
        "city_name": city_name,
        "confirm_url": confirm_url,
        "unsubscribe_url": unsubscribe_url,
        "expires_days": expires_days,
    }
    return RenderedEmail(
        subject=subject,
        html=_render("confirm.html", context),
        text=_render("confirm.txt", context),
        preheader=context["preheader"],
    )


def render_digest(
    *,
    city_name: str,
    week_start: date,
    cards: Sequence[Mapping[str, Any]],
    city_url: str,
    unsubscribe_url: str = UNSUBSCRIBE_PLACEHOLDER,
    max_events: int = DIGEST_MAX_EVENTS,
) -> RenderedEmail:
    """The weekly digest of ``cards`` (event cards, see ``nocturne.cards.event_card``): the
    after-dark events by day, then a line for each of the others. (Cards frozen before
    events had ``after_dark`` count as after dark.)"""
    days = digest_days([c for c in cards if c.get("after_dark", True)], week_start=week_start)
    others = digest_days([c for c in cards if not c.get("after_dark", True)], week_start=week_start)
    also = [ev for day in others for ev in day.events]
    total = sum(len(d.events) for d in days)
    shown, kept = 0, []
    for day in days:
        if shown >= max_events:
            break
        events = day.events[: max_events - shown]
        shown += len(events)
        kept.append(replace(day, events=events))
    first = kept[0].events[0]["title"] if kept else ""
    subject = f"This week in {city_name}: {total} event{'' if total == 1 else 's'}"
    subject += " after dark" if also else ""
    context: dict[str, Any] = {
        "subject": subject,
        "preheader": f"{range_label(week_start)}: {first} and more" if first else subject,
        "city_name": city_name,
        "range_label": range_label(week_start),
        "days": kept,
        "total": total,
        "more": total - shown,
        "also": also[:DIGEST_MAX_ALSO],
        "also_total": len(also),
        "also_more": max(0, len(also) - DIGEST_MAX_ALSO),
        "city_url": city_url,
        "unsubscribe_url": unsubscribe_url,
    }
    return RenderedEmail(
        subject=subject,
        html=_render("digest.html", context),
        text=_render("digest.txt", context),
        preheader=context["preheader"],
    )


def with_unsubscribe(rendered: RenderedEmail, unsubscribe_url: str) -> RenderedEmail:
    """``rendered`` with its placeholder replaced by one subscriber's unsubscribe link."""
    return replace(
        rendered,
        html=rendered.html.replace(UNSUBSCRIBE_PLACEHOLDER, str(escape(unsubscribe_url))),
        text=rendered.text.replace(UNSUBSCRIBE_PLACEHOLDER, unsubscribe_url),
    )


def render_suggestion_decision(
    *,
    approved: bool,
    city_name: str,
    url: str,
    name: str,
    reason: str | None,
    city_url: str,
    unsubscribe_url: str,
) -> RenderedEmail:
    """The one message a person who suggested a calendar gets: approved, or why not."""
    if approved:
        subject = f"{name} is now listed on Nocturne {city_name}"
        preheader = f"Thank you: its events now appear on the {city_name} page."
    else:
        subject = f"Your calendar suggestion for {city_name}"
        preheader = "We looked at the calendar you suggested."
    context: dict[str, Any] = {
        "subject": subject,
        "preheader": preheader,
        "approved": approved,
        "city_name": city_name,
        "url": url,
        "name": name,
        "reason": reason or "",
        "city_url": safe_link(city_url),
        "unsubscribe_url": unsubscribe_url,
    }
    return RenderedEmail(
        subject=subject,
        html=_render("suggestion.html", context),
        text=_render("suggestion.txt", context),
        preheader=preheader,
    )
