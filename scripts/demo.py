"""Sample events for a machine without internet: ``python -m scripts.demo`` (``make demo``).

Parses the project's own saved pages (``tests/fixtures/pages``), moves each event forward
or back by whole fortnights so it starts in the coming two weeks (same weekday, same time
of day), and stores them for one city through ``python -m scrapers load``'s path. The
pages list venues in Chicago, Detroit and Texas; they are filed under New York by default
because that is the city people open first. Running it again the same day changes nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from nocturne.cities import get_city, require_city
from nocturne.settings import ROOT
from scrapers.event import ScrapedEvent
from scrapers.runner import load_files_to_db, read_saved_page

PAGES = ROOT / "tests" / "fixtures" / "pages"
DEFAULT_CITY = "ny--new-york"
FORTNIGHT = timedelta(days=14)


def sample_pages(root: Path = PAGES) -> list[Path]:
    """The saved pages, feeds and API answers (not the parsers' expected output)."""
    return sorted(
        p for p in root.glob("*/*") if p.is_file() and not p.name.endswith(".expected.json")
    )


def into_coming_fortnight(*, event: ScrapedEvent, now: datetime) -> ScrapedEvent:
    """The event moved by whole fortnights so it starts within 14 days after ``now``.

    The move is in the event's own wall time, so a Friday 22:00 party stays one across a
    daylight-saving change.
    """
    fortnights = math.ceil((now - event.start) / FORTNIGHT)
    shift = fortnights * FORTNIGHT
    zone = ZoneInfo(event.timezone) if event.timezone else event.start.tzinfo

    def move(moment: datetime | None) -> datetime | None:
        return None if moment is None else moment.astimezone(zone) + shift

    start = move(event.start)
    assert start is not None
    return replace(event, start=start, end=move(event.end))


def shifted_pages(*, city_id: str, pages: Sequence[Path], now: datetime, out: Path) -> list[Path]:
    """Each page's events, moved into the coming fortnight, as ``parse`` JSON files in
    ``out`` (what ``python -m scrapers load`` stores)."""
    city = require_city(city_id)
    written = []
    for page in pages:
        _, events = read_saved_page(page, city=city)
        if not events:
            continue
        moved = [into_coming_fortnight(event=e, now=now).to_json() for e in events]
        target = out / f"{page.parent.name}-{page.stem}.json"
        target.write_text(json.dumps(moved), encoding="utf-8")
        written.append(target)
    return written


def load_demo(*, city_id: str = DEFAULT_CITY, now: datetime | None = None) -> dict[str, int]:
    """Store the sample events for ``city_id``; how many were new and updated in all."""
    now = now or datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="nocturne-demo-") as tmp:
        files = shifted_pages(city_id=city_id, pages=sample_pages(), now=now, out=Path(tmp))
        summaries, errors = load_files_to_db(city_id=city_id, files=files, now=now)
    if errors:
        raise RuntimeError("; ".join(errors))
    return {
        "found": sum(s.found for s in summaries.values()),
        "new": sum(s.new for s in summaries.values()),
        "updated": sum(s.updated for s in summaries.values()),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.demo",
        description=(
            "Fill the database with the project's sample events, dated in the coming two "
            "weeks, so the app has something to show on a machine without internet. "
            "Run `make migrate` first (`make demo` does both, then starts the app)."
        ),
        epilog="example: python -m scripts.demo --city il--chicago",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--city", default=DEFAULT_CITY, metavar="CITY_ID", help=f"default: {DEFAULT_CITY}"
    )
    args = parser.parse_args(argv)
    city = get_city(args.city)
    if city is None:
        parser.error(f"unknown city {args.city!r}")
    # The sample pages hold deliberately broken listings (the parsers' tests): skipping
    # them is expected here, not worth a warning each.
    logging.basicConfig(level=logging.ERROR)
    counts = load_demo(city_id=city.id)
    print(
        f"demo: {counts['found']} sample events in {city.name} over the next 14 days "
        f"({counts['new']} new, {counts['updated']} updated)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
