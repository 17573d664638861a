"""Every table. Timestamps are timezone-aware UTC; SQLite hands them back aware too."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, UOWTransaction
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; refuses naive datetimes; returns aware datetimes on every backend."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: timestamps must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(*, nullable: bool = True, default: bool = False, index: bool = False) -> Any:
    return Field(
        default_factory=utcnow if default else None,  # type: ignore[arg-type]
        sa_type=UTCDateTime,
        nullable=nullable,
        index=index,
    )


class EventStatus(StrEnum):
    scheduled = "scheduled"
    cancelled = "cancelled"
    postponed = "postponed"
    gone = "gone"  # vanished from several consecutive complete scrapes


class Event(SQLModel, table=True):
    __table_args__ = (
        sa.Index("ix_event_city_start", "city_id", "start_at"),
        sa.Index("ix_event_last_scraped", "last_scraped"),
        # The city page's default listing: a city's after-dark events by start.
        sa.Index("ix_event_city_after_dark_start", "city_id", "after_dark", "start_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=500)
    link: str = Field(max_length=2000, sa_column_kwargs={"unique": True})
    links: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    source: str = Field(max_length=20)  # the source that first listed it
    # Every source listing it, comma-delimited (",eventbrite,meetup,") for a portable filter.
    sources: str = Field(default="", max_length=100)
    source_event_id: str | None = Field(default=None, max_length=200)
    # The calendar feed that first listed it (None: a site's own listing); its vanish rules
    # and its credit on cards follow that feed.
    feed_id: int | None = Field(default=None, foreign_key="city_feed.id", ondelete="SET NULL")
    city_id: str = Field(max_length=80)
    start_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    end_at: datetime | None = _ts()
    timezone: str = Field(max_length=64)
    local_date: str = Field(max_length=10)  # YYYY-MM-DD in the city's zone, for display
    local_time: str = Field(max_length=5)  # HH:MM in the city's zone
    venue: str | None = Field(default=None, max_length=500)
    address: str | None = Field(default=None, max_length=1000)
    latitude: float | None = None
    longitude: float | None = None
    price_min: float | None = None
    price_max: float | None = None
    currency: str | None = Field(default=None, max_length=3)
    is_free: bool | None = None
    image_url: str | None = Field(default=None, max_length=2000)
    description: str | None = None
    # The source's own categories and keywords, as it lists them.
    source_tags: list[str] = Field(
        default_factory=list, sa_type=sa.JSON, sa_column_kwargs={"server_default": "[]"}
    )
    # Computed by scrapers.tags.classify (rules RULES_VERSION = rules_version): slugs of
    # scrapers.tags.TAGS, whether it belongs in the after-dark listing and why, the age limit.
    tags: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    after_dark: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    after_dark_reasons: list[str] = Field(
        default_factory=list, sa_type=sa.JSON, sa_column_kwargs={"server_default": "[]"}
    )
    age: str | None = Field(default=None, max_length=10)
    rules_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    status: str = Field(default=EventStatus.scheduled, max_length=20)
    is_online: bool = False
    missed_scrapes: int = 0
    first_seen: datetime = _ts(nullable=False, default=True)
    last_scraped: datetime = _ts(nullable=False, default=True)
    created_at: datetime = _ts(nullable=False, default=True)
    updated_at: datetime = _ts(nullable=False, default=True)
    synced_at: datetime | None = _ts()


class EventLink(SQLModel, table=True):
    """Every source link of an event, so a listing finds its event by any of them."""

    __tablename__ = "event_link"

    link: str = Field(max_length=2000, primary_key=True)
    event_id: int = Field(
        sa_column=sa.Column(
            sa.ForeignKey("event.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    source: str = Field(max_length=20)


class CityVersion(SQLModel, table=True):
    """A counter per city that moves whenever one of its events is added, changed or removed.

    Bumped in the writing transaction (see ``_bump_on_commit``), so a reader that notes the
    version before querying and finds it unchanged later knows its copy is still current,
    whichever process wrote.
    """

    __tablename__ = "city_version"

    city_id: str = Field(max_length=80, primary_key=True)
    version: int = 0


def insert_for(dialect: str) -> Any:
    """The INSERT with ``on_conflict_*`` for ``dialect`` (PostgreSQL or SQLite)."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def bump_city_versions(connection: sa.Connection, city_ids: Iterable[str]) -> None:
    """Move the version of each city, in sorted order so two writers cannot deadlock."""
    table = CityVersion.__table__  # type: ignore[attr-defined]
    for city_id in sorted(set(city_ids)):
        stmt = insert_for(connection.dialect.name)(table).values(city_id=city_id, version=1)
        connection.execute(
            stmt.on_conflict_do_update(
                index_elements=["city_id"], set_={"version": table.c.version + 1}
            )
        )


