"""``python -m workers status``: queued and running jobs, worker health, last run per city."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import datetime
from typing import Any

from nocturne.cities import CITIES
from nocturne.crud import last_scrape_runs
from nocturne.db import session_scope
from nocturne.models import utcnow
from nocturne.settings import settings
from scrapers.sites import CITY_SOURCES as SOURCES


async def arq_jobs(redis_url: str) -> dict[str, Any]:
    """Queued and running jobs read from arq's own keys, plus the workers' health lines."""
    from arq.connections import RedisSettings, create_pool
    from arq.constants import (
        default_queue_name,
        health_check_key_suffix,
        in_progress_key_prefix,
        job_key_prefix,
    )
    from arq.jobs import deserialize_job

    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    try:
        queued: list[dict[str, Any]] = []
        running: list[dict[str, Any]] = []
        now_ms = utcnow().timestamp() * 1000
        for raw_id, score in await pool.zrange(default_queue_name, 0, -1, withscores=True):
            job_id = raw_id.decode()
            data = await pool.get(job_key_prefix + job_id)
            if data is None:
                continue
            job = deserialize_job(data)
            row = {
                "job_id": job_id,
                "function": job.function,
                "args": list(job.args),
                "kwargs": job.kwargs,
                "try": job.job_try or 1,
                "enqueued": job.enqueue_time.isoformat(),
                "due_in_s": max(0.0, round((score - now_ms) / 1000, 1)),
            }
            in_progress = await pool.exists(in_progress_key_prefix + job_id)
            (running if in_progress else queued).append(row)
        health = await pool.get(default_queue_name + health_check_key_suffix)
        return {
            "queued": queued,
            "running": running,
            "worker_health": health.decode() if health else None,
        }
    finally:
        await pool.aclose()


def last_runs() -> dict[str, dict[str, dict[str, Any]]]:
    """The newest finished ScrapeRun of each city and source."""
    with session_scope() as session:
        runs = last_scrape_runs(session=session)
    table: dict[str, dict[str, dict[str, Any]]] = {}
    for run in runs:
        table.setdefault(run.city_id, {})[run.source] = {
            "status": run.status,
            "found": run.found,
            "new": run.new,
            "updated": run.updated,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "error": run.error,
        }
    return table


def _ago(iso: str | None) -> str:
    if not iso:
        return "-"
    seconds = (utcnow() - datetime.fromisoformat(iso)).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size:.0f}{unit} ago"
    return f"{seconds:.0f}s ago"


def _print(report: dict[str, Any]) -> None:
    if report["mode"] == "embedded":
        print("Mode: embedded (no REDIS_URL): jobs run inside the app process.")
    else:
        print(f"Mode: arq on {report['redis']}")
        print(f"Worker health: {report['worker_health'] or 'no worker has reported'}")
        for title in ("running", "queued"):
            jobs = report[title]
            print(f"{title.capitalize()} jobs: {len(jobs)}")
            for job in jobs:
                params = ", ".join(
                    [*map(repr, job["args"]), *(f"{k}={v!r}" for k, v in job["kwargs"].items())]
                )
                print(f"  {job['job_id']:<32} {job['function']}({params}) try {job['try']}")
    print()
    print(f"{'city':<24}" + "".join(f"{s:<28}" for s in SOURCES))
    for city in CITIES:
        runs = report["last_runs"].get(city.id, {})
        if not runs and not report.get("all_cities"):
            continue
        cells = []
        for source in SOURCES:
            run = runs.get(source)
            cells.append(
                f"{run['status']} {run['found']}/+{run['new']} {_ago(run['finished_at'])}"
                if run
                else "never"
            )
        print(f"{city.id:<24}" + "".join(f"{c:<28}" for c in cells))
    if not report["last_runs"]:
        print("(no scrape has finished yet)")


def run(args: argparse.Namespace) -> int:
    report: dict[str, Any] = {
        "mode": "arq" if settings.redis_url else "embedded",
        "last_runs": last_runs(),
        "all_cities": args.all,
    }
    if settings.redis_url:
        from redis.connection import parse_url

        report["redis"] = {
            k: v for k, v in parse_url(settings.redis_url).items() if k != "password"
        }
        report.update(asyncio.run(arq_jobs(settings.redis_url)))
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        _print(report)
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "status",
        help="queued and running jobs, and the last scrape of each city",
        description=(
            "Show the jobs queued and running (with REDIS_URL: read from Redis, with the\n"
            "workers' last health report) and, for each city scraped so far, the last run\n"
            "of each source: its outcome, events found/new, and how long ago."
        ),
        epilog="examples:\n  python -m workers status\n  python -m workers status --all --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--all", action="store_true", help="list cities never scraped too")
    parser.set_defaults(handler=run)
