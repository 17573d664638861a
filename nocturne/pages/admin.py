"""The editors' page (/admin/review): the suggested calendars waiting for review, approved
or rejected with a reason, and the cities' calendar feeds, removable.

Signing in takes the ADMIN_TOKEN; it is kept in this tab's server-side state (a backend
variable: never sent to the browser, never in a URL) and checked again on every action.
Without a configured token the page is off. Everything people wrote (note, name, URL) is
shown as text. Decisions go through the same data functions as the admin API, and the
submitter's decision mail is queued the same way. "Read again" queues the preview job and
shows its answer when it arrives on the suggestion's live channel.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Any, TypedDict

import reflex as rx
from sqlmodel import Session

from nocturne import feeds, live, queue
from nocturne import suggestions as data
from nocturne.cities import get_city
from nocturne.components.layout import page
from nocturne.db import get_engine
from nocturne.models import SuggestionStatus
from nocturne.settings import settings
from nocturne.state import BaseState

log = logging.getLogger(__name__)

# How long the page waits for the preview job's answer on the suggestion's live channel.
READ_AGAIN_SECONDS = 45.0


class SuggestionRow(TypedDict):
    id: int
    city: str
    url: str
    name: str
    email: str
    note: str
    preview: str
    created: str


class FeedRow(TypedDict):
    id: int
    city: str
    name: str
    url: str
    kind: str
    status: str


def _token_ok(offered: str) -> bool:
    expected = settings.admin_token
    return bool(expected) and hmac.compare_digest(
        offered.encode("utf-8", "surrogateescape"), str(expected).encode()
    )


def _city(city_id: str) -> str:
    city = get_city(city_id)
    return f"{city.name}, {city.state}" if city else city_id


def _session() -> Session:
    return Session(get_engine(settings.database_url), expire_on_commit=False)


def _load() -> tuple[list[SuggestionRow], int, list[FeedRow]]:
    with _session() as session:
        rows, total = data.list_suggestions(session=session, status=SuggestionStatus.pending)
        pending = [
            SuggestionRow(
                id=int(r.id or 0),
                city=_city(r.city_id),
                url=r.url,
                name=r.name or "",
                email=r.email or "",
                note=r.note or "",
                preview=str((r.preview or {}).get("message", "Not read yet.")),
                created=f"{r.created_at:%Y-%m-%d %H:%M} UTC",
            )
            for r in rows
        ]
        city_feeds = [
            FeedRow(
                id=int(f.id or 0),
                city=_city(f.city_id),
                name=f.name,
                url=f.url,
                kind=f.kind,
                status=str(f.status),
            )
            for f in feeds.list_city_feeds(session=session)
        ]
    return pending, total, city_feeds


def _approve(suggestion_id: int) -> str:
    with _session() as session:
        _, feed = data.approve_suggestion(session=session, suggestion_id=suggestion_id)
        session.commit()
        return f"Approved: now a feed of {_city(feed.city_id)}, credited {feed.name}."


def _reject(suggestion_id: int, reason: str) -> str:
    with _session() as session:
        data.reject_suggestion(session=session, suggestion_id=suggestion_id, reason=reason)
        session.commit()
    return "Rejected; the submitter hears why."


def _remove_feed(feed_id: int) -> str:
    with _session() as session:
        removed = feeds.remove_city_feed(session=session, feed_id=feed_id)
        session.commit()
    return "Feed removed: it is read no more." if removed else "That feed was removed already."


async def _answer(answers: live.Subscription, suggestion_id: int) -> dict[str, Any] | None:
    """The preview the job published for ``suggestion_id``, or None in time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READ_AGAIN_SECONDS
    while (left := deadline - loop.time()) > 0:
        message = await answers.get(timeout=left)
        if message is None:
            return None
        if (message.get("type"), message.get("suggestion_id")) == (
            "suggestion_previewed",
            suggestion_id,
        ):
            preview = message.get("preview")
            return preview if isinstance(preview, dict) else {}
    return None


