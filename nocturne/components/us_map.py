"""The United States with a dot per city, sized by its coming after-dark events.

The state shapes are a static SVG in assets/ and the city points a JSON next to this
module, both drawn once by scripts/build_us_map.mjs with Albers USA, so the browser gets
no map library and no topology to project. Cities too close to tell apart (New York and
Brooklyn, San Francisco and Oakland, Baltimore and Washington...) are pushed apart by
:func:`spread` until every dot has its own touch target, each tied to its true place by
a leader line.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import reflex as rx

ANCHORS: dict[str, tuple[float, float]] = {
    k: (v[0], v[1])
    for k, v in json.loads((Path(__file__).with_name("us_map_points.json")).read_text()).items()
}
WIDTH, HEIGHT = 975, 610
# Every dot's touch target is a circle this wide (map units); dots are spread this far
# apart. On a phone the map keeps MIN_PHONE_WIDTH px (it scrolls sideways), so a target
# is at least 34 * 720 / 975 = 25 px across.
TARGET = 34.0
MIN_PHONE_WIDTH = 720


def spread(
    points: dict[str, tuple[float, float]], *, gap: float = TARGET, iterations: int = 500
) -> dict[str, tuple[float, float]]:
    """Each point moved as little as it takes for every two to be ``gap`` apart, inside
    the map. Pure and deterministic: pairs that overlap are pushed apart along the line
    joining them (points on one spot, along a fixed angle), until none overlap."""
    ids = sorted(points)
    pos = {k: list(points[k]) for k in ids}
    half = gap / 2
    for _ in range(iterations):
        moved = False
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                pa, pb = pos[a], pos[b]
                dx, dy = pb[0] - pa[0], pb[1] - pa[1]
                d = math.hypot(dx, dy)
                if d >= gap:
                    continue
                if d < 1e-6:
                    dx, dy, d = math.cos(i), math.sin(i), 1.0
                push = (gap - d) / 2 + 0.05
                ux, uy = dx / d * push, dy / d * push
                pa[0], pa[1] = pa[0] - ux, pa[1] - uy
                pb[0], pb[1] = pb[0] + ux, pb[1] + uy
                for p in (pa, pb):
                    p[0] = min(max(p[0], half), WIDTH - half)
                    p[1] = min(max(p[1], half), HEIGHT - half)
                moved = True
        if not moved:
            break
    return {k: (round(pos[k][0], 1), round(pos[k][1], 1)) for k in ids}


POINTS: dict[str, tuple[float, float]] = spread(ANCHORS, gap=TARGET + 0.2)


@dataclass
class MapCity:
    id: str
    name: str
    state: str
    upcoming: int
    x: float  # where the dot is drawn
    y: float
    r: float
    ax: float  # where the city is: the leader line's other end
    ay: float
    label_anchor: str  # "start", "middle" or "end": the hover label stays on the map


def map_city(*, city_id: str, name: str, state: str, upcoming: int) -> MapCity:
    x, y = POINTS[city_id]
    ax, ay = ANCHORS[city_id]
    anchor = "start" if x < 130 else "end" if x > WIDTH - 130 else "middle"
    return MapCity(city_id, name, state, upcoming, x, y, dot_radius(upcoming), ax, ay, anchor)


def dot_radius(upcoming: int) -> float:
    """Area grows with the count; an empty city is still a visible dot. Never wider than
    its target, so two dots never overlap."""
    return round(min(TARGET / 2 - 1, 4.0 + 1.6 * math.sqrt(upcoming)), 1)


# Enter and Space act as a click, in the browser alone (SVG shapes have no key events in Reflex).
_KEY_CLICK = rx.Var(
    "((e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); "
    "e.currentTarget.dispatchEvent(new MouseEvent('click', {bubbles: true})); } })"
)


def _leader(c: rx.Var[MapCity]) -> rx.Component:
    return rx.el.svg.g(
        rx.el.svg.line(
            x1=c.ax.to_string(),
            y1=c.ay.to_string(),
            x2=c.x.to_string(),
            y2=c.y.to_string(),
            class_name="nc-leader",
        ),
        rx.el.svg.circle(cx=c.ax.to_string(), cy=c.ay.to_string(), r="2", class_name="nc-anchor"),
    )


def _pin(c: rx.Var[MapCity]) -> rx.Component:
    go = rx.redirect("/city/" + c.id)
    label = c.name + ", " + c.state + " · " + c.upcoming.to_string() + " after dark"
    return rx.el.svg.g(
        # The touch target: as wide as TARGET whatever the dot's size.
        rx.el.svg.circle(
            cx=c.x.to_string(),
            cy=c.y.to_string(),
            r=str(TARGET / 2),
            class_name="nc-hit",
            data_hit_city_id=c.id,
            on_click=go,
        ),
        rx.el.svg.circle(
            rx.el.svg.title(label),
            cx=c.x.to_string(),
            cy=c.y.to_string(),
            r=c.r.to_string(),
            class_name="nc-dot",
            tab_index=0,
            role="link",
            aria_label=c.name + ", " + c.upcoming.to_string() + " coming events after dark",
            data_city_id=c.id,
            on_click=go,
            custom_attrs={"onKeyDown": _KEY_CLICK},
        ),
        rx.el.svg.text(
            label,
            x=c.x.to_string(),
            y=(c.y - c.r - 7).to_string(),
            text_anchor=c.label_anchor,
            class_name="nc-dot-label",
            aria_hidden="true",
        ),
        class_name="nc-pin",
    )


def us_map(cities: rx.Var[list[MapCity]]) -> rx.Component:
    """The map; a dot (or the target around it) opens its city page on click, tap, Enter
    or Space; hovering or focusing it shows its name and count."""
    return rx.el.div(
        rx.el.svg(
            rx.el.svg.image(href="/us-states.svg", x="0", y="0", width=WIDTH, height=HEIGHT),
            rx.el.svg.g(rx.foreach(cities, _leader), aria_hidden="true"),
            rx.foreach(cities, _pin),
            view_box=f"0 0 {WIDTH} {HEIGHT}",
            class_name="nc-map-svg",
            role="group",
            aria_label="Map of cities; each dot opens a city",
        ),
        rx.el.p("Swipe the map sideways for every city.", class_name="nc-map-hint"),
        class_name="nc-map",
    )
