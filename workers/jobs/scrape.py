"""scrape_city and scrape_all: crawl a city's sources, save events, tell the browsers.

The one path by which scraped events are stored (the CLI's ``scrape`` runs this job
in-process). A city's targets are the registry's sites and the city's calendar feeds
(``CityFeed`` rows); each runs concurrently and independently: its pages are saved (and
their new events published) as they arrive, its ``ScrapeRun`` records what happened, and
its failure never stops the others. Saving is an upsert by link, so twice saves once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import statistics
import time
import uuid
from bisect import bisect_right
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from arq.worker import Retry
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from nocturne import live
from nocturne.cards import event_card
from nocturne.cities import CITIES, City, city_for_place, get_city
from nocturne.crud import (
    close_abandoned_scrape_runs,
    finish_scrape_run,
    start_scrape_run,
    upsert_events,
)
from nocturne.db import session_scope
from nocturne.feeds import list_city_feeds
from nocturne.models import CityFeed, Event, EventStatus, ScrapeRun, utcnow
from nocturne.settings import settings
from scrapers.crawl import Page as CrawledPage
from scrapers.crawl import city_sources, crawl, site_options
from scrapers.errors import reason_of, recorded, retry_after_of
from scrapers.event import ScrapedEvent
from scrapers.sites import SITES, SOURCE_NAMES, CityRequest, Site
from workers.jobs.common import backoff, describe, enqueue_from_job, is_transient

log = logging.getLogger(__name__)

SCRAPE_MAX_TRIES = 3  # arq tries of a whole city job (all sources failed transiently)
SCRAPE_TIMEOUT_S = 1800
SOURCE_TRIES = 2  # tries of one source inside a job before it is recorded as failed
_RECENT_RUNS = 5  # complete runs whose median "found" tells a partial scrape
_LOCK_PREFIX = "nocturne:lock:scrape:"
_SAVE_TRIES = 3
_local_locks: dict[str, asyncio.Lock] = {}


@dataclass(slots=True)
class Target:
    """One thing a city scrape fetches: a site's own listing, or one calendar feed."""

    site: Site
    requests: list[CityRequest] | None = None  # None: the site's own for the city
    feed_id: int | None = None
    label: str = ""  # what the status line calls it ("eventbrite", a feed's name)

    @property
    def key(self) -> str:
        return self.site.name if self.feed_id is None else f"{self.site.name}:{self.feed_id}"


@dataclass(slots=True)
class SourceOutcome:
    source: str
    feed_id: int | None = None
    status: str = "running"  # ok | partial | failed | skipped
    found: int = 0
    new: int = 0
    updated: int = 0
    dropped: int = 0
    gone: int = 0
    pages: int = 0
    error: str | None = None  # as recorded: scrapers.errors.recorded()
    reason: str | None = None  # why it failed or stopped early (scrapers.errors.REASONS)
    stopped_at: int | None = None  # a partial listing: the page it could not get
    wait: float | None = None  # seconds a rate-limiting site asked for
    transient: bool = False
    complete: bool = True  # the listing ended before the page cap
    seen: set[str] = field(default_factory=set)
    latest_start: datetime | None = None


def _targets(city: City, wanted: Sequence[str], feeds: Sequence[CityFeed]) -> list[Target]:
    listed = city_sources(city, settings.source_base_urls, site_options(settings))
    targets = [Target(site=SITES[name], label=name) for name in wanted if name in listed]
    for feed in feeds:
        if feed.kind in wanted and feed.id is not None:
            targets.append(
                Target(
                    site=SITES[feed.kind],
                    requests=[CityRequest(feed.url, feed.name)],
                    feed_id=feed.id,
                    label=feed.name,
                )
            )
    return targets


def _crawl(ctx: dict[str, Any], city: City, target: Target) -> AsyncIterator[CrawledPage]:
    """The crawl of one target (``ctx["crawl"]`` stands in for ``scrapers.crawl.crawl``)."""
    run: Callable[..., AsyncIterator[CrawledPage]] = ctx.get("crawl") or crawl
    return run(
        fetcher=ctx.get("fetcher"),
        site=target.site,
        city=city,
        requests=target.requests,
        max_pages=settings.scrape_max_pages,
    )


