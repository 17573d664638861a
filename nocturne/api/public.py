"""Public routes: health, the city catalogue, events, subscribing and asking for a scrape."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import redis.asyncio as aioredis
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import func, text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from nocturne import crud, queue, subscriptions
from nocturne.api.cache import Page, PageCache
from nocturne.api.deps import (
    CityDep,
    EventFilters,
    FiltersDep,
    SessionDep,
    encode_cursor,
    field_error,
)
from nocturne.api.ratelimit import read_limit, scrape_limit, subscribe_limit
from nocturne.api.schemas import (
    EVENT_OUT_COLUMNS,
    CitiesOut,
    CityOut,
    EventOut,
    HealthOut,
    Problem,
    ScrapeOut,
    SubscribeIn,
    SubscribeOut,
    iso_utc,
)
from nocturne.cities import CITIES, get_city
from nocturne.db import get_engine
from nocturne.models import Event, EventStatus, ScrapeRun, Subscription, SubscriptionStatus
from nocturne.settings import settings
from scrapers.sites import SOURCE_NAMES

log = logging.getLogger(__name__)
router = APIRouter()

SUCCESS = ("ok", "partial")
_TOO_MANY: dict[int | str, dict[str, Any]] = {
    429: {"model": Problem, "description": "Rate limited; see Retry-After"}
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "Unknown city"}
}
_COUNTS_TTL = 60.0
_counts_cache: dict[str, tuple[float, dict[str, int]]] = {}
_counts_lock = threading.Lock()
_pages = PageCache(max_bytes=settings.api_cache_max_bytes)


class _JSONBytes(JSONResponse):
    """A JSON response whose body is already encoded."""

    def render(self, content: Any) -> bytes:
        return content if isinstance(content, bytes) else orjson.dumps(content)


# --- health ----------------------------------------------------------------------------


def _database_health(now: datetime) -> dict[str, Any]:
    with Session(get_engine(settings.database_url)) as session:
        session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        total = session.exec(select(func.count()).select_from(Event)).one()
        upcoming = session.exec(
            select(func.count()).where(Event.start_at >= now, Event.status == EventStatus.scheduled)
        ).one()
        subs = dict(
            session.exec(  # type: ignore[arg-type]
                select(Subscription.status, func.count()).group_by(Subscription.status)
            ).all()
        )
        last_runs: dict[str, dict[str, Any]] = {}
        for source in SOURCE_NAMES:
            newest = session.exec(
                select(ScrapeRun)
                .where(ScrapeRun.source == source, col(ScrapeRun.finished_at).is_not(None))
                .order_by(col(ScrapeRun.finished_at).desc())
                .limit(1)
            ).first()
            success = session.exec(
                select(func.max(ScrapeRun.finished_at)).where(
                    ScrapeRun.source == source, col(ScrapeRun.status).in_(SUCCESS)
                )
            ).one()
            last_runs[source] = {
                "finished_at": iso_utc(newest.finished_at) if newest else None,
                "status": newest.status if newest else None,
                "city_id": newest.city_id if newest else None,
                "new": newest.new if newest else None,
                "last_success_at": success,
            }
    return {
        "events": {"total": total, "upcoming": upcoming},
        "subscriptions": {s: int(subs.get(s, 0)) for s in SubscriptionStatus},
        "last_runs": last_runs,
    }


async def _redis_health() -> str:
    if not settings.redis_url:
        return "not configured"
    client = aioredis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        await client.ping()  # type: ignore[misc]  # redis-py#3920: X | Awaitable[X]
        return "ok"
    except (aioredis.RedisError, OSError) as exc:
        log.warning("health: Redis unreachable: %s", exc)
        return "error"
    finally:
        await client.aclose()


@router.get(
    "/health",
    response_model=HealthOut,
    tags=["public"],
    responses={503: {"model": HealthOut, "description": "Database or Redis down, or stale"}},
)
async def health() -> JSONResponse:
    """Database and Redis status, event counts and the last scrape of each source.

    503 when the database (or a configured Redis) is unreachable, or when no source has
    scraped successfully within ``STALE_AFTER_HOURS`` (26 h). A fresh install that has
    never scraped is stale too: the data it would serve is none.
    """
    now = datetime.now(UTC)
    redis_status = await _redis_health()
    try:
        data = await asyncio.to_thread(_database_health, now)
        database = "ok"
    except SQLAlchemyError as exc:
        log.warning("health: database unreachable: %s", exc.__class__.__name__)
        data = {"events": {}, "subscriptions": {}, "last_runs": {}}
        database = "error"
    successes = [r["last_success_at"] for r in data["last_runs"].values() if r["last_success_at"]]
    last_success = max(successes) if successes else None
    fresh = last_success is not None and now - last_success <= timedelta(
        hours=settings.stale_after_hours
    )
    if database != "ok" or redis_status == "error":
        status = "unhealthy"
    else:
        status = "healthy" if fresh else "stale"
    for run in data["last_runs"].values():
        run["last_success_at"] = iso_utc(run["last_success_at"])
    body = HealthOut(
        status=status,
        database=database,
        redis=redis_status,
        events=data["events"],
        subscriptions=data["subscriptions"],
        last_scrape=data["last_runs"],
        last_success_at=iso_utc(last_success),
        stale_after_hours=settings.stale_after_hours,
        checked_at=iso_utc(now),  # type: ignore[arg-type]
    )
    return JSONResponse(
        body.model_dump(),
        status_code=200 if status == "healthy" else 503,
        headers={"Cache-Control": "no-store"},
    )


# --- cities and events -------------------------------------------------------------------


def _upcoming_counts(session: Session) -> dict[str, int]:
    """Counts per city, kept a minute: an aggregate over every event is not per-request work."""
    key = settings.database_url
    with _counts_lock:
        cached = _counts_cache.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
    counts = crud.upcoming_counts(session=session)
    with _counts_lock:
        _counts_cache[key] = (time.monotonic() + _COUNTS_TTL, counts)
    return counts


@router.get(
    "/cities",
    response_model=CitiesOut,
    tags=["public"],
    dependencies=[Depends(read_limit)],
    responses=_TOO_MANY,
)
def list_cities(session: SessionDep, response: Response) -> CitiesOut:
    """The city catalogue with coordinates, time zone and the count of coming events."""
    counts = _upcoming_counts(session)
    response.headers["Cache-Control"] = "public, max-age=60"
    return CitiesOut(cities=[CityOut.build(c, counts.get(c.id, 0)) for c in CITIES])


@router.get(
    "/events/{city_id}",
    response_model=list[EventOut],
    tags=["public"],
    dependencies=[Depends(read_limit)],
    responses={**_NOT_FOUND, **_TOO_MANY},
    response_class=_JSONBytes,
)
async def list_events(city: CityDep, filters: FiltersDep, request: Request) -> Response:
    """A city's events ordered by start; a JSON array.

    With no dates, events not yet over. A full page carries ``X-Next-Cursor`` and a
    ``Link: <...>; rel="next"`` header; pass ``cursor`` to get the next page.
    """
    # One thread hop for session, query and encoding; a sync endpoint with a session
    # dependency took three.
    page = await asyncio.to_thread(_events_page, filters, city.id)
    headers = {"Cache-Control": "public, max-age=30"}
    if page.cursor:
        next_url = request.url.remove_query_params("offset").include_query_params(
            cursor=page.cursor
        )
        headers["X-Next-Cursor"] = page.cursor
        headers["Link"] = f'<{next_url}>; rel="next"'
    return _JSONBytes(page.body, headers=headers)


def _events_page(filters: EventFilters, city_id: str) -> Page:
    """A page of a city's events: the JSON body, and the next cursor when the page is full.

    Served from ``_pages`` while the city's version is unchanged and the copy is younger
    than API_CACHE_SECONDS; the version costs one primary-key read, the page ~3 ms.
    """
    ttl = settings.api_cache_seconds
    key = (settings.database_url, city_id, filters)
    with Session(get_engine(settings.database_url), expire_on_commit=False) as session:
        if ttl > 0:
            # Read before the query: see nocturne/api/cache.py for why the order matters.
            version = crud.city_version(session=session, city_id=city_id)
            if (page := _pages.get(key, version=version)) is not None:
                return page
        rows = filters.rows(session=session, city_id=city_id, columns=EVENT_OUT_COLUMNS)
        cursor = encode_cursor(rows[-1]) if len(rows) == filters.limit else None
        # Encoded here rather than validated against response_model (kept for the schema):
        # checking a page of models on the way out cost more than the query.
        page = Page(cursor, orjson.dumps([EventOut.plain(row) for row in rows]))
    if ttl > 0:
        _pages.put(key, version=version, page=page, ttl=ttl)
    return page


# --- subscribe and scrape ----------------------------------------------------------------


@router.post(
    "/subscribe",
    response_model=SubscribeOut,
    tags=["public"],
    dependencies=[Depends(subscribe_limit)],
    responses={400: {"model": Problem, "description": "Body is not UTF-8 JSON"}, **_TOO_MANY},
)
async def subscribe(body: SubscribeIn) -> SubscribeOut:
    """Subscribe an email to a city's weekly digest; a confirmation email follows.

    Takes ``city`` (or ``city_id``). Subscribing again re-sends the confirmation (at most
    every two minutes) and is harmless once confirmed.
    """
    city_id = body.city or body.city_id
    if not city_id:
        raise field_error(("body", "city"), "Field required (a city id such as ca--los-angeles)")
    if get_city(city_id) is None:
        raise field_error(("body", "city"), f"unknown city {city_id!r}")
    try:
        result = await subscriptions.request_subscription(
            email=body.email, city_id=city_id, database_url=settings.database_url
        )
    except subscriptions.SubscriptionError as exc:
        raise field_error(("body", "email"), str(exc)) from None
    return SubscribeOut(
        id=result.subscription_id,
        email=result.email,
        city=result.city_id,
        is_active=result.status == SubscriptionStatus.active,
        created_at=iso_utc(result.created_at),  # type: ignore[arg-type]
        status=result.status,
        outcome=result.outcome,
        message=result.message,
    )


@router.post(
    "/scrape/{city_id}",
    response_model=ScrapeOut,
    status_code=202,
    tags=["public"],
    dependencies=[Depends(scrape_limit)],
    responses={**_NOT_FOUND, **_TOO_MANY},
)
async def scrape_city(city: CityDep) -> ScrapeOut:
    """Queue a scrape of one city (one per city per client every 10 minutes).

    New events reach open pages live as each page of results is saved.
    """
    job_id = await queue.enqueue("scrape_city", city_id=city.id, _job_id=f"scrape:{city.id}")
    return ScrapeOut(
        message=(
            f"Scraping initiated for {city.id}"
            if job_id
            else f"A scrape of {city.id} is already under way"
        ),
        city=city.id,
        note="New events appear on the city's page as they are saved",
        job_id=job_id or f"scrape:{city.id}",
        queued=job_id is not None,
    )
