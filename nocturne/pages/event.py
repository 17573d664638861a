"""An event's own page (/event/<id>): everything about it, links out, and the same night."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, TypedDict

import reflex as rx

from nocturne.components.layout import page
from nocturne.crud.events import get_event_page, same_night
from nocturne.db import session_scope
from nocturne.event_details import Segment, event_details, same_night_item
from nocturne.state import BaseState

log = logging.getLogger(__name__)


class SourceLink(TypedDict):
    href: str
    name: str


class NightItem(TypedDict):
    id: int
    title: str
    time: str
    venue: str
    status: str
    href: str


# Web Share where the browser has it, else the address copied (the clipboard API, or the
# old copy command on a page that is not a secure context). Resolves to what to tell.
SHARE_JS = """
(async () => {
  const url = window.location.href;
  if (navigator.share) {
    try { await navigator.share({title: document.title, url}); return "Shared"; }
    catch (e) { if (e && e.name === "AbortError") return ""; }
  }
  try { await navigator.clipboard.writeText(url); return "Link copied"; } catch (e) {}
  const area = document.createElement("textarea");
  area.value = url;
  document.body.appendChild(area);
  area.select();
  const copied = document.execCommand("copy");
  area.remove();
  return copied ? "Link copied" : "Copy this page's address to share it";
})()
"""


def _load(event_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    with session_scope() as session:
        event = get_event_page(session=session, event_id=event_id)
        if event is None:
            return None
        night = [same_night_item(e) for e in same_night(session=session, event=event)]
        return event_details(event), night


class EventState(BaseState):
    loading: bool = True
    not_found: bool = False
    error: str = ""
    shown_id: int = 0
    title: str = ""
    city_id: str = ""
    city_name: str = ""
    when: str = ""
    start_at: str = ""
    venue: str = ""
    address: str = ""
    map_link: str = ""
    price: str = ""
    is_free: bool = False
    status: str = "scheduled"
    description: list[Segment] = []
    links: list[SourceLink] = []
    credit: str = ""
    tags: list[str] = []
    after_dark: bool = False
    after_dark_reasons: list[str] = []
    age_label: str = ""
    ics_link: str = ""
    google_link: str = ""
    night: list[NightItem] = []
    share_note: str = ""

    @rx.var
    def page_title(self) -> str:
        if self.not_found:
            return "Event not found · Nocturne"
        return f"{self.title} · Nocturne" if self.title else "Nocturne — event"

    @rx.var
    def reasons_text(self) -> str:
        return ", ".join(self.after_dark_reasons)

    def _route_id(self) -> int:
        path = str(self.router.url.path or "").rstrip("/")
        tail = path.rsplit("/", 1)[-1] if path.startswith("/event/") else ""
        return int(tail) if tail.isdigit() and len(tail) <= 10 else 0

    @rx.event
    async def load_event(self) -> None:
        """on_load: the event named in the URL and the city's other events that night."""
        event_id = self._route_id()
        self.share_note, self.error = "", ""
        if event_id != self.shown_id:
            self.title = ""
        self.loading = True
        try:
            found = await asyncio.to_thread(_load, event_id) if event_id else None
        except Exception:
            log.exception("loading event %s failed", event_id)
            self.error = "This event could not be loaded just now. Please try again in a moment."
            self.loading = False
            return
        self.loading = False
        if found is None:
            self.shown_id, self.not_found, self.title = 0, True, ""
            return
        details, night = found
        self.not_found = False
        self.shown_id = details["id"]
        for name in (
            "title", "city_id", "city_name", "when", "start_at", "venue", "address", "map_link",
            "price", "is_free", "status", "description", "links", "credit", "tags",
            "after_dark", "after_dark_reasons", "age_label", "ics_link", "google_link",
        ):  # fmt: skip
            setattr(self, name, details[name])
        self.night = night  # type: ignore[assignment]

    @rx.event
    def handle_share(self) -> Any:
        return rx.call_script(SHARE_JS, callback=EventState.set_share_note)

    @rx.event
    def set_share_note(self, note: str) -> None:
        self.share_note = note or ""


def _segment(segment: rx.Var[Segment]) -> rx.Component:
    """A run of the description: plain text, or a link that passes no standing on."""
    return rx.cond(
        segment["href"] != "",
        rx.el.a(
            segment["text"],
            href=segment["href"],
            rel="nofollow noopener noreferrer",
            target="_blank",
            class_name="nc-ev-desc-link",
        ),
        rx.el.span(segment["text"]),
    )


def _source_link(link: rx.Var[SourceLink]) -> rx.Component:
    return rx.el.li(
        rx.el.a(
            link["name"],
            href=link["href"],
            target="_blank",
            rel="noopener noreferrer",
            class_name="nc-ev-source",
        )
    )


def _tag(label: rx.Var[str]) -> rx.Component:
    return rx.el.span(label, class_name="nc-tag")


def _night_item(item: rx.Var[NightItem]) -> rx.Component:
    return rx.el.li(
        rx.el.span(item["time"], class_name="nc-night-time"),
        rx.el.span(
            rx.el.a(item["title"], href=item["href"], class_name="nc-night-link"),
            rx.cond(
                item["status"] != "scheduled",
                rx.el.span(item["status"], class_name="nc-status nc-night-status"),
            ),
        ),
        rx.cond(item["venue"] != "", rx.el.span(item["venue"], class_name="nc-night-venue")),
        class_name="nc-night-item",
        data_night_id=item["id"],
    )


