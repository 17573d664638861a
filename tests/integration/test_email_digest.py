"""Weekly digests: frozen issues, Monday 09:00 local, and exactly one digest per subscriber
even when the job runs twice, is cancelled halfway, or its process is killed mid-batch."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from nocturne import crud
from nocturne.models import (
    DigestDelivery,
    DigestIssue,
    EmailLog,
    Subscription,
    SubscriptionStatus,
    utcnow,
)
from nocturne.settings import ROOT
from scrapers.event import ScrapedEvent
from tests.support.smtp import RecordingHandler, smtp_server
from workers.email import digest as store
from workers.email.send import BuiltMessage, Mailer, OutgoingEmail, SmtpProvider
from workers.jobs.email import send_weekly_digests

CITY = "ny--new-york"
TZ = ZoneInfo("America/New_York")


def _next_monday() -> datetime:
    local = utcnow().astimezone(TZ)
    day = (local + timedelta(days=7 - local.weekday())).date()
    return datetime(day.year, day.month, day.day, tzinfo=TZ)


def _seed(engine, *, subscribers: int, city: str = CITY, monday: datetime | None = None) -> None:
    monday = monday or _next_monday()
    with Session(engine) as session:
        for i in range(subscribers):
            session.add(
                Subscription(
                    email=f"sub{i:03d}@example.com",
                    city_id=city,
                    status=SubscriptionStatus.active,
                    confirmed_at=utcnow(),
                )
            )
        crud.upsert_events(
            session=session,
            city_id=city,
            events=[
                ScrapedEvent(
                    title=f"Night {d}",
                    link=f"https://www.eventbrite.com/e/{city}-{d}",
                    source="eventbrite",
                    start=monday + timedelta(days=d, hours=22),
                    venue="Basement",
                )
                for d in range(0, 7, 2)
            ],
        )
        session.commit()


@pytest.fixture
def smtp() -> Iterator[Any]:
    with smtp_server() as server:
        yield server


def _ctx(engine, server, **extra: Any) -> dict[str, Any]:
    def factory() -> Mailer:
        provider = SmtpProvider(host=server.host, port=server.port, security="none")
        return Mailer([provider], rate_per_second=0, retry_seconds=0.01)

    return {"engine": engine, "mailer_factory": factory, **extra}


def _per_recipient(handler: RecordingHandler) -> dict[str, int]:
    counts: dict[str, int] = {}
    for m in handler.messages:
        for r in m.rcpt_tos:
            counts[r] = counts.get(r, 0) + 1
    return counts


def _assert_exactly_one_each(engine, handler: RecordingHandler, n: int) -> None:
    assert _per_recipient(handler) == {f"sub{i:03d}@example.com": 1 for i in range(n)}
    with Session(engine) as session:
        rows = session.exec(select(DigestDelivery)).all()
        assert len(rows) == n and {r.status for r in rows} == {"sent"}
        sent_logs = session.exec(
            select(EmailLog).where(EmailLog.kind == "digest", EmailLog.status == "sent")
        ).all()
        assert len(sent_logs) == n
        issue = session.exec(select(DigestIssue)).one()
        assert issue.completed_at is not None


async def test_a_digest_run_twice_delivers_one_per_subscriber(engine, smtp):
    _seed(engine, subscribers=6)
    week = _next_monday().date()
    first = await send_weekly_digests(_ctx(engine, smtp), city_id=CITY, week=week)
    second = await send_weekly_digests(_ctx(engine, smtp), city_id=CITY, week=week)
    assert first[CITY]["sent"] == 6 and first[CITY]["events"] == 4
    assert second == {}  # the issue is complete: nothing to do
    _assert_exactly_one_each(engine, smtp.handler, 6)
    ids = {m.message["Message-ID"] for m in smtp.handler.messages}
    assert len(ids) == 6 and all(i.startswith(f"<digest.{week}.") for i in ids)


async def test_the_issue_is_frozen_for_late_subscribers(engine, smtp):
    _seed(engine, subscribers=2)
    monday = _next_monday()
    ctx = _ctx(engine, smtp)
    await send_weekly_digests(ctx, city_id=CITY, week=monday.date())
    with Session(engine) as session:
        session.exec(select(DigestIssue)).one().completed_at = None  # reopened for the test
        session.add(Subscription(email="late@example.com", city_id=CITY, status="active"))
        crud.upsert_events(
            session=session,
            city_id=CITY,
            events=[
                ScrapedEvent(title="Added later", link="https://lu.ma/later", source="luma",
                             start=monday + timedelta(days=3, hours=21))
            ],
        )  # fmt: skip
        session.commit()
    await send_weekly_digests(ctx, city_id=CITY, week=monday.date())
    [late] = smtp.handler.to("late@example.com")
    first = smtp.handler.messages[0].message
    assert "Added later" not in late.message.get_body(("plain",)).get_content()
    assert late.message["Subject"] == first["Subject"]
    assert len(smtp.handler.messages) == 3


class _HangAfter:
    """Wraps a provider: after ``n`` messages it blocks, as a stuck send would."""

    name = "smtp"

    def __init__(self, inner: SmtpProvider, n: int) -> None:
        self.inner, self.n, self.sent = inner, n, 0
        self.stuck = asyncio.Event()

    async def send(self, msg: BuiltMessage, email: OutgoingEmail) -> str | None:
        if self.sent >= self.n:
            self.stuck.set()
            await asyncio.sleep(3600)
        self.sent += 1
        return await self.inner.send(msg, email)

    async def close(self) -> None:
        await self.inner.close()


async def test_a_run_cancelled_halfway_then_rerun_delivers_one_each(engine, smtp):
    _seed(engine, subscribers=8)
    week = _next_monday().date()
    hang = _HangAfter(SmtpProvider(host=smtp.host, port=smtp.port, security="none"), 3)
    ctx = {"engine": engine, "mailer_factory": lambda: Mailer([hang], rate_per_second=0)}
    job = asyncio.create_task(send_weekly_digests(ctx, city_id=CITY, week=week))
    await asyncio.wait_for(hang.stuck.wait(), 10)
    job.cancel()  # what arq does when a job times out
    with pytest.raises(asyncio.CancelledError):
        await job
    assert len(smtp.handler.messages) == 3
    with Session(engine) as session:
        statuses = sorted(r.status for r in session.exec(select(DigestDelivery)))
    assert statuses == ["pending"] * 5 + ["sent"] * 3  # the stuck claim was released

    await send_weekly_digests(_ctx(engine, smtp), city_id=CITY, week=week)
    _assert_exactly_one_each(engine, smtp.handler, 8)


async def test_a_killed_process_then_rerun_delivers_one_each(engine, tmp_path):
    """SIGKILL the CLI while the server holds the 4th message unanswered; re-run in-process."""
    _seed(engine, subscribers=7)
    week = _next_monday().date()
    handler = RecordingHandler(hold_after=3)
    with smtp_server(handler=handler) as server:
        env = {
            **os.environ,
            "DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "SMTP_HOST": server.host,
            "SMTP_PORT": str(server.port),
            "SMTP_SECURITY": "none",
            "EMAIL_PROVIDER": "smtp",
            "EMAIL_RATE_PER_SECOND": "0",
            "REDIS_URL": "",
            "PYTHONPATH": str(ROOT),
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "workers", "digest", "--send", "--city", CITY,
             "--week", week.isoformat()],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            held = await asyncio.to_thread(handler.held.wait, 60)
            assert held, proc.stderr.read().decode() if proc.poll() is not None else "not held"
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.kill()
            proc.communicate(timeout=30)
        assert len(handler.messages) == 3
        with Session(engine) as session:
            statuses = sorted(r.status for r in session.exec(select(DigestDelivery)))
        assert statuses == ["pending"] * 3 + ["sending"] + ["sent"] * 3

        handler.hold_after = None
        # Within the lease a re-run leaves the dead run's claim alone...
        await send_weekly_digests(_ctx(engine, server), city_id=CITY, week=week)
        assert len(handler.messages) == 6
        # ...and once it is stale, the row is sent.
        await send_weekly_digests(_ctx(engine, server), city_id=CITY, week=week, lease_seconds=0)
    _assert_exactly_one_each(engine, handler, 7)


async def test_hourly_run_sends_on_monday_9am_local_per_city(engine, smtp, caplog):
    monday = _next_monday()
    _seed(engine, subscribers=1, city="ny--new-york", monday=monday)
    _seed(engine, subscribers=0, city="ca--los-angeles", monday=monday)
    with Session(engine) as session:
        session.add(
            Subscription(email="la@example.com", city_id="ca--los-angeles", status="active")
        )
        # Chicago has a subscriber but no events this week.
        session.add(Subscription(email="chi@example.com", city_id="il--chicago", status="active"))
        session.commit()
    ctx = _ctx(engine, smtp)
    day = monday.date()
    at = lambda h, m=0: datetime(day.year, day.month, day.day, h, m, tzinfo=UTC)  # noqa: E731

    # Each city on its own clock: 09:00 in New York is 08:00 in Chicago, 06:00 in LA.
    ny_9 = datetime(day.year, day.month, day.day, 9, 0, tzinfo=TZ).astimezone(UTC)
    assert await send_weekly_digests(ctx, now=ny_9 - timedelta(minutes=30)) == {}
    sent = await send_weekly_digests(ctx, now=ny_9)
    assert set(sent) == {"ny--new-york"}  # Chicago is still 08:00, LA 06:00
    chi_9 = datetime(day.year, day.month, day.day, 9, 0, tzinfo=ZoneInfo("America/Chicago"))
    with caplog.at_level(logging.INFO, logger="workers.jobs.email"):
        sent = await send_weekly_digests(ctx, now=chi_9.astimezone(UTC))
    assert set(sent) == {"il--chicago"} and sent["il--chicago"]["sent"] == 0
    assert any("no events for il--chicago" in r.getMessage() for r in caplog.records)
    la_9 = datetime(day.year, day.month, day.day, 9, 0, tzinfo=ZoneInfo("America/Los_Angeles"))
    sent = await send_weekly_digests(ctx, now=la_9.astimezone(UTC) + timedelta(hours=1))
    assert set(sent) == {"ca--los-angeles"}
    assert await send_weekly_digests(ctx, now=at(23)) == {}  # Monday evening: all complete
    assert sorted(r for m in smtp.handler.messages for r in m.rcpt_tos) == [
        "la@example.com",
        "sub000@example.com",
    ]
    assert store.due_cities(now=ny_9 + timedelta(days=1)) == []  # Tuesday: nobody


async def test_unsubscribed_before_the_send_gets_nothing(engine, smtp):
    _seed(engine, subscribers=3)
    with Session(engine) as session:
        sub = session.exec(
            select(Subscription).where(Subscription.email == "sub001@example.com")
        ).one()
        crud.unsubscribe(session=session, subscription_id=sub.id)
        session.commit()
    await send_weekly_digests(_ctx(engine, smtp), city_id=CITY, week=_next_monday().date())
    assert sorted(_per_recipient(smtp.handler)) == ["sub000@example.com", "sub002@example.com"]
