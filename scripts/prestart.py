"""Wait for the database, then apply migrations. App and workers run this before starting."""

from __future__ import annotations

import logging
import sys
import time

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from nocturne.db import get_engine, session_scope
from nocturne.feeds import seed_city_feeds
from nocturne.settings import ROOT, settings

log = logging.getLogger("nocturne.prestart")


def wait_for_database(*, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with get_engine().connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            return
        except sa.exc.OperationalError as exc:
            if time.monotonic() > deadline:
                raise SystemExit(f"database not reachable after {timeout:.0f}s: {exc}") from exc
            log.warning("waiting for the database: %s", exc.orig)
            time.sleep(1)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    wait_for_database()
    command.upgrade(Config(str(ROOT / "alembic.ini")), "head")
    log.info("database at head (%s)", get_engine().url.render_as_string(hide_password=True))
    with session_scope() as session:
        if added := seed_city_feeds(session=session):
            log.info("added %d reviewed calendar feeds from data/feeds.csv", added)
    settings.email_outbox_dir.mkdir(parents=True, exist_ok=True)


if __name__ == "__main__":
    main()
    sys.exit(0)
