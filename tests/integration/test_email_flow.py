"""Subscribe -> confirmation email -> confirm link -> digest -> one-click unsubscribe.

Real pieces: the migrated database (SQLite and PostgreSQL), an aiosmtpd SMTP server that
receives every message, and the email routes served by uvicorn over real HTTP.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlmodel import Session, select

from nocturne import crud, subscriptions
from nocturne.models import EmailLog, Subscription, utcnow
from nocturne.settings import settings
from scrapers.event import ScrapedEvent
from tests.support.smtp import RecordingHandler, free_port, smtp_server
from workers.email.send import Mailer, SmtpProvider
from workers.jobs.email import send_confirmation, send_weekly_digests

CITY = "il--chicago"
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def api_base(engine, monkeypatch) -> Iterator[str]:
    """The email routes on a real port; links in emails point here."""
    from nocturne.api.email_routes import router

    app = FastAPI()
    app.include_router(router)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    base = f"http://127.0.0.1:{port}"
    monkeypatch.setattr(settings, "database_url", str(engine.url.render_as_string(False)))
    monkeypatch.setattr(settings, "public_url", base)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield base
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def smtp() -> Iterator[Any]:
    with smtp_server() as server:
        yield server


def _ctx(engine, smtp) -> dict[str, Any]:
    def factory() -> Mailer:
        provider = SmtpProvider(host=smtp.host, port=smtp.port, security="none")
        return Mailer([provider], rate_per_second=0, retry_seconds=0.01)

    return {"engine": engine, "mailer_factory": factory}


def _links(msg) -> dict[str, str]:  # type: ignore[no-untyped-def]
    text = msg.get_body(("plain",)).get_content()
    return dict(re.findall(r"(?m)^.*?(/confirm|/unsubscribe)\?token=([\w.\-]+)", text))


def _next_week_monday(city_tz: str) -> datetime:
    local = utcnow().astimezone(ZoneInfo(city_tz))
    monday = (local + timedelta(days=7 - local.weekday())).date()
    return datetime(monday.year, monday.month, monday.day, tzinfo=ZoneInfo(city_tz))


async def test_subscribe_confirm_digest_unsubscribe_over_real_smtp_and_http(engine, api_base, smtp):
    ctx = _ctx(engine, smtp)
    with Session(engine, expire_on_commit=False) as session:
        result = subscriptions.subscribe(
            session=session, email="  Night.Owl@Example.COM ", city_id=CITY
        )
        session.commit()
    assert result.outcome == "created" and result.send_confirmation
    assert result.email == "night.owl@example.com" and result.status == "pending"

    assert await send_confirmation(ctx, result.subscription_id) == "sent"
    assert await send_confirmation(ctx, result.subscription_id) == "skipped"  # a re-run
    [received] = smtp.handler.messages
    msg = received.message
    assert received.rcpt_tos == ["night.owl@example.com"]
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["Subject"] == "Confirm your Nocturne digest for Chicago"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["List-Unsubscribe"].startswith(f"<{api_base}/unsubscribe?token=")
    links = _links(msg)
    html = msg.get_body(("html",)).get_content()
    assert f"{api_base}/confirm?token={links['/confirm']}" in html

    async with httpx.AsyncClient(base_url=api_base) as http:
        bad = await http.get("/confirm", params={"token": links["/confirm"] + "x"})
        assert bad.status_code == 400
        # Opening the link (as a mail scanner does) only shows the button.
        page = await http.get("/confirm", params={"token": links["/confirm"]})
        assert page.status_code == 200 and "Confirm subscription" in page.text
        assert 'method="post" action="/confirm?token=' in page.text
        with Session(engine) as session:
            assert session.get(Subscription, result.subscription_id).status == "pending"
        bad_post = await http.post("/confirm", params={"token": links["/confirm"] + "x"})
        assert bad_post.status_code == 400
        ok = await http.post("/confirm", params={"token": links["/confirm"]})
        assert ok.status_code == 200 and "subscribed" in ok.text and "Chicago" in ok.text
        again = await http.post("/confirm", params={"token": links["/confirm"]})
        assert again.status_code == 200 and "subscribed" in again.text
        opened = await http.get("/confirm", params={"token": links["/confirm"]})
        assert "subscribed</h1>" in opened.text and "Confirm subscription" not in opened.text

    with Session(engine) as session:
        sub = session.get(Subscription, result.subscription_id)
        assert sub.status == "active" and sub.confirmed_at is not None
        again = subscriptions.subscribe(
            session=session, email="night.owl@example.com", city_id=CITY
        )
        assert again.outcome == "already_active" and not again.send_confirmation
        # The digest: an event whose title tries to inject HTML.
        monday = _next_week_monday("America/Chicago")
        events = [
            ScrapedEvent(title=XSS, link="https://www.eventbrite.com/e/1", source="eventbrite",
                         start=monday + timedelta(days=2, hours=21), venue="Empty Bottle",
                         price_min=10, price_max=10, currency="USD"),
            ScrapedEvent(title="Warehouse rave", link="https://lu.ma/rave", source="luma",
                         start=monday + timedelta(days=5, hours=23), is_free=True),
        ]  # fmt: skip
        crud.upsert_events(session=session, city_id=CITY, events=events)
        session.commit()

    summary = await send_weekly_digests(ctx, city_id=CITY, week=monday.date().isoformat())
    assert summary[CITY]["sent"] == 1 and summary[CITY]["complete"] is True
    await send_weekly_digests(ctx, city_id=CITY, week=monday.date())  # a second run: nothing
    digests = [m for m in smtp.handler.messages if "This week" in m.message["Subject"]]
    assert len(digests) == 1
    msg = digests[0].message
    html = msg.get_body(("html",)).get_content()
    text = msg.get_body(("plain",)).get_content()
    assert XSS not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert XSS in text and "Warehouse rave" in text and "Free" in text and "$10" in text
    assert "Empty Bottle" in html and 'href="https://lu.ma/rave"' in html
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = msg["List-Unsubscribe"].strip("<>")
    assert unsubscribe in text

    async with httpx.AsyncClient() as http:
        page = await http.get(unsubscribe)
        assert page.status_code == 200 and 'name="List-Unsubscribe" value="One-Click"' in page.text
        with Session(engine) as session:
            assert session.get(Subscription, result.subscription_id).status == "active"
        wrong = await http.post(unsubscribe, content="nothing=here")
        assert wrong.status_code == 400
        # What a mail client sends for RFC 8058.
        done = await http.post(
            unsubscribe,
            content="List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert done.status_code == 200 and "unsubscribed" in done.text
        twice = await http.post(unsubscribe, data={"List-Unsubscribe": "One-Click"})
        assert twice.status_code == 200

    with Session(engine) as session:
        sub = session.get(Subscription, result.subscription_id)
        assert sub.status == "unsubscribed" and sub.unsubscribed_at is not None  # soft delete
        logs = session.exec(select(EmailLog).order_by(EmailLog.id)).all()
        assert [(log.kind, log.status, log.provider) for log in logs] == [
            ("confirm", "sent", "smtp"),
            ("digest", "sent", "smtp"),
        ]
        assert logs[1].digest_week == monday.date().isoformat()
        # Subscribing again starts over: pending, a new token version, old links dead.
        back = subscriptions.subscribe(session=session, email="night.owl@example.com", city_id=CITY)
        session.commit()
    assert back.outcome == "resubscribed" and back.status == "pending"
    async with httpx.AsyncClient(base_url=api_base) as http:
        stale = await http.get("/confirm", params={"token": links["/confirm"]})
        assert stale.status_code == 400
        stale_post = await http.post("/confirm", params={"token": links["/confirm"]})
        assert stale_post.status_code == 400


async def test_pending_resubscribe_is_rate_limited_then_resent(engine, api_base, smtp):
    ctx = _ctx(engine, smtp)
    t0 = utcnow()
    with Session(engine, expire_on_commit=False) as session:
        first = subscriptions.subscribe(
            session=session, email="a@example.com", city_id=CITY, now=t0
        )
        session.commit()
        soon = subscriptions.subscribe(
            session=session, email="a@example.com", city_id=CITY, now=t0 + timedelta(seconds=30)
        )
        session.commit()
    await send_confirmation(ctx, first.subscription_id)
    assert soon.outcome == "too_soon" and not soon.send_confirmation
    assert "already on its way" in soon.message
    with Session(engine, expire_on_commit=False) as session:
        later = subscriptions.subscribe(
            session=session,
            email="a@example.com",
            city_id=CITY,
            now=utcnow() + timedelta(minutes=3),
        )
        session.commit()
    assert later.outcome == "resent"
    assert subscriptions.confirmation_job_id(later) != subscriptions.confirmation_job_id(first)
    assert await send_confirmation(ctx, later.subscription_id) == "sent"
    assert len(smtp.handler.to("a@example.com")) == 2


@pytest.mark.parametrize("bad", ["not-an-email", "a@", "two@@example.com", ""])
def test_bad_emails_are_refused_with_a_clear_message(session, bad):
    with pytest.raises(subscriptions.SubscriptionError, match="doesn't look right"):
        subscriptions.subscribe(session=session, email=bad, city_id=CITY)


def test_unknown_city_is_refused(session):
    with pytest.raises(subscriptions.SubscriptionError, match="Unknown city"):
        subscriptions.subscribe(session=session, email="a@example.com", city_id="xx--nowhere")


async def test_confirmation_logs_every_attempt_and_retries_a_deferral(engine):
    handler = RecordingHandler(defer_next=1)
    with smtp_server(handler=handler) as server:
        ctx = _ctx(engine, server)
        with Session(engine, expire_on_commit=False) as session:
            res = subscriptions.subscribe(session=session, email="b@example.com", city_id=CITY)
            session.commit()
        assert await send_confirmation(ctx, res.subscription_id) == "sent"
    assert len(handler.messages) == 1
    with Session(engine) as session:
        logs = session.exec(select(EmailLog).order_by(EmailLog.attempt)).all()
    assert [(log.attempt, log.status) for log in logs] == [(1, "failed"), (2, "sent")]
    assert "451" in logs[0].error
