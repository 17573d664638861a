"""19hz.info: hand-kept electronic-music listings, one HTML page per region.

A region page (``https://19hz.info/eventlisting_BayArea.php``) holds one table of
upcoming events, then a "Recurring" table (weekly and monthly nights, no dates), a venue
list and a promoter list. Each upcoming row has seven cells::

    Fri: Aug 23 <br />(10pm-3am)                      date, and hours in parentheses
    <a href='...'>Title</a> @ Venue (Town)            the <td> is left unclosed
    techno, house, disco                              genres
    $10-20 pre/$25 | 21+                              price | age (either may be absent)
    Organizer, Other Crew                             organizers / promoters
    <a href='...'>Facebook Page</a><br />             more links
    <div class='shrink'>2019/08/23</div>              hidden sort date: gives the year

Multi-day rows read ``Fri: Sep 13-Mon: Sep 16 <br />(Fri: 8pm-Mon: 6am)``. Hours are
local wall-clock times of the page's region (``tz``); an end at or before the start rolls
to the next day (``10pm-3am``), a row without hours is a ``date_only`` event.

The town in parentheses is stored as the event's ``address`` (:func:`town_of` reads it
back for the city mapping). A stated age limit is kept as the last tag (``21+``, ``18+``,
``all ages``) and, when it is one of :data:`scrapers.tags.AGES`, as the event's ``age``.
The row's link is the title's; without one, the first link of the links cell; without
any, the page URL with an anchor of the date and title. The same event listed twice (same
link, same day) is merged.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, NamedTuple

from bs4 import BeautifulSoup
from bs4.element import Tag

from scrapers.clean import Price, canonical_link, clean_text, parse_price, zone
from scrapers.errors import MalformedItem, UnrecognizedPage
from scrapers.event import ScrapedEvent, Status
from scrapers.sites.base import CityLike, CityRequest, Site
from scrapers.sites.common import collect, merge_by_link
from scrapers.sites.schema_org import anchor_link

SOURCE = "19hz"
BASE = "https://19hz.info"

# Region page names (``eventlisting_<name>.php``) of the US regions, with 19hz's labels,
# as several independent public scrapers of the live site use them (Chicago is "CHI",
# Portland "ORE"). Left out: PHL (Philadelphia; one source only), New York (no list:
# eventlisting_NYC.php was reported 404), and the non-US BC (Vancouver) and Toronto.
REGIONS: dict[str, str] = {
    "BayArea": "San Francisco Bay Area / Northern California",
    "LosAngeles": "Los Angeles / Southern California",
    "Seattle": "Seattle",
    "ORE": "Portland / Oregon",
    "LasVegas": "Las Vegas",
    "Phoenix": "Phoenix",
    "Denver": "Denver",
    "Texas": "Texas",
    "Iowa": "Iowa / Nebraska",
    "CHI": "Chicago",
    "Detroit": "Detroit",
    "Atlanta": "Atlanta",
    "Miami": "Miami",
    "DC": "Washington, DC / Maryland / Virginia",
    "Massachusetts": "Massachusetts",
}
# The zone a region's wall-clock times are in, used when the caller gives no ``tz``.
REGION_TIMEZONES: dict[str, str] = {
    "BayArea": "America/Los_Angeles",
    "LosAngeles": "America/Los_Angeles",
    "Seattle": "America/Los_Angeles",
    "ORE": "America/Los_Angeles",
    "LasVegas": "America/Los_Angeles",
    "Phoenix": "America/Phoenix",
    "Denver": "America/Denver",
    "Texas": "America/Chicago",
    "Iowa": "America/Chicago",
    "CHI": "America/Chicago",
    "Detroit": "America/Detroit",
    "Atlanta": "America/New_York",
    "Miami": "America/New_York",
    "DC": "America/New_York",
    "Massachusetts": "America/New_York",
}

_TABLE_RE = re.compile(r"<table\b", re.IGNORECASE)
_HEADER_RE = re.compile(r"Event\s+Title\s*@\s*Venue", re.IGNORECASE)
_REGION_RE = re.compile(r"eventlisting_([A-Za-z]+)\.php")
_SORT_DATE_RE = re.compile(r"^\s*(\d{4})/(\d{1,2})/(\d{1,2})\s*$")
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
    )
}
_WEEKDAYS = {d: i for i, d in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))}
_MONTH_DAY_RE = re.compile(r"\b([A-Za-z]{3})[a-z]*\.?\s+(\d{1,2})\b")
_HOURS_RE = re.compile(r"\(([^()]*)\)\s*$")
_RANGE_SPLIT_RE = re.compile(r"\s*(?:-|\u2013|\u2014|\bto\b)\s*", re.IGNORECASE)
_CLOCK_RE = re.compile(
    r"^(?:(?P<wd>mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?:?\s*)?"
    r"(?:(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?:(?P<ap>[ap])\.?m?\.?)?|(?P<word>noon|midnight))$",
    re.IGNORECASE,
)
_TOWN_RE = re.compile(r"^(?P<venue>.*?)\s*\((?P<town>[^()]*)\)\s*$")
_DOLLARS_RE = re.compile(
    r"\$\s*(\d[\d,]*(?:\.\d+)?)(?:\s*(?:-|\u2013|to)\s*\$?\s*(\d[\d,]*(?:\.\d+)?))?"
)
_FREE_RE = re.compile(r"\bfree\b", re.IGNORECASE)
# "18_" is a typo for "18+" seen on the real page.
_AGE_RE = re.compile(
    r"^(?:(?P<n>\d{1,2})\s*(?:\+|_|and\s+(?:over|up))|(?P<all>all\s*ages?))$", re.IGNORECASE
)
_AGE_TAG_RE = re.compile(r"^(?:\d{1,2}\+|all ages)$")
_AGES = {"21+": "21+", "18+": "18+", "all ages": "all-ages"}  # age_tag -> tags.AGES key
_STATE_OR_ZIP_RE = re.compile(r"^(?:[A-Z]{2}(?:\s+\d{5})?|\d{5})$")
_CANCELLED_RE = re.compile(r"\bcancell?ed\b", re.IGNORECASE)
_POSTPONED_RE = re.compile(r"\bpostponed\b", re.IGNORECASE)
_DEFAULT_COLUMNS = {
    "date": 0,
    "title": 1,
    "tags": 2,
    "price": 3,
    "organizers": 4,
    "links": 5,
}


def region_url(base: str, region: str) -> str:
    """A region's listing page, e.g. ``https://19hz.info/eventlisting_BayArea.php``."""
    return f"{base.rstrip('/')}/eventlisting_{region}.php"


