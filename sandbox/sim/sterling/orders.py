"""Orders as the Sterling simulator keeps them, and their Sterling JSON form.

A line's quantity is split into slices, one per (status, ship node, release): three units can be
one shipped, one released and one cancelled at the same time, as in Sterling's OrderStatuses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sandbox.sim.sterling.documents import (
    CANCELLED,
    HOLD_APPLIED,
    HOLD_STATUSES,
    ORDER_STATUSES,
    qty,
    status_key,
    stringify,
    text,
)


@dataclass
class Slice:
    status: str
    qty: Decimal
    ship_node: str = ""
    release_key: str = ""


@dataclass
class Line:
    key: str
    prime_line_no: str
    sub_line_no: str
    item: dict[str, str]
    original_qty: Decimal
    delivery_method: str
    requested_node: str  # the ShipNode the order asked for ("" = Sterling sources the line)
    attributes: dict[str, Any]
    slices: list[Slice]

    @property
    def item_id(self) -> str:
        return self.item["ItemID"]

    @property
    def ordered_qty(self) -> Decimal:
        return self.quantity(exclude=CANCELLED)

    def quantity(self, status: str | None = None, release_key: str | None = None, *,
                 exclude: str | None = None) -> Decimal:
        return sum(
            (piece.qty for piece in self.slices
             if (status is None or piece.status == status)
             and (release_key is None or piece.release_key == release_key)
             and piece.status != exclude),
            Decimal(0),
        )

    def pieces(self, *statuses: str, release_key: str | None = None) -> list[Slice]:
        return [
            piece for piece in self.slices
            if piece.status in statuses and (release_key is None or piece.release_key == release_key)
        ]

    def transfer(self, piece: Slice, quantity: Decimal, to_status: str, *,
                 ship_node: str | None = None, release_key: str | None = None) -> None:
        """Move ``quantity`` of ``piece`` to ``to_status`` (optionally to another node or release)."""
        piece.qty -= quantity
        node = piece.ship_node if ship_node is None else ship_node
        release = piece.release_key if release_key is None else release_key
        for other in self.slices:
            if (other.status, other.ship_node, other.release_key) == (to_status, node, release) and other is not piece:
                other.qty += quantity
                break
        else:
            self.slices.append(Slice(to_status, quantity, node, release))
        self.slices = [entry for entry in self.slices if entry.qty > 0]

    def statuses(self) -> list[str]:
        """Statuses holding quantity, cancelled left out unless nothing else is left."""
        live = sorted({piece.status for piece in self.slices if piece.status != CANCELLED}, key=status_key)
        return live or [CANCELLED]

    def render(self, order_key: str) -> dict[str, Any]:
        statuses = self.statuses()
        return {
            **stringify(self.attributes),
            "OrderHeaderKey": order_key,
            "OrderLineKey": self.key,
            "PrimeLineNo": self.prime_line_no,
            "SubLineNo": self.sub_line_no,
            "OrderedQty": qty(self.ordered_qty),
            "OriginalOrderedQty": qty(self.original_qty),
            "StopDeliveryQty": "0.00",
            "Status": describe(statuses),
            "MinLineStatus": statuses[0],
            "MaxLineStatus": statuses[-1],
            "DeliveryMethod": self.delivery_method,
            "ShipNode": self.requested_node or next((piece.ship_node for piece in self.slices if piece.ship_node), ""),
            "Item": dict(self.item),
        }


@dataclass
class Hold:
    hold_type: str
    status: str
    reason_text: str = ""

    def render(self) -> dict[str, str]:
        return {"HoldType": self.hold_type, "Status": self.status,
                "StatusDescription": HOLD_STATUSES.get(self.status, self.status), "ReasonText": self.reason_text}


@dataclass
class Release:
    key: str
    release_no: int
    ship_node: str


@dataclass
class SimOrder:
    key: str
    order_no: str
    enterprise_code: str
    document_type: str
    seller: str
    order_date: str
    attributes: dict[str, Any]
    lines: list[Line]
    holds: list[Hold]
    bill_to_key: str = ""
    ship_to_key: str = ""
    releases: list[Release] = field(default_factory=list)

    @property
    def ident(self) -> tuple[str, str, str]:
        return self.enterprise_code, self.document_type, self.order_no

    @property
    def held(self) -> bool:
        return any(hold.status == HOLD_APPLIED for hold in self.holds)

    @property
    def cancelled(self) -> bool:
        return all(line.statuses() == [CANCELLED] for line in self.lines)

    def hold(self, hold_type: str) -> Hold | None:
        return next((hold for hold in self.holds if hold.hold_type == hold_type), None)

    def line(self, *, key: str = "", prime_line_no: str = "", sub_line_no: str = "1") -> Line | None:
        for line in self.lines:
            if (key and line.key == key) or (not key and (line.prime_line_no, line.sub_line_no) == (
                    prime_line_no, sub_line_no)):
                return line
        return None

    def release(self, key: str) -> Release | None:
        return next((release for release in self.releases if release.key == key), None)

    def identity(self) -> dict[str, str]:
        return {"OrderNo": self.order_no, "EnterpriseCode": self.enterprise_code,
                "DocumentType": self.document_type, "OrderHeaderKey": self.key}

    def render(self) -> dict[str, Any]:
        statuses = sorted({status for line in self.lines for status in line.statuses()}, key=status_key)
        live = [status for status in statuses if status != CANCELLED] or [CANCELLED]
        return {
            **stringify(self.attributes),
            "OrderHeaderKey": self.key,
            "OrderNo": self.order_no,
            "EnterpriseCode": self.enterprise_code,
            "DocumentType": self.document_type,
            "SellerOrganizationCode": self.seller,
            "OrderDate": self.order_date,
            "Status": describe(live),
            "MinOrderStatus": live[0],
            "MaxOrderStatus": live[-1],
            "HoldFlag": "Y" if self.held else "N",
            "BillToKey": self.bill_to_key,
            "ShipToKey": self.ship_to_key,
            "OrderLines": {"OrderLine": [line.render(self.key) for line in self.lines]},
            "OrderStatuses": {"OrderStatus": [
                {"OrderHeaderKey": self.key, "OrderLineKey": line.key, "OrderReleaseKey": piece.release_key,
                 "PrimeLineNo": line.prime_line_no, "SubLineNo": line.sub_line_no, "ShipNode": piece.ship_node,
                 "Status": piece.status, "StatusDescription": ORDER_STATUSES.get(piece.status, piece.status),
                 "StatusQty": qty(piece.qty)}
                for line in self.lines for piece in sorted(line.slices, key=lambda entry: status_key(entry.status))
            ]},
            "OrderHoldTypes": {"OrderHoldType": [hold.render() for hold in self.holds]},
        }

    def render_release(self, release: Release) -> dict[str, Any]:
        lines = []
        statuses: set[str] = set()
        for line in self.lines:
            pieces = [piece for piece in line.slices if piece.release_key == release.key]
            if not pieces:
                continue
            statuses.update(piece.status for piece in pieces)
            released = sum((piece.qty for piece in pieces if piece.status != CANCELLED), Decimal(0))
            lines.append({**line.render(self.key), "OrderReleaseKey": release.key, "StatusQuantity": qty(released)})
        live = sorted(statuses - {CANCELLED}, key=status_key) or [CANCELLED]
        return {
            "OrderReleaseKey": release.key,
            "ReleaseNo": str(release.release_no),
            "OrderHeaderKey": self.key,
            "OrderNo": self.order_no,
            "EnterpriseCode": self.enterprise_code,
            "DocumentType": self.document_type,
            "SellerOrganizationCode": self.seller,
            "ShipNode": release.ship_node,
            "DeliveryMethod": lines[0]["DeliveryMethod"] if lines else "",
            "Status": live[0],
            "SCAC": text(self.attributes.get("SCAC")),
            "CarrierServiceCode": text(self.attributes.get("CarrierServiceCode")),
            "PersonInfoShipTo": stringify(self.attributes.get("PersonInfoShipTo") or {}),
            "OrderLines": {"OrderLine": lines},
            "Order": {"OrderNo": self.order_no, "OrderHeaderKey": self.key, "EnterpriseCode": self.enterprise_code,
                      "DocumentType": self.document_type, "OrderDate": self.order_date},
        }


def describe(statuses: list[str]) -> str:
    """Sterling's description of a min..max status range: ``Released`` or ``Partially Shipped``."""
    highest = ORDER_STATUSES.get(statuses[-1], statuses[-1])
    return highest if len(statuses) == 1 else f"Partially {highest}"
