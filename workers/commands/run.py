"""``python -m workers run``: an arq worker with the project's JSON logs (see
``scripts/run_worker.py``), or a health check of the running ones."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from nocturne.settings import settings

DESCRIPTION = """\
Start a worker: it takes jobs (scrapes, digests, cleanup, the shared-database sync) from
the Redis at REDIS_URL and runs the daily and hourly schedule. Run as many as you like,
on any number of machines, against one Redis: a job runs once whichever worker takes it.
Logs are JSON lines on stderr. Ctrl-C (or SIGTERM) stops the worker; running jobs are
given a moment to finish.

Without REDIS_URL there is nothing to start: the app runs every job in its own process.
"""

EPILOG = """\
examples:
  REDIS_URL=redis://localhost:6379/0 python -m workers run
  python -m workers run --burst      run what is queued, then exit
  python -m workers run --check      exit 0 if a worker reported in the last 30 s
"""


def run(args: argparse.Namespace) -> int:
    if not settings.redis_url:
        print(
            "error: REDIS_URL is not set. Workers take their jobs from Redis; without it "
            "the app runs the jobs itself (see `python -m workers --help`).",
            file=sys.stderr,
        )
        return 2
    from arq.worker import check_health, run_worker

    from nocturne.api.logging import configure_logging
    from workers.main import WorkerSettings

    if args.check:
        return check_health(WorkerSettings)  # type: ignore[arg-type]
    configure_logging()
    run_worker(WorkerSettings, burst=args.burst)  # type: ignore[arg-type]
    return 0


def register(subparsers: Any) -> None:
    """Add ``run`` to ``python -m workers``."""
    parser = subparsers.add_parser(
        "run",
        help="start a worker that runs queued and scheduled jobs (needs REDIS_URL)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--burst", action="store_true", help="exit once the queue is empty")
    action.add_argument(
        "--check", action="store_true", help="check that a worker is alive (exit 0) or not (1)"
    )
    parser.set_defaults(handler=run)
