"""DistributionCenterFunction end to end on the sandbox: Commerce orders are exported to Sterling and
released; releases to the DC reach the WMS simulator; the WMS's signed confirmations come back through
``POST /callbacks/dc`` and land in Sterling. Every outbound body is asserted as its receiver got it.

One sandbox serves the module; each test works on its own order.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from sandbox.demo_data import SEED, pickup_order, place_and_release, simple_order
from sandbox.sim.base import Fault
from sandbox.stack import Sandbox
from tests.support import documented_statuses

FUNCTION = "DistributionCenterFunction"
SHIP_TO = {"name": "Jane Doe", "company": "", "lines": ["100 Example Street", "Suite 5"], "city": "Austin",
           "state": "TX", "postal_code": "78701", "country": "US", "phone": "555-0100",
           "email": "jane.doe@example.com"}
UPS = {"scac": "UPSN", "service_code": "UPSNGround"}
WRITES = {"createShipment", "confirmShipment", "changeShipment", "changeRelease"}


# Orders placed and released up front, in one pass: each test then works on its own.
ORDERS = {order["increment_id"]: order for order in [
    simple_order("000000401", qty=2), pickup_order("000000402"), simple_order("000000405", qty=2),
    simple_order("000000406", qty=2), simple_order("000000407", qty=3), simple_order("000000408", qty=3),
    simple_order("000000409", qty=1), simple_order("000000410", qty=3), simple_order("000000411", qty=2),
    simple_order("000000412", qty=1), simple_order("000000413", qty=1)]}


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with Sandbox(seed=copy.deepcopy(SEED)) as sandbox:
        for order in ORDERS.values():
            cloud_event = sandbox.commerce.place_order(copy.deepcopy(order))
            sandbox.publish("adobe.commerce", cloud_event["type"], cloud_event)
        sandbox.deliver()
        for increment_id in ORDERS:
            sandbox.sterling.schedule(increment_id)
            sandbox.sterling.release(increment_id)
        sandbox.deliver()
        yield sandbox


def release_of(box: Sandbox, order_no: str) -> dict[str, Any]:
    """The release Sterling published for the order (one per order here)."""
    [release] = [doc for doc in box.sterling.events_of("order.released") if doc["OrderNo"] == order_no]
    return release


def released(box: Sandbox, order: dict[str, Any]) -> dict[str, Any]:
    """Place one more order, let it reach Sterling, schedule and release it; returns the release."""
    [release] = place_and_release(box, [order])
    return release


@contextlib.contextmanager
def short_pick(box: Sandbox, policy: str) -> Iterator[None]:
    """Run with DC_SHORT_PICK set to ``policy``. The sandbox applies environment changes when it
    next starts a function's container, so a call to another function comes first."""
    box.env_overrides["DC_SHORT_PICK"] = policy
    box.http("GET", "/events/commerce")
    try:
        yield
    finally:
        del box.env_overrides["DC_SHORT_PICK"]
        box.http("GET", "/events/commerce")


def line_key(release: dict[str, Any], index: int = 0) -> str:
    key: str = release["OrderLines"]["OrderLine"][index]["OrderLineKey"]
    return key


def wms_calls(box: Sandbox, release: dict[str, Any]) -> list[dict[str, Any]]:
    return [call for call in box.dc.calls if call["body"]["release_key"] == release["OrderReleaseKey"]]


def results(box: Sandbox, release: dict[str, Any]) -> list[str]:
    return [r["result"]["status"] for r in box.invocations if r["function"] == FUNCTION and "result" in r
            and isinstance(r["result"], dict) and r["result"].get("release_key") == release["OrderReleaseKey"]]


def by_hand(release: dict[str, Any], event_id: str) -> dict[str, Any]:
    """A ship confirmation for the whole (one-unit) release, made without the WMS simulator."""
    return {"event_id": event_id, "type": "shipped", "release_key": release["OrderReleaseKey"],
            "order_no": release["OrderNo"], "ship_node": release["ShipNode"], "shipment_no": f"BY-HAND-{event_id}",
            "lines": [{"line_ref": line_key(release), "prime_line_no": "1", "sub_line_no": "1", "sku": "DEMO-MUG",
                       "quantity": 1, "shipped": 1}]}


