"""Home page: the map, a searchable city list and the digest form."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import reflex as rx

from nocturne.cities import CITIES
from nocturne.components.layout import page
from nocturne.components.subscribe import subscribe_form
from nocturne.components.us_map import POINTS, MapCity, dot_radius, us_map
from nocturne.crud import upcoming_counts
from nocturne.db import session_scope
from nocturne.state import BaseState

log = logging.getLogger(__name__)


@dataclass
class CityOption:
    id: str
    name: str
    state: str
    upcoming: int


def _counts() -> dict[str, int]:
    with session_scope() as session:
        return upcoming_counts(session=session, after_dark=True)


class IndexState(BaseState):
    cities: list[MapCity] = [
        MapCity(c.id, c.name, c.state, 0, *POINTS[c.id], dot_radius(0)) for c in CITIES
    ]
    query: str = ""
    error: str = ""

    @rx.event
    async def load_cities(self) -> None:
        """on_load: coming events per city, for the dots and the list."""
        try:
            counts = await asyncio.to_thread(_counts)
        except Exception:
            log.exception("counting events per city failed")
            self.error = "Event counts are unavailable just now."
            counts = {}
        self.cities = [
            MapCity(
                c.id,
                c.name,
                c.state,
                counts.get(c.id, 0),
                *POINTS[c.id],
                dot_radius(counts.get(c.id, 0)),
            )
            for c in CITIES
        ]

    @rx.event
    def set_query(self, value: str) -> None:
        self.query = value

    @rx.var
    def visible_cities(self) -> list[MapCity]:
        q = self.query.strip().lower()
        found = [
            c for c in self.cities
            if not q or q in c.name.lower() or q in c.id or q == c.state.lower()
        ]  # fmt: skip
        return sorted(found, key=lambda c: (-c.upcoming, c.name))


def _city_row(city: rx.Var[MapCity]) -> rx.Component:
    return rx.el.li(
        rx.el.a(
            rx.el.span(city.name, class_name="nc-city-name"),
            rx.el.span(city.state, class_name="nc-city-state"),
            rx.el.span(
                city.upcoming.to_string(), class_name="nc-city-count", title="after-dark events"
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
                "gathered live from Eventbrite, Meetup and Luma. Pick a city.",
                class_name="nc-hero-text",
            ),
            class_name="nc-hero",
        ),
        rx.el.div(
            us_map(IndexState.cities),
            rx.el.section(
                rx.el.label(
                    rx.el.span("Find a city", class_name="nc-label"),
                    rx.el.input(
                        type="search",
                        placeholder="Search 49 cities",
                        value=IndexState.query,
                        on_change=IndexState.set_query,
                        class_name="nc-input",
                        id="city-search",
                    ),
                ),
                rx.cond(IndexState.error != "", rx.el.p(IndexState.error, class_name="nc-error")),
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
