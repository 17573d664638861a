"""Parser throughput: events per second per core over the fixture corpus, per parser
(the big sites' and the newer iCalendar, schema.org and 19hz ones side by side), each
parser on a listing of about a thousand events, and the time to parse a ~1 MB listing
page next to extracting the same page's JSON-LD with extruct.

    python bench/bench_parse.py            # prints tables; never fails on timings

Single process, single thread, so the figures are per core. The corpus is the project's
own fixture pages plus ../shared/fixtures when present.
"""

from __future__ import annotations

import json
import logging
import re
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scrapers.sites import SITES  # noqa: E402
from scrapers.sites.common import assigned_json, jsonld_blocks, scan_jsonld  # noqa: E402

OWN = ROOT / "tests" / "fixtures" / "pages"
SHARED = ROOT.parent / "shared" / "fixtures"
SHARED_ZONES = {
    "py-webscraper_": "America/New_York",
    "torontobuilds_": "America/Toronto",
    "alc-docs_": "America/Chicago",
    "dc-frontier_": "America/New_York",
    "jackofthewood_": "America/New_York",
    "meetup_triangle_": "America/New_York",
    "parklife_": "America/Chicago",
    "thebackdoor_": "America/Indiana/Indianapolis",
    "livenation_fillmore_": "America/Los_Angeles",
    "uctheatre_": "America/Los_Angeles",
    "dancedestination_": "America/Los_Angeles",
}
SHARED_SITES = {"ics": "ical", "jsonld": "schema_org"}  # folder -> the site that reads it
TARGET_BYTES = 1_000_000
SCALED_EVENTS = 1000  # events in each parser's scaled listing
CHICAGO_TZ = "America/Chicago"


def _timeit(fn: Callable[[], object], *, min_seconds: float = 0.4, min_runs: int = 5) -> float:
    """Median seconds per call over repeated runs (after one warm-up call)."""
    fn()
    samples: list[float] = []
    started = time.perf_counter()
    while len(samples) < min_runs or time.perf_counter() - started < min_seconds:
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


@dataclass(frozen=True, slots=True)
class Page:
    """One page as its parser is called on it."""

    label: str
    site: str
    text: str
    url: str = ""
    tz: str | None = CHICAGO_TZ
    now: datetime | None = None

    def parse(self) -> list:
        return SITES[self.site].parse(self.text, self.url, tz=self.tz, now=self.now)


def _corpus() -> list[Page]:
    """Every fixture page, read as the parser tests read it (their URL, zone and now)."""
    pages: list[Page] = []
    for page in sorted(OWN.glob("*/*")):
        if page.name.endswith(".expected.json"):
            continue
        spec = json.loads(
            page.with_name(page.name.rsplit(".", 1)[0] + ".expected.json").read_text()
        )
        now = datetime.fromisoformat(spec["now"]) if spec.get("now") else None
        label = f"own/{page.parent.name}/{page.name}"
        pages.append(Page(label, page.parent.name, page.read_text(), spec["url"], spec["tz"], now))
    if SHARED.is_dir():
        for page in sorted(SHARED.glob("*/*")):
            if page.name.endswith(".source.txt"):
                continue
            tz = next((z for p, z in SHARED_ZONES.items() if page.name.startswith(p)), None)
            site = SHARED_SITES.get(page.parent.name, page.parent.name)
            url = f"https://feeds.example/{page.name}" if site == "ical" else ""
            label = f"shared/{page.parent.name}/{page.name}"
            pages.append(Page(label, site, page.read_text(), url, tz, None))
    return pages


def _repeat(block: str, n: int, vary: Callable[[str, int], str]) -> str:
    return "".join(vary(block, i) for i in range(n))


