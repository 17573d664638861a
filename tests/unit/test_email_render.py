"""Rendering, message building and signed links: pure functions, no network."""

from __future__ import annotations

import email
import email.policy
from datetime import date, timedelta

import pytest

from nocturne import tokens
from workers.email.render import (
    UNSUBSCRIBE_PLACEHOLDER,
    digest_days,
    render_confirmation,
    render_digest,
    time_label,
    with_unsubscribe,
)
from workers.email.send import OutgoingEmail, build_message, make_message_id

WEEK = date(2030, 5, 6)  # a Monday
XSS = "<img src=x onerror=alert(1)>"


def _card(title: str, day: int, time: str = "20:00", **kw: object) -> dict[str, object]:
    return {
        "title": title,
        "link": kw.pop("link", f"https://example.com/{title.replace(' ', '-')}"),
        "local_date": (WEEK + timedelta(days=day)).isoformat(),
        "local_time": time,
        "venue": kw.pop("venue", "The Basement"),
        "price_label": kw.pop("price_label", "$10"),
        **kw,
    }


def test_digest_groups_by_local_day_in_order_and_skips_other_weeks():
    cards = [
        _card("Late show", 4, "23:30"),
        _card("Early show", 4, "18:00"),
        _card("Monday jam", 0, ""),
        _card("Next week", 7),
        _card("Last week", -1),
    ]
    days = digest_days(cards, week_start=WEEK)
    assert [d.label for d in days] == ["Monday, May 6", "Friday, May 10"]
    assert [e["title"] for e in days[1].events] == ["Early show", "Late show"]
    assert days[0].events[0]["time_label"] == "All day"


@pytest.mark.parametrize(
    ("raw", "label"), [("00:05", "12:05 AM"), ("12:00", "12:00 PM"), ("20:30", "8:30 PM")]
)
def test_time_label(raw, label):
    assert time_label(raw) == label


def test_digest_html_escapes_event_text_and_drops_unsafe_links():
    cards = [
        _card(XSS, 1, venue="Tom & Jerry's <b>", link="javascript:alert(1)"),
        _card("Fine", 2, link="https://example.com/e?a=1&b=2", price_label="$10\u2013$25"),
    ]
    out = render_digest(
        city_name="Chicago", week_start=WEEK, cards=cards, city_url="https://n.example/?city=x"
    )
    assert XSS not in out.html
    assert "&lt;img src=x onerror=alert(1)&gt;" in out.html
    assert "Tom &amp; Jerry&#39;s &lt;b&gt;" in out.html
    assert "javascript:" not in out.html and "javascript:" not in out.text
    assert 'href="https://example.com/e?a=1&amp;b=2"' in out.html
    # The text part is plain text: shown as written, never interpreted.
    assert XSS in out.text and "https://example.com/e?a=1&b=2" in out.text
    assert "$10\u2013$25" in out.text and "TUESDAY, MAY 7" in out.text and "8:00 PM" in out.text
    assert out.subject == "This week in Chicago: 2 events"
    assert UNSUBSCRIBE_PLACEHOLDER in out.html and UNSUBSCRIBE_PLACEHOLDER in out.text


def test_digest_is_responsive_inline_styled_and_caps_long_weeks():
    cards = [_card(f"Show {i:03d}", i % 7, f"{10 + i % 12:02d}:00") for i in range(75)]
    out = render_digest(
        city_name="Austin",
        week_start=WEEK,
        cards=cards,
        city_url="https://n.example",
        max_events=60,
    )
    assert 'name="viewport"' in out.html and "@media (max-width: 620px)" in out.html
    assert 'style="' in out.html and "prefers-color-scheme: dark" in out.html
    assert out.html.count("Show ") == 60 + 1  # 60 events + the preheader's first title
    assert "And 15 more on the site." in out.html and "And 15 more on the site." in out.text


