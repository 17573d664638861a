"""Signed links for email: confirm a subscription, unsubscribe from it.

A token carries the subscription id and its ``token_version``; it is signed with
``settings.secret_key`` and a salt per purpose, so a confirm token never unsubscribes and
an unsubscribe token never confirms. Confirm links expire; unsubscribe links do not (an old
digest must still let its reader leave).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal, Protocol

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from nocturne.settings import settings

Purpose = Literal["confirm", "unsubscribe"]
CONFIRM_MAX_AGE = timedelta(days=7)
_MAX_AGE: dict[str, timedelta | None] = {"confirm": CONFIRM_MAX_AGE, "unsubscribe": None}


class BadToken(ValueError):
    """The token is forged, damaged, for another purpose, or expired."""


class Signable(Protocol):
    id: int | None
    token_version: int


def _serializer(purpose: Purpose) -> URLSafeTimedSerializer:
    if purpose not in _MAX_AGE:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return URLSafeTimedSerializer(settings.secret_key, salt=f"nocturne.{purpose}")


def sign_subscription(sub: Signable, purpose: Purpose) -> str:
    """A URL-safe token for ``sub`` (id and token_version) and ``purpose``."""
    if sub.id is None:
        raise ValueError("cannot sign an unsaved subscription")
    return _serializer(purpose).dumps([sub.id, sub.token_version])


def verify(token: str, purpose: Purpose) -> tuple[int, int]:
    """``(subscription_id, token_version)`` from a token, or :class:`BadToken`."""
    max_age = _MAX_AGE.get(purpose)
    try:
        payload = _serializer(purpose).loads(
            token, max_age=int(max_age.total_seconds()) if max_age else None
        )
    except SignatureExpired:
        raise BadToken("this link has expired") from None
    except BadSignature:
        raise BadToken("this link is not valid") from None
    if (
        not isinstance(payload, list)
        or len(payload) != 2
        or not all(isinstance(v, int) for v in payload)
    ):
        raise BadToken("this link is not valid")
    return payload[0], payload[1]
