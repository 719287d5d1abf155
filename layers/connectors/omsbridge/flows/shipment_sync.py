"""Sterling shipment events → Commerce shipments (ShipmentSyncFunction).

``shipment.shipped``: per order the shipment carries lines of, exactly once per
``ShipNode/ShipmentNo/OrderNo`` (idempotency scope ``shipment``):

1. An event that does not say what shipped (some carry little more than ``OrderNo``) is completed
   with Sterling's getShipmentDetails; one that names no shipment at all is parked with the reason.
2. Sterling lines → Commerce order items: the order export's PrimeLineNo map (``OrderRef.lines``),
   else the Commerce order's items by SKU (``mapping.shipment``).
3. ``POST /V1/order/{id}/ship`` is not idempotent and never sent blindly: every attempt first looks
   for the Commerce shipment this Sterling shipment already made (``GET /V1/shipments`` by order,
   recognised by the marker comment or the tracking numbers), and a timeout is followed by that
   same look before the error goes back to Lambda for a retry.
4. With ``INVOICE_ON_SHIPMENT``, an order this shipment completes that was only authorised gets a
   capturing invoice (scope ``capture``, same key; Commerce's own state is read first).

``shipment.created``: a status-history comment on each Commerce order the shipment has lines of,
naming the shipment, its node and its lines (as IBM's connector comments "shipment created"),
exactly once per ``ShipNode/ShipmentNo/OrderNo`` (scope ``shipment_created``).

BOPIS (``shipment.ready_for_pickup``, or a shipped shipment whose lines are for pickup):
``POST /V1/order/notify-orders-are-ready-for-pickup``, exactly once per order (scope ``pickup``).
Commerce ships the order from the pickup location itself, so a later "shipped" (picked up) event
for the same order is a duplicate, and an order only ever announced as shipped still gets its
Commerce shipment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omsbridge import config, enterprises, idempotency, state
from omsbridge.errors import PermanentError, ValidationError
from omsbridge.events import STERLING_SOURCE, EventBridgeEvent, SterlingEvent
from omsbridge.http import AmbiguousCallError
from omsbridge.mapping import shipment as mapping
from omsbridge.observability import Outcome, correlate, count, logger
from omsbridge.state import OrderRef
from omsbridge.sterling.models import Shipment, ShipmentLine, status_at_least

if TYPE_CHECKING:
    from omsbridge.commerce import CommerceClient
    from omsbridge.sterling import SterlingClient

SHIPPED = "shipment.shipped"
READY_FOR_PICKUP = "shipment.ready_for_pickup"
CREATED = "shipment.created"
HANDLED = frozenset({SHIPPED, READY_FOR_PICKUP, CREATED})
CANCELLED = "9000"


def _commerce(enterprise_code: str = "") -> CommerceClient:
    """Commerce as seen by the shipment's enterprise (its website's REST store code)."""
    from omsbridge import commerce

    return commerce.client_for(enterprise_code)


def _sterling() -> SterlingClient:
    from omsbridge import sterling

    return sterling.client()


def handle(event: EventBridgeEvent) -> dict[str, Any]:
    if event.source != STERLING_SOURCE or event.detail_type not in HANDLED:
        raise ValidationError(f"not a Sterling shipment event: {event.source} {event.detail_type}")
    detail = SterlingEvent.model_validate(event.detail)
    shipment = Shipment.model_validate(detail.data)
    correlate(shipment.shipment_no.strip() or ",".join(shipment.order_nos) or detail.id)
    if event.detail_type == CREATED:
        if not (shipment.order_nos and shipment.shipment_no.strip() and shipment.ship_node.strip()):
            shipment = _details(shipment)
        return {"shipment": shipment.shipment_no.strip(),
                "orders": [_created(shipment, no) for no in shipment.order_nos]}
    pickup = event.detail_type == READY_FOR_PICKUP or mapping.is_pickup(shipment)
    if not shipment.order_nos or not (pickup or mapping.has_details(shipment)):
        shipment = _details(shipment)
        pickup = pickup or mapping.is_pickup(shipment)
    if pickup:
        return {"shipment": shipment.shipment_no.strip(), "orders": [_pickup(no) for no in shipment.order_nos]}
    _check_shipped(shipment)
    unmapped = mapping.unmapped_scacs(shipment)
    if unmapped:
        count(Outcome.UNMAPPED)
        logger.warning("SCAC without a Commerce carrier: sent as a custom carrier", extra={"scac": unmapped})
    return {"shipment": shipment.shipment_no.strip(),
            "orders": [_ship(shipment, no) for no in shipment.order_nos]}


def _details(event_shipment: Shipment) -> Shipment:
    """The full shipment from Sterling, for an event that does not say what shipped."""
    key = event_shipment.shipment_key.strip()
    number, node = event_shipment.shipment_no.strip(), event_shipment.ship_node.strip()
    orders = ", ".join(event_shipment.order_nos) or "unknown"
    if not key and not (number and node):
        raise PermanentError(
            f"shipment event for order {orders} names no shipment (no ShipmentKey, no ShipmentNo + ShipNode) "
            "and no shipped lines: cannot tell what shipped", system="sterling", code="incomplete_event")
    shipment = _sterling().get_shipment_details(key or None, shipment_no=number or None, ship_node=node or None)
    enterprises.check(shipment, f"shipment {key or f'{node}/{number}'}")
    if not shipment.order_nos or not mapping.has_details(shipment):
        raise PermanentError(f"getShipmentDetails for shipment {key or f'{node}/{number}'} of order {orders} "
                             "answered without shipped lines", system="sterling", code="incomplete_shipment")
    return shipment


def _check_shipped(shipment: Shipment) -> None:
    """Park a shipment whose stated status is not shipped: a created or packed shipment would give
    the customer a shipment e-mail too early, a cancelled one for parcels that never left."""
    status = shipment.status.strip()
    if not status:
        return  # the event type is all it says (IBM's connector sends no status)
    threshold = config.settings().shipment_shipped_min_status
    try:
        shipped = status_at_least(status, threshold) and not status_at_least(status, CANCELLED)
    except ValueError:
        shipped = False
    if not shipped:
        raise PermanentError(
            f"shipment {mapping.shipment_key(shipment)} is at Sterling status {status[:40]!r}, not shipped "
            f"(SHIPMENT_SHIPPED_MIN_STATUS {threshold} up to {CANCELLED}, cancelled)", system="sterling",
            code="not_shipped")


def _entity_id(client: CommerceClient, ref: OrderRef | None, order_no: str) -> int:
    if ref is not None and ref.entity_id is not None:
        return ref.entity_id
    entity_id = client.find_order_entity_id(order_no)
    if entity_id is None:
        # A shipped order was exported from Commerce long before: its absence will not fix itself.
        raise PermanentError(f"Commerce has no order {order_no}", system="commerce", code="order_not_found")
    return entity_id


# -- shipped -----------------------------------------------------------------------------------


def _ship(shipment: Shipment, order_no: str) -> dict[str, Any]:
    key = f"{mapping.shipment_key(shipment)}/{order_no}"
    lines = [line for line in shipment.shipment_lines if line.order_no == order_no]
    result, ran = idempotency.once("shipment", key, lambda: _create_shipment(shipment, order_no, lines))
    fresh = ran and not result["found"]
    count(Outcome.PROCESSED if fresh else Outcome.DUPLICATE)
    logger.info("Commerce shipment created" if fresh else "Commerce already has this shipment",
                extra={"order_no": order_no, **result})
    summary = {"order_no": order_no, "status": "shipped" if fresh else "duplicate", **result}
    if config.settings().invoice_on_shipment:
        capture, _ = idempotency.once("capture", key, lambda: _capture(shipment, order_no, result["entity_id"]))
        summary.update(capture)
    return summary


def _enterprise(shipment: Shipment | None, ref: OrderRef | None) -> str:
    return (shipment.enterprise_code.strip() if shipment else "") or (ref.enterprise_code if ref else "")


def _create_shipment(shipment: Shipment, order_no: str, lines: list[ShipmentLine]) -> dict[str, Any]:
    ref = state.get_order(order_no)
    client = _commerce(_enterprise(shipment, ref))
    entity_id = _entity_id(client, ref, order_no)
    ref_lines = ref.lines if ref else []
    order_items: list[dict[str, Any]] = []
    if mapping.needs_order_items(lines, ref_lines):
        order_items = client.get_order(entity_id).get("items") or []
    items = mapping.ship_items(lines, ref_lines, order_items)
    if not items:
        # An empty item list would make Commerce ship the whole order.
        raise PermanentError(f"shipment {mapping.shipment_key(shipment)} ships no quantity of order {order_no}",
                             system="mapping", code="nothing_to_ship")
    found = _existing(client, entity_id, shipment)
    if found is not None:
        return {"entity_id": entity_id, "commerce_shipment_id": found, "found": True}
    body = mapping.ship_body(shipment, items, notify=config.settings().shipment_notify)
    try:
        shipment_id = client.ship(entity_id, body)
    except AmbiguousCallError:
        found = _existing(client, entity_id, shipment)
        if found is None:
            raise  # Lambda retries; the next attempt looks again before it sends
        logger.warning("ship call timed out after Commerce created the shipment", extra={"order_no": order_no})
        shipment_id = found
    return {"entity_id": entity_id, "commerce_shipment_id": shipment_id, "found": False}


def _existing(client: CommerceClient, entity_id: int, shipment: Shipment) -> int | None:
    """The Commerce shipment already made from this Sterling shipment, if any."""
    ours = [item for item in client.list_shipments(entity_id) if mapping.is_ours(item, shipment)]
    return int(ours[0]["entity_id"]) if ours else None


def _capture(shipment: Shipment, order_no: str, entity_id: int) -> dict[str, Any]:
    ref = state.get_order(order_no)
    client = _commerce(_enterprise(shipment, ref))
    payment = ref.payment if ref else {}
    if not mapping.needs_capture(client.get_order(entity_id), payment):
        return {"captured": False, "invoice_id": None}
    body = mapping.invoice_body(shipment, notify=config.settings().shipment_notify)
    try:
        invoice_id: int | None = client.invoice(entity_id, body)
    except AmbiguousCallError:
        if mapping.needs_capture(client.get_order(entity_id), payment):
            raise
        invoice_id = None  # Commerce made the invoice but its id was lost with the answer
    logger.info("captured on shipment", extra={"order_no": order_no, "invoice_id": invoice_id})
    return {"captured": True, "invoice_id": invoice_id}


# -- created -----------------------------------------------------------------------------------


def _created(shipment: Shipment, order_no: str) -> dict[str, Any]:
    key = f"{mapping.shipment_key(shipment)}/{order_no}"
    result, ran = idempotency.once("shipment_created", key, lambda: _comment_created(shipment, order_no))
    count(Outcome.PROCESSED if ran else Outcome.DUPLICATE)
    logger.info("shipment created, commented" if ran else "shipment creation already commented",
                extra={"order_no": order_no, **result})
    return {"order_no": order_no, "status": "commented" if ran else "duplicate", **result}


def _comment_created(shipment: Shipment, order_no: str) -> dict[str, Any]:
    ref = state.get_order(order_no)
    client = _commerce(_enterprise(shipment, ref))
    entity_id = _entity_id(client, ref, order_no)
    text = mapping.created_comment(shipment, order_no)
    try:
        added = client.add_order_comment(entity_id, text)
    except AmbiguousCallError:
        histories = client.get_order(entity_id).get("status_histories") or []
        if not any(entry.get("comment") == text for entry in histories):
            raise
        added = True
    if not added:
        raise PermanentError(f"Commerce did not add the shipment-created comment to order {order_no}",
                             system="commerce", code="comment_refused")
    return {"entity_id": entity_id, "comment": text}


# -- BOPIS -------------------------------------------------------------------------------------


def _pickup(order_no: str) -> dict[str, Any]:
    result, ran = idempotency.once("pickup", order_no, lambda: _notify_pickup(order_no))
    fresh = ran and not result["found"]
    count(Outcome.PROCESSED if fresh else Outcome.DUPLICATE)
    logger.info("ready-for-pickup notified" if fresh else "Commerce already shipped this pickup order",
                extra={"order_no": order_no, **result})
    return {"order_no": order_no, "status": "ready_for_pickup" if fresh else "duplicate", **result}


def _notify_pickup(order_no: str) -> dict[str, Any]:
    ref = state.get_order(order_no)
    client = _commerce(_enterprise(None, ref))
    entity_id = _entity_id(client, ref, order_no)
    try:
        client.notify_ready_for_pickup([entity_id])
    except (AmbiguousCallError, PermanentError) as exc:
        # Commerce answers a second notice "not ready": it shipped the order with the first one.
        retry_or_refused = isinstance(exc, AmbiguousCallError) or exc.code == "not_ready_for_pickup"
        if not retry_or_refused or not client.list_shipments(entity_id):
            raise
        return {"entity_id": entity_id, "found": True}
    return {"entity_id": entity_id, "found": False}
