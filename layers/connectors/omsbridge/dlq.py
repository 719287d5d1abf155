"""Parking an event that can never succeed as it is, with the reason, for a later replay."""

from __future__ import annotations

import json
from typing import Any

from omsbridge import aws, config
from omsbridge.errors import IntegrationError
from omsbridge.events import now_iso
from omsbridge.redact import redact_card_data


def record(flow: str, event: Any, error: IntegrationError) -> dict[str, Any]:
    return {"flow": flow, "parked_at": now_iso(), "reason": error.describe(), "event": redact_card_data(event)}


def park(flow: str, event: Any, error: IntegrationError) -> dict[str, Any]:
    """Send the record to this function's DLQ (``DLQ_URL``). Without one, re-raise: never drop."""
    queue_url = config.settings().dlq_url
    if not queue_url:
        raise error
    body = record(flow, event, error)
    aws.client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps(body, default=str))
    return body
