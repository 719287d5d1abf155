"""OrderStatusFunction end to end over the sandbox: the Sterling simulator's pipeline → ingress → bus
→ function → Commerce simulator, with OrderExportFunction handling the echoes, moto state, Lambda's
retries and the DLQ."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from sandbox import cli, demo_data
from sandbox.contracts import assert_commerce_contract
from sandbox.stack import SANDBOX_SECRET, Sandbox
from tests.support import request, sterling_as_user

ROOT = Path(__file__).resolve().parents[2]
FUNCTION = "OrderStatusFunction"
ORDER_NO = "000000101"
KEY = {"OrderNo": ORDER_NO, "EnterpriseCode": "DEFAULT", "DocumentType": "0001"}
CHANGE = "/smcfs/restapi/invoke/changeOrder"
M = "[oms-bridge]"
WRITES = ("/comments", "/hold", "/unhold", "/cancel")


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=demo_data.SEED) as box:
        yield box


def hold(sb: Sandbox, status: str, reason: str = "") -> None:
    sterling_as_user(sb, "changeOrder", {**KEY, "OrderHoldTypes": {"OrderHoldType": [
        {"HoldType": "FRAUD_HOLD", "Status": status, "ReasonText": reason}]}})
    sb.deliver()


def place(sb: Sandbox, order: dict[str, Any] | None = None) -> int:
    """Place the demo order in Commerce; OrderExportFunction creates it in Sterling."""
    cloud_event = demo_data.place_order(sb, order or demo_data.simple_order())
    return int(cloud_event["data"]["value"]["items"][0]["order_id"])


def writes(sb: Sandbox) -> list[tuple[str, Any]]:
    """The Commerce order writes, as (path, body)."""
    return [(call["path"], call["body"]) for call in sb.commerce.calls
            if call["method"] == "POST" and call["path"].endswith(WRITES)]


def comment(entity_id: int, text: str, status: str) -> tuple[str, Any]:
    return (f"/rest/default/V1/orders/{entity_id}/comments", {"statusHistory": {
        "comment": f"{M} {text}", "is_customer_notified": 0, "is_visible_on_front": 0, "parent_id": entity_id,
        "status": status}})


def action(entity_id: int, name: str) -> tuple[str, Any]:
    return (f"/rest/default/V1/orders/{entity_id}/{name}", None)


def history(sb: Sandbox) -> list[tuple[str, str]]:
    """The order's status history in Commerce, oldest first."""
    order = sb.commerce.find_order(ORDER_NO)
    entries = sorted(order["status_histories"], key=lambda entry: entry["entity_id"])
    return [(entry["status"], entry["comment"]) for entry in entries]


def order_ref(sb: Sandbox) -> dict[str, Any]:
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(sb.aws.physical["StateTable"])
    item = table.get_item(Key={"pk": f"order#{ORDER_NO}", "sk": "map"}).get("Item")
    assert item is not None
    return dict(json.loads(str(item["doc"])))


def results(sb: Sandbox) -> list[str]:
    return [record["result"]["status"] for record in sb.invocations
            if record["function"] == FUNCTION and "result" in record]


def sterling_order_events(sb: Sandbox) -> list[dict[str, Any]]:
    return [event for event in sb.bus_events
            if event["source"] == "ibm.sterling" and event["detail-type"].startswith("order.")]


def change_orders_sent_by_export(sb: Sandbox, by_test: int) -> int:
    return len([call for call in sb.sterling.calls if call["path"] == CHANGE]) - by_test


