"""Scrape a city: fetch each source's pages, parse them, follow pagination, and store.

:func:`scrape_source` is what the ``scrape_city`` job calls: it yields each page's
upcoming in-city events as soon as the page is fetched and holds no database code.
:func:`scrape_city_to_db` and :func:`load_files_to_db` are the CLI's ``scrape`` and
``load``: they store through ``nocturne.crud`` and record a ``ScrapeRun`` per source.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapers.errors import ScraperError, UnrecognizedPage
from scrapers.event import SOURCES, ScrapedEvent
from scrapers.normalize import SITE_BASES, filter_for_city
from scrapers.sites import PARSERS, detect_site, eventbrite, luma, meetup
from scrapers.sites.common import looks_like_json

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from nocturne.cities import City
    from nocturne.settings import Settings
    from scrapers.fetch import CityContext, Fetcher

log = logging.getLogger(__name__)

_DROP_REASONS = ("spam", "past", "online")
_LONG_AGO = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(slots=True)
class PageResult:
    """One fetched page of one source: the events a city list shows, and what was dropped.

    ``found`` counts what the page listed; ``dropped`` (by reason in ``drop_counts``)
    what was left out as spam, past or online-only; ``repeated`` what an earlier page of
    the same scrape already yielded (not yielded again).
    """

    source: str
    url: str
    events: list[ScrapedEvent]
    found: int = 0
    dropped: int = 0
    drop_counts: dict[str, int] = field(default_factory=dict)
    repeated: int = 0
    via: str = "browser"


@dataclass(slots=True)
class SourceSummary:
    """What a scrape (or load) of one source did, for the CLI and the ScrapeRun row."""

    source: str
    status: str = "running"  # running | ok | failed
    pages: int = 0
    found: int = 0
    new: int = 0
    updated: int = 0
    dropped: int = 0
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
            "error": self.error,
        }


Progress = Callable[[SourceSummary], None]


# --------------------------------------------------------------------------- URLs


class _Urls:
    """Where to fetch a source's pages (settings' base URLs, a local server in tests) and
    the canonical URL the parser sees, so event links stay on the real site."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.bases = {
            "eventbrite": (settings.eventbrite_base_url, SITE_BASES["eventbrite"]),
            "meetup": (settings.meetup_base_url, SITE_BASES["meetup"]),
            "luma": (settings.luma_api_base_url, luma.API_BASE),
        }

    @staticmethod
    def _swap(url: str, old: str, new: str) -> str:
        old, new = old.rstrip("/"), new.rstrip("/")
        if old != new and (url == old or url.startswith(old + "/") or url.startswith(old + "?")):
            return new + url[len(old) :]
        return url

    def canonical(self, source: str, url: str) -> str:
        fetch_base, site_base = self.bases[source]
        return self._swap(url, fetch_base, site_base)

    def fetchable(self, source: str, url: str) -> str:
        fetch_base, site_base = self.bases[source]
        return self._swap(url, site_base, fetch_base)


def eventbrite_first_page(settings: Settings, city: City) -> str:
    """Page 1 of a city's Eventbrite all-events listing."""
    return eventbrite.city_url(settings.eventbrite_base_url, city.eventbrite_slug, 1)


def meetup_pages(settings: Settings, city: City, keywords: Sequence[str]) -> list[str]:
    """One Meetup find page per keyword (a find query returns only a handful)."""
    return [meetup.find_url(settings.meetup_base_url, city.meetup_location, kw) for kw in keywords]


def luma_first_page(settings: Settings, city: City) -> str:
    """Luma's discover API for the city's place id, or its coordinates without one."""
    return luma.discover_url(
        settings.luma_api_base_url,
        city.luma_place_id,
        None if city.luma_place_id else city.latitude,
        None if city.luma_place_id else city.longitude,
    )


# --------------------------------------------------------------------------- scraping


@dataclass(slots=True)
class _Scrape:
    source: str
    city: City
    now: datetime
    seen: set[str] = field(default_factory=set)

    def page(self, url: str, events: list[ScrapedEvent], via: str) -> PageResult:
        kept, counts = filter_for_city(events, now=self.now)
        fresh = [e for e in kept if e.link not in self.seen]
        self.seen.update(e.link for e in fresh)
        drops = {k: counts[k] for k in _DROP_REASONS if counts.get(k)}
        return PageResult(
            source=self.source,
            url=url,
            events=fresh,
            found=len(events),
            dropped=sum(drops.values()),
            drop_counts=drops,
            repeated=len(kept) - len(fresh),
            via=via,
        )


