"""The sandbox's AWS: moto reached without the HTTP detour answers exactly as moto's usual path does,
and moto with the sandbox's repairs (``sandbox.moto_fixes``) exactly as moto as released.

``sandbox.aws_local`` hands JSON-protocol calls straight to moto's handler (a ``before-call`` hook)
instead of letting botocore sign and send an HTTP request for moto to route, and DynamoDB's item
calls straight to the method of moto's DynamoDB handler that answers them. The same calls, made
once each way, and once more through moto as released, must give the same answers and errors.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from sandbox import aws_local, moto_fixes
from sandbox.stack import Sandbox

# Fields AWS makes up per call (ids, handles, clocks, a secret ARN's random suffix): they differ
# between any two runs.
PER_CALL = frozenset({"ResponseMetadata", "MessageId", "ReceiptHandle", "EventId", "VersionId", "CreatedDate",
                      "SentTimestamp", "ApproximateFirstReceiveTimestamp", "ARN", "CreatedTimestamp",
                      "LastModifiedTimestamp"})


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _stable(item) for key, item in value.items() if key not in PER_CALL}
    if isinstance(value, list):
        return [_stable(item) for item in value]
    return value


def _answer(call: Callable[[], Any]) -> Any:
    try:
        return ("ok", _stable(call()))
    except ClientError as error:
        return ("error", type(error).__name__, _stable(error.response))


def _calls(box: Sandbox) -> list[Any]:
    region = {"region_name": "us-east-1"}
    dynamodb, sqs = boto3.client("dynamodb", **region), boto3.client("sqs", **region)
    events, secrets = boto3.client("events", **region), boto3.client("secretsmanager", **region)
    table = box.aws.physical["StateTable"]
    queue = box.aws.physical["StockSyncQueue"]
    key = {"pk": {"S": "order#1"}, "sk": {"S": "map"}}
    every_type = {"pk": {"S": "order#3"}, "sk": {"S": "map"}, "s": {"S": "text"}, "n": {"N": "-1.50"},
                  "b": {"B": b"\x00\x01"}, "t": {"BOOL": True}, "none": {"NULL": True},
                  "l": {"L": [{"S": "a"}, {"N": "2"}, {"M": {"deep": {"L": []}}}]},
                  "m": {"M": {"x": {"S": "y"}, "z": {"BOOL": False}}},
                  "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2"]}, "bs": {"BS": [b"\x01"]}}
    third = {"pk": {"S": "order#3"}, "sk": {"S": "map"}}
    stamp = {"pk": {"S": "stock#A#default"}, "sk": {"S": "watermark"}}
    newer = "attribute_not_exists(stamp) OR stamp < :stamp"
    return [_answer(call) for call in [
        lambda: dynamodb.put_item(TableName=table, Item=every_type),
        lambda: dynamodb.get_item(TableName=table, Key=third, ConsistentRead=True),
        lambda: dynamodb.get_item(TableName=table, Key=third, ProjectionExpression="#n, ss, l[0]",
                                  ExpressionAttributeNames={"#n": "n"}),
        lambda: dynamodb.get_item(TableName=table, Key=third, ProjectionExpression="l[2], m.z, bs"),
        lambda: dynamodb.put_item(TableName=table, Item={**stamp, "stamp": {"S": "2"}}, ConditionExpression=newer,
                                  ExpressionAttributeValues={":stamp": {"S": "2"}}),
        lambda: dynamodb.put_item(TableName=table, Item={**stamp, "stamp": {"S": "1"}}, ConditionExpression=newer,
                                  ExpressionAttributeValues={":stamp": {"S": "1"}},
                                  ReturnValuesOnConditionCheckFailure="ALL_OLD"),
        *[lambda now=now: dynamodb.put_item(
            TableName=table, Item={"pk": {"S": "idem#1"}, "sk": {"S": "map"}, "status": {"S": "INPROGRESS"},
                                   "expiration": {"N": str(now)}, "in_progress": {"N": str(now * 1000)}},
            ConditionExpression="attribute_not_exists(#id) OR #expiry < :now OR (#status = :inprogress AND "
                                "attribute_exists(#in_progress) AND #in_progress < :now_in_millis)",
            ExpressionAttributeNames={"#id": "pk", "#expiry": "expiration", "#status": "status",
                                      "#in_progress": "in_progress"},
            ExpressionAttributeValues={":now": {"N": str(now)}, ":now_in_millis": {"N": str(now * 1000)},
                                       ":inprogress": {"S": "INPROGRESS"}},
            ReturnValuesOnConditionCheckFailure="ALL_OLD") for now in (100, 50, 200, 200)],
        *[lambda low=low: dynamodb.delete_item(
            TableName=table, Key={"pk": {"S": "idem#1"}, "sk": {"S": "map"}},
            ConditionExpression="NOT (#status BETWEEN :low AND :high) OR #status IN (:a, :b) "
                                "AND begins_with(#status, :prefix) AND size(#status) > :size",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":low": {"S": low}, ":high": {"S": "Z"}, ":a": {"S": "DONE"},
                                       ":b": {"S": "INPROGRESS"}, ":prefix": {"S": "IN"}, ":size": {"N": "3"}},
            ReturnValues="ALL_OLD") for low in ("J", "A")],
        lambda: dynamodb.update_item(TableName=table, Key=third, UpdateExpression="SET #s = :s REMOVE ns",
                                     ConditionExpression="attribute_exists(#s) AND n < :zero",
                                     ExpressionAttributeNames={"#s": "s"},
                                     ExpressionAttributeValues={":s": {"S": "new"}, ":zero": {"N": "0"}},
                                     ReturnValues="UPDATED_OLD"),
        lambda: dynamodb.update_item(TableName=table, Key=third, UpdateExpression="SET #s = :s",
                                     ConditionExpression="attribute_not_exists(#s)",
                                     ExpressionAttributeNames={"#s": "s"},
                                     ExpressionAttributeValues={":s": {"S": "newer"}}),
        lambda: dynamodb.update_item(TableName=table, Key=third, UpdateExpression="SET #s = :s, #s = :s",
                                     ExpressionAttributeNames={"#s": "s"},
                                     ExpressionAttributeValues={":s": {"S": "x"}}),
        lambda: dynamodb.update_item(TableName=table, Key=third, UpdateExpression="SET pk = :s",
                                     ExpressionAttributeValues={":s": {"S": "x"}}),
        lambda: dynamodb.update_item(TableName=table, Key=third, UpdateExpression="SET n = s + :one",
                                     ExpressionAttributeValues={":one": {"N": "1"}}),
        lambda: dynamodb.update_item(TableName=table, Key=third, UpdateExpression="SET x = nothing_here",
                                     ReturnValues="ALL_NEW"),
        lambda: dynamodb.update_item(TableName=table, Key=third,
                                     UpdateExpression="SET m.z = :t, l[0] = if_not_exists(q, :s) ADD ns :ns",
                                     ExpressionAttributeValues={":t": {"BOOL": True}, ":s": {"S": "x"},
                                                                ":ns": {"NS": ["7"]}},
                                     ReturnValues="ALL_NEW"),
        lambda: dynamodb.update_item(TableName=table, Key=third, UpdateExpression="SET = :s",
                                     ExpressionAttributeValues={":s": {"S": "x"}}),
        lambda: dynamodb.transact_write_items(TransactItems=[
            {"Put": {"TableName": table, "Item": {**stamp, "stamp": {"S": "3"}}, "ConditionExpression": newer,
                     "ExpressionAttributeValues": {":stamp": {"S": "3"}}}},
            {"Update": {"TableName": table, "Key": third, "UpdateExpression": "SET n = n + :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}}}}]),
        lambda: dynamodb.transact_write_items(TransactItems=[
            {"Put": {"TableName": table, "Item": {**stamp, "stamp": {"S": "0"}}, "ConditionExpression": newer,
                     "ExpressionAttributeValues": {":stamp": {"S": "0"}},
                     "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
            {"Delete": {"TableName": table, "Key": third}}]),
        lambda: dynamodb.batch_get_item(RequestItems={table: {
            "Keys": [stamp, third, {"pk": {"S": "order#9"}, "sk": {"S": "map"}}], "ConsistentRead": True,
            "ProjectionExpression": "#pk, #stamp, m", "ExpressionAttributeNames": {"#pk": "pk", "#stamp": "stamp"}}}),
        lambda: dynamodb.query(TableName=table, KeyConditionExpression="pk = :pk", ProjectionExpression="l, t",
                               ExpressionAttributeValues={":pk": {"S": "order#3"}}),
        lambda: dynamodb.scan(TableName=table, FilterExpression="attribute_exists(stamp)"),
        lambda: sqs.send_message(QueueUrl=queue, MessageBody="first", DelaySeconds=0,
                                 MessageAttributes={"kind": {"DataType": "String", "StringValue": "x"}}),
        lambda: sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, AttributeNames=["All"],
                                    MessageAttributeNames=["All"], VisibilityTimeout=0),
        lambda: sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=1, AttributeNames=["ApproximateReceiveCount"]),
        lambda: sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"]),
        lambda: events.put_events(Entries=[
            {"Source": "s", "DetailType": "d", "Detail": json.dumps({"ok": [1, 2.5, None]}),
             "EventBusName": box.aws.bus_name},
            {"Source": "s", "DetailType": "d", "Detail": '{"bad": NaN}', "EventBusName": box.aws.bus_name}]),
        lambda: events.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "x" * 300_000,
                                            "EventBusName": box.aws.bus_name}]),
        lambda: dynamodb.put_item(TableName=table, Item={**key, "doc": {"S": "{}"}, "n": {"N": "1"}}),
        lambda: dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True),
        lambda: dynamodb.get_item(TableName=table, Key={"pk": {"S": "order#2"}, "sk": {"S": "map"}}),
        lambda: dynamodb.put_item(TableName=table, Item=key, ConditionExpression="attribute_not_exists(pk)",
                                  ReturnValuesOnConditionCheckFailure="ALL_OLD"),
        lambda: dynamodb.update_item(TableName=table, Key=key, UpdateExpression="SET #n = #n + :one, b = :b",
                                     ExpressionAttributeNames={"#n": "n"},
                                     ExpressionAttributeValues={":one": {"N": "1"}, ":b": {"B": b"\x00\xff"}},
                                     ReturnValues="ALL_NEW"),
        lambda: dynamodb.query(TableName=table, KeyConditionExpression="pk = :pk",
                               ExpressionAttributeValues={":pk": {"S": "order#1"}}),
        lambda: dynamodb.batch_get_item(RequestItems={table: {"Keys": [key], "ConsistentRead": True}}),
        lambda: dynamodb.get_item(TableName=table, Key={"pk": {"S": ""}, "sk": {"S": "map"}}),
        lambda: dynamodb.delete_item(TableName=table, Key=key, ReturnValues="ALL_OLD"),
        lambda: dynamodb.get_item(TableName="no-such-table", Key=key),
        lambda: sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"sku": "A"})),
        lambda: sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, AttributeNames=["ApproximateReceiveCount"]),
        lambda: sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn", "VisibilityTimeout"]),
        lambda: sqs.receive_message(QueueUrl=queue.replace("StockSyncQueue", "NoSuchQueue")),
        lambda: events.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}",
                                            "EventBusName": box.aws.bus_name}]),
        lambda: events.describe_event_bus(Name="no-such-bus"),
        lambda: secrets.get_secret_value(SecretId=box.aws.secret_name("sterling")),
        lambda: secrets.get_secret_value(SecretId="no-such-secret"),
        lambda: dynamodb.batch_write_item(RequestItems={table: [
            {"PutRequest": {"Item": {"pk": {"S": "order#4"}, "sk": {"S": "map"}, "n": {"N": "4"}}}},
            {"DeleteRequest": {"Key": third}}]}),
        lambda: dynamodb.transact_get_items(TransactItems=[
            {"Get": {"TableName": table, "Key": {"pk": {"S": "order#4"}, "sk": {"S": "map"}}}},
            {"Get": {"TableName": table, "Key": third, "ProjectionExpression": "pk"}}]),
    ]]


def test_moto_answers_alike_with_and_without_the_http_detour(monkeypatch: pytest.MonkeyPatch) -> None:
    handled: list[str] = []
    on_handler: list[str] = []
    find, act = aws_local._moto_handler, aws_local._dynamodb_action

    def counted(url: str) -> Any:
        handled.append(url)
        return find(url)

    def counted_action(model: Any, params: dict[str, Any]) -> Any:
        answered = act(model, params)
        if answered is not None:
            on_handler.append(model.name)
        return answered

    monkeypatch.setattr(aws_local, "_moto_handler", counted)
    monkeypatch.setattr(aws_local, "_dynamodb_action", counted_action)
    with Sandbox() as box:
        handled.clear()
        on_handler.clear()
        direct = _calls(box)
    assert len(handled) + len(on_handler) == len(direct), "every call went a short way"
    # DynamoDB's item calls went to its handler, but those that send a blob (moto's parser decodes it).
    assert len(on_handler) == 35, on_handler
    assert set(on_handler) == aws_local._ITEM_ACTIONS

    monkeypatch.setattr(aws_local, "_moto_handler", lambda url: None)
    monkeypatch.setattr(aws_local, "_dynamodb_action", lambda model, params: None)
    with Sandbox() as box:
        usual = _calls(box)
        with moto_fixes.suspended():
            released = _calls(box)

    assert direct == usual
    # The same calls again on the same data: the tables and the queue have moved on, and moto as
    # released must have moved the same way.
    with Sandbox() as box:
        _calls(box)
        again = _calls(box)
    assert released == again
    outcomes = [answer[0] for answer in usual]
    assert outcomes.count("error") == 17, usual


def test_request_ids_are_drawn_as_moto_draws_them() -> None:
    with Sandbox() as box:
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        table = box.aws.physical["StateTable"]

        def request_id() -> str:
            answer = dynamodb.get_item(TableName=table, Key={"pk": {"S": "order#1"}, "sk": {"S": "map"}})
            return str(answer["ResponseMetadata"]["RequestId"])

        repaired = {request_id() for _ in range(20)}
        with moto_fixes.suspended():
            released = {request_id() for _ in range(20)}
    for ids in (repaired, released):
        assert len(ids) == 20
        assert all(len(value) == 52 and set(value) <= set(moto_fixes.REQUEST_ID_CHARACTERS) for value in ids), ids


def test_requests_moto_gets_are_the_ones_werkzeug_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.core.request import Request

    build = aws_local._moto_request
    made: list[tuple[tuple[Any, ...], Any]] = []

    def recorded(method: str, url: str, headers: Any, body: Any) -> tuple[Any, str]:
        request, raw_url = build(method, url, headers, body)
        made.append(((method, url, dict(headers), body), (request, raw_url)))
        return request, raw_url

    monkeypatch.setattr(aws_local, "_moto_request", recorded)
    with Sandbox() as box:
        made.clear()
        _calls(box)
        _calls(box)

    def environ(request: Any) -> dict[str, Any]:
        return {key: value for key, value in request.environ.items() if key not in ("wsgi.input", "werkzeug.request")}

    kinds = {(args[0], args[1], tuple(args[2]), args[2].get("Content-Type")) for args, _ in made}
    assert len(kinds) == 4, "DynamoDB, SQS, EventBridge, Secrets Manager"
    assert len(made) - len(kinds) > len(made) // 2, "most requests were made from a kept pattern"
    for args, (request, raw_url) in made:
        werkzeug = Request.from_primitives(*args)
        assert environ(request) == environ(werkzeug), args
        assert raw_url == request.raw_url == werkzeug.raw_url, args
        assert request.get_data() == werkzeug.get_data() == (args[3] or b""), args


def test_the_repairs_are_made_for_the_pinned_moto_and_refuse_another(monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    import moto

    requirements = Path(__file__).resolve().parents[2] / "requirements" / "dev.txt"
    pinned = [line.split("==")[1].strip() for line in requirements.read_text().splitlines()
              if line.startswith("moto==")]
    assert pinned == [moto_fixes.MOTO_VERSION]
    monkeypatch.setattr(moto_fixes, "_PATCHES", [])
    monkeypatch.setattr(moto, "__version__", "9.9.9")
    with pytest.raises(RuntimeError, match=r"patches moto 5\.2\.5's internals, and moto 9\.9\.9 is installed"):
        moto_fixes.install()
