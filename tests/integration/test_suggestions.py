"""Suggesting a calendar through the API, for real: the API served by uvicorn on PostgreSQL,
the calendars on the local site server, decision mails in the outbox, the approved feed
scraped with its city.

Each refusal answers 4xx with words a person understands and stores nothing. The local
site server is on 127.0.0.1, so tests that read it allow private hosts
(ALLOW_PRIVATE_FEED_HOSTS); the refusals of private addresses run with the setting off.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, col, select

from nocturne.api import create_api
from nocturne.api.ratelimit import memory_store
from nocturne.db import get_engine
from nocturne.feeds import add_city_feed
from nocturne.models import CityFeed, EmailLog, Event, FeedSuggestion, Subscription
from nocturne.settings import Settings, settings
from scrapers.fetch import Fetcher
from tests.support.api_server import serve
from tests.support.services import migrate
from tests.support.site_server import ICS, Route, SiteServer, page_with
from workers.jobs.scrape import scrape_city
from workers.jobs.suggestions import preview_suggestion, send_suggestion_decision

ADMIN = "suggestions-admin-token"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
CITY = "il--chicago"


def calendar(*events: tuple[str, datetime]) -> str:
    body = "".join(
        f"BEGIN:VEVENT\r\nUID:{n}@elsewhere.test\r\nDTSTAMP:20261101T000000Z\r\n"
        f"DTSTART:{start.astimezone(UTC):%Y%m%dT%H%M%SZ}\r\nSUMMARY:{title}\r\n"
        "LOCATION:Elsewhere\\, 599 Johnson Ave\\, Chicago\r\nEND:VEVENT\r\n"
        for n, (title, start) in enumerate(events)
    )
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Nocturne tests//EN\r\n"
        f"X-WR-TIMEZONE:America/Chicago\r\n{body}END:VCALENDAR\r\n"
    )


SOON = (datetime.now(UTC) + timedelta(days=4)).replace(hour=3, minute=0, second=0, microsecond=0)
FEED = calendar(
    ("Rooftop techno", SOON),
    ("Basement breaks", SOON + timedelta(days=7)),
    ("Last month's party", SOON - timedelta(days=40)),
)


@pytest.fixture
def srv() -> Iterator[SiteServer]:
    routes = [
        Route("/elsewhere.ics", FEED, content_type=ICS, shift=False),
        Route("/slow.ics", FEED, content_type=ICS, shift=False, delay=3.0),
        Route("/about.html", page_with("<h1>About us</h1><p>We throw parties.</p>"), shift=False),
        Route(
            "/to-metadata",
            "",
            status=302,
            headers={"Location": "http://169.254.169.254/latest/meta-data/"},
        ),
        Route("/loop", "", status=302, headers={"Location": "/loop"}),
        Route("/moved.ics", "", status=301, headers={"Location": "/elsewhere.ics"}),
    ]
    with SiteServer(routes) as server:
        yield server


@pytest.fixture
def api(pg_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[httpx.Client]:
    migrate(pg_url, "head")
    for name, value in {
        "database_url": pg_url,
        "redis_url": None,
        "admin_token": ADMIN,
        "rate_limit_enabled": True,
        "rate_limit_suggest": "50/hour",
        "email_provider": "outbox",
        "email_outbox_dir": tmp_path / "outbox",
        "allow_private_feed_hosts": True,
        "feed_timeout_seconds": 15.0,
        "feed_max_bytes": 10 * 1024 * 1024,
    }.items():
        monkeypatch.setattr(settings, name, value)
    memory_store.clear()
    with serve(create_api()) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield client
    memory_store.clear()
    get_engine(pg_url).dispose()


def stored() -> list[FeedSuggestion]:
    with Session(get_engine(settings.database_url)) as session:
        return list(session.exec(select(FeedSuggestion).order_by(col(FeedSuggestion.id))))


def suggest(api: httpx.Client, url: str, **fields: Any) -> httpx.Response:
    return api.post("/suggestions", json={"city_id": CITY, "url": url, **fields})


def outbox() -> list[Path]:
    folder = Path(settings.email_outbox_dir)
    return sorted(folder.glob("*.eml")) if folder.exists() else []


def wait_for(check: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


# --- accepted --------------------------------------------------------------------------


def test_a_calendar_is_read_once_and_waits_with_its_preview(
    api: httpx.Client, srv: SiteServer
) -> None:
    answer = suggest(
        api,
        srv.base_url + "/elsewhere.ics",
        name="Elsewhere  Brooklyn",
        email="Me@Example.org",
        note="Their rooftop nights\nare missing.",
    )
    assert answer.status_code == 202, answer.text
    body = answer.json()
    preview = body["preview"]
    assert (preview["state"], preview["kind"], preview["found"], preview["coming"]) == (
        "ok", "ical", 3, 2,
    )  # fmt: skip
    assert preview["message"].startswith("Found 3 events, 2 coming; next: ")
    assert preview["message"].endswith(" — Rooftop techno")
    assert [n["title"] for n in preview["next"]] == ["Rooftop techno", "Basement breaks"]
    assert srv.count("/elsewhere.ics") == 1
    [row] = stored()
    assert (row.id, row.status, row.name, row.email) == (
        body["id"], "pending", "Elsewhere Brooklyn", "me@example.org",
    )  # fmt: skip
    assert row.note == "Their rooftop nights\nare missing."
    assert row.submitter_hash and "127.0.0.1" not in row.submitter_hash

    got = api.get(f"/suggestions/{row.id}").json()
    assert (got["status"], got["preview"]["found"]) == ("pending", 3)
    assert "email" not in got and "note" not in got
    assert api.get("/suggestions/999999").status_code == 404


# --- refusals: 4xx in plain words, nothing stored ----------------------------------------


@pytest.mark.parametrize(
    ("url", "reason", "words"),
    [
        ("file:///etc/passwd", "scheme", "Only web addresses"),
        ("http://127.0.0.1:5432/", "private", "private network"),
        ("http://localhost:6379/feed.ics", "private", "private network"),
        ("http://[::1]:80/feed.ics", "private", "private network"),
        ("http://169.254.169.254/latest/meta-data/", "private", "private network"),
        ("ftp://example.org/feed.ics", "scheme", "Only web addresses"),
    ],
)
def test_private_and_non_web_addresses_are_refused(
    api: httpx.Client, monkeypatch: pytest.MonkeyPatch, url: str, reason: str, words: str
) -> None:
    monkeypatch.setattr(settings, "allow_private_feed_hosts", False)
    answer = suggest(api, url)
    assert answer.status_code == 422, answer.text
    assert answer.json()["reason"] == reason
    assert words in answer.json()["message"]
    assert answer.json()["detail"][0]["loc"] == ["body", "url"]
    assert stored() == []


def test_the_local_server_is_refused_without_the_setting_and_never_reached(
    api: httpx.Client, srv: SiteServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "allow_private_feed_hosts", False)
    for host in ("127.0.0.1", "localhost"):
        answer = suggest(api, srv.base_url.replace("127.0.0.1", host) + "/elsewhere.ics")
        assert answer.status_code == 422
        assert answer.json()["reason"] == "private"
        assert f"{host} points inside a private network" in answer.json()["message"]
    assert srv.count() == 0
    assert stored() == []


def test_a_redirect_is_checked_at_every_hop(api: httpx.Client, srv: SiteServer) -> None:
    """Private hosts allowed (the site server is one), the redirect to the cloud metadata
    address is still refused: each hop's resolved address is checked before connecting."""
    answer = suggest(api, srv.base_url + "/to-metadata")
    assert answer.status_code == 422
    assert answer.json()["reason"] == "private"
    assert "169.254.169.254 points inside a private network" in answer.json()["message"]
    loop = suggest(api, srv.base_url + "/loop")
    assert (loop.status_code, loop.json()["reason"]) == (422, "redirects")
    assert "redirects more than 5 times" in loop.json()["message"]
    assert srv.count("/loop") == 6
    assert stored() == []
    moved = suggest(api, srv.base_url + "/moved.ics")  # a plain redirect is followed
    assert moved.status_code == 202
    assert moved.json()["preview"]["found"] == 3


