"""Suggesting a calendar for a city, and the admins' queue of suggestions.

``POST /suggestions`` checks the URL (scheme, the address it resolves to), reads it once
within the size and time caps and stores it, with what it found, only when it holds a
calendar; every refusal says why in plain words and stores nothing (the log line is the
trace). A hidden field (``website``) catches form-filling bots: their suggestion looks
accepted and is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from nocturne import queue
from nocturne import suggestions as data
from nocturne.api.admin import require_admin
from nocturne.api.deps import PRINTABLE
from nocturne.api.ratelimit import client_ip, hit, limit, parse_rate, read_limit
from nocturne.api.schemas import CityId, Problem, ValidationProblem, iso_utc
from nocturne.db import get_engine
from nocturne.models import FeedSuggestion, utcnow
from nocturne.settings import settings

log = logging.getLogger(__name__)

suggest_limit = limit("suggest", "rate_limit_suggest")
# Text that may span lines (a note, a reason) but carries no NUL, which PostgreSQL refuses.
NO_NUL = r"^[^\x00]*$"
SuggestionId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class SuggestionIn(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "example": {
                "city_id": "ny--brooklyn",
                "url": "webcal://calendar.example.org/elsewhere.ics",
                "name": "Elsewhere Brooklyn",
                "email": "me@example.org",
                "note": "Their rooftop nights are missing.",
            }
        },
    )

    city_id: CityId
    url: str = Field(
        min_length=1,
        max_length=2000,
        pattern=PRINTABLE,
        description="An iCalendar feed (http, https or webcal) or a page with schema.org events",
    )
    name: str | None = Field(default=None, max_length=200, pattern=PRINTABLE)
    email: str | None = Field(
        default=None, max_length=320, pattern=PRINTABLE, json_schema_extra={"format": "email"}
    )
    note: str | None = Field(default=None, max_length=2000, pattern=NO_NUL)
    website: str | None = Field(
        default=None, max_length=2000, description="Leave empty: a field forms hide from people"
    )


class RejectIn(BaseModel):
    reason: str = Field(min_length=1, max_length=1000, pattern=NO_NUL)


class ApproveIn(BaseModel):
    name: str | None = Field(
        default=None,
        max_length=200,
        pattern=PRINTABLE,
        description="Credit (default: as suggested)",
    )


class SuggestionPreview(BaseModel):
    model_config = ConfigDict(extra="allow")

    state: str = Field(description="ok | empty | failed")
    message: str = Field(description="What the calendar holds, or why it could not be read")
    kind: str | None = None
    found: int | None = None
    coming: int | None = None
    next: list[dict[str, str]] = Field(default_factory=list)


class SuggestionOut(BaseModel):
    id: int
    city_id: str
    url: str
    name: str | None
    status: Literal["pending", "approved", "rejected"]
    reason: str | None = Field(description="Why it was rejected")
    preview: SuggestionPreview
    feed_id: int | None
    created_at: str
    decided_at: str | None
    message: str = ""


class SuggestionAdminOut(SuggestionOut):
    email: str | None
    note: str | None
    submitter_hash: str | None


class SuggestionPage(BaseModel):
    items: list[SuggestionAdminOut]
    total: int


class SuggestionProblem(BaseModel):
    detail: str
    reason: str = Field(description="A stable key: duplicate, decided, no_preview...")
    feed_name: str | None = Field(default=None, description="The feed already reading the URL")


class SuggestionRefusal(ValidationProblem):
    """A 422 shaped like every other (``message`` in words, ``detail`` per field), with the
    refusal's stable key."""

    reason: str | None = Field(
        default=None, description="private, scheme, unreachable, too_large, too_slow..."
    )


