"""Calendars people suggest for a city: the checks, the preview, the moderation. Data.

Keyword-only functions taking a session, shared by the API, the preview job and (later)
the pages. A suggestion is stored only once its URL passed every check and one safe fetch
(``scrapers.safe_fetch``) found a calendar in it; refusals raise :class:`Refused` with the
words a person reads and the HTTP status an API answers with. An admin's approval makes
it a :class:`~nocturne.models.CityFeed` of the city, credited by the suggested name.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select

from nocturne import feeds, queue
from nocturne.cities import get_city
from nocturne.db import get_engine
from nocturne.models import (
    CityFeed,
    FeedStatus,
    FeedSuggestion,
    Subscription,
    SubscriptionStatus,
    SuggestionStatus,
    utcnow,
)
from nocturne.settings import Settings, settings
from scrapers.errors import ScraperError
from scrapers.event import ScrapedEvent
from scrapers.safe_fetch import RefusedURL, fetch_user_url, normalize_url

log = logging.getLogger(__name__)

NEXT_SHOWN = 3
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Refused(ValueError):
    """A suggestion not taken: ``status`` is the API's answer (422, 409...), ``message``
    the plain words, ``reason`` a stable key for clients and the log line."""

    def __init__(
        self, message: str, *, status: int = 422, reason: str = "invalid", **extra: Any
    ) -> None:
        self.message = message
        self.status = status
        self.reason = reason
        self.extra = extra
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class SuggestionInput:
    city_id: str
    url: str
    name: str | None
    email: str | None
    note: str | None


def _clean(text: str | None, limit: int, what: str) -> str | None:
    text = " ".join((text or "").split())
    if len(text) > limit:
        raise Refused(f"The {what} is too long: {limit} characters at most.", reason=what)
    return text or None


def validate_suggestion(
    *, city_id: str, url: str, name: str | None, email: str | None, note: str | None
) -> SuggestionInput:
    """The cleaned suggestion, or Refused (422) saying what is wrong with it."""
    if get_city(city_id) is None:
        raise Refused("That city is not one Nocturne lists.", reason="city")
    if len(url) > 2000:
        raise Refused("The address is too long: 2000 characters at most.", reason="url")
    try:
        clean_url = normalize_url(url)
    except RefusedURL as exc:
        raise Refused(exc.message, reason=exc.reason) from None
    clean_email = _clean(email, 320, "email")
    if clean_email is not None and not _EMAIL_RE.match(clean_email):
        raise Refused("That email address does not look right.", reason="email")
    note_text = (note or "").strip()
    if len(note_text) > 2000:
        raise Refused("The note is too long: 2000 characters at most.", reason="note")
    return SuggestionInput(
        city_id=city_id,
        url=clean_url,
        name=_clean(name, 200, "name"),
        email=clean_email.lower() if clean_email else None,
        note=note_text or None,
    )


def submitter_hash(address: str, *, secret: str | None = None) -> str:
    """A keyed hash of the submitter's address: enough to see one source of many
    suggestions, not enough to recover the address."""
    key = (secret or settings.secret_key).encode()
    return hmac.new(key, address.encode(), hashlib.sha256).hexdigest()


def email_limit_key(email: str) -> str:
    """The rate limiter's key for suggestions from one address (a hash: the limiter's
    store keeps no addresses)."""
    return f"suggest-email:{submitter_hash(email)[:32]}"


def find_duplicate(*, session: Session, city_id: str, url: str) -> CityFeed | FeedSuggestion | None:
    """The city's feed already reading ``url`` (not removed), else the suggestion of it
    still waiting for review."""
    feed = session.exec(
        select(CityFeed).where(
            CityFeed.city_id == city_id, CityFeed.url == url, CityFeed.status != FeedStatus.removed
        )
    ).first()
    if feed is not None:
        return feed
    return session.exec(
        select(FeedSuggestion).where(
            FeedSuggestion.city_id == city_id,
            FeedSuggestion.url == url,
            FeedSuggestion.status == SuggestionStatus.pending,
        )
    ).first()


# -- the preview -----------------------------------------------------------------------


def _when(start: datetime, zone: ZoneInfo, date_only: bool) -> str:
    local = start.astimezone(zone) if not date_only else start
    day = f"{local:%a %b} {local.day}"
    if date_only:
        return day
    hour = local.hour % 12 or 12
    minutes = f":{local.minute:02d}" if local.minute else ""
    return f"{day} · {hour}{minutes} {'AM' if local.hour < 12 else 'PM'}"


def summarize(
    events: Sequence[ScrapedEvent], *, kind: str, timezone: str, now: datetime
) -> dict[str, Any]:
    """What a calendar holds, and the sentence that says it: "Found 31 events, 12 coming;
    next: Fri Dec 11 · 10 PM — Title". Pure."""
    zone = ZoneInfo(timezone)
    coming = sorted((e for e in events if (e.end or e.start) >= now), key=lambda e: e.start)
    shown = [
        {"title": e.title, "when": _when(e.start, zone, e.date_only), "link": e.link}
        for e in coming[:NEXT_SHOWN]
    ]
    found = len(events)
    if not found:
        message = "The calendar was read, but it holds no events."
    else:
        message = f"Found {found} event{'s' if found != 1 else ''}, {len(coming)} coming"
        if shown:
            message += f"; next: {shown[0]['when']} — {shown[0]['title']}"
        else:
            message += "; none of them is still to come"
    return {
        "state": "ok" if coming else "empty",
        "kind": kind,
        "found": found,
        "coming": len(coming),
        "next": shown,
        "message": message,
    }


