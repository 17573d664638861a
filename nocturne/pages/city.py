"""A city's page: its events with filters, the vibe chart, refresh and live new events."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time as _time
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypedDict
from urllib.parse import urlencode

import reflex as rx

from nocturne import autofill, cards, crud, live, queue, refresh_limit
from nocturne.cities import get_city
from nocturne.components.event_card import SOURCE_NAMES, DayGroup, day_section
from nocturne.components.layout import page
from nocturne.components.subscribe import subscribe_form
from nocturne.db import session_scope
from nocturne.models import utcnow
from nocturne.pages.suggest import suggest_link
from nocturne.settings import settings
from nocturne.state import BaseState
from scrapers.crawl import city_sources, site_options
from scrapers.errors import explain, parse_recorded
from scrapers.sites import CITY_SOURCES
from scrapers.tags import TAGS

log = logging.getLogger(__name__)

STAGGER_MS = 120
PAGE_SIZE = 200
# A listener with no message re-checks this often that its tab still watches the city.
WATCH_CHECK_SECONDS = 5.0
# At most this many live messages folded into one state update of a tab.
BATCH_MAX = 50
WHEN_CHOICES = {"all": "All upcoming", "tonight": "Tonight", "weekend": "This weekend"}
WHEN_CHOICES["week"] = "Next 7 days"
# What the page opens on, and Everything one click away; kept in the URL (?show=all).
VIEWS = {"after-dark": "After dark", "all": "Everything"}
# Tag chips narrow the listing (?tag=music): the vocabulary less online (not listed here).
CHIP_TAGS = {slug: label for slug, label in TAGS.items() if slug != "online"}


class TagChip(TypedDict):
    tag: str
    label: str
    count: int


class DayCount(TypedDict):
    date: str  # YYYY-MM-DD
    label: str  # the axis: "Mon 7"
    tip: str  # the tooltip: "Wed Dec 9: 8 events"
    count: int
    # The bar, drawn in the weekend colour on Saturdays and Sundays (the other is 0)
    weekday: int
    weekend: int


class SourceLine(TypedDict):
    source: str
    name: str
    text: str
    state: str  # idle | running | done | partial | retrying | failed
    retry_in: int  # seconds to its next try when the line was drawn (a countdown follows)
    retry_key: str  # names that next try ("" when none), so a countdown starts once


# Counts down every [data-retry-key] element in the browser from the seconds the server
# drew: no polling of the server. The server's clock never meets the browser's.
COUNTDOWN_JS = """
(() => {
  if (window.__ncCountdown) return;
  window.__ncCountdown = setInterval(() => {
    const now = Date.now();
    for (const el of document.querySelectorAll("[data-retry-key]")) {
      if (el.__ncKey !== el.dataset.retryKey) {
        el.__ncKey = el.dataset.retryKey;
        el.__ncEnd = now + Number(el.dataset.retryIn || 0) * 1000;
      }
      const left = Math.ceil((el.__ncEnd - now) / 1000);
      const text = left > 0 ? `retrying in ${left} s` : "retrying now…";
      if (el.textContent !== text) el.textContent = text;
    }
  }, 250);
})();
"""


def _line(
    source: str, name: str, text: str, state: str, retry_at: float | None = None
) -> SourceLine:
    retry_in, retry_key = _retry(retry_at)
    return {"source": source, "name": name, "text": text, "state": state,
            "retry_in": retry_in, "retry_key": retry_key}  # fmt: skip


def _retry(retry_at: Any, now: float | None = None) -> tuple[int, str]:
    """Seconds left to a next try at ``retry_at`` (epoch seconds) and its countdown key."""
    if not retry_at:
        return 0, ""
    left = float(retry_at) - (_time.time() if now is None else now)
    return max(0, math.ceil(left)), f"{float(retry_at):.3f}"


def source_status(message: dict[str, Any]) -> tuple[str, str]:
    """A source's line (text, state) for its latest live message."""
    kind = message.get("type")
    new = int(message.get("new") or 0)
    reason = message.get("reason")
    why = explain(reason, page=message.get("stopped_at"), wait=message.get("wait"))
    if kind == "source_started":
        return (
            "searching again…" if int(message.get("attempt") or 1) > 1 else "searching…"
        ), "running"
    if kind == "source_retrying":
        return (f"{new} new · {why}" if new else why), "retrying"
    if kind == "source_failed":
        return (f"{new} new · {why}" if new else why), "failed"
    if kind == "source_finished":
        if message.get("skipped"):
            return f"skipped: {message['skipped']}", "done"
        if reason:  # it saved pages, then could not go on
            return f"{new} new · {why}", "partial"
        return f"{new} new · {int(message.get('found') or 0)} found", "done"
    return "waiting", "idle"


