"""Adapters chosen by configuration: one registry per kind of partner (carrier, DC/WMS).

A registry maps a name (the value of ``CARRIER_ADAPTER`` / ``DC_ADAPTER``) to a factory that builds
the adapter from the settings and the secret. The adapter is built on first use and kept for the
container, like the Sterling and Commerce clients.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from omsbridge import config
from omsbridge.config import Secrets, Settings
from omsbridge.errors import PermanentError


class Closable(Protocol):
    def close(self) -> None: ...


class AdapterRegistry[T: Closable]:
    def __init__(self, kind: str, setting: str, factories: dict[str, Callable[[Settings, Secrets], T]]) -> None:
        self.kind = kind
        self.setting = setting
        self.factories = factories  # the same dict: an entry added to ADAPTERS later counts too
        self._adapter: T | None = None
        self._lock = threading.Lock()
        config.on_reset(self.reset)

    def register(self, name: str, factory: Callable[[Settings, Secrets], T]) -> None:
        self.factories[name] = factory
        self.reset()

    def get(self) -> T:
        """The configured adapter of this container."""
        with self._lock:
            if self._adapter is None:
                settings = config.settings()
                name = str(getattr(settings, self.setting.lower()))
                factory = self.factories.get(name)
                if factory is None:
                    known = ", ".join(sorted(self.factories))
                    raise PermanentError(f"{self.setting}={name!r} names no {self.kind} adapter (known: {known})",
                                         system=self.kind, code="unknown_adapter")
                self._adapter = factory(settings, config.secrets())
            return self._adapter

    def reset(self) -> None:
        with self._lock:
            if self._adapter is not None:
                self._adapter.close()
            self._adapter = None
