"""A small per-container cache for the public, latency-bound functions (stock check, storefront)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping

CACHE_MAX_ENTRIES = 10_000


class TtlCache[V]:
    """A small per-container cache; entries expire ``ttl`` seconds after they were stored."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[str, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get_many(self, keys: Iterable[str]) -> dict[str, V]:
        now = self._clock()
        with self._lock:
            found = {key: self._entries.get(key) for key in keys}
        return {key: entry[1] for key, entry in found.items() if entry is not None and entry[0] > now}

    def put_many(self, values: Mapping[str, V], ttl: float) -> None:
        if ttl <= 0:
            return
        expires = self._clock() + ttl
        with self._lock:
            if len(self._entries) + len(values) > CACHE_MAX_ENTRIES:
                self._entries.clear()
            self._entries.update({key: (expires, value) for key, value in values.items()})

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