def test_too_large_too_slow_and_not_a_calendar_are_refused(
    api: httpx.Client, srv: SiteServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "feed_max_bytes", 300)
    large = suggest(api, srv.base_url + "/elsewhere.ics")
    assert (large.status_code, large.json()["reason"]) == (422, "too_large")
    assert "larger than" in large.json()["message"] and "our limit" in large.json()["message"]
    monkeypatch.setattr(settings, "feed_max_bytes", 10 * 1024 * 1024)

    monkeypatch.setattr(settings, "feed_timeout_seconds", 1.0)
    started = time.monotonic()
    slow = suggest(api, srv.base_url + "/slow.ics")
    assert time.monotonic() - started < 2.5
    assert (slow.status_code, slow.json()["reason"]) == (422, "too_slow")
    assert slow.json()["message"] == "The site took longer than 1 s to answer."
    monkeypatch.setattr(settings, "feed_timeout_seconds", 15.0)

    page = suggest(api, srv.base_url + "/about.html")
    assert (page.status_code, page.json()["reason"]) == (422, "not_calendar")
    assert "holds no calendar we can read" in page.json()["message"]
    missing = suggest(api, srv.base_url + "/gone.ics")
    assert (missing.status_code, missing.json()["reason"]) == (422, "http_error")
    assert "HTTP 404" in missing.json()["message"]
    unknown = suggest(api, "https://no-such-host.invalid/feed.ics")
    assert (unknown.status_code, unknown.json()["reason"]) == (422, "unreachable")
    assert stored() == []


