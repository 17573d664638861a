"""Link previews: event and city pages served with their Open Graph and Twitter card tags.

A link-preview bot reads the HTML a plain GET returns and runs no JavaScript, while the
built front end is one static shell for every dynamic route. These routes, ahead of
Reflex's static files on the app's port (``make run``, ``make prod`` and nginx all send
``/`` there), serve that same shell with the page's tags put into its ``<head>``; the
browser then runs the app as usual. An unknown or removed event, or an unknown city, is
served with status 404 (the shell then shows "Event not found" or "No such city").
"""

from __future__ import annotations

from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse

from nocturne.api.deps import SessionDep
from nocturne.cities import City, get_city
from nocturne.crud.events import get_event_page
from nocturne.event_details import location_line, plain_summary, safe_href, time_range
from nocturne.models import Event
from nocturne.settings import settings
from scrapers.sites import GATHERED_FROM

router = APIRouter(include_in_schema=False)

SITE_NAME = "Nocturne"
# A shell for when no front end is built (the API served on its own): the tags still go out.
BARE_SHELL = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"/></head><body></body></html>'
)
_NOT_FOUND_DESCRIPTION = "This event is not listed (any more). Find others on Nocturne."


def shell_path() -> Path:
    """The built front end's page for routes without a prerendered file."""
    from reflex import constants
    from reflex.utils.prerequisites import get_web_dir

    return get_web_dir() / constants.Dirs.STATIC / "__spa-fallback.html"


@lru_cache(maxsize=4)
def _read_shell(path: str, mtime_ns: int) -> str:
    return Path(path).read_text(encoding="utf-8")


def shell() -> str:
    """The shell's HTML, read again whenever a build replaces it."""
    path = shell_path()
    try:
        return _read_shell(str(path), path.stat().st_mtime_ns)
    except OSError:
        return BARE_SHELL


def _origin() -> str:
    return settings.public_url.rstrip("/")


def head_tags(*, title: str, description: str, url: str, image: str = "") -> str:
    """Open Graph and Twitter card tags (``summary_large_image`` with a picture of its own,
    else ``summary`` with the site's icon), every value HTML-escaped."""
    card = "summary_large_image" if image else "summary"
    image = image or f"{_origin()}/icon-512.png"
    metas = [
        ("name", "description", description),
        ("property", "og:type", "website"),
        ("property", "og:site_name", SITE_NAME),
        ("property", "og:title", title),
        ("property", "og:description", description),
        ("property", "og:url", url),
        ("property", "og:image", image),
        ("name", "twitter:card", card),
        ("name", "twitter:title", title),
        ("name", "twitter:description", description),
        ("name", "twitter:image", image),
    ]
    tags = [f'<link rel="canonical" href="{escape(url)}"/>']
    tags += [f'<meta {kind}="{key}" content="{escape(value)}"/>' for kind, key, value in metas]
    return "".join(tags)


def fill_head(html: str, tags: str) -> str:
    """``html`` with ``tags`` at the end of its head."""
    at = html.find("</head>")
    return html[:at] + tags + html[at:] if at >= 0 else tags + html


def event_tags(event: Event) -> str:
    city = get_city(event.city_id)
    when = time_range(
        start=event.start_at, end=event.end_at, timezone=event.timezone,
        all_day=event.local_time == "",
    )  # fmt: skip
    place = location_line(event)
    lead = " · ".join(p for p in (when, place, city.name if city else "") if p)
    summary = plain_summary(event.description, limit=160)
    return head_tags(
        title=event.title,
        description=f"{lead}. {summary}" if summary else lead,
        url=f"{_origin()}/event/{event.id}",
        image=safe_href(event.image_url),
    )


def city_tags(city: City) -> str:
    return head_tags(
        title=f"Underground events in {city.name}, {city.state} · {SITE_NAME}",
        description=(
            f"Tonight and this week in {city.name}: club nights, live music, art and "
            f"performance after dark, gathered from {GATHERED_FROM}."
        ),
        url=f"{_origin()}/city/{city.id}",
    )


def _page(tags: str, status: int) -> HTMLResponse:
    return HTMLResponse(
        fill_head(shell(), tags), status_code=status, headers={"Cache-Control": "no-cache"}
    )


def _not_found_tags() -> str:
    return '<meta name="robots" content="noindex"/>' + head_tags(
        title=f"Event not found · {SITE_NAME}", description=_NOT_FOUND_DESCRIPTION, url=_origin()
    )


@router.api_route("/event/{event_id}", methods=["GET", "HEAD"], response_class=HTMLResponse)
@router.api_route("/event/{event_id}/", methods=["GET", "HEAD"], response_class=HTMLResponse)
def event_page(
    event_id: Annotated[str, PathParam(max_length=20)], session: SessionDep
) -> HTMLResponse:
    """The event page's HTML with its preview tags; 404 for an unknown or removed event."""
    event = get_event_page(session=session, event_id=int(event_id)) if event_id.isdigit() else None
    if event is None:
        return _page(_not_found_tags(), 404)
    return _page(event_tags(event), 200)


@router.api_route("/city/{city_id}", methods=["GET", "HEAD"], response_class=HTMLResponse)
@router.api_route("/city/{city_id}/", methods=["GET", "HEAD"], response_class=HTMLResponse)
def city_page(city_id: Annotated[str, PathParam(max_length=80)]) -> HTMLResponse:
    """The city page's HTML with its preview tags; 404 for a city not covered."""
    city = get_city(city_id)
    if city is None:
        return _page(
            '<meta name="robots" content="noindex"/>'
            + head_tags(title=f"No such city · {SITE_NAME}", description="", url=_origin()),
            404,
        )
    return _page(city_tags(city), 200)