Responses = dict[int | str, dict[str, Any]]
_TOO_MANY: Responses = {429: {"model": Problem, "description": "Rate limited; see Retry-After"}}
_BAD_BODY: Responses = {400: {"model": Problem, "description": "Body is not UTF-8 JSON"}}
_NOT_FOUND: Responses = {404: {"model": Problem, "description": "No such suggestion"}}
router = APIRouter(tags=["suggestions"])
admin_router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    dependencies=[Depends(read_limit), Depends(require_admin)],
    responses={
        401: {"model": Problem, "description": "Missing or wrong token"},
        403: {"model": Problem, "description": "Admin API disabled (no ADMIN_TOKEN configured)"},
        **_TOO_MANY,
    },
)


def _session() -> Session:
    return Session(get_engine(settings.database_url), expire_on_commit=False)


def _out(row: FeedSuggestion, *, admin: bool = False, message: str = "") -> dict[str, Any]:
    values = data.as_dict(row, admin=admin)
    values["created_at"] = iso_utc(row.created_at)
    values["decided_at"] = iso_utc(row.decided_at)
    preview = values["preview"] or {}
    values["preview"] = {"state": "failed", "message": "Not read yet.", **preview}
    values["message"] = message
    return values


# The field each refusal is about; the URL's unless named here.
_FIELDS = {"city": "city_id", "email": "email", "name": "name", "note": "note", "reason": "reason"}


def _refusal(refused: data.Refused) -> JSONResponse:
    if refused.status != 422:
        body = {"detail": refused.message, "reason": refused.reason, **refused.extra}
        return JSONResponse(body, status_code=refused.status)
    field = _FIELDS.get(refused.reason, "url")
    error = {"loc": ["body", field], "msg": refused.message, "type": refused.reason}
    body = {"message": refused.message, "detail": [error], "reason": refused.reason}
    return JSONResponse(body, status_code=422)


