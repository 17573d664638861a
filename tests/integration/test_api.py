"""The JSON API over real HTTP (uvicorn), on PostgreSQL and SQLite, with real Redis."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import redis
from sqlmodel import Session, select

from nocturne.api import create_api
from nocturne.api.logging import JsonFormatter
from nocturne.api.ratelimit import memory_store
from nocturne.models import EmailLog, ScrapeRun, Subscription
from nocturne.settings import settings
from tests.support.api_server import make_event, serve

LA = "ca--los-angeles"
NOW = datetime.now(UTC)


@pytest.fixture
def api_settings(monkeypatch: pytest.MonkeyPatch, db_url: str, engine) -> str:  # type: ignore[no-untyped-def]
    """Settings for a served API on a migrated database; rate limits off unless a test says."""
    monkeypatch.setattr(settings, "database_url", db_url)
    monkeypatch.setattr(settings, "redis_url", None)
    monkeypatch.setattr(settings, "admin_token", None)
    monkeypatch.setattr(settings, "rate_limit_enabled", False)
    monkeypatch.setattr(settings, "cors_origins", ["https://friend.example"])
    memory_store.clear()
    return db_url


@pytest.fixture
def client(api_settings: str) -> Iterator[httpx.Client]:
    with serve(create_api()) as base, httpx.Client(base_url=base, timeout=10) as http:
        yield http


def _ok_run(session: Session, *, source: str = "eventbrite", ago: timedelta, status: str = "ok"):  # type: ignore[no-untyped-def]
    run = ScrapeRun(
        city_id=LA,
        source=source,
        started_at=NOW - ago - timedelta(minutes=1),
        finished_at=NOW - ago,
        status=status,
        found=10,
        new=3,
    )
    session.add(run)
    session.commit()
    return run


# --- health ----------------------------------------------------------------------------


def test_health_is_stale_on_a_fresh_install(client: httpx.Client) -> None:
    r = client.get("/health")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "stale"
    assert body["database"] == "ok"
    assert body["redis"] == "not configured"
    assert body["last_success_at"] is None
    assert body["events"] == {"total": 0, "upcoming": 0}


def test_health_is_healthy_after_a_recent_successful_scrape(
    client: httpx.Client, session: Session
) -> None:
    make_event(session)
    make_event(session, start=NOW - timedelta(days=2))
    _ok_run(session, source="meetup", ago=timedelta(hours=30))
    _ok_run(session, source="eventbrite", ago=timedelta(hours=2))
    _ok_run(session, source="luma", ago=timedelta(minutes=5), status="failed")
    r = client.get("/health")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "healthy"
    assert body["events"] == {"total": 2, "upcoming": 1}
    assert body["last_scrape"]["luma"]["status"] == "failed"
    assert body["last_scrape"]["luma"]["last_success_at"] is None
    assert body["last_scrape"]["eventbrite"]["status"] == "ok"
    assert body["last_success_at"].startswith((NOW - timedelta(hours=2)).strftime("%Y-%m-%dT%H"))


def test_health_is_stale_when_the_last_success_is_older_than_26_hours(
    client: httpx.Client, session: Session
) -> None:
    _ok_run(session, ago=timedelta(hours=27))
    _ok_run(session, source="meetup", ago=timedelta(minutes=1), status="failed")
    r = client.get("/health")
    assert r.status_code == 503
    assert r.json()["status"] == "stale"


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_health_says_unhealthy_when_the_database_is_down(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        settings, "database_url", "postgresql+psycopg://postgres@127.0.0.1:1/nocturne"
    )
    r = client.get("/health")
    assert r.status_code == 503
    assert r.json()["status"] == "unhealthy"
    assert r.json()["database"] == "error"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_health_reports_redis(
    client: httpx.Client, session: Session, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ok_run(session, ago=timedelta(hours=1))
    monkeypatch.setattr(settings, "redis_url", redis_url)
    assert client.get("/health").json()["redis"] == "ok"
    monkeypatch.setattr(settings, "redis_url", "redis://127.0.0.1:1/0")
    r = client.get("/health")
    assert (r.status_code, r.json()["redis"], r.json()["status"]) == (503, "error", "unhealthy")


# --- cities and events -------------------------------------------------------------------


def test_cities_lists_the_catalogue_with_coming_counts(
    client: httpx.Client, session: Session
) -> None:
    make_event(session, n=1)
    make_event(session, n=2, start=NOW + timedelta(days=3))
    make_event(session, n=3, start=NOW - timedelta(days=1))
    make_event(session, n=4, status="cancelled")
    make_event(session, n=5, city_id="il--chicago")
    r = client.get("/cities")
    assert r.status_code == 200
    cities = {c["id"]: c for c in r.json()["cities"]}
    assert len(cities) == 49
    la = cities[LA]
    assert la["name"] == "Los Angeles" and la["slug"] == "los-angeles" and la["state"] == "CA"
    assert la["coordinates"] == {"lat": 34.0522, "lng": -118.2437}
    assert la["timezone"] == "America/Los_Angeles"
    assert la["upcoming"] == 2
    assert cities["il--chicago"]["upcoming"] == 1
    assert cities["ny--new-york"]["upcoming"] == 0


def test_events_keep_the_seed_shape_and_come_ordered_by_start(
    client: httpx.Client, session: Session
) -> None:
    later = make_event(session, n=1, title="Later", start=NOW + timedelta(days=5))
    sooner = make_event(session, n=2, title="Sooner", start=NOW + timedelta(hours=5))
    make_event(session, n=3, title="Elsewhere", city_id="il--chicago")
    make_event(session, n=4, title="Long over", start=NOW - timedelta(days=3))
    r = client.get(f"/events/{LA}")
    assert r.status_code == 200
    body = r.json()
    assert isinstance(body, list)
    assert [e["title"] for e in body] == ["Sooner", "Later"]
    first = body[0]
    for key in ("id", "title", "link", "date", "time", "location", "description", "source"):
        assert key in first
    assert first["city"] == LA
    assert first["id"] == sooner.id and body[1]["id"] == later.id
    assert first["date"] == sooner.local_date and first["time"] == sooner.local_time
    assert first["location"] == "The Basement, 123 Main St"
    assert first["price_label"] == "$10\u2013$25"
    assert first["sources"] == ["eventbrite"] and first["links"] == [sooner.link]
    assert first["start_at"].endswith("Z")
    assert "X-Next-Cursor" not in r.headers


def test_events_filters(client: httpx.Client, session: Session) -> None:
    day1 = datetime(2031, 3, 14, 20, 0, tzinfo=UTC)  # 13:00 in LA
    make_event(session, n=1, title="Techno Night", start=day1, source="eventbrite")
    make_event(
        session, n=2, title="Free Jazz", start=day1 + timedelta(days=1), source="meetup",
        is_free=True, price_min=None, price_max=None,
    )  # fmt: skip
    make_event(
        session, n=3, title="Art Walk", start=day1 + timedelta(days=2), source="luma",
        venue="Gallery Techno", description="walk",
    )  # fmt: skip
    make_event(session, n=4, title="Online talk", start=day1, is_online=True)

    def titles(**params: str) -> list[str]:
        r = client.get(f"/events/{LA}", params={"start_date": "2031-03-01", **params})
        assert r.status_code == 200, r.text
        return [e["title"] for e in r.json()]

    assert titles() == ["Techno Night", "Free Jazz", "Art Walk"]
    assert titles(source="meetup") == ["Free Jazz"]
    assert titles(free="true") == ["Free Jazz"]
    assert titles(free="false") == ["Techno Night", "Art Walk"]
    assert titles(q="techno") == ["Techno Night", "Art Walk"]  # title or venue
    assert titles(q="WALK") == ["Art Walk"]
    assert titles(start_date="2031-03-15", end_date="2031-03-15") == ["Free Jazz"]
    assert titles(online="true") == ["Techno Night", "Online talk", "Free Jazz", "Art Walk"]


def test_events_paginate_by_cursor_and_offset(client: httpx.Client, session: Session) -> None:
    start = NOW + timedelta(days=1)
    ids = [make_event(session, n=i, start=start + timedelta(hours=i // 2)).id for i in range(7)]
    seen: list[int] = []
    url: str | None = f"/events/{LA}?limit=3"
    pages = 0
    while url:
        r = client.get(url)
        assert r.status_code == 200
        seen += [e["id"] for e in r.json()]
        pages += 1
        link = r.headers.get("Link")
        if link:
            assert link.endswith('>; rel="next"')
            assert r.headers["X-Next-Cursor"] in link
            url = link[1 : link.index(">")]
        else:
            url = None
    assert seen == ids and pages == 3
    r = client.get(f"/events/{LA}", params={"limit": 3, "offset": 6})
    assert [e["id"] for e in r.json()] == ids[6:]


def test_events_unknown_city_is_404(client: httpx.Client) -> None:
    r = client.get("/events/xx--atlantis")
    assert r.status_code == 404
    assert "xx--atlantis" in r.json()["detail"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start_date": "2026-13-45"}, "start_date"),
        ({"start_date": "yesterday"}, "start_date"),
        ({"end_date": "9999-12-31"}, "end_date"),
        ({"start_date": "2030-02-02", "end_date": "2030-02-01"}, "end_date"),
        ({"limit": "0"}, "limit"),
        ({"limit": "100000"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"source": "myspace"}, "source"),
        ({"free": "perhaps"}, "free"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"q": "x" * 201}, "q"),
        ({"q": "bad\x00byte"}, "q"),
    ],
)
def test_bad_event_filters_are_422_naming_the_field(
    client: httpx.Client, params: dict[str, str], field: str
) -> None:
    r = client.get(f"/events/{LA}", params=params)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["message"].startswith(f"{field}:")
    assert body["detail"][0]["loc"][-1] == field


@pytest.mark.parametrize(
    "path",
    [
        "/events/ca--los-angeles'%20OR%20'1'='1",
        "/events/%3Bdrop%20table%20event%3B--",
        "/events/%FF%FE%00",
        "/events/" + "a" * 5000,
        "/cities/%FF/events.ics",
        "/cities/ca--los-angeles/events/99999999999999999999.ics",
        "/cities/ca--los-angeles/events/-1.ics",
    ],
)
def test_hostile_paths_are_4xx(client: httpx.Client, path: str) -> None:
    r = client.get(path)
    assert 400 <= r.status_code < 500, (path, r.status_code, r.text)


@pytest.mark.parametrize(
    "q", ["' OR 1=1 --", "%' UNION SELECT email FROM subscription --", "\\", "%_%", "é😀"]
)
def test_sql_fragments_in_search_are_just_text(
    client: httpx.Client, session: Session, q: str
) -> None:
    make_event(session)
    r = client.get(f"/events/{LA}", params={"q": q})
    assert r.status_code == 200
    assert r.json() == []


def test_non_utf8_query_bytes_do_not_break_the_search(
    client: httpx.Client, session: Session
) -> None:
    make_event(session)
    r = client.get(f"/events/{LA}?q=%FF%FE")
    assert r.status_code == 200
    assert r.json() == []


# --- subscribe ---------------------------------------------------------------------------


@pytest.fixture
def queued(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[redis.Redis]:
    """Route jobs to arq on a Redis db of this test's own; yields a client to inspect it."""
    monkeypatch.setattr(settings, "redis_url", redis_url)
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def _arq_jobs(client: redis.Redis) -> dict[str, dict]:
    """The arq jobs in the queue: job id -> {'function', 'kwargs'}, read with arq's decoder."""
    from arq.jobs import deserialize_job

    jobs = {}
    for key in client.keys("arq:job:*"):
        job = deserialize_job(client.get(key))
        jobs[key.decode().removeprefix("arq:job:")] = {
            "function": job.function,
            "kwargs": job.kwargs,
        }
    return jobs


