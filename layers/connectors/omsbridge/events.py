"""The events on the integration bus (ARCHITECTURE §3) and the publisher that puts them there."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from omsbridge.errors import PermanentError, RetryableError

COMMERCE_SOURCE = "adobe.commerce"
STERLING_SOURCE = "ibm.sterling"

SterlingDetailType = Literal[
    "order.created", "order.changed", "order.hold_changed", "order.cancelled", "order.backordered",
    "order.released", "shipment.created", "shipment.ready_to_ship", "shipment.shipped",
    "shipment.ready_for_pickup", "inventory.changed", "return.received", "return.refunded",
]
STERLING_DETAIL_TYPES: frozenset[str] = frozenset(SterlingDetailType.__args__)  # type: ignore[attr-defined]

# The Commerce events some flow consumes; the ingress refuses the others rather than put on the bus
# what no rule takes (the walk in tests/unit/test_event_routes.py holds this list to the template).
COMMERCE_DETAIL_TYPES: frozenset[str] = frozenset({
    "com.adobe.commerce.observer.sales_order_place_after",
    "com.adobe.commerce.observer.sales_order_save_commit_after",
    "com.adobe.commerce.observer.sales_order_invoice_save_commit_after",
    "com.adobe.commerce.observer.sales_order_creditmemo_save_commit_after",
    "com.adobe.commerce.observer.rma_save_commit_after",
})

# The root element each Sterling detail-type carries (root dropped, Sterling's own JSON form).
STERLING_ROOTS: dict[str, str] = {
    **{t: "Order" for t in STERLING_DETAIL_TYPES if t.startswith("order.")},
    "order.released": "OrderRelease",
    **{t: "Shipment" for t in STERLING_DETAIL_TYPES if t.startswith("shipment.")},
    "inventory.changed": "InventoryItem",
    # Return orders (DocumentType 0003): a receipt closed, a refund decided.
    **{t: "Order" for t in STERLING_DETAIL_TYPES if t.startswith("return.")},
}

# PutEvents takes at most 10 entries and 256 KiB per entry and per request, measured as AWS documents
# ("Calculating PutEvents event entry size"): the UTF-8 bytes of Source, DetailType and Detail.
PUT_EVENTS_MAX_ENTRIES = 10
PUT_EVENTS_MAX_BYTES = 256 * 1024

# Our own writes into Commerce carry this marker so the echo they raise is recognised and dropped.
ECHO_MARKER = "[oms-bridge]"


class CommerceEventData(BaseModel):
    model_config = ConfigDict(extra="allow")

    key: str | None = None
    value: dict[str, Any]
    source: str | None = None


class IoEvent(BaseModel):
    """An Adobe I/O Events CloudEvent of any provider, as delivered to our webhook."""

    model_config = ConfigDict(extra="allow")

    id: str
    type: str
    time: str | None = None
    specversion: str | None = None
    recipient_client_id: str | None = None
    data: dict[str, Any]


class CommerceEvent(IoEvent):
    """A Commerce provider's CloudEvent: ``data.value`` is the Commerce object."""

    data: CommerceEventData  # type: ignore[assignment]


class SterlingEvent(BaseModel):
    """``detail`` of a Sterling bus event: the document as Sterling posted it, root dropped."""

    model_config = ConfigDict(extra="forbid")

    id: str
    time: str
    data: dict[str, Any]


class BusEntry(BaseModel):
    """One entry as given to PutEvents."""

    model_config = ConfigDict(populate_by_name=True)

    source: str = Field(alias="Source")
    detail_type: str = Field(alias="DetailType")
    detail: dict[str, Any] = Field(alias="Detail")

    def to_put_events(self, bus_name: str) -> dict[str, Any]:
        # Not ASCII-escaped: "\u20ac" is six bytes where the UTF-8 "€" is three. No NaN either:
        # EventBridge refuses it as a malformed detail.
        return {
            "Source": self.source,
            "DetailType": self.detail_type,
            "Detail": json.dumps(self.detail, separators=(",", ":"), ensure_ascii=False, allow_nan=False),
            "EventBusName": bus_name,
        }


def entry_size(item: dict[str, Any]) -> int:
    """The size EventBridge counts for one PutEvents entry."""
    size = 14 if item.get("Time") is not None else 0
    for name in ("Source", "DetailType", "Detail"):
        size += len(str(item.get(name) or "").encode())
    return size + sum(len(str(resource).encode()) for resource in item.get("Resources") or ())


class EntryTooLarge(PermanentError):
    """An event bigger than EventBridge takes: refused before anything is put."""


class EventBridgeEvent(BaseModel):
    """What a rule target receives."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")

    id: str = ""
    source: str
    detail_type: str = Field(alias="detail-type")
    time: str = ""
    detail: dict[str, Any]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Publisher:
    """PutEvents in requests EventBridge takes (10 entries, 256 KiB); entries it rejects are
    retried once, then raised. An entry that can never fit is refused before any is put."""

    def __init__(self, client: Any, bus_name: str) -> None:
        self.client = client
        self.bus_name = bus_name

    def publish(self, entries: Iterable[BusEntry]) -> int:
        items = [entry.to_put_events(self.bus_name) for entry in entries]
        sizes = [entry_size(item) for item in items]
        for number, size in enumerate(sizes, start=1):
            if size > PUT_EVENTS_MAX_BYTES:
                raise EntryTooLarge(f"event {number} of {len(items)} would be {size} bytes on the bus; "
                                    f"EventBridge takes at most {PUT_EVENTS_MAX_BYTES}", system="eventbridge",
                                    code="event_too_large")
        for batch in _requests(items, sizes):
            self._put(batch)
        return len(items)

    def _put(self, batch: Sequence[dict[str, Any]], attempt: int = 0) -> None:
        answer = self.client.put_events(Entries=list(batch))
        if not answer.get("FailedEntryCount"):
            return
        failed = [item for item, result in zip(batch, answer["Entries"], strict=True) if "ErrorCode" in result]
        if attempt >= 1:
            codes = sorted({r.get("ErrorCode", "") for r in answer["Entries"] if "ErrorCode" in r})
            raise RetryableError(f"PutEvents rejected {len(failed)} entries: {codes}", system="eventbridge")
        self._put(failed, attempt + 1)


def _requests(items: list[dict[str, Any]], sizes: list[int]) -> list[list[dict[str, Any]]]:
    """The entries in order, cut into requests within EventBridge's count and size limits."""
    requests: list[list[dict[str, Any]]] = []
    used = 0
    for item, size in zip(items, sizes, strict=True):
        if not requests or used + size > PUT_EVENTS_MAX_BYTES or len(requests[-1]) == PUT_EVENTS_MAX_ENTRIES:
            requests.append([])
            used = 0
        requests[-1].append(item)
        used += size
    return requests