async def _email_limit(email: str) -> None:
    if not settings.rate_limit_enabled:
        return
    wait = await hit(data.email_limit_key(email), parse_rate(settings.rate_limit_suggest))
    if wait > 0:
        retry_after = max(1, math.ceil(wait))
        raise HTTPException(
            status_code=429,
            detail=f"Too many suggestions from this email; retry in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )


@router.post(
    "/suggestions",
    status_code=202,
    response_model=SuggestionOut,
    dependencies=[Depends(suggest_limit)],
    responses={
        **_BAD_BODY,
        200: {"model": SuggestionOut, "description": "That URL is already waiting for review"},
        409: {"model": SuggestionProblem, "description": "That URL is already a feed of the city"},
        422: {"model": SuggestionRefusal, "description": "Refused, with the reason in words"},
        **_TOO_MANY,
    },
)
async def suggest(body: SuggestionIn, request: Request) -> Any:
    """Suggest a calendar for a city: it is read once (public addresses only, 10 MB and
    15 s at most), stored with what it holds, and waits for an admin's review."""
    address = client_ip(request)
    if body.website:
        log.info("suggestion dropped: honeypot field filled")
        return JSONResponse(
            {
                "id": secrets.randbelow(2**31 - 10_000) + 10_000,
                "city_id": body.city_id,
                "url": body.url,
                "name": body.name,
                "status": "pending",
                "reason": None,
                "preview": {"state": "ok", "message": "Thank you: it waits for review."},
                "feed_id": None,
                "created_at": iso_utc(utcnow()),
                "decided_at": None,
                "message": "Thank you: your suggestion waits for review.",
            },
            status_code=202,
        )
    try:
        suggestion = data.validate_suggestion(
            city_id=body.city_id, url=body.url, name=body.name, email=body.email, note=body.note
        )
        if suggestion.email:
            await _email_limit(suggestion.email)
        submitted = await data.submit_suggestion(
            suggestion=suggestion, submitter=data.submitter_hash(address)
        )
    except data.Refused as refused:
        log.info(
            "suggestion refused: %s (%s) for %s",
            refused.reason,
            refused.status,
            body.city_id,
        )
        return _refusal(refused)
    stored = submitted.row
    if submitted.waiting:
        waiting = _out(stored, message=data.WAITING)
        return JSONResponse(SuggestionOut(**waiting).model_dump(mode="json"), status_code=200)
    log.info("suggestion %s stored for %s", stored.id, stored.city_id)
    return _out(stored, message=data.THANKS)


@router.get(
    "/suggestions/{suggestion_id}",
    response_model=SuggestionOut,
    dependencies=[Depends(read_limit)],
    responses={**_NOT_FOUND, **_TOO_MANY},
)
def get_suggestion(suggestion_id: SuggestionId) -> Any:
    """A suggestion's status and what its calendar holds."""
    with _session() as session:
        row = data.get_suggestion(session=session, suggestion_id=suggestion_id)
        if row is None:
            raise HTTPException(status_code=404, detail="No such suggestion")
        return _out(row)


@admin_router.get("/suggestions", response_model=SuggestionPage)
def list_suggestions(
    status: Literal["pending", "approved", "rejected"] | None = "pending",
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> Any:
    """Suggestions, oldest first (default: those waiting), with preview, submitter, note."""
    with _session() as session:
        rows, total = data.list_suggestions(session=session, status=status, limit=limit)
        return {"items": [_out(r, admin=True) for r in rows], "total": total}


_DECIDE_RESPONSES: Responses = {
    **_BAD_BODY,
    **_NOT_FOUND,
    409: {"model": SuggestionProblem, "description": "Decided already, or nothing to read"},
    422: {"model": SuggestionRefusal, "description": "Refused, with the reason in words"},
}


@admin_router.post(
    "/suggestions/{suggestion_id}/approve",
    response_model=SuggestionAdminOut,
    responses=_DECIDE_RESPONSES,
)
async def approve(suggestion_id: SuggestionId, body: ApproveIn | None = None) -> Any:
    """Make the suggestion a feed of its city, credited by its name; the submitter hears."""

    def decide() -> dict[str, Any]:
        with _session() as session:
            row, feed = data.approve_suggestion(
                session=session, suggestion_id=suggestion_id, name=body.name if body else None
            )
            session.commit()
            return _out(row, admin=True, message=f"Now a feed of the city, credited {feed.name}.")

    try:
        out = await asyncio.to_thread(decide)
    except data.Refused as refused:
        return _refusal(refused)
    await data.queue_decision_mail(suggestion_id=suggestion_id)
    return out


@admin_router.post(
    "/suggestions/{suggestion_id}/reject",
    response_model=SuggestionAdminOut,
    responses=_DECIDE_RESPONSES,
)
async def reject(suggestion_id: SuggestionId, body: RejectIn) -> Any:
    """Turn the suggestion down with a reason; the submitter hears it."""

    def decide() -> dict[str, Any]:
        with _session() as session:
            row = data.reject_suggestion(
                session=session, suggestion_id=suggestion_id, reason=body.reason
            )
            session.commit()
            return _out(row, admin=True, message="Rejected.")

    try:
        out = await asyncio.to_thread(decide)
    except data.Refused as refused:
        return _refusal(refused)
    await data.queue_decision_mail(suggestion_id=suggestion_id)
    return out


class PreviewQueued(BaseModel):
    job_id: str | None
    channel: str = Field(description="The live channel the new preview is published on")


@admin_router.post(
    "/suggestions/{suggestion_id}/preview",
    status_code=202,
    response_model=PreviewQueued,
    responses=_NOT_FOUND,
)
async def preview_again(suggestion_id: SuggestionId) -> Any:
    """Read the suggestion's calendar again in the background (it may have changed since)."""

    def exists() -> bool:
        with _session() as session:
            return data.get_suggestion(session=session, suggestion_id=suggestion_id) is not None

    if not await asyncio.to_thread(exists):
        raise HTTPException(status_code=404, detail="No such suggestion")
    job_id = await queue.enqueue(
        "preview_suggestion",
        suggestion_id=suggestion_id,
        _job_id=f"suggestion-preview:{suggestion_id}",
    )
    return {"job_id": job_id, "channel": data.live_channel(suggestion_id)}
