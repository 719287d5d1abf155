"""Return orders (DocumentType 0003) in the Sterling simulator, and invoice look-ups.

Installed on a ``SterlingSim`` by ``ReturnPipeline(sim)``:

- createOrder of a return order checks each line's ``DerivedFrom`` sales line: it must exist and
  have the quantity shipped and not already on another return; return orders raise no ``order.*``
  events (Sterling raises the 0003 transaction events separately, and they are not wired to those).
- changeOrderStatus for the transactions in ``TRANSACTIONS`` (the tenant's return pipeline:
  authorise 1100 → 1100.01).
- Receipts: startReceipt (an open receipt at a node for one return order), receiveOrder (authorised,
  else created, quantity → 3900 Received), closeReceipt (→ 3950 Receipt Closed; raises
  ``return.received`` with the return order).
- ``refund(return_no)``, driven by the test or demo as Sterling's return invoicing would be: receipt
  closed quantity → 3950.003 Refunded, raising ``return.refunded``.
- recordInvoiceCreation keeps ``Reference1``, and getOrderInvoiceList finds invoices by order and
  ``Reference1``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sandbox.sim.sterling.documents import (
    INVALID_INPUT,
    ORDER_STATUSES,
    RECORD_EXISTS,
    SHIPPED,
    decimal,
    mapping,
    missing,
    qty,
    repeated,
    sterling_error,
    text,
)

if TYPE_CHECKING:
    from sandbox.sim.sterling.orders import Line, SimOrder
    from sandbox.sim.sterling.simulator import SterlingSim

RETURN_ORDER = "0003"
SALES_ORDER = "0001"
CREATED, AUTHORIZED, RECEIVED, RECEIPT_CLOSED, REFUNDED = "1100", "1100.01", "3900", "3950", "3950.003"
RETURN_STATUSES = {AUTHORIZED: "Return Authorized", RECEIVED: "Received", RECEIPT_CLOSED: "Receipt Closed",
                   REFUNDED: "Refunded"}
# TransactionId → (statuses it takes quantity from, the drop status it allows).
TRANSACTIONS: dict[str, tuple[tuple[str, ...], str]] = {"AUTHORIZE_RETURN.0003": ((CREATED,), AUTHORIZED)}

Api = Callable[[dict[str, Any]], Any]


@dataclass
class Receipt:
    key: str
    receipt_no: str
    node: str
    order: SimOrder
    open: bool = True
    received: dict[str, Decimal] = field(default_factory=dict)  # OrderLineKey → quantity

    def render(self) -> dict[str, Any]:
        return {"ReceiptHeaderKey": self.key, "ReceiptNo": self.receipt_no, "ReceivingNode": self.node,
                "DocumentType": self.order.document_type, "OpenReceiptFlag": "Y" if self.open else "N",
                "Shipment": {"OrderNo": self.order.order_no, "OrderHeaderKey": self.order.key,
                             "EnterpriseCode": self.order.enterprise_code, "DocumentType": self.order.document_type},
                "ReceiptLines": {"ReceiptLine": [{"OrderLineKey": key, "Quantity": qty(amount)}
                                                 for key, amount in self.received.items()]}}


class ReturnPipeline:
    def __init__(self, sim: SterlingSim) -> None:
        self.sim = sim
        self.receipts: dict[str, Receipt] = {}
        self._receipt_numbers = iter(range(1, 10**9))
        for code, description in RETURN_STATUSES.items():
            ORDER_STATUSES.setdefault(code, description)
        apis = sim.apis
        for name in ("createOrder", "changeOrder", "cancelOrder"):
            apis[name] = self._quiet(apis[name])
        apis["createOrder"] = self._checked(apis["createOrder"])
        apis["recordInvoiceCreation"] = self._referenced(apis["recordInvoiceCreation"])
        apis.update({
            "changeOrderStatus": self._change_status,
            "startReceipt": self._start_receipt,
            "receiveOrder": self._receive,
            "closeReceipt": self._close_receipt,
            "getOrderInvoiceList": self._invoice_list,
        })

    # -- wrapped order APIs -----------------------------------------------------------------------

    def _quiet(self, api: Api) -> Api:
        """The API with the ``order.*`` events it raised for a return order taken back."""

        def call(body: dict[str, Any]) -> Any:
            before = len(self.sim.emitted)
            answer = api(body)
            for entry in self.sim.emitted[before:]:
                kind, document = entry
                if kind.startswith("order.") and document.get("DocumentType") == RETURN_ORDER:
                    self.sim.emitted.remove(entry)
                    self.sim._pending.remove(entry)
            return answer

        return call

    def _checked(self, api: Api) -> Api:
        def create(body: dict[str, Any]) -> Any:
            if text(body.get("DocumentType")) == RETURN_ORDER:
                self._check_derived(repeated(body, "OrderLines", "OrderLine"))
            return api(body)

        return create

    def _check_derived(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            line = self._derived_line(row)
            if line is None:
                continue  # a blind return: no sales line behind it
            wanted = decimal(row.get("OrderedQty"), "OrderedQty", "OrderLine")
            returnable = line.quantity(SHIPPED) - self._on_returns(line)
            if wanted > returnable:
                raise sterling_error(INVALID_INPUT, "Return quantity exceeds the quantity shipped and not returned", {
                    "PrimeLineNo": line.prime_line_no, "OrderedQty": qty(wanted), "Returnable": qty(returnable)})

    def _derived_line(self, row: dict[str, Any]) -> Line | None:
        derived = mapping(row.get("DerivedFrom"))
        if not derived:
            return None
        criteria = {name: value for name, value in derived.items() if name != "DocumentType"}
        sales = self.sim._find_order({"EnterpriseCode": self.sim.organization_code, "DocumentType": SALES_ORDER,
                                      **criteria})
        return self.sim._order_line(sales, derived)

    def _on_returns(self, sales_line: Line) -> Decimal:
        """Quantity of ``sales_line`` already on return orders (cancelled return quantity is free again)."""
        return sum((line.ordered_qty for order in self.sim.orders.values() if order.document_type == RETURN_ORDER
                    for line in order.lines if self._derived_line(line.attributes) is sales_line), Decimal(0))

    def _referenced(self, api: Api) -> Api:
        def record(body: dict[str, Any]) -> Any:
            invoice = api(body)
            order = self.sim._find_order(body)
            # The stored invoice is the answer itself: what is added here is kept with it.
            invoice.update({"OrderNo": order.order_no, "DocumentType": order.document_type,
                            "EnterpriseCode": order.enterprise_code,
                            "Reference1": text(body.get("Reference1")) or " "})
            return invoice

        return record

    def _invoice_list(self, body: dict[str, Any]) -> dict[str, Any]:
        order = self.sim._find_order(body)
        reference = text(body.get("Reference1"))
        rows = [invoice for invoice in self.sim.invoices if invoice["OrderHeaderKey"] == order.key
                and (not reference or invoice.get("Reference1") == reference)]
        return {"TotalNumberOfRecords": str(len(rows)), "OrderInvoice": rows}

    # -- the return pipeline ----------------------------------------------------------------------

    def _change_status(self, body: dict[str, Any]) -> dict[str, Any]:
        order = self.sim._find_order(body)
        transaction = text(body.get("TransactionId"))
        if transaction not in TRANSACTIONS:
            raise sterling_error(INVALID_INPUT, "The transaction is not configured for this document type",
                                 {"TransactionId": transaction, "DocumentType": order.document_type})
        sources, drop = TRANSACTIONS[transaction]
        if text(body.get("BaseDropStatus")) != drop:
            raise sterling_error(INVALID_INPUT, "The transaction cannot drop the order into this status",
                                 {"TransactionId": transaction, "BaseDropStatus": text(body.get("BaseDropStatus"))})
        plans = []
        for row in repeated(body, "OrderLines", "OrderLine"):
            line = self.sim._order_line(order, row)
            available = sum((piece.qty for piece in line.pieces(*sources)), Decimal(0))
            wanted = available if text(row.get("ChangeForAllAvailableQty")).upper() == "Y" else decimal(
                row.get("Quantity") or "0", "Quantity", "OrderLine")
            if wanted <= 0 or wanted > available:
                raise sterling_error(INVALID_INPUT, "Not enough quantity in a status the transaction moves from", {
                    "PrimeLineNo": line.prime_line_no, "Quantity": qty(wanted), "Available": qty(available)})
            plans.append((line, wanted))
        for line, wanted in plans:
            self._move(line, sources, drop, wanted)
        return order.render()

    @staticmethod
    def _move(line: Line, sources: tuple[str, ...], to_status: str, quantity: Decimal,
              ship_node: str | None = None) -> None:
        remaining = quantity
        for status in sources:
            for piece in line.pieces(status):
                take = min(piece.qty, remaining)
                if take > 0:
                    line.transfer(piece, take, to_status, ship_node=ship_node)
                    remaining -= take

    def _return_order(self, body: dict[str, Any]) -> SimOrder:
        shipment = mapping(body.get("Shipment"))
        criteria = {"DocumentType": RETURN_ORDER, **shipment} if shipment else body
        order = self.sim._find_order({"EnterpriseCode": self.sim.organization_code, **criteria})
        if order.document_type != RETURN_ORDER:
            raise sterling_error(INVALID_INPUT, "Receipts are for return orders", {"OrderNo": order.order_no})
        return order

    def _start_receipt(self, body: dict[str, Any]) -> dict[str, Any]:
        node = text(body.get("ReceivingNode")).strip()
        if not node:
            raise missing("ReceivingNode", "Receipt")
        self.sim.inventory.node(node)
        order = self._return_order(body)
        number = text(body.get("ReceiptNo")).strip() or f"R{next(self._receipt_numbers):06d}"
        if any((r.receipt_no, r.node) == (number, node) for r in self.receipts.values()):
            raise sterling_error(RECORD_EXISTS, "Record already exists in the database.",
                                 {"ReceiptNo": number, "ReceivingNode": node})
        receipt = Receipt(self.sim.keys(), number, node, order)
        self.receipts[receipt.key] = receipt
        return receipt.render()

    def _receipt(self, body: dict[str, Any]) -> Receipt:
        key, number, node = (text(body.get(name)).strip()
                             for name in ("ReceiptHeaderKey", "ReceiptNo", "ReceivingNode"))
        found = self.receipts.get(key) if key else next(
            (r for r in self.receipts.values() if (r.receipt_no, r.node) == (number, node)), None)
        if found is None:
            raise sterling_error(INVALID_INPUT, "Invalid receipt", {"ReceiptHeaderKey": key, "ReceiptNo": number})
        return found

    def _receive(self, body: dict[str, Any]) -> dict[str, Any]:
        receipt = self._receipt(body)
        if not receipt.open:
            raise sterling_error(INVALID_INPUT, "The receipt is closed", {"ReceiptNo": receipt.receipt_no})
        plans = []
        for row in repeated(body, "ReceiptLines", "ReceiptLine"):
            line = self.sim._order_line(receipt.order, row)
            wanted = decimal(row.get("Quantity") or "0", "Quantity", "ReceiptLine")
            open_qty = line.quantity(AUTHORIZED) + line.quantity(CREATED)
            if wanted <= 0 or wanted > open_qty:
                raise sterling_error(INVALID_INPUT, "Received quantity exceeds the quantity still expected", {
                    "OrderNo": receipt.order.order_no, "PrimeLineNo": line.prime_line_no, "Quantity": qty(wanted),
                    "Expected": qty(open_qty)})
            plans.append((line, wanted))
        if not plans:
            raise missing("ReceiptLine", "ReceiptLines")
        for line, wanted in plans:
            self._move(line, (AUTHORIZED, CREATED), RECEIVED, wanted, ship_node=receipt.node)
            receipt.received[line.key] = receipt.received.get(line.key, Decimal(0)) + wanted
        return receipt.render()

    def _close_receipt(self, body: dict[str, Any]) -> dict[str, Any]:
        receipt = self._receipt(body)
        if receipt.open:
            receipt.open = False
            for line in receipt.order.lines:
                amount = receipt.received.get(line.key, Decimal(0))
                if amount > 0:
                    self._move(line, (RECEIVED,), RECEIPT_CLOSED, amount)
            self.sim._queue("return.received", receipt.order.render())
        return receipt.render()

    def refund(self, return_no: str, lines: dict[str, Decimal | int] | None = None) -> dict[str, Any]:
        """Sterling's return invoicing: receipt-closed quantity (all, or ``{PrimeLineNo: qty}``) is
        refunded; raises ``return.refunded``."""
        with self.sim._transaction():
            order = self.sim.order(return_no, document_type=RETURN_ORDER)
            moved = False
            for line in order.lines:
                ready = line.quantity(RECEIPT_CLOSED)
                wanted = ready if lines is None else Decimal(str(lines.get(line.prime_line_no, 0)))
                if wanted > ready:
                    raise ValueError(f"return {return_no} line {line.prime_line_no}: {ready} to refund, not {wanted}")
                if wanted > 0:
                    self._move(line, (RECEIPT_CLOSED,), REFUNDED, wanted)
                    moved = True
            if not moved:
                raise ValueError(f"return {return_no} has nothing received to refund")
            document = order.render()
            self.sim._queue("return.refunded", document)
            return document

    def returned(self, return_no: str) -> dict[str, str]:
        """Quantity per status over the return's lines (what a test looks at)."""
        order = self.sim.order(return_no, document_type=RETURN_ORDER)
        totals: dict[str, Decimal] = {}
        for line in order.lines:
            for piece in line.slices:
                totals[piece.status] = totals.get(piece.status, Decimal(0)) + piece.qty
        return {status: qty(amount) for status, amount in sorted(totals.items())}