def post(box: Sandbox, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
    raw, signed = box.dc.signed(body)
    status, _, answer = box.http("POST", "/callbacks/dc", headers=signed if headers is None else headers, body=raw)
    return status, answer


def sterling_calls(box: Sandbox, since: int) -> list[tuple[str, Any]]:
    """(API, body) of every Sterling call after the first ``since`` calls, logins left out."""
    return [(call["path"].rsplit("/", 1)[1], call["body"]) for call in box.sterling.calls[since:]
            if not call["path"].endswith("/login")]


def apis(box: Sandbox, since: int) -> list[str]:
    return [api for api, _ in sterling_calls(box, since)]


def body_of(box: Sandbox, since: int, api: str) -> Any:
    [found] = [body for name, body in sterling_calls(box, since) if name == api]
    return found


def statuses(box: Sandbox, order_no: str) -> dict[str, Decimal]:
    """Quantity per status of the order's first line in Sterling."""
    line = box.sterling.order(order_no).lines[0]
    found: dict[str, Decimal] = {}
    for piece in line.slices:
        found[piece.status] = found.get(piece.status, Decimal(0)) + piece.qty
    return found


# -- releases --------------------------------------------------------------------------------------


def test_a_release_to_a_dc_goes_to_the_wms_once(box: Sandbox) -> None:
    release = release_of(box, "000000401")
    assert [call["body"] for call in wms_calls(box, release)] == [{
        "release_key": release["OrderReleaseKey"], "order_no": "000000401", "release_no": "1",
        "ship_node": "default", "ship_to": SHIP_TO,
        "lines": [{"line_ref": line_key(release), "prime_line_no": "1", "sub_line_no": "1", "sku": "DEMO-MUG",
                   "unit_of_measure": "EACH", "quantity": 2}],
        "carrier": UPS}]
    assert release["OrderReleaseKey"] in box.dc.replies  # sent under the release key
    # Sterling posts the same release event again.
    box.sterling_post("order.released", release)
    box.deliver()
    assert len(wms_calls(box, release)) == 1
    assert results(box, release) == ["sent", "duplicate"]


def test_a_release_to_a_store_stays_in_sterling(box: Sandbox) -> None:
    release = release_of(box, "000000402")
    assert release["ShipNode"] == "store_1"
    assert wms_calls(box, release) == []
    assert results(box, release) == ["not_a_dc"]


def test_a_wms_down_for_a_moment_gets_the_release_once(box: Sandbox) -> None:
    box.dc.faults.script(r"^/v1/orders$", Fault("status", status=503))
    release = released(box, simple_order("000000403"))
    assert [call["status"] for call in wms_calls(box, release)] == [503, 201]
    assert results(box, release) == ["sent"]
    assert release["OrderReleaseKey"] in box.dc.orders


def test_a_release_the_wms_refuses_is_parked_with_its_reason(box: Sandbox) -> None:
    box.dc.faults.script(r"^/v1/orders$", Fault("status", status=400))
    release = released(box, simple_order("000000404"))
    assert [call["status"] for call in wms_calls(box, release)] == [400]  # refused: not retried
    [record] = [r for r in box.dlq(FUNCTION)
                if r["event"]["detail"]["data"]["OrderReleaseKey"] == release["OrderReleaseKey"]]
    assert record["reason"] == {"error": "PermanentError", "system": "dc", "status": 400, "code": None,
                                "reason": "dc answered 400 (injected fault) to POST /v1/orders"}


# -- ship confirmations ----------------------------------------------------------------------------


def test_a_release_the_wms_confirms_directly_is_created_then_confirmed_in_sterling(box: Sandbox) -> None:
    release = release_of(box, "000000405")
    body = box.dc.confirm(release["OrderReleaseKey"], shipment_no="WMS-405",
                          containers=[{"container_no": "B1", "tracking_number": "1Z405", "scac": "UPSN"}])
    since = len(box.sterling.calls)
    status, answer = post(box, body)
    assert (status, answer) == (200, {"event_id": body["event_id"], "result": "applied", "action": "confirmed",
                                      "shipment": "default/WMS-405", "shipment_created": True, "short_lines": 0,
                                      "short_pick": None})
    assert apis(box, since) == ["getOrderReleaseDetails", "getShipmentList", "createShipment", "getShipmentDetails",
                                "confirmShipment"]
    assert body_of(box, since, "createShipment") == {
        "EnterpriseCode": "DEFAULT", "DocumentType": "0001", "ShipmentNo": "WMS-405", "ShipNode": "default",
        "SellerOrganizationCode": "DEFAULT", "SCAC": "UPSN", "CarrierServiceCode": "UPSNGround",
        "ShipmentLines": {"ShipmentLine": [{
            "OrderHeaderKey": release["OrderHeaderKey"], "OrderLineKey": line_key(release),
            "OrderReleaseKey": release["OrderReleaseKey"], "Quantity": "2", "ShipmentLineNo": "1",
            "ShipmentSubLineNo": "0"}]}}
    shipment = box.sterling.shipment("WMS-405")
    [shipment_line] = shipment.lines
    assert body_of(box, since, "confirmShipment") == {
        "ShipmentKey": shipment.key,
        "ShipmentLines": {"ShipmentLine": [{"ShipmentLineKey": shipment_line.key, "Quantity": "2"}]},
        "Containers": {"Container": [{"ContainerNo": "B1", "TrackingNo": "1Z405", "SCAC": "UPSN", "ContainerDetails": {
            "ContainerDetail": [{"ShipmentLineKey": shipment_line.key, "ItemID": "DEMO-MUG", "Quantity": "2"}]}}]},
        "ActualShipmentDate": body["occurred_at"]}
    assert shipment.status == "1400"
    assert statuses(box, "000000405") == {"3700": Decimal(2)}


def test_a_confirmation_of_a_shipment_sterling_already_has_confirms_it(box: Sandbox) -> None:
    release = release_of(box, "000000406")
    existing = box.sterling.include_in_shipment("000000406", shipment_no="SH-406")
    body = box.dc.confirm(release["OrderReleaseKey"], containers=[{"container_no": "C1", "tracking_number": "1Z406"}])
    since = len(box.sterling.calls)
    status, answer = post(box, body)
    assert (status, answer["shipment_created"], answer["shipment"]) == (200, False, "default/SH-406")
    assert apis(box, since) == ["getOrderReleaseDetails", "getShipmentList", "confirmShipment"]
    shipment_line = existing["ShipmentLines"]["ShipmentLine"][0]["ShipmentLineKey"]
    assert body_of(box, since, "confirmShipment") == {
        "ShipmentKey": existing["ShipmentKey"],
        "ShipmentLines": {"ShipmentLine": [{"ShipmentLineKey": shipment_line, "Quantity": "2"}]},
        "Containers": {"Container": [{"ContainerNo": "C1", "TrackingNo": "1Z406", "ContainerDetails": {
            "ContainerDetail": [{"ShipmentLineKey": shipment_line, "ItemID": "DEMO-MUG", "Quantity": "2"}]}}]},
        "ActualShipmentDate": body["occurred_at"]}
    assert box.sterling.shipment("SH-406").status == "1400"


def test_a_short_pick_backorders_what_did_not_ship(box: Sandbox) -> None:
    release = release_of(box, "000000407")
    body = box.dc.confirm(release["OrderReleaseKey"], shipped={"DEMO-MUG": 2}, shipment_no="WMS-407")
    since = len(box.sterling.calls)
    status, answer = post(box, body)
    assert (status, answer["short_lines"], answer["short_pick"]) == (200, 1, "backorder")
    confirm = body_of(box, since, "confirmShipment")
    assert confirm["ShipmentLines"]["ShipmentLine"][0]["Quantity"] == "2"
    assert confirm["BackOrderNonShippedQuantity"] == "Y"
    assert "CancelNonShippedQuantity" not in confirm
    assert statuses(box, "000000407") == {"3700": Decimal(2), "1300": Decimal(1)}


def test_a_short_pick_cancels_what_did_not_ship_when_configured(box: Sandbox) -> None:
    release = release_of(box, "000000408")
    body = box.dc.confirm(release["OrderReleaseKey"], shipped={"DEMO-MUG": 1}, shipment_no="WMS-408")
    with short_pick(box, "cancel"):
        since = len(box.sterling.calls)
        status, answer = post(box, body)
    assert (status, answer["short_pick"]) == (200, "cancel")
    confirm = body_of(box, since, "confirmShipment")
    assert confirm["ShipmentLines"]["ShipmentLine"][0]["Quantity"] == "1"
    assert confirm["CancelNonShippedQuantity"] == "Y"
    assert "BackOrderNonShippedQuantity" not in confirm
    assert statuses(box, "000000408") == {"3700": Decimal(1), "9000": Decimal(2)}


def test_a_create_shipment_answer_lost_to_a_timeout_is_looked_up_not_resent(box: Sandbox) -> None:
    release = release_of(box, "000000409")
    body = box.dc.confirm(release["OrderReleaseKey"], shipment_no="WMS-409")
    # Sterling creates the shipment, then answers after the client gave up (HTTP_READ_TIMEOUT is 1 s).
    box.sterling.faults.script(r"/invoke/createShipment$", Fault("timeout", seconds=1.5))
    status, answer = post(box, body)
    assert (status, answer["shipment_created"]) == (200, True)
    made = [s for s in box.sterling.shipments.values() if s.shipment_no == "WMS-409"]
    assert [s.status for s in made] == ["1400"]


# -- cancellations ----------------------------------------------------------------------------------


def test_cancelled_lines_are_cancelled_on_the_release(box: Sandbox) -> None:
    release = release_of(box, "000000410")
    body = box.dc.cancel(release["OrderReleaseKey"], cancelled={"DEMO-MUG": 1}, reason="Damaged")
    since = len(box.sterling.calls)
    status, answer = post(box, body)
    assert (status, answer) == (200, {"event_id": body["event_id"], "result": "applied", "action": "cancelled",
                                      "shipment_cancelled": None, "lines": 1})
    assert apis(box, since) == ["getOrderReleaseDetails", "getShipmentList", "changeRelease"]
    assert body_of(box, since, "changeRelease") == {
        "OrderReleaseKey": release["OrderReleaseKey"], "OrderHeaderKey": release["OrderHeaderKey"],
        "ModificationReasonText": "Damaged",
        "OrderLines": {"OrderLine": [{"OrderLineKey": line_key(release), "PrimeLineNo": "1", "SubLineNo": "1",
                                      "Action": "CANCEL", "StatusQuantity": "1"}]}}
    assert statuses(box, "000000410") == {"3200": Decimal(2), "9000": Decimal(1)}


def test_cancelling_a_release_in_an_open_shipment_cancels_the_shipment_first(box: Sandbox) -> None:
    release = release_of(box, "000000411")
    existing = box.sterling.include_in_shipment("000000411", shipment_no="SH-411")
    body = box.dc.cancel(release["OrderReleaseKey"])
    since = len(box.sterling.calls)
    status, answer = post(box, body)
    assert (status, answer["shipment_cancelled"]) == (200, "default/SH-411")
    assert apis(box, since) == ["getOrderReleaseDetails", "getShipmentList", "changeShipment",
                                "getOrderReleaseDetails", "changeRelease"]
    assert body_of(box, since, "changeShipment") == {"ShipmentKey": existing["ShipmentKey"], "Action": "Cancel"}
    assert body_of(box, since, "changeRelease")["OrderLines"]["OrderLine"][0]["StatusQuantity"] == "2"
    assert box.sterling.shipment("SH-411").status == "9000"
    assert statuses(box, "000000411") == {"9000": Decimal(2)}


# -- duplicates and refusals ------------------------------------------------------------------------


def test_a_repeated_confirmation_changes_nothing(box: Sandbox) -> None:
    release = release_of(box, "000000412")
    body = box.dc.confirm(release["OrderReleaseKey"], shipment_no="WMS-412")
    assert post(box, body)[1]["result"] == "applied"
    since = len(box.sterling.calls)
    status, answer = post(box, body)
    assert (status, answer["result"], answer["shipment"]) == (200, "duplicate", "default/WMS-412")
    assert sterling_calls(box, since) == []
    # The same shipment confirmed again under a new event id: Sterling has nothing left to ship.
    status, answer = post(box, {**body, "event_id": "DC-EVT-AGAIN"})
    assert status == 422
    assert answer["error"] == "unprocessable"
    assert "createShipment: Sterling" in answer["reason"]
    assert not WRITES & set(apis(box, since)) - {"createShipment"}
    assert [s.status for s in box.sterling.shipments.values() if s.shipment_no == "WMS-412"] == ["1400"]


@pytest.mark.parametrize(("case", "headers", "reason"), [
    ("unsigned", {"content-type": "application/json"}, "missing X-Signature header"),
    ("signed with another key", {"x-signature": "sha256=" + "0" * 64}, "X-Signature does not match the body"),
])
def test_a_confirmation_that_is_not_signed_by_the_wms_changes_nothing(box: Sandbox, case: str,
                                                                      headers: dict[str, str], reason: str) -> None:
    release = release_of(box, "000000413")
    body = by_hand(release, f"DC-UNSIGNED-{case}")
    since = len(box.sterling.calls)
    assert post(box, body, headers) == (401, {"error": "unauthenticated", "reason": reason})
    assert sterling_calls(box, since) == []
    assert statuses(box, release["OrderNo"]) == {"3200": Decimal(1)}


def signed_raw(box: Sandbox, raw: str) -> tuple[int, Any]:
    from omsbridge.carrier.signing import sign

    status, _, answer = box.http("POST", "/callbacks/dc", body=raw,
                                 headers={"x-signature": sign(raw.encode(), box.secret["dc_api_key"])})
    return status, answer


@pytest.mark.parametrize(("raw", "status", "answer"), [
    ("{", 400, {"error": "invalid_json", "reason": "body is not valid JSON"}),
    ('{"event_id": "E1", "type": "shipped", "release_key": "RK", "lines": []}', 400,
     {"error": "invalid_callback", "reason": "lines: List should have at least 1 item after validation, not 0"}),
    ('{"event_id": "E1", "type": "cancelled", "release_key": "NO-SUCH-RELEASE", "lines": '
     '[{"prime_line_no": "1", "cancelled": 1}]}', 422,
     {"error": "unprocessable",
      "reason": "getOrderReleaseDetails: Sterling SIM_INVALID_RELEASE Invalid order release "
                "(OrderReleaseKey=NO-SUCH-RELEASE)"}),
])
def test_a_malformed_or_unknown_confirmation_is_refused_with_the_reason(box: Sandbox, raw: str, status: int,
                                                                        answer: dict[str, str]) -> None:
    since = len(box.sterling.calls)
    assert signed_raw(box, raw) == (status, answer)
    assert status in documented_statuses("POST", "/callbacks/dc")
    assert not WRITES & set(apis(box, since))


def test_a_confirmation_that_does_not_fit_its_release_is_refused(box: Sandbox) -> None:
    release = release_of(box, "000000413")  # refused confirmations leave it as it was
    body = by_hand(release, "DC-MISFIT")
    since = len(box.sterling.calls)
    status, answer = post(box, {**body, "lines": [{**body["lines"][0], "line_ref": "OL-ELSEWHERE"}]})
    assert (status, answer) == (400, {"error": "unknown_line", "reason": "line OL-ELSEWHERE is not a line of release "
                                                                          f"{release['OrderReleaseKey']}"})
    assert apis(box, since) == ["getOrderReleaseDetails"]
    assert statuses(box, "000000413") == {"3200": Decimal(1)}
