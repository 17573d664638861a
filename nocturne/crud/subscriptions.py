"""Digest subscriptions: subscribe, confirm, unsubscribe (a soft delete), list the active."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, col, select

from nocturne.cities import require_city
from nocturne.models import Subscription, SubscriptionStatus, utcnow

SubscribeOutcome = Literal["created", "resent", "already_active", "too_soon", "resubscribed"]
RESEND_AFTER = timedelta(minutes=2)


class InvalidEmail(ValueError):
    pass


def normalize_email(email: str) -> str:
    """A deliverable-looking, lower-cased address, or InvalidEmail with the reason."""
    try:
        info = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(str(exc)) from None
    return info.normalized.lower()


def create_subscription(
    *, session: Session, email: str, city_id: str, now: datetime | None = None
) -> tuple[Subscription, SubscribeOutcome]:
    """Create or revive a subscription. The outcome tells whether to send a confirmation.

    ``created``, ``resent`` and ``resubscribed`` want a confirmation email; ``too_soon`` is a
    pending one whose last confirmation went out less than RESEND_AFTER ago.
    """
    now = now or utcnow()
    email = normalize_email(email)
    require_city(city_id)
    sub = session.exec(
        select(Subscription).where(Subscription.email == email, Subscription.city_id == city_id)
    ).first()
    if sub is None:
        sub = Subscription(email=email, city_id=city_id, created_at=now, confirm_sent_at=now)
        session.add(sub)
        session.flush()
        return sub, "created"
    if sub.status == SubscriptionStatus.active:
        return sub, "already_active"
    if sub.status == SubscriptionStatus.unsubscribed:
        sub.status = SubscriptionStatus.pending
        sub.token_version += 1
        sub.unsubscribed_at = None
        sub.confirmed_at = None
        sub.confirm_sent_at = now
        session.flush()
        return sub, "resubscribed"
    if sub.confirm_sent_at and now - sub.confirm_sent_at < RESEND_AFTER:
        return sub, "too_soon"
    sub.confirm_sent_at = now
    session.flush()
    return sub, "resent"


def confirm_subscription(
    *, session: Session, subscription_id: int, token_version: int, now: datetime | None = None
) -> Subscription | None:
    """Activate a pending subscription; None when the link is stale or unknown."""
    sub = session.get(Subscription, subscription_id)
    if sub is None or sub.token_version != token_version:
        return None
    if sub.status == SubscriptionStatus.pending:
        sub.status = SubscriptionStatus.active
        sub.confirmed_at = now or utcnow()
        session.flush()
    return sub if sub.status == SubscriptionStatus.active else None


def unsubscribe(
    *, session: Session, subscription_id: int, now: datetime | None = None
) -> Subscription | None:
    """Soft delete: the row stays, marked unsubscribed with its time. Idempotent."""
    sub = session.get(Subscription, subscription_id)
    if sub is None:
        return None
    if sub.status != SubscriptionStatus.unsubscribed:
        sub.status = SubscriptionStatus.unsubscribed
        sub.unsubscribed_at = now or utcnow()
        session.flush()
    return sub


def active_subscriptions(*, session: Session, city_id: str | None = None) -> list[Subscription]:
    stmt = select(Subscription).where(Subscription.status == SubscriptionStatus.active)
    if city_id:
        stmt = stmt.where(Subscription.city_id == city_id)
    return list(session.exec(stmt.order_by(col(Subscription.id))))
