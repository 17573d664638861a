"""sync_shared against a second real PostgreSQL database, migrated to head."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from nocturne.crud import upsert_events
from nocturne.db import get_engine, session_scope
from nocturne.models import Event, EventLink
from nocturne.settings import settings
from tests.support import jobs as support
from tests.support.jobs import Harness, PageSource, future_events
from tests.support.services import create_pg_database, drop_pg_database, migrate
from workers.jobs.sync import shared_engine, sync_shared

app_db, mode, fast_retries = support.app_db, support.mode, support.fast_retries  # fixtures
LA = "ca--los-angeles"
DEAD_SHARED = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"


@pytest.fixture
def shared_url(pg_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A second PostgreSQL database, migrated to head, set as SHARED_DATABASE_URL."""
    name = f"nocturne_shared_{uuid.uuid4().hex[:12]}"
    url = create_pg_database(name)
    migrate(url, "head")
    monkeypatch.setattr(settings, "shared_database_url", url)
    yield url
    shared_engine(url).dispose()
    shared_engine.cache_clear()
    drop_pg_database(name)


def _shared_events(url: str) -> dict[str, Event]:
    with Session(shared_engine(url)) as session:
        return {e.link: e for e in session.exec(select(Event))}


def _local_unsynced() -> int:
    with Session(get_engine()) as session:
        return len(list(session.exec(select(Event.id).where(col(Event.synced_at).is_(None)))))


def _many(n: int) -> list:
    start = datetime.now(UTC) + timedelta(days=2)
    return [
        e
        for source, count in (("eventbrite", n // 2), ("luma", n - n // 2))
        for e in future_events(source, count, key="bulk", start=start)
    ]


async def test_sync_upserts_by_link_in_batches_and_stamps_synced_at(app_db, shared_url):
    with session_scope() as session:
        upsert_events(session=session, city_id=LA, events=_many(1200))
    assert await sync_shared({}, batch_size=500) == {"synced": 1200, "batches": 3}
    shared = _shared_events(shared_url)
    assert len(shared) == 1200 and _local_unsynced() == 0
    with Session(shared_engine(shared_url)) as session:
        assert session.exec(select(sa.func.count()).select_from(EventLink)).one() == 1200

    # Nothing changed: nothing to send. Twice is the same as once.
    assert await sync_shared({}, batch_size=500) == {"synced": 0, "batches": 0}
    assert len(_shared_events(shared_url)) == 1200

    # A changed event goes again, and only it; the shared row is updated, not duplicated.
    renamed = future_events("luma", 1, key="bulk", start=datetime.now(UTC) + timedelta(days=2))[0]
    renamed.title = "Renamed rave"
    with session_scope() as session:
        result = upsert_events(session=session, city_id=LA, events=[renamed])
        assert len(result.updated) == 1
    assert await sync_shared({}) == {"synced": 1, "batches": 1}
    shared = _shared_events(shared_url)
    assert len(shared) == 1200 and shared[renamed.link].title == "Renamed rave"


async def test_a_scrape_queues_the_sync_in_both_modes(app_db, shared_url, mode):
    source = PageSource()
    source.set(LA, "eventbrite", future_events("eventbrite", 3, key="s"))
    async with Harness(mode[0], source, mode[1]) as h:
        await h.enqueue("scrape_city", city_id=LA, sources=["eventbrite"])
        await h.drain()
    assert set(_shared_events(shared_url)) == {
        e.link for e in future_events("eventbrite", 3, key="s")
    }
    assert _local_unsynced() == 0


@pytest.mark.usefixtures("fast_retries")
async def test_a_dead_shared_database_never_loses_or_blocks_the_local_save(
    app_db, mode, monkeypatch
):
    monkeypatch.setattr(settings, "shared_database_url", DEAD_SHARED)
    source = PageSource()
    source.set(LA, "meetup", future_events("meetup", 4, key="d"))
    async with Harness(mode[0], source, mode[1]) as h:
        await h.enqueue("scrape_city", city_id=LA, sources=["meetup"])
        await h.drain()
    with Session(get_engine()) as session:
        saved = list(session.exec(select(Event)))
    assert len(saved) == 4
    assert _local_unsynced() == 4  # still pending: the next sync will take them
    shared_engine.cache_clear()


async def test_sync_gives_up_with_its_reason_after_the_last_try(app_db, monkeypatch):
    from arq.worker import Retry

    from workers.jobs.sync import SYNC_MAX_TRIES

    monkeypatch.setattr(settings, "shared_database_url", DEAD_SHARED)
    with session_scope() as session:
        upsert_events(session=session, city_id=LA, events=future_events("luma", 2, key="r"))
    with pytest.raises(Retry):
        await sync_shared({"job_try": 1})
    result = await sync_shared({"job_try": SYNC_MAX_TRIES})
    assert result["synced"] == 0 and "OperationalError" in result["error"]
    assert _local_unsynced() == 2
    shared_engine.cache_clear()


async def test_sync_is_a_no_op_without_a_shared_database(app_db, monkeypatch):
    monkeypatch.setattr(settings, "shared_database_url", None)
    result = await sync_shared({})
    assert result["synced"] == 0 and "not set" in result["skipped"]