def test_placed_order_moves_through_sterling_and_commerce_shows_each_step_once_in_order(sb: Sandbox) -> None:
    entity_id = place(sb)
    sb.sterling.schedule(ORDER_NO)
    sb.deliver()
    hold(sb, "1100", "Address check")
    assert sb.commerce.find_order(ORDER_NO)["state"] == "holded"
    hold(sb, "1300")
    sb.sterling.release(ORDER_NO)
    sb.deliver()

    assert writes(sb) == [
        comment(entity_id, "Created in Sterling (1100)", "processing"),
        comment(entity_id, "Scheduled in Sterling (1500)", "processing"),
        action(entity_id, "hold"),
        comment(entity_id, "On hold in Sterling: FRAUD_HOLD (Address check)", "holded"),
        action(entity_id, "unhold"),
        comment(entity_id, "Hold resolved in Sterling: FRAUD_HOLD", "processing"),
        comment(entity_id, "Released to node default in Sterling (3200)", "processing"),
    ]
    assert history(sb) == [
        ("processing", f"{M} Created in Sterling (1100)"),
        ("processing", f"{M} Scheduled in Sterling (1500)"),
        ("holded", f"{M} On hold in Sterling: FRAUD_HOLD (Address check)"),
        ("processing", f"{M} Hold resolved in Sterling: FRAUD_HOLD"),
        ("processing", f"{M} Released to node default in Sterling (3200)"),
    ]
    order = sb.commerce.find_order(ORDER_NO)
    assert (order["state"], order["status"]) == ("processing", "processing")
    # Every write raised a Commerce event; the export flow recognised them all as our echo.
    assert change_orders_sent_by_export(sb, by_test=2) == 0
    ref = order_ref(sb)
    assert (ref["entity_id"], ref["synced_state"]) == (entity_id, "processing")
    assert ref["sterling_status"] == {"status": "3200", "held": False, "holds": [], "cancelled": [],
                                      "release": "1@default"}
    assert sb.dlq(FUNCTION) == []
    assert sb.dlq("OrderExportFunction") == []
    assert_commerce_contract(sb.commerce)


def test_duplicate_and_stale_deliveries_change_nothing(sb: Sandbox) -> None:
    place(sb)
    sb.sterling.schedule(ORDER_NO)
    sb.deliver()
    hold(sb, "1100", "Address check")
    hold(sb, "1300")
    delivered = sterling_order_events(sb)
    assert [event["detail-type"] for event in delivered] == [
        "order.created", "order.changed", "order.hold_changed", "order.hold_changed"]
    before, history_before, invocations = writes(sb), history(sb), len(results(sb))

    # Every event again, newest first: the newest is a duplicate, the others are older than it.
    for event in reversed(delivered):
        sb.publish("ibm.sterling", event["detail-type"], event["detail"])
    sb.deliver()

    assert results(sb)[invocations:] == ["duplicate", "stale", "stale", "stale"]
    assert writes(sb) == before
    assert history(sb) == history_before
    assert sb.commerce.find_order(ORDER_NO)["state"] == "processing"
    assert_commerce_contract(sb.commerce)


def test_tenant_sub_status_uses_its_parent_row(sb: Sandbox) -> None:
    entity_id = place(sb)
    document = sb.sterling.order(ORDER_NO).render()
    for line in document["OrderLines"]["OrderLine"]:
        line.update(MinLineStatus="3350.10", MaxLineStatus="3350.10", Status="Sent to Store")
    sb.sterling_post("order.changed", document)
    sb.deliver()

    assert writes(sb)[-1] == comment(entity_id, "Included in shipment in Sterling (3350.10)", "processing")
    assert_commerce_contract(sb.commerce)


def test_backorder_is_a_comment_listing_the_lines(sb: Sandbox) -> None:
    entity_id = place(sb, demo_data.simple_order(qty=500))
    sb.sterling.schedule(ORDER_NO)
    sb.deliver()

    assert writes(sb)[1:] == [comment(entity_id, "Backordered in Sterling (1300): line 1 DEMO-MUG", "processing")]
    assert_commerce_contract(sb.commerce)


