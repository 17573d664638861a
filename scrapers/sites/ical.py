"""iCalendar (.ics) feeds: the calendars venues, clubs, collectives and community sites publish.

An RFC 5545 ``VCALENDAR`` holds ``VEVENT``s with ``SUMMARY``, ``DTSTART``/``DTEND`` (a
``DATE`` for all-day events; a time with ``TZID=``, in UTC with ``Z``, or floating),
``URL``, ``LOCATION`` (free text, often ``"Venue, 123 Street, City, ST 12345"``), ``GEO``,
``DESCRIPTION``, ``CATEGORIES`` and ``STATUS``. Google Calendar exports times in UTC and
names the calendar's zone in ``X-WR-TIMEZONE``; WordPress Events Manager and Meetup use
``TZID``; Tockify uses UTC and pads ``SUMMARY`` with spaces. Floating times are read in
``X-WR-TIMEZONE``, else in the city's ``tz``.

One-off events are all returned, past ones included. Repeating events (``RRULE``/``RDATE``,
with ``EXDATE`` and ``RECURRENCE-ID`` overrides) are expanded over ``[now - LOOKBACK,
now + HORIZON]``. A feed whose rules would step through more than ``MAX_RULE_STEPS`` dates,
or expand to more than ``MAX_OCCURRENCES`` events, is refused with UnrecognizedPage.

Links are the database's de-duplication key, so they must not change between fetches. An
event's ``URL`` is its link when no other event of the feed has it and it is more than a
site's home page. Otherwise (no URL, the venue's home page on every event, an occurrence of
a repeating event) the link is the feed's own URL with a fragment naming the event:
``#uid=<UID>`` (``#event=<hash of title and start>`` without a UID), plus
``&occurrence=<stamp>`` for an occurrence (its ``RECURRENCE-ID``, so a moved occurrence
keeps its link) or for a UID the feed repeats on several one-off events. A stamp is the
wall-clock ``YYYYMMDDTHHMM`` in the event's own zone (as the feed writes ``RECURRENCE-ID``;
``Z`` added for UTC), or ``YYYYMMDD`` for all-day events.
``source_event_id`` is the UID, or ``UID@stamp`` when there is a stamp.

All-day events have ``date_only=True`` and start at local midnight. ``DTEND`` is exclusive,
so a one-day event has ``end=None`` and a longer one ends at midnight of its last day.

icalendar keeps each VTIMEZONE whose TZID is no known zone name in a process-wide cache, so
two feeds defining one made-up TZID differently share the first definition seen.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import partial
from itertools import islice
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import recurring_ical_events
import x_wr_timezone
from icalendar import (
    Calendar,
    Component,
    ComponentFactory,
    Timezone,
    TimezoneDaylight,
    TimezoneStandard,
)
from icalendar.parser.ical.calendar import CalendarIcalParser
from icalendar.prop import vRecur

from scrapers.clean import (
    Price,
    canonical_link,
    clean_text,
    join_address,
    parse_price,
    to_float,
    zone,
)
from scrapers.errors import MalformedItem, ScraperError, UnrecognizedPage
from scrapers.event import ScrapedEvent, Status
from scrapers.sites.base import Site
from scrapers.sites.common import collect, merge_by_link

log = logging.getLogger(__name__)

SOURCE = "ical"
LOOKBACK = timedelta(days=1)  # repeating events are expanded from now - LOOKBACK ...
HORIZON = timedelta(weeks=8)  # ... to now + HORIZON
MAX_OCCURRENCES = 2000  # occurrences of repeating events, per feed
MAX_RULE_STEPS = 100_000  # dates the RRULEs of a feed may step through to reach the horizon

# --------------------------------------------------------------------------- reading


class _Calendar(Calendar):
    """A VCALENDAR that keeps a broken property (Tockify's ``REFRESH-INTERVAL:P15M``) as
    unreadable instead of refusing the whole feed; VEVENTs are that tolerant already."""

    ignore_exceptions = True


class _Timezone(Timezone):
    ignore_exceptions = True


class _Standard(TimezoneStandard):
    ignore_exceptions = True


class _Daylight(TimezoneDaylight):
    ignore_exceptions = True


_FACTORY = ComponentFactory()
for _tolerant in (_Calendar, _Timezone, _Standard, _Daylight):
    _FACTORY.add_component_class(_tolerant)


def looks_like_ical(text: str) -> bool:
    """Whether the text is an iCalendar document: ``BEGIN:VCALENDAR`` before anything but
    a byte-order mark and blank space."""
    return text[:4096].lstrip("\ufeff \t\r\n")[:15].upper() == "BEGIN:VCALENDAR"


def _calendars(text: str, url: str) -> list[Component]:
    if not looks_like_ical(text):
        raise UnrecognizedPage(SOURCE, url, "not an iCalendar feed (no BEGIN:VCALENDAR)")
    body = text.lstrip("\ufeff \t\r\n")
    try:
        parsed = CalendarIcalParser(body, _FACTORY, Calendar.types_factory).parse()
    except Exception as exc:  # ValueError and friends, on lines that are not iCalendar
        raise UnrecognizedPage(SOURCE, url, f"unreadable iCalendar: {exc}") from exc
    calendars = [c for c in parsed if c.name == "VCALENDAR"]
    if not calendars:
        raise UnrecognizedPage(SOURCE, url, "no complete VCALENDAR (truncated feed?)")
    return calendars


class _FloatingWalker(x_wr_timezone.CalendarWalker):
    """Places floating times in a zone; UTC and zoned times are left alone."""

    def __init__(self, place: tzinfo) -> None:
        self.place = place

    def walk_value_datetime(self, dt: datetime) -> datetime:
        return dt.replace(tzinfo=self.place) if dt.tzinfo is None else dt


def _in_zone(calendar: Component, tz: str | None) -> tuple[Component, tzinfo | None]:
    """The calendar with its floating times (and, under X-WR-TIMEZONE, its UTC times) in
    its zone, and that zone: X-WR-TIMEZONE when it names a real zone, else ``tz``."""
    declared = zone(_text(calendar.get("X-WR-TIMEZONE")) or None)
    if declared is not None:
        return x_wr_timezone.to_standard(calendar, timezone=declared), declared
    fallback = zone(tz)
    if fallback is None:
        return calendar, None
    return _FloatingWalker(fallback).walk(calendar), fallback


# --------------------------------------------------------------------------- values


def _first(value: object) -> object:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _text(value: object) -> str:
    value = _first(value)
    return "" if value is None else str(value)


def _when(value: object) -> date | None:
    """The date or datetime of a DTSTART-like property (or of a rule's UNTIL)."""
    moment = _first(value)
    moment = getattr(moment, "dt", moment)
    return moment if isinstance(moment, date) else None


def _all(value: object) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _stamp(moment: date) -> str:
    """``YYYYMMDD`` for a day, else the wall-clock ``YYYYMMDDTHHMM`` (``Z`` added in UTC)."""
    if not isinstance(moment, datetime):
        return moment.strftime("%Y%m%d")
    utc = moment.utcoffset() == timedelta(0) and _zone_name(moment.tzinfo) is None
    return moment.strftime("%Y%m%dT%H%M") + ("Z" if utc else "")


def _naive_utc(moment: date) -> datetime:
    if not isinstance(moment, datetime):
        return datetime.combine(moment, time.min)
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _zone_name(place: tzinfo | None) -> str | None:
    if isinstance(place, ZoneInfo) and place.key != "UTC":
        return place.key
    return None


def _localize(moment: date, place: tzinfo | None) -> datetime:
    """An aware datetime: a day is local midnight; a UTC time, or one in a zone the feed
    made up, is shown in the feed's zone when there is one."""
    if not isinstance(moment, datetime):
        if place is None:
            raise MalformedItem(f"all-day {moment} needs a zone (tz=None)")
        return datetime.combine(moment, time.min, tzinfo=place)
    if moment.tzinfo is None:
        if place is None:
            raise MalformedItem(f"floating time {moment} needs a zone (tz=None)")
        return moment.replace(tzinfo=place)
    if place is not None and _zone_name(moment.tzinfo) is None:
        return moment.astimezone(place)
    return moment


# --------------------------------------------------------------------------- recurrence

_FREQ_SECONDS = {
    "SECONDLY": 1,
    "MINUTELY": 60,
    "HOURLY": 3600,
    "DAILY": 86400,
    "WEEKLY": 7 * 86400,
    "MONTHLY": 28 * 86400,
    "YEARLY": 365 * 86400,
}
_PERIOD_COST = {"MONTHLY": 4, "YEARLY": 16}  # scanning a month's or a year's days, in steps
_BY_PARTS = (
    "BYSECOND",
    "BYMINUTE",
    "BYHOUR",
    "BYDAY",
    "BYMONTHDAY",
    "BYYEARDAY",
    "BYWEEKNO",
    "BYMONTH",
)


def _rule_steps(master: Component, horizon: datetime) -> float:
    """An upper estimate of the dates dateutil steps through (about 2-3 µs each) for the
    master's RRULEs, from DTSTART to ``horizon`` (naive UTC). Expansion always starts at
    DTSTART, so a dense rule that began long ago is slow however few dates are in the window."""
    first = _when(master.get("DTSTART"))
    if first is None:
        return 0.0
    begin = _naive_utc(first)
    steps = 0.0
    for rule in _all(master.get("RRULE")):
        if not isinstance(rule, vRecur):
            continue  # unreadable: recurring-ical-events refuses the series
        freq = _text(rule.get("FREQ")).upper()
        interval = to_float(_text(rule.get("INTERVAL")) or 1) or 0.0
        if freq not in _FREQ_SECONDS or interval < 1:
            continue
        last = horizon
        until = _when(rule.get("UNTIL"))
        if until is not None:
            last = min(last, _naive_utc(until))
        periods = max(0.0, (last - begin).total_seconds()) / (_FREQ_SECONDS[freq] * interval) + 1
        per_period = math.prod(len(_all(rule[k])) for k in _BY_PARTS if rule.get(k))
        count = to_float(_text(rule.get("COUNT")))
        if count is not None and per_period == 1:
            periods = min(periods, count)
        steps += periods * max(per_period, _PERIOD_COST.get(freq, 1))
    return steps


@dataclass(frozen=True, slots=True)
class _Window:
    start: datetime
    end: datetime


def _warn_series(key: str, url: str, exc: Exception) -> None:
    log.warning("%s: skipping malformed repeating event %r on %s: %s", SOURCE, key, url, exc)


def _too_many(url: str) -> UnrecognizedPage:
    return UnrecognizedPage(SOURCE, url, f"feed expands to more than {MAX_OCCURRENCES} events")


def _expand(
    groups: dict[str, list[Component]], window: _Window, url: str
) -> dict[str, list[Component]]:
    """The occurrences in the window of each repeating series (a UID's master and its
    overrides), by start. A series the library cannot read is logged and skipped; a feed
    that expands too far raises UnrecognizedPage before anything slow is done."""
    horizon = _naive_utc(window.end) + timedelta(days=1)
    steps = 0.0
    for key, group in groups.items():
        steps += sum(_rule_steps(c, horizon) for c in group if "RECURRENCE-ID" not in c)
        if steps > MAX_RULE_STEPS:
            raise UnrecognizedPage(
                SOURCE,
                url,
                f"repeating events too dense to expand (by series {key!r} the rules step "
                f"through more than {MAX_RULE_STEPS} dates)",
            )
    queries: dict[str, Any] = {}
    candidates = 0
    for key, group in groups.items():
        calendar = Calendar()
        for component in group:
            calendar.add_component(component)
        try:
            query = recurring_ical_events.CalendarQuery(calendar)
            for series in query.series:
                # Counted as plain dates first: occurrences are costly to build.
                dates = series.rrule_between(window.start, window.end)
                candidates += sum(1 for _ in islice(dates, MAX_OCCURRENCES + 1 - candidates))
        except Exception as exc:  # the library raises many kinds on broken rules
            _warn_series(key, url, exc)
            continue
        if candidates > MAX_OCCURRENCES:
            raise _too_many(url)
        queries[key] = query
    expanded: dict[str, list[Component]] = {}
    total = 0
    for key, query in queries.items():
        try:
            occurrences = query.between(window.start, window.end)
        except Exception as exc:
            _warn_series(key, url, exc)
            continue
        total += len(occurrences)
        if total > MAX_OCCURRENCES:
            raise _too_many(url)
        expanded[key] = sorted(
            occurrences, key=lambda c: _naive_utc(_when(c.get("DTSTART")) or date.min)
        )
    return expanded


# --------------------------------------------------------------------------- fields

_STREET_SUFFIX = (
    r"(?i:st|street|ave|avenue|rd|road|blvd|boulevard|dr|drive|ln|lane|way|pl|place|pkwy"
    r"|parkway|hwy|highway|ct|court|sq|square|ter|terrace|cir|circle|trl|trail|pike|plaza"
    r"|broadway|row|alley)"
)
# "123 N Main St", "4135 West Lake Harriet Parkway": a number, capitalised words, a suffix.
_STREET_RE = re.compile(
    r"(?<![\w:])\d+[A-Za-z]?(?:-\d+)?\s+(?:[A-Z0-9][\w.'-]*\s+){0,5}?" + _STREET_SUFFIX + r"\b"
)
_ONLINE_PLACE_RE = re.compile(
    r"^(?:online(?:\s+event)?|virtual(?:\s+event)?|zoom|livestream|live\s*stream)$"
    r"|^https?://\S*(?:zoom\.us|meet\.google\.|teams\.microsoft\.|webex\.|twitch\.tv"
    r"|youtube\.com|youtu\.be|discord\.)",
    re.IGNORECASE,
)


def _place(location: str) -> tuple[str | None, str | None, bool]:
    """(venue, address, online) from LOCATION text: the part before the street line is the
    venue and the rest the address; with no street line, a remainder after the first comma
    is an address only if it holds a number ("Bar, Chicago, IL 60601"), so a name with a
    comma in it stays whole ("Rev. Dr. Martin Luther King, Jr. Memorial Park")."""
    text = clean_text(location)
    if not text:
        return None, None, False
    if _ONLINE_PLACE_RE.search(text):
        return None, None, True
    if text.startswith(("http://", "https://")):
        return None, None, False
    street = _STREET_RE.search(text)
    if street is not None:
        venue = text[: street.start()].strip(" ,;:-\u2013\u2014@|(")
        address = text[street.start() :].strip(" ,;()")
    else:
        venue, _, rest = text.partition(",")
        venue, address = (venue.strip(), rest) if any(c.isdigit() for c in rest) else (text, "")
    return venue or None, join_address(address), False


def _geo(component: Component) -> tuple[float | None, float | None]:
    geo = component.get("GEO")
    lat, lng = to_float(getattr(geo, "latitude", None)), to_float(getattr(geo, "longitude", None))
    if lat is None or lng is None or not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return None, None
    if lat == 0 and lng == 0:
        return None, None
    return lat, lng


def _tags(component: Component) -> list[str]:
    tags: dict[str, str] = {}
    for prop in _all(component.get("CATEGORIES")):
        for raw in getattr(prop, "cats", [prop]):
            tag = clean_text(str(raw))
            if tag:
                tags.setdefault(tag.casefold(), tag)
    return list(tags.values())


_IMAGE_PATH_RE = re.compile(r"\.(?:jpe?g|png|gif|webp|avif)$", re.IGNORECASE)


def _image(component: Component) -> str | None:
    """RFC 7986 IMAGE, an ATTACH that is an image, or Tockify's featured image."""
    for name in ("IMAGE", "ATTACH", "X-TKF-FEATURED-IMAGE"):
        for prop in _all(component.get(name)):
            link = canonical_link(str(prop))
            if not link:
                continue
            kind = str(getattr(prop, "params", {}).get("FMTTYPE", "")).lower()
            if name != "ATTACH" or kind.startswith("image/") or _IMAGE_PATH_RE.search(link):
                return link
    return None


_AMOUNT = r"\$\s?(\d{1,4}(?:\.\d\d)?)(?:\s*(?:-|\u2013|to)\s*\$?\s?(\d{1,4}(?:\.\d\d)?))?"
_PRICE_RES = (
    # "$10 cover", "$3 at the door", "$10 - $15 at the door", "$20 GA", "$15 adv"
    re.compile(
        _AMOUNT + r"\s*(?:cover|at\s+the\s+door|door|admission|entry|to\s+get\s+in|tickets?"
        r"|adv(?:ance)?|dos|ga|general\s+admission|vip|presale|suggested\s+donation)\b",
        re.IGNORECASE,
    ),
    # "cover $5", "tickets: $12", "costs $8"
    re.compile(
        r"\b(?:cover(?:\s+charge)?|admission|entry|tickets?|costs?|price)\s*(?:is|of|:|-)?\s*"
        + _AMOUNT,
        re.IGNORECASE,
    ),
)
_FREE_RE = re.compile(
    r"\b(?:no\s+cover|admission\s+is\s+free|free\s+(?:show|concert|event|admission|entry"
    r"|to\s+attend|and\s+open\s+to\s+(?:the\s+)?public))\b",
    re.IGNORECASE,
)


def _price(title: str, description: str) -> Price:
    """Only what the text says plainly: dollar amounts next to cover/door/admission/ticket
    words (drink specials and fees are not prices), else "no cover" / "free show"."""
    text = f"{title}\n{description}"
    amounts = [
        float(number)
        for pattern in _PRICE_RES
        for match in pattern.finditer(text)
        for number in match.groups()
        if number
    ]
    if amounts:
        return parse_price(f"${min(amounts)}", f"${max(amounts)}")
    if _FREE_RE.search(text):
        return parse_price(is_free=True)
    return parse_price()


_TITLE_STATUS_RE = re.compile(r"^\W*(cancell?ed|postponed)\b", re.IGNORECASE)


def _status(component: Component, title: str, calendar_cancels: bool) -> Status:
    if calendar_cancels or _text(component.get("STATUS")).upper() == "CANCELLED":
        return "cancelled"
    marked = _TITLE_STATUS_RE.match(title)
    if marked:
        return "postponed" if marked.group(1).lower() == "postponed" else "cancelled"
    return "scheduled"


def _end(component: Component, first: date, place: tzinfo | None) -> datetime | None:
    last = _when(component.get("DTEND"))
    if last is None:
        duration = getattr(component.get("DURATION"), "dt", None)
        if isinstance(duration, timedelta):
            last = first + duration
    if last is None or isinstance(last, datetime) != isinstance(first, datetime):
        return None
    if not isinstance(last, datetime):
        last -= timedelta(days=1)  # an all-day DTEND is the day after the last one
    if _naive_utc(last) <= _naive_utc(first):
        return None
    return _localize(last, place)


# --------------------------------------------------------------------------- events


def _feed_base(url: str) -> str | None:
    """The feed's own https URL, on which events without a link of their own are named."""
    text = url.strip()
    if text[:9].lower() == "webcal://":
        text = "https://" + text[9:]
    elif text[:10].lower() == "webcals://":
        text = "https://" + text[10:]
    return canonical_link(text) if text.startswith(("http://", "https://")) else None


def _own_link(component: Component) -> str | None:
    return canonical_link(_text(component.get("URL")))


@dataclass(frozen=True, slots=True)
class _Feed:
    url: str
    base: str | None
    place: tzinfo | None
    shared_links: frozenset[str]
    cancels: bool


_FRAGMENT_SAFE = "@:/?!$'()*+,;-._~"


def _link(feed: _Feed, item: dict[str, Any], start: date) -> str:
    own = _own_link(item["component"])
    if own and own not in feed.shared_links and own != feed.base:
        parts = urlsplit(own)
        if parts.path.strip("/") or parts.query:  # a home page names no event
            return own
    if feed.base is None:
        raise MalformedItem(f"no URL of its own, and the feed URL {feed.url!r} is not http(s)")
    uid, stamp = item["uid"], item["stamp"]
    if uid:
        fragment = "uid=" + quote(uid, safe=_FRAGMENT_SAFE)
    else:
        digest = hashlib.sha1(f"{item['title']}|{_stamp(start)}".encode()).hexdigest()
        fragment = "event=" + digest[:16]
    if stamp:
        fragment += "&occurrence=" + stamp
    return f"{feed.base}#{fragment}"


def _event(item: dict[str, Any], feed: _Feed) -> ScrapedEvent:
    component: Component = item["component"]
    title = clean_text(item["title"])
    if not title:
        raise MalformedItem("no SUMMARY")
    first = _when(component.get("DTSTART"))
    if first is None:
        raise MalformedItem(f"no readable DTSTART ({_text(component.get('DTSTART'))!r})")
    try:
        start = _localize(first, feed.place)
        end = _end(component, first, feed.place)
    except OverflowError as exc:
        raise MalformedItem(f"time out of range: {exc}") from exc
    description = clean_text(_text(component.get("DESCRIPTION")), multiline=True)
    venue, address, online = _place(_text(component.get("LOCATION")))
    lat, lng = _geo(component)
    price = _price(title, description)
    uid, stamp = item["uid"], item["stamp"]
    return ScrapedEvent(
        title=title,
        link=_link(feed, item, first),
        source=SOURCE,
        start=start,
        end=end,
        source_event_id=(f"{uid}@{stamp}" if stamp else uid) or None,
        timezone=_zone_name(start.tzinfo),
        venue=venue,
        address=address,
        latitude=lat,
        longitude=lng,
        price_min=price.min,
        price_max=price.max,
        currency=price.currency,
        is_free=price.is_free,
        image_url=_image(component),
        description=description or None,
        tags=_tags(component),
        status=_status(component, title, feed.cancels),
        is_online=online,
        date_only=not isinstance(first, datetime),
    )


def _repeats(component: Component) -> bool:
    return "RECURRENCE-ID" not in component and ("RRULE" in component or "RDATE" in component)


def _calendar_items(
    calendar: Component, url: str, tz: str | None, window: _Window
) -> tuple[list[dict[str, Any]], _Feed]:
    """The calendar's events to build, in feed order (a repeating series' occurrences, by
    start, where its first component was), and what building them needs to know."""
    calendar, place = _in_zone(calendar, tz)
    vevents = [c for c in calendar.subcomponents if c.name == "VEVENT"]
    repeating = {_text(c.get("UID")) for c in vevents if _repeats(c)} - {""}
    order: list[tuple[str, Component | None]] = []
    groups: dict[str, list[Component]] = {}
    for index, component in enumerate(vevents):
        uid = _text(component.get("UID"))
        key = uid if uid in repeating else f"#{index}" if not uid and _repeats(component) else ""
        if not key:
            order.append(("", component))
            continue
        if key not in groups:
            groups[key] = []
            order.append((key, None))
        groups[key].append(component)
    if place is not None:
        window = _Window(window.start.astimezone(place), window.end.astimezone(place))
    expanded = _expand(groups, window, url)

    links = Counter(link for key, c in order if c is not None and (link := _own_link(c)))
    for group in groups.values():
        for link in {link for c in group if (link := _own_link(c))}:
            links[link] += 2  # every occurrence of a series carries it
    one_off_uids = Counter(_text(c.get("UID")) for key, c in order if c is not None)
    items: list[dict[str, Any]] = []
    for key, one_off in order:
        if one_off is None:
            uid = "" if key.startswith("#") else key
            for occurrence in expanded.get(key, []):
                recurrence = _when(occurrence.get("RECURRENCE-ID"))
                items.append(_item(occurrence, uid, _stamp(recurrence) if recurrence else None))
            continue
        uid = _text(one_off.get("UID"))
        recurrence = _when(one_off.get("RECURRENCE-ID"))
        if recurrence is None and uid and one_off_uids[uid] > 1:
            recurrence = _when(one_off.get("DTSTART"))  # a repeated UID: starts tell apart
        items.append(_item(one_off, uid, _stamp(recurrence) if recurrence else None))
    feed = _Feed(
        url=url,
        base=_feed_base(url),
        place=place,
        shared_links=frozenset(link for link, n in links.items() if n > 1),
        cancels=_text(calendar.get("METHOD")).upper() == "CANCEL",
    )
    return items, feed


def _item(component: Component, uid: str, stamp: str | None) -> dict[str, Any]:
    # "title" is what common.collect names a skipped item by in its warning.
    return {
        "title": _text(component.get("SUMMARY")),
        "component": component,
        "uid": uid,
        "stamp": stamp,
    }


def parse(
    text: str, url: str, *, tz: str | None = None, now: datetime | None = None
) -> list[ScrapedEvent]:
    """Events in an iCalendar feed, in feed order; a repeating event's occurrences in
    ``[now - LOOKBACK, now + HORIZON]`` come where it is listed.

    ``url`` is the feed's address (``webcal://`` is read as https); events without a link of
    their own are named on it. ``tz`` is the city's zone, for floating times when the feed
    has no X-WR-TIMEZONE. ``now`` defaults to the current time. A text that is not a
    calendar, or a feed that cannot be read or expands too far, raises UnrecognizedPage; a
    VEVENT without a title or a readable start is logged and skipped.
    """
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    window = _Window(now - LOOKBACK, now + HORIZON)
    events: list[ScrapedEvent] = []
    for calendar in _calendars(text, url):
        try:
            items, feed = _calendar_items(calendar, url, tz, window)
        except ScraperError:
            raise
        except Exception as exc:  # whatever else a broken feed makes the libraries raise
            raise UnrecognizedPage(SOURCE, url, f"unreadable iCalendar: {exc}") from exc
        events += collect(items, partial(_event, feed=feed), source=SOURCE, url=url, kind="VEVENT")
    return merge_by_link(events)


def next_page_url(text: str, url: str) -> str | None:
    """Feeds are not paginated."""
    return None


SITE = Site(
    name=SOURCE,
    display_name="Calendar feed",
    home="https://feeds.nocturne.invalid",
    parse=parse,
    markers=("BEGIN:VCALENDAR",),
    detect=looks_like_ical,
    fetch=("http",),
    from_feeds=True,
)

__all__ = [
    "HORIZON",
    "LOOKBACK",
    "MAX_OCCURRENCES",
    "MAX_RULE_STEPS",
    "SITE",
    "SOURCE",
    "looks_like_ical",
    "next_page_url",
    "parse",
]
