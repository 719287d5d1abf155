"""Every HTTP route, fed generated bodies, headers and sizes: never a 5xx, every answer a JSON
object, and nothing on the bus unless the request was accepted. The bodies include what no sender
of ours writes (NaN, Infinity, numbers of thousands of digits, nesting thousands deep, also inside
documents that are otherwise right) and Sterling documents of other enterprises, which the flows
must never apply.

The routes come from the project's OpenAPI document, which is held equal to template.yaml's routes.
The default run is short; ``make test-all`` also runs the long one.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omsbridge.events import STERLING_DETAIL_TYPES
from sandbox import template
from sandbox.keys import KeyPair, new_keypair
from sandbox.sim.carrier import sign as partner_sign
from sandbox.stack import SANDBOX_SECRET, Sandbox
from tests.support import forget_calls

ROOT = Path(__file__).resolve().parents[2]
OPENAPI = yaml.safe_load((ROOT / "api" / "openapi.yaml").read_text())
TOKEN = SANDBOX_SECRET["ingress_token"]
KEY_PATH = "/prod/keys/pub-key-fuzz.pem"
# ``make test`` tries a few dozen inputs per route; the ``slow`` runs (``make test-all``) ten times more.
SETTINGS = settings(max_examples=30, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
LONG = settings(SETTINGS, max_examples=300, derandomize=False)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
# Shapes close to what each route accepts, so the fuzzer gets past the first check.
NEAR_MISSES = [
    {"OrderNo": "1"}, {"ShipmentNo": "S1", "ShipmentLines": {"ShipmentLine": "x"}},
    {"ItemID": "SKU", "AvailabilityChanges": {"AvailabilityChange": [{"Node": None}]}},
    {"data": {"product": {"sku": 5}, "info": {"qty": "-1"}}}, {"order": {"items": [{"sku": None, "qty_ordered": "x"}]}},
    {"data": {"item": {"sku": "", "qty": 1e308}}}, {"type": "productAvailability.v2", "data": []},
    {"id": "e", "type": "com.adobe.commerce.observer.x", "data": {"value": []}},
    {"event_id": "1", "type": "shipped", "release_key": "nope", "lines": [{"sku": "A", "shipped": -3}]},
    {"event_id": "1", "tracking_number": "1Z", "status": "delivered", "occurred_at": "yesterday"},
]
# Values no sender writes, as JSON text: constants JSON has not, numbers too long or too large for
# any quantity, amount or id, and nesting far deeper than any document.
hostile_numbers = st.one_of(
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e5000", "-1e400", "1e2000000"]),
    st.integers(min_value=41, max_value=6000).map(lambda n: "9" * n),
    st.integers(min_value=41, max_value=400).map(lambda n: "0." + "1" * n),
)
nesting = st.integers(min_value=33, max_value=6000)
hostile_values = st.one_of(
    hostile_numbers,
    st.tuples(nesting, hostile_numbers | st.just("1")).map(lambda t: "[" * t[0] + t[1] + "]" * t[0]),
    nesting.map(lambda n: '{"a":' * n + "1" + "}" * n),
)


def _planted(doc: Any, value: str) -> str:
    """``doc`` as JSON with ``value`` (JSON text) planted as its last member."""
    text = json.dumps(doc)
    return text[:-1] + (", " if len(doc) else "") + f'"planted": {value}}}'


bodies = st.one_of(
    st.text(max_size=200),
    json_values.map(json.dumps),
    st.sampled_from(NEAR_MISSES).map(json.dumps),
    st.sampled_from(NEAR_MISSES).flatmap(lambda doc: st.just(json.dumps([doc, doc]))),
    st.integers(min_value=200_000, max_value=400_000).map(lambda n: json.dumps({"pad": "x" * n})),
    hostile_values,
    st.tuples(st.sampled_from(NEAR_MISSES), hostile_values).map(lambda t: _planted(*t)),
)
# Sterling documents of an enterprise (or inventory organization) this bridge does not serve.
enterprise_codes = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=24
                           ).filter(lambda code: code.strip() and code.strip() != "DEFAULT")
FOREIGN_DOCUMENTS: dict[str, dict[str, Any]] = {
    "order.created": {"OrderNo": "000000101", "Status": "1100"},
    "order.changed": {"OrderNo": "000000101", "Status": "3200", "HoldFlag": "Y"},
    "order.cancelled": {"OrderNo": "000000101", "MinOrderStatus": "9000", "MaxOrderStatus": "9000"},
    "order.released": {"OrderReleaseKey": "R1", "OrderNo": "000000101", "ShipNode": "default"},
    "shipment.ready_to_ship": {"ShipmentNo": "S1", "ShipNode": "default",
                               "ShipmentLines": {"ShipmentLine": [{"OrderNo": "000000101", "Quantity": "1"}]}},
    "shipment.shipped": {"ShipmentNo": "S1", "ShipNode": "default", "Status": "1400",
                         "ShipmentLines": {"ShipmentLine": [{"OrderNo": "000000101", "Quantity": "1"}]}},
    "shipment.ready_for_pickup": {"ShipmentNo": "S1", "ShipNode": "store_1",
                                  "ShipmentLines": {"ShipmentLine": [{"OrderNo": "000000101"}]}},
    "inventory.changed": {"ItemID": "DEMO-MUG", "AvailabilityChanges": {"AvailabilityChange": [
        {"Node": "default", "OnhandAvailableQuantity": "0"}]}},
    "return.refunded": {"OrderNo": "RMA-1", "DocumentType": "0003"},
}
header_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60)


def _routes() -> list[tuple[str, str]]:
    return sorted((method.upper(), path) for path, item in OPENAPI["paths"].items() for method in item)


def test_the_openapi_document_lists_exactly_the_template_routes() -> None:
    in_template = sorted(
        (method, path) for function in template.read().functions.values() for method, path in function.routes)
    assert _routes() == in_template


@pytest.fixture(scope="module")
def keys() -> KeyPair:
    return new_keypair()


@pytest.fixture(scope="module")
def box(keys: KeyPair) -> Iterator[Sandbox]:
    env = {"COMMERCE_WEBHOOK_PUBLIC_KEY": keys.public_pem, "IO_EVENTS_CLIENT_ID": "fuzz-client"}
    with Sandbox(env=env, io_events_key=keys.public_pem) as sandbox:
        yield sandbox


def _sign(path: str, raw: str, keys: KeyPair) -> dict[str, str]:
    """A valid signature for the route's scheme: the fuzzer then reaches the body checks."""
    if path == "/webhooks/stock-check":
        return {"x-adobe-commerce-webhook-signature": keys.sign(base64.b64encode(raw.encode()))}
    if path in ("/events/commerce", "/events/adobe-io"):
        return {"x-adobe-digital-signature-1": keys.sign(raw.encode()), "x-adobe-public-key1-path": KEY_PATH}
    if path.startswith("/callbacks/"):
        key = SANDBOX_SECRET["carrier_api_key" if "carrier" in path else "dc_api_key"]
        return partner_sign(raw, key)
    return {"authorization": f"Bearer {TOKEN}"}


