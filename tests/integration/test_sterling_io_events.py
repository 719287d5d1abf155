"""Sterling's events through Adobe I/O Events, as IBM's pre-configured OMS layer publishes them for
its App Builder connector: every code, signed delivery → one bus entry of the right detail-type →
the flow's effect in the simulators; the codes no flow applies are refused, naming the code.

The payloads are IBM's, from its connector (https://github.com/IBM/adobe-commerce-ibm-oms-connector,
commit 1aca86c, ``appbuilder/src/actions/<Action>/README.md``; vendored in
tests/fixtures/foreign/ibm-oms-connector/). Where a README's payload is not the document the code
carries (several READMEs repeat one changeShipment input), the test input is built from what the
action's ``index.js`` reads, and the README payload is shown to be refused or parked with the reason.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from omsbridge import io_events
from sandbox import demo_data, ibm_layer
from sandbox.stack import Sandbox
from tests.support import foreign, forget_calls

# The registration of IBM's ShipmentChangeAC/README.md sample; this stack's IoEventsClientId here.
RECIPIENT = "e142407e73ef48f884aeb8e925c1e256"
M = "[oms-bridge]"


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    # TenantA and TenantB are the enterprises of IBM's samples.
    env = {"IO_EVENTS_CLIENT_ID": RECIPIENT, "STERLING_EXTRA_ENTERPRISE_CODES": "TenantA,TenantB"}
    with Sandbox(seed=copy.deepcopy(demo_data.SEED), env=env) as sandbox:
        yield sandbox


@pytest.fixture
def sb(box: Sandbox) -> Sandbox:
    """The module's sandbox, with nothing left on the bus or in the call records (each test uses
    orders of its own)."""
    box.deliver()
    box.drain_tap()
    forget_calls(box)
    return box


def ibm_event(code: str, data: Any, event_id: str = "9d0c3b8e-ibm-1") -> dict[str, Any]:
    """The envelope of IBM's ShipmentChangeAC/README.md sample around ``data``."""
    return {"data": data, "id": event_id, "source": "urn:uuid:673c8007-5c9a-445a-b49c-59fe2932a6a1",
            "specversion": "1.0", "type": code, "datacontenttype": "application/json",
            "event_id": f"e-{event_id}", "recipient_client_id": RECIPIENT}


def deliver(sb: Sandbox, body: dict[str, Any] | list[dict[str, Any]]) -> tuple[int, Any, list[dict[str, Any]]]:
    """Post a signed delivery, let the flows run; the answer and the bus entries it made."""
    ids = {event["id"] for event in (body if isinstance(body, list) else [body])}
    before = len(sb.bus_events)
    status, _, answer = sb.io_events_post(body, path="/events/adobe-io")
    sb.deliver()
    return status, answer, [e for e in sb.bus_events[before:] if e["detail"].get("id") in ids]


def commerce_writes(sb: Sandbox) -> list[tuple[str, Any]]:
    return [(call["path"].removeprefix("/rest/default/V1"), call["body"]) for call in sb.commerce.calls
            if call["method"] == "POST" and "/order" in call["path"]]


def place(sb: Sandbox, order: dict[str, Any]) -> int:
    """An order placed in Commerce and exported to Sterling, as every order this bridge serves: its
    entity id. What that took is forgotten: the test sees only what the IBM event makes."""
    demo_data.place_order(sb, order)
    entity_id = int(sb.commerce.find_order(order["increment_id"])["entity_id"])
    sb.commerce.calls.clear()
    return entity_id


def held_in_commerce(sb: Sandbox, increment_id: str) -> int:
    entity_id = place(sb, demo_data.simple_order(increment_id))
    with sb.commerce.lock:
        order = sb.commerce.orders[entity_id]
        order["hold_before_state"], order["hold_before_status"] = order["state"], order["status"]
        order["state"] = order["status"] = "holded"
    return entity_id


def parked(sb: Sandbox, function: str, about: str) -> list[str]:
    return [record["reason"]["reason"] for record in sb.dlq(function) if about in record["reason"]["reason"]]


