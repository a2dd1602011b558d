"""A small in-memory cache whose entries live a fixed time, for lookups on every request."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Values (None included, so misses are cached too) kept `ttl` seconds after they were loaded.

    Bounded: when `max_entries` is reached, the whole cache is dropped, so a flood of distinct keys costs
    reloads, never memory. `discard` drops one entry at once and also keeps a load that was already under
    way from storing what it read before the change.
    """

    def __init__(
        self, *, ttl: float, max_entries: int, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._max_entries = max_entries
        self._monotonic = monotonic
        self._entries: dict[K, tuple[float, V]] = {}
        self._generation = 0
        self._lock = threading.Lock()

    def get_or_load(self, key: K, load: Callable[[], V]) -> V:
        """The cached value while fresh, else `load()`, cached."""
        now = self._monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        generation = self._generation
        value = load()
        with self._lock:
            if generation == self._generation:
                if len(self._entries) >= self._max_entries:
                    self._entries.clear()
                self._entries[key] = (now + self._ttl, value)
        return value

    def discard(self, key: K) -> None:
        with self._lock:
            self._generation += 1
            self._entries.pop(key, None)
