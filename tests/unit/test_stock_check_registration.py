"""The Commerce-side registration samples: webhooks.xml (PaaS) and the subscribe bodies (Cloud Service).

Both must register the same hooks, fit oms-bridge's time budget, and slim each payload to fields
that the stock check reads exactly as it reads the default payload.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import yaml

from omsbridge.mapping import stock_check
from sandbox.contracts import CONTRACTS_DIR, SCHEMA_FILE, CommerceContract, _read_spec

ROOT = Path(__file__).resolve().parents[2]
XML = ElementTree.parse(ROOT / "commerce" / "etc" / "webhooks.xml").getroot()  # noqa: S314 - our own file
SUBSCRIBE: list[dict[str, Any]] = json.loads((ROOT / "commerce" / "webhooks-subscribe.json").read_text())


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml when there: ten times quicker
    pass


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
TEMPLATE = yaml.load((ROOT / "template.yaml").read_text(), Loader=_Loader)  # noqa: S506 - SafeLoader subclass


def _xml_hooks() -> dict[str, dict[str, Any]]:
    hooks = {}
    for method in XML.iter("method"):
        for batch in method.iter("batch"):
            for hook in batch.iter("hook"):
                hooks[hook.get("name", "")] = {
                    **hook.attrib,
                    "webhook_method": method.get("name"), "type": method.get("type"), "batch": batch.get("name"),
                    "fields": [(f.get("name"), f.get("source")) for f in hook.iter("field")],
                }
    return hooks


XML_HOOKS = _xml_hooks()
BODIES = {body["webhook"]["hook_name"]: body["webhook"] for body in SUBSCRIBE}


def _default_payload(name: str) -> Any:
    return json.loads(json.loads((ROOT / "events" / "stock_check" / f"{name}.json").read_text())["body"])


def _get(value: Any, path: list[str]) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if head.endswith("[]"):
        return [_get(item, rest) for item in (value or {}).get(head[:-2], [])]
    return _get((value or {}).get(head), rest) if isinstance(value, dict) else None


def _set(target: dict[str, Any], path: list[str], value: Any) -> None:
    head, rest = path[0], path[1:]
    if head.endswith("[]"):
        items = target.setdefault(head[:-2], [])
        for index, item_value in enumerate(value):
            if index == len(items):
                items.append({})
            _set(items[index], rest, item_value)
    elif rest:
        _set(target.setdefault(head, {}), rest, value)
    else:
        target[head] = value


def project(payload: Any, fields: list[tuple[str, str]]) -> dict[str, Any]:
    """What Commerce sends when a hook has ``fields``: each source value under its name."""
    slimmed: dict[str, Any] = {}
    for name, source in fields:
        _set(slimmed, name.split("."), _get(payload, source.split(".")))
    return slimmed


def test_xml_and_subscribe_bodies_register_the_same_hooks() -> None:
    assert sorted(XML_HOOKS) == sorted(BODIES) == [
        "stock_check_add_to_cart", "stock_check_cart_item", "stock_check_place_order"]
    for name, hook in XML_HOOKS.items():
        body = BODIES[name]
        # Cloud Service drops the vendor segment of plugin hooks.
        assert body["webhook_method"] == hook["webhook_method"].replace("plugin.magento.", "plugin.")
        assert (body["webhook_type"], body["batch_name"], body["method"]) == (
            hook["type"], hook["batch"], hook["method"])
        assert (body["timeout"], body["soft_timeout"], body["priority"]) == (
            int(hook["timeout"]), int(hook["softTimeout"]), int(hook["priority"]))
        assert body["required"] is (hook["required"] == "true")
        assert body["fallback_error_message"] == hook["fallbackErrorMessage"]
        assert [(f["name"], f["source"]) for f in body["fields"]] == hook["fields"]
        assert hook["url"] == "{env:OMS_BRIDGE_URL}/webhooks/stock-check"
        assert body["url"].endswith("/webhooks/stock-check")


def test_hooks_leave_time_for_the_fail_mode_answer() -> None:
    sterling_budget = int(TEMPLATE["Parameters"]["StockCheckTimeoutMs"]["Default"])
    lambda_timeout_ms = TEMPLATE["Resources"]["StockCheckFunction"]["Properties"]["Timeout"] * 1000
    for hook in XML_HOOKS.values():
        assert sterling_budget * 2 <= int(hook["timeout"]) <= lambda_timeout_ms


@pytest.mark.parametrize(
    ("hook", "default_payload"),
    [
        ("stock_check_add_to_cart", "add_to_cart_default_payload"),
        ("stock_check_cart_item", "cart_item_saved"),
        ("stock_check_place_order", "order_place"),
    ],
)
def test_slimmed_payload_reads_like_the_default_one(hook: str, default_payload: str) -> None:
    payload = _default_payload(default_payload)
    slimmed = project(payload, XML_HOOKS[hook]["fields"])
    assert len(json.dumps(slimmed)) < len(json.dumps(payload))
    assert stock_check.check_from_payload(slimmed) == stock_check.check_from_payload(payload)
    assert stock_check.check_from_payload(slimmed).lines


@pytest.mark.contract
@pytest.mark.parametrize("schema", ["accs-schema.yaml.gz", SCHEMA_FILE])
def test_subscribe_bodies_match_commerce_schema(schema: str) -> None:
    contract = CommerceContract(_read_spec(CONTRACTS_DIR / schema))
    for body in SUBSCRIBE:
        assert contract.check_request("POST", "/V1/webhooks/subscribe", body) == []
