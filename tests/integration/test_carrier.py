"""CarrierFunction end to end on the sandbox: Sterling shipments of released orders are packed and
marked ready to ship; the event reaches CarrierFunction, which books the carrier simulator and writes
the labels back to Sterling; the carrier's signed tracking callbacks come back through
``POST /callbacks/carrier`` and land in Sterling and Commerce. Bodies are asserted as received.

One sandbox serves the module; each test works on its own order.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from omsbridge.carrier.signing import sign
from sandbox.contracts import assert_commerce_contract
from sandbox.demo_data import SEED, place_and_release, simple_order
from sandbox.sim.base import Fault
from sandbox.stack import SANDBOX_SECRET, Sandbox
from tests.support import documented_statuses

FUNCTION = "CarrierFunction"
SHIP_TO = {"name": "Jane Doe", "company": "", "lines": ["100 Example Street", "Suite 5"], "city": "Austin",
           "state": "TX", "postal_code": "78701", "country": "US", "phone": "555-0100",
           "email": "jane.doe@example.com"}
UPS = {"scac": "UPSN", "service_code": "UPSNGround"}
ORDERS = [simple_order("000000501", qty=3), simple_order("000000502", qty=2), simple_order("000000503"),
          simple_order("000000504"), simple_order("000000505"), simple_order("000000506"),
          simple_order("000000510", qty=2)]


def ready(box: Sandbox, order_no: str, boxes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Put the order's release in a Sterling shipment ``SH-<n>``, pack it into ``boxes`` (if any),
    mark it ready to ship and deliver. Returns the shipment as it was when it became ready."""
    shipment = box.sterling.include_in_shipment(order_no, shipment_no=f"SH-{order_no[-3:]}")
    if boxes:
        api = box.sterling_user()
        api.change_shipment({"ShipmentKey": shipment["ShipmentKey"], "Containers": {"Container": boxes}})
        api.close()
    document: dict[str, Any] = box.sterling.ready_to_ship(shipment["ShipmentNo"])
    box.deliver()
    return document


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with Sandbox(seed=copy.deepcopy(SEED)) as sandbox:
        place_and_release(sandbox, ORDERS)
        # The parcel the tracking tests follow.
        ready(sandbox, "000000510", [{"ContainerNo": "T1"}])
        yield sandbox


def bookings(box: Sandbox, shipment_no: str) -> list[dict[str, Any]]:
    """Calls to the carrier for parcels of ``default/<shipment_no>``."""
    return [call for call in box.carrier.calls if call["body"]["reference"].startswith(f"default/{shipment_no}/")]


def sterling_writes(box: Sandbox, shipment_key: str, api: str = "changeShipment") -> list[Any]:
    return [call["body"] for call in box.sterling.calls
            if call["path"].endswith(f"/invoke/{api}") and call["body"].get("ShipmentKey") == shipment_key]


def results(box: Sandbox, shipment_no: str) -> list[dict[str, Any]]:
    return [r["result"] for r in box.invocations if r["function"] == FUNCTION and isinstance(r.get("result"), dict)
            and r["result"].get("shipment") == f"default/{shipment_no}"]


def wait_for(condition: Callable[[], bool]) -> None:
    """Wait for a simulator thread still finishing a call it answered late (a scripted timeout)."""
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "the simulator did not finish its call"
        time.sleep(0.05)


def label_note(label: str, container: str, tracking: str) -> dict[str, str]:
    return {"NoteText": f"Carrier label {label} for container {container}: UPSN {tracking}",
            "ReasonCode": "CARRIER_LABEL"}


# -- labels ----------------------------------------------------------------------------------------


