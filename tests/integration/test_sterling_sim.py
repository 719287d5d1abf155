"""The Sterling simulator's rules, driven through the Sterling client over loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from omsbridge.http import RetryPolicy
from omsbridge.sterling import SterlingClient, SterlingError, TokenAuth, templates
from omsbridge.sterling.auth import forget_tokens
from sandbox.sim.base import SimServer
from sandbox.sim.sterling import PipelineError, SterlingSim
from tests.support import foreign as fixture

USER, PASSWORD = "oms-bridge", "sim-password"
ITEMS = ["A-ITEM", "B-ITEM", "C-ITEM", "D-ITEM", "F-ITEM", "H-ITEM", "I-ITEM", "K-ITEM", "N-ITEM", "O-ITEM", "P-ITEM",
         "Q-ITEM", "S-ITEM", "SKU1", "T-ITEM", "V-ITEM", "X-ITEM", "Y-ITEM", "Z-ITEM"]
# A monitoring rule with a level at every unit up to 10: RTAM publishes every change these tests make.
SEED = {"items": [*ITEMS, "L-A", "L-B"], "hold_types": ["Commerce_Hold", "FRAUD"],
        "rtam": {"levels": list(range(1, 11))}, "nodes": [
    {"ShipNode": "DC1", "NodeType": "DC", "Description": "East DC", "ZipCode": "07001", "Country": "US"},
    {"ShipNode": "DC2", "NodeType": "DC", "Description": "Midwest DC", "ZipCode": "60540", "Country": "US"},
    {"ShipNode": "STORE1", "NodeType": "Store", "Description": "Lincoln Park", "AddressLine1": "1 Clark St",
     "City": "Chicago", "ZipCode": "60614", "Country": "US"},
    {"ShipNode": "STORE2", "NodeType": "Store", "Description": "Mission", "ZipCode": "94110", "Country": "US"},
]}


# One server for the module (stopping one takes half a second). Each test uses its own order
# numbers and items, and starts with no calls, sessions, faults or events recorded.
@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    simulator = SterlingSim(USER, PASSWORD)
    simulator.load_seed(SEED)
    started = SimServer(simulator).start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def shared_client(server: SimServer) -> Iterator[SterlingClient]:
    base = f"{server.url}/smcfs/restapi"
    sterling = SterlingClient(base, "DEFAULT", TokenAuth(base, USER, PASSWORD),
                              policy=RetryPolicy(attempts=1, sleep=lambda _: None))
    templates.install(sterling)
    yield sterling
    sterling.close()


@pytest.fixture
def sim(server: SimServer) -> Iterator[SterlingSim]:
    simulator = server.simulator
    assert isinstance(simulator, SterlingSim)
    simulator.calls.clear()
    simulator.faults.clear()
    simulator.tokens.clear()
    simulator.emitted.clear()
    forget_tokens()
    yield simulator
    forget_tokens()


@pytest.fixture
def client(sim: SterlingSim, shared_client: SterlingClient) -> SterlingClient:
    return shared_client


def order_input(order_no: str, *lines: tuple[str, int], **header: Any) -> dict[str, Any]:
    return {"OrderNo": order_no, **header, "OrderLines": {"OrderLine": [
        {"PrimeLineNo": number, "SubLineNo": 1, "OrderedQty": quantity, "Item": {"ItemID": item}}
        for number, (item, quantity) in enumerate(lines, start=1)]}}


def stock(client: SterlingClient, item: str, **levels: int) -> None:
    client.adjust_inventory([{"ItemID": item, "ShipNode": node, "Quantity": str(level), "AdjustmentType": "ABSOLUTE"}
                             for node, level in levels.items()])


def kinds(sim: SterlingSim) -> list[str]:
    return [kind for kind, _ in sim.emitted]


def envelope(code: str, description: str, more_info: dict[str, str] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"ErrorCode": code, "ErrorDescription": description, "ErrorUniqueExceptionId": None}
    if more_info:
        entry["MoreInfo"] = more_info
    return {"errors": [{**entry, "httpcode": 400}]}


def refused(call: Any) -> SterlingError:
    with pytest.raises(SterlingError) as caught:
        call()
    return caught.value


# -- createOrder ----------------------------------------------------------------------------------


def test_create_order_answers_root_less_strings_and_emits_order_created(sim: SterlingSim,
                                                                        client: SterlingClient) -> None:
    body = {
        "EnterpriseCode": "DEFAULT", "DocumentType": "0001", "OrderNo": "C-1", "EntryType": "WEB",
        "OrderHoldTypes": {"OrderHoldType": {"HoldType": "Commerce_Hold", "ReasonText": "Order > 500"}},
        "PersonInfoShipTo": {"ZipCode": 60601, "Country": "US"},
        "OrderLines": {"OrderLine": {"PrimeLineNo": 1, "OrderedQty": 2, "Item": {"ItemID": "C-ITEM"},
                                     "LinePriceInfo": {"UnitPrice": 505.75, "IsPriceLocked": "Y"}}},
    }
    answer = client.invoke("createOrder", body, idempotent=False)
    assert len(answer["OrderHeaderKey"]) == 21
    assert answer["OrderHeaderKey"].isdigit()
    assert {name: answer[name] for name in ("OrderNo", "Status", "MinOrderStatus", "MaxOrderStatus", "HoldFlag",
                                            "SellerOrganizationCode", "EntryType", "PersonInfoShipTo")} == {
        "OrderNo": "C-1", "Status": "Created", "MinOrderStatus": "1100", "MaxOrderStatus": "1100", "HoldFlag": "Y",
        "SellerOrganizationCode": "DEFAULT", "EntryType": "WEB",
        "PersonInfoShipTo": {"ZipCode": "60601", "Country": "US"}}
    [line] = answer["OrderLines"]["OrderLine"]
    assert {name: line[name] for name in ("PrimeLineNo", "SubLineNo", "OrderedQty", "Status", "MaxLineStatus",
                                          "DeliveryMethod", "Item", "LinePriceInfo")} == {
        "PrimeLineNo": "1", "SubLineNo": "1", "OrderedQty": "2.00", "Status": "Created", "MaxLineStatus": "1100",
        "DeliveryMethod": "SHP", "Item": {"ItemID": "C-ITEM", "UnitOfMeasure": "EACH", "ProductClass": ""},
        "LinePriceInfo": {"UnitPrice": "505.75", "IsPriceLocked": "Y"}}
    assert answer["OrderHoldTypes"] == {"OrderHoldType": [
        {"HoldType": "Commerce_Hold", "Status": "1100", "StatusDescription": "Created", "ReasonText": "Order > 500"}]}
    assert sim.emitted == [("order.created", answer)]


MISSING = "Mandatory attributes are missing in input."


VALIDATION_CASES = [
    (lambda b: b.pop("EnterpriseCode"), "YFS10460", MISSING, {"Attribute": "EnterpriseCode", "Element": "Order"}),
    (lambda b: b.pop("DocumentType"), "YFS10460", MISSING, {"Attribute": "DocumentType", "Element": "Order"}),
    (lambda b: b.update(OrderNo=" "), "YFS10460", MISSING, {"Attribute": "OrderNo", "Element": "Order"}),
    (lambda b: b.update(OrderLines={}), "YFS10460", MISSING, {"Attribute": "OrderLine", "Element": "OrderLines"}),
    (lambda b: b["OrderLines"]["OrderLine"][0].pop("PrimeLineNo"), "YFS10460", MISSING,
     {"Attribute": "PrimeLineNo", "Element": "OrderLine"}),
    (lambda b: b["OrderLines"]["OrderLine"][0].update(Item={"UnitOfMeasure": "EACH"}), "YFS10460", MISSING,
     {"Attribute": "ItemID", "Element": "Item"}),
    (lambda b: b["OrderLines"]["OrderLine"][0].pop("OrderedQty"), "YFS10460", MISSING,
     {"Attribute": "OrderedQty", "Element": "OrderLine"}),
    (lambda b: b["OrderLines"]["OrderLine"][0].update(DeliveryMethod="PICK"), "YFS10460", MISSING,
     {"Attribute": "ShipNode", "Element": "OrderLine"}),
    (lambda b: b["OrderLines"]["OrderLine"][0].update(OrderedQty="two"), "SIM_INVALID_INPUT",
     "OrderedQty is not a number", {"Attribute": "OrderedQty", "Element": "OrderLine"}),
    (lambda b: b["OrderLines"]["OrderLine"][0].update(OrderedQty=0), "SIM_INVALID_INPUT",
     "OrderedQty must be greater than zero", {"PrimeLineNo": "1", "OrderedQty": "0"}),
    (lambda b: b["OrderLines"]["OrderLine"][0].update(ShipNode="NOWHERE"), "SIM_INVALID_NODE",
     "Invalid ship node", {"ShipNode": "NOWHERE"}),
    (lambda b: b["OrderLines"]["OrderLine"].append(b["OrderLines"]["OrderLine"][0]), "YFC0001",
     "Record already exists in the database.", {"PrimeLineNo": "1", "SubLineNo": "1"}),
]


@pytest.mark.parametrize(("change", "code", "description", "more_info"), VALIDATION_CASES,
                         ids=[f"{code}-{'-'.join(info.values())}" for _, code, _, info in VALIDATION_CASES])
def test_create_order_validation(sim: SterlingSim, client: SterlingClient, change: Any, code: str,
                                 description: str, more_info: dict[str, str]) -> None:
    body = {"EnterpriseCode": "DEFAULT", "DocumentType": "0001", **order_input("V-1", ("V-ITEM", 1))}
    change(body)
    error = refused(lambda: client.invoke("createOrder", body, idempotent=False))
    assert (error.status, error.code, error.body) == (400, code, envelope(code, description, more_info))
    assert ("DEFAULT", "0001", "V-1") not in sim.orders
    assert sim.emitted == []


def test_an_order_number_exists_once_per_enterprise_and_document_type(client: SterlingClient) -> None:
    client.create_order(order_input("D-1", ("D-ITEM", 1)))
    error = refused(lambda: client.create_order(order_input("D-1", ("D-ITEM", 1))))
    assert error.body == envelope("YFC0001", "Record already exists in the database.",
                                  {"OrderNo": "D-1", "EnterpriseCode": "DEFAULT", "DocumentType": "0001"})
    returned = client.create_order({**order_input("D-1", ("D-ITEM", 1)), "DocumentType": "0003"})
    assert (returned.order_no, returned.document_type) == ("D-1", "0003")


def test_an_unknown_order_is_yfs10003(client: SterlingClient) -> None:
    error = refused(lambda: client.get_order_details("NO-SUCH"))
    assert error.body == envelope("YFS10003", "YFS:Invalid Order", {
        "OrderHeaderKey": "", "OrderNo": "NO-SUCH", "EnterpriseCode": "DEFAULT", "DocumentType": "0001"})
    assert client.find_order("NO-SUCH") is None


# -- changeOrder ----------------------------------------------------------------------------------


def test_cancel_the_whole_order_gives_back_its_demand(sim: SterlingSim, client: SterlingClient) -> None:
    stock(client, "X-ITEM", DC1=5)
    client.create_order(order_input("X-1", ("X-ITEM", 2)))
    sim.schedule("X-1")
    sim.emitted.clear()
    cancelled = client.change_order({"OrderNo": "X-1", "Action": "CANCEL", "ModificationReasonCode": "CUSTOMER"})
    assert (cancelled.status, cancelled.max_order_status, cancelled.order_lines[0].ordered_qty) == (
        "Cancelled", "9000", Decimal(0))
    assert kinds(sim) == ["order.cancelled", "inventory.changed"]
    assert sim.emitted[1][1]["AvailabilityChanges"]["AvailabilityChange"] == [
        {"Node": "DC1", "OnhandAvailableQuantity": "5.00", "FirstFutureAvailableDate": sim.emitted[1][1][
            "AvailabilityChanges"]["AvailabilityChange"][0]["FirstFutureAvailableDate"], "AlertLevel": "5"}]
    client.change_order({"OrderNo": "X-1", "Action": "CANCEL"}, idempotent=True)
    assert kinds(sim) == ["order.cancelled", "inventory.changed"]


def ship(sim: SterlingSim, client: SterlingClient, order_no: str) -> dict[str, Any]:
    sim.schedule(order_no)
    sim.release(order_no)
    shipment = sim.include_in_shipment(order_no)
    client.confirm_shipment({"ShipmentKey": shipment["ShipmentKey"]})
    return shipment


def test_cancel_after_shipping_is_yfs10137_like_the_real_one(sim: SterlingSim, client: SterlingClient) -> None:
    stock(client, "Y-ITEM", DC1=5)
    created = client.create_order(order_input("Y-1", ("Y-ITEM", 1)))
    ship(sim, client, "Y-1")
    sim.emitted.clear()
    error = refused(lambda: client.change_order({"OrderNo": "Y-1", "Action": "CANCEL"}))
    real = fixture("oms_cancelOrder_error_response_YFS10137.json")["errors"][0]
    [entry] = error.body["errors"]
    assert {name: entry[name] for name in ("ErrorCode", "ErrorDescription", "httpcode")} == {
        name: real[name] for name in ("ErrorCode", "ErrorDescription", "httpcode")}
    assert entry["MoreInfo"] == {"ModificationType": "CANCEL", "ModificationLevel": "ORDER", "OrderNo": "Y-1",
                                 "EnterpriseCode": "DEFAULT", "DocumentType": "0001",
                                 "OrderHeaderKey": created.order_header_key, "Override": ""}
    assert set(entry["MoreInfo"]) == set(real["MoreInfo"])
    assert client.get_order_details("Y-1").status == "Shipped"
    assert sim.emitted == []


def test_cancel_order_api_with_the_connector_template(client: SterlingClient) -> None:
    client.create_order(order_input("Z-1", ("Z-ITEM", 1)))
    answer = client.invoke("cancelOrder", {"EnterpriseCode": "DEFAULT", "DocumentType": "0001", "OrderNo": "Z-1"},
                           template_key="def_cancelOrder_01", idempotent=True)
    created_key = answer["OrderLines"]["OrderLine"][0]["OrderHeaderKey"]
    assert answer == {"DocumentType": "0001", "EnterpriseCode": "DEFAULT", "OrderNo": "Z-1", "OrderLines": {
        "OrderLine": [{"OrderHeaderKey": created_key, "OrderedQty": "0.00", "StopDeliveryQty": "0.00"}]}}
    real = fixture("oms_cancelOrder_success_response.json")
    assert set(answer) == set(real)
    assert set(answer["OrderLines"]["OrderLine"][0]) == set(real["OrderLines"]["OrderLine"][0])


def test_line_cancel_and_quantity_reduction(sim: SterlingSim, client: SterlingClient) -> None:
    client.create_order(order_input("L-1", ("L-A", 1), ("L-B", 3)))
    changed = client.change_order({"OrderNo": "L-1", "OrderLines": {"OrderLine": [
        {"PrimeLineNo": "1", "SubLineNo": "1", "Action": "CANCEL"}]}})
    assert [(line.status, line.ordered_qty) for line in changed.order_lines] == [
        ("Cancelled", Decimal(0)), ("Created", Decimal(3))]
    assert changed.status == "Created"
    reduced = client.change_order({"OrderNo": "L-1", "OrderLines": {"OrderLine": [
        {"PrimeLineNo": 2, "OrderedQty": 1}]}})
    assert reduced.order_lines[1].ordered_qty == Decimal(1)
    assert sorted((status.status, status.status_qty) for status in reduced.order_statuses
                  if status.order_line_key == reduced.order_lines[1].order_line_key) == [
        ("1100", Decimal(1)), ("9000", Decimal(2))]
    last = client.change_order({"OrderNo": "L-1", "OrderLines": {"OrderLine": [
        {"PrimeLineNo": 2, "Action": "CANCEL"}]}})
    assert last.status == "Cancelled"
    assert kinds(sim) == ["order.created", "order.changed", "order.changed", "order.cancelled"]


def test_a_shipped_line_cannot_be_cancelled(sim: SterlingSim, client: SterlingClient) -> None:
    stock(client, "S-ITEM", DC1=3)
    client.create_order(order_input("S-1", ("S-ITEM", 1)))
    ship(sim, client, "S-1")
    error = refused(lambda: client.change_order({"OrderNo": "S-1", "OrderLines": {"OrderLine": [
        {"PrimeLineNo": "1", "Action": "CANCEL"}]}}))
    assert (error.code, error.more_info["ModificationLevel"], error.more_info["PrimeLineNo"]) == (
        "YFS10137", "ORDER_LINE", "1")
    hold = refused(lambda: client.change_order({"OrderNo": "S-1", "OrderHoldTypes": {"OrderHoldType": [
        {"HoldType": "FRAUD"}]}}))
    assert (hold.code, hold.more_info["ModificationType"]) == ("YFS10137", "HOLD_TYPE")


def test_cancelling_an_order_takes_it_out_of_its_open_shipment(sim: SterlingSim, client: SterlingClient) -> None:
    stock(client, "O-ITEM", DC1=3)
    client.create_order(order_input("O-1", ("O-ITEM", 2)))
    sim.schedule("O-1")
    sim.release("O-1")
    shipment = sim.include_in_shipment("O-1")
    assert client.change_order({"OrderNo": "O-1", "Action": "CANCEL"}).status == "Cancelled"
    emptied = client.get_shipment_details(shipment["ShipmentKey"])
    assert (emptied.status, emptied.shipment_lines) == ("9000", [])
    assert sim.inventory.available("O-ITEM", "DC1") == Decimal(3)


def test_hold_types_drive_the_hold_flag(sim: SterlingSim, client: SterlingClient) -> None:
    stock(client, "H-ITEM", DC1=3)
    held = client.create_order({**order_input("H-1", ("H-ITEM", 1)), "OrderHoldTypes": {"OrderHoldType": [
        {"HoldType": "Commerce_Hold", "ReasonText": "Order > 500"}]}})
    assert held.hold_flag is True
    with pytest.raises(PipelineError, match="on hold"):
        sim.schedule("H-1")
    resolved = client.change_order({"OrderNo": "H-1", "Action": "MODIFY", "OrderHoldTypes": {"OrderHoldType": [
        {"HoldType": "Commerce_Hold", "Status": "1300"}]}}, idempotent=True)
    assert (resolved.hold_flag, [(hold.status, hold.reason_text) for hold in resolved.hold_types]) == (
        False, [("1300", "Order > 500")])
    client.change_order({"OrderNo": "H-1", "OrderHoldTypes": {"OrderHoldType": [
        {"HoldType": "Commerce_Hold", "Status": "1300"}]}}, idempotent=True)
    fraud = client.change_order({"OrderNo": "H-1", "OrderHoldTypes": {"OrderHoldType": [
        {"HoldType": "FRAUD", "Status": "1100"}]}})
    assert (fraud.hold_flag, [hold.hold_type for hold in fraud.active_holds]) == (True, ["FRAUD"])
    assert kinds(sim) == ["inventory.changed", "order.created", "order.hold_changed", "order.hold_changed"]
    assert [document["HoldFlag"] for _, document in sim.emitted[2:]] == ["N", "Y"]


# -- the pipeline -----------------------------------------------------------------------------------


def test_schedule_backorders_when_stock_is_short_then_schedules_and_releases(
        sim: SterlingSim, client: SterlingClient) -> None:
    stock(client, "P-ITEM", DC1=1)
    client.create_order({**order_input("P-1", ("P-ITEM", 2)), "PersonInfoShipTo": {"ZipCode": "10001"},
                         "SCAC": "UPSN", "CarrierServiceCode": "GROUND"})
    short = sim.schedule("P-1")
    assert (short["Status"], short["MaxOrderStatus"]) == ("Backordered", "1300")
    stock(client, "P-ITEM", DC1=5)
    scheduled = sim.schedule("P-1")
    assert (scheduled["Status"], scheduled["OrderLines"]["OrderLine"][0]["ShipNode"]) == ("Scheduled", "DC1")
    [release] = sim.release("P-1")
    [line] = release["OrderLines"]["OrderLine"]
    assert {name: release[name] for name in ("ReleaseNo", "ShipNode", "Status", "OrderNo", "SCAC",
                                             "CarrierServiceCode", "PersonInfoShipTo", "DeliveryMethod")} == {
        "ReleaseNo": "1", "ShipNode": "DC1", "Status": "3200", "OrderNo": "P-1", "SCAC": "UPSN",
        "CarrierServiceCode": "GROUND", "PersonInfoShipTo": {"ZipCode": "10001"}, "DeliveryMethod": "SHP"}
    assert (line["StatusQuantity"], line["OrderReleaseKey"]) == ("2.00", release["OrderReleaseKey"])
    assert kinds(sim) == ["inventory.changed", "order.created", "order.backordered", "inventory.changed",
                          "order.changed", "inventory.changed", "order.released"]
    availability = [document["AvailabilityChanges"]["AvailabilityChange"][0]["OnhandAvailableQuantity"]
                    for kind, document in sim.emitted if kind == "inventory.changed"]
    assert availability == ["1.00", "5.00", "3.00"]
    with pytest.raises(PipelineError, match="nothing to schedule"):
        sim.schedule("P-1")


def test_bopis_ready_for_pickup(sim: SterlingSim, client: SterlingClient) -> None:
    stock(client, "B-ITEM", STORE1=2)
    client.create_order({"OrderNo": "B-1", "OrderLines": {"OrderLine": [
        {"PrimeLineNo": 1, "OrderedQty": 1, "DeliveryMethod": "PICK", "ShipNode": "STORE1",
         "Item": {"ItemID": "B-ITEM"}}]}})
    sim.schedule("B-1")
    sim.release("B-1")
    shipment = sim.include_in_shipment("B-1", shipment_no="PICK-1")
    assert (shipment["ShipmentNo"], shipment["ShipNode"], shipment["Status"], shipment["DeliveryMethod"]) == (
        "PICK-1", "STORE1", "1100", "PICK")
    ready = sim.ready_for_pickup("PICK-1")
    assert ready["Status"] == "1100.70.06.30"
    assert [line["OrderLine"]["DeliveryMethod"] for line in ready["ShipmentLines"]["ShipmentLine"]] == ["PICK"]
    assert kinds(sim)[-2:] == ["shipment.created", "shipment.ready_for_pickup"]
    assert sim.events_of("shipment.ready_for_pickup") == [ready]
    assert client.get_order_details("B-1").status == "Included In Shipment"


def test_a_short_confirmation_cancels_or_backorders_the_rest(sim: SterlingSim, client: SterlingClient) -> None:
    stock(client, "Q-ITEM", DC1=10)
    for order_no in ("Q-1", "Q-2"):
        client.create_order(order_input(order_no, ("Q-ITEM", 3)))
        sim.schedule(order_no)
        sim.release(order_no)
    first = sim.include_in_shipment("Q-1", shipment_no="QS-1")
    line_key = first["ShipmentLines"]["ShipmentLine"][0]["ShipmentLineKey"]
    error = refused(lambda: client.confirm_shipment({"ShipmentKey": first["ShipmentKey"], "ShipmentLines": {
        "ShipmentLine": [{"ShipmentLineKey": line_key, "Quantity": "2"}]}}))
    assert (error.code, error.more_info) == ("YFS10460", {"Attribute": "CancelNonShippedQuantity",
                                                          "Element": "Shipment"})
    sim.ready_to_ship("QS-1")
    sim.emitted.clear()
    shipped = client.confirm_shipment({"ShipmentKey": first["ShipmentKey"], "CancelNonShippedQuantity": "Y",
                                       "ShipmentLines": {"ShipmentLine": [{"ShipmentLineKey": line_key,
                                                                          "Quantity": "2"}]}})
    assert (shipped.status, shipped.shipment_lines[0].quantity) == ("1400", Decimal(2))
    order = client.get_order_details("Q-1")
    assert sorted((status.status, status.status_qty) for status in order.order_statuses) == [
        ("3700", Decimal(2)), ("9000", Decimal(1))]
    assert kinds(sim) == ["shipment.shipped", "order.changed", "inventory.changed"]
    assert sim.inventory.supply[("Q-ITEM", "DC1")] == Decimal(8)
    second = sim.include_in_shipment("Q-2", shipment_no="QS-2")
    client.confirm_shipment({"ShipmentNo": "QS-2", "ShipNode": "DC1", "BackOrderNonShippedQuantity": "Y",
                             "ShipmentLines": {"ShipmentLine": [{"ShipmentLineNo": "1", "Quantity": "1"}]}})
    assert client.get_order_details("Q-2").status == "Partially Shipped"
    assert kinds(sim)[-3:-1] == ["shipment.shipped", "order.backordered"]
    again = refused(lambda: client.confirm_shipment({"ShipmentKey": second["ShipmentKey"]}))
    assert again.code == "SIM_INVALID_SHIPMENT"


def test_change_shipment_cancel_returns_the_lines_to_released(sim: SterlingSim, client: SterlingClient) -> None:
    stock(client, "K-ITEM", DC2=4)
    client.create_order(order_input("K-1", ("K-ITEM", 2)))
    sim.schedule("K-1")
    sim.release("K-1")
    shipment = sim.include_in_shipment("K-1")
    cancelled = client.change_shipment({"ShipmentKey": shipment["ShipmentKey"], "Action": "Cancel"})
    assert cancelled.status == "9000"
    assert client.get_order_details("K-1").status == "Released"
    again = sim.include_in_shipment("K-1")
    client.confirm_shipment({"ShipmentKey": again["ShipmentKey"]})
    error = refused(lambda: client.change_shipment({"ShipmentKey": again["ShipmentKey"], "Action": "Cancel"}))
    assert error.code == "SIM_INVALID_SHIPMENT"


# -- inventory, nodes, invoices ---------------------------------------------------------------------


def test_adjust_inventory_emits_rtam_style_changes(sim: SterlingSim, client: SterlingClient) -> None:
    client.adjust_inventory([{"ItemID": "I-ITEM", "ShipNode": "DC1", "Quantity": "5", "AdjustmentType": "ABSOLUTE"},
                             {"ItemID": "I-ITEM", "ShipNode": "DC2", "Quantity": "0", "AdjustmentType": "ABSOLUTE"}])
    client.adjust_inventory([{"ItemID": "I-ITEM", "ShipNode": "DC1", "Quantity": "-2"}])
    client.adjust_inventory([{"ItemID": "I-ITEM", "ShipNode": "DC1", "Quantity": "0"}])
    [first, second] = sim.events_of("inventory.changed")
    assert first == {"ItemID": "I-ITEM", "UnitOfMeasure": "EACH", "InventoryOrganizationCode": "DEFAULT",
                     "AvailabilityChanges": {"AvailabilityChange": [
                         {"Node": "DC1", "OnhandAvailableQuantity": "5.00",
                          "FirstFutureAvailableDate": first["AvailabilityChanges"]["AvailabilityChange"][0][
                              "FirstFutureAvailableDate"], "AlertLevel": "5"},
                         {"Node": "DC2", "OnhandAvailableQuantity": "0.00", "FirstFutureAvailableDate": "2500-01-01",
                          "AlertLevel": "0"}]}}
    assert second["AvailabilityChanges"]["AvailabilityChange"][0]["OnhandAvailableQuantity"] == "3.00"
    error = refused(lambda: client.adjust_inventory([
        {"ItemID": "I-ITEM", "ShipNode": "DC1", "Quantity": "7", "AdjustmentType": "ABSOLUTE"},
        {"ItemID": "I-ITEM", "ShipNode": "NOWHERE", "Quantity": "1"}]))
    assert error.code == "SIM_INVALID_NODE"
    assert sim.inventory.available("I-ITEM", "DC1") == Decimal(3)


def test_item_list_pages_through_the_catalog_in_item_id_order(sim: SterlingSim, client: SterlingClient) -> None:
    # "ZZ" sorts after every other item the module's tests stock, so these three end the catalog.
    for item in ("ZZ-LIST-C", "ZZ-LIST-A", "ZZ-LIST-B"):
        stock(client, item, DC1=1)
    assert client.get_item_ids("ZZ-LIST", 2) == ["ZZ-LIST-A", "ZZ-LIST-B"]
    assert client.get_item_ids("ZZ-LIST-B", 2) == ["ZZ-LIST-C"]
    assert client.get_item_ids("ZZ-LIST-C", 2) == []
    assert sim.calls_to("/invoke/getItemList")[0]["body"] == {
        "CallingOrganizationCode": "DEFAULT", "ItemID": "ZZ-LIST", "ItemIDQryType": "GT", "MaximumRecords": "2",
        "OrderBy": {"Attribute": {"Name": "ItemID"}}}
    first = client.get_item_ids("", 1)
    assert len(first) == 1
    assert "ItemID" not in sim.calls_to("/invoke/getItemList")[-1]["body"]
    error = refused(lambda: client.invoke("getItemList", {"ItemID": "A", "ItemIDQryType": "SOUNDEX"},
                                          idempotent=True))
    assert error.code == "SIM_INVALID_INPUT"


def test_available_inventory_answers_one_node_as_an_object(sim: SterlingSim, client: SterlingClient) -> None:
    stock(client, "A-ITEM", STORE1=4, STORE2=1)
    body = {"OrganizationCode": "DEFAULT", "PromiseLines": {"PromiseLine": [{"ItemID": "A-ITEM", "LineId": "1"}]},
            "ShipNodes": {"ShipNode": [{"Node": "STORE1"}]}}
    one = client.invoke("getAvailableInventory", body, idempotent=True)
    inventory = one["PromiseLines"]["PromiseLine"][0]["Availability"]["AvailableInventory"]
    assert inventory["ShipNodeAvailableInventory"] == {"Inventory": {
        "AvailableFromUnplannedInventory": "N", "AvailableFutureQuantity": "0.00",
        "AvailableOnhandQuantity": "4.00", "AvailableQuantity": "4.00", "Node": "STORE1"}}
    real = fixture("oms_getAvailableInventory_response_example.json")["PromiseLines"]["PromiseLine"][0]
    assert set(one["PromiseLines"]["PromiseLine"][0]) <= set(real)
    [line] = client.get_available_inventory(["A-ITEM"], ["STORE1", "STORE2"])
    assert (line.available.available_quantity, [(n.node, n.available_quantity) for n in line.available.nodes]) == (
        Decimal(5), [("STORE1", Decimal(4)), ("STORE2", Decimal(1))])
    error = refused(lambda: client.get_available_inventory(["A-ITEM"], ["NOWHERE"]))
    assert error.code == "SIM_INVALID_NODE"


def test_find_inventory_sources_the_nearest_node_and_reports_what_is_missing(client: SterlingClient) -> None:
    stock(client, "F-ITEM", DC1=5, DC2=1, STORE1=1)
    promise = client.find_inventory([{"ItemID": "F-ITEM", "RequiredQty": "2"}],
                                    ship_to={"ZipCode": "60601", "Country": "US"})
    [line] = promise.suggested_option.option.promise_lines
    assert [(a.ship_node, a.quantity) for a in line.assignments] == [("DC1", Decimal(2))]
    split = client.find_inventory([{"ItemID": "F-ITEM", "RequiredQty": "9"}, "NONE-ITEM"],
                                  ship_to={"ZipCode": "60601", "Country": "US"})
    option = split.suggested_option.option
    assert option.has_any_unavailable_qty is True
    assert [(a.ship_node, a.quantity) for a in option.promise_lines[0].assignments] == [
        ("STORE1", Decimal(1)), ("DC2", Decimal(1)), ("DC1", Decimal(5))]
    assert [(line.line_id, line.item_id, (line.model_extra or {})["UnavailableQty"])
            for line in split.suggested_option.unavailable_lines] == [
        ("1", "F-ITEM", "2.00"), ("2", "NONE-ITEM", "1.00")]
    pick = client.find_inventory([{"ItemID": "F-ITEM", "ShipNode": "STORE1"}], delivery_method="PICK")
    [assignment] = pick.suggested_option.option.promise_lines[0].assignments
    assert assignment.ship_date == assignment.delivery_date


def test_surrounding_nodes_nearest_first(client: SterlingClient) -> None:
    stores = client.get_surrounding_node_list("60601", "US", distance=50)
    assert [node.ship_node for node in stores] == ["STORE1"]
    assert stores[0].ship_node_person_info.city == "Chicago"
    assert Decimal(2) < stores[0].distance_from_ship_to_address < Decimal(4)
    near = client.get_surrounding_node_list("60601", "US", node_type="", distance=50)
    assert [node.ship_node for node in near] == ["STORE1", "DC2"]
    error = refused(lambda: client.get_surrounding_node_list("99999", "US"))
    assert (error.code, error.more_info) == ("SIM_INVALID_INPUT", {"Country": "US", "ZipCode": "99999"})
    assert [node.ship_node for node in client.get_ship_node_list(node_type="DC")] == ["DC1", "DC2"]


def test_record_invoice_creation(sim: SterlingSim, client: SterlingClient) -> None:
    created = client.create_order(order_input("N-1", ("N-ITEM", 1)))
    request = {**fixture("oms_recordInvoiceCreation_request_example.json"), "EnterpriseCode": "DEFAULT",
               "OrderNo": "N-1", "OrderHeaderKey": created.order_header_key}
    invoice = client.record_invoice_creation(request)
    real = fixture("oms_recordInvoiceCreation_response_example.json")
    assert {name: invoice[name] for name in ("Status", "InvoiceType", "TotalAmount", "LineSubTotal")} == {
        name: real[name] for name in ("Status", "InvoiceType", "TotalAmount", "LineSubTotal")}
    [detail] = invoice["LineDetails"]["LineDetail"]
    real_detail = real["LineDetails"]["LineDetail"][0]
    assert {name: detail[name] for name in ("UnitPrice", "ExtendedPrice", "LineTotal", "Charges", "ShippedQty")} == {
        name: real_detail[name] for name in ("UnitPrice", "ExtendedPrice", "LineTotal", "Charges", "ShippedQty")}
    assert sim.invoices == [invoice]


def test_an_unknown_template_key_answers_the_standard_output(client: SterlingClient) -> None:
    client.create_order(order_input("T-1", ("T-ITEM", 1)))
    standard = client.invoke("getOrderDetails", {"OrderNo": "T-1", "EnterpriseCode": "DEFAULT",
                                                 "DocumentType": "0001"},
                             template_key="tenant_specific_01", idempotent=True)
    assert "OrderLines" in standard
    assert "OrderStatuses" not in standard


# -- seed ---------------------------------------------------------------------------------------------


def test_seeded_state_exists_without_events() -> None:
    seeded = SterlingSim(USER, PASSWORD)
    seeded.load_seed({
        "nodes": SEED["nodes"],
        "inventory": [{"ItemID": "SKU1", "ShipNode": "DC9", "Quantity": 4}],
        "orders": [order_input("SEED-1", ("SKU1", 1))],
    })
    assert seeded.emitted == []
    assert sorted(seeded.inventory.nodes) == ["DC1", "DC2", "DC9", "STORE1", "STORE2"]
    assert seeded.inventory.available("SKU1", "DC9") == Decimal(4)
    assert seeded.order("SEED-1").render()["Status"] == "Created"
    seeded.schedule("SEED-1")
    # 4 → 3 available crosses none of the default monitoring levels (10, 100, 1000): RTAM is silent.
    assert [kind for kind, _ in seeded.emitted] == ["order.changed"]
    with pytest.raises(ValueError, match="unknown sterling seed keys"):
        seeded.load_seed({"catalog": []})
    with pytest.raises(ValueError, match="seed order 'SEED-1' rejected"):
        seeded.load_seed({"orders": [order_input("SEED-1", ("SKU1", 1))]})
