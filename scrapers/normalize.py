"""Turn what a source says into the one event shape, and clean up lists of events.

Everything here is pure: no I/O, no clock (callers pass ``now``).
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import fields, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from difflib import SequenceMatcher
from functools import cache, lru_cache
from typing import NamedTuple
from urllib.parse import quote, unquote, urljoin, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scrapers.event import ScrapedEvent

__all__ = [
    "SITE_BASES",
    "Price",
    "canonical_link",
    "clean_text",
    "combine_local",
    "dedupe",
    "event_end",
    "filter_for_city",
    "is_date_only",
    "is_spam",
    "join_address",
    "merge_events",
    "parse_datetime",
    "parse_duration",
    "parse_price",
    "same_event",
    "spam_reason",
    "titles_match",
    "to_float",
    "venues_match",
    "zone",
]

SITE_BASES: dict[str, str] = {
    "eventbrite": "https://www.eventbrite.com",
    "meetup": "https://www.meetup.com",
    "luma": "https://luma.com",
}

# --------------------------------------------------------------------------- time


@cache
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def zone(tz: str | tzinfo | None) -> tzinfo | None:
    """A tzinfo for an IANA name (or tzinfo); None when absent or unknown."""
    if tz is None or isinstance(tz, tzinfo):
        return tz
    name = tz.strip()
    return _zone(name) if name else None


_DATE_ONLY_RE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}\s*$")
_ISO_FRACTION_RE = re.compile(r"(\.\d{1,6})\d*")


def is_date_only(value: object) -> bool:
    """True for an ISO calendar date without a time of day (``2026-10-20``)."""
    return isinstance(value, str) and bool(_DATE_ONLY_RE.match(value))


def parse_datetime(value: object, tz: str | tzinfo | None = None) -> datetime | None:
    """A timezone-aware datetime, or None when ``value`` is empty or unreadable.

    ISO strings with an offset or ``Z`` keep their offset. Naive values (and bare dates,
    read as local midnight) are placed in ``tz``; with no usable ``tz`` they give None,
    because guessing a zone would silently shift the time. Integers are Unix seconds
    (or milliseconds when large).
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value) / 1000 if abs(value) > 1e11 else float(value)
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time.min)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text[-1] in "zZ":
            text = text[:-1] + "+00:00"
        # fromisoformat takes at most microseconds; some sources send nanoseconds.
        text = _ISO_FRACTION_RE.sub(r"\1", text, count=1)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    if parsed.tzinfo is not None:
        return parsed
    zone_info = zone(tz)
    if zone_info is None:
        return None
    return parsed.replace(tzinfo=zone_info)


def combine_local(
    day: object, clock: object, tz: str | tzinfo | None
) -> tuple[datetime | None, bool]:
    """Join a source's separate local date and ``HH:MM`` time in ``tz``.

    Returns ``(datetime, date_only)``; a missing time gives local midnight and
    ``date_only=True``.
    """
    if not isinstance(day, str) or not is_date_only(day):
        return None, False
    if isinstance(clock, str) and clock.strip():
        return parse_datetime(f"{day.strip()}T{clock.strip()}", tz), False
    return parse_datetime(day, tz), True


