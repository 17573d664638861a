"""The page shell: header, main landmark, footer."""

from __future__ import annotations

import reflex as rx

from scrapers.sites import GATHERED_FROM


def header() -> rx.Component:
    return rx.el.header(
        rx.el.a(
            rx.el.span("NOCTURNE", class_name="nc-logo"),
            href="/",
            class_name="nc-logo-link",
            aria_label="Nocturne home",
        ),
        rx.el.nav(
            rx.el.a("Cities", href="/#cities", class_name="nc-nav-link"),
            rx.el.a("Digest", href="/#subscribe", class_name="nc-nav-link"),
            rx.el.a("API", href="/api/docs", class_name="nc-nav-link"),
            aria_label="Main",
            class_name="nc-nav",
        ),
        class_name="nc-header",
    )


def page(*children: rx.Component) -> rx.Component:
    """A full page: skip link, header, the main content, footer."""
    return rx.fragment(
        rx.el.a("Skip to content", href="#main", class_name="nc-skip"),
        header(),
        rx.el.main(*children, id="main", class_name="nc-main"),
        rx.el.footer(
            rx.el.p(f"Events gathered from {GATHERED_FROM}. Times are local to each city."),
            rx.el.p(
                rx.el.a("Add your calendar", href="/suggest", id="footer-suggest"),
                " — a venue's or a collective's events, listed here.",
            ),
            class_name="nc-footer",
        ),
    )
