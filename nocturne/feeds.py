"""A city's calendar feeds (venues', collectives' iCalendar feeds and event pages): data.

Keyword-only functions taking a session, shared by the API, the CLI and the scrape job.
The reviewed list in ``data/feeds.csv`` (city_id, name, url, kind) seeds the table;
admins add and remove entries through the API. A removed feed stays as a tombstone
(status ``removed``: listed nowhere, never scraped) so that seeding does not bring it
back; adding its URL again revives it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, col, select

from nocturne.cities import get_city
from nocturne.models import CityFeed, FeedStatus, utcnow
from nocturne.settings import ROOT

SEED_FILE = ROOT / "data" / "feeds.csv"


@dataclass(frozen=True, slots=True)
class FeedSeed:
    city_id: str
    name: str
    url: str
    kind: str


def feed_kinds() -> tuple[str, ...]:
    """The registry's sites that read feeds (iCalendar, schema.org pages)."""
    from scrapers.sites import SITES

    return tuple(name for name, site in SITES.items() if site.from_feeds)


def normalize_feed_url(url: str) -> str:
    """``webcal://`` is HTTPS by another name; anything but http(s) is refused."""
    url = url.strip()
    if url.lower().startswith("webcal://"):
        url = "https://" + url[len("webcal://") :]
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError(f"a feed URL must be http(s) or webcal: {url!r}")
    return url


def validate_feed(*, city_id: str, name: str, url: str, kind: str) -> FeedSeed:
    """A checked feed entry, or ValueError saying what is wrong with it."""
    if get_city(city_id) is None:
        raise ValueError(f"unknown city id {city_id!r}")
    if kind not in feed_kinds():
        raise ValueError(f"unknown feed kind {kind!r}; known: {', '.join(feed_kinds())}")
    name = " ".join(name.split())
    if not name or len(name) > 200:
        raise ValueError("a feed needs a name of 1 to 200 characters")
    return FeedSeed(city_id, name, normalize_feed_url(url), kind)


def read_seed_file(path: Path = SEED_FILE) -> list[FeedSeed]:
    """The reviewed feed list; a bad row raises ValueError naming its line."""
    if not path.exists():
        return []
    seeds: list[FeedSeed] = []
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(line for line in handle if not line.lstrip().startswith("#"))
        for number, row in enumerate(rows, start=2):
            try:
                seeds.append(
                    validate_feed(
                        city_id=row["city_id"], name=row["name"], url=row["url"], kind=row["kind"]
                    )
                )
            except (KeyError, ValueError, AttributeError) as exc:
                raise ValueError(f"{path.name} line {number}: {exc}") from exc
    return seeds


def list_city_feeds(
    *, session: Session, city_id: str | None = None, active_only: bool = False
) -> list[CityFeed]:
    """The city's (or every city's) feeds, removed ones left out."""
    stmt = select(CityFeed).order_by(col(CityFeed.city_id), col(CityFeed.id))
    stmt = stmt.where(CityFeed.status != FeedStatus.removed)
    if city_id is not None:
        stmt = stmt.where(CityFeed.city_id == city_id)
    if active_only:
        stmt = stmt.where(CityFeed.status == FeedStatus.active)
    return list(session.exec(stmt))


def _existing(session: Session, city_id: str, url: str) -> CityFeed | None:
    stmt = select(CityFeed).where(CityFeed.city_id == city_id, CityFeed.url == url)
    return session.exec(stmt).first()


def add_city_feed(*, session: Session, city_id: str, name: str, url: str, kind: str) -> CityFeed:
    """Add a feed (or return the city's existing one with that URL, revived with this name
    and kind if it had been removed). The caller commits."""
    seed = validate_feed(city_id=city_id, name=name, url=url, kind=kind)
    existing = _existing(session, seed.city_id, seed.url)
    if existing is not None:
        if existing.status == FeedStatus.removed:
            existing.status, existing.name, existing.kind = FeedStatus.active, seed.name, seed.kind
            existing.updated_at = utcnow()
            session.add(existing)
            session.flush()
        return existing
    feed = CityFeed(city_id=seed.city_id, name=seed.name, url=seed.url, kind=seed.kind)
    session.add(feed)
    session.flush()
    return feed


def remove_city_feed(*, session: Session, feed_id: int) -> bool:
    """Stop reading a feed: it becomes a tombstone (status ``removed``), so the seed file
    does not add it again; its events stay, with their credit. False when there is no such
    feed (or it was removed already). The caller commits."""
    feed = session.get(CityFeed, feed_id)
    if feed is None or feed.status == FeedStatus.removed:
        return False
    feed.status = FeedStatus.removed
    feed.updated_at = utcnow()
    session.add(feed)
    session.flush()
    return True


def seed_city_feeds(*, session: Session, seeds: Iterable[FeedSeed] | None = None) -> int:
    """Add the reviewed feeds that are not in the table yet; returns how many were added.
    Edited entries are left alone, and so are removed ones (their tombstones are rows)."""
    added = 0
    for seed in read_seed_file() if seeds is None else seeds:
        if _existing(session, seed.city_id, seed.url) is None:
            feed = CityFeed(city_id=seed.city_id, name=seed.name, url=seed.url, kind=seed.kind)
            session.add(feed)
            added += 1
    session.flush()
    return added
