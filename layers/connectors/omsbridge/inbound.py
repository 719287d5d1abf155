"""What every HTTP route does with a request before anything else reads it.

One size limit per route (``body_limit``), checked on the raw API Gateway event before the body is
decoded, and one JSON reader (``loads``) that refuses what none of our senders writes: NaN and
Infinity (EventBridge would refuse them later, so the sender would resend forever), number tokens
longer than any real value (a 5,000-digit integer, ``1e2000000``), and nesting deeper than any
Commerce or Sterling document. Every refusal is a ``Refusal``: a 4xx with a reason, never a 5xx.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping
from typing import Any

from omsbridge import config
from omsbridge.observability import count, logger

# Commerce's and Sterling's documents nest about a dozen levels; the JSON parser itself fails at
# about a thousand, with an error that is no answer.
MAX_DEPTH = 32
# A JSON number longer than this is no quantity, amount or id either system writes.
MAX_NUMBER_CHARS = 40
# Adobe I/O Events delivers up to 20 events, 2 MB, in one batch POST.
ROUTE_LIMITS = dict.fromkeys(("POST /events/commerce", "POST /events/adobe-io"), "io_events_max_body_bytes")


class Refusal(Exception):
    """A request refused before it was read: answered ``status`` with ``{"error", "reason"}``."""

    def __init__(self, status: int, error: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.error = error
        self.reason = reason

    def body(self) -> dict[str, str]:
        return {"error": self.error, "reason": self.reason}

    def api_result(self) -> dict[str, Any]:
        """The API Gateway (HTTP API, payload 2.0) answer."""
        return {"statusCode": self.status, "headers": {"content-type": "application/json"},
                "body": json.dumps(self.body())}

    def counted(self) -> Refusal:
        count(f"rejected_{self.status}")
        logger.info("rejected", extra={"status": self.status, "error": self.error, "reason": self.reason})
        return self


def body_limit(event: Mapping[str, Any]) -> int:
    """The most bytes the event's route accepts."""
    settings = config.settings()
    route = str(event.get("routeKey") or "")
    return int(getattr(settings, ROUTE_LIMITS.get(route, "max_body_bytes")))


def raw_body(event: Mapping[str, Any]) -> bytes:
    """The request body as sent, within the route's limit; raises ``Refusal`` (413 or 400)."""
    limit = body_limit(event)
    body = event.get("body") or ""
    encoded = body.encode() if isinstance(body, str) else bytes(body)
    is_base64 = bool(event.get("isBase64Encoded"))
    # Measured before decoding: base64 is 4 characters per 3 bytes, less its padding.
    size = len(encoded) * 3 // 4 - encoded[-2:].count(b"=") if is_base64 else len(encoded)
    if size > limit:
        raise Refusal(413, "too_large", f"body is {size} bytes; the limit is {limit}")
    if not is_base64:
        return encoded
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Refusal(400, "invalid_body", "body is not valid base64") from exc


def oversized(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """For handlers: the 413 answer when the body is over the route's limit, else None."""
    try:
        raw_body(event)
    except Refusal as refusal:
        return refusal.counted().api_result()
    return None


def _short(token: str) -> str:
    if len(token) > MAX_NUMBER_CHARS:
        raise ValueError(f"a number of {len(token)} characters")
    return token


def _finite_float(token: str) -> float:
    value = float(_short(token))
    if not math.isfinite(value):
        raise ValueError(f"number {token} is out of range")
    return value


def _int(token: str) -> int:
    return int(_short(token))


def _no_constant(token: str) -> Any:
    raise ValueError(f"{token} is not a JSON number")


def depth(value: Any) -> int:
    """How deeply ``value`` nests objects and arrays (a scalar is 0), without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def loads(raw: bytes | str) -> Any:
    """Parse a request body; raises ``Refusal`` (400) with the reason for anything refused."""
    try:
        value = json.loads(raw, parse_float=_finite_float, parse_int=_int, parse_constant=_no_constant)
    except RecursionError as exc:
        raise Refusal(400, "too_deep", f"JSON nests more than {MAX_DEPTH} levels") from exc
    except UnicodeDecodeError as exc:
        raise Refusal(400, "invalid_json", "body is not UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise Refusal(400, "invalid_json", "body is not valid JSON") from exc
    except ValueError as exc:
        raise Refusal(400, "invalid_json", f"body is not acceptable JSON: {str(exc)[:120]}") from exc
    if depth(value) > MAX_DEPTH:
        raise Refusal(400, "too_deep", f"JSON nests more than {MAX_DEPTH} levels")
    return value