def _city_of(site: Site, city: City, event: ScrapedEvent) -> str | None:
    """The city an event belongs to: the scraped one, or for a page covering a region
    (19hz) the city of that region whose towns name the event's place."""
    if site.city_key is None:
        return city.id
    region = city.slugs.get(site.name)
    place = site.city_key(event)
    if not region or not place:
        return None
    found = city_for_place(site.name, region, place)
    return found.id if found else None


# --- database steps (sync, run in a thread so fetching goes on meanwhile) ---------------


def _close_abandoned(city_id: str) -> None:
    with session_scope() as session:
        if closed := close_abandoned_scrape_runs(session=session, city_id=city_id):
            log.warning("scrape %s: closed %d run(s) left by a stopped worker", city_id, closed)


def _start_run(city_id: str, source: str, feed_id: int | None) -> int:
    with session_scope() as session:
        run = start_scrape_run(session=session, city_id=city_id, source=source)
        if feed_id is not None:
            run.feed_id = feed_id
            session.add(run)
            session.flush()
        assert run.id is not None
        return run.id


def _feeds(city_id: str) -> list[CityFeed]:
    with session_scope() as session:
        feeds = list_city_feeds(session=session, city_id=city_id, active_only=True)
        session.expunge_all()
        return feeds


def _fetched_recently(city_id: str, source: str, within: timedelta) -> bool:
    """Whether a complete run of ``source`` covered this city within ``within``."""
    with session_scope() as session:
        found = session.exec(
            select(ScrapeRun.id).where(
                ScrapeRun.city_id == city_id,
                ScrapeRun.source == source,
                ScrapeRun.status == "ok",
                col(ScrapeRun.finished_at) > utcnow() - within,
            )
        ).first()
        return found is not None


def _save_page(
    city_id: str, events: Sequence[ScrapedEvent], feed_id: int | None = None
) -> tuple[list[dict], int]:
    """Upsert one page; returns the new events as cards and how many changed.

    Two cities' scrapes can list the same event (Oakland and San Francisco, Brooklyn and
    New York) and race to insert its link: the loser's transaction fails on the unique
    key, and saving the page again finds the winner's row and updates it instead.
    """
    for attempt in range(1, _SAVE_TRIES + 1):
        try:
            with session_scope() as session:
                result = upsert_events(session=session, city_id=city_id, events=events)
                for event in result.new if feed_id is not None else ():
                    event.feed_id = feed_id  # the feed that first listed it
                    session.add(event)
                session.flush()
                return [event_card(e) for e in result.new], len(result.updated)
        except IntegrityError:
            if attempt == _SAVE_TRIES:
                raise
            log.info("save %s: a concurrent scrape inserted the same link; again", city_id)
    raise AssertionError("unreachable")


def _same_feed(column: Any, feed_id: int | None) -> Any:
    """Rows of this feed, or of the site's own listing (no feed) when ``feed_id`` is None."""
    return col(column).is_(None) if feed_id is None else column == feed_id


def save_events(
    *, city_id: str, events: Sequence[ScrapedEvent], feed_id: int | None = None
) -> tuple[int, int]:
    """Store events for a city outside a scrape (saved pages): how many new, how many
    changed. The same save step as a scrape's pages."""
    cards, updated = _save_page(city_id, events, feed_id)
    return len(cards), updated


def _recent_found(
    session: Session, city_id: str, source: str, feed_id: int | None, before_id: int
) -> list[int]:
    stmt = (
        select(ScrapeRun.found)
        .where(
            ScrapeRun.city_id == city_id,
            ScrapeRun.source == source,
            _same_feed(ScrapeRun.feed_id, feed_id),
            ScrapeRun.status == "ok",
            col(ScrapeRun.id) < before_id,
        )
        .order_by(col(ScrapeRun.id).desc())
        .limit(_RECENT_RUNS)
    )
    return list(session.exec(stmt))


def looks_partial(found: int, recent: Sequence[int], ratio: float | None = None) -> bool:
    """Far fewer events than usual: fewer than ``ratio`` x the median of recent runs."""
    ratio = settings.vanish_partial_ratio if ratio is None else ratio
    return bool(recent) and found < ratio * statistics.median(recent)


