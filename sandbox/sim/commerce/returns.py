"""Invoices, credit memos and returns (RMA) in the Commerce simulator.

Installed on a ``CommerceSim`` by ``CommerceReturns(sim)``:

- ``POST /V1/order/{id}/invoice`` and both refund routes keep the document as Commerce shows it
  (items with SKU, price, discount and tax; totals; comments) with Commerce's totals: the first
  invoice of an order carries all of its shipping; a credit memo refunds its items, the shipping
  given in ``arguments.shipping_amount`` (left out: whatever shipping is not refunded yet, as
  Commerce does) and its adjustments. Each raises its save event with the document.
- ``GET /V1/invoices``, ``/V1/invoices/{id}``, ``/V1/creditmemos``, ``/V1/creditmemo/{id}``.
- RMAs: ``POST /V1/returns``, ``PUT /V1/returns/{id}`` (status and item quantities), ``GET
  /V1/returns`` and ``/V1/returns/{id}``; every save raises ``rma_save_commit_after``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.sim.base import JsonBody, Request
from sandbox.sim.commerce import orders, search

if TYPE_CHECKING:
    from sandbox.sim.commerce.sim import CommerceSim

INVOICE_SAVED = "com.adobe.commerce.observer.sales_order_invoice_save_commit_after"
CREDITMEMO_SAVED = "com.adobe.commerce.observer.sales_order_creditmemo_save_commit_after"
RMA_SAVED = "com.adobe.commerce.observer.rma_save_commit_after"
INVOICE_PAID = 2
CREDITMEMO_REFUNDED = 2
RMA_STATUSES = frozenset({
    "pending", "authorized", "partially_authorized", "received", "received_on_item", "approved",
    "approved_on_item", "rejected", "rejected_on_item", "denied", "closed", "processed_closed",
})
CLOSED_RMA = frozenset({"closed", "processed_closed", "rejected", "denied"})

Handler = Callable[[Request], JsonBody]


def _money(value: float) -> int | float:
    return orders.number(round(value, 4))


class CommerceReturns:
    def __init__(self, sim: CommerceSim) -> None:
        self.sim = sim
        self.rmas: dict[int, dict[str, Any]] = {}
        for route in sim.routes:
            if route.handler == sim._invoice:
                route.handler = self._invoiced(route.handler)
            elif route.handler in (sim._refund_order, sim._refund_invoice):
                route.handler = self._refunded(route.handler)
        for method, template, handler in (
            ("GET", "/V1/invoices", self._search_invoices),
            ("GET", "/V1/invoices/{id}", self._get_invoice),
            ("GET", "/V1/creditmemos", self._search_creditmemos),
            ("GET", "/V1/creditmemo/{id}", self._get_creditmemo),
            ("GET", "/V1/returns", self._search_rmas),
            ("POST", "/V1/returns", self._create_rma),
            ("GET", "/V1/returns/{id}", self._get_rma),
            ("PUT", "/V1/returns/{id}", self._update_rma),
        ):
            sim.route(method, template, handler)

    def _emit(self, event_type: str, document: dict[str, Any]) -> None:
        self.sim._outbox.append(self.sim._event(document, event_type, store_id=self._store_of(document)))

    def _store_of(self, document: dict[str, Any]) -> Any:
        order = self.sim.orders.get(int(document.get("order_id") or 0))
        return document.get("store_id") or (order or {}).get("store_id")

    # -- invoices and credit memos ------------------------------------------------------------------

    def _invoiced(self, create: Handler) -> Handler:
        def handler(request: Request) -> JsonBody:
            order = self.sim._order(request.params["orderId"])
            first = not any(doc["order_id"] == order["entity_id"] for doc in self.sim.invoices.values())
            invoice_id = create(request)
            invoice = self.sim.invoices[int(invoice_id)]
            shipping = float(order.get("shipping_amount") or 0) if first else 0.0
            delta = self._complete(order, invoice, "invoice", self.sim._body(request), shipping=shipping)
            self._rebalance(order, delta, ("total_invoiced", "base_total_invoiced"))
            if invoice["state"] == INVOICE_PAID:
                self._rebalance(order, delta, ("total_paid", "base_total_paid"))
                if isinstance(order.get("payment"), dict):
                    order["payment"]["amount_paid"] = order["total_paid"]
                    invoice["transaction_id"] = f"{order['payment'].get('last_trans_id') or 'txn'}-capture"
            self._emit(INVOICE_SAVED, invoice)
            return invoice_id

        return handler

    def _refunded(self, create: Handler) -> Handler:
        def handler(request: Request) -> JsonBody:
            invoice = None
            if "invoiceId" in request.params:
                invoice = self.sim.invoices.get(int(request.params["invoiceId"])) if request.params[
                    "invoiceId"].isdigit() else None
            order = self.sim.orders.get(invoice["order_id"]) if invoice else None
            if order is None and "orderId" in request.params:
                order = self.sim._order(request.params["orderId"])
            body = self.sim._body(request)
            given = body.get("arguments")
            arguments: dict[str, Any] = given if isinstance(given, dict) else {}
            shipping = self._refund_shipping(order, arguments) if order is not None else 0.0
            memo_id = create(request)
            memo = self.sim.creditmemos[int(memo_id)]
            assert order is not None  # the route answered 404 otherwise
            adjustment = float(arguments.get("adjustment_positive") or 0) - float(
                arguments.get("adjustment_negative") or 0)
            memo.update({"adjustment_positive": _money(float(arguments.get("adjustment_positive") or 0)),
                         "adjustment_negative": _money(float(arguments.get("adjustment_negative") or 0)),
                         "adjustment": _money(adjustment), "base_adjustment": _money(adjustment)})
            delta = self._complete(order, memo, "creditmemo", body, shipping=shipping, extra=adjustment)
            self._rebalance(order, delta, ("total_refunded", "base_total_refunded"))
            self._emit(CREDITMEMO_SAVED, memo)
            return memo_id

        return handler

    def _refund_shipping(self, order: dict[str, Any], arguments: dict[str, Any]) -> float:
        from sandbox.sim.commerce.sim import error

        refunded = sum(float(memo.get("shipping_amount") or 0) for memo in self.sim.creditmemos.values()
                       if memo["order_id"] == order["entity_id"])
        left = float(order.get("shipping_amount") or 0) - refunded
        given = arguments.get("shipping_amount")
        if given is None:
            return max(left, 0.0)
        if float(given) > left + 1e-9:
            raise error(400, "Maximum shipping amount allowed to refund is: %1", [f"{max(left, 0.0):.2f}"])
        return float(given)

    def _complete(self, order: dict[str, Any], doc: dict[str, Any], kind: str, body: dict[str, Any], *,
                  shipping: float, extra: float = 0.0) -> float:
        """Fill in the document as Commerce shows it; returns how much its total moved."""
        by_id = {int(item["item_id"]): item for item in order["items"]}
        stamp = orders.now_text()
        lines, subtotal, discount, tax = [], 0.0, 0.0, 0.0
        for entry in doc["items"]:
            item, qty = by_id[int(entry["order_item_id"])], float(entry["qty"])
            share = qty / float(item["qty_ordered"])
            price = float(item.get("price") or 0)
            row = {"entity_id": self.sim.next_id(f"{kind}_item"), "parent_id": doc["entity_id"],
                   "order_item_id": item["item_id"], "sku": item["sku"], "name": item.get("name", item["sku"]),
                   "product_id": item.get("product_id", 0), "qty": orders.number(qty), "price": price,
                   "base_price": price, "base_cost": 0, "row_total": _money(price * qty),
                   "base_row_total": _money(price * qty),
                   "discount_amount": _money(float(item.get("discount_amount") or 0) * share),
                   "tax_amount": _money(float(item.get("tax_amount") or 0) * share)}
            lines.append(row)
            subtotal += price * qty
            discount += float(row["discount_amount"])
            tax += float(row["tax_amount"])
        grand = subtotal - discount + tax + shipping + extra
        before = float(doc.get("grand_total") or 0)
        comment = body.get("comment")
        doc.update({
            "increment_id": f"{doc['entity_id']:09d}", "store_id": order.get("store_id", 1),
            "created_at": stamp, "updated_at": stamp,
            "state": doc.get("state", CREDITMEMO_REFUNDED),
            "order_currency_code": order.get("order_currency_code", "USD"),
            "base_currency_code": order.get("base_currency_code", order.get("order_currency_code", "USD")),
            "total_qty": orders.number(sum(float(row["qty"]) for row in lines)),
            "subtotal": _money(subtotal), "base_subtotal": _money(subtotal),
            "discount_amount": _money(-discount), "base_discount_amount": _money(-discount),
            "tax_amount": _money(tax), "base_tax_amount": _money(tax),
            "shipping_amount": _money(shipping), "base_shipping_amount": _money(shipping),
            "grand_total": _money(grand), "base_grand_total": _money(grand),
            "items": lines,
            "comments": [{
                "entity_id": self.sim.next_id(f"{kind}_comment"), "parent_id": doc["entity_id"],
                "comment": str(comment.get("comment") or ""),
                "is_customer_notified": int(bool(body.get("appendComment") and body.get("notify"))),
                "is_visible_on_front": int(comment.get("is_visible_on_front") or 0), "created_at": stamp,
            }] if isinstance(comment, dict) else [],
        })
        if kind == "creditmemo":
            doc.pop("total_qty")
        return grand - before

    @staticmethod
    def _rebalance(order: dict[str, Any], delta: float, fields: tuple[str, ...]) -> None:
        for name in fields:
            order[name] = _money(float(order.get(name) or 0) + delta)

    def _search_invoices(self, request: Request) -> JsonBody:
        return search.result(list(self.sim.invoices.values()), search.parse(request.query, required=True))

    def _get_invoice(self, request: Request) -> JsonBody:
        return self._one(self.sim.invoices, request)

    def _search_creditmemos(self, request: Request) -> JsonBody:
        return search.result(list(self.sim.creditmemos.values()), search.parse(request.query, required=True))

    def _get_creditmemo(self, request: Request) -> JsonBody:
        return self._one(self.sim.creditmemos, request)

    @staticmethod
    def _one(documents: dict[int, dict[str, Any]], request: Request) -> JsonBody:
        from sandbox.sim.commerce.sim import entity_missing

        raw = request.params["id"]
        found = documents.get(int(raw)) if raw.isdigit() else None
        if found is None:
            raise entity_missing()
        return found

    # -- returns ------------------------------------------------------------------------------------

    def _rma_input(self, request: Request) -> dict[str, Any]:
        data = self.sim._body(request).get("rmaDataObject")
        if not isinstance(data, dict):
            raise search.required_field("rmaDataObject")
        status = str(data.get("status") or "pending")
        if status not in RMA_STATUSES:
            from sandbox.sim.commerce.sim import error

            raise error(400, 'The "%1" status is not a return status.', [status])
        return data

    def _create_rma(self, request: Request) -> JsonBody:
        from sandbox.sim.commerce.sim import entity_missing, error

        data = self._rma_input(request)
        order = self.sim.orders.get(int(data.get("order_id") or 0)) or self.sim.find_order(
            str(data.get("order_increment_id") or ""))
        if order is None:
            raise entity_missing()
        by_id = {int(item["item_id"]): item for item in order["items"]}
        wanted = []
        for entry in data.get("items") or []:
            item = by_id.get(int(entry.get("order_item_id") or 0))
            requested = float(entry.get("qty_requested") or 0)
            if item is None:
                raise error(400, 'The order item "%1" is not part of the order.', [str(entry.get("order_item_id"))])
            if requested <= 0 or requested > float(item["qty_shipped"]) - self._requested(item["item_id"]):
                raise error(400, "A quantity to return for %1 is more than was shipped and not returned yet.",
                            [item["sku"]])
            wanted.append((entry, item, requested))
        if not wanted:
            raise error(400, "Enter the items to return.")
        rma_id = self.sim.next_id("rma")
        items = [{
            "entity_id": self.sim.next_id("rma_item"), "rma_entity_id": rma_id, "order_item_id": item["item_id"],
            "qty_requested": orders.number(requested), "qty_authorized": 0, "qty_approved": 0, "qty_returned": 0,
            "reason": str(entry.get("reason") or ""), "condition": str(entry.get("condition") or ""),
            "resolution": str(entry.get("resolution") or ""), "status": "pending"}
            for entry, item, requested in wanted]
        rma = {
            "entity_id": rma_id, "increment_id": str(data.get("increment_id") or f"{rma_id:09d}"),
            "order_id": order["entity_id"], "order_increment_id": order["increment_id"],
            "store_id": int(order.get("store_id") or 1), "customer_id": int(order.get("customer_id") or 0),
            "date_requested": orders.now_text(), "customer_custom_email": str(data.get("customer_custom_email") or ""),
            "items": items, "status": str(data.get("status") or "pending"), "comments": [], "tracks": [],
        }
        self.rmas[rma_id] = rma
        self._emit(RMA_SAVED, rma)
        return rma

    def _requested(self, order_item_id: int) -> float:
        return sum(float(item["qty_requested"]) for rma in self.rmas.values() if rma["status"] not in CLOSED_RMA
                   for item in rma["items"] if item["order_item_id"] == order_item_id)

    def _update_rma(self, request: Request) -> JsonBody:
        from sandbox.sim.commerce.sim import error

        rma = self._one(self.rmas, request)
        data = self._rma_input(request)
        changes = []
        for entry in data.get("items") or []:
            item = next((i for i in rma["items"] if i["entity_id"] == int(entry.get("entity_id") or 0)), None)
            if item is None:
                raise error(400, 'The return item "%1" is not part of the return.', [str(entry.get("entity_id"))])
            qty = {name: float(entry.get(name, item[name]) or 0)
                   for name in ("qty_requested", "qty_authorized", "qty_returned", "qty_approved")}
            requested = float(item["qty_requested"])
            if not qty["qty_approved"] <= qty["qty_returned"] <= qty["qty_authorized"] <= requested:
                raise error(400, "The quantities of return item %1 are not in order (approved <= returned <= "
                            "authorized <= requested).", [str(item["entity_id"])])
            changes.append((item, qty, str(entry.get("status") or item["status"])))
        for item, qty, status in changes:
            item.update({name: orders.number(value) for name, value in qty.items() if name != "qty_requested"})
            item["status"] = status
        rma["status"] = str(data.get("status") or rma["status"])
        self._emit(RMA_SAVED, rma)
        return rma

    def _get_rma(self, request: Request) -> JsonBody:
        return self._one(self.rmas, request)

    def _search_rmas(self, request: Request) -> JsonBody:
        return search.result(list(self.rmas.values()), search.parse(request.query, required=True))
