"""Weekly digests to many subscribers through a local SMTP sink, against a bare send loop.

The sink is aiosmtpd with a handler that accepts and drops, in its own process so it does
not share the sender's CPU. Both runs use one SMTP connection:

- bare:   aiosmtplib sending one prebuilt digest-sized message N times (the limit);
- digest: ``send_weekly_digests`` for one city with N active subscribers: claim each
          delivery, personalize, build MIME, send, log the attempt, mark it sent.

    python bench/bench_email.py [--subscribers 10000] [--database-url URL]

The database defaults to a throwaway SQLite file; the throttle is off (rate 0).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CITY = "ny--new-york"


def _sink(port: int, ready: multiprocessing.synchronize.Event) -> None:  # type: ignore[name-defined]
    from aiosmtpd.controller import Controller

    class Drop:
        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            return "250 OK"

    controller = Controller(Drop(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


def _seed(url: str, n: int) -> datetime:
    from sqlmodel import Session

    from nocturne import crud
    from nocturne.db import get_engine
    from nocturne.models import Subscription, utcnow
    from scrapers.event import ScrapedEvent
    from tests.support.services import migrate

    migrate(url, "head")
    tz = ZoneInfo("America/New_York")
    local = utcnow().astimezone(tz)
    day = (local + timedelta(days=7 - local.weekday())).date()
    monday = datetime(day.year, day.month, day.day, tzinfo=tz)
    with Session(get_engine(url)) as session:
        session.add_all(
            Subscription(email=f"s{i:05d}@example.com", city_id=CITY, status="active")
            for i in range(n)
        )
        crud.upsert_events(
            session=session,
            city_id=CITY,
            events=[
                ScrapedEvent(
                    title=f"Basement session {i}",
                    link=f"https://www.eventbrite.com/e/bench-{i}",
                    source="eventbrite",
                    start=monday + timedelta(days=i % 7, hours=18 + i % 5),
                    venue=f"Venue {i}",
                    price_min=10,
                    price_max=25,
                    currency="USD",
                )
                for i in range(25)
            ],
        )
        session.commit()
    return monday


async def _bare(port: int, n: int, payload: bytes) -> float:
    import aiosmtplib

    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
    await smtp.connect()
    t0 = time.perf_counter()
    for i in range(n):
        await smtp.sendmail("digest@nocturne.local", [f"s{i:05d}@example.com"], payload)
    took = time.perf_counter() - t0
    await smtp.quit()
    return took


async def _digest(url: str, port: int, week: str) -> tuple[float, dict]:  # type: ignore[type-arg]
    from nocturne.db import get_engine
    from workers.email.send import Mailer, SmtpProvider
    from workers.jobs.email import send_weekly_digests

    def factory() -> Mailer:
        return Mailer(
            [SmtpProvider(host="127.0.0.1", port=port, security="none")], rate_per_second=0
        )

    ctx = {"engine": get_engine(url), "mailer_factory": factory}
    t0 = time.perf_counter()
    summary = await send_weekly_digests(ctx, city_id=CITY, week=week)
    return time.perf_counter() - t0, summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    n = args.subscribers

    from tests.support.smtp import free_port

    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    monday = _seed(url, n)

    # A real digest, personalized once, is the bare loop's payload: same size on the wire.
    from workers.email.render import render_digest, with_unsubscribe
    from workers.email.send import OutgoingEmail, build_message

    with __import__("sqlmodel").Session(__import__("nocturne.db").db.get_engine(url)) as s:
        from workers.email import digest as store

        cards = store.issue_cards(session=s, city_id=CITY, week=monday.date(), now=monday)
    rendered = with_unsubscribe(
        render_digest(city_name="New York", week_start=monday.date(), cards=cards, city_url="x"),
        "http://localhost:3000/unsubscribe?token=" + "x" * 60,
    )
    payload = build_message(
        OutgoingEmail(
            to="s00000@example.com", subject=rendered.subject, html=rendered.html,
            text=rendered.text, kind="digest", message_id="<bench@nocturne.local>",
            unsubscribe_url="http://localhost:3000/unsubscribe?token=x",
        ),
        sender="Nocturne <digest@nocturne.local>",
    ).raw  # fmt: skip

    port = free_port()
    ready = multiprocessing.Event()
    sink = multiprocessing.Process(target=_sink, args=(port, ready), daemon=True)
    sink.start()
    ready.wait(30)
    try:
        bare = asyncio.run(_bare(port, n, payload))
        took, summary = asyncio.run(_digest(url, port, monday.date().isoformat()))
    finally:
        sink.terminate()
        sink.join(10)
        tmp.cleanup()

    sent = summary[CITY]["sent"]
    assert sent == n, summary
    bare_rate, digest_rate = n / bare, sent / took
    backend = url.split(":", 1)[0]
    print(f"digest size: {len(payload) / 1024:.1f} KiB, {len(cards)} events; database: {backend}")
    print(f"bare aiosmtplib loop : {n} messages in {bare:6.2f} s = {bare_rate:7.0f} msg/s")
    print(f"send_weekly_digests  : {sent} messages in {took:6.2f} s = {digest_rate:7.0f} msg/s")
    ratio = bare_rate / digest_rate
    print(f"ratio bare/digest    : {ratio:.2f}x (target <= 2x) {'OK' if ratio <= 2 else 'OVER'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