def region_of(url: str) -> str | None:
    """The region page name in a listing URL (``BayArea``), or None."""
    match = _REGION_RE.search(url)
    return match.group(1) if match else None


def looks_like_19hz(text: str) -> bool:
    """A 19hz listing page: the site's name and its ``Event Title @ Venue`` table."""
    head = text[:200_000]
    return "19hz" in head.casefold() and bool(_TABLE_RE.search(head) and _HEADER_RE.search(head))


def town_of(event: ScrapedEvent) -> str | None:
    """The town a 19hz row names, kept in ``address``: ``San Francisco``; the last part of
    a street address (``6780 Depot St, Sebastopol``) or of ``Treasure Island/San Francisco``.
    """
    parts = [p.strip() for p in (event.address or "").split(",")]
    parts = [p for p in parts if p and not _STATE_OR_ZIP_RE.match(p)]
    if not parts:
        return None
    return parts[-1].rsplit("/", 1)[-1].strip() or None


# --------------------------------------------------------------------------- hours


class Hours(NamedTuple):
    """A row's hours: local start, local end (None when open-ended) and, for multi-day
    rows such as ``Fri: 8pm-Sun: 6pm``, the weekday (Monday = 0) the end falls on."""

    start: time
    end: time | None
    end_weekday: int | None = None


