"""Sterling shipment → Commerce ship / pickup / invoice bodies, pinned case by case."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from omsbridge import config
from omsbridge.errors import PermanentError
from omsbridge.mapping import shipment as m
from omsbridge.state import OrderLineRef
from omsbridge.sterling.models import Shipment

ORDER = "000000101"
MARK = "[oms-bridge] Sterling shipment"


def line(prime: int | str, item: str, qty: str, *, order: str = ORDER, sub: str = "1",
         **extra: Any) -> dict[str, Any]:
    return {"OrderNo": order, "PrimeLineNo": str(prime), "SubLineNo": sub, "ItemID": item,
            "Quantity": qty, "UnitOfMeasure": "EACH", **extra}


def container(number: str, tracking: str, scac: str = "UPSN", *, qty: str = "1.00") -> dict[str, Any]:
    return {"ContainerNo": number, "TrackingNo": tracking, "SCAC": scac,
            "ContainerDetails": {"ContainerDetail": [{"ItemID": "X", "Quantity": qty}]}}


def doc(shipment_no: str, lines: list[dict[str, Any]], containers: list[dict[str, Any]] | dict[str, Any],
        *, node: str = "DC_EAST", scac: str = "UPSN", **extra: Any) -> dict[str, Any]:
    return {"ShipmentNo": shipment_no, "ShipNode": node, "SCAC": scac, "Status": "1400",
            "ShipmentLines": {"ShipmentLine": lines}, "Containers": {"Container": containers}, **extra}


def ref(prime: int, item_id: int | None, sku: str, qty: float, *, child: int | None = None) -> OrderLineRef:
    return OrderLineRef(prime_line_no=prime, order_item_id=item_id, sku=sku, qty=qty, child_item_id=child)


def row(item_id: int, sku: str, ordered: float, *, shipped: float = 0, product_type: str = "simple",
        parent: int | None = None, **extra: Any) -> dict[str, Any]:
    item = {"item_id": item_id, "sku": sku, "qty_ordered": ordered, "qty_shipped": shipped,
            "qty_canceled": 0, "qty_refunded": 0, "product_type": product_type, **extra}
    if parent is not None:
        item["parent_item_id"] = parent
    return item


def ups(number: str) -> dict[str, str]:
    return {"carrier_code": "ups", "title": "United Parcel Service", "track_number": number}


def body(shipment_no: str, items: list[tuple[int, int | float]], tracks: list[dict[str, str]], *,
         node: str = "DC_EAST", source: str | None = None, notify: bool = True) -> dict[str, Any]:
    return {
        "items": [{"order_item_id": item_id, "qty": qty} for item_id, qty in items],
        "notify": notify,
        "appendComment": False,
        "comment": {"comment": f"{MARK} {shipment_no} from {node}", "is_visible_on_front": 0},
        "tracks": tracks,
        "arguments": {"extension_attributes": {"source_code": source or node}},
    }


@pytest.fixture(autouse=True)
def _fresh_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAPPING_OVERRIDES", raising=False)
    config.reset()


REFS = [ref(1, 11, "SKU-A", 3), ref(2, 12, "SKU-B", 1), ref(3, 13, "SKU-C", 2)]

SHIP_CASES = [
    pytest.param(
        doc("SH-1", [line(1, "SKU-A", "3.00")], [container("C1", "1Z001")]),
        REFS, [],
        body("SH-1", [(11, 3)], [ups("1Z001")]),
        id="one line, one container",
    ),
    pytest.param(
        doc("SH-2", [line(1, "SKU-A", "3.00"), line(2, "SKU-B", "1.00"), line(3, "SKU-C", "2.00")],
            [container("C1", "1Z001"), container("C2", "794644790132", "FEDX")]),
        REFS, [],
        body("SH-2", [(11, 3), (12, 1), (13, 2)],
             [ups("1Z001"), {"carrier_code": "fedex", "title": "Federal Express", "track_number": "794644790132"}]),
        id="several lines over two containers",
    ),
    pytest.param(
        doc("SH-3a", [line(1, "SKU-A", "1.00")], [container("C1", "1Z0031")]),
        REFS, [],
        body("SH-3a", [(11, 1)], [ups("1Z0031")]),
        id="partial shipment: first part",
    ),
    pytest.param(
        doc("SH-3b", [line(1, "SKU-A", "2.00"), line(2, "SKU-B", "1.00"), line(3, "SKU-C", "2.00")],
            [container("C2", "1Z0032")]),
        REFS, [],
        body("SH-3b", [(11, 2), (12, 1), (13, 2)], [ups("1Z0032")]),
        id="partial shipment: the rest",
    ),
    pytest.param(
        doc("SH-4", [line(1, "TEE-M-RED", "1.00")], [container("C1", "1Z004")]),
        [ref(1, 20, "TEE-M-RED", 1, child=21)], [],
        body("SH-4", [(20, 1)], [ups("1Z004")]),
        id="configurable item by line map: ships the parent",
    ),
    pytest.param(
        doc("SH-5", [line(1, "TEE-M-RED", "1.00")], [container("C1", "1Z005")]),
        [],
        [row(20, "TEE-M-RED", 1, product_type="configurable"), row(21, "TEE-M-RED", 1, parent=20)],
        body("SH-5", [(20, 1)], [ups("1Z005")]),
        id="configurable item by SKU: ships the parent",
    ),
    pytest.param(
        doc("SH-6", [line(1, "SKU-A", "3.00"), line(2, "SKU-B", "1.00")],
            [container("C1", " "), container("C2", "1Z006")]),
        REFS, [],
        body("SH-6", [(11, 3), (12, 1)], [ups("1Z006")]),
        id="a container without tracking gets no track",
    ),
    pytest.param(
        doc("SH-7", [line(1, "SKU-A", "3.00")], [container("C1", "")]),
        REFS, [],
        body("SH-7", [(11, 3)], []),
        id="no container with tracking: no tracks",
    ),
    pytest.param(
        doc("SH-8", [line(1, "SKU-A", "1.00"), line(2, "SKU-A", "1.00")], [container("C1", "1Z008")]),
        [], [row(31, "SKU-A", 1), row(32, "SKU-A", 1)],
        body("SH-8", [(31, 1), (32, 1)], [ups("1Z008")]),
        id="two lines of one SKU by SKU land on two rows",
    ),
    pytest.param(
        doc("SH-9", [line(1, "SKU-A", "2.00")], [container("C1", "1Z009")]),
        [], [row(31, "SKU-A", 2, shipped=2), row(32, "SKU-A", 2)],
        body("SH-9", [(32, 2)], [ups("1Z009")]),
        id="by SKU skips a row already shipped",
    ),
    pytest.param(
        doc("SH-10", [line(1, "SKU-A", "1.50")], container("C1", "TRK-10", "ACME"), node="STORE_7"),
        REFS, [],
        body("SH-10", [(11, 1.5)], [{"carrier_code": "custom", "title": "ACME", "track_number": "TRK-10"}],
             node="STORE_7"),
        id="unmapped SCAC, lone container object, fractional qty",
    ),
    pytest.param(
        doc("SH-11", [line(1, "SKU-A", "1.00")], [container("C1", "1Z011", " "), container("C2", "1Z011")]),
        REFS, [],
        body("SH-11", [(11, 1)], [ups("1Z011")]),
        id="container SCAC falls back to the shipment's; one track per number",
    ),
    pytest.param(
        doc("SH-12", [line(1, "SKU-A", "1.00"), line(1, "SKU-A", "1.00", sub="2")], []),
        [ref(1, 11, "SKU-A", 1), OrderLineRef(prime_line_no=1, sub_line_no=2, order_item_id=14, sku="SKU-A")], [],
        body("SH-12", [(11, 1), (14, 1)], []),
        id="sub-lines map separately",
    ),
    pytest.param(
        doc("SH-13", [line(1, "SKU-A", "1.00"), line(1, "SKU-A", "2.00")], [], TrackingNo="1Z013"),
        REFS, [],
        body("SH-13", [(11, 3)], [ups("1Z013")]),
        id="lines of one item add up; shipment-level tracking number",
    ),
    pytest.param(
        doc("SH-14", [line(4, "SKU-D", "1.00")], [container("C1", "1Z014")]),
        REFS, [row(11, "SKU-A", 3), row(15, "SKU-D", 1)],
        body("SH-14", [(15, 1)], [ups("1Z014")]),
        id="line missing from the export map falls back to SKU",
    ),
]


@pytest.mark.parametrize(("document", "refs", "order_items", "expected"), SHIP_CASES)
def test_ship_body(document: dict[str, Any], refs: list[OrderLineRef], order_items: list[dict[str, Any]],
                   expected: dict[str, Any]) -> None:
    shipment = Shipment.model_validate(document)
    items = m.ship_items(shipment.shipment_lines, refs, order_items)
    assert m.ship_body(shipment, items, notify=True) == expected


def test_ship_body_uses_node_to_source_table_and_notify_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAPPING_OVERRIDES", '{"node_to_source": {"DC_EAST": "east_wh"}}')
    config.reset()
    shipment = Shipment.model_validate(doc("SH-1", [line(1, "SKU-A", "3.00")], [container("C1", "1Z001")]))
    items = m.ship_items(shipment.shipment_lines, REFS)
    assert m.ship_body(shipment, items, notify=False) == body(
        "SH-1", [(11, 3)], [ups("1Z001")], source="east_wh", notify=False)


def test_scac_table_is_overridable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAPPING_OVERRIDES", '{"scac_carriers": {"ACME": {"carrier_code": "acme", "title": "Acme"}}}')
    config.reset()
    shipment = Shipment.model_validate(doc("S", [line(1, "SKU-A", "1")], [container("C", "T1", "ACME")]))
    assert m.tracks(shipment) == [{"carrier_code": "acme", "title": "Acme", "track_number": "T1"}]
    assert m.unmapped_scacs(shipment) == []


def test_unmapped_scacs_lists_each_fallback_once() -> None:
    shipment = Shipment.model_validate(doc(
        "S", [line(1, "SKU-A", "1")],
        [container("C1", "T1", "ACME"), container("C2", "T2", "ACME"), container("C3", "T3", "UPSN")]))
    assert m.unmapped_scacs(shipment) == ["ACME"]


def test_line_matching_nothing_is_a_permanent_error() -> None:
    shipment = Shipment.model_validate(doc("S", [line(9, "NOPE", "1.00")], []))
    with pytest.raises(PermanentError, match=r"line 9\.1 item NOPE of order 000000101 matches no item"):
        m.ship_items(shipment.shipment_lines, REFS, [row(11, "SKU-A", 3)])


@pytest.mark.parametrize(("refs", "expected"), [
    pytest.param(REFS, False, id="every line in the export map"),
    pytest.param(REFS[:1], True, id="a line missing from the map"),
    pytest.param([ref(1, None, "SKU-A", 3), *REFS[1:]], True, id="mapped line without an item id"),
])
def test_needs_order_items(refs: list[OrderLineRef], expected: bool) -> None:
    shipment = Shipment.model_validate(doc("S", [line(1, "SKU-A", "1"), line(2, "SKU-B", "1")], []))
    assert m.needs_order_items(shipment.shipment_lines, refs) is expected


MINIMAL_SHIPPED = {"ShipmentLines": {"ShipmentLine": [{"OrderNo": "294"}]}}
MINIMAL_PICK = {"ShipmentLines": {"ShipmentLine": [{"OrderNo": "294", "OrderLine": {"DeliveryMethod": "PICK"}}]}}


@pytest.mark.parametrize(("document", "has_details", "is_pickup", "key"), [
    pytest.param(MINIMAL_SHIPPED, False, False, "/", id="minimal: only OrderNo"),
    pytest.param(MINIMAL_PICK, False, True, "/", id="minimal pick"),
    pytest.param({"ShipmentNo": "SH-1", "ShipNode": "DC_EAST", **MINIMAL_SHIPPED}, False, False, "DC_EAST/SH-1",
                 id="number and node without line detail"),
    pytest.param(doc("SH-1", [line(1, "SKU-A", "1"), line(1, "SKU-X", "1", order="000000102")], [],
                     DeliveryMethod="SHP"), True, False, "DC_EAST/SH-1", id="full document, two orders"),
    pytest.param(doc("SH-1", [{"OrderNo": ORDER, "ItemID": "SKU-A", "Quantity": "1"}], []), True, False,
                 "DC_EAST/SH-1", id="item without line numbers is detail enough"),
    pytest.param(doc("SH-1", [{"OrderNo": ORDER, "PrimeLineNo": "1", "ItemID": "SKU-A"}], []), False, False,
                 "DC_EAST/SH-1", id="no quantity is not detail"),
    pytest.param(doc("SH-1", [line(1, "SKU-A", "1")], [], DeliveryMethod="PICK"), True, True, "DC_EAST/SH-1",
                 id="pickup shipment by header"),
])
def test_shipment_document(document: dict[str, Any], has_details: bool, is_pickup: bool, key: str) -> None:
    shipment = Shipment.model_validate(document)
    assert m.has_details(shipment) is has_details
    assert m.is_pickup(shipment) is is_pickup
    assert m.shipment_key(shipment) == key


def test_published_create_shipment_document_parses() -> None:
    # The shape of the connector's published sample (Sterling strings, blanks as " ").
    shipment = Shipment.model_validate({
        "ShipmentNo": "AdobeShip1", "ShipNode": "tna_dc_1", "SCAC": "UPSN", "ShipmentKey": "2023081109464092224",
        "ShipmentLines": {"ShipmentLine": [{"OrderNo": "tna_ORD006", "PrimeLineNo": "1", "SubLineNo": "1",
                                            "ItemID": "Item1", "Quantity": "2.00", "ProductClass": " "}]},
        "Containers": {"Container": [{"TrackingNo": "T1", "SCAC": "UPSN", "ContainerNo": "A1002",
                                      "ContainerDetails": {"TotalNumberOfRecords": "1"}}]},
        "Instructions": {}, "ShipVia": " ",
    })
    assert m.has_details(shipment)
    assert m.shipment_key(shipment) == "tna_dc_1/AdobeShip1"
    assert m.ship_items(shipment.shipment_lines, [ref(1, 7, "Item1", 2)]) == [m.ShipItem(7, Decimal("2.00"))]
    assert m.tracks(shipment) == [ups("T1")]


SH = Shipment.model_validate(doc("SH-1", [line(1, "SKU-A", "1")], [container("C1", "1Z1"), container("C2", "1Z2")]))


@pytest.mark.parametrize(("commerce_shipment", "expected"), [
    pytest.param({"comments": [{"comment": f"{MARK} SH-1 from DC_EAST"}], "tracks": []}, True, id="marker"),
    pytest.param({"comments": [], "tracks": [{"track_number": "1Z2"}, {"track_number": "1Z1"}]}, True,
                 id="same tracking numbers"),
    pytest.param({"comments": [{"comment": f"{MARK} SH-10 from DC_EAST"}], "tracks": [{"track_number": "1Z1"}]},
                 False, id="another shipment's marker, some of our numbers"),
    pytest.param({"comments": [{"comment": f"{MARK} SH-1 from DC_WEST"}], "tracks": []}, False,
                 id="same number at another node"),
    pytest.param({"items": []}, False, id="nothing to recognise"),
])
def test_is_ours(commerce_shipment: dict[str, Any], expected: bool) -> None:
    assert m.is_ours(commerce_shipment, SH) is expected


def test_untracked_shipment_is_never_recognised_by_empty_tracks() -> None:
    untracked = Shipment.model_validate(doc("SH-2", [line(1, "SKU-A", "1")], []))
    assert m.is_ours({"comments": [], "tracks": []}, untracked) is False


AUTHORISED = {"method": "braintree", "amount_authorized": 40.0, "amount_paid": None}
CAPTURED = {"method": "braintree", "amount_authorized": 40.0, "amount_paid": 40.0}
CHECKMO = {"method": "checkmo", "amount_ordered": 40.0}
EXPORTED_AUTHORISED = {"method": "braintree", "authorized": 40, "captured": 0}
EXPORTED_CAPTURED = {"method": "braintree", "authorized": 40, "captured": 40}


def order(payment: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"entity_id": 101, "payment": payment, "items": items}


SHIPPED_ALL = [row(11, "SKU-A", 3, shipped=3), row(12, "SKU-B", 1, shipped=1)]


@pytest.mark.parametrize(("commerce_order", "ref_payment", "expected"), [
    pytest.param(order(AUTHORISED, SHIPPED_ALL), {}, True, id="authorised, fully shipped"),
    pytest.param(order(AUTHORISED, [row(11, "SKU-A", 3, shipped=1), row(12, "SKU-B", 1, shipped=1)]), {},
                 False, id="not fully shipped"),
    pytest.param(order(AUTHORISED, [row(11, "SKU-A", 3, shipped=2, qty_canceled=1)]), {}, True,
                 id="rest cancelled counts as done"),
    pytest.param(order(CAPTURED, SHIPPED_ALL), {}, False, id="already captured"),
    pytest.param(order(CHECKMO, SHIPPED_ALL), {}, False, id="offline method: nothing authorised"),
    pytest.param(order(AUTHORISED, SHIPPED_ALL), EXPORTED_AUTHORISED, True, id="export recorded authorised"),
    pytest.param(order(AUTHORISED, SHIPPED_ALL), EXPORTED_CAPTURED, False, id="export recorded a capture"),
    pytest.param(order(CAPTURED, SHIPPED_ALL), EXPORTED_AUTHORISED, False, id="captured since the export"),
    pytest.param(order(AUTHORISED, [row(11, "SKU-A", 3, shipped=3, qty_invoiced=3)]), {}, False,
                 id="already invoiced"),
    pytest.param(order(AUTHORISED, [row(20, "TEE", 1, shipped=1, product_type="configurable"),
                                    row(21, "TEE", 1, parent=20), row(22, "GIFT", 1, is_virtual=1)]), {},
                 True, id="children and virtual rows do not ship"),
    pytest.param(order(AUTHORISED, []), {}, False, id="no items"),
])
def test_needs_capture(commerce_order: dict[str, Any], ref_payment: dict[str, Any], expected: bool) -> None:
    assert m.needs_capture(commerce_order, ref_payment) is expected


def test_invoice_body() -> None:
    assert m.invoice_body(SH, notify=True) == {
        "capture": True,
        "notify": True,
        "appendComment": False,
        "comment": {"comment": "[oms-bridge] Captured on Sterling shipment SH-1", "is_visible_on_front": 0},
    }
