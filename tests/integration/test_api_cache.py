"""GET /events pages are cached per process and dropped the moment their city changes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from nocturne import crud
from nocturne.api import create_api, public
from nocturne.api.cache import Page, PageCache
from nocturne.db import get_engine
from nocturne.models import Event, EventStatus
from nocturne.settings import settings
from tests.support.api_server import make_event, serve
from tests.support.services import migrate
from workers.jobs.cleanup import delete_old_events
from workers.jobs.sync import push_batch

LA = "ca--los-angeles"
NYC = "ny--new-york"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch, db_url: str, engine: Engine) -> Iterator[httpx.Client]:
    monkeypatch.setattr(settings, "database_url", db_url)
    monkeypatch.setattr(settings, "redis_url", None)
    monkeypatch.setattr(settings, "rate_limit_enabled", False)
    monkeypatch.setattr(settings, "api_cache_seconds", 300.0)
    public._pages.clear()
    with serve(create_api()) as base, httpx.Client(base_url=base, timeout=10) as http:
        yield http


@pytest.fixture
def event_queries(engine: Engine) -> Iterator[list[str]]:
    """The statements that read the event table, as the API runs them."""
    seen: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "FROM event" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    yield seen
    event.remove(engine, "before_cursor_execute", note)


def titles(client: httpx.Client, city_id: str = LA, **params: str) -> list[str]:
    r = client.get(f"/events/{city_id}", params=params)
    assert r.status_code == 200, r.text
    return [e["title"] for e in r.json()]


def save_in_another_process(db_url: str, title: str, start: datetime) -> None:
    """Save one listing the way a scrape job does, from a separate Python process."""
    script = textwrap.dedent(
        f"""
        from datetime import datetime
        from nocturne.db import session_scope
        from nocturne.crud import upsert_events
        from scrapers.event import ScrapedEvent
        ev = ScrapedEvent(title={title!r}, link="https://www.meetup.com/x/events/1/",
                          source="meetup", start=datetime.fromisoformat({start.isoformat()!r}))
        with session_scope({db_url!r}) as session:
            assert len(upsert_events(session=session, city_id={LA!r}, events=[ev]).new) == 1
        """
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, timeout=60)


def test_a_repeated_page_skips_the_query_and_a_new_event_shows_at_once(
    client: httpx.Client, session: Session, db_url: str, event_queries: list[str]
) -> None:
    make_event(session, title="First Night")
    assert titles(client) == ["First Night"]
    queried = len(event_queries)
    assert titles(client) == ["First Night"]
    assert len(event_queries) == queried, "the second read should come from the cache"

    start = datetime.now(UTC) + timedelta(days=2)
    save_in_another_process(db_url, "Saved By Another Process", start)
    assert titles(client) == ["First Night", "Saved By Another Process"]
    assert len(event_queries) > queried


def test_changed_cancelled_and_removed_events_show_at_once(
    client: httpx.Client, engine: Engine
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        kept = make_event(s, title="Kept")
        moved = make_event(s, title="Before", start=datetime.now(UTC) + timedelta(days=3))
        old = make_event(s, title="Long Gone", start=datetime.now(UTC) - timedelta(days=60))
    old_day = old.local_date
    assert titles(client) == ["Kept", "Before"]
    assert titles(client, start_date=old_day, end_date=old_day) == ["Long Gone"]

    with Session(engine) as s:
        row = s.get(Event, moved.id)
        assert row is not None
        row.title = "After"
        s.commit()
    assert titles(client) == ["Kept", "After"]

    with Session(engine) as s:
        row = s.get(Event, kept.id)
        assert row is not None
        row.status = EventStatus.gone
        s.commit()
    assert titles(client) == ["After"]

    assert titles(client, start_date=old_day, end_date=old_day) == ["Long Gone"]  # cached now
    with Session(engine) as s:
        assert delete_old_events(session=s, older_than=datetime.now(UTC) - timedelta(days=30)) == 1
    assert titles(client, start_date=old_day, end_date=old_day) == []


def test_versions_move_per_city_on_commit_only(engine: Engine) -> None:
    with Session(engine) as s:
        assert crud.city_version(session=s, city_id=LA) == 0
        make_event(s, city_id=LA)
        la = crud.city_version(session=s, city_id=LA)
        assert la > 0
        assert crud.city_version(session=s, city_id=NYC) == 0

    with Session(engine) as s:
        s.add(Event(**{**make_event_values(), "city_id": LA}))
        s.flush()
        s.rollback()
        assert crud.city_version(session=s, city_id=LA) == la

        make_event(s, city_id=NYC)
        assert crud.city_version(session=s, city_id=NYC) > 0
        assert crud.city_version(session=s, city_id=LA) == la


def make_event_values() -> dict[str, object]:
    start = datetime.now(UTC) + timedelta(days=1)
    return {
        "title": "Rolled Back",
        "link": "https://www.eventbrite.com/e/rolled-back",
        "links": [],
        "source": "eventbrite",
        "sources": ",eventbrite,",
        "city_id": LA,
        "start_at": start,
        "timezone": "America/Los_Angeles",
        "local_date": start.date().isoformat(),
        "local_time": "20:00",
    }


def test_the_sync_moves_the_shared_database_versions(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    shared_url = f"sqlite:///{tmp_path / 'shared.db'}"
    migrate(shared_url, "head")
    shared = get_engine(shared_url)
    try:
        pushed = push_batch(shared=shared, events=[make_event(session, city_id=NYC)])
        assert pushed == 1
        with Session(shared) as s:
            assert crud.city_version(session=s, city_id=NYC) == 1
    finally:
        shared.dispose()


def test_with_the_cache_off_every_read_queries(
    client: httpx.Client,
    session: Session,
    event_queries: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "api_cache_seconds", 0.0)
    make_event(session, title="Uncached")
    assert titles(client) == ["Uncached"]
    queried = len(event_queries)
    assert titles(client) == ["Uncached"]
    assert len(event_queries) > queried


def test_page_cache_expires_and_stays_within_its_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = PageCache(max_bytes=10)
    cache.put("a", version=1, page=Page(None, b"12345"), ttl=60)
    cache.put("b", version=1, page=Page(None, b"12345"), ttl=60)
    assert cache.get("a", version=1) == Page(None, b"12345")
    assert cache.get("a", version=2) is None  # the city moved on
    cache.put("c", version=1, page=Page(None, b"123"), ttl=60)  # evicts b, least recent
    assert cache.get("b", version=1) is None
    assert cache.get("a", version=1) is not None and cache.get("c", version=1) is not None
    cache.put("huge", version=1, page=Page(None, b"x" * 11), ttl=60)
    assert cache.get("huge", version=1) is None

    clock = [1000.0]
    monkeypatch.setattr("nocturne.api.cache.time.monotonic", lambda: clock[0])
    cache.put("d", version=1, page=Page(None, b"1"), ttl=30)
    clock[0] += 29
    assert cache.get("d", version=1) is not None
    clock[0] += 2
    assert cache.get("d", version=1) is None