def _not_found() -> rx.Component:
    return rx.el.section(
        rx.el.h1("Event not found", class_name="nc-h1"),
        rx.el.p(
            "We have no event at this address: it may have been taken down by its organiser "
            "or never existed."
        ),
        rx.el.a("← All cities", href="/", class_name="nc-button-link"),
        class_name="nc-empty nc-404",
        id="event-not-found",
    )


def _place() -> rx.Component:
    return rx.cond(
        (EventState.venue != "") | (EventState.address != ""),
        rx.el.div(
            rx.cond(EventState.venue != "", rx.el.p(EventState.venue, class_name="nc-ev-venue")),
            rx.cond(
                (EventState.address != "") & (EventState.address != EventState.venue),
                rx.el.p(EventState.address, class_name="nc-ev-address"),
            ),
            rx.cond(
                EventState.map_link != "",
                rx.el.a(
                    "Open in OpenStreetMap",
                    href=EventState.map_link,
                    target="_blank",
                    rel="noopener noreferrer",
                    class_name="nc-ev-map",
                    id="event-map-link",
                ),
            ),
            class_name="nc-ev-place",
        ),
    )


def _actions() -> rx.Component:
    return rx.el.div(
        rx.el.a(
            "Add to calendar (.ics)",
            href=EventState.ics_link,
            download="",
            class_name="nc-button nc-ev-action",
            id="event-ics",
        ),
        rx.el.a(
            "Google Calendar",
            href=EventState.google_link,
            target="_blank",
            rel="noopener noreferrer",
            class_name="nc-button nc-ev-action",
            id="event-gcal",
        ),
        rx.el.button(
            "Share",
            type="button",
            on_click=EventState.handle_share,
            class_name="nc-button nc-ev-action",
            id="event-share",
        ),
        rx.el.span(EventState.share_note, class_name="nc-ev-share-note", role="status"),
        class_name="nc-ev-actions",
    )


def _details() -> rx.Component:
    return rx.el.article(
        rx.el.a(
            "← " + EventState.city_name,
            href="/city/" + EventState.city_id,
            class_name="nc-back",
        ),
        rx.el.h1(EventState.title, class_name="nc-h1 nc-ev-title"),
        rx.cond(
            EventState.status != "scheduled",
            rx.el.p(EventState.status, class_name="nc-status nc-ev-status"),
        ),
        rx.el.p(
            rx.el.time(EventState.when, date_time=EventState.start_at),
            class_name="nc-ev-when",
            id="event-when",
        ),
        _place(),
        rx.el.p(
            EventState.price,
            class_name=rx.cond(EventState.is_free, "nc-price nc-price--free", "nc-price"),
            id="event-price",
        ),
        rx.el.div(
            rx.foreach(EventState.tags, _tag),
            rx.cond(
                EventState.age_label != "", rx.el.span(EventState.age_label, class_name="nc-age")
            ),
            class_name="nc-card-tags nc-ev-tags",
        ),
        rx.cond(
            EventState.after_dark & (EventState.reasons_text != ""),
            rx.el.p("After dark: " + EventState.reasons_text, class_name="nc-card-why"),
        ),
        _actions(),
        rx.cond(
            EventState.description.length() > 0,  # type: ignore[attr-defined]
            rx.el.div(
                rx.foreach(EventState.description, _segment),
                class_name="nc-ev-desc",
                id="event-description",
            ),
        ),
        rx.el.section(
            rx.el.h2("Listed on", class_name="nc-h2"),
            rx.el.ul(rx.foreach(EventState.links, _source_link), class_name="nc-ev-sources"),
            rx.cond(
                EventState.credit != "", rx.el.p(EventState.credit, class_name="nc-card-credit")
            ),
            id="event-sources",
        ),
        class_name="nc-ev",
        data_event_page=EventState.shown_id,
    )


def _same_night() -> rx.Component:
    return rx.el.aside(
        rx.el.h2("Same night in ", EventState.city_name, class_name="nc-h2"),
        rx.cond(
            EventState.night.length() > 0,  # type: ignore[attr-defined]
            rx.el.ul(rx.foreach(EventState.night, _night_item), class_name="nc-night"),
            rx.el.p("Nothing else listed that night.", class_name="nc-muted"),
        ),
        class_name="nc-ev-side",
        id="same-night",
    )


@rx.page(route="/event/[event_id]", title=EventState.page_title, on_load=EventState.load_event)
def event() -> rx.Component:
    return page(
        rx.cond(
            EventState.error != "",
            rx.el.p(EventState.error, class_name="nc-error", role="alert"),
            rx.cond(
                EventState.not_found,
                _not_found(),
                rx.cond(
                    EventState.loading & (EventState.title == ""),
                    rx.el.div(class_name="nc-card nc-skeleton", aria_busy="true"),
                    rx.el.div(_details(), _same_night(), class_name="nc-ev-grid"),
                ),
            ),
        )
    )
