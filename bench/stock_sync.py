"""Stock sync benchmark: a burst of Sterling availability changes through StockSyncFunction.

    python bench/stock_sync.py [--rows 20000] [--skus 2000] [--nodes 10] [--skew 1.0] [--latency 0.03]

Generates RTAM ``inventory.changed`` events (one SKU, one to three nodes each) over ``--skus`` ×
``--nodes`` items, with a strictly increasing Sterling clock; then re-delivers some events
(duplicates) and displaces others (out-of-order arrivals) until ``--rows`` rows are in flight.
Which SKU moves follows a Zipf law of exponent ``--skew`` (1.0 by default, as sales do: a few SKUs
change all the time, most rarely); ``--skew 0`` picks SKUs uniformly, the worst case for coalescing
since nearly every row is then the only one of its item in a batch.

The events are handed to the function as SQS batches of the template's ``StockSyncBatchSize``, the
way Lambda's event source mapping delivers them (messages it reports as failed come again), against
the sandbox: moto DynamoDB for the watermarks and the Commerce simulator answering after
``--latency`` seconds per call. Afterwards Commerce's source items are compared with Sterling's
truth (the newest value of every item). Commerce calls and DynamoDB calls (API operations the
function made) are counted per row.

The baseline runs the same events through the same function one message per invocation and one
item per Commerce call (``STOCK_SYNC_CHUNK_SIZE=1``), as the old connector called Commerce once per
row, on the first ``--baseline-rows`` rows. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "connectors")]

from sandbox.demo import function_output_to  # noqa: E402
from sandbox.stack import Sandbox  # noqa: E402

FUNCTION = "StockSyncFunction"
START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@dataclass
class Workload:
    events: list[dict[str, Any]]
    truth: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)
    skus: list[str] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(len(_changes(event)) for event in self.events)


def _changes(event: dict[str, Any]) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = event["detail"]["data"]["AvailabilityChanges"]["AvailabilityChange"]
    return changes


def generate(rows: int, skus: int, nodes: int, seed: int, skew: float = 1.0) -> Workload:
    rng = random.Random(seed)
    work = Workload([], skus=[f"SKU-{n:05d}" for n in range(skus)], nodes=[f"node_{n:02d}" for n in range(nodes)])
    popularity = list(itertools.accumulate(1 / (rank + 1) ** skew for rank in range(skus)))
    clock = START
    produced: list[dict[str, Any]] = []
    in_flight = 0
    while in_flight < rows:
        sku = rng.choices(work.skus, cum_weights=popularity)[0]
        clock += timedelta(milliseconds=rng.randint(1, 50))
        when = clock.isoformat().replace("+00:00", "Z")
        picked = rng.sample(work.nodes, min(len(work.nodes), rng.randint(1, 3), rows - in_flight))
        changes = []
        for node in picked:
            quantity = rng.choice([0, 0, 1, 2, 5, 10, 25, 40, 100])
            changes.append({"Node": node, "OnhandAvailableQuantity": f"{quantity}.00",
                            "FirstFutureAvailableDate": "2500-01-01"})
            work.truth[(sku, node)] = (when, quantity)
        event_id = str(uuid.UUID(int=rng.getrandbits(128)))
        produced.append({
            "version": "0", "id": event_id, "detail-type": "inventory.changed", "source": "ibm.sterling",
            "account": "123456789012", "time": when, "region": "us-east-1", "resources": [],
            "detail": {"id": event_id, "time": when, "data": {
                "ItemID": sku, "UnitOfMeasure": "EACH", "InventoryOrganizationCode": "DEFAULT",
                "AvailabilityChanges": {"AvailabilityChange": changes}}},
        })
        in_flight += len(changes)
        # At-least-once delivery: about one event in eight arrives twice.
        if rng.random() < 0.125 and in_flight + len(changes) <= rows:
            produced.append(produced[-1])
            in_flight += len(changes)
    # Out of order: events drift up to a few hundred places from where they were produced.
    keyed = sorted(enumerate(produced), key=lambda pair: pair[0] + rng.uniform(-300, 300))
    work.events = [event for _, event in keyed]
    return work


def seed_for(work: Workload) -> dict[str, Any]:
    return {"commerce": {
        "products": [{"sku": sku, "name": sku, "type_id": "simple"} for sku in work.skus],
        "sources": [{"source_code": node, "name": node} for node in work.nodes],
    }}


def sqs_record(event: dict[str, Any], number: int) -> dict[str, Any]:
    return {
        "messageId": f"msg-{number}", "receiptHandle": f"rh-{number}", "body": json.dumps(event),
        "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "md5OfBody": "",
        "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:StockSyncQueue",
        "awsRegion": "us-east-1",
    }


@dataclass
class DynamoDbUse:
    """The DynamoDB API calls made, and the items they read and wrote (what DynamoDB bills)."""

    calls: int = 0
    items_read: int = 0
    items_written: int = 0

    def count(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls += 1
        if model.name == "BatchGetItem":
            self.items_read += sum(len(request["Keys"]) for request in params["RequestItems"].values())
        elif model.name == "TransactWriteItems":
            self.items_written += len(params["TransactItems"])
        elif model.name in ("PutItem", "UpdateItem", "DeleteItem"):
            self.items_written += 1
        elif model.name == "GetItem":
            self.items_read += 1


@dataclass
class Run:
    seconds: float
    commerce_calls: int
    dynamodb: DynamoDbUse
    invocations: int
    redelivered: int


def dynamodb_use() -> DynamoDbUse:
    """What the DynamoDB clients made from now on do (the functions make theirs on their first
    invocation)."""
    import boto3

    use = DynamoDbUse()
    boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register("before-parameter-build.dynamodb", use.count)
    return use


def replay(sb: Sandbox, events: list[dict[str, Any]], batch_size: int) -> Run:
    """Deliver ``events`` in SQS batches; failed messages come back in a later batch."""
    queue = [sqs_record(event, number) for number, event in enumerate(events)]
    calls_before = len(sb.commerce.calls)
    dynamodb = dynamodb_use()
    invocations = redelivered = 0
    started = time.perf_counter()
    while queue:
        batch, queue = queue[:batch_size], queue[batch_size:]
        answer = sb.invoke(FUNCTION, {"Records": batch})
        invocations += 1
        failed = {item["itemIdentifier"] for item in answer.get("batchItemFailures", [])}
        again = [record for record in batch if record["messageId"] in failed]
        redelivered += len(again)
        queue.extend(again)
    seconds = time.perf_counter() - started
    return Run(seconds, len(sb.commerce.calls) - calls_before, dynamodb, invocations, redelivered)


def mismatches(sb: Sandbox, work: Workload) -> int:
    wrong = 0
    for (sku, node), (_, quantity) in work.truth.items():
        item = sb.commerce.source_items.get((sku, node))
        if item is None or float(item["quantity"]) != quantity or int(item["status"]) != int(quantity > 0):
            wrong += 1
    return wrong


def baseline(work: Workload, rows: int, latency: float) -> tuple[int, float, DynamoDbUse]:
    """The first ``rows`` rows, one message per invocation and one item per Commerce call: rows,
    rows per second, DynamoDB use."""
    events, counted = [], 0
    for event in work.events:
        if counted >= rows:
            break
        events.append(event)
        counted += len(_changes(event))
    with Sandbox(seed=seed_for(work), env={"STOCK_SYNC_CHUNK_SIZE": "1"}) as sb:
        sb.commerce.faults.latency = latency
        run = replay(sb, events, batch_size=1)
    return counted, counted / run.seconds, run.dynamodb


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--skus", type=int, default=2_000)
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--skew", type=float, default=1.0, help="Zipf exponent of SKU popularity (0 = uniform)")
    parser.add_argument("--latency", type=float, default=0.03, help="seconds per Commerce call")
    parser.add_argument("--batch-size", type=int, default=0, help="messages per invocation (default: template)")
    parser.add_argument("--baseline-rows", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    work = generate(args.rows, args.skus, args.nodes, args.seed, args.skew)
    # The function's logs and metrics go to a file; stdout carries the one JSON line.
    with function_output_to(Path("artifacts/stock-sync-functions.log")) as terminal:
        result = measure(args, work)
        print(json.dumps(result), file=terminal)
    return result


def measure(args: argparse.Namespace, work: Workload) -> dict[str, Any]:
    with Sandbox(seed=seed_for(work)) as sb:
        batch_size = args.batch_size or int(sb.parameters()["StockSyncBatchSize"])
        chunk_size = int(sb.environment(FUNCTION)["STOCK_SYNC_CHUNK_SIZE"])
        sb.commerce.faults.latency = args.latency
        run = replay(sb, work.events, batch_size)
        wrong = mismatches(sb, work)
        parked = len(sb.dlq(FUNCTION))
    rows = work.rows
    baseline_rows, baseline_rate, baseline_dynamodb = baseline(work, min(args.baseline_rows, rows), args.latency)
    rate = rows / run.seconds
    return {
        "rows": rows,
        "events": len(work.events),
        "items": len(work.truth),
        "skew": args.skew,
        "batch_size": batch_size,
        "chunk_size": chunk_size,
        "invocations": run.invocations,
        "redelivered": run.redelivered,
        "commerce_calls": run.commerce_calls,
        "calls_per_row": round(run.commerce_calls / rows, 5),
        "dynamodb_calls": run.dynamodb.calls,
        "dynamodb_calls_per_row": round(run.dynamodb.calls / rows, 5),
        "dynamodb_items_read_per_row": round(run.dynamodb.items_read / rows, 3),
        "dynamodb_items_written_per_row": round(run.dynamodb.items_written / rows, 3),
        "seconds": round(run.seconds, 2),
        "rows_per_second": round(rate, 1),
        "mismatches": wrong,
        "parked": parked,
        "commerce_latency_s": args.latency,
        "baseline_rows": baseline_rows,
        "baseline_rows_per_second": round(baseline_rate, 1),
        "baseline_dynamodb_calls_per_row": round(baseline_dynamodb.calls / baseline_rows, 3),
        "baseline_dynamodb_items_read_per_row": round(baseline_dynamodb.items_read / baseline_rows, 3),
        "baseline_dynamodb_items_written_per_row": round(baseline_dynamodb.items_written / baseline_rows, 3),
        "speedup": round(rate / baseline_rate, 1),
    }


if __name__ == "__main__":
    main()
