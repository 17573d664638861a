"""How the browser tests launch Debian's Chromium: the scrapers' own flags, headless."""

from __future__ import annotations

from scrapers.fetch import CHROMIUM_ARGS

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS: list[str] = ["--headless", *CHROMIUM_ARGS]
