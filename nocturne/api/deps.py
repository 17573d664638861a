"""Dependencies shared by the routers: sessions, the city in the path, event filters."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Query
from fastapi.exceptions import RequestValidationError
from pydantic import WithJsonSchema
from sqlalchemy import Row
from sqlmodel import Session

from nocturne import crud
from nocturne.api.schemas import Age, Source
from nocturne.cities import City, get_city
from nocturne.db import get_engine
from nocturne.models import Event
from nocturne.settings import settings
from scrapers.tags import TAGS

# Printable text only: a NUL would reach PostgreSQL, which refuses it in a string.
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
# A tag, or several joined by commas ("music,party"); the schema offers one at a time.
TagParam = Annotated[str, WithJsonSchema({"type": "string", "enum": list(TAGS)})]
# Far enough for any real listing, near enough that local-day arithmetic cannot overflow.
MIN_DATE, MAX_DATE = date(2000, 1, 1), date(2100, 12, 31)


def get_session() -> Iterator[Session]:
    """A session on ``settings.database_url`` (read per request, so tests can point it)."""
    with Session(get_engine(settings.database_url), expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def field_error(loc: tuple[str | int, ...], msg: str) -> RequestValidationError:
    """A 422 naming ``loc``, shaped like FastAPI's own validation errors."""
    return RequestValidationError([{"loc": loc, "msg": msg, "type": "value_error"}])


async def known_city(
    city_id: Annotated[str, Path(max_length=80, description="City id, e.g. ca--los-angeles")],
) -> City:
    city = get_city(city_id)
    if city is None:
        raise HTTPException(status_code=404, detail=f"Unknown city: {city_id[:80]!r}")
    return city


# known_city and event_filters do no I/O: async, so FastAPI runs them inline rather than
# hopping to a worker thread for each.
CityDep = Annotated[City, Depends(known_city)]


def encode_cursor(event: Event | Row[Any]) -> str:
    raw = f"{event.start_at.astimezone(UTC).isoformat()}|{event.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        start, event_id = raw.split("|")
        when = datetime.fromisoformat(start)
        if when.tzinfo is None:
            raise ValueError("naive")
        return when, int(event_id)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise field_error(("query", "cursor"), "not a cursor returned by this API") from None


@dataclass(frozen=True, slots=True)
class EventFilters:
    limit: int
    offset: int
    cursor: str | None
    start_date: date | None
    end_date: date | None
    source: str | None
    free: bool | None
    q: str | None
    online: bool
    after_dark: bool | None = None
    tags: tuple[str, ...] = ()
    age: str | None = None

    def query(self, *, session: Session, city_id: str) -> list[Event]:
        return crud.events_for_city(session=session, **self.as_query(city_id))

    def rows(self, *, session: Session, city_id: str, columns: Sequence[Any]) -> list[Row[Any]]:
        return crud.event_rows_for_city(session=session, columns=columns, **self.as_query(city_id))

    def as_query(self, city_id: str) -> crud.EventQuery:
        return crud.EventQuery(
            city_id=city_id,
            start_date=self.start_date,
            end_date=self.end_date,
            source=self.source,
            free=self.free,
            q=self.q,
            after_dark=self.after_dark,
            tags=self.tags,
            age=self.age,
            include_online=self.online,
            limit=self.limit,
            offset=self.offset,
            after=decode_cursor(self.cursor) if self.cursor else None,
        )


def _date_query(description: str) -> Any:
    return Query(description=f"{description} (YYYY-MM-DD, the city's local day)")


async def event_filters(
    limit: Annotated[int, Query(ge=1, le=500, description="Page size")] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000, description="Skip this many")] = 0,
    cursor: Annotated[
        str | None,
        Query(max_length=200, description="From X-Next-Cursor of the previous page"),
    ] = None,
    start_date: Annotated[date | None, _date_query("First day")] = None,
    end_date: Annotated[date | None, _date_query("Last day, inclusive")] = None,
    source: Annotated[Source | None, Query(description="Listed by this source")] = None,
    free: Annotated[bool | None, Query(description="Free (true) or paid/unknown (false)")] = None,
    q: Annotated[
        str | None,
        Query(max_length=200, pattern=PRINTABLE, description="Text in title, venue, description"),
    ] = None,
    online: Annotated[bool, Query(description="Include online events")] = False,
    after_dark: Annotated[
        bool | None,
        Query(description="Only after-dark events (true), only the others (false); default all"),
    ] = None,
    tag: Annotated[
        list[TagParam] | None,
        Query(
            max_length=len(TAGS),
            description=(
                "Carrying any of these tags (repeat the parameter, or a comma-separated "
                f"list): {', '.join(TAGS)}"
            ),
        ),
    ] = None,
    age: Annotated[Age | None, Query(description="The age limit the listing states")] = None,
) -> EventFilters:
    for name, day in (("start_date", start_date), ("end_date", end_date)):
        if day is not None and not MIN_DATE <= day <= MAX_DATE:
            raise field_error(("query", name), f"must be between {MIN_DATE} and {MAX_DATE}")
    if start_date and end_date and end_date < start_date:
        raise field_error(("query", "end_date"), "must not be before start_date")
    if cursor:
        decode_cursor(cursor)
    parts = (t.strip() for value in tag or () for t in value.split(","))
    tags = tuple(dict.fromkeys(t for t in parts if t))
    if unknown := [t for t in tags if t not in TAGS]:
        raise field_error(
            ("query", "tag"), f"unknown tag {unknown[0][:40]!r}: one of {', '.join(TAGS)}"
        )
    return EventFilters(
        limit=limit,
        offset=offset,
        cursor=cursor,
        start_date=start_date,
        end_date=end_date,
        source=source,
        free=free,
        q=q.strip() or None if q else None,
        online=online,
        after_dark=after_dark,
        tags=tuple(sorted(tags)),  # a cache key: "a,b" and "b,a" are one listing
        age=age,
    )


FiltersDep = Annotated[EventFilters, Depends(event_filters)]
