"""GET /events encodes plain dicts without validating: the body must equal the validated model."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import Session, col, select

from nocturne.api import create_api
from nocturne.api.ratelimit import memory_store
from nocturne.api.schemas import EventOut
from nocturne.models import Event, EventStatus
from nocturne.settings import settings
from tests.support.api_server import make_event, serve

LA = "ca--los-angeles"
NOW = datetime.now(UTC)


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch, db_url: str, engine) -> Iterator[httpx.Client]:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(settings, "database_url", db_url)
    monkeypatch.setattr(settings, "redis_url", None)
    monkeypatch.setattr(settings, "rate_limit_enabled", False)
    memory_store.clear()
    with serve(create_api()) as base, httpx.Client(base_url=base, timeout=10) as http:
        yield http


def test_events_body_equals_the_validated_model_for_every_kind_of_event(
    client: httpx.Client, session: Session
) -> None:
    make_event(session, n=1, title="Caf\u00e9 \u201cnoise\u201d night \U0001f3b6", price_min=12.5)
    make_event(
        session,
        n=2,
        title="Online talk",
        start=NOW + timedelta(hours=3),
        hours=None,
        venue=None,
        address=None,
        is_online=True,
        is_free=True,
        price_min=None,
        price_max=None,
        source_tags=["talk", "tech"],
        tags=["tech", "online"],
    )
    make_event(
        session,
        n=3,
        title="Two sources",
        start=NOW + timedelta(days=2),
        sources=",eventbrite,luma,",
        links=["https://www.eventbrite.com/e/x-3", "https://lu.ma/x-3"],
        currency="EUR",
        price_min=5,
        price_max=5,
        latitude=34.05,
        longitude=-118.25,
        description="Line one\nline two <b>bold</b>",
        tags=["music", "club-night"],
        after_dark=True,
        after_dark_reasons=["club night", "11 PM"],
        age="21+",
    )
    make_event(session, n=4, title="Cancelled", start=NOW + timedelta(days=3))
    cancelled = session.exec(select(Event).where(Event.title == "Cancelled")).one()
    cancelled.status = EventStatus.cancelled
    session.add(cancelled)
    session.commit()

    r = client.get(f"/events/{LA}", params={"online": "true"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["cache-control"] == "public, max-age=30"
    session.expire_all()
    stored = session.exec(select(Event).where(col(Event.id).in_([e["id"] for e in r.json()]))).all()
    expected = {ev.id: EventOut.build(ev).model_dump(mode="json") for ev in stored}
    body = r.json()
    assert len(body) >= 3
    assert body == [expected[e["id"]] for e in body]
    titles = {e["title"] for e in body}
    assert {"Caf\u00e9 \u201cnoise\u201d night \U0001f3b6", "Online talk", "Two sources"} <= titles


def test_a_full_page_still_carries_the_next_cursor(client: httpx.Client, session: Session) -> None:
    for n in range(3):
        make_event(session, n=n, start=NOW + timedelta(hours=n + 1))
    r = client.get(f"/events/{LA}", params={"limit": 2})
    assert r.status_code == 200
    assert len(r.json()) == 2
    cursor = r.headers["X-Next-Cursor"]
    assert r.headers["Link"].endswith('>; rel="next"') and f"cursor={cursor}" in r.headers["Link"]
    rest = client.get(f"/events/{LA}", params={"limit": 2, "cursor": cursor}).json()
    assert len(rest) == 1 and "X-Next-Cursor" not in client.get(f"/events/{LA}").headers
