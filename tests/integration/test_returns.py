"""ReturnsFunction end to end on the sandbox: Commerce invoices, credit memos and returns reach
Sterling, and Sterling's return refunds come back as Commerce credit memos for exactly the returned
items. Every body is asserted as the far side received it, in order, with nothing else sent.

One sandbox serves the module (carrying orders to Sterling and shipping them costs seconds); each
test works on its own order. An admin's steps in Commerce go through its REST API, as the admin
panel's would.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from omsbridge.mapping.order import sterling_date
from sandbox.contracts import assert_commerce_contract
from sandbox.demo_data import SEED, mugs_and_tee, simple_order
from sandbox.sim.base import Fault
from sandbox.stack import SANDBOX_SECRET, Sandbox
from tests.support import request

FUNCTION = "ReturnsFunction"
V1 = "/rest/default/V1"
ADMIN = {"Authorization": f"Bearer {SANDBOX_SECRET['commerce_bearer_token']}"}
REFUND_MARK = "[oms-bridge] Refund for Sterling return"
# A tenant's own return reason codes (returns_settings / return_reasons are overridable per deployment).
ENV = {"MAPPING_OVERRIDES": json.dumps({"return_reasons": {"wrong_size": "WRONG_SIZE"}})}




ORDERS = [mugs_and_tee("000000601", 3), mugs_and_tee("000000602", 2), simple_order("000000603", qty=3),
          simple_order("000000604", qty=2), simple_order("000000605", qty=3), simple_order("000000606", qty=1),
          simple_order("000000607", qty=2)]


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    """The orders exported, released and shipped in full (Sterling → Commerce shipments)."""
    with Sandbox(seed=copy.deepcopy(SEED), env=ENV) as sandbox:
        for order in ORDERS:
            cloud_event = sandbox.commerce.place_order(copy.deepcopy(order))
            sandbox.publish("adobe.commerce", cloud_event["type"], cloud_event)
        sandbox.deliver()
        api = sandbox.sterling_user()
        for order in ORDERS:
            number = order["increment_id"]
            sandbox.sterling.schedule(number)
            sandbox.sterling.release(number)
            lines = sandbox.sterling.order(number).lines
            api.create_shipment({"ShipmentNo": f"SH-{number}", "ShipNode": "default", "ShipmentLines": {
                "ShipmentLine": [{"OrderNo": number, "PrimeLineNo": line.prime_line_no, "SubLineNo": "1",
                                  "Quantity": str(line.ordered_qty)} for line in lines]}})
            api.confirm_shipment({"ShipmentNo": f"SH-{number}", "ShipNode": "default",
                                  "SellerOrganizationCode": "DEFAULT"})
        api.close()
        sandbox.deliver()
        yield sandbox


# -- what an admin does in Commerce -----------------------------------------------------------------


def admin(sandbox: Sandbox, method: str, path: str, body: Any = None) -> Any:
    answer = request(method, f"{sandbox.url('commerce')}{V1}{path}", json=body, headers=ADMIN)
    answer.raise_for_status()
    return answer.json()


def order_of(sandbox: Sandbox, increment_id: str) -> dict[str, Any]:
    found: dict[str, Any] = sandbox.commerce.find_order(increment_id)
    return found


def item_ids(order: dict[str, Any]) -> dict[str, int]:
    """SKU → id of the order's top-level rows (a configurable's parent row carries its child's SKU)."""
    return {item["sku"]: int(item["item_id"]) for item in order["items"] if not item.get("parent_item_id")}


def request_return(sandbox: Sandbox, order: dict[str, Any], items: dict[int, int]) -> dict[str, Any]:
    """A customer's return request (``POST /V1/returns``), pending."""
    created: dict[str, Any] = admin(sandbox, "POST", "/returns", {"rmaDataObject": {
        "increment_id": "", "entity_id": 0, "order_id": order["entity_id"], "order_increment_id": order["increment_id"],
        "store_id": 1, "customer_id": 7, "date_requested": "", "customer_custom_email": "", "status": "pending",
        "comments": [], "tracks": [],
        "items": [{"entity_id": 0, "rma_entity_id": 0, "order_item_id": item_id, "qty_requested": qty,
                   "qty_authorized": 0, "qty_approved": 0, "qty_returned": 0, "reason": "wrong_size",
                   "condition": "unopened", "resolution": "refund", "status": "pending"}
                  for item_id, qty in items.items()]}})
    return created


