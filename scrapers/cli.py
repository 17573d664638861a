"""Command line for the scrapers: ``parse`` a saved page, ``scrape`` cities, ``load`` pages.

``scrape`` and ``load`` are the runner's commands (fetch and store); they are declared here
so there is one entry point, and run ``scrapers.runner.scrape_command(args)`` /
``scrapers.runner.load_command(args)``, imported only when used.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scrapers.clean import zone
from scrapers.errors import ScraperError, UnrecognizedPage
from scrapers.event import ScrapedEvent
from scrapers.sites import SITES, detect_site
from scrapers.tags import RULES_VERSION, classify_scraped


def _city_zone(city_id: str) -> str:
    from nocturne.cities import require_city  # the catalogue lives with the app

    return require_city(city_id).timezone


def _parse_command(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read {path}: {exc}", file=sys.stderr)
        return 2
    tz = args.tz
    if tz is None and args.city:
        try:
            tz = _city_zone(args.city)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if tz is not None and zone(tz) is None:
        print(f"error: unknown time zone {tz!r}", file=sys.stderr)
        return 2
    try:
        site = args.site or detect_site(text, args.url or "")
    except UnrecognizedPage:
        print(f"error: {path}: cannot tell which site this is from; use --site", file=sys.stderr)
        return 1
    try:
        chosen = SITES[site]
        url = args.url or chosen.home + "/"
        events = chosen.parse(text, url, tz=tz)
    except ScraperError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    json.dump([_with_verdict(ev) for ev in events], sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


def _with_verdict(event: ScrapedEvent) -> dict[str, Any]:
    """The event's JSON (``tags`` stay the source's, so ``load`` reads it back) with what
    the classifier makes of it under ``classified``."""
    verdict = classify_scraped(event)
    return {
        **event.to_json(),
        "classified": {
            "tags": list(verdict.tags),
            "after_dark": verdict.after_dark,
            "after_dark_reasons": list(verdict.reasons),
            "age": verdict.age,
        },
    }


def _retag_command(args: argparse.Namespace) -> int:
    from nocturne import crud  # the database lives with the app
    from nocturne.db import session_scope

    with session_scope() as session:
        result = crud.retag_events(session=session, everything=args.all)
    summary = {"checked": result.checked, "changed": result.changed, "rules": RULES_VERSION}
    json.dump(summary, sys.stdout)
    sys.stdout.write("\n")
    return 0


def _runner_command(name: str):  # type: ignore[no-untyped-def]
    def run(args: argparse.Namespace) -> int:
        try:
            from scrapers import runner  # type: ignore[attr-defined]
        except ImportError as exc:
            print(f"error: `{args.command}` needs scrapers.runner ({exc})", file=sys.stderr)
            return 2
        return int(getattr(runner, name)(args) or 0)

    return run


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and epilogs as written (examples keep their lines), except that a line
    longer than the terminal is wrapped."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(
            textwrap.fill(line, width, initial_indent=indent, subsequent_indent=indent)
            if len(indent + line) > width and not line.startswith(" ")
            else indent + line
            for line in text.splitlines()
        )


DESCRIPTION = """\
Nocturne's scrapers, from the command line:

  scrape  fetch cities' events from the sources and store them in the database
  load    store the events of pages you saved (or that `parse` printed)
  parse   show what a saved page holds, as JSON, without storing anything
  retag   classify stored events again (tags, after dark, age) after the rules changed

City ids are the state and the city, e.g. ny--new-york, il--chicago, ca--los-angeles (the
app's /cities lists them all). The database is DATABASE_URL, from the environment or the
.env file (default: the app's own SQLite file). `python -m scrapers COMMAND --help`
explains each command.
"""

EPILOG = """\
examples:
  python -m scrapers scrape ny--brooklyn
  python -m scrapers load saved/chicago.html --city il--chicago
  python -m scrapers parse venue.ics --city ny--brooklyn > events.json
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and for the runner to extend)."""
    parser = argparse.ArgumentParser(
        prog="python -m scrapers",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="say which listings a page had that were skipped",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    parse = commands.add_parser(
        "parse",
        help="print a saved page's events as a JSON array",
        description=(
            "Read a saved page, feed or API answer and print its events as JSON. The kind "
            "(Eventbrite, Meetup, Luma, an iCalendar feed, a 19hz table, a page with "
            "schema.org events) is told from the content unless --site says it. Each event "
            "carries `classified`: its tags, after_dark (and why) and age limit."
        ),
        epilog=(
            "examples:\n"
            "  python -m scrapers parse venue.ics --city ny--brooklyn\n"
            "  python -m scrapers parse saved.html --site eventbrite --tz America/Chicago"
        ),
        formatter_class=HelpFormatter,
    )
    parse.add_argument("file", help="saved HTML page, .ics feed or JSON API answer")
    parse.add_argument(
        "--site",
        choices=sorted(SITES),
        metavar="SITE",
        help=f"{', '.join(sorted(SITES))} (default: told from the content)",
    )
    parse.add_argument("--city", metavar="CITY_ID", help="city id; its zone places naive times")
    parse.add_argument("--tz", metavar="ZONE", help="IANA zone for naive times (beats --city)")
    parse.add_argument("--url", help="the page's URL (resolves relative links)")
    parse.set_defaults(handler=_parse_command)

    from scrapers.runner import add_arguments  # scrape and load: the runner's commands

    add_arguments(commands, _runner_command)

    retag = commands.add_parser(
        "retag",
        help="classify stored events again after the tag rules changed",
        description=(
            "Recompute tags, after_dark and age of the stored events classified with older "
            "rules than this version's, or of every event with --all. Nothing "
            "else of an event changes. Prints a JSON summary."
        ),
        epilog="example: python -m scrapers retag --all",
        formatter_class=HelpFormatter,
    )
    retag.add_argument("--all", action="store_true", help="every event, not only stale ones")
    retag.set_defaults(handler=_retag_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    return int(args.handler(args))
