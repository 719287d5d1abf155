"""Exactly-once side effects, keyed on a business key (Powertools Idempotency on DynamoDB)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

from omsbridge import aws, config
from omsbridge.errors import RetryableError

# Long enough to outlive any redelivery (I/O Events retries ~31 min, EventBridge up to 24 h,
# the DLQ keeps 14 days): a replayed event is still recognised.
RECORD_DAYS = 30


@functools.cache
def _persistence() -> DynamoDBPersistenceLayer:
    return DynamoDBPersistenceLayer(
        table_name=config.settings().idempotency_table,
        boto3_client=aws.client("dynamodb"),
    )


config.on_reset(_persistence.cache_clear)

_lambda_context: list[Any] = []


def use_lambda_context(context: Any) -> None:
    """Remember this invocation's context: an in-flight record then expires with the invocation,
    so a function killed mid-flight does not block its own redelivery for the record's lifetime."""
    _lambda_context[:] = [context]


def once(scope: str, key: str, effect: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], bool]:
    """Run ``effect`` once per (scope, key). Returns (its result, whether this call ran it).

    A second call with the same key returns the stored result without running ``effect``. A call
    while another is still in flight raises ``RetryableError`` so the event is delivered again.
    """
    ran = False
    settings = IdempotencyConfig(expires_after_seconds=RECORD_DAYS * 86400)
    if _lambda_context:
        settings.register_lambda_context(_lambda_context[0])

    @idempotent_function(data_keyword_argument="request", persistence_store=_persistence(), config=settings)
    def _once(request: dict[str, str]) -> dict[str, Any]:
        nonlocal ran
        ran = True
        return effect()

    try:
        result = _once(request={"scope": scope, "key": key})
    except IdempotencyAlreadyInProgressError as exc:
        raise RetryableError(f"{scope} {key} is in progress elsewhere", system="idempotency") from exc
    return result, ran
