"""Response and request shapes. Field names keep the original design's API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema
from sqlalchemy import Row

from nocturne.cards import price_label
from nocturne.cities import CITY_BY_ID, City
from nocturne.crud import event_sources
from nocturne.models import Event
from scrapers.sites import SITES, SOURCE_NAMES
from scrapers.tags import AGES, TAGS

if TYPE_CHECKING:  # enums built from the registries at run time; to mypy they are strings
    Source = str
    Tag = str
    Age = str
else:
    # The registry's source names and the classifier's vocabulary (scrapers/tags.py), as
    # enums in the OpenAPI document.
    Source = Literal[SOURCE_NAMES]
    Tag = Literal[tuple(TAGS)]
    Age = Literal[tuple(AGES)]


def iso_utc(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


class Problem(BaseModel):
    detail: str


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationProblem(BaseModel):
    message: str
    detail: list[FieldError]


class Coordinates(BaseModel):
    lat: float
    lng: float


class CityOut(BaseModel):
    id: str
    name: str
    slug: str
    state: str
    timezone: str
    coordinates: Coordinates
    upcoming: int = Field(description="Coming events (in person, scheduled)")

    @classmethod
    def build(cls, city: City, upcoming: int) -> CityOut:
        return cls(
            id=city.id,
            name=city.name,
            slug=city.slug,
            state=city.state,
            timezone=city.timezone,
            coordinates=Coordinates(lat=city.latitude, lng=city.longitude),
            upcoming=upcoming,
        )


class CitiesOut(BaseModel):
    cities: list[CityOut]


# What EventOut.plain reads, in order: a listing selects only these columns.
_OUT_FIELDS = (
    "id", "title", "link", "local_date", "local_time", "venue", "address", "is_online",
    "description", "source", "sources", "city_id", "start_at", "end_at", "timezone",
    "latitude", "longitude", "price_min", "price_max", "currency", "is_free", "links",
    "status", "image_url", "tags", "source_tags", "after_dark", "after_dark_reasons", "age",
)  # fmt: skip
EVENT_OUT_COLUMNS = tuple(getattr(Event, name) for name in _OUT_FIELDS)


class EventOut(BaseModel):
    id: int
    title: str
    link: str
    date: str = Field(description="Local date, YYYY-MM-DD")
    time: str = Field(description="Local time HH:MM; empty when the source gave only a date")
    location: str
    description: str | None
    source: str = Field(description="The source that first listed the event")
    city: str
    start_at: str = Field(description="ISO 8601, UTC")
    end_at: str | None
    timezone: str
    venue: str | None
    address: str | None
    latitude: float | None
    longitude: float | None
    price_min: float | None
    price_max: float | None
    currency: str | None
    price_label: str
    is_free: bool | None
    sources: list[str]
    links: list[str]
    status: str
    is_online: bool
    image_url: str | None
    tags: list[Tag] = Field(description="Tags of Nocturne's vocabulary, most telling first")
    source_tags: list[str] = Field(description="The source's own categories and keywords")
    after_dark: bool = Field(
        description="Nightlife, music, art, performance, underground community: the city "
        "page's default listing"
    )
    after_dark_reasons: list[str] = Field(description='What decided after_dark ("10 PM")')
    age: Age | None = Field(description="The age limit the listing states, if any")

    @classmethod
    def build(cls, ev: Event) -> EventOut:
        return cls(**cls.plain(ev))

    @staticmethod
    def plain(ev: Event | Row[Any]) -> dict[str, Any]:
        """The fields of ``EventOut`` as a plain dict, for encoding without validation.

        ``ev`` is an event or a row of ``EVENT_OUT_COLUMNS``. The listing endpoint encodes
        these directly: validating a page of models on the way out cost more than the
        query. ``build`` goes through here, so the two cannot drift.
        """
        # Unpacked once: a page is 100 of these, and attribute access by name was most
        # of the cost of encoding one.
        values = tuple(ev) if isinstance(ev, Row) else [getattr(ev, n) for n in _OUT_FIELDS]
        (id_, title, link, local_date, local_time, venue, address, is_online, description,
         source, _, city_id, start_at, end_at, timezone, latitude, longitude, price_min,
         price_max, currency, is_free, links, status, image_url, tags, source_tags, after_dark,
         after_dark_reasons, age) = values  # fmt: skip
        venue_, address_ = venue or "", address or ""
        parts = (venue_, address_) if venue_ != address_ else (venue_,)
        location = ", ".join(p for p in parts if p.strip())
        return {
            "id": id_,
            "title": title,
            "link": link,
            "date": local_date,
            "time": local_time,
            "location": location or ("Online" if is_online else ""),
            "description": description,
            "source": source,
            "city": city_id,
            "start_at": iso_utc(start_at),
            "end_at": iso_utc(end_at),
            "timezone": timezone,
            "venue": venue,
            "address": address,
            "latitude": latitude,
            "longitude": longitude,
            "price_min": price_min,
            "price_max": price_max,
            "currency": currency,
            "price_label": price_label(ev),  # type: ignore[arg-type]
            "is_free": is_free,
            "sources": event_sources(ev),  # type: ignore[arg-type]
            "links": list(links or [link]),
            "status": status,
            "is_online": is_online,
            "image_url": image_url,
            "tags": list(tags or []),
            "source_tags": list(source_tags or []),
            "after_dark": bool(after_dark),
            "after_dark_reasons": list(after_dark_reasons or []),
            "age": age,
        }


def _known_city(value: str) -> str:
    if value not in CITY_BY_ID:
        raise ValueError(f"unknown city {value[:80]!r}")
    return value


# Validated with a short message; the schema lists every id so clients (and fuzzers) know.
CityId = Annotated[
    str,
    AfterValidator(_known_city),
    WithJsonSchema({"type": "string", "enum": sorted(CITY_BY_ID)}),
]


class SubscribeIn(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "example": {"email": "user@example.com", "city": "ca--los-angeles"},
            "anyOf": [{"required": ["city"]}, {"required": ["city_id"]}],
        },
    )

    email: str = Field(min_length=3, max_length=320, json_schema_extra={"format": "email"})
    # Not nullable: omit the key rather than send null.
    city: CityId = Field(default=None, description="City id")  # type: ignore[assignment]
    city_id: CityId = Field(default=None, description="Alias of `city`")  # type: ignore[assignment]


class SubscribeOut(BaseModel):
    id: int
    email: str
    city: str
    is_active: bool
    created_at: str
    status: str = Field(description="pending | active | unsubscribed")
    outcome: str = Field(description="created | resent | too_soon | already_active | resubscribed")
    message: str


class ScrapeOut(BaseModel):
    message: str
    city: str
    note: str
    job_id: str | None
    queued: bool = Field(description="False when a scrape of this city was already under way")


class HealthOut(BaseModel):
    status: Literal["healthy", "stale", "unhealthy"]
    database: str
    redis: str
    events: dict[str, int]
    subscriptions: dict[str, int]
    last_scrape: dict[str, dict[str, str | int | None]]
    last_success_at: str | None
    stale_after_hours: float
    checked_at: str


class SubscriptionOut(BaseModel):
    id: int
    email: str
    city: str
    status: str
    is_active: bool
    token_version: int
    created_at: str
    confirmed_at: str | None
    unsubscribed_at: str | None


class SubscriptionPage(BaseModel):
    items: list[SubscriptionOut]
    total: int
    limit: int
    offset: int


class EmailLogOut(BaseModel):
    id: int
    recipient: str
    kind: str
    subject: str
    provider: str
    status: str
    error: str | None
    provider_message_id: str | None
    subscription_id: int | None
    digest_week: str | None
    attempt: int
    created_at: str


class EmailLogPage(BaseModel):
    items: list[EmailLogOut]
    total: int
    limit: int
    offset: int


class ScrapeRunOut(BaseModel):
    id: int
    city_id: str
    source: str
    status: str
    started_at: str
    finished_at: str | None
    found: int
    new: int
    updated: int
    dropped: int
    error: str | None


class ScrapeRunPage(BaseModel):
    items: list[ScrapeRunOut]
    total: int
    limit: int
    offset: int


class ScrapeAllOut(BaseModel):
    message: str
    job_id: str | None
    queued: bool


if TYPE_CHECKING:  # built from the registries at run time; to mypy they are strings
    FeedKind = str
    FeedCityId = str
else:
    FeedKind = Literal[tuple(n for n, s in SITES.items() if s.from_feeds)]
    FeedCityId = Literal[tuple(CITY_BY_ID)]


class CityFeedIn(BaseModel):
    city_id: FeedCityId = Field(examples=["ny--brooklyn"])
    # Printable text with something in it: a NUL would reach PostgreSQL, which refuses it.
    name: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$",
        examples=["Elsewhere Brooklyn"],
    )
    url: str = Field(
        max_length=2000,
        pattern=r"^([hH][tT][tT][pP][sS]?|[wW][eE][bB][cC][aA][lL])://[^\s\x00-\x1f\x7f]+$",
        description="An iCalendar feed (http, https or webcal) or a page with schema.org events",
    )
    kind: FeedKind = Field(description="The source that reads it (ical, schema_org)")


class CityFeedOut(BaseModel):
    id: int
    city_id: str
    name: str
    url: str
    kind: str
    status: str
    created_at: str
