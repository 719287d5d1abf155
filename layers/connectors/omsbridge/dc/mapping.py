"""Sterling releases and shipments ↔ the WMS. Pure: documents in, requests and bodies out.

* ``order.released`` OrderRelease → the :class:`WmsOrder` handed to the DC.
* A shipped / short-pick confirmation → Sterling ``createShipment`` (when Sterling has no open
  shipment for the release yet) and ``confirmShipment`` with what shipped, per container, and the
  short quantity backordered or cancelled (``DC_SHORT_PICK``).
* A cancelled confirmation → Sterling ``changeRelease`` cancelling the quantities.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Literal

from omsbridge.carrier.mapping import shipment_identity
from omsbridge.carrier.models import address_from_person_info
from omsbridge.carrier.rest import number
from omsbridge.dc.models import ConfirmedContainer, ConfirmedLine, DcConfirmation, WmsLine, WmsOrder
from omsbridge.errors import ValidationError
from omsbridge.sterling.models import OrderLine, OrderRelease, Shipment, ShipmentLine, status_at_least

SHIPPED = "1400"
CANCELLED = "9000"
ShortPick = Literal["backorder", "cancel"]


def quantity(value: Decimal) -> str:
    """A Sterling quantity attribute: ``Decimal("2.00")`` → ``"2"``."""
    return str(number(value))


def wms_order(release: OrderRelease) -> WmsOrder:
    """The release's lines with released quantity, its ship-to and its carrier."""
    return WmsOrder(
        release_key=release.order_release_key.strip(),
        order_no=release.order_no.strip(),
        release_no=release.release_no.strip(),
        ship_node=release.ship_node.strip(),
        scac=release.scac.strip(),
        service_code=release.carrier_service_code.strip(),
        ship_to=address_from_person_info(release.person_info_ship_to.model_dump(by_alias=True)),
        lines=[WmsLine(line_ref=line.order_line_key.strip(), prime_line_no=line.prime_line_no.strip(),
                       sub_line_no=line.sub_line_no.strip() or "1", sku=line.item.item_id.strip(),
                       unit_of_measure=line.item.unit_of_measure.strip() or "EACH", quantity=line.status_quantity)
               for line in release.order_lines if line.status_quantity > 0],
    )


# -- confirmations against the release ------------------------------------------------------------


def release_line(release: OrderRelease, confirmed: ConfirmedLine) -> OrderLine:
    """The release line a confirmed line names (by line_ref, else by PrimeLineNo/SubLineNo)."""
    for line in release.order_lines:
        if confirmed.line_ref and line.order_line_key.strip() == confirmed.line_ref:
            return line
        if not confirmed.line_ref and line.prime_line_no.strip() == confirmed.prime_line_no and (
                line.sub_line_no.strip() or "1") == (confirmed.sub_line_no or "1"):
            return line
    raise ValidationError(f"line {confirmed.describe()} is not a line of release {release.order_release_key.strip()}",
                          system="dc", code="unknown_line")


def check(confirmation: DcConfirmation, release: OrderRelease) -> None:
    """Refuse, before anything is written to Sterling, a confirmation about another node or order
    than the release's, naming lines or items the release does not have, or cancelling more than
    it holds."""
    for given, actual, name in ((confirmation.ship_node, release.ship_node.strip(), "ship_node"),
                                (confirmation.order_no, release.order_no.strip(), "order_no")):
        if given and given != actual:
            raise ValidationError(f"{name} {given!r} does not match release {confirmation.release_key} ({actual!r})",
                                  system="dc", code="mismatch")
    for confirmed in confirmation.lines:
        line = release_line(release, confirmed)
        if confirmed.quantity and confirmed.shipped > confirmed.quantity:
            raise ValidationError(f"line {confirmed.describe()} ships more than it accounts for", system="dc",
                                  code="over_shipped")
        if confirmed.cancelled > line.status_quantity:
            raise ValidationError(f"line {confirmed.describe()} cancels {number(confirmed.cancelled)}, more than "
                                  f"release {confirmation.release_key} holds ({number(line.status_quantity)})",
                                  system="dc", code="over_cancelled")
    keys = {line.order_line_key.strip() for line in release.order_lines}
    skus = {line.item.item_id.strip() for line in release.order_lines}
    for box in confirmation.containers:
        for item in box.items:
            if (item.line_ref and item.line_ref not in keys) or (not item.line_ref and item.sku not in skus):
                raise ValidationError(f"container {box.container_no} holds {item.line_ref or item.sku!r}, which is "
                                      f"not in release {confirmation.release_key}", system="dc", code="unknown_line")


