"""Scrape runs: one row per (city, source) scrape, opened when it starts, closed when it ends."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from nocturne.models import ScrapeRun, utcnow


def start_scrape_run(*, session: Session, city_id: str, source: str) -> ScrapeRun:
    run = ScrapeRun(city_id=city_id, source=source)
    session.add(run)
    session.flush()
    return run


def finish_scrape_run(
    *,
    session: Session,
    run: ScrapeRun,
    status: str,
    found: int = 0,
    new: int = 0,
    updated: int = 0,
    dropped: int = 0,
    error: str | None = None,
) -> ScrapeRun:
    run.status, run.found, run.new, run.updated = status, found, new, updated
    run.dropped, run.error, run.finished_at = dropped, error, utcnow()
    session.add(run)
    session.flush()
    return run


def last_scrape_runs(*, session: Session, city_id: str | None = None) -> list[ScrapeRun]:
    """The newest finished run per (city, source)."""
    newest = (
        select(ScrapeRun.city_id, ScrapeRun.source, func.max(ScrapeRun.id).label("id"))
        .where(ScrapeRun.finished_at.is_not(None))  # type: ignore[union-attr]
        .group_by(ScrapeRun.city_id, ScrapeRun.source)
    )
    if city_id:
        newest = newest.where(ScrapeRun.city_id == city_id)
    ids = [run_id for _, _, run_id in session.exec(newest)]
    if not ids:
        return []
    return list(session.exec(select(ScrapeRun).where(col(ScrapeRun.id).in_(ids))))


def close_abandoned_scrape_runs(
    *, session: Session, city_id: str, now: datetime | None = None
) -> int:
    """Mark a city's still-"running" runs failed. Call only while holding the city's scrape
    lock: any running run then belongs to a worker that died mid-scrape."""
    runs = session.exec(
        select(ScrapeRun).where(ScrapeRun.city_id == city_id, ScrapeRun.status == "running")
    ).all()
    for run in runs:
        run.status, run.finished_at = "failed", now or utcnow()
        run.error = "abandoned: the worker stopped before the scrape finished"
    session.flush()
    return len(runs)
