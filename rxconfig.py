import reflex as rx

from nocturne.settings import settings

config = rx.Config(
    app_name="nocturne",
    db_url=settings.database_url,
    telemetry_enabled=False,
    # Reflex wraps the API in its own CORS middleware (outermost): it must grant what ours does
    cors_allowed_origins=settings.backend_origins,
    show_built_with_reflex=False,
    plugins=[
        rx.plugins.SitemapPlugin(),
    ],
)
