"""Add your calendar (/suggest?city=...): a person suggests an iCalendar feed or an events
page for a city, and reads at once what Nocturne found in it, or why it was not taken.

The same data functions as ``POST /suggestions`` (no HTTP to ourselves), the same rate
limits (per address, per email; the same keys, so the API and the page count together)
and the same hidden field for form-filling bots. The fetch runs in a background event:
the page says "Checking your calendar…" and stays live meanwhile.
"""

from __future__ import annotations

import logging
import math
from typing import Any, TypedDict

import reflex as rx
from starlette.requests import Request

from nocturne import suggestions as data
from nocturne.api.ratelimit import client_ip, hit, parse_rate
from nocturne.cities import CITIES, get_city
from nocturne.components.layout import page
from nocturne.settings import settings
from nocturne.state import BaseState

log = logging.getLogger(__name__)


class NextEvent(TypedDict):
    title: str
    when: str


async def _limited(key: str) -> int:
    """Seconds to wait before another suggestion under ``key`` (0: go ahead)."""
    if not settings.rate_limit_enabled:
        return 0
    wait = await hit(key, parse_rate(settings.rate_limit_suggest))
    return max(1, math.ceil(wait)) if wait > 0 else 0


def _address(peer: str, headers: dict[str, str]) -> str:
    """The visitor's address by the API's rule (the peer, or behind a trusted proxy the
    last untrusted X-Forwarded-For hop), so the page and the API count under one key."""
    forwarded = headers.get("x-forwarded-for", "")
    scope = {
        "type": "http",
        "client": (peer or "unknown", 0),
        "headers": [(b"x-forwarded-for", forwarded.encode("latin-1", "replace"))],
    }
    return client_ip(Request(scope))


