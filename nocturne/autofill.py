"""The first run: which cities still want their first scrape, and how far it has come.

A city counts as scraped once one of its scrape runs has finished (ok, partial or failed
alike). A restart queues again the cities never scraped and those with a run still
"running" (a stop cut their scrape short; a scrape really running elsewhere keeps its job
id, so it is not queued twice). The jobs that fill the cities live in
``workers.jobs.autofill``; they announce each finished city on the live channel
:data:`PROGRESS_CHANNEL`, which the home page hears.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from nocturne.cities import CITIES
from nocturne.models import ScrapeRun

# A live channel beside the cities' own (nocturne.live takes any name): one message,
# {"type": "city_filled", "city_id": ...}, per city whose first scrape finished.
PROGRESS_CHANNEL = "_first-run"
# The ten most populous (2020 census) go first; the catalogue is ordered by region.
BIGGEST = (
    "ny--new-york", "ca--los-angeles", "il--chicago", "tx--houston", "az--phoenix",
    "pa--philadelphia", "tx--san-antonio", "ca--san-diego", "tx--dallas", "ca--san-jose",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class FillProgress:
    done: int
    total: int

    @property
    def complete(self) -> bool:
        return self.done >= self.total


def scraped_city_ids(*, session: Session) -> set[str]:
    """Cities with at least one finished scrape run."""
    stmt = select(ScrapeRun.city_id).where(col(ScrapeRun.finished_at).is_not(None)).distinct()
    return set(session.exec(stmt))


def cities_to_fill(*, session: Session) -> list[str]:
    """Ids of the cities never scraped or cut short: the biggest first, then in catalogue
    order."""
    scraped = scraped_city_ids(session=session)
    running = select(ScrapeRun.city_id).where(ScrapeRun.status == "running").distinct()
    cut_short = set(session.exec(running))
    order = list(dict.fromkeys([*BIGGEST, *(c.id for c in CITIES)]))
    return [c for c in order if c not in scraped or c in cut_short]


def was_scraped(*, session: Session, city_id: str) -> bool:
    """Whether a scrape of ``city_id`` ever finished."""
    stmt = select(ScrapeRun.id).where(
        ScrapeRun.city_id == city_id, col(ScrapeRun.finished_at).is_not(None)
    )
    return session.exec(stmt.limit(1)).first() is not None


def fill_progress(*, session: Session) -> FillProgress:
    """How many of the catalogue's cities have been scraped at least once."""
    known = {c.id for c in CITIES}
    return FillProgress(len(scraped_city_ids(session=session) & known), len(known))
