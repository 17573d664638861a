"""The channel that carries scrape progress and new events from jobs to open browsers.

With ``REDIS_URL`` set, messages go through Redis pub/sub on
``nocturne:<db>:live:<city_id>``, so a job in any worker process reaches every web
process. Without it (the embedded mode) they fan out in memory to subscribers in this
process, which is where the in-process jobs run too.

Message types: ``scrape_started``, ``source_started``, ``events`` (the new events as cards
of :mod:`nocturne.cards`, published as each page is saved), ``source_retrying`` (with the
``retry_at`` epoch second of its next try), ``source_finished``, ``source_failed``,
``scrape_finished`` (with ``retry_at`` when the whole scrape will be tried again).

The latest status message of a city's scrape and of each of its sources is also kept
(:func:`status`), in Redis beside the channel or in this process's memory, so a tab that
opens while a refresh runs shows what the tabs already watching show.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import weakref
from collections import defaultdict
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis

from nocturne.settings import settings

log = logging.getLogger(__name__)

MESSAGE_TYPES = frozenset(
    {
        "scrape_started",
        "source_started",
        "events",
        "source_retrying",
        "source_finished",
        "source_failed",
        "scrape_finished",
    }
)
# A subscriber that stops reading loses its oldest messages rather than blocking publishers.
_QUEUE_SIZE = 1000
# How long a scrape's last status is kept after its last message (longer than a scrape).
STATUS_TTL_SECONDS = 3600
_STATUS_TYPES = MESSAGE_TYPES - {"events"}
_status: dict[str, dict[str, tuple[float, dict[str, Any]]]] = {}  # embedded mode

_local: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
# redis.asyncio clients belong to the loop that made them; keep one per loop and URL.
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, aioredis.Redis]] = (
    weakref.WeakKeyDictionary()
)


def channel(city_id: str) -> str:
    """The pub/sub channel of a city. Pub/sub ignores Redis db numbers, so the channel
    names the db: two deployments (or test runs) on one Redis server on different dbs
    never hear each other's scrapes."""
    db = _redis_db(settings.redis_url)
    return f"nocturne:{db}:live:{city_id}"


def _redis_db(url: str | None) -> int:
    if not url:
        return 0
    parsed = urlsplit(url)
    if "db=" in (parsed.query or ""):
        return int(dict(p.split("=", 1) for p in parsed.query.split("&") if "=" in p)["db"])
    path = parsed.path.strip("/")
    return int(path) if path.isdigit() else 0


def _client(url: str) -> aioredis.Redis:
    per_loop = _clients.setdefault(asyncio.get_running_loop(), {})
    client = per_loop.get(url)
    if client is None:
        client = per_loop[url] = aioredis.Redis.from_url(url)
    return client


async def close() -> None:
    """Close this loop's Redis clients (on shutdown)."""
    per_loop = _clients.pop(asyncio.get_running_loop(), {})
    for client in per_loop.values():
        await client.aclose()


async def publish(city_id: str, message: dict[str, Any]) -> None:
    """Send one message to everyone watching ``city_id``.

    A live update is a courtesy: a Redis failure is logged and swallowed so it never fails
    the job that published it.
    """
    message = {**message, "city_id": city_id}
    field = _status_field(message)
    if settings.redis_url:
        data = json.dumps(message, default=str)
        try:
            async with _client(settings.redis_url).pipeline(transaction=True) as pipe:
                if field is not None:
                    key = _status_key(city_id)
                    if field == "scrape_started":
                        pipe.delete(key)
                    pipe.hset(key, field, data)
                    pipe.expire(key, STATUS_TTL_SECONDS)
                pipe.publish(channel(city_id), data)
                await pipe.execute()
        except (aioredis.RedisError, OSError) as exc:
            log.warning("live: publish to %s failed: %s", city_id, exc)
        return
    if field is not None:
        now = time.monotonic()
        if field == "scrape_started":
            _status.pop(city_id, None)
        kept = _status.setdefault(city_id, {})
        kept[field] = (now + STATUS_TTL_SECONDS, message)
    for queue in list(_local.get(city_id, ())):
        if queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                queue.get_nowait()
        queue.put_nowait(message)