_DURATION_RE = re.compile(
    r"^P(?:(?P<y>\d+)Y)?(?:(?P<mo>\d+)M)?(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<mi>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(value: object) -> timedelta | None:
    """An ISO 8601 duration (``P0Y0M0DT33H0M0S``) as a timedelta; years/months refused."""
    if not isinstance(value, str):
        return None
    m = _DURATION_RE.match(value.strip())
    if not m or value.strip() in ("P", "PT"):
        return None
    if int(m["y"] or 0) or int(m["mo"] or 0):
        return None  # calendar-length units have no fixed duration
    return timedelta(
        weeks=int(m["w"] or 0),
        days=int(m["d"] or 0),
        hours=int(m["h"] or 0),
        minutes=int(m["mi"] or 0),
        seconds=float(m["s"] or 0),
    )


# --------------------------------------------------------------------------- links

_TRACKING_PARAMS = frozenset(
    {
        "aff",
        "afflink",
        "ref",
        "ref_src",
        "ref_url",
        "referrer",
        "_eboga",
        "_ebsrc",
        "keep_tld",
        "recid",
        "recsource",
        "searchid",
        "eventorigin",
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "igshid",
        "li_fat_id",
        "mc_cid",
        "mc_eid",
        "mkt_tok",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "s_kwcid",
        "rdt_cid",
        "epik",
        "trk",
    }
)
_TRACKING_PREFIXES = ("utm_",)
_HOST_ALIASES = {
    "lu.ma": "luma.com",
    "www.lu.ma": "luma.com",
    "www.luma.com": "luma.com",
    "meetup.com": "www.meetup.com",
}
_SCHEMELESS_HOST_RE = re.compile(
    r"^(?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|ca|org|net|io|ma|co|us|de|fr|es|it|ie"
    r"|co\.uk|com\.au|com\.mx|com\.br)(?=[/?#:]|$)",
    re.IGNORECASE,
)
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"


def _is_tracking(pair: str) -> bool:
    key = pair.split("=", 1)[0]
    if "%" in key or "+" in key:
        key = unquote(key)
    key = key.strip().lower()
    return key in _TRACKING_PARAMS or key.startswith(_TRACKING_PREFIXES)


def canonical_link(url: object, base: str | None = None) -> str | None:
    """The canonical absolute https form of an event link, or None if it is not one.

    Tracking parameters (utm_*, aff, ref, _eboga, recId, recSource, searchId, eventOrigin,
    fbclid, gclid, ...) and the fragment are dropped, the scheme becomes https, the host is
    lower-cased (``lu.ma`` becomes ``luma.com``), and the remaining query keeps its order and
    encoding. A bare slug (``abc123``) or a root-relative path becomes a link on ``base``'s
    site; other relative paths are resolved against ``base``. Anything that is not http(s)
    (``javascript:``, ``mailto:``, ``data:``) gives None.
    """
    if not isinstance(url, str):
        return None
    text = url.strip()
    if not text or any(ch in text for ch in '\n\r\t<>"`'):
        return None
    if "&" in text and _ENTITY_RE.search(text):
        text = html.unescape(text)
    if text.startswith("//"):
        text = "https:" + text
    elif not text.startswith(("https://", "http://")) and _SCHEMELESS_HOST_RE.match(text):
        text = "https://" + text
    if text.startswith(("https://", "http://")):
        fast = _fast_https(text)
        if fast is not None:
            return fast
    parts = urlsplit(text)
    if not parts.scheme and not parts.netloc:
        if not base:
            return None
        root = base if "://" in base else "https://" + base
        if not parts.path and not parts.query:
            return None
        if "/" not in parts.path and not text.startswith(("?", ".")):
            origin = urlsplit(root)
            text = f"{origin.scheme}://{origin.netloc}/{text}"
        else:
            text = urljoin(root, text)
        parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return None
    host = (parts.hostname or "").rstrip(".")
    if not host or " " in host:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    return _assemble(host, port, parts.path, parts.query)


def _fast_https(text: str) -> str | None:
    """The common case, an absolute URL with a plain host, without urlsplit's generality;
    None sends anything unusual (userinfo, ports, odd hosts) down the general path."""
    rest = text[8:] if text[4] == "s" else text[7:]
    cut = len(rest)
    for mark in "/?#":
        at = rest.find(mark)
        if at != -1 and at < cut:
            cut = at
    host = rest[:cut]
    if not host or not host.isascii() or any(ch in host for ch in "@:[]% \\"):
        return None
    remainder = rest[cut:].split("#", 1)[0]
    path, _, query = remainder.partition("?")
    return _assemble(host.lower().rstrip("."), None, path, query)


def _assemble(host: str, port: int | None, path: str, query: str) -> str:
    host = _HOST_ALIASES.get(host, host)
    netloc = f"{host}:{port}" if port not in (None, 80, 443) else host
    path = path or "/"
    if not path.isascii() or not path.isprintable() or " " in path:
        path = quote(path, safe=_PATH_SAFE)
    if query:
        query = "&".join(p for p in query.split("&") if p and not _is_tracking(p))
    return f"https://{netloc}{path}?{query}" if query else f"https://{netloc}{path}"


# --------------------------------------------------------------------------- text

_BLOCK_RE = re.compile(r"<(script|style|template|noscript)\b[^>]*>.*?</\1\s*>", re.I | re.S)
_COMMENT_RE = re.compile(r"<!--.*?(?:-->|$)", re.S)
_BREAK_RE = re.compile(
    r"<\s*/?\s*(?:br|p|div|li|ul|ol|h[1-6]|tr|td|th|table|section|article|header|footer"
    r"|blockquote|hr|pre)\b[^>]*>",
    re.I,
)
_TAG_RE = re.compile(r"</?[a-zA-Z][^>]*(?:>|$)|<![^>]*(?:>|$)|</?[a-zA-Z]*$", re.S)
_ENTITY_RE = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]{1,31});")
_INVISIBLE = ("\u200b", "\u2060", "\ufeff", "\u00ad")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MANY_NEWLINES_RE = re.compile(r"\n\s*\n\s*(?:\n\s*)+")