def scrape_summary(message: dict[str, Any]) -> tuple[str, bool]:
    """The refresh's closing line and whether it is a failure (shown in the error style)."""
    new = int(message.get("new") or 0)
    failed = list(message.get("failed_sources") or [])
    total = int(message.get("sources") or 0)
    found = f"Found {new} new event{'' if new == 1 else 's'}"
    if total and len(failed) >= total:
        reasons = list(message.get("reasons") or [])
        why = explain(reasons[0]) if len(reasons) == 1 else "see each source above"
        return f"Every source failed: {why}", True
    if failed:
        return f"{found} · {len(failed)} source{'' if len(failed) == 1 else 's'} failed", False
    return found, False


def time_window(when: str, city_id: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """UTC bounds of a filter in the city's own time.

    ``tonight`` is 17:00 to 06:00 the next morning (before 06:00 it is the night going on);
    ``weekend`` runs from Friday 17:00 to Monday 06:00 (the current one from Friday night
    on); ``week`` is today and the six days after.
    """
    tz = get_city(city_id).tz  # type: ignore[union-attr]
    local = (now or utcnow()).astimezone(tz)
    today = local.date()
    if when == "tonight":
        night = today - timedelta(days=1) if local.hour < 6 else today
        start = datetime.combine(night, time(17), tz)
        end = datetime.combine(night + timedelta(days=1), time(6), tz)
    elif when == "weekend":
        weekday = local.weekday()  # Mon 0 .. Sun 6
        in_weekend = (weekday == 4 and local.hour >= 17) or weekday in (5, 6)
        in_weekend = in_weekend or (weekday == 0 and local.hour < 6)
        friday = today - timedelta(days=(weekday - 4) % 7) if in_weekend else today
        if not in_weekend:
            friday = today + timedelta(days=(4 - weekday) % 7)
        start = datetime.combine(friday, time(17), tz)
        end = datetime.combine(friday + timedelta(days=3), time(6), tz)
    elif when == "week":
        start = datetime.combine(today, time.min, tz)
        end = datetime.combine(today + timedelta(days=7), time.min, tz)
    else:
        raise ValueError(f"unknown time filter {when!r}")
    return start.astimezone(UTC), end.astimezone(UTC)


def ago(moment: datetime, now: datetime | None = None) -> str:
    """ "just now", "12 min ago", "3 h ago", "2 days ago"."""
    seconds = max(0.0, ((now or utcnow()) - moment).total_seconds())
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 48 * 3600:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} days ago"


def _freshness(city_id: str) -> list[SourceLine]:
    with session_scope() as session:
        runs = {r.source: r for r in crud.last_scrape_runs(session=session, city_id=city_id)}
    lines: list[SourceLine] = []
    city = get_city(city_id)
    listed = (
        city_sources(city, settings.source_base_urls, site_options(settings))
        if city is not None
        else CITY_SOURCES
    )
    for source in listed:
        name = SOURCE_NAMES.get(source, source)
        run = runs.get(source)
        failure = parse_recorded(run.error) if run is not None else None
        if run is None or run.finished_at is None:
            text, state = "not fetched yet", "idle"
        elif run.status == "failed":
            why = explain(failure.reason if failure else None)
            text, state = f"failed {ago(run.finished_at)}: {why}", "failed"
        elif failure is not None:  # partial: it saved what it got before the error
            why = explain(failure.reason, page=failure.page)
            text, state = f"{run.new} new {ago(run.finished_at)} · {why}", "partial"
        else:
            text, state = f"updated {ago(run.finished_at)}", "done"
        lines.append(_line(source, name, text, state))
    return lines


def _was_gathered(city_id: str) -> bool:
    with session_scope() as session:
        return autofill.was_gathered(session=session, city_id=city_id)


def day_count(day: date, count: int) -> DayCount:
    """One bar of the vibe chart."""
    weekend = day.weekday() >= 5
    return {
        "date": day.isoformat(),
        "label": f"{day:%a} {day.day}",
        "tip": f"{cards.day_name(day)}: {count} event{'' if count == 1 else 's'}",
        "count": count,
        "weekday": 0 if weekend else count,
        "weekend": count if weekend else 0,
    }


def _chart(city_id: str) -> list[DayCount]:
    with session_scope() as session:
        counts = crud.counts_per_day(session=session, city_id=city_id, days=14, after_dark=True)
    return [day_count(d, n) for d, n in counts]


def city_now(city_id: str) -> datetime:
    """Now in the city's zone (which night is tonight)."""
    return utcnow().astimezone(get_city(city_id).tz)  # type: ignore[union-attr]


