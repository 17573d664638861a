"""The Reflex app: builds `app` and registers pages."""

import reflex as rx

from nocturne.pages import index  # noqa: F401  (registers the page)

app = rx.App()
