"""Integration state in one DynamoDB table (``STATE_TABLE``): identifier maps and watermarks.

Items are keyed ``pk`` / ``sk``:

* ``order#<increment_id>`` / ``map`` — how one order is known on both sides (:class:`OrderRef`).
* ``stock#<sku>#<source_code>`` / ``watermark`` — the newest Sterling event time applied.
* ``<anything>`` / ``watermark#<name>`` — other per-object "newest applied" guards.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, Field

from omsbridge import aws, config
from omsbridge.errors import RetryableError


class OrderLineRef(BaseModel):
    prime_line_no: int
    sub_line_no: int = 1
    order_item_id: int | None = None
    sku: str
    parent_item_id: int | None = None
    qty: float = 0
    # A configurable line: ``order_item_id`` is the parent row (what Commerce ships and invoices),
    # this is its simple child row.
    child_item_id: int | None = None


class OrderRef(BaseModel):
    """One order on both sides. ``synced_state`` is the Commerce state Sterling already reflects:
    a Commerce save whose state equals it is our own echo (or a no-op save) and changes nothing."""

    increment_id: str
    order_no: str
    enterprise_code: str
    entity_id: int | None = None
    order_header_key: str | None = None
    lines: list[OrderLineRef] = Field(default_factory=list)
    synced_state: str | None = None
    payment: dict[str, Any] = Field(default_factory=dict)
    # The Commerce state in the last save event the export flow handled: a save whose state equals
    # it is no Commerce-side change at all.
    commerce_state: str | None = None
    # Sterling hold types this integration placed (amount hold, Commerce hold).
    hold_types: list[str] = Field(default_factory=list)
    # The hold types active on the Sterling order as last known (Sterling's order events, our own
    # changes): what a Commerce unhold resolves. None: not known, so Sterling is asked.
    sterling_holds: list[str] | None = None
    # The Sterling order state OrderStatusFunction last showed in Commerce
    # (omsbridge.mapping.status.Snapshot): the next Sterling event writes only what changed since.
    sterling_status: dict[str, Any] = Field(default_factory=dict)


def _table() -> Any:
    return aws.table(config.settings().state_table)


def order_key(increment_id: str) -> dict[str, str]:
    return {"pk": f"order#{increment_id}", "sk": "map"}


def get_order(increment_id: str) -> OrderRef | None:
    item = _table().get_item(Key=order_key(increment_id), ConsistentRead=True).get("Item")
    return OrderRef.model_validate_json(item["doc"]) if item else None


def put_order(ref: OrderRef) -> None:
    _table().put_item(Item={**order_key(ref.increment_id), "doc": ref.model_dump_json()})


def advance_watermark(pk: str, stamp: str, sk: str = "watermark", *, allow_equal: bool = False) -> bool:
    """Record ``stamp`` as the newest applied for ``pk`` unless a newer or equal one is there.

    Returns False (and changes nothing) when the event is stale. ``stamp`` must sort as text in
    time order: use :func:`omsbridge.timeutil.sortable`. ``allow_equal`` lets an equal stamp through,
    for sources whose clock ticks in whole seconds (Commerce ``updated_at``): two real changes in one
    second must not drop the second as stale.
    """
    from botocore.exceptions import ClientError

    older = "stamp <= :stamp" if allow_equal else "stamp < :stamp"
    try:
        _table().put_item(
            Item={"pk": pk, "sk": sk, "stamp": stamp},
            ConditionExpression=f"attribute_not_exists(stamp) OR {older}",
            ExpressionAttributeValues={":stamp": stamp},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def read_watermark(pk: str, sk: str = "watermark") -> str | None:
    item = _table().get_item(Key={"pk": pk, "sk": sk}, ConsistentRead=True).get("Item")
    return str(item["stamp"]) if item else None


BATCH_GET_LIMIT = 100
TRANSACTION_LIMIT = 100


def _backoff(attempt: int) -> None:
    time.sleep(0.05 * 2**attempt * (0.5 + random.random()))  # noqa: S311 - jitter, not crypto


def read_watermarks(pks: Iterable[str], sk: str = "watermark", *, attempts: int = 5) -> dict[str, str]:
    """The stamps recorded for many ``pks`` at once (BatchGetItem, consistent, pages of 100); absent
    ones are left out. Keys DynamoDB leaves unprocessed (throttling) are asked again with a short
    backoff."""
    client = aws.client("dynamodb")
    table = config.settings().state_table
    keys = [{"pk": {"S": pk}, "sk": {"S": sk}} for pk in dict.fromkeys(pks)]
    found: dict[str, str] = {}
    for start in range(0, len(keys), BATCH_GET_LIMIT):
        request: dict[str, Any] = {table: {
            "Keys": keys[start:start + BATCH_GET_LIMIT], "ConsistentRead": True,
            "ProjectionExpression": "#pk, #stamp", "ExpressionAttributeNames": {"#pk": "pk", "#stamp": "stamp"},
        }}
        for attempt in range(attempts):
            answer = client.batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(table, []):
                found[item["pk"]["S"]] = item["stamp"]["S"]
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
            _backoff(attempt)
        else:
            raise RetryableError("DynamoDB left watermark reads unprocessed", system="dynamodb")
    return found


def advance_watermarks(stamps: Mapping[str, str], seen: Mapping[str, str], sk: str = "watermark", *,
                       attempts: int = 5) -> set[str]:
    """Move many watermarks forward after reading them with :func:`read_watermarks`: ``stamps``
    are the new ones, ``seen`` what the read found (a key absent from it had none).

    Each write is conditional on the watermark being still what was seen, so any write another
    invocation made in between is noticed, newer or older. The writes go in transactions of up to
    100 (TransactWriteItems), one after another: one call per hundred keys. A transaction is
    cancelled whole when one condition fails; DynamoDB says which (``CancellationReasons``), so
    those keys are left out and the rest written again. Returns the keys that changed since they
    were read and were left alone.
    """
    from botocore.exceptions import ClientError

    client = aws.client("dynamodb")
    table = config.settings().state_table

    def put(pk: str) -> dict[str, Any]:
        condition: dict[str, Any] = (
            {"ConditionExpression": "stamp = :seen", "ExpressionAttributeValues": {":seen": {"S": seen[pk]}}}
            if pk in seen else {"ConditionExpression": "attribute_not_exists(stamp)"}
        )
        return {"Put": {"TableName": table, "Item": {"pk": {"S": pk}, "sk": {"S": sk}, "stamp": {"S": stamps[pk]}},
                        **condition}}

    def write(part: Sequence[str]) -> set[str]:
        behind: set[str] = set()
        pending = list(part)
        for attempt in range(attempts):
            if not pending:
                return behind
            try:
                client.transact_write_items(TransactItems=[put(pk) for pk in pending])
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                reasons = exc.response.get("CancellationReasons") or []
                moved = {pk for pk, reason in zip(pending, reasons, strict=False)
                         if reason.get("Code") == "ConditionalCheckFailed"}
                behind |= moved
                pending = [pk for pk in pending if pk not in moved]
                if not moved:  # a conflicting transaction or throttling: nothing was wrong with ours
                    _backoff(attempt)
                continue
            return behind
        if pending:
            raise RetryableError("DynamoDB kept cancelling the watermark transaction", system="dynamodb")
        return behind

    keys = list(stamps)
    parts = [keys[start:start + TRANSACTION_LIMIT] for start in range(0, len(keys), TRANSACTION_LIMIT)]
    return {pk for part in parts for pk in write(part)}