def _clock(token: str) -> tuple[int, int, str | None, int | None] | None:
    """(hour, minute, 'a'/'p'/None, weekday) of ``9:30pm``, ``Sat: 2pm``, ``noon``."""
    match = _CLOCK_RE.match(token.strip())
    if not match:
        return None
    weekday = _WEEKDAYS.get(match["wd"][:3].lower()) if match["wd"] else None
    word = (match["word"] or "").lower()
    if word:
        return (12, 0, "p", weekday) if word == "noon" else (0, 0, "a", weekday)
    hour, minute = int(match["h"]), int(match["m"] or 0)
    meridiem = match["ap"].lower() if match["ap"] else None
    if minute > 59 or hour > 23 or (meridiem and not 1 <= hour <= 12):
        return None
    return hour, minute, meridiem, weekday


def _to_time(hour: int, minute: int, meridiem: str | None) -> time:
    if meridiem:
        hour = hour % 12 + (12 if meridiem == "p" else 0)
    return time(hour, minute)


def _readings(hour: int, minute: int, meridiem: str | None) -> list[time]:
    """The times a clock reading can mean: one, or both halves of the day without am/pm."""
    if meridiem or hour > 12:
        return [_to_time(hour, minute, meridiem)]
    return [_to_time(hour, minute, "a"), _to_time(hour, minute, "p")]


def _minutes_between(a: time, b: time) -> int:
    """Minutes from ``a`` forward to ``b`` on a 24-hour clock, in (0, 1440]."""
    delta = (b.hour * 60 + b.minute) - (a.hour * 60 + a.minute)
    return delta if delta > 0 else delta + 1440


def parse_hours(text: str) -> Hours | None:
    """Read 19hz hours: ``10pm-3am``, ``9:30pm-2am``, ``8pm``, ``noon-6pm``,
    ``Fri: 8pm-Sun: 6pm``. A side without am/pm takes the one that makes the night
    shortest (``11-2am`` is 11pm, ``11-1pm`` is 11am). None when no start time reads."""
    parts = _RANGE_SPLIT_RE.split(text.strip(), maxsplit=1)
    first = _clock(parts[0])
    second = _clock(parts[1]) if len(parts) > 1 and parts[1].strip() else None
    if first is None:
        return None
    sh, sm, sap, _ = first
    if second is None:
        if sap is None and sh <= 12:
            return None  # "9" alone: morning or night is anyone's guess
        return Hours(_to_time(sh, sm, sap), None)
    eh, em, eap, end_weekday = second
    if sap is None and eap is None and max(sh, eh) <= 12:
        return None
    start, end = min(
        ((s, e) for s in _readings(sh, sm, sap) for e in _readings(eh, em, eap)),
        key=lambda pair: _minutes_between(*pair),
    )
    return Hours(start, end, end_weekday)


# --------------------------------------------------------------------------- dates


def _sort_date(text: str) -> date | None:
    match = _SORT_DATE_RE.match(text)
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _month_days(text: str) -> list[tuple[int, int]]:
    return [
        (_MONTHS[mon[:3].lower()], int(day))
        for mon, day in _MONTH_DAY_RE.findall(text)
        if mon[:3].lower() in _MONTHS
    ]


def _nearest(month: int, day: int, ref: date) -> date | None:
    """The date with this month and day closest to ``ref`` (Dec 30 then ``Jan 2`` is in
    the next year)."""
    options = []
    for year in (ref.year - 1, ref.year, ref.year + 1):
        try:
            options.append(date(year, month, day))
        except ValueError:
            continue
    return min(options, key=lambda d: abs((d - ref).days)) if options else None