def test_a_packed_shipment_gets_a_label_per_box_written_back_to_sterling(box: Sandbox) -> None:
    document = ready(box, "000000501", [
        {"ContainerNo": "C1", "ContainerGrossWeight": "1.5", "ContainerGrossWeightUOM": "LBS",
         "ContainerDetails": {"ContainerDetail": [{"ItemID": "DEMO-MUG", "Quantity": "2"}]}},
        {"ContainerNo": "C2", "ContainerDetails": {"ContainerDetail": [{"ItemID": "DEMO-MUG", "Quantity": "1"}]}}])
    calls = bookings(box, "SH-501")
    assert [call["body"] for call in calls] == [
        {"reference": "default/SH-501/C1", "ship_from": {"node": "default"}, "ship_to": SHIP_TO,
         "package": {"container_no": "C1", "items": [{"sku": "DEMO-MUG", "quantity": 2}],
                     "weight": {"value": 1.5, "unit": "LBS"}}, "service": UPS},
        {"reference": "default/SH-501/C2", "ship_from": {"node": "default"}, "ship_to": SHIP_TO,
         "package": {"container_no": "C2", "items": [{"sku": "DEMO-MUG", "quantity": 1}]}, "service": UPS}]
    assert {"default/SH-501/C1", "default/SH-501/C2"} <= set(box.carrier.replies)  # the idempotency keys
    (c1, l1), (c2, l2) = [(call["response"]["tracking_number"], call["response"]["label"]["reference"])
                          for call in calls]
    assert sterling_writes(box, document["ShipmentKey"])[-1] == {
        "ShipmentKey": document["ShipmentKey"], "TrackingNo": c1,
        "Containers": {"Container": [
            {"ContainerNo": "C1", "TrackingNo": c1, "SCAC": "UPSN", "CarrierServiceCode": "UPSNGround"},
            {"ContainerNo": "C2", "TrackingNo": c2, "SCAC": "UPSN", "CarrierServiceCode": "UPSNGround"}]},
        "Notes": {"Note": [label_note(l1, "C1", c1), label_note(l2, "C2", c2)]}}
    assert [(c["ContainerNo"], c["TrackingNo"]) for c in box.sterling.shipment("SH-501").containers] == [
        ("C1", c1), ("C2", c2)]
    # Sterling raises the same event again: nothing is booked or written twice.
    box.sterling_post("shipment.ready_to_ship", document)
    box.deliver()
    assert len(bookings(box, "SH-501")) == 2
    assert len(sterling_writes(box, document["ShipmentKey"])) == 2  # the packing, and the one write-back
    assert [r["status"] for r in results(box, "SH-501")] == ["labelled", "duplicate"]


def test_a_shipment_not_packed_into_boxes_is_one_parcel(box: Sandbox) -> None:
    document = ready(box, "000000502")
    [call] = bookings(box, "SH-502")
    assert call["body"] == {"reference": "default/SH-502/SH-502-1", "ship_from": {"node": "default"},
                            "ship_to": SHIP_TO, "package": {"container_no": "SH-502-1",
                                                            "items": [{"sku": "DEMO-MUG", "quantity": 2}]},
                            "service": UPS}
    tracking = call["response"]["tracking_number"]
    [write] = sterling_writes(box, document["ShipmentKey"])
    assert write["Containers"] == {"Container": [{"ContainerNo": "SH-502-1", "TrackingNo": tracking, "SCAC": "UPSN",
                                                  "CarrierServiceCode": "UPSNGround"}]}
    assert [(c["ContainerNo"], c["TrackingNo"]) for c in box.sterling.shipment("SH-502").containers] == [
        ("SH-502-1", tracking)]


def test_a_carrier_down_for_a_moment_books_the_parcel_once(box: Sandbox) -> None:
    box.carrier.faults.script(r"^/v1/shipments$", Fault("status", status=503))
    ready(box, "000000503")
    assert [call["status"] for call in bookings(box, "SH-503")] == [503, 201]
    assert [b["reference"] for b in box.carrier.bookings.values()].count("default/SH-503/SH-503-1") == 1
    assert [r["status"] for r in results(box, "SH-503")] == ["labelled"]


def test_a_booking_answer_lost_to_a_timeout_books_the_parcel_once(box: Sandbox) -> None:
    # The carrier books, then answers after the function stopped waiting (HTTP_READ_TIMEOUT is 1 s).
    box.carrier.faults.script(r"^/v1/shipments$", Fault("timeout", seconds=1.5))
    document = ready(box, "000000504")
    wait_for(lambda: len(bookings(box, "SH-504")) == 2)
    [booked] = [b for b in box.carrier.bookings.values() if b["reference"] == "default/SH-504/SH-504-1"]
    [write] = sterling_writes(box, document["ShipmentKey"])
    assert write["TrackingNo"] == booked["tracking_number"]


