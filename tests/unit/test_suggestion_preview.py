"""What a suggested calendar's preview says, and the decision mail: pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nocturne.suggestions import NOT_A_CALENDAR, detect_feed_kind, summarize
from scrapers.event import ScrapedEvent
from workers.email.render import render_suggestion_decision

NOW = datetime(2026, 12, 7, 18, 0, tzinfo=UTC)


def _event(title: str, start: datetime, **fields: object) -> ScrapedEvent:
    return ScrapedEvent(title=title, link=f"https://x.test/{title}", source="ical", start=start,
                        **fields)  # type: ignore[arg-type]  # fmt: skip


def test_the_preview_counts_and_names_the_next_events_in_the_city_zone() -> None:
    # Sat Dec 12 04:00 UTC is Fri Dec 11, 10 PM in Chicago.
    events = [
        _event("Last month", NOW - timedelta(days=30)),
        _event("Later", datetime(2026, 12, 19, 2, 30, tzinfo=UTC)),
        _event("Rooftop techno", datetime(2026, 12, 12, 4, 0, tzinfo=UTC)),
        _event("Running now", NOW - timedelta(hours=1), end=NOW + timedelta(hours=2)),
    ]
    preview = summarize(events, kind="ical", timezone="America/Chicago", now=NOW)
    assert preview["message"] == "Found 4 events, 3 coming; next: Mon Dec 7 · 11 AM — Running now"
    assert [(n["when"], n["title"]) for n in preview["next"]] == [
        ("Mon Dec 7 · 11 AM", "Running now"),
        ("Fri Dec 11 · 10 PM", "Rooftop techno"),
        ("Fri Dec 18 · 8:30 PM", "Later"),
    ]
    assert (preview["state"], preview["found"], preview["coming"]) == ("ok", 4, 3)


def test_no_events_and_only_past_events_say_so() -> None:
    empty = summarize([], kind="ical", timezone="America/Chicago", now=NOW)
    assert (empty["state"], empty["message"]) == (
        "empty", "The calendar was read, but it holds no events.",
    )  # fmt: skip
    past = summarize([_event("Old", NOW - timedelta(days=3))], kind="ical",
                     timezone="America/Chicago", now=NOW)  # fmt: skip
    assert past["message"] == "Found 1 event, 0 coming; none of them is still to come"
    assert past["state"] == "empty"


def test_feed_kinds_are_detected_by_content() -> None:
    assert detect_feed_kind("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n") == "ical"
    page = ('<html><script type="application/ld+json">{"@type": "MusicEvent", "name": "x",'
            ' "startDate": "2026-12-12T22:00"}</script></html>')  # fmt: skip
    assert detect_feed_kind(page) == "schema_org"
    assert detect_feed_kind("<html><p>About us</p></html>") is None
    assert "iCalendar" in NOT_A_CALENDAR


def test_the_decision_mail_escapes_the_reason_and_names_the_calendar() -> None:
    approved = render_suggestion_decision(
        approved=True, city_name="Chicago", url="https://e.test/c.ics", name="Elsewhere",
        reason=None, city_url="https://nocturne.test/city/il--chicago", unsubscribe_url="",
    )  # fmt: skip
    assert approved.subject == "Elsewhere is now listed on Nocturne Chicago"
    assert (
        "via Elsewhere" in approved.text
        and "https://nocturne.test/city/il--chicago" in approved.html
    )
    assert "Unsubscribe" not in approved.html and "Unsubscribe" not in approved.text
    rejected = render_suggestion_decision(
        approved=False, city_name="Chicago", url="https://e.test/c.ics", name="e.test",
        reason="<script>x</script> private list", city_url="javascript:alert(1)",
        unsubscribe_url="https://nocturne.test/unsubscribe?token=t",
    )  # fmt: skip
    assert rejected.subject == "Your calendar suggestion for Chicago"
    assert "&lt;script&gt;x&lt;/script&gt; private list" in rejected.html
    assert "<script>x</script> private list" in rejected.text
    assert "javascript:" not in rejected.html
    assert "https://nocturne.test/unsubscribe?token=t" in rejected.html