def test_a_duplicate_gets_a_kind_answer_naming_it(api: httpx.Client, srv: SiteServer) -> None:
    url = srv.base_url + "/elsewhere.ics"
    with Session(get_engine(settings.database_url)) as session:
        add_city_feed(session=session, city_id=CITY, name="Ember Room", url=url, kind="ical")
        session.commit()
    known = suggest(api, url)
    assert known.status_code == 409
    assert known.json()["reason"] == "duplicate"
    assert known.json()["feed_name"] == "Ember Room"
    assert known.json()["detail"].startswith("Ember Room is already one of this city's calendars")
    assert stored() == []
    assert srv.count() == 0

    other = srv.base_url + "/moved.ics"
    first = suggest(api, other)
    again = suggest(api, other, name="Someone else's name")
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["id"] == first.json()["id"]
    assert "waits for review" in again.json()["message"]
    assert len(stored()) == 1


def test_bad_fields_are_422_naming_them(api: httpx.Client, srv: SiteServer) -> None:
    url = srv.base_url + "/elsewhere.ics"
    assert api.post("/suggestions", json={"city_id": "xx--nowhere", "url": url}).status_code == 422
    bad_email = suggest(api, url, email="not-an-address")
    assert bad_email.status_code == 422
    assert bad_email.json()["reason"] == "email"
    assert stored() == []


def test_the_honeypot_looks_accepted_and_stores_nothing(api: httpx.Client, srv: SiteServer) -> None:
    answer = suggest(api, srv.base_url + "/elsewhere.ics", website="http://spam.example")
    assert answer.status_code == 202
    assert answer.json()["status"] == "pending" and answer.json()["id"] > 0
    assert stored() == []
    assert srv.count() == 0