def assert_refused(status: int, answer: Any, entries: list[Any], error: str, code: str) -> None:
    assert (status, answer["error"]) == (400, error), answer
    assert code in answer["reason"]
    assert entries == []


# -- codes a flow applies -------------------------------------------------------------------------


def test_order_status_change_unholds_a_held_order(sb: Sandbox) -> None:
    # OrderStatusChange/index.js reads data.Order {HoldFlag, Status, OrderNo}: HoldFlag N and status
    # Created unhold the Commerce order. (Its README's request is another action's: see below.)
    entity_id = held_in_commerce(sb, "140")
    order = {"OrderNo": "140", "EnterpriseCode": "DEFAULT", "Status": "Created", "HoldFlag": "N"}
    status, answer, entries = deliver(sb, ibm_event("ibm.sterling.adobe.order_status_change.v0", {"Order": order}))
    assert (status, answer["accepted"]) == (202, 1)
    [entry] = entries
    assert (entry["source"], entry["detail-type"], entry["detail"]["data"]) == ("ibm.sterling", "order.changed", order)
    assert commerce_writes(sb) == [
        (f"/orders/{entity_id}/unhold", None),
        (f"/orders/{entity_id}/comments", {"statusHistory": {
            "comment": f"{M} Hold resolved in Sterling: all holds", "is_customer_notified": 0,
            "is_visible_on_front": 0, "parent_id": entity_id, "status": "processing"}}),
    ]


def test_order_status_change_readme_request_is_no_order_and_is_refused(sb: Sandbox) -> None:
    # OrderStatusChange/README.md's request (an {orderDetail, comment} of the monitor actions).
    readme = foreign("OrderStatusChange_request.json")
    status, answer, entries = deliver(sb, ibm_event("ibm.sterling.adobe.order_status_change.v0", readme["data"]))
    assert_refused(status, answer, entries, "invalid_document", "ibm.sterling.adobe.order_status_change.v0")
    assert "not a Sterling Order document" in answer["reason"]


def test_order_unhold_resolves_the_commerce_hold(sb: Sandbox) -> None:
    # No README payload: config.json registers the code ("Order Unhold trigger from OMS system") for an
    # action the repository does not hold. Built as Sterling's Order with the hold resolved, the shape
    # OrderStatusChange/index.js reads (HoldFlag).
    entity_id = held_in_commerce(sb, "141")
    order = {"OrderNo": "141", "EnterpriseCode": "DEFAULT", "HoldFlag": "N",
             "OrderHoldTypes": {"OrderHoldType": [{"HoldType": "ORDER_AMOUNT_HOLD", "Status": "1300"}]}}
    status, _, entries = deliver(sb, ibm_event("ibm.sterling.adobe.order_unhold.v0", {"Order": order}))
    assert status == 202
    assert [(e["source"], e["detail-type"]) for e in entries] == [("ibm.sterling", "order.hold_changed")]
    assert [path for path, _ in commerce_writes(sb)] == [f"/orders/{entity_id}/unhold", f"/orders/{entity_id}/comments"]
    assert commerce_writes(sb)[1][1]["statusHistory"]["comment"] == f"{M} Hold resolved in Sterling: ORDER_AMOUNT_HOLD"


def test_cancel_order_cancels_the_commerce_order(sb: Sandbox) -> None:
    # cancelWebhook/README.md, "In case of Success": Sterling's cancelled Order, root dropped (every
    # line at OrderedQty 0), of enterprise TenantB.
    document = foreign("oms_cancelOrder_success_response.json")
    entity_id = place(sb, demo_data.simple_order("364"))
    status, _, entries = deliver(sb, ibm_event("ibm.sterling.adobe.cancel_order.v0", document))
    assert status == 202
    [entry] = entries
    assert (entry["detail-type"], entry["detail"]["data"]) == ("order.cancelled", document)
    assert [path for path, _ in commerce_writes(sb)] == [f"/orders/{entity_id}/cancel", f"/orders/{entity_id}/comments"]
    assert sb.commerce.find_order("364")["state"] == "canceled"


