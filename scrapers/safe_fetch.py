"""Fetching a URL a person gave us (a suggested calendar), beside the scrapers' fetcher.

Only ``http``, ``https`` and ``webcal`` (HTTPS by another name). The address a name
resolves to is checked when the connection is made, and the connection goes to that very
address, so a name that resolves inward, or re-resolves inward between a check and the
connect (DNS rebinding), is refused; redirects are followed here, one checked hop at a
time. The whole fetch has a size cap and a time cap. Every refusal is a
:class:`RefusedURL` whose ``message`` is the sentence a person reads.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from nocturne.settings import Settings
from nocturne.settings import settings as default_settings

MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Cloud metadata services: never read, not even with private hosts allowed.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data"})

_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedURL(Exception):
    """The URL was not fetched, or not kept: ``reason`` is one of scheme, private,
    unreachable, http_error, too_large, too_slow, redirects; ``message`` the plain words."""

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.reason = reason
        self.message = message
        self.status = status
        self.headers = headers or {}  # an HTTP error's (its Retry-After)
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class SafePage:
    url: str
    final_url: str
    status: int
    text: str
    content_type: str


def normalize_url(url: str) -> str:
    """``webcal://`` becomes ``https://``; anything but http(s) with a host is refused."""
    url = url.strip()
    if url.lower().startswith("webcal://"):
        url = "https://" + url[len("webcal://") :]
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise RefusedURL(
            "scheme", "Only web addresses (http, https or webcal) can be read as a calendar."
        )
    if not parts.hostname:
        raise RefusedURL("scheme", "That address has no host name.")
    try:
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError as exc:
        raise RefusedURL("scheme", "That address has a port that is not a number.") from exc
    if parts.username or parts.password:
        raise RefusedURL("scheme", "Addresses with a user name or password are not read.")
    return url


def address_refused(address: _Address, *, allow_private: bool) -> bool:
    """Whether a resolved address may not be fetched: anything not on the public internet
    (private, loopback, link-local, multicast, reserved, unspecified, shared), and cloud
    metadata always."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return True
    if allow_private:
        return address.is_unspecified or address.is_multicast
    return not address.is_global or address.is_multicast or address.is_reserved


def _private(host: str) -> RefusedURL:
    return RefusedURL(
        "private",
        f"{host} points inside a private network (or at this server), which we do not read; "
        "suggest the calendar's public address.",
    )


async def resolve_allowed(host: str, port: int, *, allow_private: bool) -> list[str]:
    """The addresses ``host`` resolves to, all of them allowed; RefusedURL otherwise (one
    inward address among public ones is enough to refuse: which one is used is not ours
    to choose)."""
    if host.lower().rstrip(".") in METADATA_HOSTS:
        raise _private(host)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except (socket.gaierror, UnicodeError) as exc:
        raise RefusedURL("unreachable", f"{host} could not be found (no such host).") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses or any(
        address_refused(ipaddress.ip_address(a.split("%")[0]), allow_private=allow_private)
        for a in addresses
    ):
        raise _private(host)
    return addresses


class _CheckedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to checked addresses (the check and
    the connection use the same resolution)."""

    def __init__(self, *, allow_private: bool) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allow_private = allow_private

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        last: Exception | None = None
        for address in await resolve_allowed(host, port, allow_private=self._allow_private):
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.AsyncNetworkStream:
        raise RefusedURL("scheme", "Only web addresses can be read.")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _client(settings: Settings) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    # httpx takes no network backend; its pool is swapped for one that has ours.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl.create_default_context(),
        max_connections=4,
        network_backend=_CheckedBackend(allow_private=settings.allow_private_feed_hosts),
    )
    return httpx.AsyncClient(
        transport=transport,
        trust_env=False,
        follow_redirects=False,
        timeout=httpx.Timeout(settings.feed_timeout_seconds),
        headers={
            "User-Agent": settings.scrape_user_agent,
            "Accept": "text/calendar, text/html;q=0.9, application/xhtml+xml;q=0.9, */*;q=0.5",
        },
    )


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


async def _get(client: httpx.AsyncClient, url: str, settings: Settings) -> SafePage:
    cap = settings.feed_max_bytes
    too_large = RefusedURL("too_large", f"The calendar is larger than {_mb(cap)}, our limit.")
    for _ in range(MAX_REDIRECTS + 1):
        host = urlsplit(url).hostname or ""
        try:
            async with client.stream("GET", url) as response:
                if response.status_code in REDIRECTS and "location" in response.headers:
                    url = normalize_url(urljoin(url, response.headers["location"]))
                    continue
                if response.status_code >= 400:
                    raise RefusedURL(
                        "http_error",
                        f"{host} answered with an error (HTTP {response.status_code}); "
                        "check that the address opens in a browser.",
                        status=response.status_code,
                        headers={k.lower(): v for k, v in response.headers.items()},
                    )
                length = response.headers.get("content-length", "")
                if length.isdigit() and int(length) > cap:
                    raise too_large
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > cap:
                        raise too_large
                encoding = response.charset_encoding or "utf-8"
                try:
                    text = body.decode(encoding, errors="replace")
                except LookupError:
                    text = body.decode("utf-8", errors="replace")
                return SafePage(
                    url, str(response.url), response.status_code, text,
                    response.headers.get("content-type", ""),
                )  # fmt: skip
        except httpx.TimeoutException as exc:
            raise _too_slow(settings) from exc
        except httpx.HTTPError as exc:
            raise RefusedURL("unreachable", f"{host} could not be reached.") from exc
    raise RefusedURL("redirects", f"The address redirects more than {MAX_REDIRECTS} times.")


def _too_slow(settings: Settings) -> RefusedURL:
    return RefusedURL(
        "too_slow", f"The site took longer than {settings.feed_timeout_seconds:g} s to answer."
    )


async def fetch_user_url(url: str, *, settings: Settings | None = None) -> SafePage:
    """GET a URL a person gave, within the caps; RefusedURL says why not in plain words."""
    settings = settings or default_settings
    url = normalize_url(url)
    async with _client(settings) as client:
        try:
            async with asyncio.timeout(settings.feed_timeout_seconds):
                return await _get(client, url, settings)
        except TimeoutError as exc:
            raise _too_slow(settings) from exc


__all__ = [
    "RefusedURL",
    "SafePage",
    "address_refused",
    "fetch_user_url",
    "normalize_url",
    "resolve_allowed",
]
