"""The JSON API, served by the Reflex backend on the app's own port.

``create_api()`` is Reflex's ``api_transformer``: Reflex mounts its own routes inside this
app, so the middlewares here (request ids, security headers, body limits) cover the
whole backend. Routes sit at the original design's root paths; docs at ``/api/docs``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from logging import getLogger

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

from nocturne import queue
from nocturne.api import admin, docs, email_routes, feeds, previews, public, ratelimit, suggestions
from nocturne.api.logging import RequestIdMiddleware, configure_logging
from nocturne.api.security import (
    BodySizeLimitMiddleware,
    CORSMiddleware,
    SecurityHeadersMiddleware,
    cors_kwargs,
)
from scrapers.sites import GATHERED_FROM

# (getLogger imported by name: the submodule nocturne.api.logging shadows "logging" here)
log = getLogger(__name__)

DESCRIPTION = f"""Underground events from {GATHERED_FROM} in 49 US cities.

Reads are limited per IP (10 a second by default), subscribing to 5 a minute, asking for
a scrape to one per city every 10 minutes, suggesting a calendar to 5 an hour per address
and per email; a refusal is a 429 with `Retry-After`.
Admin routes need `Authorization: Bearer <ADMIN_TOKEN>` and are off when it is unset.
"""


def _field_name(loc: Sequence[str | int]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 naming each bad field; the offending input is not echoed back."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": [p if isinstance(p, int) else str(p) for p in err.get("loc", ())],
            "msg": str(err.get("msg", "invalid")),
            "type": str(err.get("type", "value_error")),
        }
        for err in exc.errors()
    ]
    message = "; ".join(f"{_field_name(e['loc'])}: {e['msg']}" for e in errors)
    return JSONResponse({"message": message, "detail": errors}, status_code=422)


async def _database_down(request: Request, exc: Exception) -> JSONResponse:
    log.error("database unavailable: %s", exc.__class__.__name__)
    return JSONResponse(
        {"detail": "The database is unavailable; try again shortly"},
        status_code=503,
        headers={"Retry-After": "30"},
    )


@asynccontextmanager
async def _lifespan(api: FastAPI) -> AsyncIterator[None]:
    """Close this loop's Redis connections on shutdown (when served on its own: mounted in
    Reflex, the app's lifespan tasks do this)."""
    yield
    await ratelimit.close()
    await queue.shutdown()


def create_api() -> FastAPI:
    """The FastAPI app with every route and middleware, configured from settings now."""
    configure_logging()
    api = FastAPI(
        title="Nocturne API",
        version="1.0",
        description=DESCRIPTION,
        # /api/docs and /api/redoc come from nocturne.api.docs: FastAPI's own load from a CDN
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=_lifespan,
    )
    docs.install(api)
    api.add_exception_handler(RequestValidationError, _validation_error)
    api.add_exception_handler(OperationalError, _database_down)
    # Admin first: POST /scrape/all must win over POST /scrape/{city_id}.
    api.include_router(admin.router)
    api.include_router(public.router)
    api.include_router(feeds.router)
    api.include_router(email_routes.router)
    api.include_router(suggestions.router)
    api.include_router(suggestions.admin_router)
    # Event and city pages' HTML with their link-preview tags, ahead of Reflex's static files.
    api.include_router(previews.router)
    # Starlette runs the last added outermost: request id, headers, size limit, CORS.
    api.add_middleware(CORSMiddleware, **cors_kwargs())  # type: ignore[arg-type]
    api.add_middleware(BodySizeLimitMiddleware)
    api.add_middleware(SecurityHeadersMiddleware)
    api.add_middleware(RequestIdMiddleware)
    return api
