"""Nothing is accepted and then dropped: every event type the ingress takes (Sterling's detail-types,
IBM's Sterling event codes, Commerce's event types) is consumed by a rule of template.yaml, by the
flow the code table names; and every rule consumes something the ingress takes."""

from __future__ import annotations

from pathlib import Path

import pytest

from omsbridge.events import COMMERCE_DETAIL_TYPES, COMMERCE_SOURCE, STERLING_DETAIL_TYPES, STERLING_SOURCE
from omsbridge.mapping import event_codes
from sandbox import template

STACK = template.read()
# IBM's codes (its App Builder connector, commit 1aca86c: appbuilder/src/config/constant.js OMS_EVENTS
# and AB_EVENTS, appbuilder/config.json registrations, env.dist AIO_EVENTS_*_EVENT_CODE, and
# cancelWebhook/README.md for cancel_order).
IBM_CODES = {
    "ibm.sterling.oms.test_event.v0", "ibm.sterling.adobe.order_status_change.v0",
    "ibm.sterling.appbuilder.order_hold.v0", "ibm.sterling.adobe.order_unhold.v0",
    "ibm.sterling.adobe.cancel_order.v0", "ibm.sterling.adobe.backorder.v0",
    "ibm.sterling.adobe.shipment_request.v0", "ibm.sterling.adobe.shipment_change.v0",
    "ibm.sterling.adobe.shipment_shipped.v0", "ibm.sterling.adobe.stock_change.v0",
    "ibm.sterling.adobe.creditmemo_process.v0", "ibm.sterling.adobe.order_monitor.v0",
    "ibm.sterling.adobe.request_payment.v0",
}


def consumers(source: str, detail_type: str) -> set[str]:
    """The functions a rule of the integration bus hands such an event (directly or through a queue)."""
    event = {"source": source, "detail-type": detail_type, "detail": {}}
    found = set()
    for rule in STACK.rules:
        if not template.matches(rule.pattern, event):
            continue
        if rule.function:
            found.add(rule.function)
        found |= {f.logical_id for f in STACK.functions.values() if any(q["queue"] == rule.queue for q in f.queues)}
    return found


@pytest.mark.parametrize("detail_type", sorted(STERLING_DETAIL_TYPES))
def test_every_sterling_event_the_ingress_takes_has_a_consumer(detail_type: str) -> None:
    assert consumers(STERLING_SOURCE, detail_type), f"no rule consumes {detail_type}"


@pytest.mark.parametrize("detail_type", sorted(COMMERCE_DETAIL_TYPES))
def test_every_commerce_event_the_ingress_takes_has_a_consumer(detail_type: str) -> None:
    assert consumers(COMMERCE_SOURCE, detail_type), f"no rule consumes {detail_type}"


def test_the_code_table_covers_every_code_ibm_publishes() -> None:
    assert set(event_codes.rows()) == IBM_CODES


@pytest.mark.parametrize("code", sorted(IBM_CODES))
def test_every_code_goes_to_the_flow_the_table_names_or_is_refused_with_a_reason(code: str) -> None:
    row = event_codes.rows()[code]
    detail_types = event_codes.detail_types(row)
    if not detail_types:
        assert len(str(row["refused"])) > 40, "a refused code says why"
        assert "flow" not in row
        return
    for detail_type in detail_types:
        assert detail_type in STERLING_DETAIL_TYPES
        assert row["flow"] in consumers(STERLING_SOURCE, detail_type), (code, detail_type)
    assert row["does"]
    if "by" in row:
        assert row["refused"], "what a chosen field does not list is refused, with a reason"


def test_every_rule_on_the_bus_consumes_what_the_ingress_takes() -> None:
    taken = {(STERLING_SOURCE, dt) for dt in STERLING_DETAIL_TYPES} | {(COMMERCE_SOURCE, dt)
                                                                       for dt in COMMERCE_DETAIL_TYPES}
    for rule in STACK.rules:
        if rule.bus != "EventBus" or "source" not in rule.pattern:
            continue
        wanted = {(source, dt) for source in rule.pattern["source"] for dt in rule.pattern["detail-type"]}
        assert wanted <= taken, (rule.name, wanted - taken)


def test_the_migration_guide_says_what_each_code_does() -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "migrating-from-app-builder.md").read_text()
    rows = {line.split("|")[1].strip().strip("`"): line for line in guide.splitlines() if line.startswith("| `ibm.")}
    assert set(rows) == set(event_codes.rows())
    for code, row in event_codes.rows().items():
        for detail_type in event_codes.detail_types(row):
            assert f"`{detail_type}`" in rows[code], code
        assert ("refused" if not event_codes.detail_types(row) else "applied") in rows[code], code