def _cards(
    city_id: str,
    when: str,
    free_only: bool,
    source: str,
    view: str = "all",
    tag: str = "",
    all_ages: bool = False,
) -> tuple[list[DayGroup], list[TagChip]]:
    """The listing's cards under their day headings, and a chip for each tag its events
    carry (whatever the tag chosen, so another is one click away)."""
    after = before = None
    if when != "all":
        after, before = time_window(when, city_id)
    query = crud.EventQuery(
        city_id=city_id,
        starts_after=after,
        starts_before=before,
        source=source or None,
        free=True if free_only else None,
        after_dark=True if view == "after-dark" else None,
        age="all-ages" if all_ages else None,
    )
    with session_scope() as session:
        tags = (tag,) if tag else ()
        events = crud.events_for_city(session=session, **query, tags=tags, limit=PAGE_SIZE)
        found = [{**cards.event_card(e), "fresh": False, "delay": "0ms"} for e in events]
        counts = crud.tag_counts(session=session, **query)
    chips = [
        TagChip(tag=slug, label=label, count=counts.get(slug, 0))
        for slug, label in CHIP_TAGS.items()
        if counts.get(slug) or slug == tag
    ]
    return cards.day_groups(found, now=city_now(city_id)), chips  # type: ignore[return-value]


class CityState(BaseState):
    city_id: str = ""
    city_name: str = ""
    city_state: str = ""
    not_found: bool = False
    loading: bool = True
    error: str = ""
    # The listing under its day headings (nocturne.cards.day_groups), live cards in place.
    days: list[DayGroup] = []
    when: str = "all"
    free_only: bool = False
    all_ages: bool = False
    source: str = ""
    view: str = "after-dark"
    tag: str = ""
    tag_chips: list[TagChip] = []
    freshness: list[SourceLine] = []
    progress: list[SourceLine] = []
    chart: list[DayCount] = []
    scraping: bool = False
    found_message: str = ""
    refresh_used: bool = False
    refresh_note: str = ""
    refresh_back: str = ""  # when a used refresh comes back ("Mon 14 Dec")
    summary_failed: bool = False
    summary_retry_in: int = 0
    summary_retry_key: str = ""
    # Bumped on every page load: a listener whose generation is stale stops itself.
    _watch_gen: int = 0
    # What the running refresh calls each of its feeds ("ical:3" -> "Elsewhere calendar")
    _labels: dict[str, str] = {}

    @rx.var
    def refresh_label(self) -> str:
        return "REFRESH USED (0/1)" if self.refresh_used else "REFRESH EVENTS (1/1)"

    @rx.var
    def refresh_hint(self) -> str:
        """Why the button is off, and when it comes back."""
        if self.scraping:
            return "A refresh of this city is running: new events appear as they are found."
        if self.refresh_used:
            back = f" or on {self.refresh_back}" if self.refresh_back else ""
            return (
                f"Used for this browser session. Back in a new session{back}; "
                "every city also refreshes nightly."
            )
        return "One refresh per browser session; every city also refreshes nightly."

    @rx.var
    def status_open(self) -> bool:
        return bool(self.progress or self.refresh_note or self.found_message)

    @rx.var
    def event_count(self) -> int:
        return sum(len(group["cards"]) for group in self.days)

    def _route_city(self) -> str:
        path = str(self.router.url.path or "")
        return path.rstrip("/").rsplit("/", 1)[-1] if path.startswith("/city/") else ""

    @rx.event
    async def load_city(self) -> Any:
        """on_load: the city, its events, chart and freshness; then listen for new events."""
        self._watch_gen += 1
        token = self.router.session.client_token
        _live_watch[token] = self._watch_gen
        city = get_city(self._route_city())
        self.progress, self.found_message, self.refresh_note = [], "", ""
        self.error, self.scraping = "", False
        if city is None:
            _live_watch.pop(token, None)  # no listener to come: none is wanted
            self.city_id, self.not_found, self.loading = "", True, False
            return None
        if city.id != self.city_id:
            self.when, self.free_only, self.source = "all", False, ""
            self.all_ages = False
            self.chart = []
        self.city_id, self.city_name, self.city_state = city.id, city.name, city.state
        params = self.router.url.query_parameters
        self.view = "all" if params.get("show") == "all" else "after-dark"
        self.tag = tag if (tag := params.get("tag", "")) in CHIP_TAGS else ""
        self.not_found, self.loading = False, True
        sid = self._ensure_refresh_sid()
        try:
            self.refresh_used = await refresh_limit.is_used(sid)
            (self.days, self.tag_chips), self.freshness = await asyncio.to_thread(self._query_cards)
        except Exception:
            log.exception("loading city %s failed", city.id)
            self.error = "Events could not be loaded just now. Please try again in a moment."
        self.loading = False
        if settings.autofill and not self.days and not self.error:
            await self._gather_first(city.id, city.name)
        # The chart follows in an update of its own: drawn in the same render as the
        # cards, it held back their first paint by ~80 ms.
        return [CityState.load_chart, CityState.watch_city(self._watch_gen)]

    async def _gather_first(self, city_id: str, name: str) -> None:
        """A city with no events, never scraped: its first scrape now, ahead of the first
        run's queue."""
        try:
            if await asyncio.to_thread(_was_gathered, city_id):
                return
            job_id = f"scrape:{city_id}"
            if await queue.enqueue("fill_city", city_id=city_id, _job_id=job_id) is None:
                await queue.hurry(job_id)  # queued by the first run, or running already
        except Exception:
            log.exception("starting the first scrape of %s failed", city_id)
            return
        self.scraping = True
        self.refresh_note = f"Gathering events for {name}…"

    def _query_cards(self) -> tuple[tuple[list[DayGroup], list[TagChip]], list[SourceLine]]:
        cid = self.city_id
        listing = _cards(
            cid, self.when, self.free_only, self.source, self.view, self.tag, self.all_ages
        )
        return listing, _freshness(cid)

    @rx.event
    async def load_chart(self) -> None:
        if self.city_id and not self.error:
            try:
                self.chart = await asyncio.to_thread(_chart, self.city_id)
            except Exception:
                log.exception("loading the chart of %s failed", self.city_id)

    async def _reload_cards(self) -> None:
        self.loading = True
        try:
            self.days, self.tag_chips = await asyncio.to_thread(
                _cards,
                self.city_id,
                self.when,
                self.free_only,
                self.source,
                self.view,
                self.tag,
                self.all_ages,
            )
            self.error = ""
        except Exception:
            log.exception("filtering city %s failed", self.city_id)
            self.error = "Events could not be loaded just now. Please try again in a moment."
        self.loading = False

    @rx.event
    async def set_when(self, value: str) -> None:
        self.when = value if value in WHEN_CHOICES else "all"
        await self._reload_cards()

    @rx.event
    async def set_free_only(self, value: bool) -> None:
        self.free_only = bool(value)
        await self._reload_cards()

    @rx.event
    async def set_all_ages(self, value: bool) -> None:
        self.all_ages = bool(value)
        await self._reload_cards()

    @rx.event
    async def set_source(self, value: str) -> None:
        self.source = value if value in SOURCE_NAMES else ""
        await self._reload_cards()

    @rx.event
    async def set_view(self, value: str) -> Any:
        """After dark or Everything; the address keeps it."""
        self.view = value if value in VIEWS else "after-dark"
        await self._reload_cards()
        return self._keep_in_url()

    @rx.event
    async def set_tag(self, value: str) -> Any:
        """Narrow to one tag; its chip again (or an unknown tag) shows them all."""
        self.tag = value if value in CHIP_TAGS and value != self.tag else ""
        await self._reload_cards()
        return self._keep_in_url()

    def _keep_in_url(self) -> Any:
        """The view and tag in the address, replaced rather than pushed: a reload or a
        shared link opens the same listing."""
        params = {"show": "all" if self.view == "all" else "", "tag": self.tag}
        query = urlencode({k: v for k, v in params.items() if v})
        search = json.dumps(f"?{query}" if query else "")
        return rx.call_script(
            f"window.history.replaceState(window.history.state, '', "
            f"window.location.pathname + {search})"
        )

    @rx.event
    async def handle_refresh(self) -> None:
        """Start a scrape of this city: once per browser session, checked on the server."""
        if not self.city_id:
            return
        sid = self._ensure_refresh_sid()
        if not await refresh_limit.claim(sid):
            self.refresh_used = True
            self.refresh_note = "This browser session has used its refresh."
            await self._load_refresh_back(sid)
            return
        try:
            job_id = await queue.enqueue(
                "scrape_city", city_id=self.city_id, _job_id=f"scrape:{self.city_id}"
            )
        except Exception:
            log.exception("enqueueing a scrape of %s failed", self.city_id)
            await refresh_limit.release(sid)
            self.refresh_note = "The refresh could not be started. Please try again."
            return
        if job_id is None:
            await refresh_limit.release(sid)
            self.refresh_note = "A refresh of this city is already running: watch it arrive."
            return
        self.refresh_used = True
        self.scraping, self.found_message, self.summary_failed = True, "", False
        self.refresh_note = "Refreshing… new events appear below as they are found."
        await self._load_refresh_back(sid)

    async def _load_refresh_back(self, sid: str) -> None:
        try:
            back = await refresh_limit.comes_back(sid)
        except Exception:  # only a hint: the button's state stands without it
            log.exception("reading when the refresh comes back failed")
            return
        self.refresh_back = f"{back:%a} {back.day} {back:%b}" if back else ""

    @rx.event
    async def load_refresh_hint(self) -> None:
        """on_mount of the refresh box: when a used refresh comes back."""
        await self._load_refresh_back(self._ensure_refresh_sid())

    @rx.event
    def handle_close_status(self) -> None:
        """Put away a finished refresh's status panel."""
        if not self.scraping:
            self.progress, self.found_message, self.refresh_note = [], "", ""
            self.summary_failed, self.summary_retry_key = False, ""

    def _matches(self, card: dict[str, Any], *, any_tag: bool = False) -> bool:
        if card.get("is_online") or card.get("status") == "gone":
            return False
        if self.free_only and not card.get("is_free"):
            return False
        if self.source and self.source not in card.get("sources", []):
            return False
        if self.view == "after-dark" and not card.get("after_dark"):
            return False
        if self.tag and not any_tag and self.tag not in card.get("tags", []):
            return False
        if self.all_ages and card.get("age") != "all-ages":
            return False
        if self.when != "all":
            lo, hi = time_window(self.when, self.city_id)
            start = datetime.fromisoformat(str(card["start_at"]).replace("Z", "+00:00"))
            return lo <= start < hi
        return True

    def _insert_cards(self, arrived: list[dict[str, Any]]) -> None:
        """New events take their place under their day's heading, sliding in one after
        another; the counters and the chart count them."""
        listed = cards.flatten(self.days)
        shown = {c["id"] for c in listed}
        new = [c for c in arrived if c["id"] not in shown]
        added = [
            {**c, "fresh": True, "delay": f"{i * STAGGER_MS}ms"}
            for i, c in enumerate(c for c in new if self._matches(c))
        ]
        if added:
            self.days = cards.day_groups(  # type: ignore[assignment]
                [*listed, *added], now=city_now(self.city_id)
            )
        self._count_arrivals(new)

    def _count_arrivals(self, new: list[dict[str, Any]]) -> None:
        """The chart's bars and the tag chips' counts, for events not listed before."""
        # The chart counts after-dark events whatever the filters, as crud.counts_per_day.
        bars = {bar["date"]: bar for bar in self.chart}
        for card in new:
            bar = bars.get(card.get("local_date", ""))
            counts = card.get("after_dark") and card.get("status") == "scheduled"
            if bar and counts and not card.get("is_online"):
                bars[bar["date"]] = day_count(date.fromisoformat(bar["date"]), bar["count"] + 1)
        if list(bars.values()) != self.chart:
            self.chart = list(bars.values())
        counted = [c for c in new if self._matches(c, any_tag=True)]
        if not counted:
            return
        chips = {chip["tag"]: chip for chip in self.tag_chips}
        for card in counted:
            for tag in card.get("tags", []):
                if tag in chips:
                    chips[tag] = {**chips[tag], "count": chips[tag]["count"] + 1}
                elif tag in CHIP_TAGS:
                    chips[tag] = TagChip(tag=tag, label=CHIP_TAGS[tag], count=1)
        order = list(CHIP_TAGS)
        self.tag_chips = sorted(chips.values(), key=lambda chip: order.index(chip["tag"]))

    def _set_progress(
        self, source: str, text: str, state: str, retry_at: float | None = None
    ) -> None:
        lines = [p for p in self.progress if p["source"] != source]
        site = source.split(":", 1)[0]
        name = self._labels.get(source) if ":" in source else None
        lines.append(_line(source, name or SOURCE_NAMES.get(site, source), text, state, retry_at))
        order = {s: i for i, s in enumerate(SOURCE_NAMES)}
        self.progress = sorted(
            lines, key=lambda p: (order.get(p["source"].split(":", 1)[0], 99), p["name"])
        )

    def _apply_message(self, message: dict[str, Any]) -> None:
        """Fold one live message into the page."""
        kind = message.get("type")
        if kind == "scrape_started":
            self.scraping, self.found_message, self.summary_failed = True, "", False
            self.summary_retry_key = ""
            self.progress = []
            self._labels = dict(message.get("labels") or {})
            for source in message.get("sources") or CITY_SOURCES:
                self._set_progress(source, "waiting", "idle")
        elif kind in ("source_started", "source_retrying", "source_finished", "source_failed"):
            self.scraping = True
            text, state = source_status(message)
            self._set_progress(message["source"], text, state, message.get("retry_at"))
        elif kind == "events":
            self._insert_cards(message.get("events", []))
        elif kind == "scrape_finished":
            self.scraping = False
            self.found_message, self.summary_failed = scrape_summary(message)
            self.summary_retry_in, self.summary_retry_key = _retry(message.get("retry_at"))
            self.refresh_note = ""
            if message.get("retry_at"):  # the failed sources' lines count down with it
                for line in list(self.progress):
                    if line["state"] == "failed":
                        self._set_progress(
                            line["source"], line["text"], "failed", message["retry_at"]
                        )

    @rx.event(background=True)
    async def watch_city(self, generation: int) -> None:
        """Carry live messages for this city into this tab until it leaves or closes."""
        async with self:
            city_id, token = self.city_id, self.router.session.client_token
        if not city_id:
            return
        try:
            async with live.subscribe(city_id) as messages:
                await self._replay_status(city_id, generation)
                while True:
                    message = await messages.get(timeout=WATCH_CHECK_SECONDS)
                    if message is None:
                        # Idle: checked without `async with self`, which loads and saves
                        # the tab's state (from Redis in production) every few seconds.
                        if _live_watch.get(token) != generation or not _tab_connected(token):
                            return
                        continue
                    # Whatever else has arrived goes into the same state update, or a
                    # burst would cost that load and save per message and per tab.
                    batch = [message, *await messages.pending(BATCH_MAX)]
                    async with self:
                        if self._watch_gen != generation or self.city_id != city_id:
                            return
                        for item in batch:
                            self._apply_message(item)
                    if any(m.get("type") == "scrape_finished" for m in batch):
                        await self._after_scrape(city_id)
        finally:
            if _live_watch.get(token) == generation:
                del _live_watch[token]

    async def _replay_status(self, city_id: str, generation: int) -> None:
        """A tab that opens while a refresh runs (or waits to try again) shows what the
        tabs watching it show: the kept status, replayed once subscribed."""
        try:
            kept = await live.status(city_id)
        except Exception:
            log.exception("reading the refresh status of %s failed", city_id)
            return
        end = next((m for m in kept if m.get("type") == "scrape_finished"), None)
        if not kept or (end is not None and float(end.get("retry_at") or 0) <= _time.time()):
            return  # no refresh, or one that is over: the freshness lines tell of it
        async with self:
            if self._watch_gen == generation and self.city_id == city_id:
                for message in kept:
                    self._apply_message(message)

    async def _after_scrape(self, city_id: str) -> None:
        chart, freshness = await _shared_after_scrape(city_id)
        async with self:
            if self.city_id == city_id:
                self.chart, self.freshness = chart, freshness


