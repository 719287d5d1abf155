"""The sandbox's AWS: moto reached without the HTTP detour answers exactly as moto's usual path does.

``sandbox.aws_local`` hands JSON-protocol calls straight to moto's handler (a ``before-call`` hook)
instead of letting botocore sign and send an HTTP request for moto to route. The same calls, made
once each way, must give the same answers and the same errors.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from sandbox import aws_local
from sandbox.stack import Sandbox

# Fields AWS makes up per call (ids, handles, clocks, a secret ARN's random suffix): they differ
# between any two runs.
PER_CALL = frozenset({"ResponseMetadata", "MessageId", "ReceiptHandle", "EventId", "VersionId", "CreatedDate",
                      "SentTimestamp", "ApproximateFirstReceiveTimestamp", "ARN"})


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
    return [_answer(call) for call in [
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
    ]]


def test_moto_answers_alike_with_and_without_the_http_detour(monkeypatch: pytest.MonkeyPatch) -> None:
    direct_calls: list[str] = []
    find = aws_local._moto_handler

    def counted(url: str) -> Any:
        direct_calls.append(url)
        return find(url)

    monkeypatch.setattr(aws_local, "_moto_handler", counted)
    with Sandbox() as box:
        direct_calls.clear()
        direct = _calls(box)
    assert len(direct_calls) == len(direct), "every call went the short way"

    monkeypatch.setattr(aws_local, "_moto_handler", lambda url: None)
    with Sandbox() as box:
        usual = _calls(box)

    assert direct == usual
    outcomes = [answer[0] for answer in usual]
    assert outcomes.count("error") == 6, usual