def _strip_markup(text: str) -> str:
    if "<" not in text:
        return text
    text = _COMMENT_RE.sub(" ", _BLOCK_RE.sub(" ", text))
    text = _BREAK_RE.sub("\n", text)
    return _TAG_RE.sub("", text)


def clean_text(value: object, *, multiline: bool = False) -> str:
    """Plain text from a source string: entities unescaped, tags dropped, spaces collapsed.

    The result never holds markup: tags (also ones that only appear after unescaping a
    double-escaped ``&amp;lt;b&amp;gt;``) are removed, so ``<img src=x onerror=...>`` leaves
    nothing behind. Zero-width characters go. With ``multiline`` paragraph breaks survive
    (at most one blank line); otherwise all whitespace becomes single spaces.
    Non-strings give ``""``.
    """
    if not isinstance(value, str) or not value:
        return ""
    text = value
    if "<" in text or "&" in text:
        for _ in range(3):
            text = _strip_markup(text)
            if "&" not in text or not _ENTITY_RE.search(text):
                break
            text = html.unescape(text)
        text = _strip_markup(text)
    if not text.isascii():
        for char in _INVISIBLE:
            if char in text:
                text = text.replace(char, "")
        text = unicodedata.normalize("NFC", text)
    if not text.isprintable():
        text = _CONTROL_RE.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    if not multiline:
        return " ".join(text.split())
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return _MANY_NEWLINES_RE.sub("\n\n", "\n".join(lines)).strip()