def update_return(sandbox: Sandbox, rma: dict[str, Any], status: str, *, authorized: int,
                  returned: int = 0) -> dict[str, Any]:
    """The admin authorises / receives / closes the return (``PUT /V1/returns/{id}``)."""
    changed = copy.deepcopy(rma)
    changed["status"] = status
    for item in changed["items"]:
        item.update(qty_authorized=authorized, qty_returned=returned, status=status)
    updated: dict[str, Any] = admin(sandbox, "PUT", f"/returns/{rma['entity_id']}", {"rmaDataObject": changed})
    return updated


# -- what the function sent --------------------------------------------------------------------------


def sterling_since(sandbox: Sandbox, mark: int) -> list[tuple[str, Any]]:
    """(API, body) of each Sterling call after ``mark``, logins left out."""
    return [(call["path"].rsplit("/", 1)[1], call["body"]) for call in sandbox.sterling.calls[mark:]
            if not call["path"].endswith("/invoke/login")]


def commerce_since(sandbox: Sandbox, mark: int) -> list[tuple[str, str, Any]]:
    return [(call["method"], call["path"].removeprefix(V1), call["body"] if call["method"] != "GET" else call["query"])
            for call in sandbox.commerce.calls[mark:]]


def by_order(entity_id: int) -> dict[str, str]:
    """The searchCriteria of a search by ``order_id``."""
    prefix = "searchCriteria[filter_groups][0][filters][0]"
    return {f"{prefix}[field]": "order_id", f"{prefix}[value]": str(entity_id), f"{prefix}[condition_type]": "eq",
            "searchCriteria[pageSize]": "100", "searchCriteria[currentPage]": "1"}


def results(sandbox: Sandbox, since: int = 0) -> list[dict[str, Any]]:
    return [r.get("result") or {"error": r.get("error")} for r in sandbox.invocations[since:]
            if r["function"] == FUNCTION]


def redeliver(sandbox: Sandbox, since: int) -> int:
    """Put every event ReturnsFunction was given since ``since`` on the bus once more."""
    events = [r["event"] for r in sandbox.invocations[since:] if r["function"] == FUNCTION]
    for event in events:
        sandbox.publish(event["source"], event["detail-type"], event["detail"])
    return len(events)


def order_ref(sandbox: Sandbox, increment_id: str) -> dict[str, Any]:
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(sandbox.aws.physical["StateTable"])
    item = table.get_item(Key={"pk": f"order#{increment_id}", "sk": "map"})["Item"]
    doc: dict[str, Any] = json.loads(str(item["doc"]))
    return doc


def parked(sandbox: Sandbox, order: dict[str, Any]) -> list[str]:
    """Why events about ``order`` were parked (its number or its id is in the event)."""
    marks = (order["increment_id"], f'"order_id": {order["entity_id"]},')
    return [record["reason"]["reason"] for record in sandbox.dlq(FUNCTION)
            if any(mark in json.dumps(record["event"]) for mark in marks)]


# -- Commerce invoice → Sterling ----------------------------------------------------------------------


