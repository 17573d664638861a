"""The ``scrape`` and ``load`` commands: run the scrape job in-process, or store saved pages.

``scrape`` runs ``workers.jobs.scrape.scrape_city`` itself (the one pipeline that stores
scraped events), showing the job's live messages as a progress bar. ``load`` parses saved
pages and stores them through the same save step.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapers.crawl import DROP_REASONS
from scrapers.dedupe import filter_for_city
from scrapers.event import ScrapedEvent
from scrapers.sites import SITES, SOURCE_NAMES, detect_site, get_site
from scrapers.sites.common import looks_like_json

if TYPE_CHECKING:
    from nocturne.cities import City

log = logging.getLogger(__name__)

_LONG_AGO = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(slots=True)
class SourceSummary:
    """What a load of one source's pages did."""

    source: str
    status: str = "ok"
    pages: int = 0
    found: int = 0
    new: int = 0
    updated: int = 0
    dropped: int = 0
    past: int = 0
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "status": self.status,
            "pages": self.pages,
            "found": self.found,
            "new": self.new,
            "updated": self.updated,
            "dropped": self.dropped,
            "past": self.past,
            "error": self.error,
        }


def read_saved_page(
    path: Path, *, city: City, site: str | None = None
) -> tuple[str, list[ScrapedEvent]]:
    """A saved page's events: an HTML page, feed or API answer, or a ``parse`` JSON array."""
    text = path.read_text(encoding="utf-8")
    if looks_like_json(text):
        data = json.loads(text)
        if isinstance(data, list):
            events = [ScrapedEvent.from_json(item) for item in data]
            return (site or (events[0].source if events else "unknown")), events
    chosen = get_site(site or detect_site(text))
    return chosen.name, chosen.parse(text, chosen.home + "/", tz=city.timezone)


def load_files_to_db(
    *,
    city_id: str,
    files: Sequence[Path],
    site: str | None = None,
    skip_past: bool = False,
    now: datetime | None = None,
) -> tuple[dict[str, SourceSummary], list[str]]:
    """Parse saved pages into the database. Online-only and spam listings are left out
    (as a live scrape does); past events are kept unless ``skip_past``, and counted.

    A file that cannot be read or parsed is reported and skipped. Returns a summary per
    source and the errors, one per skipped file.
    """
    from nocturne.cities import require_city
    from workers.jobs.scrape import save_events

    city = require_city(city_id)
    summaries: dict[str, SourceSummary] = {}
    errors: list[str] = []
    now = now or datetime.now(UTC)
    for path in files:
        try:
            source, events = read_saved_page(Path(path), city=city, site=site)
        except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError) as exc:
            errors.append(f"{path}: {exc}")
            log.warning("load: skipping %s: %s", path, exc)
            continue
        kept, counts = filter_for_city(events, now=now if skip_past else _LONG_AGO)
        summary = summaries.setdefault(source, SourceSummary(source=source))
        summary.pages += 1
        summary.found += len(kept)
        summary.dropped += sum(counts[k] for k in DROP_REASONS)
        summary.past += sum(1 for e in kept if (e.end or e.start) < now)
        if kept:
            new, updated = save_events(city_id=city.id, events=kept)
            summary.new += new
            summary.updated += updated
    return summaries, errors


# --------------------------------------------------------------------------- CLI


def add_arguments(commands: argparse._SubParsersAction, handler: Callable[[str], Any]) -> None:
    """Declare the ``scrape`` and ``load`` subcommands (called by ``scrapers.cli``)."""
    from scrapers.cli import HelpFormatter

    scrape = commands.add_parser(
        "scrape",
        help="fetch cities' events from every source into the database",
        description=(
            "Fetch, parse and store the events of one or more cities now, from every source "
            "(or those named with --source) and the cities' calendar feeds, in this shell "
            "(no worker needed). Sites are asked politely: SCRAPE_DELAY_SECONDS between "
            "requests to a site. Progress goes to stderr, a JSON summary per source to "
            "stdout; the exit status is 1 when a source failed."
        ),
        epilog=(
            "examples:\n"
            "  python -m scrapers scrape il--chicago\n"
            "  python -m scrapers scrape il--chicago ny--brooklyn --source luma --max-pages 2"
        ),
        formatter_class=HelpFormatter,
    )
    scrape.add_argument("city", nargs="*", metavar="CITY_ID", help="e.g. il--chicago")
    scrape.add_argument(
        "--city",
        dest="cities",
        action="append",
        default=[],
        metavar="CITY_ID",
        help="a city too (repeatable)",
    )
    scrape.add_argument(
        "--source",
        "--site",
        dest="sources",
        action="append",
        choices=SOURCE_NAMES,
        metavar="SOURCE",
        help=f"only this source (repeatable; default: all): {', '.join(SOURCE_NAMES)}",
    )
    scrape.add_argument(
        "--max-pages",
        type=int,
        metavar="N",
        help="listing pages per source (default: the SCRAPE_MAX_PAGES setting)",
    )
    scrape.add_argument("--no-progress", action="store_true", help="no progress lines")
    scrape.set_defaults(handler=handler("scrape_command"))

    load = commands.add_parser(
        "load",
        help="store the events of saved pages, feeds or `parse` output",
        description=(
            "Parse saved pages (HTML, iCalendar feeds, API answers, or the JSON that "
            "`parse` prints) and store their events for a city, as a scrape would: a link "
            "already stored is updated, not added twice. Prints a JSON summary per source, "
            "and says how many of the stored events are already over (they do not show "
            "among coming events)."
        ),
        epilog=(
            "examples:\n"
            "  python -m scrapers load saved/chicago.html --city il--chicago\n"
            "  python -m scrapers load venue.ics events.json --city ny--brooklyn --skip-past"
        ),
        formatter_class=HelpFormatter,
    )
    load.add_argument("files", nargs="+", metavar="FILE", help="saved page, feed or JSON")
    load.add_argument(
        "--city", metavar="CITY_ID", required=True, help="the city the events belong to"
    )
    load.add_argument(
        "--site",
        choices=sorted(SITES),
        metavar="SITE",
        help=f"{', '.join(sorted(SITES))} (default: told from the content)",
    )
    load.add_argument("--skip-past", action="store_true", help="leave out events already over")
    load.set_defaults(handler=handler("load_command"))


