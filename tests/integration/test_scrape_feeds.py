"""A city's calendar feeds in the scrape job: the real crawl over HTTP from the local site
server, the feeds as the city's CityFeed rows, a real database on both backends.

A broken feed (an HTTP 500, a page that is no calendar, a runaway RRULE) is that feed's
failure alone; a feed that changed between fetches updates the moved event in place and
lets the vanish rules judge the removed one; a venue's feed and Eventbrite listing the same
night make one event with both links.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from nocturne.cities import require_city
from nocturne.db import get_engine, session_scope
from nocturne.feeds import add_city_feed
from nocturne.models import Event, EventLink, EventStatus, ScrapeRun
from nocturne.settings import Settings
from scrapers.fetch import Fetcher
from tests.support import jobs as support
from tests.support.site_server import ICS, Route, SiteServer
from workers.jobs.scrape import scrape_city

app_db, fast_retries = support.app_db, support.fast_retries  # fixtures
CHICAGO = require_city("il--chicago")
TECHNO = "https://www.eventbrite.com/e/warehouse-techno-night-loft-sessions-tickets-2101000000001"


def calendar(*vevents: str, name: str = "Test calendar") -> str:
    body = "".join(vevents)
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Nocturne tests//EN\r\n"
        f"X-WR-CALNAME:{name}\r\nX-WR-TIMEZONE:America/Chicago\r\n{body}END:VCALENDAR\r\n"
    )


def vevent(
    uid: str,
    summary: str,
    start: datetime | str,
    *,
    location: str = "Ember Room\\, 2142 W Grand Ave\\, Chicago",
    extra: str = "",
) -> str:
    when = start if isinstance(start, str) else f"{start.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    head = when if ":" in when else f":{when}"
    return (
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261101T000000Z\r\nDTSTART{head}\r\n"
        f"SUMMARY:{summary}\r\nLOCATION:{location}\r\n{extra}END:VEVENT\r\n"
    )


def add_feeds(srv: SiteServer, *feeds: tuple[str, str]) -> dict[str, int]:
    """Chicago CityFeed rows (name, path on ``srv``) of kind ical: name -> id."""
    with session_scope() as session:
        rows = [
            add_city_feed(
                session=session, city_id=CHICAGO.id, name=name, url=srv.base_url + path, kind="ical"
            )
            for name, path in feeds
        ]
        return {r.name: r.id for r in rows if r.id is not None}


def runs() -> list[ScrapeRun]:
    with Session(get_engine()) as session:
        return list(session.exec(select(ScrapeRun).order_by(col(ScrapeRun.id))))


def events() -> dict[str, Event]:
    with Session(get_engine()) as session:
        return {e.title: e for e in session.exec(select(Event))}


async def scrape(srv: SiteServer, *sources: str) -> dict:
    settings = Settings(**srv.settings_overrides(scrape_meetup_keywords=["music"]))
    async with Fetcher(settings) as fetcher:
        return await scrape_city({"fetcher": fetcher}, CHICAGO.id, list(sources))


@pytest.mark.usefixtures("fast_retries")
async def test_a_broken_feed_fails_alone(app_db: str) -> None:
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    good = calendar(vevent("good-1@test", "Moth Static live", soon))
    runaway = calendar(
        vevent(
            "runaway@test",
            "Every second, forever",
            "20000101T000000Z",
            extra="RRULE:FREQ=SECONDLY\r\n",
        )
    )
    with SiteServer.chicago() as srv:
        srv.add(Route("/good.ics", good, content_type=ICS, shift=False))
        srv.add(Route("/runaway.ics", runaway, content_type=ICS, shift=False))
        srv.add(Route("/moved.ics", "<html><title>Our new site</title></html>", shift=False))
        srv.add(Route("/down.ics", calendar(), content_type=ICS))
        srv.fail("/down.ics", status=500, times=1000)
        ids = add_feeds(
            srv,
            ("Good calendar", "/good.ics"),
            ("Runaway calendar", "/runaway.ics"),
            ("Not a calendar", "/moved.ics"),
            ("Down calendar", "/down.ics"),
        )
        summary = await scrape(srv, "luma", "ical")
        down_hits = srv.count("/down.ics")

    by_feed = {r.feed_id: r for r in runs() if r.source == "ical"}
    assert {feed: by_feed[i].status for feed, i in ids.items()} == {
        "Good calendar": "ok",
        "Runaway calendar": "failed",
        "Not a calendar": "failed",
        "Down calendar": "failed",
    }
    assert "too dense" in (by_feed[ids["Runaway calendar"]].error or "")
    assert "no BEGIN:VCALENDAR" in (by_feed[ids["Not a calendar"]].error or "")
    assert "500" in (by_feed[ids["Down calendar"]].error or "")
    assert down_hits >= 2  # a 5xx is worth another try; the others are not retried
    assert by_feed[ids["Good calendar"]].new == 1
    luma = next(r for r in runs() if r.source == "luma")
    assert (luma.status, luma.new) == ("ok", 5)
    assert sorted(summary["failed_sources"]) == sorted(
        f"ical:{ids[name]}" for name in ("Runaway calendar", "Not a calendar", "Down calendar")
    )
    stored = events()
    assert "Moth Static live" in stored and "Every second, forever" not in stored
    assert stored["Moth Static live"].feed_id == ids["Good calendar"]


async def test_a_feed_that_changed_updates_the_moved_event_and_judges_the_removed(
    app_db: str,
) -> None:
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    before = calendar(
        vevent("moved@test", "Moth Static live", base),
        vevent("removed@test", "Basement Jazz Session", base + timedelta(days=2)),
        vevent("kept@test", "Open Decks", base + timedelta(days=5)),
    )
    after = calendar(
        vevent("moved@test", "Moth Static live", base + timedelta(days=1, hours=1)),
        vevent("kept@test", "Open Decks", base + timedelta(days=5)),
    )
    with SiteServer([Route("/ember.ics", before, content_type=ICS, shift=False)]) as srv:
        (feed_id,) = add_feeds(srv, ("Ember Room calendar", "/ember.ics")).values()
        first = (await scrape(srv, "ical"))["sources"][f"ical:{feed_id}"]
        was = events()
        srv.add(Route("/ember.ics", after, content_type=ICS, shift=False))
        seen = []
        for _ in range(3):  # VANISH_AFTER_MISSES complete scrapes without it
            result = (await scrape(srv, "ical"))["sources"][f"ical:{feed_id}"]
            seen.append((result["status"], result["found"], result["updated"], result["gone"]))
            gone = events()["Basement Jazz Session"]
            seen[-1] += (gone.missed_scrapes, gone.status)

    assert (first["status"], first["found"], first["new"]) == ("ok", 3, 3)
    now = events()
    # The moved night is the same row, at its new time.
    moved = now["Moth Static live"]
    assert moved.id == was["Moth Static live"].id and moved.link == was["Moth Static live"].link
    assert moved.start_at == base + timedelta(days=1, hours=1)
    assert was["Moth Static live"].start_at == base
    # The removed one is missed once per complete scrape, and gone at the third.
    assert seen == [
        ("ok", 2, 1, 0, 1, EventStatus.scheduled),
        ("ok", 2, 0, 0, 2, EventStatus.scheduled),
        ("ok", 2, 0, 1, 3, EventStatus.gone),
    ]
    assert now["Open Decks"].status == EventStatus.scheduled
    assert now["Open Decks"].missed_scrapes == 0
    assert len(now) == 3  # nothing was added or deleted


async def test_the_same_night_in_a_venue_feed_and_on_eventbrite_is_one_event(
    app_db: str,
) -> None:
    # The venue's own calendar lists Eventbrite's techno night (fixture dates, shifted by
    # the server like Eventbrite's page) with a link of its own.
    feed = calendar(
        vevent(
            "loft-sessions@foundry.test",
            "Warehouse Techno Night \u2013 Loft Sessions",
            ";TZID=America/Chicago:20261212T220000",
            location="The Foundry Annex\\, 1450 W Fulton Market\\, Chicago",
            extra="URL:https://foundryannex.example/events/loft-sessions\r\n",
        ),
        name="The Foundry Annex",
    )
    with SiteServer.chicago() as srv:
        srv.add(Route("/foundry.ics", feed, content_type=ICS))
        (feed_id,) = add_feeds(srv, ("The Foundry Annex calendar", "/foundry.ics")).values()
        summary = await scrape(srv, "eventbrite", "ical")

    assert summary["failed_sources"] == []
    with Session(get_engine()) as session:
        links = {lk.link: lk for lk in session.exec(select(EventLink))}
        feed_link = "https://foundryannex.example/events/loft-sessions"
        assert links[feed_link].event_id == links[TECHNO].event_id
        night = session.get(Event, links[TECHNO].event_id)
        assert night is not None
        assert set(night.links) == {TECHNO, feed_link}
        assert {s for s in night.sources.split(",") if s} == {"eventbrite", "ical"}
        assert len(session.exec(select(Event).where(col(Event.title).contains("Loft"))).all()) == 1
    feed_run = next(r for r in runs() if r.feed_id == feed_id)
    assert (feed_run.status, feed_run.found) == ("ok", 1)
