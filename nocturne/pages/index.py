"""Home page: pick a city."""

from __future__ import annotations

from dataclasses import dataclass

import reflex as rx

from nocturne.cities import CITIES
from nocturne.crud import upcoming_counts
from nocturne.db import session_scope
from nocturne.state import BaseState


@dataclass
class CityOption:
    id: str
    name: str
    state: str
    upcoming: int


class IndexState(BaseState):
    cities: list[CityOption] = []
    query: str = ""

    @rx.event
    def load_cities(self) -> None:
        with session_scope() as session:
            counts = upcoming_counts(session=session)
        self.cities = [
            CityOption(id=c.id, name=c.name, state=c.state, upcoming=counts.get(c.id, 0))
            for c in CITIES
        ]

    @rx.event
    def set_query(self, value: str) -> None:
        self.query = value

    @rx.var
    def visible_cities(self) -> list[CityOption]:
        q = self.query.strip().lower()
        return [c for c in self.cities if not q or q in c.name.lower() or q in c.id]


def _city_link(city: CityOption) -> rx.Component:
    return rx.link(
        rx.hstack(
            rx.text(city.name, weight="bold"),
            rx.text(city.state, color_scheme="gray"),
            rx.spacer(),
            rx.badge(city.upcoming.to_string() + " coming"),
        ),
        href="/city/" + city.id,
        data_city_id=city.id,
        width="100%",
    )


@rx.page(route="/", title="Nocturne — underground events", on_load=IndexState.load_cities)
def index() -> rx.Component:
    return rx.container(
        rx.vstack(
            rx.heading("NOCTURNE", size="9"),
            rx.text("Underground events in American cities."),
            rx.input(
                placeholder="Search cities",
                value=IndexState.query,
                on_change=IndexState.set_query,
                aria_label="Search cities",
            ),
            rx.vstack(rx.foreach(IndexState.visible_cities, _city_link), width="100%"),
            spacing="4",
        ),
        size="2",
    )
