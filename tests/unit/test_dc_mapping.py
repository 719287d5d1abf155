"""Sterling release / shipment ↔ WMS mapping, pinned case by case: the order the WMS receives and
the Sterling createShipment / confirmShipment / changeRelease bodies a confirmation becomes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from omsbridge.dc import ConfirmedContainer, ConfirmedLine, ContainerItem, DcConfirmation
from omsbridge.dc import mapping as m
from omsbridge.dc.generic import order_body
from omsbridge.dc.models import ConfirmationKind
from omsbridge.errors import ValidationError
from omsbridge.sterling.models import OrderRelease, Shipment

SHIP_TO = {"FirstName": "Jane", "LastName": "Doe", "AddressLine1": "100 Example Street", "City": "Austin",
           "State": "TX", "ZipCode": "78701", "Country": "US", "EMailID": "jane.doe@example.com"}


def release_line(key: str, prime: str, item: str, qty: str) -> dict[str, Any]:
    return {"OrderLineKey": key, "PrimeLineNo": prime, "SubLineNo": "1", "StatusQuantity": qty,
            "Item": {"ItemID": item, "UnitOfMeasure": "EACH"}}


def release(*lines: dict[str, Any], **header: Any) -> OrderRelease:
    return OrderRelease.model_validate({
        "OrderReleaseKey": "RK1", "ReleaseNo": "1", "OrderHeaderKey": "OHK", "OrderNo": "000000101",
        "EnterpriseCode": "DEFAULT", "DocumentType": "0001", "SellerOrganizationCode": "DEFAULT",
        "ShipNode": "DC_EAST", "SCAC": "UPSN", "CarrierServiceCode": "UPSNGround", "PersonInfoShipTo": SHIP_TO,
        "OrderLines": {"OrderLine": list(lines)}, **header})


MUGS_AND_TEE = release(release_line("OL1", "1", "MUG", "3.00"), release_line("OL2", "2", "TEE", "1.00"))
WMS_SHIP_TO = {"name": "Jane Doe", "company": "", "lines": ["100 Example Street"], "city": "Austin", "state": "TX",
               "postal_code": "78701", "country": "US", "phone": "", "email": "jane.doe@example.com"}


def wms_line(ref: str, prime: str, sku: str, qty: float) -> dict[str, Any]:
    return {"line_ref": ref, "prime_line_no": prime, "sub_line_no": "1", "sku": sku, "unit_of_measure": "EACH",
            "quantity": qty}


ORDERS: list[tuple[str, OrderRelease, dict[str, Any]]] = [
    ("two lines with a carrier", MUGS_AND_TEE,
     {"release_key": "RK1", "order_no": "000000101", "release_no": "1", "ship_node": "DC_EAST",
      "ship_to": WMS_SHIP_TO, "lines": [wms_line("OL1", "1", "MUG", 3), wms_line("OL2", "2", "TEE", 1)],
      "carrier": {"scac": "UPSN", "service_code": "UPSNGround"}}),
    ("no carrier, and a line with nothing left released", release(
        release_line("OL1", "1", "MUG", "1.50"), release_line("OL2", "2", "TEE", "0.00"), SCAC=" ",
        CarrierServiceCode=""),
     {"release_key": "RK1", "order_no": "000000101", "release_no": "1", "ship_node": "DC_EAST",
      "ship_to": WMS_SHIP_TO, "lines": [wms_line("OL1", "1", "MUG", 1.5)]}),
]


@pytest.mark.parametrize(("case", "document", "expected"), ORDERS, ids=[o[0] for o in ORDERS])
def test_the_wms_receives_the_release(case: str, document: OrderRelease, expected: dict[str, Any]) -> None:
    assert order_body(m.wms_order(document)) == expected


def confirmed(*lines: ConfirmedLine, kind: ConfirmationKind = "shipped",
              containers: list[ConfirmedContainer] | None = None, **fields: Any) -> DcConfirmation:
    return DcConfirmation(event_id="E1", kind=kind, release_key="RK1", shipment_no="WMS-SH-1",
                          lines=list(lines), containers=containers or [], **fields)


def line(ref: str, quantity: str, shipped: str = "0", cancelled: str = "0", **names: str) -> ConfirmedLine:
    return ConfirmedLine(line_ref=ref, quantity=Decimal(quantity), shipped=Decimal(shipped),
                         cancelled=Decimal(cancelled), **names)


@pytest.mark.parametrize(("case", "confirmation", "reason"), [
    ("another node", confirmed(line("OL1", "3", "3"), ship_node="DC_WEST"),
     "ship_node 'DC_WEST' does not match release RK1 ('DC_EAST')"),
    ("another order", confirmed(line("OL1", "3", "3"), order_no="999"),
     "order_no '999' does not match release RK1 ('000000101')"),
    ("a line of another release", confirmed(line("OL9", "3", "3")), "line OL9 is not a line of release RK1"),
    ("a line number the release lacks", confirmed(ConfirmedLine(prime_line_no="7", shipped=Decimal(1))),
     "line 7.1 is not a line of release RK1"),
])
def test_a_confirmation_that_does_not_fit_the_release_is_refused(case: str, confirmation: DcConfirmation,
                                                                 reason: str) -> None:
    with pytest.raises(ValidationError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        m.check(confirmation, MUGS_AND_TEE)


def test_lines_are_named_by_line_ref_or_by_line_numbers() -> None:
    m.check(confirmed(ConfirmedLine(prime_line_no="2", sub_line_no="1", shipped=Decimal(1)),
                      line("OL1", "3", "3"), ship_node="DC_EAST", order_no="000000101"), MUGS_AND_TEE)


def test_a_release_confirmed_directly_becomes_a_sterling_shipment_of_what_it_covers() -> None:
    confirmation = confirmed(line("OL1", "3", "2"), ConfirmedLine(prime_line_no="2", shipped=Decimal(1)),
                             containers=[ConfirmedContainer(container_no="B1", scac="FDEG", service_code="Ground")])
    assert m.create_shipment_body(MUGS_AND_TEE, confirmation) == {
        "ShipmentNo": "WMS-SH-1", "ShipNode": "DC_EAST", "EnterpriseCode": "DEFAULT", "DocumentType": "0001",
        "SellerOrganizationCode": "DEFAULT", "SCAC": "FDEG", "CarrierServiceCode": "Ground",
        "ShipmentLines": {"ShipmentLine": [
            # a line without a quantity covers what the release has open
            {"OrderHeaderKey": "OHK", "OrderLineKey": "OL1", "OrderReleaseKey": "RK1", "Quantity": "3",
             "ShipmentLineNo": "1", "ShipmentSubLineNo": "0"},
            {"OrderHeaderKey": "OHK", "OrderLineKey": "OL2", "OrderReleaseKey": "RK1", "Quantity": "1",
             "ShipmentLineNo": "2", "ShipmentSubLineNo": "0"}]}}


def shipment(*lines: tuple[str, str, str, str], status: str = "1100") -> Shipment:
    return Shipment.model_validate({
        "ShipmentKey": "SK1", "ShipmentNo": "100001", "ShipNode": "DC_EAST", "Status": status,
        "ShipmentLines": {"ShipmentLine": [
            {"ShipmentLineKey": key, "OrderLineKey": order_line, "OrderReleaseKey": release_key, "ItemID": item,
             "Quantity": qty}
            for key, order_line, item, qty, release_key in [(*entry, "RK1") for entry in lines]]}})


PACKED = shipment(("SL1", "OL1", "MUG", "3.00"), ("SL2", "OL2", "TEE", "1.00"))


def both(**extra: Any) -> dict[str, Any]:
    return {"ShipmentKey": "SK1", "ShipmentLines": {"ShipmentLine": [
        {"ShipmentLineKey": "SL1", "Quantity": extra.pop("mugs", "3")},
        {"ShipmentLineKey": "SL2", "Quantity": extra.pop("tees", "1")}]}, **extra}


def detail(key: str, item: str, qty: str) -> dict[str, str]:
    return {"ShipmentLineKey": key, "ItemID": item, "Quantity": qty}


CONFIRMS: list[tuple[str, DcConfirmation, str, dict[str, Any]]] = [
    ("everything in one box", confirmed(
        line("OL1", "3", "3"), line("OL2", "1", "1"), occurred_at="2024-05-02T10:00:00Z",
        containers=[ConfirmedContainer(container_no="B1", tracking_no="1ZA", scac="UPSN")]), "backorder",
     both(Containers={"Container": [{"ContainerNo": "B1", "TrackingNo": "1ZA", "SCAC": "UPSN", "ContainerDetails": {
         "ContainerDetail": [detail("SL1", "MUG", "3"), detail("SL2", "TEE", "1")]}}]},
          ActualShipmentDate="2024-05-02T10:00:00Z")),
    ("two boxes naming their items by line and by SKU", confirmed(
        line("OL1", "3", "3"), line("OL2", "1", "1"), containers=[
            ConfirmedContainer(container_no="B1", tracking_no="1ZA", service_code="Ground",
                               items=[ContainerItem(line_ref="OL1", quantity=Decimal(3))]),
            ConfirmedContainer(container_no="B2", items=[ContainerItem(sku="TEE", quantity=Decimal(1))])]),
     "backorder",
     both(Containers={"Container": [
         {"ContainerNo": "B1", "TrackingNo": "1ZA", "CarrierServiceCode": "Ground",
          "ContainerDetails": {"ContainerDetail": [detail("SL1", "MUG", "3")]}},
         {"ContainerNo": "B2", "ContainerDetails": {"ContainerDetail": [detail("SL2", "TEE", "1")]}}]})),
    ("two boxes without items: their contents are not claimed", confirmed(
        line("OL1", "3", "3"), line("OL2", "1", "1"),
        containers=[ConfirmedContainer(container_no="B1"), ConfirmedContainer(container_no="B2")]), "backorder",
     both(Containers={"Container": [{"ContainerNo": "B1"}, {"ContainerNo": "B2"}]})),
    ("short pick, backordered", confirmed(line("OL1", "3", "2"), line("OL2", "1", "1"), kind="short_pick"),
     "backorder", both(mugs="2", BackOrderNonShippedQuantity="Y")),
    ("short pick, cancelled", confirmed(line("OL1", "3", "2"), line("OL2", "1", "1"), kind="short_pick"),
     "cancel", both(mugs="2", CancelNonShippedQuantity="Y")),
    ("a line the WMS does not name shipped nothing", confirmed(line("OL1", "3", "3")), "backorder",
     both(tees="0", BackOrderNonShippedQuantity="Y")),
]


@pytest.mark.parametrize(("case", "confirmation", "policy", "expected"), CONFIRMS, ids=[c[0] for c in CONFIRMS])
def test_confirm_shipment(case: str, confirmation: DcConfirmation, policy: m.ShortPick,
                          expected: dict[str, Any]) -> None:
    assert m.confirm_body(PACKED, MUGS_AND_TEE, confirmation, policy) == expected


def test_shipped_quantity_spreads_over_shipment_lines_of_one_order_line() -> None:
    split = shipment(("SL1", "OL1", "MUG", "2.00"), ("SL3", "OL1", "MUG", "1.00"))
    body = m.confirm_body(split, MUGS_AND_TEE, confirmed(line("OL1", "3", "3")), "backorder")
    assert body["ShipmentLines"] == {"ShipmentLine": [{"ShipmentLineKey": "SL1", "Quantity": "2"},
                                                      {"ShipmentLineKey": "SL3", "Quantity": "1"}]}
    assert m.short_lines(split, MUGS_AND_TEE, confirmed(line("OL1", "3", "2"))) == ["SL3"]


@pytest.mark.parametrize(("case", "confirmation", "reason"), [
    ("more than the shipment holds", confirmed(line("OL1", "4", "4")),
     "line OL1 ships 4, more than Sterling shipment 100001 holds"),
    ("a line not in the shipment", confirmed(line("OL1", "3", "3")), "line OL1 is not in Sterling shipment 100001"),
    ("a box item not in the shipment", confirmed(line("OL2", "1", "1"), containers=[ConfirmedContainer(
        container_no="B1", items=[ContainerItem(sku="MUG", quantity=Decimal(1))])]),
     "container item 'MUG' is not in Sterling shipment 100001 of release RK1"),
])
def test_a_confirmation_that_does_not_fit_the_shipment_is_refused(case: str, confirmation: DcConfirmation,
                                                                  reason: str) -> None:
    document = PACKED if case == "more than the shipment holds" else shipment(("SL2", "OL2", "TEE", "1.00"))
    with pytest.raises(ValidationError, match=reason):
        m.confirm_body(document, MUGS_AND_TEE, confirmation, "backorder")


def test_the_open_shipment_of_a_release() -> None:
    shipped = shipment(("SL1", "OL1", "MUG", "3.00"), status="1400")
    other = Shipment.model_validate({"ShipmentKey": "SK2", "Status": "1100", "ShipmentLines": {
        "ShipmentLine": [{"ShipmentLineKey": "X", "OrderReleaseKey": "RK2"}]}})
    assert m.open_shipment([shipped, other], "RK1") is None
    assert m.open_shipment([shipped, other, PACKED], "RK1") is PACKED
    mixed = Shipment.model_validate({"ShipmentNo": "100009", "Status": "1300", "ShipmentLines": {"ShipmentLine": [
        {"ShipmentLineKey": "A", "OrderReleaseKey": "RK1"}, {"ShipmentLineKey": "B", "OrderReleaseKey": "RK2"}]}})
    with pytest.raises(ValidationError, match="shipment 100009 holds lines of other releases besides RK1"):
        m.open_shipment([mixed], "RK1")


@pytest.mark.parametrize(("status", "open_", "shipped"), [
    ("1100", True, False), ("1300", True, False), ("1100.70.06.30", True, False), ("1400", False, True),
    ("1600.002", False, True), ("9000", False, False)])
def test_shipment_statuses_compare_as_dotted_numbers(status: str, open_: bool, shipped: bool) -> None:
    document = shipment(status=status)
    assert (m.is_open(document), m.is_shipped(document)) == (open_, shipped)


def test_cancelled_lines_become_a_change_release() -> None:
    confirmation = confirmed(line("OL1", "0", cancelled="2"), line("OL2", "0"),
                             ConfirmedLine(prime_line_no="2", cancelled=Decimal(1)), kind="cancelled",
                             reason="Damaged in the DC")
    assert m.cancel_body(MUGS_AND_TEE, confirmation) == {
        "OrderReleaseKey": "RK1", "OrderHeaderKey": "OHK", "ModificationReasonText": "Damaged in the DC",
        "OrderLines": {"OrderLine": [
            {"OrderLineKey": "OL1", "PrimeLineNo": "1", "SubLineNo": "1", "Action": "CANCEL", "StatusQuantity": "2"},
            {"OrderLineKey": "OL2", "PrimeLineNo": "2", "SubLineNo": "1", "Action": "CANCEL",
             "StatusQuantity": "1"}]}}
    assert m.cancel_shipment_body(PACKED) == {"ShipmentKey": "SK1", "Action": "Cancel"}


def test_a_cancel_shows_once_the_release_has_less_open() -> None:
    confirmation = confirmed(line("OL1", "0", cancelled="2"), kind="cancelled")
    after = release(release_line("OL1", "1", "MUG", "1.00"), release_line("OL2", "2", "TEE", "1.00"))
    assert m.cancel_applied(MUGS_AND_TEE, after, confirmation)
    assert not m.cancel_applied(MUGS_AND_TEE, MUGS_AND_TEE, confirmation)


@pytest.mark.parametrize(("case", "confirmation", "reason"), [
    ("ships more than it accounts for", confirmed(line("OL1", "2", "3")), "line OL1 ships more than it accounts for"),
    ("cancels more than the release holds", confirmed(line("OL2", "0", cancelled="2"), kind="cancelled"),
     r"line OL2 cancels 2, more than release RK1 holds \(1\)"),
    ("a box holding another release's line", confirmed(line("OL1", "3", "3"), containers=[ConfirmedContainer(
        container_no="B1", items=[ContainerItem(line_ref="OL9", quantity=Decimal(1))])]),
     "container B1 holds 'OL9', which is not in release RK1"),
    ("a box holding an item the release lacks", confirmed(line("OL1", "3", "3"), containers=[ConfirmedContainer(
        container_no="B1", items=[ContainerItem(sku="SOCK", quantity=Decimal(1))])]),
     "container B1 holds 'SOCK', which is not in release RK1"),
])
def test_quantities_and_boxes_are_checked_against_the_release_before_sterling_is_written(
        case: str, confirmation: DcConfirmation, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        m.check(confirmation, MUGS_AND_TEE)
