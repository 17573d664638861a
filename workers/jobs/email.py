"""Email jobs: the confirmation email and the weekly digests.

``send_weekly_digests`` is meant for an hourly cron: with no city it sends to every city
whose local time is Monday at or after ``DIGEST_LOCAL_HOUR`` and whose issue for the week
is not complete, so each time zone gets its digest at its own 09:00. Both jobs can run
twice: a digest delivery is claimed before it is sent (see ``workers.email.digest``) and
a confirmation is sent once per request.

ctx (arq's, or the in-process queue's): ``engine`` (default: the settings database),
optional ``mailer_factory`` (a callable returning a :class:`Mailer`; tests inject failing
providers this way) and ``progress`` (called with city_id, done, total).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from arq.worker import Retry
from sqlalchemy.engine import Engine
from sqlmodel import Session

from nocturne import subscriptions
from nocturne.cities import require_city
from nocturne.db import get_engine
from nocturne.models import Subscription, SubscriptionStatus, utcnow
from nocturne.settings import settings
from workers.email import digest as store
from workers.email.render import (
    RenderedEmail,
    render_confirmation,
    render_digest,
    with_unsubscribe,
)
from workers.email.send import Mailer, OutgoingEmail, SendResult

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


def _engine(ctx: dict[str, Any]) -> Engine:
    return ctx.get("engine") or get_engine(settings.database_url)


def _mailer(ctx: dict[str, Any]) -> Mailer:
    factory = ctx.get("mailer_factory")
    return factory() if factory else Mailer.from_settings()


def city_url(city_id: str) -> str:
    return f"{settings.public_url.rstrip('/')}/city/{city_id}"


async def send_confirmation(ctx: dict[str, Any], subscription_id: int) -> str:
    """Send the confirm link to a pending subscriber, once per subscribe request.

    Returns ``sent``, ``skipped`` or ``failed``; a transient failure of every provider
    asks arq to retry the job later.
    """
    engine = _engine(ctx)
    with Session(engine, expire_on_commit=False) as session:
        sub = session.get(Subscription, subscription_id)
        if sub is None or sub.status != SubscriptionStatus.pending:
            log.info("confirmation for subscription %s skipped: not pending", subscription_id)
            return "skipped"
        if store.confirmation_already_sent(session=session, sub=sub):
            log.info("confirmation for subscription %s already sent", subscription_id)
            return "skipped"
        rendered = render_confirmation(
            email=sub.email,
            city_name=require_city(sub.city_id).name,
            confirm_url=subscriptions.confirm_url(sub),
            unsubscribe_url=subscriptions.unsubscribe_url(sub),
        )
        stamp = int(sub.confirm_sent_at.timestamp()) if sub.confirm_sent_at else 0
        async with _mailer(ctx) as mailer:
            email = _outgoing(
                mailer,
                sub,
                rendered,
                kind="confirm",
                key=f"confirm.{sub.id}.{sub.token_version}.{stamp}",
                unsubscribe_url=subscriptions.unsubscribe_url(sub),
            )
            result = await mailer.send(email)
        store.log_attempts(session=session, email=email, result=result)
        session.commit()
    if result.ok:
        return "sent"
    log.warning("confirmation to subscription %s failed: %s", subscription_id, result.error)
    if result.retryable:
        raise Retry(defer=settings.job_retry_seconds)
    return "failed"


def _outgoing(
    mailer: Mailer,
    sub: Subscription,
    rendered: RenderedEmail,
    *,
    kind: str,
    key: str,
    unsubscribe_url: str,
    week: str | None = None,
) -> OutgoingEmail:
    return OutgoingEmail(
        to=sub.email,
        subject=rendered.subject,
        html=rendered.html,
        text=rendered.text,
        kind=kind,
        message_id=mailer.message_id(key),
        unsubscribe_url=unsubscribe_url,
        subscription_id=sub.id,
        digest_week=week,
    )


def _as_date(week: date | str | None) -> date | None:
    if week is None or isinstance(week, date):
        return week
    return date.fromisoformat(week)


async def send_weekly_digests(
    ctx: dict[str, Any],
    city_id: str | None = None,
    week: date | str | None = None,
    now: datetime | None = None,
    lease_seconds: float | None = None,
) -> dict[str, dict[str, Any]]:
    """Send the week's digest to every active subscriber of the due cities (or of ``city_id``).

    With ``city_id`` the city is sent now, whatever the day; ``week`` (its Monday, a date or
    ``YYYY-MM-DD``) defaults to the city's current week. Returns a summary per city. A city
    whose send fails is logged and the others still go out.
    """
    now = now or utcnow()
    lease = store.CLAIM_LEASE if lease_seconds is None else timedelta(seconds=lease_seconds)
    week_date = _as_date(week)
    engine = _engine(ctx)
    with Session(engine, expire_on_commit=False) as session:
        if city_id is not None:
            require_city(city_id)
            targets = [(city_id, week_date or store.week_start(city_id, now))]
        elif week_date is not None:
            targets = [(c, week_date) for c in sorted(store.active_city_ids(session=session))]
        else:
            targets = store.due_cities(now=now)
        with_subs = store.active_city_ids(session=session, city_ids=[c for c, _ in targets])
        todo = []
        for cid, wk in targets:
            issue = store.get_issue(session=session, city_id=cid, week=wk)
            if issue is not None and issue.completed_at is not None:
                continue
            if cid not in with_subs:
                log.debug("digest: %s has no active subscribers", cid)
                continue
            todo.append((cid, wk))
    summary: dict[str, dict[str, Any]] = {}
    if not todo:
        return summary
    progress: Progress | None = ctx.get("progress")
    async with _mailer(ctx) as mailer:
        for cid, wk in todo:
            try:
                summary[cid] = await _send_city(
                    engine, mailer, city_id=cid, week=wk, now=now, lease=lease, progress=progress
                )
            except Exception as exc:
                log.exception("digest for %s (week %s) failed", cid, wk)
                summary[cid] = {"week": wk.isoformat(), "error": f"{type(exc).__name__}: {exc}"}
    return summary


async def _send_city(
    engine: Engine,
    mailer: Mailer,
    *,
    city_id: str,
    week: date,
    now: datetime,
    lease: timedelta,
    progress: Progress | None,
) -> dict[str, Any]:
    city = require_city(city_id)
    week_key = week.isoformat()
    with Session(engine, expire_on_commit=False) as session:
        issue = store.freeze_issue(session=session, city_id=city_id, week=week, now=now)
        if not issue.events:
            log.info("digest: no events for %s in the week of %s; nothing sent", city_id, week_key)
            issue.completed_at = now
            session.add(issue)
            session.commit()
            return {"week": week_key, "events": 0, "sent": 0, "failed": 0}
        store.ensure_deliveries(session=session, issue=issue, now=now)
        todo = store.deliveries_to_send(session=session, issue=issue, now=utcnow(), lease=lease)
        rendered = render_digest(
            city_name=city.name, week_start=week, cards=issue.events, city_url=city_url(city_id)
        )
        sent = failed = 0
        pending: tuple[int, OutgoingEmail, SendResult] | None = None
        try:
            for done, item in enumerate(todo, 1):
                # The previous message's outcome commits together with this claim.
                if pending is not None:
                    _record(session, *pending)
                    pending = None
                claimed = store.claim(
                    session=session, delivery_id=item.delivery_id, now=utcnow(), lease=lease
                )
                session.commit()
                if not claimed:
                    continue
                unsubscribe = subscriptions.unsubscribe_url(item.subscription)
                email = _outgoing(
                    mailer,
                    item.subscription,
                    with_unsubscribe(rendered, unsubscribe),
                    kind="digest",
                    key=f"digest.{week_key}.{item.subscription.id}",
                    unsubscribe_url=unsubscribe,
                    week=week_key,
                )
                try:
                    result = await mailer.send(email)
                except BaseException:
                    store.release(session=session, delivery_id=item.delivery_id)
                    session.commit()
                    raise
                pending = (item.delivery_id, email, result)
                if result.ok:
                    sent += 1
                else:
                    failed += 1
                if progress is not None:
                    progress(city_id, done, len(todo))
        finally:
            if pending is not None:
                _record(session, *pending)
                session.commit()
        complete = store.settle_issue(session=session, issue=issue, now=utcnow())
    log.info(
        "digest for %s (week %s): %d sent, %d failed%s",
        city_id, week_key, sent, failed, "" if complete else "; some left for the next run",
    )  # fmt: skip
    return {
        "week": week_key,
        "events": len(issue.events),
        "sent": sent,
        "failed": failed,
        "complete": complete,
    }


def _record(session: Session, delivery_id: int, email: OutgoingEmail, result: SendResult) -> None:
    store.log_attempts(session=session, email=email, result=result, now=utcnow())
    store.finish(
        session=session, delivery_id=delivery_id, ok=result.ok, error=result.error, now=utcnow()
    )
    if not result.ok:
        log.warning("digest to %s failed: %s", email.to, result.error)
