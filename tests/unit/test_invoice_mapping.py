"""Commerce invoice / credit memo → Sterling recordInvoiceCreation, pinned case by case."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from omsbridge.errors import ValidationError
from omsbridge.mapping import invoice as mapping
from omsbridge.mapping.invoice import DocumentItem
from omsbridge.state import OrderLineRef

KEY = {"EnterpriseCode": "DEFAULT", "DocumentType": "0001", "OrderNo": "000000601"}
REFS = [
    OrderLineRef(prime_line_no=1, order_item_id=11, sku="MUG", qty=3),
    # A configurable: the parent row 12 is the Sterling line, its child row 13 carries the SKU.
    OrderLineRef(prime_line_no=2, order_item_id=12, sku="TEE-M", qty=1, child_item_id=13),
    OrderLineRef(prime_line_no=3, order_item_id=None, sku="CAP", qty=1),
]


def item(order_item_id: int, qty: float, price: float, **extra: Any) -> dict[str, Any]:
    return {"order_item_id": order_item_id, "sku": f"SKU-{order_item_id}", "qty": qty, "price": price, **extra}


def doc(items: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"entity_id": 7, "increment_id": "000000007", "order_id": 3, "order_currency_code": "EUR",
            "items": items, **extra}


@pytest.mark.parametrize(("items", "mapped", "unmapped"), [
    pytest.param([item(11, 2, 12.5)], [(11, 1, 1)], [], id="by the export's map"),
    pytest.param([item(12, 1, 25), item(13, 1, 0)], [(12, 2, 1)], [], id="configurable child row left out"),
    pytest.param([item(11, 0, 12.5), item(12, 1, 25)], [(12, 2, 1)], [], id="rows without quantity left out"),
    pytest.param([item(14, 1, 9)], [], [14], id="an item the map does not know"),
])
def test_resolve_lines(items: list[dict[str, Any]], mapped: list[tuple[int, int, int]], unmapped: list[int]) -> None:
    lines = mapping.resolve_lines([DocumentItem.model_validate(i) for i in items], REFS)
    assert [(i.order_item_id, prime, sub) for i, prime, sub in lines.mapped] == mapped
    assert [i.order_item_id for i in lines.unmapped] == unmapped


def record(kind: mapping.Kind, value: dict[str, Any], header_key: str | None = "OHK") -> dict[str, Any]:
    document = mapping.parse_invoice(value) if kind == "invoice" else mapping.parse_creditmemo(value)
    lines = mapping.resolve_lines(document.items, REFS)
    return mapping.record_input(kind, document, lines.mapped, order_no="000000601", enterprise_code="DEFAULT",
                                currency=document.order_currency_code or "USD", order_header_key=header_key)


CASES = [
    pytest.param(
        "invoice", doc([item(11, 2, 12.5)], shipping_amount=5, created_at="2024-05-02 10:11:12"),
        {**KEY, "OrderHeaderKey": "OHK", "InvoiceType": "PRO_FORMA", "Currency": "EUR",
         "Reference1": "Commerce invoice 000000007", "DateInvoiced": "2024-05-02T10:11:12+00:00",
         "LineDetails": {"LineDetail": [{"PrimeLineNo": 1, "SubLineNo": 1, "Quantity": 2, "UnitPrice": 12.5}]},
         "HeaderChargeList": {"HeaderCharge": [
             {"ChargeCategory": "Shipping", "ChargeName": "Shipping", "ChargeAmount": 5}]}},
        id="part of an order with the shipping"),
    pytest.param(
        "invoice", doc([item(11, 1, 12.5, discount_amount=2.5, tax_amount=0.8), item(12, 1, 25, tax_amount=2),
                        item(13, 1, 0)],
                       shipping_amount=5, discount_amount=-3.5, tax_amount=3.3),
        {**KEY, "OrderHeaderKey": "OHK", "InvoiceType": "PRO_FORMA", "Currency": "EUR",
         "Reference1": "Commerce invoice 000000007",
         "LineDetails": {"LineDetail": [
             {"PrimeLineNo": 1, "SubLineNo": 1, "Quantity": 1, "UnitPrice": 12.5,
              "LineChargeList": {"LineCharge": [
                  {"ChargeCategory": "Discount", "ChargeName": "Discount", "ChargePerLine": 2.5}]},
              "LineTaxList": {"LineTax": [{"ChargeCategory": "Price", "TaxName": "SalesTax", "Tax": 0.8}]}},
             {"PrimeLineNo": 2, "SubLineNo": 1, "Quantity": 1, "UnitPrice": 25,
              "LineTaxList": {"LineTax": [{"ChargeCategory": "Price", "TaxName": "SalesTax", "Tax": 2}]}}]},
         # The shipping discount (3.50 - 2.50 on the lines) and the shipping tax are the header's.
         "HeaderChargeList": {"HeaderCharge": [
             {"ChargeCategory": "Shipping", "ChargeName": "Shipping", "ChargeAmount": 5},
             {"ChargeCategory": "Discount", "ChargeName": "Discount", "ChargeAmount": 1}]},
         "HeaderTaxList": {"HeaderTax": [{"TaxName": "SalesTax", "Tax": 0.5}]}},
        id="discounts and taxes on lines and header"),
    pytest.param(
        "creditmemo", doc([item(12, 1, 25), item(13, 1, 0)], shipping_amount=2, adjustment_positive=0.5,
                          adjustment_negative=1),
        {**KEY, "OrderHeaderKey": "OHK", "InvoiceType": "CREDIT_MEMO", "Currency": "EUR",
         "Reference1": "Commerce credit memo 000000007",
         "LineDetails": {"LineDetail": [{"PrimeLineNo": 2, "SubLineNo": 1, "Quantity": 1, "UnitPrice": -25}]},
         "HeaderChargeList": {"HeaderCharge": [
             {"ChargeCategory": "Shipping", "ChargeName": "Shipping", "ChargeAmount": -2},
             {"ChargeCategory": "Adjustment", "ChargeName": "Refund adjustment", "ChargeAmount": 0.5}]}},
        id="credit memo of one line of two with shipping and adjustments"),
    pytest.param(
        "creditmemo", doc([item(11, 1, 12.5, discount_amount=2.5, tax_amount=0.8)], discount_amount=-2.5,
                          tax_amount=0.8),
        {**KEY, "InvoiceType": "CREDIT_MEMO", "Currency": "EUR", "Reference1": "Commerce credit memo 000000007",
         "LineDetails": {"LineDetail": [{
             "PrimeLineNo": 1, "SubLineNo": 1, "Quantity": 1, "UnitPrice": -12.5,
             "LineChargeList": {"LineCharge": [
                 {"ChargeCategory": "Discount", "ChargeName": "Discount", "ChargePerLine": -2.5}]},
             "LineTaxList": {"LineTax": [{"ChargeCategory": "Price", "TaxName": "SalesTax", "Tax": -0.8}]}}]}},
        id="credit memo of a discounted taxed line, no header key known"),
]


@pytest.mark.parametrize(("kind", "value", "expected"), CASES)
def test_record_input(kind: mapping.Kind, value: dict[str, Any], expected: dict[str, Any]) -> None:
    header_key = None if "OrderHeaderKey" not in expected else "OHK"
    assert record(kind, value, header_key) == expected


@pytest.mark.parametrize(("value", "message"), [
    ({"entity_id": 7, "items": []}, "invoice ? is not usable: order_id: Field required"),
    ({"entity_id": 7, "increment_id": "9", "order_id": 3, "items": [{"qty": 1}]},
     "invoice 9 is not usable: items.0.order_item_id: Field required"),
    ({"entity_id": 7, "order_id": 3, "items": [{"order_item_id": 1, "qty": "lots"}]},
     "invoice ? is not usable: items.0.qty: Value error, expected a number, got 'lots'"),
])
def test_an_unusable_invoice_says_which_field(value: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        mapping.parse_invoice(value)
    assert raised.value.reason == message


@pytest.mark.parametrize(("state", "canceled"), [(1, False), (2, False), ("3", True), (None, False)])
def test_a_cancelled_invoice_is_recognised(state: Any, canceled: bool) -> None:
    assert mapping.parse_invoice(doc([], state=state)).canceled is canceled


def test_a_credit_memo_knows_its_marker_comment() -> None:
    memo = mapping.parse_creditmemo(doc([], comments=[{"comment": "[oms-bridge] Refund for Sterling return 5"}]))
    assert memo.commented("[oms-bridge]")
    assert not mapping.parse_creditmemo(doc([], comments=[{"comment": "damaged"}])).commented("[oms-bridge]")


@pytest.mark.parametrize(("payment", "order", "expected"), [
    pytest.param({"authorized": 42.5, "captured": 0}, {"total_paid": 30, "total_invoiced": 30},
                 {"authorized": 42.5, "captured": 30, "invoiced": 30}, id="captured by an invoice"),
    pytest.param({"captured": 42.5, "invoiced": 42.5}, {"total_paid": 30, "total_invoiced": 30},
                 {"captured": 42.5, "invoiced": 42.5}, id="an older order read never lowers it"),
    pytest.param({"captured": 0}, {"total_invoiced": "12.5"}, {"captured": 0, "invoiced": 12.5},
                 id="invoiced, not captured"),
])
def test_payment_state_only_grows(payment: dict[str, Any], order: dict[str, Any], expected: dict[str, Any]) -> None:
    assert mapping.payment_after(payment, order) == expected


def test_amounts_keep_their_precision() -> None:
    value = doc([item(11, 3, 0.1)], shipping_amount="4.99")
    body = record("invoice", value)
    assert body["LineDetails"]["LineDetail"][0]["UnitPrice"] == 0.1
    assert body["HeaderChargeList"]["HeaderCharge"][0]["ChargeAmount"] == 4.99
    assert mapping.parse_invoice(value).items[0].qty == Decimal(3)
