"""The weekly-digest form: email + city, checked in the browser and on the server."""

from __future__ import annotations

import logging
from typing import Any

import reflex as rx

from nocturne.cities import CITIES, get_city
from nocturne.state import BaseState
from nocturne.subscriptions import SubscriptionError, request_subscription

log = logging.getLogger(__name__)


class SubscribeState(BaseState):
    pending: bool = False
    message: str = ""
    error: str = ""
    # The last accepted (email, city): a second click of the same form changes nothing.
    _last_ok: tuple[str, str] = ("", "")

    @rx.event
    async def handle_submit(self, form: dict[str, Any]) -> None:
        """Validate on the server (the browser's check is only a courtesy) and subscribe."""
        if self.pending:
            return
        email = str(form.get("email") or "").strip()
        city_id = str(form.get("city_id") or "")
        if (email.lower(), city_id) == self._last_ok and self.message:
            return
        self.error, self.message = "", ""
        if not email:
            self.error = "Please enter your email address."
            return
        if get_city(city_id) is None:
            self.error = "Please choose a city."
            return
        self.pending = True
        yield
        try:
            result = await request_subscription(email=email, city_id=city_id)
        except SubscriptionError as exc:
            self.error = str(exc)
        except Exception:
            log.exception("subscribing %s to %s failed", email, city_id)
            self.error = "Something went wrong on our side. Please try again in a minute."
        else:
            self._last_ok = (email.lower(), city_id)
            if result.outcome == "already_active":
                self.message = result.message
            else:
                self.message = "Check your inbox to confirm your subscription."
        finally:
            self.pending = False


def subscribe_form(city_id: rx.Var[str] | str = "") -> rx.Component:
    """The form; ``city_id`` preselects a city (the city page passes its own)."""
    return rx.el.section(
        rx.el.h2("Weekly digest", class_name="nc-h2", id="subscribe-title"),
        rx.el.p(
            "The coming week's underground events in your inbox, Monday mornings.",
            class_name="nc-muted",
        ),
        rx.el.form(
            rx.el.label(
                rx.el.span("Email", class_name="nc-label"),
                rx.el.input(
                    type="email",
                    name="email",
                    required=True,
                    placeholder="you@example.com",
                    auto_complete="email",
                    class_name="nc-input",
                    id="subscribe-email",
                ),
            ),
            rx.el.label(
                rx.el.span("City", class_name="nc-label"),
                rx.el.select(
                    *[rx.el.option(f"{c.name}, {c.state}", value=c.id) for c in CITIES],
                    name="city_id",
                    required=True,
                    default_value=city_id
                    if isinstance(city_id, rx.Var)
                    else (city_id or CITIES[0].id),
                    key=city_id if isinstance(city_id, rx.Var) else "home",
                    class_name="nc-select",
                    id="subscribe-city",
                ),
            ),
            rx.el.button(
                rx.cond(SubscribeState.pending, "Subscribing…", "Subscribe"),
                type="submit",
                disabled=SubscribeState.pending,
                class_name="nc-submit",
                id="subscribe-submit",
            ),
            on_submit=SubscribeState.handle_submit,
            reset_on_submit=False,
            class_name="nc-form",
            aria_labelledby="subscribe-title",
        ),
        rx.el.div(
            rx.cond(
                SubscribeState.message != "",
                rx.el.p(SubscribeState.message, class_name="nc-success", id="subscribe-ok"),
            ),
            rx.cond(
                SubscribeState.error != "",
                rx.el.p(SubscribeState.error, class_name="nc-error", id="subscribe-error"),
            ),
            role="status",
            aria_live="polite",
        ),
        class_name="nc-panel nc-subscribe",
        id="subscribe",
    )
