"""Digest bookkeeping: frozen issues, delivery rows and their claims, the email log.

Exactly once, as far as email allows: each (subscription, week) has one ``DigestDelivery``
row. A run claims a row with a conditional UPDATE (pending -> sending) before sending and
marks it sent after, in the same commit as the next claim. A run that is cancelled or
raises releases its claim. The one window left is a hard crash (SIGKILL, power) after the
provider accepted a message and before the ``sent`` commit: that row stays ``sending`` and
is sent again once the claim is older than the lease, with the same deterministic
Message-ID, so most mail clients show it once. The alternative, never resending a
``sending`` row, would lose the digest for the far more common crash before the send.

Keyword-only functions taking a session; the caller owns the transaction unless noted.
The claim UPDATEs skip ORM session synchronization: a run's session holds every subscriber
it sends to, and scanning that identity map on each UPDATE made a send O(subscribers^2).
Nothing reads ``DigestDelivery`` objects from a sending session, only fresh queries.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Exists, and_, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from nocturne import crud
from nocturne.cards import event_card
from nocturne.cities import CITIES, require_city
from nocturne.models import (
    DigestDelivery,
    DigestIssue,
    EmailLog,
    EventStatus,
    Subscription,
    SubscriptionStatus,
    utcnow,
)
from nocturne.settings import settings
from workers.email.send import OutgoingEmail, SendResult

log = logging.getLogger(__name__)

# A failed delivery is tried again by later runs (the hourly cron) up to this many times.
MAX_DELIVERY_RUNS = 3
# A 'sending' claim older than this belongs to a run that died.
CLAIM_LEASE = timedelta(minutes=15)
ISSUE_EVENT_LIMIT = 500
# The rest of the week (not after dark): listed briefly after the after-dark events.
ISSUE_REST_LIMIT = 100


def week_start(city_id: str, now: datetime) -> date:
    """The Monday of the city's local week containing ``now``."""
    local = now.astimezone(require_city(city_id).tz).date()
    return local - timedelta(days=local.weekday())


def due_cities(*, now: datetime, local_hour: int | None = None) -> list[tuple[str, date]]:
    """Cities whose local time is Monday at or after the digest hour, with their week."""
    hour = settings.digest_local_hour if local_hour is None else local_hour
    due = []
    for city in CITIES:
        local = now.astimezone(city.tz)
        if local.weekday() == 0 and local.hour >= hour:
            due.append((city.id, local.date()))
    return due


def issue_cards(
    *, session: Session, city_id: str, week: date, now: datetime
) -> list[dict[str, object]]:
    """Cards for the city's scheduled, in-person events from ``now`` to the week's end:
    the after-dark ones, which the digest leads with, then a few of the rest."""
    week_query = crud.EventQuery(
        city_id=city_id, start_date=week, end_date=week + timedelta(days=6), starts_after=now
    )
    lead = crud.events_for_city(
        session=session, **week_query | {"after_dark": True, "limit": ISSUE_EVENT_LIMIT}
    )
    rest = crud.events_for_city(
        session=session, **week_query | {"after_dark": False, "limit": ISSUE_REST_LIMIT}
    )
    return [event_card(e) for e in (*lead, *rest) if e.status == EventStatus.scheduled]


def get_issue(*, session: Session, city_id: str, week: date) -> DigestIssue | None:
    return session.exec(
        select(DigestIssue).where(
            DigestIssue.city_id == city_id, DigestIssue.week == week.isoformat()
        )
    ).first()


def freeze_issue(*, session: Session, city_id: str, week: date, now: datetime) -> DigestIssue:
    """The city's issue for ``week``, frozen now if it does not exist yet. Commits.

    Two runs racing to freeze meet on UNIQUE(city_id, week): the loser reads the winner's.
    """
    issue = get_issue(session=session, city_id=city_id, week=week)
    if issue is not None:
        return issue
    cards = issue_cards(session=session, city_id=city_id, week=week, now=now)
    issue = DigestIssue(city_id=city_id, week=week.isoformat(), events=cards, created_at=now)
    session.add(issue)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        issue = get_issue(session=session, city_id=city_id, week=week)
        if issue is None:
            raise
    return issue


def ensure_deliveries(*, session: Session, issue: DigestIssue, now: datetime) -> int:
    """A pending delivery row for every active subscriber of the issue's city. Commits.

    Subscribers confirmed after the first run of the week are added by the next run.
    Returns how many rows were added.
    """
    for _ in range(3):
        have = set(
            session.exec(
                select(DigestDelivery.subscription_id).where(
                    DigestDelivery.city_id == issue.city_id, DigestDelivery.week == issue.week
                )
            )
        )
        subs = crud.active_subscriptions(session=session, city_id=issue.city_id)
        missing = [s.id for s in subs if s.id not in have]
        for sub_id in missing:
            session.add(
                DigestDelivery(
                    subscription_id=sub_id,  # type: ignore[arg-type]
                    city_id=issue.city_id,
                    week=issue.week,
                    created_at=now,
                )
            )
        try:
            session.commit()
            return len(missing)
        except IntegrityError:  # another run added some at the same moment: look again
            session.rollback()
    raise RuntimeError(f"could not add digest deliveries for {issue.city_id} {issue.week}")


def _claimable(now: datetime, lease: timedelta) -> ColumnElement[bool]:
    status = col(DigestDelivery.status)
    return or_(
        status == "pending",
        and_(status == "failed", col(DigestDelivery.attempts) < MAX_DELIVERY_RUNS),
        and_(status == "sending", col(DigestDelivery.claimed_at) < now - lease),
    )


