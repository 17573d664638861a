"""Typed errors raised by the parsers (and, later, by the fetcher)."""

from __future__ import annotations


class ScraperError(Exception):
    """Base class: something went wrong getting events from one source page."""

    def __init__(self, source: str, url: str, message: str = "") -> None:
        self.source = source
        self.url = url
        self.message = message
        text = f"{source}: {url}"
        super().__init__(f"{text}: {message}" if message else text)


class UnrecognizedPage(ScraperError):
    """The page holds none of the structures the parser knows (embedded JSON, JSON-LD, API)."""

    def __init__(
        self, source: str, url: str, message: str = "page structure not recognised"
    ) -> None:
        super().__init__(source, url, message)


class BlockedPage(ScraperError):
    """The site answered with a block, a captcha or a login wall instead of the page."""

    def __init__(
        self, source: str, url: str, message: str = "blocked", *, status: int | None = None
    ) -> None:
        self.status = status
        super().__init__(source, url, message if status is None else f"{message} (HTTP {status})")


class FetchError(ScraperError):
    """The page could not be fetched (network error, timeout, unexpected HTTP status)."""

    def __init__(
        self, source: str, url: str, message: str = "fetch failed", *, status: int | None = None
    ) -> None:
        self.status = status
        super().__init__(source, url, message if status is None else f"{message} (HTTP {status})")


class MalformedItem(ValueError):
    """One listed event lacks what an event needs; the parser logs it and skips it."""
