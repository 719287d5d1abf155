"""Sterling shipment → Commerce shipment requests. Pure: documents in, request bodies out.

* ``shipment.shipped`` → ``POST /V1/order/{entity_id}/ship``: the shipment's own lines as Commerce
  order items (partial quantities as shipped), one track per container with a tracking number, the
  ship node as the MSI source, and a comment that marks the Commerce shipment as this Sterling
  shipment so that a retry after a timeout can find it.
* Optional capture → ``POST /V1/order/{entity_id}/invoice`` once an authorised-only order has
  shipped in full.
* ``shipment.created`` → a status-history comment naming the shipment, its node and its lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from omsbridge.errors import PermanentError
from omsbridge.events import ECHO_MARKER
from omsbridge.mapping import status
from omsbridge.mapping.ids import source_for_node
from omsbridge.mapping.tables import table
from omsbridge.state import OrderLineRef
from omsbridge.sterling.models import Shipment, ShipmentLine

PICK = "PICK"
FALLBACK_CARRIER = "custom"  # Commerce's own "Custom Value" carrier: any title, any number


# -- the Sterling document ---------------------------------------------------------------------
# Sterling writes a blank attribute as " ", hence the strip() on every optional value.


def shipment_key(shipment: Shipment) -> str:
    """Exactly-once key: a ShipmentNo is unique per ship node."""
    return f"{shipment.ship_node.strip()}/{shipment.shipment_no.strip()}"


def is_pickup(shipment: Shipment) -> bool:
    methods = {shipment.delivery_method, *(line.delivery_method for line in shipment.shipment_lines)}
    return PICK in {method.strip() for method in methods}


def has_details(shipment: Shipment) -> bool:
    """Whether the document says what shipped (some events carry little more than OrderNo)."""
    lines = shipment.shipment_lines
    return bool(shipment.shipment_no.strip() and shipment.ship_node.strip() and lines) and all(
        line.order_no and "quantity" in line.model_fields_set and (line_no(line) or line.item_id.strip())
        for line in lines
    )


def line_no(line: ShipmentLine) -> tuple[int, int] | None:
    """(PrimeLineNo, SubLineNo), or None when the line does not say."""
    prime, sub = line.prime_line_no.strip(), line.sub_line_no.strip() or "1"
    if not (prime.isdigit() and sub.isdigit()):
        return None
    return int(prime), int(sub)


def created_comment(shipment: Shipment, order_no: str) -> str:
    """The status-history comment saying Sterling created ``shipment`` for ``order_no`` (the row
    ``shipment_created`` of ``order_statuses``), marked as ours."""
    lines = [line for line in shipment.shipment_lines if line.order_no == order_no]
    listed = ", ".join(f"{_label(line)} x{format(line.quantity.normalize(), 'f')}" for line in lines) or "all lines"
    text = status.named_row(status.SHIPMENT_CREATED_ROW).comment or "Shipment {shipment} created in Sterling"
    values = {"shipment": shipment.shipment_no.strip() or "?", "node": shipment.ship_node.strip() or "?",
              "lines": listed}
    return f"{ECHO_MARKER} {status.fill(text, values)}"


def _label(line: ShipmentLine) -> str:
    """``line 2 SKU`` as order comments name lines (the SubLineNo only when it is not 1)."""
    number, sub = line.prime_line_no.strip() or "?", line.sub_line_no.strip()
    if sub not in ("", "1"):
        number = f"{number}.{sub}"
    return f"line {number} {line.item_id.strip() or '?'}"


def describe(line: ShipmentLine) -> str:
    number = ".".join(map(str, line_no(line) or ("?",)))
    return f"line {number} item {line.item_id.strip() or '?'} of order {line.order_no}"


# -- items -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShipItem:
    order_item_id: int
    qty: Decimal


def quantity_value(quantity: Decimal) -> int | float:
    """A JSON number: whole quantities as integers (``"2.00"`` → ``2``)."""
    return int(quantity) if quantity == quantity.to_integral_value() else float(quantity)


def item_from_ref(line: ShipmentLine, ref_lines: Sequence[OrderLineRef]) -> int | None:
    """The Commerce item the order export recorded for this Sterling line (the PrimeLineNo map;
    for a configurable product it recorded the parent row, which is what Commerce ships)."""
    number = line_no(line)
    if number is None:
        return None
    return next((ref.order_item_id for ref in ref_lines if (ref.prime_line_no, ref.sub_line_no) == number), None)


def needs_order_items(lines: Iterable[ShipmentLine], ref_lines: Sequence[OrderLineRef]) -> bool:
    return any(item_from_ref(line, ref_lines) is None for line in lines)


def _qty(item: Mapping[str, Any], name: str) -> Decimal:
    return Decimal(str(item.get(name) or 0))


def qty_to_ship(item: Mapping[str, Any]) -> Decimal:
    """What Commerce still lets ship on an order item (as its own ``getQtyToShip`` counts)."""
    done = _qty(item, "qty_shipped") + _qty(item, "qty_refunded") + _qty(item, "qty_canceled")
    return max(_qty(item, "qty_ordered") - done, Decimal(0))


def _shippable_rows(sku: str, order_items: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Order rows a Sterling item can ship as: a configurable's child ships as its parent (which
    carries the child's SKU too); anything else as itself."""
    by_id = {item.get("item_id"): item for item in order_items}
    rows: dict[Any, Mapping[str, Any]] = {}
    for item in order_items:
        if item.get("sku") != sku:
            continue
        parent = by_id.get(item.get("parent_item_id"))
        row = parent if parent is not None and parent.get("product_type") == "configurable" else item
        rows.setdefault(row.get("item_id"), row)
    return list(rows.values())


