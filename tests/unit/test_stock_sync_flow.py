"""The stock sync flow against moto (watermarks, DLQ) and a scripted Commerce: exact bodies sent,
what is retried, what is parked, and what the watermarks say afterwards."""

from __future__ import annotations

import functools
import importlib.util
import json
import random
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from omsbridge import aws, config, state
from omsbridge.commerce.client import InputLimitError, InputLimits
from omsbridge.commerce.models import BulkStatus
from omsbridge.errors import PermanentError, RetryableError
from omsbridge.flows import stock_sync
from omsbridge.sterling.models import PromiseLine
from sandbox import moto_fixes
from sandbox.stack import LambdaContext
from tests.support import dlq_signing_secret

ROOT = Path(__file__).resolve().parents[2]
T1, T2, T3 = "2026-03-01T10:00:00Z", "2026-03-01T10:05:00Z", "2026-03-01T10:10:00Z"


def stamp(value: str) -> str:
    from omsbridge.timeutil import sortable

    return sortable(value)


class FakeCommerce:
    """Commerce's MSI source-item endpoints as the flow sees them through the client: every call
    recorded, MSI's validation (unknown SKU / source → 400 naming the item), Web API input limits
    (the client's ``InputLimitError``, the limit kept in ``limits``), scripted failures."""

    def __init__(self, skus: set[str], sources: set[str]) -> None:
        self.skus = skus
        self.sources = sources
        self.calls: list[tuple[str, Any]] = []
        self.failures: list[Exception] = []
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.bulks: dict[str, list[list[dict[str, Any]]]] = {}
        self.bulk_reads = 0
        self.limits = InputLimits()
        self.input_limits = InputLimits()

    def _check_length(self, items: list[Any], route: str) -> None:
        limit = getattr(self.input_limits, route)
        if limit is not None and len(items) > limit:
            setattr(self.limits, route, limit)
            raise InputLimitError(f'Maximum items of type "SourceItemInterface" is {limit}', limit=limit,
                                  system="commerce", status=400, code="input_limit")

    def _problems(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        found = []
        for index, item in enumerate(items):
            if item["sku"] not in self.skus:
                found.append({"message": 'Product with SKU "%sku" does not exist (source item %index).',
                              "parameters": {"sku": item["sku"], "index": index}})
            if item["source_code"] not in self.sources:
                found.append({"message": 'Source with code "%code" does not exist (source item %index).',
                              "parameters": {"code": item["source_code"], "index": index}})
        return found

    def close(self) -> None:
        """The real client closes its connection pool when the container's clients are forgotten."""

    def upsert_source_items(self, items: list[dict[str, Any]]) -> None:
        body = {"sourceItems": [dict(item) for item in items]}
        self.calls.append(("POST /V1/inventory/source-items", body))
        if self.failures:
            raise self.failures.pop(0)
        self._check_length(body["sourceItems"], "sync")
        problems = self._problems(body["sourceItems"])
        if problems:
            raise PermanentError("commerce POST /V1/inventory/source-items answered 400: Validation Failed",
                                 system="commerce", status=400,
                                 body={"message": "Validation Failed", "errors": problems})
        for item in body["sourceItems"]:
            self.items[(item["sku"], item["source_code"])] = item

    def bulk_upsert_source_items(self, chunks: list[list[dict[str, Any]]]) -> str:
        body = [{"sourceItems": [dict(item) for item in chunk]} for chunk in chunks]
        self.calls.append(("POST /async/bulk/V1/inventory/source-items", body))
        for entry in body:
            self._check_length(entry["sourceItems"], "bulk")
        uuid = f"bulk-{len(self.bulks) + 1}"
        self.bulks[uuid] = [entry["sourceItems"] for entry in body]
        return uuid

    def bulk_status(self, bulk_uuid: str) -> BulkStatus:
        self.calls.append(("GET /V1/bulk/status", bulk_uuid))
        self.bulk_reads += 1
        operations = []
        for index, items in enumerate(self.bulks[bulk_uuid]):
            # Open on the first read, then done, as a consumer that runs between two polls.
            if self.bulk_reads == 1:
                status = 4
            elif self._problems(items):
                status = 3
            else:
                status = 1
                for item in items:
                    self.items[(item["sku"], item["source_code"])] = item
            operations.append({"id": 100 + index, "status": status, "result_message": "", "error_code": None})
        return BulkStatus.model_validate({"bulk_id": bulk_uuid, "operation_count": len(operations),
                                          "operations_list": operations})

    def search_source_items(self, filters: Any) -> list[dict[str, Any]]:
        self.calls.append(("GET /V1/inventory/source-items", [f.value for f in filters]))
        wanted = set(filters[0].value)
        return [dict(item) for item in self.items.values() if item["source_code"] in wanted]

    def posted(self) -> list[Any]:
        return [body for call, body in self.calls if call == "POST /V1/inventory/source-items"]


class FakeSterling:
    def __init__(self, availability: dict[tuple[str, str], str]) -> None:
        self.availability = availability
        self.calls: list[tuple[list[str], list[str]]] = []

    def get_available_inventory(self, lines: list[str], nodes: list[str]) -> list[PromiseLine]:
        self.calls.append((list(lines), list(nodes)))
        answer = []
        for number, sku in enumerate(lines, start=1):
            inventory = [{"Node": node, "AvailableOnhandQuantity": self.availability[(sku, node)]}
                         for node in nodes if (sku, node) in self.availability]
            answer.append(PromiseLine.model_validate({
                "ItemID": sku, "LineId": str(number),
                "Availability": {"AvailableInventory": {"ShipNodeAvailableInventory": {"Inventory": inventory}}}}))
        return answer


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    for key, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "t",
                       "AWS_SECRET_ACCESS_KEY": "t"}.items():
        monkeypatch.setenv(key, value)
    moto_fixes.install()
    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName="state", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}])
        dlq = boto3.client("sqs").create_queue(QueueName="stock-dlq")["QueueUrl"]
        values = {"STATE_TABLE": "state", "DLQ_URL": dlq, **dlq_signing_secret(),
                  "POWERTOOLS_METRICS_NAMESPACE": "OmsBridge", "STOCK_SYNC_CHUNK_SIZE": "200",
                  "STOCK_SYNC_BULK_THRESHOLD": "5000"}
        for key, value in values.items():
            monkeypatch.setenv(key, value)
        config.reset()
        yield values
        config.reset()


