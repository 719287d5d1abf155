"""The order export flow's decisions (export once, follow Commerce-side changes, drop echoes and
stale events), against moto DynamoDB and a recording fake of the Sterling client."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from omsbridge import config, state
from omsbridge.errors import RetryableError
from omsbridge.events import ECHO_MARKER, EventBridgeEvent
from omsbridge.flows import order_export
from omsbridge.mapping import order as mapping
from omsbridge.runtime import eventbridge_flow
from omsbridge.sterling import NOT_MODIFIABLE, RECORD_EXISTS, SterlingError
from omsbridge.sterling.models import Order
from sandbox.stack import LambdaContext
from tests.support import dlq_signing_secret, foreign

SAVE = "com.adobe.commerce.observer.sales_order_save_commit_after"
PLACE = "com.adobe.commerce.observer.sales_order_place_after"
KEY = {"OrderNo": "000000617", "EnterpriseCode": "ACME", "DocumentType": "0001"}
HEADER_KEY = "20230816084521212298"


class FakeSterling:
    """Records what the flow sends; scripted errors are raised by the next calls."""

    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []
        self.changed: list[tuple[dict[str, Any], bool]] = []
        self.create_errors: list[Exception] = []
        self.change_errors: list[Exception] = []
        self.existing: Order | None = None
        # Hold type → status, as Sterling keeps them (a hold type it has not seen is applied).
        self.holds: dict[str, str] = {}
        self.hold_reads: list[str] = []

    def create_order(self, doc: dict[str, Any]) -> Order:
        if self.create_errors:
            raise self.create_errors.pop(0)
        self.created.append(copy.deepcopy(doc))
        self._hold(doc)
        return Order.model_validate({"OrderHeaderKey": HEADER_KEY, "OrderNo": doc["OrderNo"], "Status": "Created"})

    def change_order(self, doc: dict[str, Any], *, idempotent: bool = False) -> Order:
        if self.change_errors:
            raise self.change_errors.pop(0)
        self.changed.append((copy.deepcopy(doc), idempotent))
        self._hold(doc)
        return Order.model_validate({"OrderNo": doc["OrderNo"]})

    def get_order_holds(self, order_no: str, *, enterprise_code: str | None = None) -> Order:
        self.hold_reads.append(order_no)
        return Order.model_validate({"OrderNo": order_no, "OrderHoldTypes": {"OrderHoldType": [
            {"HoldType": hold_type, "Status": status} for hold_type, status in self.holds.items()]}})

    def _hold(self, doc: dict[str, Any]) -> None:
        for row in doc.get("OrderHoldTypes", {}).get("OrderHoldType", []):
            self.holds[row["HoldType"]] = row["Status"] if row["HoldType"] in self.holds else "1100"

    def find_order(self, order_no: str, *, enterprise_code: str | None = None) -> Order | None:
        return self.existing


class FakeCommerce:
    """Commerce's directory, as far as the fixture order (Gujarat, India) needs it."""

    def __init__(self) -> None:
        self.directory_reads: list[str] = []

    def region_codes(self, country_id: str) -> dict[str, str]:
        self.directory_reads.append(country_id)
        return {"Gujarat": "GJ", "Maharashtra": "MH"} if country_id == "IN" else {}


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
        env = {"STATE_TABLE": "state", "IDEMPOTENCY_TABLE": "idem", "DLQ_URL": dlq, **dlq_signing_secret(),
               "STERLING_ENTERPRISE_CODE": "ACME", "ORDER_HOLD_AMOUNT": "1000",
               "POWERTOOLS_METRICS_NAMESPACE": "OmsBridge"}
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        config.reset()
        yield dlq
        config.reset()


@pytest.fixture
def sterling(aws: str, monkeypatch: pytest.MonkeyPatch) -> FakeSterling:
    fake = FakeSterling()
    monkeypatch.setattr(order_export, "_sterling", lambda: fake)
    monkeypatch.setattr(order_export, "_commerce", FakeCommerce)
    return fake


def order(state_: str = "processing", updated_at: str = "2023-08-16 08:40:19", **changes: Any) -> dict[str, Any]:
    value: dict[str, Any] = foreign("commerce_event_sales_order_save_commit_after.json")["data"]["value"]
    value.update(state=state_, status=state_, updated_at=updated_at, **changes)
    return value