async def scrape_source(
    *,
    fetcher: Fetcher | None,
    city: City,
    source: str,
    max_pages: int | None = None,
    keywords: Sequence[str] | None = None,
    now: datetime | None = None,
) -> AsyncIterator[PageResult]:
    """Yield one :class:`PageResult` per page of ``source`` for ``city``, as fetched.

    Eventbrite pages on ``?page=N`` until a page is empty or the last (``max_pages`` at
    most); Meetup sweeps ``keywords`` (``settings.scrape_meetup_keywords``), one find page
    each; Luma follows the discover API's cursor while ``has_more``. Events are upcoming,
    in-person and not spam; each is yielded once. A first page that is not recognised
    raises UnrecognizedPage; a later one is logged and ends the listing. BlockedPage and
    FetchError propagate. Without a ``fetcher`` one is opened for this call.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; known: {', '.join(SOURCES)}")
    if fetcher is None:
        from scrapers.fetch import Fetcher

        async with Fetcher() as own:
            async for page in scrape_source(
                fetcher=own,
                city=city,
                source=source,
                max_pages=max_pages,
                keywords=keywords,
                now=now,
            ):
                yield page
        return
    settings = fetcher.settings
    limit = max(1, max_pages if max_pages is not None else settings.scrape_max_pages)
    state = _Scrape(source, city, now or datetime.now(UTC))
    urls = _Urls(settings)
    async with fetcher.city_context(city.id) as ctx:
        if source == "meetup":
            words = list(keywords if keywords is not None else settings.scrape_meetup_keywords)
            for i, find_url in enumerate(meetup_pages(settings, city, words or [""])):
                try:
                    events, _, via = await _fetch_and_parse(ctx, urls, source, find_url, city)
                except UnrecognizedPage as exc:
                    if i == 0:
                        raise
                    log.warning("%s; skipping this keyword", exc)
                    continue
                yield state.page(find_url, events, via)
            return
        url: str | None = (
            eventbrite_first_page(settings, city)
            if source == "eventbrite"
            else luma_first_page(settings, city)
        )
        for n in range(limit):
            assert url is not None
            try:
                events, text, via = await _fetch_and_parse(ctx, urls, source, url, city)
            except UnrecognizedPage as exc:
                if n == 0:
                    raise
                log.warning("%s; ending the listing here", exc)
                return
            yield state.page(url, events, via)
            next_url = _next_page(source, text, urls.canonical(source, url))
            if not events or next_url is None:
                return
            url = urls.fetchable(source, next_url)
        log.info("%s %s: stopped at the page limit (%d)", source, city.id, limit)


def _next_page(source: str, text: str, url: str) -> str | None:
    if source == "eventbrite":
        return eventbrite.next_page_url(text, url)
    if source == "luma":
        return luma.next_page_url(text, url)
    return None


async def _fetch_and_parse(
    ctx: CityContext, urls: _Urls, source: str, url: str, city: City
) -> tuple[list[ScrapedEvent], str, str]:
    if source == "luma":
        page = await ctx.fetcher.fetch_json(url, source=source)
    else:
        page = await ctx.fetch_page(url, source=source)
    canonical = urls.canonical(source, url)
    events = PARSERS[source](page.text, canonical, tz=city.timezone)
    log.debug("%s: %d events from %s via %s", source, len(events), url, page.via)
    return events, page.text, page.via


# --------------------------------------------------------------------------- storing


def _save(engine: Engine, city_id: str, events: Sequence[ScrapedEvent]) -> tuple[int, int]:
    from sqlmodel import Session

    from nocturne.crud import upsert_events

    with Session(engine, expire_on_commit=False) as session:
        result = upsert_events(session=session, city_id=city_id, events=events)
        session.commit()
        return len(result.new), len(result.updated)


def _start_run(engine: Engine, city_id: str, source: str) -> int:
    from sqlmodel import Session

    from nocturne.crud import start_scrape_run

    with Session(engine) as session:
        run_id = start_scrape_run(session=session, city_id=city_id, source=source).id
        session.commit()
    assert run_id is not None
    return run_id


def _finish_run(engine: Engine, run_id: int, summary: SourceSummary) -> None:
    from sqlmodel import Session

    from nocturne.crud import finish_scrape_run
    from nocturne.models import ScrapeRun

    with Session(engine) as session:
        run = session.get(ScrapeRun, run_id)
        assert run is not None
        finish_scrape_run(
            session=session,
            run=run,
            status=summary.status,
            found=summary.found,
            new=summary.new,
            updated=summary.updated,
            dropped=summary.dropped,
            error=summary.error,
        )
        session.commit()


async def scrape_city_to_db(
    *,
    city_id: str,
    sources: Sequence[str] | None = None,
    fetcher: Fetcher,
    engine: Engine | None = None,
    progress: Progress | None = None,
    max_pages: int | None = None,
    now: datetime | None = None,
) -> dict[str, SourceSummary]:
    """Scrape a city's sources concurrently into the database; a summary per source.

    Each page is upserted as it arrives; each source gets a ScrapeRun (ok or failed with
    its error). One source failing never stops the others.
    """
    from nocturne.cities import require_city
    from nocturne.db import get_engine

    city = require_city(city_id)
    engine = engine or get_engine()
    wanted = list(dict.fromkeys(sources or SOURCES))
    unknown = [s for s in wanted if s not in SOURCES]
    if unknown:
        raise ValueError(f"unknown sources {unknown}; known: {', '.join(SOURCES)}")

    # Sources fetch concurrently but save one page at a time: two uncommitted saves could
    # not see each other's rows, and one event listed on two sources would be stored twice.
    save_lock = asyncio.Lock()

    async def one(source: str) -> SourceSummary:
        summary = SourceSummary(source=source)
        run_id = await asyncio.to_thread(_start_run, engine, city.id, source)
        if progress:
            progress(summary)
        try:
            async for page in scrape_source(
                fetcher=fetcher, city=city, source=source, max_pages=max_pages, now=now
            ):
                summary.pages += 1
                summary.found += len(page.events)
                summary.dropped += page.dropped
                if page.events:
                    async with save_lock:
                        new, updated = await asyncio.to_thread(_save, engine, city.id, page.events)
                    summary.new += new
                    summary.updated += updated
                if progress:
                    progress(summary)
            summary.status = "ok"
        except (ScraperError, OSError, TimeoutError) as exc:
            summary.status, summary.error = "failed", str(exc)[:500]
            log.warning("scrape %s/%s failed: %s", city.id, source, exc)
        finally:
            if summary.status == "running":  # cancelled, or an unexpected error on its way up
                summary.status, summary.error = "failed", summary.error or "interrupted"
            await asyncio.to_thread(_finish_run, engine, run_id, summary)
            if progress:
                progress(summary)
        return summary

    results = await asyncio.gather(*(one(s) for s in wanted))
    return {s.source: s for s in results}


def read_saved_page(
    path: Path, *, city: City, site: str | None = None
) -> tuple[str, list[ScrapedEvent]]:
    """A saved page's events: an HTML page or API answer, or a ``parse`` JSON array."""
    text = path.read_text(encoding="utf-8")
    if looks_like_json(text):
        data = json.loads(text)
        if isinstance(data, list):
            events = [ScrapedEvent.from_json(item) for item in data]
            return (site or (events[0].source if events else "unknown")), events
    name = site or detect_site(text)
    return name, PARSERS[name](text, SITE_BASES[name] + "/", tz=city.timezone)


