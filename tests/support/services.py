"""Talking to the real PostgreSQL and Redis the tests use."""

from __future__ import annotations

import os
import socket
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
