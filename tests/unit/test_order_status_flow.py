"""The order status flow's decisions (what changed, exactly once, stale, echo tagging, retry and
park), against moto DynamoDB and a fake Commerce order that keeps Commerce's hold/cancel rules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from omsbridge import config, state
from omsbridge.errors import PermanentError, RetryableError
from omsbridge.events import EventBridgeEvent
from omsbridge.flows import order_status
from omsbridge.http import AmbiguousCallError
from omsbridge.runtime import eventbridge_flow
from omsbridge.state import OrderRef
from sandbox.stack import LambdaContext
from tests.support import dlq_signing_secret

ORDER_NO = "000000101"
M = "[oms-bridge]"


class FakeCommerce:
    """One Commerce order; records calls; refuses what Commerce refuses."""

    def __init__(self) -> None:
        self.order: dict[str, Any] | None = {"entity_id": 7, "increment_id": ORDER_NO, "state": "processing",
                                             "status": "processing", "status_histories": []}
        self.calls: list[tuple[Any, ...]] = []
        self.synced_at_call: list[str | None] = []
        self.comment_errors: list[Exception] = []

    def find_order_entity_id(self, increment_id: str) -> int | None:
        self.calls.append(("find", increment_id))
        return self.order["entity_id"] if self.order else None

    def get_order(self, entity_id: int) -> dict[str, Any]:
        self.calls.append(("get", entity_id))
        assert self.order is not None
        return self.order

    def _state_change(self, name: str, allowed: bool, state_: str) -> bool:
        ref = state.get_order(ORDER_NO)
        self.synced_at_call.append(ref.synced_state if ref else None)
        self.calls.append((name, 7))
        assert self.order is not None
        if not allowed:
            raise PermanentError(f"commerce POST /orders/7/{name} answered 400", status=400)
        if name == "hold":
            self.order.update(hold_before_state=self.order["state"], hold_before_status=self.order["status"])
        self.order.update(state=state_, status=state_)
        return True

    def hold(self, entity_id: int) -> bool:
        assert self.order is not None
        return self._state_change("hold", self.order["state"] in ("new", "processing"), "holded")

    def unhold(self, entity_id: int) -> bool:
        assert self.order is not None
        return self._state_change("unhold", self.order["state"] == "holded",
                                  self.order.get("hold_before_state") or "processing")

    def cancel(self, entity_id: int) -> bool:
        assert self.order is not None
        self.calls.append(("cancel", entity_id))
        if self.order["state"] != "processing" or self.order.get("invoiced"):
            return False
        self.order.update(state="canceled", status="canceled")
        return True

    def add_order_comment(self, entity_id: int, comment: str, status: str | None = None) -> bool:
        assert self.order is not None
        history = self.order["status_histories"]
        history.append({"entity_id": len(history) + 1, "comment": comment, "status": status,
                        "created_at": "2024-05-02 10:00:00"})
        self.order["status"] = status
        self.calls.append(("comment", comment, status))
        if self.comment_errors:
            raise self.comment_errors.pop(0)
        return True

    def writes(self) -> list[tuple[Any, ...]]:
        return [call for call in self.calls if call[0] not in ("find", "get")]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for key, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "t",
                       "AWS_SECRET_ACCESS_KEY": "t"}.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(
            TableName="state", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}])
        dynamodb.create_table(
            TableName="idem", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
        dlq = boto3.client("sqs").create_queue(QueueName="dlq")["QueueUrl"]
        for key, value in {"STATE_TABLE": "state", "IDEMPOTENCY_TABLE": "idem", "DLQ_URL": dlq, **dlq_signing_secret(),
                           "STERLING_ENTERPRISE_CODE": "DEFAULT",
                           "POWERTOOLS_METRICS_NAMESPACE": "OmsBridge"}.items():
            monkeypatch.setenv(key, value)
        config.reset()
        yield dlq
        config.reset()


@pytest.fixture
def commerce(aws: str, monkeypatch: pytest.MonkeyPatch) -> FakeCommerce:
    fake = FakeCommerce()
    monkeypatch.setattr(order_status, "_commerce", lambda enterprise_code="": fake)
    return fake


def doc(code: str = "1500", *, holds: tuple[tuple[str, str], ...] = (),
        cancelled: tuple[int, ...] = ()) -> dict[str, Any]:
    lines = [{"PrimeLineNo": str(n), "SubLineNo": "1", "MinLineStatus": "9000" if n in cancelled else code,
              "OrderedQty": "0.00" if n in cancelled else "1.00", "ShipNode": "DC_EAST",
              "Item": {"ItemID": f"SKU-{n}"}} for n in (1, 2)]
    return {"OrderNo": ORDER_NO, "EnterpriseCode": "DEFAULT",
            "HoldFlag": "Y" if any(s == "1100" for _, s in holds) else "N",
            "OrderHoldTypes": {"OrderHoldType": [{"HoldType": h, "Status": s} for h, s in holds]},
            "OrderLines": {"OrderLine": lines}}


def event(data: dict[str, Any], time: str, detail_type: str = "order.changed") -> dict[str, Any]:
    return {"version": "0", "id": f"bus-{time}", "detail-type": detail_type, "source": "ibm.sterling",
            "account": "123456789012", "time": time, "region": "us-east-1", "resources": [],
            "detail": {"id": f"sterling-{time}", "time": time, "data": data}}


def run(data: dict[str, Any], time: str, detail_type: str = "order.changed") -> dict[str, Any]:
    return order_status.handle(EventBridgeEvent.model_validate(event(data, time, detail_type)))


def handler(raw: dict[str, Any]) -> dict[str, Any]:
    wrapped = eventbridge_flow("order_status")(order_status.handle)
    return wrapped(raw, LambdaContext("OrderStatusFunction"))


def dlq_bodies(queue_url: str) -> list[dict[str, Any]]:
    import json

    messages = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_a_change_is_written_once_and_remembered(commerce: FakeCommerce) -> None:
    first = run(doc("1500"), "2024-05-02T10:00:00Z")
    assert first == {"order_no": ORDER_NO, "sterling_status": "1500", "status": "processed", "entity_id": 7,
                     "actions": [], "comment": f"{M} Scheduled in Sterling (1500)", "commerce_status": "processing"}
    assert commerce.calls == [("find", ORDER_NO), ("get", 7),
                              ("comment", f"{M} Scheduled in Sterling (1500)", "processing")]
    ref = state.get_order(ORDER_NO)
    assert ref is not None
    assert (ref.entity_id, ref.sterling_status) == (7, {"status": "1500", "held": False, "holds": [],
                                                        "cancelled": [], "release": ""})
    again = run(doc("1500"), "2024-05-02T10:00:00Z")
    twin = run(doc("1500"), "2024-05-02T10:00:03Z", "order.hold_changed")
    assert again["status"] == twin["status"] == "duplicate"
    assert len(commerce.writes()) == 1


def test_a_stale_event_changes_nothing(commerce: FakeCommerce) -> None:
    run(doc("3200"), "2024-05-02T10:10:00Z", "order.released")
    before = list(commerce.calls)
    assert run(doc("1500"), "2024-05-02T10:05:00Z")["status"] == "stale"
    assert commerce.calls == before
    assert state.get_order(ORDER_NO).sterling_status["status"] == "3200"  # type: ignore[union-attr]


def test_same_second_changes_both_apply(commerce: FakeCommerce) -> None:
    run(doc("1500"), "2024-05-02T10:00:00Z")
    run(doc("1500", holds=(("FRAUD", "1100"),)), "2024-05-02T10:00:00Z", "order.hold_changed")
    assert commerce.writes()[-2:] == [("hold", 7), ("comment", f"{M} On hold in Sterling: FRAUD", "holded")]


def test_hold_resolve_and_hold_again_at_one_status_all_apply(commerce: FakeCommerce) -> None:
    run(doc("1500"), "2024-05-02T10:00:00Z")
    run(doc("1500", holds=(("FRAUD", "1100"),)), "2024-05-02T10:01:00Z", "order.hold_changed")
    run(doc("1500", holds=(("FRAUD", "1300"),)), "2024-05-02T10:02:00Z", "order.hold_changed")
    run(doc("1500", holds=(("FRAUD", "1100"),)), "2024-05-02T10:03:00Z", "order.hold_changed")
    assert commerce.writes() == [
        ("comment", f"{M} Scheduled in Sterling (1500)", "processing"),
        ("hold", 7), ("comment", f"{M} On hold in Sterling: FRAUD", "holded"),
        ("unhold", 7), ("comment", f"{M} Hold resolved in Sterling: FRAUD", "processing"),
        ("hold", 7), ("comment", f"{M} On hold in Sterling: FRAUD", "holded"),
    ]
    # The export flow must see each state as our own echo before Commerce raises it.
    assert commerce.synced_at_call == ["holded", "processing", "holded"]


def test_a_comment_that_may_have_gone_through_is_not_written_twice(commerce: FakeCommerce) -> None:
    commerce.comment_errors.append(AmbiguousCallError("commerce timed out: ReadTimeout", system="commerce"))
    with pytest.raises(RetryableError):
        run(doc("1500"), "2024-05-02T10:00:00Z")
    result = run(doc("1500"), "2024-05-02T10:00:00Z")
    assert result["status"] == "duplicate"
    assert [c for c in commerce.writes() if c[0] == "comment"] == [
        ("comment", f"{M} Scheduled in Sterling (1500)", "processing")]
    assert state.get_order(ORDER_NO).sterling_status["status"] == "1500"  # type: ignore[union-attr]


def test_known_entity_id_skips_the_search(commerce: FakeCommerce) -> None:
    state.put_order(OrderRef(increment_id=ORDER_NO, order_no=ORDER_NO, enterprise_code="DEFAULT", entity_id=7,
                             synced_state="processing", commerce_state="processing"))
    run(doc("1500", cancelled=(2,)), "2024-05-02T10:00:00Z", "order.cancelled")
    assert commerce.calls == [("get", 7), ("comment", f"{M} Lines cancelled in Sterling: line 2 SKU-2", "processing")]
    ref = state.get_order(ORDER_NO)
    assert ref is not None
    assert (ref.synced_state, ref.commerce_state) == ("processing", "processing")


def test_a_missing_commerce_order_is_retried(commerce: FakeCommerce) -> None:
    commerce.order = None
    with pytest.raises(RetryableError) as caught:
        handler(event(doc("1500"), "2024-05-02T10:00:00Z"))
    assert (caught.value.reason, caught.value.code) == (f"Commerce order {ORDER_NO} does not exist yet",
                                                        "order_not_found")
    assert state.get_order(ORDER_NO) is None


def test_a_cancel_commerce_refuses_is_parked_with_the_reason(commerce: FakeCommerce, aws: str) -> None:
    assert commerce.order is not None
    commerce.order["invoiced"] = True
    raw = event(doc("1500", cancelled=(1, 2)), "2024-05-02T10:00:00Z", "order.cancelled")
    result = handler(raw)
    reason = f"Commerce refused to cancel order {ORDER_NO} (state processing)"
    assert result == {"status": "parked", "reason": reason}
    [record] = dlq_bodies(aws)
    assert record["reason"]["reason"] == reason
    assert record["event"] == raw


@pytest.mark.parametrize(("raw", "reason"), [
    pytest.param(event({"Status": "1500"}, "2024-05-02T10:00:00Z"),
                 "Sterling order.changed document names no OrderNo", id="no-order-no"),
    pytest.param({**event(doc(), "2024-05-02T10:00:00Z"), "detail-type": "shipment.shipped"},
                 "not a Sterling order event: ibm.sterling shipment.shipped", id="not-an-order-event"),
])
def test_bad_events_are_parked(commerce: FakeCommerce, aws: str, raw: dict[str, Any], reason: str) -> None:
    assert handler(raw) == {"status": "parked", "reason": reason}
    assert commerce.calls == []
    assert [r["reason"]["reason"] for r in dlq_bodies(aws)] == [reason]


@pytest.fixture
def dynamodb_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every DynamoDB call the flow makes: (operation, the key's sk or the idempotency record)."""
    import botocore.client

    calls: list[tuple[str, str]] = []
    make = botocore.client.BaseClient._make_api_call

    def recorded(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if client.meta.service_model.service_name == "dynamodb":
            key = params.get("Key") or params.get("Item") or {}
            sk = key.get("sk")
            calls.append((operation, (sk.get("S") if isinstance(sk, dict) else sk) or "idempotency"))
        return make(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recorded)
    return calls


def test_a_change_reads_the_map_before_and_after_applying_it_only(
        commerce: FakeCommerce, dynamodb_calls: list[tuple[str, str]]) -> None:
    run(doc("1500"), "2024-05-02T10:00:00Z")
    assert dynamodb_calls == [
        ("GetItem", "watermark#order_status"), ("GetItem", "map"),
        ("PutItem", "idempotency"), ("UpdateItem", "idempotency"),
        ("GetItem", "map"), ("PutItem", "map"),  # remembering what Commerce now shows
        ("PutItem", "watermark#order_status"),
    ]
    dynamodb_calls.clear()
    run(doc("1500", holds=(("FRAUD", "1100"),)), "2024-05-02T10:01:00Z", "order.hold_changed")
    assert dynamodb_calls == [
        ("GetItem", "watermark#order_status"), ("GetItem", "map"),
        ("PutItem", "idempotency"),
        ("GetItem", "map"), ("PutItem", "map"),  # synced_state, right before the hold
        ("GetItem", "map"),  # the fake Commerce looking at what the export flow would see
        ("UpdateItem", "idempotency"),
        ("GetItem", "map"), ("PutItem", "map"),
        ("PutItem", "watermark#order_status"),
    ]


def test_a_map_the_export_flow_writes_meanwhile_is_kept(commerce: FakeCommerce) -> None:
    run(doc("1500"), "2024-05-02T10:00:00Z")
    read = commerce.get_order

    def export_flow_writes_meanwhile(entity_id: int) -> dict[str, Any]:
        ref = state.get_order(ORDER_NO)
        assert ref is not None
        ref.commerce_state = "processing"
        ref.hold_types = ["COMMERCE_HOLD"]
        state.put_order(ref)
        return read(entity_id)

    commerce.get_order = export_flow_writes_meanwhile  # type: ignore[method-assign]
    run(doc("1500", holds=(("FRAUD", "1100"),)), "2024-05-02T10:01:00Z", "order.hold_changed")
    ref = state.get_order(ORDER_NO)
    assert ref is not None
    assert (ref.synced_state, ref.commerce_state, ref.hold_types) == ("holded", "processing", ["COMMERCE_HOLD"])
