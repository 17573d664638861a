"""Add your calendar, end to end: a person suggests the site server's iCalendar feed for a
city and reads what was found; an editor signs in on the review page and approves it; the
city's next refresh credits its events to the calendar's name; the submitter's mail says so."""

from __future__ import annotations

import email
import re
import time
from email.message import Message
from email.policy import default as default_policy
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from reflex.config import get_config
from sqlmodel import select

from nocturne import suggestions as data
from nocturne.api.ratelimit import memory_store
from nocturne.db import session_scope
from nocturne.models import CityFeed, FeedSuggestion
from nocturne.settings import settings
from tests.e2e.conftest import ADMIN_TOKEN, ARTIFACTS
from tests.support.site_server import CHICAGO_FEEDS, ICS, Route, SiteServer

pytestmark = pytest.mark.browser

CITY = "wi--milwaukee"  # never seeded, and no other browser test refreshes it
NAME = "Ember Room nights"
SUBMITTER = "promoter@example.org"
SLOW_FEED = "/calendar/ember-room/slow.ics"  # answers after a pause: the wait is seen


def _outbox_mail(to: str, timeout: float = 30.0) -> Message:
    folder = Path(settings.email_outbox_dir)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(folder.glob("*-suggestion-*.eml")):
            msg = email.message_from_bytes(path.read_bytes(), policy=default_policy)
            if msg["To"] == to:
                return msg
        time.sleep(0.25)
    raise AssertionError(f"no suggestion mail to {to} in {folder}")


def test_a_suggested_calendar_is_previewed_approved_and_credited(
    browser: Browser, base_url: str, site_server: SiteServer
) -> None:
    site_server.add(Route(SLOW_FEED, Path("ical/venue_feed.ics"), content_type=ICS, delay=1.5))
    feed_url = site_server.base_url + SLOW_FEED

    # The city page and the footer lead to the form, the city chosen.
    person = browser.new_context()
    page = person.new_page()
    page.goto(f"{base_url}/city/{CITY}")
    expect(page.locator("#footer-suggest")).to_have_attribute("href", "/suggest")
    expect(page.locator("#city-suggest")).to_have_attribute("href", f"/suggest?city={CITY}")
    page.locator("#city-suggest").click()
    expect(page).to_have_url(re.compile(rf"/suggest\?city={CITY}$"))
    expect(page.locator("#suggest-city")).to_have_value(CITY)

    # A page that is no calendar is refused in words, and nothing is stored.
    page.locator("#suggest-url").fill(site_server.base_url + "/eventlisting_CHI.php")
    page.locator("#suggest-submit").click()
    expect(page.locator("#suggest-outcome")).to_have_text(data.NOT_A_CALENDAR, timeout=20_000)
    expect(page.locator("#suggest-outcome")).to_have_class(re.compile(r"\bnc-error\b"))

    # The feed: "Checking your calendar…" while it is read, then what it holds. (Not as
    # webcal://, which means HTTPS: this server speaks plain HTTP.)
    page.locator("#suggest-url").fill(feed_url)
    page.locator("#suggest-name").fill(NAME)
    page.locator("#suggest-email").fill(SUBMITTER)
    page.locator("#suggest-note").fill("<b>Late shows</b> every Friday")
    page.locator("#suggest-submit").click()
    expect(page.locator("#suggest-checking")).to_be_visible()
    expect(page.locator("#suggest-submit")).to_be_disabled()
    outcome = page.locator("#suggest-outcome")
    expect(outcome).to_have_text(re.compile(r"^Found 5 events, \d+ coming"), timeout=20_000)
    expect(page.locator("#suggest-checking")).to_have_count(0)
    expect(page.locator("#suggest-thanks")).to_have_text(data.THANKS)
    with session_scope() as session:
        row = session.exec(select(FeedSuggestion).where(FeedSuggestion.city_id == CITY)).one()
        stored, suggestion_id = dict(row.preview), row.id
        # Stored once, with the counts the page shows.
        assert (row.url, row.email, row.name) == (feed_url, SUBMITTER, NAME)
    assert outcome.inner_text() == stored["message"]
    coming = int(re.findall(r"(\d+) coming", stored["message"])[0])
    assert stored["found"] == 5 and 0 < coming == stored["coming"]
    expect(page.locator("#suggest-next li")).to_have_count(min(coming, data.NEXT_SHOWN))
    expect(page.locator("#suggest-next li").first).to_contain_text(stored["next"][0]["title"])
    page.screenshot(path=str(ARTIFACTS / "suggest-preview.png"))

    # The review page: a wrong token is refused; the right one is never put in the URL.
    admin = browser.new_context().new_page()
    admin.goto(f"{base_url}/admin/review")
    admin.locator("#admin-token").fill("not-the-token")
    admin.locator("#admin-sign-in").click()
    expect(admin.locator("#admin-sign-in-error")).to_have_text("That token is not the admin token.")
    admin.locator("#admin-token").fill(ADMIN_TOKEN)
    admin.locator("#admin-sign-in").click()
    item = admin.locator(f'#admin-pending [data-suggestion-id="{suggestion_id}"]')
    expect(item).to_contain_text(NAME)
    expect(item).to_contain_text(stored["message"])
    expect(item).to_contain_text(SUBMITTER)
    expect(item.locator(".nc-admin-note")).to_have_text("Note: <b>Late shows</b> every Friday")
    assert ADMIN_TOKEN not in admin.url and ADMIN_TOKEN not in admin.content()
    item.locator(".nc-admin-approve").click()
    expect(admin.locator("#admin-message")).to_have_text(
        f"Approved: now a feed of Milwaukee, WI, credited {NAME}."
    )
    expect(item).to_have_count(0)
    expect(admin.locator("#admin-feeds")).to_contain_text(NAME)
    with session_scope() as session:
        feed = session.exec(select(CityFeed).where(CityFeed.city_id == CITY)).one()
        assert (feed.name, feed.url, feed.kind) == (NAME, feed_url, "ical")

    # Suggested again: the page names the feed that reads it already.
    page.locator("#suggest-submit").click()
    expect(outcome).to_have_text(
        re.compile(rf"^{NAME} is already one of this city's calendars"), timeout=20_000
    )

    # The city's next refresh reads the new feed and credits its events to its name.
    city = browser.new_context().new_page()
    city.goto(f"{base_url}/city/{CITY}?show=all")
    city.locator("#refresh-button").click()
    credit = city.locator(".nc-card-credit", has_text=f"via {NAME}")
    expect(credit.first).to_be_visible(timeout=60_000)
    city.screenshot(path=str(ARTIFACTS / "suggest-credited.png"))

    # The submitter's one mail says the calendar is listed.
    mail = _outbox_mail(SUBMITTER)
    assert mail["Subject"] == f"{NAME} is now listed on Nocturne Milwaukee"
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None and f"/city/{CITY}" in body.get_content()
    with session_scope() as session:
        decided = session.get(FeedSuggestion, suggestion_id)
        assert decided is not None and decided.notified_at is not None


