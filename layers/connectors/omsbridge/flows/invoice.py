"""Commerce invoices and credit memos → Sterling ``recordInvoiceCreation`` (part of ReturnsFunction).

``sales_order_invoice_save_commit_after`` fires on every save of an invoice (created, captured
later, refunded against). What decides:

* a cancelled invoice is skipped;
* once per (invoice, invoice state) — idempotency scope ``invoice``: read the Commerce order (the
  event names it by entity id; Sterling and the state table know it by ``increment_id``); record the
  invoice in Sterling unless Sterling already has it (``getOrderInvoiceList`` by ``Reference1``
  before sending and, after an ambiguous timeout, again), so Sterling gets each invoice exactly once
  however often it is saved; and keep the order's payment state (invoiced, captured) in
  ``OrderRef.payment`` for the life of the order, read from Commerce, the payment system of record.

An event narrowed by its subscription is completed from Commerce first (``omsbridge.commerce.documents``).

``sales_order_creditmemo_save_commit_after``: the same, once per credit memo (scope ``creditmemo``),
except for a memo this integration made for a Sterling return (the loop breaker, checked in this
order): one carrying ``ECHO_MARKER`` in its comments is dropped; one whose id was remembered when it
was made is dropped; while a refund of ours for the same order is in flight, an unmarked memo may be
ours whose id is not remembered yet, so it is retried later rather than guessed at.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from omsbridge import aws, config, idempotency, state
from omsbridge.commerce import documents
from omsbridge.errors import PermanentError, RetryableError, ValidationError
from omsbridge.events import ECHO_MARKER, EventBridgeEvent
from omsbridge.http import AmbiguousCallError
from omsbridge.mapping import invoice as mapping
from omsbridge.mapping.invoice import DocumentItem, Kind, SalesDocument
from omsbridge.mapping.order import line_refs, parse_order
from omsbridge.observability import Outcome, correlate, count, logger
from omsbridge.state import OrderRef
from omsbridge.sterling import as_list, templates

if TYPE_CHECKING:
    from omsbridge.commerce import CommerceClient
    from omsbridge.sterling import SterlingClient

# How long a refund of ours may take before an unmarked credit memo on its order stops waiting.
REFUND_IN_FLIGHT_SECONDS = 900


def _commerce() -> CommerceClient:
    from omsbridge import commerce

    return commerce.client()


def _sterling() -> SterlingClient:
    from omsbridge import sterling

    return sterling.client()


def invoice_saved(event: EventBridgeEvent) -> dict[str, Any]:
    document = mapping.parse_invoice(documents.of_event(documents.INVOICE, event.detail, _commerce))
    correlate(f"invoice {document.number}")
    summary: dict[str, Any] = {"invoice": document.number}
    if document.canceled:
        count("skipped")
        logger.info("cancelled invoice not recorded")
        return {**summary, "status": "skipped"}
    key = f"{document.entity_id}#{document.state}"
    result, ran = idempotency.once("invoice", key, lambda: _record("invoice", document))
    return _outcome(summary, result, ran)


def creditmemo_saved(event: EventBridgeEvent) -> dict[str, Any]:
    document = mapping.parse_creditmemo(documents.of_event(documents.CREDIT_MEMO, event.detail, _commerce))
    correlate(f"credit memo {document.number}")
    summary: dict[str, Any] = {"credit_memo": document.number}
    if document.commented(ECHO_MARKER) or is_ours(document.entity_id):
        count(Outcome.LOOP_DROPPED)
        logger.info("credit memo made for a Sterling return: not sent back")
        return {**summary, "status": "loop_dropped"}
    result, ran = idempotency.once("creditmemo", str(document.entity_id), lambda: _record("creditmemo", document))
    return _outcome(summary, result, ran)


def _outcome(summary: dict[str, Any], result: dict[str, Any], ran: bool) -> dict[str, Any]:
    fresh = ran and not result["found"]
    count(Outcome.PROCESSED if fresh else Outcome.DUPLICATE)
    logger.info("recorded in Sterling" if fresh else "Sterling already has it", extra=result)
    return {**summary, "status": "recorded" if fresh else "duplicate", **result}


def _record(kind: Kind, document: SalesDocument) -> dict[str, Any]:
    order = _commerce().get_order(document.order_id)
    order_no = str(order.get("increment_id") or "")
    if not order_no:
        raise PermanentError(f"Commerce order {document.order_id} has no increment_id", system="commerce")
    if kind == "creditmemo" and refund_in_flight(order_no):
        raise RetryableError(f"a refund for a Sterling return of order {order_no} is being made: credit memo "
                             f"{document.number} may be it", system="state", code="refund_in_flight")
    ref = state.get_order(order_no)
    if ref is None:
        # Capture at checkout invoices the order as it is placed, often before it is exported.
        raise RetryableError(f"order {order_no} is not exported to Sterling yet", system="state",
                             code="not_exported")
    lines = _lines(document, ref, order)
    client = _sterling()
    body = mapping.record_input(
        kind, document, lines, order_no=ref.order_no, enterprise_code=ref.enterprise_code,
        currency=document.order_currency_code or str(order.get("order_currency_code") or ""),
        order_header_key=ref.order_header_key)
    invoice_no = _recorded(client, ref, body["Reference1"])
    found = invoice_no is not None
    if not found:
        invoice_no = _send(client, ref, body)
    if kind == "invoice":
        _keep_payment(order_no, order)
    return {"order_no": ref.order_no, "sterling_invoice_no": invoice_no, "found": found, "lines": len(lines)}


def _lines(document: SalesDocument, ref: OrderRef, order: dict[str, Any]) -> list[tuple[DocumentItem, int, int]]:
    lines = mapping.resolve_lines(document.items, ref.lines)
    if lines.unmapped:
        # The export's map lacks Commerce item ids (an order exported before Commerce assigned
        # them): the order as Commerce has it now numbers its lines the same way.
        try:
            refs = line_refs(parse_order(order))
        except ValidationError:
            refs = []
        retry = mapping.resolve_lines(lines.unmapped, refs)
        if retry.unmapped:
            items = ", ".join(f"{item.order_item_id} ({item.sku or '?'})" for item in retry.unmapped)
            raise PermanentError(f"order {ref.order_no}: items {items} match no Sterling line", system="mapping",
                                 code="unknown_line")
        return [*lines.mapped, *retry.mapped]
    if not lines.mapped:
        raise PermanentError(f"order {ref.order_no}: document {document.number} has no quantity on any line",
                             system="mapping", code="nothing_to_record")
    return lines.mapped


def _recorded(client: SterlingClient, ref: OrderRef, reference: str) -> str | None:
    """The InvoiceNo of the Sterling invoice recorded for ``reference``, if there is one."""
    body = {"OrderNo": ref.order_no, "EnterpriseCode": ref.enterprise_code, "DocumentType": mapping.SALES_ORDER,
            "Reference1": reference}
    answer = client.invoke("getOrderInvoiceList", body, template_key=templates.ORDER_INVOICES, idempotent=True)
    rows = as_list(answer.get("OrderInvoice")) if isinstance(answer, dict) else []
    ours = [row for row in rows if isinstance(row, dict) and row.get("Reference1") == reference]
    return str(ours[0].get("InvoiceNo") or "") if ours else None


def _send(client: SterlingClient, ref: OrderRef, body: dict[str, Any]) -> str:
    try:
        answer = client.record_invoice_creation(body)
    except AmbiguousCallError:
        invoice_no = _recorded(client, ref, body["Reference1"])
        if invoice_no is None:
            raise  # Lambda retries; the next attempt looks again before it sends
        logger.warning("recordInvoiceCreation timed out after Sterling recorded it")
        return invoice_no
    return str(answer.get("InvoiceNo") or "") if isinstance(answer, dict) else ""


def _keep_payment(order_no: str, order: dict[str, Any]) -> None:
    # Read again just before writing: other flows update the same map meanwhile.
    fresh = state.get_order(order_no)
    if fresh is None:
        return
    payment = mapping.payment_after(fresh.payment, order)
    if payment != fresh.payment:
        fresh.payment = payment
        state.put_order(fresh)


# -- the loop breaker's memory: credit memos this integration made ----------------------------------


def _table() -> Any:
    return aws.table(config.settings().state_table)


def _refund_key(order_no: str, return_no: str) -> dict[str, str]:
    return {"pk": state.order_key(order_no)["pk"], "sk": f"refund#{return_no}"}


def start_refund(order_no: str, return_no: str) -> None:
    """Written before a credit memo is requested: its echo may arrive before its id is known."""
    _table().put_item(Item={**_refund_key(order_no, return_no), "started_at": int(time.time())})


def remember_ours(order_no: str, return_no: str, creditmemo_id: int) -> None:
    _table().put_item(Item={"pk": f"creditmemo#{creditmemo_id}", "sk": "ours", "order_no": order_no,
                            "return_no": return_no})


def end_refund(order_no: str, return_no: str) -> None:
    _table().delete_item(Key=_refund_key(order_no, return_no))


def is_ours(creditmemo_id: int) -> bool:
    item = _table().get_item(Key={"pk": f"creditmemo#{creditmemo_id}", "sk": "ours"}, ConsistentRead=True)
    return "Item" in item


def refund_in_flight(order_no: str) -> bool:
    from boto3.dynamodb.conditions import Key

    answer = _table().query(
        KeyConditionExpression=Key("pk").eq(state.order_key(order_no)["pk"]) & Key("sk").begins_with("refund#"),
        ConsistentRead=True)
    since = int(time.time()) - REFUND_IN_FLIGHT_SECONDS
    return any(int(item.get("started_at") or 0) >= since for item in answer.get("Items", []))