# A refresh ends for every open tab on the city at once: the first tab's queries serve
# this process's other tabs for a second (200 tabs made 400 queries).
SHARED_AFTER_SCRAPE_SECONDS = 1.0
_after_scrape_runs: dict[tuple[int, str], tuple[float, asyncio.Future[Any]]] = {}


async def _shared_after_scrape(city_id: str) -> tuple[list[DayCount], list[SourceLine]]:
    """The city's chart and freshness lines, read once per second per process."""
    loop = asyncio.get_running_loop()
    key, now = (id(loop), city_id), loop.time()
    run = _after_scrape_runs.get(key)
    if run is None or now - run[0] > SHARED_AFTER_SCRAPE_SECONDS:
        work = asyncio.to_thread(lambda: (_chart(city_id), _freshness(city_id)))
        run = _after_scrape_runs[key] = (now, asyncio.ensure_future(work))
    return await asyncio.shield(run[1])


# The generation of the listener each tab (client token) loaded last in this process; a
# tab's events are handled by the process holding its websocket, so an older listener
# here either sees a newer generation or finds its tab's socket gone.
_live_watch: dict[str, int] = {}


def _tab_connected(client_token: str) -> bool:
    """Whether this process still holds a websocket for the tab (False once it closed)."""
    from reflex.utils.prerequisites import get_and_validate_app

    namespace = get_and_validate_app().app.event_namespace
    return namespace is None or client_token in namespace.token_to_sid