def _release_lines(shipment: Shipment, release_key: str) -> list[ShipmentLine]:
    return [line for line in shipment.shipment_lines if line.order_release_key.strip() == release_key]


def is_open(shipment: Shipment) -> bool:
    status = shipment.status.strip()
    return not status or not status_at_least(status, SHIPPED)


def is_shipped(shipment: Shipment) -> bool:
    status = shipment.status.strip()
    return bool(status) and status_at_least(status, SHIPPED) and not status_at_least(status, CANCELLED)


def open_shipment(shipments: Sequence[Shipment], release_key: str) -> Shipment | None:
    """The open Sterling shipment holding this release's lines, if there is one.

    A shipment that also holds other releases' lines is refused: confirming or cancelling it would
    act on lines this confirmation does not speak for.
    """
    for shipment in shipments:
        ours = _release_lines(shipment, release_key)
        if not ours or not is_open(shipment):
            continue
        if len(ours) != len(shipment.shipment_lines):
            raise ValidationError(f"Sterling shipment {shipment.shipment_no.strip()} holds lines of other releases "
                                  f"besides {release_key}: confirm it in Sterling", system="dc", code="mixed_shipment")
        return shipment
    return None


def create_shipment_body(release: OrderRelease, confirmation: DcConfirmation) -> dict[str, Any]:
    """createShipment (not confirmed yet) of the quantities the confirmation accounts for."""
    extra = release.model_extra or {}
    first = confirmation.containers[0] if confirmation.containers else None
    scac = (first.scac if first else "") or release.scac.strip()
    service = (first.service_code if first else "") or release.carrier_service_code.strip()
    body: dict[str, Any] = {
        "ShipmentNo": confirmation.shipment_no,
        "ShipNode": release.ship_node.strip(),
        "EnterpriseCode": release.enterprise_code.strip(),
        "DocumentType": release.document_type.strip() or "0001",
        "SellerOrganizationCode": str(extra.get("SellerOrganizationCode") or release.enterprise_code).strip(),
    }
    if scac:
        body["SCAC"] = scac
    if service:
        body["CarrierServiceCode"] = service
    lines = []
    for number_, confirmed in enumerate(confirmation.lines, start=1):
        line = release_line(release, confirmed)
        covered = confirmed.quantity or line.status_quantity
        lines.append({"OrderHeaderKey": release.order_header_key.strip(), "OrderLineKey": line.order_line_key.strip(),
                      "OrderReleaseKey": release.order_release_key.strip(), "Quantity": quantity(covered),
                      "ShipmentLineNo": str(number_), "ShipmentSubLineNo": "0"})
    body["ShipmentLines"] = {"ShipmentLine": lines}
    return body


def _shipped_per_line(shipment: Shipment, release: OrderRelease, confirmation: DcConfirmation) -> dict[str, Decimal]:
    """Shipped quantity per ShipmentLineKey: each confirmed line's shipped quantity spread over the
    shipment lines of its order line; a shipment line no confirmed line names shipped nothing."""
    shipped = {line.shipment_line_key.strip(): Decimal(0) for line in shipment.shipment_lines}
    for confirmed in confirmation.lines:
        order_line_key = release_line(release, confirmed).order_line_key.strip()
        targets = [line for line in shipment.shipment_lines if line.order_line_key.strip() == order_line_key]
        if not targets:
            raise ValidationError(f"line {confirmed.describe()} is not in Sterling shipment "
                                  f"{shipment.shipment_no.strip()}", system="dc", code="unknown_line")
        left = confirmed.shipped
        for target in targets:
            key = target.shipment_line_key.strip()
            take = min(left, target.quantity - shipped[key])
            shipped[key] += take
            left -= take
        if left > 0:
            raise ValidationError(f"line {confirmed.describe()} ships {number(confirmed.shipped)}, more than Sterling "
                                  f"shipment {shipment.shipment_no.strip()} holds", system="dc", code="over_shipped")
    return shipped


def _line_key_for(shipment: Shipment, release: OrderRelease, confirmation: DcConfirmation, line_ref: str,
                  sku: str) -> str:
    """The ShipmentLineKey a container item packs (by line_ref, else by SKU)."""
    for line in shipment.shipment_lines:
        if line_ref and line.order_line_key.strip() == line_ref:
            return line.shipment_line_key.strip()
    for line in shipment.shipment_lines:
        if not line_ref and sku and line.item_id.strip() == sku:
            return line.shipment_line_key.strip()
    raise ValidationError(f"container item {line_ref or sku!r} is not in Sterling shipment "
                          f"{shipment.shipment_no.strip()} of release {confirmation.release_key}",
                          system="dc", code="unknown_line")