def mark_vanished(
    *,
    session: Session,
    city_id: str,
    source: str,
    since: datetime,
    horizon: datetime,
    feed_id: int | None = None,
    now: datetime | None = None,
) -> int:
    """Count misses of ``source``'s upcoming events not seen since ``since``; mark gone.

    ``missed_scrapes`` is recomputed from the complete runs recorded since the event was
    last seen (not incremented), so a re-run of the same job cannot double-count a miss.
    Only events up to ``horizon`` (the latest start the listing reached) are judged: later
    ones may simply lie beyond the pages fetched. Returns how many became gone.
    """
    now = now or utcnow()
    same_listing = _same_feed(Event.feed_id, feed_id)
    same_run = _same_feed(ScrapeRun.feed_id, feed_id)
    candidates = list(
        session.exec(
            select(Event).where(
                Event.city_id == city_id,
                Event.source == source,
                same_listing,
                Event.status != EventStatus.gone,
                Event.start_at > now,
                Event.start_at <= horizon,
                Event.last_scraped < since,
            )
        )
    )
    if not candidates:
        return 0
    oldest = min(e.last_scraped for e in candidates)
    run_starts = sorted(
        session.exec(
            select(ScrapeRun.started_at).where(
                ScrapeRun.city_id == city_id,
                ScrapeRun.source == source,
                same_run,
                ScrapeRun.status == "ok",
                ScrapeRun.started_at > oldest,
            )
        )
    )
    gone = 0
    for event in candidates:
        missed = len(run_starts) - bisect_right(run_starts, event.last_scraped)
        if missed == event.missed_scrapes:
            continue
        event.missed_scrapes = missed
        if missed >= settings.vanish_after_misses:
            event.status = EventStatus.gone
            event.updated_at = now
            gone += 1
        session.add(event)
    session.flush()
    return gone


def _finish(city_id: str, run_id: int, outcome: SourceOutcome, since: datetime) -> None:
    with session_scope() as session:
        run = session.get(ScrapeRun, run_id)
        assert run is not None
        if outcome.status == "ok" and looks_partial(
            outcome.found,
            _recent_found(session, city_id, outcome.source, outcome.feed_id, run_id),
        ):
            outcome.status = "partial"
        finish_scrape_run(
            session=session,
            run=run,
            status=outcome.status,
            found=outcome.found,
            new=outcome.new,
            updated=outcome.updated,
            dropped=outcome.dropped,
            error=outcome.error,
        )
        if outcome.status == "ok" and outcome.complete and outcome.latest_start is not None:
            outcome.gone = mark_vanished(
                session=session,
                city_id=city_id,
                source=outcome.source,
                since=since,
                horizon=outcome.latest_start,
                feed_id=outcome.feed_id,
            )


# --- the jobs --------------------------------------------------------------------------


async def _save(
    city: City, target: Target, events: list[ScrapedEvent], save_lock: asyncio.Lock
) -> tuple[list[dict], int]:
    """Save a page's events under the city each belongs to; the scraped city's new ones come
    back as cards (other cities of a region hear of theirs on their own next load)."""
    groups: dict[str, list[ScrapedEvent]] = {}
    for ev in events:
        city_id = _city_of(target.site, city, ev)
        if city_id is not None:
            groups.setdefault(city_id, []).append(ev)
    cards: list[dict] = []
    updated = 0
    for city_id, group in groups.items():
        async with save_lock:
            new_cards, changed = await asyncio.to_thread(_save_page, city_id, group, target.feed_id)
        if city_id == city.id:
            cards, updated = new_cards, changed
    return cards, updated