def to_float(value: object) -> float | None:
    """A finite float from a number or numeric string; None otherwise."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _address_parts(text: str) -> list[str]:
    text = re.sub(r"\s+,", ",", " ".join(text.split()))
    parts: list[str] = []
    for raw in text.split(","):
        part = raw.strip()
        if part and (not parts or part.casefold() != parts[-1].casefold()):
            parts.append(part)
    return parts


def join_address(
    street: object,
    locality: object = None,
    region: object = None,
    postal_code: object = None,
) -> str | None:
    """A one-line address from parts, without repeating what the street line already says.

    Sources often repeat the city in the street line (``260 Queen St W, Toronto, ON M5V 1Z4,
    Canada, Toronto, ON``); the trailing repeat is dropped.
    """
    street_parts = _address_parts(clean_text(street))
    city = clean_text(locality).strip(" ,")
    state = clean_text(region).strip(" ,")
    postal = clean_text(postal_code)
    tail = [p for p in _address_parts(", ".join(x for x in (city, state) if x))]
    if tail and len(street_parts) > len(tail):
        head, end = street_parts[: -len(tail)], street_parts[-len(tail) :]
        said_before = ", ".join(head).casefold()
        if [p.casefold() for p in end] == [p.casefold() for p in tail] and (
            tail[0].casefold() in said_before
        ):
            street_parts = head
    joined = ", ".join(street_parts)
    folded = joined.casefold()
    extra: list[str] = []
    if city and city.casefold() not in folded:
        extra.append(city)
    region_line = " ".join(x for x in (state, postal) if x)
    if state and re.search(rf"\b{re.escape(state.casefold())}\b", folded):
        region_line = postal if postal and postal.casefold() not in folded else ""
    elif postal and postal.casefold() in folded:
        region_line = state
    if region_line:
        extra.append(region_line)
    result = ", ".join(x for x in (joined, *extra) if x)
    return result or None


# --------------------------------------------------------------------------- price

_CURRENCY_SYMBOLS = {
    "CA$": "CAD",
    "C$": "CAD",
    "US$": "USD",
    "A$": "AUD",
    "$": None,  # dollars: the currency argument (or USD) decides
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "₹": "INR",
}
_PRICE_NUMBER_RE = re.compile(r"\d[\d,]*(?:\.\d+)?|\.\d+")
_CURRENCY_CODES = frozenset(
    {"USD", "CAD", "EUR", "GBP", "AUD", "NZD", "MXN", "JPY", "INR", "CHF", "SEK", "BRL"}
)
_CODE_RE = re.compile(r"\b(" + "|".join(sorted(_CURRENCY_CODES)) + r")\b", re.I)
_FREE_WORDS_RE = re.compile(r"\b(free|gratis|no cost|complimentary)\b", re.I)


class Price(NamedTuple):
    """``(min, max, currency, is_free)``; unknown parts are None."""

    min: float | None
    max: float | None
    currency: str | None
    is_free: bool | None


def _amount(value: object) -> tuple[float | None, str | None, bool]:
    """(number, currency found in the text, text said 'free')."""
    if value is None or isinstance(value, bool):
        return None, None, False
    if isinstance(value, int | float | Decimal):
        return to_float(value), None, False
    if not isinstance(value, str):
        return None, None, False
    text = value.strip()
    if not text:
        return None, None, False
    currency: str | None = None
    for symbol, code in _CURRENCY_SYMBOLS.items():
        if symbol in text:
            currency = code or currency
            break
    code_match = _CODE_RE.search(text)
    if code_match:
        currency = code_match.group(1).upper()
    number_match = _PRICE_NUMBER_RE.search(text)
    if number_match:
        try:
            number = float(Decimal(number_match.group(0).replace(",", "")))
        except InvalidOperation:
            number = None
        return number, currency, False
    return None, currency, bool(_FREE_WORDS_RE.search(text))


def parse_price(
    low: object = None,
    high: object = None,
    *,
    currency: object = None,
    is_free: bool | None = None,
) -> Price:
    """Normalise a price: numbers or strings (``"$10"``, ``"CA$15.50"``, ``"Free"``,
    ``"$10 - $25"``) for the low and high ends, an ISO currency, and a source's own
    free flag (which wins when given).

    Currency is upper-cased and dropped for free events (sources put a default currency
    on zero prices). ``is_free`` is derived from the prices when the source has no flag.
    """
    lo, lo_cur, lo_free = _amount(low)
    hi, hi_cur, hi_free = _amount(high)
    if isinstance(low, str) and high is None:
        numbers = _PRICE_NUMBER_RE.findall(low)
        if len(numbers) >= 2 and re.search(r"\d\s*(?:-|\u2013|to)\s*\D{0,4}\d", low):
            hi = to_float(numbers[-1].replace(",", ""))
    if lo_free or hi_free:
        lo = 0.0 if lo is None else lo
    code = currency.strip().upper() if isinstance(currency, str) and currency.strip() else None
    code = code or lo_cur or hi_cur
    if lo is not None and hi is not None and hi < lo:
        lo, hi = hi, lo
    if lo is not None and lo < 0:
        lo = None
    if hi is not None and hi < 0:
        hi = None
    free = is_free
    if free is None and (lo is not None or hi is not None):
        free = (hi if hi is not None else lo) == 0
    if free and not (hi or lo):
        lo = 0.0 if lo is None else lo
        hi = 0.0 if hi is None else hi
        code = None
    if lo is None and hi is None and not free:
        code = None
    elif code is None and (lo_cur is None and hi_cur is None) and _has_dollar(low, high):
        code = "USD"
    if lo is not None and hi is None:
        hi = lo
    return Price(lo, hi, code, free)


def _has_dollar(*values: object) -> bool:
    return any(isinstance(v, str) and "$" in v for v in values)


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