# --- view ------------------------------------------------------------------------------


def _chip(*children: Any, on: Any, small: bool = False, **props: Any) -> rx.Component:
    """A toggle button of the filter rows, pressed while ``on`` holds."""
    base = "nc-chip nc-chip--small" if small else "nc-chip"
    return rx.el.button(
        *children,
        class_name=rx.cond(on, f"{base} nc-chip--on", base),
        aria_pressed=rx.cond(on, "true", "false"),
        type="button",
        **props,
    )


def _tag_chip(chip: rx.Var[TagChip]) -> rx.Component:
    return _chip(
        chip["label"],
        rx.el.span(chip["count"], class_name="nc-chip-count"),
        on=CityState.tag == chip["tag"],
        small=True,
        on_click=CityState.set_tag(chip["tag"]),
        data_tag=chip["tag"],
    )


def _views() -> rx.Component:
    return rx.el.div(
        rx.el.div(
            *[
                _chip(
                    label,
                    on=CityState.view == key,
                    on_click=CityState.set_view(key),
                    id=f"view-{key}",
                )
                for key, label in VIEWS.items()
            ],
            role="group",
            aria_label="Which events",
            class_name="nc-chips",
        ),
        rx.el.div(
            rx.foreach(CityState.tag_chips, _tag_chip),
            role="group",
            aria_label="Tags",
            class_name="nc-chips nc-tag-chips",
        ),
        class_name="nc-views",
    )