def load_files_to_db(
    *,
    city_id: str,
    files: Sequence[Path],
    site: str | None = None,
    engine: Engine | None = None,
    skip_past: bool = False,
    now: datetime | None = None,
) -> tuple[dict[str, SourceSummary], list[str]]:
    """Parse saved pages into the database. Online-only and spam listings are left out
    (as a live scrape does); past events are kept unless ``skip_past``.

    A file that cannot be read or parsed is reported and skipped. Returns a summary per
    source and the errors, one per skipped file.
    """
    from nocturne.cities import require_city
    from nocturne.db import get_engine

    city = require_city(city_id)
    engine = engine or get_engine()
    summaries: dict[str, SourceSummary] = {}
    errors: list[str] = []
    cutoff = (now or datetime.now(UTC)) if skip_past else _LONG_AGO
    for path in files:
        try:
            source, events = read_saved_page(Path(path), city=city, site=site)
        except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError) as exc:
            errors.append(f"{path}: {exc}")
            log.warning("load: skipping %s: %s", path, exc)
            continue
        kept, counts = filter_for_city(events, now=cutoff)
        summary = summaries.setdefault(source, SourceSummary(source=source, status="ok"))
        summary.pages += 1
        summary.found += len(kept)
        summary.dropped += sum(counts[k] for k in _DROP_REASONS)
        if kept:
            new, updated = _save(engine, city.id, kept)
            summary.new += new
            summary.updated += updated
    return summaries, errors


