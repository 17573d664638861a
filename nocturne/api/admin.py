"""Admin routes, behind ``Authorization: Bearer <ADMIN_TOKEN>``.

Without a configured token the admin API is off (403 for everyone), never open. Tokens
are compared in constant time, as bytes: a non-ASCII guess must be refused, not crash.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import func
from sqlmodel import Session, col, select

from nocturne import crud, feeds, queue
from nocturne.api.deps import PRINTABLE, SessionDep, field_error
from nocturne.api.ratelimit import read_limit
from nocturne.api.schemas import (
    CityFeedIn,
    CityFeedOut,
    EmailLogOut,
    EmailLogPage,
    Problem,
    ScrapeAllOut,
    ScrapeRunOut,
    ScrapeRunPage,
    Source,
    SubscriptionOut,
    SubscriptionPage,
    iso_utc,
)
from nocturne.models import CityFeed, EmailLog, ScrapeRun, Subscription, SubscriptionStatus
from nocturne.settings import settings

_bearer = HTTPBearer(auto_error=False, description="The ADMIN_TOKEN setting")


def require_admin(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Let the request through only with the configured admin token."""
    if not settings.admin_token:
        raise HTTPException(status_code=403, detail="Admin API is disabled: ADMIN_TOKEN is not set")
    offered = credentials.credentials if credentials else ""
    if not credentials or not hmac.compare_digest(
        offered.encode("utf-8", "surrogateescape"), settings.admin_token.encode()
    ):
        raise HTTPException(
            status_code=401,
            detail="A valid admin bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )


_AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Missing or wrong token"},
    403: {"model": Problem, "description": "Admin API disabled (no ADMIN_TOKEN configured)"},
    429: {"model": Problem, "description": "Rate limited; see Retry-After"},
}
router = APIRouter(
    tags=["admin"],
    dependencies=[Depends(read_limit), Depends(require_admin)],
    responses=_AUTH_RESPONSES,
)

Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
Text = Annotated[str | None, Query(max_length=320, pattern=PRINTABLE)]


def _page(session: Session, stmt: Any, order: Any, limit: int, offset: int) -> tuple[list, int]:
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    rows = list(session.exec(stmt.order_by(order).offset(offset).limit(limit)))
    return rows, total


def _subscription_out(sub: Subscription) -> SubscriptionOut:
    return SubscriptionOut(
        id=sub.id,  # type: ignore[arg-type]
        email=sub.email,
        city=sub.city_id,
        status=sub.status,
        is_active=sub.status == SubscriptionStatus.active,
        token_version=sub.token_version,
        created_at=iso_utc(sub.created_at),  # type: ignore[arg-type]
        confirmed_at=iso_utc(sub.confirmed_at),
        unsubscribed_at=iso_utc(sub.unsubscribed_at),
    )


@router.get("/subscriptions", response_model=SubscriptionPage)
def list_subscriptions(
    session: SessionDep,
    limit: Limit = 100,
    offset: Offset = 0,
    city_id: Text = None,
    status: Literal["pending", "active", "unsubscribed"] | None = None,
    email: Text = None,
) -> SubscriptionPage:
    """Subscriptions, newest first, optionally by city, status or email."""
    stmt = select(Subscription)
    if city_id:
        stmt = stmt.where(Subscription.city_id == city_id)
    if status:
        stmt = stmt.where(Subscription.status == status)
    if email:
        stmt = stmt.where(Subscription.email == email.strip().lower())
    rows, total = _page(session, stmt, col(Subscription.id).desc(), limit, offset)
    return SubscriptionPage(
        items=[_subscription_out(s) for s in rows], total=total, limit=limit, offset=offset
    )


