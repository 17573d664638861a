"""scripts/demo.py: the sample events land in the coming fortnight, at their own weekday
and time of day."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from scrapers.event import ScrapedEvent
from scripts.demo import into_coming_fortnight, sample_pages, shifted_pages

CHICAGO = ZoneInfo("America/Chicago")
NOW = datetime(2027, 3, 10, 18, 30, tzinfo=UTC)  # a Wednesday, days before DST starts


def _event(start: datetime, end: datetime | None = None) -> ScrapedEvent:
    return ScrapedEvent(
        title="Loft", link="https://example.com/e/1", source="luma", start=start, end=end,
        timezone="America/Chicago",
    )  # fmt: skip


def test_each_event_starts_within_the_coming_fortnight_same_weekday_and_hour() -> None:
    for start in (
        datetime(2026, 11, 13, 22, 0, tzinfo=CHICAGO),  # months before
        datetime(2027, 3, 10, 12, 0, tzinfo=CHICAGO),  # earlier today: moved on
        datetime(2027, 6, 4, 21, 0, tzinfo=CHICAGO),  # months after
    ):
        moved = into_coming_fortnight(event=_event(start, start + timedelta(hours=5)), now=NOW)
        assert NOW <= moved.start < NOW + timedelta(days=14), start
        assert moved.start.weekday() == start.weekday()
        assert moved.start.astimezone(CHICAGO).time() == start.time()  # across DST too
        assert moved.end is not None and moved.end - moved.start == timedelta(hours=5)


def test_an_event_already_in_the_fortnight_stays_put() -> None:
    start = datetime(2027, 3, 12, 22, 0, tzinfo=CHICAGO)
    assert into_coming_fortnight(event=_event(start), now=NOW).start == start


def test_every_sample_page_with_events_is_written_shifted(tmp_path: Path) -> None:
    pages = sample_pages()
    assert {p.parent.name for p in pages} == {
        "eventbrite", "meetup", "luma", "ical", "schema_org", "19hz",
    }  # fmt: skip
    files = shifted_pages(city_id="ny--new-york", pages=pages, now=NOW, out=tmp_path)
    starts = [
        datetime.fromisoformat(item["start"])
        for path in files
        for item in json.loads(path.read_text())
    ]
    assert len(files) >= 10 and len(starts) >= 50
    assert all(NOW <= s < NOW + timedelta(days=14) for s in starts)
