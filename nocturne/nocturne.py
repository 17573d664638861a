"""The Reflex app: builds `app`, registers pages, mounts the JSON API, wires in the jobs."""

import reflex as rx

from nocturne import queue
from nocturne.api import create_api
from nocturne.pages import admin, city, event, index, suggest  # noqa: F401  (each page module registers itself)
from nocturne.settings import settings
from workers.main import embedded_lifespan, in_process

# The one place the core meets workers/: the queue names jobs by the worker's rules and,
# without Redis, runs them in this process, the cron and the first run's fill too, shut
# down with it.
queue.install(in_process)

# In every page's <head>; the files are in assets/ (favicon, touch icons, manifest).
HEAD = [
    rx.el.link(rel="icon", href="/favicon.ico", sizes="32x32"),
    rx.el.link(rel="icon", href="/favicon.svg", type="image/svg+xml"),
    rx.el.link(rel="apple-touch-icon", href="/apple-touch-icon.png"),
    rx.el.link(rel="manifest", href="/manifest.webmanifest"),
    rx.el.meta(name="theme-color", content="#07050d"),
]

app = rx.App(api_transformer=create_api(), stylesheets=["/nocturne.css"], head_components=HEAD)
if settings.embedded:
    app.register_lifespan_task(embedded_lifespan)
