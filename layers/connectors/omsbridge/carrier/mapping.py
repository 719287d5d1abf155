"""Sterling shipments ↔ carrier parcels. Pure: documents in, requests and bodies out.

* A ``shipment.ready_to_ship`` Shipment → one :class:`BookingRequest` per container still without a
  tracking number (a shipment packed into no container is one parcel, ``<ShipmentNo>-1``).
* The labels → the Sterling ``changeShipment`` that writes tracking numbers, SCAC and the label
  reference back (the reference as a shipment note: Sterling has no container attribute for it).
* A tracking update → the Sterling shipment note and the Commerce order comment that record it.
  Texts come from the ``carrier_messages`` mapping table.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from omsbridge.carrier.models import BookingRequest, Label, PackageItem, TrackingUpdate, address_from_person_info
from omsbridge.errors import PermanentError
from omsbridge.events import ECHO_MARKER
from omsbridge.mapping.tables import table
from omsbridge.sterling.models import Container, Shipment

RECORDED = frozenset({"delivered", "exception"})


def blank(value: str) -> bool:
    """Sterling writes an unset attribute as ``" "``."""
    return not value.strip()


def shipment_identity(shipment: Shipment) -> dict[str, str]:
    """How Sterling APIs find this shipment: its key, else ShipmentNo + ShipNode + seller."""
    if not blank(shipment.shipment_key):
        return {"ShipmentKey": shipment.shipment_key.strip()}
    identity = {"ShipmentNo": shipment.shipment_no.strip(), "ShipNode": shipment.ship_node.strip()}
    seller = shipment.seller_organization_code.strip() or shipment.enterprise_code.strip()
    if seller:
        identity["SellerOrganizationCode"] = seller
    return identity


def shipment_name(shipment: Shipment) -> str:
    return f"{shipment.ship_node.strip()}/{shipment.shipment_no.strip()}"


def _decimal(value: Any) -> Decimal | None:
    try:
        parsed = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return parsed if parsed > 0 else None


def _items(shipment: Shipment, container: Container | None, only_container: bool) -> list[PackageItem]:
    """What the parcel holds: the container's details; the whole shipment when it is the only one."""
    sku_of_line = {line.shipment_line_key: line.item_id.strip() for line in shipment.shipment_lines}
    if container is not None and container.details:
        return [PackageItem(sku=detail.item_id.strip() or sku_of_line.get(detail.shipment_line_key, ""),
                            quantity=detail.quantity) for detail in container.details if detail.quantity > 0]
    if only_container:
        return [PackageItem(sku=line.item_id.strip(), quantity=line.quantity)
                for line in shipment.shipment_lines if line.quantity > 0]
    return []


def booking_requests(shipment: Shipment) -> list[BookingRequest]:
    """One booking per container that has no tracking number yet."""
    if blank(shipment.shipment_no) or blank(shipment.ship_node):
        raise PermanentError("ready-to-ship shipment has no ShipmentNo and ShipNode: cannot name its parcels",
                             system="mapping", code="incomplete_shipment")
    ship_to = address_from_person_info(shipment.to_address.model_dump(by_alias=True))
    containers: Sequence[Container | None] = shipment.containers or [None]
    requests = []
    for container in containers:
        if container is not None and not blank(container.tracking_no):
            continue
        extra = (container.model_extra or {}) if container is not None else {}
        requests.append(BookingRequest(
            ship_node=shipment.ship_node.strip(),
            shipment_no=shipment.shipment_no.strip(),
            container_no=(container.container_no.strip() if container is not None else "")
            or f"{shipment.shipment_no.strip()}-1",
            scac=(container.scac.strip() if container is not None else "") or shipment.scac.strip(),
            service_code=(container.carrier_service_code.strip() if container is not None else "")
            or shipment.carrier_service_code.strip(),
            ship_to=ship_to,
            items=_items(shipment, container, len(containers) == 1),
            weight=_decimal(extra.get("ContainerGrossWeight", "")),
            weight_uom=str(extra.get("ContainerGrossWeightUOM") or "").strip(),
        ))
    return requests


