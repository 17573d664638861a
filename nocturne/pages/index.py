"""Home page: the map, a searchable city list, the first run's progress and the digest form."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import reflex as rx

from nocturne import live
from nocturne.autofill import PROGRESS_CHANNEL, FillProgress, fill_progress
from nocturne.cities import CITIES, search_cities
from nocturne.components.layout import page
from nocturne.components.subscribe import subscribe_form
from nocturne.components.us_map import MapCity, map_city, us_map
from nocturne.crud import upcoming_counts
from nocturne.db import session_scope
from nocturne.pages.city import _tab_connected
from nocturne.settings import settings
from nocturne.state import BaseState
from scrapers.sites import GATHERED_FROM

log = logging.getLogger(__name__)


@dataclass
class CityOption:
    id: str
    name: str
    state: str
    upcoming: int


# A fill listener with no message re-checks this often that its tab is still open.
WATCH_CHECK_SECONDS = 5.0


def _counts() -> dict[str, int]:
    with session_scope() as session:
        return upcoming_counts(session=session, after_dark=True)


def _progress() -> FillProgress | None:
    """How far the first run has come, while AUTOFILL is on and it is not done."""
    if not settings.autofill:
        return None
    with session_scope() as session:
        progress = fill_progress(session=session)
    return None if progress.complete else progress


def _map_cities(counts: dict[str, int]) -> list[MapCity]:
    return [
        map_city(city_id=c.id, name=c.name, state=c.state, upcoming=counts.get(c.id, 0))
        for c in CITIES
    ]


# The generation of the fill listener each tab (client token) started last in this process.
_fill_watch: dict[str, int] = {}


class IndexState(BaseState):
    cities: list[MapCity] = _map_cities({})
    query: str = ""
    error: str = ""
    # The first run: cities scraped at least once, of how many; 0 of 0 once it is done.
    filled: int = 0
    fill_total: int = 0
    _fill_gen: int = 0

    @rx.event
    async def load_cities(self) -> Any:
        """on_load: coming events per city, for the dots and the list; while the first run
        gathers events, its progress, kept up to date as each city comes in."""
        try:
            counts = await asyncio.to_thread(_counts)
        except Exception:
            log.exception("counting events per city failed")
            self.error = "Event counts are unavailable just now."
            counts = {}
        self.cities = _map_cities(counts)
        progress = await self._read_progress()
        if progress is None:
            return None
        self._fill_gen += 1
        _fill_watch[self.router.session.client_token] = self._fill_gen
        return IndexState.watch_fill(self._fill_gen)

    async def _read_progress(self) -> FillProgress | None:
        try:
            progress = await asyncio.to_thread(_progress)
        except Exception:
            log.exception("reading the first run's progress failed")
            progress = None
        self.filled, self.fill_total = (progress.done, progress.total) if progress else (0, 0)
        return progress

    @rx.event(background=True)
    async def watch_fill(self, generation: int) -> None:
        """Each city the first run finishes: its count and the progress, until all are in
        or the tab leaves."""
        async with self:
            token = self.router.session.client_token
        try:
            async with live.subscribe(PROGRESS_CHANNEL) as messages:
                # What finished before the subscription is read once here.
                pending = True
                while True:
                    if pending:
                        counts = await asyncio.to_thread(_counts)
                        async with self:
                            if self._fill_gen != generation:
                                return
                            self.cities = _map_cities(counts)
                            if await self._read_progress() is None:
                                return
                    message = await messages.get(timeout=WATCH_CHECK_SECONDS)
                    if message is None:
                        pending = False
                        if _fill_watch.get(token) != generation or not _tab_connected(token):
                            return
                        continue
                    await messages.pending(100)  # one read for a burst of cities
                    pending = True
        except Exception:
            log.exception("following the first run failed")
        finally:
            if _fill_watch.get(token) == generation:
                del _fill_watch[token]

    @rx.event
    def set_query(self, value: str) -> None:
        self.query = value

    @rx.event
    def open_first(self, form_data: dict[str, Any]) -> Any:
        """Enter in the search box: the best match's city page, or the no-match line."""
        self.query = str(form_data.get("q", self.query))
        found = search_cities(query=self.query)
        return rx.redirect("/city/" + found[0].id) if found else None

    @rx.var
    def visible_cities(self) -> list[MapCity]:
        """Every city, most after-dark events first; while searching, the matches, best first."""
        if not self.query.strip():
            return sorted(self.cities, key=lambda c: (-c.upcoming, c.name))
        by_id = {c.id: c for c in self.cities}
        return [by_id[c.id] for c in search_cities(query=self.query) if c.id in by_id]


def _city_row(city: rx.Var[MapCity]) -> rx.Component:
    return rx.el.li(
        rx.el.a(
            rx.el.span(city.name, class_name="nc-city-name"),
            rx.el.span(city.state, class_name="nc-city-state"),
            rx.el.span(
                rx.el.span(city.upcoming.to_string(), class_name="nc-city-count"),
                " after dark",
                class_name="nc-city-tally",
                title="coming events after dark",
            ),
            href="/city/" + city.id,
            class_name="nc-city-link",
            data_city_link=city.id,
        ),
    )


@rx.page(route="/", title="Nocturne — underground events", on_load=IndexState.load_cities)
def index() -> rx.Component:
    return page(
        rx.el.section(
            rx.el.h1("After dark, off the grid.", class_name="nc-hero-title"),
            rx.el.p(
                "Warehouse raves, DIY shows, art nights and meetups in 49 American cities, "
                f"gathered live from {GATHERED_FROM}. Pick a city.",
                class_name="nc-hero-text",
            ),
            class_name="nc-hero",
        ),
        rx.el.div(
            us_map(IndexState.cities),
            rx.el.section(
                rx.el.form(
                    rx.el.label(
                        rx.el.span("Find a city", class_name="nc-label"),
                        rx.el.input(
                            type="search",
                            name="q",
                            placeholder="Search 49 cities: nyc, philly, sf…",
                            value=IndexState.query,
                            on_change=IndexState.set_query,
                            auto_complete="off",
                            class_name="nc-input",
                            id="city-search",
                        ),
                        html_for="city-search",
                    ),
                    on_submit=IndexState.open_first,
                    role="search",
                ),
                rx.el.p(
                    rx.cond(
                        (IndexState.query.strip() != "")
                        & (IndexState.visible_cities.length() == 0),
                        "No city matches “" + IndexState.query.strip() + "”.",
                        "",
                    ),
                    class_name="nc-note",
                    role="status",
                    id="city-search-status",
                ),
                rx.cond(IndexState.error != "", rx.el.p(IndexState.error, class_name="nc-error")),
                rx.cond(
                    IndexState.fill_total > 0,
                    rx.el.p(
                        "Gathering events: ",
                        IndexState.filled.to_string(),
                        " of ",
                        IndexState.fill_total.to_string(),
                        " cities",
                        class_name="nc-note",
                        role="status",
                        id="fill-progress",
                    ),
                ),
                rx.el.ul(
                    rx.foreach(IndexState.visible_cities, _city_row),
                    class_name="nc-city-list",
                    aria_label="Cities",
                ),
                class_name="nc-panel nc-cities",
                id="cities",
                aria_label="Cities",
            ),
            class_name="nc-home-grid",
        ),
        subscribe_form(),
    )