def item_by_sku(line: ShipmentLine, order_items: Sequence[Mapping[str, Any]],
                allocated: Mapping[int, Decimal]) -> int | None:
    """The order row for a Sterling line by SKU. With several rows of one SKU, the first that can
    still take the quantity wins (else the first with anything left), so two lines of the same
    product land on different rows."""
    rows = _shippable_rows(line.item_id.strip(), order_items)
    if not rows:
        return None

    def left(row: Mapping[str, Any]) -> Decimal:
        return qty_to_ship(row) - allocated.get(int(row["item_id"]), Decimal(0))

    chosen = (next((row for row in rows if left(row) >= line.quantity), None)
              or next((row for row in rows if left(row) > 0), rows[0]))
    return int(chosen["item_id"])


def ship_items(lines: Sequence[ShipmentLine], ref_lines: Sequence[OrderLineRef],
               order_items: Sequence[Mapping[str, Any]] = ()) -> list[ShipItem]:
    """Commerce items and quantities for these Sterling lines, one entry per order item.

    Raises ``PermanentError`` for a line that matches no item of the Commerce order: shipping the
    rest would tell the customer half the story.
    """
    totals: dict[int, Decimal] = {}
    for line in lines:
        item_id = item_from_ref(line, ref_lines)
        if item_id is None:
            item_id = item_by_sku(line, order_items, totals)
        if item_id is None:
            raise PermanentError(f"shipment {describe(line)} matches no item of the Commerce order",
                                 system="mapping")
        totals[item_id] = totals.get(item_id, Decimal(0)) + line.quantity
    return [ShipItem(item_id, qty) for item_id, qty in totals.items() if qty > 0]


# -- tracks ------------------------------------------------------------------------------------


def carrier_for_scac(scac: str) -> dict[str, str] | None:
    found = table("scac_carriers").get(scac)
    return dict(found) if found else None


def _tracked(shipment: Shipment) -> list[tuple[str, str]]:
    """(tracking number, SCAC) per tracked container, each number once; the shipment's own
    number when no container has one."""
    default_scac = shipment.scac.strip()
    pairs = [(c.tracking_no.strip(), c.scac.strip() or default_scac) for c in shipment.containers]
    if not any(number for number, _ in pairs):
        pairs = [(shipment.tracking_no.strip(), default_scac)]
    first: dict[str, str] = {}
    for number, scac in pairs:
        if number:
            first.setdefault(number, scac)
    return list(first.items())


