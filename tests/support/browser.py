"""How the browser tests and UI benches run: Debian's Chromium with the scrapers' own flags,
headless, and Reflex with what the Makefile exports."""

from __future__ import annotations

import os

from nocturne.settings import ROOT
from scrapers.fetch import CHROMIUM_ARGS

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS: list[str] = ["--headless", *CHROMIUM_ARGS]


def reflex_env() -> dict[str, str]:
    """The Makefile's Reflex variables (bun from npm, the project's own Reflex home)."""
    return {
        "PATH": f"{ROOT / '.tools/node_modules/.bin'}:{os.environ.get('PATH', '')}",
        "REFLEX_DIR": str(ROOT / ".reflex-home"),
        "BUN_INSTALL": str(ROOT / ".bun-home"),
        "BUN_INSTALL_CACHE_DIR": str(ROOT / ".bun-cache"),
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_CHECK_LATEST_VERSION": "false",
    }
