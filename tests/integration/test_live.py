"""The live channel: in-memory fan-out, and Redis pub/sub to a subscriber in another process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from nocturne import live
from nocturne.cards import event_card
from nocturne.models import Event
from nocturne.settings import ROOT, settings
from tests.support import jobs as support
from tests.support.jobs import Harness, PageSource, future_events

app_db = support.app_db  # fixture
LA, SF = "ca--los-angeles", "ca--san-francisco"

SUBSCRIBER = textwrap.dedent(
    """
    import asyncio, json, sys
    from nocturne import live

    async def main(city_id, out_path):
        async with live.subscribe(city_id) as sub:
            print("ready", flush=True)
            with open(out_path, "w") as out:
                while True:
                    message = await sub.get(timeout=20)
                    if message is None:
                        break
                    out.write(json.dumps(message) + "\\n")
                    out.flush()
                    if message["type"] == "scrape_finished":
                        break

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


def _card_event(**kw) -> Event:
    values = dict(
        id=7,
        title="Basement techno",
        link="https://lu.ma/x",
        links=["https://lu.ma/x", "https://www.meetup.com/g/events/1"],
        source="luma",
        sources=",luma,meetup,",
        city_id=LA,
        start_at=datetime(2030, 11, 29, 6, 0, tzinfo=UTC),
        timezone="America/Los_Angeles",
        local_date="2030-11-28",
        local_time="22:00",
        venue="The Cave",
        currency="USD",
    )
    values.update(kw)
    return Event(**values)


@pytest.mark.parametrize(
    ("prices", "label"),
    [
        ({"is_free": True}, "Free"),
        ({"price_min": 10.0, "price_max": 10.0}, "$10"),
        ({"price_min": 10.0, "price_max": 25.5}, "$10\u2013$25.50"),
        ({"price_min": None, "price_max": 15.0}, "$15"),
        ({}, ""),
    ],
)
def test_event_card_has_everything_to_render(prices, label):
    card = event_card(_card_event(**prices))
    assert card["price_label"] == label
    assert card["is_free"] is bool(prices.get("is_free"))
    assert card["sources"] == ["luma", "meetup"]
    assert card["start_at"] == "2030-11-29T06:00:00Z"
    assert (card["local_date"], card["local_time"], card["day_label"]) == (
        "2030-11-28",
        "22:00",
        "Thu 28 Nov",
    )
    assert set(card) >= {"id", "title", "link", "links", "venue", "address", "image_url"}
    json.dumps(card)  # crosses Redis as JSON


async def test_in_memory_fan_out_reaches_every_watcher_of_that_city_only(monkeypatch):
    monkeypatch.setattr(settings, "redis_url", None)
    async with live.subscribe(LA) as a, live.subscribe(LA) as b, live.subscribe(SF) as other:
        await live.publish(LA, {"type": "source_started", "source": "luma"})
        for sub in (a, b):
            assert await sub.get(timeout=1) == {
                "type": "source_started",
                "source": "luma",
                "city_id": LA,
            }
        assert await other.get(timeout=0.1) is None
    assert LA not in live._local and SF not in live._local  # closed subscribers are gone


async def test_iterating_a_subscription_stops_cleanly_when_closed(monkeypatch):
    monkeypatch.setattr(settings, "redis_url", None)
    sub = live.subscribe(LA)
    await sub.open()
    got = []

    async def reader():
        async for message in sub:
            got.append(message)
            if len(got) == 2:
                break
        await sub.aclose()

    task = asyncio.create_task(reader())
    await live.publish(LA, {"type": "events", "events": []})
    await live.publish(LA, {"type": "scrape_finished"})
    await asyncio.wait_for(task, 2)
    assert [m["type"] for m in got] == ["events", "scrape_finished"]
    assert LA not in live._local


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_pending_takes_what_has_arrived_without_waiting(backend, monkeypatch, request):
    url = request.getfixturevalue("redis_url") if backend == "redis" else None
    monkeypatch.setattr(settings, "redis_url", url)
    async with live.subscribe(LA) as sub:
        assert await sub.pending(10) == []
        for i in range(5):
            await live.publish(LA, {"type": "events", "events": [], "n": i})
        assert (await sub.get(timeout=2))["n"] == 0  # type: ignore[index]
        await asyncio.sleep(0.05)  # the rest reach the subscriber's buffer
        assert [m["n"] for m in await sub.pending(3)] == [1, 2, 3]
        assert [m["n"] for m in await sub.pending(3)] == [4]
        assert await sub.pending(3) == []
    await live.close()