@pytest.fixture
def shop(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> FakeCommerce:
    fake = FakeCommerce({"SKU-1", "SKU-2", "SKU-3"}, {"store_1", "store_2", "dc_1"})
    # Cached like the real factory, so config.reset() can forget it the same way.
    monkeypatch.setattr(stock_sync.commerce, "client", functools.cache(lambda: fake))
    return fake


def rtam(sku: str, when: str, **nodes: str) -> dict[str, Any]:
    changes = [{"Node": node, "OnhandAvailableQuantity": qty} for node, qty in nodes.items()]
    return {"id": f"{sku}-{when}", "time": when,
            "data": {"ItemID": sku, "UnitOfMeasure": "EACH", "AvailabilityChanges": {"AvailabilityChange": changes}}}


def iv(sku: str, node: str, qty: float, when: str) -> dict[str, Any]:
    return {"id": f"iv-{sku}-{node}-{when}", "time": when, "data": {
        "type": "productAvailability.v2", "id": "iv-1", "time": when, "specversion": "1.0",
        "data": {"productId": sku, "shipNode": node, "unitOfMeasure": "EACH", "deliveryMethod": "SHP",
                 "computeTs": when, "currentAvailability": {"availableQuantity": qty, "fulfillmentAllowed": True}}}}


def record(message_id: str, detail: dict[str, Any], detail_type: str = "inventory.changed") -> dict[str, Any]:
    event = {"version": "0", "id": f"ev-{message_id}", "detail-type": detail_type, "source": "ibm.sterling",
             "account": "123456789012", "time": detail["time"], "region": "us-east-1", "resources": [],
             "detail": detail}
    return {"messageId": message_id, "receiptHandle": f"rh-{message_id}", "body": json.dumps(event),
            "attributes": {}, "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:stock", "awsRegion": "us-east-1"}


def mark(sku: str, source: str) -> str | None:
    return state.read_watermark(f"stock#{sku}#{source}")


def parked(env: dict[str, str]) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=env["DLQ_URL"], MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def test_rtam_and_iv_messages_become_one_call_with_the_newest_value_per_item(shop: FakeCommerce) -> None:
    result = stock_sync.sync_batch([
        record("m1", rtam("SKU-1", T1, store_1="5.00", store_2="0.00")),
        record("m2", iv("SKU-2", "dc_1", 12.0, T1)),
        record("m3", rtam("SKU-1", T2, store_1="3.00")),
        record("m4", rtam("SKU-1", T1, store_1="5.00", store_2="0.00")),
    ])
    assert shop.posted() == [{"sourceItems": [
        {"sku": "SKU-1", "source_code": "store_1", "quantity": 3, "status": 1},
        {"sku": "SKU-1", "source_code": "store_2", "quantity": 0, "status": 0},
        {"sku": "SKU-2", "source_code": "dc_1", "quantity": 12, "status": 1},
    ]}]
    assert result.failed == set()
    # SKU-1/store_1: T2 wins over two T1 rows (stale); SKU-1/store_2: m4 repeats m1 (duplicate).
    assert result.summary == {"messages": 4, "rows": 6, "processed": 3, "stale": 2, "duplicate": 1,
                              "rejected": 0, "failed": 0}
    assert (mark("SKU-1", "store_1"), mark("SKU-1", "store_2"), mark("SKU-2", "dc_1")) == (
        stamp(T2), stamp(T1), stamp(T1))


def test_chunks_of_the_configured_size(shop: FakeCommerce, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOCK_SYNC_CHUNK_SIZE", "2")
    config.reset()
    stock_sync.sync_batch([
        record("m1", rtam("SKU-1", T1, store_1="1", store_2="2", dc_1="3")),
        record("m2", rtam("SKU-2", T1, store_1="4", store_2="5")),
    ])
    assert shop.posted() == [
        {"sourceItems": [{"sku": "SKU-1", "source_code": "store_1", "quantity": 1, "status": 1},
                         {"sku": "SKU-1", "source_code": "store_2", "quantity": 2, "status": 1}]},
        {"sourceItems": [{"sku": "SKU-1", "source_code": "dc_1", "quantity": 3, "status": 1},
                         {"sku": "SKU-2", "source_code": "store_1", "quantity": 4, "status": 1}]},
        {"sourceItems": [{"sku": "SKU-2", "source_code": "store_2", "quantity": 5, "status": 1}]},
    ]


def test_an_older_or_repeated_event_never_reaches_commerce(shop: FakeCommerce) -> None:
    stock_sync.sync_batch([record("m1", rtam("SKU-1", T2, store_1="7"))])
    result = stock_sync.sync_batch([
        record("m2", rtam("SKU-1", T1, store_1="99")),
        record("m3", rtam("SKU-1", T2, store_1="7")),
    ])
    assert shop.posted() == [{"sourceItems": [{"sku": "SKU-1", "source_code": "store_1", "quantity": 7,
                                               "status": 1}]}]
    assert result.failed == set()
    # m2 loses to m3 within the batch; m3 equals what the watermark already holds.
    assert (result.summary["stale"], result.summary["duplicate"]) == (1, 1)
    stock_sync.sync_batch([record("m4", rtam("SKU-1", T1, store_1="99"))])
    assert len(shop.posted()) == 1
    assert mark("SKU-1", "store_1") == stamp(T2)
    assert shop.items[("SKU-1", "store_1")]["quantity"] == 7


def test_only_messages_whose_rows_failed_are_retried_and_their_retry_is_not_stale(
    shop: FakeCommerce, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STOCK_SYNC_CHUNK_SIZE", "2")
    config.reset()
    shop.failures = [RetryableError("commerce answered 503", system="commerce", status=503)]
    batch = [
        record("m1", rtam("SKU-1", T1, store_1="1", store_2="2")),
        record("m2", rtam("SKU-2", T1, store_1="3")),
        record("m3", rtam("SKU-3", T1, store_1="4")),
    ]
    result = stock_sync.sync_batch(batch)
    # The first chunk (m1's rows) hit the 503; the second (m2, m3) went through.
    assert result.failed == {"m1"}
    assert mark("SKU-1", "store_1") is None
    assert mark("SKU-2", "store_1") == stamp(T1)
    retry = stock_sync.sync_batch([batch[0]])
    assert retry.failed == set()
    assert shop.posted()[-1] == {"sourceItems": [
        {"sku": "SKU-1", "source_code": "store_1", "quantity": 1, "status": 1},
        {"sku": "SKU-1", "source_code": "store_2", "quantity": 2, "status": 1}]}
    assert mark("SKU-1", "store_1") == stamp(T1)


def test_an_unknown_sku_is_dropped_reported_and_the_rest_resent(shop: FakeCommerce, env: dict[str, str]) -> None:
    result = stock_sync.sync_batch([
        record("m1", rtam("SKU-1", T1, store_1="1")),
        record("m2", rtam("NOPE", T1, store_1="2", store_2="3")),
        record("m3", rtam("SKU-2", T1, store_1="4")),
    ])
    assert shop.posted() == [
        {"sourceItems": [{"sku": "SKU-1", "source_code": "store_1", "quantity": 1, "status": 1},
                         {"sku": "NOPE", "source_code": "store_1", "quantity": 2, "status": 1},
                         {"sku": "NOPE", "source_code": "store_2", "quantity": 3, "status": 1},
                         {"sku": "SKU-2", "source_code": "store_1", "quantity": 4, "status": 1}]},
        {"sourceItems": [{"sku": "SKU-1", "source_code": "store_1", "quantity": 1, "status": 1},
                         {"sku": "SKU-2", "source_code": "store_1", "quantity": 4, "status": 1}]},
    ]
    assert result.failed == set()
    records = parked(env)
    assert [(r["flow"], r["event"]["id"], r["reason"]["code"], r["reason"]["status"]) for r in records] == [
        ("stock_sync", "ev-m2", "source_item_rejected", 400)]
    assert records[0]["reason"]["reason"] == (
        "Commerce rejected source items: "
        'NOPE at store_1: Product with SKU "NOPE" does not exist (source item 1).; '
        'NOPE at store_2: Product with SKU "NOPE" does not exist (source item 2).')
    assert mark("NOPE", "store_1") is None
    assert mark("SKU-2", "store_1") == stamp(T1)


def test_a_rejection_naming_no_item_is_narrowed_down_by_halves(shop: FakeCommerce, env: dict[str, str]) -> None:
    vague = PermanentError("commerce answered 400: Could not save Source Item", system="commerce", status=400,
                           body={"message": "Could not save Source Item"})
    shop.failures = [vague, vague, vague]
    result = stock_sync.sync_batch([record("m1", rtam("SKU-1", T1, store_1="1", store_2="2", dc_1="3")),
                                    record("m2", rtam("SKU-2", T1, store_1="4"))])
    # [a b c d] 400 → [a b] 400 → [a] 400 (parked) → [b] ok → [c d] ok
    assert [len(body["sourceItems"]) for body in shop.posted()] == [4, 2, 1, 1, 2]
    assert result.failed == set()
    assert [r["reason"]["reason"] for r in parked(env)] == [
        "Commerce rejected source items: SKU-1 at store_1: commerce answered 400: Could not save Source Item"]


def test_a_malformed_message_is_parked_alone(shop: FakeCommerce, env: dict[str, str]) -> None:
    broken = record("m1", rtam("SKU-1", T1, store_1="1"))
    broken["body"] = "{not json"
    other = record("m2", {"id": "x", "time": T1, "data": {"Order": {}}})
    result = stock_sync.sync_batch([broken, other, record("m3", rtam("SKU-2", T1, store_1="4"))])
    assert result.failed == set()
    assert [r["reason"]["reason"] for r in parked(env)] == [
        "message m1 body is not JSON",
        "inventory event is neither an RTAM InventoryItem nor a productAvailability.v2 event",
    ]
    assert len(shop.posted()) == 1


@pytest.mark.parametrize("concurrent", [T3, T1], ids=["newer-write-meanwhile", "older-write-meanwhile"])
def test_a_row_whose_watermark_moved_meanwhile_is_repaired_from_sterling(
    shop: FakeCommerce, monkeypatch: pytest.MonkeyPatch, concurrent: str,
) -> None:
    sterling = FakeSterling({("SKU-1", "store_1"): "8.00"})
    monkeypatch.setattr(stock_sync.sterling, "client", lambda: sterling)
    real_write = shop.upsert_source_items

    def concurrent_newer_write(items: list[dict[str, Any]]) -> None:
        real_write(items)
        # Another invocation applies its event between our read and our watermark write: either
        # way Commerce may now hold the older value.
        state.advance_watermark("stock#SKU-1#store_1", stamp(concurrent))

    monkeypatch.setattr(shop, "upsert_source_items", concurrent_newer_write)
    result = stock_sync.sync_batch([record("m1", rtam("SKU-1", T2, store_1="1"))])
    assert result.failed == set()
    assert sterling.calls == [(["SKU-1"], ["store_1"])]
    assert shop.posted()[-1] == {"sourceItems": [{"sku": "SKU-1", "source_code": "store_1", "quantity": 8,
                                                  "status": 1}]}
    # The repair is stamped with the time Sterling was asked, after both events.
    assert mark("SKU-1", "store_1") > stamp(T3)  # type: ignore[operator]


def test_a_large_load_goes_through_the_bulk_endpoint(shop: FakeCommerce, monkeypatch: pytest.MonkeyPatch,
                                                     env: dict[str, str]) -> None:
    monkeypatch.setenv("STOCK_SYNC_CHUNK_SIZE", "2")
    monkeypatch.setenv("STOCK_SYNC_BULK_THRESHOLD", "3")
    monkeypatch.setenv("STOCK_SYNC_BULK_POLL_SECONDS", "0.01")
    config.reset()
    result = stock_sync.sync_batch([
        record("m1", rtam("SKU-1", T1, store_1="1", store_2="2")),
        record("m2", rtam("NOPE", T1, store_1="3")),
        record("m3", rtam("SKU-2", T1, store_1="4")),
    ])
    assert [call for call, _ in shop.calls] == [
        "POST /async/bulk/V1/inventory/source-items", "GET /V1/bulk/status", "GET /V1/bulk/status",
        "POST /V1/inventory/source-items", "POST /V1/inventory/source-items"]
    assert shop.calls[0][1] == [
        {"sourceItems": [{"sku": "SKU-1", "source_code": "store_1", "quantity": 1, "status": 1},
                         {"sku": "SKU-1", "source_code": "store_2", "quantity": 2, "status": 1}]},
        {"sourceItems": [{"sku": "NOPE", "source_code": "store_1", "quantity": 3, "status": 1},
                         {"sku": "SKU-2", "source_code": "store_1", "quantity": 4, "status": 1}]},
    ]
    # The failed operation is resent synchronously, which names the bad item.
    assert shop.posted()[-1] == {"sourceItems": [{"sku": "SKU-2", "source_code": "store_1", "quantity": 4,
                                                  "status": 1}]}
    assert result.failed == set()
    assert [r["event"]["id"] for r in parked(env)] == ["ev-m2"]
    assert (mark("SKU-1", "store_2"), mark("SKU-2", "store_1"), mark("NOPE", "store_1")) == (
        stamp(T1), stamp(T1), None)


def _handler() -> Any:
    spec = importlib.util.spec_from_file_location("stock_sync_app", ROOT / "functions/stock_sync/app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.handler


def test_the_handler_reports_exactly_the_failed_messages(shop: FakeCommerce) -> None:
    shop.failures = [RetryableError("commerce answered 503", system="commerce", status=503)]
    event = {"Records": [record("m1", rtam("SKU-1", T1, store_1="1")), record("m2", rtam("SKU-2", T1, store_1="2"))]}
    assert _handler()(event, LambdaContext("StockSyncFunction")) == {
        "batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]}
    assert _handler()(event, LambdaContext("StockSyncFunction")) == {"batchItemFailures": []}


def test_watermarks_are_read_in_batches_and_advanced_only_where_unchanged(env: dict[str, str]) -> None:
    keys = [f"stock#SKU-{n}#store_1" for n in range(250)]  # three BatchGetItem pages
    for pk in keys[:200]:
        state.advance_watermark(pk, stamp(T1))
    seen = state.read_watermarks([*keys, keys[0]])
    assert seen == {pk: stamp(T1) for pk in keys[:200]}
    # Meanwhile another invocation moves one existing and creates one absent watermark.
    state.advance_watermark(keys[5], stamp(T3))
    state.advance_watermark(keys[220], stamp(T1))
    behind = state.advance_watermarks({pk: stamp(T2) for pk in keys}, seen)
    assert behind == {keys[5], keys[220]}
    assert state.read_watermarks(keys) == {
        **{pk: stamp(T2) for pk in keys}, keys[5]: stamp(T3), keys[220]: stamp(T1)}


def test_bulk_operations_longer_than_the_async_input_limit_are_cut_to_it(
    shop: FakeCommerce, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STOCK_SYNC_BULK_THRESHOLD", "2")
    monkeypatch.setenv("STOCK_SYNC_BULK_POLL_SECONDS", "0.01")
    config.reset()
    shop.input_limits = InputLimits(bulk=2)
    result = stock_sync.sync_batch([record("m1", rtam("SKU-1", T1, store_1="1", store_2="2", dc_1="3"))])
    items = [{"sku": "SKU-1", "source_code": code, "quantity": qty, "status": 1}
             for code, qty in (("store_1", 1), ("store_2", 2), ("dc_1", 3))]
    bulk_posts = [body for call, body in shop.calls if call == "POST /async/bulk/V1/inventory/source-items"]
    assert bulk_posts == [[{"sourceItems": items}], [{"sourceItems": items[:2]}, {"sourceItems": items[2:]}]]
    assert result.failed == set()
    assert shop.limits == InputLimits(bulk=2)
    assert {key: item["quantity"] for key, item in shop.items.items()} == {
        ("SKU-1", "store_1"): 1, ("SKU-1", "store_2"): 2, ("SKU-1", "dc_1"): 3}


def test_watermarks_cost_one_batched_read_and_one_transaction_per_hundred_rows(shop: FakeCommerce) -> None:
    shop.skus |= {f"SKU-{n}" for n in range(250)}
    calls: list[str] = []
    aws.client("dynamodb").meta.events.register(
        "before-call.dynamodb", lambda model, **_: calls.append(model.name))
    batch = [record(f"m{n}", rtam(f"SKU-{n}", T1, store_1=str(n))) for n in range(250)]
    assert stock_sync.sync_batch(batch).summary["processed"] == 250
    assert sorted(calls) == ["BatchGetItem"] * 3 + ["TransactWriteItems"] * 3
    calls.clear()
    # Delivered again: every row is a duplicate, so nothing is written at all.
    assert stock_sync.sync_batch(batch).summary["duplicate"] == 250
    assert calls == ["BatchGetItem"] * 3
    assert len(shop.posted()) == 2


class Flaky(FakeCommerce):
    """Commerce that answers some calls 503 without applying them, and logs every value it applied."""

    def __init__(self, seed: int) -> None:
        super().__init__({"SKU-1", "SKU-2", "SKU-3"}, {"store_1", "store_2"})
        self.random = random.Random(seed)
        self.applied: dict[tuple[str, str], list[int]] = defaultdict(list)

    def upsert_source_items(self, items: list[dict[str, Any]]) -> None:
        if self.random.random() < 0.3:
            self.calls.append(("POST /V1/inventory/source-items", {"sourceItems": items}))
            raise RetryableError("commerce answered 503", system="commerce", status=503)
        super().upsert_source_items(items)
        for item in items:
            self.applied[(item["sku"], item["source_code"])].append(item["quantity"])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_under_duplicates_reordering_and_failures_commerce_only_moves_forward(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, seed: int,
) -> None:
    """Events numbered in Sterling time order carry their number as the quantity; they arrive
    duplicated and shuffled, in batches; a third of Commerce's calls fail unapplied, and Commerce
    refuses the items of a SKU it does not have while it takes the rest of the list. Failed
    messages come back in a later batch, as SQS redelivers them."""
    monkeypatch.setenv("STOCK_SYNC_CHUNK_SIZE", "3")
    config.reset()
    shop = Flaky(seed)
    monkeypatch.setattr(stock_sync.commerce, "client", functools.cache(lambda: shop))
    rng = random.Random(seed)
    keys = [("SKU-1", "store_1"), ("SKU-1", "store_2"), ("SKU-2", "store_1"), ("SKU-3", "store_2"),
            ("NOPE", "store_1")]
    events = []
    for number in range(1, 61):
        sku, source = rng.choice(keys)
        when = f"2026-03-01T10:{number // 60:02d}:{number % 60:02d}Z"
        events.append(record(f"m{number}", rtam(sku, when, **{source: str(number)})))
    queue = events + rng.sample(events, 20)
    rng.shuffle(queue)
    while queue:
        batch, queue = queue[:7], queue[7:]
        result = stock_sync.sync_batch(batch)
        queue += [message for message in batch if message["messageId"] in result.failed]
        # The watermark of every item is the stamp of exactly the value Commerce holds.
        for sku, source in keys:
            held = shop.items.get((sku, source))
            number = int(held["quantity"]) if held else None
            expected = None if number is None else stamp(f"2026-03-01T10:{number // 60:02d}:{number % 60:02d}Z")
            assert mark(sku, source) == expected
    newest = {}
    for message in events:
        detail = json.loads(message["body"])["detail"]
        change = detail["data"]["AvailabilityChanges"]["AvailabilityChange"][0]
        newest[(detail["data"]["ItemID"], change["Node"])] = int(change["OnhandAvailableQuantity"])
    assert ("NOPE", "store_1") in newest
    del newest[("NOPE", "store_1")]
    assert {key: item["quantity"] for key, item in shop.items.items()} == newest
    assert {record["event"]["detail"]["data"]["ItemID"] for record in parked(env)} == {"NOPE"}
    # Never a stale value: what each item was given only ever grew (a repeat is a retried message).
    assert all(values == sorted(values) for values in shop.applied.values())
    assert any(call for call in shop.calls if call[0].startswith("POST")), "the run must have reached Commerce"


def test_the_sandboxs_moto_keeps_a_cancelled_transaction_all_or_nothing(env: dict[str, str]) -> None:
    """sandbox/moto_fixes.py restores only the items a transaction touched: still nothing of a
    cancelled transaction stays, Puts and Updates alike."""
    client = boto3.client("dynamodb")

    def item(pk: str) -> dict[str, Any]:
        return {"pk": {"S": pk}, "sk": {"S": "watermark"}}

    client.put_item(TableName="state", Item={**item("a"), "stamp": {"S": "1"}})
    client.put_item(TableName="state", Item={**item("b"), "stamp": {"S": "2"}})
    with pytest.raises(client.exceptions.TransactionCanceledException) as caught:
        client.transact_write_items(TransactItems=[
            {"Update": {"TableName": "state", "Key": item("a"), "UpdateExpression": "SET stamp = :new",
                        "ExpressionAttributeValues": {":new": {"S": "9"}}}},
            {"Put": {"TableName": "state", "Item": {**item("c"), "stamp": {"S": "9"}}}},
            {"Put": {"TableName": "state", "Item": {**item("b"), "stamp": {"S": "9"}},
                     "ConditionExpression": "stamp = :seen", "ExpressionAttributeValues": {":seen": {"S": "1"}}}},
        ])
    assert [reason["Code"] for reason in caught.value.response["CancellationReasons"]] == [
        "None", "None", "ConditionalCheckFailed"]
    assert state.read_watermarks(["a", "b", "c"]) == {"a": "1", "b": "2"}