def _container(shipment: Shipment, release: OrderRelease, confirmation: DcConfirmation, box: ConfirmedContainer,
               shipped: dict[str, Decimal]) -> dict[str, Any]:
    item_of = {line.shipment_line_key.strip(): line.item_id.strip() for line in shipment.shipment_lines}
    if box.items:
        details = [(_line_key_for(shipment, release, confirmation, item.line_ref, item.sku), item.quantity)
                   for item in box.items]
    elif len(confirmation.containers) == 1:
        details = [(key, qty) for key, qty in shipped.items() if qty > 0]  # the only box holds everything
    else:
        details = []
    container: dict[str, Any] = {"ContainerNo": box.container_no}
    if box.tracking_no:
        container["TrackingNo"] = box.tracking_no
    if box.scac:
        container["SCAC"] = box.scac
    if box.service_code:
        container["CarrierServiceCode"] = box.service_code
    if details:
        container["ContainerDetails"] = {"ContainerDetail": [
            {"ShipmentLineKey": key, "ItemID": item_of[key], "Quantity": quantity(qty)} for key, qty in details]}
    return container


def short_lines(shipment: Shipment, release: OrderRelease, confirmation: DcConfirmation) -> list[str]:
    """ShipmentLineKeys shipping less than the shipment holds."""
    shipped = _shipped_per_line(shipment, release, confirmation)
    return [line.shipment_line_key.strip() for line in shipment.shipment_lines
            if shipped[line.shipment_line_key.strip()] < line.quantity]


def confirm_body(shipment: Shipment, release: OrderRelease, confirmation: DcConfirmation,
                 short_pick: ShortPick) -> dict[str, Any]:
    """confirmShipment: shipped quantity per line, the containers with tracking, and what happens
    to quantity that did not ship."""
    shipped = _shipped_per_line(shipment, release, confirmation)
    body: dict[str, Any] = {
        **shipment_identity(shipment),
        "ShipmentLines": {"ShipmentLine": [
            {"ShipmentLineKey": key, "Quantity": quantity(qty)} for key, qty in shipped.items()]},
    }
    if confirmation.containers:
        body["Containers"] = {"Container": [_container(shipment, release, confirmation, box, shipped)
                                            for box in confirmation.containers]}
    if confirmation.occurred_at:
        body["ActualShipmentDate"] = confirmation.occurred_at
    if any(shipped[line.shipment_line_key.strip()] < line.quantity for line in shipment.shipment_lines):
        body["BackOrderNonShippedQuantity" if short_pick == "backorder" else "CancelNonShippedQuantity"] = "Y"
    return body


def cancel_body(release: OrderRelease, confirmation: DcConfirmation) -> dict[str, Any]:
    """changeRelease cancelling each line's cancelled quantity."""
    lines = []
    for confirmed in confirmation.lines:
        if confirmed.cancelled <= 0:
            continue
        line = release_line(release, confirmed)
        lines.append({"OrderLineKey": line.order_line_key.strip(), "PrimeLineNo": line.prime_line_no.strip(),
                      "SubLineNo": line.sub_line_no.strip() or "1", "Action": "CANCEL",
                      "StatusQuantity": quantity(confirmed.cancelled)})
    body: dict[str, Any] = {"OrderReleaseKey": release.order_release_key.strip(),
                            "OrderHeaderKey": release.order_header_key.strip()}
    if confirmation.reason:
        body["ModificationReasonText"] = confirmation.reason
    body["OrderLines"] = {"OrderLine": lines}
    return body


def cancel_applied(before: OrderRelease, after: OrderRelease, confirmation: DcConfirmation) -> bool:
    """Whether Sterling's release shows the cancellation (after a call whose answer was lost)."""
    for confirmed in confirmation.lines:
        if confirmed.cancelled <= 0:
            continue
        was = release_line(before, confirmed).status_quantity
        now = release_line(after, confirmed).status_quantity
        if now > was - confirmed.cancelled:
            return False
    return True


def cancel_shipment_body(shipment: Shipment) -> dict[str, Any]:
    """changeShipment cancelling the open shipment of a release the DC cancels (its lines go back
    to Released, where changeRelease can cancel them)."""
    return {**shipment_identity(shipment), "Action": "Cancel"}