def _filters() -> rx.Component:
    return rx.el.div(
        rx.el.div(
            *[
                _chip(label, on=CityState.when == key, on_click=CityState.set_when(key))
                for key, label in WHEN_CHOICES.items()
            ],
            role="group",
            aria_label="When",
            class_name="nc-chips",
        ),
        rx.el.div(
            _chip(
                "Free only",
                on=CityState.free_only,
                on_click=CityState.set_free_only(~CityState.free_only),
            ),
            _chip(
                "All ages",
                on=CityState.all_ages,
                on_click=CityState.set_all_ages(~CityState.all_ages),
                title="Events whose listing says all ages are welcome",
            ),
            rx.el.label(
                rx.el.span("Source", class_name="nc-sr-only"),
                rx.el.select(
                    rx.el.option("All sources", value=""),
                    *[rx.el.option(name, value=s) for s, name in SOURCE_NAMES.items()],
                    value=CityState.source,
                    on_change=CityState.set_source,
                    class_name="nc-select",
                ),
            ),
            class_name="nc-chips",
        ),
        class_name="nc-filters",
    )


def _countdown(seconds: rx.Var, key: rx.Var) -> rx.Component:
    """Filled and counted down in the browser (COUNTDOWN_JS): "retrying in 25 s"."""
    return rx.cond(
        key != "",
        rx.el.span(class_name="nc-countdown", data_retry_in=seconds, data_retry_key=key),
    )