def _too_many(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    later = f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"Too many suggestions from here just now. Please try again in {later}."


class SuggestState(BaseState):
    city_id: str = ""
    checking: bool = False
    outcome: str = ""  # what the calendar holds, or why it was not taken
    outcome_kind: str = ""  # ok | waiting | refused
    thanks: str = ""
    next_events: list[NextEvent] = []

    @rx.event
    def load(self) -> None:
        """on_load: the city from ?city= (when it is one of ours), a clean slate."""
        wanted = str(self.router.url.query_parameters.get("city", ""))
        self.city_id = wanted if get_city(wanted) is not None else (self.city_id or "")
        if not self.checking:
            self.outcome, self.outcome_kind, self.thanks, self.next_events = "", "", "", []

    def _refused(self, message: str) -> None:
        self.outcome, self.outcome_kind, self.thanks, self.next_events = message, "refused", "", []

    @rx.event(background=True)
    async def submit(self, form: dict[str, Any]) -> None:
        """Check, read the calendar once, store it: in the background, the page live."""
        async with self:
            if self.checking:
                return
            self.checking = True
            self.outcome, self.outcome_kind, self.thanks, self.next_events = "", "", "", []
            headers = dict(self.router.headers.raw_headers)
            peer = headers.get("asgi-scope-client") or self.router.session.client_ip
            address = _address(peer, headers)
        city_id = str(form.get("city_id") or "")
        try:
            message, kind, thanks, shown = await self._suggest(form, address)
        except Exception:
            log.exception("suggesting a calendar for %s failed", city_id)
            message, kind, thanks, shown = (
                "Something went wrong on our side. Please try again in a minute.",
                "refused",
                "",
                [],
            )
        async with self:
            self.city_id = city_id if get_city(city_id) else self.city_id
            self.outcome, self.outcome_kind, self.thanks = message, kind, thanks
            self.next_events = shown
            self.checking = False

    async def _suggest(
        self, form: dict[str, Any], address: str
    ) -> tuple[str, str, str, list[NextEvent]]:
        """(the outcome in words, its kind, the thanks line, the next events shown)."""
        if wait := await _limited(f"suggest:{address}"):
            return _too_many(wait), "refused", "", []
        if str(form.get("website") or ""):
            log.info("suggestion dropped: honeypot field filled")
            return "Thank you: your suggestion waits for review.", "ok", "", []
        try:
            suggestion = data.validate_suggestion(
                city_id=str(form.get("city_id") or ""),
                url=str(form.get("url") or "").strip(),
                name=str(form.get("name") or ""),
                email=str(form.get("email") or ""),
                note=str(form.get("note") or ""),
            )
            if suggestion.email and (
                wait := await _limited(data.email_limit_key(suggestion.email))
            ):
                return _too_many(wait), "refused", "", []
            submitted = await data.submit_suggestion(
                suggestion=suggestion, submitter=data.submitter_hash(address)
            )
        except data.Refused as refused:
            log.info("suggestion refused on the page: %s", refused.reason)
            return refused.message, "refused", "", []
        preview = submitted.row.preview or {}
        shown = [
            NextEvent(title=str(e.get("title", "")), when=str(e.get("when", "")))
            for e in preview.get("next", [])
        ]
        if submitted.waiting:
            return str(preview.get("message", "")), "waiting", data.WAITING, shown
        return str(preview.get("message", "")), "ok", data.THANKS, shown


def _field(label: str, control: rx.Component, hint: str = "") -> rx.Component:
    return rx.el.label(
        rx.el.span(label, class_name="nc-label"),
        control,
        rx.el.span(hint, class_name="nc-hint nc-muted") if hint else rx.fragment(),
        class_name="nc-suggest-field",
    )


def _outcome() -> rx.Component:
    return rx.el.div(
        rx.cond(
            SuggestState.checking,
            rx.el.p(
                "Checking your calendar… (it is read once, at most 15 seconds)",
                class_name="nc-muted nc-suggest-checking",
                id="suggest-checking",
            ),
        ),
        rx.cond(
            SuggestState.outcome != "",
            rx.el.div(
                rx.el.p(
                    SuggestState.outcome,
                    class_name=rx.cond(
                        SuggestState.outcome_kind == "refused", "nc-error", "nc-success"
                    ),
                    id="suggest-outcome",
                ),
                rx.el.ul(
                    rx.foreach(
                        SuggestState.next_events,
                        lambda e: rx.el.li(
                            rx.el.span(e["when"], class_name="nc-suggest-when"),
                            " — ",
                            rx.el.span(e["title"]),
                        ),
                    ),
                    class_name="nc-suggest-next",
                    id="suggest-next",
                ),
                rx.cond(
                    SuggestState.thanks != "",
                    rx.el.p(SuggestState.thanks, class_name="nc-muted", id="suggest-thanks"),
                ),
                class_name="nc-suggest-outcome",
                data_kind=SuggestState.outcome_kind,
            ),
        ),
        role="status",
        aria_live="polite",
    )


def _form() -> rx.Component:
    return rx.el.form(
        _field(
            "Calendar address",
            rx.el.input(
                name="url",
                type="text",
                input_mode="url",
                required=True,
                max_length=2000,
                placeholder="webcal://… or https://…/events.ics",
                class_name="nc-input",
                id="suggest-url",
            ),
            "An iCalendar feed (.ics, webcal://) or a page listing events with schema.org data.",
        ),
        _field(
            "City",
            rx.el.select(
                *[rx.el.option(f"{c.name}, {c.state}", value=c.id) for c in CITIES],
                name="city_id",
                required=True,
                default_value=rx.cond(
                    SuggestState.city_id != "", SuggestState.city_id, CITIES[0].id
                ),
                key=SuggestState.city_id,
                class_name="nc-select",
                id="suggest-city",
            ),
        ),
        _field(
            "Its name (optional)",
            rx.el.input(
                name="name",
                max_length=200,
                class_name="nc-input",
                id="suggest-name",
                placeholder="Elsewhere Brooklyn",
            ),
            "Events from it are credited by this name.",
        ),
        _field(
            "Your email (optional)",
            rx.el.input(
                name="email",
                type="email",
                max_length=320,
                auto_complete="email",
                class_name="nc-input",
                id="suggest-email",
            ),
            "Only to tell you once whether it was added.",
        ),
        _field(
            "Note (optional)",
            rx.el.textarea(
                name="note", max_length=2000, rows=3, class_name="nc-input", id="suggest-note"
            ),
        ),
        # For form-filling bots: hidden from people and from screen readers.
        rx.el.div(
            rx.el.label(
                "Website",
                rx.el.input(
                    name="website", tab_index=-1, auto_complete="off", id="suggest-website"
                ),
            ),
            class_name="nc-hp",
            aria_hidden="true",
        ),
        rx.el.button(
            rx.cond(SuggestState.checking, "Checking…", "Suggest this calendar"),
            type="submit",
            disabled=SuggestState.checking,
            class_name="nc-submit",
            id="suggest-submit",
        ),
        on_submit=SuggestState.submit,
        reset_on_submit=False,
        class_name="nc-form nc-suggest-form",
        aria_labelledby="suggest-title",
    )


def suggest_link(city_id: rx.Var[str]) -> rx.Component:
    """The city page's way here, its city chosen."""
    return rx.cond(
        city_id != "",  # not before the city is known: the link would lose it
        rx.el.p(
            rx.el.a("Add your calendar", href="/suggest?city=" + city_id, id="city-suggest"),
            " — know a venue's or a collective's calendar we miss?",
            class_name="nc-muted nc-suggest-link",
        ),
    )


@rx.page(route="/suggest", title="Nocturne — add your calendar", on_load=SuggestState.load)
def suggest() -> rx.Component:
    return page(
        rx.el.section(
            rx.el.a("← All cities", href="/", class_name="nc-back"),
            rx.el.h1("Add your calendar", class_name="nc-h1", id="suggest-title"),
            rx.el.p(
                "Run a venue, a collective or a night? Give us its calendar: we read it once "
                "now to show what we found, and once an editor approves it, its events are "
                "listed with the city's, credited to you.",
                class_name="nc-muted",
            ),
            _form(),
            _outcome(),
            class_name="nc-panel nc-suggest",
        )
    )
