"""Why a source failed: one reason per failure, recorded with the run, told in words."""

from __future__ import annotations

import httpx
import pytest

from scrapers.errors import (
    REASON_TEXT,
    BlockedPage,
    FetchError,
    UnrecognizedPage,
    explain,
    parse_recorded,
    reason_of,
    recorded,
    retry_after_of,
)
from workers.jobs.common import is_transient

REQUEST = httpx.Request("GET", "https://www.eventbrite.com/d/il--chicago/all-events/")


@pytest.mark.parametrize(
    ("exc", "reason", "transient"),
    [
        (FetchError("eventbrite", "u", "network error: ConnectError()"), "network", True),
        (FetchError("eventbrite", "u", "network error", timed_out=True), "timeout", True),
        (FetchError("eventbrite", "u", status=503), "unavailable", True),
        (FetchError("eventbrite", "u", status=504), "timeout", True),
        (FetchError("eventbrite", "u", status=429), "rate_limited", True),
        (FetchError("eventbrite", "u", status=404), "changed", False),
        (FetchError("eventbrite", "u", status=400), "error", False),
        (BlockedPage("meetup", "u", "challenge marker 'px-captcha'"), "blocked", False),
        (BlockedPage("meetup", "u", "access denied", status=403), "blocked", False),
        (BlockedPage("meetup", "u", "refused", status=429, retry_after=40), "rate_limited", True),
        (UnrecognizedPage("luma", "u"), "changed", False),
        (httpx.ConnectError("refused", request=REQUEST), "network", True),
        (httpx.ReadTimeout("slow", request=REQUEST), "timeout", True),
        (TimeoutError(), "timeout", True),
        (ConnectionRefusedError(), "network", True),
        (KeyError("start"), "error", False),
    ],
)
def test_every_failure_has_one_reason_and_the_reason_decides_a_retry(exc, reason, transient):
    assert reason_of(exc) == reason
    assert is_transient(exc) is transient


def test_a_rate_limit_carries_the_wait_the_site_asked_for():
    assert retry_after_of(BlockedPage("luma", "u", status=429, retry_after=40.0)) == 40.0
    assert retry_after_of(FetchError("luma", "u", status=503, retry_after=5.0)) == 5.0
    assert retry_after_of(UnrecognizedPage("luma", "u")) is None


def test_the_sentences_a_person_reads():
    assert explain("network") == "could not reach the site"
    assert explain("blocked") == "blocked by the site (a block or captcha page)"
    assert explain("changed") == "the page changed and was not recognised"
    assert explain("timeout") == "the site timed out"
    assert explain("rate_limited", wait=600) == (
        "rate-limited by the site (it asked us to wait 10 min)"
    )
    assert explain("network", page=2) == "stopped at page 2: could not reach the site"
    assert explain(None) == explain("nonsense") == REASON_TEXT["error"]
    # None of them is an exception's name or a bare "failed".
    assert all("Error" not in t and t != "failed" for t in REASON_TEXT.values())


def test_recorded_text_reads_back_its_reason_and_page():
    text = recorded("network", "FetchError: eventbrite: u: network error", page=2)
    assert text == "network: stopped at page 2: FetchError: eventbrite: u: network error"
    back = parse_recorded(text)
    assert back is not None
    assert (back.reason, back.page, back.detail) == (
        "network",
        2,
        "FetchError: eventbrite: u: network error",
    )
    plain = parse_recorded(recorded("blocked", "BlockedPage: meetup: u: blocked"))
    assert plain is not None and (plain.reason, plain.page) == ("blocked", None)
    assert len(recorded("network", "x" * 1000)) == 500
    assert parse_recorded(None) is None and parse_recorded("") is None


@pytest.mark.parametrize(
    ("old", "reason"),
    [
        ("FetchError: eventbrite: u: network error: ConnectError('refused')", "network"),
        ("FetchError: eventbrite: u: unexpected answer (HTTP 503)", "unavailable"),
        ("BlockedPage: meetup: u: access denied (HTTP 403)", "blocked"),
        ("UnrecognizedPage: luma: u: page structure not recognised", "changed"),
        ("abandoned: the worker stopped before the scrape finished", "error"),
        ("KeyError: 'start'", "error"),
    ],
)
def test_rows_recorded_before_reasons_still_read_as_well_as_they_can(old, reason):
    back = parse_recorded(old)
    assert back is not None and back.reason == reason and back.page is None
