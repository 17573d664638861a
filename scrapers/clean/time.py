"""Dates, times, zones and durations as sources write them.

Pure: no clock; a naive time without a known zone gives None rather than a guess.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


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
