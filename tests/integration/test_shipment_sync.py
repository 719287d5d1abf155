"""Shipment sync end to end on the sandbox: Commerce orders are exported to Sterling, Sterling ships
them, the shipment events go through ingress and the bus to ShipmentSyncFunction, and the Commerce
simulator ends up with the shipments. Bodies are asserted as Commerce received them.

One sandbox serves the module (starting one and carrying an order to Sterling costs seconds); each
test works on its own order. Capture on shipment is on, so the tests also show when it happens.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.contracts import assert_commerce_contract
from sandbox.demo_data import SEED, mugs_and_tee, pickup_order, place_and_release, simple_order
from sandbox.sim.base import Fault
from sandbox.stack import Sandbox

FUNCTION = "ShipmentSyncFunction"
MARK = "[oms-bridge] Sterling shipment"
UPS = {"carrier_code": "ups", "title": "United Parcel Service"}


def two_line_order(increment_id: str) -> dict[str, Any]:
    """Three mugs and a configurable tee (parent row + child row)."""
    return mugs_and_tee(increment_id, mugs=3)


ORDERS = [simple_order("000000301", qty=2), two_line_order("000000302"), two_line_order("000000303"),
          simple_order("000000304", qty=2), simple_order("000000305", qty=2), pickup_order("000000306"),
          simple_order("000000307", qty=1)]


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with Sandbox(seed=copy.deepcopy(SEED), env={"INVOICE_ON_SHIPMENT": "true"}) as sandbox:
        place_and_release(sandbox, ORDERS)
        yield sandbox


def ship(sandbox: Sandbox, order_no: str, shipment_no: str, lines: list[tuple[str, str]],
         containers: list[dict[str, Any]]) -> dict[str, Any]:
    """The DC ships ``lines`` (PrimeLineNo, quantity) by UPS as one Sterling shipment; returns the
    shipment.shipped document Sterling published."""
    api = sandbox.sterling_user()
    api.create_shipment({"ShipmentNo": shipment_no, "ShipNode": "default", "SCAC": "UPSN",
                         "ShipmentLines": {"ShipmentLine": [
                             {"OrderNo": order_no, "PrimeLineNo": prime, "SubLineNo": "1", "Quantity": qty}
                             for prime, qty in lines]}})
    api.confirm_shipment({"ShipmentNo": shipment_no, "ShipNode": "default", "SellerOrganizationCode": "DEFAULT",
                          "Containers": {"Container": containers}})
    api.close()
    sandbox.deliver()
    published: dict[str, Any] = sandbox.sterling.events_of("shipment.shipped")[-1]
    return published


def order_of(sandbox: Sandbox, order_no: str) -> dict[str, Any]:
    found: dict[str, Any] = sandbox.commerce.find_order(order_no)
    return found


def calls_for(sandbox: Sandbox, order: dict[str, Any], suffix: str) -> list[dict[str, Any]]:
    """POSTs to ``/V1/order/<entity_id><suffix>``."""
    path = f"/rest/default/V1/order/{order['entity_id']}{suffix}"
    calls: list[dict[str, Any]] = sandbox.commerce.calls_to(path, "POST")
    return calls


def shipments_of(sandbox: Sandbox, order: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in sandbox.commerce.shipments.values() if s["order_id"] == order["entity_id"]]


SHIPPED_OR_PICKUP = ("shipment.shipped", "shipment.ready_for_pickup")


def results_for(sandbox: Sandbox, order_no: str,
                detail_types: tuple[str, ...] = SHIPPED_OR_PICKUP) -> list[dict[str, Any]]:
    """What ShipmentSyncFunction answered for this order, per successful invocation of those events."""
    return [o for r in sandbox.invocations if r["function"] == FUNCTION and "result" in r
            and r["event"].get("detail-type") in detail_types
            for o in r["result"].get("orders", []) if o["order_no"] == order_no]


def parked(sandbox: Sandbox, text: str) -> list[str]:
    return [r["reason"]["reason"] for r in sandbox.dlq(FUNCTION) if text in r["reason"]["reason"]]


def item_ids(order: dict[str, Any]) -> dict[str, int]:
    """SKU → item id of the order's top-level rows (a configurable's parent row carries its child's SKU)."""
    return {item["sku"]: int(item["item_id"]) for item in order["items"] if not item.get("parent_item_id")}


def body(shipment_no: str, items: list[tuple[int, int]], tracks: list[str], source: str = "default") -> dict[str, Any]:
    return {
        "items": [{"order_item_id": item_id, "qty": qty} for item_id, qty in items],
        "notify": True,
        "appendComment": False,
        "comment": {"comment": f"{MARK} {shipment_no} from {source}", "is_visible_on_front": 0},
        "tracks": [{**UPS, "track_number": number} for number in tracks],
        "arguments": {"extension_attributes": {"source_code": source}},
    }