def _subscriber_active() -> Exists:
    # Correlated EXISTS, a primary-key probe per row: SQLite runs ``IN (SELECT id ...)`` as
    # a scan of every subscription on each claim, which made a send O(subscribers^2).
    return (
        select(Subscription.id)
        .where(
            Subscription.id == DigestDelivery.subscription_id,
            Subscription.status == SubscriptionStatus.active,
        )
        .exists()
    )


@dataclass(frozen=True, slots=True)
class Todo:
    delivery_id: int
    subscription: Subscription


def deliveries_to_send(
    *, session: Session, issue: DigestIssue, now: datetime, lease: timedelta = CLAIM_LEASE
) -> list[Todo]:
    """Rows a run may claim, for subscribers still active, oldest subscription first.

    ``now`` is the wall clock (claims and leases are real time, whatever week is sent).
    """
    rows = session.exec(
        select(DigestDelivery.id, Subscription)
        .join(Subscription, Subscription.id == DigestDelivery.subscription_id)  # type: ignore[arg-type]
        .where(
            DigestDelivery.city_id == issue.city_id,
            DigestDelivery.week == issue.week,
            Subscription.status == SubscriptionStatus.active,
            _claimable(now, lease),
        )
        .order_by(col(DigestDelivery.subscription_id))
    ).all()
    return [Todo(delivery_id, sub) for delivery_id, sub in rows if delivery_id is not None]


def claim(
    *, session: Session, delivery_id: int, now: datetime, lease: timedelta = CLAIM_LEASE
) -> bool:
    """pending (or failed, or a stale claim) -> sending, if nobody else got there first.

    The caller commits; only the run whose UPDATE matched may send.
    """
    result = session.execute(
        update(DigestDelivery)
        .where(
            col(DigestDelivery.id) == delivery_id,
            _claimable(now, lease),
            _subscriber_active(),
        )
        .values(status="sending", claimed_at=now, attempts=DigestDelivery.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def finish(
    *, session: Session, delivery_id: int, ok: bool, error: str | None, now: datetime
) -> None:
    """sending -> sent (or failed with the reason). The caller commits."""
    values: dict[str, object] = {"status": "sent", "sent_at": now, "error": None}
    if not ok:
        values = {"status": "failed", "error": (error or "unknown error")[:2000]}
    session.execute(
        update(DigestDelivery)
        .where(col(DigestDelivery.id) == delivery_id, col(DigestDelivery.status) == "sending")
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def release(*, session: Session, delivery_id: int) -> None:
    """Give a claim back (the run was cancelled before sending): it is not an attempt."""
    session.execute(
        update(DigestDelivery)
        .where(col(DigestDelivery.id) == delivery_id, col(DigestDelivery.status) == "sending")
        .values(status="pending", claimed_at=None, attempts=DigestDelivery.attempts - 1)
        .execution_options(synchronize_session=False)
    )


def log_attempts(
    *, session: Session, email: OutgoingEmail, result: SendResult, now: datetime | None = None
) -> None:
    """One EmailLog row per attempt, with its outcome. The caller commits."""
    now = now or utcnow()
    for attempt in result.attempts:
        session.add(
            EmailLog(
                recipient=email.to,
                kind=email.kind,
                subject=email.subject[:500],
                provider=attempt.provider,
                status="sent" if attempt.ok else "failed",
                error=attempt.error,
                provider_message_id=(attempt.provider_message_id or None)
                and attempt.provider_message_id[:200],
                subscription_id=email.subscription_id,
                digest_week=email.digest_week,
                attempt=attempt.number,
                created_at=now,
            )
        )


def settle_issue(*, session: Session, issue: DigestIssue, now: datetime) -> bool:
    """Mark the issue complete when no active subscriber's delivery is left to try. Commits."""
    left = session.exec(
        select(func.count())
        .select_from(DigestDelivery)
        .where(
            DigestDelivery.city_id == issue.city_id,
            DigestDelivery.week == issue.week,
            _subscriber_active(),
            or_(
                col(DigestDelivery.status).in_(("pending", "sending")),
                and_(
                    col(DigestDelivery.status) == "failed",
                    col(DigestDelivery.attempts) < MAX_DELIVERY_RUNS,
                ),
            ),
        )
    ).one()
    if left:
        return False
    issue.completed_at = now
    session.add(issue)
    session.commit()
    return True


def delivery_counts(*, session: Session, city_id: str, week: str) -> dict[str, int]:
    rows = session.exec(
        select(DigestDelivery.status, func.count())
        .where(DigestDelivery.city_id == city_id, DigestDelivery.week == week)
        .group_by(DigestDelivery.status)
    ).all()
    return dict(rows)


def confirmation_already_sent(*, session: Session, sub: Subscription) -> bool:
    """A confirmation went out for the subscriber's latest request (a re-run sends none)."""
    stmt = select(EmailLog.id).where(
        EmailLog.subscription_id == sub.id,
        EmailLog.kind == "confirm",
        EmailLog.status == "sent",
    )
    if sub.confirm_sent_at is not None:
        stmt = stmt.where(EmailLog.created_at >= sub.confirm_sent_at)
    return session.exec(stmt.limit(1)).first() is not None


def active_city_ids(*, session: Session, city_ids: Sequence[str] | None = None) -> set[str]:
    stmt = select(Subscription.city_id).where(Subscription.status == SubscriptionStatus.active)
    if city_ids is not None:
        stmt = stmt.where(col(Subscription.city_id).in_(list(city_ids)))
    return set(session.exec(stmt.distinct()))
