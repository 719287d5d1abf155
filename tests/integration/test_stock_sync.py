"""Stock sync end to end on the sandbox: Sterling availability changes go through ingress, the bus,
the rule's SQS queue and StockSyncFunction's batches into the Commerce simulator's MSI source items.
Bodies are asserted as Commerce received them, and every Commerce call is held to the contract.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox import states
from sandbox.contracts import assert_commerce_contract
from sandbox.sim.base import Fault
from sandbox.stack import Sandbox

FUNCTION = "StockSyncFunction"
EVENTS = Path(__file__).resolve().parents[2] / "events" / "stock_sync"
SOURCE_ITEMS = "/V1/inventory/source-items"
T1, T2, T3 = "2026-03-01T10:00:00Z", "2026-03-01T10:05:00Z", "2026-03-01T10:10:00Z"

SEED: dict[str, Any] = {
    "commerce": {
        "products": [{"sku": sku, "name": sku, "type_id": "simple"} for sku in ("MUG", "TEE", "CAP")],
        "sources": [{"source_code": code, "name": code} for code in ("default", "store_1", "store_2")],
    },
    "sterling": {
        "nodes": [{"ShipNode": "default", "NodeType": "DC", "Description": "DC"},
                  {"ShipNode": "store_1", "NodeType": "Store", "Description": "Store 1"},
                  {"ShipNode": "store_2", "NodeType": "Store", "Description": "Store 2"}],
    },
}


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=copy.deepcopy(SEED)) as box:
        yield box


def rtam(sku: str, when: str, **nodes: str) -> dict[str, Any]:
    return {"id": f"{sku}-{when}", "time": when, "data": {
        "ItemID": sku, "UnitOfMeasure": "EACH", "InventoryOrganizationCode": "DEFAULT",
        "AvailabilityChanges": {"AvailabilityChange": [
            {"Node": node, "OnhandAvailableQuantity": qty} for node, qty in nodes.items()]}}}


def posted(box: Sandbox) -> list[Any]:
    """The bodies of the synchronous source-items saves (not the async bulk ones)."""
    return [call["body"] for call in sync_saves(box)]


def sync_saves(box: Sandbox) -> list[dict[str, Any]]:
    return [call for call in box.commerce.calls_to(SOURCE_ITEMS, "POST") if "/async/" not in call["path"]]


def stock(box: Sandbox) -> dict[tuple[str, str], tuple[float, int]]:
    return {key: (float(item["quantity"]), int(item["status"])) for key, item in box.commerce.source_items.items()}


def watermark(box: Sandbox, sku: str, source: str) -> str | None:
    table = box.aws.physical["StateTable"]
    item = box.aws.dynamodb.get_item(TableName=table, Key={"pk": {"S": f"stock#{sku}#{source}"},
                                                           "sk": {"S": "watermark"}}).get("Item")
    return item["stamp"]["S"] if item else None


def test_a_sterling_adjustment_reaches_commerce_as_one_source_items_call(sb: Sandbox) -> None:
    sb.sterling_user().adjust_inventory([
        {"ItemID": "MUG", "ShipNode": "default", "Quantity": "40", "AdjustmentType": "ABSOLUTE"},
        {"ItemID": "MUG", "ShipNode": "store_1", "Quantity": "3", "AdjustmentType": "ABSOLUTE"},
        {"ItemID": "TEE", "ShipNode": "store_2", "Quantity": "7.5", "AdjustmentType": "ABSOLUTE"},
    ])
    sb.deliver()
    assert [(e["source"], e["detail-type"]) for e in sb.bus_events] == [
        ("ibm.sterling", "inventory.changed"), ("ibm.sterling", "inventory.changed")]
    # Both of Sterling's documents (one per item) arrive in one batch: one Commerce call.
    assert posted(sb) == [{"sourceItems": [
        {"sku": "MUG", "source_code": "default", "quantity": 40, "status": 1},
        {"sku": "MUG", "source_code": "store_1", "quantity": 3, "status": 1},
        {"sku": "TEE", "source_code": "store_2", "quantity": 7.5, "status": 1},
    ]}]
    assert stock(sb) == {("MUG", "default"): (40, 1), ("MUG", "store_1"): (3, 1), ("TEE", "store_2"): (7.5, 1)}
    assert watermark(sb, "MUG", "store_1") is not None
    assert sb.dlq(FUNCTION) == []
    # Selling out is a change too: quantity 0, out of stock.
    sb.sterling_user().adjust_inventory([{"ItemID": "MUG", "ShipNode": "store_1", "Quantity": "-3"}])
    sb.deliver()
    assert posted(sb)[-1] == {"sourceItems": [{"sku": "MUG", "source_code": "store_1", "quantity": 0, "status": 0}]}
    assert_commerce_contract(sb.commerce)


def test_the_sample_inventory_visibility_event_updates_its_node() -> None:
    seed = json.loads((EVENTS / "seed.json").read_text())
    record = json.loads((EVENTS / "sqs_iv_event.json").read_text())["Records"][0]
    event = json.loads(record["body"])
    with Sandbox(seed=seed) as box:
        box.publish(event["source"], event["detail-type"], event["detail"])
        box.deliver()
        # The IV event's own computeTs is the time the stale guard keeps.
        assert posted(box) == [{"sourceItems": [
            {"sku": "DEMO-MUG", "source_code": "store_1", "quantity": 4, "status": 1}]}]
        assert watermark(box, "DEMO-MUG", "store_1") == "2026-03-01T10:01:59.250000Z"
        assert_commerce_contract(box.commerce)


def test_late_and_repeated_events_never_overwrite_newer_stock(sb: Sandbox) -> None:
    sb.publish("ibm.sterling", "inventory.changed", rtam("MUG", T2, store_1="5.00"))
    sb.deliver()
    # Later deliveries: the older event, a duplicate of the applied one, and the older one again.
    sb.publish("ibm.sterling", "inventory.changed", rtam("MUG", T1, store_1="99.00"))
    sb.publish("ibm.sterling", "inventory.changed", rtam("MUG", T2, store_1="5.00"))
    sb.deliver()
    sb.publish("ibm.sterling", "inventory.changed", rtam("MUG", T1, store_1="99.00"))
    sb.deliver()
    assert posted(sb) == [{"sourceItems": [{"sku": "MUG", "source_code": "store_1", "quantity": 5, "status": 1}]}]
    assert stock(sb) == {("MUG", "store_1"): (5, 1)}
    assert watermark(sb, "MUG", "store_1") == "2026-03-01T10:05:00.000000Z"
    sb.publish("ibm.sterling", "inventory.changed", rtam("MUG", T3, store_1="4.00"))
    sb.deliver()
    assert stock(sb) == {("MUG", "store_1"): (4, 1)}
    assert sb.dlq(FUNCTION) == []


def test_only_the_message_whose_rows_failed_is_retried_and_then_applied() -> None:
    with Sandbox(seed=copy.deepcopy(SEED), env={"STOCK_SYNC_CHUNK_SIZE": "1"}) as box:
        box.publish("ibm.sterling", "inventory.changed", rtam("MUG", T1, store_1="1.00"))
        box.publish("ibm.sterling", "inventory.changed", rtam("TEE", T1, store_1="2.00"))
        # Commerce is down for the first call and the client's retries of it.
        box.commerce.faults.script(r"/inventory/source-items$", Fault("status", status=503), times=4)
        box.deliver()
        bodies = [json.dumps(body["sourceItems"]) for body in posted(box)]
        mug = json.dumps([{"sku": "MUG", "source_code": "store_1", "quantity": 1, "status": 1}])
        tee = json.dumps([{"sku": "TEE", "source_code": "store_1", "quantity": 2, "status": 1}])
        failed_first = bodies[0]
        other = tee if failed_first == mug else mug
        # Four tries of the first item (503), the other item once, then the redelivered message once.
        assert bodies == [failed_first] * 4 + [other, failed_first]
        assert [call["status"] for call in box.commerce.calls_to(SOURCE_ITEMS, "POST")] == [503] * 4 + [200, 200]
        assert stock(box) == {("MUG", "store_1"): (1, 1), ("TEE", "store_1"): (2, 1)}
        results = [inv["result"] for inv in box.invocations if inv["function"] == FUNCTION]
        assert [len(result["batchItemFailures"]) for result in results] == [1, 0]
        assert box.dlq(FUNCTION) == []
        assert_commerce_contract(box.commerce)


def test_an_unknown_sku_is_parked_with_its_reason_and_the_rest_applied(sb: Sandbox) -> None:
    sb.publish("ibm.sterling", "inventory.changed", rtam("GHOST", T1, store_1="4.00"))
    sb.publish("ibm.sterling", "inventory.changed", rtam("MUG", T1, default="9.00"))
    sb.deliver()
    first, second = posted(sb)
    assert sorted(first["sourceItems"], key=lambda item: item["sku"]) == [
        {"sku": "GHOST", "source_code": "store_1", "quantity": 4, "status": 1},
        {"sku": "MUG", "source_code": "default", "quantity": 9, "status": 1},
    ]
    assert second == {"sourceItems": [{"sku": "MUG", "source_code": "default", "quantity": 9, "status": 1}]}
    assert stock(sb) == {("MUG", "default"): (9, 1)}
    parked = sb.dlq(FUNCTION)
    assert len(parked) == 1
    assert parked[0]["flow"] == "stock_sync"
    assert parked[0]["event"]["detail"]["data"]["ItemID"] == "GHOST"
    index = [item["sku"] for item in first["sourceItems"]].index("GHOST")
    assert parked[0]["reason"] == {
        "error": "PermanentError", "system": "commerce", "status": 400, "code": "source_item_rejected",
        "reason": "Commerce rejected source items: GHOST at store_1: "
                  f'Product with SKU "GHOST" does not exist (source item {index}).'}
    assert watermark(sb, "GHOST", "store_1") is None
    # Not retried: the one invocation reported no failures.
    assert [inv["result"] for inv in sb.invocations if inv["function"] == FUNCTION] == [{"batchItemFailures": []}]
    assert_commerce_contract(sb.commerce)


def test_a_large_load_goes_through_the_async_bulk_endpoint() -> None:
    env = {"STOCK_SYNC_CHUNK_SIZE": "2", "STOCK_SYNC_BULK_THRESHOLD": "2", "STOCK_SYNC_BULK_POLL_SECONDS": "0.01"}
    with Sandbox(seed=copy.deepcopy(SEED), env=env) as box:
        box.publish("ibm.sterling", "inventory.changed", rtam("MUG", T1, default="1", store_1="2", store_2="3"))
        box.deliver()
        uuid = box.commerce.calls[0]["response"]["bulk_uuid"]
        # Accepted, then polled: open on the first status read, complete on the next.
        assert [(call["method"], call["path"], call["status"]) for call in box.commerce.calls] == [
            ("POST", "/rest/default/async/bulk/V1/inventory/source-items", 202),
            ("GET", f"/rest/default/V1/bulk/{uuid}/status", 200),
            ("GET", f"/rest/default/V1/bulk/{uuid}/status", 200)]
        assert [[op["status"] for op in call["response"]["operations_list"]]
                for call in box.commerce.calls[1:]] == [[4, 4], [1, 1]]
        assert box.commerce.calls[0]["body"] == [
            {"sourceItems": [{"sku": "MUG", "source_code": "default", "quantity": 1, "status": 1},
                             {"sku": "MUG", "source_code": "store_1", "quantity": 2, "status": 1}]},
            {"sourceItems": [{"sku": "MUG", "source_code": "store_2", "quantity": 3, "status": 1}]},
        ]
        assert stock(box) == {("MUG", "default"): (1, 1), ("MUG", "store_1"): (2, 1), ("MUG", "store_2"): (3, 1)}
        assert watermark(box, "MUG", "store_2") == "2026-03-01T10:00:00.000000Z"
        assert_commerce_contract(box.commerce)


def test_a_batch_longer_than_the_stores_input_limit_is_split_to_it_and_the_limit_kept() -> None:
    """A store with Commerce's Web API input limits on: at most 20 source items per synchronous list.
    Ten Sterling documents of six nodes each arrive as one SQS batch of 60 rows."""
    skus = [f"SKU-{n}" for n in range(10)]
    levels = {"default": 1, **{f"store_{n}": n + 1 for n in range(1, 6)}}
    seed = copy.deepcopy(SEED)
    seed["commerce"]["config"] = {"input_list_limit": 20}
    seed["commerce"]["products"] = [{"sku": sku, "name": sku, "type_id": "simple"} for sku in skus]
    seed["commerce"]["sources"] = [{"source_code": node, "name": node} for node in levels]
    seed["sterling"]["nodes"] = [{"ShipNode": node, "NodeType": "Store", "Description": node} for node in levels]

    def items(offset: int) -> list[dict[str, Any]]:
        return [{"sku": sku, "source_code": node, "quantity": level + offset, "status": 1}
                for sku in skus for node, level in levels.items()]

    with Sandbox(seed=seed) as box:
        for sku in skus:
            box.publish("ibm.sterling", "inventory.changed",
                        rtam(sku, T1, **{node: f"{level}.00" for node, level in levels.items()}))
        box.deliver()
        first = items(0)
        calls = sync_saves(box)
        # All 60 in one list, refused whole with Commerce's answer; then the same 60 in lists of 20.
        assert [(call["status"], call["body"]) for call in calls] == [
            (400, {"sourceItems": first}), (200, {"sourceItems": first[:20]}),
            (200, {"sourceItems": first[20:40]}), (200, {"sourceItems": first[40:]})]
        assert calls[0]["response"] == {"message": 'Maximum items of type "%type" is %max', "parameters": {
            "type": "\\Magento\\InventoryApi\\Api\\Data\\SourceItemInterface", "max": 20}}
        assert stock(box) == {(sku, node): (float(level), 1) for sku in skus for node, level in levels.items()}
        assert all(watermark(box, sku, node) == "2026-03-01T10:00:00.000000Z" for sku in skus for node in levels)
        # The function's container remembers the limit: the next batch is cut to 20 from the start.
        for sku in skus:
            box.publish("ibm.sterling", "inventory.changed",
                        rtam(sku, T2, **{node: f"{level + 5}.00" for node, level in levels.items()}))
        box.deliver()
        second = items(5)
        assert [(call["status"], call["body"]) for call in sync_saves(box)[4:]] == [
            (200, {"sourceItems": second[:20]}), (200, {"sourceItems": second[20:40]}),
            (200, {"sourceItems": second[40:]})]
        assert [len(inv["event"]["Records"]) for inv in box.invocations] == [10, 10]
        assert stock(box)[("SKU-9", "store_5")] == (11, 1)
        assert box.dlq(FUNCTION) == []
        assert_commerce_contract(box.commerce)


# -- full reconciliation: StockReconcileStateMachine run by the sandbox ------------------------------

BULK_SOURCE_ITEMS = "/rest/default/async/bulk/V1/inventory/source-items"
RECONCILE_ENV = {"STOCK_SYNC_RECONCILE_NODES": "default,store_1", "STOCK_SYNC_RECONCILE_PAGE_SIZE": "2",
                 "STOCK_SYNC_BULK_POLL_SECONDS": "0.01"}


def drifted_seed() -> dict[str, Any]:
    seed = copy.deepcopy(SEED)
    seed["commerce"]["products"].append({"sku": "HAT", "name": "HAT", "type_id": "simple"})
    seed["commerce"]["source_items"] = [
        {"sku": "MUG", "source_code": "default", "quantity": 40, "status": 1},   # equal
        {"sku": "MUG", "source_code": "store_1", "quantity": 8, "status": 1},    # Commerce higher
        {"sku": "TEE", "source_code": "default", "quantity": 0, "status": 0},    # Commerce lower
        {"sku": "CAP", "source_code": "store_2", "quantity": 5, "status": 1},    # not a reconciled node
    ]
    seed["sterling"]["inventory"] = [
        {"ItemID": "MUG", "ShipNode": "default", "Quantity": 40},
        {"ItemID": "MUG", "ShipNode": "store_1", "Quantity": 2},
        {"ItemID": "TEE", "ShipNode": "default", "Quantity": 6},
        {"ItemID": "CAP", "ShipNode": "store_2", "Quantity": 1},
        {"ItemID": "HAT", "ShipNode": "store_1", "Quantity": 3},                 # absent in Commerce
    ]
    return seed


def test_a_reconciliation_fixes_drift_both_ways_and_touches_nothing_already_equal() -> None:
    with Sandbox(seed=drifted_seed(), env=RECONCILE_ENV) as box:
        output = states.execute(box, "StockReconcileStateMachine", {})
        # Sterling's items in ItemID order (CAP, HAT, MUG, TEE), two per page.
        assert output == {"nodes": ["default", "store_1"], "concurrency": 4, "pages": [
            {"after": "", "through": "HAT"}, {"after": "HAT", "through": None}]}
        assert [call["body"] for call in box.sterling.calls_to("/invoke/getItemList")] == [
            {"CallingOrganizationCode": "DEFAULT", "MaximumRecords": "2", "OrderBy": {"Attribute": {"Name": "ItemID"}}},
            {"CallingOrganizationCode": "DEFAULT", "ItemID": "HAT", "ItemIDQryType": "GT", "MaximumRecords": "2",
             "OrderBy": {"Attribute": {"Name": "ItemID"}}},
            {"CallingOrganizationCode": "DEFAULT", "ItemID": "TEE", "ItemIDQryType": "GT", "MaximumRecords": "2",
             "OrderBy": {"Attribute": {"Name": "ItemID"}}},
            # The pages read their items again.
            {"CallingOrganizationCode": "DEFAULT", "MaximumRecords": "2", "OrderBy": {"Attribute": {"Name": "ItemID"}}},
            {"CallingOrganizationCode": "DEFAULT", "ItemID": "HAT", "ItemIDQryType": "GT", "MaximumRecords": "2",
             "OrderBy": {"Attribute": {"Name": "ItemID"}}},
            {"CallingOrganizationCode": "DEFAULT", "ItemID": "TEE", "ItemIDQryType": "GT", "MaximumRecords": "2",
             "OrderBy": {"Attribute": {"Name": "ItemID"}}}]
        searched = [call["query"] for call in box.commerce.calls_to(SOURCE_ITEMS, "GET")]
        assert [(query["searchCriteria[filter_groups][0][filters][0][value]"],
                 query["searchCriteria[filter_groups][1][filters][0][value]"]) for query in searched] == [
            ("CAP,HAT", "default,store_1"), ("MUG,TEE", "default,store_1")]
        # Only the differences, through the async bulk route: HAT newly at store_1, MUG lower, TEE higher.
        assert [call["body"] for call in box.commerce.calls_to(BULK_SOURCE_ITEMS, "POST")] == [
            [{"sourceItems": [{"sku": "HAT", "source_code": "store_1", "quantity": 3, "status": 1}]}],
            [{"sourceItems": [{"sku": "MUG", "source_code": "store_1", "quantity": 2, "status": 1},
                              {"sku": "TEE", "source_code": "default", "quantity": 6, "status": 1}]}]]
        assert posted(box) == []
        assert stock(box) == {("MUG", "default"): (40, 1), ("MUG", "store_1"): (2, 1), ("TEE", "default"): (6, 1),
                              ("CAP", "store_2"): (5, 1), ("HAT", "store_1"): (3, 1)}
        assert watermark(box, "MUG", "store_1") is not None
        assert watermark(box, "MUG", "default") is None
        # A second run finds nothing to fix and writes nothing.
        states.execute(box, "StockReconcileStateMachine", {})
        assert len(box.commerce.calls_to(BULK_SOURCE_ITEMS, "POST")) == 2
        assert box.dlq(FUNCTION) == []
        assert_commerce_contract(box.commerce)


def test_a_reconciliation_on_demand_may_name_its_nodes_and_an_older_event_cannot_undo_it() -> None:
    with Sandbox(seed=drifted_seed(), env=RECONCILE_ENV) as box:
        output = states.execute(box, "StockReconcileStateMachine", {"nodes": ["store_1"]})
        assert output["nodes"] == ["store_1"]
        assert [call["body"] for call in box.commerce.calls_to(BULK_SOURCE_ITEMS, "POST")] == [
            [{"sourceItems": [{"sku": "HAT", "source_code": "store_1", "quantity": 3, "status": 1}]}],
            [{"sourceItems": [{"sku": "MUG", "source_code": "store_1", "quantity": 2, "status": 1}]}]]
        assert stock(box)[("TEE", "default")] == (0, 0)
        # An availability event from before the run, delivered late, is stale against it.
        box.publish("ibm.sterling", "inventory.changed", rtam("MUG", T1, store_1="8.00"))
        box.deliver()
        assert stock(box)[("MUG", "store_1")] == (2, 1)
        assert posted(box) == []


def test_a_reconciliation_without_nodes_plans_no_page() -> None:
    with Sandbox(seed=drifted_seed()) as box:
        assert states.execute(box, "StockReconcileStateMachine", {}) == {
            "nodes": [], "pages": [], "concurrency": 4}
        assert box.sterling.calls_to("/invoke/getItemList") == []
        assert box.commerce.calls == []


def test_rtam_network_totals_update_the_configured_source() -> None:
    seed = copy.deepcopy(SEED)
    seed["commerce"]["sources"].append({"source_code": "online", "name": "Whole network"})
    seed["sterling"]["rtam"] = {"monitor": "network", "levels": [10], "distribution_group": "DG_ALL"}
    with Sandbox(seed=seed, env={"STOCK_NETWORK_SOURCE": "online"}) as box:
        box.sterling_user().adjust_inventory([
            {"ItemID": "MUG", "ShipNode": "default", "Quantity": "8", "AdjustmentType": "ABSOLUTE"},
            {"ItemID": "MUG", "ShipNode": "store_1", "Quantity": "4", "AdjustmentType": "ABSOLUTE"}])
        box.deliver()

        [document] = box.sterling.events_of("inventory.changed")
        assert [(row["Node"], row["DistributionRuleId"]) for row in
                document["AvailabilityChanges"]["AvailabilityChange"]] == [("", "DG_ALL")]
        assert posted(box) == [{"sourceItems": [{"sku": "MUG", "source_code": "online", "quantity": 12, "status": 1}]}]
        assert box.dlq(FUNCTION) == []
