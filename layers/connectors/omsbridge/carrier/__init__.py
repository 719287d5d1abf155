"""Carrier adapters: book a label per parcel, read the carrier's tracking callbacks.

``adapter()`` is the carrier adapter of this container, chosen by ``CARRIER_ADAPTER`` among
``ADAPTERS`` (default ``generic``, the reference adapter of the generic REST contract in
docs/extending.md). A real carrier is one more module implementing :class:`CarrierAdapter` and one
more entry in ``ADAPTERS``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from omsbridge.carrier.models import Address, BookingRequest, Label, PackageItem, TrackingUpdate, parse_reference
from omsbridge.carrier.registry import AdapterRegistry
from omsbridge.carrier.signing import SignatureError
from omsbridge.config import Secrets, Settings

__all__ = [
    "ADAPTERS", "Address", "BookingRequest", "CarrierAdapter", "Label", "PackageItem", "SignatureError",
    "TrackingUpdate", "adapter", "parse_reference", "registry",
]


class CarrierAdapter(Protocol):
    def book_shipment(self, request: BookingRequest) -> Label:
        """Book one parcel and return its label. Must be safe to call again for the same
        ``request.reference`` (the carrier books it once): the flow retries after timeouts.
        Raises ``RetryableError`` for transient trouble, ``PermanentError`` when the carrier refuses."""
        ...

    def parse_tracking_callback(self, headers: Mapping[str, str], body: bytes) -> list[TrackingUpdate]:
        """Authenticate and read one tracking callback. Raises ``SignatureError`` (answered 401) or
        ``omsbridge.errors.ValidationError`` (answered 400); never changes anything."""
        ...

    def close(self) -> None: ...


def _generic(settings: Settings, secrets: Secrets) -> CarrierAdapter:
    from omsbridge.carrier.generic import GenericCarrier

    return GenericCarrier.from_config(settings, secrets)


ADAPTERS: dict[str, Callable[[Settings, Secrets], CarrierAdapter]] = {"generic": _generic}

registry: AdapterRegistry[CarrierAdapter] = AdapterRegistry("carrier", "CARRIER_ADAPTER", ADAPTERS)


def adapter() -> CarrierAdapter:
    return registry.get()
