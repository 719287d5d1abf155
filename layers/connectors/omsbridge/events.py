"""The events on the integration bus (ARCHITECTURE §3) and the publisher that puts them there."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from omsbridge.errors import RetryableError

COMMERCE_SOURCE = "adobe.commerce"
STERLING_SOURCE = "ibm.sterling"

SterlingDetailType = Literal[
    "order.created", "order.changed", "order.hold_changed", "order.cancelled", "order.backordered",
    "order.released", "shipment.created", "shipment.ready_to_ship", "shipment.shipped",
    "shipment.ready_for_pickup", "inventory.changed", "return.received", "return.refunded",
]
STERLING_DETAIL_TYPES: frozenset[str] = frozenset(SterlingDetailType.__args__)  # type: ignore[attr-defined]

# The root element each Sterling detail-type carries (root dropped, Sterling's own JSON form).
STERLING_ROOTS: dict[str, str] = {
    **{t: "Order" for t in STERLING_DETAIL_TYPES if t.startswith("order.")},
    "order.released": "OrderRelease",
    **{t: "Shipment" for t in STERLING_DETAIL_TYPES if t.startswith("shipment.")},
    "inventory.changed": "InventoryItem",
    # Return orders (DocumentType 0003): a receipt closed, a refund decided.
    **{t: "Order" for t in STERLING_DETAIL_TYPES if t.startswith("return.")},
}

# Our own writes into Commerce carry this marker so the echo they raise is recognised and dropped.
ECHO_MARKER = "[oms-bridge]"


class CommerceEventData(BaseModel):
    model_config = ConfigDict(extra="allow")

    key: str | None = None
    value: dict[str, Any]
    source: str | None = None


class CommerceEvent(BaseModel):
    """An Adobe I/O Events CloudEvent as delivered (to our webhook or straight to EventBridge)."""

    model_config = ConfigDict(extra="allow")

    id: str
    type: str
    time: str | None = None
    specversion: str | None = None
    recipient_client_id: str | None = None
    data: CommerceEventData


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
        return {
            "Source": self.source,
            "DetailType": self.detail_type,
            "Detail": json.dumps(self.detail, separators=(",", ":")),
            "EventBusName": bus_name,
        }


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
    """PutEvents in batches of 10; entries EventBridge rejects are retried once, then raised."""

    BATCH = 10

    def __init__(self, client: Any, bus_name: str) -> None:
        self.client = client
        self.bus_name = bus_name

    def publish(self, entries: Iterable[BusEntry]) -> int:
        items = [entry.to_put_events(self.bus_name) for entry in entries]
        for start in range(0, len(items), self.BATCH):
            self._put(items[start:start + self.BATCH])
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