def _on_or_after(month: int, day: int, start: date) -> date | None:
    for year in (start.year, start.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= start:
            return candidate
    return None


def _at(day: date, clock: time, tz: tzinfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=tz)


def _span(
    day: date, last_day: date | None, hours: Hours | None, tz: tzinfo
) -> tuple[datetime, datetime | None, bool]:
    """(start, end, date_only) of a row from its first day, last day (multi-day rows)
    and hours."""
    if hours is None:
        end = _at(last_day, time.min, tz) if last_day and last_day > day else None
        return _at(day, time.min, tz), end, True
    start = _at(day, hours.start, tz)
    if hours.end is None:
        return start, None, False
    end_day = last_day
    if end_day is None and hours.end_weekday is not None:
        end_day = day + timedelta(days=(hours.end_weekday - day.weekday()) % 7)
    if end_day is None or end_day == day:
        end = _at(day, hours.end, tz)
        if end <= start:
            end = _at(day + timedelta(days=1), hours.end, tz)
        return start, end, False
    end = _at(end_day, hours.end, tz)
    return start, (end if end > start else None), False


# --------------------------------------------------------------------------- cells


def _text(cell: Tag | None) -> str:
    return " ".join(cell.get_text(" ").split()) if cell is not None else ""


def _columns(table: Tag) -> dict[str, int]:
    """Cell index of each field, from the header when it names them."""
    heads = [" ".join(th.get_text(" ").split()).casefold() for th in table.find_all("th")]
    if not heads:
        return dict(_DEFAULT_COLUMNS)
    columns: dict[str, int] = {}
    for index, head in enumerate(heads):
        for word, name in (
            ("date", "date"),
            ("title", "title"),
            ("tag", "tags"),
            ("price", "price"),
            ("age", "age"),
            ("organi", "organizers"),
            ("promoter", "organizers"),
            ("link", "links"),
        ):
            if word in head and name not in columns:
                columns[name] = index
                break
    return {**_DEFAULT_COLUMNS, **columns} if "title" in columns else dict(_DEFAULT_COLUMNS)


def _is_recurring(table: Tag) -> bool:
    heading = table.find_previous(["h1", "h2", "h3", "h4"])
    if heading is None:
        return False
    label = f"{heading.get('id') or ''} {heading.get_text(' ')}".casefold()
    return "recurring" in label


def _listing_tables(soup: BeautifulSoup) -> list[Tag]:
    tables = []
    for table in soup.find_all("table"):
        header = table.find("thead") or table.find("tr")
        if header is not None and _HEADER_RE.search(header.get_text(" ")):
            tables.append(table)
    return tables


def _row(cells: list[Tag], columns: dict[str, int]) -> dict[str, Any]:
    """The raw fields of one row, as text and hrefs."""

    def cell(name: str) -> Tag | None:
        index = columns.get(name)
        return cells[index] if index is not None and index < len(cells) else None

    title_cell = cell("title")
    anchor = title_cell.find("a", href=True) if title_cell is not None else None
    links_cell = cell("links")
    sort = next((_text(c) for c in reversed(cells) if _SORT_DATE_RE.match(_text(c))), "")
    return {
        "when": _text(cell("date")),
        "title_cell": _text(title_cell),
        "title": _text(anchor) if anchor is not None else "",
        "href": anchor.get("href") if anchor is not None else None,
        "tags": _text(cell("tags")),
        "price": _text(cell("price")),
        "age": _text(cell("age")),  # only when the header has an Age column of its own
        "organizers": _text(cell("organizers")),
        "links": [a.get("href") for a in links_cell.find_all("a", href=True)]
        if links_cell is not None
        else [],
        "sort": sort,
        "name": _text(anchor) if anchor is not None else _text(title_cell)[:80],
    }


def _title_venue(row: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """(title, venue, town) from ``Title @ Venue (Town)``."""
    full: str = row["title_cell"]
    title: str = row["title"]
    if title and full.startswith(title):
        rest = full[len(title) :].strip()
    else:
        title, _, rest = full.rpartition("@ ") if "@ " in full else (full, "", "")
    rest = rest.removeprefix("@").strip()
    venue, town = rest, None
    match = _TOWN_RE.match(rest)
    if match:
        venue, town = match["venue"], match["town"]
    return clean_text(title), clean_text(venue) or None, clean_text(town) or None


def _split_price_age(price_cell: str, age_cell: str) -> tuple[str, str]:
    if age_cell:
        return price_cell, age_cell
    if "|" in price_cell:
        price, _, age = price_cell.rpartition("|")
        return price.strip(), age.strip()
    if _AGE_RE.match(price_cell.strip()):
        return "", price_cell.strip()
    return price_cell, ""


def age_tag(text: str) -> str | None:
    """``21+``, ``18+`` or ``all ages`` from a row's age text; None when it says neither."""
    match = _AGE_RE.match(text.strip())
    if not match:
        return None
    return "all ages" if match["all"] else f"{int(match['n'])}+"


def price_of(text: str) -> Price:
    """The price range a row states: its dollar amounts (``$10 b4 11pm/$15 pre/$20`` is
    10-20) and 0 when it says free (``Free w/RSVP b4 10pm/$5`` is 0-5)."""
    amounts: list[float] = []
    for low, high in _DOLLARS_RE.findall(text):
        amounts += [float(v.replace(",", "")) for v in (low, high) if v]
    free = bool(_FREE_RE.search(text))
    if not amounts:
        return parse_price("free") if free else parse_price(text if "$" not in text else None)
    low_value = 0.0 if free else min(amounts)
    return parse_price(low_value, max(amounts), currency="USD")


def _status(title: str) -> Status:
    if _CANCELLED_RE.search(title):
        return "cancelled"
    if _POSTPONED_RE.search(title):
        return "postponed"
    return "scheduled"


def _event_id(link: str, day: date) -> str:
    return hashlib.sha1(f"{link}|{day.isoformat()}".encode()).hexdigest()[:16]


class _RowReader:
    """Builds events from rows in page order; remembers the last date for rows without a
    sort date (their year is the one nearest the previous row's date, or ``now``)."""

    def __init__(self, page: str, tz_name: str | None, now: datetime | None) -> None:
        self.page = page
        self.tz_name = tz_name
        self.tz = zone(tz_name)
        self.last_day: date | None = now.date() if now is not None else None

    def _days(self, row: dict[str, Any]) -> tuple[date, date | None]:
        when: str = row["when"]
        date_text = _HOURS_RE.sub("", when)
        visible = _month_days(date_text)
        day = _sort_date(row["sort"])
        if day is None:
            if not visible:
                raise MalformedItem(f"no date in {when!r}")
            if self.last_day is None:
                raise MalformedItem(f"no year for {when!r}: no sort date and no `now`")
            day = _nearest(*visible[0], self.last_day)
            if day is None:
                raise MalformedItem(f"impossible date {when!r}")
        last = _on_or_after(*visible[1], day) if len(visible) > 1 else None
        return day, last

    def __call__(self, row: dict[str, Any]) -> ScrapedEvent:
        title, venue, town = _title_venue(row)
        if not title:
            raise MalformedItem("no title")
        if self.tz is None:
            raise MalformedItem(f"no usable time zone (tz={self.tz_name!r})")
        day, last_day = self._days(row)
        hours_match = _HOURS_RE.search(row["when"])
        hours = parse_hours(hours_match.group(1)) if hours_match else None
        start, end, date_only = _span(day, last_day, hours, self.tz)
        self.last_day = day

        hrefs = (canonical_link(h, self.page) for h in (row["href"], *row["links"]))
        link = next((h for h in hrefs if h), None) or anchor_link(
            self.page, start, title, date_only=True
        )
        price_text, age_text = _split_price_age(row["price"], row["age"])
        price = price_of(price_text)
        tags = list(
            dict.fromkeys(t for t in (clean_text(g).lower() for g in row["tags"].split(",")) if t)
        )
        age = age_tag(age_text)
        if age:
            tags = [t for t in tags if t != age] + [age]
        organizers = clean_text(row["organizers"])
        return ScrapedEvent(
            title=title,
            link=link,
            source=SOURCE,
            start=start,
            end=end,
            source_event_id=_event_id(link, day),
            timezone=self.tz_name,
            venue=venue,
            address=town,
            price_min=price.min,
            price_max=price.max,
            currency=price.currency,
            is_free=price.is_free,
            description=f"by {organizers}" if organizers else None,
            tags=tags,
            status=_status(title),
            date_only=date_only,
            age=_AGES.get(age or ""),
        )


def _squash(label: str) -> str:
    return re.sub(r"[\s/]+", " ", label).strip().casefold()


def _region_of_title(soup: BeautifulSoup) -> str | None:
    """The region a saved page names in its title ("Chicago Electronic Music - Event
    Listing"), for a page read without its URL."""
    title = soup.title.get_text() if soup.title else ""
    name = _squash(title.split(" Electronic Music")[0])
    for region, label in REGIONS.items():
        if name in (_squash(label), _squash(label.split(" / ")[0])):
            return region
    return None


def parse(
    text: str, url: str, *, tz: str | None = None, now: datetime | None = None
) -> list[ScrapedEvent]:
    """The dated events of a 19hz region page, in page order (the Recurring table and
    the venue and promoter lists are skipped).

    ``tz`` is the region's zone; without it the zone of the region named in ``url`` is
    used. ``now`` only dates rows that lack the hidden sort date. Past events are
    returned; filtering is the caller's business.
    """
    if not _TABLE_RE.search(text) or not _HEADER_RE.search(text):
        raise UnrecognizedPage(SOURCE, url, "no 19hz listing table")
    soup = BeautifulSoup(text, "lxml")
    tables = [t for t in _listing_tables(soup) if not _is_recurring(t)]
    if not tables:
        raise UnrecognizedPage(SOURCE, url, "no 19hz listing table outside Recurring")
    region = region_of(url) or _region_of_title(soup)
    tz_name = tz or (REGION_TIMEZONES.get(region) if region else None)
    page = canonical_link(url) if url.startswith(("http://", "https://")) else None
    reader = _RowReader(page or BASE + "/", tz_name, now)
    rows: list[dict[str, Any]] = []
    for table in tables:
        columns = _columns(table)
        for tr in table.find_all("tr"):
            cells = tr.find_all("td", recursive=False)
            if cells:
                rows.append(_row(cells, columns))
    events = collect(rows, reader, source=SOURCE, url=url, kind="row")
    merged = merge_by_link(list(events), key=lambda ev: ev.source_event_id or ev.link)
    for event in merged:  # merging appends the second listing's genres after the age
        event.tags = [t for t in event.tags if not _AGE_TAG_RE.match(t)] + [
            t for t in event.tags if _AGE_TAG_RE.match(t)
        ][:1]
    return merged


def next_page_url(text: str, url: str) -> str | None:
    """A region's listing is one page: there is no next page."""
    return None


def first_requests(
    city: CityLike, base: str, options: Mapping[str, object]
) -> Sequence[CityRequest]:
    """The region page that lists the city, where 19hz covers it."""
    region = city.slugs.get(SOURCE)
    return [CityRequest(region_url(base, region), region)] if region else []


SITE = Site(
    name=SOURCE,
    display_name="19hz",
    home=BASE,
    parse=parse,
    hosts=("19hz.info",),
    markers=("19hz",),
    detect=looks_like_19hz,
    fetch=("http",),
    first_requests=first_requests,
    next_page=next_page_url,
    # The listings are kept by hand: a region page is fetched at most once a day.
    min_interval=timedelta(days=1),
    city_key=town_of,
    credit="19hz.info",
)

__all__ = [
    "BASE",
    "REGIONS",
    "REGION_TIMEZONES",
    "SITE",
    "SOURCE",
    "Hours",
    "age_tag",
    "looks_like_19hz",
    "next_page_url",
    "parse",
    "parse_hours",
    "price_of",
    "region_of",
    "region_url",
    "town_of",
]
