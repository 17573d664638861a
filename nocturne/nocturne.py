"""The Reflex app: builds `app`, registers pages and mounts the JSON API."""

import reflex as rx

from nocturne import queue
from nocturne.api import create_api
from nocturne.pages import city, index  # noqa: F401  (each page module registers itself)
from nocturne.settings import settings

app = rx.App(api_transformer=create_api(), stylesheets=["/nocturne.css"])
if settings.embedded:
    # No Redis: the cron and the jobs run in this process, shut down with it.
    app.register_lifespan_task(queue.embedded_lifespan)
