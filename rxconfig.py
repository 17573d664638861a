import reflex as rx

from nocturne.settings import settings

config = rx.Config(
    app_name="nocturne",
    db_url=settings.database_url,
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[
        rx.plugins.SitemapPlugin(),
    ],
)
