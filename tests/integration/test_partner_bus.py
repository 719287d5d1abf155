"""Adobe I/O Events delivered straight to an Amazon EventBridge partner bus (AdobePartnerEventBusName):
the rule on that bus → PartnerEventsFunction → the webhook's checks → the integration bus → the flows.

The envelope is Adobe's, from its guide "Adobe I/O Events and Amazon EventBridge Integration"
(https://github.com/AdobeDocs/adobe-io-events, src/pages/guides/amazon-eventbridge/index.md, "Output
Event Format"; vendored as tests/fixtures/foreign/adobe-io-events/eventbridge_partner_event.json):
source = the partner event source, detail-type = "<provider label>:<event code>", detail = the data.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from omsbridge import config
from omsbridge.errors import ValidationError
from omsbridge.events import EventBridgeEvent
from omsbridge.flows import partner_events
from sandbox import demo_data, template
from sandbox.stack import SANDBOX_PARTNER_BUS, Sandbox
from tests.support import foreign, forget_calls
from tests.unit.test_template import PARAMETERS, RESOURCES, ROOT

FUNCTION = "PartnerEventsFunction"
# Provider labels of IBM's connector's registrations (appbuilder/config.json, provider_label).
COMMERCE_PROVIDER = "SterlingACProviderDev"
STERLING_PROVIDER = "SterlingOMSProviderDev"


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with Sandbox(seed=copy.deepcopy(demo_data.SEED), env={"STERLING_EXTRA_ENTERPRISE_CODES": "TenantA"}) as sandbox:
        yield sandbox


@pytest.fixture
def sb(box: Sandbox) -> Sandbox:
    """The module's sandbox, quiet, with the call records cleared (each test has its own events)."""
    box.deliver()
    forget_calls(box)
    return box


def partner_event(detail_type: str, detail: dict[str, Any], event_id: str = "4bc56dd4-0001") -> dict[str, Any]:
    """Adobe's sample envelope, on this stack's partner bus, carrying ``detail``."""
    return {**foreign("eventbridge_partner_event.json"), "id": event_id, "source": SANDBOX_PARTNER_BUS,
            "account": "123456789012", "detail-type": detail_type, "detail": detail}


def on_the_bus(sb: Sandbox, event_id: str) -> list[dict[str, Any]]:
    return [e for e in sb.bus_events if e["detail"].get("id") == event_id]


def parked(sb: Sandbox, event_id: str) -> list[str]:
    return [record["reason"]["reason"] for record in sb.dlq(FUNCTION)
            if record.get("event", {}).get("id") == event_id]


def test_adobe_s_sample_envelope_matches_the_rule_when_its_source_is_the_parameter() -> None:
    sample = foreign("eventbridge_partner_event.json")
    assert re.fullmatch(PARAMETERS["AdobePartnerEventBusName"]["AllowedPattern"], sample["source"])
    pattern = RESOURCES["AdobePartnerEventsRule"]["Properties"]["EventPattern"]
    resolved = {**pattern, "source": [sample["source"]]}
    assert template.matches(resolved, sample)
    assert not template.matches(resolved, {**sample, "source": "aws.partner/developer.adobe.com/another-registration"})
    assert not template.matches(resolved, {**sample, "detail-type": "photoshop-job-status"})


def test_a_commerce_order_from_the_partner_bus_reaches_sterling(sb: Sandbox) -> None:
    placed = sb.commerce.place_order(demo_data.simple_order("000000801"))
    data = copy.deepcopy(placed["data"])
    data["value"]["payment"]["additional_information"] = {"cc_number": "4111 1111 1111 1111", "cc_cid": "123"}
    event = partner_event(f"{COMMERCE_PROVIDER}:{placed['type']}", data, "4bc56dd4-0801")
    sb.partner_put(event)
    sb.deliver()
    [entry] = on_the_bus(sb, "4bc56dd4-0801")
    assert (entry["source"], entry["detail-type"]) == ("adobe.commerce", placed["type"])
    assert entry["detail"]["time"] == event["time"]
    assert entry["detail"]["data"]["value"]["payment"]["additional_information"] == {"cc_number": "xxxx-1111"}
    assert sb.sterling.order("000000801").lines[0].item_id == "DEMO-MUG"
    assert parked(sb, "4bc56dd4-0801") == []


