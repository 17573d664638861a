"""``python -m workers scrape`` and ``cleanup``: one job now, queued for the workers (with
REDIS_URL) or run in this process (without), through ``nocturne.queue`` either way."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from nocturne.cities import get_city
from nocturne.settings import settings
from scrapers.sites import SOURCE_NAMES

SCRAPE_DESCRIPTION = """\
Scrape cities now: every source (or those named with --source) and the cities' calendar
feeds, stored in the database.

With REDIS_URL set the scrapes are queued for the running workers (start one with
`python -m workers run`); add --wait to wait for them here. A city whose scrape is
already queued or running is left alone. Without REDIS_URL they run here, one city after
another, and a JSON summary per city is printed when they are done.
"""

SCRAPE_EPILOG = """\
examples:
  python -m workers scrape ny--new-york
  python -m workers scrape il--chicago ca--san-francisco --source luma --wait
  python -m workers scrape --all             every city (what the daily schedule does)

To watch a scrape's progress in this shell, use `python -m scrapers scrape CITY_ID`.
"""

CLEANUP_DESCRIPTION = """\
Delete the events that ended more than DAYS days ago (OLD_EVENT_DAYS by default), as the
daily cleanup does. With REDIS_URL set the job is queued for the workers (--wait to wait
for it); without, it runs here and prints how many events it deleted.
"""

CLEANUP_EPILOG = """\
examples:
  python -m workers cleanup
  python -m workers cleanup --days 7
"""


async def _run_jobs(jobs: list[tuple[str, dict[str, Any]]], *, wait: bool) -> int:
    from nocturne import queue
    from workers.main import in_process

    queue.install(in_process)  # the job-id rule (scrape:<city>), and the runner without Redis
    wait = wait or not settings.redis_url
    status = 0
    try:
        for job, kwargs in jobs:
            label = f"{job} {json.dumps(kwargs)}" if kwargs else job
            job_id = await queue.enqueue(job, **kwargs)
            if job_id is None:
                print(f"{label}: already queued or running, left alone", file=sys.stderr)
                continue
            if not wait:
                print(f"{label}: queued as {job_id}", file=sys.stderr)
                continue
            try:
                result = await queue.result(job_id)
            except Exception as exc:  # what the job raised, reported as the exit status
                print(f"{label}: failed: {exc}", file=sys.stderr)
                status = 1
                continue
            print(json.dumps(result, indent=2, default=str))
            if isinstance(result, dict) and (result.get("error") or result.get("failed_sources")):
                status = 1
        if not settings.redis_url:
            await in_process.wait_idle()  # what the jobs queued in turn (every city's scrape)
    finally:
        await queue.shutdown()
    return status


def scrape(args: argparse.Namespace) -> int:
    if args.all == bool(args.city):
        print("error: name CITY_IDs or use --all (not both)", file=sys.stderr)
        return 2
    if args.all and args.sources:
        print("error: --source applies to named cities, not --all", file=sys.stderr)
        return 2
    unknown = [c for c in args.city if get_city(c) is None]
    if unknown:
        print(f"error: unknown city {', '.join(unknown)}", file=sys.stderr)
        return 2
    jobs: list[tuple[str, dict[str, Any]]]
    if args.all:
        jobs = [("scrape_all", {})]
    else:
        extra = {"sources": args.sources} if args.sources else {}
        jobs = [("scrape_city", {"city_id": c, **extra}) for c in dict.fromkeys(args.city)]
    return asyncio.run(_run_jobs(jobs, wait=args.wait))


def cleanup(args: argparse.Namespace) -> int:
    kwargs = {} if args.days is None else {"days": args.days}
    return asyncio.run(_run_jobs([("cleanup_old_events", kwargs)], wait=args.wait))


def register(subparsers: Any) -> None:
    """Add ``scrape`` and ``cleanup`` to ``python -m workers``."""
    parser = subparsers.add_parser(
        "scrape",
        help="scrape cities now (queued for the workers, or run here without Redis)",
        description=SCRAPE_DESCRIPTION,
        epilog=SCRAPE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("city", nargs="*", metavar="CITY_ID", help="e.g. ny--new-york")
    parser.add_argument("--all", action="store_true", help="every city")
    parser.add_argument(
        "--source",
        dest="sources",
        action="append",
        choices=SOURCE_NAMES,
        metavar="SOURCE",
        help=f"only this source (repeatable; default: all): {', '.join(SOURCE_NAMES)}",
    )
    parser.add_argument("--wait", action="store_true", help="wait for the workers to finish")
    parser.set_defaults(handler=scrape)

    parser = subparsers.add_parser(
        "cleanup",
        help="delete events that ended long ago",
        description=CLEANUP_DESCRIPTION,
        epilog=CLEANUP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--days", type=int, metavar="DAYS", help="default: OLD_EVENT_DAYS")
    parser.add_argument("--wait", action="store_true", help="wait for the workers to finish")
    parser.set_defaults(handler=cleanup)
