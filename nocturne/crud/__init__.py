"""Data functions shared by the UI, the API and the workers. Keyword-only, session first.

One module per resource: ``events`` (the upsert and the listings), ``subscriptions``,
``scrape_runs``. Callers import from here (``from nocturne.crud import upsert_events``), so
a function can move between those modules without touching them.
"""

from nocturne.crud.events import (
    ONGOING_WINDOW,
    EventQuery,
    RetagResult,
    UpsertResult,
    as_scraped,
    city_today,
    city_version,
    classify_row,
    counts_per_day,
    event_rows_for_city,
    event_sources,
    events_for_city,
    events_statement,
    has_tag,
    local_day_bounds,
    retag_events,
    tag_counts,
    upcoming_counts,
    upsert_events,
)
from nocturne.crud.scrape_runs import (
    close_abandoned_scrape_runs,
    finish_scrape_run,
    last_scrape_runs,
    start_scrape_run,
)
from nocturne.crud.subscriptions import (
    RESEND_AFTER,
    InvalidEmail,
    SubscribeOutcome,
    active_subscriptions,
    confirm_subscription,
    create_subscription,
    normalize_email,
    unsubscribe,
)

__all__ = [
    "ONGOING_WINDOW",
    "RESEND_AFTER",
    "EventQuery",
    "InvalidEmail",
    "RetagResult",
    "SubscribeOutcome",
    "UpsertResult",
    "active_subscriptions",
    "as_scraped",
    "city_today",
    "city_version",
    "classify_row",
    "close_abandoned_scrape_runs",
    "confirm_subscription",
    "counts_per_day",
    "create_subscription",
    "event_rows_for_city",
    "event_sources",
    "events_for_city",
    "events_statement",
    "finish_scrape_run",
    "has_tag",
    "last_scrape_runs",
    "local_day_bounds",
    "normalize_email",
    "retag_events",
    "start_scrape_run",
    "tag_counts",
    "unsubscribe",
    "upcoming_counts",
    "upsert_events",
]