def _scaled_feeds() -> list[Page]:
    """Each newer parser on a listing of SCALED_EVENTS events, built from its own fixture
    (events repeated with fresh ids, links and titles): a venue's iCalendar feed, a venue
    page of schema.org events, a 19hz region page."""
    n = SCALED_EVENTS
    ics = (OWN / "ical" / "venue_feed.ics").read_text()
    head, _, rest = ics.partition("BEGIN:VEVENT")
    one = "BEGIN:VEVENT" + rest.split("END:VEVENT", 1)[0] + "END:VEVENT\n"
    feed = head + _repeat(
        one, n, lambda b, i: b.replace("UID:", f"UID:{i}-").replace("SUMMARY:", f"SUMMARY:#{i} ")
    )
    feed += "END:VCALENDAR\n"

    html = (OWN / "schema_org" / "venue_events.html").read_text()
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    node = next(json.loads(b) for b in blocks if "events/noise-floor" in b)

    def ld(_: str, i: int) -> str:
        data = {**node, "name": f"{node['name']} #{i}", "url": f"{node['url']}-{i}"}
        return f'<script type="application/ld+json">{json.dumps(data)}</script>\n'

    page = f"<!DOCTYPE html><html><head><title>Events</title>{_repeat('', n, ld)}</head></html>"

    hz = (OWN / "19hz" / "eventlisting_CHI.html").read_text()
    rows = re.findall(r"<tr><td>.*?</tr>", hz.split("<tbody>", 1)[1].split("</tbody>", 1)[0])
    table = _repeat(
        rows[0],
        n,
        lambda r, i: r.replace("events/2200001", f"events/9{i:06d}").replace(
            "Lakeshore Heat:", f"Lakeshore Heat #{i}:"
        ),
    )
    hz = hz.replace("".join(rows), table, 1)
    feed_now = datetime.fromisoformat("2026-12-01T12:00:00-06:00")
    return [
        Page("ical: venue feed", "ical", feed, "https://feeds.example/venue.ics", now=feed_now),
        Page("schema_org: venue page", "schema_org", page, "https://lanternroom.example/events/"),
        Page("19hz: region page", "19hz", hz, "https://19hz.info/eventlisting_CHI.php"),
    ]


