"""OrderExportFunction end to end over the sandbox: Commerce simulator → bus → function → Sterling
simulator, with moto state, Lambda's retries and the DLQ."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from omsbridge.mapping.order import sterling_date
from sandbox import cli, demo_data
from sandbox.contracts import assert_commerce_contract
from sandbox.sim.base import Fault
from sandbox.sim.sterling.documents import INVALID_NODE
from sandbox.stack import SANDBOX_SECRET, Sandbox
from tests.support import request

ROOT = Path(__file__).resolve().parents[2]
FUNCTION = "OrderExportFunction"
CREATE = "/smcfs/restapi/invoke/createOrder"
CHANGE = "/smcfs/restapi/invoke/changeOrder"
KEY = {"OrderNo": "000000101", "EnterpriseCode": "DEFAULT", "DocumentType": "0001"}


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=demo_data.SEED) as box:
        yield box


def calls(sb: Sandbox, path: str) -> list[dict[str, Any]]:
    return [call for call in sb.sterling.calls if call["path"] == path]


def order_ref(sb: Sandbox, increment_id: str) -> dict[str, Any] | None:
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(sb.aws.physical["StateTable"])
    item = table.get_item(Key={"pk": f"order#{increment_id}", "sk": "map"}).get("Item")
    return json.loads(str(item["doc"])) if item else None


def commerce(sb: Sandbox, action: str, entity_id: int, body: dict[str, Any] | None = None) -> Any:
    """What an admin does in Commerce (REST as the admin panel would)."""
    answer = request("POST", f"{sb.url('commerce')}/rest/default/V1/orders/{entity_id}/{action}", json=body,
                     headers={"Authorization": f"Bearer {SANDBOX_SECRET['commerce_bearer_token']}"})
    answer.raise_for_status()
    return answer.json()


def publish(sb: Sandbox, cloud_event: dict[str, Any]) -> None:
    sb.publish("adobe.commerce", cloud_event["type"], cloud_event)


def expected_create(cloud_event: dict[str, Any]) -> dict[str, Any]:
    """The createOrder body for ``demo_data.simple_order()`` as Commerce placed it."""
    value = cloud_event["data"]["value"]
    person = {"FirstName": "Jane", "LastName": "Doe", "AddressLine1": "100 Example Street",
              "AddressLine2": "Suite 5", "City": "Austin", "State": "TX", "ZipCode": "78701", "Country": "US",
              "DayPhone": "555-0100", "EMailID": "jane.doe@example.com"}
    return {
        **KEY, "SellerOrganizationCode": "DEFAULT", "EntryType": "WEB",
        "OrderDate": sterling_date(value["created_at"]), "DraftOrderFlag": "N", "PriceInfo": {"Currency": "USD"},
        "BillToID": "7", "CustomerEMailID": "jane.doe@example.com", "CustomerFirstName": "Jane",
        "CustomerLastName": "Doe", "SCAC": "UPSN", "CarrierServiceCode": "UPSNGround",
        "PersonInfoShipTo": person, "PersonInfoBillTo": person,
        "OrderLines": {"OrderLine": [{
            "PrimeLineNo": 1, "SubLineNo": 1, "OrderedQty": 2, "DeliveryMethod": "SHP",
            "CustomerLinePONo": value["items"][0]["item_id"],
            "Item": {"ItemID": "DEMO-MUG", "UnitOfMeasure": "EACH", "ProductClass": "GOOD",
                     "ItemShortDesc": "Demo mug"},
            "LinePriceInfo": {"UnitPrice": 12.5, "IsPriceLocked": "Y"}}]},
        "HeaderCharges": {"HeaderCharge": [{"ChargeCategory": "Shipping", "ChargeName": "Shipping",
                                            "ChargeAmount": 5}]},
        "PaymentMethods": {"PaymentMethod": [{
            "PaymentType": "CREDIT_CARD", "PaymentReference1": "braintree", "DisplayCreditCardNo": "1111",
            "CreditCardType": "VISA", "UnlimitedCharges": "N", "MaxChargeLimit": 30,
            "PaymentDetailsList": {"PaymentDetails": [{
                "ChargeType": "AUTHORIZATION", "RequestAmount": 30, "ProcessedAmount": 30,
                "AuthorizationID": "demo-000000101"}]}}]},
    }


def test_one_order_delivered_three_times_and_saved_twice_is_created_once(sb: Sandbox) -> None:
    placed = sb.commerce.place_order(demo_data.simple_order())
    entity_id = int(placed["data"]["value"]["items"][0]["order_id"])
    for _ in range(3):
        publish(sb, placed)
    sb.deliver()
    # Two later saves of the order in Commerce: a comment, then an invoice.
    commerce(sb, "comments", entity_id, {"statusHistory": {
        "comment": "Customer asked for gift wrap", "is_customer_notified": 0, "is_visible_on_front": 0,
        "parent_id": entity_id}})
    request("POST", f"{sb.url('commerce')}/rest/default/V1/order/{entity_id}/invoice", json={"capture": True},
            headers={"Authorization": f"Bearer {SANDBOX_SECRET['commerce_bearer_token']}"}).raise_for_status()
    sb.deliver()

    created = calls(sb, CREATE)
    assert [(call["status"], call["body"]) for call in created] == [(200, expected_create(placed))]
    assert calls(sb, CHANGE) == []
    assert sb.dlq(FUNCTION) == []
    item_id = int(placed["data"]["value"]["items"][0]["item_id"])
    ref = order_ref(sb, "000000101")
    assert ref is not None
    assert ref["entity_id"] == entity_id
    assert ref["order_header_key"] == sb.sterling.order("000000101").key
    assert ref["lines"] == [{"prime_line_no": 1, "sub_line_no": 1, "order_item_id": item_id, "sku": "DEMO-MUG",
                             "parent_item_id": None, "qty": 2.0, "child_item_id": None}]
    # What the export stored, and the capture of the invoice above (kept by ReturnsFunction).
    assert ref["payment"] == {"method": "braintree", "payment_type": "CREDIT_CARD", "amount_ordered": 30,
                              "authorized": 30, "captured": 30, "transaction_id": "demo-000000101",
                              "invoiced": 30}
    assert_commerce_contract(sb.commerce)


def test_sterling_answering_503_twice_still_gets_the_order_exactly_once(sb: Sandbox) -> None:
    sb.sterling.faults.script(r"/invoke/createOrder$", Fault("status", status=503), times=2)

    publish(sb, sb.commerce.place_order(demo_data.simple_order()))
    sb.deliver()

    assert [call["status"] for call in calls(sb, CREATE)] == [503, 503, 200]
    assert [order.order_no for order in sb.sterling.orders.values()] == ["000000101"]
    assert sb.dlq(FUNCTION) == []
    assert order_ref(sb, "000000101") is not None


def test_an_order_sterling_refuses_ends_in_the_dlq_with_sterlings_reason(sb: Sandbox) -> None:
    publish(sb, sb.commerce.place_order(demo_data.pickup_order(increment_id="000000201")))
    unknown_store = demo_data.pickup_order(increment_id="000000202")
    unknown_store["extension_attributes"]["pickup_location_code"] = "store_9"
    publish(sb, sb.commerce.place_order(unknown_store))
    sb.deliver()

    records = sb.dlq(FUNCTION)
    assert [(r["flow"], r["reason"]["system"], r["reason"]["code"]) for r in records] == [
        ("order_export", "sterling", INVALID_NODE)]
    assert "ShipNode=store_9" in records[0]["reason"]["reason"]
    assert records[0]["event"]["detail"]["data"]["value"]["increment_id"] == "000000202"
    assert [order.order_no for order in sb.sterling.orders.values()] == ["000000201"]
    assert order_ref(sb, "000000202") is None


def test_an_order_with_a_negative_quantity_is_parked_without_calling_sterling(sb: Sandbox) -> None:
    broken = copy.deepcopy(sb.commerce.place_order(demo_data.simple_order()))
    broken["id"] = str(uuid.uuid4())
    broken["data"]["value"]["items"][0]["qty_ordered"] = -2

    publish(sb, broken)
    sb.deliver()

    assert [r["reason"]["reason"] for r in sb.dlq(FUNCTION)] == [
        "order 000000101 is not exportable: items.0.qty_ordered: Input should be greater than 0"]
    assert calls(sb, CREATE) == []


def test_commerce_hold_unhold_and_cancel_reach_sterling_once_each(sb: Sandbox) -> None:
    placed = sb.commerce.place_order(demo_data.simple_order())
    entity_id = int(placed["data"]["value"]["items"][0]["order_id"])
    publish(sb, placed)
    sb.deliver()

    for action in ("hold", "unhold", "cancel"):
        assert commerce(sb, action, entity_id) is True
        sb.deliver()

    assert [call["body"] for call in calls(sb, CHANGE)] == [
        {**KEY, "OrderHoldTypes": {"OrderHoldType": [
            {"HoldType": "COMMERCE_HOLD", "ReasonText": "Held in Adobe Commerce", "Status": "1100"}]}},
        {**KEY, "OrderHoldTypes": {"OrderHoldType": [{"HoldType": "COMMERCE_HOLD", "Status": "1300"}]}},
        {**KEY, "Action": "CANCEL", "ModificationReasonText": "Cancelled in Adobe Commerce"},
    ]
    order = sb.sterling.order("000000101")
    assert order.cancelled
    assert not order.held
    assert len(calls(sb, CREATE)) == 1
    assert sb.dlq(FUNCTION) == []
    assert_commerce_contract(sb.commerce)


def test_a_hold_this_integration_wrote_into_commerce_is_not_echoed_back(sb: Sandbox) -> None:
    placed = sb.commerce.place_order(demo_data.simple_order())
    entity_id = int(placed["data"]["value"]["items"][0]["order_id"])
    publish(sb, placed)
    sb.deliver()
    # What OrderStatusFunction does for a Sterling hold: record the state, then write it into Commerce.
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(sb.aws.physical["StateTable"])
    ref = order_ref(sb, "000000101")
    assert ref is not None
    table.put_item(Item={"pk": "order#000000101", "sk": "map",
                         "doc": json.dumps({**ref, "synced_state": "holded"})})

    assert commerce(sb, "hold", entity_id) is True
    sb.deliver()

    assert calls(sb, CHANGE) == []
    assert order_ref(sb, "000000101") == {**ref, "synced_state": "holded", "commerce_state": "holded"}


def printed_trace(out: str) -> dict[str, Any]:
    """The JSON object ``run`` prints, among the metrics lines Powertools writes to stdout."""
    decoder, documents, position = json.JSONDecoder(), [], 0
    while position < len(out):
        if out[position].isspace():
            position += 1
            continue
        document, position = decoder.raw_decode(out, position)
        documents.append(document)
    return next(d for d in documents if isinstance(d, dict) and "calls" in d)


def test_sandbox_run_prints_the_create_order_call(capsys: pytest.CaptureFixture[str]) -> None:
    event = ROOT / "events" / "order_export" / "order_saved.json"
    # Sterling's catalog holds the item the sample order sells: what the seed names exists.
    seed = ROOT / "events" / "order_export" / "seed.json"

    assert cli.main(["run", FUNCTION, str(event), "--seed", str(seed)]) == 0

    trace = printed_trace(capsys.readouterr().out)
    assert trace["result"] == {"status": "exported", "order_no": "000000617", "lines": 1}
    sterling_calls = [call for call in trace["calls"] if call["path"] == CREATE]
    assert [call["body"]["OrderNo"] for call in sterling_calls] == ["000000617"]
    assert sterling_calls[0]["body"]["OrderLines"]["OrderLine"][0]["Item"]["ItemID"] == "Adobe_Pro_12"


def test_order_lines_carry_the_configured_product_class() -> None:
    seed = {**demo_data.SEED, "sterling": {**demo_data.SEED["sterling"], "product_classes": ["NEW"]}}
    with Sandbox(seed=seed, env={"STERLING_PRODUCT_CLASS": "NEW"}) as box:
        publish(box, box.commerce.place_order(demo_data.simple_order()))
        box.deliver()

        [created] = calls(box, CREATE)
        assert (created["status"], created["body"]["OrderLines"]["OrderLine"][0]["Item"]) == (200, {
            "ItemID": "DEMO-MUG", "UnitOfMeasure": "EACH", "ProductClass": "NEW", "ItemShortDesc": "Demo mug"})
        assert box.dlq(FUNCTION) == []


def klarna_order() -> dict[str, Any]:
    order = demo_data.simple_order()
    order["payment"] = {"method": "klarna_kp", "amount_ordered": order["grand_total"],
                        "amount_authorized": order["grand_total"]}
    return order


def test_an_unmapped_payment_method_is_parked_before_any_sterling_call(sb: Sandbox) -> None:
    publish(sb, sb.commerce.place_order(klarna_order()))
    sb.deliver()

    assert [(r["reason"]["system"], r["reason"]["code"], r["reason"]["reason"]) for r in sb.dlq(FUNCTION)] == [
        ("mapping", "unmapped_payment_method",
         "order 000000101: payment method 'klarna_kp' has no PaymentType in the payment_types table and "
         "STERLING_PAYMENT_TYPE_FALLBACK is not set")]
    assert calls(sb, CREATE) == []
    assert order_ref(sb, "000000101") is None


def test_the_payment_type_fallback_is_used_only_when_set() -> None:
    with Sandbox(seed=demo_data.SEED, env={"STERLING_PAYMENT_TYPE_FALLBACK": "OTHER"}) as box:
        publish(box, box.commerce.place_order(klarna_order()))
        box.deliver()

        [created] = calls(box, CREATE)
        assert (created["status"], created["body"]["PaymentMethods"]) == (200, {"PaymentMethod": [{
            "PaymentType": "OTHER", "PaymentReference1": "klarna_kp", "UnlimitedCharges": "N", "MaxChargeLimit": 30,
            "PaymentDetailsList": {"PaymentDetails": [{"ChargeType": "AUTHORIZATION", "RequestAmount": 30,
                                                       "ProcessedAmount": 30}]}}]})
        assert box.dlq(FUNCTION) == []