def detect_feed_kind(text: str) -> str | None:
    """Which feed-reading site of the registry the text is (iCalendar before schema.org
    pages), or None: not a calendar we can read."""
    from scrapers.sites import SITES

    for name in feeds.feed_kinds():
        detect = SITES[name].detect
        if detect is not None and detect(text):
            return name
    return None


NOT_A_CALENDAR = (
    "That address holds no calendar we can read: it should be an iCalendar feed (.ics, "
    "webcal://) or a page listing its events with schema.org data."
)


async def preview_url(
    *, url: str, city_id: str, now: datetime | None = None, cfg: Settings | None = None
) -> dict[str, Any]:
    """Fetch ``url`` once, safely, and say what it holds (see :func:`summarize`).

    Raises Refused (422) when it cannot be read or is not a calendar, in plain words.
    """
    from scrapers.sites import SITES

    city = get_city(city_id)
    if city is None:
        raise Refused("That city is not one Nocturne lists.", reason="city")
    try:
        page = await fetch_user_url(url, settings=cfg or settings)
    except RefusedURL as exc:
        raise Refused(exc.message, reason=exc.reason) from None
    kind = detect_feed_kind(page.text)
    if kind is None:
        raise Refused(NOT_A_CALENDAR, reason="not_calendar")
    now = now or utcnow()
    try:
        events = SITES[kind].parse(page.text, page.final_url, tz=city.timezone, now=now)
    except ScraperError:
        raise Refused(NOT_A_CALENDAR, reason="not_calendar") from None
    return summarize(events, kind=kind, timezone=city.timezone, now=now)


def failed_preview(refused: Refused) -> dict[str, Any]:
    return {"state": "failed", "reason": refused.reason, "message": refused.message}


# -- storing and deciding ----------------------------------------------------------------


def create_suggestion(
    *,
    session: Session,
    suggestion: SuggestionInput,
    preview: dict[str, Any],
    submitter: str | None = None,
) -> FeedSuggestion:
    """Store a suggestion that passed its checks and preview. The caller commits."""
    now = utcnow()
    row = FeedSuggestion(
        city_id=suggestion.city_id,
        url=suggestion.url,
        name=suggestion.name,
        email=suggestion.email,
        note=suggestion.note,
        preview=preview,
        submitter_hash=submitter,
        created_at=now,
        updated_at=now,
        previewed_at=now,
    )
    session.add(row)
    session.flush()
    return row


