"""Helpers shared by tests (importable, unlike conftest)."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from omsbridge.http import new_client
from sandbox.keys import KeyPair, new_keypair

# The ``configure`` fixture: ``configure(NAME="value", ...)`` sets settings for one test.
Configure = Callable[..., None]

FOREIGN = Path(__file__).resolve().parent / "fixtures" / "foreign"
OPENAPI = Path(__file__).resolve().parent.parent / "api" / "openapi.yaml"


def foreign(name: str) -> Any:
    """A vendored foreign payload (``tests/fixtures/foreign/<source>/<file>``, see its README) as
    parsed JSON. A name without a folder is looked up in every source folder; a missing file fails."""
    matches = [FOREIGN / name] if "/" in name else sorted(FOREIGN.glob(f"*/{name}"))
    if len(matches) != 1 or not matches[0].is_file():
        raise FileNotFoundError(f"no single foreign fixture {name!r} under {FOREIGN}")
    return json.loads(matches[0].read_text())


def sterling_as_user(box: Any, api: str, body: dict[str, Any]) -> Any:
    """One Sterling API call as a user at Sterling's screens makes it (logged in, the body as given,
    whatever enterprise it names): not the integration under test."""
    base = f"{box.url('sterling')}/smcfs/restapi"
    session = request("POST", f"{base}/invoke/login", json={
        "LoginID": box.secret["sterling_user"], "Password": box.secret["sterling_password"]}).json()
    answer = request("POST", f"{base}/invoke/{api}", json=body,
                     params={"_loginid": session["LoginID"], "_token": session["UserToken"]})
    answer.raise_for_status()
    return answer.json()


def forget_calls(box: Any) -> None:
    """Clear every simulator's call record: a test of a shared sandbox sees only its own calls."""
    for simulator in box.simulators.values():
        simulator.calls.clear()


def documented_statuses(method: str, path: str) -> set[int]:
    """The statuses api/openapi.yaml promises for one route: what callers are told to expect."""
    import yaml

    return {int(code) for code in yaml.safe_load(OPENAPI.read_text())["paths"][path][method.lower()]["responses"]}


def dlq_signing_secret(key: str = "test-dlq-signing-key") -> dict[str, str]:
    """Create the stack's DLQ signing secret in the (moto) account; returns the setting naming it."""
    import boto3

    arn = boto3.client("secretsmanager").create_secret(
        Name="dlq-signing-key", SecretString=json.dumps({"dlq_signing_key": key}))["ARN"]
    return {"DLQ_SIGNING_SECRET": arn}



def request(method: str, url: str, **options: Any) -> httpx.Response:
    """One call to a simulator, as its own users make them (``httpx.request`` would read the CA
    bundle again for every call: 60 ms each)."""
    with new_client() as client:
        return client.request(method, url, **options)


__all__ = ["Configure", "KeyPair", "dlq_signing_secret", "foreign", "new_keypair", "request"]
