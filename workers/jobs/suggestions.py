"""Suggested calendars: a fresh preview of a stored suggestion, and the decision mail.

``preview_suggestion`` fetches the suggestion's URL once (the safe fetch, within its size
and time caps), stores what it found or why not, and tells a page watching the
suggestion's live channel. ``send_suggestion_decision`` sends the submitter the one
message about the decision; a re-run sends nothing (``notified_at``).
"""

from __future__ import annotations

import logging
from typing import Any

from arq.worker import Retry
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from nocturne import live, subscriptions
from nocturne import suggestions as data
from nocturne.cities import require_city
from nocturne.db import get_engine
from nocturne.models import Subscription, SubscriptionStatus, SuggestionStatus
from nocturne.settings import settings
from workers.email import digest as store
from workers.email.render import render_suggestion_decision
from workers.email.send import Mailer, OutgoingEmail

log = logging.getLogger(__name__)


def _engine(ctx: dict[str, Any]) -> Engine:
    return ctx.get("engine") or get_engine(settings.database_url)


async def preview_suggestion(ctx: dict[str, Any], suggestion_id: int) -> dict[str, Any] | None:
    """Look at a suggestion's calendar again; returns the stored preview (None: no such
    suggestion)."""
    engine = _engine(ctx)
    with Session(engine) as session:
        row = data.get_suggestion(session=session, suggestion_id=suggestion_id)
        if row is None:
            return None
        url, city_id = row.url, row.city_id
    try:
        preview = await data.preview_url(url=url, city_id=city_id)
    except data.Refused as refused:
        log.info("suggestion %s: preview failed: %s", suggestion_id, refused.reason)
        preview = data.failed_preview(refused)
    with Session(engine) as session:
        data.store_preview(session=session, suggestion_id=suggestion_id, preview=preview)
        session.commit()
    await live.publish(
        data.live_channel(suggestion_id),
        {"type": "suggestion_previewed", "suggestion_id": suggestion_id, "preview": preview},
    )
    return preview


def _unsubscribe_url(session: Session, email: str) -> str:
    """The digest's unsubscribe link when the address subscribes to one; else none (this
    one-off reply puts it on no list)."""
    sub = session.exec(
        select(Subscription).where(
            Subscription.email == email, Subscription.status != SubscriptionStatus.unsubscribed
        )
    ).first()
    return subscriptions.unsubscribe_url(sub) if sub is not None else ""


async def send_suggestion_decision(ctx: dict[str, Any], suggestion_id: int) -> str:
    """Tell the submitter of a decided suggestion, once: ``sent``, ``skipped`` or
    ``failed`` (a transient failure of every provider asks arq to retry)."""
    engine = _engine(ctx)
    with Session(engine, expire_on_commit=False) as session:
        row = data.decision_to_notify(session=session, suggestion_id=suggestion_id)
        if row is None or row.email is None:
            log.info("decision mail for suggestion %s skipped", suggestion_id)
            return "skipped"
        city = require_city(row.city_id)
        unsubscribe = _unsubscribe_url(session, row.email)
        rendered = render_suggestion_decision(
            approved=row.status == SuggestionStatus.approved,
            city_name=city.name,
            url=row.url,
            name=data.default_feed_name(row),
            reason=row.reason,
            city_url=f"{settings.public_url.rstrip('/')}/city/{row.city_id}",
            unsubscribe_url=unsubscribe,
        )
        factory = ctx.get("mailer_factory")
        async with factory() if factory else Mailer.from_settings() as mailer:
            email = OutgoingEmail(
                to=row.email,
                subject=rendered.subject,
                html=rendered.html,
                text=rendered.text,
                kind="suggestion",
                message_id=mailer.message_id(f"suggestion.{row.id}.{row.status}"),
                unsubscribe_url=unsubscribe,
            )
            result = await mailer.send(email)
        store.log_attempts(session=session, email=email, result=result)
        if result.ok:
            data.mark_notified(session=session, suggestion_id=suggestion_id)
        session.commit()
    if result.ok:
        return "sent"
    log.warning("decision mail for suggestion %s failed: %s", suggestion_id, result.error)
    if result.retryable:
        raise Retry(defer=settings.job_retry_seconds)
    return "failed"