def get_suggestion(*, session: Session, suggestion_id: int) -> FeedSuggestion | None:
    return session.get(FeedSuggestion, suggestion_id)


def list_suggestions(
    *, session: Session, status: str | None = None, limit: int = 200
) -> tuple[list[FeedSuggestion], int]:
    """Suggestions, oldest first (all statuses when ``status`` is None), and how many
    there are in all."""
    stmt = select(FeedSuggestion)
    if status is not None:
        stmt = stmt.where(FeedSuggestion.status == status)
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    ordered = stmt.order_by(col(FeedSuggestion.created_at), col(FeedSuggestion.id))
    return list(session.exec(ordered.limit(limit))), total


def store_preview(
    *, session: Session, suggestion_id: int, preview: dict[str, Any]
) -> FeedSuggestion | None:
    """Keep a fresh preview of a stored suggestion. The caller commits."""
    row = session.get(FeedSuggestion, suggestion_id)
    if row is None:
        return None
    row.preview, row.previewed_at = preview, utcnow()
    row.updated_at = row.previewed_at
    session.add(row)
    session.flush()
    return row


def _pending(session: Session, suggestion_id: int) -> FeedSuggestion:
    row = session.get(FeedSuggestion, suggestion_id)
    if row is None:
        raise Refused("No such suggestion.", status=404, reason="not_found")
    if row.status != SuggestionStatus.pending:
        raise Refused(f"This suggestion was {row.status} already.", status=409, reason="decided")
    return row


def default_feed_name(row: FeedSuggestion) -> str:
    """The name a feed is credited by: the suggested one, else the calendar's host."""
    return row.name or (urlsplit(row.url).hostname or row.url)[:200]


def approve_suggestion(
    *, session: Session, suggestion_id: int, name: str | None = None
) -> tuple[FeedSuggestion, CityFeed]:
    """Make a waiting suggestion a feed of its city, credited by ``name`` (default: the
    suggested name). Refused when it was decided already or its preview found no calendar.
    The caller commits."""
    row = _pending(session, suggestion_id)
    kind = row.preview.get("kind")
    if kind not in feeds.feed_kinds():
        raise Refused(
            "Its preview found no calendar to read; preview it again first.",
            status=409,
            reason="no_preview",
        )
    clean_name = _clean(name, 200, "name") or default_feed_name(row)
    feed = feeds.add_city_feed(
        session=session, city_id=row.city_id, name=clean_name, url=row.url, kind=str(kind)
    )
    now = utcnow()
    row.status, row.feed_id, row.name = SuggestionStatus.approved, feed.id, clean_name
    row.decided_at = row.updated_at = now
    session.add(row)
    session.flush()
    return row, feed


def reject_suggestion(*, session: Session, suggestion_id: int, reason: str) -> FeedSuggestion:
    """Turn a waiting suggestion down, saying why. The caller commits."""
    text = " ".join(reason.split())
    if not text:
        raise Refused("A rejection needs a reason.", reason="reason")
    if len(text) > 1000:
        raise Refused("The reason is too long: 1000 characters at most.", reason="reason")
    row = _pending(session, suggestion_id)
    now = utcnow()
    row.status, row.reason = SuggestionStatus.rejected, text
    row.decided_at = row.updated_at = now
    session.add(row)
    session.flush()
    return row


def may_email(*, session: Session, email: str) -> bool:
    """Whether an address may get the decision mail: not when it unsubscribed from
    Nocturne and subscribes to nothing now (the digests' unsubscribe is a promise)."""
    statuses = set(
        session.exec(select(Subscription.status).where(Subscription.email == email.lower()))
    )
    return not (SubscriptionStatus.unsubscribed in statuses and len(statuses) == 1)


