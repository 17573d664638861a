"""The first run: which cities still want their first scrape, and how far it has come.

A city is gathered once a scrape of it ended: some run of it finished before any run still
"running" began. A first scrape under way (one source done, another still fetching) is
not gathered yet, nor one a stop cut short (its runs left "running"), so a restart queues
it again; a refresh of a gathered city leaves it gathered. The jobs that fill the cities
live in ``workers.jobs.autofill``; they announce each finished city on the live channel
:data:`PROGRESS_CHANNEL`, which the home page hears.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from nocturne.cities import CITIES
from nocturne.models import ScrapeRun

# A live channel beside the cities' own (nocturne.live takes any name): one message,
# {"type": "city_filled", "filled": <city id>}, per city whose first scrape ended.
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


def gathered_city_ids(*, session: Session, city_id: str | None = None) -> set[str]:
    """Cities (or just ``city_id``) a scrape of which has ended (see the module's docstring)."""
    is_running = col(ScrapeRun.status) == "running"
    running_since = func.min(case((is_running, ScrapeRun.started_at)))
    stmt = select(ScrapeRun.city_id, func.min(ScrapeRun.finished_at), running_since).group_by(
        ScrapeRun.city_id
    )
    if city_id is not None:
        stmt = stmt.where(ScrapeRun.city_id == city_id)
    return {
        city
        for city, first_end, running in session.exec(stmt)
        if first_end is not None and (running is None or first_end <= running)
    }


def cities_to_fill(*, session: Session) -> list[str]:
    """Ids of the cities not gathered yet: the biggest first, then in catalogue order."""
    gathered = gathered_city_ids(session=session)
    order = dict.fromkeys([*BIGGEST, *(c.id for c in CITIES)])
    return [city_id for city_id in order if city_id not in gathered]


def was_gathered(*, session: Session, city_id: str) -> bool:
    """Whether a scrape of ``city_id`` ever ended."""
    return city_id in gathered_city_ids(session=session, city_id=city_id)


def fill_progress(*, session: Session) -> FillProgress:
    """How many of the catalogue's cities have been gathered."""
    known = {c.id for c in CITIES}
    return FillProgress(len(gathered_city_ids(session=session) & known), len(known))
