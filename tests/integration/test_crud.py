"""The data functions on both backends, after `alembic upgrade head`."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from nocturne import crud
from nocturne.models import Event, Subscription
from scrapers.event import ScrapedEvent


def _ev(link: str, start: datetime, **kw) -> ScrapedEvent:
    return ScrapedEvent(
        title=kw.pop("title", f"Event {link[-4:]}"),
        link=link,
        source=kw.pop("source", "eventbrite"),
        start=start,
        **kw,
    )


def test_upsert_is_idempotent_and_reports_new_and_changed(session):
    start = datetime(2030, 5, 1, 22, 0, tzinfo=ZoneInfo("America/Los_Angeles"))
    batch = [_ev(f"https://www.eventbrite.com/e/{i}", start + timedelta(hours=i)) for i in range(3)]

    first = crud.upsert_events(session=session, city_id="ca--los-angeles", events=batch)
    session.commit()
    assert len(first.new) == 3 and first.updated == [] and first.unchanged == 0
    row = session.exec(select(Event).where(Event.link == batch[0].link)).one()
    assert row.start_at == start.astimezone(UTC)
    assert row.start_at.tzinfo is not None
    assert (row.local_date, row.local_time, row.timezone) == (
        "2030-05-01",
        "22:00",
        "America/Los_Angeles",
    )

    again = crud.upsert_events(session=session, city_id="ca--los-angeles", events=batch)
    session.commit()
    assert again.new == [] and again.updated == [] and again.unchanged == 3
    assert len(session.exec(select(Event)).all()) == 3

    batch[1].title = "Renamed"
    changed = crud.upsert_events(session=session, city_id="ca--los-angeles", events=batch)
    session.commit()
    assert [e.title for e in changed.updated] == ["Renamed"] and changed.unchanged == 2


def test_upsert_merges_a_second_source_link(session):
    start = datetime(2030, 5, 1, 20, tzinfo=UTC)
    eb = _ev("https://www.eventbrite.com/e/1", start, title="Warehouse")
    crud.upsert_events(session=session, city_id="ny--new-york", events=[eb])
    merged = _ev(
        "https://www.meetup.com/x/events/9",
        start,
        title="Warehouse",
        source="meetup",
        links=["https://www.eventbrite.com/e/1"],
    )
    res = crud.upsert_events(session=session, city_id="ny--new-york", events=[merged])
    session.commit()
    rows = session.exec(select(Event)).all()
    assert len(rows) == 1 and res.new == []
    assert rows[0].link == eb.link
    assert set(rows[0].links) == {eb.link, merged.link}
    assert crud.event_sources(rows[0]) == ["eventbrite", "meetup"]
    only_meetup = crud.events_for_city(
        session=session, city_id="ny--new-york", start_date=date(2030, 5, 1), source="meetup"
    )
    assert [e.id for e in only_meetup] == [rows[0].id]


def test_local_day_ranges_follow_each_citys_zone(session):
    # 23:30 on 2030-03-09 in Honolulu is already 2030-03-10 in UTC.
    hnl = datetime(2030, 3, 9, 23, 30, tzinfo=ZoneInfo("Pacific/Honolulu"))
    phx = datetime(2030, 3, 10, 0, 15, tzinfo=ZoneInfo("America/Phoenix"))
    crud.upsert_events(
        session=session,
        city_id="hi--honolulu",
        events=[_ev("https://lu.ma/hnl", hnl, source="luma")],
    )
    crud.upsert_events(
        session=session,
        city_id="az--phoenix",
        events=[_ev("https://lu.ma/phx", phx, source="luma")],
    )
    session.commit()
    day = date(2030, 3, 9)
    got = crud.events_for_city(
        session=session, city_id="hi--honolulu", start_date=day, end_date=day
    )
    assert [e.link for e in got] == ["https://lu.ma/hnl"]
    assert (
        crud.events_for_city(session=session, city_id="az--phoenix", start_date=day, end_date=day)
        == []
    )
    nxt = date(2030, 3, 10)
    assert [
        e.local_time
        for e in crud.events_for_city(
            session=session, city_id="az--phoenix", start_date=nxt, end_date=nxt
        )
    ] == ["00:15"]
    counts = dict(crud.counts_per_day(session=session, city_id="hi--honolulu", days=3, today=day))
    assert counts == {day: 1, nxt: 0, date(2030, 3, 11): 0}


def test_filters_free_search_online_and_cursor(session):
    base = datetime(2030, 6, 1, 3, tzinfo=UTC)
    events = [
        _ev("https://lu.ma/a", base, title="Techno Basement", is_free=True, venue="The Vault"),
        _ev("https://lu.ma/b", base, title="Jazz Night", is_free=False, price_min=10),
        _ev("https://lu.ma/c", base + timedelta(hours=1), title="Zoom talk", is_online=True),
        _ev(
            "https://lu.ma/d",
            base + timedelta(hours=2),
            title="Noise",
            description="harsh VAULT sounds",
        ),
    ]
    crud.upsert_events(session=session, city_id="il--chicago", events=events)
    session.commit()
    kw = {"session": session, "city_id": "il--chicago", "start_date": date(2030, 5, 1)}
    assert [e.title for e in crud.events_for_city(**kw, free=True)] == ["Techno Basement"]
    assert {e.title for e in crud.events_for_city(**kw, q="vault")} == {"Techno Basement", "Noise"}
    assert "Zoom talk" not in {e.title for e in crud.events_for_city(**kw)}
    page1 = crud.events_for_city(**kw, limit=2)
    page2 = crud.events_for_city(**kw, limit=2, after=(page1[-1].start_at, page1[-1].id))
    assert [e.title for e in page1 + page2] == [e.title for e in crud.events_for_city(**kw)]
    assert len(page2) == 1


def test_subscription_lifecycle(session):
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    sub, outcome = crud.create_subscription(
        session=session, email=" Night.Owl@Example.COM ", city_id="co--denver", now=t0
    )
    assert outcome == "created" and sub.email == "night.owl@example.com" and sub.status == "pending"
    assert (
        crud.create_subscription(
            session=session,
            email="night.owl@example.com",
            city_id="co--denver",
            now=t0 + timedelta(seconds=5),
        )[1]
        == "too_soon"
    )
    assert (
        crud.create_subscription(
            session=session,
            email="night.owl@example.com",
            city_id="co--denver",
            now=t0 + timedelta(minutes=5),
        )[1]
        == "resent"
    )
    assert (
        crud.confirm_subscription(session=session, subscription_id=sub.id, token_version=99) is None
    )
    confirmed = crud.confirm_subscription(
        session=session, subscription_id=sub.id, token_version=sub.token_version
    )
    assert confirmed is not None and confirmed.status == "active" and confirmed.confirmed_at
    assert (
        crud.create_subscription(
            session=session, email="night.owl@example.com", city_id="co--denver"
        )[1]
        == "already_active"
    )
    assert [s.id for s in crud.active_subscriptions(session=session, city_id="co--denver")] == [
        sub.id
    ]

    gone = crud.unsubscribe(session=session, subscription_id=sub.id)
    assert gone is not None and gone.status == "unsubscribed" and gone.unsubscribed_at
    assert crud.active_subscriptions(session=session) == []
    old_version = sub.token_version
    again, outcome = crud.create_subscription(
        session=session, email="night.owl@example.com", city_id="co--denver"
    )
    assert (
        outcome == "resubscribed" and again.id == sub.id and again.token_version == old_version + 1
    )
    session.commit()
    assert len(session.exec(select(Subscription)).all()) == 1


@pytest.mark.parametrize("bad", ["", "not-an-email", "a@b", "x@@example.com", "a b@example.com"])
def test_bad_email_is_refused_with_a_reason(session, bad):
    with pytest.raises(crud.InvalidEmail) as info:
        crud.create_subscription(session=session, email=bad, city_id="co--denver")
    assert str(info.value)


def test_naive_timestamps_are_refused(session):
    with pytest.raises(Exception, match="naive"):
        crud.upsert_events(
            session=session,
            city_id="co--denver",
            events=[_ev("https://lu.ma/n", datetime(2030, 1, 1))],
        )


def test_scrape_runs(session):
    run = crud.start_scrape_run(session=session, city_id="co--denver", source="luma")
    crud.finish_scrape_run(session=session, run=run, status="ok", found=5, new=2)
    later = crud.start_scrape_run(session=session, city_id="co--denver", source="luma")
    crud.finish_scrape_run(session=session, run=later, status="failed", error="blocked")
    session.commit()
    last = crud.last_scrape_runs(session=session, city_id="co--denver")
    assert [(r.source, r.status, r.error) for r in last] == [("luma", "failed", "blocked")]


def test_cross_source_listings_become_one_event_and_stay_stable(session):
    start = datetime(2030, 7, 4, 22, tzinfo=ZoneInfo("America/Chicago"))
    eb = _ev(
        "https://www.eventbrite.com/e/warehouse-1",
        start,
        title="Warehouse Rave: Acid Night",
        venue="The Vault",
        latitude=41.88,
        longitude=-87.63,
    )
    lu = _ev(
        "https://lu.ma/acid",
        start + timedelta(minutes=15),
        source="luma",
        title="Warehouse Rave - Acid Night",
        venue="The Vault Chicago",
        latitude=41.8801,
        longitude=-87.6301,
        price_min=15.0,
        currency="USD",
    )
    other = _ev("https://lu.ma/jazz", start, source="luma", title="Jazz Brunch", venue="Elsewhere")
    city = "il--chicago"
    assert len(crud.upsert_events(session=session, city_id=city, events=[eb]).new) == 1
    res = crud.upsert_events(session=session, city_id=city, events=[lu, other])
    session.commit()
    assert [e.title for e in res.new] == ["Jazz Brunch"]
    assert [e.title for e in res.updated] == ["Warehouse Rave: Acid Night"]
    merged = res.updated[0]
    assert merged.links == [eb.link, lu.link]
    assert crud.event_sources(merged) == ["eventbrite", "luma"]
    # The first source keeps its fields; the second fills what it lacked.
    assert merged.start_at == start.astimezone(UTC) and merged.venue == "The Vault"
    assert merged.price_min == 15.0

    # Later scrapes of each source find the event by its own link and change nothing.
    lu_alone = _ev(
        lu.link,
        lu.start,
        source="luma",
        title=lu.title,
        venue=lu.venue,
        latitude=lu.latitude,
        longitude=lu.longitude,
        price_min=15.0,
        currency="USD",
    )
    for _ in range(2):
        for batch in ([eb], [lu_alone, other]):
            again = crud.upsert_events(session=session, city_id=city, events=batch)
            assert again.new == [] and again.updated == [], batch[0].link
    session.commit()
    assert len(session.exec(select(Event)).all()) == 2


def test_date_only_listing_has_no_time(session):
    day = datetime(2030, 8, 1, tzinfo=ZoneInfo("America/Denver"))
    crud.upsert_events(
        session=session,
        city_id="co--denver",
        events=[_ev("https://lu.ma/fest", day, date_only=True)],
    )
    row = session.exec(select(Event)).one()
    assert (row.local_date, row.local_time) == ("2030-08-01", "")


def test_default_listing_is_what_is_not_over_yet(session):
    now = datetime.now(UTC)
    events = [
        _ev("https://lu.ma/on-now", now - timedelta(hours=2), end=now + timedelta(hours=2)),
        _ev("https://lu.ma/over", now - timedelta(hours=4), end=now - timedelta(hours=1)),
        _ev("https://lu.ma/no-end-recent", now - timedelta(hours=3)),
        _ev("https://lu.ma/no-end-old", now - timedelta(hours=7)),
        _ev("https://lu.ma/later", now + timedelta(days=2)),
    ]
    crud.upsert_events(session=session, city_id="ny--new-york", events=events)
    session.commit()
    listed = {e.link for e in crud.events_for_city(session=session, city_id="ny--new-york")}
    assert listed == {"https://lu.ma/on-now", "https://lu.ma/no-end-recent", "https://lu.ma/later"}
