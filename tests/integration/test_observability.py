"""Observability over the sandbox: every flow, driven into each outcome it can have, emits that
outcome's metric (Powertools EMF on stdout: namespace OmsBridge, the ``flow`` dimension); and a
whole order's life, export → status → release → label → shipment, logs every line with the order
number or the shipment number as its correlation id, and no customer data at INFO.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import io
import itertools
import json
import logging
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from omsbridge.observability import logger, metrics
from sandbox import demo
from sandbox.demo_data import SEED, place_order, simple_order
from sandbox.keys import KeyPair, new_keypair
from sandbox.sim.base import Fault
from sandbox.stack import SANDBOX_SECRET, Sandbox
from tests.support import request

STERLING_STATUS_OF_A_HOLD = "order.hold_changed"
FOUR_TIMES = 4  # HTTP_RETRY_ATTEMPTS: a fault this many times in a row defeats the in-call retries
numbers = itertools.count(1)
# A shipping method without a SCAC: Sterling gets the order without a carrier, and so do the
# release, the WMS and the shipment.
NO_CARRIER = {"shipping_method": "nosuchcarrier_overnight"}


def order_no() -> str:
    return f"0000008{next(numbers):02d}"


# -- the module's sandbox and what the scenarios do in it -------------------------------------------


@pytest.fixture(scope="module")
def commerce_key() -> KeyPair:
    return new_keypair()


@pytest.fixture(scope="module")
def box(commerce_key: KeyPair) -> Iterator[Sandbox]:
    env = {"COMMERCE_WEBHOOK_PUBLIC_KEY": commerce_key.public_pem, "STOCK_CHECK_CACHE_SECONDS": "0"}
    with Sandbox(seed=copy.deepcopy(SEED), env=env) as sandbox:
        yield sandbox


@pytest.fixture
def sb(box: Sandbox) -> Iterator[Sandbox]:
    yield box
    for simulator in box.simulators.values():
        simulator.faults.clear()


def placed(sb: Sandbox, **changes: Any) -> dict[str, Any]:
    """A new order placed in Commerce and exported to Sterling; returns Commerce's event."""
    order = simple_order(order_no())
    order.update(changes)
    return place_order(sb, order)


def released(sb: Sandbox, **changes: Any) -> tuple[str, dict[str, Any]]:
    """A new order exported, scheduled and released to the DC (so the WMS has it)."""
    number = placed(sb, **changes)["data"]["value"]["increment_id"]
    sb.sterling.schedule(number)
    [release] = sb.sterling.release(number)
    sb.deliver()
    return number, release


def hold_in_sterling(sb: Sandbox, number: str) -> None:
    with contextlib.closing(sb.sterling_user()) as api:
        api.change_order({"OrderNo": number, "OrderHoldTypes": {"OrderHoldType": [
            {"HoldType": "FRAUD_HOLD", "Status": "1100", "ReasonText": "check"}]}}, idempotent=True)
    sb.deliver()


def shipped(sb: Sandbox, *, scac: str = "UPSN") -> dict[str, Any]:
    """A released order shipped in Sterling as one shipment; returns the shipment.shipped document."""
    number, _ = released(sb)
    with contextlib.closing(sb.sterling_user()) as api:
        api.create_shipment({"ShipmentNo": f"SH-{number}", "ShipNode": "default", "SCAC": scac,
                             "ShipmentLines": {"ShipmentLine": [
                                 {"OrderNo": number, "PrimeLineNo": "1", "SubLineNo": "1", "Quantity": "2"}]}})
        api.confirm_shipment({"ShipmentNo": f"SH-{number}", "ShipNode": "default", "SellerOrganizationCode": "DEFAULT",
                              "Containers": {"Container": [{"ContainerNo": f"BOX-{number}",
                                                            "TrackingNo": f"1Z{number}"}]}})
    sb.deliver()
    document: dict[str, Any] = sb.sterling.events_of("shipment.shipped")[-1]
    return document


def ready_to_ship(sb: Sandbox, **changes: Any) -> dict[str, Any]:
    """A released order packed into a box and ready to ship; returns the event document."""
    number, _ = released(sb, **changes)
    shipment = sb.sterling.include_in_shipment(number, shipment_no=f"SH-{number}")
    with contextlib.closing(sb.sterling_user()) as api:
        api.change_shipment({"ShipmentKey": shipment["ShipmentKey"], "Containers": {"Container": [
            {"ContainerNo": f"BOX-{number}", "ContainerDetails": {"ContainerDetail": [
                {"ItemID": "DEMO-MUG", "Quantity": "2"}]}}]}})
    return sb.sterling.ready_to_ship(f"SH-{number}")