def _status_key(city_id: str) -> str:
    return f"nocturne:{_redis_db(settings.redis_url)}:live-status:{city_id}"


def _status_field(message: dict[str, Any]) -> str | None:
    """Where a status message is kept: one slot for the scrape's start, one for its end,
    one per source (its latest message); None for what is not status (events)."""
    kind = message.get("type")
    if kind not in _STATUS_TYPES:
        return None
    if kind in ("scrape_started", "scrape_finished"):
        return str(kind)
    return f"source:{message.get('source')}"


def _status_order(message: dict[str, Any]) -> int:
    return {"scrape_started": 0, "scrape_finished": 2}.get(str(message.get("type")), 1)


async def status(city_id: str) -> list[dict[str, Any]]:
    """The kept status of the city's latest scrape, to replay in order (its start, the
    latest message of each source, its end); empty when none is kept.

    Raises what Redis raises: a caller that can do without it catches that.
    """
    if settings.redis_url:
        raw = await _client(settings.redis_url).hgetall(_status_key(city_id))  # type: ignore[misc]  # redis-py#3920
        messages = [json.loads(v) for v in raw.values()]
    else:
        now = time.monotonic()
        kept = _status.get(city_id, {})
        messages = [m for expiry, m in kept.values() if expiry > now]
    return sorted(messages, key=_status_order)


class Subscription:
    """Messages for one city, in order.

    Use as ``async with subscribe(city) as messages: async for m in messages`` (subscribed
    when the block is entered, so nothing published after that is missed), or iterate
    ``subscribe(city)`` directly and call ``aclose()`` (or break out of an ``aclosing``).
    """

    def __init__(self, city_id: str) -> None:
        self.city_id = city_id
        self._queue: asyncio.Queue[dict[str, Any]] | None = None
        self._pubsub: Any = None
        self._redis: aioredis.Redis | None = None
        self._closed = False

    async def open(self) -> Subscription:
        if self._queue is not None or self._pubsub is not None:
            return self
        if settings.redis_url:
            # Its own connection: closing the publishers' clients must not cut a listener.
            self._redis = aioredis.Redis.from_url(settings.redis_url)
            self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            await self._pubsub.subscribe(channel(self.city_id))
        else:
            self._queue = asyncio.Queue(_QUEUE_SIZE)
            _local[self.city_id].add(self._queue)
        return self

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._queue is not None:
            _local[self.city_id].discard(self._queue)
            if not _local[self.city_id]:
                _local.pop(self.city_id, None)
        if self._pubsub is not None:
            with contextlib.suppress(aioredis.RedisError, OSError):
                await self._pubsub.unsubscribe()
            await self._pubsub.aclose()
        if self._redis is not None:
            await self._redis.aclose()

    async def get(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next message, or None after ``timeout`` seconds without one."""
        await self.open()
        if self._queue is not None:
            if timeout == 0:
                try:
                    return self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    return None
            try:
                return await asyncio.wait_for(self._queue.get(), timeout)
            except TimeoutError:
                return None
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not self._closed:
            wait = 1.0 if deadline is None else max(0.0, min(1.0, deadline - loop.time()))
            raw = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=wait)
            if raw is not None and raw.get("type") == "message":
                try:
                    return json.loads(raw["data"])
                except ValueError:
                    log.warning("live: dropped a malformed message on %s", self.city_id)
                    continue
            if deadline is not None and loop.time() >= deadline:
                return None
        return None

    async def pending(self, limit: int) -> list[dict[str, Any]]:
        """The messages (up to ``limit``) that have already arrived, without waiting."""
        messages: list[dict[str, Any]] = []
        while len(messages) < limit and (message := await self.get(timeout=0)) is not None:
            messages.append(message)
        return messages

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self

    async def __anext__(self) -> dict[str, Any]:
        while not self._closed:
            message = await self.get(timeout=None)
            if message is not None:
                return message
        raise StopAsyncIteration

    async def __aenter__(self) -> Subscription:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def subscribe(city_id: str) -> Subscription:
    """Messages for ``city_id``; see :class:`Subscription`."""
    return Subscription(city_id)
