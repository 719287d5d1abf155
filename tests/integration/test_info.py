"""GET /info end to end over the sandbox: InfoFunction behind the HTTP API, the ingress bearer token,
one cheap authenticated call to each simulator, and answers that never carry what the far side said
or any secret."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from omsbridge import config
from omsbridge.config import SECRET_CONCERNS
from sandbox.contracts import assert_commerce_contract
from sandbox.sim.base import Fault
from sandbox.stack import SANDBOX_SECRET, Sandbox
from tests.support import forget_calls

ROOT = Path(__file__).resolve().parents[2]
BEARER = {"authorization": f"Bearer {SANDBOX_SECRET['ingress_token']}"}
COMMERCE_PROBE = ("GET", "/rest/default/V1/inventory/sources",
                  {"searchCriteria[pageSize]": "1", "searchCriteria[currentPage]": "1"}, None)
STERLING_LOGIN = ("POST", "/smcfs/restapi/invoke/login", None,
                  {"LoginID": "sandbox", "Password": SANDBOX_SECRET["sterling_password"]})
STERLING_PROBE = ("POST", "/smcfs/restapi/invoke/getOrderList", None,
                  {"OrderNo": "oms-bridge-info-probe", "EnterpriseCode": "DEFAULT", "DocumentType": "0001"})


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def sb(box: Sandbox) -> Iterator[Sandbox]:
    """The module's sandbox with no call recorded yet; what a test changes is put back after it."""
    original = read_secret(box)
    forget_calls(box)
    yield box
    for simulator in box.simulators.values():
        simulator.faults.clear()
    if read_secret(box) != original:
        change_secret(box, **original)
    if box.env_overrides:
        box.env_overrides.clear()
        box.http("GET", "/events/commerce")


