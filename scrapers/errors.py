"""Typed errors raised by the parsers and the fetcher, and what a person is told of them.

Every failure of a source has one ``reason`` (see :data:`REASONS`): :func:`reason_of`
classifies any exception, :func:`recorded` writes the reason into the text a
``ScrapeRun.error`` keeps, :func:`parse_recorded` reads it back, and :func:`explain`
turns it into the sentence the city page shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Why a source failed, as the city page words it.
REASON_TEXT = {
    "network": "could not reach the site",
    "timeout": "the site timed out",
    "blocked": "blocked by the site (a block or captcha page)",
    "rate_limited": "rate-limited by the site",
    "changed": "the page changed and was not recognised",
    "unavailable": "the site had an error",
    "error": "an unexpected error on our side",
    "refused": "the feed was refused: too large, or at an address we do not read",
}
REASONS = tuple(REASON_TEXT)
# Worth trying again soon: the site may answer in a moment.
TRANSIENT_REASONS = frozenset({"network", "timeout", "rate_limited", "unavailable"})


class ScraperError(Exception):
    """Base class: something went wrong getting events from one source page."""

    reason = "error"

    def __init__(self, source: str, url: str, message: str = "") -> None:
        self.source = source
        self.url = url
        self.message = message
        text = f"{source}: {url}"
        super().__init__(f"{text}: {message}" if message else text)


class UnrecognizedPage(ScraperError):
    """The page holds none of the structures the parser knows (embedded JSON, JSON-LD, API)."""

    reason = "changed"

    def __init__(
        self, source: str, url: str, message: str = "page structure not recognised"
    ) -> None:
        super().__init__(source, url, message)


class BlockedPage(ScraperError):
    """The site answered with a block, a captcha or a login wall instead of the page.

    A 429 is the site's rate limit (``reason`` "rate_limited"), with its ``Retry-After``
    in ``retry_after`` seconds when it sent one.
    """

    def __init__(
        self,
        source: str,
        url: str,
        message: str = "blocked",
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.retry_after = retry_after
        self.reason = "rate_limited" if status == 429 else "blocked"
        super().__init__(source, url, message if status is None else f"{message} (HTTP {status})")


class FetchError(ScraperError):
    """The page could not be fetched (network error, timeout, unexpected HTTP status)."""

    def __init__(
        self,
        source: str,
        url: str,
        message: str = "fetch failed",
        *,
        status: int | None = None,
        timed_out: bool = False,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.retry_after = retry_after
        self.reason = _status_reason(status, timed_out)
        super().__init__(source, url, message if status is None else f"{message} (HTTP {status})")


def _status_reason(status: int | None, timed_out: bool = False) -> str:
    if status is None:
        return "timeout" if timed_out else "network"
    if status == 429:
        return "rate_limited"
    if status in (404, 410):
        return "changed"  # the listing's address is gone: the site moved it
    if status in (408, 504):
        return "timeout"
    return "unavailable" if status >= 500 else "error"


class RefusedFeed(ScraperError):
    """A calendar feed the safe fetch would not read (past the size cap, at a private
    address, too many redirects): trying again will not help."""

    reason = "refused"


class MalformedItem(ValueError):
    """One listed event lacks what an event needs; the parser logs it and skips it."""


def reason_of(exc: BaseException) -> str:
    """The reason (one of :data:`REASONS`) of any exception a scrape may meet."""
    if isinstance(exc, ScraperError):
        return exc.reason
    # Names, not imports: httpx's and Playwright's timeouts, without importing either.
    names = {t.__name__ for t in type(exc).__mro__}
    if isinstance(exc, TimeoutError) or names & {"TimeoutError", "TimeoutException"}:
        return "timeout"
    if isinstance(exc, OSError) or names & {"TransportError", "NetworkError"}:
        return "network"
    return "error"


def retry_after_of(exc: BaseException) -> float | None:
    """Seconds the site asked us to wait (``Retry-After``), when it said."""
    return getattr(exc, "retry_after", None)


@dataclass(frozen=True, slots=True)
class Recorded:
    """A failure as recorded in ``ScrapeRun.error``: why, where it stopped, the detail."""

    reason: str
    detail: str = ""
    page: int | None = None  # a partial listing: the page it stopped at


_RECORDED_RE = re.compile(
    r"^(?P<reason>[a-z_]+): (?:stopped at page (?P<page>\d+): )?(?P<d>.*)$", re.S
)
# Rows written before reasons were recorded start with the exception's name.
_LEGACY = {"UnrecognizedPage": "changed", "BlockedPage": "blocked"}


def recorded(reason: str, detail: str, *, page: int | None = None) -> str:
    """The ``ScrapeRun.error`` text: ``"network: stopped at page 2: FetchError: ..."``."""
    stop = f"stopped at page {page}: " if page is not None else ""
    return f"{reason}: {stop}{detail}"[:500]


def parse_recorded(text: str | None) -> Recorded | None:
    """Read back :func:`recorded` text (and older rows, as well as they allow)."""
    if not text:
        return None
    match = _RECORDED_RE.match(text)
    if match and match["reason"] in REASON_TEXT:
        page = int(match["page"]) if match["page"] else None
        return Recorded(match["reason"], match["d"], page)
    name = text.split(":", 1)[0]
    if name == "FetchError":
        status = re.search(r"\(HTTP (\d{3})\)", text)
        reason = _status_reason(int(status[1]) if status else None, "Timeout" in text)
    elif name == "abandoned":
        return Recorded("error", "the worker stopped before the scrape finished")
    else:
        reason = _LEGACY.get(name, "error")
    return Recorded(reason, text)


def explain(reason: str | None, *, page: int | None = None, wait: float | None = None) -> str:
    """The words a person reads for a failure: ``"stopped at page 2: could not reach the
    site"``; ``wait`` is how long a rate-limiting site asked us to hold off."""
    text = REASON_TEXT.get(reason or "error", REASON_TEXT["error"])
    if reason == "rate_limited" and wait:
        text += f" (it asked us to wait {_duration(wait)})"
    return f"stopped at page {page}: {text}" if page is not None else text


def _duration(seconds: float) -> str:
    seconds = max(1, round(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{round(seconds / 60)} min"
    return f"{round(seconds / 3600)} h"