def tracks(shipment: Shipment) -> list[dict[str, str]]:
    """One Commerce track per tracking number; an unmapped SCAC becomes the "custom" carrier
    titled with the SCAC, so the number still reaches the customer."""
    result = []
    for number, scac in _tracked(shipment):
        carrier = carrier_for_scac(scac) or {"carrier_code": FALLBACK_CARRIER, "title": scac or "Carrier"}
        result.append({"carrier_code": carrier["carrier_code"], "title": carrier["title"], "track_number": number})
    return result


def unmapped_scacs(shipment: Shipment) -> list[str]:
    return sorted({scac for _, scac in _tracked(shipment) if carrier_for_scac(scac) is None})


# -- requests ----------------------------------------------------------------------------------


def marker(shipment: Shipment) -> str:
    """The comment that identifies the Commerce shipment made from this Sterling shipment."""
    return f"{ECHO_MARKER} Sterling shipment {shipment.shipment_no.strip()} from {shipment.ship_node.strip()}"


def ship_body(shipment: Shipment, items: Sequence[ShipItem], *, notify: bool) -> dict[str, Any]:
    # appendComment=false keeps the marker out of the customer's e-mail; Commerce stores it anyway.
    return {
        "items": [{"order_item_id": item.order_item_id, "qty": quantity_value(item.qty)} for item in items],
        "notify": notify,
        "appendComment": False,
        "comment": {"comment": marker(shipment), "is_visible_on_front": 0},
        "tracks": tracks(shipment),
        "arguments": {"extension_attributes": {"source_code": source_for_node(shipment.ship_node.strip())}},
    }


def is_ours(commerce_shipment: Mapping[str, Any], shipment: Shipment) -> bool:
    """Whether a Commerce shipment (a ``GET /V1/shipments`` item) was made from ``shipment``: it
    carries our marker comment, or exactly our tracking numbers."""
    comments = {str(c.get("comment") or "").strip() for c in commerce_shipment.get("comments") or []}
    if marker(shipment) in comments:
        return True
    ours = {number for number, _ in _tracked(shipment)}
    theirs = {str(t.get("track_number") or "").strip() for t in commerce_shipment.get("tracks") or []}
    return bool(ours) and ours == theirs


# -- capture on shipment -----------------------------------------------------------------------


def _amount(values: Mapping[str, Any], name: str) -> Decimal:
    return Decimal(str(values.get(name) or 0))


def authorised_only(order: Mapping[str, Any], ref_payment: Mapping[str, Any]) -> bool:
    """Money was only authorised at checkout: as the order export recorded it (``authorized`` /
    ``captured``), else as the Commerce order's payment shows it."""
    if ref_payment:
        return _amount(ref_payment, "authorized") > 0 and _amount(ref_payment, "captured") == 0
    payment = order.get("payment") or {}
    return _amount(payment, "amount_authorized") > 0 and _amount(payment, "amount_paid") == 0


def fully_shipped(order: Mapping[str, Any]) -> bool:
    """Nothing left to ship on the order's own rows (children ship through their parent)."""
    rows = [item for item in order.get("items") or []
            if not item.get("parent_item_id") and not item.get("is_virtual")]
    return bool(rows) and all(qty_to_ship(item) == 0 for item in rows)


def needs_capture(order: Mapping[str, Any], ref_payment: Mapping[str, Any]) -> bool:
    """A capture invoice is due: the order (as Commerce has it now) has shipped in full, was only
    authorised, and nothing has been captured or invoiced since."""
    if not fully_shipped(order) or not authorised_only(order, ref_payment):
        return False
    paid = _amount(order.get("payment") or {}, "amount_paid")
    invoiced = any(_qty(item, "qty_invoiced") > 0 for item in order.get("items") or [])
    return paid == 0 and not invoiced


def invoice_body(shipment: Shipment, *, notify: bool) -> dict[str, Any]:
    # No items: Commerce invoices everything still open, which is the whole order here.
    return {
        "capture": True,
        "notify": notify,
        "appendComment": False,
        "comment": {"comment": f"{ECHO_MARKER} Captured on Sterling shipment {shipment.shipment_no.strip()}",
                    "is_visible_on_front": 0},
    }