# --------------------------------------------------------------------------- CLI


def add_arguments(commands: argparse._SubParsersAction, handler: Callable[[str], Any]) -> None:
    """Declare the ``scrape`` and ``load`` subcommands (called by ``scrapers.cli``).

    ``handler(name)`` returns the function the parsed arguments are handed to.
    """
    scrape = commands.add_parser(
        "scrape",
        help="fetch a city's sources live into the database (progress on stderr)",
        description="Fetch, parse and store cities' events; prints a JSON summary.",
    )
    scrape.add_argument("city", nargs="*", metavar="CITY_ID", help="e.g. il--chicago")
    scrape.add_argument("--city", dest="cities", action="append", default=[], help="repeatable")
    scrape.add_argument(
        "--source", "--site", dest="sources", action="append", choices=SOURCES, help="repeatable"
    )
    scrape.add_argument("--max-pages", type=int, help="pages per source (SCRAPE_MAX_PAGES)")
    scrape.add_argument("--no-progress", action="store_true", help="no progress bar")
    scrape.set_defaults(handler=handler("scrape_command"))

    load = commands.add_parser(
        "load",
        help="parse saved pages (or `parse` JSON output) into the database",
        description="Store the events of saved pages; prints a JSON summary.",
    )
    load.add_argument("files", nargs="+", metavar="FILE", help="saved page, API answer or JSON")
    load.add_argument("--city", metavar="CITY_ID", required=True)
    load.add_argument("--site", choices=sorted(PARSERS), help="default: detected from content")
    load.add_argument("--skip-past", action="store_true", help="leave out events already over")
    load.set_defaults(handler=handler("load_command"))


class _RichProgress:
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
        self.city = ""

    def __call__(self, s: SourceSummary) -> None:
        key = (self.city, s.source)
        text = (
            f"{self.city} {s.source:<10} {s.status:<8} pages {s.pages:>2}  events {s.found:>4}"
            f"  new {s.new:>4}  updated {s.updated:>4}  dropped {s.dropped:>3}"
            + (f"  [red]{s.error}[/red]" if s.error else "")
        )
        if key not in self.tasks:
            self.tasks[key] = self.bar.add_task(text, total=None)
        done = s.status in ("ok", "failed")
        self.bar.update(
            self.tasks[key], description=text, total=1 if done else None, completed=1 if done else 0
        )


def scrape_command(args: argparse.Namespace) -> int:
    """``python -m scrapers scrape CITY_ID... [--source S]``: 0 when every source succeeded."""
    from nocturne.cities import get_city
    from scrapers.fetch import Fetcher

    cities = list(dict.fromkeys([*(args.city or []), *(args.cities or [])]))
    if not cities:
        print("error: name at least one CITY_ID", file=sys.stderr)
        return 2
    unknown = [c for c in cities if get_city(c) is None]
    if unknown:
        print(f"error: unknown city {', '.join(unknown)}", file=sys.stderr)
        return 2
    bar = None if args.no_progress else _RichProgress()

    async def run() -> dict[str, dict[str, SourceSummary]]:
        out: dict[str, dict[str, SourceSummary]] = {}
        async with Fetcher() as fetcher:
            for city_id in cities:
                if bar is not None:
                    bar.city = city_id
                out[city_id] = await scrape_city_to_db(
                    city_id=city_id,
                    sources=args.sources,
                    fetcher=fetcher,
                    progress=bar,
                    max_pages=args.max_pages,
                )
        return out

    with bar.bar if bar is not None else contextlib.nullcontext():
        results = asyncio.run(run())
    report = {c: [s.as_dict() for s in r.values()] for c, r in results.items()}
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0 if all(s.status == "ok" for r in results.values() for s in r.values()) else 1


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
    json.dump([s.as_dict() for s in summaries.values()], sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 1 if errors else 0


__all__ = [
    "PageResult",
    "SourceSummary",
    "add_arguments",
    "eventbrite_first_page",
    "load_command",
    "load_files_to_db",
    "luma_first_page",
    "meetup_pages",
    "read_saved_page",
    "scrape_city_to_db",
    "scrape_command",
    "scrape_source",
]
