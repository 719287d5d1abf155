"""Commerce returns (RMA) ↔ Sterling return orders (DocumentType 0003). Pure: documents in, Sterling
inputs and Commerce request bodies out.

Commerce → Sterling:

* the RMA → ``createOrder`` of a return order whose lines are derived from the sales order lines
  (``DerivedFrom``), one line per RMA item at the requested quantity and the price paid;
* authorised quantities → ``changeOrderStatus`` (table ``returns_settings``: the transaction and drop
  status your tenant uses), received quantities → ``startReceipt`` / ``receiveOrder`` /
  ``closeReceipt``, a closed / rejected / denied RMA → ``changeOrder`` cancelling what was never
  received. Each moves only the difference between the RMA and what Sterling already shows, so a
  duplicate or late event moves nothing.

Sterling → Commerce: a return's refunded (or received) quantities → a credit memo on the invoice
that holds those items, for exactly those items and quantities: no shipping, no adjustments, and
never the rest of the invoice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from omsbridge.errors import PermanentError, ValidationError
from omsbridge.events import ECHO_MARKER
from omsbridge.mapping.order import Amount, Id, num, sterling_date
from omsbridge.mapping.tables import table
from omsbridge.state import OrderLineRef
from omsbridge.sterling.models import Order, OrderLine, status_at_least

RETURN_ORDER = "0003"
SALES_ORDER = "0001"
SHIPPED = "3700"

LineNo = tuple[int, int]


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)


class RmaItem(_Model):
    entity_id: Id = None
    order_item_id: int
    qty_requested: Amount = Decimal(0)
    qty_authorized: Amount = Decimal(0)
    qty_approved: Amount = Decimal(0)
    qty_returned: Amount = Decimal(0)
    reason: str | None = None
    status: str | None = None


class Rma(_Model):
    """A Commerce return as ``rma_save_commit_after`` carries it (``data.value``)."""

    entity_id: int
    increment_id: str = Field(min_length=1)
    order_id: Id = None
    order_increment_id: str | None = None
    status: str = ""
    date_requested: str | None = None
    items: list[RmaItem] = Field(min_length=1)


def parse_rma(value: dict[str, Any]) -> Rma:
    try:
        return Rma.model_validate(value)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "return"
        number = value.get("increment_id") if isinstance(value, dict) else None
        raise ValidationError(f"return {number or '?'} is not usable: {where}: {first['msg']}") from exc


def settings() -> dict[str, Any]:
    return table("returns_settings")


def return_no(rma: Rma) -> str:
    """The Sterling OrderNo of the return order (DocumentType 0003 numbers are their own series)."""
    return str(settings()["return_order_no"].format(increment_id=rma.increment_id, entity_id=rma.entity_id))


def rma_key(rma: Rma) -> str:
    """What an RMA event asks of Sterling: its status and every item's quantities. Two events with
    the same key ask the same thing."""
    items = ",".join(
        f"{item.entity_id or item.order_item_id}:{num(item.qty_requested)}/{num(item.qty_authorized)}/"
        f"{num(item.qty_returned)}" for item in rma.items)
    return f"{rma.status}|{items}"


def is_final(rma: Rma) -> bool:
    return rma.status in settings()["final_rma_statuses"]


# -- what the state table keeps about a return ----------------------------------------------------


class ReturnLine(BaseModel):
    prime_line_no: int
    sub_line_no: int = 1
    rma_item_id: int | None = None
    order_item_id: int
    sku: str
    unit_of_measure: str = "EACH"
    product_class: str = ""
    sales_prime_line_no: int
    sales_sub_line_no: int = 1
    qty: float
    ship_node: str = ""


class ReturnRef(BaseModel):
    """One return on both sides: the RMA, the Sterling return order, the sales order it came from."""

    return_no: str
    order_no: str
    enterprise_code: str
    rma_id: int | None = None
    rma_increment_id: str | None = None
    return_header_key: str | None = None
    lines: list[ReturnLine] = Field(default_factory=list)
    closed: bool = False


# -- RMA → return order -----------------------------------------------------------------------------


def _line_no(line: OrderLine) -> LineNo:
    return int(line.prime_line_no), int(line.sub_line_no or 1)


def _extra(model: BaseModel, name: str) -> Any:
    return (model.model_extra or {}).get(name)


def _sales_line(rma_item: RmaItem, refs: Sequence[OrderLineRef], sales: Order) -> OrderLine | None:
    """The Sterling sales line an RMA item returns: the order export's line map (a configurable is
    one line under its parent row), else the Commerce item id the export put in CustomerLinePONo."""
    number = next(((r.prime_line_no, r.sub_line_no) for r in refs
                   if rma_item.order_item_id in (r.order_item_id, r.child_item_id)), None)
    for line in sales.order_lines:
        if number is not None and _line_no(line) == number:
            return line
        if number is None and str(_extra(line, "CustomerLinePONo") or "") == str(rma_item.order_item_id):
            return line
    return None


def _shipped_from(sales: Order, line: OrderLine) -> str:
    shipped = [status.ship_node for status in sales.order_statuses
               if status.order_line_key == line.order_line_key and status.ship_node
               and status_at_least(status.status, SHIPPED) and not status_at_least(status.status, "9000")]
    return shipped[0] if shipped else line.ship_node


def return_lines(rma: Rma, refs: Sequence[OrderLineRef], sales: Order) -> list[ReturnLine]:
    """One return line per RMA item with a requested quantity, derived from its sales line."""
    node = str(settings()["return_node"])
    lines: list[ReturnLine] = []
    for item in rma.items:
        if item.qty_requested <= 0:
            continue
        sales_line = _sales_line(item, refs, sales)
        if sales_line is None:
            raise PermanentError(
                f"return {rma.increment_id}: Commerce order item {item.order_item_id} matches no line of "
                f"Sterling order {sales.order_no}", system="mapping", code="unknown_line")
        prime, sub = _line_no(sales_line)
        lines.append(ReturnLine(
            prime_line_no=len(lines) + 1, rma_item_id=item.entity_id, order_item_id=item.order_item_id,
            sku=sales_line.item.item_id, unit_of_measure=sales_line.item.unit_of_measure or "EACH",
            product_class=sales_line.item.product_class, sales_prime_line_no=prime, sales_sub_line_no=sub,
            qty=float(item.qty_requested), ship_node=node or _shipped_from(sales, sales_line)))
    return lines


def _unit_price(sales: Order, line: ReturnLine) -> Decimal:
    for sales_line in sales.order_lines:
        if _line_no(sales_line) == (line.sales_prime_line_no, line.sales_sub_line_no):
            price = (_extra(sales_line, "LinePriceInfo") or {}).get("UnitPrice")
            return Decimal(str(price or 0))
    return Decimal(0)


def reason(item: RmaItem, warnings: list[str]) -> str:
    """Sterling's ReturnReason for a Commerce reason (table ``return_reasons``); an unknown one is
    passed on as Commerce has it."""
    given = (item.reason or "").strip()
    if not given:
        return ""
    reasons = table("return_reasons")
    if given not in reasons:
        warnings.append(f"return reason {given!r} has no ReturnReason mapping: sent as is")
    return str(reasons.get(given, given))


def create_input(rma: Rma, lines: Sequence[ReturnLine], sales: Order, *, return_no: str,
                 enterprise_code: str, warnings: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "EnterpriseCode": enterprise_code,
        "SellerOrganizationCode": sales.seller_organization_code or enterprise_code,
        "DocumentType": RETURN_ORDER,
        "OrderNo": return_no,
    }
    if rma.date_requested:
        body["OrderDate"] = sterling_date(rma.date_requested)
    body["DraftOrderFlag"] = "N"
    currency = (_extra(sales, "PriceInfo") or {}).get("Currency")
    if currency:
        body["PriceInfo"] = {"Currency": currency}
    rows = []
    for line in lines:
        row: dict[str, Any] = {"PrimeLineNo": line.prime_line_no, "SubLineNo": line.sub_line_no,
                               "OrderedQty": num(Decimal(str(line.qty)))}
        item = _item_for(rma, line)
        code = reason(item, warnings) if item is not None else ""
        if code:
            row["ReturnReason"] = code
        if line.ship_node:
            row["ShipNode"] = line.ship_node
        row["CustomerLinePONo"] = str(line.order_item_id)
        row["DerivedFrom"] = {
            "OrderHeaderKey": sales.order_header_key, "OrderNo": sales.order_no, "EnterpriseCode": enterprise_code,
            "DocumentType": SALES_ORDER, "PrimeLineNo": line.sales_prime_line_no,
            "SubLineNo": line.sales_sub_line_no}
        row["Item"] = {"ItemID": line.sku, "UnitOfMeasure": line.unit_of_measure}
        if line.product_class:
            row["Item"]["ProductClass"] = line.product_class
        row["LinePriceInfo"] = {"UnitPrice": num(_unit_price(sales, line)), "IsPriceLocked": "Y"}
        rows.append(row)
    body["OrderLines"] = {"OrderLine": rows}
    return body


# -- what Sterling shows, and what is left to do --------------------------------------------------


def quantities(order: Order, at_least: str) -> dict[LineNo, Decimal]:
    """Per line, the quantity at ``at_least`` or beyond (cancelled quantity left out)."""
    cancelled = str(settings()["cancelled_status"])
    numbers = {line.order_line_key: _line_no(line) for line in order.order_lines}
    found: dict[LineNo, Decimal] = {number: Decimal(0) for number in numbers.values()}
    for status in order.order_statuses:
        number = numbers.get(status.order_line_key)
        if number is None or status_at_least(status.status, cancelled) or not status_at_least(status.status, at_least):
            continue
        found[number] += status.status_qty
    return found


def _item_for(rma: Rma, line: ReturnLine) -> RmaItem | None:
    if line.rma_item_id is not None:
        found = next((item for item in rma.items if item.entity_id == line.rma_item_id), None)
        if found is not None:
            return found
    return next((item for item in rma.items if item.order_item_id == line.order_item_id), None)


def _deltas(rma: Rma, lines: Sequence[ReturnLine], current: Order, status: str,
            target: str) -> list[tuple[ReturnLine, Decimal]]:
    ordered = quantities(current, "0")
    done = quantities(current, status)
    moves = []
    for line in lines:
        item = _item_for(rma, line)
        if item is None:
            continue
        number = (line.prime_line_no, line.sub_line_no)
        wanted = min(getattr(item, target), ordered.get(number, Decimal(0)))
        missing = wanted - done.get(number, Decimal(0))
        if missing > 0:
            moves.append((line, missing))
    return moves


def to_authorize(rma: Rma, lines: Sequence[ReturnLine], current: Order) -> list[tuple[ReturnLine, Decimal]]:
    """Authorised in Commerce, not yet in Sterling (received counts as authorised)."""
    return _deltas(rma, lines, current, str(settings()["authorized_status"]), "qty_authorized")


def to_receive(rma: Rma, lines: Sequence[ReturnLine], current: Order) -> list[tuple[ReturnLine, Decimal]]:
    return _deltas(rma, lines, current, str(settings()["received_status"]), "qty_returned")


def to_cancel(lines: Sequence[ReturnLine], current: Order,
              receiving: Iterable[tuple[ReturnLine, Decimal]] = ()) -> list[tuple[ReturnLine, Decimal]]:
    """For a return that ends: each line with quantity never received, and the quantity to keep
    (what was received, including ``receiving`` now)."""
    ordered = quantities(current, "0")
    received = quantities(current, str(settings()["received_status"]))
    for line, qty in receiving:
        number = (line.prime_line_no, line.sub_line_no)
        received[number] = received.get(number, Decimal(0)) + qty
    keep = []
    for line in lines:
        number = (line.prime_line_no, line.sub_line_no)
        if ordered.get(number, Decimal(0)) > received.get(number, Decimal(0)):
            keep.append((line, received.get(number, Decimal(0))))
    return keep


def _line_rows(moves: Iterable[tuple[ReturnLine, Decimal]], qty_name: str) -> list[dict[str, Any]]:
    return [{"PrimeLineNo": line.prime_line_no, "SubLineNo": line.sub_line_no, qty_name: num(qty)}
            for line, qty in moves]


def _return_key(return_no: str, enterprise_code: str) -> dict[str, str]:
    return {"OrderNo": return_no, "EnterpriseCode": enterprise_code, "DocumentType": RETURN_ORDER}


def authorize_input(return_no: str, enterprise_code: str,
                    moves: Sequence[tuple[ReturnLine, Decimal]]) -> dict[str, Any]:
    conf = settings()["authorize"]
    return {**_return_key(return_no, enterprise_code), "TransactionId": conf["TransactionId"],
            "BaseDropStatus": conf["BaseDropStatus"], "OrderLines": {"OrderLine": _line_rows(moves, "Quantity")}}


def start_receipt_input(return_no: str, enterprise_code: str, node: str) -> dict[str, Any]:
    return {"DocumentType": RETURN_ORDER, "ReceivingNode": node, "Shipment": _return_key(return_no, enterprise_code)}


def receive_input(return_no: str, receipt_header_key: str, node: str,
                  moves: Sequence[tuple[ReturnLine, Decimal]]) -> dict[str, Any]:
    disposition = str(settings()["disposition_code"])
    rows = []
    for line, qty in moves:
        row: dict[str, Any] = {"OrderNo": return_no, "PrimeLineNo": line.prime_line_no,
                               "SubLineNo": line.sub_line_no, "ItemID": line.sku,
                               "UnitOfMeasure": line.unit_of_measure, "Quantity": num(qty)}
        if disposition:
            row["DispositionCode"] = disposition
        rows.append(row)
    return {"DocumentType": RETURN_ORDER, "ReceiptHeaderKey": receipt_header_key, "ReceivingNode": node,
            "ReceiptLines": {"ReceiptLine": rows}}


def close_receipt_input(receipt_header_key: str) -> dict[str, Any]:
    return {"DocumentType": RETURN_ORDER, "ReceiptHeaderKey": receipt_header_key}


def cancel_input(return_no: str, enterprise_code: str,
                 keep: Sequence[tuple[ReturnLine, Decimal]]) -> dict[str, Any]:
    return {**_return_key(return_no, enterprise_code), "ModificationReasonText": settings()["cancel_reason_text"],
            "OrderLines": {"OrderLine": _line_rows(keep, "OrderedQty")}}


def by_node(moves: Sequence[tuple[ReturnLine, Decimal]]) -> dict[str, list[tuple[ReturnLine, Decimal]]]:
    """Receipts are per receiving node."""
    groups: dict[str, list[tuple[ReturnLine, Decimal]]] = {}
    for line, qty in moves:
        groups.setdefault(line.ship_node, []).append((line, qty))
    return groups


# -- Sterling return → Commerce credit memo ---------------------------------------------------------


def derived_order_no(document: Order) -> str | None:
    """The sales order a return Sterling made itself was derived from (``DerivedFrom``)."""
    for line in document.order_lines:
        derived = _extra(line, "DerivedFrom")
        if isinstance(derived, dict) and str(derived.get("OrderNo") or "").strip():
            return str(derived["OrderNo"]).strip()
    return None


def lines_from_document(document: Order, refs: Sequence[OrderLineRef]) -> list[ReturnLine]:
    """Return lines of a return order Sterling made (no RMA behind it): each line's ``DerivedFrom``
    sales line, and the Commerce item the order export recorded for it."""
    lines = []
    for line in document.order_lines:
        derived = _extra(line, "DerivedFrom")
        derived = derived if isinstance(derived, dict) else {}
        prime, sub = str(derived.get("PrimeLineNo") or ""), str(derived.get("SubLineNo") or "1")
        ref = next((r for r in refs if prime.isdigit() and sub.isdigit()
                    and (r.prime_line_no, r.sub_line_no) == (int(prime), int(sub))), None)
        if ref is None or ref.order_item_id is None:
            raise PermanentError(
                f"return {document.order_no} line {line.prime_line_no}: its sales line (DerivedFrom "
                f"{prime or '?'}.{sub}) is not a line the order export recorded", system="mapping",
                code="unknown_line")
        lines.append(ReturnLine(
            prime_line_no=int(line.prime_line_no), sub_line_no=int(line.sub_line_no or 1),
            order_item_id=ref.order_item_id, sku=line.item.item_id, sales_prime_line_no=int(prime),
            sales_sub_line_no=int(sub), qty=float(line.ordered_qty)))
    return lines


def credit_targets(lines: Sequence[ReturnLine], done: Mapping[LineNo, Decimal]) -> dict[int, Decimal]:
    """Per Commerce order item, how much the return has credited once this event is applied."""
    targets: dict[int, Decimal] = {}
    for line in lines:
        qty = done.get((line.prime_line_no, line.sub_line_no), Decimal(0))
        if qty > 0:
            targets[line.order_item_id] = targets.get(line.order_item_id, Decimal(0)) + qty
    return targets


def refund_comment(return_no: str) -> str:
    """The comment on every credit memo made for a Sterling return: the loop breaker (its event
    must not go back to Sterling) and how a retry finds what was already credited."""
    return f"{ECHO_MARKER} {settings()['refund_comment'].format(return_no=return_no)}"


def _qty(value: Any) -> Decimal:
    return Decimal(str(value or 0))


def credited(memos: Iterable[Mapping[str, Any]], comment: str) -> dict[int, Decimal]:
    """Per order item, what the credit memos carrying ``comment`` already credited."""
    found: dict[int, Decimal] = {}
    for memo in memos:
        if not any(str(c.get("comment") or "") == comment for c in memo.get("comments") or []):
            continue
        for item in memo.get("items") or []:
            item_id = int(item["order_item_id"])
            found[item_id] = found.get(item_id, Decimal(0)) + _qty(item.get("qty"))
    return found


def still_to_credit(targets: Mapping[int, Decimal], done: Mapping[int, Decimal]) -> dict[int, Decimal]:
    return {item: qty - done.get(item, Decimal(0)) for item, qty in targets.items()
            if qty - done.get(item, Decimal(0)) > 0}


def allocate(wanted: Mapping[int, Decimal], invoices: Sequence[Mapping[str, Any]],
             memos: Sequence[Mapping[str, Any]]) -> list[tuple[int, dict[int, Decimal]]]:
    """Which invoice refunds which quantity: per invoice, what it invoiced of an item less what
    credit memos on it took back, oldest invoice first. Raises ``PermanentError`` when the invoices
    cannot cover it (nothing invoiced, or already refunded)."""
    taken: dict[tuple[int, int], Decimal] = {}
    for memo in memos:
        invoice_id = memo.get("invoice_id")
        for item in memo.get("items") or []:
            if invoice_id:
                key = (int(invoice_id), int(item["order_item_id"]))
                taken[key] = taken.get(key, Decimal(0)) + _qty(item.get("qty"))
    left = dict(wanted)
    plan: list[tuple[int, dict[int, Decimal]]] = []
    for invoice in sorted(invoices, key=lambda entry: int(entry["entity_id"])):
        invoice_id = int(invoice["entity_id"])
        share: dict[int, Decimal] = {}
        for item in invoice.get("items") or []:
            item_id = int(item["order_item_id"])
            room = _qty(item.get("qty")) - taken.get((invoice_id, item_id), Decimal(0))
            qty = min(room, left.get(item_id, Decimal(0)) - share.get(item_id, Decimal(0)))
            if qty > 0:
                share[item_id] = share.get(item_id, Decimal(0)) + qty
        for item_id, qty in share.items():
            left[item_id] -= qty
        if share:
            plan.append((invoice_id, share))
    short = {item: qty for item, qty in left.items() if qty > 0}
    if short:
        detail = ", ".join(f"item {item} × {num(qty)}" for item, qty in sorted(short.items()))
        raise PermanentError(f"no invoice has enough left to refund {detail}", system="commerce",
                             code="nothing_to_refund")
    return plan


def refund_body(items: Mapping[int, Decimal], *, online: bool, comment: str, notify: bool) -> dict[str, Any]:
    """``POST /V1/invoice/{id}/refund`` for exactly ``items``. ``shipping_amount`` 0 is explicit:
    left out, Commerce refunds the order's remaining shipping with the memo."""
    return {
        "items": [{"order_item_id": item, "qty": num(qty)} for item, qty in items.items()],
        "isOnline": online,
        "notify": notify,
        "appendComment": False,
        "comment": {"comment": comment, "is_visible_on_front": 0},
        "arguments": {"shipping_amount": 0, "adjustment_positive": 0, "adjustment_negative": 0},
    }


def refunds_online(payment: Mapping[str, Any]) -> bool:
    """Give the money back through the payment gateway when Commerce captured it there; otherwise
    the credit memo is offline (the merchant settles it)."""
    captured = _qty(payment.get("captured"))
    return captured > 0 and payment.get("payment_type") in settings()["online_refund_payment_types"]
