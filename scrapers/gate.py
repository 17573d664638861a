"""Per-host politeness: at most ``limit`` requests at once, ``delay`` s between starts.

:class:`HostGate` keeps the count in this process. :class:`RedisHostGate` keeps it in
Redis for the whole deployment, so a second worker shares the site's budget instead of
doubling it: one Lua script reserves the host's next start time (``next = start + delay``)
and one of its slots (a lease that lapses after ``lease`` s, so a dead worker's slot comes
back). The clock is Redis's own (``TIME``): workers on machines whose clocks disagree still
space their starts. A caller sleeps until its reserved start; only when every slot is taken
does it ask again, at most every ``poll`` s, and no more than ``limit`` callers per process
and host ask at all (a local semaphore stands in front).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

from redis.exceptions import RedisError

log = logging.getLogger(__name__)

GATE_PREFIX = "nocturne:gate:"
LATE_ANSWER = 0.02  # s: a gate answer slower than this is stamped again

# KEYS: the host's next-start key and its slot set; ARGV: token, delay, limit, lease (ms).
# Returns {1, wait_ms} with a slot reserved to start in wait_ms, or {0, retry_ms} when
# every slot is taken (retry_ms: until the oldest lease lapses).
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local delay, limit, lease = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2]) - now}
end
local start = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
redis.call('SET', KEYS[1], start + delay, 'PX', start + delay - now + 60000)
redis.call('ZADD', KEYS[2], start + lease, ARGV[1])
redis.call('PEXPIRE', KEYS[2], start + lease - now)
return {1, start - now}
"""

# Stamps a request's actual start ("ms token"), unless another request's start was under
# ``delay`` ago (a sleeper that woke late, its event loop busy, would otherwise crowd the
# next one): then returns the ms still to wait. The same token may stamp its start again,
# later. KEYS: the host's last-start and next-start keys; ARGV: delay (ms), token.
_BEGIN = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local delay = tonumber(ARGV[1])
local last = redis.call('GET', KEYS[1])
if last then
  local at, token = string.match(last, '^(%S+) (%S+)$')
  if token ~= ARGV[2] and now < tonumber(at) + delay then
    return tonumber(at) + delay - now
  end
end
redis.call('SET', KEYS[1], now .. ' ' .. ARGV[2], 'PX', delay + 60000)
if tonumber(redis.call('GET', KEYS[2]) or '0') < now + delay then
  redis.call('SET', KEYS[2], now + delay, 'PX', delay + 60000)
end
return 0
"""


Leaving = Callable[[], Awaitable[None]]


class Gate(Protocol):
    """``async with gate.slot() as leaving:`` holds a slot; awaiting ``leaving()`` just as
    the request goes out (an HTTP client's trace hook) stamps its start again, closer to
    the truth than the slot's entry."""

    def slot(self) -> contextlib.AbstractAsyncContextManager[Leaving]: ...


async def _gone() -> None:
    return None


class HostGate:
    """One process's gate for a host."""

    def __init__(self, limit: int, delay: float) -> None:
        self._sem = asyncio.Semaphore(max(1, limit))
        self._delay = max(0.0, delay)
        self._lock = asyncio.Lock()
        self._next_start = 0.0

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[Leaving]:
        async with self._sem:
            async with self._lock:
                now = time.monotonic()
                start = max(now, self._next_start)
                self._next_start = start + self._delay
            if start > now:
                await asyncio.sleep(start - now)
            yield _gone


class RedisHostGate:
    """The deployment's gate for a host, held in Redis (``redis``: a redis.asyncio client)."""

    def __init__(
        self,
        redis: Any,
        host: str,
        *,
        limit: int,
        delay: float,
        lease: float,
        poll: float = 0.25,
    ) -> None:
        self._redis = redis
        self._keys = [f"{GATE_PREFIX}{host}:next", f"{GATE_PREFIX}{host}:slots"]
        self._last_key = f"{GATE_PREFIX}{host}:last"
        self._limit = max(1, limit)
        self._delay_ms = int(max(0.0, delay) * 1000)
        self._lease_ms = int(max(1.0, lease) * 1000)
        self._poll = poll
        self._local = asyncio.Semaphore(self._limit)
        self._fallback = HostGate(limit, delay)

    async def _reserve(self, token: str) -> float:
        """Seconds until the reserved start (a slot is held from now on)."""
        while True:
            ok, wait_ms = await self._redis.eval(
                _RESERVE, 2, *self._keys, token, self._delay_ms, self._limit, self._lease_ms
            )
            if ok:
                return max(0, int(wait_ms)) / 1000
            # Every slot is out: look again when one may be back, with jitter so the
            # processes waiting on this host do not ask in step.
            pause = min(self._poll, max(0, int(wait_ms)) / 1000)
            await asyncio.sleep(max(0.01, pause) * random.uniform(0.8, 1.2))

    async def _begin(self, token: str) -> None:
        """Wait until this request's start is stamped in Redis, close to when it goes.

        An answer that came back late (this process's event loop busy elsewhere) means the
        stamp may lie well before the request leaves: stamp again, a few times at most.
        """
        key = [self._last_key, self._keys[0]]
        restamps = 0
        while True:
            asked = time.monotonic()
            try:
                wait_ms = int(await self._redis.eval(_BEGIN, 2, *key, self._delay_ms, token))
            except (RedisError, OSError) as exc:  # Redis gone since the reservation
                log.warning("politeness gate: Redis unavailable (%r); going ahead", exc)
                return
            if wait_ms > 0:
                await asyncio.sleep(wait_ms / 1000)
            elif time.monotonic() - asked < LATE_ANSWER or restamps == 3:
                return
            else:
                restamps += 1

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[Leaving]:
        token = uuid.uuid4().hex
        async with self._local:
            try:
                wait = await self._reserve(token)
            except (RedisError, OSError) as exc:
                # Redis away: this process's own gate still spaces its requests.
                log.warning("politeness gate: Redis unavailable (%r); gating in-process", exc)
                async with self._fallback.slot() as leaving:
                    yield leaving
                return
            try:
                if wait > 0:
                    await asyncio.sleep(wait)
                await self._begin(token)
                yield functools.partial(self._begin, token)
            finally:
                # Shielded: a cancelled request must still give its slot back.
                with contextlib.suppress(RedisError, OSError):
                    await asyncio.shield(self._redis.zrem(self._keys[1], token))


__all__ = ["GATE_PREFIX", "Gate", "HostGate", "RedisHostGate"]