def test_subscribe_creates_a_pending_subscription_and_queues_the_confirmation(
    client: httpx.Client, session: Session, queued: redis.Redis
) -> None:
    r = client.post("/subscribe", json={"email": "Fan@Example.com", "city": LA})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["email"] == "fan@example.com" and body["city"] == LA
    assert body["is_active"] is False and body["status"] == "pending"
    assert body["outcome"] == "created" and "inbox" in body["message"]
    assert body["created_at"].endswith("Z")
    sub = session.exec(select(Subscription)).one()
    assert sub.id == body["id"]
    jobs = _arq_jobs(queued)
    assert [j["function"] for j in jobs.values()] == ["send_confirmation"]
    assert next(iter(jobs.values()))["kwargs"] == {"subscription_id": sub.id}

    again = client.post("/subscribe", json={"email": "fan@example.com", "city_id": LA})
    assert again.status_code == 200
    assert again.json()["outcome"] == "too_soon" and again.json()["id"] == sub.id
    assert len(_arq_jobs(queued)) == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "fan@example.com"}, "city"),
        ({"email": "fan@example.com", "city": "xx--atlantis"}, "city"),
        ({"email": "not-an-email", "city": LA}, "email"),
        ({"email": "a@b.c' OR '1'='1", "city": LA}, "email"),
        ({"email": "x" * 400 + "@example.com", "city": LA}, "email"),
        ({"city": LA}, "email"),
        ({"email": ["fan@example.com"], "city": LA}, "email"),
    ],
)
def test_subscribe_refuses_bad_input_with_422_naming_the_field(
    client: httpx.Client, payload: dict, field: str
) -> None:
    r = client.post("/subscribe", json=payload)
    assert r.status_code == 422, r.text
    assert r.json()["message"].startswith(f"{field}:")


