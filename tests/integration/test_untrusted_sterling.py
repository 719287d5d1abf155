"""Sterling documents that must not be applied, end to end over the sandbox: a document of another
enterprise, a "shipped" shipment that has not shipped, an event time in the future. Each is parked
with its reason, nothing of it reaches Commerce or a partner, and what comes after still applies."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sandbox.demo_data import SEED, place_order, simple_order
from sandbox.sim.carrier import sign as partner_sign
from sandbox.stack import SANDBOX_SECRET, Sandbox
from tests.support import sterling_as_user

ORDER_NO = "000000101"
OTHER = "OTHER_BRAND"
SERVED = "(DEFAULT; STERLING_ENTERPRISE_CODE, STERLING_EXTRA_ENTERPRISE_CODES, the websites mapping table)"


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    seed = copy.deepcopy(SEED)
    # Sterling knows the other brand's enterprise; this bridge does not serve it.
    seed["sterling"]["enterprises"] = ["DEFAULT", OTHER]
    with Sandbox(seed=seed) as box:
        yield box


def reasons(sb: Sandbox, function: str) -> list[str]:
    return [record["reason"]["reason"] for record in sb.dlq(function)]


def order_state(sb: Sandbox) -> str:
    return str(sb.commerce.find_order(ORDER_NO)["state"])


def now(offset_seconds: int = 0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=offset_seconds)).isoformat(timespec="seconds")


CANCELLED = {"OrderNo": ORDER_NO, "DocumentType": "0001", "MinOrderStatus": "9000", "MaxOrderStatus": "9000",
             "Status": "Cancelled"}


def test_a_cancellation_of_another_enterprise_cancels_nothing_until_that_enterprise_is_served(sb: Sandbox) -> None:
    place_order(sb, simple_order(ORDER_NO))
    status, _, _ = sb.sterling_post("order.cancelled", {**CANCELLED, "EnterpriseCode": OTHER})
    sb.deliver()
    assert status == 202
    assert order_state(sb) == "processing"
    assert sb.commerce.calls_to("/cancel") == []
    [reason] = reasons(sb, "OrderStatusFunction")
    assert reason == (f"the order.cancelled document is of Sterling enterprise '{OTHER}', not one this bridge serves "
                      f"{SERVED}")
    # An SI who does serve that enterprise says so, and replays: now it applies.
    sb.reconfigure({"STERLING_EXTRA_ENTERPRISE_CODES": f" {OTHER} , B2B"})
    assert sb.replay_dlq() == {"replayed": {"OrderStatusFunction": 1}, "refused": []}
    assert order_state(sb) == "canceled"


SHIPMENT_LINES = {"ShipmentLine": [{"OrderNo": ORDER_NO, "PrimeLineNo": "1", "SubLineNo": "1", "ItemID": "DEMO-MUG",
                                    "Quantity": "2.00"}]}
FOREIGN = [
    pytest.param("order.changed", "OrderStatusFunction", {"OrderNo": ORDER_NO, "Status": "3200"}, id="order-status"),
    pytest.param("shipment.shipped", "ShipmentSyncFunction",
                 {"ShipmentNo": "SH-F", "ShipNode": "default", "Status": "1400", "ShipmentLines": SHIPMENT_LINES},
                 id="shipment-sync"),
    pytest.param("shipment.ready_to_ship", "CarrierFunction",
                 {"ShipmentNo": "SH-F", "ShipNode": "default", "ShipmentLines": SHIPMENT_LINES,
                  "Containers": {"Container": [{"ContainerNo": "C1"}]}}, id="carrier"),
    pytest.param("order.released", "DistributionCenterFunction",
                 {"OrderReleaseKey": "R-F", "ReleaseNo": "1", "OrderNo": ORDER_NO, "ShipNode": "default",
                  "OrderLines": {"OrderLine": [{"PrimeLineNo": "1", "SubLineNo": "1", "StatusQuantity": "2",
                                                "Item": {"ItemID": "DEMO-MUG"}}]}}, id="dc"),
    pytest.param("return.refunded", "ReturnsFunction",
                 {"OrderNo": "RMA-F", "DocumentType": "0003", "MinOrderStatus": "3900", "MaxOrderStatus": "3900"},
                 id="returns"),
]


@pytest.mark.parametrize(("detail_type", "function", "document"), FOREIGN)
def test_every_sterling_flow_parks_another_enterprise_s_document_untouched(
    sb: Sandbox, detail_type: str, function: str, document: dict[str, Any],
) -> None:
    sb.publish("ibm.sterling", detail_type, {"id": f"evt-{function}", "time": now(),
                                             "data": {**document, "EnterpriseCode": OTHER}})
    sb.deliver()
    assert sb.calls() == []
    [record] = sb.dlq(function)
    assert f"Sterling enterprise '{OTHER}'" in record["reason"]["reason"]
    assert record["reason"]["code"] == "foreign_enterprise"
    assert record["event"]["detail"]["data"]["EnterpriseCode"] == OTHER


def test_availability_of_another_inventory_organization_changes_no_commerce_stock(sb: Sandbox) -> None:
    document = {"ItemID": "DEMO-MUG", "InventoryOrganizationCode": OTHER, "AvailabilityChanges": {
        "AvailabilityChange": [{"Node": "default", "OnhandAvailableQuantity": "0.00"}]}}
    sb.publish("ibm.sterling", "inventory.changed", {"id": "evt-stock", "time": now(), "data": document})
    sb.deliver()
    assert sb.commerce.calls_to("/inventory/source-items") == []
    assert [f"Sterling enterprise '{OTHER}'" in reason for reason in reasons(sb, "StockSyncFunction")] == [True]


# -- a shipment announced as shipped that has not shipped ---------------------------------------------


@pytest.mark.parametrize(("status", "env"), [
    pytest.param("1100", {}, id="created"),
    pytest.param("1300", {}, id="packed"),
    pytest.param("9000", {}, id="cancelled"),
    pytest.param("1400", {"SHIPMENT_SHIPPED_MIN_STATUS": "1400.10"}, id="below-a-tenant-s-own-threshold"),
])
def test_a_shipment_that_has_not_shipped_creates_no_commerce_shipment(sb: Sandbox, status: str,
                                                                      env: dict[str, str]) -> None:
    place_order(sb, simple_order(ORDER_NO))
    sb.reconfigure(env)
    document = {"ShipmentNo": "SH-1", "ShipNode": "default", "EnterpriseCode": "DEFAULT", "Status": status,
                "ShipmentLines": SHIPMENT_LINES}
    assert sb.sterling_post("shipment.shipped", document)[0] == 202
    sb.deliver()
    assert sb.commerce.shipments == {}
    assert sb.commerce.calls_to("/ship") == []
    [reason] = reasons(sb, "ShipmentSyncFunction")
    assert reason.startswith(f"shipment default/SH-1 is at Sterling status '{status}', not shipped")


# -- event times from the future ---------------------------------------------------------------------------


def test_a_future_event_time_that_reaches_a_flow_is_parked_and_freezes_nothing(sb: Sandbox) -> None:
    place_order(sb, simple_order(ORDER_NO))
    # Put on the bus by another producer than our ingress (which refuses it): the flow refuses it too.
    sb.publish("ibm.sterling", "order.cancelled", {"id": "evt-future", "time": "2999-01-01T00:00:00Z",
                                                   "data": {**CANCELLED, "EnterpriseCode": "DEFAULT"}})
    sb.deliver()
    assert order_state(sb) == "processing"
    [reason] = reasons(sb, "OrderStatusFunction")
    assert reason == ("Sterling event time '2999-01-01T00:00:00Z' refused: 2999-01-01T00:00:00Z is more than 300 "
                      "seconds in the future")
    # The real cancellation a moment later (a second ahead of Sterling's stamps so far) is not taken for stale.
    assert sb.sterling_post("order.cancelled", {**CANCELLED, "EnterpriseCode": "DEFAULT", "Modifyts": now(1)})[0] == 202
    sb.deliver()
    assert order_state(sb) == "canceled"


def test_a_future_availability_time_is_parked_and_the_next_update_applies(sb: Sandbox) -> None:
    def availability(quantity: int, compute_ts: str) -> dict[str, Any]:
        return {"type": "productAvailability.v2", "id": f"iv-{quantity}", "time": now(), "data": {
            "productId": "DEMO-MUG", "shipNode": "default", "computeTs": compute_ts,
            "currentAvailability": {"availableQuantity": quantity}}}

    sb.sterling_post("inventory.changed", availability(7, "2999-01-01T00:00:00Z"))
    sb.deliver()
    assert sb.commerce.calls_to("/inventory/source-items") == []
    assert ["inventory event time refused" in reason for reason in reasons(sb, "StockSyncFunction")] == [True]
    sb.sterling_post("inventory.changed", availability(3, now()))
    sb.deliver()
    assert sb.commerce.source_items[("DEMO-MUG", "default")]["quantity"] == 3


# -- documents read back from Sterling ---------------------------------------------------------------------


def test_a_wms_confirmation_for_another_enterprise_s_release_changes_nothing_in_sterling(sb: Sandbox) -> None:
    line = {"PrimeLineNo": "1", "SubLineNo": "1", "OrderedQty": "1", "Item": {"ItemID": "DEMO-MUG"}}
    sterling_as_user(sb, "createOrder", {"OrderNo": "OB-1", "EnterpriseCode": OTHER, "DocumentType": "0001",
                                     "OrderLines": {"OrderLine": [line]}})
    sb.sterling.schedule("OB-1", enterprise_code=OTHER)
    [release] = sb.sterling.release("OB-1", enterprise_code=OTHER)
    sb.deliver()
    assert sb.dc.calls == []  # the release itself was parked, not sent to the WMS
    key = release["OrderReleaseKey"]
    released = release["OrderLines"]["OrderLine"][0]
    body = json.dumps({
        "event_id": "WMS-EVT-OB-1", "type": "shipped", "release_key": key, "order_no": "OB-1",
        "ship_node": release["ShipNode"], "shipment_no": "WMS-SH-OB-1", "occurred_at": now(),
        "lines": [{"line_ref": released["OrderLineKey"], "prime_line_no": "1", "sub_line_no": "1", "sku": "DEMO-MUG",
                   "quantity": 1, "shipped": 1}]})
    sb.sterling.calls.clear()
    status, _, answer = sb.http("POST", "/callbacks/dc", headers=partner_sign(body, SANDBOX_SECRET["dc_api_key"]),
                                body=body)
    assert (status, answer["error"]) == (400, "foreign_enterprise")
    assert answer["reason"] == f"release {key} is of Sterling enterprise '{OTHER}', not one this bridge serves {SERVED}"
    assert [call["path"].rsplit("/", 1)[-1] for call in sb.sterling.calls if "login" not in call["path"]] == [
        "getOrderReleaseDetails"]