class AdminState(BaseState):
    _token: str = ""  # backend only: never leaves the server
    signed_in: bool = False
    sign_in_error: str = ""
    pending: list[SuggestionRow] = []
    pending_total: int = 0
    city_feeds: list[FeedRow] = []
    message: str = ""
    error: str = ""
    busy: bool = False
    reading: int = 0  # the suggestion being read again, if any

    async def _refresh(self) -> None:
        self.pending, self.pending_total, self.city_feeds = await asyncio.to_thread(_load)

    @rx.event
    async def load(self) -> None:
        """on_load: the lists again when this tab is signed in (and its token still is)."""
        self.message = self.error = ""
        if self.signed_in and _token_ok(self._token):
            await self._refresh()
        else:
            self._sign_out()

    def _sign_out(self) -> None:
        self._token, self.signed_in = "", False
        self.pending, self.pending_total, self.city_feeds = [], 0, []

    @rx.event
    async def sign_in(self, form: dict[str, Any]) -> None:
        offered = str(form.get("token") or "")
        if not settings.admin_token:
            self.sign_in_error = "The admin page is off: no ADMIN_TOKEN is configured."
            return
        if not _token_ok(offered):
            self.sign_in_error = "That token is not the admin token."
            return
        self._token, self.signed_in, self.sign_in_error = offered, True, ""
        await self._refresh()

    @rx.event
    def sign_out(self) -> None:
        self._sign_out()
        self.message = self.error = ""

    async def _act(self, work: Any, *args: Any, mail_for: int | None = None) -> None:
        if not _token_ok(self._token):
            self._sign_out()
            self.sign_in_error = "Please sign in again."
            return
        self.message = self.error = ""
        self.busy = True
        try:
            self.message = await asyncio.to_thread(work, *args)
        except data.Refused as refused:
            self.error = refused.message
        except Exception:
            log.exception("admin action %s failed", getattr(work, "__name__", work))
            self.error = "That did not work; please try again."
        else:
            if mail_for is not None:
                await data.queue_decision_mail(suggestion_id=mail_for)
        finally:
            self.busy = False
        await self._refresh()

    @rx.event
    async def approve(self, suggestion_id: int) -> None:
        await self._act(_approve, int(suggestion_id), mail_for=int(suggestion_id))

    @rx.event
    async def reject(self, form: dict[str, Any]) -> None:
        suggestion_id = int(str(form.get("suggestion_id") or "0") or 0)
        await self._act(
            _reject, suggestion_id, str(form.get("reason") or ""), mail_for=suggestion_id
        )

    @rx.event(background=True)
    async def read_again(self, suggestion_id: int) -> None:
        """Queue a fresh preview (the job the admin API queues) and show its answer."""
        suggestion_id = int(suggestion_id)
        async with self:
            if not _token_ok(self._token):
                self._sign_out()
                self.sign_in_error = "Please sign in again."
                return
            self.message, self.error = "", ""
            self.reading = suggestion_id
        message, error = "", ""
        try:
            # Subscribed before the job is queued: its answer cannot slip past.
            async with live.subscribe(data.live_channel(suggestion_id)) as answers:
                job = await queue.enqueue(
                    "preview_suggestion",
                    suggestion_id=suggestion_id,
                    _job_id=f"suggestion-preview:{suggestion_id}",
                )
                if job is None:
                    error = "A reading of it is queued already, or was done a moment ago."
                else:
                    answer = await _answer(answers, suggestion_id)
                    if answer is None:
                        error = "No answer yet; it is being read. Reload in a minute."
                    else:
                        message = f"Read again: {answer.get('message', '')}"
        except Exception:
            log.exception("reading suggestion %s again failed", suggestion_id)
            error = "That did not work; please try again."
        async with self:
            self.message, self.error, self.reading = message, error, 0
            await self._refresh()

    @rx.event
    async def remove_feed(self, feed_id: int) -> None:
        await self._act(_remove_feed, int(feed_id))


def _sign_in() -> rx.Component:
    return rx.el.form(
        rx.el.label(
            rx.el.span("Admin token", class_name="nc-label"),
            rx.el.input(
                name="token",
                type="password",
                required=True,
                auto_complete="current-password",
                class_name="nc-input",
                id="admin-token",
            ),
        ),
        rx.el.button("Sign in", type="submit", class_name="nc-submit", id="admin-sign-in"),
        rx.cond(
            AdminState.sign_in_error != "",
            rx.el.p(AdminState.sign_in_error, class_name="nc-error", id="admin-sign-in-error"),
        ),
        on_submit=AdminState.sign_in,
        reset_on_submit=True,
        class_name="nc-form nc-admin-sign-in",
    )


