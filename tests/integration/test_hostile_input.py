"""Hostile input on every HTTP route, over the sandbox: one body limit and one JSON reader for all,
each refusal a 4xx (or a 503 saying what is not configured) with a reason, and nothing on the bus."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from omsbridge.flows import iv_webhook
from sandbox.keys import KeyPair
from sandbox.sim.carrier import sign as partner_sign
from sandbox.stack import SANDBOX_SECRET, Sandbox
from tests.support import Configure, forget_calls

ROOT = Path(__file__).resolve().parents[2]
OPENAPI = yaml.safe_load((ROOT / "api" / "openapi.yaml").read_text())
ROUTES = sorted((method.upper(), path) for path, item in OPENAPI["paths"].items() for method in item)
POSTS = [path for method, path in ROUTES if method == "POST"]
# The one route whose body is a form (RFC 6749 §4.4), not JSON.
FORM_ROUTES = ("/events/iv/token",)
JSON_POSTS = [path for path in POSTS if path not in FORM_ROUTES]
TOKEN = SANDBOX_SECRET["ingress_token"]
KEY_PATH = "/prod/keys/pub-key-hostile.pem"
CLIENT_ID = "hostile-client"
MIB = 1024 * 1024
IO_EVENTS_PATHS = ("/events/commerce", "/events/adobe-io")
IV_CLIENT = {"iv_webhook_client_id": "iv-hostile", "iv_webhook_client_secret": "iv-hostile-secret"}


@pytest.fixture(scope="module")
def box(keypair: KeyPair) -> Iterator[Sandbox]:
    env = {"COMMERCE_WEBHOOK_PUBLIC_KEY": keypair.public_pem, "IO_EVENTS_CLIENT_ID": CLIENT_ID}
    with Sandbox(env=env, io_events_key=keypair.public_pem, secret=IV_CLIENT) as sandbox:
        yield sandbox


@pytest.fixture
def sb(box: Sandbox) -> Sandbox:
    box.drain_tap()
    forget_calls(box)
    return box


def concrete(path: str) -> str:
    return path.replace("{event}", "order.created")


def signed(path: str, raw: str, keypair: KeyPair) -> dict[str, str]:
    """Valid credentials for the route, so that what is refused is the body and nothing else."""
    if path == "/webhooks/stock-check":
        return {"x-adobe-commerce-webhook-signature": keypair.sign(base64.b64encode(raw.encode()))}
    if path in IO_EVENTS_PATHS:
        return {"x-adobe-digital-signature-1": keypair.sign(raw.encode()), "x-adobe-public-key1-path": KEY_PATH}
    if path == "/events/iv":
        token = iv_webhook.issue(IV_CLIENT["iv_webhook_client_id"], IV_CLIENT["iv_webhook_client_secret"], time.time())
        return {"authorization": f"Bearer {token}"}
    if path in FORM_ROUTES:
        return {"content-type": "application/x-www-form-urlencoded"}
    if path.startswith("/callbacks/"):
        return partner_sign(raw, SANDBOX_SECRET["carrier_api_key" if "carrier" in path else "dc_api_key"])
    return {"authorization": f"Bearer {TOKEN}"}


def post(sb: Sandbox, path: str, raw: str, keypair: KeyPair, **headers: str) -> tuple[int, Any]:
    status, _, answer = sb.http("POST", concrete(path), headers={**signed(path, raw, keypair), **headers}, body=raw)
    return status, answer


def assert_refused(sb: Sandbox, status: int, answer: Any, expected: int, error: str) -> None:
    assert (status, answer["error"]) == (expected, error), answer
    assert answer["reason"]
    assert sb.drain_tap() == []
    assert sb.calls() == []


def cloud_event(n: int, **value: Any) -> dict[str, Any]:
    return {"specversion": "1.0", "id": f"evt-{n}", "type": "com.adobe.commerce.observer.sales_order_save_commit_after",
            "time": "2026-11-27T10:00:00.000Z", "recipient_client_id": CLIENT_ID,
            "data": {"key": f"k-{n}", "value": {"increment_id": f"00000{n:04d}", **value}}}


# -- one body limit on every route -------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_refuses_a_body_over_its_limit(sb: Sandbox, keypair: KeyPair, method: str, path: str) -> None:
    size = 2 * MIB + 1 if method == "POST" and path in IO_EVENTS_PATHS else 256 * 1024 + 1
    raw = json.dumps({"pad": "x" * size})
    headers = signed(path, raw, keypair) if method == "POST" else {"authorization": f"Bearer {TOKEN}"}
    status, _, answer = sb.http(method, concrete(path), headers=headers, body=raw, query={"sku": "A", "challenge": "c"})
    assert_refused(sb, status, answer, 413, "too_large")


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_the_api_document_promises_what_every_route_answers(method: str, path: str) -> None:
    assert "413" in OPENAPI["paths"][path][method.lower()]["responses"]


def test_a_base64_body_is_measured_before_it_is_decoded(sb: Sandbox, keypair: KeyPair) -> None:
    raw = json.dumps({"pad": "x" * 300_000}).encode()
    status, _, answer = sb.http("POST", "/webhooks/stock-check", body=raw,
                                headers={"x-adobe-commerce-webhook-signature": keypair.sign(base64.b64encode(raw))})
    assert_refused(sb, status, answer, 413, "too_large")


def test_an_io_events_batch_delivery_of_nearly_two_megabytes_is_taken(sb: Sandbox, keypair: KeyPair) -> None:
    # Adobe I/O Events batches up to 20 events and 2 MB in one POST; each event fits EventBridge alone.
    batch = [cloud_event(n, comment="y" * 180_000) for n in range(10)]
    raw = json.dumps(batch)
    assert 1.5 * MIB < len(raw) < 2 * MIB
    status, answer = post(sb, "/events/commerce", raw, keypair)
    assert (status, answer["accepted"]) == (202, 10)
    assert [event["detail"]["id"] for event in sb.drain_tap()] == [f"evt-{n}" for n in range(10)]


# -- one JSON reader -----------------------------------------------------------------------------------


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


HOSTILE_JSON = {
    "nested-5000": '{"OrderNo": "1", "x": ' + deep(5000) + "}",
    "nested-40": '{"OrderNo": "1", "x": ' + deep(40) + "}",
    "nan": '{"OrderNo": "1", "Quantity": NaN}',
    "infinity": '{"OrderNo": "1", "Quantity": -Infinity}',
    "float-overflow": '{"OrderNo": "1", "Quantity": 1e5000}',
    "long-integer": '{"OrderNo": "1", "Quantity": ' + "9" * 5000 + "}",
    "long-fraction": '{"OrderNo": "1", "Quantity": 0.' + "1" * 100 + "}",
}
EXPECTED_ERROR = {"nested-5000": "too_deep", "nested-40": "too_deep"}


@pytest.mark.parametrize("path", JSON_POSTS)
@pytest.mark.parametrize("case", sorted(HOSTILE_JSON))
def test_every_post_route_refuses_json_no_sender_writes(sb: Sandbox, keypair: KeyPair, path: str, case: str) -> None:
    status, answer = post(sb, path, HOSTILE_JSON[case], keypair)
    assert_refused(sb, status, answer, 400, EXPECTED_ERROR.get(case, "invalid_json"))


@pytest.mark.parametrize("case", sorted(HOSTILE_JSON))
def test_the_token_route_takes_a_form_and_nothing_else(sb: Sandbox, keypair: KeyPair, case: str) -> None:
    status, answer = post(sb, "/events/iv/token", HOSTILE_JSON[case], keypair)
    assert_refused(sb, status, answer, 400, "invalid_request")


def test_ordinary_depth_and_numbers_still_pass(sb: Sandbox, keypair: KeyPair) -> None:
    body = json.dumps({"OrderNo": "1", "EnterpriseCode": "DEFAULT", "x": json.loads(deep(20)),
                       "Quantity": 12345678901234567890, "Price": 0.1 + 0.2})
    status, answer = post(sb, "/events/sterling/{event}", body, keypair)
    assert status == 202, answer


# -- Sterling event times ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("where", "value"), [
    ("header", "2999-01-01T00:00:00Z"), ("Modifyts", "2999-01-01T00:00:00+00:00"), ("header", "not a time"),
])
def test_a_sterling_event_time_in_the_future_or_unreadable_is_refused(
    sb: Sandbox, keypair: KeyPair, where: str, value: str,
) -> None:
    document = {"OrderNo": "1", "EnterpriseCode": "DEFAULT"}
    headers = {"x-event-time": value} if where == "header" else {}
    if where == "Modifyts":
        document["Modifyts"] = value
    status, answer = post(sb, "/events/sterling/{event}", json.dumps(document), keypair, **headers)
    assert_refused(sb, status, answer, 400, "invalid_event_time")


def test_a_sterling_clock_a_little_ahead_is_allowed(sb: Sandbox, keypair: KeyPair) -> None:
    from datetime import UTC, datetime, timedelta

    ahead = (datetime.now(UTC) + timedelta(seconds=60)).isoformat()
    status, _ = post(sb, "/events/sterling/{event}", json.dumps({"OrderNo": "1"}), keypair,
                     **{"x-event-time": ahead})
    assert status == 202
    assert [event["detail"]["time"] for event in sb.drain_tap()] == [ahead]


# -- what EventBridge takes ---------------------------------------------------------------------------------


def test_non_ascii_text_is_measured_as_eventbridge_measures_it(sb: Sandbox, keypair: KeyPair) -> None:
    # 60,000 three-byte characters: 180 KB of UTF-8, 360 KB once JSON escapes them as \\uXXXX.
    document = {"OrderNo": "1", "Notes": {"Note": [{"NoteText": "€" * 60_000}]}}
    status, _ = post(sb, "/events/sterling/{event}", json.dumps(document, ensure_ascii=False), keypair)
    assert status == 202
    [event] = sb.drain_tap()
    assert event["detail"]["data"] == document


def test_a_document_whose_bus_entry_would_be_over_256_kib_is_refused(sb: Sandbox, keypair: KeyPair) -> None:
    # Within the body limit as sent; over EventBridge's entry limit once it is wrapped as an event.
    document = {"OrderNo": "1", "Notes": "x" * (256 * 1024 - 40)}
    raw = json.dumps(document, separators=(",", ":"))
    assert len(raw) <= 256 * 1024
    status, answer = post(sb, "/events/sterling/{event}", raw, keypair)
    assert_refused(sb, status, answer, 413, "event_too_large")


def test_a_batch_with_one_event_too_large_for_eventbridge_puts_the_others(sb: Sandbox, keypair: KeyPair) -> None:
    # Adobe sends a delivery answered 4xx no more ("Retries", developer.adobe.com/events/docs/common/retry-doc):
    # refusing the whole batch for one event would lose the other two for good.
    batch = [cloud_event(1), cloud_event(2, comment="z" * 270_000), cloud_event(3)]
    status, answer = post(sb, "/events/commerce", json.dumps(batch), keypair)
    assert (status, answer["error"], answer["accepted"]) == (413, "event_too_large", 2)
    assert answer["ids"] == ["evt-1", "evt-3"]
    [refused] = answer["refused"]
    assert (refused["index"], refused["id"], refused["error"]) == (1, "evt-2", "event_too_large")
    assert refused["reason"].startswith("the event would be ")
    assert [event["detail"]["id"] for event in sb.drain_tap()] == ["evt-1", "evt-3"]


# -- configuration that is missing is said, not crashed on --------------------------------------------------


def test_io_events_deliveries_are_refused_until_the_client_id_is_set(
    sb: Sandbox, keypair: KeyPair, configure: Configure,
) -> None:
    sb.http("GET", "/events/commerce", query={"challenge": "warm"})
    configure(IO_EVENTS_CLIENT_ID="")
    status, answer = post(sb, "/events/commerce", json.dumps(cloud_event(1)), keypair)
    assert_refused(sb, status, answer, 403, "not_configured")
    assert "IoEventsClientId" in answer["reason"]


@pytest.mark.parametrize(("path", "setting"), [("/callbacks/carrier", "CARRIER_BASE_URL"),
                                               ("/callbacks/dc", "DC_BASE_URL")])
def test_a_callback_with_nothing_configured_is_503_not_configured(
    sb: Sandbox, configure: Configure, path: str, setting: str,
) -> None:
    sb.http("POST", path, body="{}")  # that function's container, so that the setting below stays
    configure(**{setting: ""})
    status, _, answer = sb.http("POST", path, body="{}")
    assert (status, answer["error"]) == (503, "not_configured"), answer
    assert answer["reason"]
