"""The shipment flow's decisions (exactly once, look before resending after a timeout, details from
Sterling, BOPIS, capture, park) against moto DynamoDB and fakes that keep Commerce's shipping rules."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from omsbridge import config, state
from omsbridge.errors import PermanentError, RetryableError
from omsbridge.events import EventBridgeEvent
from omsbridge.flows import shipment_sync
from omsbridge.http import AmbiguousCallError
from omsbridge.runtime import eventbridge_flow
from omsbridge.state import OrderLineRef, OrderRef
from omsbridge.sterling.models import Shipment
from sandbox.stack import LambdaContext
from tests.support import dlq_signing_secret

ORDER_NO = "000000101"
MARK = "[oms-bridge] Sterling shipment"


def item(item_id: int, sku: str, qty: float, **extra: Any) -> dict[str, Any]:
    return {"item_id": item_id, "sku": sku, "qty_ordered": qty, "qty_shipped": 0, "qty_canceled": 0,
            "qty_refunded": 0, "qty_invoiced": 0, "product_type": "simple", **extra}


class FakeCommerce:
    """Commerce orders and shipments: refuses to ship more than is left, records every call, and
    can time out a call after (or before) doing its work."""

    def __init__(self) -> None:
        self.orders: dict[int, dict[str, Any]] = {7: {
            "entity_id": 7, "increment_id": ORDER_NO,
            "payment": {"method": "braintree", "amount_authorized": 60, "amount_paid": None},
            "items": [item(11, "SKU-A", 3), item(12, "SKU-B", 1)],
        }}
        self.shipments: list[dict[str, Any]] = []
        self.calls: list[tuple[Any, ...]] = []
        self.timeouts: dict[str, bool] = {}  # call name → whether the work was done before the timeout
        self.pickup_orders: set[int] = set()

    def _timeout(self, name: str, work_done: bool) -> None:
        if self.timeouts.get(name) is work_done:
            del self.timeouts[name]
            raise AmbiguousCallError("commerce timed out: ReadTimeout", system="commerce")

    def find_order_entity_id(self, increment_id: str) -> int | None:
        self.calls.append(("find", increment_id))
        return next((k for k, o in self.orders.items() if o["increment_id"] == increment_id), None)

    def get_order(self, entity_id: int) -> dict[str, Any]:
        self.calls.append(("get", entity_id))
        return json.loads(json.dumps(self.orders[entity_id]))

    def list_shipments(self, entity_id: int) -> list[dict[str, Any]]:
        self.calls.append(("list", entity_id))
        return [s for s in self.shipments if s["order_id"] == entity_id]

    def _create(self, entity_id: int, lines: list[tuple[dict[str, Any], float]], body: dict[str, Any]) -> int:
        for row, qty in lines:
            row["qty_shipped"] += qty
        self.shipments.append({
            "entity_id": len(self.shipments) + 100, "order_id": entity_id,
            "items": [{"order_item_id": row["item_id"], "qty": qty} for row, qty in lines],
            "tracks": [dict(track) for track in body.get("tracks", [])],
            "comments": [{"comment": body["comment"]["comment"]}] if body.get("comment") else [],
        })
        return int(self.shipments[-1]["entity_id"])

    def ship(self, entity_id: int, body: dict[str, Any]) -> int:
        self.calls.append(("ship", entity_id, body))
        self._timeout("ship", False)
        rows = {row["item_id"]: row for row in self.orders[entity_id]["items"]}
        lines = [(rows[i["order_item_id"]], i["qty"]) for i in body["items"]]
        for row, qty in lines:
            if qty > row["qty_ordered"] - row["qty_shipped"]:
                raise PermanentError("commerce POST /order/7/ship answered 400: Shipment Document Validation "
                                     "Error(s): The quantity to ship must not be greater than the remaining "
                                     f'quantity for product SKU "{row["sku"]}".', system="commerce", status=400)
        shipment_id = self._create(entity_id, lines, body)
        self._timeout("ship", True)
        return shipment_id

    def invoice(self, entity_id: int, body: dict[str, Any]) -> int:
        self.calls.append(("invoice", entity_id, body))
        self._timeout("invoice", False)
        order = self.orders[entity_id]
        for row in order["items"]:
            row["qty_invoiced"] = row["qty_ordered"]
        order["payment"]["amount_paid"] = order["payment"]["amount_authorized"]
        self._timeout("invoice", True)
        return 500

    def notify_ready_for_pickup(self, entity_ids: list[int]) -> dict[str, Any]:
        self.calls.append(("notify", entity_ids))
        self._timeout("notify", False)
        [entity_id] = entity_ids
        order = self.orders[entity_id]
        left = [(row, row["qty_ordered"] - row["qty_shipped"]) for row in order["items"]]
        if not any(qty for _, qty in left):
            raise PermanentError("commerce did not notify orders [7] ready for pickup: ['not ready']",
                                 system="commerce", code="not_ready_for_pickup")
        self._create(entity_id, [(row, qty) for row, qty in left if qty], {})
        self._timeout("notify", True)
        return {"successful": True, "errors": []}

    def add_order_comment(self, entity_id: int, comment: str) -> bool:
        self.calls.append(("comment", entity_id, comment))
        self._timeout("comment", False)
        self.orders[entity_id].setdefault("status_histories", []).append({"comment": comment})
        self._timeout("comment", True)
        return True

    def writes(self) -> list[tuple[Any, ...]]:
        return [call for call in self.calls if call[0] in ("ship", "invoice", "notify", "comment")]


class FakeSterling:
    def __init__(self) -> None:
        self.shipments: dict[tuple[str, str], dict[str, Any]] = {}
        self.calls: list[dict[str, Any]] = []

    def get_shipment_details(self, shipment_key: str | None = None, *, shipment_no: str | None = None,
                             ship_node: str | None = None) -> Shipment:
        self.calls.append({"key": shipment_key, "no": shipment_no, "node": ship_node})
        return Shipment.model_validate(self.shipments[(shipment_no or "", ship_node or "")])


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for key, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "t",
                       "AWS_SECRET_ACCESS_KEY": "t"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("INVOICE_ON_SHIPMENT", raising=False)
    monkeypatch.delenv("SHIPMENT_NOTIFY", raising=False)
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(
            TableName="state", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}])
        dynamodb.create_table(
            TableName="idem", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
        dlq = boto3.client("sqs").create_queue(QueueName="dlq")["QueueUrl"]
        for key, value in {"STATE_TABLE": "state", "IDEMPOTENCY_TABLE": "idem", "DLQ_URL": dlq,
                           **dlq_signing_secret(), "POWERTOOLS_METRICS_NAMESPACE": "OmsBridge"}.items():
            monkeypatch.setenv(key, value)
        config.reset()
        yield dlq
        config.reset()


@pytest.fixture
def commerce(aws: str, monkeypatch: pytest.MonkeyPatch) -> FakeCommerce:
    fake = FakeCommerce()
    monkeypatch.setattr(shipment_sync, "_commerce", lambda enterprise_code="": fake)
    return fake


@pytest.fixture
def sterling(aws: str, monkeypatch: pytest.MonkeyPatch) -> FakeSterling:
    fake = FakeSterling()
    monkeypatch.setattr(shipment_sync, "_sterling", lambda: fake)
    return fake


def exported(entity_id: int | None = 7, **extra: Any) -> None:
    state.put_order(OrderRef(
        increment_id=ORDER_NO, order_no=ORDER_NO, enterprise_code="DEFAULT", entity_id=entity_id,
        lines=[OrderLineRef(prime_line_no=1, order_item_id=11, sku="SKU-A", qty=3),
               OrderLineRef(prime_line_no=2, order_item_id=12, sku="SKU-B", qty=1)], **extra))


def line(prime: int, sku: str, qty: str, **extra: Any) -> dict[str, Any]:
    return {"OrderNo": ORDER_NO, "PrimeLineNo": str(prime), "SubLineNo": "1", "ItemID": sku, "Quantity": qty, **extra}


def shipment(number: str, lines: list[dict[str, Any]], tracking: tuple[str, ...] | list[str] = (),
             **extra: Any) -> dict[str, Any]:
    return {"ShipmentNo": number, "ShipNode": "DC_EAST", "SCAC": "UPSN", "ShipmentKey": f"K-{number}",
            "ShipmentLines": {"ShipmentLine": lines},
            "Containers": {"Container": [{"ContainerNo": f"C{n}", "TrackingNo": t} for n, t in enumerate(tracking)]},
            **extra}


def event(data: dict[str, Any], detail_type: str = "shipment.shipped") -> dict[str, Any]:
    return {"version": "0", "id": "bus-1", "detail-type": detail_type, "source": "ibm.sterling",
            "account": "123456789012", "time": "2024-05-02T14:05:11Z", "region": "us-east-1", "resources": [],
            "detail": {"id": "sterling-1", "time": "2024-05-02T14:05:10+00:00", "data": data}}


def run(data: dict[str, Any], detail_type: str = "shipment.shipped") -> dict[str, Any]:
    return shipment_sync.handle(EventBridgeEvent.model_validate(event(data, detail_type)))


def handler(raw: dict[str, Any]) -> dict[str, Any]:
    return eventbridge_flow("shipment_sync")(shipment_sync.handle)(raw, LambdaContext("ShipmentSyncFunction"))


def dlq_reasons(queue_url: str) -> list[str]:
    messages = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"])["reason"]["reason"] for m in messages]


def ship_body(number: str, items: list[tuple[int, int]], tracks: list[str], *, notify: bool = True) -> dict[str, Any]:
    return {
        "items": [{"order_item_id": i, "qty": q} for i, q in items],
        "notify": notify,
        "appendComment": False,
        "comment": {"comment": f"{MARK} {number} from DC_EAST", "is_visible_on_front": 0},
        "tracks": [{"carrier_code": "ups", "title": "United Parcel Service", "track_number": t} for t in tracks],
        "arguments": {"extension_attributes": {"source_code": "DC_EAST"}},
    }


SH1 = shipment("SH-1", [line(1, "SKU-A", "1.00")], ["1Z1"])
SH2 = shipment("SH-2", [line(1, "SKU-A", "2.00"), line(2, "SKU-B", "1.00")], ["1Z2", "1Z3"])


def test_a_shipment_ships_its_lines_once(commerce: FakeCommerce) -> None:
    exported()
    result = run(SH1)
    assert result == {"shipment": "SH-1", "orders": [{"order_no": ORDER_NO, "status": "shipped", "entity_id": 7,
                                                      "commerce_shipment_id": 100, "found": False}]}
    assert commerce.calls == [("list", 7), ("ship", 7, ship_body("SH-1", [(11, 1)], ["1Z1"]))]
    assert run(SH1)["orders"][0]["status"] == "duplicate"
    assert len(commerce.writes()) == 1


def test_a_partial_shipment_then_the_rest(commerce: FakeCommerce) -> None:
    exported()
    run(SH1)
    second = run(SH2)
    assert second["orders"][0]["status"] == "shipped"
    assert [call[2] for call in commerce.writes()] == [
        ship_body("SH-1", [(11, 1)], ["1Z1"]),
        ship_body("SH-2", [(11, 2), (12, 1)], ["1Z2", "1Z3"]),
    ]
    assert [row["qty_shipped"] for row in commerce.orders[7]["items"]] == [3, 1]


def test_without_the_export_map_the_order_is_found_and_lines_match_by_sku(commerce: FakeCommerce) -> None:
    run(SH2)
    assert commerce.calls == [("find", ORDER_NO), ("get", 7), ("list", 7),
                              ("ship", 7, ship_body("SH-2", [(11, 2), (12, 1)], ["1Z2", "1Z3"]))]


def test_timeout_after_commerce_shipped_is_not_shipped_again(commerce: FakeCommerce) -> None:
    exported()
    commerce.timeouts["ship"] = True
    result = run(SH1)
    assert result["orders"][0] == {"order_no": ORDER_NO, "status": "shipped", "entity_id": 7,
                                   "commerce_shipment_id": 100, "found": False}
    assert [c[0] for c in commerce.calls] == ["list", "ship", "list"]
    assert len(commerce.shipments) == 1
    assert run(SH1)["orders"][0]["status"] == "duplicate"


def test_timeout_before_commerce_shipped_is_retried_and_ships_once(commerce: FakeCommerce) -> None:
    exported()
    commerce.timeouts["ship"] = False
    with pytest.raises(AmbiguousCallError):
        run(SH1)
    assert commerce.shipments == []
    assert run(SH1)["orders"][0]["status"] == "shipped"
    assert [c[0] for c in commerce.calls] == ["list", "ship", "list", "list", "ship"]
    assert len(commerce.shipments) == 1


def test_a_shipment_commerce_already_has_is_recognised_before_sending(commerce: FakeCommerce) -> None:
    # As after a lost idempotency record: the marker comment says it is ours.
    exported()
    commerce.shipments.append({"entity_id": 90, "order_id": 7, "tracks": [],
                               "comments": [{"comment": f"{MARK} SH-1 from DC_EAST"}]})
    assert run(SH1)["orders"][0] == {"order_no": ORDER_NO, "status": "duplicate", "entity_id": 7,
                                     "commerce_shipment_id": 90, "found": True}
    assert commerce.writes() == []


def test_notify_follows_the_setting(commerce: FakeCommerce, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPMENT_NOTIFY", "false")
    config.reset()
    exported()
    run(SH1)
    assert commerce.writes()[0][2] == ship_body("SH-1", [(11, 1)], ["1Z1"], notify=False)


def test_an_event_without_lines_is_completed_from_sterling(commerce: FakeCommerce, sterling: FakeSterling) -> None:
    exported()
    sterling.shipments[("SH-2", "DC_EAST")] = SH2
    result = run({"ShipmentNo": "SH-2", "ShipNode": "DC_EAST",
                  "ShipmentLines": {"ShipmentLine": [{"OrderNo": ORDER_NO}]}})
    assert result["orders"][0]["status"] == "shipped"
    assert sterling.calls == [{"key": None, "no": "SH-2", "node": "DC_EAST"}]
    assert commerce.writes()[0][2] == ship_body("SH-2", [(11, 2), (12, 1)], ["1Z2", "1Z3"])


@pytest.mark.parametrize(("data", "reason"), [
    pytest.param({"ShipmentLines": {"ShipmentLine": [{"OrderNo": "294"}]}},
                 "shipment event for order 294 names no shipment (no ShipmentKey, no ShipmentNo + ShipNode) "
                 "and no shipped lines: cannot tell what shipped", id="minimal event"),
    pytest.param(shipment("SH-9", [line(9, "NOPE", "1.00")]),
                 f"shipment line 9.1 item NOPE of order {ORDER_NO} matches no item of the Commerce order",
                 id="line not in the order"),
    pytest.param(shipment("SH-9", [line(1, "SKU-A", "0.00")]),
                 f"shipment DC_EAST/SH-9 ships no quantity of order {ORDER_NO}", id="nothing shipped"),
    pytest.param(shipment("SH-9", [{**line(1, "SKU-A", "1.00"), "OrderNo": "999"}]),
                 "Commerce has no order 999", id="unknown order"),
    pytest.param(shipment("SH-9", [line(1, "SKU-A", "5.00")]),
                 "commerce POST /order/7/ship answered 400: Shipment Document Validation Error(s): The quantity "
                 'to ship must not be greater than the remaining quantity for product SKU "SKU-A".',
                 id="more than is left"),
])
def test_what_cannot_ship_is_parked_with_the_reason(commerce: FakeCommerce, aws: str, data: dict[str, Any],
                                                    reason: str) -> None:
    raw = event(data)
    assert handler(raw) == {"status": "parked", "reason": reason}
    assert dlq_reasons(aws) == [reason]
    assert commerce.shipments == []


def test_a_shipment_of_two_orders_ships_each(commerce: FakeCommerce) -> None:
    exported()
    commerce.orders[8] = {"entity_id": 8, "increment_id": "000000102", "items": [item(21, "SKU-C", 1)]}
    result = run(shipment("SH-3", [line(1, "SKU-A", "1.00"), {**line(1, "SKU-C", "1.00"), "OrderNo": "000000102"}],
                          ["1Z9"]))
    assert [(o["order_no"], o["status"]) for o in result["orders"]] == [(ORDER_NO, "shipped"), ("000000102", "shipped")]
    assert [(c[1], c[2]["items"]) for c in commerce.writes()] == [
        (7, [{"order_item_id": 11, "qty": 1}]), (8, [{"order_item_id": 21, "qty": 1}])]


PICKUP = {"ShipmentNo": "SH-P", "ShipNode": "STORE_1", "DeliveryMethod": "PICK",
          "ShipmentLines": {"ShipmentLine": [line(1, "SKU-A", "3.00", OrderLine={"DeliveryMethod": "PICK"})]}}
PICKED_UP_MINIMAL = {"ShipmentLines": {"ShipmentLine": [
    {"OrderNo": ORDER_NO, "OrderLine": {"DeliveryMethod": "PICK"}}]}}


def test_ready_for_pickup_notifies_once_and_picked_up_is_a_duplicate(commerce: FakeCommerce) -> None:
    exported()
    first = run(PICKUP, "shipment.ready_for_pickup")
    assert first == {"shipment": "SH-P", "orders": [{"order_no": ORDER_NO, "status": "ready_for_pickup",
                                                     "entity_id": 7, "found": False}]}
    assert run(PICKUP, "shipment.ready_for_pickup")["orders"][0]["status"] == "duplicate"
    assert run(PICKED_UP_MINIMAL)["orders"][0]["status"] == "duplicate"
    assert commerce.writes() == [("notify", [7])]


def test_picked_up_without_a_notice_before_still_ships_in_commerce(commerce: FakeCommerce) -> None:
    exported()
    assert run(PICKED_UP_MINIMAL)["orders"][0]["status"] == "ready_for_pickup"
    assert commerce.writes() == [("notify", [7])]
    assert len(commerce.shipments) == 1


@pytest.mark.parametrize("work_done", [True, False])
def test_pickup_notice_timeout(commerce: FakeCommerce, work_done: bool) -> None:
    exported()
    commerce.timeouts["notify"] = work_done
    if work_done:
        assert run(PICKUP, "shipment.ready_for_pickup")["orders"][0]["found"] is True
    else:
        with pytest.raises(RetryableError):
            run(PICKUP, "shipment.ready_for_pickup")
        assert run(PICKUP, "shipment.ready_for_pickup")["orders"][0]["found"] is False
    assert len(commerce.shipments) == 1


def test_pickup_already_shipped_by_an_earlier_notice(commerce: FakeCommerce) -> None:
    # The first notice went through but its answer and idempotency record were lost.
    exported()
    commerce.notify_ready_for_pickup([7])
    assert run(PICKUP, "shipment.ready_for_pickup")["orders"][0] == {
        "order_no": ORDER_NO, "status": "duplicate", "entity_id": 7, "found": True}


def capture_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVOICE_ON_SHIPMENT", "true")
    config.reset()


INVOICE = {"capture": True, "notify": True, "appendComment": False,
           "comment": {"comment": "[oms-bridge] Captured on Sterling shipment SH-2", "is_visible_on_front": 0}}


def test_capture_when_the_shipment_completes_an_authorised_order(commerce: FakeCommerce,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    capture_on(monkeypatch)
    exported(payment={"method": "braintree", "authorized": 60, "captured": 0})
    assert run(SH1)["orders"][0]["captured"] is False
    result = run(SH2)["orders"][0]
    assert (result["captured"], result["invoice_id"]) == (True, 500)
    assert [c[0] for c in commerce.writes()] == ["ship", "ship", "invoice"]
    assert commerce.writes()[-1] == ("invoice", 7, INVOICE)
    assert run(SH2)["orders"][0]["invoice_id"] == 500
    assert len(commerce.writes()) == 3


def test_no_capture_when_off_or_already_paid(commerce: FakeCommerce, monkeypatch: pytest.MonkeyPatch) -> None:
    exported(payment={"method": "braintree", "authorized": 60, "captured": 60})
    run(shipment("SH-A", [line(1, "SKU-A", "3.00"), line(2, "SKU-B", "1.00")]))
    assert [c[0] for c in commerce.writes()] == ["ship"]
    capture_on(monkeypatch)
    commerce.orders[7]["items"][0]["qty_shipped"] = 0
    run(shipment("SH-B", [line(1, "SKU-A", "3.00")]))
    assert [c[0] for c in commerce.writes()] == ["ship", "ship"]


def test_capture_timeout_after_commerce_invoiced_is_not_invoiced_again(commerce: FakeCommerce,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    capture_on(monkeypatch)
    exported()
    commerce.timeouts["invoice"] = True
    result = run(shipment("SH-2", [line(1, "SKU-A", "3.00"), line(2, "SKU-B", "1.00")]))["orders"][0]
    assert (result["captured"], result["invoice_id"]) == (True, None)
    assert [c[0] for c in commerce.writes()] == ["ship", "invoice"]


def test_unmapped_scac_still_sends_the_tracking_number(commerce: FakeCommerce) -> None:
    exported()
    run({**SH1, "SCAC": "ACME"})
    assert commerce.writes()[0][2]["tracks"] == [{"carrier_code": "custom", "title": "ACME", "track_number": "1Z1"}]


# -- shipment created ----------------------------------------------------------------------------

CREATED_COMMENT = "[oms-bridge] Shipment SH-2 created in Sterling at node DC_EAST: line 1 SKU-A x2, line 2 SKU-B x1"


def test_a_created_shipment_is_commented_on_its_order_once(commerce: FakeCommerce) -> None:
    exported()
    result = run(SH2, "shipment.created")
    assert result == {"shipment": "SH-2", "orders": [
        {"order_no": ORDER_NO, "status": "commented", "entity_id": 7, "comment": CREATED_COMMENT}]}
    assert run(SH2, "shipment.created")["orders"][0]["status"] == "duplicate"
    assert commerce.writes() == [("comment", 7, CREATED_COMMENT)]


@pytest.mark.parametrize("work_done", [True, False])
def test_a_created_comment_timeout_is_written_once(commerce: FakeCommerce, work_done: bool) -> None:
    exported()
    commerce.timeouts["comment"] = work_done
    if work_done:
        assert run(SH2, "shipment.created")["orders"][0]["status"] == "commented"
    else:
        with pytest.raises(AmbiguousCallError):
            run(SH2, "shipment.created")
        assert run(SH2, "shipment.created")["orders"][0]["status"] == "commented"
    assert commerce.orders[7]["status_histories"] == [{"comment": CREATED_COMMENT}]


def test_a_created_shipment_naming_no_order_is_read_from_sterling(commerce: FakeCommerce,
                                                                   sterling: FakeSterling) -> None:
    exported()
    sterling.shipments[("SH-2", "DC_EAST")] = SH2
    result = run({"ShipmentNo": "SH-2", "ShipNode": "DC_EAST"}, "shipment.created")
    assert [order["status"] for order in result["orders"]] == ["commented"]
    assert commerce.writes() == [("comment", 7, CREATED_COMMENT)]


def test_a_created_shipment_of_an_order_commerce_lacks_is_parked(commerce: FakeCommerce, aws: str) -> None:
    missing = shipment("SH-9", [{**line(1, "SKU-A", "1.00"), "OrderNo": "000000999"}])
    assert handler(event(missing, "shipment.created"))["status"] == "parked"
    assert dlq_reasons(aws) == ["Commerce has no order 000000999"]
    assert commerce.writes() == []


def test_other_events_are_parked(commerce: FakeCommerce, aws: str) -> None:
    raw = {**event(SH1), "detail-type": "shipment.ready_to_ship"}
    reason = "not a Sterling shipment event: ibm.sterling shipment.ready_to_ship"
    assert handler(raw) == {"status": "parked", "reason": reason}
    assert commerce.calls == []


# -- the sample events (events/shipment_sync) ----------------------------------------------------

EVENTS = Path(__file__).resolve().parents[2] / "events" / "shipment_sync"


def sample(name: str) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return raw


@pytest.fixture
def sample_orders(commerce: FakeCommerce) -> FakeCommerce:
    """The Commerce orders the sample events ship: 000000101 (a bag, a configurable hoodie) and
    000000102 (a pickup order), neither mapped by the export, so lines match by SKU."""
    commerce.orders = {
        7: {"entity_id": 7, "increment_id": ORDER_NO, "items": [
            item(11, "24-MB01", 2), item(12, "MH01-M-Gray", 1, product_type="configurable"),
            item(13, "MH01-M-Gray", 1, parent_item_id=12)]},
        8: {"entity_id": 8, "increment_id": "000000102", "items": [item(21, "24-WB01", 2)]},
    }
    return commerce


def test_sample_shipped_event(sample_orders: FakeCommerce) -> None:
    assert handler(sample("shipment_shipped.json"))["orders"][0]["status"] == "shipped"
    assert sample_orders.writes() == [("ship", 7, {
        "items": [{"order_item_id": 11, "qty": 2}, {"order_item_id": 12, "qty": 1}],
        "notify": True,
        "appendComment": False,
        "comment": {"comment": f"{MARK} SH100001 from DC_EAST", "is_visible_on_front": 0},
        "tracks": [{"carrier_code": "ups", "title": "United Parcel Service", "track_number": "1Z999AA10123456784"},
                   {"carrier_code": "ups", "title": "United Parcel Service", "track_number": "1Z999AA10123456795"}],
        "arguments": {"extension_attributes": {"source_code": "DC_EAST"}},
    })]


def test_sample_event_by_number_fetches_the_shipment(sample_orders: FakeCommerce, sterling: FakeSterling) -> None:
    sterling.shipments[("SH100002", "DC_EAST")] = {
        **sample("shipment_shipped.json")["detail"]["data"], "ShipmentNo": "SH100002"}
    assert handler(sample("shipment_shipped_by_key.json"))["orders"][0]["status"] == "shipped"
    assert sterling.calls == [{"key": None, "no": "SH100002", "node": "DC_EAST"}]
    assert sample_orders.writes()[0][2]["comment"]["comment"] == f"{MARK} SH100002 from DC_EAST"


def test_sample_minimal_event_is_parked(sample_orders: FakeCommerce, aws: str) -> None:
    assert handler(sample("shipment_shipped_minimal.json"))["status"] == "parked"
    assert dlq_reasons(aws) == ["shipment event for order 294 names no shipment (no ShipmentKey, no ShipmentNo + "
                                "ShipNode) and no shipped lines: cannot tell what shipped"]


def test_sample_ready_for_pickup_event(sample_orders: FakeCommerce) -> None:
    assert handler(sample("shipment_ready_for_pickup.json"))["orders"] == [
        {"order_no": "000000102", "status": "ready_for_pickup", "entity_id": 8, "found": False}]
    assert sample_orders.writes() == [("notify", [8])]


def test_every_sample_event_is_tested() -> None:
    assert {path.name for path in EVENTS.glob("*.json")} == {
        "shipment_shipped.json", "shipment_shipped_by_key.json", "shipment_shipped_minimal.json",
        "shipment_ready_for_pickup.json"}


SERVED = "(DEFAULT; STERLING_ENTERPRISE_CODE, STERLING_EXTRA_ENTERPRISE_CODES, the websites mapping table)"


def test_a_shipment_read_from_sterling_of_another_enterprise_is_parked(sample_orders: FakeCommerce,
                                                                      sterling: FakeSterling, aws: str) -> None:
    # The event names no enterprise; the shipment Sterling returns for it does.
    sterling.shipments[("SH100002", "DC_EAST")] = {
        **sample("shipment_shipped.json")["detail"]["data"], "ShipmentNo": "SH100002", "EnterpriseCode": "OTHER"}
    assert handler(sample("shipment_shipped_by_key.json"))["status"] == "parked"
    assert sample_orders.calls == []
    assert dlq_reasons(aws) == [f"shipment DC_EAST/SH100002 is of Sterling enterprise 'OTHER', not one this bridge "
                                f"serves {SERVED}"]


def test_an_extra_enterprise_is_served(commerce: FakeCommerce, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STERLING_EXTRA_ENTERPRISE_CODES", "OTHER, B2B")
    config.reset()
    exported()
    assert handler(event({**SH1, "EnterpriseCode": "B2B"}))["orders"][0]["status"] == "shipped"


@pytest.mark.parametrize(("status", "threshold", "shipped"), [
    ("1400", "1400", True), ("1400.10", "1400", True), ("1600.002", "1400", True), ("", "1400", True),
    ("1100", "1400", False), ("1300", "1400", False), ("1100.70.06.30", "1400", False), ("9000", "1400", False),
    ("9000.10", "1400", False), ("Shipped", "1400", False), ("1400", "1400.10", False), ("1400.10", "1400.10", True),
])
def test_only_a_shipment_at_a_shipped_status_is_shipped(commerce: FakeCommerce, aws: str,
                                                        monkeypatch: pytest.MonkeyPatch, status: str, threshold: str,
                                                        shipped: bool) -> None:
    monkeypatch.setenv("SHIPMENT_SHIPPED_MIN_STATUS", threshold)
    config.reset()
    exported()
    result = handler(event({**SH1, "Status": status}))
    assert (result.get("status") != "parked") is shipped
    assert bool(commerce.writes()) is shipped
    if not shipped:
        assert dlq_reasons(aws) == [f"shipment DC_EAST/SH-1 is at Sterling status {status!r}, not shipped "
                                    f"(SHIPMENT_SHIPPED_MIN_STATUS {threshold} up to 9000, cancelled)"]