def test_a_line_quantity_cancelled_in_sterling_is_listed(sb: Sandbox) -> None:
    entity_id = place(sb)
    sterling_as_user(sb, "changeOrder", {**KEY, "OrderLines": {"OrderLine": [
        {"PrimeLineNo": "1", "SubLineNo": "1", "OrderedQty": "1"}]}})
    sb.deliver()

    assert writes(sb)[1:] == [comment(entity_id, "Lines cancelled in Sterling: line 1 DEMO-MUG x1", "processing")]
    assert sb.commerce.find_order(ORDER_NO)["state"] == "processing"
    assert_commerce_contract(sb.commerce)


def test_order_cancelled_in_sterling_is_cancelled_in_commerce_and_not_sent_back(sb: Sandbox) -> None:
    entity_id = place(sb)
    sb.sterling.schedule(ORDER_NO)
    sb.deliver()
    sterling_as_user(sb, "changeOrder", {**KEY, "Action": "CANCEL"})
    sb.deliver()

    assert writes(sb)[2:] == [
        action(entity_id, "cancel"),
        comment(entity_id, "Cancelled in Sterling (9000)", "canceled"),
    ]
    order = sb.commerce.find_order(ORDER_NO)
    assert (order["state"], order["status"]) == ("canceled", "canceled")
    assert [item["qty_canceled"] for item in order["items"]] == [2]
    assert change_orders_sent_by_export(sb, by_test=1) == 0
    assert order_ref(sb)["synced_state"] == "canceled"
    assert sb.dlq(FUNCTION) == []
    assert_commerce_contract(sb.commerce)


def test_held_order_cancelled_in_sterling_is_unheld_then_cancelled(sb: Sandbox) -> None:
    entity_id = place(sb)
    hold(sb, "1100", "Address check")
    sterling_as_user(sb, "changeOrder", {**KEY, "Action": "CANCEL"})
    sb.deliver()

    assert writes(sb)[1:] == [
        action(entity_id, "hold"),
        comment(entity_id, "On hold in Sterling: FRAUD_HOLD (Address check)", "holded"),
        action(entity_id, "unhold"),
        action(entity_id, "cancel"),
        comment(entity_id, "Cancelled in Sterling (9000)", "canceled"),
    ]
    assert sb.commerce.find_order(ORDER_NO)["state"] == "canceled"
    assert change_orders_sent_by_export(sb, by_test=2) == 0
    assert sb.dlq(FUNCTION) == []
    assert_commerce_contract(sb.commerce)


def test_an_order_commerce_does_not_have_is_retried_then_parked_with_the_reason(sb: Sandbox) -> None:
    sterling_as_user(sb, "createOrder", {**KEY, "OrderLines": {"OrderLine": [
        {"PrimeLineNo": "1", "SubLineNo": "1", "OrderedQty": "1", "Item": {"ItemID": "DEMO-MUG"}}]}})
    sb.deliver()

    searches = [call for call in sb.commerce.calls if call["path"] == "/rest/default/V1/orders"]
    assert [call["query"]["searchCriteria[filter_groups][0][filters][0][value]"] for call in searches] == [
        ORDER_NO] * 3
    assert writes(sb) == []
    [record] = sb.dlq(FUNCTION)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responsePayload"]["errorMessage"] == f"Commerce order {ORDER_NO} does not exist yet"
    assert record["requestPayload"]["detail-type"] == "order.created"
    assert_commerce_contract(sb.commerce)


def printed_trace(out: str) -> dict[str, Any]:
    """The JSON object ``run`` prints, among the metrics lines Powertools writes to stdout."""
    decoder, position = json.JSONDecoder(), 0
    while True:
        position = out.index("{", position)
        try:
            document, position = decoder.raw_decode(out, position)
        except ValueError:
            position += 1
            continue
        if isinstance(document, dict) and "calls" in document:
            return document


