"""iCalendar and Atom feeds over real HTTP, on PostgreSQL and SQLite; the cities' calendar
feeds (removal that survives seeding, credit on cards)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree as ET

import httpx
import pytest
from sqlmodel import Session, select

from nocturne import crud, feeds
from nocturne.api import create_api
from nocturne.api.feeds import fold, ics_escape
from nocturne.api.ratelimit import memory_store
from nocturne.cards import event_card
from nocturne.db import get_engine
from nocturne.models import CityFeed, Event, FeedStatus
from nocturne.settings import settings
from scrapers.event import ScrapedEvent
from tests.support.api_server import make_event, serve

LA = "ca--los-angeles"
ATOM = "{http://www.w3.org/2005/Atom}"
START = datetime(2031, 6, 5, 4, 30, tzinfo=UTC)  # 21:30 on 4 June in Los Angeles
DAY = timedelta(days=1)


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch, db_url: str, engine) -> Iterator[httpx.Client]:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(settings, "database_url", db_url)
    monkeypatch.setattr(settings, "redis_url", None)
    monkeypatch.setattr(settings, "rate_limit_enabled", False)
    memory_store.clear()
    with serve(create_api()) as base, httpx.Client(base_url=base, timeout=10) as http:
        yield http


def _unfold(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")


def _vevents(text: str) -> list[dict[str, str]]:
    events, current = [], None
    for line in _unfold(text):
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            events.append(current)
            current = None
        elif current is not None and ":" in line:
            name, value = line.split(":", 1)
            current[name] = value
    return events


def _scraped(**fields) -> ScrapedEvent:  # type: ignore[no-untyped-def]
    values = {
        "title": "Basement Techno, Vol. 3; all night",
        "link": "https://www.eventbrite.com/e/basement-techno-123",
        "source": "eventbrite",
        "start": START,
        "end": START + timedelta(hours=6),
        "venue": "The Basement",
        "address": "123 Main St, Los Angeles",
        "price_min": 10.0,
        "price_max": 25.0,
        "currency": "USD",
        "description": "Line one\nLine two with émojis 🎧 " + "long text " * 20,
    }
    values.update(fields)
    return ScrapedEvent(**values)


def _save(session: Session, *events: ScrapedEvent) -> None:
    crud.upsert_events(session=session, city_id=LA, events=list(events))
    session.commit()


def test_fold_and_escape_follow_rfc5545() -> None:
    assert ics_escape("a,b;c\\d\ne\r\nf\x00") == "a\\,b\\;c\\\\d\\ne\\nf"
    line = "DESCRIPTION:" + "é" * 100
    folded = fold(line)
    parts = folded.split("\r\n")
    assert all(len(p.encode()) <= 75 for p in parts)
    assert all(p.startswith(" ") for p in parts[1:])
    assert "".join(p[1:] if i else p for i, p in enumerate(parts)) == line


def test_city_calendar_is_valid_ics_with_stable_uids(
    client: httpx.Client, session: Session
) -> None:
    _save(session, _scraped())
    r = client.get(f"/cities/{LA}/events.ics", params={"start_date": "2031-06-01"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/calendar; charset=utf-8"
    text = r.text
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    assert text.endswith("END:VCALENDAR\r\n")
    assert "\n" not in text.replace("\r\n", "")  # bare LFs never appear
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    [ev] = _vevents(text)
    assert ev["DTSTART"] == "20310605T043000Z" and ev["DTEND"] == "20310605T103000Z"
    assert ev["SUMMARY"] == "Basement Techno\\, Vol. 3\\; all night"
    assert ev["LOCATION"] == "The Basement\\, 123 Main St\\, Los Angeles"
    assert ev["STATUS"] == "CONFIRMED"
    assert ev["URL"] == "https://www.eventbrite.com/e/basement-techno-123"
    assert "Line one\\nLine two with émojis 🎧" in ev["DESCRIPTION"]
    uid = ev["UID"]
    assert re.fullmatch(r"\d+@nocturne", uid)

    # A re-scrape that changes the time and cancels it keeps the UID; the feed shows it
    # cancelled rather than dropping it.
    _save(session, _scraped(start=START + timedelta(hours=1), status="cancelled"))
    again = client.get(f"/cities/{LA}/events.ics", params={"start_date": "2031-06-01"})
    [ev2] = _vevents(again.text)
    assert ev2["UID"] == uid
    assert ev2["STATUS"] == "CANCELLED"
    assert ev2["DTSTART"] == "20310605T053000Z"


def test_feeds_take_the_events_filters(client: httpx.Client, session: Session) -> None:
    make_event(session, n=1, title="Techno", start=START, source="eventbrite")
    make_event(session, n=2, title="Jazz", start=START + timedelta(days=1), source="meetup")
    make_event(session, n=3, title="Later", start=START + timedelta(days=30), source="meetup")
    base = {"start_date": "2031-06-01", "end_date": "2031-06-30"}

    def summaries(path: str, **params: str) -> list[str]:
        r = client.get(path, params={**base, **params})
        assert r.status_code == 200, r.text
        return [e["SUMMARY"] for e in _vevents(r.text)]

    assert summaries(f"/cities/{LA}/events.ics") == ["Techno", "Jazz"]
    assert summaries(f"/cities/{LA}/events.ics", source="meetup") == ["Jazz"]
    assert summaries(f"/cities/{LA}/events.ics", q="techno") == ["Techno"]
    assert summaries(f"/cities/{LA}/events.ics", limit="1") == ["Techno"]
    bad = client.get(f"/cities/{LA}/events.ics", params={"start_date": "2031-02-30"})
    assert bad.status_code == 422 and bad.json()["message"].startswith("start_date:")
    assert client.get("/cities/xx--atlantis/events.ics").status_code == 404


def test_date_only_events_are_all_day(client: httpx.Client, session: Session) -> None:
    make_event(session, start=START, local_time="", hours=None)
    r = client.get(f"/cities/{LA}/events.ics", params={"start_date": "2031-06-01"})
    [ev] = _vevents(r.text)
    assert ev["DTSTART;VALUE=DATE"] == "20310604"
    assert "DTEND" not in ev


def test_one_event_as_ics(client: httpx.Client, session: Session) -> None:
    ev = make_event(session, start=START, title="Solo")
    other = make_event(session, start=START, city_id="il--chicago")
    r = client.get(f"/cities/{LA}/events/{ev.id}.ics")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/calendar; charset=utf-8"
    assert f'filename="nocturne-event-{ev.id}.ics"' in r.headers["content-disposition"]
    [vevent] = _vevents(r.text)
    assert vevent["UID"] == f"{ev.id}@nocturne" and vevent["SUMMARY"] == "Solo"
    assert client.get(f"/cities/{LA}/events/{other.id}.ics").status_code == 404
    assert client.get(f"/cities/{LA}/events/424242.ics").status_code == 404
    assert client.get(f"/cities/{LA}/events/abc.ics").status_code == 422


def test_atom_feed(client: httpx.Client, session: Session) -> None:
    _save(session, _scraped(description="Bad \x0b control & <tags>"))
    make_event(
        session, n=9, start=START + timedelta(days=1), title="Gone wrong", status="cancelled"
    )
    params = {"start_date": "2031-06-01"}
    r = client.get(f"/cities/{LA}/events.atom", params=params)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/atom+xml; charset=utf-8"
    feed = ET.fromstring(r.content)
    assert feed.tag == f"{ATOM}feed"
    assert feed.findtext(f"{ATOM}title") == "Nocturne: events in Los Angeles"
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 2
    first, cancelled = entries
    assert first.findtext(f"{ATOM}content") == "Bad  control & <tags>"
    assert (
        first.find(f"{ATOM}link").get("href") == "https://www.eventbrite.com/e/basement-techno-123"
    )
    assert cancelled.findtext(f"{ATOM}title").startswith("Cancelled: Gone wrong")
    ids = [e.findtext(f"{ATOM}id") for e in entries]

    _save(session, _scraped(title="Renamed"))  # a re-scrape keeps the entry id
    again = ET.fromstring(client.get(f"/cities/{LA}/events.atom", params=params).content)
    assert [e.findtext(f"{ATOM}id") for e in again.findall(f"{ATOM}entry")] == ids
    assert again.findall(f"{ATOM}entry")[0].findtext(f"{ATOM}title").startswith("Renamed")


# --- the city's calendar feeds: tombstones and credit on cards --------------------------


def test_a_removed_seeded_feed_stays_removed_at_the_next_start(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """scripts/prestart seeds data/feeds.csv at every start; a feed an admin removed is
    kept as a tombstone, so the next start does not add it back, and no scrape reads it."""
    from scripts import prestart

    monkeypatch.setattr(settings, "email_outbox_dir", tmp_path / "outbox")
    monkeypatch.setattr(settings, "admin_token", "s3cret-admin-token")
    client.headers["Authorization"] = "Bearer s3cret-admin-token"
    seeds = feeds.read_seed_file()
    assert seeds  # the reviewed file is not empty

    prestart.main()
    listed = client.get("/feeds").json()
    assert {(f["city_id"], f["url"]) for f in listed} == {(s.city_id, s.url) for s in seeds}
    gone = listed[0]
    assert client.delete(f"/feeds/{gone['id']}").status_code == 204
    assert client.delete(f"/feeds/{gone['id']}").status_code == 404  # removed already

    prestart.main()  # the next start
    again = client.get("/feeds").json()
    assert gone["id"] not in {f["id"] for f in again}
    assert len(again) == len(seeds) - 1
    with Session(get_engine()) as session:
        rows = session.exec(select(CityFeed).where(CityFeed.url == gone["url"])).all()
        assert [(r.id, r.status) for r in rows] == [(gone["id"], FeedStatus.removed)]
        scraped = feeds.list_city_feeds(session=session, city_id=gone["city_id"], active_only=True)
        assert gone["id"] not in {f.id for f in scraped}

    # An admin who adds the URL again gets the same feed back, active.
    body = {k: gone[k] for k in ("city_id", "name", "url", "kind")}
    revived = client.post("/feeds", json={**body, "name": "Renamed calendar"})
    assert revived.status_code == 201, revived.text
    assert (revived.json()["id"], revived.json()["status"]) == (gone["id"], "active")
    assert revived.json()["name"] == "Renamed calendar"
    assert len(client.get("/feeds").json()) == len(seeds)


def test_cards_credit_a_feed_by_its_name_and_19hz_as_19hz(session: Session, engine) -> None:  # type: ignore[no-untyped-def]
    feed = feeds.add_city_feed(
        session=session,
        city_id=LA,
        name="Elsewhere Brooklyn calendar",
        url="https://calendar.example/elsewhere.ics",
        kind="ical",
    )
    session.commit()
    _save(
        session,
        _scraped(title="From the feed", link="https://calendar.example/e/1", source="ical"),
        _scraped(
            title="From 19hz", link="https://ra.co/events/1", source="19hz", start=START + DAY
        ),
        _scraped(title="From Eventbrite", start=START + 2 * DAY),
    )
    from_feed = session.exec(select(Event).where(Event.title == "From the feed")).one()
    from_feed.feed_id = feed.id
    session.add(from_feed)
    session.commit()

    def credits() -> dict[str, str]:
        with Session(engine) as fresh:  # as a page reads them: a session of its own
            rows = fresh.exec(select(Event)).all()
            return {e.title: event_card(e)["credit"] for e in rows}

    assert credits() == {
        "From the feed": "via Elsewhere Brooklyn calendar",
        "From 19hz": "via 19hz",
        "From Eventbrite": "",
    }
    # A removed feed's events stay, and keep their credit.
    assert feeds.remove_city_feed(session=session, feed_id=feed.id)
    session.commit()
    assert credits()["From the feed"] == "via Elsewhere Brooklyn calendar"
