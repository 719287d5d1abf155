"""DC (WMS) adapters: send a Sterling release to the warehouse, read the warehouse's confirmations.

``adapter()`` is the DC adapter of this container, chosen by ``DC_ADAPTER`` among ``ADAPTERS``
(default ``generic``, the reference adapter of the generic REST contract in docs/extending.md).
Which releases go to the WMS at all is ``omsbridge.dc.nodes``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from omsbridge.carrier.registry import AdapterRegistry
from omsbridge.carrier.signing import SignatureError
from omsbridge.config import Secrets, Settings
from omsbridge.dc.models import (
    Acknowledgement,
    ConfirmedContainer,
    ConfirmedLine,
    ContainerItem,
    DcConfirmation,
    WmsLine,
    WmsOrder,
)

__all__ = [
    "ADAPTERS", "Acknowledgement", "ConfirmedContainer", "ConfirmedLine", "ContainerItem", "DcAdapter",
    "DcConfirmation", "SignatureError", "WmsLine", "WmsOrder", "adapter", "registry",
]


class DcAdapter(Protocol):
    def send_release(self, order: WmsOrder) -> Acknowledgement:
        """Hand one release to the WMS. Must be safe to call again for the same ``release_key``
        (the WMS takes it once): the flow resends after timeouts. Raises ``RetryableError`` for
        transient trouble, ``PermanentError`` when the WMS refuses."""
        ...

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> DcConfirmation:
        """Authenticate and read one WMS confirmation. Raises ``SignatureError`` (answered 401) or
        ``omsbridge.errors.ValidationError`` (answered 400); never changes anything."""
        ...

    def close(self) -> None: ...


def _generic(settings: Settings, secrets: Secrets) -> DcAdapter:
    from omsbridge.dc.generic import GenericDc

    return GenericDc.from_config(settings, secrets)


ADAPTERS: dict[str, Callable[[Settings, Secrets], DcAdapter]] = {"generic": _generic}

registry: AdapterRegistry[DcAdapter] = AdapterRegistry("dc", "DC_ADAPTER", ADAPTERS)


def adapter() -> DcAdapter:
    return registry.get()