def test_cancel_order_readme_request_is_parked_not_shown(sb: Sandbox) -> None:
    # cancelWebhook/README.md's request: an order number, nothing Commerce could show.
    place(sb, demo_data.simple_order("383"))
    status, _, entries = deliver(sb, ibm_event("ibm.sterling.adobe.cancel_order.v0",
                                               foreign("cancelWebhook_request.json")["data"]))
    assert (status, [e["detail-type"] for e in entries]) == (202, ["order.cancelled"])
    assert commerce_writes(sb) == []
    assert parked(sb, "OrderStatusFunction", "order 383") == [
        "Sterling order.cancelled document for order 383 states no status, hold or lines: nothing to show in Commerce"]


def test_backorder_comments_the_backordered_lines(sb: Sandbox) -> None:
    # BackOrder/README.md repeats ShipmentRequest's payload; OMSEventAction/index.js names the events
    # behind the code (RELEASE.0001.ON_BACKORDER): an Order with backordered lines, built so.
    entity_id = place(sb, demo_data.simple_order("000000250"))
    order = {"OrderNo": "000000250", "EnterpriseCode": "DEFAULT", "OrderLines": {"OrderLine": [
        {"PrimeLineNo": "1", "SubLineNo": "1", "MinLineStatus": "1300", "Item": {"ItemID": "DEMO-MUG"}}]}}
    status, _, entries = deliver(sb, ibm_event("ibm.sterling.adobe.backorder.v0", {"Order": order}))
    assert (status, [e["detail-type"] for e in entries]) == (202, ["order.backordered"])
    [(path, body)] = commerce_writes(sb)
    assert (path, body["statusHistory"]["comment"]) == (
        f"/orders/{entity_id}/comments", f"{M} Backordered in Sterling (1300): line 1 DEMO-MUG")


@pytest.mark.parametrize("code", ["ibm.sterling.adobe.backorder.v0", "ibm.sterling.adobe.shipment_request.v0"])
def test_the_repeated_readme_payload_is_no_document_and_is_refused(sb: Sandbox, code: str) -> None:
    # BackOrder/, OrderMonitor/ and ShipmentRequest/README.md all show one changeShipment input.
    readme = foreign("ShipmentRequest_request.json")
    status, answer, entries = deliver(sb, ibm_event(code, readme))
    assert_refused(status, answer, entries, "invalid_document", code)