def invoice(shipment_no: str) -> dict[str, Any]:
    return {"capture": True, "notify": True, "appendComment": False,
            "comment": {"comment": f"[oms-bridge] Captured on Sterling shipment {shipment_no}",
                        "is_visible_on_front": 0}}


def test_one_line_one_container(box: Sandbox) -> None:
    order = order_of(box, "000000301")
    ship(box, "000000301", "SH-301", [("1", "2")], [{"ContainerNo": "C1", "TrackingNo": "1Z301"}])
    assert [call["body"] for call in calls_for(box, order, "/ship")] == [
        body("SH-301", [(item_ids(order)["DEMO-MUG"], 2)], ["1Z301"])]
    [shipment] = shipments_of(box, order)
    assert [(i["order_item_id"], i["qty"]) for i in shipment["items"]] == [(item_ids(order)["DEMO-MUG"], 2)]
    assert [t["track_number"] for t in shipment["tracks"]] == ["1Z301"]
    assert shipment["comments"][0]["comment"] == f"{MARK} SH-301 from default"
    # The shipment completed an order that was only authorised: captured.
    assert [call["body"] for call in calls_for(box, order, "/invoice")] == [invoice("SH-301")]
    assert order_of(box, "000000301")["total_paid"] == order["grand_total"]
    assert parked(box, "000000301") == []
    assert_commerce_contract(box.commerce)


def test_the_shipment_sterling_created_is_commented_on_the_order_once(box: Sandbox) -> None:
    # Sterling's createShipment raises shipment.created (CREATE_SHIPMENT.ON_SUCCESS); the comment is
    # what IBM's connector writes then (ShipmentChangeAC/index.js), naming the shipment.
    order = order_of(box, "000000307")
    api = box.sterling_user()
    api.create_shipment({"ShipmentNo": "SH-307", "ShipNode": "default", "SCAC": "UPSN", "ShipmentLines": {
        "ShipmentLine": [{"OrderNo": "000000307", "PrimeLineNo": "1", "SubLineNo": "1", "Quantity": "1"}]}})
    api.close()
    box.deliver()
    box.sterling_post("shipment.created", box.sterling.events_of("shipment.created")[-1])
    box.deliver()
    comments = [c["body"]["statusHistory"] for c in box.commerce.calls_to(
        f"/rest/default/V1/orders/{order['entity_id']}/comments", "POST")
        if "Shipment SH-307" in c["body"]["statusHistory"]["comment"]]
    assert comments == [{"comment": "[oms-bridge] Shipment SH-307 created in Sterling at node default: "
                                    "line 1 DEMO-MUG x1", "is_customer_notified": 0, "is_visible_on_front": 0,
                         "parent_id": order["entity_id"]}]
    assert [r["status"] for r in results_for(box, "000000307", ("shipment.created",))] == ["commented", "duplicate"]
    assert parked(box, "000000307") == []


def test_several_lines_over_two_containers_with_a_configurable_item(box: Sandbox) -> None:
    order = order_of(box, "000000302")
    ids = item_ids(order)
    ship(box, "000000302", "SH-302", [("1", "3"), ("2", "1")], [
        {"ContainerNo": "C1", "TrackingNo": "1Z3021"}, {"ContainerNo": "C2", "TrackingNo": "1Z3022"}])
    # The tee ships as its configurable parent row, which is the row Commerce counts.
    assert [call["body"] for call in calls_for(box, order, "/ship")] == [
        body("SH-302", [(ids["DEMO-MUG"], 3), (ids["TEE-M-BLUE"], 1)], ["1Z3021", "1Z3022"])]
    assert_commerce_contract(box.commerce)


def test_a_partial_shipment_then_the_rest_each_ship_their_own_lines(box: Sandbox) -> None:
    order = order_of(box, "000000303")
    ids = item_ids(order)
    ship(box, "000000303", "SH-303A", [("1", "1")], [{"ContainerNo": "C1", "TrackingNo": "1Z303A"}])
    assert calls_for(box, order, "/invoice") == []
    # The second shipment has a container without a tracking number: no track for it.
    ship(box, "000000303", "SH-303B", [("1", "2"), ("2", "1")], [
        {"ContainerNo": "C2", "TrackingNo": "1Z303B"}, {"ContainerNo": "C3"}])
    assert [call["body"] for call in calls_for(box, order, "/ship")] == [
        body("SH-303A", [(ids["DEMO-MUG"], 1)], ["1Z303A"]),
        body("SH-303B", [(ids["DEMO-MUG"], 2), (ids["TEE-M-BLUE"], 1)], ["1Z303B"]),
    ]
    shipped = {i["sku"]: i["qty_shipped"] for i in order_of(box, "000000303")["items"] if not i.get("parent_item_id")}
    assert shipped == {"DEMO-MUG": 3, "TEE-M-BLUE": 1}
    assert [call["body"] for call in calls_for(box, order, "/invoice")] == [invoice("SH-303B")]
    assert_commerce_contract(box.commerce)


