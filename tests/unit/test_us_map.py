"""The home map's layout: every city's dot has its own target, near where the city is."""

from __future__ import annotations

import itertools
import math

from nocturne.cities import CITIES
from nocturne.components.us_map import (
    ANCHORS,
    HEIGHT,
    MIN_PHONE_WIDTH,
    POINTS,
    TARGET,
    WIDTH,
    dot_radius,
    map_city,
    spread,
)


def test_every_city_has_a_point_and_no_two_targets_overlap() -> None:
    assert set(POINTS) == {c.id for c in CITIES}
    # Before: New York and Brooklyn (and San Francisco and Oakland) share a spot.
    assert math.dist(ANCHORS["ny--new-york"], ANCHORS["ny--brooklyn"]) < 2
    assert math.dist(ANCHORS["ca--san-francisco"], ANCHORS["ca--oakland"]) < 4
    for a, b in itertools.combinations(POINTS, 2):
        assert math.dist(POINTS[a], POINTS[b]) >= TARGET, (a, b)
    half = TARGET / 2
    for x, y in POINTS.values():
        assert half <= x <= WIDTH - half and half <= y <= HEIGHT - half


def test_dots_stay_near_their_city_and_lone_cities_do_not_move() -> None:
    for city_id, anchor in ANCHORS.items():
        assert math.dist(anchor, POINTS[city_id]) < 2 * TARGET, city_id
    assert POINTS["hi--honolulu"] == ANCHORS["hi--honolulu"]
    assert POINTS["co--denver"] == ANCHORS["co--denver"]


def test_a_phone_target_is_at_least_24_css_px() -> None:
    assert TARGET * MIN_PHONE_WIDTH / WIDTH >= 24


def test_spread_is_pure_and_handles_points_on_one_spot() -> None:
    same = {"a": (100.0, 100.0), "b": (100.0, 100.0), "c": (100.0, 100.0)}
    out = spread(same, gap=30)
    assert out == spread(dict(same), gap=30)
    assert same == {"a": (100.0, 100.0), "b": (100.0, 100.0), "c": (100.0, 100.0)}
    for p, q in itertools.combinations(out.values(), 2):
        assert math.dist(p, q) >= 29.9


def test_dots_never_outgrow_their_target() -> None:
    assert dot_radius(0) >= 4
    assert dot_radius(10_000) <= TARGET / 2
    assert dot_radius(30) > dot_radius(0)
    nyc = map_city(city_id="ny--new-york", name="New York", state="NY", upcoming=24)
    assert (nyc.x, nyc.y) == POINTS["ny--new-york"] and (nyc.ax, nyc.ay) == ANCHORS["ny--new-york"]
    assert map_city(city_id="wa--seattle", name="S", state="WA", upcoming=0).label_anchor == "start"
    assert map_city(city_id="ma--boston", name="B", state="MA", upcoming=0).label_anchor == "end"