def again(sb: Sandbox, source: str, detail_type: str, detail: dict[str, Any]) -> None:
    sb.publish(source, detail_type, detail)
    sb.deliver()


def last_event(sb: Sandbox, source: str, detail_type: str) -> dict[str, Any]:
    found: dict[str, Any] = [e for e in sb.bus_events
                             if e["source"] == source and e["detail-type"] == detail_type][-1]["detail"]
    return found


def rtam(sku: str, when: str, quantity: int, node: str = "default") -> dict[str, Any]:
    return {"id": f"{sku}-{node}-{when}", "time": when, "data": {
        "ItemID": sku, "UnitOfMeasure": "EACH", "InventoryOrganizationCode": "DEFAULT",
        "AvailabilityChanges": {"AvailabilityChange": [{"Node": node, "OnhandAvailableQuantity": quantity}]}}}


def stock_event(sb: Sandbox, detail: dict[str, Any]) -> None:
    again(sb, "ibm.sterling", "inventory.changed", detail)


# -- the scenarios: one per flow and outcome -----------------------------------------------------


def export_processed(sb: Sandbox) -> None:
    placed(sb)


def export_duplicate(sb: Sandbox) -> None:
    # Both copies before anything else: once Sterling's news is written into Commerce, the order's
    # newer save makes a late copy stale instead, as soon as a second has passed since the first.
    cloud_event = sb.commerce.place_order(simple_order(order_no()))
    for _ in range(2):
        sb.publish("adobe.commerce", cloud_event["type"], cloud_event)
    sb.deliver()


def export_stale(sb: Sandbox) -> None:
    cloud_event = placed(sb)
    older = copy.deepcopy(cloud_event)
    older["id"] = f"{cloud_event['id']}-older"
    older["data"]["value"].update(state="canceled", status="canceled", updated_at="2020-01-01 00:00:00")
    again(sb, "adobe.commerce", older["type"], older)


def export_loop_dropped(sb: Sandbox) -> None:
    # Sterling holds the order; OrderStatusFunction holds it in Commerce; Commerce's save event
    # comes back to OrderExportFunction, which must not send it to Sterling again.
    hold_in_sterling(sb, placed(sb)["data"]["value"]["increment_id"])


def export_retried(sb: Sandbox) -> None:
    sb.sterling.faults.script(r"/invoke/createOrder$", Fault("status", status=503), times=FOUR_TIMES)
    placed(sb)


def export_permanent_failure(sb: Sandbox) -> None:
    again(sb, "adobe.commerce", "com.adobe.commerce.observer.sales_order_save_commit_after",
          {"id": "broken-order-event", "type": "com.adobe.commerce.observer.sales_order_save_commit_after",
           # Neither an id nor a number: nothing to read the order by (a slim event would be read).
           "data": {"value": {"state": "processing"}}})


def export_unmapped(sb: Sandbox) -> None:
    placed(sb, **NO_CARRIER)


def status_processed(sb: Sandbox) -> None:
    hold_in_sterling(sb, placed(sb)["data"]["value"]["increment_id"])


def status_duplicate(sb: Sandbox) -> None:
    status_processed(sb)
    again(sb, "ibm.sterling", STERLING_STATUS_OF_A_HOLD, last_event(sb, "ibm.sterling", STERLING_STATUS_OF_A_HOLD))


def status_stale(sb: Sandbox) -> None:
    status_processed(sb)
    older = copy.deepcopy(last_event(sb, "ibm.sterling", STERLING_STATUS_OF_A_HOLD))
    older.update(id=f"{older['id']}-older", time="2020-01-01T00:00:00Z")
    again(sb, "ibm.sterling", STERLING_STATUS_OF_A_HOLD, older)


def status_retried(sb: Sandbox) -> None:
    # Sterling knows an order Commerce does not (yet): retried, then parked.
    again(sb, "ibm.sterling", "order.changed", {"id": "unknown-order", "time": "2026-11-27T10:00:00Z", "data": {
        "OrderNo": "999999999", "EnterpriseCode": "DEFAULT", "DocumentType": "0001", "Status": "Scheduled",
        "MaxOrderStatus": "1500", "MinOrderStatus": "1500"}})


def status_permanent_failure(sb: Sandbox) -> None:
    again(sb, "ibm.sterling", "order.changed", {"id": "no-order", "time": "2026-11-27T10:00:00Z", "data": {}})


def shipment_processed(sb: Sandbox) -> None:
    shipped(sb)