def test_duplicate_delivery_leaves_one_commerce_shipment(box: Sandbox) -> None:
    order = order_of(box, "000000304")
    document = ship(box, "000000304", "SH-304", [("1", "2")], [{"ContainerNo": "C1", "TrackingNo": "1Z304"}])
    box.sterling_post("shipment.shipped", document)
    box.sterling_post("shipment.shipped", document)
    box.deliver()
    assert len(shipments_of(box, order)) == 1
    assert len(calls_for(box, order, "/ship")) == 1
    assert len(calls_for(box, order, "/invoice")) == 1
    assert [r["status"] for r in results_for(box, "000000304")] == ["shipped", "duplicate", "duplicate"]
    assert parked(box, "000000304") == []


def test_timeout_after_commerce_created_the_shipment_leaves_one(box: Sandbox) -> None:
    order = order_of(box, "000000305")
    # Commerce makes the shipment, then answers after the client gave up (HTTP_READ_TIMEOUT is 1 s).
    box.commerce.faults.script(rf"/V1/order/{order['entity_id']}/ship$", Fault("timeout", seconds=1.5))
    ship(box, "000000305", "SH-305", [("1", "2")], [{"ContainerNo": "C1", "TrackingNo": "1Z305"}])
    [shipment] = shipments_of(box, order)
    [result] = results_for(box, "000000305")
    assert (result["status"], result["commerce_shipment_id"], result["found"]) == (
        "shipped", shipment["entity_id"], False)
    # Looked for it before the ship call and once more after the timeout: never a blind second POST.
    value = "searchCriteria[filter_groups][0][filters][0][value]"
    lookups = [call for call in box.commerce.calls
               if call["path"].endswith("/V1/shipments") and call["query"].get(value) == str(order["entity_id"])]
    assert len(lookups) == 2
    assert parked(box, "000000305") == []


def test_bopis_ready_for_pickup_then_picked_up(box: Sandbox) -> None:
    order = order_of(box, "000000306")
    shipment = box.sterling.include_in_shipment("000000306", shipment_no="SH-306")
    box.sterling.ready_for_pickup("SH-306", shipment["ShipNode"])
    box.deliver()
    [notice] = [call for call in box.commerce.calls_to("/V1/order/notify-orders-are-ready-for-pickup", "POST")
                if call["body"] == {"orderIds": [order["entity_id"]]}]
    assert notice["status"] == 200
    [made] = shipments_of(box, order)
    assert made["extension_attributes"] == {"source_code": "store_1"}
    # The customer collects it: Sterling confirms the shipment; Commerce shipped it with the notice.
    api = box.sterling_user()
    api.confirm_shipment({"ShipmentNo": "SH-306", "ShipNode": shipment["ShipNode"],
                          "SellerOrganizationCode": "DEFAULT"})
    api.close()
    box.deliver()
    assert len(shipments_of(box, order)) == 1
    assert calls_for(box, order, "/ship") == []
    assert [r["status"] for r in results_for(box, "000000306")] == ["ready_for_pickup", "duplicate"]
    assert parked(box, "000000306") == []
    assert_commerce_contract(box.commerce)


@pytest.mark.parametrize(("data", "reason"), [
    pytest.param({"ShipmentLines": {"ShipmentLine": [{"OrderNo": "294"}]}},
                 "shipment event for order 294 names no shipment (no ShipmentKey, no ShipmentNo + ShipNode) "
                 "and no shipped lines: cannot tell what shipped", id="minimal event"),
    pytest.param({"ShipmentNo": "SH-X", "ShipNode": "default", "ShipmentLines": {"ShipmentLine": [
        {"OrderNo": "000000999", "PrimeLineNo": "1", "ItemID": "DEMO-MUG", "Quantity": "1.00"}]}},
                 "Commerce has no order 000000999", id="unknown order"),
])
def test_what_cannot_ship_is_parked_with_the_reason(box: Sandbox, data: dict[str, Any], reason: str) -> None:
    before = len(box.commerce.shipments)
    box.publish("ibm.sterling", "shipment.shipped", {"id": f"evt-{reason[:8]}", "time": "2024-05-02T14:05:10Z",
                                                     "data": data})
    box.deliver()
    [record] = [r for r in box.dlq(FUNCTION) if r["reason"]["reason"] == reason]
    assert record["event"]["detail"]["data"] == data
    assert len(box.commerce.shipments) == before
