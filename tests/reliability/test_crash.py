"""Crash consistency: OrderExportFunction dies after Sterling created the order and before the
idempotency record was completed. Redelivery must still leave exactly one order in Sterling."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from omsbridge.flows import order_export
from sandbox.demo_data import SEED, simple_order
from sandbox.stack import FunctionError, Sandbox


class Killed(BaseException):
    """The process dying: not an ``Exception``, so no cleanup handler of the function runs."""


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with Sandbox(seed=copy.deepcopy(SEED)) as sandbox:
        yield sandbox


def _bus_event(box: Sandbox, increment_id: str) -> dict[str, Any]:
    cloud_event = box.commerce.place_order(simple_order(increment_id))
    box.publish("adobe.commerce", cloud_event["type"], cloud_event)
    [event] = box.drain_tap()
    return event


def _idempotency_items(box: Sandbox) -> list[dict[str, Any]]:
    table = boto3.resource("dynamodb").Table(box.aws.physical["IdempotencyTable"])
    return list(table.scan()["Items"])


def test_a_kill_after_create_order_still_ends_with_one_order(box: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    event = _bus_event(box, "000000900")
    create = order_export._create_order

    def create_then_die(body: dict[str, Any]) -> str | None:
        create(body)
        raise Killed

    monkeypatch.setattr(order_export, "_create_order", create_then_die)
    with pytest.raises(Killed):
        box.invoke("OrderExportFunction", event)
    monkeypatch.setattr(order_export, "_create_order", create)
    assert box.sterling.order("000000900").order_no == "000000900"
    [record] = _idempotency_items(box)
    assert record["status"] == "INPROGRESS"
    assert box.aws.dynamodb.get_item(TableName=box.aws.physical["StateTable"],
                                     Key={"pk": {"S": "order#000000900"}, "sk": {"S": "map"}}).get("Item") is None

    # Redelivered while the dead invocation could still be running: refused, to be retried.
    with pytest.raises(FunctionError) as refused:
        box.invoke("OrderExportFunction", event)
    assert "in progress" in str(refused.value)

    # The dead invocation's time runs out (Lambda's timeout); the next redelivery completes the work.
    table = boto3.resource("dynamodb").Table(box.aws.physical["IdempotencyTable"])
    table.update_item(Key={"id": record["id"]}, UpdateExpression="SET in_progress_expiration = :past",
                      ExpressionAttributeValues={":past": 1})
    result = box.invoke("OrderExportFunction", event)
    assert result["status"] == "exported"

    successes = [c for c in box.sterling.calls_to("/invoke/createOrder") if c["status"] == 200]
    assert len(successes) == 1, "one createOrder succeeded; the retry was answered 'already exists'"
    assert len([o for o in box.sterling.orders.values() if o.order_no == "000000900"]) == 1
    [record] = _idempotency_items(box)
    assert record["status"] == "COMPLETED"
    # A later duplicate is recognised without calling Sterling again.
    calls_before = len(box.sterling.calls)
    box.invoke("OrderExportFunction", event)
    assert len(box.sterling.calls) == calls_before