def shipment_duplicate(sb: Sandbox) -> None:
    sb.sterling_post("shipment.shipped", shipped(sb))
    sb.deliver()


def shipment_retried(sb: Sandbox) -> None:
    sb.commerce.faults.script(r"/order/\d+/ship$", Fault("status", status=503), times=FOUR_TIMES)
    shipped(sb)


def shipment_permanent_failure(sb: Sandbox) -> None:
    again(sb, "ibm.sterling", "shipment.shipped", {"id": "no-shipment", "time": "2026-11-27T10:00:00Z", "data": {
        "ShipmentLines": {"ShipmentLine": [{"OrderNo": "999999998"}]}}})


def shipment_unmapped(sb: Sandbox) -> None:
    shipped(sb, scac="NOSUCHSCAC")


def ahead(seconds: int) -> str:
    """A time newer than any the Sterling simulator stamped so far, within the allowed clock skew."""
    return (datetime.now(UTC) + timedelta(seconds=120 + seconds)).isoformat(timespec="seconds")


def stock_processed(sb: Sandbox) -> None:
    stock_event(sb, rtam("DEMO-MUG", ahead(0), 40))


def stock_duplicate(sb: Sandbox) -> None:
    when = ahead(1)
    stock_event(sb, rtam("DEMO-MUG", when, 41))
    stock_event(sb, rtam("DEMO-MUG", when, 41))


def stock_stale(sb: Sandbox) -> None:
    stock_event(sb, rtam("DEMO-MUG", ahead(3), 43))
    stock_event(sb, rtam("DEMO-MUG", ahead(1), 42))


def stock_retried(sb: Sandbox) -> None:
    sb.commerce.faults.script(r"/V1/inventory/source-items$", Fault("status", status=503), times=FOUR_TIMES)
    stock_event(sb, rtam("TEE-M-BLUE", ahead(4), 9))


def stock_permanent_failure(sb: Sandbox) -> None:
    stock_event(sb, rtam("NOT-IN-COMMERCE", ahead(5), 5))


def ready_processed(sb: Sandbox) -> None:
    ready_to_ship(sb)
    sb.deliver()


def ready_duplicate(sb: Sandbox) -> None:
    document = ready_to_ship(sb)
    sb.deliver()
    sb.sterling_post("shipment.ready_to_ship", document)
    sb.deliver()


def ready_retried(sb: Sandbox) -> None:
    sb.carrier.faults.script(r"/shipments$", Fault("status", status=503), times=FOUR_TIMES)
    ready_processed(sb)


def ready_permanent_failure(sb: Sandbox) -> None:
    again(sb, "ibm.sterling", "shipment.ready_to_ship", {"id": "no-shipment-named", "time": "2026-11-27T10:00:00Z",
                                                         "data": {"Status": "1100.70.06.50"}})


def ready_unmapped(sb: Sandbox) -> None:
    ready_to_ship(sb, **NO_CARRIER)
    sb.deliver()


def release_processed(sb: Sandbox) -> None:
    released(sb)


def release_duplicate(sb: Sandbox) -> None:
    _, release = released(sb)
    sb.sterling_post("order.released", release)
    sb.deliver()


def release_retried(sb: Sandbox) -> None:
    sb.dc.faults.script(r"/orders$", Fault("status", status=503), times=FOUR_TIMES)
    released(sb)


def release_permanent_failure(sb: Sandbox) -> None:
    again(sb, "ibm.sterling", "order.released", {"id": "no-release-key", "time": "2026-11-27T10:00:00Z",
                                                 "data": {"OrderNo": order_no(), "ReleaseNo": "1"}})


def release_unmapped(sb: Sandbox) -> None:
    released(sb, **NO_CARRIER)


INVOICE_EVENT = "com.adobe.commerce.observer.sales_order_invoice_save_commit_after"


def invoiced(sb: Sandbox, cloud_event: dict[str, Any]) -> None:
    """An admin invoices the order in Commerce (REST, as the admin panel would)."""
    entity_id = cloud_event["data"]["value"]["items"][0]["order_id"]
    answer = request("POST", f"{sb.url('commerce')}/rest/default/V1/order/{entity_id}/invoice", json={"capture": True},
                     headers={"Authorization": f"Bearer {SANDBOX_SECRET['commerce_bearer_token']}"})
    answer.raise_for_status()
    sb.deliver()


def returns_processed(sb: Sandbox) -> None:
    invoiced(sb, placed(sb))


def returns_duplicate(sb: Sandbox) -> None:
    returns_processed(sb)
    again(sb, "adobe.commerce", INVOICE_EVENT, last_event(sb, "adobe.commerce", INVOICE_EVENT))


