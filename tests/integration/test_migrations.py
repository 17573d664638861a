"""Alembic builds the whole schema from empty and removes it again, on both backends."""

import json

import sqlalchemy as sa
from sqlmodel import SQLModel

from nocturne import models  # noqa: F401
from nocturne.db import get_engine
from tests.support.services import migrate

TABLES = {
    "event",
    "subscription",
    "email_log",
    "scrape_run",
    "digest_delivery",
    "city_version",
    "city_feed",
    "feed_suggestion",
}


def test_upgrade_to_head_and_back_to_base(db_url):
    migrate(db_url, "head")
    engine = get_engine(db_url)
    insp = sa.inspect(engine)
    assert set(insp.get_table_names()) >= TABLES
    # The migrations create exactly what models.py declares.
    for table in SQLModel.metadata.sorted_tables:
        declared = {c.name for c in table.columns}
        assert {c["name"] for c in insp.get_columns(table.name)} == declared, table.name
    event_indexes = {i["name"]: i["column_names"] for i in insp.get_indexes("event")}
    assert event_indexes["ix_event_city_start"] == ["city_id", "start_at"]
    assert event_indexes["ix_event_last_scraped"] == ["last_scraped"]
    uniques = {tuple(u["column_names"]) for u in insp.get_unique_constraints("subscription")}
    assert ("email", "city_id") in uniques
    if engine.dialect.name == "postgresql":
        start = next(c for c in insp.get_columns("event") if c["name"] == "start_at")
        assert start["type"].timezone is True

    migrate(db_url, "base", down=True)
    engine.dispose()
    remaining = set(sa.inspect(get_engine(db_url)).get_table_names())
    assert remaining & TABLES == set()
    assert remaining <= {"alembic_version"}