def _source_line(line: rx.Var[SourceLine]) -> rx.Component:
    return rx.el.li(
        rx.el.span(line["name"] + ":", class_name="nc-src-name"),
        " ",
        rx.el.span(line["text"], class_name="nc-src-text"),
        _countdown(line["retry_in"], line["retry_key"]),
        class_name="nc-src nc-src--" + line["state"].to(str),
        data_source=line["source"],
        title=line["name"] + ": " + line["text"],
    )


def _refresh() -> rx.Component:
    # The status panel lies over the page below the button (never pushing the title or
    # the events down as it grows); the hint under the button keeps its two lines.
    return rx.el.section(
        rx.script(COUNTDOWN_JS),
        rx.el.button(
            CityState.refresh_label,
            on_click=CityState.handle_refresh,
            disabled=CityState.refresh_used | CityState.scraping,
            class_name="nc-refresh",
            type="button",
            id="refresh-button",
            title=CityState.refresh_hint,
            aria_describedby="refresh-hint",
        ),
        rx.el.p(
            CityState.refresh_hint,
            class_name="nc-hint",
            id="refresh-hint",
            on_mount=CityState.load_refresh_hint,
        ),
        rx.el.div(
            rx.cond(
                CityState.refresh_note != "",
                rx.el.p(CityState.refresh_note, class_name="nc-note", role="status"),
            ),
            rx.cond(
                CityState.progress.length() > 0,
                rx.el.ul(rx.foreach(CityState.progress, _source_line), class_name="nc-progress"),
            ),
            rx.el.p(
                rx.el.span(CityState.found_message),
                _countdown(CityState.summary_retry_in, CityState.summary_retry_key),
                class_name=rx.cond(
                    CityState.summary_failed, "nc-found nc-found--failed", "nc-found"
                ),
                aria_live="polite",
                id="found",
            ),
            rx.cond(
                ~CityState.scraping & CityState.status_open,
                rx.el.button(
                    "\u00d7",
                    on_click=CityState.handle_close_status,
                    class_name="nc-status-close",
                    type="button",
                    aria_label="Close the refresh status",
                ),
            ),
            class_name=rx.cond(
                CityState.status_open, "nc-live-status nc-live-status--open", "nc-live-status"
            ),
            id="refresh-status",
        ),
        class_name="nc-refresh-box",
        aria_label="Refresh",
    )


_TIP_JS = "((label, items) => items?.[0]?.payload?.tip ?? label)"
_TICK = {"fontSize": 11, "fill": "#8f86b3"}
# The x axis's days, Saturdays and Sundays in the weekend bars' colour and bold.
_DAY_TICK_JS = """(({x, y, payload}) => {
  const weekend = /^(Sat|Sun) /.test(payload.value);
  return jsx("text", {x, y: y + 12, textAnchor: "middle", fontSize: 11,
    fill: weekend ? "#ff5fa2" : "#8f86b3", fontWeight: weekend ? 700 : 400,
    className: weekend ? "nc-tick nc-tick--weekend" : "nc-tick"}, payload.value);
})"""