def test_an_invoice_of_part_of_an_order_is_recorded_once_with_its_lines_shipping_and_currency(box: Sandbox) -> None:
    order = order_of(box, "000000601")
    ids = item_ids(order)
    assert order_ref(box, "000000601")["payment"]["captured"] == 0  # authorised at checkout
    invoice_id = admin(box, "POST", f"/order/{order['entity_id']}/invoice",
                       {"capture": True, "items": [{"order_item_id": ids["DEMO-MUG"], "qty": 2}]})
    sterling, commerce, invocations = len(box.sterling.calls), len(box.commerce.calls), len(box.invocations)
    box.deliver()
    invoice = box.commerce.invoices[invoice_id]
    reference = {"OrderNo": "000000601", "EnterpriseCode": "DEFAULT", "DocumentType": "0001",
                 "Reference1": f"Commerce invoice {invoice['increment_id']}"}
    assert commerce_since(box, commerce) == [("GET", f"/orders/{order['entity_id']}", {})]
    assert sterling_since(box, sterling) == [
        ("getOrderInvoiceList", reference),
        ("recordInvoiceCreation", {
            **reference, "OrderHeaderKey": box.sterling.order("000000601").key, "InvoiceType": "PRO_FORMA",
            "Currency": "USD", "DateInvoiced": sterling_date(invoice["created_at"]),
            "LineDetails": {"LineDetail": [{"PrimeLineNo": 1, "SubLineNo": 1, "Quantity": 2, "UnitPrice": 12.5}]},
            "HeaderChargeList": {"HeaderCharge": [
                {"ChargeCategory": "Shipping", "ChargeName": "Shipping", "ChargeAmount": 5}]}}),
    ]
    [recorded] = [i for i in box.sterling.invoices if i["Reference1"] == reference["Reference1"]]
    assert (recorded["TotalAmount"], recorded["Currency"]) == ("30.00", "USD")
    # Commerce captured it: the order's payment state says so for the rest of its life.
    payment = order_ref(box, "000000601")["payment"]
    assert (payment["captured"], payment["invoiced"]) == (30, 30)
    # The same invoice event again, twice: nothing more reaches either side.
    sterling, commerce, again = len(box.sterling.calls), len(box.commerce.calls), len(box.invocations)
    redeliver(box, invocations)
    redeliver(box, invocations)
    box.deliver()
    assert (sterling_since(box, sterling), commerce_since(box, commerce)) == ([], [])
    assert [r["status"] for r in results(box, invocations)] == ["recorded", "duplicate", "duplicate"]
    assert results(box, again)[0]["sterling_invoice_no"] == recorded["InvoiceNo"]
    assert parked(box, order) == []
    assert_commerce_contract(box.commerce)


# -- Commerce credit memo → Sterling --------------------------------------------------------------------


def test_a_credit_memo_of_one_line_of_two_refunds_exactly_that_line_and_its_amounts(box: Sandbox) -> None:
    order = order_of(box, "000000602")
    ids = item_ids(order)
    invoice_id = admin(box, "POST", f"/order/{order['entity_id']}/invoice", {"capture": True})
    box.deliver()
    # The admin refunds the tee: 2.00 of the shipping back, a 1.00 fee kept, 0.50 goodwill on top.
    memo_id = admin(box, "POST", f"/invoice/{invoice_id}/refund", {
        "items": [{"order_item_id": ids["TEE-M-BLUE"], "qty": 1}], "notify": False,
        "arguments": {"shipping_amount": 2, "adjustment_positive": 0.5, "adjustment_negative": 1}})
    sterling, invocations = len(box.sterling.calls), len(box.invocations)
    box.deliver()
    memo = box.commerce.creditmemos[memo_id]
    assert memo["grand_total"] == 26.5  # 25 + 2 + 0.5 - 1: the tee, not the invoice
    reference = {"OrderNo": "000000602", "EnterpriseCode": "DEFAULT", "DocumentType": "0001",
                 "Reference1": f"Commerce credit memo {memo['increment_id']}"}
    assert sterling_since(box, sterling) == [
        ("getOrderInvoiceList", reference),
        ("recordInvoiceCreation", {
            **reference, "OrderHeaderKey": box.sterling.order("000000602").key, "InvoiceType": "CREDIT_MEMO",
            "Currency": "USD", "DateInvoiced": sterling_date(memo["created_at"]),
            "LineDetails": {"LineDetail": [{"PrimeLineNo": 2, "SubLineNo": 1, "Quantity": 1, "UnitPrice": -25}]},
            "HeaderChargeList": {"HeaderCharge": [
                {"ChargeCategory": "Shipping", "ChargeName": "Shipping", "ChargeAmount": -2},
                {"ChargeCategory": "Adjustment", "ChargeName": "Refund adjustment", "ChargeAmount": 0.5}]}}),
    ]
    [recorded] = [i for i in box.sterling.invoices if i["Reference1"] == reference["Reference1"]]
    assert recorded["TotalAmount"] == "-26.50"
    sterling = len(box.sterling.calls)
    redeliver(box, invocations)
    box.deliver()
    assert sterling_since(box, sterling) == []
    assert [r["status"] for r in results(box, invocations)] == ["recorded", "duplicate"]
    assert parked(box, order) == []
    assert_commerce_contract(box.commerce)