def event(value: dict[str, Any], detail_type: str = SAVE, event_id: str = "evt-1") -> dict[str, Any]:
    return {
        "version": "0", "id": f"bus-{event_id}", "detail-type": detail_type, "source": "adobe.commerce",
        "account": "123456789012", "time": "2023-08-16T08:40:32Z", "region": "us-east-1", "resources": [],
        "detail": {"id": event_id, "type": detail_type, "time": "2023-08-16T08:40:32.811Z",
                   "data": {"key": "k", "value": value}},
    }


def run(value: dict[str, Any], detail_type: str = SAVE, event_id: str = "evt-1") -> dict[str, Any]:
    return order_export.handle(EventBridgeEvent.model_validate(event(value, detail_type, event_id)))


def handler(value: dict[str, Any]) -> dict[str, Any]:
    """Through the runtime decorator, as Lambda calls it."""
    wrapped = eventbridge_flow("order_export")(order_export.handle)
    return wrapped(event(value), LambdaContext("OrderExportFunction"))


def dlq_records(queue_url: str) -> list[dict[str, Any]]:
    messages = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def test_exports_once_and_keeps_the_id_map(sterling: FakeSterling) -> None:
    value = order()
    expected_body = mapping.create_order_input(mapping.parse_order(value), enterprise_code="ACME", product_class="GOOD",
                                               hold_amount=None, regions={"IN": {"Gujarat": "GJ"}}).body

    answers = [run(value, event_id=f"evt-{n}") for n in range(3)]
    answers.append(run(order(updated_at="2023-08-16 08:41:00"), event_id="evt-comment"))

    assert [a["status"] for a in answers] == ["exported", "unchanged", "unchanged", "unchanged"]
    assert sterling.created == [expected_body]
    assert sterling.changed == []
    assert state.get_order("000000617") == state.OrderRef(
        increment_id="000000617", order_no="000000617", enterprise_code="ACME", entity_id=673,
        order_header_key=HEADER_KEY,
        lines=[state.OrderLineRef(prime_line_no=1, order_item_id=998, sku="Adobe_Pro_12", qty=1)],
        synced_state="processing", commerce_state="processing",
        payment={"method": "braintree", "payment_type": "CREDIT_CARD", "amount_ordered": 409.6,
                 "authorized": 409.6, "captured": 0, "transaction_id": "j0yjwb0m"},
    )


def test_sterling_order_exists_answer_counts_as_success(sterling: FakeSterling) -> None:
    sterling.create_errors.append(SterlingError("createOrder: Sterling YFC0001", code=RECORD_EXISTS))
    sterling.existing = Order.model_validate({"OrderHeaderKey": "20230816084521999999", "OrderNo": "000000617"})

    assert run(order())["status"] == "exported"

    ref = state.get_order("000000617")
    assert ref is not None
    assert ref.order_header_key == "20230816084521999999"


def test_duplicate_key_error_without_the_order_is_not_success(sterling: FakeSterling) -> None:
    sterling.create_errors.append(SterlingError("createOrder: Sterling YFC0001", code=RECORD_EXISTS))

    with pytest.raises(SterlingError):
        run(order())

    assert state.get_order("000000617") is None


def test_transient_failure_is_retried_and_then_exports_once(sterling: FakeSterling) -> None:
    sterling.create_errors.append(RetryableError("createOrder: sterling answered 503", system="sterling"))

    with pytest.raises(RetryableError):
        run(order())
    assert run(order())["status"] == "exported"
    assert run(order())["status"] == "unchanged"

    assert len(sterling.created) == 1


def test_commerce_hold_unhold_cancel_become_change_order(sterling: FakeSterling) -> None:
    run(order())

    hold = run(order("holded", "2023-08-16 09:00:00"), event_id="evt-hold")
    unhold = run(order("processing", "2023-08-16 09:05:00"), event_id="evt-unhold")
    cancel = run(order("canceled", "2023-08-16 09:10:00"), event_id="evt-cancel")

    assert [hold["status"], unhold["status"], cancel["status"]] == ["hold", "unhold", "cancel"]
    assert sterling.changed == [
        ({**KEY, "OrderHoldTypes": {"OrderHoldType": [
            {"HoldType": "COMMERCE_HOLD", "ReasonText": "Held in Adobe Commerce", "Status": "1100"}]}}, True),
        ({**KEY, "OrderHoldTypes": {"OrderHoldType": [{"HoldType": "COMMERCE_HOLD", "Status": "1300"}]}}, True),
        ({**KEY, "Action": "CANCEL", "ModificationReasonText": "Cancelled in Adobe Commerce"}, True),
    ]
    ref = state.get_order("000000617")
    assert ref is not None
    assert (ref.synced_state, ref.commerce_state, ref.hold_types) == ("canceled", "canceled", [])


