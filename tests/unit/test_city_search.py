"""City search: what people type for a city finds it, best match first."""

from __future__ import annotations

import pytest

from nocturne.cities import ALIASES, CITIES, CITY_BY_ID, search_cities


def first(query: str) -> str | None:
    found = search_cities(query=query)
    return found[0].id if found else None


@pytest.mark.parametrize(
    ("query", "city_id"),
    [
        ("nyc", "ny--new-york"),
        ("NYC ", "ny--new-york"),
        ("sf", "ca--san-francisco"),
        ("la", "ca--los-angeles"),
        ("LA", "ca--los-angeles"),
        ("philly", "pa--philadelphia"),
        ("dc", "dc--washington"),
        ("nola", "la--new-orleans"),
        ("Brooklyn", "ny--brooklyn"),
        ("st louis", "mo--st-louis"),
        ("St. Louis", "mo--st-louis"),
        ("salt-lake-city", "ut--salt-lake-city"),
        ("york", "ny--new-york"),
        ("oak", "ca--oakland"),
    ],
)
def test_names_and_aliases_find_their_city_first(query: str, city_id: str) -> None:
    assert first(query) == city_id


@pytest.mark.parametrize(
    ("query", "city_id"),
    [
        ("philli", "pa--philadelphia"),  # one letter off the alias "philly"
        ("chicgo", "il--chicago"),  # a letter dropped
        ("denvver", "co--denver"),  # a letter added
        ("bostin", "ma--boston"),  # a letter changed
        ("brookyln", "ny--brooklyn"),  # two letters swapped
        ("seatle", "wa--seattle"),
        ("Philadelpha", "pa--philadelphia"),
        ("pjila", "pa--philadelphia"),  # a misspelt beginning
    ],
)
def test_one_letter_off_still_finds_the_city(query: str, city_id: str) -> None:
    assert first(query) == city_id


@pytest.mark.parametrize("query", ["zzzz", "chcgoo", "x", "bostonn city", "dz"])
def test_no_match_is_empty(query: str) -> None:
    assert search_cities(query=query) == []


def test_two_letters_off_is_no_match_for_that_city() -> None:
    assert "il--chicago" not in [c.id for c in search_cities(query="chcgoo")]
    assert "ma--boston" not in [c.id for c in search_cities(query="bstn")]


def test_order_whole_name_then_beginning_then_state() -> None:
    # "la": the alias first, a name that begins so next, the state of Louisiana after.
    ids = [c.id for c in search_cities(query="la")]
    assert ids[0] == "ca--los-angeles"
    assert ids.index("nv--las-vegas") < ids.index("la--new-orleans")
    ny = [c.id for c in search_cities(query="ny")]
    assert ny == ["ny--new-york", "ny--brooklyn"]
    tx = {c.id for c in search_cities(query="tx")}
    assert tx == {c.id for c in CITIES if c.state == "TX"}


def test_empty_query_gives_every_city() -> None:
    assert search_cities(query="  ") == list(CITIES)


def test_every_alias_names_a_known_city_and_finds_it() -> None:
    for alias, city_id in ALIASES.items():
        assert city_id in CITY_BY_ID, alias
        assert first(alias) == city_id, alias


def test_every_city_is_found_by_its_name() -> None:
    for city in CITIES:
        assert first(city.name) == city.id
        assert first(city.name.lower()[:-1] + "q") == city.id  # last letter wrong