def _suggestion(row: rx.Var[SuggestionRow]) -> rx.Component:
    return rx.el.li(
        rx.el.p(
            rx.el.strong(rx.cond(row["name"] != "", row["name"], "(no name)")),
            " · ",
            row["city"],
            class_name="nc-admin-title",
        ),
        rx.el.p(row["url"], class_name="nc-admin-url"),
        rx.el.p(row["preview"], class_name="nc-admin-preview"),
        rx.el.p(
            "From ",
            rx.cond(row["email"] != "", row["email"], "an anonymous visitor"),
            " on ",
            row["created"],
            class_name="nc-muted",
        ),
        rx.cond(row["note"] != "", rx.el.p("Note: ", row["note"], class_name="nc-admin-note")),
        rx.el.div(
            rx.el.button(
                "Approve",
                type="button",
                on_click=AdminState.approve(row["id"]),
                disabled=AdminState.busy,
                class_name="nc-submit nc-admin-approve",
            ),
            rx.el.button(
                rx.cond(AdminState.reading == row["id"], "Reading…", "Read again"),
                type="button",
                on_click=AdminState.read_again(row["id"]),
                disabled=AdminState.busy | (AdminState.reading != 0),
                class_name="nc-button-link nc-admin-read",
            ),
            rx.el.form(
                rx.el.input(type="hidden", name="suggestion_id", value=row["id"].to_string()),
                rx.el.input(
                    name="reason",
                    required=True,
                    max_length=1000,
                    placeholder="Reason (the submitter reads it)",
                    aria_label="Reason for rejecting",
                    class_name="nc-input nc-admin-reason",
                ),
                rx.el.button(
                    "Reject",
                    type="submit",
                    disabled=AdminState.busy,
                    class_name="nc-button-link nc-admin-reject",
                ),
                on_submit=AdminState.reject,
                reset_on_submit=True,
                class_name="nc-admin-reject-form",
            ),
            class_name="nc-admin-actions",
        ),
        class_name="nc-admin-item",
        data_suggestion_id=row["id"],
    )


def _feed(row: rx.Var[FeedRow]) -> rx.Component:
    return rx.el.li(
        rx.el.p(rx.el.strong(row["name"]), " · ", row["city"], " · ", row["kind"]),
        rx.el.p(row["url"], class_name="nc-admin-url"),
        rx.el.button(
            "Remove",
            type="button",
            on_click=AdminState.remove_feed(row["id"]),
            disabled=AdminState.busy,
            class_name="nc-button-link nc-admin-remove",
        ),
        class_name="nc-admin-item nc-admin-feed",
    )


def _signed_in() -> rx.Component:
    return rx.el.div(
        rx.el.div(
            rx.el.button(
                "Sign out", type="button", on_click=AdminState.sign_out, class_name="nc-back"
            ),
            class_name="nc-admin-bar",
        ),
        rx.el.div(
            rx.cond(
                AdminState.message != "",
                rx.el.p(AdminState.message, class_name="nc-success", id="admin-message"),
            ),
            rx.cond(
                AdminState.error != "",
                rx.el.p(AdminState.error, class_name="nc-error", id="admin-error"),
            ),
            role="status",
            aria_live="polite",
        ),
        rx.el.h2(
            "Suggested calendars waiting (",
            AdminState.pending_total.to_string(),
            ")",
            class_name="nc-h2",
        ),
        rx.cond(
            AdminState.pending.length() > 0,
            rx.el.ul(
                rx.foreach(AdminState.pending, _suggestion),
                class_name="nc-admin-list",
                id="admin-pending",
            ),
            rx.el.p("Nothing waits for review.", class_name="nc-muted", id="admin-none"),
        ),
        rx.el.h2("Cities' calendar feeds", class_name="nc-h2"),
        rx.el.ul(
            rx.foreach(AdminState.city_feeds, _feed), class_name="nc-admin-list", id="admin-feeds"
        ),
    )


@rx.page(route="/admin/review", title="Nocturne — review", on_load=AdminState.load)
def admin() -> rx.Component:
    return page(
        rx.el.section(
            rx.el.h1("Review", class_name="nc-h1"),
            rx.cond(AdminState.signed_in, _signed_in(), _sign_in()),
            class_name="nc-panel nc-admin",
        )
    )