def test_a_booking_the_carrier_refuses_is_parked_with_its_reason(box: Sandbox) -> None:
    box.carrier.faults.script(r"^/v1/shipments$", Fault("status", status=422))
    document = ready(box, "000000505")
    assert [call["status"] for call in bookings(box, "SH-505")] == [422]  # refused: not retried
    [record] = [r for r in box.dlq(FUNCTION) if r["event"]["detail"]["data"]["ShipmentNo"] == "SH-505"]
    assert record["reason"] == {"error": "PermanentError", "system": "carrier", "status": 422, "code": None,
                                "reason": "carrier answered 422 (injected fault) to POST /v1/shipments"}
    assert sterling_writes(box, document["ShipmentKey"]) == []


def test_a_write_back_answer_lost_to_a_timeout_is_read_back_not_resent(box: Sandbox) -> None:
    # Sterling applies the changeShipment, then answers after the function stopped waiting.
    box.sterling.faults.script(r"/invoke/changeShipment$", Fault("timeout", seconds=1.5))
    document = ready(box, "000000506")
    wait_for(lambda: len(sterling_writes(box, document["ShipmentKey"])) == 1)
    assert len(sterling_writes(box, document["ShipmentKey"], "getShipmentDetails")) == 1
    assert [r["status"] for r in results(box, "SH-506")] == ["labelled"]
    assert [c["TrackingNo"] for c in box.sterling.shipment("SH-506").containers] == [
        bookings(box, "SH-506")[0]["response"]["tracking_number"]]
    assert not [r for r in box.dlq(FUNCTION) if r["event"]["detail"]["data"]["ShipmentNo"] == "SH-506"]


# -- tracking callbacks ----------------------------------------------------------------------------


def parcel(box: Sandbox) -> str:
    """The tracking number of the module's tracked parcel (order 000000510, container T1)."""
    [call] = bookings(box, "SH-510")
    tracking: str = call["response"]["tracking_number"]
    return tracking


def post(box: Sandbox, event: dict[str, Any]) -> tuple[int, Any]:
    raw, headers = box.carrier.signed(event)
    status, _, answer = box.http("POST", "/callbacks/carrier", headers=headers, body=raw)
    return status, answer


def activity(box: Sandbox) -> tuple[int, int]:
    """How many calls Sterling and Commerce have received."""
    return len(box.sterling.calls), len(box.commerce.calls)


def test_a_delivery_is_noted_in_sterling_and_commented_in_commerce_once(box: Sandbox) -> None:
    tracking = parcel(box)
    shipment = box.sterling.shipment("SH-510")
    entity_id = box.commerce.find_order("000000510")["entity_id"]
    event = box.carrier.tracking_event(tracking, "delivered", description="Left at front door",
                                       occurred_at="2024-05-03T15:20:00Z")
    status, answer = post(box, event)
    assert (status, answer) == (200, {"accepted": 1, "results": [{
        "event_id": event["event_id"], "tracking_no": tracking, "status": "delivered", "result": "recorded",
        "shipment": "default/SH-510", "orders": ["000000510"]}]})
    assert sterling_writes(box, shipment.key)[-1] == {"ShipmentKey": shipment.key, "Notes": {"Note": [{
        "NoteText": f"Delivered 2024-05-03T15:20:00Z: container T1, UPSN {tracking}. Left at front door",
        "ReasonCode": "CARRIER_DELIVERED"}]}}
    comments = [call["body"] for call in box.commerce.calls_to(f"/V1/orders/{entity_id}/comments", "POST")]
    assert comments[-1] == {"statusHistory": {
        "comment": f"[oms-bridge] Parcel {tracking} (United Parcel Service) of shipment SH-510 was delivered "
                   "2024-05-03T15:20:00Z. Left at front door",
        "is_customer_notified": 0, "is_visible_on_front": 0, "parent_id": entity_id}}
    assert_commerce_contract(box.commerce)
    # The carrier sends the same event again.
    before = activity(box)
    status, answer = post(box, event)
    assert (status, answer["results"][0]["result"]) == (200, "duplicate")
    box.deliver()
    assert activity(box) == before