def test_rate_limits_per_address_and_per_email(
    api: httpx.Client, srv: SiteServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "rate_limit_suggest", "2/hour")
    monkeypatch.setattr(settings, "allow_private_feed_hosts", False)
    refused_url = "http://127.0.0.1/feed.ics"  # refused at once: the limit is what is tested
    # The peer is a trusted proxy, so X-Forwarded-For names the client.
    one = {"X-Forwarded-For": "203.0.113.7"}
    codes = [api.post("/suggestions", json={"city_id": CITY, "url": refused_url}, headers=one)]
    codes.append(api.post("/suggestions", json={"city_id": CITY, "url": refused_url}, headers=one))
    third = api.post("/suggestions", json={"city_id": CITY, "url": refused_url}, headers=one)
    assert [c.status_code for c in codes] == [422, 422]
    assert third.status_code == 429
    assert int(third.headers["Retry-After"]) > 0

    body = {"city_id": CITY, "url": refused_url, "email": "busy@example.org"}
    answers = [
        api.post("/suggestions", json=body, headers={"X-Forwarded-For": f"198.51.100.{n}"})
        for n in range(3)
    ]
    assert [a.status_code for a in answers] == [422, 422, 429]
    assert "this email" in answers[2].json()["detail"]
    assert int(answers[2].headers["Retry-After"]) > 0
    assert stored() == []


# --- moderation ------------------------------------------------------------------------


def test_admin_routes_need_the_token(api: httpx.Client) -> None:
    assert api.get("/admin/suggestions").status_code == 401
    assert api.post("/admin/suggestions/1/approve").status_code == 401
    bad = {"Authorization": "Bearer wrong"}
    assert (
        api.post("/admin/suggestions/1/reject", json={"reason": "x"}, headers=bad).status_code
        == 401
    )


async def _scrape_chicago(srv: SiteServer) -> dict[str, Any]:
    cfg = Settings(**srv.settings_overrides(scrape_meetup_keywords=["music"]))
    async with Fetcher(cfg) as fetcher:
        return await scrape_city({"fetcher": fetcher}, CITY, ["ical"])


def test_approve_makes_a_feed_scraped_with_the_city_and_mails_once(
    api: httpx.Client, srv: SiteServer
) -> None:
    url = srv.base_url + "/elsewhere.ics"
    created = suggest(api, url, name="Elsewhere", email="dj@example.org", note="<b>hi</b>")
    sid = created.json()["id"]
    queue = api.get("/admin/suggestions", headers=AUTH).json()
    assert [(s["id"], s["email"], s["note"]) for s in queue["items"]] == [
        (sid, "dj@example.org", "<b>hi</b>")
    ]
    assert queue["items"][0]["preview"]["found"] == 3
    assert queue["total"] == 1

    approved = api.post(f"/admin/suggestions/{sid}/approve", headers=AUTH)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    feed_id = approved.json()["feed_id"]
    with Session(get_engine(settings.database_url)) as session:
        feed = session.get(CityFeed, feed_id)
        assert feed is not None
        assert (feed.city_id, feed.name, feed.url, feed.kind, feed.status) == (
            CITY, "Elsewhere", url, "ical", "active",
        )  # fmt: skip

    mails = wait_for(outbox)
    assert len(mails) == 1
    text = mails[0].read_text()
    assert "Subject: Elsewhere is now listed on Nocturne Chicago" in text
    assert "To: dj@example.org" in text
    assert "List-Unsubscribe" not in text  # not subscribed to anything: no list to leave

    again = api.post(f"/admin/suggestions/{sid}/approve", headers=AUTH)
    assert (again.status_code, again.json()["reason"]) == (409, "decided")
    assert api.get("/admin/suggestions", headers=AUTH).json() == {"items": [], "total": 0}
    done = api.get("/admin/suggestions", params={"status": "approved"}, headers=AUTH).json()
    assert [(s["id"], s["name"], s["feed_id"]) for s in done["items"]] == [
        (sid, "Elsewhere", feed_id)
    ]

    # The city's scrape reads the new feed and credits its events to it.
    summary = asyncio.run(_scrape_chicago(srv))
    assert not summary["failed_sources"]
    with Session(get_engine(settings.database_url)) as session:
        events = session.exec(select(Event).where(Event.feed_id == feed_id)).all()
        logs = session.exec(select(EmailLog).where(EmailLog.kind == "suggestion")).all()
    assert {e.title for e in events} == {"Rooftop techno", "Basement breaks"}
    assert all(e.city_id == CITY for e in events)
    assert [(log.recipient, log.status) for log in logs] == [("dj@example.org", "sent")]

    # A re-run of the mail job sends nothing more.
    assert asyncio.run(send_suggestion_decision({}, sid)) == "skipped"
    assert len(outbox()) == 1


