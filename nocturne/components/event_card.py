"""One event card, rendered from the dict `nocturne.cards.event_card` builds."""

from __future__ import annotations

from typing import TypedDict

import reflex as rx

from scrapers.sites import DISPLAY_NAMES

SOURCE_NAMES = DISPLAY_NAMES


class SourceLink(TypedDict):
    href: str
    name: str  # the site's name ("Eventbrite"), else the bare host


class Card(TypedDict):
    id: int
    title: str
    link: str
    links: list[str]
    source_links: list[SourceLink]  # every listing of a merged event
    sources: list[str]
    credit: str  # "via <feed name>", "via 19hz", or ""
    start_at: str
    local_date: str
    local_time: str
    day_label: str
    when: str  # "Sat Dec 12 · 10 PM"
    night: str  # YYYY-MM-DD of the night it belongs to (a 1 AM start: the evening before)
    excerpt: str  # the description on one line, clamped to two in the browser
    location: str  # "Venue, address"
    fallback: str  # a CSS gradient for a card with no image
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


class DayGroup(TypedDict):
    night: str
    heading: str  # "Tonight, Mon Dec 7 · 5 PM-6 AM", "Tomorrow, Tue Dec 8", "Saturday, Dec 12"
    cards: list[Card]


def _source_link(link: rx.Var[SourceLink]) -> rx.Component:
    return rx.el.a(
        link["name"],
        href=link["href"],
        target="_blank",
        rel="noopener noreferrer nofollow",
        class_name="nc-badge nc-source-link",
    )


# An image that fails to load steps aside for the gradient beneath it.
_HIDE_BROKEN = "((e) => { e.currentTarget.style.visibility = 'hidden'; })"


def _picture(card: rx.Var[Card]) -> rx.Component:
    """The source's image in a box of fixed aspect ratio over the title's gradient: the
    card keeps its size whether the image arrives, late, or never."""
    return rx.el.div(
        rx.cond(
            card["image_url"] != "",
            rx.el.img(
                src=card["image_url"],
                alt=card["title"],
                loading="lazy",
                decoding="async",
                class_name="nc-card-img",
                custom_attrs={"onError": rx.Var(_HIDE_BROKEN)},
            ),
        ),
        class_name=rx.cond(
            card["image_url"] != "", "nc-card-pic", "nc-card-pic nc-card-pic--fallback"
        ),
        style={"background_image": card["fallback"]},
    )


def _tag(label: rx.Var[str]) -> rx.Component:
    return rx.el.span(label, class_name="nc-tag")


def event_card(card: rx.Var[Card]) -> rx.Component:
    """Scraped text goes in as text children only, so markup in a title stays text."""
    ended = (card["status"] == "cancelled") | (card["status"] == "gone")
    return rx.el.article(
        _picture(card),
        rx.el.div(
            rx.el.div(
                rx.el.time(card["when"], class_name="nc-card-day", date_time=card["start_at"]),
                rx.cond(
                    card["price_label"] != "",
                    rx.el.span(
                        card["price_label"],
                        class_name=rx.cond(card["is_free"], "nc-price nc-price--free", "nc-price"),
                    ),
                ),
                class_name="nc-card-when",
            ),
            rx.el.h3(
                rx.el.a(
                    card["title"],
                    href="/event/" + card["id"].to_string(),
                    class_name="nc-card-link",
                ),
                class_name="nc-card-title",
            ),
            rx.cond(card["location"] != "", rx.el.p(card["location"], class_name="nc-card-venue")),
            rx.cond(card["excerpt"] != "", rx.el.p(card["excerpt"], class_name="nc-card-excerpt")),
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
                rx.foreach(card["source_links"].to(list[SourceLink]), _source_link),
                rx.cond(card["credit"], rx.el.span(card["credit"], class_name="nc-card-credit")),
                rx.cond(
                    card["status"] != "scheduled",
                    rx.el.span(card["status"], class_name="nc-status"),
                ),
                class_name="nc-card-meta",
            ),
            class_name="nc-card-body",
        ),
        class_name=rx.cond(card["fresh"], "nc-card nc-card--fresh", "nc-card")
        + rx.cond(ended, " nc-card--ended", ""),
        style={"animation_delay": card["delay"]},
        # Keyed by the event: a card inserted above keeps the others' nodes (and the
        # browser's scroll anchor) on the same events.
        key=card["id"],
        data_event_id=card["id"],
        data_status=card["status"],
        data_after_dark=rx.cond(card["after_dark"], "true", "false"),
    )


def day_section(group: rx.Var[DayGroup]) -> rx.Component:
    """One day's heading and its cards."""
    return rx.el.section(
        rx.el.h2(group["heading"], class_name="nc-day-heading"),
        rx.el.div(rx.foreach(group["cards"].to(list[Card]), event_card), class_name="nc-cards"),
        key=group["night"],
        class_name="nc-day",
        data_night=group["night"],
    )
