"""Rich cards under day headings, and live cards taking their place in date order while
the reader's scroll position stays put."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import col, delete, select

from nocturne import cards, live
from nocturne.cities import require_city
from nocturne.crud import upsert_events
from nocturne.db import session_scope
from nocturne.models import Event, EventLink
from scrapers.event import ScrapedEvent
from tests.e2e.seed import picture_and_merge, scraped

pytestmark = pytest.mark.browser

CITY = "tx--austin"  # seeded here only: no other browser test lists or refreshes it
DESKTOP = {"width": 1366, "height": 900}
CARD = "[data-event-id]"
DAY = "(Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
X_TICKS = ".nc-chart text.nc-tick"
# Measured in the page: the layout shifts seen so far (images loading, cards arriving).
SHIFTS_JS = """
window.__shift = 0;
window.__shifted = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if (e.hadRecentInput) continue;
    window.__shift += e.value;
    window.__shifted.push(e.sources.map((s) => s.node?.className || s.node?.nodeName));
  }
}).observe({ type: "layout-shift", buffered: true });
"""


@pytest.fixture(scope="module")
def austin(harness: Any) -> Iterator[str]:
    """Thirty nights out over two weeks, one tonight, one with an image the app itself
    serves (no network), one merged from two sources; removed afterwards, so the home
    map's dots and other tests see the seed alone."""
    base_url = str(harness.frontend_url).rstrip("/")
    events = picture_and_merge(scraped(CITY, 30, tag="cards"), image_url=f"{base_url}/icon-512.png")
    tz = require_city(CITY).tz
    soon = datetime.now(UTC).astimezone(tz) + timedelta(hours=1)
    events.append(_event("Tonight's Opener", soon, "opener"))
    with session_scope() as session:
        upsert_events(session=session, city_id=CITY, events=events)
    yield f"{base_url}/city/{CITY}?show=all"  # Everything: tonight's opener may be daytime
    with session_scope() as session:
        rows = session.exec(select(Event).where(Event.city_id == CITY)).all()
        ids = [row.id for row in rows]
        session.exec(delete(EventLink).where(col(EventLink.event_id).in_(ids)))  # type: ignore[call-overload]
        for row in rows:
            session.delete(row)  # through the ORM: its hook moves the city's version


def _event(title: str, start: datetime, slug: str) -> ScrapedEvent:
    return ScrapedEvent(
        title=title,
        link=f"https://example.test/luma/{CITY}/{slug}",
        source="luma",
        start=start,
        end=start + timedelta(hours=3),
        venue="Mohawk",
        description="Club night with a live set.",
        is_free=True,
    )


def _open(browser: Browser, url: str) -> Page:
    page = browser.new_page(viewport=DESKTOP)
    page.add_init_script(SHIFTS_JS)
    page.goto(url)
    expect(page.locator(CARD).first).to_be_visible()
    return page