def test_reject_needs_a_reason_and_tells_the_submitter_once(
    api: httpx.Client, srv: SiteServer
) -> None:
    with Session(get_engine(settings.database_url)) as session:
        # Subscribed to the digest: the mail carries that subscription's unsubscribe link.
        session.add(Subscription(email="fan@example.org", city_id=CITY, status="active"))
        session.commit()
    sid = suggest(api, srv.base_url + "/elsewhere.ics", email="fan@example.org").json()["id"]
    empty = api.post(f"/admin/suggestions/{sid}/reject", json={"reason": "   "}, headers=AUTH)
    assert (empty.status_code, empty.json()["reason"]) == (422, "reason")
    assert empty.json()["detail"][0]["loc"] == ["body", "reason"]
    assert api.post(f"/admin/suggestions/{sid}/reject", headers=AUTH).status_code == 422
    assert stored()[0].status == "pending"

    reason = "A private <club> list; we only list public events."
    rejected = api.post(f"/admin/suggestions/{sid}/reject", json={"reason": reason}, headers=AUTH)
    assert rejected.status_code == 200
    assert (rejected.json()["status"], rejected.json()["reason"]) == ("rejected", reason)
    assert api.get(f"/suggestions/{sid}").json()["reason"] == reason
    [mail] = wait_for(outbox)
    text = mail.read_text()
    assert "Subject: Your calendar suggestion for Chicago" in text
    assert "List-Unsubscribe: <http" in text
    assert "&lt;club&gt;" in text  # shown as text in the HTML part
    assert api.post(f"/admin/suggestions/{sid}/approve", headers=AUTH).status_code == 409
    with Session(get_engine(settings.database_url)) as session:
        assert session.exec(select(CityFeed)).all() == []
    assert asyncio.run(send_suggestion_decision({}, sid)) == "skipped"
    assert len(outbox()) == 1


def test_no_mail_to_an_address_that_unsubscribed(api: httpx.Client, srv: SiteServer) -> None:
    with Session(get_engine(settings.database_url)) as session:
        session.add(Subscription(email="gone@example.org", city_id=CITY, status="unsubscribed"))
        session.commit()
    sid = suggest(api, srv.base_url + "/elsewhere.ics", email="gone@example.org").json()["id"]
    assert api.post(f"/admin/suggestions/{sid}/approve", headers=AUTH).status_code == 200
    assert asyncio.run(send_suggestion_decision({}, sid)) == "skipped"
    assert outbox() == []


def test_the_preview_job_reads_again_and_publishes_live(api: httpx.Client, srv: SiteServer) -> None:
    from nocturne import live
    from nocturne.suggestions import live_channel

    sid = suggest(api, srv.base_url + "/elsewhere.ics").json()["id"]
    # The calendar's page now answers with something else (the more specific route wins).
    gone = Route("/elsewhere.ics", "<html><title>Gone</title></html>", {"x": None}, shift=False)
    srv.add(gone)

    async def run() -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        async with live.subscribe(live_channel(sid)) as messages:
            preview = await preview_suggestion({}, sid)
            return preview, await messages.get(timeout=5)

    preview, message = asyncio.run(run())
    assert preview is not None and message is not None
    assert message["type"] == "suggestion_previewed"
    assert message["preview"] == preview
    assert preview["state"] == "failed" and preview["reason"] == "not_calendar"
    assert api.get(f"/suggestions/{sid}").json()["preview"]["reason"] == "not_calendar"
    queued = api.post(f"/admin/suggestions/{sid}/preview", headers=AUTH)
    assert queued.status_code == 202
    assert queued.json()["channel"] == f"suggestion:{sid}"


