"""scrapers.tags: the classifier's interface, and its rules on inline text and the project's
own fixture pages (the real pages are in tests/shared/test_tags_real.py)."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from scrapers.event import ScrapedEvent
from scrapers.sites import SITES
from scrapers.tags import AGES, RULES_VERSION, TAGS, Verdict, classify, classify_scraped

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"
CHICAGO = ZoneInfo("America/Chicago")


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, 11, hour, minute, tzinfo=CHICAGO)


def own_page(site: str, name: str) -> list[ScrapedEvent]:
    page = PAGES / site / name
    spec = json.loads(page.with_name(page.name.rsplit(".", 1)[0] + ".expected.json").read_text())
    now = datetime.fromisoformat(spec["now"]) if spec.get("now") else None
    return SITES[site].parse(page.read_text(encoding="utf-8"), spec["url"], tz=spec["tz"], now=now)


def own_event(site: str, name: str, title: str) -> ScrapedEvent:
    return next(ev for ev in own_page(site, name) if ev.title == title)


def test_the_agreed_vocabulary() -> None:
    assert list(TAGS) == [
        "music",
        "club-night",
        "party",
        "live-show",
        "arts",
        "film",
        "comedy",
        "performance",
        "community",
        "queer",
        "food-drink",
        "outdoors",
        "wellness",
        "tech",
        "business",
        "class",
        "family",
        "online",
    ]
    assert TAGS["food-drink"] == "Food & drink" and TAGS["business"] == "Business & career"
    assert AGES == {"21+": "21+", "18+": "18+", "all-ages": "All ages"}
    assert isinstance(RULES_VERSION, int) and RULES_VERSION >= 1


def test_the_verdict_is_frozen_and_arguments_are_keywords() -> None:
    verdict = classify(title="Techno night", start=at(23))
    assert isinstance(verdict, Verdict)
    with pytest.raises(dataclasses.FrozenInstanceError):
        verdict.after_dark = False  # type: ignore[misc]
    with pytest.raises(TypeError):
        classify("Techno night")  # type: ignore[misc]


def test_every_own_fixture_event_gets_vocabulary_tags_and_a_known_age() -> None:
    pages = [p for p in sorted(PAGES.glob("*/*")) if not p.name.endswith(".expected.json")]
    events = [ev for page in pages for ev in own_page(page.parent.name, page.name)]
    assert len(events) > 50
    for ev in events:
        verdict = classify_scraped(ev)
        assert set(verdict.tags) <= set(TAGS), verdict.tags
        assert len(set(verdict.tags)) == len(verdict.tags)
        assert verdict.age is None or verdict.age in AGES
        assert verdict.reasons or not verdict.after_dark, ev.title  # after dark says why
        assert ev.age is None or ev.age in AGES


def test_a_club_night_says_why_in_the_words_of_the_event_page() -> None:
    verdict = classify(
        title="Low Frequency Society: techno all night",
        venue="Smartbar nightclub",
        start=at(22),
        timezone="America/Chicago",
    )
    assert verdict.after_dark
    assert verdict.reasons[0] == "club night"
    assert set(verdict.reasons) == {"club night", "10 PM", "at a nightclub"}
    assert set(verdict.tags[:2]) == {"club-night", "music"}


def test_the_local_hour_is_read_in_the_city_zone() -> None:
    utc = datetime(2026, 12, 12, 3, 30, tzinfo=ZoneInfo("UTC"))  # 9:30 PM in Chicago
    verdict = classify(title="Zine night", start=utc, timezone="America/Chicago")
    assert "9:30 PM" in verdict.reasons
    assert "3:30 AM" in classify(title="Zine night", start=utc).reasons  # no zone: as given
    assert not any(
        "PM" in r or "AM" in r
        for r in classify(title="Zine night", start=utc, date_only=True).reasons
    )


def test_the_issue_borderline_examples() -> None:
    drinks = classify(
        title="Python devs: drinks",
        venue="Rainbo Club bar",
        start=at(21),
        timezone="America/Chicago",
    )
    assert drinks.after_dark and "tech" in drinks.tags  # a tech meetup that is drinks at 9 PM
    mahjong = classify(title="Mahjong club", venue="Harold Washington Library", start=at(12))
    assert not mahjong.after_dark  # a noon mahjong club is not


def test_a_title_in_another_language() -> None:
    salsa = classify(title="Noche de Salsa y Bachata", venue="La Cueva", start=at(22))
    assert salsa.after_dark and salsa.tags[0] == "music"
    fete = classify(title="Grande Soirée Électro", start=at(23))  # accents folded away
    assert fete.after_dark and {"party", "music"} <= set(fete.tags)
    konzert = classify(title="Konzert im Hof", start=at(19, 30))
    assert konzert.after_dark and "live-show" in konzert.tags


def test_a_title_in_capitals() -> None:
    rave = classify(title="WAREHOUSE TECHNO RAVE", start=at(23))
    assert rave.after_dark and "club-night" in rave.tags[:2]
    fair = classify(title="TECH CAREER FAIR & NETWORKING EXPO", start=at(10))
    assert not fair.after_dark and fair.reasons[0] == "career fair"
    assert classify(title="comedy night", start=at(20)) == classify(
        title="COMEDY NIGHT", start=at(20)
    )


def test_an_event_without_a_description() -> None:
    verdict = classify(title="Stand-up Comedy Showcase", description=None, start=at(20))
    assert verdict.after_dark and verdict.tags[0] == "comedy"
    bare = classify(title="Quarterly update")  # nothing else known: not after dark, no tags
    assert bare == Verdict(tags=(), after_dark=False, reasons=(), age=None)


def test_online_events_are_not_after_dark() -> None:
    verdict = classify(title="Techno production Q&A", start=at(21), is_online=True)
    assert not verdict.after_dark
    assert verdict.reasons[0] == "online only" and "online" in verdict.tags
    webinar = own_event(
        "eventbrite", "jsonld_listing.html", "Grant Writing for Arts Groups (Webinar)"
    )
    assert not classify_scraped(webinar).after_dark


@pytest.mark.parametrize(
    ("site", "page", "title"),
    [
        ("eventbrite", "jsonld_listing.html", "Basement Comedy Hour"),
        ("ical", "venue_feed.ics", "Basement Jazz Session"),
        ("meetup", "gql_event_search.json", "Basement Jazz Jam"),
    ],
)
def test_cancelled_events_keep_their_tags(site: str, page: str, title: str) -> None:
    cancelled = own_event(site, page, title)
    assert cancelled.status == "cancelled"
    verdict = classify_scraped(cancelled)
    assert verdict.tags and verdict.after_dark
    assert classify_scraped(dataclasses.replace(cancelled, status="scheduled")) == verdict


def test_age_from_the_19hz_age_column() -> None:
    events = own_page("19hz", "eventlisting_Texas.html")
    ages = {ev.title: ev.age for ev in events}
    assert ages["Subterranea: Kessler b2b Marisol"] == "21+"
    assert ages["Deep Roots: Dub Night"] == "18+"
    assert ages["New Year Recovery Picnic"] == "all-ages"
    assert ages["Vinyl Swap & Listening Session"] is None  # the row states no age
    for ev in events:
        assert classify_scraped(ev).age == ev.age


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("Doors at 10. 21+ with valid ID", "21+"),
        ("Strictly 21 and over", "21+"),
        ("18+ show, bar with ID", "18+"),
        ("This show is ALL AGES", "all-ages"),
        ("An all-ages matinee", "all-ages"),
        ("Tickets $21+ at the door", None),  # a price, not an age
        ("Celebrating 21 years of house music", None),
        ("", None),
    ],
)
def test_age_from_the_text(text: str, age: str | None) -> None:
    assert classify(title="Night out", description=text or None).age == age


def test_a_stated_age_wins_over_the_text() -> None:
    verdict = classify(title="Matinee (all ages)", age="21+")
    assert verdict.age == "21+"
    assert classify(title="Matinee", source_tags=["techno", "18+"]).age == "18+"


def test_source_categories_decide_when_the_title_says_nothing() -> None:
    bare = classify(title="Saturday Sessions", start=at(16))
    assert not bare.after_dark
    categorised = classify(title="Saturday Sessions", start=at(16), source_tags=["Nightlife"])
    assert categorised.after_dark and categorised.reasons[0] == "club night"
    workshop = classify(
        title="Saturday Sessions", start=at(19), source_tags=["Class, Training, or Workshop"]
    )
    assert not workshop.after_dark and workshop.tags[0] == "class"


def test_the_longest_phrase_wins() -> None:
    tour = classify(title="Historic walking tour", start=at(10))
    assert not tour.after_dark and tour.reasons[0] == "daytime tour"
    assert "concert" not in tour.reasons  # "tour" alone would read as a band's tour
    tech_house = classify(title="Tech House Night", start=at(22))
    assert tech_house.after_dark and "tech" not in tech_house.tags
