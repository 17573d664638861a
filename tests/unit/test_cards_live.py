"""Live cards on the city page's state: an "events" message puts each new card under its
night in date order (not at the end), staggered, and the chart and tag chips count it."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from nocturne import cards
from nocturne.pages.city import CityState, TagChip, day_count

CITY = "tx--austin"
TZ = ZoneInfo("America/Chicago")


def _card(id_: int, start: datetime, **extra: Any) -> dict[str, Any]:
    local_date, local_time = start.date().isoformat(), start.strftime("%H:%M")
    return {
        "id": id_,
        "title": f"Event {id_}",
        "start_at": start.isoformat(),
        "local_date": local_date,
        "local_time": local_time,
        "night": cards.night_of(local_date, local_time),
        "status": "scheduled",
        "is_online": False,
        "is_free": False,
        "sources": ["luma"],
        "tags": ["music"],
        "after_dark": True,
        "age": "",
        "fresh": False,
        "delay": "0ms",
        **extra,
    }


def _state(listed: list[dict[str, Any]], first_day: date) -> CityState:
    state = CityState(_reflex_internal_init=True)  # type: ignore[call-arg]
    state.city_id, state.view = CITY, "after-dark"
    state.days = cards.day_groups(listed, now=datetime.now(TZ))  # type: ignore[assignment]
    state.chart = [day_count(first_day + timedelta(days=i), 1) for i in range(14)]
    state.tag_chips = [TagChip(tag="music", label="Music", count=len(listed))]
    return state


def test_events_take_their_place_and_are_counted() -> None:
    day = datetime.now(TZ).date() + timedelta(days=1)

    def at(days: int, hour: int) -> datetime:
        return datetime.combine(day + timedelta(days=days), time(hour), TZ)

    listed = [_card(1, at(0, 21)), _card(2, at(3, 21)), _card(3, at(5, 22))]
    state = _state(listed, day)
    arrived = [
        _card(10, at(5, 20)),  # before card 3, same night
        _card(11, at(3, 23), tags=["comedy"], after_dark=False),  # listed on Everything only
        _card(12, at(1, 2)),  # 2 AM: the first night's
        _card(2, at(3, 21)),  # listed already
    ]
    state._apply_message({"type": "events", "events": arrived})

    ids = [[c["id"] for c in g["cards"]] for g in state.days]
    assert ids == [[1, 12], [2], [10, 3]]
    fresh = {c["id"]: c["delay"] for g in state.days for c in g["cards"] if c["fresh"]}
    assert fresh == {10: "0ms", 12: "120ms"}
    counts = {bar["date"]: bar["count"] for bar in state.chart}
    # The chart counts after-dark events by start date, whatever the view.
    assert counts[at(5, 0).date().isoformat()] == 2
    assert counts[at(1, 0).date().isoformat()] == 2
    assert counts[at(3, 0).date().isoformat()] == 1  # card 11 is not after dark
    assert state.tag_chips == [TagChip(tag="music", label="Music", count=5)]
    assert state.event_count == 5

    # Nothing new: the same message again changes nothing.
    before = (list(state.days), list(state.chart), list(state.tag_chips))
    state._apply_message({"type": "events", "events": arrived})
    assert (state.days, state.chart, state.tag_chips) == before