def test_sandbox_run_prints_the_hold_and_its_comment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"commerce": {"orders": [{
        "entity_id": 7, "increment_id": ORDER_NO, "state": "processing", "status": "processing",
        "items": [{"item_id": 1, "sku": "24-MB01", "qty_ordered": 2}]}]}}))
    event = ROOT / "events" / "order_status" / "order_hold_applied.json"

    assert cli.main(["run", FUNCTION, str(event), "--seed", str(seed)]) == 0

    trace = printed_trace(capsys.readouterr().out)
    text = f"{M} On hold in Sterling: FRAUD_HOLD (Billing and shipping address differ)"
    assert trace["result"]["status"] == "processed"
    assert [(c["method"], c["path"], c["body"]) for c in trace["calls"] if c["method"] == "POST"] == [
        ("POST", "/rest/default/V1/orders/7/hold", None),
        ("POST", "/rest/default/V1/orders/7/comments", {"statusHistory": {
            "comment": text, "is_customer_notified": 0, "is_visible_on_front": 0, "parent_id": 7,
            "status": "holded"}}),
    ]


def admin(sb: Sandbox, entity_id: int, action_name: str) -> None:
    """What a Commerce admin does in the order view."""
    answer = request("POST", f"{sb.url('commerce')}/rest/default/V1/orders/{entity_id}/{action_name}",
                     headers={"Authorization": f"Bearer {SANDBOX_SECRET['commerce_bearer_token']}"})
    answer.raise_for_status()
    sb.deliver()


def holds_in_sterling(sb: Sandbox) -> list[tuple[str, str]]:
    return [(entry.hold_type, entry.status) for entry in sb.sterling.order(ORDER_NO).holds]


def test_a_commerce_unhold_resolves_the_sterling_hold_the_order_has(sb: Sandbox) -> None:
    entity_id = place(sb)
    hold(sb, "1100", "Payment review")
    assert sb.commerce.find_order(ORDER_NO)["state"] == "holded"
    changes = len(sb.sterling.calls_to("/invoke/changeOrder"))
    reads = len(sb.sterling.calls_to("/invoke/getOrderDetails"))

    admin(sb, entity_id, "unhold")

    # Resolving COMMERCE_HOLD, which the order never had, would apply it (IBM support swg21991521)
    # and the order could never leave hold from Commerce.
    assert [call["body"] for call in sb.sterling.calls_to("/invoke/changeOrder")[changes:]] == [
        {**KEY, "OrderHoldTypes": {"OrderHoldType": [{"HoldType": "FRAUD_HOLD", "Status": "1300"}]}}]
    # The hold types came with Sterling's order.hold_changed event: nothing to read.
    assert len(sb.sterling.calls_to("/invoke/getOrderDetails")) == reads
    assert holds_in_sterling(sb) == [("FRAUD_HOLD", "1300")]
    assert not sb.sterling.order(ORDER_NO).held
    assert sb.commerce.find_order(ORDER_NO)["state"] == "processing"
    assert sb.dlq("OrderExportFunction") == sb.dlq(FUNCTION) == []


def test_holds_not_known_yet_are_read_from_sterling_before_they_are_resolved(sb: Sandbox) -> None:
    entity_id = place(sb)
    hold(sb, "1100", "Payment review")
    # An order map written before the hold types were recorded: they are not known here.
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(sb.aws.physical["StateTable"])
    item = table.get_item(Key={"pk": f"order#{ORDER_NO}", "sk": "map"})["Item"]
    ref = json.loads(str(item["doc"]))
    ref.pop("sterling_holds", None)
    table.put_item(Item={**item, "doc": json.dumps(ref)})
    calls = len(sb.sterling.calls)

    admin(sb, entity_id, "unhold")

    sent = [(call["path"].rsplit("/", 1)[1], call["query"].get("_templateKey"), call["body"])
            for call in sb.sterling.calls[calls:] if call["path"].endswith(("getOrderDetails", "changeOrder"))]
    assert sent == [
        ("getOrderDetails", "omsbridge_order_holds", KEY),
        ("changeOrder", None, {**KEY, "OrderHoldTypes": {"OrderHoldType": [
            {"HoldType": "FRAUD_HOLD", "Status": "1300"}]}}),
    ]
    assert not sb.sterling.order(ORDER_NO).held