def _chart_view() -> rx.Component:
    return rx.el.section(
        rx.el.h2("Vibe, next 14 days", class_name="nc-h2"),
        # Mounted once its data is in (after the cards): recharts' first render is costly.
        rx.cond(
            CityState.chart.length() > 0,
            rx.recharts.bar_chart(
                rx.recharts.bar(
                    data_key="weekday",
                    stack_id="day",
                    fill="#b56cff",
                    radius=[4, 4, 0, 0],
                    name="Weekdays",
                ),
                rx.recharts.bar(
                    data_key="weekend",
                    stack_id="day",
                    fill="#ff5fa2",
                    radius=[4, 4, 0, 0],
                    name="Sat & Sun",
                ),
                rx.recharts.x_axis(
                    data_key="label",
                    stroke="#8f86b3",
                    interval=1,
                    custom_attrs={"tick": rx.Var(_DAY_TICK_JS)},
                ),
                rx.recharts.y_axis(stroke="#8f86b3", allow_decimals=False, width=28, tick=_TICK),
                rx.recharts.graphing_tooltip(
                    cursor={"fill": "rgba(181,108,255,0.08)"},
                    # The sentence alone ("Wed Dec 9: 8 events"), not the bars' values.
                    item_style={"display": "none"},
                    content_style={"background": "#150f26", "border": "1px solid #3a2d5c"},
                    label_style={"color": "#efeaff"},
                    custom_attrs={"labelFormatter": rx.Var(_TIP_JS)},
                ),
                rx.recharts.legend(icon_size=10),
                data=CityState.chart,
                height=220,
                width="100%",
            ),
            rx.el.div(style={"height": "220px"}),
        ),
        class_name="nc-panel nc-chart",
        aria_label="After-dark events per day for the next 14 days",
    )


def _events() -> rx.Component:
    return rx.el.section(
        rx.cond(
            CityState.error != "",
            rx.el.p(CityState.error, class_name="nc-error", role="alert"),
        ),
        rx.cond(
            CityState.loading,
            rx.el.div(
                *[rx.el.div(class_name="nc-card nc-skeleton") for _ in range(4)],
                class_name="nc-cards",
                aria_busy="true",
                aria_label="Loading events",
            ),
            rx.cond(
                (CityState.event_count == 0) & (CityState.error == ""),
                rx.el.div(
                    rx.el.p("Nothing here yet.", class_name="nc-empty-title"),
                    rx.el.p(
                        "No events match these filters. Try another night, or refresh "
                        "the city to look again."
                    ),
                    class_name="nc-empty",
                ),
                # One keyed section per day and one keyed card per event, so an inserted
                # card adds nodes rather than shifting events through the old ones: the
                # browser's scroll anchoring then holds what the reader is looking at.
                rx.el.div(
                    rx.foreach(CityState.days, day_section),
                    class_name="nc-days",
                    id="event-list",
                ),
            ),
        ),
        aria_label="Events",
    )


def _not_found() -> rx.Component:
    return rx.el.section(
        rx.el.h1("No such city", class_name="nc-h1"),
        rx.el.p("We don't cover that place (yet). Pick one of our cities instead."),
        rx.el.a("← All cities", href="/", class_name="nc-button-link"),
        class_name="nc-empty nc-404",
    )


@rx.page(
    route="/city/[city_id]",
    title="Nocturne — city events",
    on_load=CityState.load_city,
)
def city() -> rx.Component:
    return page(
        rx.cond(
            CityState.not_found,
            _not_found(),
            rx.el.div(
                rx.el.div(
                    rx.el.div(
                        rx.el.a("← All cities", href="/", class_name="nc-back"),
                        rx.el.h1(
                            CityState.city_name,
                            rx.el.span(CityState.city_state, class_name="nc-h1-state"),
                            class_name="nc-h1",
                        ),
                        rx.el.ul(
                            rx.foreach(CityState.freshness, _source_line),
                            class_name="nc-fresh",
                            aria_label="Freshness per source",
                        ),
                        id="city-title",
                    ),
                    _refresh(),
                    class_name="nc-city-head",
                ),
                rx.el.div(
                    rx.el.div(_views(), _filters(), _events(), class_name="nc-col-main"),
                    rx.el.aside(
                        _chart_view(),
                        subscribe_form(city_id=CityState.city_id),
                        suggest_link(CityState.city_id),
                        class_name="nc-col-side",
                    ),
                    class_name="nc-city-grid",
                ),
            ),
        )
    )