def _check(box: Sandbox, method: str, path: str, headers: dict[str, str], body: str | None,
           query: dict[str, str] | None = None) -> None:
    box.drain_tap()
    status, _, answer = box.http(method, path, headers=headers, body=body, query=query)
    put = box.drain_tap()
    assert status < 500, (path, status, answer)
    assert isinstance(answer, dict), (path, status, answer)
    if status >= 400:
        assert put == [], (path, status, answer)
        assert answer, (path, status)


posts = st.fixed_dictionaries({
    "body": bodies, "signed": st.booleans(),
    "junk": st.dictionaries(
        st.sampled_from(["authorization", "content-type", "x-adobe-commerce-webhook-signature",
                         "x-adobe-digital-signature-1", "x-adobe-public-key1-path", "x-signature", "x-event-time"]),
        header_values, max_size=4),
    "event": st.sampled_from(sorted(STERLING_DETAIL_TYPES)) | st.text(max_size=20),
})
gets = st.fixed_dictionaries({
    "query": st.dictionaries(st.sampled_from(["sku", "qty", "postcode", "country", "challenge", "lat", "x"]),
                             header_values | hostile_numbers, max_size=5),
    "authorised": st.booleans(),
    "junk": st.dictionaries(st.sampled_from(["authorization", "origin"]), header_values, max_size=2),
    "body": st.none() | bodies,
})