@pytest.mark.parametrize(
    "body", [b"\xff\xfe\x00{", b'{"email": "a@b.co", "city": "ca--los-angeles"', b"", b"[]"]
)
def test_subscribe_refuses_malformed_bodies(client: httpx.Client, body: bytes) -> None:
    r = client.post("/subscribe", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text


def test_oversized_bodies_get_413(client: httpx.Client) -> None:
    big = {"email": "fan@example.com", "city": LA, "pad": "x" * 70_000}
    r = client.post("/subscribe", json=big)
    assert r.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        yield b'{"email": "fan@example.com", "pad": "'
        for _ in range(10):
            yield b"x" * 10_000
        yield b'"}'

    r = client.post("/subscribe", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


# --- scrape ------------------------------------------------------------------------------


def test_scrape_queues_one_job_per_city(client: httpx.Client, queued: redis.Redis) -> None:
    r = client.post(f"/scrape/{LA}")
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["city"] == LA and body["queued"] is True
    assert body["message"] == f"Scraping initiated for {LA}" and body["note"]
    assert body["job_id"] == f"scrape:{LA}"
    jobs = _arq_jobs(queued)
    assert jobs == {f"scrape:{LA}": {"function": "scrape_city", "kwargs": {"city_id": LA}}}

    # Another client asks while it is queued: no second job.
    r = client.post(f"/scrape/{LA}", headers={"X-Forwarded-For": "203.0.113.9"})
    assert r.status_code == 202 and r.json()["queued"] is False
    assert len(_arq_jobs(queued)) == 1


def test_scrape_unknown_city_is_404(client: httpx.Client) -> None:
    assert client.post("/scrape/xx--atlantis").status_code == 404


# --- rate limits -------------------------------------------------------------------------


@pytest.fixture(params=["memory", "redis"])
def limited(
    request: pytest.FixtureRequest, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> httpx.Client:
    """Rate limits on, in memory or on a real Redis."""
    monkeypatch.setattr(settings, "rate_limit_enabled", True)
    if request.param == "redis":
        monkeypatch.setattr(settings, "redis_url", request.getfixturevalue("redis_url"))
    return client


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_read_limit_is_hit_and_recovers(
    limited: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "rate_limit_read", "3/second")
    me = {"X-Forwarded-For": "198.51.100.1"}
    assert [limited.get("/cities", headers=me).status_code for _ in range(3)] == [200] * 3
    refused = limited.get(f"/events/{LA}", headers=me)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    assert "3/second" in refused.json()["detail"]
    # Someone else is not affected.
    assert limited.get("/cities", headers={"X-Forwarded-For": "198.51.100.2"}).status_code == 200
    time.sleep(0.4)
    assert limited.get("/cities", headers=me).status_code == 200  # one slot back per 1/3 s


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_subscribe_limit_is_five_a_minute(limited: httpx.Client, queued: redis.Redis) -> None:
    me = {"X-Forwarded-For": "198.51.100.7"}
    codes = [
        limited.post("/subscribe", json={"email": f"f{i}@example.com", "city": LA}, headers=me)
        for i in range(6)
    ]
    assert [r.status_code for r in codes] == [200] * 5 + [429]
    assert 1 <= int(codes[-1].headers["Retry-After"]) <= 12


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_scrape_limit_is_per_client_and_city(
    limited: httpx.Client, queued: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    me = {"X-Forwarded-For": "198.51.100.9"}
    assert limited.post(f"/scrape/{LA}", headers=me).status_code == 202
    again = limited.post(f"/scrape/{LA}", headers=me)
    assert again.status_code == 429
    assert 590 <= int(again.headers["Retry-After"]) <= 600
    assert limited.post("/scrape/il--chicago", headers=me).status_code == 202
    assert limited.post(f"/scrape/{LA}", headers={"X-Forwarded-For": "1.2.3.4"}).status_code == 202

    monkeypatch.setattr(settings, "rate_limit_scrape", "1/1second")
    assert limited.post("/scrape/tx--austin", headers=me).status_code == 202
    assert limited.post("/scrape/tx--austin", headers=me).status_code == 429
    time.sleep(1.05)
    assert limited.post("/scrape/tx--austin", headers=me).status_code == 202


# --- admin -------------------------------------------------------------------------------

ADMIN_ROUTES = [
    ("GET", "/subscriptions"),
    ("GET", "/email-logs"),
    ("GET", "/scrape-runs"),
    ("DELETE", "/subscribe/1"),
    ("POST", "/scrape/all"),
    ("GET", "/feeds"),
    ("POST", "/feeds"),
    ("DELETE", "/feeds/1"),
]


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_admin_is_off_without_a_configured_token(
    client: httpx.Client, method: str, path: str
) -> None:
    r = client.request(method, path, headers={"Authorization": "Bearer anything"})
    assert r.status_code == 403
    assert "ADMIN_TOKEN" in r.json()["detail"]


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
@pytest.mark.parametrize(
    "auth",
    [
        None,
        b"Bearer wrong-token",
        b"Bearer s3cret-admin-tokeX",
        b"Basic czNjcmV0",
        b"Bearer \xff\xfe",
    ],
)
def test_admin_refuses_missing_and_wrong_tokens(
    client: httpx.Client,
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    path: str,
    auth: bytes | None,
) -> None:
    monkeypatch.setattr(settings, "admin_token", "s3cret-admin-token")
    headers = {"Authorization": auth} if auth else {}
    r = client.request(method, path, headers=headers)
    assert r.status_code == 401, r.text
    assert r.headers["WWW-Authenticate"] == "Bearer"


@pytest.fixture
def admin(client: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> httpx.Client:
    monkeypatch.setattr(settings, "admin_token", "s3cret-admin-token")
    client.headers["Authorization"] = "Bearer s3cret-admin-token"
    return client


def test_admin_lists_and_deletes_subscriptions(admin: httpx.Client, session: Session) -> None:
    for i, city in enumerate([LA, LA, "il--chicago"]):
        session.add(Subscription(email=f"s{i}@example.com", city_id=city, status="active"))
    session.commit()
    page = admin.get("/subscriptions", params={"limit": 2}).json()
    assert page["total"] == 3 and page["limit"] == 2
    assert [s["email"] for s in page["items"]] == ["s2@example.com", "s1@example.com"]
    rest = admin.get("/subscriptions", params={"limit": 2, "offset": 2}).json()
    assert [s["email"] for s in rest["items"]] == ["s0@example.com"]
    chicago = admin.get("/subscriptions", params={"city_id": "il--chicago"}).json()
    assert chicago["total"] == 1

    sub_id = page["items"][0]["id"]
    r = admin.delete(f"/subscribe/{sub_id}")
    assert r.status_code == 200
    assert r.json()["status"] == "unsubscribed" and r.json()["is_active"] is False
    assert admin.delete(f"/subscribe/{sub_id}").status_code == 200  # idempotent
    assert admin.get("/subscriptions", params={"status": "active"}).json()["total"] == 2
    assert admin.delete("/subscribe/987654").status_code == 404
    assert admin.delete("/subscribe/0").status_code == 422
    assert admin.delete("/subscribe/abc").status_code == 422


def test_admin_lists_email_logs_and_scrape_runs(admin: httpx.Client, session: Session) -> None:
    for i in range(3):
        session.add(
            EmailLog(
                recipient=f"r{i}@example.com", kind="digest" if i else "confirm",
                subject="Hi", provider="smtp", status="failed" if i == 2 else "sent",
            )
        )  # fmt: skip
    session.commit()
    _ok_run(session, ago=timedelta(hours=1))
    _ok_run(session, source="luma", ago=timedelta(hours=2), status="failed")

    logs = admin.get("/email-logs").json()
    assert logs["total"] == 3 and logs["items"][0]["recipient"] == "r2@example.com"
    assert admin.get("/email-logs", params={"status": "failed"}).json()["total"] == 1
    assert admin.get("/email-logs", params={"kind": "confirm"}).json()["total"] == 1

    runs = admin.get("/scrape-runs").json()
    assert runs["total"] == 2
    assert runs["items"][0]["source"] == "luma" and runs["items"][0]["finished_at"].endswith("Z")
    assert admin.get("/scrape-runs", params={"source": "eventbrite"}).json()["total"] == 1
    assert admin.get("/scrape-runs", params={"source": "bogus"}).status_code == 422


def test_admin_scrape_all_queues_one_job(admin: httpx.Client, queued: redis.Redis) -> None:
    r = admin.post("/scrape/all")
    assert r.status_code == 202 and r.json()["queued"] is True
    assert [j["function"] for j in _arq_jobs(queued).values()] == ["scrape_all"]
    assert admin.post("/scrape/all").json()["queued"] is False


# --- hardening: headers, CORS, request ids, logs, docs -----------------------------------


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_security_headers_on_every_response(client: httpx.Client) -> None:
    for r in (client.get("/cities"), client.get("/events/xx--none"), client.get("/health")):
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
        assert "connect-src 'self' ws: wss:" in r.headers["Content-Security-Policy"]
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    spec = client.get("/api/openapi.json").json()
    assert "/events/{city_id}" in spec["paths"] and "/cities/{city_id}/events.ics" in spec["paths"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("path", "tool", "assets"),
    [
        ("/api/docs", "SwaggerUIBundle", {"swagger-ui-bundle.js", "swagger-ui.css"}),
        ("/api/redoc", "<redoc", {"redoc.standalone.js"}),
    ],
)
def test_api_docs_load_nothing_from_outside(
    client: httpx.Client, path: str, tool: str, assets: set[str]
) -> None:
    """Swagger UI and ReDoc come from the app's own files (fastapi-offline), not a CDN."""
    page = client.get(path)
    assert page.status_code == 200 and tool in page.text
    csp = page.headers["Content-Security-Policy"]
    assert "http" not in csp and "'unsafe-eval'" not in csp  # this site only, no eval
    links = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert links and not [url for url in links if not url.startswith("/")]
    assert {url.rsplit("/", 1)[-1] for url in links} >= assets | {"favicon.ico"}
    types = {".js": "text/javascript", ".css": "text/css"}
    for url in links:
        if url.startswith("/api/docs/assets/"):
            asset = client.get(url)
            assert asset.status_code == 200, url
            assert asset.headers["content-type"].startswith(types[url[url.rindex(".") :]])
            assert len(asset.content) > 100_000  # the whole bundle, not a stub


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_cors_allows_only_configured_origins(client: httpx.Client) -> None:
    preflight = {"Access-Control-Request-Method": "POST"}
    ok = client.options("/subscribe", headers={"Origin": "https://friend.example", **preflight})
    assert ok.status_code == 200
    assert ok.headers["Access-Control-Allow-Origin"] == "https://friend.example"
    bad = client.options("/subscribe", headers={"Origin": "https://evil.example", **preflight})
    assert bad.status_code == 400
    assert "Access-Control-Allow-Origin" not in bad.headers
    simple = client.get("/cities", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in simple.headers


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_every_log_line_carries_the_request_id(
    client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    r = client.get("/cities", headers={"X-Request-ID": "req-abc-123"})
    assert r.headers["X-Request-ID"] == "req-abc-123"
    made = client.get("/cities", headers={"X-Request-ID": "bad id\twith spaces"})
    assert made.headers["X-Request-ID"] != "bad id\twith spaces"
    assert len(made.headers["X-Request-ID"]) == 32

    # The access line is written once the response has gone: give it a moment.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        access = [r for r in caplog.records if r.name == "nocturne.access"]
        if len(access) == 2:
            break
        time.sleep(0.02)
    assert [a.request_id for a in access] == ["req-abc-123", made.headers["X-Request-ID"]]
    line = json.loads(JsonFormatter().format(access[0]))
    assert line["request_id"] == "req-abc-123"
    assert line["status"] == 200 and line["path"] == "/cities" and line["level"] == "INFO"
    assert line["duration_ms"] >= 0


def test_admin_adds_lists_and_removes_city_feeds(admin: httpx.Client) -> None:
    body = {
        "city_id": "ny--brooklyn",
        "name": "  Elsewhere   Brooklyn ",
        "url": "webcal://calendar.example/elsewhere.ics",
        "kind": "ical",
    }
    created = admin.post("/feeds", json=body)
    assert created.status_code == 201, created.text
    feed = created.json()
    assert (feed["name"], feed["url"], feed["status"]) == (
        "Elsewhere Brooklyn",
        "https://calendar.example/elsewhere.ics",
        "active",
    )
    assert admin.post("/feeds", json=body).json()["id"] == feed["id"]  # the same URL: one entry
    listed = admin.get("/feeds", params={"city_id": "ny--brooklyn"}).json()
    assert [f["id"] for f in listed] == [feed["id"]]
    assert admin.get("/feeds", params={"city_id": "il--chicago"}).json() == []
    for bad, reason in [
        ({**body, "city_id": "xx--nowhere"}, "city_id"),
        ({**body, "kind": "myspace"}, "kind"),
        ({**body, "url": "ftp://calendar.example/x.ics"}, "url"),
        ({**body, "name": "   "}, "name"),
        ({**body, "name": "Elsewhere\x00"}, "name"),  # PostgreSQL refuses NUL in text
        ({**body, "url": "https://calendar.example/\x00.ics"}, "url"),
    ]:
        refused = admin.post("/feeds", json=bad)
        assert refused.status_code == 422, refused.text
        assert reason in refused.json()["message"], refused.text
    assert admin.delete(f"/feeds/{feed['id']}").status_code == 204
    assert admin.delete(f"/feeds/{feed['id']}").status_code == 404
    assert admin.get("/feeds").json() == []
