"""ReturnsFunction: what happens to an order's money and goods after it is placed.

* Commerce invoice / credit memo → Sterling ``recordInvoiceCreation`` (``omsbridge.flows.invoice``).
* Commerce return (``rma_save_commit_after``) → Sterling return order (DocumentType 0003), once per
  RMA state (idempotency scope ``return``, keyed on its status and item quantities):
  created from the sales order lines on first sight, then every event moves Sterling to what the
  RMA shows: authorised quantity (``changeOrderStatus``), received quantity (a receipt per receiving
  node: ``startReceipt`` / ``receiveOrder`` / ``closeReceipt``), and for a closed, rejected or
  denied RMA the cancellation of what was never received. Sterling's return order is read first and
  only the difference is sent, so late, repeated or reordered events move nothing twice.
* Sterling ``return.refunded`` (or ``return.received``, table ``returns_settings.refund_on``) →
  Commerce credit memo for exactly the returned items, on the invoice that holds them, once per
  refunded state of the return (scope ``return_refund``). What the return already credited is read
  back from Commerce (the memos carrying its comment), so a retry after a timeout never credits
  twice. The memo carries ``ECHO_MARKER`` and its id is remembered, so its own Commerce event is not
  sent back to Sterling as a new credit memo.

Commerce events narrowed by their subscription are completed from Commerce first
(``omsbridge.commerce.documents``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from omsbridge import aws, config, idempotency, state
from omsbridge.commerce import documents
from omsbridge.commerce.search import Filter
from omsbridge.errors import PermanentError, RetryableError, ValidationError
from omsbridge.events import COMMERCE_SOURCE, STERLING_SOURCE, EventBridgeEvent, SterlingEvent
from omsbridge.flows import invoice
from omsbridge.http import AmbiguousCallError
from omsbridge.mapping import returns as mapping
from omsbridge.mapping.order import num
from omsbridge.mapping.returns import RETURN_ORDER, ReturnLine, ReturnRef, Rma
from omsbridge.observability import Outcome, correlate, count, logger
from omsbridge.sterling import RECORD_EXISTS, SterlingError
from omsbridge.sterling.models import Order

if TYPE_CHECKING:
    from decimal import Decimal

    from omsbridge.commerce import CommerceClient
    from omsbridge.sterling import SterlingClient

INVOICE_SAVED = "com.adobe.commerce.observer.sales_order_invoice_save_commit_after"
CREDITMEMO_SAVED = "com.adobe.commerce.observer.sales_order_creditmemo_save_commit_after"
RMA_SAVED = "com.adobe.commerce.observer.rma_save_commit_after"
RECEIVED = "return.received"
REFUNDED = "return.refunded"


def _commerce(enterprise_code: str = "") -> CommerceClient:
    from omsbridge import commerce

    return commerce.client_for(enterprise_code)


def _sterling() -> SterlingClient:
    from omsbridge import sterling

    return sterling.client()


def handle(event: EventBridgeEvent) -> dict[str, Any]:
    route = ROUTES.get((event.source, event.detail_type))
    if route is None:
        raise ValidationError(f"ReturnsFunction does not handle {event.source} {event.detail_type}")
    return route(event)


# -- the return as the state table keeps it --------------------------------------------------------


def _table() -> Any:
    return aws.table(config.settings().state_table)


def return_key(return_no: str) -> dict[str, str]:
    return {"pk": f"return#{return_no}", "sk": "map"}


def get_return(return_no: str) -> ReturnRef | None:
    item = _table().get_item(Key=return_key(return_no), ConsistentRead=True).get("Item")
    return ReturnRef.model_validate_json(item["doc"]) if item else None


def put_return(ref: ReturnRef) -> None:
    _table().put_item(Item={**return_key(ref.return_no), "doc": ref.model_dump_json()})


# -- Commerce RMA → Sterling return order ----------------------------------------------------------


def rma_saved(event: EventBridgeEvent) -> dict[str, Any]:
    rma = mapping.parse_rma(documents.of_event(documents.RMA, event.detail, _commerce))
    return_no = mapping.return_no(rma)
    correlate(return_no)
    key = f"{return_no}|{mapping.rma_key(rma)}"
    result, ran = idempotency.once("return", key, lambda: _follow(rma, return_no))
    changed = ran and bool(result["changes"])
    count(Outcome.PROCESSED if changed else Outcome.DUPLICATE)
    logger.info("return followed in Sterling" if changed else "Sterling already shows this return",
                extra={"rma_status": rma.status, **result})
    status = "processed" if changed else "unchanged" if ran else "duplicate"
    return {"return_no": return_no, "rma_status": rma.status, "status": status, **result}


def _follow(rma: Rma, return_no: str) -> dict[str, Any]:
    ref = get_return(return_no)
    if ref is not None and ref.closed:
        return {"changes": []}
    changes: list[str] = []
    if ref is None:
        if mapping.is_final(rma):
            return {"changes": []}  # it ended before Sterling knew of it: nothing to undo
        ref, created = _create(rma, return_no)
        if created:
            changes.append("created")
    client = _sterling()
    current = client.get_order_details(return_no, RETURN_ORDER, enterprise_code=ref.enterprise_code)
    authorize = mapping.to_authorize(rma, ref.lines, current)
    if authorize:
        client.invoke("changeOrderStatus", mapping.authorize_input(return_no, ref.enterprise_code, authorize),
                      idempotent=False)
        changes.append("authorized")
    receive = mapping.to_receive(rma, ref.lines, current)
    for node, moves in mapping.by_node(receive).items():
        _receive(client, ref, node, moves)
    if receive:
        changes.append("received")
    if mapping.is_final(rma):
        keep = mapping.to_cancel(ref.lines, current, receive)
        if keep:
            # Absolute quantities (what was received stays): safe to repeat.
            client.change_order(mapping.cancel_input(return_no, ref.enterprise_code, keep), idempotent=True)
            changes.append("cancelled")
        ref.closed = True
        put_return(ref)
    return {"changes": changes}


def _create(rma: Rma, return_no: str) -> tuple[ReturnRef, bool]:
    order_no = rma.order_increment_id or _order_no(rma)
    client = _sterling()
    order_ref = state.get_order(order_no)
    # A return order belongs to its sales order's enterprise (its website's, omsbridge.websites).
    enterprise = order_ref.enterprise_code if order_ref else client.enterprise_code
    sales = client.get_order_details(order_no, enterprise_code=enterprise)
    lines = mapping.return_lines(rma, order_ref.lines if order_ref else [], sales)
    if not lines:
        raise PermanentError(f"return {rma.increment_id} requests no quantity", system="mapping",
                             code="nothing_to_return")
    warnings: list[str] = []
    body = mapping.create_input(rma, lines, sales, return_no=return_no, enterprise_code=enterprise, warnings=warnings)
    for warning in warnings:
        logger.warning(warning)
        count(Outcome.UNMAPPED)
    header_key, created = _create_return_order(client, body)
    ref = ReturnRef(return_no=return_no, order_no=order_no, enterprise_code=enterprise,
                    rma_id=rma.entity_id, rma_increment_id=rma.increment_id, return_header_key=header_key,
                    lines=lines)
    put_return(ref)
    return ref, created


def _order_no(rma: Rma) -> str:
    if rma.order_id is None:
        raise ValidationError(f"return {rma.increment_id} names no order (order_increment_id, order_id)")
    return str(_commerce().get_order(rma.order_id)["increment_id"])


def _create_return_order(client: SterlingClient, body: dict[str, Any]) -> tuple[str | None, bool]:
    """createOrder is not idempotent: look first, and look again after an ambiguous answer."""
    return_no, enterprise = body["OrderNo"], body["EnterpriseCode"]
    existing = client.find_order(return_no, RETURN_ORDER, enterprise_code=enterprise)
    if existing is not None:
        return existing.order_header_key or None, False
    try:
        return client.create_order(body).order_header_key or None, True
    except (AmbiguousCallError, SterlingError) as exc:
        if isinstance(exc, SterlingError) and exc.code != RECORD_EXISTS:
            raise
        existing = client.find_order(return_no, RETURN_ORDER, enterprise_code=enterprise)
        if existing is None:
            raise
        return existing.order_header_key or None, True


def _receive(client: SterlingClient, ref: ReturnRef, node: str, moves: list[tuple[ReturnLine, Decimal]]) -> None:
    if not node:
        lines = ", ".join(str(line.prime_line_no) for line, _ in moves)
        raise PermanentError(f"return {ref.return_no} lines {lines} have no receiving node (no ship node, "
                             "no returns_settings.return_node)", system="mapping", code="no_receiving_node")
    receipt = client.invoke("startReceipt", mapping.start_receipt_input(ref.return_no, ref.enterprise_code, node),
                            idempotent=False)
    key = str(receipt.get("ReceiptHeaderKey") or "") if isinstance(receipt, dict) else ""
    if not key:
        raise PermanentError(f"startReceipt for return {ref.return_no} answered without a ReceiptHeaderKey",
                             system="sterling")
    client.invoke("receiveOrder", mapping.receive_input(ref.return_no, key, node, moves), idempotent=False)
    client.invoke("closeReceipt", mapping.close_receipt_input(key), idempotent=True)


# -- Sterling return → Commerce credit memo --------------------------------------------------------


def sterling_return(event: EventBridgeEvent) -> dict[str, Any]:
    document = Order.model_validate(SterlingEvent.model_validate(event.detail).data)
    return_no = document.order_no.strip()
    if not return_no or document.document_type.strip() not in ("", RETURN_ORDER):
        raise ValidationError(f"{event.detail_type} needs a return order (DocumentType {RETURN_ORDER}) with an "
                              f"OrderNo, not {document.document_type or '?'} {return_no or '?'}")
    correlate(return_no)
    conf = mapping.settings()
    if event.detail_type != conf["refund_on"]:
        count("ignored")
        logger.info("not the refund trigger", extra={"refund_on": conf["refund_on"]})
        return {"return_no": return_no, "status": "ignored"}
    done = mapping.quantities(document, conf["refunded_status" if event.detail_type == REFUNDED
                                             else "received_status"])
    key = return_no + "|" + ",".join(f"{p}.{s}:{num(q)}" for (p, s), q in sorted(done.items()))
    result, ran = idempotency.once("return_refund", key, lambda: _refund(document, return_no, done))
    fresh = ran and bool(result["credit_memos"])
    count(Outcome.PROCESSED if fresh else Outcome.DUPLICATE)
    logger.info("returned items credited in Commerce" if fresh else "Commerce already credited them",
                extra=result)
    return {"return_no": return_no, "status": "credited" if fresh else "duplicate", **result}


def _refund(document: Order, return_no: str, done: dict[tuple[int, int], Decimal]) -> dict[str, Any]:
    ref = get_return(return_no) or _adopt(document, return_no)
    targets = mapping.credit_targets(ref.lines, done)
    summary: dict[str, Any] = {"order_no": ref.order_no, "credit_memos": [], "items": {}}
    if not targets:
        return summary
    order_ref = state.get_order(ref.order_no)
    client = _commerce(ref.enterprise_code)
    entity_id = order_ref.entity_id if order_ref and order_ref.entity_id else client.find_order_entity_id(ref.order_no)
    if entity_id is None:
        raise PermanentError(f"Commerce has no order {ref.order_no}", system="commerce", code="order_not_found")
    invoice.start_refund(ref.order_no, return_no)
    try:
        summary.update(_credit(client, entity_id, ref, targets, order_ref.payment if order_ref else {}))
    except RetryableError:
        raise  # the retry finishes what this attempt started; the in-flight mark stays until then
    except Exception:
        invoice.end_refund(ref.order_no, return_no)
        raise
    invoice.end_refund(ref.order_no, return_no)
    return summary


def _credit(client: CommerceClient, entity_id: int, ref: ReturnRef, targets: dict[int, Decimal],
            payment: dict[str, Any]) -> dict[str, Any]:
    comment = mapping.refund_comment(ref.return_no)
    memos = client.search("/creditmemos", [Filter("order_id", entity_id)])
    wanted = mapping.still_to_credit(targets, mapping.credited(memos, comment))
    created: list[int] = []
    if wanted:
        invoices = client.search("/invoices", [Filter("order_id", entity_id)])
        plan = mapping.allocate(wanted, invoices, memos)
        online = mapping.refunds_online(payment)
        notify = bool(mapping.settings()["notify_customer"])
        for invoice_id, items in plan:
            body = mapping.refund_body(items, online=online, comment=comment, notify=notify)
            answer = client.post(f"/invoice/{invoice_id}/refund", body)
            if isinstance(answer, bool) or not str(answer).isdigit():
                raise PermanentError(f"commerce answered {answer!r} where a credit memo id was expected",
                                     system="commerce")
            created.append(int(answer))
            invoice.remember_ours(ref.order_no, ref.return_no, int(answer))
    return {"credit_memos": created, "items": {str(item): num(qty) for item, qty in wanted.items()}}


def _adopt(document: Order, return_no: str) -> ReturnRef:
    """A return order Sterling made itself (a store return, no RMA): known from its DerivedFrom."""
    order_no = mapping.derived_order_no(document)
    order_ref = state.get_order(order_no) if order_no else None
    if order_no is None or order_ref is None:
        raise PermanentError(f"return {return_no} is not derived from an order this integration exported",
                             system="mapping", code="unknown_order")
    ref = ReturnRef(return_no=return_no, order_no=order_no,
                    enterprise_code=document.enterprise_code or order_ref.enterprise_code,
                    return_header_key=document.order_header_key or None,
                    lines=mapping.lines_from_document(document, order_ref.lines))
    put_return(ref)
    return ref


ROUTES: dict[tuple[str, str], Callable[[EventBridgeEvent], dict[str, Any]]] = {
    (COMMERCE_SOURCE, INVOICE_SAVED): invoice.invoice_saved,
    (COMMERCE_SOURCE, CREDITMEMO_SAVED): invoice.creditmemo_saved,
    (COMMERCE_SOURCE, RMA_SAVED): rma_saved,
    (STERLING_SOURCE, RECEIVED): sterling_return,
    (STERLING_SOURCE, REFUNDED): sterling_return,
}