async def _scrape_target(
    ctx: dict[str, Any], city: City, target: Target, since: datetime, save_lock: asyncio.Lock
) -> SourceOutcome:
    source = target.site.name
    outcome = SourceOutcome(source=source, feed_id=target.feed_id)
    started = {"type": "source_started", "source": target.key, "label": target.label}
    interval = target.site.min_interval
    if interval is not None and await asyncio.to_thread(
        _fetched_recently, city.id, source, interval
    ):
        outcome.status = "skipped"
        await live.publish(city.id, started)
        await live.publish(
            city.id,
            {
                "type": "source_finished",
                "source": target.key,
                "found": 0,
                "new": 0,
                "updated": 0,
                "skipped": "fetched in the last day",
            },
        )
        return outcome
    run_id = await asyncio.to_thread(_start_run, city.id, source, target.feed_id)
    await live.publish(city.id, started)
    for attempt in range(1, SOURCE_TRIES + 1):
        stopped_at = 1  # the page this try is on
        try:
            async for page in _crawl(ctx, city, target):
                outcome.pages += 1
                stopped_at += 1
                outcome.dropped += page.dropped
                fresh = [e for e in page.events if e.link not in outcome.seen]
                outcome.seen.update(e.link for e in page.events)
                for ev in page.events:
                    if outcome.latest_start is None or ev.start > outcome.latest_start:
                        outcome.latest_start = ev.start
                if not fresh:
                    continue
                cards, updated = await _save(city, target, fresh, save_lock)
                outcome.new += len(cards)
                outcome.updated += updated
                if cards:
                    await live.publish(
                        city.id, {"type": "events", "source": target.key, "events": cards}
                    )
            outcome.status, outcome.error, outcome.transient = "ok", None, False
            outcome.reason = outcome.stopped_at = None
            break
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            outcome.reason, outcome.wait = reason_of(exc), retry_after_of(exc)
            outcome.stopped_at = stopped_at if stopped_at > 1 else None
            outcome.error = recorded(outcome.reason, describe(exc), page=outcome.stopped_at)
            outcome.transient = is_transient(exc)
            # Pages saved before the error (this try or an earlier one) make it partial.
            outcome.status = "partial" if outcome.pages else "failed"
            delay = max(backoff(attempt, base=settings.job_retry_seconds / 6), outcome.wait or 0)
            if (
                not outcome.transient
                or attempt == SOURCE_TRIES
                or delay > settings.scrape_max_wait_seconds
            ):
                log.warning(
                    "scrape %s/%s %s: %s", city.id, target.key, outcome.status, outcome.error
                )
                break
            log.info("scrape %s/%s: %s; again in %.1fs", city.id, target.key, outcome.error, delay)
            await live.publish(
                city.id,
                {
                    "type": "source_retrying",
                    "source": target.key,
                    "reason": outcome.reason,
                    "error": outcome.error,
                    "new": outcome.new,
                    "retry_at": time.time() + delay,
                },
            )
            await asyncio.sleep(delay)
            await live.publish(city.id, {**started, "attempt": attempt + 1})
    outcome.found = len(outcome.seen)
    await asyncio.to_thread(_finish, city.id, run_id, outcome, since)
    await live.publish(city.id, _finished_message(target.key, outcome))
    return outcome


def _finished_message(key: str, outcome: SourceOutcome) -> dict[str, Any]:
    """The live message of a source's end: its counts, and for a failure (or a listing it
    could not finish) why, in a reason of ``scrapers.errors.REASONS``."""
    counts = {"found": outcome.found, "new": outcome.new, "updated": outcome.updated}
    message: dict[str, Any] = {"type": "source_finished", "source": key, **counts}
    if outcome.status == "failed":
        message["type"] = "source_failed"
    if outcome.reason is not None:
        message |= {
            "error": outcome.error,
            "reason": outcome.reason,
            "stopped_at": outcome.stopped_at,
            "wait": outcome.wait,
        }
    return message


@contextlib.asynccontextmanager
async def city_lock(ctx: dict[str, Any], city_id: str, ttl: float) -> AsyncIterator[bool]:
    """Yields False when another job holds the city; backs up the ``scrape:<city>`` job id."""
    redis = ctx.get("redis")
    if redis is None:
        lock = _local_locks.setdefault(city_id, asyncio.Lock())
        if lock.locked():
            yield False
            return
        async with lock:
            yield True
        return
    key, token = _LOCK_PREFIX + city_id, uuid.uuid4().hex
    if not await redis.set(key, token, nx=True, px=int(ttl * 1000)):
        yield False
        return
    try:
        yield True
    finally:
        # Release only our own lock (it may have expired and been taken since).
        await redis.eval(
            "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end",
            1,
            key,
            token,
        )