# -- Commerce return → Sterling return order → Sterling refund → Commerce credit memo -------------------


def test_a_return_of_one_unit_of_a_line_of_three_is_authorised_received_and_refunded(box: Sandbox) -> None:
    order = order_of(box, "000000603")
    mug = item_ids(order)["DEMO-MUG"]
    invoice_id = admin(box, "POST", f"/order/{order['entity_id']}/invoice", {"capture": True})
    box.deliver()
    sales = box.sterling.order("000000603")
    rma = request_return(box, order, {mug: 1})
    return_no = rma["increment_id"]
    key = {"OrderNo": return_no, "EnterpriseCode": "DEFAULT", "DocumentType": "0003"}
    sterling, first = len(box.sterling.calls), len(box.invocations)
    box.deliver()
    assert sterling_since(box, sterling) == [
        ("getOrderDetails", {"OrderNo": "000000603", "EnterpriseCode": "DEFAULT", "DocumentType": "0001"}),
        ("getOrderList", key),
        ("createOrder", {
            "EnterpriseCode": "DEFAULT", "SellerOrganizationCode": "DEFAULT", "DocumentType": "0003",
            "OrderNo": return_no, "OrderDate": sterling_date(rma["date_requested"]), "DraftOrderFlag": "N",
            "PriceInfo": {"Currency": "USD"},
            "OrderLines": {"OrderLine": [{
                "PrimeLineNo": 1, "SubLineNo": 1, "OrderedQty": 1, "ReturnReason": "WRONG_SIZE", "ShipNode": "default",
                "CustomerLinePONo": str(mug),
                "DerivedFrom": {"OrderHeaderKey": sales.key, "OrderNo": "000000603", "EnterpriseCode": "DEFAULT",
                                "DocumentType": "0001", "PrimeLineNo": 1, "SubLineNo": 1},
                "Item": {"ItemID": "DEMO-MUG", "UnitOfMeasure": "EACH", "ProductClass": "GOOD"},
                "LinePriceInfo": {"UnitPrice": 12.5, "IsPriceLocked": "Y"}}]}}),
        ("getOrderDetails", key),
    ]

    rma = update_return(box, rma, "authorized", authorized=1)
    sterling = len(box.sterling.calls)
    box.deliver()
    assert sterling_since(box, sterling) == [
        ("getOrderDetails", key),
        ("changeOrderStatus", {**key, "TransactionId": "AUTHORIZE_RETURN.0003", "BaseDropStatus": "1100.01",
                               "OrderLines": {"OrderLine": [{"PrimeLineNo": 1, "SubLineNo": 1, "Quantity": 1}]}}),
    ]

    rma = update_return(box, rma, "received", authorized=1, returned=1)
    sterling = len(box.sterling.calls)
    box.deliver()
    [receipt] = [r for r in box.sterling.returns.receipts.values() if r.order.order_no == return_no]
    assert sterling_since(box, sterling) == [
        ("getOrderDetails", key),
        ("startReceipt", {"DocumentType": "0003", "ReceivingNode": "default", "Shipment": key}),
        ("receiveOrder", {"DocumentType": "0003", "ReceiptHeaderKey": receipt.key, "ReceivingNode": "default",
                          "ReceiptLines": {"ReceiptLine": [{"OrderNo": return_no, "PrimeLineNo": 1, "SubLineNo": 1,
                                                            "ItemID": "DEMO-MUG", "UnitOfMeasure": "EACH",
                                                            "Quantity": 1}]}}),
        ("closeReceipt", {"DocumentType": "0003", "ReceiptHeaderKey": receipt.key}),
    ]
    assert box.sterling.returns.returned(return_no) == {"3950": "1.00"}

    # Sterling's return invoicing refunds the unit: Commerce credits one mug on the invoice.
    sterling, commerce = len(box.sterling.calls), len(box.commerce.calls)
    box.sterling.returns.refund(return_no)
    box.deliver()
    [memo] = [m for m in box.commerce.creditmemos.values() if m["order_id"] == order["entity_id"]]
    assert commerce_since(box, commerce) == [
        ("GET", "/creditmemos", by_order(order["entity_id"])),
        ("GET", "/invoices", by_order(order["entity_id"])),
        ("POST", f"/invoice/{invoice_id}/refund", {
            "items": [{"order_item_id": mug, "qty": 1}], "isOnline": True, "notify": True, "appendComment": False,
            "comment": {"comment": f"{REFUND_MARK} {return_no}", "is_visible_on_front": 0},
            "arguments": {"shipping_amount": 0, "adjustment_positive": 0, "adjustment_negative": 0}}),
    ]
    assert ([(i["order_item_id"], i["qty"]) for i in memo["items"]], memo["shipping_amount"], memo["grand_total"]) == (
        [(mug, 1)], 0, 12.5)
    assert box.commerce.invoices[invoice_id]["grand_total"] == 42.5
    # The credit memo's own Commerce event came back and stopped here: Sterling got no credit memo.
    assert sterling_since(box, sterling) == []
    assert [(r["status"], r.get("changes") or r.get("credit_memos")) for r in results(box, first)] == [
        ("processed", ["created"]), ("processed", ["authorized"]), ("processed", ["received"]),
        ("ignored", None), ("credited", [memo["entity_id"]]), ("loop_dropped", None)]

    # Every one of those events once more: nothing moves on either side.
    sterling, commerce, again = len(box.sterling.calls), len(box.commerce.calls), len(box.invocations)
    assert redeliver(box, first) == 6
    box.deliver()
    assert (sterling_since(box, sterling), commerce_since(box, commerce)) == ([], [])
    assert [r["status"] for r in results(box, again)] == [
        "duplicate", "duplicate", "duplicate", "ignored", "duplicate", "loop_dropped"]
    assert parked(box, order) == []
    assert_commerce_contract(box.commerce)


