"""Adobe Commerce webhooks (the synchronous Webhooks module): answers and signature verification.

Commerce calls a webhook endpoint while the shopper waits and reads its HTTP 200 answer as one
operation or a list of them: ``success`` lets the action go on, ``exception`` stops it and shows
its message; ``add`` / ``replace`` / ``remove`` change the data. Anything else (another status, a
timeout, an unreadable body) is a hook failure, handled by the hook's ``required`` setting.

Commerce signs each request with its private key and sends ``x-adobe-commerce-webhook-signature``:
base64 of an RSA-SHA256 (PKCS#1 v1.5) signature. Adobe documents the signed bytes as the *base64
encoding of the raw body* (its samples verify ``base64(body)``); ``signed="raw"`` verifies over the
raw body instead, for instances that sign it directly. The public key (from the Commerce Admin) is
not a secret; a second, next key is accepted while keys are rotated.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Iterable
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key

SIGNATURE_HEADER = "x-adobe-commerce-webhook-signature"

SignedBytes = Literal["base64", "raw"]
Operation = dict[str, Any]

_PEM_HEADER = re.compile(r"-----(BEGIN|END) [A-Z ]+-----")


class SignatureError(Exception):
    """The request is not provably from this Commerce instance."""


# -- operations -------------------------------------------------------------------------------------


def success() -> Operation:
    return {"op": "success"}


def exception(message: str | None = None, exception_class: str | None = None) -> Operation:
    """Stop the Commerce action. Without a message Commerce shows the hook's fallbackErrorMessage."""
    operation: Operation = {"op": "exception"}
    if message:
        operation["message"] = message
    if exception_class:
        operation["type"] = exception_class
    return operation


def add(path: str, value: Any, instance: str | None = None) -> Operation:
    operation: Operation = {"op": "add", "path": path, "value": value}
    if instance:
        operation["instance"] = instance
    return operation


def replace(path: str, value: Any, instance: str | None = None) -> Operation:
    operation: Operation = {"op": "replace", "path": path, "value": value}
    if instance:
        operation["instance"] = instance
    return operation


def remove(path: str) -> Operation:
    return {"op": "remove", "path": path}


# -- signature --------------------------------------------------------------------------------------


def normalise_pem(text: str) -> bytes:
    """The key as DER bytes, however the PEM survived configuration.

    CloudFormation parameters and .env files often flatten the Admin's multi-line PEM into one
    line, or keep ``\\n`` as two characters; the base64 body between the markers is all that counts.
    """
    body = _PEM_HEADER.sub("", text.replace("\\n", "\n"))
    compact = "".join(body.split())
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("configured public key is not PEM or base64") from exc


@functools.cache
def public_key(text: str) -> rsa.RSAPublicKey:
    """Parse a configured key once per container."""
    try:
        key = load_der_public_key(normalise_pem(text))
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise SignatureError("configured public key cannot be read") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureError("configured public key is not an RSA key")
    return key


def signed_bytes(raw_body: bytes, signed: SignedBytes) -> bytes:
    return base64.b64encode(raw_body) if signed == "base64" else raw_body


def verify(raw_body: bytes, signature: str | None, public_keys: Iterable[str],
           signed: SignedBytes = "base64") -> None:
    """Return when ``signature`` verifies under one of ``public_keys``; raise ``SignatureError``."""
    keys = [key for key in public_keys if key.strip()]
    if not keys:
        raise SignatureError("no Commerce webhook public key is configured")
    if not signature:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    try:
        decoded = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("signature is not base64") from exc
    data = signed_bytes(raw_body, signed)
    unreadable: list[str] = []
    for text in keys:
        try:
            key = public_key(text)
        except SignatureError as exc:
            unreadable.append(str(exc))
            continue
        try:
            key.verify(decoded, data, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            continue
        return
    if len(unreadable) == len(keys):
        raise SignatureError("; ".join(unreadable))
    raise SignatureError("signature does not verify")