def _post(box: Sandbox, keys: KeyPair, method: str, path: str, case: dict[str, Any]) -> None:
    target = path.replace("{event}", case["event"].replace("/", "_") or "x")
    headers = {**case["junk"], **(_sign(path, case["body"], keys) if case["signed"] else {})}
    _check(box, method, target, headers, case["body"])


def _get(box: Sandbox, method: str, path: str, case: dict[str, Any]) -> None:
    headers = {**case["junk"], **({"authorization": f"Bearer {TOKEN}"} if case["authorised"] else {})}
    _check(box, method, path, headers, case["body"], case["query"])


POST_ROUTES = [r for r in _routes() if r[0] == "POST"]
GET_ROUTES = [r for r in _routes() if r[0] == "GET"]


@pytest.mark.parametrize(("method", "path"), POST_ROUTES)
@SETTINGS
@given(case=posts)
def test_posts_never_fail_with_a_5xx(box: Sandbox, keys: KeyPair, method: str, path: str,
                                     case: dict[str, Any]) -> None:
    _post(box, keys, method, path, case)


@pytest.mark.parametrize(("method", "path"), GET_ROUTES)
@SETTINGS
@given(case=gets)
def test_gets_never_fail_with_a_5xx(box: Sandbox, method: str, path: str, case: dict[str, Any]) -> None:
    _get(box, method, path, case)


@pytest.mark.slow
@pytest.mark.parametrize(("method", "path"), POST_ROUTES)
@LONG
@given(case=posts)
def test_posts_never_fail_with_a_5xx_long_run(box: Sandbox, keys: KeyPair, method: str, path: str,
                                              case: dict[str, Any]) -> None:
    _post(box, keys, method, path, case)


@pytest.mark.slow
@pytest.mark.parametrize(("method", "path"), GET_ROUTES)
@LONG
@given(case=gets)
def test_gets_never_fail_with_a_5xx_long_run(box: Sandbox, method: str, path: str, case: dict[str, Any]) -> None:
    _get(box, method, path, case)


def _foreign_documents_are_never_applied(box: Sandbox, detail_type: str, enterprise: str, wrapped: bool) -> None:
    document = {**FOREIGN_DOCUMENTS[detail_type],
                "InventoryOrganizationCode" if detail_type == "inventory.changed" else "EnterpriseCode": enterprise}
    sent = {"data": document} if wrapped else document
    box.deliver()
    forget_calls(box)
    for name, url in box.aws.physical.items():
        while name.endswith("DeadLetterQueue") and (messages := box.aws.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10).get("Messages")):
            for message in messages:
                box.aws.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    status, _, answer = box.http("POST", f"/events/sterling/{detail_type}", body=json.dumps(sent),
                                 headers={"authorization": f"Bearer {TOKEN}"})
    assert status == 202, answer
    box.deliver()
    assert box.calls() == [], (detail_type, enterprise)
    parked = [record for name in box.stack.functions for record in box.dlq(name)]
    assert parked, (detail_type, enterprise)
    assert {record["reason"]["code"] for record in parked} == {"foreign_enterprise"}


wrong_tenant = st.fixed_dictionaries({"detail_type": st.sampled_from(sorted(FOREIGN_DOCUMENTS)),
                                      "enterprise": enterprise_codes, "wrapped": st.booleans()})


@settings(SETTINGS, max_examples=20)
@given(case=wrong_tenant)
def test_documents_of_other_enterprises_are_parked_and_never_applied(box: Sandbox, case: dict[str, Any]) -> None:
    _foreign_documents_are_never_applied(box, **case)


@pytest.mark.slow
@settings(LONG, max_examples=200)
@given(case=wrong_tenant)
def test_documents_of_other_enterprises_are_parked_and_never_applied_long_run(box: Sandbox,
                                                                             case: dict[str, Any]) -> None:
    _foreign_documents_are_never_applied(box, **case)


def test_an_accepted_request_is_the_only_kind_that_reaches_the_bus(box: Sandbox) -> None:
    """The fuzz checks above would pass vacuously if nothing ever got through: this one does."""
    box.drain_tap()
    status, _, _ = box.http("POST", "/events/sterling/order.created", body=json.dumps({"OrderNo": "F1"}),
                            headers={"authorization": f"Bearer {TOKEN}"})
    assert status == 202
    assert [e["detail-type"] for e in box.drain_tap()] == ["order.created"]