def decision_to_notify(*, session: Session, suggestion_id: int) -> FeedSuggestion | None:
    """The decided suggestion whose submitter should hear of it now (left an email, not
    told yet, may be emailed), else None."""
    row = session.get(FeedSuggestion, suggestion_id)
    if row is None or row.status == SuggestionStatus.pending or not row.email:
        return None
    if row.notified_at is not None or not may_email(session=session, email=row.email):
        return None
    return row


def mark_notified(*, session: Session, suggestion_id: int) -> None:
    """The decision mail went out: never again. The caller commits."""
    row = session.get(FeedSuggestion, suggestion_id)
    if row is not None:
        row.notified_at = utcnow()
        session.add(row)
        session.flush()


def live_channel(suggestion_id: int) -> str:
    """The live channel a page showing a suggestion listens on for its preview."""
    return f"suggestion:{suggestion_id}"


def as_dict(row: FeedSuggestion, *, admin: bool = False) -> dict[str, Any]:
    """A suggestion as the API shows it (the submitter's email and hash to admins only)."""
    data: dict[str, Any] = {
        "id": row.id,
        "city_id": row.city_id,
        "url": row.url,
        "name": row.name,
        "status": row.status,
        "reason": row.reason,
        "preview": row.preview,
        "feed_id": row.feed_id,
        "created_at": row.created_at,
        "decided_at": row.decided_at,
    }
    if admin:
        data |= {"email": row.email, "note": row.note, "submitter_hash": row.submitter_hash}
    return data


# -- one submission, one decision (shared by the API and the pages) ----------------------

WAITING = "Someone suggested this calendar already; it waits for review. Thank you!"
THANKS = "Thank you: your suggestion waits for review."


@dataclass(frozen=True, slots=True)
class Submitted:
    row: FeedSuggestion
    waiting: bool  # that URL waits for review already: nothing new was stored


def _session() -> Session:
    return Session(get_engine(settings.database_url), expire_on_commit=False)


def _duplicate_of(city_id: str, url: str) -> CityFeed | FeedSuggestion | None:
    with _session() as session:
        return find_duplicate(session=session, city_id=city_id, url=url)


def _store(
    suggestion: SuggestionInput, preview: dict[str, Any], submitter: str | None
) -> Submitted:
    with _session() as session:
        # Checked again in this transaction: the same URL may have come in meanwhile.
        found = find_duplicate(session=session, city_id=suggestion.city_id, url=suggestion.url)
        if isinstance(found, FeedSuggestion):
            return Submitted(found, waiting=True)
        row = create_suggestion(
            session=session, suggestion=suggestion, preview=preview, submitter=submitter
        )
        session.commit()
        return Submitted(row, waiting=False)


async def submit_suggestion(
    *, suggestion: SuggestionInput, submitter: str | None, now: datetime | None = None
) -> Submitted:
    """A checked suggestion's way in: refused (409, naming the feed) when the city reads
    that URL already; the waiting suggestion when someone suggested it already; else its
    calendar read once (:func:`preview_url`, which may refuse it) and stored."""
    found = await asyncio.to_thread(_duplicate_of, suggestion.city_id, suggestion.url)
    if isinstance(found, CityFeed):
        raise Refused(
            f"{found.name} is already one of this city's calendars: its events are listed. "
            "Thank you all the same!",
            status=409,
            reason="duplicate",
            feed_name=found.name,
        )
    if isinstance(found, FeedSuggestion):
        return Submitted(found, waiting=True)
    preview = await preview_url(url=suggestion.url, city_id=suggestion.city_id, now=now)
    return await asyncio.to_thread(_store, suggestion, preview, submitter)


async def queue_decision_mail(*, suggestion_id: int) -> None:
    """Queue the submitter's one mail about the decision (a second queueing is a no-op)."""
    try:
        await queue.enqueue(
            "send_suggestion_decision",
            suggestion_id=suggestion_id,
            _job_id=f"suggestion-mail:{suggestion_id}",
        )
    except (RuntimeError, OSError) as exc:  # the decision stands; the mail can be re-run
        log.warning("decision mail for suggestion %s not queued: %s", suggestion_id, exc)
