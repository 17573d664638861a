"""retag_events: classify stored events again when the classifier's rules change.

Events carry the ``rules_version`` they were classified with; this job brings the ones
classified with older rules (every event, with ``everything``) up to
:data:`scrapers.tags.RULES_VERSION`. It changes only the computed columns, so running it
twice, or beside a scrape, is harmless.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from nocturne import crud
from nocturne.db import session_scope

log = logging.getLogger(__name__)


def retag(*, everything: bool = False) -> crud.RetagResult:
    with session_scope() as session:
        return crud.retag_events(session=session, everything=everything)


async def retag_events(ctx: dict[str, Any], everything: bool = False) -> dict[str, int]:
    """Recompute tags, after_dark and age of events classified with older rules."""
    result = await asyncio.to_thread(retag, everything=everything)
    log.info("retag_events: %d checked, %d changed", result.checked, result.changed)
    return {"checked": result.checked, "changed": result.changed}