def returns_retried(sb: Sandbox) -> None:
    # Sterling refuses the order, then Commerce invoices it: the invoice waits for an export that
    # does not come (retried, then parked).
    sb.sterling.faults.script(r"/invoke/createOrder$", Fault("status", status=400))
    invoiced(sb, sb.commerce.place_order(simple_order(order_no())))


def returns_permanent_failure(sb: Sandbox) -> None:
    again(sb, "adobe.commerce", INVOICE_EVENT, {"id": "broken-invoice-event", "type": INVOICE_EVENT,
                                                "data": {"value": {"id": "no-such-invoice"}}})


def stock_check_answer(sb: Sandbox, key: KeyPair, quantity: int = 1) -> tuple[int, Any]:
    body = json.dumps({"eventName": "checkout_cart_product_add_before",
                       "data": {"product": {"sku": "DEMO-MUG", "type_id": "simple", "name": "Demo mug"},
                                "info": {"qty": str(quantity)}}})
    headers = {"content-type": "application/json",
               "x-adobe-commerce-webhook-signature": key.sign(base64.b64encode(body.encode()))}
    status, _, answer = sb.http("POST", "/webhooks/stock-check", headers=headers, body=body)
    return status, answer


def ingress_rejected(sb: Sandbox) -> None:
    sb.http("POST", "/events/sterling/order.changed", headers={"authorization": "Bearer wrong"}, body="{}")


def storefront_processed(sb: Sandbox) -> None:
    status, _, _ = sb.http("GET", "/storefront/stock", query={"sku": "DEMO-MUG"})
    assert status == 200


def info_probes(sb: Sandbox) -> None:
    status, _, _ = sb.http("GET", "/info", headers={"authorization": f"Bearer {SANDBOX_SECRET['ingress_token']}"})
    assert status == 200


Scenario = Callable[[Sandbox], None]

OUTCOMES: list[tuple[str, str, Scenario]] = [
    ("order_export", "processed", export_processed),
    ("order_export", "duplicate", export_duplicate),
    ("order_export", "stale", export_stale),
    ("order_export", "loop_dropped", export_loop_dropped),
    ("order_export", "retried", export_retried),
    ("order_export", "permanent_failure", export_permanent_failure),
    ("order_export", "unmapped", export_unmapped),
    ("order_status", "processed", status_processed),
    ("order_status", "duplicate", status_duplicate),
    ("order_status", "stale", status_stale),
    ("order_status", "retried", status_retried),
    ("order_status", "permanent_failure", status_permanent_failure),
    ("shipment_sync", "processed", shipment_processed),
    ("shipment_sync", "duplicate", shipment_duplicate),
    ("shipment_sync", "retried", shipment_retried),
    ("shipment_sync", "permanent_failure", shipment_permanent_failure),
    ("shipment_sync", "unmapped", shipment_unmapped),
    ("stock_sync", "processed", stock_processed),
    ("stock_sync", "duplicate", stock_duplicate),
    ("stock_sync", "stale", stock_stale),
    ("stock_sync", "retried", stock_retried),
    ("stock_sync", "permanent_failure", stock_permanent_failure),
    ("carrier", "processed", ready_processed),
    ("carrier", "duplicate", ready_duplicate),
    ("carrier", "retried", ready_retried),
    ("carrier", "permanent_failure", ready_permanent_failure),
    ("carrier", "unmapped", ready_unmapped),
    ("dc", "processed", release_processed),
    ("dc", "duplicate", release_duplicate),
    ("dc", "retried", release_retried),
    ("dc", "permanent_failure", release_permanent_failure),
    ("dc", "unmapped", release_unmapped),
    ("returns", "processed", returns_processed),
    ("returns", "duplicate", returns_duplicate),
    ("returns", "retried", returns_retried),
    ("returns", "permanent_failure", returns_permanent_failure),
    ("ingress", "processed", export_processed),
    ("ingress", "rejected_401", ingress_rejected),
    ("storefront", "processed", storefront_processed),
    ("info", "commerce_latency", info_probes),
    ("info", "sterling_error", info_probes),
    ("order_export", "sterling_latency", export_processed),
    ("order_status", "commerce_latency", status_processed),
    ("dc", "dc_latency", release_processed),
    ("carrier", "carrier_latency", ready_processed),
]


