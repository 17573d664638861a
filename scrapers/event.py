"""The one event shape every parser returns and every consumer reads."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

Source = str  # a name in scrapers.sites.SITES
Status = Literal["scheduled", "cancelled", "postponed"]


@dataclass(slots=True)
class ScrapedEvent:
    """A normalized event, as one source lists it.

    ``start``/``end`` are timezone-aware. ``link`` is the canonical http(s) URL and the
    de-duplication key. ``links`` holds every source link once cross-source
    de-duplication has merged listings (``link`` first).
    ``tags`` are the source's own categories or keywords (19hz genres, Eventbrite tags, ical
    CATEGORIES), not the vocabulary of :mod:`scrapers.tags`.
    ``date_only`` means the source gave days but no time of day: ``start``/``end`` are then
    midnight (local) of those days and must not be shown as times.
    """

    title: str
    link: str
    source: Source
    start: datetime
    end: datetime | None = None
    source_event_id: str | None = None
    timezone: str | None = None
    venue: str | None = None
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    price_min: float | None = None
    price_max: float | None = None
    currency: str | None = None
    is_free: bool | None = None
    image_url: str | None = None
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    status: Status = "scheduled"
    is_online: bool = False
    links: list[str] = field(default_factory=list)
    date_only: bool = False
    age: str | None = None  # a key of scrapers.tags.AGES ("21+"), where the source states it

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["start"] = self.start.isoformat()
        data["end"] = self.end.isoformat() if self.end else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScrapedEvent:
        data = dict(data)
        data.pop("classified", None)  # what `parse` adds: the classifier's verdict
        data["start"] = datetime.fromisoformat(data["start"])
        data["end"] = datetime.fromisoformat(data["end"]) if data.get("end") else None
        return cls(**data)
