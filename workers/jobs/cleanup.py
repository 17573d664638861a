"""cleanup_old_events: events that ended more than OLD_EVENT_DAYS ago leave the database."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from nocturne.db import session_scope
from nocturne.models import Event, EventLink, bump_city_versions, utcnow
from nocturne.settings import settings

log = logging.getLogger(__name__)

_BATCH = 1000


def delete_old_events(*, session: Session, older_than: datetime, batch: int = _BATCH) -> int:
    """Delete events whose end (or start, when no end is known) is before ``older_than``.

    In batches, so a large backlog never holds one long lock. Returns how many went.
    """
    ended = func.coalesce(Event.end_at, Event.start_at)
    total = 0
    while True:
        rows = list(
            session.exec(select(Event.id, Event.city_id).where(ended < older_than).limit(batch))
        )
        ids, cities = [r[0] for r in rows], {r[1] for r in rows}
        if not ids:
            return total
        # Explicit, not left to ON DELETE CASCADE: SQLite honours it only with the pragma on.
        session.exec(delete(EventLink).where(col(EventLink.event_id).in_(ids)))  # type: ignore[call-overload]
        session.exec(delete(Event).where(col(Event.id).in_(ids)))  # type: ignore[call-overload]
        # Last, as the ORM hook does: version locks are taken after event rows, never before.
        bump_city_versions(session.connection(), cities)
        session.commit()
        total += len(ids)


def _cleanup(days: int, now: datetime) -> int:
    with session_scope() as session:
        return delete_old_events(session=session, older_than=now - timedelta(days=days))


async def cleanup_old_events(ctx: dict[str, Any], days: int | None = None) -> dict[str, Any]:
    """Remove events that ended more than ``days`` (OLD_EVENT_DAYS) days ago. Idempotent."""
    days = settings.old_event_days if days is None else days
    deleted = await asyncio.to_thread(_cleanup, days, utcnow())
    log.info("cleanup_old_events: %d events older than %d days removed", deleted, days)
    return {"deleted": deleted, "days": days}