def _suggest(page: Page, base_url: str, city_id: str, url: str, email_to: str = "") -> None:
    page.goto(f"{base_url}/suggest?city={city_id}")
    expect(page.locator("#suggest-city")).to_have_value(city_id)
    page.locator("#suggest-url").fill(url)
    if email_to:
        page.locator("#suggest-email").fill(email_to)
    page.locator("#suggest-submit").click()


def test_a_suggestion_waits_once_is_rejected_with_a_reason_and_rate_limited(
    browser: Browser, base_url: str, site_server: SiteServer
) -> None:
    city_id, url = "mn--minneapolis", site_server.base_url + CHICAGO_FEEDS[1][1]
    first = browser.new_context().new_page()
    _suggest(first, base_url, city_id, url, "rejectee@example.org")
    outcome = first.locator("#suggest-outcome")
    expect(outcome).to_have_text(re.compile(r"^Found \d+ events?, \d+ coming"), timeout=20_000)

    # Someone else suggests the same page: it waits already, nothing new is stored.
    second = browser.new_context().new_page()
    _suggest(second, base_url, city_id, url)
    expect(second.locator("#suggest-thanks")).to_have_text(data.WAITING, timeout=20_000)
    expect(second.locator("#suggest-outcome")).to_have_text(outcome.inner_text())
    with session_scope() as session:
        rows = session.exec(select(FeedSuggestion).where(FeedSuggestion.city_id == city_id)).all()
        assert len(rows) == 1
        suggestion_id = rows[0].id

    # Rejected on the review page: a reason is needed, and the submitter reads it.
    admin = browser.new_context().new_page()
    admin.goto(f"{base_url}/admin/review")
    admin.locator("#admin-token").fill(ADMIN_TOKEN)
    admin.locator("#admin-sign-in").click()
    item = admin.locator(f'#admin-pending [data-suggestion-id="{suggestion_id}"]')
    expect(item).to_contain_text("(no name)")
    expect(item).to_contain_text("rejectee@example.org")
    # Read again: the preview job's answer arrives over the suggestion's live channel.
    site_server.reset_counts()
    item.locator(".nc-admin-read").click()
    expect(admin.locator("#admin-message")).to_have_text(
        f"Read again: {outcome.inner_text()}", timeout=30_000
    )
    assert site_server.count(CHICAGO_FEEDS[1][1]) == 1
    item.locator(".nc-admin-reason").fill("That venue is in Chicago, not Minneapolis.")
    item.locator(".nc-admin-reject").click()
    expect(admin.locator("#admin-message")).to_have_text("Rejected; the submitter hears why.")
    expect(item).to_have_count(0)
    mail = _outbox_mail("rejectee@example.org")
    assert mail["Subject"] == "Your calendar suggestion for Minneapolis"
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None and "That venue is in Chicago, not Minneapolis." in body.get_content()
    # Signed out: the sign-in form again, the lists gone.
    admin.get_by_role("button", name="Sign out").click()
    expect(admin.locator("#admin-token")).to_be_visible()
    expect(admin.locator("#admin-feeds")).to_have_count(0)

    # The API's limit, on the page too: one suggestion an hour from here, then words.
    saved = settings.rate_limit_enabled, settings.rate_limit_suggest
    settings.rate_limit_enabled, settings.rate_limit_suggest = True, "1/hour"
    memory_store.clear()
    try:
        third = browser.new_context().new_page()
        _suggest(third, base_url, city_id, site_server.base_url + "/nothing-here.ics")
        expect(third.locator("#suggest-outcome")).to_have_class(
            re.compile(r"\bnc-error\b"), timeout=20_000
        )
        third.locator("#suggest-submit").click()
        expect(third.locator("#suggest-outcome")).to_have_text(
            re.compile(r"^Too many suggestions from here just now\. Please try again in \d+ min")
        )
        # One count for the page and the API: the API refuses this address too.
        answer = httpx.post(
            f"{get_config().api_url.rstrip('/')}/suggestions",
            json={"city_id": city_id, "url": site_server.base_url + "/other.ics"},
            timeout=10,
        )
        assert answer.status_code == 429, answer.text
    finally:
        settings.rate_limit_enabled, settings.rate_limit_suggest = saved
        memory_store.clear()
