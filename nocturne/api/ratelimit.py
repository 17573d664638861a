"""Rate limits: GCRA on Redis when configured (shared by every app process), in memory else.

A limit reads "N/period" ("10/second", "5/minute", "1/10minutes"): N requests may come
at once, then one more every period/N. GCRA keeps one timestamp per key, so the Redis
version is a single atomic script and the refusal says exactly when to come back.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
import re
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache

import redis.asyncio as aioredis
from fastapi import HTTPException, Request

from nocturne.settings import settings

log = logging.getLogger(__name__)

KEY_PREFIX = "nocturne:rl:"
_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60}
_UNITS |= {"h": 3600, "hour": 3600, "d": 86400, "day": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*\.?\d*)\s*([a-z]+?)s?\s*$")

# KEYS[1] = key; ARGV = emission interval, burst window (both in ms). Redis' own clock,
# so app processes with skewed clocks agree.
_GCRA_LUA = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - window
if allow_at > now then
  return allow_at - now
end
redis.call('SET', KEYS[1], new_tat, 'PX', new_tat - now)
return 0
"""


@dataclass(frozen=True, slots=True)
class Rate:
    count: int
    period: float  # seconds

    @property
    def interval(self) -> float:
        return self.period / self.count


@lru_cache(maxsize=64)
def parse_rate(text: str) -> Rate:
    """ "5/minute" -> Rate(5, 60.0); ValueError names the bad spelling."""
    match = _RATE.match(text.lower())
    if not match or match.group(3) not in _UNITS or int(match.group(1)) < 1:
        raise ValueError(f"bad rate {text!r}: expected N/period such as 10/second or 1/10minutes")
    count, multiple, unit = match.groups()
    return Rate(int(count), float(multiple or 1) * _UNITS[unit])


class MemoryStore:
    """GCRA in this process (embedded mode): one timestamp per key."""

    def __init__(self) -> None:
        self._tat: dict[str, float] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, rate: Rate, now: float | None = None) -> float:
        """0 when allowed, else the seconds to wait."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tat = max(self._tat.get(key, now), now)
            new_tat = tat + rate.interval
            allow_at = new_tat - rate.period
            if allow_at > now:
                return allow_at - now
            self._tat[key] = new_tat
            if len(self._tat) > 100_000:  # drop keys whose window has passed
                self._tat = {k: v for k, v in self._tat.items() if v > now}
            return 0.0

    def clear(self) -> None:
        with self._lock:
            self._tat.clear()


memory_store = MemoryStore()
# redis.asyncio clients belong to the loop that made them.
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, aioredis.Redis]] = (
    weakref.WeakKeyDictionary()
)


def _redis(url: str) -> aioredis.Redis:
    per_loop = _clients.setdefault(asyncio.get_running_loop(), {})
    if url not in per_loop:
        per_loop[url] = aioredis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    return per_loop[url]


async def close() -> None:
    """Close this loop's Redis clients."""
    for client in _clients.pop(asyncio.get_running_loop(), {}).values():
        await client.aclose()


async def hit(key: str, rate: Rate) -> float:
    """Count one request against ``key``: 0 when allowed, else seconds until allowed.

    A Redis outage lets requests through (and warns): a limiter must not take the
    site down with it.
    """
    if not settings.redis_url:
        return memory_store.hit(key, rate)
    try:
        wait_ms = await _redis(settings.redis_url).eval(  # type: ignore[misc]  # redis-py#3920: X | Awaitable[X]
            _GCRA_LUA,
            1,
            KEY_PREFIX + key,
            max(1, round(rate.interval * 1000)),
            max(1, round(rate.period * 1000)),
        )
    except (aioredis.RedisError, OSError) as exc:
        log.warning("rate limit store unreachable, allowing request: %s", exc)
        return 0.0
    return int(wait_ms) / 1000


_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=32)
def _networks(proxies: tuple[str, ...]) -> tuple[_Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _trusted(ip: str) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(addr in net for net in _networks(tuple(settings.trusted_proxies)))


def client_ip(request: Request) -> str:
    """The caller's address: the peer, or behind a trusted proxy the last untrusted hop."""
    peer = request.client.host if request.client else "unknown"
    if not _trusted(peer):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop):
            return hop[:64]
    return hops[0][:64] if hops else peer


def limit(
    scope: str, rate_setting: str, *, per_city: bool = False
) -> Callable[[Request], Awaitable[None]]:
    """A FastAPI dependency allowing ``settings.<rate_setting>`` per client (and city)."""

    async def dependency(request: Request) -> None:
        if not settings.rate_limit_enabled:
            return
        rate = parse_rate(getattr(settings, rate_setting))
        key = f"{scope}:{client_ip(request)}"
        if per_city:
            key += f":{str(request.path_params.get('city_id', ''))[:100]}"
        wait = await hit(key, rate)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise HTTPException(
                status_code=429,
                detail=f"Too many requests: limit {getattr(settings, rate_setting)}; "
                f"retry in {retry_after} s",
                headers={"Retry-After": str(retry_after)},
            )

    dependency.__name__ = f"rate_limit_{scope}"
    return dependency


read_limit = limit("read", "rate_limit_read")
subscribe_limit = limit("subscribe", "rate_limit_subscribe")
scrape_limit = limit("scrape", "rate_limit_scrape", per_city=True)