def test_unhold_in_commerce_resolves_the_amount_hold_placed_at_creation(sterling: FakeSterling) -> None:
    run(order(base_grand_total=1500, grand_total=1500))
    assert sterling.created[0]["OrderHoldTypes"]["OrderHoldType"][0]["HoldType"] == "ORDER_AMOUNT_HOLD"
    # OrderStatusFunction mirrors the Sterling hold into Commerce: synced first, then the echo.
    ref = state.get_order("000000617")
    assert ref is not None
    state.put_order(ref.model_copy(update={"synced_state": "holded"}))
    assert run(order("holded", "2023-08-16 09:00:00"), event_id="evt-echo")["status"] == "loop_dropped"

    assert run(order("processing", "2023-08-16 09:30:00"), event_id="evt-unhold")["status"] == "unhold"

    assert sterling.changed == [
        ({**KEY, "OrderHoldTypes": {"OrderHoldType": [{"HoldType": "ORDER_AMOUNT_HOLD", "Status": "1300"}]}},
         True)]
    # No Sterling event told the order's holds yet: they were read before being resolved.
    assert sterling.hold_reads == ["000000617"]
    assert sterling.holds == {"ORDER_AMOUNT_HOLD": "1300"}


def test_an_unhold_with_no_hold_left_in_sterling_sends_nothing(sterling: FakeSterling) -> None:
    run(order())
    ref = state.get_order("000000617")
    assert ref is not None
    state.put_order(ref.model_copy(update={"synced_state": "holded", "commerce_state": "holded", "sterling_holds": []}))

    assert run(order("processing", "2023-08-16 09:30:00"), event_id="evt-unhold")["status"] == "unhold"

    assert (sterling.changed, sterling.hold_reads) == ([], [])


def test_own_writes_echoed_back_change_nothing(sterling: FakeSterling) -> None:
    run(order())
    ref = state.get_order("000000617")
    assert ref is not None
    # Sterling cancelled; OrderStatusFunction records it before cancelling in Commerce.
    state.put_order(ref.model_copy(update={"synced_state": "canceled"}))

    answer = run(order("canceled", "2023-08-16 09:00:00"), event_id="evt-echo")

    assert answer["status"] == "loop_dropped"
    assert sterling.changed == []
    ref = state.get_order("000000617")
    assert ref is not None
    assert ref.commerce_state == "canceled"


def test_a_comment_we_wrote_is_dropped_as_our_echo(sterling: FakeSterling) -> None:
    run(order())
    histories = [{"entity_id": "5", "created_at": "2023-08-16 09:00:00",
                  "comment": f"{ECHO_MARKER} Scheduled in Sterling"}]

    answer = run(order(updated_at="2023-08-16 09:00:00", status_histories=histories), event_id="evt-comment")

    assert answer["status"] == "loop_dropped"
    assert sterling.changed == []


def test_a_state_change_we_wrote_into_commerce_while_sterling_is_ahead_is_not_undone(
        sterling: FakeSterling) -> None:
    """Sterling held the order; before the Commerce hold lands, an unrelated save arrives."""
    run(order())
    ref = state.get_order("000000617")
    assert ref is not None
    state.put_order(ref.model_copy(update={"synced_state": "holded"}))

    answer = run(order("processing", "2023-08-16 09:00:00"), event_id="evt-other-save")

    assert answer["status"] == "unchanged"
    assert sterling.changed == []


def test_stale_event_changes_nothing(sterling: FakeSterling) -> None:
    run(order())
    run(order("holded", "2023-08-16 09:05:00"), event_id="evt-hold")

    answer = run(order("processing", "2023-08-16 09:00:00"), event_id="evt-older")

    assert answer["status"] == "stale"
    assert [doc["OrderHoldTypes"]["OrderHoldType"][0]["Status"] for doc, _ in sterling.changed] == ["1100"]


