"""Job ids: the rule that keeps a job from running twice at once.

arq refuses a job whose id is already queued or running (or whose result is kept), and so
does the in-process queue; these defaults are what every enqueue uses when the caller
names no id.
"""

from __future__ import annotations

from typing import Any

# One at a time, whatever their arguments: a second run while one is queued is a waste.
SINGLETON_JOBS = frozenset({"scrape_all", "sync_shared", "cleanup_old_events"})


def default_job_id(job: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
    """``scrape:<city_id>`` for a city's scrape, the job's name for a singleton, else None."""
    if job == "scrape_city":
        city_id = kwargs.get("city_id", args[0] if args else None)
        return f"scrape:{city_id}" if city_id else None
    if job in SINGLETON_JOBS:
        return job
    return None
