"""Preview a city's weekly email digest, or send the digests now.

examples:
  python -m workers digest --city il--chicago --preview out.html   # render, send nothing
  python -m workers digest --send                                  # the due cities now
  python -m workers digest --send --city il--chicago [--week 2026-11-23]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session

from nocturne.cities import get_city
from nocturne.db import get_engine
from nocturne.models import utcnow
from nocturne.settings import settings
from workers.email import digest as store
from workers.email.render import render_digest, with_unsubscribe


def register(subparsers: Any) -> None:
    """Add the ``digest`` subcommand to ``python -m workers``."""
    parser = subparsers.add_parser(
        "digest",
        help="preview or send the weekly email digests",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--city", help="a city id, e.g. il--chicago")
    parser.add_argument("--week", type=date.fromisoformat, help="the week's Monday, YYYY-MM-DD")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--preview", type=Path, metavar="OUT.html", help="render, don't send")
    action.add_argument("--send", action="store_true", help="send (to the due cities by default)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.city and get_city(args.city) is None:
        print(f"unknown city id {args.city!r}", file=sys.stderr)
        return 2
    if args.preview:
        if not args.city:
            print("--preview needs --city", file=sys.stderr)
            return 2
        return preview(city_id=args.city, week=args.week, out=args.preview)
    return asyncio.run(send(city_id=args.city, week=args.week))


def preview(*, city_id: str, week: date | None, out: Path) -> int:
    """Render the digest the city would get now (HTML to ``out``, text beside it)."""
    from workers.jobs.email import city_url

    now = utcnow()
    week = week or store.week_start(city_id, now)
    city = get_city(city_id)
    assert city is not None
    with Session(get_engine(settings.database_url)) as session:
        issue = store.get_issue(session=session, city_id=city_id, week=week)
        cards = (
            issue.events
            if issue is not None
            else store.issue_cards(session=session, city_id=city_id, week=week, now=now)
        )
    rendered = with_unsubscribe(
        render_digest(
            city_name=city.name, week_start=week, cards=cards, city_url=city_url(city_id)
        ),
        "#unsubscribe-preview",
    )
    out.write_text(rendered.html, encoding="utf-8")
    out.with_suffix(".txt").write_text(rendered.text, encoding="utf-8")
    frozen = "frozen issue" if issue is not None else "not frozen yet"
    print(f"{rendered.subject} ({len(cards)} events, {frozen}) -> {out}")
    return 0


async def send(*, city_id: str | None, week: date | None) -> int:
    """Run ``send_weekly_digests`` with a progress bar; prints the summary as JSON."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from workers.jobs.email import send_weekly_digests

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=False,
    ) as bar:
        tasks: dict[str, Any] = {}

        def progress(cid: str, done: int, total: int) -> None:
            if cid not in tasks:
                tasks[cid] = bar.add_task(cid, total=total)
            bar.update(tasks[cid], completed=done)

        summary = await send_weekly_digests(
            {"engine": get_engine(settings.database_url), "progress": progress},
            city_id=city_id,
            week=week,
        )
    print(json.dumps(summary, indent=2, default=str))
    if not summary:
        print("no city is due (Monday, local hour) with subscribers and an unsent issue")
    return 1 if any("error" in s for s in summary.values()) else 0