def test_with_unsubscribe_fills_each_subscribers_link():
    out = render_digest(
        city_name="Denver", week_start=WEEK, cards=[_card("A", 0)], city_url="https://n.example"
    )
    mine = with_unsubscribe(out, "https://n.example/unsubscribe?token=abc&x=1")
    assert UNSUBSCRIBE_PLACEHOLDER not in mine.html + mine.text
    assert 'href="https://n.example/unsubscribe?token=abc&amp;x=1"' in mine.html
    assert "Unsubscribe: https://n.example/unsubscribe?token=abc&x=1" in mine.text


def test_confirmation_email_carries_the_link_in_both_parts():
    out = render_confirmation(
        email="a@example.com",
        city_name="Portland",
        confirm_url="https://n.example/confirm?token=T1",
        unsubscribe_url="https://n.example/unsubscribe?token=U1",
    )
    assert out.subject == "Confirm your Nocturne digest for Portland"
    for part in (out.html, out.text):
        assert "https://n.example/confirm?token=T1" in part
        assert "https://n.example/unsubscribe?token=U1" in part


def test_message_has_both_parts_and_one_click_headers():
    mail = OutgoingEmail(
        to="a@example.com",
        subject="Hi",
        html="<p>hello</p>",
        text="hello",
        kind="digest",
        message_id=make_message_id("digest.2030-05-06.7", sender="Nocturne <d@nocturne.test>"),
        unsubscribe_url="https://n.example/unsubscribe?token=U",
    )
    raw = build_message(mail, sender="Nocturne <d@nocturne.test>").raw
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Message-ID"] == "<digest.2030-05-06.7@nocturne.test>"
    assert msg["List-Unsubscribe"] == "<https://n.example/unsubscribe?token=U>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg.get_body(("plain",)).get_content().strip() == "hello"


class _Sub:
    def __init__(self, id: int, token_version: int) -> None:
        self.id, self.token_version = id, token_version


def test_tokens_round_trip_and_refuse_the_wrong_purpose_or_tampering():
    token = tokens.sign_subscription(_Sub(42, 3), "confirm")
    assert tokens.verify(token, "confirm") == (42, 3)
    with pytest.raises(tokens.BadToken):
        tokens.verify(token, "unsubscribe")
    with pytest.raises(tokens.BadToken):
        tokens.verify(token[:-2] + ("AA" if token[-2:] != "AA" else "BB"), "confirm")


def test_confirm_tokens_expire_but_unsubscribe_tokens_do_not(monkeypatch):
    import itsdangerous.timed

    confirm = tokens.sign_subscription(_Sub(1, 1), "confirm")
    unsub = tokens.sign_subscription(_Sub(1, 1), "unsubscribe")
    later = itsdangerous.timed.time.time() + tokens.CONFIRM_MAX_AGE.total_seconds() + 60
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: later)
    with pytest.raises(tokens.BadToken, match="expired"):
        tokens.verify(confirm, "confirm")
    assert tokens.verify(unsub, "unsubscribe") == (1, 1)


def test_digest_leads_with_after_dark_events_and_lists_the_rest_briefly():
    cards = [
        _card("Warehouse rave", 4, "23:00", after_dark=True, tag_labels=["Music", "Club night"]),
        _card("Career fair", 1, "10:00", after_dark=False, tag_labels=["Business & career"]),
        *(_card(f"Webinar {i}", 2, "12:00", after_dark=False) for i in range(20)),
    ]
    out = render_digest(
        city_name="Chicago", week_start=WEEK, cards=cards, city_url="https://n.example"
    )
    assert out.subject == "This week in Chicago: 1 event after dark"
    assert out.preheader.endswith("Warehouse rave and more")
    for part in (out.html, out.text):
        assert part.index("Warehouse rave") < part.index("Career fair")
        assert "Music, Club night" in part
        assert "21 more at the end" in part and "and 6 more on the site" in part
    assert "FRIDAY, MAY 10" in out.text and "TUESDAY, MAY 7" not in out.text  # no day heading
    assert "- Tue 10:00 AM  Career fair  https://example.com/Career-fair" in out.text
    assert out.html.count("Webinar ") == 14  # 15 brief lines: the fair and 14 webinars
