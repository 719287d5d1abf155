"""The simulators' return, invoice and credit memo rules (sandbox/sim/*/returns.py), driven in-process."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest

from sandbox.sim.base import Request, Response
from sandbox.sim.commerce import CommerceSim
from sandbox.sim.commerce.returns import CREDITMEMO_SAVED, INVOICE_SAVED, RMA_SAVED
from sandbox.sim.sterling import SterlingSim

# -- Sterling ---------------------------------------------------------------------------------------


@pytest.fixture
def oms() -> SterlingSim:
    """Order S1: three mugs shipped from DC1, one still released; no events recorded yet."""
    sim = SterlingSim("u", "p")
    sim.load_seed({"nodes": [{"ShipNode": "DC1"}], "inventory": [{"ItemID": "MUG", "ShipNode": "DC1", "Quantity": 9}],
                   "orders": [{"OrderNo": "S1", "OrderLines": {"OrderLine": [
                       {"PrimeLineNo": 1, "OrderedQty": 4, "Item": {"ItemID": "MUG"}}]}}]})
    sim.schedule("S1")
    sim.release("S1")
    shipment = sim.include_in_shipment("S1")
    invoke(sim, "confirmShipment", {"ShipmentKey": shipment["ShipmentKey"], "ShipmentLines": {"ShipmentLine": [
        {"ShipmentLineNo": "1", "Quantity": "3"}]}, "BackOrderNonShippedQuantity": "Y"})
    sim.emitted.clear()
    return sim


def invoke(sim: SterlingSim, api: str, body: dict[str, Any]) -> Response:
    token = sim.apis["login"]({"LoginID": "u", "Password": "p"})["UserToken"]
    raw = urlencode({"_loginid": "u", "_token": token})
    return sim.dispatch(Request("POST", f"/smcfs/restapi/invoke/{api}", parse_qs(raw), raw, {},
                                json.dumps(body).encode()))


def return_order(number: str, qty: int, derived: dict[str, Any] | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {"PrimeLineNo": 1, "OrderedQty": qty, "ShipNode": "DC1", "Item": {"ItemID": "MUG"}}
    if derived is not None:
        row["DerivedFrom"] = derived
    return {"EnterpriseCode": "DEFAULT", "DocumentType": "0003", "OrderNo": number, "OrderLines": {"OrderLine": [row]}}


SALES_LINE = {"OrderNo": "S1", "PrimeLineNo": 1, "SubLineNo": 1}
KEY = {"OrderNo": "R1", "EnterpriseCode": "DEFAULT", "DocumentType": "0003"}


def error(answer: Response) -> tuple[int, str]:
    [entry] = answer.body["errors"]
    return answer.status, entry["ErrorDescription"]


def test_a_return_takes_at_most_what_shipped_and_raises_no_order_event(oms: SterlingSim) -> None:
    assert error(invoke(oms, "createOrder", return_order("R0", 4, SALES_LINE))) == (
        400, "Return quantity exceeds the quantity shipped and not returned")
    assert invoke(oms, "createOrder", return_order("R1", 2, SALES_LINE)).status == 200
    assert error(invoke(oms, "createOrder", return_order("R2", 2, SALES_LINE)))[0] == 400
    assert invoke(oms, "createOrder", return_order("R2", 1, SALES_LINE)).status == 200
    assert invoke(oms, "createOrder", return_order("R3", 5)).status == 200  # blind: nothing to check against
    assert error(invoke(oms, "createOrder", return_order("R4", 1, {**SALES_LINE, "OrderNo": "S9"}))) == (
        400, "YFS:Invalid Order")
    assert oms.emitted == []


def test_authorise_receive_close_refund(oms: SterlingSim) -> None:
    invoke(oms, "createOrder", return_order("R1", 2, SALES_LINE))
    authorize = {**KEY, "TransactionId": "AUTHORIZE_RETURN.0003", "BaseDropStatus": "1100.01",
                 "OrderLines": {"OrderLine": [{"PrimeLineNo": 1, "Quantity": 1}]}}
    assert error(invoke(oms, "changeOrderStatus", {**authorize, "TransactionId": "APPROVE.0003"}))[1] == (
        "The transaction is not configured for this document type")
    assert error(invoke(oms, "changeOrderStatus", {**authorize, "BaseDropStatus": "3900"}))[1] == (
        "The transaction cannot drop the order into this status")
    assert invoke(oms, "changeOrderStatus", authorize).status == 200
    assert oms.returns.returned("R1") == {"1100": "1.00", "1100.01": "1.00"}

    receipt = invoke(oms, "startReceipt", {"DocumentType": "0003", "ReceivingNode": "DC1", "Shipment": KEY}).body
    lines = {"ReceiptLines": {"ReceiptLine": [{"PrimeLineNo": 1, "Quantity": 3}]}}
    receive = {"ReceiptHeaderKey": receipt["ReceiptHeaderKey"], "DocumentType": "0003"}
    assert error(invoke(oms, "receiveOrder", {**receive, **lines}))[1] == (
        "Received quantity exceeds the quantity still expected")
    lines["ReceiptLines"]["ReceiptLine"][0]["Quantity"] = 2
    assert invoke(oms, "receiveOrder", {**receive, **lines}).status == 200
    assert oms.returns.returned("R1") == {"3900": "2.00"}
    assert oms.emitted == []
    assert invoke(oms, "closeReceipt", receive).body["OpenReceiptFlag"] == "N"
    assert error(invoke(oms, "receiveOrder", {**receive, **lines}))[1] == "The receipt is closed"
    [(kind, document)] = oms.emitted
    assert (kind, document["OrderNo"], document["DocumentType"]) == ("return.received", "R1", "0003")
    assert [(s["Status"], s["StatusQty"]) for s in document["OrderStatuses"]["OrderStatus"]] == [("3950", "2.00")]

    oms.returns.refund("R1", {"1": 1})
    assert oms.returns.returned("R1") == {"3950": "1.00", "3950.003": "1.00"}
    assert oms.emitted[-1][0] == "return.refunded"
    oms.returns.refund("R1")
    with pytest.raises(ValueError, match="nothing received to refund"):
        oms.returns.refund("R1")


def test_invoices_are_found_by_their_reference(oms: SterlingSim) -> None:
    record = {"EnterpriseCode": "DEFAULT", "DocumentType": "0001", "OrderNo": "S1", "InvoiceType": "PRO_FORMA",
              "LineDetails": {"LineDetail": [{"PrimeLineNo": 1, "Quantity": 1, "UnitPrice": 12.5}]}}
    invoke(oms, "recordInvoiceCreation", {**record, "Reference1": "Commerce invoice 1"})
    invoke(oms, "recordInvoiceCreation", {**record, "Reference1": "Commerce invoice 2"})
    found = invoke(oms, "getOrderInvoiceList", {"OrderNo": "S1", "EnterpriseCode": "DEFAULT", "DocumentType": "0001",
                                                "Reference1": "Commerce invoice 2"}).body
    assert (found["TotalNumberOfRecords"], found["OrderInvoice"][0]["Reference1"]) == ("1", "Commerce invoice 2")
    assert found["OrderInvoice"][0]["InvoiceNo"] == oms.invoices[1]["InvoiceNo"]


# -- Commerce ---------------------------------------------------------------------------------------

P = "/rest/default/V1"


@pytest.fixture
def events() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def shop(events: list[dict[str, Any]]) -> CommerceSim:
    """Order 10: two A at 10 (one shipped) and one B at 10 (shipped), 5 shipping."""
    sim = CommerceSim(bearer_token="tok")
    sim.load_seed({"orders": [{
        "entity_id": 10, "increment_id": "100000010", "state": "processing", "grand_total": 35,
        "shipping_amount": 5, "customer_email": "jane@example.com", "payment": {"method": "checkmo"},
        "items": [
            {"item_id": 100, "sku": "A", "name": "A", "qty_ordered": 2, "qty_shipped": 1, "price": 10, "row_total": 20,
             "product_type": "simple"},
            {"item_id": 101, "sku": "B", "name": "B", "qty_ordered": 1, "qty_shipped": 1, "price": 10, "row_total": 10,
             "product_type": "simple"}]}]})
    sim.emit = events.append
    return sim


def call(sim: CommerceSim, method: str, path: str, body: Any = None) -> Response:
    everything = {"searchCriteria": [""]} if method == "GET" else {}
    return sim.dispatch(Request(method, f"{P}{path}", everything, urlencode(everything, doseq=True),
                                {"authorization": "Bearer tok"}, b"" if body is None else json.dumps(body).encode()))


def of_type(events: list[dict[str, Any]], event_type: str) -> list[dict[str, Any]]:
    return [event["data"]["value"] for event in events if event["type"] == event_type]


def test_the_first_invoice_carries_the_shipping_and_each_raises_its_event(shop: CommerceSim,
                                                                         events: list[dict[str, Any]]) -> None:
    first = call(shop, "POST", "/order/10/invoice", {"capture": True, "items": [{"order_item_id": 100, "qty": 1}]})
    second = call(shop, "POST", "/order/10/invoice", {"capture": True})
    invoices = of_type(events, INVOICE_SAVED)
    assert [(i["entity_id"], i["shipping_amount"], i["grand_total"], i["total_qty"]) for i in invoices] == [
        (first.body, 5, 15, 1), (second.body, 0, 20, 2)]
    assert [(i["order_item_id"], i["qty"], i["price"], i["sku"]) for i in invoices[0]["items"]] == [(100, 1, 10, "A")]
    assert (shop.orders[10]["total_invoiced"], shop.orders[10]["total_paid"]) == (35, 35)
    assert call(shop, "GET", f"/invoices/{first.body}").body == invoices[0]


def test_a_credit_memo_refunds_the_remaining_shipping_unless_told_otherwise(shop: CommerceSim,
                                                                          events: list[dict[str, Any]]) -> None:
    invoice = call(shop, "POST", "/order/10/invoice", {"capture": True}).body
    explicit = {"items": [{"order_item_id": 101, "qty": 1}], "arguments": {"shipping_amount": 2}}
    assert call(shop, "POST", f"/invoice/{invoice}/refund", explicit).status == 200
    too_much = call(shop, "POST", "/order/10/refund", {"items": [{"order_item_id": 100, "qty": 1}],
                                                       "arguments": {"shipping_amount": 4}})
    assert (too_much.status, too_much.body["parameters"]) == (400, ["3.00"])
    assert call(shop, "POST", "/order/10/refund", {"items": [{"order_item_id": 100, "qty": 1}],
                                                   "arguments": {"adjustment_negative": 1},
                                                   "comment": {"comment": "fee kept", "is_visible_on_front": 0}}
                ).status == 200
    memos = of_type(events, CREDITMEMO_SAVED)
    assert [(m["invoice_id"], m["shipping_amount"], m["adjustment"], m["grand_total"]) for m in memos] == [
        (invoice, 2, 0, 12), (None, 3, -1, 12)]
    assert memos[1]["comments"][0]["comment"] == "fee kept"
    assert shop.orders[10]["total_refunded"] == 24
    search = call(shop, "GET", "/creditmemos").body
    assert [m["entity_id"] for m in search["items"]] == [1, 2]


def test_returns_take_what_shipped_and_keep_their_quantities_in_order(shop: CommerceSim,
                                                                      events: list[dict[str, Any]]) -> None:
    def rma(order_item_id: int, qty: int) -> Response:
        return call(shop, "POST", "/returns", {"rmaDataObject": {"order_id": 10, "items": [
            {"order_item_id": order_item_id, "qty_requested": qty}]}})

    assert rma(100, 2).status == 400  # one of the two shipped
    created = rma(100, 1).body
    assert rma(100, 1).status == 400  # already requested
    item = created["items"][0]
    update = {"rmaDataObject": {**created, "status": "authorized",
                                "items": [{**item, "qty_authorized": 1, "qty_returned": 2}]}}
    assert call(shop, "PUT", f"/returns/{created['entity_id']}", update).status == 400
    update["rmaDataObject"]["items"][0]["qty_returned"] = 1
    assert call(shop, "PUT", f"/returns/{created['entity_id']}", update).body["status"] == "authorized"
    saved = of_type(events, RMA_SAVED)
    assert [(r["status"], r["items"][0]["qty_authorized"], r["items"][0]["qty_returned"]) for r in saved] == [
        ("pending", 0, 0), ("authorized", 1, 1)]
    assert (saved[0]["order_increment_id"], saved[0]["increment_id"]) == ("100000010", "000000001")
    assert call(shop, "GET", "/returns").body["total_count"] == 1
