"""Property-based run over the served OpenAPI schema: no 500s, responses match the schema.

The API runs for real (uvicorn, PostgreSQL migrated to head, jobs queued on a real Redis).
Examples per operation are kept small so the run stays under a minute.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hsettings
from schemathesis import checks
from sqlmodel import Session

from nocturne.api import create_api
from nocturne.api.ratelimit import memory_store
from nocturne.db import get_engine
from nocturne.models import FeedSuggestion, ScrapeRun, Subscription
from nocturne.settings import settings
from tests.support.api_server import make_event, serve
from tests.support.services import (
    create_pg_database,
    drop_pg_database,
    lease_redis_db,
    migrate,
    pg_available,
    redis_available,
)

ADMIN_TOKEN = "schemathesis-admin-token"


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    if not (pg_available() and redis_available()):
        pytest.skip("PostgreSQL and Redis are needed")
    name = f"nocturne_test_{uuid.uuid4().hex[:12]}"
    url = create_pg_database(name)
    migrate(url, "head")
    with Session(get_engine(url), expire_on_commit=False) as session:
        now = datetime.now(UTC)
        for i in range(30):
            make_event(session, n=i, start=now + timedelta(hours=3 * i), title=f"Event {i}")
        session.add(Subscription(email="someone@example.com", city_id="ca--los-angeles"))
        # Suggestions for the moderation routes to approve, reject and preview.
        for n in range(3):
            session.add(
                FeedSuggestion(
                    city_id="ca--los-angeles",
                    url=f"https://calendar{n}.example.org/feed.ics",
                    name=f"Calendar {n}",
                    email="dj@example.org",
                    preview={
                        "state": "ok",
                        "kind": "ical",
                        "found": 2,
                        "coming": 1,
                        "next": [],
                        "message": "Found 2 events, 1 coming",
                    },
                )
            )
        # A fresh scrape, so /health says healthy (200) rather than stale (503).
        session.add(
            ScrapeRun(city_id="ca--los-angeles", source="luma", finished_at=now, status="ok")
        )
        session.commit()
    with lease_redis_db() as redis_url, pytest.MonkeyPatch.context() as mp:
        mp.setattr(settings, "database_url", url)
        mp.setattr(settings, "redis_url", redis_url)
        mp.setattr(settings, "admin_token", ADMIN_TOKEN)
        mp.setattr(settings, "rate_limit_enabled", False)
        memory_store.clear()
        with serve(create_api()) as base:
            yield base
        import redis

        redis.Redis.from_url(redis_url).flushdb()
    drop_pg_database(name)


def _openapi() -> dict:
    """The schema the server serves, built in-process (schemathesis' from_fixture does not
    work with pytest 9); the cases it yields are sent to the live server.

    Two values are narrowed where the schema cannot say what is valid: a cursor is opaque
    (random strings are rightly refused), so positive cases get a well-formed one; emails
    get a pattern. Negative cases still get anything else.
    """
    spec = create_api().openapi()
    cursor = base64.urlsafe_b64encode(b"2030-01-01T00:00:00+00:00|5").decode().rstrip("=")
    for path in spec["paths"].values():
        for operation in path.values():
            for param in operation.get("parameters", []):
                if param["name"] == "cursor":
                    param["schema"] = {"type": "string", "enum": [cursor]}
    # Reserved domains (.test, .invalid...) are refused, which no schema format can say.
    email = {
        "type": "string",
        # Punctuation only between letters/digits: "a.-b@x-.io" is rightly refused.
        "pattern": (
            r"^[a-z0-9]{1,20}([._+-][a-z0-9]{1,10}){0,2}"
            r"@[a-z0-9]{1,20}(-[a-z0-9]{1,10})?\.(com|org|net|io)$"
        ),
    }
    spec["components"]["schemas"]["SubscribeIn"]["properties"]["email"] = email
    # A suggested URL is fetched: the run must reach no real host, so it suggests only
    # addresses refused before any connection (the API tests cover accepted ones).
    suggestion = spec["components"]["schemas"]["SuggestionIn"]["properties"]
    suggestion["url"] = {"type": "string", "enum": SUGGESTED_URLS}
    suggestion["email"] = email
    return spec


SUGGESTED_URLS = [
    "file:///etc/passwd",
    "http://127.0.0.1:9/feed.ics",
    "webcal://localhost/feed.ics",
    "http://[::1]/feed.ics",
]


schema = schemathesis.openapi.from_dict(_openapi())

# Every response check; not negative_data_rejection, which wants FastAPI to refuse things
# it accepts by design (a repeated scalar query parameter, unknown parameters).
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.positive_data_acceptance,
]
# The email helper's signed-link pages (nocturne/api/email_routes.py): a token is opaque
# and its 400 for a bad one is not declared in their schema, so only "no 5xx" and the
# content type are held against them here.
TOKEN_PAGES = ("/confirm", "/unsubscribe")
TOKEN_CHECKS = [checks.not_a_server_error, checks.content_type_conformance]
# A well-formed suggestion is still refused (422) for what its URL holds or where it
# points, which no schema can say: every check but positive data acceptance.
SUGGEST_CHECKS = [c for c in CHECKS if c is not checks.positive_data_acceptance]


@schema.parametrize()
@hsettings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_conforms_to_its_schema(case: schemathesis.Case, base_url: str) -> None:
    case.call_and_validate(
        base_url=base_url,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        checks=TOKEN_CHECKS
        if case.operation.path in TOKEN_PAGES
        else SUGGEST_CHECKS
        if case.operation.path == "/suggestions"
        else CHECKS,
    )
