"""The Reflex app: builds `app`, registers pages and mounts the JSON API."""

import reflex as rx

from nocturne.api import create_api
from nocturne.pages import city, index  # noqa: F401  (each page module registers itself)

app = rx.App(api_transformer=create_api(), stylesheets=["/nocturne.css"])
