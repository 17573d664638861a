"""Shared base state. Imports nothing else of the app."""

import reflex as rx


class BaseState(rx.State):
    """Root of the app's states; per-browser-session values live here."""