# --- every later fetch of a feed -----------------------------------------------------------


async def _scrape_with(srv: SiteServer, **overrides: Any) -> dict[str, Any]:
    cfg = Settings(**srv.settings_overrides(**overrides))
    async with Fetcher(cfg) as fetcher:
        return await scrape_city({"fetcher": fetcher}, CITY, ["ical"])


def test_the_scrape_reads_feeds_through_the_safe_fetch(api: httpx.Client, srv: SiteServer) -> None:
    """A feed at a private address (the setting off) or past the size cap fails that feed's
    run with the reason, and a private one is never requested."""
    from nocturne.models import ScrapeRun
    from scrapers.errors import parse_recorded

    with Session(get_engine(settings.database_url)) as session:
        feed = add_city_feed(
            session=session, city_id=CITY, name="Elsewhere", url=srv.base_url + "/elsewhere.ics",
            kind="ical",
        )  # fmt: skip
        session.commit()
        feed_id = feed.id

    def last_run() -> ScrapeRun:
        with Session(get_engine(settings.database_url)) as session:
            runs = session.exec(select(ScrapeRun).where(ScrapeRun.feed_id == feed_id)).all()
            return sorted(runs, key=lambda r: r.id or 0)[-1]

    summary = asyncio.run(_scrape_with(srv, allow_private_feed_hosts=False))
    assert summary["failed_sources"] == [f"ical:{feed_id}"]
    run = last_run()
    recorded = parse_recorded(run.error)
    assert run.status == "failed" and recorded is not None and recorded.reason == "refused"
    assert "private network" in recorded.detail
    assert srv.count("/elsewhere.ics") == 0

    asyncio.run(_scrape_with(srv, feed_max_bytes=300))
    recorded = parse_recorded(last_run().error)
    assert recorded is not None and recorded.reason == "refused"
    assert "larger than" in recorded.detail

    summary = asyncio.run(_scrape_with(srv))
    assert not summary["failed_sources"]
    assert (last_run().status, last_run().new) == ("ok", 2)


def test_on_redis_the_jobs_run_on_an_arq_worker(
    api: httpx.Client, srv: SiteServer, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With REDIS_URL the API queues the decision mail and the second look on Redis; a
    burst arq worker (the WorkerSettings' functions) runs them."""
    from tests.support.jobs import Harness

    sid = suggest(api, srv.base_url + "/elsewhere.ics", email="dj@example.org").json()["id"]
    monkeypatch.setattr(settings, "redis_url", redis_url)
    reject = api.post(f"/admin/suggestions/{sid}/reject", json={"reason": "Private"}, headers=AUTH)
    assert reject.status_code == 200
    queued = api.post(f"/admin/suggestions/{sid}/preview", headers=AUTH)
    assert queued.json()["job_id"] == f"suggestion-preview:{sid}"
    assert outbox() == []  # queued, not sent: no worker has run yet
    before = stored()[0].previewed_at

    async def drain() -> None:
        async with Harness("arq", None, redis_url) as harness:
            await harness.drain()

    asyncio.run(drain())
    [mail] = outbox()
    assert "Subject: Your calendar suggestion for Chicago" in mail.read_text()
    row = stored()[0]
    assert row.previewed_at is not None and before is not None and row.previewed_at > before
    assert row.preview["found"] == 3 and row.notified_at is not None