def test_shipment_request_sends_the_release_to_the_wms(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    # ShipmentRequest/README.md's payload is not a release (above); OMSEventAction/README.md says the
    # code is published "when order gets released": the RELEASE.ON_SUCCESS OrderRelease, here the
    # Sterling simulator's, published by the layer as sandbox.ibm_layer does.
    monkeypatch.setattr(sb, "sterling_via", "io-events")
    [release] = demo_data.place_and_release(sb, [demo_data.simple_order("000000251")])
    io_deliveries = [i["event"] for i in sb.invocations if i["event"].get("rawPath") == "/events/adobe-io"]
    codes = [json.loads(base64.b64decode(d["body"]))["type"] for d in io_deliveries]
    assert "ibm.sterling.adobe.shipment_request.v0" in codes
    [entry] = [e for e in sb.bus_events if e["detail-type"] == "order.released"
               and e["detail"]["data"].get("OrderReleaseKey") == release["OrderReleaseKey"]]
    assert entry["source"] == "ibm.sterling"
    assert sb.dc.order(release["OrderReleaseKey"])["order_no"] == "000000251"
    assert parked(sb, "DistributionCenterFunction", "000000251") == []


def test_shipment_change_create_shipment_comments_the_commerce_order(sb: Sandbox) -> None:
    # ShipmentChangeAC/README.md, as published (CREATE_SHIPMENT.ON_SUCCESS, TenantA); the connector
    # comments "Shipment is created for the order."
    sample = foreign("oms_event_shipment_change_create_shipment.json")
    entity_id = place(sb, demo_data.simple_order("tna_ORD006"))
    status, answer, entries = deliver(sb, sample)
    assert (status, answer["ids"]) == (202, [sample["id"]])
    [entry] = entries
    assert (entry["detail-type"], entry["detail"]["data"]) == ("shipment.created", sample["data"]["Shipment"])
    assert commerce_writes(sb) == [(f"/orders/{entity_id}/comments", {"statusHistory": {
        "comment": f"{M} Shipment AdobeShip1 created in Sterling at node tna_dc_1: line 1 Item1 x2",
        "is_customer_notified": 0, "is_visible_on_front": 0, "parent_id": entity_id}})]
    # Adobe delivers at least once: the same event again changes nothing.
    assert deliver(sb, sample)[0] == 202
    assert len(commerce_writes(sb)) == 1


def test_shipment_change_backroom_pick_tells_commerce_ready_for_pickup(sb: Sandbox) -> None:
    # ShipmentChangeAC/index.js's other branch: YCD_BACKROOM_PICK.ON_SUCCESS at 1100.70.06.30 is
    # "Ready For Customer Pickup"; the README sample with that transaction.
    sample = foreign("oms_event_shipment_change_create_shipment.json")
    shipment = sample["data"]["Shipment"]
    shipment.update(YFSTranEventID="YCD_BACKROOM_PICK.ON_SUCCESS", Status="1100.70.06.30", ShipmentNo="AdobeShip2")
    shipment["ShipmentLines"]["ShipmentLine"][0]["OrderNo"] = "tna_ORD007"
    entity_id = place(sb, demo_data.pickup_order("tna_ORD007"))
    status, _, entries = deliver(sb, sample)
    assert (status, [e["detail-type"] for e in entries]) == (202, ["shipment.ready_for_pickup"])
    assert commerce_writes(sb) == [("/order/notify-orders-are-ready-for-pickup", {"orderIds": [entity_id]})]


def test_shipment_change_of_another_transaction_is_refused_by_name(sb: Sandbox) -> None:
    sample = foreign("oms_event_shipment_change_create_shipment.json")
    sample["data"]["Shipment"]["YFSTranEventID"] = "CHANGE_SHIPMENT.ON_SUCCESS"
    status, answer, entries = deliver(sb, sample)
    assert_refused(status, answer, entries, "refused_event", "ibm.sterling.adobe.shipment_change.v0")
    assert "YFSTranEventID 'CHANGE_SHIPMENT.ON_SUCCESS'" in answer["reason"]


def test_shipment_shipped_pickup_readme_tells_commerce_ready_for_pickup(sb: Sandbox) -> None:
    # ShipmentShippedAC/README.md, case 2: an in-store pickup order "SHIPPED" in Sterling.
    readme = foreign("oms_event_shipment_shipped_pick_minimal.json")
    entity_id = place(sb, demo_data.pickup_order("294"))
    status, _, entries = deliver(sb, ibm_event("ibm.sterling.adobe.shipment_shipped.v0", readme["data"]))
    assert (status, [e["detail-type"] for e in entries]) == (202, ["shipment.shipped"])
    assert commerce_writes(sb) == [("/order/notify-orders-are-ready-for-pickup", {"orderIds": [entity_id]})]


def test_shipment_shipped_readme_naming_no_shipment_is_parked(sb: Sandbox) -> None:
    # ShipmentShippedAC/README.md, case 1: only an OrderNo; no shipment to read from Sterling either.
    readme = foreign("oms_event_shipment_shipped_minimal.json")
    status, _, entries = deliver(sb, ibm_event("ibm.sterling.adobe.shipment_shipped.v0", readme["data"]))
    assert (status, [e["detail-type"] for e in entries]) == (202, ["shipment.shipped"])
    assert commerce_writes(sb) == []
    assert parked(sb, "ShipmentSyncFunction", "order 294") == [
        "shipment event for order 294 names no shipment (no ShipmentKey, no ShipmentNo + ShipNode) and no "
        "shipped lines: cannot tell what shipped"]


def test_shipment_shipped_creates_the_commerce_shipment_with_tracking(sb: Sandbox) -> None:
    # What ShipmentShippedAC/index.js reads: ShipmentNo, ShipNode, lines' OrderNo / ItemID / Quantity /
    # OrderReleaseKey, the containers' TrackingNo and SCAC.
    entity_id = place(sb, demo_data.simple_order("295"))
    shipment = {"ShipmentNo": "SH-295", "ShipNode": "default", "EnterpriseCode": "DEFAULT", "Status": "1400",
                "ShipmentLines": {"ShipmentLine": [{"OrderNo": "295", "PrimeLineNo": "1", "SubLineNo": "1",
                                                    "ItemID": "DEMO-MUG", "Quantity": "2.00",
                                                    "OrderReleaseKey": "R-295"}]},
                "Containers": {"Container": [{"ContainerNo": "C1", "TrackingNo": "1Z295", "SCAC": "UPSN"}]}}
    status, _, entries = deliver(sb, ibm_event("ibm.sterling.adobe.shipment_shipped.v0", {"Shipment": shipment}))
    assert (status, [e["detail-type"] for e in entries]) == (202, ["shipment.shipped"])
    [(path, body)] = commerce_writes(sb)
    assert path == f"/order/{entity_id}/ship"
    assert body["tracks"] == [{"carrier_code": "ups", "title": "United Parcel Service", "track_number": "1Z295"}]
    assert body["arguments"] == {"extension_attributes": {"source_code": "default"}}
    assert sb.commerce.find_order("295")["items"][0]["qty_shipped"] == 2


def test_stock_change_sets_the_source_item(sb: Sandbox) -> None:
    # StockSync/README.md's request is the source item the action builds, not the event; StockSync/
    # index.js reads data.InventoryItem {ItemID, AvailabilityChanges.AvailabilityChange[{Node,
    # OnhandAvailableQuantity}]}.
    item = {"ItemID": "TEE-M-BLUE", "InventoryOrganizationCode": "DEFAULT", "AvailabilityChanges": {
        "AvailabilityChange": [{"Node": "default", "OnhandAvailableQuantity": "7.00"}]}}
    status, _, entries = deliver(sb, ibm_event("ibm.sterling.adobe.stock_change.v0", {"InventoryItem": item}))
    assert (status, [e["detail-type"] for e in entries]) == (202, ["inventory.changed"])
    assert sb.commerce.source_items[("TEE-M-BLUE", "default")]["quantity"] == 7


# -- codes refused, by name -------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "data", "why"), [
    # OrderHoldAC/README.md's request: App Builder's own event, a Commerce order id.
    ("ibm.sterling.appbuilder.order_hold.v0", foreign("OrderHoldAC_request.json"), "OrderHoldAmount"),
    # No README (CreditMemoJournalAction): ACEventAction/index.js publishes {type, params} of a Commerce event.
    ("ibm.sterling.adobe.creditmemo_process.v0",
     {"type": "com.adobe.commerce.observer.sales_order_creditmemo_save_commit_after", "params": {}},
     "sales_order_creditmemo_save_commit_after"),
    # OrderMonitor/README.md repeats ShipmentRequest's payload.
    ("ibm.sterling.adobe.order_monitor.v0", foreign("ShipmentRequest_request.json"), "alerting"),
    # No README: PaymentExecution/index.js reads data.Order.OrderNo.
    ("ibm.sterling.adobe.request_payment.v0", {"Order": {"OrderNo": "140"}}, "payment"),
])
def test_codes_no_flow_applies_are_refused_naming_the_code(sb: Sandbox, code: str, data: Any, why: str) -> None:
    status, answer, entries = deliver(sb, ibm_event(code, data))
    assert_refused(status, answer, entries, "refused_event", code)
    assert why in answer["reason"]
    assert commerce_writes(sb) == []


