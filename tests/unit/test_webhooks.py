"""Commerce webhook operations and ``x-adobe-commerce-webhook-signature`` verification."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from omsbridge import webhooks
from omsbridge.webhooks import SignatureError
from tests.support import KeyPair

BODY = b'{"eventName":"checkout_cart_product_add_before","data":{"product":{"sku":"MS-1"},"info":{"qty":"2"}}}'


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        pytest.param(webhooks.success(), {"op": "success"}, id="success"),
        pytest.param(webhooks.exception("Only 2 left"), {"op": "exception", "message": "Only 2 left"},
                     id="exception-with-message"),
        pytest.param(webhooks.exception(), {"op": "exception"}, id="exception-uses-fallback-message"),
        pytest.param(webhooks.exception("No", "Magento\\Framework\\Exception\\LocalizedException"),
                     {"op": "exception", "message": "No",
                      "type": "Magento\\Framework\\Exception\\LocalizedException"}, id="exception-with-type"),
        pytest.param(webhooks.add("result", {"a": 1}), {"op": "add", "path": "result", "value": {"a": 1}},
                     id="add"),
        pytest.param(webhooks.add("result", {"a": 1}, "Magento\\Quote\\Api\\Data\\ShippingMethodInterface"),
                     {"op": "add", "path": "result", "value": {"a": 1},
                      "instance": "Magento\\Quote\\Api\\Data\\ShippingMethodInterface"}, id="add-with-instance"),
        pytest.param(webhooks.replace("result/one/amount", 5),
                     {"op": "replace", "path": "result/one/amount", "value": 5}, id="replace"),
        pytest.param(webhooks.remove("result/one"), {"op": "remove", "path": "result/one"}, id="remove"),
    ],
)
def test_operations(operation: dict[str, Any], expected: dict[str, Any]) -> None:
    assert operation == expected


def test_signed_bytes_are_the_base64_of_the_body_or_the_body() -> None:
    assert webhooks.signed_bytes(b"{}", "base64") == b"e30="
    assert webhooks.signed_bytes(b"{}", "raw") == b"{}"


def test_adobe_documented_signature_verifies(keypair: KeyPair) -> None:
    signature = keypair.sign(base64.b64encode(BODY))
    webhooks.verify(BODY, signature, [keypair.public_pem], "base64")


def test_raw_body_signature_verifies_in_raw_mode(keypair: KeyPair) -> None:
    webhooks.verify(BODY, keypair.sign(BODY), [keypair.public_pem], "raw")


@pytest.mark.parametrize(("signed_over", "mode"), [("raw", "base64"), ("base64", "raw")])
def test_signature_over_the_other_bytes_does_not_verify(keypair: KeyPair, signed_over: str, mode: Any) -> None:
    data = BODY if signed_over == "raw" else base64.b64encode(BODY)
    with pytest.raises(SignatureError, match=r"^signature does not verify$"):
        webhooks.verify(BODY, keypair.sign(data), [keypair.public_pem], mode)


def test_tampered_body_does_not_verify(keypair: KeyPair) -> None:
    signature = keypair.sign(base64.b64encode(BODY))
    with pytest.raises(SignatureError, match=r"^signature does not verify$"):
        webhooks.verify(BODY.replace(b'"2"', b'"1"'), signature, [keypair.public_pem])


def test_rotation_accepts_the_next_key(keypair: KeyPair, other_keypair: KeyPair) -> None:
    signature = other_keypair.sign(base64.b64encode(BODY))
    webhooks.verify(BODY, signature, [keypair.public_pem, other_keypair.public_pem])
    with pytest.raises(SignatureError, match=r"^signature does not verify$"):
        webhooks.verify(BODY, signature, [keypair.public_pem, ""])


@pytest.mark.parametrize(
    ("signature", "keys", "reason"),
    [
        pytest.param(None, "current", "missing x-adobe-commerce-webhook-signature header", id="missing"),
        pytest.param("", "current", "missing x-adobe-commerce-webhook-signature header", id="empty"),
        pytest.param("not base64!", "current", "signature is not base64", id="not-base64"),
        pytest.param("c2lnbmF0dXJl", "none", "no Commerce webhook public key is configured", id="no-key"),
        pytest.param("c2lnbmF0dXJl", "garbage", "configured public key cannot be read", id="unreadable-key"),
        pytest.param("c2lnbmF0dXJl", "not-base64", "configured public key is not PEM or base64", id="not-a-key"),
    ],
)
def test_rejections_say_why(keypair: KeyPair, signature: str | None, keys: str, reason: str) -> None:
    configured = {
        "current": [keypair.public_pem],
        "none": ["", "  "],
        "garbage": ["-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"],
        "not-base64": ["this is not a key"],
    }[keys]
    with pytest.raises(SignatureError) as raised:
        webhooks.verify(BODY, signature, configured)
    assert str(raised.value) == reason


def test_an_unreadable_current_key_does_not_block_the_next_one(keypair: KeyPair) -> None:
    webhooks.verify(BODY, keypair.sign(base64.b64encode(BODY)), ["not a key", keypair.public_pem])


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda pem: pem, id="as-admin-shows-it"),
        pytest.param(lambda pem: pem.replace("\n", " "), id="flattened-to-one-line"),
        pytest.param(lambda pem: pem.replace("\n", "\\n"), id="escaped-newlines"),
        pytest.param(lambda pem: "".join(line for line in pem.splitlines() if "-----" not in line),
                     id="bare-base64"),
    ],
)
def test_public_key_survives_how_configuration_mangles_it(keypair: KeyPair, mangle: Any) -> None:
    webhooks.verify(BODY, keypair.sign(base64.b64encode(BODY)), [mangle(keypair.public_pem)])


def test_non_rsa_key_is_refused() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    with pytest.raises(SignatureError, match=r"^configured public key is not an RSA key$"):
        webhooks.verify(BODY, "c2lnbmF0dXJl", [pem])