def _scaled_listing(target: int = TARGET_BYTES) -> str:
    """The own Eventbrite city page, its events repeated (fresh ids, links and names) in both
    the server data and the JSON-LD list until the page weighs about ``target`` bytes."""
    page = (OWN / "eventbrite" / "city_browse.html").read_text()
    server = assigned_json(page, "__SERVER_DATA__")
    assert isinstance(server, dict)
    bucket = server["buckets"][0]
    seed_events = [
        e for b in server["buckets"] for e in b.get("events", []) if b.get("type") == "event"
    ]
    itemlist = server["jsonld"][0]
    seed_items = [el["item"] for el in itemlist["itemListElement"]]
    events, items = list(bucket["events"]), list(itemlist["itemListElement"])
    copy = 0
    while len(page) + 3 * len(json.dumps(events)) // 2 < target:
        copy += 1
        for e in seed_events:
            eid = f"39{copy:05d}{e['id'][-6:]}"
            url = f"https://www.eventbrite.com/e/copy-{copy}-tickets-{eid}"
            name = f"{e['name']} #{copy}"
            events.append(
                {**e, "id": eid, "eid": eid, "eventbrite_event_id": eid, "url": url, "name": name}
            )
        for it in seed_items:
            # As on real pages, each JSON-LD item repeats an event of the server data.
            eid = f"39{copy:05d}{it['url'].rstrip('/')[-6:]}"
            url = f"https://www.eventbrite.com/e/copy-{copy}-tickets-{eid}"
            item = {**it, "url": url, "name": f"{it['name']} #{copy}"}
            items.append({"position": len(items) + 1, "@type": "ListItem", "item": item})
    bucket["events"] = events
    itemlist["itemListElement"] = items
    head, rest = page.split("window.__SERVER_DATA__ = ", 1)
    _, tail = rest.split(";\n", 1)
    ld_start = head.index('<script type="application/ld+json">')
    ld_end = head.index("</script>", ld_start)
    ld_json = json.dumps(itemlist, separators=(",", ":")).replace("</", "<\\/")
    head = head[:ld_start] + f'<script type="application/ld+json">\n{ld_json}\n' + head[ld_end:]
    data = json.dumps(server, separators=(",", ":")).replace("</", "<\\/")
    return f"{head}window.__SERVER_DATA__ = {data};\n{tail}"


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" for i, w in enumerate(widths))
    print(line.format(*header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line.format(*row))
    print()


def main() -> int:
    logging.getLogger("scrapers").setLevel(
        logging.ERROR
    )  # fixtures contain malformed items on purpose

    rows: list[tuple[str, ...]] = []
    total_events = 0
    total_seconds = 0.0
    per_site: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0.0, 0.0])
    for page in _corpus():
        count = len(page.parse())
        seconds = _timeit(page.parse, min_seconds=0.2)
        total_events += count
        total_seconds += seconds
        sums = per_site[page.site]
        sums[0] += 1
        sums[1] += count
        sums[2] += seconds
        sums[3] += len(page.text)
        rate = f"{count / seconds:,.0f}" if count else "-"
        rows.append(
            (page.label, f"{len(page.text) / 1024:,.0f}", str(count), f"{seconds * 1000:.2f}", rate)
        )
    rows.append(
        (
            "TOTAL (one pass over the corpus)",
            "",
            str(total_events),
            f"{total_seconds * 1000:.2f}",
            f"{total_events / total_seconds:,.0f}",
        )
    )
    print("Parse throughput, one core (median time per page)\n")
    _table(rows, ("page", "KiB", "events", "ms/page", "events/s"))

    print("Per parser over its fixture pages (small pages: per-page overhead weighs in)\n")
    per_parser = []
    for site in SITES:
        n, ev, sec, size = per_site[site]
        if n:
            kib, ms = f"{size / 1024:,.0f}", f"{sec * 1000:.2f}"
            per_parser.append((site, f"{n:.0f}", kib, f"{ev:.0f}", ms, f"{ev / sec:,.0f}"))
    _table(per_parser, ("parser", "pages", "KiB", "events", "ms", "events/s"))

    rows = []
    scaled = [Page("eventbrite: city listing", "eventbrite", _scaled_listing()), *_scaled_feeds()]
    for page in scaled:
        count = len(page.parse())
        seconds = _timeit(page.parse)
        rows.append(
            (
                page.label,
                f"{len(page.text) / 1024:,.0f}",
                str(count),
                f"{seconds * 1000:.1f}",
                f"{count / seconds:,.0f}",
            )
        )
    print("Each parser on one large listing built from its own fixture\n")
    _table(rows, ("listing", "KiB", "events", "ms", "events/s"))

    try:
        import extruct  # type: ignore[import-untyped]
    except ImportError:
        extruct = None
    pages = [("synthetic: own city_browse.html scaled", _scaled_listing(), "America/Chicago")]
    nyc = SHARED / "eventbrite" / "py-webscraper_nyc_city_page.html"
    if nyc.exists():
        pages.append(("real: shared NYC city page", nyc.read_text(), "America/New_York"))
    rows = []
    for label, html, tz in pages:
        parse_s = _timeit(lambda html=html, tz=tz: SITES["eventbrite"].parse(html, "", tz=tz))
        count = len(SITES["eventbrite"].parse(html, "", tz=tz))
        ld_s = _timeit(lambda html=html: scan_jsonld(jsonld_blocks(html)))
        ex_s = None
        if extruct is not None:
            ex_s = _timeit(lambda html=html: extruct.extract(html, syntaxes=["json-ld"]))
        rows.append(
            (
                label,
                f"{len(html.encode()) / 1_000_000:.2f}",
                str(count),
                f"{parse_s * 1000:.1f}",
                f"{ld_s * 1000:.1f}",
                f"{ex_s * 1000:.1f}" if ex_s else "n/a",
                f"{ex_s / parse_s:.2f}" if ex_s else "n/a",
                f"{ex_s / ld_s:.2f}" if ex_s else "n/a",
            )
        )
    print("Eventbrite listing pages of about 1 MB (target: full parse < 50 ms)\n")
    header = (
        "page",
        "MB",
        "events",
        "parse ms",
        "our JSON-LD ms",
        "extruct ms",
        "extruct/parse",
        "extruct/our JSON-LD",
    )
    _table(rows, header)
    print("parse:       scrapers' eventbrite.parse (server data + JSON-LD -> normalised events)")
    print("our JSON-LD: jsonld_blocks + scan_jsonld, the raw JSON-LD extraction step alone")
    print("extruct:     extruct.extract(html, syntaxes=['json-ld']), raw JSON-LD dicts")
    if extruct is None:
        print("extruct is not installed (pip install extruct): no comparison")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
