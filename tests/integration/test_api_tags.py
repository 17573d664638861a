"""Tags, after_dark and age through the JSON API and the feeds, over real HTTP, on both
backends. Events are stored by the real upsert, so the classifier tags them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree as ET

import httpx
import pytest
from sqlmodel import Session

from nocturne import crud
from nocturne.api import create_api
from nocturne.api.ratelimit import memory_store
from nocturne.settings import settings
from scrapers.event import ScrapedEvent
from scrapers.tags import TAGS
from tests.support.api_server import serve

LA = "ca--los-angeles"
ATOM = "{http://www.w3.org/2005/Atom}"
DAY = datetime(2031, 6, 6, 0, 0, tzinfo=UTC)  # 17:00 on 5 June in Los Angeles


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch, db_url: str, engine) -> Iterator[httpx.Client]:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(settings, "database_url", db_url)
    monkeypatch.setattr(settings, "redis_url", None)
    monkeypatch.setattr(settings, "rate_limit_enabled", False)
    memory_store.clear()
    with serve(create_api()) as base, httpx.Client(base_url=base, timeout=10) as http:
        yield http


def _event(title: str, hours: float, **fields: object) -> ScrapedEvent:
    slug = title.lower().replace(" ", "-")
    values: dict = {
        "title": title,
        "link": f"https://www.eventbrite.com/e/{slug}",
        "source": "eventbrite",
        "start": DAY + timedelta(hours=hours),
    }
    return ScrapedEvent(**(values | fields))  # type: ignore[arg-type]


@pytest.fixture
def stored(session: Session) -> dict[str, ScrapedEvent]:
    events = {
        "fair": _event(
            "Tech Career Fair",
            -6,  # 11:00
            venue="Convention Center",
            description="Meet recruiters from 40 companies. Bring your resume.",
            tags=["Business & Professional"],
        ),
        "rave": _event(
            "Warehouse Techno Rave",
            6,  # 23:00
            source="19hz",
            link="https://19hz.info/e/rave",
            venue="Secret warehouse",
            tags=["techno", "acid", "21+"],
        ),
        "comedy": _event("Comedy open mic", 4, venue="The Basement bar"),  # 21:00
        "picnic": _event(
            "Family picnic in the park", -7, description="Games for kids. All ages welcome."
        ),
    }
    crud.upsert_events(session=session, city_id=LA, events=list(events.values()))
    session.commit()
    return events


def _titles(client: httpx.Client, **params: object) -> list[str]:
    r = client.get(f"/events/{LA}", params={"start_date": "2031-06-01", **params})
    assert r.status_code == 200, r.text
    return [e["title"] for e in r.json()]


def test_every_event_unless_asked_and_the_filters_narrow(
    client: httpx.Client, stored: dict[str, ScrapedEvent]
) -> None:
    everything = ["Family picnic in the park", "Tech Career Fair", "Comedy open mic",
                  "Warehouse Techno Rave"]  # fmt: skip
    assert _titles(client) == everything
    assert _titles(client, after_dark="true") == ["Comedy open mic", "Warehouse Techno Rave"]
    assert _titles(client, after_dark="false") == ["Family picnic in the park", "Tech Career Fair"]
    assert _titles(client, tag="comedy") == ["Comedy open mic"]
    # Any of several tags: repeated, or a comma list (the two are one cached listing).
    both = ["Tech Career Fair", "Comedy open mic"]
    assert _titles(client, tag=["business", "comedy"]) == both
    assert _titles(client, tag="comedy, business") == both
    assert _titles(client, tag="family", after_dark="true") == []
    assert _titles(client, age="21+") == ["Warehouse Techno Rave"]
    assert _titles(client, age="all-ages") == ["Family picnic in the park"]


def test_each_event_carries_its_tags_and_why(
    client: httpx.Client, stored: dict[str, ScrapedEvent]
) -> None:
    body = {e["title"]: e for e in client.get(f"/events/{LA}", params={"tag": "music"}).json()}
    rave = body["Warehouse Techno Rave"]
    assert rave["after_dark"] is True and rave["age"] == "21+"
    assert "music" in rave["tags"] and set(rave["tags"]) <= set(TAGS)
    assert rave["source_tags"] == ["techno", "acid", "21+"]
    assert "11 PM" in rave["after_dark_reasons"]
    fair = client.get(f"/events/{LA}", params={"tag": "business"}).json()[0]
    assert fair["after_dark"] is False and "career fair" in fair["after_dark_reasons"]
    assert fair["age"] is None


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"tag": "techno"}, "tag: unknown tag 'techno': one of music, club-night"),
        ({"tag": "music,nightlife"}, "tag: unknown tag 'nightlife'"),
        ({"age": "16+"}, "age:"),
        ({"after_dark": "maybe"}, "after_dark:"),
    ],
)
def test_bad_tag_filters_are_422_naming_the_field(
    client: httpx.Client, params: dict[str, str], message: str
) -> None:
    r = client.get(f"/events/{LA}", params=params)
    assert r.status_code == 422, r.text
    assert r.json()["message"].startswith(message)


def test_the_openapi_document_names_the_vocabulary(client: httpx.Client) -> None:
    spec = client.get("/api/openapi.json").json()
    params = {p["name"]: p for p in spec["paths"]["/events/{city_id}"]["get"]["parameters"]}
    tag_items = params["tag"]["schema"]["anyOf"][0]["items"]
    assert tag_items["enum"] == list(TAGS)
    assert params["age"]["schema"]["anyOf"][0]["enum"] == ["21+", "18+", "all-ages"]
    event = spec["components"]["schemas"]["EventOut"]
    assert event["properties"]["tags"]["items"]["enum"] == list(TAGS)
    assert {"after_dark", "after_dark_reasons", "age", "source_tags"} <= set(event["required"])
    ics_params = spec["paths"]["/cities/{city_id}/events.ics"]["get"]["parameters"]
    assert {"after_dark", "tag", "age"} <= {p["name"] for p in ics_params}


def test_feeds_carry_the_tags_and_take_the_filters(
    client: httpx.Client, stored: dict[str, ScrapedEvent]
) -> None:
    params = {"start_date": "2031-06-01", "after_dark": "true"}
    ics = client.get(f"/cities/{LA}/events.ics", params=params)
    assert ics.status_code == 200
    text = ics.text.replace("\r\n ", "")
    assert text.count("BEGIN:VEVENT") == 2  # the after-dark two
    categories = [ln for ln in text.split("\r\n") if ln.startswith("CATEGORIES:")]
    assert len(categories) == 2
    assert all(c.startswith("CATEGORIES:After dark,") for c in categories)
    assert any("Comedy" in c for c in categories) and any("Music" in c for c in categories)

    atom = client.get(f"/cities/{LA}/events.atom", params={"start_date": "2031-06-01"})
    entries = ET.fromstring(atom.content).findall(f"{ATOM}entry")
    by_title = {e.findtext(f"{ATOM}title").split(" (")[0]: e for e in entries}  # type: ignore[union-attr]
    rave = by_title["Warehouse Techno Rave"].findall(f"{ATOM}category")
    terms = {c.get("term"): c for c in rave}
    assert "19hz" in terms  # the source, as before
    assert terms["after-dark"].get("label") == "After dark"
    assert terms["music"].get("label") == "Music" and terms["music"].get("scheme")
    fair = {c.get("term") for c in by_title["Tech Career Fair"].findall(f"{ATOM}category")}
    assert "business" in fair and "after-dark" not in fair