def emitted(out: str) -> set[tuple[str, str]]:
    """(flow, metric) of every EMF blob on ``out``; each blob checked for namespace and dimension."""
    found = set()
    for line in out.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        blob = json.loads(line)
        [directive] = blob["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "OmsBridge"
        assert all("flow" in dimensions for dimensions in directive["Dimensions"])
        found |= {(blob["flow"], metric["Name"]) for metric in directive["Metrics"]}
    return found


@pytest.mark.parametrize(("flow", "metric", "scenario"), OUTCOMES,
                         ids=[f"{flow}-{metric}" for flow, metric, _ in OUTCOMES])
def test_each_flow_emits_each_of_its_outcomes(sb: Sandbox, capfd: pytest.CaptureFixture[str], flow: str,
                                              metric: str, scenario: Scenario) -> None:
    metrics.clear_metrics()
    capfd.readouterr()
    scenario(sb)
    assert (flow, metric) in emitted(capfd.readouterr().out)


def test_the_stock_check_emits_processed_and_its_fail_mode(sb: Sandbox, commerce_key: KeyPair,
                                                          capfd: pytest.CaptureFixture[str]) -> None:
    metrics.clear_metrics()
    capfd.readouterr()
    assert stock_check_answer(sb, commerce_key)[0] == 200
    sb.sterling.faults.script(r"/invoke/getAvailableInventory$", Fault("status", status=503), times=FOUR_TIMES)
    assert stock_check_answer(sb, commerce_key) == (200, {"op": "success"})
    found = emitted(capfd.readouterr().out)
    assert {("stock_check", "processed"), ("stock_check", "fail_open"), ("stock_check", "sterling_error")} <= found


# -- one correlation id per business object, across functions -------------------------------------


ORDER_FUNCTIONS = {"OrderExportFunction", "OrderStatusFunction", "DistributionCenterFunction"}
SHIPMENT_FUNCTIONS = {"CarrierFunction", "ShipmentSyncFunction"}


def log_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"level"')]


@contextlib.contextmanager
def info_level() -> Iterator[None]:
    """POWERTOOLS_LOG_LEVEL=INFO, logging to this test's stdout. The logger was built when this
    process imported it (level and stream then); a Lambda container builds it with the template's
    level already in its environment."""
    level = logger.log_level
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    logger.setLevel("INFO")
    stream = handler.setStream(sys.stdout)
    try:
        yield
    finally:
        logger.setLevel(level)
        handler.setStream(stream)


def test_an_order_s_life_logs_every_line_with_its_order_or_shipment_number(
    sb: Sandbox, capfd: pytest.CaptureFixture[str],
) -> None:
    # The demo's steps check what the simulators recorded: this order's calls only.
    for simulator in sb.simulators.values():
        simulator.calls.clear()
    with info_level():
        capfd.readouterr()
        line = demo.Timeline(verbose=False, out=io.StringIO())
        demo.order_to_sterling(sb, line)
        release = demo.schedule_and_release(sb, line)
        labels = demo.pack_and_label(sb, line)
        demo.confirm_and_ship(sb, line, release, labels)
        lines = log_lines(capfd.readouterr().out)

    by_function = {name: [entry for entry in lines if entry.get("function_name") == name]
                   for name in ORDER_FUNCTIONS | SHIPMENT_FUNCTIONS}
    assert [name for name, entries in by_function.items() if not entries] == [], "a function logged nothing"
    expected = dict.fromkeys(ORDER_FUNCTIONS, demo.ORDER_NO) | dict.fromkeys(SHIPMENT_FUNCTIONS, "SH-617")

    def correlated(entry: dict[str, Any]) -> bool:
        name, correlation_id = entry.get("function_name"), str(entry.get("correlation_id"))
        if name == "StockSyncFunction":
            # The shipment moves stock too: a batch of stock rows is that function's business object.
            return correlation_id.startswith("stock-batch-")
        return correlation_id == expected.get(str(name))

    assert [(e.get("function_name"), e.get("correlation_id"), e["message"]) for e in lines if not correlated(e)] == []
    # StockSyncFunction runs only when the shipment moves the stock across an RTAM level.
    assert {entry["function_name"] for entry in lines} - {"StockSyncFunction"} == set(expected)


def test_no_customer_data_is_logged_at_info(sb: Sandbox, capfd: pytest.CaptureFixture[str]) -> None:
    order = simple_order(order_no())
    address = order["addresses"][0]
    customer = [order["customer_email"], address["street"].split("\n")[0], address["telephone"]]
    with info_level():
        capfd.readouterr()
        place_order(sb, order)
        hold_in_sterling(sb, order["increment_id"])
        out = capfd.readouterr().out
    assert len(log_lines(out)) > 2, "hardly anything was logged: this test would prove nothing"
    assert [value for value in customer if value in out] == []