def test_cards_show_picture_or_fallback_in_a_fixed_box(browser: Browser, austin: str) -> None:
    page = _open(browser, austin)
    page.evaluate("window.__shift = 0")  # from here on: the skeleton's swap is done
    with session_scope() as session:
        rows = session.exec(select(Event).where(Event.city_id == CITY)).all()
    pictured = next(r for r in rows if r.image_url)
    merged = next(r for r in rows if len(r.links) == 2)

    card = page.locator(f'[data-event-id="{pictured.id}"]')
    card.scroll_into_view_if_needed()
    img = card.locator("img.nc-card-img")
    expect(img).to_have_attribute("loading", "lazy")
    expect(img).to_have_attribute("alt", pictured.title)
    page.wait_for_function(
        "(el) => el.complete && el.naturalWidth > 0", arg=img.element_handle(), timeout=15_000
    )
    # The excerpt shows the description's markup as text, on at most two lines.
    excerpt = card.locator(".nc-card-excerpt")
    expect(excerpt).to_contain_text("<p>Live trio until late.</p> Doors at nine")
    box = excerpt.bounding_box()
    line = float(excerpt.evaluate("(el) => parseFloat(getComputedStyle(el).lineHeight)"))
    assert box and box["height"] <= 2 * line + 1

    # The square image fills the 16:9 box rather than sizing it.
    pic, shown = card.locator(".nc-card-pic").bounding_box(), img.bounding_box()
    assert pic and shown and pic == shown
    assert abs(pic["height"] - pic["width"] * 9 / 16) < 1.5
    # Every picture box, image or gradient, is 16:9 of the card's width.
    boxes = page.locator(".nc-card-pic")
    assert boxes.count() == page.locator(CARD).count() >= 31
    for i in range(0, boxes.count(), 5):
        b = boxes.nth(i).bounding_box()
        assert b and abs(b["height"] - b["width"] * 9 / 16) < 1.5
    fallback = page.locator(".nc-card-pic--fallback").first
    assert "linear-gradient" in fallback.evaluate("(el) => getComputedStyle(el).backgroundImage")
    assert page.evaluate("window.__shift") < 0.01, str(
        page.evaluate("window.__shifted")[-1]
    )  # the image arrived without moving a thing

    # A merged event links to each source's own page.
    links = page.locator(f'[data-event-id="{merged.id}"] a.nc-source-link')
    expect(links).to_have_text(["Luma", "Eventbrite"])
    assert links.nth(1).get_attribute("href") == merged.links[1]

    # Cards of one row are one height.
    rows_by_top: dict[int, set[int]] = {}
    for b in page.locator(CARD).evaluate_all(
        "(els) => els.map((e) => [e.getBoundingClientRect().top, e.offsetHeight])"
    ):
        rows_by_top.setdefault(round(b[0]), set()).add(b[1])
    assert all(len(heights) == 1 for heights in rows_by_top.values()), rows_by_top
    # Price or Free, and the time the American way.
    opener = page.locator(CARD, has_text="Tonight's Opener")
    expect(opener.locator(".nc-price")).to_have_text("Free")
    expect(opener.locator(".nc-card-day")).to_have_text(
        re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} \d{1,2} · \d{1,2}(:\d\d)? [AP]M$")
    )
    page.close()


def _expected_headings() -> list[str]:
    tz = require_city(CITY).tz
    with session_scope() as session:
        rows = session.exec(select(Event).where(Event.city_id == CITY)).all()
    now = datetime.now(UTC).astimezone(tz)
    listed = [cards.event_card(r) for r in rows]
    return [g["heading"] for g in cards.day_groups(listed, now=now)]


def test_day_headings(browser: Browser, austin: str) -> None:
    page = _open(browser, austin)
    headings = page.locator(".nc-day-heading")
    expect(headings.first).to_have_text(
        re.compile(r"^(Tonight, \w{3} \w{3} \d+ · 5 PM\u20136 AM|Today, )")
    )
    expect(headings.nth(1)).to_have_text(re.compile(r"^Tomorrow, \w{3} \w{3} \d+$"))
    expect(headings).to_have_text(_expected_headings())
    # The chart's axis reads as days, its tooltip as a sentence.
    ticks = page.locator(X_TICKS)
    expect(ticks.first).to_have_text(re.compile(rf"^{DAY} \d{{1,2}}$"))
    days = ticks.all_text_contents()
    assert all(re.fullmatch(rf"{DAY} \d{{1,2}}", t) for t in days), days
    weekend = page.locator(".nc-chart text.nc-tick--weekend").all_text_contents()
    assert weekend and weekend == [t for t in days if t.startswith(("Sat", "Sun"))]
    assert re.fullmatch(rf"{DAY} [A-Z][a-z]{{2}} \d+: \d+ events?", _tooltip(page, 2))
    assert re.fullmatch(
        r"(Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day, \w{3} \d+", headings.nth(2).inner_text()
    )
    # Each day's cards start that day (or in its small hours).
    for section in page.locator(".nc-day").all()[:4]:
        night = section.get_attribute("data-night")
        for time_ in section.locator(".nc-card-day").all():
            stamp = datetime.fromisoformat(time_.get_attribute("datetime").replace("Z", "+00:00"))
            local = stamp.astimezone(require_city(CITY).tz)
            assert cards.night_of(local.date().isoformat(), local.strftime("%H:%M")) == night
    page.close()


def _publish(harness: Any, message: dict[str, Any]) -> None:
    """Publish as a job would, on the app's own loop (embedded mode: in-memory fan-out)."""
    loop = harness.backend.servers[0].get_loop()
    asyncio.run_coroutine_threadsafe(live.publish(CITY, message), loop).result(10)


def _chip_counts(page: Page) -> dict[str, int]:
    return {
        str(tag): int(count)
        for tag, count in page.locator("[data-tag]").evaluate_all(
            "(els) => els.map((e) => [e.dataset.tag, e.querySelector('.nc-chip-count').innerText])"
        )
    }