class _RichProgress:
    """One line per source, fed by the job's live messages."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import Progress as RichProgress
        from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

        self.bar = RichProgress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self.tasks: dict[tuple[str, str], Any] = {}
        self.counts: dict[tuple[str, str], int] = {}

    def __call__(self, city_id: str, message: dict[str, Any]) -> None:
        kind, source = message.get("type"), str(message.get("source") or "")
        if not source:
            return
        key = (city_id, source)
        if kind == "events":
            self.counts[key] = self.counts.get(key, 0) + len(message.get("events") or [])
        status = {"source_finished": "ok", "source_failed": "failed"}.get(str(kind), "running")
        text = f"{city_id} {source:<12} {status:<8} new {self.counts.get(key, 0):>4}"
        if kind == "source_finished":
            text += f"  found {message.get('found', 0):>4}  updated {message.get('updated', 0):>4}"
        if message.get("error"):
            text += f"  [red]{message['error']}[/red]"
        if key not in self.tasks:
            self.tasks[key] = self.bar.add_task(text, total=None)
        done = status != "running"
        self.bar.update(
            self.tasks[key], description=text, total=1 if done else None, completed=int(done)
        )


async def _run_scrape(
    city_id: str, sources: Sequence[str] | None, ctx: dict[str, Any], bar: _RichProgress | None
) -> dict[str, Any]:
    from arq.worker import Retry

    from nocturne import live
    from workers.jobs.scrape import scrape_city

    async with live.subscribe(city_id) as messages:

        async def watch() -> None:
            async for message in messages:
                if bar is not None:
                    bar(city_id, message)

        watcher = asyncio.create_task(watch())
        try:
            return await scrape_city(ctx, city_id, list(sources) if sources else None)
        except Retry:
            return {"city_id": city_id, "error": "every source failed for a passing reason"}
        finally:
            await asyncio.sleep(0)
            for message in await messages.pending(1000):
                if bar is not None:
                    bar(city_id, message)
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher


def scrape_command(args: argparse.Namespace) -> int:
    """``python -m scrapers scrape CITY_ID... [--source S]``: 0 when every source succeeded."""
    from nocturne.cities import get_city
    from nocturne.settings import settings
    from scrapers.fetch import Fetcher

    cities = list(dict.fromkeys([*(args.city or []), *(args.cities or [])]))
    if not cities:
        print("error: name at least one CITY_ID", file=sys.stderr)
        return 2
    unknown = [c for c in cities if get_city(c) is None]
    if unknown:
        print(f"error: unknown city {', '.join(unknown)}", file=sys.stderr)
        return 2
    if args.max_pages is not None:
        settings.scrape_max_pages = max(1, args.max_pages)
    bar = None if args.no_progress else _RichProgress()

    async def run() -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        async with Fetcher() as fetcher:
            for city_id in cities:
                out[city_id] = await _run_scrape(city_id, args.sources, {"fetcher": fetcher}, bar)
        return out

    with bar.bar if bar is not None else contextlib.nullcontext():
        results = asyncio.run(run())
    report = {
        city: [{"source": key, **row} for key, row in (summary.get("sources") or {}).items()]
        for city, summary in results.items()
    }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    failed = any(
        summary.get("error") or summary.get("failed_sources") for summary in results.values()
    )
    return 1 if failed else 0


def load_command(args: argparse.Namespace) -> int:
    """``python -m scrapers load FILE... --city CITY_ID``: 0 when every file was stored."""
    from nocturne.cities import get_city

    if get_city(args.city) is None:
        print(f"error: unknown city {args.city}", file=sys.stderr)
        return 2
    summaries, errors = load_files_to_db(
        city_id=args.city,
        files=[Path(f) for f in args.files],
        site=args.site,
        skip_past=args.skip_past,
    )
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    for summary in summaries.values():
        if summary.past:
            print(
                f"note: {summary.past} of the {summary.found} {summary.source} events stored are"
                " already over and will not show among coming events",
                file=sys.stderr,
            )
    json.dump([s.as_dict() for s in summaries.values()], sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 1 if errors else 0


__all__ = [
    "SourceSummary",
    "add_arguments",
    "load_command",
    "load_files_to_db",
    "read_saved_page",
    "scrape_command",
]
