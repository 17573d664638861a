"""sync_shared: copy new and changed events to SHARED_DATABASE_URL (e.g. Supabase).

The local database is the source of truth and is saved first, always: this job only reads
it and stamps ``synced_at``. A shared database that is down costs a retry with backoff and,
at worst, a later sync — never a local save. Events are upserted there by link, in
batches, each batch one transaction, so a re-run after a crash repeats no more than one
batch and changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from arq.worker import Retry
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, or_, select

from nocturne.db import get_engine, normalize_url
from nocturne.models import Event, EventLink, bump_city_versions, insert_for, utcnow
from nocturne.settings import settings
from workers.jobs.common import backoff, describe, is_transient

log = logging.getLogger(__name__)

SYNC_MAX_TRIES = 4
# Everything but the local primary key and the local sync stamp.
_COPIED = [c.name for c in Event.__table__.columns if c.name not in ("id", "synced_at")]  # type: ignore[attr-defined]


@lru_cache(maxsize=4)
def shared_engine(url: str) -> Engine:
    """The shared database's engine; a short connect timeout so a dead host fails fast."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        return sa.create_engine(url)
    return sa.create_engine(
        url, pool_size=2, max_overflow=2, pool_pre_ping=True, connect_args={"connect_timeout": 10}
    )


def pending_events(*, session: Session, after_id: int = 0, limit: int = 500) -> list[Event]:
    """Events never synced or changed since their last sync, by id from ``after_id``."""
    stmt = (
        select(Event)
        .where(
            col(Event.id) > after_id,
            or_(col(Event.synced_at).is_(None), col(Event.updated_at) > col(Event.synced_at)),
        )
        .order_by(col(Event.id))
        .limit(limit)
    )
    return list(session.exec(stmt))


def push_batch(*, shared: Engine, events: list[Event]) -> int:
    """Upsert ``events`` (and their links) into the shared database by link; one transaction."""
    insert = insert_for(shared.dialect.name)
    rows = [{name: getattr(e, name) for name in _COPIED} for e in events]
    table = Event.__table__  # type: ignore[attr-defined]
    stmt = insert(table).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=["link"], set_={name: stmt.excluded[name] for name in _COPIED}
    ).returning(table.c.id, table.c.link)
    with shared.begin() as conn:
        shared_id = {link: id_ for id_, link in conn.execute(stmt)}
        links = [
            {"link": lk, "event_id": shared_id[e.link], "source": e.source}
            for e in events
            for lk in dict.fromkeys([e.link, *(e.links or [])])
        ]
        if links:
            conn.execute(
                insert_for(shared.dialect.name)(EventLink.__table__)  # type: ignore[attr-defined]
                .values(links)
                .on_conflict_do_nothing(index_elements=["link"])
            )
        # Last in the transaction, as the ORM hook does (locks: event rows, then versions).
        bump_city_versions(conn, {e.city_id for e in events})
    return len(rows)


def sync_to_shared(
    *, local: Engine, shared: Engine, batch_size: int | None = None, now: datetime | None = None
) -> dict[str, int]:
    """Push every pending event in batches; stamp ``synced_at`` locally after each batch.

    The stamp is the time the batch was read and lands only on rows not changed since, so
    an event updated during the sync stays pending for the next one.
    """
    batch_size = batch_size or settings.sync_batch_size
    synced = batches = 0
    after_id = 0
    while True:
        read_at = now or utcnow()
        with Session(local, expire_on_commit=False) as session:
            events = pending_events(session=session, after_id=after_id, limit=batch_size)
        if not events:
            return {"synced": synced, "batches": batches}
        synced += push_batch(shared=shared, events=events)
        batches += 1
        after_id = events[-1].id  # type: ignore[assignment]
        with Session(local) as session:
            session.exec(
                sa.update(Event)  # type: ignore[call-overload]
                .where(col(Event.id).in_([e.id for e in events]))
                .where(col(Event.updated_at) <= read_at)
                .values(synced_at=read_at)
            )
            session.commit()


async def sync_shared(ctx: dict[str, Any], batch_size: int | None = None) -> dict[str, Any]:
    """Sync new and changed events to SHARED_DATABASE_URL; a no-op when it is unset."""
    url = settings.shared_database_url
    if not url:
        return {"synced": 0, "skipped": "SHARED_DATABASE_URL is not set"}
    try:
        result = await asyncio.to_thread(
            sync_to_shared, local=get_engine(), shared=shared_engine(url), batch_size=batch_size
        )
    except SQLAlchemyError as exc:
        job_try = int(ctx.get("job_try", 1))
        if is_transient(exc) and job_try < SYNC_MAX_TRIES:
            delay = backoff(job_try)
            log.warning("sync_shared: %s; retrying in %.0fs", describe(exc), delay)
            raise Retry(defer=delay) from exc
        # Given up for now: the events stay pending and the next sync takes them.
        log.warning("sync_shared gave up after %d tries: %s", job_try, describe(exc))
        return {"synced": 0, "error": describe(exc)}
    log.info("sync_shared: %(synced)d events in %(batches)d batches", result)
    return result