@sa.event.listens_for(Session, "after_flush")
def _note_event_cities(session: Session, flush_context: UOWTransaction) -> None:
    """Note the city of every event this flush wrote; ``_bump_on_commit`` bumps them."""
    session.info.setdefault("event_cities", set()).update(
        obj.city_id
        for obj in (*session.new, *session.dirty, *session.deleted)
        if isinstance(obj, Event) and obj.city_id
    )


@sa.event.listens_for(Session, "before_commit")
def _bump_on_commit(session: Session) -> None:
    """Bump the noted cities' versions last thing in the transaction, all at once and in
    sorted order: their row locks are held only for the commit and cannot deadlock.

    Core statements (bulk deletes, the sync's upserts) do not pass through here: their
    callers bump with :func:`bump_city_versions` themselves.
    """
    session.flush()
    if cities := session.info.pop("event_cities", None):
        bump_city_versions(session.connection(), cities)


@sa.event.listens_for(Session, "after_transaction_end")
def _forget_cities(session: Session, transaction: sa.orm.SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop("event_cities", None)


class SubscriptionStatus(StrEnum):
    pending = "pending"
    active = "active"
    unsubscribed = "unsubscribed"


class Subscription(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("email", "city_id", name="uq_subscription_email_city"),)

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320)
    city_id: str = Field(max_length=80, index=True)
    status: str = Field(default=SubscriptionStatus.pending, max_length=20)
    # Bumped on every (re)subscribe: signed links carry it, so old confirm links die.
    token_version: int = 1
    confirm_sent_at: datetime | None = _ts()
    created_at: datetime = _ts(nullable=False, default=True)
    confirmed_at: datetime | None = _ts()
    unsubscribed_at: datetime | None = _ts()


class EmailLog(SQLModel, table=True):
    __tablename__ = "email_log"

    id: int | None = Field(default=None, primary_key=True)
    recipient: str = Field(max_length=320, index=True)
    kind: str = Field(max_length=20)  # confirm | digest
    subject: str = Field(max_length=500)
    provider: str = Field(max_length=20)
    status: str = Field(max_length=20)  # sent | failed
    error: str | None = None
    provider_message_id: str | None = Field(default=None, max_length=200)
    subscription_id: int | None = Field(default=None, foreign_key="subscription.id")
    digest_week: str | None = Field(default=None, max_length=10)  # ISO Monday, YYYY-MM-DD
    attempt: int = 1
    created_at: datetime = _ts(nullable=False, default=True, index=True)