def test_a_sterling_code_from_the_partner_bus_is_the_entry_the_webhook_makes(sb: Sandbox) -> None:
    # IBM's ShipmentChangeAC/README.md sample's data, as Adobe puts it on the partner bus.
    sample = foreign("oms_event_shipment_change_create_shipment.json")
    demo_data.place_order(sb, demo_data.simple_order("tna_ORD006"))
    event = partner_event(f"{STERLING_PROVIDER}:{sample['type']}", sample["data"], "4bc56dd4-0802")
    sb.partner_put(event)
    sb.deliver()
    [entry] = on_the_bus(sb, "4bc56dd4-0802")
    assert (entry["source"], entry["detail-type"], entry["detail"]["data"]) == (
        "ibm.sterling", "shipment.created", sample["data"]["Shipment"])
    comments = [c["body"]["statusHistory"]["comment"] for c in sb.commerce.calls
                if c["method"] == "POST" and c["path"].endswith("/comments")]
    assert "[oms-bridge] Shipment AdobeShip1 created in Sterling at node tna_dc_1: line 1 Item1 x2" in comments


@pytest.mark.parametrize(("n", "detail_type", "detail", "reason"), [
    (1, f"{STERLING_PROVIDER}:ibm.sterling.appbuilder.order_hold.v0", {"orderId": 140},
     "ibm.sterling.appbuilder.order_hold.v0 refused: the App Builder"),
    (2, f"{COMMERCE_PROVIDER}:com.adobe.commerce.observer.catalog_product_save_after", {"value": {"sku": "X"}},
     "Commerce event 'com.adobe.commerce.observer.catalog_product_save_after' is consumed by no flow"),
    (3, f"{STERLING_PROVIDER}:ibm.sterling.adobe.shipment_shipped.v0", {"Shipment": {"Carrier": "none"}},
     "ibm.sterling.adobe.shipment_shipped.v0: not a Sterling Shipment"),
])
def test_what_the_webhook_would_refuse_is_parked_with_the_reason(sb: Sandbox, n: int, detail_type: str,
                                                                 detail: dict[str, Any], reason: str) -> None:
    event_id = f"4bc56dd4-090{n}"
    sb.partner_put(partner_event(detail_type, detail, event_id))
    sb.deliver()
    assert on_the_bus(sb, event_id) == []
    [why] = parked(sb, event_id)
    assert why.startswith(reason), why


def test_an_event_of_another_partner_source_is_not_routed(sb: Sandbox) -> None:
    sample = foreign("eventbridge_partner_event.json")  # another registration's source, as published
    sb.partner_put(sample)
    sb.deliver()
    assert [i for i in sb.invocations if i["function"] == FUNCTION and i["event"]["id"] == sample["id"]] == []
    assert sb.partner_events[-1] == sample


@pytest.mark.parametrize(("source", "detail_type", "reason"), [
    ("aws.partner/developer.adobe.com/another-registration", f"{STERLING_PROVIDER}:ibm.sterling.adobe.stock_change.v0",
     "event source 'aws.partner/developer.adobe.com/another-registration' is not this stack's Adobe partner"),
    (SANDBOX_PARTNER_BUS, "ibm.sterling.adobe.stock_change.v0", "detail-type 'ibm.sterling.adobe.stock_change.v0' "
     "is not Adobe's '<provider>:<event code>'"),
])
def test_the_function_itself_takes_only_its_source_in_adobe_s_form(monkeypatch: pytest.MonkeyPatch, source: str,
                                                                   detail_type: str, reason: str) -> None:
    monkeypatch.setenv("ADOBE_PARTNER_SOURCE", SANDBOX_PARTNER_BUS)
    config.reset()
    event = {**partner_event(detail_type, {"InventoryItem": {"ItemID": "DEMO-MUG"}}), "source": source}
    with pytest.raises(ValidationError) as refused:
        partner_events.handle(EventBridgeEvent.model_validate(event))
    assert refused.value.reason.startswith(reason)
    config.reset()


def test_the_sample_event_runs_from_the_command_line() -> None:
    # events/partner_events/: what `sam local invoke PartnerEventsFunction -e` and the sandbox take.
    done = subprocess.run(
        [sys.executable, "-m", "sandbox", "run", FUNCTION, "events/partner_events/sterling_stock_change.json"],
        cwd=ROOT, capture_output=True, text=True, check=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{ROOT / 'layers/connectors'}:{ROOT}"})
    trace = json.loads(done.stdout)
    assert trace["result"] == {"status": "published", "type": "ibm.sterling.adobe.stock_change.v0", "entries": [
        {"source": "ibm.sterling", "detail_type": "inventory.changed", "id": "4bc56dd4-8009-9893-2bc0-a65214f1ef03"}]}
    [entry] = trace["events"]
    assert (entry["Source"], entry["DetailType"], entry["Detail"]["data"]["ItemID"]) == (
        "ibm.sterling", "inventory.changed", "DEMO-MUG")