def test_an_unknown_code_is_refused_naming_it(sb: Sandbox) -> None:
    status, answer, entries = deliver(sb, ibm_event("ibm.sterling.adobe.shipment_shipped.v1", {"Shipment": {}}))
    assert_refused(status, answer, entries, "unknown_event", "ibm.sterling.adobe.shipment_shipped.v1")


# -- the same checks as Commerce deliveries ------------------------------------------------------------


@pytest.mark.parametrize("case", ["unsigned", "wrong-recipient"])
def test_unsigned_or_misaddressed_sterling_events_put_nothing_on_the_bus(sb: Sandbox, case: str) -> None:
    sample = foreign("oms_event_shipment_change_create_shipment.json")
    if case == "unsigned":
        status, _, answer = sb.http("POST", "/events/adobe-io", headers={"content-type": "application/json"},
                                    body=json.dumps(sample))
    else:
        misaddressed = {**sample, "recipient_client_id": "someone-else"}
        status, _, answer = sb.io_events_post(misaddressed, path="/events/adobe-io")
    assert (status, answer["error"]) == ((401, "bad_signature") if case == "unsigned" else (403, "wrong_recipient"))
    assert sb.drain_tap() == []


def test_the_commerce_path_takes_sterling_codes_too(sb: Sandbox) -> None:
    # Registrations made before the alias keep /events/commerce.
    sample = foreign("oms_event_shipment_change_create_shipment.json")
    status, _, answer = sb.io_events_post(sample)
    assert (status, answer["ids"]) == (202, [sample["id"]])
    assert [e["detail-type"] for e in sb.drain_tap()] == ["shipment.created"]
    assert any(url.startswith(io_events.KEY_HOST) for url in sb.key_host_fetches)


