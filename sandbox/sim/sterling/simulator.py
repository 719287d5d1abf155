"""A simulator of the IBM Sterling OMS REST API (``/smcfs/restapi``), per api-contracts Part A and C.1.

What it does like Sterling:
- Authentication: STANDARD (``invoke/login`` → ``UserToken``; every call needs ``_loginid`` and
  ``_token``, else HTTP 400 ``YCP0427``; ``expire_tokens()`` ends all sessions) or BASIC
  (``Authorization: Basic``, else HTTP 401).
- Root-less JSON in and out, string-typed output values, arrays for line collections (but one
  ``Inventory`` object where Sterling answers one), the ``{"errors":[...]}`` envelope with
  ``httpcode``; each API answers its standard output unless ``_templateKey`` names a template
  stored with manageApiTemplate (``templates.py``).
- A tenant's configuration (``tenant.py``): unknown enterprises, hold types, payment types, items,
  product classes and ship nodes are refused.
- Orders: createOrder (validated; a second OrderNo for the same enterprise and document type is
  ``YFC0001``), changeOrder / cancelOrder (``YFS10137`` when shipped quantity stands in the way),
  hold types (1100 applied, 1300 resolved; ``HoldFlag``; resolving a hold type the order does not
  have applies it), getOrderDetails, getOrderList.
- The pipeline, driven by the test or demo (Sterling's agents would): ``schedule`` 1100 → 1500
  (1300 when stock is short), ``release`` → 3200 with an OrderRelease per node,
  ``include_in_shipment`` → 3350, ``ready_to_ship``, ``ready_for_pickup``; and through the API
  createShipment, confirmShipment (→ 3700, shipment 1400), changeShipment, changeRelease.
- Stock per node (adjustInventory, getAvailableInventory, findInventory), published by RTAM at
  the levels of its monitoring rule (``rtam_full_sync`` publishes everything), and nodes
  (getShipNodeList, getSurroundingNodeList with distances from ``postcodes.json``),
  recordInvoiceCreation.

Every transition emits the event Sterling would raise, through ``emit(detail_type, document)``
(the detail-types of ARCHITECTURE §3, the document root-less). ``emit`` is called after the
simulator's lock is released, so it may call the simulator back.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import json
import secrets
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any

from sandbox.sim.base import HttpError, Request, Response, Simulator
from sandbox.sim.sterling.documents import (
    BACKORDERED,
    CANCELLED,
    CREATED,
    HOLD_APPLIED,
    HOLD_STATUSES,
    INCLUDED,
    INVALID_INPUT,
    INVALID_ORDER,
    INVALID_RELEASE,
    INVALID_SHIPMENT,
    LOGIN_FAILED,
    NOT_AUTHENTICATED,
    NOT_AUTHENTICATED_TEXT,
    NOT_MODIFIABLE,
    NOT_SIMULATED,
    RECORD_EXISTS,
    RELEASED,
    SCHEDULED,
    SHIPPED,
    TEMPLATES,
    Keys,
    decimal,
    mapping,
    missing,
    qty,
    repeated,
    status_key,
    sterling_error,
    stringify,
    text,
    timestamp,
)
from sandbox.sim.sterling.inventory import Inventory
from sandbox.sim.sterling.orders import Hold, Line, Release, SimOrder, Slice
from sandbox.sim.sterling.returns import ReturnPipeline
from sandbox.sim.sterling.shipments import (
    SHIPMENT_CANCELLED,
    SHIPMENT_CREATED,
    SHIPMENT_PACKED,
    SHIPMENT_READY_FOR_PICKUP,
    SHIPMENT_SHIPPED,
    ShipLine,
    SimShipment,
)
from sandbox.sim.sterling.templates import Templates
from sandbox.sim.sterling.tenant import SEED_KEYS, Tenant

PREFIX = "/smcfs/restapi"
SALES_ORDER = "0001"
# Quantity in these statuses is demand on its ship node.
DEMAND_STATUSES = (SCHEDULED, RELEASED, INCLUDED)
_ORDER_FIELDS = frozenset({
    "OrderHeaderKey", "OrderNo", "EnterpriseCode", "DocumentType", "SellerOrganizationCode", "OrderDate",
    "Status", "MinOrderStatus", "MaxOrderStatus", "HoldFlag", "BillToKey", "ShipToKey", "OrderLines",
    "OrderStatuses", "OrderHoldTypes", "Action", "Override", "ModificationReasonCode", "ModificationReasonText",
})
_LINE_FIELDS = frozenset({
    "OrderLineKey", "PrimeLineNo", "SubLineNo", "OrderedQty", "Item", "DeliveryMethod", "ShipNode", "Status",
    "OrderHoldTypes", "Action",
})
_SHIPMENT_FIELDS = frozenset({
    "ShipmentKey", "ShipmentNo", "ShipNode", "SellerOrganizationCode", "EnterpriseCode", "DocumentType",
    "Status", "ShipmentLines", "Containers", "ConfirmShip", "Action", "ActualShipmentDate",
    "CancelNonShippedQuantity", "BackOrderNonShippedQuantity",
})

Emit = Callable[[str, dict[str, Any]], None]


class PipelineError(ValueError):
    """A test or demo step that does not apply to the object's current state."""


