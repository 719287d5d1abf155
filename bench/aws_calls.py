"""CPU per AWS call in the sandbox (moto in-process, through ``sandbox.aws_local``); prints one JSON line.

    python bench/aws_calls.py [--calls 1000]

The calls the flows make most, each ``--calls`` times after one warm-up call, on a sandbox's tables,
bus and queue, as milliseconds of process CPU per call:

* ``get_item_ms``: a consistent read of an order map (``omsbridge.state.get_order``);
* ``put_item_ms``: writing it back (``state.put_order``);
* ``stale_watermark_ms``: a conditional put refused as stale (``state.advance_watermark``);
* ``idempotency_pair_ms``: Powertools' in-progress record and its completion (PutItem + UpdateItem);
* ``put_events_ms``: one entry on the bus (the ingress);
* ``load_average``: the machine's, since a busy machine stretches every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

IDEMPOTENCY_CONDITION = ("attribute_not_exists(#id) OR #expiry < :now OR (#status = :inprogress AND "
                         "attribute_exists(#in_progress_expiry) AND #in_progress_expiry < :now_in_millis)")


def per_call_ms(calls: int, call: Callable[[int], object]) -> float:
    call(-1)
    started = time.process_time()
    for n in range(calls):
        call(n)
    return round((time.process_time() - started) / calls * 1000, 3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()

    import boto3
    from botocore.exceptions import ClientError

    from sandbox.stack import Sandbox

    with Sandbox() as box:
        state = boto3.resource("dynamodb", region_name="us-east-1").Table(box.aws.physical["StateTable"])
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        records = box.aws.physical["IdempotencyTable"]
        doc = json.dumps({"increment_id": "700000001", "lines": [{"sku": "DEMO-MUG", "qty": 1}] * 3})

        def put(n: int) -> object:
            return state.put_item(Item={"pk": f"order#{n % 50}", "sk": "map", "doc": doc})

        def get(n: int) -> object:
            return state.get_item(Key={"pk": f"order#{n % 50}", "sk": "map"}, ConsistentRead=True)

        def stale(n: int) -> object:
            try:
                return state.put_item(Item={"pk": f"order#{n % 50}", "sk": "watermark", "stamp": "1"},
                                      ConditionExpression="attribute_not_exists(stamp) OR stamp < :stamp",
                                      ExpressionAttributeValues={":stamp": "1"})
            except ClientError as error:
                return error

        def idempotency_pair(n: int) -> object:
            now = int(time.time())
            dynamodb.put_item(
                TableName=records, ConditionExpression=IDEMPOTENCY_CONDITION,
                Item={"id": {"S": f"order_export#{n}"}, "expiration": {"N": str(now + 100)},
                      "status": {"S": "INPROGRESS"}, "in_progress_expiration": {"N": str(now * 1000 + 30_000)}},
                ExpressionAttributeNames={"#id": "id", "#expiry": "expiration", "#status": "status",
                                          "#in_progress_expiry": "in_progress_expiration"},
                ExpressionAttributeValues={":now": {"N": str(now)}, ":now_in_millis": {"N": str(now * 1000)},
                                           ":inprogress": {"S": "INPROGRESS"}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD")
            return dynamodb.update_item(
                TableName=records, Key={"id": {"S": f"order_export#{n}"}},
                UpdateExpression="SET #response_data = :response_data, #expiry = :expiry, #status = :status",
                ExpressionAttributeNames={"#response_data": "data", "#expiry": "expiration", "#status": "status"},
                ExpressionAttributeValues={":response_data": {"S": doc}, ":expiry": {"N": str(now + 100)},
                                           ":status": {"S": "COMPLETED"}})

        def put_events(n: int) -> object:
            return box.aws.events.put_events(Entries=[{
                "Source": "ibm.sterling", "DetailType": "order.changed", "Detail": doc,
                "EventBusName": box.aws.bus_name}])

        put(-1)
        figures = {
            "calls": args.calls,
            "get_item_ms": per_call_ms(args.calls, get),
            "put_item_ms": per_call_ms(args.calls, put),
            "stale_watermark_ms": per_call_ms(args.calls, stale),
            "idempotency_pair_ms": per_call_ms(args.calls, idempotency_pair),
            "put_events_ms": per_call_ms(args.calls, put_events),
            "load_average": round(os.getloadavg()[0], 2),
        }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