def test_a_refund_whose_answer_is_lost_credits_once(box: Sandbox) -> None:
    order = order_of(box, "000000604")
    mug = item_ids(order)["DEMO-MUG"]
    admin(box, "POST", f"/order/{order['entity_id']}/invoice", {"capture": True})
    rma = request_return(box, order, {mug: 2})
    box.deliver()
    update_return(box, rma, "received", authorized=2, returned=2)
    box.deliver()
    # Commerce makes the credit memo, then answers after the client gave up (HTTP_READ_TIMEOUT is 1 s).
    box.commerce.faults.script(r"/V1/invoice/\d+/refund$", Fault("timeout", seconds=1.5))
    commerce, first = len(box.commerce.calls), len(box.invocations)
    box.sterling.returns.refund(rma["increment_id"])
    box.deliver()
    assert [(i["order_item_id"], i["qty"]) for m in box.commerce.creditmemos.values()
            if m["order_id"] == order["entity_id"] for i in m["items"]] == [(mug, 2)]
    # The retry read back what the return had credited and sent nothing more: one memo above is one
    # POST. (The simulator records the timed-out POST only when its late answer goes out.)
    assert [(method, path) for method, path, _ in commerce_since(box, commerce) if method == "GET"] == [
        ("GET", "/creditmemos"), ("GET", "/invoices"), ("GET", "/creditmemos")]
    assert [(r.get("status"), r.get("credit_memos")) for r in results(box, first)] == [
        (None, None), ("duplicate", []), ("loop_dropped", None)]
    assert parked(box, order) == []


