"""One event card, rendered from the dict `nocturne.cards.event_card` builds."""

from __future__ import annotations

from typing import TypedDict

import reflex as rx

from scrapers.sites import DISPLAY_NAMES

SOURCE_NAMES = DISPLAY_NAMES


class Card(TypedDict):
    id: int
    title: str
    link: str
    sources: list[str]
    credit: str  # "via <feed name>", "via 19hz", or ""
    start_at: str
    local_date: str
    local_time: str
    day_label: str
    venue: str
    address: str
    price_label: str
    is_free: bool
    image_url: str
    status: str
    is_online: bool
    tags: list[str]  # slugs of scrapers.tags.TAGS
    tag_labels: list[str]  # the first three, as shown
    after_dark: bool
    after_dark_why: str  # "club night, 10 PM, at a nightclub"
    age: str  # a key of scrapers.tags.AGES, or ""
    age_label: str  # "21+", "All ages" or ""
    # UI only: streamed in live, with its place in the 120 ms stagger
    fresh: bool
    delay: str


def _source_badge(source: rx.Var[str]) -> rx.Component:
    return rx.el.span(source, class_name="nc-badge nc-badge--" + source)


def _tag(label: rx.Var[str]) -> rx.Component:
    return rx.el.span(label, class_name="nc-tag")


def event_card(card: rx.Var[Card]) -> rx.Component:
    """Scraped text goes in as text children only, so markup in a title stays text."""
    return rx.el.article(
        rx.el.div(
            rx.el.time(card["day_label"], class_name="nc-card-day", date_time=card["start_at"]),
            rx.el.span(
                rx.cond(card["local_time"] != "", card["local_time"], "all day"),
                class_name="nc-card-time",
            ),
            class_name="nc-card-when",
        ),
        rx.el.h3(
            rx.el.a(
                card["title"], href="/event/" + card["id"].to_string(), class_name="nc-card-link"
            ),
            class_name="nc-card-title",
        ),
        rx.cond(card["venue"] != "", rx.el.p(card["venue"], class_name="nc-card-venue")),
        rx.el.div(
            rx.foreach(card["tag_labels"].to(list[str]), _tag),
            rx.cond(card["age_label"], rx.el.span(card["age_label"], class_name="nc-age")),
            class_name="nc-card-tags",
        ),
        rx.cond(
            card["after_dark"] & (card["after_dark_why"] != ""),
            rx.el.p("after dark: " + card["after_dark_why"].to(str), class_name="nc-card-why"),
        ),
        rx.el.div(
            rx.foreach(card["sources"].to(list[str]), _source_badge),
            rx.cond(card["credit"], rx.el.span(card["credit"], class_name="nc-card-credit")),
            rx.cond(
                card["price_label"] != "",
                rx.el.span(
                    card["price_label"],
                    class_name=rx.cond(card["is_free"], "nc-price nc-price--free", "nc-price"),
                ),
            ),
            rx.cond(
                card["status"] != "scheduled",
                rx.el.span(card["status"], class_name="nc-status"),
            ),
            class_name="nc-card-meta",
        ),
        class_name=rx.cond(card["fresh"], "nc-card nc-card--fresh", "nc-card"),
        style={"animation_delay": card["delay"]},
        data_event_id=card["id"],
        data_after_dark=rx.cond(card["after_dark"], "true", "false"),
    )