def test_a_delivery_exception_is_noted_and_commented(box: Sandbox) -> None:
    tracking = parcel(box)
    event = box.carrier.tracking_event(tracking, "exception", description="Address not found",
                                       occurred_at="2024-05-03T09:00:00Z")
    assert post(box, event)[0] == 200
    note = sterling_writes(box, box.sterling.shipment("SH-510").key)[-1]["Notes"]["Note"][0]
    assert note == {"NoteText": f"Carrier exception 2024-05-03T09:00:00Z: container T1, UPSN {tracking}. "
                                "Address not found", "ReasonCode": "CARRIER_EXCEPTION"}
    entity_id = box.commerce.find_order("000000510")["entity_id"]
    comment = box.commerce.calls_to(f"/V1/orders/{entity_id}/comments", "POST")[-1]["body"]["statusHistory"]
    assert comment["comment"] == (f"[oms-bridge] Parcel {tracking} (United Parcel Service) of shipment SH-510 has "
                                  "a delivery exception 2024-05-03T09:00:00Z. Address not found")


def test_a_progress_scan_is_acknowledged_and_not_recorded(box: Sandbox) -> None:
    event = box.carrier.tracking_event(parcel(box), "out_for_delivery")
    before = activity(box)
    assert post(box, event) == (200, {"accepted": 1, "results": [{
        "event_id": event["event_id"], "tracking_no": parcel(box), "status": "in_transit", "result": "ignored"}]})
    assert activity(box) == before


def signed_raw(box: Sandbox, raw: str, key: str = SANDBOX_SECRET["carrier_api_key"]) -> tuple[int, Any]:
    status, _, answer = box.http("POST", "/callbacks/carrier", body=raw, headers={"x-signature": sign(raw.encode(),
                                                                                                     key)})
    return status, answer


def event_for(reference: str) -> str:
    return json.dumps({"event_id": "TRK-X", "reference": reference, "tracking_number": "1ZX", "status": "delivered",
                       "occurred_at": "2024-05-03T15:20:00Z"})


@pytest.mark.parametrize(("case", "raw", "key", "status", "answer"), [
    ("signed with the WMS key", event_for("default/SH-510/T1"), SANDBOX_SECRET["dc_api_key"], 401,
     {"error": "unauthenticated", "reason": "X-Signature does not match the body"}),
    ("not JSON", "{", SANDBOX_SECRET["carrier_api_key"], 400,
     {"error": "invalid_json", "reason": "body is not valid JSON"}),
    ("no status", '{"event_id": "E", "reference": "a/b/c", "tracking_number": "1Z", "occurred_at": "now"}',
     SANDBOX_SECRET["carrier_api_key"], 400, {"error": "invalid_callback", "reason": "status: Field required"}),
    ("a reference we never made", event_for("someone-else"), SANDBOX_SECRET["carrier_api_key"], 400,
     {"error": "invalid_callback", "reason": "reference 'someone-else' is not a parcel this integration booked"}),
    ("a shipment Sterling does not have", event_for("default/SH-NOPE/C1"), SANDBOX_SECRET["carrier_api_key"], 422,
     {"error": "unprocessable", "reason": "getShipmentDetails: Sterling SIM_INVALID_SHIPMENT Invalid shipment "
                                          "(ShipmentNo=SH-NOPE, ShipNode=default)"}),
])
def test_a_callback_that_is_unsigned_malformed_or_unknown_changes_nothing(
        box: Sandbox, case: str, raw: str, key: str, status: int, answer: dict[str, str]) -> None:
    writes = [c for c in box.sterling.calls if c["path"].endswith("/changeShipment")]
    comments = box.commerce.calls_to("/comments", "POST")
    assert signed_raw(box, raw, key) == (status, answer)
    assert status in documented_statuses("POST", "/callbacks/carrier")
    assert [c for c in box.sterling.calls if c["path"].endswith("/changeShipment")] == writes
    assert box.commerce.calls_to("/comments", "POST") == comments


def test_an_unsigned_callback_is_refused(box: Sandbox) -> None:
    status, _, answer = box.http("POST", "/callbacks/carrier", body=event_for("default/SH-510/T1"))
    assert (status, answer) == (401, {"error": "unauthenticated", "reason": "missing X-Signature header"})