def test_two_changes_in_the_same_second_are_both_sent(sterling: FakeSterling) -> None:
    run(order())

    run(order("holded", "2023-08-16 09:00:00"), event_id="evt-hold")
    run(order("processing", "2023-08-16 09:00:00"), event_id="evt-unhold")

    assert [doc["OrderHoldTypes"]["OrderHoldType"][0]["Status"] for doc, _ in sterling.changed] == ["1100", "1300"]


def test_change_is_sent_once_when_its_event_is_redelivered_before_the_map_was_saved(
        sterling: FakeSterling, monkeypatch: pytest.MonkeyPatch) -> None:
    run(order())
    calls = 0
    real_put = state.put_order

    def put_fails_once(ref: state.OrderRef) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RetryableError("state table throttled", system="dynamodb")
        real_put(ref)

    monkeypatch.setattr(state, "put_order", put_fails_once)
    with pytest.raises(RetryableError):
        run(order("canceled", "2023-08-16 09:00:00"), event_id="evt-cancel")
    assert run(order("canceled", "2023-08-16 09:00:00"), event_id="evt-cancel")["status"] == "cancel"

    assert len(sterling.changed) == 1


def test_not_exported_while_payment_is_pending(sterling: FakeSterling) -> None:
    assert run(order("pending_payment"))["status"] == "deferred"
    assert run(order("canceled", "2023-08-16 08:45:00"), event_id="evt-2")["status"] == "skipped"
    assert sterling.created == []
    assert state.get_order("000000617") is None

    assert run(order("processing", "2023-08-16 08:50:00"), event_id="evt-3")["status"] == "exported"


def test_ids_missing_from_place_after_are_learned_from_a_later_save(sterling: FakeSterling) -> None:
    placed = order("new", created_at=None)
    for item in placed["items"]:
        item.pop("order_id")
        item.pop("item_id")
        item.pop("id")
    for address in placed["addresses"]:
        address.pop("parent_id")
    placed["payment"].pop("parent_id")

    assert run(placed, PLACE, "evt-place")["status"] == "exported"
    ref = state.get_order("000000617")
    assert ref is not None
    assert (ref.entity_id, ref.lines[0].order_item_id) == (None, None)
    assert sterling.created[0]["OrderDate"] == "2023-08-16T08:40:32+00:00"  # the event time

    assert run(order("new"), SAVE, "evt-save")["status"] == "unchanged"

    ref = state.get_order("000000617")
    assert ref is not None
    assert (ref.entity_id, ref.lines[0].order_item_id) == (673, 998)
    assert len(sterling.created) == 1


def test_invalid_order_is_parked_with_its_reason(sterling: FakeSterling, aws: str) -> None:
    item = order()["items"][0]
    answer = handler(order(items=[{**item, "qty_ordered": -1}]))

    assert answer == {"status": "parked", "reason": (
        "order 000000617 is not exportable: items.0.qty_ordered: Input should be greater than 0")}
    records = dlq_records(aws)
    assert [r["reason"]["reason"] for r in records] == [answer["reason"]]
    assert records[0]["flow"] == "order_export"
    assert sterling.created == []


def test_cancel_refused_by_sterling_is_parked_and_the_map_keeps_its_state(sterling: FakeSterling, aws: str) -> None:
    handler(order())
    sterling.change_errors.append(SterlingError(
        "changeOrder: Sterling YFS10137 YFS: Order cannot be modified in current status", code=NOT_MODIFIABLE))

    answer = handler(order("canceled", "2023-08-16 09:00:00"))

    assert answer == {"status": "parked",
                      "reason": "changeOrder: Sterling YFS10137 YFS: Order cannot be modified in current status"}
    assert [r["reason"]["code"] for r in dlq_records(aws)] == ["YFS10137"]
    ref = state.get_order("000000617")
    assert ref is not None
    assert (ref.synced_state, ref.commerce_state) == ("processing", "processing")


def test_unmapped_shipping_method_still_exports(sterling: FakeSterling) -> None:
    assert handler(order(shipping_method="customship_express"))["status"] == "exported"

    assert "SCAC" not in sterling.created[0]
    assert sterling.created[0]["OrderNo"] == "000000617"