def get_info(sb: Sandbox, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    status, response_headers, body = sb.http("GET", "/info", headers=BEARER if headers is None else headers)
    assert response_headers["content-type"] == "application/json"
    return status, body


def calls(sb: Sandbox) -> list[tuple[str, str, Any, Any]]:
    """(method, path, query or None, body) of every simulator call; Sterling's session left out."""
    return [(c["method"], c["path"], c["query"] if c["system"] == "commerce" else None, c["body"])
            for c in sb.calls()]


def read_secret(sb: Sandbox) -> dict[str, str]:
    """Every key of the stack's secrets, as Secrets Manager holds them now."""
    client = boto3.client("secretsmanager", region_name="us-east-1")
    values: dict[str, str] = {}
    for concern in SECRET_CONCERNS:
        values.update(json.loads(client.get_secret_value(SecretId=sb.aws.secret_name(concern))["SecretString"]))
    return values


def change_secret(sb: Sandbox, **changes: str) -> None:
    """What an operator does in Secrets Manager, then a cold start: the container reads it anew."""
    sb.aws.put_secret(**changes)
    config.reset()


def new_container(sb: Sandbox, **env: str) -> None:
    """Start InfoFunction's next container with ``env`` (the sandbox applies environment changes
    when it switches functions, so another function runs first)."""
    sb.env_overrides.update(env)
    sb.http("GET", "/events/commerce")


def without_latency(upstream: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    for result in upstream.values():
        if "latency_ms" in result:
            assert isinstance(result["latency_ms"], float)
            assert result["latency_ms"] >= 0
    return {name: {k: v for k, v in result.items() if k != "latency_ms"} for name, result in upstream.items()}


def test_info_names_the_deployment_and_finds_both_systems_reachable(sb: Sandbox) -> None:
    status, body = get_info(sb)

    assert status == 200
    assert without_latency(body.pop("upstream")) == {"commerce": {"status": "ok"}, "sterling": {"status": "ok"}}
    fingerprint = body.pop("config_fingerprint")
    assert re.fullmatch(r"sha256:[0-9a-f]{16}", fingerprint)
    assert sorted(body.pop("functions")) == sorted(sb.stack.functions)
    assert body == {"service": "oms-bridge", "status": "ok", "version": "0.1.0"}
    assert sorted(calls(sb)) == sorted([COMMERCE_PROBE, STERLING_LOGIN, STERLING_PROBE])
    assert_commerce_contract(sb.commerce)


def test_the_sample_event_answers_like_the_route(sb: Sandbox) -> None:
    event = json.loads((ROOT / "events/info/info.json").read_text())
    result = sb.invoke("InfoFunction", event)
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["status"] == "ok"
    unauthenticated = json.loads((ROOT / "events/info/info_unauthenticated.json").read_text())
    assert sb.invoke("InfoFunction", unauthenticated)["statusCode"] == 401


@pytest.mark.parametrize(("headers", "reason"), [
    ({}, "missing bearer token"),
    ({"authorization": "Basic c2FuZGJveDpzYW5kYm94"}, "missing bearer token"),
    ({"authorization": "Bearer not-the-token"}, "invalid bearer token"),
], ids=["none", "basic", "wrong"])
def test_without_the_ingress_token_nothing_is_told_and_nothing_is_called(
    sb: Sandbox, headers: dict[str, str], reason: str,
) -> None:
    assert get_info(sb, headers) == (401, {"error": "unauthenticated", "reason": reason})
    assert sb.calls() == []


def test_the_next_ingress_token_works_during_rotation(sb: Sandbox) -> None:
    change_secret(sb, ingress_token_next="rotated-token")
    for token in ("rotated-token", SANDBOX_SECRET["ingress_token"]):
        status, body = get_info(sb, {"authorization": f"Bearer {token}"})
        assert (status, body["status"]) == (200, "ok")


def test_a_sterling_error_shows_as_its_status_never_its_body(sb: Sandbox, capfd: pytest.CaptureFixture[str]) -> None:
    sb.sterling.faults.script(r"/invoke/getOrderList$", Fault("status", status=503))

    status, body = get_info(sb)

    assert status == 200
    assert without_latency(body["upstream"]) == {
        "commerce": {"status": "ok"}, "sterling": {"status": "error", "error": "HTTP 503"}}
    assert body["status"] == "degraded"
    # One attempt only: /info reports, it does not retry.
    assert [c[1] for c in calls(sb)].count(STERLING_PROBE[1]) == 1
    logged = capfd.readouterr()
    assert "injected fault" not in json.dumps(body) + logged.out + logged.err


def test_rejected_commerce_credentials_show_as_401_without_commerce_s_message(sb: Sandbox) -> None:
    change_secret(sb, commerce_consumer_secret="not-the-secret")

    status, body = get_info(sb)

    [probe] = [c for c in sb.calls() if c["system"] == "commerce"]
    assert probe["status"] == 401
    assert status == 200
    assert without_latency(body["upstream"]) == {
        "commerce": {"status": "error", "error": "HTTP 401"}, "sterling": {"status": "ok"}}
    assert "authorized" not in json.dumps(body)


def test_a_slow_sterling_times_out_within_the_probe_timeout(sb: Sandbox) -> None:
    new_container(sb, HTTP_READ_TIMEOUT="0.2")
    sb.sterling.faults.script(r"/invoke/getOrderList$", Fault("timeout", seconds=0.6))
    status, body = get_info(sb)
    assert status == 200
    assert without_latency(body["upstream"])["sterling"] == {"status": "error", "error": "timed out"}
    assert body["upstream"]["sterling"]["latency_ms"] >= 200


def test_an_unconfigured_system_is_reported_and_not_called(sb: Sandbox) -> None:
    new_container(sb, COMMERCE_BASE_URL="")
    status, body = get_info(sb)
    systems = {c["system"] for c in sb.calls()}
    assert (status, body["status"]) == (200, "ok")
    assert without_latency(body["upstream"]) == {"commerce": {"status": "not_configured"},
                                                 "sterling": {"status": "ok"}}
    assert systems == {"sterling"}


def test_the_fingerprint_follows_settings_not_secrets(sb: Sandbox) -> None:
    def fingerprint() -> str:
        status, body = get_info(sb)
        assert status == 200
        return str(body["config_fingerprint"])

    first = fingerprint()
    change_secret(sb, ingress_token_next="another-secret-value", sterling_password="another-password")
    assert fingerprint() == first
    new_container(sb, STERLING_ENTERPRISE_CODE="ACME")
    assert fingerprint() != first


def test_no_secret_is_in_the_answer(sb: Sandbox) -> None:
    _, body = get_info(sb)
    text = json.dumps(body)
    assert [name for name, value in SANDBOX_SECRET.items() if value and value in text] == []