class DigestDelivery(SQLModel, table=True):
    """One row per subscriber and week: the unique key that makes a digest send once."""

    __tablename__ = "digest_delivery"
    __table_args__ = (
        sa.UniqueConstraint("subscription_id", "week", name="uq_digest_delivery_sub_week"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="subscription.id")
    city_id: str = Field(max_length=80)
    week: str = Field(max_length=10)
    status: str = Field(default="pending", max_length=20)  # pending | sending | sent | failed
    attempts: int = 0
    error: str | None = None
    created_at: datetime = _ts(nullable=False, default=True)
    # Set when a run claims the row (pending -> sending); a stale claim is a crashed run.
    claimed_at: datetime | None = _ts()
    sent_at: datetime | None = _ts()


class DigestIssue(SQLModel, table=True):
    """One digest per city and week, frozen at first send so every subscriber gets the same."""

    __tablename__ = "digest_issue"
    __table_args__ = (sa.UniqueConstraint("city_id", "week", name="uq_digest_issue_city_week"),)

    id: int | None = Field(default=None, primary_key=True)
    city_id: str = Field(max_length=80)
    week: str = Field(max_length=10)  # the city's local ISO Monday, YYYY-MM-DD
    events: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)  # event cards
    created_at: datetime = _ts(nullable=False, default=True)
    completed_at: datetime | None = _ts()  # every delivery settled; the hourly run skips it


class FeedStatus(StrEnum):
    active = "active"
    paused = "paused"
    removed = "removed"  # an admin took it out: kept so the seed file does not add it back


class CityFeed(SQLModel, table=True):
    """A calendar a city's scrape reads besides the big sites: a venue's or collective's
    iCalendar feed, or a page carrying schema.org events. Seeded from ``data/feeds.csv``."""

    __tablename__ = "city_feed"
    __table_args__ = (sa.UniqueConstraint("city_id", "url", name="uq_city_feed_city_url"),)

    id: int | None = Field(default=None, primary_key=True)
    city_id: str = Field(max_length=80, index=True)
    kind: str = Field(max_length=20)  # a site of the registry that reads feeds (ical...)
    name: str = Field(max_length=200)  # credited on cards: "via <name>"
    url: str = Field(max_length=2000)
    status: str = Field(default=FeedStatus.active, max_length=20)
    created_at: datetime = _ts(nullable=False, default=True)
    updated_at: datetime = _ts(nullable=False, default=True)


class ScrapeRun(SQLModel, table=True):
    __tablename__ = "scrape_run"
    __table_args__ = (
        sa.Index("ix_scrape_run_city_source_started", "city_id", "source", "started_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    city_id: str = Field(max_length=80)
    source: str = Field(max_length=20)
    feed_id: int | None = Field(default=None, foreign_key="city_feed.id", ondelete="SET NULL")
    started_at: datetime = _ts(nullable=False, default=True)
    finished_at: datetime | None = _ts()
    status: str = Field(default="running", max_length=20)  # running | ok | failed | partial
    found: int = 0
    new: int = 0
    updated: int = 0
    dropped: int = 0
    error: str | None = None


class SuggestionStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class FeedSuggestion(SQLModel, table=True):
    """A calendar someone outside suggested for a city, waiting for an admin's decision.

    ``preview`` is what one safe fetch found: ``{"state": "ok"|"failed"|"pending", "kind",
    "found", "coming", "next": [{"title", "when"}], "message"}``; ``message`` is the plain
    sentence a person reads ("Found 31 events, 12 coming; next: ..." or why not).
    """

    __tablename__ = "feed_suggestion"
    __table_args__ = (sa.Index("ix_feed_suggestion_status_created", "status", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    city_id: str = Field(max_length=80, index=True)
    url: str = Field(max_length=2000)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    note: str | None = Field(default=None, max_length=2000)
    status: str = Field(default=SuggestionStatus.pending, max_length=20)
    reason: str | None = Field(default=None, max_length=1000)  # why it was rejected
    preview: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    # A keyed hash of the submitter's address, for rate limits and abuse review: never the IP.
    submitter_hash: str | None = Field(default=None, max_length=64)
    feed_id: int | None = Field(default=None, foreign_key="city_feed.id", ondelete="SET NULL")
    created_at: datetime = _ts(nullable=False, default=True)
    updated_at: datetime = _ts(nullable=False, default=True)
    previewed_at: datetime | None = _ts()
    decided_at: datetime | None = _ts()
    # Set when the decision mail was handed to the mail path, so a re-run sends nothing.
    notified_at: datetime | None = _ts()