def test_a_closed_return_cancels_in_sterling_what_was_never_received(box: Sandbox) -> None:
    order = order_of(box, "000000605")
    rma = request_return(box, order, {item_ids(order)["DEMO-MUG"]: 2})
    box.deliver()
    rma = update_return(box, rma, "authorized", authorized=2)
    authorised = len(box.invocations)
    box.deliver()
    rma = update_return(box, rma, "received_on_item", authorized=2, returned=1)
    box.deliver()
    update_return(box, rma, "closed", authorized=2, returned=1)
    return_no = rma["increment_id"]
    key = {"OrderNo": return_no, "EnterpriseCode": "DEFAULT", "DocumentType": "0003"}
    sterling = len(box.sterling.calls)
    box.deliver()
    assert sterling_since(box, sterling) == [
        ("getOrderDetails", key),
        ("changeOrder", {**key, "ModificationReasonText": "Return closed in Adobe Commerce",
                         "OrderLines": {"OrderLine": [{"PrimeLineNo": 1, "SubLineNo": 1, "OrderedQty": 1}]}}),
    ]
    assert box.sterling.returns.returned(return_no) == {"3950": "1.00", "9000": "1.00"}
    # The authorisation and the later events arrive again: the return has ended, nothing moves.
    sterling = len(box.sterling.calls)
    redeliver(box, authorised)
    box.deliver()
    assert sterling_since(box, sterling) == []
    assert parked(box, order) == []


def test_a_refund_of_items_never_invoiced_is_parked_with_the_reason(box: Sandbox) -> None:
    order = order_of(box, "000000606")
    mug = item_ids(order)["DEMO-MUG"]
    rma = request_return(box, order, {mug: 1})
    box.deliver()
    update_return(box, rma, "received", authorized=1, returned=1)
    box.deliver()
    commerce = len(box.commerce.calls)
    box.sterling.returns.refund(rma["increment_id"])
    box.deliver()
    # Its reads, and no refund of its item (another test's timed-out POST may be recorded late in between).
    def about_this_order(sent: Any) -> bool:
        return bool(sent == by_order(order["entity_id"]) or mug in [i["order_item_id"] for i in sent.get("items", [])])

    assert [(method, path) for method, path, sent in commerce_since(box, commerce) if about_this_order(sent or {})] == [
        ("GET", "/creditmemos"), ("GET", "/invoices")]
    assert parked(box, order) == [f"no invoice has enough left to refund item {mug} × 1"]
    [record] = [r for r in box.dlq(FUNCTION) if r["event"]["detail-type"] == "return.refunded"]
    assert record["event"]["detail"]["data"]["OrderNo"] == rma["increment_id"]
    assert [m for m in box.commerce.creditmemos.values() if m["order_id"] == order["entity_id"]] == []
    assert_commerce_contract(box.commerce)


def test_a_slim_return_event_is_followed_from_the_return_commerce_has(box: Sandbox) -> None:
    # A subscription keeping the return's number and times only (the starter kit's way, for RMAs).
    box.commerce.event_fields["observer.rma_save_commit_after"] = ["id", "increment_id", "created_at", "updated_at"]
    try:
        order = order_of(box, "000000607")
        rma = request_return(box, order, {item_ids(order)["DEMO-MUG"]: 1})
        commerce = len(box.commerce.calls)
        sterling = len(box.sterling.calls)
        box.deliver()
    finally:
        del box.commerce.event_fields["observer.rma_save_commit_after"]

    prefix = "searchCriteria[filter_groups][0][filters][0]"
    assert ("GET", "/returns", {f"{prefix}[field]": "increment_id", f"{prefix}[value]": rma["increment_id"],
                                f"{prefix}[condition_type]": "eq", "searchCriteria[pageSize]": "2",
                                "searchCriteria[currentPage]": "1"}) in commerce_since(box, commerce)
    created = [body for api, body in sterling_since(box, sterling) if api == "createOrder"]
    assert [(body["OrderNo"], body["DocumentType"], [line["OrderedQty"] for line in body["OrderLines"]["OrderLine"]])
            for body in created] == [(rma["increment_id"], "0003", [1])]
    assert parked(box, order) == []