def _tooltip(page: Page, index: int) -> str:
    """The chart's tooltip over the ``index``-th day (one of the labelled ones: even)."""
    chart = page.locator(".nc-chart .recharts-wrapper")
    tick = page.locator(X_TICKS).nth(index // 2).bounding_box()
    plot = chart.bounding_box()
    assert tick and plot
    x = tick["x"] + tick["width"] / 2 - plot["x"]
    chart.hover(position={"x": x, "y": plot["height"] / 3})
    label = page.locator(".recharts-tooltip-label")
    expect(label).to_be_visible()
    return label.inner_text()


def _order(page: Page) -> list[tuple[str, str]]:
    return [
        (str(n), str(t))
        for n, t in page.locator(".nc-day").evaluate_all(
            "(days) => days.flatMap((d) => [...d.querySelectorAll('time')].map("
            "(t) => [d.dataset.night, t.getAttribute('datetime')]))"
        )
    ]


def test_live_cards_take_their_place_and_the_reader_stays_put(
    browser: Browser, austin: str, harness: Any
) -> None:
    reader, other = _open(browser, austin), _open(browser, austin)
    cards_before = reader.locator(CARD).count()
    # The reader scrolls to the fifth day: its first card just under the sticky header.
    day = reader.locator(".nc-day").nth(4)
    night = date.fromisoformat(str(day.get_attribute("data-night")))
    target = day.locator(CARD).first
    target_id = target.get_attribute("data-event-id")
    reader.evaluate(
        "(el) => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 90)",
        target.element_handle(),
    )
    reader.wait_for_timeout(300)
    before = target.bounding_box()
    assert before and abs(before["y"] - 90) < 2
    chips_before = _chip_counts(reader)
    bar_before = _tooltip(other, 2)  # the day after tomorrow, where one arrives

    # Three new events: the day after tomorrow (far above the reader), later the night
    # they read, and in 13 days.
    tz = require_city(CITY).tz
    today = datetime.now(UTC).astimezone(tz).date()
    starts = [
        datetime.combine(today + timedelta(days=13), time(21, 5), tz),
        datetime.combine(today + timedelta(days=2), time(21, 5), tz),
        datetime.combine(night, time(23, 55), tz),
    ]
    new = [_event(f"Arrival {i}", start, f"arrive-{i}") for i, start in enumerate(starts)]
    with session_scope() as session:
        upsert_events(session=session, city_id=CITY, events=new)
        rows = session.exec(select(Event).where(Event.title.startswith("Arrival"))).all()  # type: ignore[attr-defined]
        arrived = [cards.event_card(r) for r in rows]
    # Published until both tabs have them (a tab's listener subscribes just after its
    # load); a card already listed is never added twice.
    for _ in range(30):
        _publish(harness, {"type": "events", "events": arrived})
        if all(p.locator(".nc-card--fresh").count() == 3 for p in (reader, other)):
            break
        reader.wait_for_timeout(500)
    for page in (reader, other):
        expect(page.locator(".nc-card--fresh")).to_have_count(3)
        expect(page.locator(CARD)).to_have_count(cards_before + 3)
        order = _order(page)
        assert order == sorted(order)  # by night, then start: inserted, not appended
        for card in arrived:
            section = page.locator(f'.nc-day:has([data-event-id="{card["id"]}"])')
            expect(section).to_have_attribute("data-night", card["night"])
    # Slid in 120 ms apart, in their order in the batch.
    delays = [
        reader.locator(f'[data-event-id="{c["id"]}"]').evaluate(
            "(el) => getComputedStyle(el).animationDelay"
        )
        for c in arrived
    ]
    assert sorted(delays) == ["0.12s", "0.24s", "0s"]
    reader.wait_for_timeout(800)
    after = reader.locator(f'[data-event-id="{target_id}"]').bounding_box()
    assert after and abs(after["y"] - before["y"]) < 2, (before, after)
    # The chart counts the one after dark, the day after tomorrow.
    early = next(c for c in arrived if c["title"] == "Arrival 1")
    want = int(bar_before.split(": ")[1].split()[0]) + int(early["after_dark"])
    other.mouse.move(0, 0)
    assert re.fullmatch(rf".*: {want} events?", _tooltip(other, 2))
    # The tag chips count them.
    gained = Counter(tag for card in arrived for tag in card["tags"] if tag in chips_before)
    assert gained, [card["tags"] for card in arrived]
    after_chips = _chip_counts(reader)
    assert {t: after_chips[t] - chips_before[t] for t in gained} == dict(gained)
    reader.close()
    other.close()
