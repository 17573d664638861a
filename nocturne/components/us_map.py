"""The United States with a dot per city, sized by its coming events.

The state shapes are a static SVG in assets/ and the city points a JSON next to this
module, both drawn once by scripts/build_us_map.mjs with Albers USA, so the browser gets
no map library and no topology to project.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import reflex as rx

POINTS: dict[str, tuple[float, float]] = {
    k: (v[0], v[1])
    for k, v in json.loads((Path(__file__).with_name("us_map_points.json")).read_text()).items()
}
WIDTH, HEIGHT = 975, 610


@dataclass
class MapCity:
    id: str
    name: str
    state: str
    upcoming: int
    x: float
    y: float
    r: float


def dot_radius(upcoming: int) -> float:
    """Area grows with the count; an empty city is still a visible, clickable dot."""
    return round(min(22.0, 4.0 + 1.6 * math.sqrt(upcoming)), 1)


# Enter and Space act as a click, in the browser alone (SVG shapes have no key events in Reflex).
_KEY_CLICK = rx.Var(
    "((e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); "
    "e.currentTarget.dispatchEvent(new MouseEvent('click', {bubbles: true})); } })"
)


def us_map(cities: rx.Var[list[MapCity]]) -> rx.Component:
    """The map; a dot opens its city page on click, Enter or Space."""
    return rx.el.div(
        rx.el.svg(
            rx.el.svg.image(href="/us-states.svg", x="0", y="0", width=WIDTH, height=HEIGHT),
            rx.foreach(
                cities,
                lambda c: rx.el.svg.circle(
                    rx.el.svg.title(
                        c.name + ", " + c.state + ": " + c.upcoming.to_string() + " after dark"
                    ),
                    cx=c.x.to_string(),
                    cy=c.y.to_string(),
                    r=c.r.to_string(),
                    class_name="nc-dot",
                    tab_index=0,
                    role="link",
                    aria_label=c.name + ", " + c.upcoming.to_string() + " coming events after dark",
                    data_city_id=c.id,
                    on_click=rx.redirect("/city/" + c.id),
                    custom_attrs={"onKeyDown": _KEY_CLICK},
                ),
            ),
            view_box=f"0 0 {WIDTH} {HEIGHT}",
            class_name="nc-map-svg",
            role="group",
            aria_label="Map of cities; each dot opens a city",
        ),
        class_name="nc-map",
    )
