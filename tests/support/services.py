"""Talking to the real PostgreSQL and Redis the tests use."""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

PG_ADMIN_URL = os.environ.get("TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_BASE_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 2
        ):
            return True
    except OSError:
        return False


def pg_available() -> bool:
    return _reachable(PG_ADMIN_URL, 5432)


def redis_available() -> bool:
    return _reachable(REDIS_BASE_URL, 6379)


@contextmanager
def lease_redis_db(*, ttl: int = 900) -> Iterator[str]:
    """Lease a free Redis db number (1-15) via a key in db 0; released on exit."""
    import redis

    admin = redis.Redis.from_url(f"{REDIS_BASE_URL}/0")
    token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    deadline = time.monotonic() + 120
    try:
        while True:
            for n in range(1, 16):
                if admin.set(f"nocturne-test-lease:{n}", token, nx=True, ex=ttl):
                    try:
                        yield f"{REDIS_BASE_URL}/{n}"
                    finally:
                        if admin.get(f"nocturne-test-lease:{n}") == token.encode():
                            admin.delete(f"nocturne-test-lease:{n}")
                    return
            if time.monotonic() > deadline:
                raise RuntimeError("no free Redis test database in 120 s")
            time.sleep(0.2)
    finally:
        admin.close()


def pg_url_for(name: str) -> str:
    parts = urlsplit(PG_ADMIN_URL)
    return parts._replace(scheme="postgresql+psycopg", path=f"/{name}").geturl()


def create_pg_database(name: str) -> str:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return pg_url_for(name)


def drop_pg_database(name: str) -> None:
    from nocturne.db import get_engine

    get_engine(pg_url_for(name)).dispose()  # return pooled connections first
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def migrate(url: str, revision: str = "head", *, down: bool = False) -> None:
    """Run alembic against ``url`` exactly as `alembic upgrade/downgrade` would."""
    from alembic import command
    from alembic.config import Config

    from nocturne.settings import ROOT

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    (command.downgrade if down else command.upgrade)(cfg, revision)
