"""Tags, after_dark and age: computed when events are stored, recomputed when the rules
change (the crud function, the CLI command and the job), on both backends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from nocturne import crud
from nocturne.db import get_engine
from nocturne.models import Event
from nocturne.settings import ROOT
from scrapers.event import ScrapedEvent
from scrapers.tags import RULES_VERSION, classify_scraped
from tests.support import jobs as support
from tests.support.jobs import Harness, PageSource

app_db, mode = support.app_db, support.mode  # fixtures

LA = "ca--los-angeles"
TZ = ZoneInfo("America/Los_Angeles")
START = datetime(2030, 5, 3, 23, 0, tzinfo=TZ)


def _rave(**fields: object) -> ScrapedEvent:
    values: dict = {
        "title": "Warehouse Techno Rave",
        "link": "https://19hz.info/e/rave",
        "source": "19hz",
        "start": START,
        "venue": "Secret warehouse",
        "tags": ["techno", "acid", "21+"],
        "timezone": TZ.key,
    }
    return ScrapedEvent(**(values | fields))  # type: ignore[arg-type]


def _fair(**fields: object) -> ScrapedEvent:
    values: dict = {
        "title": "Tech Career Fair & Networking Expo",
        "link": "https://www.eventbrite.com/e/fair",
        "source": "eventbrite",
        "start": START.replace(hour=10),
        "venue": "Convention Center",
        "description": "Meet recruiters from 40 companies. Bring your resume.",
        "tags": ["Business & Professional"],
        "timezone": TZ.key,
    }
    return ScrapedEvent(**(values | fields))  # type: ignore[arg-type]


def _stored(session: Session, link: str) -> Event:
    session.expire_all()
    return session.exec(select(Event).where(Event.link == link)).one()


def test_upsert_stores_the_sources_tags_and_the_classifiers_verdict(session: Session) -> None:
    rave, fair = _rave(), _fair()
    crud.upsert_events(session=session, city_id=LA, events=[rave, fair])
    session.commit()

    stored = _stored(session, rave.link)
    verdict = classify_scraped(rave)
    assert stored.source_tags == ["techno", "acid", "21+"]
    assert stored.tags == list(verdict.tags) and "music" in stored.tags
    assert stored.after_dark is True
    assert stored.after_dark_reasons == list(verdict.reasons) and "11 PM" in verdict.reasons
    assert stored.age == "21+"
    assert stored.rules_version == RULES_VERSION

    career = _stored(session, fair.link)
    assert career.source_tags == ["Business & Professional"]
    assert career.after_dark is False and "business" in career.tags
    assert "career fair" in career.after_dark_reasons
    assert career.age is None


def test_a_changed_listing_is_classified_again_and_a_cancelled_one_keeps_its_tags(
    session: Session,
) -> None:
    crud.upsert_events(session=session, city_id=LA, events=[_fair()])
    session.commit()
    assert _stored(session, _fair().link).after_dark is False

    # The organiser turns the fair into an after-party: a new title, late, at a club.
    party = _fair(
        title="Techno After-Party", start=START, venue="Club Nowhere", description=None, tags=[]
    )
    result = crud.upsert_events(session=session, city_id=LA, events=[party])
    session.commit()
    stored = _stored(session, party.link)
    assert [e.title for e in result.updated] == ["Techno After-Party"]
    assert stored.after_dark is True and "music" in stored.tags
    # The description the new listing lacks is kept (a gap is filled), and classified too.
    assert stored.description == _fair().description

    crud.upsert_events(session=session, city_id=LA, events=[_rave(status="cancelled")])
    session.commit()
    cancelled = _stored(session, _rave().link)
    assert cancelled.status == "cancelled"
    assert cancelled.tags == list(classify_scraped(_rave()).tags) and cancelled.after_dark


def test_a_second_source_fills_gaps_and_the_tags_follow_the_merged_event(
    session: Session,
) -> None:
    bare = _rave(source="eventbrite", link="https://www.eventbrite.com/e/1", tags=[], venue=None)
    crud.upsert_events(session=session, city_id=LA, events=[bare])
    session.commit()
    assert _stored(session, bare.link).age is None
    crud.upsert_events(session=session, city_id=LA, events=[_rave()])  # 19hz: genres, age
    session.commit()
    merged = _stored(session, bare.link)
    assert merged.sources == ",eventbrite,19hz," and merged.source_tags == ["techno", "acid", "21+"]
    assert merged.age == "21+" and merged.after_dark


def _spoil(session: Session, *, version: int = 0) -> dict[str, datetime]:
    """Make every stored event look classified by old rules (and wrongly); returns the
    ``updated_at`` each had, which a retag must not move."""
    session.exec(  # type: ignore[call-overload]
        update(Event).values(
            tags=["family"], after_dark=False, after_dark_reasons=[], rules_version=version
        )
    )
    session.commit()
    session.expire_all()
    return {e.link: e.updated_at for e in session.exec(select(Event))}


def _stamp_synced(session: Session) -> None:
    for event in session.exec(select(Event)):
        event.synced_at = event.updated_at + timedelta(seconds=1)
    session.commit()


def test_retag_recomputes_old_rules_only_and_touches_nothing_else(session: Session) -> None:
    rave, fair = _rave(), _fair()
    crud.upsert_events(session=session, city_id=LA, events=[rave, fair])
    session.commit()
    _stamp_synced(session)
    before = {
        e.link: (e.title, e.description, e.source_tags, e.start_at, e.last_scraped)
        for e in session.exec(select(Event))
    }
    updated = _spoil(session)
    # The fair is on today's rules already: left alone, wrong tags and all.
    current = update(Event).where(col(Event.link) == fair.link).values(rules_version=RULES_VERSION)
    session.exec(current)  # type: ignore[call-overload]
    session.commit()
    version = crud.city_version(session=session, city_id=LA)

    result = crud.retag_events(session=session)
    assert (result.checked, result.changed) == (1, 1)
    stored = _stored(session, rave.link)
    assert stored.tags == list(classify_scraped(rave).tags) and stored.after_dark
    assert stored.rules_version == RULES_VERSION
    assert stored.synced_at is None  # the shared mirror gets the new tags
    assert _stored(session, fair.link).tags == ["family"]
    assert _stored(session, fair.link).synced_at is not None
    after = {
        e.link: (e.title, e.description, e.source_tags, e.start_at, e.last_scraped)
        for e in session.exec(select(Event))
    }
    assert after == before
    assert {e.link: e.updated_at for e in session.exec(select(Event))} == updated
    assert crud.city_version(session=session, city_id=LA) > version  # cached pages drop

    again = crud.retag_events(session=session)
    assert (again.checked, again.changed) == (0, 0)

    everything = crud.retag_events(session=session, everything=True, batch=1)
    assert (everything.checked, everything.changed) == (2, 1)  # the fair, now right too
    assert _stored(session, fair.link).after_dark is False
    assert "business" in _stored(session, fair.link).tags


def test_retag_command_prints_what_it_did(session: Session, db_url: str) -> None:
    crud.upsert_events(session=session, city_id=LA, events=[_rave(), _fair()])
    session.commit()
    _spoil(session)

    def retag(*args: str) -> dict:
        done = subprocess.run(
            [sys.executable, "-m", "scrapers", "retag", *args],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": db_url},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    assert retag() == {"checked": 2, "changed": 2, "rules": RULES_VERSION}
    assert retag() == {"checked": 0, "changed": 0, "rules": RULES_VERSION}
    assert retag("--all") == {"checked": 2, "changed": 0, "rules": RULES_VERSION}
    assert _stored(session, _rave().link).after_dark is True


@pytest.mark.usefixtures("app_db")
async def test_retag_job_runs_on_the_worker_and_twice_is_harmless(mode) -> None:  # type: ignore[no-untyped-def]
    with Session(get_engine()) as session:
        crud.upsert_events(session=session, city_id=LA, events=[_rave(), _fair()])
        session.commit()
        _spoil(session)
    async with Harness(mode[0], PageSource(), mode[1]) as h:
        job = await h.enqueue("retag_events")
        await h.drain()
        assert await h.result(job) == {"checked": 2, "changed": 2}
        again = await h.enqueue("retag_events", _job_id="retag-again")
        await h.drain()
        assert await h.result(again) == {"checked": 0, "changed": 0}
    with Session(get_engine()) as session:
        rave = _stored(session, _rave().link)
        assert rave.after_dark and rave.rules_version == RULES_VERSION
        assert _stored(session, _fair().link).after_dark is False


def test_counts_and_the_digest_issue_count_after_dark_events(session: Session) -> None:
    from workers.email.digest import issue_cards

    now = START.replace(hour=0) - timedelta(days=1)
    crud.upsert_events(session=session, city_id=LA, events=[_rave(), _fair()])
    session.commit()
    assert crud.upcoming_counts(session=session, now=now) == {LA: 2}
    assert crud.upcoming_counts(session=session, now=now, after_dark=True) == {LA: 1}
    day = START.date()
    per_day = dict(crud.counts_per_day(session=session, city_id=LA, today=day, after_dark=True))
    assert per_day[day] == 1
    assert dict(crud.counts_per_day(session=session, city_id=LA, today=day))[day] == 2
    tags = crud.tag_counts(session=session, city_id=LA, start_date=day)
    assert tags["music"] == 1 and tags["business"] == 1
    assert "business" not in crud.tag_counts(session=session, city_id=LA, start_date=day,
                                             after_dark=True)  # fmt: skip

    week = day - timedelta(days=day.weekday())
    cards = issue_cards(session=session, city_id=LA, week=week, now=now)
    # The after-dark event leads though the fair starts first; both carry their tags.
    assert [(c["title"], c["after_dark"]) for c in cards] == [
        ("Warehouse Techno Rave", True),
        ("Tech Career Fair & Networking Expo", False),
    ]
    assert cards[0]["age_label"] == "21+" and "Music" in cards[0]["tag_labels"]
    assert "11 PM" in cards[0]["after_dark_why"]


@pytest.mark.usefixtures("app_db")
async def test_the_in_process_schedule_retags_at_start_as_a_worker_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without Redis the app runs the cron itself: stale events are classified as it
    starts, not at the next hourly run (arq's run_at_startup, honoured in-process)."""
    import asyncio

    from nocturne import queue
    from nocturne.settings import settings
    from workers.main import CRON_JOBS, WorkerSettings, in_process

    monkeypatch.setattr(settings, "redis_url", None)
    retag_cron = [cj for cj in CRON_JOBS if cj.name == "cron:retag_events"]
    assert retag_cron and retag_cron[0].run_at_startup
    monkeypatch.setattr(WorkerSettings, "cron_jobs", retag_cron)
    with Session(get_engine()) as session:
        crud.upsert_events(session=session, city_id=LA, events=[_rave()])
        session.commit()
        _spoil(session)
    await in_process.context(fetcher=None)
    in_process.start_scheduler()
    try:
        for _ in range(100):
            with Session(get_engine()) as session:
                if _stored(session, _rave().link).rules_version == RULES_VERSION:
                    break
            await asyncio.sleep(0.1)
    finally:
        await queue.shutdown()
    with Session(get_engine()) as session:
        assert _stored(session, _rave().link).after_dark is True
