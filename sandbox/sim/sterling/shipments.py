"""Shipments as the Sterling simulator keeps them, and their Sterling JSON form."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sandbox.sim.sterling.documents import SHIPMENT_STATUSES, qty, stringify, text
from sandbox.sim.sterling.orders import Line, Release, SimOrder

SHIPMENT_CREATED = "1100"
SHIPMENT_READY_FOR_PICKUP = "1100.70.06.30"
SHIPMENT_PACKED = "1300"  # "ready to ship" in this simulator; tenants name their packed status differently
SHIPMENT_SHIPPED = "1400"
SHIPMENT_CANCELLED = "9000"


@dataclass
class ShipLine:
    key: str
    line_no: str
    sub_line_no: str
    order: SimOrder
    line: Line
    release: Release
    quantity: Decimal

    def render(self, shipment_key: str) -> dict[str, Any]:
        return {
            "ShipmentLineKey": self.key,
            "ShipmentKey": shipment_key,
            "ShipmentLineNo": self.line_no,
            "ShipmentSubLineNo": self.sub_line_no,
            "OrderNo": self.order.order_no,
            "OrderHeaderKey": self.order.key,
            "OrderLineKey": self.line.key,
            "OrderReleaseKey": self.release.key,
            "ReleaseNo": str(self.release.release_no),
            "DocumentType": self.order.document_type,
            "PrimeLineNo": self.line.prime_line_no,
            "SubLineNo": self.line.sub_line_no,
            "ItemID": self.line.item_id,
            "UnitOfMeasure": self.line.item.get("UnitOfMeasure", "EACH"),
            "ProductClass": self.line.item.get("ProductClass", ""),
            "Quantity": qty(self.quantity),
            "ActualQuantity": qty(self.quantity),
            "OrderLine": {"OrderLineKey": self.line.key, "PrimeLineNo": self.line.prime_line_no,
                          "SubLineNo": self.line.sub_line_no, "DeliveryMethod": self.line.delivery_method,
                          "ShipNode": self.release.ship_node},
        }


@dataclass
class SimShipment:
    key: str
    shipment_no: str
    ship_node: str
    seller: str
    enterprise_code: str
    document_type: str
    status: str
    status_date: str
    attributes: dict[str, Any]
    lines: list[ShipLine]
    containers: list[dict[str, Any]] = field(default_factory=list)
    actual_shipment_date: str = ""

    @property
    def delivery_method(self) -> str:
        return self.lines[0].line.delivery_method if self.lines else ""

    @property
    def open(self) -> bool:
        return self.status not in (SHIPMENT_SHIPPED, SHIPMENT_CANCELLED)

    def line(self, *, key: str = "", line_no: str = "", sub_line_no: str = "") -> ShipLine | None:
        for entry in self.lines:
            if key and entry.key == key:
                return entry
            if not key and entry.line_no == line_no and (not sub_line_no or entry.sub_line_no == sub_line_no):
                return entry
        return None

    def render(self) -> dict[str, Any]:
        tracking = next((container["TrackingNo"] for container in self.containers if container.get("TrackingNo")),
                        text(self.attributes.get("TrackingNo")))
        ship_to = self.lines[0].order.attributes.get("PersonInfoShipTo") if self.lines else None
        return {
            **stringify(self.attributes),
            "ShipmentKey": self.key,
            "ShipmentNo": self.shipment_no,
            "ShipNode": self.ship_node,
            "SellerOrganizationCode": self.seller,
            "EnterpriseCode": self.enterprise_code,
            "DocumentType": self.document_type,
            "Status": self.status,
            "StatusDescription": SHIPMENT_STATUSES.get(self.status, self.status),
            "StatusDate": self.status_date,
            "SCAC": text(self.attributes.get("SCAC")),
            "CarrierServiceCode": text(self.attributes.get("CarrierServiceCode")),
            "TrackingNo": tracking,
            "DeliveryMethod": self.delivery_method,
            "ActualShipmentDate": self.actual_shipment_date,
            "ToAddress": stringify(ship_to or {}),
            "ShipmentLines": {"ShipmentLine": [line.render(self.key) for line in self.lines]},
            "Containers": {"Container": [dict(container) for container in self.containers]},
        }