def test_a_sterling_event_through_io_events_is_the_entry_a_direct_post_makes(sb: Sandbox) -> None:
    shipment = foreign("oms_event_shipment_change_create_shipment.json")["data"]["Shipment"]
    shipment["Modifyts"] = "2023-08-11T09:46:40+00:00"
    sb.sterling_post("shipment.created", shipment)
    [direct] = sb.drain_tap()
    sb.io_events_post(ibm_layer.cloud_event("shipment.created", shipment, RECIPIENT) or {}, path="/events/adobe-io")
    [through_io] = sb.drain_tap()
    assert (through_io["source"], through_io["detail-type"]) == (direct["source"], direct["detail-type"])
    assert through_io["detail"]["data"] == direct["detail"]["data"]
    assert through_io["detail"]["time"] == direct["detail"]["time"] == "2023-08-11T09:46:40+00:00"


# -- batch delivery: both providers, one refused event -------------------------------------------------


def test_a_batch_mixing_commerce_and_sterling_events_puts_each_on_the_bus(sb: Sandbox) -> None:
    placed = sb.commerce.place_order(demo_data.simple_order("000000252"))
    placed["recipient_client_id"] = RECIPIENT
    shipment = foreign("oms_event_shipment_change_create_shipment.json")
    status, _, answer = sb.io_events_post([placed, shipment], path="/events/adobe-io")
    assert (status, answer) == (202, {"accepted": 2, "ids": [placed["id"], shipment["id"]]})
    assert [(e["source"], e["detail-type"]) for e in sb.drain_tap()] == [
        ("adobe.commerce", placed["type"]), ("ibm.sterling", "shipment.created")]


def test_a_batch_with_a_refused_code_puts_the_others_and_names_the_refused_one(sb: Sandbox) -> None:
    shipment = foreign("oms_event_shipment_change_create_shipment.json")
    hold = ibm_event("ibm.sterling.appbuilder.order_hold.v0", foreign("OrderHoldAC_request.json"), "hold-1")
    status, _, answer = sb.io_events_post([hold, shipment], path="/events/adobe-io")
    assert (status, answer["error"], answer["accepted"], answer["ids"]) == (400, "refused_event", 1, [shipment["id"]])
    assert [(r["index"], r["id"], r["type"], r["error"]) for r in answer["refused"]] == [
        (0, "hold-1", "ibm.sterling.appbuilder.order_hold.v0", "refused_event")]
    assert answer["reason"].startswith("1 of 2 events refused; the others are on the bus; event 0: ")
    assert [e["detail"]["id"] for e in sb.drain_tap()] == [shipment["id"]]


def test_a_commerce_event_no_flow_consumes_is_refused(sb: Sandbox) -> None:
    event = {"specversion": "1.0", "id": "evt-p", "type": "com.adobe.commerce.observer.catalog_product_save_after",
             "recipient_client_id": RECIPIENT, "data": {"value": {"sku": "DEMO-MUG"}}}
    status, _, answer = sb.io_events_post(event)
    assert (status, answer["error"]) == (400, "unknown_event")
    assert "catalog_product_save_after" in answer["reason"]
    assert sb.drain_tap() == []
