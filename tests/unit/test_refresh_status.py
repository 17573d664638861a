"""The city page's refresh status: each source's line and the closing summary."""

from __future__ import annotations

from nocturne.pages.city import _retry, scrape_summary, source_status


def test_a_source_line_says_what_happened_in_words():
    assert source_status({"type": "source_started"}) == ("searching…", "running")
    assert source_status({"type": "source_started", "attempt": 2}) == (
        "searching again…",
        "running",
    )
    assert source_status({"type": "source_retrying", "reason": "network", "retry_at": 1.0}) == (
        "could not reach the site",
        "retrying",
    )
    assert source_status({"type": "source_failed", "reason": "blocked"}) == (
        "blocked by the site (a block or captcha page)",
        "failed",
    )
    assert source_status({"type": "source_failed", "reason": "rate_limited", "wait": 3600}) == (
        "rate-limited by the site (it asked us to wait 60 min)",
        "failed",
    )
    # An error with no reason (an older worker's message) still reads as words.
    assert source_status({"type": "source_failed", "error": "KeyError: 'x'"})[0] == (
        "an unexpected error on our side"
    )


def test_partial_is_not_failed():
    message = {
        "type": "source_finished",
        "new": 26,
        "found": 26,
        "reason": "network",
        "stopped_at": 2,
    }
    assert source_status(message) == (
        "26 new · stopped at page 2: could not reach the site",
        "partial",
    )
    assert source_status({"type": "source_finished", "new": 3, "found": 9}) == (
        "3 new · 9 found",
        "done",
    )


def test_the_summary_of_a_refresh_where_every_source_failed_is_an_error():
    assert scrape_summary(
        {"new": 0, "failed_sources": ["eventbrite", "meetup"], "sources": 2, "reasons": ["network"]}
    ) == ("Every source failed: could not reach the site", True)
    assert scrape_summary(
        {"new": 0, "failed_sources": ["a", "b"], "sources": 2, "reasons": ["network", "blocked"]}
    ) == ("Every source failed: see each source above", True)
    assert scrape_summary({"new": 4, "failed_sources": ["luma"], "sources": 3}) == (
        "Found 4 new events · 1 source failed",
        False,
    )
    assert scrape_summary({"new": 1, "failed_sources": [], "sources": 3}) == (
        "Found 1 new event",
        False,
    )


def test_a_retry_deadline_becomes_seconds_left_and_a_key_for_the_countdown():
    assert _retry(None) == (0, "")
    assert _retry(1000.0, now=975.2) == (25, "1000.000")
    assert _retry(1000.0, now=1010.0) == (0, "1000.000")  # due: "retrying now…"
