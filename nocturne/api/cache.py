"""Encoded listing pages kept for a few seconds and dropped as soon as their city changes.

Each entry carries the city's version (``crud.city_version``) read *before* its query ran:
a write committed after that read moves the version, so the entry can only be newer than
its version says, never older. A reader that finds the same version serves the entry.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass


@dataclass(slots=True, frozen=True)
class Page:
    cursor: str | None
    body: bytes


@dataclass(slots=True, frozen=True)
class _Entry:
    version: int
    expires: float
    page: Page


class PageCache:
    """A thread-safe LRU of pages, bounded by the bytes of their bodies."""

    def __init__(self, *, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable, *, version: int) -> Page | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.version != version or entry.expires <= time.monotonic():
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry.page

    def put(self, key: Hashable, *, version: int, page: Page, ttl: float) -> None:
        size = len(page.body)
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old.page.body)
            self._entries[key] = _Entry(version, time.monotonic() + ttl, page)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted.page.body)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
