"""Carrier labels and tracking (CarrierFunction).

``shipment.ready_to_ship`` (a packed Sterling shipment):

1. Each container without a tracking number is booked with the carrier, exactly once per
   ``ShipNode/ShipmentNo/ContainerNo`` (idempotency scope ``carrier_label``; the same key goes to the
   carrier as its idempotency key, so a resend after a timeout books nothing twice).
2. Sterling ``changeShipment`` gets every container's tracking number and carrier and a note with
   the label reference, once per shipment and set of containers (scope ``carrier_writeback``). Its
   answer lost to a timeout, the shipment is read back before anything is sent again.

``POST /callbacks/carrier`` (signed by the carrier, see ``omsbridge.carrier.signing``): a
``delivered`` or ``exception`` event becomes a note on the Sterling shipment and a comment on each
Commerce order it ships (starting with ``ECHO_MARKER``), each exactly once per carrier event id.
Progress scans are acknowledged and not recorded.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from omsbridge import carrier, enterprises, idempotency, state
from omsbridge.carrier import BookingRequest, Label, SignatureError, TrackingUpdate
from omsbridge.carrier import mapping as carrier_mapping
from omsbridge.errors import PermanentError, RetryableError, ValidationError
from omsbridge.events import STERLING_SOURCE, EventBridgeEvent, SterlingEvent
from omsbridge.flows.ingress import Answer, reject
from omsbridge.http import AmbiguousCallError
from omsbridge.observability import Outcome, correlate, count, logger
from omsbridge.sterling.models import Shipment

if TYPE_CHECKING:
    from omsbridge.commerce import CommerceClient
    from omsbridge.sterling import SterlingClient

READY_TO_SHIP = "shipment.ready_to_ship"


def _sterling() -> SterlingClient:
    from omsbridge import sterling

    return sterling.client()


def _commerce(enterprise_code: str = "") -> CommerceClient:
    """Commerce as seen by the shipment's enterprise (its website's REST store code)."""
    from omsbridge import commerce

    return commerce.client_for(enterprise_code)


# -- labels ------------------------------------------------------------------------------------


def handle(event: EventBridgeEvent) -> dict[str, Any]:
    if event.source != STERLING_SOURCE or event.detail_type != READY_TO_SHIP:
        raise ValidationError(f"not a Sterling ready-to-ship event: {event.source} {event.detail_type}")
    detail = SterlingEvent.model_validate(event.detail)
    shipment = Shipment.model_validate(detail.data)
    correlate(shipment.shipment_no.strip() or detail.id)
    if not shipment.shipment_lines:
        # A thin event (key and number only): the parcels' contents and address come from Sterling.
        shipment = _details(shipment)
    requests = carrier_mapping.booking_requests(shipment)
    name = carrier_mapping.shipment_name(shipment)
    if not requests:
        count(Outcome.DUPLICATE)
        logger.info("every container already has a tracking number", extra={"shipment": name})
        return {"shipment": name, "status": "already_labelled", "labels": []}
    if any(not request.scac for request in requests):
        count(Outcome.UNMAPPED)
        logger.warning("shipment has no SCAC: booked with the carrier's default service", extra={"shipment": name})
    booked = [(request, _book(request)) for request in requests]
    key = f"{name}/" + ",".join(request.container_no for request in requests)
    _, wrote = idempotency.once("carrier_writeback", key, lambda: _write_back(shipment, booked))
    fresh = wrote or any(ran for _, (_, ran) in booked)
    count(Outcome.PROCESSED if fresh else Outcome.DUPLICATE)
    labels = [{"container_no": request.container_no, "tracking_no": label.tracking_no, "scac": label.scac,
               "label_reference": label.label_reference, "booked": ran} for request, (label, ran) in booked]
    logger.info("labels written to Sterling" if wrote else "labels already in Sterling",
                extra={"shipment": name, "labels": labels})
    return {"shipment": name, "status": "labelled" if fresh else "duplicate", "labels": labels}


def _details(shipment: Shipment) -> Shipment:
    key, number, node = shipment.shipment_key.strip(), shipment.shipment_no.strip(), shipment.ship_node.strip()
    if not key and not (number and node):
        raise PermanentError("ready-to-ship event names no shipment (no ShipmentKey, no ShipmentNo + ShipNode)",
                             system="sterling", code="incomplete_event")
    shipment = _sterling().get_shipment_details(key or None, shipment_no=number or None, ship_node=node or None)
    enterprises.check(shipment, f"shipment {key or f'{node}/{number}'}")
    return shipment


def _book(request: BookingRequest) -> tuple[Label, bool]:
    result, ran = idempotency.once(
        "carrier_label", request.reference, lambda: carrier.adapter().book_shipment(request).model_dump())
    return Label.model_validate(result), ran


def _write_back(shipment: Shipment, booked: list[tuple[BookingRequest, tuple[Label, bool]]]) -> dict[str, Any]:
    labels = [(request, label) for request, (label, _) in booked]
    client = _sterling()
    try:
        client.change_shipment(carrier_mapping.writeback_body(shipment, labels))
    except AmbiguousCallError:
        current = client.get_shipment_details(
            shipment.shipment_key.strip() or None, shipment_no=shipment.shipment_no.strip(),
            ship_node=shipment.ship_node.strip())
        if not carrier_mapping.written_back(current, labels):
            raise
        logger.warning("changeShipment timed out after Sterling applied it")
    return {"containers": [request.container_no for request, _ in labels]}


# -- tracking callbacks ------------------------------------------------------------------------


def accept_tracking(headers: Mapping[str, str], raw: bytes) -> Answer:
    """``POST /callbacks/carrier``: 200 when recorded (or already recorded / not worth recording),
    401 unsigned, 400 malformed, 422 when it names no shipment we know, 503 to be sent again."""
    try:
        adapter = carrier.adapter()
    except PermanentError as exc:
        # Nothing to verify the caller with: refused, and the carrier sends again once configured.
        return reject(503, "not_configured", exc.reason)
    try:
        updates = adapter.parse_tracking_callback(headers, raw)
    except SignatureError as exc:
        return reject(401, "unauthenticated", str(exc))
    except ValidationError as exc:
        return reject(400, exc.code or "invalid_callback", exc.reason)
    results = []
    for update in updates:
        correlate(update.tracking_no)
        try:
            results.append(_track(update))
        except ValidationError as exc:
            return reject(400, "invalid_callback", exc.reason)
        except PermanentError as exc:
            count(Outcome.PERMANENT_FAILURE)
            logger.error("tracking event not recorded", extra={"event_id": update.event_id, **exc.describe()})
            return reject(422, "unprocessable", exc.reason)
        except RetryableError as exc:
            count(Outcome.RETRIED)
            logger.warning("tracking event to be sent again", extra={"event_id": update.event_id, **exc.describe()})
            return Answer(503, {"error": "unavailable", "reason": exc.reason})
    return Answer(200, {"accepted": len(results), "results": results})


def _track(update: TrackingUpdate) -> dict[str, Any]:
    summary: dict[str, Any] = {"event_id": update.event_id, "tracking_no": update.tracking_no,
                               "status": update.status}
    if update.status not in carrier_mapping.RECORDED:
        count("tracking_ignored")
        return {**summary, "result": "ignored"}
    node, shipment_no, container_no = carrier.parse_reference(update.reference)
    # The event as a whole once (a resent event costs no call), and each write once, so that a
    # retry after a partial failure does only what is left.
    recorded, fresh = idempotency.once("carrier_tracking", update.event_id,
                                       lambda: _record(update, node, shipment_no, container_no))
    count(Outcome.PROCESSED if fresh else Outcome.DUPLICATE)
    logger.info("tracking event recorded" if fresh else "tracking event already recorded",
                extra={"event_id": update.event_id, **recorded})
    return {**summary, "result": "recorded" if fresh else "duplicate", **recorded}


def _record(update: TrackingUpdate, node: str, shipment_no: str, container_no: str) -> dict[str, Any]:
    shipment = _sterling().get_shipment_details(shipment_no=shipment_no, ship_node=node)
    enterprises.check(shipment, f"shipment {node}/{shipment_no}")
    idempotency.once("carrier_note", update.event_id, lambda: _note(update, shipment, container_no))
    commented = [idempotency.once("carrier_comment", f"{update.event_id}/{order_no}",
                                  functools.partial(_comment, update, shipment, container_no, order_no))
                 for order_no in shipment.order_nos]
    return {"shipment": f"{node}/{shipment_no}", "orders": [result["order_no"] for result, _ in commented]}


def _note(update: TrackingUpdate, shipment: Shipment, container_no: str) -> dict[str, Any]:
    body = carrier_mapping.tracking_note_body(update, shipment, container_no)
    client = _sterling()
    try:
        client.change_shipment(body)
    except AmbiguousCallError:
        current = client.get_shipment_details(shipment.shipment_key.strip() or None,
                                              shipment_no=shipment.shipment_no.strip(),
                                              ship_node=shipment.ship_node.strip())
        if not carrier_mapping.has_note(current, body["Notes"]["Note"][0]["NoteText"]):
            raise
    return {"noted": True}


def _comment(update: TrackingUpdate, shipment: Shipment, container_no: str, order_no: str) -> dict[str, Any]:
    ref = state.get_order(order_no)
    client = _commerce(shipment.enterprise_code.strip() or (ref.enterprise_code if ref else ""))
    entity_id = ref.entity_id if ref is not None and ref.entity_id is not None else client.find_order_entity_id(
        order_no)
    if entity_id is None:
        raise PermanentError(f"Commerce has no order {order_no}", system="commerce", code="order_not_found")
    text, visible = carrier_mapping.tracking_comment(update, shipment, container_no)
    try:
        client.add_order_comment(entity_id, text, visible=visible)
    except AmbiguousCallError:
        histories = client.get_order(entity_id).get("status_histories") or []
        if not any(entry.get("comment") == text for entry in histories):
            raise
    return {"order_no": order_no, "entity_id": entity_id}
