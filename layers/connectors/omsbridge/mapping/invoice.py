"""Commerce invoices and credit memos → Sterling ``recordInvoiceCreation`` input. Pure.

Commerce stays the payment system of record: Sterling gets a record of each document, never a
request to collect or refund.

* Invoice: ``InvoiceType`` PRO_FORMA (table ``invoice_settings``), one ``LineDetail`` per invoiced
  order line (PrimeLineNo / SubLineNo from the order export's line map, the invoiced quantity, the
  unit price, the line's discount and tax), the invoice's shipping and whatever discount or tax the
  lines do not carry as header charges and taxes, and the order currency.
* Credit memo: the same shape with ``InvoiceType`` CREDIT_MEMO and every amount negated (money going
  back): exactly the credited lines and quantities, the refunded shipping, and the memo's
  adjustments (a positive adjustment refunds more, a negative one keeps a fee).

``Reference1`` names the Commerce document, so that a retry can find what Sterling already has.
Money is in the order currency (``price``, not ``base_price``), as the order export sends it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from omsbridge.errors import ValidationError
from omsbridge.mapping.order import Amount, Id, num, sterling_date
from omsbridge.mapping.order import settings as order_settings
from omsbridge.mapping.tables import table
from omsbridge.state import OrderLineRef

SALES_ORDER = "0001"
INVOICE_CANCELED = 3  # Commerce invoice states: 1 open, 2 paid, 3 canceled

Kind = Literal["invoice", "creditmemo"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)


class DocumentItem(_Model):
    order_item_id: int
    sku: str = ""
    qty: Amount = Decimal(0)
    price: Amount = Decimal(0)
    discount_amount: Amount = Decimal(0)
    tax_amount: Amount = Decimal(0)


class SalesDocument(_Model):
    """An invoice or credit memo as the I/O event carries it (``data.value``)."""

    entity_id: int
    increment_id: str = ""
    order_id: int
    state: Id = None
    created_at: str | None = None
    order_currency_code: str | None = None
    shipping_amount: Amount = Decimal(0)
    discount_amount: Amount = Decimal(0)
    tax_amount: Amount = Decimal(0)
    grand_total: Amount = Decimal(0)
    items: list[DocumentItem] = Field(default_factory=list)
    comments: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def number(self) -> str:
        return self.increment_id or str(self.entity_id)

    def commented(self, text: str) -> bool:
        return any(text in str(comment.get("comment") or "") for comment in self.comments)


class CommerceInvoice(SalesDocument):
    @property
    def canceled(self) -> bool:
        return self.state == INVOICE_CANCELED


class CommerceCreditMemo(SalesDocument):
    invoice_id: Id = None
    adjustment_positive: Amount = Decimal(0)
    adjustment_negative: Amount = Decimal(0)


def parse_invoice(value: dict[str, Any]) -> CommerceInvoice:
    return _parse(CommerceInvoice, value, "invoice")


def parse_creditmemo(value: dict[str, Any]) -> CommerceCreditMemo:
    return _parse(CommerceCreditMemo, value, "credit memo")


def _parse[T: SalesDocument](model: type[T], value: dict[str, Any], what: str) -> T:
    try:
        return model.model_validate(value)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or what
        number = value.get("increment_id") if isinstance(value, dict) else None
        raise ValidationError(f"{what} {number or '?'} is not usable: {where}: {first['msg']}") from exc


def settings() -> dict[str, Any]:
    return table("invoice_settings")


def reference(kind: Kind, doc: SalesDocument) -> str:
    """What ``Reference1`` says, naming the Commerce document."""
    template = settings()["invoice_reference" if kind == "invoice" else "credit_memo_reference"]
    return str(template.format(increment_id=doc.number))


# -- lines ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lines:
    """Document items with their Sterling line, and what could not be placed."""

    mapped: list[tuple[DocumentItem, int, int]] = field(default_factory=list)
    unmapped: list[DocumentItem] = field(default_factory=list)


def resolve_lines(items: Sequence[DocumentItem], refs: Sequence[OrderLineRef]) -> Lines:
    """Place each item with a quantity on its Sterling line (PrimeLineNo, SubLineNo).

    A configurable's child row is left out: the order export made one Sterling line of the parent
    row, which carries the price (``OrderLineRef.child_item_id`` is the child).
    """
    by_item = {ref.order_item_id: ref for ref in refs if ref.order_item_id is not None}
    children = {ref.child_item_id for ref in refs if ref.child_item_id is not None}
    result = Lines()
    for item in items:
        if item.qty <= 0 or (item.order_item_id in children and item.order_item_id not in by_item):
            continue
        ref = by_item.get(item.order_item_id)
        if ref is None:
            result.unmapped.append(item)
        else:
            result.mapped.append((item, ref.prime_line_no, ref.sub_line_no))
    return result


# -- recordInvoiceCreation -----------------------------------------------------------------------


def record_input(
    kind: Kind,
    doc: SalesDocument,
    lines: Sequence[tuple[DocumentItem, int, int]],
    *,
    order_no: str,
    enterprise_code: str,
    currency: str,
    order_header_key: str | None = None,
) -> dict[str, Any]:
    """The recordInvoiceCreation input for ``doc``, an invoice or a credit memo."""
    conf = settings()
    sign = Decimal(1) if kind == "invoice" else Decimal(-1)
    tax_name = order_settings()["tax_name"]
    body: dict[str, Any] = {"EnterpriseCode": enterprise_code, "DocumentType": SALES_ORDER, "OrderNo": order_no}
    if order_header_key:
        body["OrderHeaderKey"] = order_header_key
    body["InvoiceType"] = conf["invoice_type" if kind == "invoice" else "credit_memo_type"]
    body["Currency"] = currency
    body["Reference1"] = reference(kind, doc)
    if doc.created_at:
        body["DateInvoiced"] = sterling_date(doc.created_at)
    details = [_line_detail(item, prime, sub, sign, conf, tax_name) for item, prime, sub in lines]
    body["LineDetails"] = {"LineDetail": details}
    line_discount = sum((item.discount_amount for item, _, _ in lines), Decimal(0))
    line_tax = sum((item.tax_amount for item, _, _ in lines), Decimal(0))
    charges = _header_charges(doc, line_discount, sign, conf)
    if charges:
        body["HeaderChargeList"] = {"HeaderCharge": charges}
    header_tax = doc.tax_amount - line_tax
    if header_tax > 0:
        body["HeaderTaxList"] = {"HeaderTax": [{"TaxName": tax_name, "Tax": num(sign * header_tax)}]}
    return body


def _line_detail(item: DocumentItem, prime: int, sub: int, sign: Decimal, conf: dict[str, Any],
                 tax_name: str) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "PrimeLineNo": prime, "SubLineNo": sub, "Quantity": num(item.qty), "UnitPrice": num(sign * item.price)}
    if item.discount_amount:
        detail["LineChargeList"] = {"LineCharge": [{
            "ChargeCategory": "Discount", "ChargeName": conf["discount_charge_name"],
            "ChargePerLine": num(sign * abs(item.discount_amount))}]}
    if item.tax_amount:
        detail["LineTaxList"] = {"LineTax": [{
            "ChargeCategory": "Price", "TaxName": tax_name, "Tax": num(sign * item.tax_amount)}]}
    return detail


def _header_charges(doc: SalesDocument, line_discount: Decimal, sign: Decimal,
                    conf: dict[str, Any]) -> list[dict[str, Any]]:
    charges: list[dict[str, Any]] = []
    if doc.shipping_amount:
        charges.append({"ChargeCategory": "Shipping", "ChargeName": conf["shipping_charge_name"],
                        "ChargeAmount": num(sign * doc.shipping_amount)})
    # Commerce signs a discount negative; the part the lines do not carry is the shipping discount.
    discount = abs(doc.discount_amount) - abs(line_discount)
    if discount > 0:
        charges.append({"ChargeCategory": "Discount", "ChargeName": conf["discount_charge_name"],
                        "ChargeAmount": num(sign * discount)})
    if isinstance(doc, CommerceCreditMemo):
        adjustment = doc.adjustment_positive - doc.adjustment_negative
        if adjustment:
            charges.append({"ChargeCategory": conf["adjustment_charge_category"],
                            "ChargeName": conf["adjustment_charge_name"], "ChargeAmount": num(sign * adjustment)})
    return charges


def payment_after(payment: dict[str, Any], order: dict[str, Any]) -> dict[str, Any]:
    """The order's payment state (``OrderRef.payment``) with what Commerce, the payment system of
    record, now shows as invoiced and captured. Amounts only grow, so events in any order agree."""
    updated = dict(payment)
    for name, total in (("invoiced", "total_invoiced"), ("captured", "total_paid")):
        value = Decimal(str(order.get(total) or 0))
        if value > Decimal(str(updated.get(name) or 0)):
            updated[name] = num(value)
    return updated