@router.delete(
    "/subscribe/{subscription_id}",
    response_model=SubscriptionOut,
    responses={404: {"model": Problem, "description": "No such subscription"}},
)
def delete_subscription(
    session: SessionDep,
    subscription_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> SubscriptionOut:
    """Unsubscribe (soft delete: the row stays, marked unsubscribed). Idempotent."""
    sub = crud.unsubscribe(session=session, subscription_id=subscription_id)
    if sub is None:
        raise HTTPException(status_code=404, detail=f"No subscription {subscription_id}")
    session.commit()
    return _subscription_out(sub)


@router.get("/email-logs", response_model=EmailLogPage)
def list_email_logs(
    session: SessionDep,
    limit: Limit = 100,
    offset: Offset = 0,
    kind: Text = None,
    status: Text = None,
    recipient: Text = None,
) -> EmailLogPage:
    """Sent and failed emails, newest first."""
    stmt = select(EmailLog)
    if kind:
        stmt = stmt.where(EmailLog.kind == kind)
    if status:
        stmt = stmt.where(EmailLog.status == status)
    if recipient:
        stmt = stmt.where(EmailLog.recipient == recipient.strip().lower())
    rows, total = _page(session, stmt, col(EmailLog.id).desc(), limit, offset)
    items = [
        EmailLogOut(**{**r.model_dump(), "created_at": iso_utc(r.created_at)})  # type: ignore[arg-type]
        for r in rows
    ]
    return EmailLogPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/scrape-runs", response_model=ScrapeRunPage)
def list_scrape_runs(
    session: SessionDep,
    limit: Limit = 100,
    offset: Offset = 0,
    city_id: Text = None,
    source: Source | None = None,
    status: Text = None,
) -> ScrapeRunPage:
    """Scrape runs, newest first, by city, source or status."""
    stmt = select(ScrapeRun)
    if city_id:
        stmt = stmt.where(ScrapeRun.city_id == city_id)
    if source:
        stmt = stmt.where(ScrapeRun.source == source)
    if status:
        stmt = stmt.where(ScrapeRun.status == status)
    rows, total = _page(session, stmt, col(ScrapeRun.id).desc(), limit, offset)
    items = [
        ScrapeRunOut(
            **{
                **r.model_dump(),
                "started_at": iso_utc(r.started_at),
                "finished_at": iso_utc(r.finished_at),
            }
        )
        for r in rows
    ]
    return ScrapeRunPage(items=items, total=total, limit=limit, offset=offset)


@router.post("/scrape/all", response_model=ScrapeAllOut, status_code=202)
async def scrape_all() -> ScrapeAllOut:
    """Queue a scrape of every city (refused as a duplicate while one is running)."""
    job_id = await queue.enqueue("scrape_all")
    return ScrapeAllOut(
        message="Scraping initiated for all cities" if job_id else "Already under way",
        job_id=job_id,
        queued=job_id is not None,
    )


# --- calendar feeds ---------------------------------------------------------------------


def _feed_out(feed: CityFeed) -> CityFeedOut:
    assert feed.id is not None
    return CityFeedOut(
        id=feed.id,
        city_id=feed.city_id,
        name=feed.name,
        url=feed.url,
        kind=feed.kind,
        status=feed.status,
        created_at=iso_utc(feed.created_at) or "",
    )


@router.get("/feeds", response_model=list[CityFeedOut])
def list_feeds(session: SessionDep, city_id: Text = None) -> list[CityFeedOut]:
    """Every calendar feed and events page the cities' scrapes read, by city."""
    return [_feed_out(f) for f in feeds.list_city_feeds(session=session, city_id=city_id)]


@router.post(
    "/feeds",
    response_model=CityFeedOut,
    status_code=201,
    responses={400: {"model": Problem, "description": "Body is not UTF-8 JSON"}},
)
def add_feed(body: CityFeedIn, session: SessionDep) -> CityFeedOut:
    """Add a feed to a city (the city's existing entry when the URL is already there)."""
    try:
        feed = feeds.add_city_feed(
            session=session, city_id=body.city_id, name=body.name, url=body.url, kind=body.kind
        )
    except ValueError as exc:  # unknown city or kind, a URL that is not http(s)/webcal
        raise field_error(("body",), str(exc)) from None
    session.commit()
    return _feed_out(feed)


@router.delete(
    "/feeds/{feed_id}",
    status_code=204,
    responses={404: {"model": Problem, "description": "No such feed"}},
)
def remove_feed(feed_id: Annotated[int, Path(ge=1, le=2**31 - 1)], session: SessionDep) -> None:
    """Stop reading a feed; the events it listed stay."""
    if not feeds.remove_city_feed(session=session, feed_id=feed_id):
        raise HTTPException(status_code=404, detail=f"no feed {feed_id}")
    session.commit()
