"""Region codes: Commerce 2.4.5 events name an address's region without its code (IBM's sample order of
IBM/adobe-commerce-ibm-oms-connector at 1aca86c, ``appbuilder/src/actions/ACCreateOrder/README.md``: "Gujarat").
The export asks Commerce's directory (``GET /V1/directory/countries/{id}``, once per container) and sends
Sterling the code; a region the directory does not list goes as its name, with a warning and a metric."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from omsbridge.observability import metrics
from sandbox import demo_data
from sandbox.contracts import assert_commerce_contract
from sandbox.stack import Sandbox
from tests.support import foreign

CREATE = "/smcfs/restapi/invoke/createOrder"
SEED = {**demo_data.SEED, "sterling": {**demo_data.SEED["sterling"], "items": ["DEMO-MUG", "TEE-M-BLUE",
                                                                              "Adobe_Pro_12"]}}
ENV = {"MAPPING_OVERRIDES": json.dumps({"payment_types": {"braintree": "CREDIT_CARD"}})}


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=SEED, env=ENV) as box:
        yield box


def ibm_order(number: str, **address: Any) -> dict[str, Any]:
    order: dict[str, Any] = copy.deepcopy(foreign("commerce_event_sales_order_save_commit_after.json")["data"]["value"])
    order["increment_id"] = number
    for row in order["addresses"]:
        row.update(address)
    return order


def states(sb: Sandbox) -> dict[str, tuple[str, str]]:
    return {call["body"]["OrderNo"]: (call["body"]["PersonInfoShipTo"]["State"],
                                      call["body"]["PersonInfoBillTo"]["State"])
            for call in sb.sterling.calls if call["path"] == CREATE and call["status"] == 200}


def directory_reads(sb: Sandbox) -> list[str]:
    return [call["path"].rsplit("/", 1)[1] for call in sb.commerce.calls if "/V1/directory/countries/" in call["path"]]


def test_region_names_reach_sterling_as_commerces_codes(sb: Sandbox, capfd: pytest.CaptureFixture[str]) -> None:
    metrics.clear_metrics()
    for order in (ibm_order("000000617"), ibm_order("000000618", region="Maharashtra", region_id="553"),
                  ibm_order("000000619", country_id="DE", region="Bayern", region_id="81"),
                  ibm_order("000000620", country_id="AU", region="New South Wales", region_id="570"),
                  ibm_order("000000621", country_id="CA", region="Quebec", region_id="76")):
        event = sb.commerce.place_order(order)
        sb.publish("adobe.commerce", event["type"], event)
    capfd.readouterr()
    sb.deliver()

    assert states(sb) == {"000000617": ("GJ", "GJ"), "000000618": ("MH", "MH"), "000000619": ("BY", "BY"),
                          "000000620": ("NSW", "NSW"), "000000621": ("QC", "QC")}
    # One read per country, however many orders and addresses name it.
    assert sorted(directory_reads(sb)) == ["AU", "CA", "DE", "IN"]
    assert '"unmapped"' not in capfd.readouterr().out
    assert_commerce_contract(sb.commerce)


def test_a_region_the_directory_does_not_list_is_sent_as_named_with_a_warning(
        sb: Sandbox, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    metrics.clear_metrics()
    event = sb.commerce.place_order(ibm_order("000000617", region="Atlantis", region_id=None))
    sb.publish("adobe.commerce", event["type"], event)
    capfd.readouterr()
    sb.deliver()

    assert states(sb) == {"000000617": ("Atlantis", "Atlantis")}
    out = capfd.readouterr().out
    warnings = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert [w for w in warnings if "Atlantis" in w] == [
        f"{kind} region 'Atlantis' of IN has no code in Commerce's directory: sent as its name"
        for kind in ("shipping", "billing")]
    unmapped = [json.loads(line)["unmapped"] for line in out.splitlines()
                if line.startswith('{"_aws"') and '"order_export"' in line and '"unmapped"' in line]
    assert unmapped == [[1.0, 1.0]]
    assert sb.dlq("OrderExportFunction") == []