class SterlingSim(Simulator):
    system = "sterling"

    def __init__(
        self,
        user: str,
        password: str,
        *,
        auth_style: str = "token",
        organization_code: str = "DEFAULT",
    ) -> None:
        super().__init__()
        if auth_style not in ("token", "basic"):
            raise ValueError("auth_style is 'token' or 'basic'")
        self.user = user
        self.password = password
        self.auth_style = auth_style
        self.organization_code = organization_code
        self.emit: Emit | None = None
        self.emitted: list[tuple[str, dict[str, Any]]] = []
        self.tokens: dict[str, str] = {}
        self.tenant = Tenant(enterprises={organization_code})
        self.templates = Templates(copy.deepcopy(TEMPLATES))
        self.flows: dict[str, str] = {"OMSAABCreateOrder": "createOrder"}
        self.orders: dict[tuple[str, str, str], SimOrder] = {}
        self.shipments: dict[str, SimShipment] = {}
        self.invoices: list[dict[str, Any]] = []
        self.inventory = Inventory(organization_code, self.tenant)
        self.keys = Keys()
        self._pending: list[tuple[str, dict[str, Any]]] = []
        self._invoice_numbers = iter(range(1001, 10**9))
        self._shipment_numbers = iter(range(100001, 10**9))
        self.apis: dict[str, Callable[[dict[str, Any]], Any]] = {
            "login": self._login,
            "createOrder": self._create_order,
            "changeOrder": self._change_order,
            "cancelOrder": lambda body: self._change_order({**body, "Action": "CANCEL"}),
            "getOrderDetails": lambda body: self._find_order(body).render(),
            "getOrderList": self._order_list,
            "getOrderReleaseDetails": self._release_details,
            "changeRelease": self._change_release,
            "createShipment": self._create_shipment,
            "confirmShipment": self._confirm_shipment,
            "changeShipment": self._change_shipment,
            "getShipmentDetails": lambda body: self._find_shipment(body).render(),
            "getShipmentList": self._shipment_list,
            "adjustInventory": self.inventory.adjust,
            "getAvailableInventory": self.inventory.available_inventory,
            "getItemList": self.inventory.item_list,
            "findInventory": self.inventory.find_inventory,
            "getSurroundingNodeList": self.inventory.surrounding_nodes,
            "getShipNodeList": self.inventory.ship_node_list,
            "recordInvoiceCreation": self._record_invoice,
            "manageApiTemplate": self.templates.manage,
            "getApiTemplateList": self.templates.list,
        }
        self._routes()
        # Return orders, receipts and invoice look-ups (sandbox/sim/sterling/returns.py).
        self.returns = ReturnPipeline(self)

    # -- HTTP -------------------------------------------------------------------------------------

    def _routes(self) -> None:
        resource = {
            ("POST", "order"): "createOrder", ("PATCH", "order"): "changeOrder",
            ("POST", "shipment"): "createShipment", ("POST", "api_template"): "manageApiTemplate",
        }
        self.route("POST", f"{PREFIX}/invoke/{{api}}", lambda r: self._run(r, r.params["api"], self._body(r)))
        self.route("POST", f"{PREFIX}/executeFlow/{{service}}", self._flow)
        for (method, name), api in resource.items():
            self.route(method, f"{PREFIX}/{name}", self._api_route(api))
        self.route("PATCH", f"{PREFIX}/order/{{key}}", lambda r: self._run(
            r, "changeOrder", {**self._body(r), "OrderHeaderKey": r.params["key"]}))
        self.route("GET", f"{PREFIX}/order/detail", lambda r: self._run(r, "getOrderDetails", self._criteria(r)))
        self.route("GET", f"{PREFIX}/order/{{key}}", lambda r: self._run(
            r, "getOrderDetails", {"OrderHeaderKey": r.params["key"]}))
        self.route("GET", f"{PREFIX}/order", lambda r: self._run_list(r, "getOrderList", "Order"))
        self.route("PATCH", f"{PREFIX}/shipment/{{key}}", lambda r: self._run(
            r, "changeShipment", {**self._body(r), "ShipmentKey": r.params["key"]}))
        self.route("GET", f"{PREFIX}/shipment/{{key}}", lambda r: self._run(
            r, "getShipmentDetails", {"ShipmentKey": r.params["key"]}))
        self.route("GET", f"{PREFIX}/shipment", lambda r: self._run_list(r, "getShipmentList", "Shipment"))
        self.route("PATCH", f"{PREFIX}/release/{{key}}", lambda r: self._run(
            r, "changeRelease", {**self._body(r), "OrderReleaseKey": r.params["key"]}))
        self.route("GET", f"{PREFIX}/release/{{key}}", lambda r: self._run(
            r, "getOrderReleaseDetails", {"OrderReleaseKey": r.params["key"]}))

    def _api_route(self, api: str) -> Callable[[Request], Any]:
        return lambda request: self._run(request, api, self._body(request))

    def dispatch(self, request: Request) -> Response:
        response = super().dispatch(request)
        self._flush()
        return response

    def authenticate(self, request: Request) -> None:
        if request.path == f"{PREFIX}/invoke/login":
            return
        if self.auth_style == "basic":
            self._authenticate_basic(request)
            return
        login_id, token = request.arg("_loginid"), request.arg("_token")
        if not login_id or not token or self.tokens.get(token) != login_id:
            raise sterling_error(NOT_AUTHENTICATED, NOT_AUTHENTICATED_TEXT)

    def _authenticate_basic(self, request: Request) -> None:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user = password = ""
        if scheme.lower() != "basic" or not secrets.compare_digest(f"{user}:{password}",
                                                                   f"{self.user}:{self.password}"):
            raise sterling_error(NOT_AUTHENTICATED, NOT_AUTHENTICATED_TEXT, httpcode=401,
                                 headers={"WWW-Authenticate": 'Basic realm="smcfs"'})

    def _body(self, request: Request) -> dict[str, Any]:
        try:
            body = request.json()
        except ValueError:
            raise sterling_error(INVALID_INPUT, "The input is not valid JSON") from None
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise sterling_error(INVALID_INPUT, "The input must be a JSON object (the document without its root)")
        return body

    @staticmethod
    def _criteria(request: Request) -> dict[str, Any]:
        return {name: values[0] for name, values in request.query.items() if not name.startswith("_")}

    def _run(self, request: Request, api: str, body: dict[str, Any]) -> Any:
        handler = self.apis.get(api)
        if handler is None:
            raise sterling_error(NOT_SIMULATED, f"The simulator does not implement the API {api}", {"Name": api})
        return self.templates.shape(api, request.arg("_templateKey") or "").apply(handler(body))

    def _run_list(self, request: Request, api: str, element: str) -> list[Any]:
        """The REST list form: a bare array of records."""
        answer = self.apis[api](self._criteria(request))
        shaped = self.templates.shape(api, request.arg("_templateKey") or "").apply(answer)
        rows = shaped.get(element) or []
        return rows if isinstance(rows, list) else [rows]

    def _flow(self, request: Request) -> Any:
        service = request.params["service"]
        api = self.flows.get(service)
        if api is None:
            raise sterling_error(NOT_SIMULATED, f"No service named {service} is configured", {"FlowName": service})
        return self._run(request, api, self._body(request))

    # -- sessions ---------------------------------------------------------------------------------

    def _login(self, body: dict[str, Any]) -> dict[str, str]:
        given = f"{text(body.get('LoginID'))}:{text(body.get('Password'))}"
        if not secrets.compare_digest(given, f"{self.user}:{self.password}"):
            raise sterling_error(LOGIN_FAILED, "Invalid login ID or password", {"LoginID": text(body.get("LoginID"))})
        token = secrets.token_hex(16)
        self.tokens[token] = self.user
        return {"LoginID": self.user, "UserName": self.user, "UserGroupID": "SANDBOX",
                "UserToken": token, "OrganizationCode": self.organization_code}

    def expire_tokens(self) -> None:
        """End every session: the next call with an old token gets ``YCP0427``."""
        with self.lock:
            self.tokens.clear()

    # -- events -----------------------------------------------------------------------------------

    def _queue(self, detail_type: str, document: dict[str, Any]) -> None:
        snapshot = json.loads(json.dumps(document))
        self._pending.append((detail_type, snapshot))
        self.emitted.append((detail_type, snapshot))

    def _flush(self) -> None:
        with self.lock:
            for document in self.inventory.changes():
                self._queue("inventory.changed", document)
        while True:
            with self.lock:
                if not self._pending:
                    return
                detail_type, document = self._pending.pop(0)
            if self.emit is not None:
                self.emit(detail_type, document)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """A test or demo step: atomic like an API call, its events emitted afterwards."""
        with self.lock:
            yield
        self._flush()

    def events_of(self, detail_type: str) -> list[dict[str, Any]]:
        """The documents emitted so far with ``detail_type``."""
        return [document for kind, document in self.emitted if kind == detail_type]

    # -- seed -------------------------------------------------------------------------------------

    def load_seed(self, seed: dict[str, Any]) -> None:
        """ARCHITECTURE §7: ``nodes``, ``inventory`` (ItemID, ShipNode, Quantity), ``orders``
        (createOrder input; EnterpriseCode and DocumentType default to this simulator's), and the
        tenant's configuration (``tenant.SEED_KEYS``; the items the inventory and orders name exist
        too). Seeded state exists before the test starts, so it raises no events."""
        unknown = set(seed) - {"nodes", "inventory", "orders", *SEED_KEYS}
        if unknown:
            raise ValueError(f"unknown sterling seed keys: {sorted(unknown)}")
        with self.lock:
            self.tenant.load(seed)
            self.tenant.items.update(text(row.get("ItemID")) for row in seed.get("inventory", []))
            self.tenant.items.update(text(mapping(row.get("Item")).get("ItemID")) for order in seed.get("orders", [])
                                     for row in repeated(order, "OrderLines", "OrderLine"))
            for node in seed.get("nodes", []):
                self.inventory.add_node(node)
            self.inventory.seed(list(seed.get("inventory", [])))
            for order in seed.get("orders", []):
                body = {"EnterpriseCode": self.organization_code, "DocumentType": SALES_ORDER, **order}
                try:
                    self._add_order(body)
                except HttpError as exc:
                    raise ValueError(f"seed order {body.get('OrderNo')!r} rejected: {exc.response.body}") from None

    def store_templates(self, documents: Iterable[dict[str, Any]]) -> None:
        """Templates the tenant already holds (manageApiTemplate inputs), stored as configuration:
        no call recorded, no event."""
        with self.lock:
            for document in documents:
                self.templates.manage(document)

    # -- orders -----------------------------------------------------------------------------------

    def _create_order(self, body: dict[str, Any]) -> dict[str, Any]:
        order = self._add_order(body)
        document = order.render()
        self._queue("order.created", document)
        return document

    def _add_order(self, body: dict[str, Any]) -> SimOrder:
        enterprise = self._required(body, "EnterpriseCode", "Order")
        self.tenant.check_enterprise(enterprise)
        document_type = self._required(body, "DocumentType", "Order")
        order_no = self._required(body, "OrderNo", "Order")
        rows = repeated(body, "OrderLines", "OrderLine")
        if not rows:
            raise missing("OrderLine", "OrderLines")
        if (enterprise, document_type, order_no) in self.orders:
            raise sterling_error(RECORD_EXISTS, "Record already exists in the database.",
                                 {"OrderNo": order_no, "EnterpriseCode": enterprise, "DocumentType": document_type})
        lines: list[Line] = []
        for row in rows:
            line = self._new_line(row)
            if any((other.prime_line_no, other.sub_line_no) == (line.prime_line_no, line.sub_line_no)
                   for other in lines):
                raise sterling_error(RECORD_EXISTS, "Record already exists in the database.",
                                     {"PrimeLineNo": line.prime_line_no, "SubLineNo": line.sub_line_no})
            lines.append(line)
        holds = [self._hold(row) for row in repeated(body, "OrderHoldTypes", "OrderHoldType")]
        seller = text(body.get("SellerOrganizationCode") or enterprise)
        self._check_payments(body, seller)
        order = SimOrder(
            key=self.keys(), order_no=order_no, enterprise_code=enterprise, document_type=document_type,
            seller=seller,
            order_date=text(body.get("OrderDate")) or timestamp(),
            attributes={name: value for name, value in body.items() if name not in _ORDER_FIELDS},
            lines=lines, holds=holds,
            bill_to_key=self.keys() if body.get("PersonInfoBillTo") else "",
            ship_to_key=self.keys() if body.get("PersonInfoShipTo") else "",
        )
        self.orders[order.ident] = order
        return order

    def _new_line(self, row: dict[str, Any]) -> Line:
        prime = self._required(row, "PrimeLineNo", "OrderLine")
        item = mapping(row.get("Item"))
        item_id = self._required(item, "ItemID", "Item")
        self.tenant.check_item(item_id)
        self.tenant.check_product_class(text(item.get("ProductClass")), item_id)
        if text(row.get("OrderedQty")).strip() == "":
            raise missing("OrderedQty", "OrderLine")
        ordered = decimal(row.get("OrderedQty"), "OrderedQty", "OrderLine")
        if ordered <= 0:
            raise sterling_error(INVALID_INPUT, "OrderedQty must be greater than zero",
                                 {"PrimeLineNo": prime, "OrderedQty": text(row.get("OrderedQty"))})
        method = text(row.get("DeliveryMethod") or "SHP")
        node = text(row.get("ShipNode")).strip()
        if method == "PICK" and not node:
            raise missing("ShipNode", "OrderLine")
        if node:
            self.inventory.node(node)
        return Line(
            key=self.keys(), prime_line_no=prime, sub_line_no=text(row.get("SubLineNo") or "1"),
            item={**stringify(item), "ItemID": item_id, "UnitOfMeasure": text(item.get("UnitOfMeasure") or "EACH"),
                  "ProductClass": text(item.get("ProductClass"))},
            original_qty=ordered, delivery_method=method, requested_node=node,
            attributes={name: value for name, value in row.items() if name not in _LINE_FIELDS},
            slices=[Slice(CREATED, ordered, node)],
        )

    def _hold(self, row: dict[str, Any]) -> Hold:
        hold_type = text(row.get("HoldType")).strip()
        if not hold_type:
            raise missing("HoldType", "OrderHoldType")
        self.tenant.check_hold_type(hold_type)
        status = text(row.get("Status") or HOLD_APPLIED)
        if status not in HOLD_STATUSES:
            raise sterling_error(INVALID_INPUT, "Invalid hold type status", {"HoldType": hold_type, "Status": status})
        return Hold(hold_type, status, text(row.get("ReasonText")))

    def _check_payments(self, body: dict[str, Any], seller: str) -> None:
        for payment in repeated(body, "PaymentMethods", "PaymentMethod"):
            payment_type = text(payment.get("PaymentType")).strip()
            if not payment_type:
                raise missing("PaymentType", "PaymentMethod")
            self.tenant.check_payment_type(payment_type, seller)

    @staticmethod
    def _required(doc: dict[str, Any], attribute: str, element: str) -> str:
        value = text(doc.get(attribute)).strip()
        if not value:
            raise missing(attribute, element)
        return value

    def _find_order(self, body: dict[str, Any]) -> SimOrder:
        key = text(body.get("OrderHeaderKey")).strip()
        if key:
            found = next((order for order in self.orders.values() if order.key == key), None)
        else:
            order_no = self._required(body, "OrderNo", "Order")
            enterprise = self._required(body, "EnterpriseCode", "Order")
            found = self.orders.get((enterprise, text(body.get("DocumentType") or SALES_ORDER), order_no))
        if found is None:
            raise sterling_error(INVALID_ORDER, "YFS:Invalid Order", {
                "OrderHeaderKey": key, "OrderNo": text(body.get("OrderNo")),
                "EnterpriseCode": text(body.get("EnterpriseCode")), "DocumentType": text(body.get("DocumentType")),
            })
        return found

    @staticmethod
    def _order_line(order: SimOrder, row: dict[str, Any]) -> Line:
        line = order.line(key=text(row.get("OrderLineKey")), prime_line_no=text(row.get("PrimeLineNo")),
                          sub_line_no=text(row.get("SubLineNo") or "1"))
        if line is None:
            raise sterling_error(INVALID_INPUT, "Invalid order line", {
                "OrderNo": order.order_no, "OrderLineKey": text(row.get("OrderLineKey")),
                "PrimeLineNo": text(row.get("PrimeLineNo")), "SubLineNo": text(row.get("SubLineNo")),
            })
        return line

    def _order_list(self, body: dict[str, Any]) -> dict[str, Any]:
        filters = {name: text(body.get(name)) for name in ("OrderNo", "EnterpriseCode", "DocumentType", "HoldFlag")
                   if text(body.get(name))}
        status = text(body.get("Status"))
        limit = int(decimal(body.get("MaximumRecords") or "5000", "MaximumRecords", "Order"))
        rows = []
        for order in sorted(self.orders.values(), key=lambda entry: entry.key):
            document = order.render()
            if any(document.get(name) != value for name, value in filters.items()):
                continue
            if status and all(status not in line.statuses() for line in order.lines):
                continue
            rows.append(document)
        rows = rows[:limit]
        return {"LastOrderHeaderKey": rows[-1]["OrderHeaderKey"] if rows else "", "LastRecordSet": "Y",
                "ReadFromHistory": "N", "TotalOrderList": str(len(rows)), "Order": rows}

    def _change_order(self, body: dict[str, Any]) -> dict[str, Any]:
        order = self._find_order(body)
        if text(body.get("Action") or "MODIFY").upper() == "CANCEL":
            if not order.cancelled:
                self._cancel_whole_order(order)
                self._queue("order.cancelled", order.render())
            return order.render()
        cancels, additions = self._line_changes(order, repeated(body, "OrderLines", "OrderLine"))
        holds = [self._hold(row) for row in repeated(body, "OrderHoldTypes", "OrderHoldType")]
        self._check_payments(body, order.seller)
        if any(hold.status == HOLD_APPLIED for hold in holds) and all(
                line.statuses()[0] in (SHIPPED, CANCELLED) for line in order.lines):
            raise self._not_modifiable(order, "HOLD_TYPE", "ORDER")
        header = {name: value for name, value in body.items() if name not in _ORDER_FIELDS}
        for line, quantity in cancels:
            self._cancel_line(line, quantity)
        for line, quantity in additions:
            line.slices.append(Slice(CREATED, quantity, line.requested_node))
        holds_changed = self._apply_holds(order, holds)
        order.attributes.update(header)
        if holds_changed:
            self._queue("order.hold_changed", order.render())
        if cancels or additions or header:
            self._queue("order.cancelled" if order.cancelled else "order.changed", order.render())
        return order.render()

    def _line_changes(
        self, order: SimOrder, rows: list[dict[str, Any]],
    ) -> tuple[list[tuple[Line, Decimal]], list[tuple[Line, Decimal]]]:
        """Quantities to cancel and to add per line, checked before anything changes."""
        cancels, additions = [], []
        for row in rows:
            line = self._order_line(order, row)
            if text(row.get("Action")).upper() == "CANCEL":
                reduce_by = line.ordered_qty
            elif text(row.get("OrderedQty")).strip():
                wanted = decimal(row.get("OrderedQty"), "OrderedQty", "OrderLine")
                if wanted < 0:
                    raise sterling_error(INVALID_INPUT, "OrderedQty cannot be negative", {"OrderedQty": str(wanted)})
                reduce_by = line.ordered_qty - wanted
            else:
                continue
            if reduce_by > self._cancellable(line):
                raise self._not_modifiable(order, "CANCEL", "ORDER_LINE", line)
            if reduce_by > 0:
                cancels.append((line, reduce_by))
            elif reduce_by < 0:
                additions.append((line, -reduce_by))
        return cancels, additions

    @staticmethod
    def _cancellable(line: Line) -> Decimal:
        return sum((piece.qty for piece in line.slices if piece.status != CANCELLED
                    and status_key(piece.status) < status_key(SHIPPED)), Decimal(0))

    @staticmethod
    def _not_modifiable(order: SimOrder, modification: str, level: str, line: Line | None = None) -> HttpError:
        more_info = {"ModificationType": modification, "ModificationLevel": level, **order.identity(), "Override": ""}
        if line is not None:
            more_info.update({"PrimeLineNo": line.prime_line_no, "SubLineNo": line.sub_line_no})
        return sterling_error(NOT_MODIFIABLE, "YFS: Order cannot be modified in current status", more_info)

    def _cancel_whole_order(self, order: SimOrder) -> None:
        if any(line.quantity(exclude=CANCELLED) > self._cancellable(line) for line in order.lines):
            raise self._not_modifiable(order, "CANCEL", "ORDER")
        for line in order.lines:
            self._cancel_line(line, self._cancellable(line))

    def _cancel_line(self, line: Line, quantity: Decimal) -> None:
        """Cancel ``quantity``, lowest statuses first, giving back the demand it held."""
        remaining = quantity
        pieces = [piece for piece in line.slices if piece.status != CANCELLED
                  and status_key(piece.status) < status_key(SHIPPED)]
        for piece in sorted(pieces, key=lambda entry: status_key(entry.status)):
            take = min(piece.qty, remaining)
            if take <= 0:
                break
            if piece.status in DEMAND_STATUSES:
                self.inventory.unreserve(line.item_id, piece.ship_node, take)
            if piece.status == INCLUDED:
                self._drop_from_shipments(line, piece.release_key, take)
            line.transfer(piece, take, CANCELLED)
            remaining -= take

    def _drop_from_shipments(self, line: Line, release_key: str, quantity: Decimal) -> None:
        for shipment in self.shipments.values():
            if not shipment.open:
                continue
            for entry in list(shipment.lines):
                if entry.line is line and entry.release.key == release_key and quantity > 0:
                    take = min(entry.quantity, quantity)
                    entry.quantity -= take
                    quantity -= take
                    if entry.quantity <= 0:
                        shipment.lines.remove(entry)
            if not shipment.lines:
                shipment.status, shipment.status_date = SHIPMENT_CANCELLED, timestamp()

    @staticmethod
    def _apply_holds(order: SimOrder, holds: list[Hold]) -> bool:
        changed = False
        for hold in holds:
            current = order.hold(hold.hold_type)
            if current is None:
                # IBM support, "changeOrder API adds hold type with status 1100 on order with
                # non-existing hold" (swg21991521): a hold type the order does not have is created,
                # and always in Created status, whatever status the input asks for.
                order.holds.append(Hold(hold.hold_type, HOLD_APPLIED, hold.reason_text))
                changed = True
            elif (current.status, current.reason_text) != (hold.status, hold.reason_text or current.reason_text):
                current.status = hold.status
                current.reason_text = hold.reason_text or current.reason_text
                changed = True
        return changed

    # -- the pipeline (Sterling's agents; driven by tests and the demo) -----------------------------

    def order(self, order_no: str, *, enterprise_code: str | None = None,
              document_type: str = SALES_ORDER) -> SimOrder:
        found = self.orders.get((enterprise_code or self.organization_code, document_type, order_no))
        if found is None:
            raise PipelineError(f"no order {order_no}")
        return found

    def schedule(self, order_no: str, *, enterprise_code: str | None = None) -> dict[str, Any]:
        """1100 (and 1300) → 1500 at a node holding the quantity; → 1300 Backordered when none does."""
        with self._transaction():
            order = self.order(order_no, enterprise_code=enterprise_code)
            if order.held:
                raise PipelineError(f"order {order_no} is on hold")
            pieces = [(line, piece) for line in order.lines for piece in line.pieces(CREATED, BACKORDERED)]
            if not pieces:
                raise PipelineError(f"order {order_no} has nothing to schedule")
            backordered = scheduled = False
            for line, piece in pieces:
                node = self._source_node(line, piece.qty)
                if node is None:
                    if piece.status == CREATED:
                        line.transfer(piece, piece.qty, BACKORDERED)
                        backordered = True
                    continue
                self.inventory.reserve(line.item_id, node, piece.qty)
                line.transfer(piece, piece.qty, SCHEDULED, ship_node=node)
                scheduled = True
            document = order.render()
            if backordered:
                self._queue("order.backordered", document)
            elif scheduled:
                self._queue("order.changed", document)
            return document

    def _source_node(self, line: Line, quantity: Decimal) -> str | None:
        candidates = [line.requested_node] if line.requested_node else sorted(self.inventory.nodes)
        return next((node for node in candidates if self.inventory.available(line.item_id, node) >= quantity), None)

    def release(self, order_no: str, *, enterprise_code: str | None = None) -> list[dict[str, Any]]:
        """1500 → 3200: one OrderRelease per ship node, each raising ``order.released``."""
        with self._transaction():
            order = self.order(order_no, enterprise_code=enterprise_code)
            if order.held:
                raise PipelineError(f"order {order_no} is on hold")
            by_node: dict[str, list[tuple[Line, Slice]]] = {}
            for line in order.lines:
                for piece in line.pieces(SCHEDULED):
                    by_node.setdefault(piece.ship_node, []).append((line, piece))
            if not by_node:
                raise PipelineError(f"order {order_no} has nothing scheduled to release")
            documents = []
            for node, entries in sorted(by_node.items()):
                release = Release(self.keys(), len(order.releases) + 1, node)
                order.releases.append(release)
                for line, piece in entries:
                    line.transfer(piece, piece.qty, RELEASED, release_key=release.key)
                documents.append(order.render_release(release))
                self._queue("order.released", documents[-1])
            return documents

    def include_in_shipment(self, order_no: str, *, release_no: int | None = None,
                            shipment_no: str | None = None, enterprise_code: str | None = None) -> dict[str, Any]:
        """What a DC does with a release: a shipment of all its released quantity (3200 → 3350)."""
        with self._transaction():
            order = self.order(order_no, enterprise_code=enterprise_code)
            releases = [release for release in order.releases
                        if (release_no is None or release.release_no == release_no)
                        and any(line.quantity(RELEASED, release.key) for line in order.lines)]
            if not releases:
                raise PipelineError(f"order {order_no} has no released quantity to ship")
            release = releases[0]
            wanted = [(order, line, release, line.quantity(RELEASED, release.key), str(number), "0")
                      for number, line in enumerate(
                          [line for line in order.lines if line.quantity(RELEASED, release.key)], start=1)]
            shipment = self._new_shipment(
                shipment_no or str(next(self._shipment_numbers)), release.ship_node, order.seller, order,
                wanted, {name: order.attributes[name] for name in ("SCAC", "CarrierServiceCode")
                         if name in order.attributes})
            return shipment.render()

    def ready_to_ship(self, shipment_no: str, ship_node: str | None = None) -> dict[str, Any]:
        """Packed (1100 → 1300): the carrier can book the label."""
        with self._transaction():
            shipment = self.shipment(shipment_no, ship_node)
            if shipment.status != SHIPMENT_CREATED:
                raise PipelineError(f"shipment {shipment_no} is at {shipment.status}, not {SHIPMENT_CREATED}")
            self._set_status(shipment, SHIPMENT_PACKED)
            self._queue("shipment.ready_to_ship", shipment.render())
            return shipment.render()

    def ready_for_pickup(self, shipment_no: str, ship_node: str | None = None) -> dict[str, Any]:
        """A BOPIS shipment is picked and waits for the customer (1100.70.06.30)."""
        with self._transaction():
            shipment = self.shipment(shipment_no, ship_node)
            if shipment.delivery_method != "PICK":
                raise PipelineError(f"shipment {shipment_no} is not a pickup (DeliveryMethod PICK)")
            if shipment.status not in (SHIPMENT_CREATED, SHIPMENT_PACKED):
                raise PipelineError(f"shipment {shipment_no} is at {shipment.status}")
            self._set_status(shipment, SHIPMENT_READY_FOR_PICKUP)
            self._queue("shipment.ready_for_pickup", shipment.render())
            return shipment.render()

    def rtam_full_sync(self) -> None:
        """RTAM run in Full Sync mode (MonitorOption 3), as an SI schedules it: every item's
        availability is published whatever its level."""
        with self._transaction():
            for document in self.inventory.full_sync():
                self._queue("inventory.changed", document)

    def shipment(self, shipment_no: str, ship_node: str | None = None) -> SimShipment:
        for shipment in self.shipments.values():
            if shipment.shipment_no == shipment_no and (ship_node is None or shipment.ship_node == ship_node):
                return shipment
        raise PipelineError(f"no shipment {shipment_no}")

    @staticmethod
    def _set_status(shipment: SimShipment, status: str) -> None:
        shipment.status, shipment.status_date = status, timestamp()

    # -- releases and shipments (API) -------------------------------------------------------------

    def _find_release(self, body: dict[str, Any]) -> tuple[SimOrder, Release]:
        key = self._required(body, "OrderReleaseKey", "OrderRelease")
        for order in self.orders.values():
            release = order.release(key)
            if release is not None:
                return order, release
        raise sterling_error(INVALID_RELEASE, "Invalid order release", {"OrderReleaseKey": key})

    def _release_details(self, body: dict[str, Any]) -> dict[str, Any]:
        order, release = self._find_release(body)
        return order.render_release(release)

    def _change_release(self, body: dict[str, Any]) -> dict[str, Any]:
        """changeRelease: cancel released quantity (``Action=CANCEL``, ``StatusQuantity`` per line)."""
        order, release = self._find_release(body)
        plans = []
        for row in repeated(body, "OrderLines", "OrderLine"):
            line = self._order_line(order, row)
            action = text(row.get("Action")).upper()
            if action != "CANCEL":
                raise sterling_error(NOT_SIMULATED, "The simulator changes releases by Action=CANCEL only",
                                     {"Action": action})
            open_qty = line.quantity(RELEASED, release.key)
            quantity = decimal(row.get("StatusQuantity") or open_qty, "StatusQuantity", "OrderLine")
            if quantity <= 0 or quantity > open_qty:
                raise sterling_error(INVALID_INPUT, "StatusQuantity exceeds the released quantity",
                                     {"OrderLineKey": line.key, "StatusQuantity": qty(quantity),
                                      "ReleasedQuantity": qty(open_qty)})
            plans.append((line, quantity))
        for line, quantity in plans:
            remaining = quantity
            for piece in line.pieces(RELEASED, release_key=release.key):
                take = min(piece.qty, remaining)
                self.inventory.unreserve(line.item_id, piece.ship_node, take)
                line.transfer(piece, take, CANCELLED)
                remaining -= take
        if plans:
            self._queue("order.cancelled" if order.cancelled else "order.changed", order.render())
        return order.render_release(release)

    def _create_shipment(self, body: dict[str, Any]) -> dict[str, Any]:
        rows = repeated(body, "ShipmentLines", "ShipmentLine")
        if not rows:
            raise missing("ShipmentLine", "ShipmentLines")
        wanted: list[tuple[SimOrder, Line, Release, Decimal, str, str]] = []
        for number, row in enumerate(rows, start=1):
            order = self._find_order({"EnterpriseCode": body.get("EnterpriseCode"),
                                      "DocumentType": body.get("DocumentType"), **row})
            line = self._order_line(order, row)
            release = self._line_release(order, line, row)
            if text(row.get("Quantity")).strip() == "":
                raise missing("Quantity", "ShipmentLine")
            quantity = decimal(row.get("Quantity"), "Quantity", "ShipmentLine")
            taken = sum((entry[3] for entry in wanted if entry[1] is line and entry[2] is release), Decimal(0))
            if quantity <= 0 or quantity + taken > line.quantity(RELEASED, release.key):
                raise sterling_error(INVALID_INPUT, "Quantity exceeds the released quantity", {
                    "OrderLineKey": line.key, "OrderReleaseKey": release.key, "Quantity": qty(quantity)})
            wanted.append((order, line, release, quantity, text(row.get("ShipmentLineNo") or number),
                           text(row.get("ShipmentSubLineNo") or "0")))
        nodes = {entry[2].ship_node for entry in wanted}
        given_node = text(body.get("ShipNode")).strip()
        if len(nodes) > 1 or (given_node and given_node not in nodes):
            raise sterling_error(INVALID_INPUT, "All shipment lines must be released to the shipment's node",
                                 {"ShipNode": given_node or ",".join(sorted(nodes))})
        node = nodes.pop()
        seller = text(body.get("SellerOrganizationCode") or wanted[0][0].seller)
        shipment_no = text(body.get("ShipmentNo")).strip() or str(next(self._shipment_numbers))
        if any((entry.shipment_no, entry.ship_node, entry.seller) == (shipment_no, node, seller)
               for entry in self.shipments.values()):
            raise sterling_error(RECORD_EXISTS, "Record already exists in the database.",
                                 {"ShipmentNo": shipment_no, "ShipNode": node, "SellerOrganizationCode": seller})
        attributes = {name: value for name, value in body.items() if name not in _SHIPMENT_FIELDS}
        shipment = self._new_shipment(shipment_no, node, seller, wanted[0][0], wanted, attributes)
        self._merge_containers(shipment, repeated(body, "Containers", "Container"))
        if text(body.get("ConfirmShip")).upper() == "Y":
            self._confirm(shipment, body)
        return shipment.render()

    def _line_release(self, order: SimOrder, line: Line, row: dict[str, Any]) -> Release:
        key, number = text(row.get("OrderReleaseKey")), text(row.get("ReleaseNo"))
        for release in order.releases:
            if (key and release.key == key) or (not key and number and str(release.release_no) == number) or (
                    not key and not number and line.quantity(RELEASED, release.key) > 0):
                return release
        raise sterling_error(INVALID_RELEASE, "Invalid order release",
                             {"OrderNo": order.order_no, "OrderReleaseKey": key, "ReleaseNo": number})

    def _new_shipment(
        self, shipment_no: str, node: str, seller: str, order: SimOrder,
        wanted: list[tuple[SimOrder, Line, Release, Decimal, str, str]], attributes: dict[str, Any],
    ) -> SimShipment:
        shipment = SimShipment(
            key=self.keys(), shipment_no=shipment_no, ship_node=node, seller=seller,
            enterprise_code=order.enterprise_code, document_type=order.document_type, status=SHIPMENT_CREATED,
            status_date=timestamp(), attributes=attributes, lines=[],
        )
        for owner, line, release, quantity, line_no, sub_line_no in wanted:
            remaining = quantity
            for piece in line.pieces(RELEASED, release_key=release.key):
                take = min(piece.qty, remaining)
                line.transfer(piece, take, INCLUDED)
                remaining -= take
            shipment.lines.append(ShipLine(self.keys(), line_no, sub_line_no, owner, line, release, quantity))
        self.shipments[shipment.key] = shipment
        self._queue("shipment.created", shipment.render())
        return shipment

    def _merge_containers(self, shipment: SimShipment, rows: list[dict[str, Any]]) -> None:
        """Add containers, or update the one with the same ContainerNo."""
        for row in rows:
            number = text(row.get("ContainerNo")).strip() or f"{shipment.shipment_no}-{len(shipment.containers) + 1}"
            details = []
            for detail in repeated(row, "ContainerDetails", "ContainerDetail"):
                ship_line = self._detail_line(shipment, detail)
                details.append({
                    "ItemID": text(detail.get("ItemID")) or (ship_line.line.item_id if ship_line else ""),
                    "Quantity": qty(decimal(detail.get("Quantity") or "0", "Quantity", "ContainerDetail")),
                    "UnitOfMeasure": text(detail.get("UnitOfMeasure") or "EACH"),
                    "ShipmentLineKey": ship_line.key if ship_line else "",
                })
            fields = {name: text(value) for name, value in row.items()
                      if name not in ("ContainerDetails", "ContainerNo") and not isinstance(value, dict | list)}
            existing = next((entry for entry in shipment.containers if entry["ContainerNo"] == number), None)
            if existing is None:
                existing = {"ShipmentContainerKey": self.keys(), "ContainerNo": number, "TrackingNo": "",
                            "SCAC": text(shipment.attributes.get("SCAC")), "ContainerDetails": {"ContainerDetail": []}}
                shipment.containers.append(existing)
            existing.update(fields)
            if details:
                existing["ContainerDetails"] = {"ContainerDetail": details}

    @staticmethod
    def _detail_line(shipment: SimShipment, detail: dict[str, Any]) -> ShipLine | None:
        """The shipment line a container detail packs: by key, by ShipmentLine numbers, else by item."""
        target = mapping(detail.get("ShipmentLine"))
        key = text(detail.get("ShipmentLineKey") or target.get("ShipmentLineKey"))
        if key or target.get("ShipmentLineNo"):
            return shipment.line(key=key, line_no=text(target.get("ShipmentLineNo")),
                                 sub_line_no=text(target.get("ShipmentSubLineNo")))
        item_id = text(detail.get("ItemID"))
        return next((entry for entry in shipment.lines if entry.line.item_id == item_id), None)

    def _find_shipment(self, body: dict[str, Any]) -> SimShipment:
        key = text(body.get("ShipmentKey")).strip()
        if key:
            found = self.shipments.get(key)
        else:
            number = self._required(body, "ShipmentNo", "Shipment")
            node = self._required(body, "ShipNode", "Shipment")
            seller = text(body.get("SellerOrganizationCode"))
            found = next((entry for entry in self.shipments.values() if entry.shipment_no == number
                          and entry.ship_node == node and (not seller or entry.seller == seller)), None)
        if found is None:
            raise sterling_error(INVALID_SHIPMENT, "Invalid shipment", {
                "ShipmentKey": key, "ShipmentNo": text(body.get("ShipmentNo")), "ShipNode": text(body.get("ShipNode"))})
        return found

    def _shipment_list(self, body: dict[str, Any]) -> dict[str, Any]:
        filters = {name: text(body.get(name)) for name in ("ShipmentNo", "ShipNode", "Status") if text(body.get(name))}
        order_no = text(body.get("OrderNo"))
        rows = []
        for shipment in self.shipments.values():
            document = shipment.render()
            if any(document.get(name) != value for name, value in filters.items()):
                continue
            if order_no and all(entry.order.order_no != order_no for entry in shipment.lines):
                continue
            rows.append(document)
        return {"TotalNumberOfRecords": str(len(rows)), "Shipment": rows}

    def _confirm_shipment(self, body: dict[str, Any]) -> dict[str, Any]:
        shipment = self._find_shipment(body)
        self._confirm(shipment, body)
        return shipment.render()

    def _confirm(self, shipment: SimShipment, body: dict[str, Any]) -> None:
        """confirmShipment: lines → 3700, stock leaves the node, the rest is cancelled or backordered."""
        if not shipment.open:
            raise sterling_error(INVALID_SHIPMENT, "The shipment cannot be confirmed in its current status",
                                 {"ShipmentNo": shipment.shipment_no, "Status": shipment.status})
        shipped: dict[str, Decimal] = {entry.key: entry.quantity for entry in shipment.lines}
        for row in repeated(body, "ShipmentLines", "ShipmentLine"):
            entry = shipment.line(key=text(row.get("ShipmentLineKey")), line_no=text(row.get("ShipmentLineNo")),
                                  sub_line_no=text(row.get("ShipmentSubLineNo")))
            if entry is None or text(row.get("Quantity")).strip() == "":
                continue
            quantity = decimal(row.get("Quantity"), "Quantity", "ShipmentLine")
            if quantity < 0 or quantity > entry.quantity:
                raise sterling_error(INVALID_INPUT, "Shipped quantity exceeds the shipment line quantity",
                                     {"ShipmentLineKey": entry.key, "Quantity": qty(quantity)})
            shipped[entry.key] = quantity
        cancel_rest = text(body.get("CancelNonShippedQuantity")).upper() == "Y"
        backorder_rest = text(body.get("BackOrderNonShippedQuantity")).upper() == "Y"
        short = any(shipped[entry.key] < entry.quantity for entry in shipment.lines)
        if short and not (cancel_rest or backorder_rest):
            raise missing("CancelNonShippedQuantity", "Shipment")
        self._merge_containers(shipment, repeated(body, "Containers", "Container"))
        orders: dict[str, tuple[SimOrder, bool]] = {}
        for entry in shipment.lines:
            self._ship_line(entry, shipped[entry.key], CANCELLED if cancel_rest else BACKORDERED)
            if shipped[entry.key] < entry.quantity:
                orders[entry.order.key] = (entry.order, cancel_rest)
            entry.quantity = shipped[entry.key]
        shipment.actual_shipment_date = text(body.get("ActualShipmentDate")) or timestamp()
        self._set_status(shipment, SHIPMENT_SHIPPED)
        self._queue("shipment.shipped", shipment.render())
        for order, cancelled in orders.values():
            kind = ("order.cancelled" if order.cancelled else "order.changed") if cancelled else "order.backordered"
            self._queue(kind, order.render())

    def _ship_line(self, entry: ShipLine, shipped: Decimal, rest_status: str) -> None:
        line, node = entry.line, entry.release.ship_node
        remaining, rest = shipped, entry.quantity - shipped
        for piece in line.pieces(INCLUDED, release_key=entry.release.key):
            take = min(piece.qty, remaining)
            if take > 0:
                self.inventory.consume(line.item_id, node, take)
                line.transfer(piece, take, SHIPPED)
                remaining -= take
            drop = min(piece.qty, rest)
            if drop > 0:
                self.inventory.unreserve(line.item_id, node, drop)
                line.transfer(piece, drop, rest_status, release_key="",
                              ship_node=None if rest_status == CANCELLED else line.requested_node)
                rest -= drop

    def _change_shipment(self, body: dict[str, Any]) -> dict[str, Any]:
        """changeShipment: header (SCAC, CarrierServiceCode, TrackingNo, ...), containers, or cancel."""
        shipment = self._find_shipment(body)
        if text(body.get("Action")).upper() == "CANCEL":
            if shipment.status == SHIPMENT_SHIPPED:
                raise sterling_error(INVALID_SHIPMENT, "A shipped shipment cannot be cancelled",
                                     {"ShipmentNo": shipment.shipment_no, "Status": shipment.status})
            if shipment.status != SHIPMENT_CANCELLED:
                for entry in shipment.lines:
                    remaining = entry.quantity
                    for piece in entry.line.pieces(INCLUDED, release_key=entry.release.key):
                        take = min(piece.qty, remaining)
                        entry.line.transfer(piece, take, RELEASED)
                        remaining -= take
                self._set_status(shipment, SHIPMENT_CANCELLED)
            return shipment.render()
        shipment.attributes.update({name: value for name, value in body.items() if name not in _SHIPMENT_FIELDS})
        self._merge_containers(shipment, repeated(body, "Containers", "Container"))
        return shipment.render()

    # -- invoices ---------------------------------------------------------------------------------

    def _record_invoice(self, body: dict[str, Any]) -> dict[str, Any]:
        """recordInvoiceCreation: totals per line (price × quantity ± charges; discounts subtract)."""
        order = self._find_order(body)
        rows = repeated(body, "LineDetails", "LineDetail")
        if not rows:
            raise missing("LineDetail", "LineDetails")
        invoice_key, now = self.keys(), timestamp()
        lines, subtotal, total = [], Decimal(0), Decimal(0)
        for row in rows:
            quantity = decimal(self._required(row, "Quantity", "LineDetail"), "Quantity", "LineDetail")
            price = decimal(row.get("UnitPrice") or "0", "UnitPrice", "LineDetail")
            charges = [self._charge(entry, quantity) for entry in repeated(row, "LineChargeList", "LineCharge")]
            extended = price * quantity
            charge_total = sum((amount for _, amount in charges), Decimal(0))
            detail_key = self.keys()
            line = order.line(key=text(row.get("OrderLineKey")), prime_line_no=text(row.get("PrimeLineNo")),
                              sub_line_no=text(row.get("SubLineNo") or "1"))
            lines.append({
                "OrderInvoiceDetailKey": detail_key, "OrderInvoiceKey": invoice_key,
                "OrderLineKey": line.key if line else " ", "UnitPrice": qty(price), "ExtendedPrice": qty(extended),
                "Charges": qty(charge_total), "Tax": "0.00", "LineTotal": qty(extended + charge_total),
                "ShippedQty": qty(quantity), "LineDetailTranQuantity": {"TransactionalUOM": "", "ShippedQty": "0.00"},
                "LineChargeList": {"LineCharge": [
                    {**stringify(entry), "ChargeAmount": qty(abs(amount)), "RecordType": "INV", "LineKey": detail_key,
                     "HeaderKey": invoice_key, "LineChargesKey": self.keys()}
                    for entry, amount in charges
                ]},
            })
            subtotal += extended
            total += extended + charge_total
        header = [self._charge(entry, Decimal(1)) for entry in repeated(body, "HeaderChargeList", "HeaderCharge")]
        total += sum((amount for _, amount in header), Decimal(0))
        invoice = {
            "Status": "00", "InvoiceNo": str(next(self._invoice_numbers)), "InvoiceType": text(body.get("InvoiceType")),
            "OrderHeaderKey": order.key, "OrderInvoiceKey": invoice_key, "DateInvoiced": now,
            "Currency": text(body.get("Currency")), "LineSubTotal": qty(subtotal), "TotalAmount": qty(total),
            "HeaderTax": "0.00", "TotalTax": "0.00", "AmountCollected": "0.00", "ActualFreightCharge": "0.00",
            "HeaderChargeList": {"HeaderCharge": [stringify(entry) for entry, _ in header]} if header else {},
            "LineDetails": {"LineDetail": lines},
        }
        self.invoices.append(invoice)
        return invoice

    @staticmethod
    def _charge(entry: dict[str, Any], quantity: Decimal) -> tuple[dict[str, Any], Decimal]:
        amount = decimal(entry.get("ChargePerLine") or entry.get("ChargeAmount") or "0", "ChargePerLine", "LineCharge")
        amount += decimal(entry.get("ChargePerUnit") or "0", "ChargePerUnit", "LineCharge") * quantity
        return entry, -amount if text(entry.get("ChargeCategory")).lower() == "discount" else amount