async def test_redis_subscriber_in_another_process_hears_a_worker_scrape(
    app_db, redis_url, monkeypatch, tmp_path: Path
):
    monkeypatch.setattr(settings, "redis_url", redis_url)
    out = tmp_path / "heard.jsonl"
    env = {**os.environ, "REDIS_URL": redis_url, "DATABASE_URL": app_db}
    proc = subprocess.Popen(
        [sys.executable, "-c", SUBSCRIBER, LA, str(out)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        source = PageSource()
        events = future_events("luma", 4, key="live")
        source.set(LA, "luma", events[:2], events[2:])
        async with Harness("arq", source, redis_url) as h:
            await h.enqueue("scrape_city", city_id=LA, sources=["luma"])
            await h.drain()
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()
        proc.wait()
    heard = [json.loads(line) for line in out.read_text().splitlines()]
    assert [m["type"] for m in heard] == [
        "scrape_started",
        "source_started",
        "events",
        "events",
        "source_finished",
        "scrape_finished",
    ]
    cards = [c for m in heard if m["type"] == "events" for c in m["events"]]
    assert [c["link"] for c in cards] == [e.link for e in events]
    assert heard[-1]["new"] == 4 and heard[-1]["failed_sources"] == []


async def test_a_redis_outage_does_not_fail_the_publisher(monkeypatch, caplog):
    monkeypatch.setattr(settings, "redis_url", "redis://127.0.0.1:1/0")
    await live.publish(LA, {"type": "scrape_started"})
    assert any("publish" in r.getMessage() for r in caplog.records)
    await live.close()


def test_channels_are_separate_per_redis_db(monkeypatch):
    """Pub/sub ignores db numbers: the channel names the db so deployments don't mix."""
    from nocturne.settings import settings

    monkeypatch.setattr(settings, "redis_url", "redis://127.0.0.1:6379/4")
    four = live.channel("il--chicago")
    monkeypatch.setattr(settings, "redis_url", "redis://127.0.0.1:6379/5")
    assert live.channel("il--chicago") != four
    monkeypatch.setattr(settings, "redis_url", "redis://127.0.0.1:6379?db=4")
    assert live.channel("il--chicago") == four


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_tabs_ending_a_refresh_together_share_one_read_of_chart_and_freshness(
    app_db, monkeypatch
):
    from nocturne.pages import city

    reads: list[str] = []
    real_chart = city._chart

    def counting_chart(city_id: str):  # type: ignore[no-untyped-def]
        reads.append(city_id)
        return real_chart(city_id)

    monkeypatch.setattr(city, "_chart", counting_chart)
    monkeypatch.setattr(city, "_after_scrape_runs", {})
    results = await asyncio.gather(*(city._shared_after_scrape(LA) for _ in range(50)))
    assert reads == [LA]
    chart, _ = results[0]
    assert len(chart) == 14 and all(r == results[0] for r in results)

    await city._shared_after_scrape(SF)
    assert reads == [LA, SF]
    monkeypatch.setattr(city, "SHARED_AFTER_SCRAPE_SECONDS", 0.0)
    await asyncio.sleep(0.01)
    await city._shared_after_scrape(LA)
    assert reads == [LA, SF, LA]  # older than the window: read again