class _Fill(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def render(template: str, values: Mapping[str, str]) -> str:
    """A message from the table; a placeholder without a value is left empty."""
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    text = template.format_map(_Fill({name: values.get(name, "") for name in names}))
    return " ".join(text.split())


def writeback_body(shipment: Shipment, booked: Sequence[tuple[BookingRequest, Label]]) -> dict[str, Any]:
    """changeShipment: each container's tracking number and carrier, and a note per label."""
    row = table("carrier_messages")["label"]
    first = booked[0][1]
    body: dict[str, Any] = shipment_identity(shipment)
    # The shipment's own carrier stays as Sterling planned it; a blank one takes the carrier's answer.
    if blank(shipment.scac):
        body["SCAC"] = first.scac
        if first.service_code:
            body["CarrierServiceCode"] = first.service_code
    if blank(shipment.tracking_no):
        body["TrackingNo"] = first.tracking_no
    containers = []
    for request, label in booked:
        container = {"ContainerNo": request.container_no, "TrackingNo": label.tracking_no, "SCAC": label.scac}
        if label.service_code:
            container["CarrierServiceCode"] = label.service_code
        containers.append(container)
    body["Containers"] = {"Container": containers}
    body["Notes"] = {"Note": [
        {"NoteText": render(row["note"], {**label.model_dump(), "container_no": request.container_no}),
         "ReasonCode": row["reason_code"]}
        for request, label in booked
    ]}
    return body


def written_back(shipment: Shipment, booked: Sequence[tuple[BookingRequest, Label]]) -> bool:
    """Whether Sterling's shipment already carries every label's tracking number."""
    tracked = {container.container_no.strip(): container.tracking_no.strip() for container in shipment.containers}
    return all(tracked.get(request.container_no) == label.tracking_no for request, label in booked)


def carrier_title(scac: str) -> str:
    row = table("scac_carriers").get(scac)
    return str(row["title"]) if isinstance(row, dict) and row.get("title") else scac


def _values(update: TrackingUpdate, shipment: Shipment, container_no: str) -> dict[str, str]:
    container = next((c for c in shipment.containers if c.container_no.strip() == container_no), None)
    scac = (container.scac.strip() if container is not None else "") or shipment.scac.strip()
    return {"tracking_no": update.tracking_no, "scac": scac, "carrier": carrier_title(scac),
            "container_no": container_no, "shipment_no": shipment.shipment_no.strip(),
            "occurred_at": update.occurred_at, "description": update.description}


def tracking_note_body(update: TrackingUpdate, shipment: Shipment, container_no: str) -> dict[str, Any]:
    """changeShipment adding the shipment note that records a delivery or an exception."""
    row = table("carrier_messages")[update.status]
    note = {"NoteText": render(row["note"], _values(update, shipment, container_no)), "ReasonCode": row["reason_code"]}
    return {**shipment_identity(shipment), "Notes": {"Note": [note]}}


def tracking_comment(update: TrackingUpdate, shipment: Shipment, container_no: str) -> tuple[str, bool]:
    """The Commerce order comment (marked as ours) and whether the customer sees it."""
    row = table("carrier_messages")[update.status]
    text = render(row["comment"], _values(update, shipment, container_no))
    return f"{ECHO_MARKER} {text}", bool(row.get("visible_on_front", False))


def has_note(shipment: Shipment, note_text: str) -> bool:
    """Whether Sterling's shipment already carries this note (after a call whose answer was lost)."""
    notes = (shipment.model_extra or {}).get("Notes")
    entries = notes.get("Note") if isinstance(notes, dict) else None
    rows = entries if isinstance(entries, list) else [entries] if isinstance(entries, dict) else []
    return any(isinstance(row, dict) and row.get("NoteText") == note_text for row in rows)