async def scrape_city(
    ctx: dict[str, Any], city_id: str, sources: Sequence[str] | None = None
) -> dict[str, Any]:
    """Scrape one city's sources concurrently, save, publish progress; a summary dict.

    An unknown city or source is a permanent error, returned with its reason. When every
    source failed for a transient reason the whole job is retried with backoff.
    """
    city = get_city(city_id)
    if city is None:
        log.warning("scrape_city: unknown city %r", city_id)
        return {"city_id": city_id, "error": f"unknown city {city_id!r}"}
    if isinstance(sources, str):
        sources = [sources]
    wanted = list(dict.fromkeys(sources or SOURCE_NAMES))
    unknown = [s for s in wanted if s not in SITES]
    if unknown:
        log.warning("scrape_city %s: unknown sources %s", city_id, unknown)
        return {"city_id": city_id, "error": f"unknown sources {unknown}"}
    # The lock must not outlive arq's in-progress key, or a killed worker's retried job
    # would find its own city still locked.
    async with city_lock(ctx, city_id, ttl=settings.job_timeout(SCRAPE_TIMEOUT_S)) as acquired:
        if not acquired:
            log.info("scrape_city %s: already running elsewhere", city_id)
            return {"city_id": city_id, "skipped": "already running"}
        since = utcnow()
        await asyncio.to_thread(_close_abandoned, city_id)
        targets = _targets(city, wanted, await asyncio.to_thread(_feeds, city_id))
        await live.publish(
            city_id,
            {
                "type": "scrape_started",
                "sources": [t.key for t in targets],
                "labels": {t.key: t.label for t in targets},
                "job_id": ctx.get("job_id"),
            },
        )
        # The sources save one at a time: two saving at once could each miss the other's
        # copy of a cross-listed event and store it twice (no unique key catches that).
        save_lock = asyncio.Lock()
        outcomes = await asyncio.gather(
            *(_scrape_target(ctx, city, t, since, save_lock) for t in targets)
        )
        keys = [t.key for t in targets]
        failed = [k for k, o in zip(keys, outcomes, strict=True) if o.status == "failed"]
        summary = {
            "city_id": city_id,
            "new": sum(o.new for o in outcomes),
            "updated": sum(o.updated for o in outcomes),
            "failed_sources": failed,
        }
        job_try = int(ctx.get("job_try", 1))
        retry = bool(targets) and all(o.status == "failed" and o.transient for o in outcomes)
        # Not before a rate-limiting site said it would answer again.
        asked = max((o.wait or 0.0 for o in outcomes), default=0.0)
        retry_in = max(backoff(job_try), asked) if retry and job_try < SCRAPE_MAX_TRIES else None
        finished: dict[str, Any] = {
            "type": "scrape_finished",
            **summary,
            "sources": len(targets),
            "reasons": sorted({o.reason for o in outcomes if o.status == "failed" and o.reason}),
        }
        if retry_in is not None:
            finished["retry_at"] = time.time() + retry_in
        await live.publish(city_id, finished)
    summary["sources"] = {
        key: {
            "status": o.status,
            "found": o.found,
            "new": o.new,
            "updated": o.updated,
            "gone": o.gone,
            "pages": o.pages,
            "dropped": o.dropped,
            "error": o.error,
            "reason": o.reason,
        }
        for key, o in zip(keys, outcomes, strict=True)
    }
    if settings.shared_database_url and (summary["new"] or summary["updated"]):
        await enqueue_from_job(ctx, "sync_shared")
    if retry_in is not None:  # every source failed, each for a reason that may pass
        raise Retry(defer=retry_in)
    return summary


async def scrape_all(ctx: dict[str, Any]) -> dict[str, Any]:
    """Queue a scrape of every city; a city already queued or running is left alone."""
    queued: list[str] = []
    skipped: list[str] = []
    for city in CITIES:
        job_id = await enqueue_from_job(ctx, "scrape_city", city_id=city.id)
        (queued if job_id else skipped).append(city.id)
    log.info("scrape_all: %d queued, %d already queued or running", len(queued), len(skipped))
    return {"queued": len(queued), "skipped": skipped}
