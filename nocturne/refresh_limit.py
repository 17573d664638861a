"""One manual refresh per browser session, enforced on the server.

The browser session is a random id in a session cookie (see ``nocturne.state``). A used id
is remembered in Redis (``SET NX`` with a TTL, shared by every web process) when REDIS_URL
is set, else in this process's memory, which is the only web process in embedded mode.
A table was not worth a migration: the fact is short-lived and losing it on a restart
only gives a session one more refresh, while the API's rate limit still stands.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis

from nocturne.settings import settings

KEY_PREFIX = "nocturne:refresh-used:"
TTL_SECONDS = 7 * 24 * 3600  # longer than any browser session worth honouring

_used: dict[str, float] = {}  # session id -> expiry (monotonic), embedded mode
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = (
    weakref.WeakKeyDictionary()
)


def _client() -> aioredis.Redis:
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = _clients[loop] = aioredis.Redis.from_url(settings.redis_url)  # type: ignore[arg-type]
    return client


def _prune(now: float) -> None:
    for sid in [s for s, expiry in _used.items() if expiry <= now]:
        del _used[sid]


async def claim(session_id: str) -> bool:
    """Mark the session's refresh used; False when it already was (atomic)."""
    if not session_id:
        return False
    if settings.redis_url:
        return bool(await _client().set(KEY_PREFIX + session_id, "1", nx=True, ex=TTL_SECONDS))
    now = time.monotonic()
    _prune(now)
    if session_id in _used:
        return False
    _used[session_id] = now + TTL_SECONDS
    return True


async def release(session_id: str) -> None:
    """Give the refresh back (the scrape could not be started)."""
    if settings.redis_url:
        await _client().delete(KEY_PREFIX + session_id)
    else:
        _used.pop(session_id, None)


async def is_used(session_id: str) -> bool:
    if not session_id:
        return False
    if settings.redis_url:
        return bool(await _client().exists(KEY_PREFIX + session_id))
    return _used.get(session_id, 0) > time.monotonic()


async def comes_back(session_id: str) -> datetime | None:
    """When the session's used refresh is given back (the claim expires); None while the
    refresh is unused."""
    if not session_id:
        return None
    if settings.redis_url:
        ttl = await _client().ttl(KEY_PREFIX + session_id)  # -2: no key, -1: no expiry
        left = float(ttl) if ttl >= 0 else (None if ttl == -2 else float(TTL_SECONDS))
    else:
        expiry = _used.get(session_id, 0.0)
        left = expiry - time.monotonic() if expiry > time.monotonic() else None
    return None if left is None else datetime.now(UTC) + timedelta(seconds=left)
