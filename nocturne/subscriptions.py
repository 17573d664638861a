"""Subscribing, confirming and unsubscribing: what the web app, the API and emails share.

``subscribe`` does the data work (through ``crud.create_subscription``) and says whether a
confirmation email is due; ``request_subscription`` also queues that email. The signed
links in emails come from :func:`confirm_url` and :func:`unsubscribe_url`.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from sqlmodel import Session

from nocturne import crud, tokens
from nocturne.cities import get_city
from nocturne.db import session_scope
from nocturne.models import Subscription, SubscriptionStatus
from nocturne.settings import settings

_MESSAGES: dict[str, str] = {
    "created": "Almost there: check your inbox for a link to confirm your subscription.",
    "resubscribed": "Welcome back: check your inbox for a link to confirm your subscription.",
    "resent": "We sent the confirmation link again: check your inbox (and spam folder).",
    "too_soon": "A confirmation link is already on its way: check your inbox in a minute.",
    "already_active": "You're already subscribed to this city's weekly digest.",
}


class SubscriptionError(ValueError):
    """A refused subscription request; ``str(exc)`` is fit to show the user."""


@dataclass(frozen=True, slots=True)
class SubscribeResult:
    subscription_id: int
    email: str
    city_id: str
    status: str
    outcome: crud.SubscribeOutcome
    created_at: datetime
    # Sent-at of the confirmation this request asked for: it names the email job.
    confirm_sent_at: datetime | None

    @property
    def send_confirmation(self) -> bool:
        return self.outcome in ("created", "resent", "resubscribed")

    @property
    def message(self) -> str:
        return _MESSAGES[self.outcome]

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(send_confirmation=self.send_confirmation, message=self.message)
        return data


def subscribe(
    *, session: Session, email: str, city_id: str, now: datetime | None = None
) -> SubscribeResult:
    """Create, revive or re-confirm a subscription; the caller commits and sends.

    Raises :class:`SubscriptionError` with a readable reason for a bad email or city.
    """
    if get_city(city_id) is None:
        raise SubscriptionError(f"Unknown city: {city_id!r}.")
    try:
        sub, outcome = crud.create_subscription(
            session=session, email=email, city_id=city_id, now=now
        )
    except crud.InvalidEmail as exc:
        raise SubscriptionError(f"That email address doesn't look right: {exc}") from None
    return SubscribeResult(
        subscription_id=sub.id,  # type: ignore[arg-type]
        email=sub.email,
        city_id=sub.city_id,
        status=sub.status,
        outcome=outcome,
        created_at=sub.created_at,
        confirm_sent_at=sub.confirm_sent_at,
    )


def confirmation_job_id(result: SubscribeResult) -> str:
    """One confirmation job per request: a retried enqueue never sends twice."""
    stamp = int(result.confirm_sent_at.timestamp()) if result.confirm_sent_at else 0
    return f"confirm:{result.subscription_id}:{stamp}"


async def request_subscription(
    *, email: str, city_id: str, database_url: str | None = None
) -> SubscribeResult:
    """:func:`subscribe` in its own transaction, then queue the confirmation email."""
    from nocturne import queue

    def _save() -> SubscribeResult:
        with session_scope(database_url or settings.database_url) as session:
            return subscribe(session=session, email=email, city_id=city_id)

    result = await asyncio.to_thread(_save)
    if result.send_confirmation:
        await queue.enqueue(
            "send_confirmation",
            subscription_id=result.subscription_id,
            _job_id=confirmation_job_id(result),
        )
    return result


def _link(path: str, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}{path}?{urlencode({'token': token})}"


def confirm_url(sub: Subscription) -> str:
    return _link("/confirm", tokens.sign_subscription(sub, "confirm"))


def unsubscribe_url(sub: Subscription) -> str:
    """The one-click link (RFC 8058): GET shows a button, POST unsubscribes."""
    return _link("/unsubscribe", tokens.sign_subscription(sub, "unsubscribe"))


def subscription_for_confirm(*, session: Session, token: str) -> Subscription:
    """The subscription a confirm link names, unchanged; :class:`tokens.BadToken` if stale."""
    sub_id, version = tokens.verify(token, "confirm")
    sub = session.get(Subscription, sub_id)
    if sub is None or sub.token_version != version or sub.status == SubscriptionStatus.unsubscribed:
        raise tokens.BadToken("this link is no longer valid; please subscribe again")
    return sub


def confirm_by_token(*, session: Session, token: str) -> Subscription:
    """Activate the subscription a confirm link names; :class:`tokens.BadToken` if stale."""
    sub_id, version = tokens.verify(token, "confirm")
    sub = crud.confirm_subscription(session=session, subscription_id=sub_id, token_version=version)
    if sub is None:
        raise tokens.BadToken("this link is no longer valid; please subscribe again")
    return sub


def subscription_for_unsubscribe(*, session: Session, token: str) -> Subscription:
    """The subscription an unsubscribe link names (any token version: old emails still work)."""
    sub_id, _version = tokens.verify(token, "unsubscribe")
    sub = session.get(Subscription, sub_id)
    if sub is None:
        raise tokens.BadToken("this link is not valid")
    return sub


def unsubscribe_by_token(*, session: Session, token: str) -> Subscription:
    """Soft-delete the subscription an unsubscribe link names. Idempotent."""
    sub = subscription_for_unsubscribe(session=session, token=token)
    if sub.status != SubscriptionStatus.unsubscribed:
        crud.unsubscribe(session=session, subscription_id=sub.id)  # type: ignore[arg-type]
    return sub
