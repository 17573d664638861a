"""List policy over cleaned events: spam, merging listings of one event, city filtering.

Everything here is pure: no I/O, no clock (callers pass ``now``).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import fields, replace
from datetime import UTC, date, datetime, timedelta
from difflib import SequenceMatcher
from functools import lru_cache

from scrapers.event import ScrapedEvent

__all__ = [
    "dedupe",
    "event_end",
    "filter_for_city",
    "is_spam",
    "merge_events",
    "same_event",
    "spam_reason",
    "titles_match",
    "venues_match",
]

# --------------------------------------------------------------------------- spam

_PHONE_RE = re.compile(
    r"(?:\+?\s*1[\s\-.]*)?(?:\(\s*\d{3}\s*\)|\b\d{3})[\s\-.*]*\d{3}[\s\-.*]*\d{4}\b"
)
_STRONG_SUPPORT_RE = re.compile(
    r"help\s*-?\s*line|toll[\s-]*free|call\s*now|(?:contact|support|phone|helpdesk|help\s*desk"
    r"|customer\s*(?:care|service|support))\s*(?:number|no\b|phone)|phone\s*number",
    re.I,
)
_WEAK_SUPPORT_RE = re.compile(
    r"customer\s*(?:care|service|support)|tech(?:nical)?\s*support|help\s*-?\s*desk"
    r"|reservations?\s*(?:line|desk)",
    re.I,
)
_STREAM_SPAM_RE = re.compile(
    r"tickets?\s+online\s+free|free\s+tickets?\s+online|live\s*stream(?:ing)?\s*(?:free|online"
    r"\s+free|reddit)|watch\s+(?:free|online)\s+(?:live|free)|\bfull\s*movie\b|\b123\s*movies\b"
    r"|\[\[.*?\]\]|\breddit\s*streams?\b|\bhd\s*stream\b",
    re.I,
)
_CRYPTO_SPAM_RE = re.compile(
    r"(?:recover|recovery|retrieve)\s+(?:your\s+)?(?:lost|stolen|scammed)?\s*"
    r"(?:crypto|bitcoin|btc|usdt|funds|wallet)"
    r"|(?:crypto|bitcoin|btc|wallet)\s+recovery|flash\s*usdt|usdt\s*flash|bitcoin\s*doubler"
    r"|(?:binance|coinbase|metamask|trust\s*wallet|blockchain\.com|cash\s*app|robinhood)"
    r"\s+(?:support|customer|help|number|phone|contact)",
    re.I,
)
_ADULT_SPAM_RE = re.compile(
    r"\bcall\s*girls?\b|\bescorts?\s+(?:service|agency|in\b|near\b)|\bescort\s+girls?\b"
    r"|\bhook\s*-?\s*ups?\s+(?:near|tonight|in\b)|\bsexy\s+(?:girls?|call)\b|\bnude\s+(?:video|chat)",
    re.I,
)
_WORD_RE = re.compile(r"[a-z0-9]+")


def spam_reason(event: ScrapedEvent) -> str | None:
    """Why ``event`` looks like listing spam, or None. Errs on the side of keeping events.

    Signals, on the title (and, for online listings, the description): phone numbers
    together with support-line wording, support-line wording alone in an online listing,
    'tickets online free' / 'live stream free' streaming spam, crypto-recovery and
    adult-service patterns, and titles that repeat the same word many times.
    """
    title = event.title or ""
    phone = bool(_PHONE_RE.search(title))
    phrase = _STRONG_SUPPORT_RE.search(title) or _WEAK_SUPPORT_RE.search(title)
    if phone and phrase:
        return f"phone number with {phrase.group(0).lower()!r}"
    if phone and len(_PHONE_RE.findall(title)) >= 2:
        return "several phone numbers in title"
    strong = _STRONG_SUPPORT_RE.search(title)
    if strong and event.is_online:
        return f"online listing titled as a support line ({strong.group(0).lower()!r})"
    if phrase and event.is_online and _PHONE_RE.search((event.description or "")[:2000]):
        return f"online support-line listing with a phone number ({phrase.group(0).lower()!r})"
    for name, pattern in (
        ("streaming spam", _STREAM_SPAM_RE),
        ("crypto scam", _CRYPTO_SPAM_RE),
        ("adult services", _ADULT_SPAM_RE),
    ):
        match = pattern.search(title)
        if match:
            return f"{name} ({match.group(0).lower()!r})"
    words = [w for w in _WORD_RE.findall(title.lower()) if len(w) >= 4 and not w.isdigit()]
    if len(words) >= 6:
        top = max(words.count(w) for w in set(words))
        if top >= 4 or (len(words) >= 10 and len(set(words)) / len(words) < 0.45):
            return "title stuffed with repeated keywords"
    return None


def is_spam(event: ScrapedEvent) -> bool:
    """True when ``event`` looks like listing spam (see :func:`spam_reason`)."""
    return spam_reason(event) is not None


# --------------------------------------------------------------------------- merging

_FILL_FIELDS = ("source_event_id", "timezone", "image_url")
_PRICE_FIELDS = ("price_min", "price_max", "currency", "is_free")
_PLACE_FIELDS = ("venue", "address")


def _richness(event: ScrapedEvent) -> int:
    score = 0
    for f in fields(ScrapedEvent):
        value = getattr(event, f.name)
        if value not in (None, "", [], False):
            score += 1
    if not event.date_only:
        score += 2
    return score


def merge_events(first: ScrapedEvent, second: ScrapedEvent) -> ScrapedEvent:
    """One event from two listings of it: ``first`` wins ties, gaps are filled from
    ``second``; the longer description, the union of tags and links, a timed start over a
    date-only one, and a cancellation or postponement from either side are kept.
    """
    merged = replace(first, tags=list(first.tags), links=list(first.links))
    if not merged.title and second.title:
        merged.title = second.title
    if first.date_only and not second.date_only:
        merged.start, merged.end, merged.date_only = second.start, second.end, False
        merged.timezone = second.timezone or first.timezone
    elif (
        merged.end is None
        and second.end is not None
        and second.date_only == merged.date_only
        and second.end >= merged.start
    ):
        merged.end = second.end
    for name in _FILL_FIELDS:
        if getattr(merged, name) in (None, ""):
            setattr(merged, name, getattr(second, name))
    for name in _PLACE_FIELDS:
        if not getattr(merged, name):
            setattr(merged, name, getattr(second, name))
    if merged.latitude is None or merged.longitude is None:
        merged.latitude, merged.longitude = second.latitude, second.longitude
    if (
        merged.price_min is None
        and merged.price_max is None
        and (second.price_min is not None or second.price_max is not None)
    ):
        for name in _PRICE_FIELDS:
            setattr(merged, name, getattr(second, name))
    elif merged.is_free is None and second.is_free is not None:
        merged.is_free = second.is_free
    if merged.currency is None and merged.price_max and second.currency:
        merged.currency = second.currency
    if len(second.description or "") > len(merged.description or ""):
        merged.description = second.description
    seen = {t.casefold() for t in merged.tags}
    for tag in second.tags:
        if tag.casefold() not in seen:
            seen.add(tag.casefold())
            merged.tags.append(tag)
    if merged.status == "scheduled" and second.status != "scheduled":
        merged.status = second.status
    merged.is_online = first.is_online and second.is_online
    links = [merged.link, *first.links, second.link, *second.links]
    merged.links = list(dict.fromkeys(lk for lk in links if lk))
    if merged.links == [merged.link]:
        merged.links = list(first.links) or []
    return merged


def _merge_all(group: Sequence[ScrapedEvent]) -> ScrapedEvent:
    result = group[0]
    for other in group[1:]:
        result = merge_events(result, other)
    return result


class _UnionFind:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[list[int]]:
        out: dict[int, list[int]] = {}
        for i in range(len(self.parent)):
            out.setdefault(self.find(i), []).append(i)
        return sorted(out.values(), key=lambda g: g[0])


_STOPWORDS = frozenset({"the", "a", "an", "and", "of", "at", "in", "on", "for", "with", "to"})
_VENUE_ABBREVIATIONS = {
    "street": "st",
    "avenue": "ave",
    "road": "rd",
    "boulevard": "blvd",
    "drive": "dr",
    "place": "pl",
    "square": "sq",
    "west": "w",
    "east": "e",
    "north": "n",
    "south": "s",
    "suite": "ste",
    "saint": "st",
}


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold().replace("&", " and "))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


@lru_cache(maxsize=16384)
def _title_tokens(title: str) -> tuple[str, ...]:
    return tuple(t for t in _WORD_RE.findall(_fold(title)) if t not in _STOPWORDS)


def titles_match(a: str, b: str) -> bool:
    """Similar titles: difflib ratio >= 0.8 on normalised text, token Jaccard >= 0.7, or
    every word (at least two) of the shorter one inside the longer one."""
    ta, tb = _title_tokens(a), _title_tokens(b)
    if not ta or not tb:
        return False
    sa, sb = set(ta), set(tb)
    if sa == sb:
        return True
    if len(sa & sb) / len(sa | sb) >= 0.7:
        return True
    short, long_ = (sa, sb) if len(sa) <= len(sb) else (sb, sa)
    if len(short) >= 2 and short <= long_:
        return True
    return SequenceMatcher(None, " ".join(ta), " ".join(tb)).ratio() >= 0.8


def _venue_key(text: str | None) -> str:
    words = [_VENUE_ABBREVIATIONS.get(w, w) for w in _WORD_RE.findall(_fold(text or ""))]
    return " ".join(w for w in words if w not in _STOPWORDS)


def _distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(min(1.0, math.sqrt(h)))


def _has_place(e: ScrapedEvent) -> bool:
    return bool(e.venue or e.address) or (e.latitude is not None and e.longitude is not None)


def venues_match(a: ScrapedEvent, b: ScrapedEvent, *, within_m: float = 150.0) -> bool:
    """Same place: one side has no place at all, coordinates within ``within_m`` metres,
    or normalised venue names/addresses equal or one containing the other."""
    if not _has_place(a) or not _has_place(b):
        return True
    if (
        a.latitude is not None
        and a.longitude is not None
        and b.latitude is not None
        and b.longitude is not None
        and _distance_m(a.latitude, a.longitude, b.latitude, b.longitude) <= within_m
    ):
        return True
    names_a = [k for k in (_venue_key(a.venue), _venue_key(a.address)) if k]
    names_b = [k for k in (_venue_key(b.venue), _venue_key(b.address)) if k]
    for x in names_a:
        for y in names_b:
            if x == y or (min(len(x), len(y)) >= 6 and (x in y or y in x)):
                return True
    return False


def _starts_match(a: ScrapedEvent, b: ScrapedEvent, window: timedelta) -> bool:
    # A date-only start is local midnight in the zone it was read in: compare local days.
    if a.date_only and b.date_only:
        return a.start.date() == b.start.date()
    if a.date_only:
        return b.start.astimezone(a.start.tzinfo).date() == a.start.date()
    if b.date_only:
        return a.start.astimezone(b.start.tzinfo).date() == b.start.date()
    return abs(a.start - b.start) <= window


def same_event(
    a: ScrapedEvent, b: ScrapedEvent, *, window: timedelta = timedelta(minutes=30)
) -> bool:
    """Whether two listings from different sources describe one event (start within
    ``window``, or the same day for date-only listings; similar title; same place)."""
    return (
        a.is_online == b.is_online
        and _starts_match(a, b, window)
        and titles_match(a.title, b.title)
        and venues_match(a, b)
    )


def dedupe(
    events: Iterable[ScrapedEvent], *, window: timedelta = timedelta(minutes=30)
) -> list[ScrapedEvent]:
    """One event per real-world event, in first-seen order.

    (a) Listings with the same canonical link, or the same source and source id, are
    merged (first seen wins ties; see :func:`merge_events`). (b) Listings from different
    sources that are :func:`same_event` are merged into the richest of them, whose
    ``links`` then holds every source's link, its own first.
    """
    items = list(events)
    uf = _UnionFind(len(items))
    by_key: dict[tuple[str, str], int] = {}
    for i, ev in enumerate(items):
        keys = [("link", ev.link), *(("link", lk) for lk in ev.links)]
        if ev.source_event_id:
            keys.append((ev.source, ev.source_event_id))
        for key in keys:
            j = by_key.setdefault(key, i)
            if j != i:
                uf.union(j, i)
    merged = [_merge_all([items[i] for i in g]) for g in uf.groups()]

    # (b) cross-source: compare only listings whose starts fall on neighbouring UTC days.
    uf2 = _UnionFind(len(merged))
    by_day: dict[date, list[int]] = {}
    for i, ev in enumerate(merged):
        by_day.setdefault(ev.start.astimezone(UTC).date(), []).append(i)
    for i, ev in enumerate(merged):
        day = ev.start.astimezone(UTC).date()
        for offset in (-1, 0, 1):
            for j in by_day.get(day + timedelta(days=offset), ()):
                if j <= i or merged[j].source == ev.source:
                    continue
                if uf2.find(i) != uf2.find(j) and same_event(ev, merged[j], window=window):
                    uf2.union(i, j)
    out: list[ScrapedEvent] = []
    for group in uf2.groups():
        members = [merged[i] for i in group]
        if len(members) > 1:
            best = max(range(len(members)), key=lambda k: (_richness(members[k]), -k))
            members.insert(0, members.pop(best))
        out.append(_merge_all(members))
    return out


# --------------------------------------------------------------------------- filtering


def event_end(event: ScrapedEvent) -> datetime:
    """When an event is over: its end, else its start; date-only days last until midnight."""
    last = event.end or event.start
    if event.date_only:
        last = last + timedelta(days=1)
    return last


def filter_for_city(
    events: Iterable[ScrapedEvent],
    *,
    now: datetime,
    drop_online: bool = True,
    drop_spam: bool = True,
) -> tuple[list[ScrapedEvent], dict[str, int]]:
    """The events a city list shows, and how many were dropped for each reason.

    This is where online-only events leave city lists (``drop_online``), not in the
    parsers, which only mark them ``is_online=True``. Each dropped event is counted once,
    under the first rule that drops it, in this order: ``spam``, ``past`` (over before
    ``now``, see :func:`event_end`), ``online``. Cancelled and postponed events are kept;
    their ``status`` says what happened. ``counts["kept"]`` is the number returned.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    kept: list[ScrapedEvent] = []
    counts = {"spam": 0, "past": 0, "online": 0, "kept": 0}
    for ev in events:
        if drop_spam and is_spam(ev):
            counts["spam"] += 1
        elif event_end(ev) < now:
            counts["past"] += 1
        elif drop_online and ev.is_online:
            counts["online"] += 1
        else:
            kept.append(ev)
    counts["kept"] = len(kept)
    return kept, counts
