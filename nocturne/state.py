"""Shared base state. Imports nothing else of the app."""

import secrets

import reflex as rx


class BaseState(rx.State):
    """Root of the app's states; per-browser-session values live here."""

    # A session cookie (no max_age): one id per browser session, shared by its tabs and
    # kept across reloads, unlike Reflex's per-tab client token. It names the session
    # whose one refresh the server counts.
    refresh_sid: str = rx.Cookie("", name="nocturne_session", same_site="lax")

    def _ensure_refresh_sid(self) -> str:
        """The session id, minted on first use."""
        if not self.refresh_sid:
            self.refresh_sid = secrets.token_urlsafe(18)
        return self.refresh_sid
