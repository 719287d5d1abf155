"""Callback signatures of the generic partner contract (carrier and WMS, docs/extending.md).

The partner signs the exact request body with HMAC-SHA256 under the secret both sides hold and
sends ``X-Signature: sha256=<hex digest>``. The secret itself never travels, and a body changed on
the way fails the check. Replaying a signed body is harmless: callbacks are idempotent on their
``event_id``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

HEADER = "x-signature"
SCHEME = "sha256"


class SignatureError(Exception):
    """The request is not signed by the partner (answered 401)."""


def sign(body: bytes, key: str) -> str:
    """The ``X-Signature`` value for ``body``."""
    return f"{SCHEME}={hmac.new(key.encode(), body, hashlib.sha256).hexdigest()}"


def verify(body: bytes, headers: Mapping[str, str], key: str) -> None:
    """Raise ``SignatureError`` unless ``headers`` carry a valid signature of ``body``."""
    if not key:
        # Without a configured secret every request would verify against the empty key.
        raise SignatureError("no callback secret is configured")
    presented = next((value for name, value in headers.items() if name.lower() == HEADER), "").strip()
    if not presented:
        raise SignatureError("missing X-Signature header")
    scheme, _, digest = presented.partition("=")
    if scheme.strip().lower() != SCHEME or not digest.strip():
        raise SignatureError("X-Signature is not sha256=<hex digest>")
    if not hmac.compare_digest(sign(body, key), f"{SCHEME}={digest.strip().lower()}"):
        raise SignatureError("X-Signature does not match the body")