def test_no_model_change_without_a_migration(db_url):
    """Autogenerate against a migrated database finds nothing to do."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    migrate(db_url, "head")
    with get_engine(db_url).connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(ctx, SQLModel.metadata)
    assert diff == []


def test_city_feeds_migration_keeps_existing_events_and_runs(db_url):
    """0004 -> 0005 on a database holding events and runs: all kept, none tied to a feed."""
    migrate(db_url, "0004")
    engine = get_engine(db_url)
    now = "2026-12-01 20:00:00+00:00"
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO event (title, link, links, source, sources, city_id, start_at,"
                " timezone, local_date, local_time, tags, status, is_online, missed_scrapes,"
                " first_seen, last_scraped, created_at, updated_at) VALUES ('Loft night',"
                " 'https://www.eventbrite.com/e/1', '[]', 'eventbrite', ',eventbrite,',"
                " 'il--chicago', :t, 'America/Chicago', '2026-12-01', '14:00', '[]',"
                " 'scheduled', false, 0, :t, :t, :t, :t)"
            ),
            {"t": now},
        )
        conn.execute(
            sa.text(
                "INSERT INTO scrape_run (city_id, source, started_at, status, found, new,"
                " updated, dropped) VALUES ('il--chicago', 'luma', :t, 'ok', 3, 3, 0, 0)"
            ),
            {"t": now},
        )
    migrate(db_url, "head")
    with engine.connect() as conn:
        events = conn.execute(sa.text("SELECT title, source, feed_id FROM event")).all()
        runs = conn.execute(sa.text("SELECT source, found, feed_id FROM scrape_run")).all()
        feeds = conn.execute(sa.text("SELECT count(*) FROM city_feed")).scalar_one()
    assert [tuple(r) for r in events] == [("Loft night", "eventbrite", None)]
    assert [tuple(r) for r in runs] == [("luma", 3, None)]
    assert feeds == 0
    engine.dispose()


def test_event_tags_migration_moves_source_tags(db_url):
    """0005 -> 0006 on events holding their source's tags: the tags move to source_tags,
    nothing else changes, and the events wait for the classifier (rules_version 0)."""
    migrate(db_url, "0005")
    engine = get_engine(db_url)
    now = "2026-12-01 20:00:00+00:00"
    rows = [
        ("Warehouse rave", "https://19hz.info/e/1", '["techno", "acid", "21+"]'),
        ("Career fair", "https://www.eventbrite.com/e/2", '["Business & Professional"]'),
        ("Untagged", "https://lu.ma/e/3", "[]"),
    ]
    with engine.begin() as conn:
        for title, link, tags in rows:
            conn.execute(
                sa.text(
                    "INSERT INTO event (title, link, links, source, sources, city_id, start_at,"
                    " timezone, local_date, local_time, venue, tags, status, is_online,"
                    " missed_scrapes, first_seen, last_scraped, created_at, updated_at)"
                    " VALUES (:title, :link, '[]', 'eventbrite', ',eventbrite,', 'il--chicago',"
                    " :t, 'America/Chicago', '2026-12-01', '14:00', 'Loft', :tags, 'scheduled',"
                    " false, 0, :t, :t, :t, :t)"
                ),
                {"title": title, "link": link, "tags": tags, "t": now},
            )
    migrate(db_url, "0006")
    with engine.connect() as conn:
        got = [tuple(r) for r in conn.execute(sa.select(*_event_columns(conn)).order_by("id"))]
        indexes = {i["name"]: i["column_names"] for i in sa.inspect(conn).get_indexes("event")}
    assert got == [
        ("Warehouse rave", "Loft", ["techno", "acid", "21+"], [], False, [], None, 0),
        ("Career fair", "Loft", ["Business & Professional"], [], False, [], None, 0),
        ("Untagged", "Loft", [], [], False, [], None, 0),
    ]
    assert indexes["ix_event_city_after_dark_start"] == ["city_id", "after_dark", "start_at"]

    # And back: the source's tags return to `tags`.
    migrate(db_url, "0005", down=True)
    with engine.connect() as conn:
        back = conn.execute(sa.text("SELECT tags FROM event ORDER BY id")).scalars().all()
    assert [json.loads(t) if isinstance(t, str) else t for t in back] == [
        ["techno", "acid", "21+"],
        ["Business & Professional"],
        [],
    ]
    engine.dispose()


def _event_columns(conn: sa.Connection) -> list[sa.ColumnElement]:
    """The 0006 columns typed as JSON/Boolean, so both backends decode them alike."""
    names = ["title", "venue", "source_tags", "tags", "after_dark", "after_dark_reasons", "age",
             "rules_version"]  # fmt: skip
    types = {"source_tags": sa.JSON(), "tags": sa.JSON(), "after_dark_reasons": sa.JSON(),
             "after_dark": sa.Boolean()}  # fmt: skip
    table = sa.table("event", *(sa.column(n, types.get(n)) for n in names), sa.column("id"))
    return [table.c[n] for n in names]


def test_feed_suggestions_migration_keeps_feeds_and_events(db_url):
    """0006 -> 0007 on a database holding a feed and its event: both kept; a suggestion
    approved into that feed is stored and read back; down again drops only the new table."""
    migrate(db_url, "0006")
    engine = get_engine(db_url)
    now = "2026-12-01 20:00:00+00:00"
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO city_feed (id, city_id, kind, name, url, status, created_at,"
                " updated_at) VALUES (7, 'il--chicago', 'ical', 'Loft', 'https://loft.test/c.ics',"
                " 'active', :t, :t)"
            ),
            {"t": now},
        )
        conn.execute(
            sa.text(
                "INSERT INTO event (title, link, links, source, sources, feed_id, city_id,"
                " start_at, timezone, local_date, local_time, tags, status, is_online,"
                " missed_scrapes, first_seen, last_scraped, created_at, updated_at) VALUES"
                " ('Loft night', 'https://loft.test/e/1', '[]', 'ical', ',ical,', 7,"
                " 'il--chicago', :t, 'America/Chicago', '2026-12-01', '14:00', '[]',"
                " 'scheduled', false, 0, :t, :t, :t, :t)"
            ),
            {"t": now},
        )
    migrate(db_url, "0007")
    suggestion = sa.table(
        "feed_suggestion",
        *(
            sa.column(n)
            for n in ("city_id", "url", "name", "status", "feed_id", "created_at", "updated_at")
        ),
        sa.column("preview", sa.JSON()),
    )
    with engine.begin() as conn:
        conn.execute(
            suggestion.insert().values(
                city_id="il--chicago",
                url="https://loft.test/c.ics",
                name="Loft",
                status="approved",
                feed_id=7,
                created_at=now,
                updated_at=now,
                preview={"state": "ok", "found": 3, "coming": 1},
            )
        )
    with engine.connect() as conn:
        event = conn.execute(sa.text("SELECT title, feed_id FROM event")).one()
        feed = conn.execute(sa.text("SELECT name FROM city_feed")).scalar_one()
        row = conn.execute(
            sa.select(
                suggestion.c.name, suggestion.c.status, suggestion.c.feed_id, suggestion.c.preview
            )
        ).one()
    assert tuple(event) == ("Loft night", 7)
    assert feed == "Loft"
    assert tuple(row) == ("Loft", "approved", 7, {"state": "ok", "found": 3, "coming": 1})

    migrate(db_url, "0006", down=True)
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
        assert conn.execute(sa.text("SELECT count(*) FROM event")).scalar_one() == 1
    assert "feed_suggestion" not in tables and "city_feed" in tables
    engine.dispose()
