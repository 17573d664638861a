"""Shared fixtures: throwaway PostgreSQL databases, migrated SQLite files, a Redis db."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.support.services import (
    PG_ADMIN_URL,
    create_pg_database,
    drop_pg_database,
    lease_redis_db,
    migrate,
    pg_available,
    redis_available,
)

IN_CI = os.environ.get("CI", "").lower() == "true"
_missing_services: set[str] = set()


def _need(service: str, available: bool) -> None:
    """Skip (on a laptop) or fail (in CI) when a required service is down."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{service} is required in CI but cannot be reached")
    _missing_services.add(service)
    pytest.skip(f"{service} not reachable")


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # type: ignore[no-untyped-def]
    for service in sorted(_missing_services):
        terminalreporter.write_line(
            f"NOTE: {service} could not be reached: its tests were SKIPPED, not passed.",
            yellow=True,
        )


@pytest.fixture(scope="session")
def pg_server() -> str:
    _need("PostgreSQL (127.0.0.1:5432)", pg_available())
    return PG_ADMIN_URL


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    name = f"nocturne_test_{uuid.uuid4().hex[:12]}"
    url = create_pg_database(name)
    yield url
    drop_pg_database(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """An empty database URL on each backend."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A database migrated to head, on each backend."""
    from nocturne.db import get_engine

    migrate(db_url, "head")
    eng = get_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine):  # type: ignore[no-untyped-def]
    from sqlmodel import Session

    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis database number of this test's own, emptied before and after.

    Concurrent test runs on one machine each lease a different db number (1-15).
    """
    import redis

    _need("Redis (127.0.0.1:6379)", redis_available())
    with lease_redis_db() as url:
        client = redis.Redis.from_url(url)
        client.flushdb()
        yield url
        client.flushdb()
        client.close()


@pytest.fixture(autouse=True)
def _no_autofill(monkeypatch: pytest.MonkeyPatch) -> None:
    """No first-run fill unless a test asks for it (tests/integration/test_autofill.py):
    a worker started by a test would otherwise queue the first scrape of every city."""
    from nocturne.settings import settings

    monkeypatch.setattr(settings, "autofill", False)


@pytest.fixture(autouse=True)
def _fresh_live_status() -> Iterator[None]:
    """Embedded mode keeps each city's latest scrape status in memory: one test's refresh
    must not show up as the next test's status."""
    from nocturne import live

    live._status.clear()
    yield
    live._status.clear()


@pytest.fixture(autouse=True)
def _fail_on_error_logs(request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture):
    """A test that logs an ERROR fails, unless marked allow_error_logs."""
    yield
    if request.node.get_closest_marker("allow_error_logs"):
        return
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    if errors:
        pytest.fail("unexpected ERROR logs: " + "; ".join(r.getMessage() for r in errors[:5]))
