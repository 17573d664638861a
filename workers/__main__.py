"""``python -m workers <command>``: one argparse entry point, a module per command.

Each module under ``workers/commands/`` adds its subcommands with ``register(subparsers)``;
a subcommand's handler takes the parsed args and returns an exit status.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence

from workers import commands

DESCRIPTION = """\
Nocturne's background jobs: scraping cities, sending the weekly email digests and
deleting old events.

With REDIS_URL set, workers started with `run` take the jobs from Redis (start as many
as you like, on any machine), and `scrape` and `cleanup` queue a job for them. Without
REDIS_URL the app runs every job in its own process, and `scrape` and `cleanup` run the
job here, in this shell, and wait for it.

Settings (DATABASE_URL, REDIS_URL, ...) come from the environment or the .env file;
.env.example lists them all. `python -m workers COMMAND --help` explains each command.
"""

EPILOG = """\
examples:
  python -m workers run                       start a worker; Ctrl-C stops it
  python -m workers scrape ny--new-york       scrape New York now
  python -m workers status                    what is queued and running, last scrapes
  python -m workers digest --send             send the digests that are due
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m workers",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the jobs do")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
