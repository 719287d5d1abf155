"""Sterling shipment ↔ carrier parcel mapping, pinned case by case: the carrier bookings a packed
shipment makes (as the generic carrier receives them), the changeShipment that writes labels back,
and the note and comment a tracking event becomes."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest

from omsbridge.carrier import BookingRequest, Label, TrackingUpdate, parse_reference
from omsbridge.carrier import mapping as m
from omsbridge.carrier.generic import booking_body
from omsbridge.carrier.models import Address, TrackingStatus, address_from_person_info
from omsbridge.errors import PermanentError, ValidationError
from omsbridge.sterling.models import Shipment

TO = {"FirstName": "Jane", "LastName": "Doe", "AddressLine1": "100 Example Street", "AddressLine2": "Suite 5",
      "City": "Austin", "State": "TX", "ZipCode": "78701", "Country": "US", "DayPhone": "555-0100",
      "EMailID": "jane.doe@example.com", "AddressLine3": " ", "Company": " "}
SHIP_TO = {"name": "Jane Doe", "company": "", "lines": ["100 Example Street", "Suite 5"], "city": "Austin",
           "state": "TX", "postal_code": "78701", "country": "US", "phone": "555-0100",
           "email": "jane.doe@example.com"}
LINES = [
    {"ShipmentLineKey": "SL1", "OrderNo": "000000101", "PrimeLineNo": "1", "ItemID": "MUG", "Quantity": "3.00"},
    {"ShipmentLineKey": "SL2", "OrderNo": "000000101", "PrimeLineNo": "2", "ItemID": "TEE", "Quantity": "1.00"},
]


def shipment(containers: list[dict[str, Any]] | None, **header: Any) -> Shipment:
    document: dict[str, Any] = {"ShipmentKey": "SK1", "ShipmentNo": "SH1", "ShipNode": "DC_EAST",
                                "SellerOrganizationCode": "DEFAULT", "SCAC": "UPSN",
                                "CarrierServiceCode": "UPSNGround", "TrackingNo": " ", "ToAddress": TO,
                                "ShipmentLines": {"ShipmentLine": LINES}, **header}
    if containers is not None:
        document["Containers"] = {"Container": containers}
    return Shipment.model_validate(document)


def box(number: str, details: Sequence[tuple[str, str, str]] = (), **extra: str) -> dict[str, Any]:
    found: dict[str, Any] = {"ContainerNo": number, "TrackingNo": " ", **extra}
    if details:
        found["ContainerDetails"] = {"ContainerDetail": [
            {"ItemID": item, "ShipmentLineKey": key, "Quantity": qty} for item, key, qty in details]}
    return found


def parcel(container: str, items: list[tuple[str, int]], *, reference: str | None = None,
           service: dict[str, str] | None = None, weight: dict[str, Any] | None = None) -> dict[str, Any]:
    package: dict[str, Any] = {"container_no": container, "items": [{"sku": s, "quantity": q} for s, q in items]}
    if weight is not None:
        package["weight"] = weight
    body: dict[str, Any] = {"reference": reference or f"DC_EAST/SH1/{container}", "ship_from": {"node": "DC_EAST"},
                            "ship_to": SHIP_TO, "package": package}
    if service is not None:
        body["service"] = service
    return body


UPS_GROUND = {"scac": "UPSN", "service_code": "UPSNGround"}

BOOKINGS: list[tuple[str, Shipment, list[dict[str, Any]]]] = [
    ("two packed boxes, one weighed", shipment([
        box("C1", [("MUG", "SL1", "2.00")], ContainerGrossWeight="1.50", ContainerGrossWeightUOM="LBS"),
        box("C2", [("", "SL1", "1.00"), ("TEE", "SL2", "1.00")])]),
     [parcel("C1", [("MUG", 2)], service=UPS_GROUND, weight={"value": 1.5, "unit": "LBS"}),
      parcel("C2", [("MUG", 1), ("TEE", 1)], service=UPS_GROUND)]),
    ("a box that already has a tracking number is not booked again", shipment([
        box("C1", [("MUG", "SL1", "3.00")], TrackingNo="1Z-EXISTING"), box("C2", [("TEE", "SL2", "1.00")])]),
     [parcel("C2", [("TEE", 1)], service=UPS_GROUND)]),
    ("not packed into containers: one parcel of everything", shipment(None),
     [parcel("SH1-1", [("MUG", 3), ("TEE", 1)], service=UPS_GROUND)]),
    ("the only box, without details, holds everything", shipment([box("C1")]),
     [parcel("C1", [("MUG", 3), ("TEE", 1)], service=UPS_GROUND)]),
    ("of two boxes, one without details: its contents are unknown", shipment([
        box("C1", [("MUG", "SL1", "3.00")]), box("C2")]),
     [parcel("C1", [("MUG", 3)], service=UPS_GROUND), parcel("C2", [], service=UPS_GROUND)]),
    ("a box's own carrier wins over the shipment's", shipment([
        box("C1", [("MUG", "SL1", "3.00")], SCAC="FDEG", CarrierServiceCode="FedEx Ground")]),
     [parcel("C1", [("MUG", 3)], service={"scac": "FDEG", "service_code": "FedEx Ground"})]),
    ("no carrier at all: the carrier's default service", shipment(None, SCAC=" ", CarrierServiceCode=" "),
     [parcel("SH1-1", [("MUG", 3), ("TEE", 1)])]),
    ("a / in a ShipmentNo is escaped in the reference", shipment(None, ShipmentNo="SH/1"),
     [{**parcel("SH/1-1", [("MUG", 3), ("TEE", 1)], service=UPS_GROUND), "reference": "DC_EAST/SH%2F1/SH%2F1-1"}]),
]


@pytest.mark.parametrize(("case", "document", "expected"), BOOKINGS, ids=[case for case, _, _ in BOOKINGS])
def test_bookings_of_a_ready_to_ship_shipment(case: str, document: Shipment, expected: list[dict[str, Any]]) -> None:
    assert [booking_body(request) for request in m.booking_requests(document)] == expected


def test_a_shipment_without_number_or_node_cannot_name_its_parcels() -> None:
    with pytest.raises(PermanentError, match="no ShipmentNo and ShipNode"):
        m.booking_requests(shipment(None, ShipmentNo=" "))


@pytest.mark.parametrize("reference", ["DC_EAST/SH1/C1", "A%2FB/SH%2F1/C%201"])
def test_a_reference_names_node_shipment_and_container(reference: str) -> None:
    node, number, container = parse_reference(reference)
    request = BookingRequest(ship_node=node, shipment_no=number, container_no=container,
                             ship_to=Address(), items=[])
    assert request.reference == reference


@pytest.mark.parametrize("reference", ["", "DC_EAST/SH1", "DC_EAST/SH1/C1/x", "DC_EAST//C1", "someone-else"])
def test_a_reference_we_did_not_make_is_invalid(reference: str) -> None:
    with pytest.raises(ValidationError, match="not a parcel this integration booked"):
        parse_reference(reference)


def test_sterling_person_info_becomes_an_address() -> None:
    assert address_from_person_info({**TO, "MiddleName": "Q", "DayPhone": " ", "MobilePhone": "555-0199"}) == Address(
        name="Jane Q Doe", lines=["100 Example Street", "Suite 5"], city="Austin", state="TX", postal_code="78701",
        country="US", phone="555-0199", email="jane.doe@example.com")


def label(number: str, scac: str = "UPSN", service: str = "UPSNGround", reference: str = "LBL-1") -> Label:
    return Label(tracking_no=number, scac=scac, service_code=service, label_reference=reference)


def request(container: str) -> BookingRequest:
    return BookingRequest(ship_node="DC_EAST", shipment_no="SH1", container_no=container, ship_to=Address(), items=[])


WRITEBACKS: list[tuple[str, Shipment, list[tuple[BookingRequest, Label]], dict[str, Any]]] = [
    ("two boxes of a shipment with its carrier", shipment([box("C1"), box("C2")]),
     [(request("C1"), label("1ZA", reference="LBL-1")), (request("C2"), label("1ZB", reference="LBL-2"))],
     {"ShipmentKey": "SK1", "TrackingNo": "1ZA",
      "Containers": {"Container": [
          {"ContainerNo": "C1", "TrackingNo": "1ZA", "SCAC": "UPSN", "CarrierServiceCode": "UPSNGround"},
          {"ContainerNo": "C2", "TrackingNo": "1ZB", "SCAC": "UPSN", "CarrierServiceCode": "UPSNGround"}]},
      "Notes": {"Note": [
          {"NoteText": "Carrier label LBL-1 for container C1: UPSN 1ZA", "ReasonCode": "CARRIER_LABEL"},
          {"NoteText": "Carrier label LBL-2 for container C2: UPSN 1ZB", "ReasonCode": "CARRIER_LABEL"}]}}),
    ("a shipment without carrier takes the carrier's answer; found by number without a key",
     shipment(None, ShipmentKey=" ", SCAC=" ", CarrierServiceCode=" ", TrackingNo="1Z-MASTER"),
     [(request("SH1-1"), label("1ZC", scac="SIMC", service="", reference=""))],
     {"ShipmentNo": "SH1", "ShipNode": "DC_EAST", "SellerOrganizationCode": "DEFAULT", "SCAC": "SIMC",
      "Containers": {"Container": [{"ContainerNo": "SH1-1", "TrackingNo": "1ZC", "SCAC": "SIMC"}]},
      "Notes": {"Note": [{"NoteText": "Carrier label for container SH1-1: SIMC 1ZC",
                          "ReasonCode": "CARRIER_LABEL"}]}}),
]


@pytest.mark.parametrize(("case", "document", "booked", "expected"), WRITEBACKS, ids=[w[0] for w in WRITEBACKS])
def test_labels_written_back_to_sterling(case: str, document: Shipment, booked: list[tuple[BookingRequest, Label]],
                                         expected: dict[str, Any]) -> None:
    assert m.writeback_body(document, booked) == expected


def test_written_back_means_every_container_carries_its_tracking_number() -> None:
    booked = [(request("C1"), label("1ZA")), (request("C2"), label("1ZB"))]
    assert m.written_back(shipment([box("C1", TrackingNo="1ZA"), box("C2", TrackingNo="1ZB")]), booked)
    assert not m.written_back(shipment([box("C1", TrackingNo="1ZA"), box("C2")]), booked)


def update(status: TrackingStatus, description: str = "Left at front door") -> TrackingUpdate:
    return TrackingUpdate(event_id="E1", reference="DC_EAST/SH1/C1", tracking_no="1ZA", status=status,
                          occurred_at="2024-05-02T10:00:00Z", description=description)


TRACKING: list[tuple[str, TrackingUpdate, Shipment, str, str, str]] = [
    ("delivered", update("delivered"), shipment([box("C1", SCAC="UPSN")]), "CARRIER_DELIVERED",
     "Delivered 2024-05-02T10:00:00Z: container C1, UPSN 1ZA. Left at front door",
     "Parcel 1ZA (United Parcel Service) of shipment SH1 was delivered 2024-05-02T10:00:00Z. Left at front door"),
    ("exception without description, SCAC with no Commerce carrier", update("exception", ""),
     shipment([box("C1", SCAC="ACME")]), "CARRIER_EXCEPTION",
     "Carrier exception 2024-05-02T10:00:00Z: container C1, ACME 1ZA.",
     "Parcel 1ZA (ACME) of shipment SH1 has a delivery exception 2024-05-02T10:00:00Z."),
    ("a container Sterling does not list: the shipment's carrier", update("delivered", ""), shipment(None),
     "CARRIER_DELIVERED", "Delivered 2024-05-02T10:00:00Z: container C1, UPSN 1ZA.",
     "Parcel 1ZA (United Parcel Service) of shipment SH1 was delivered 2024-05-02T10:00:00Z."),
]


@pytest.mark.parametrize(("case", "event", "document", "reason", "note", "comment"), TRACKING,
                         ids=[t[0] for t in TRACKING])
def test_tracking_becomes_a_sterling_note_and_a_commerce_comment(
        case: str, event: TrackingUpdate, document: Shipment, reason: str, note: str, comment: str) -> None:
    assert m.tracking_note_body(event, document, "C1") == {
        "ShipmentKey": "SK1", "Notes": {"Note": [{"NoteText": note, "ReasonCode": reason}]}}
    assert m.tracking_comment(event, document, "C1") == (f"[oms-bridge] {comment}", False)


def test_a_note_is_found_on_the_shipment_in_either_json_form() -> None:
    one = shipment(None, Notes={"Note": {"NoteText": "A"}})
    many = shipment(None, Notes={"Note": [{"NoteText": "B"}, {"NoteText": "A"}]})
    assert m.has_note(one, "A")
    assert m.has_note(many, "A")
    assert not m.has_note(shipment(None), "A")
    assert not m.has_note(many, "C")


def test_a_weight_that_is_not_a_positive_number_is_left_out() -> None:
    [booked] = m.booking_requests(shipment([box("C1", ContainerGrossWeight="0.00")]))
    [unreadable] = m.booking_requests(shipment([box("C1", ContainerGrossWeight="n/a")]))
    assert booked.weight is None
    assert unreadable.weight is None
    assert booked.items[0].quantity == Decimal("3.00")
