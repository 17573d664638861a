"""Rewrite tests/fixtures/pages/<site>/<name>.expected.json from the parsers' current output.

Each expected file keeps the ``url`` and ``tz`` the page is parsed with; a new fixture
needs them on the command line. Review every diff by eye before committing: the expected
files are the parsers' specification, not a snapshot to accept blindly.

    python scripts/regen_expected.py                      # all fixtures that have expectations
    python scripts/regen_expected.py luma/discover_page.html --url https://luma.com/chicago \
        --tz America/Chicago                              # create or refresh one
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scrapers.sites import SITES  # noqa: E402

PAGES = ROOT / "tests" / "fixtures" / "pages"


class _Count(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "malformed" in record.getMessage():
            self.count += 1


def expected_path(page: Path) -> Path:
    return page.with_name(page.name.rsplit(".", 1)[0] + ".expected.json")


def render(page: Path, url: str, tz: str | None, now: datetime | None = None) -> dict[str, object]:
    """What the expected file for ``page`` should hold."""
    site = page.parent.name
    text = page.read_text(encoding="utf-8")
    counter = _Count()
    logging.getLogger("scrapers").addHandler(counter)
    try:
        events = SITES[site].parse(text, url, tz=tz, now=now)
    finally:
        logging.getLogger("scrapers").removeHandler(counter)
    out: dict[str, object] = {"url": url, "tz": tz}
    if now is not None:
        out["now"] = now.isoformat()
    return out | {
        "next_page_url": SITES[site].next_page(text, url),
        "malformed_skipped": counter.count,
        "events": [ev.to_json() for ev in events],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", help="paths relative to tests/fixtures/pages")
    parser.add_argument("--url")
    parser.add_argument("--tz")
    args = parser.parse_args()
    pages = [PAGES / p for p in args.pages] or sorted(
        p for p in PAGES.glob("*/*") if not p.name.endswith(".expected.json")
    )
    for page in pages:
        target = expected_path(page)
        old = json.loads(target.read_text()) if target.exists() else {}
        url = args.url or old.get("url")
        tz = args.tz or old.get("tz")
        if not url:
            print(f"skip {page.relative_to(PAGES)}: no --url and no expected file yet")
            continue
        now = datetime.fromisoformat(old["now"]) if old.get("now") else None
        data = render(page, url, tz, now)
        target.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {target.relative_to(ROOT)} ({len(data['events'])} events)")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
