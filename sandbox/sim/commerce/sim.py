"""A simulator of the Adobe Commerce REST API parts oms-bridge uses (api-contracts B1 and C.3).

It serves PaaS paths (``/rest/<store>/V1/...``, ``/rest/<store>/async/bulk/V1/...``) and Cloud
Service paths (``[/<tenant>]/V1/...``, ``/V1/async/bulk/...``); verifies OAuth 1.0a signatures or
accepts a configured bearer token; keeps products, orders, shipments, invoices, credit memos, MSI
sources and source items with Commerce's rules; applies the ``fields`` output filter to GET answers;
answers errors as ``{message, parameters}``. It also stands in for Adobe IMS (``POST /ims/token/v3``)
so the ``ims`` auth mode runs locally.

Every order change made through REST raises a ``sales_order_save_commit_after`` I/O event through
``emit`` (as real Commerce raises one on every order save), so echo handling can be tested.

Async bulk operations stay open (status 4) until the consumer runs: right after a status read
that reported them open, before any other request is served, or on ``run_consumers()``.

Web API input limits (``InputLimits``) are off unless the seed's ``config`` turns them on.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import re
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from sandbox.sim.base import HttpError, JsonBody, Request, Response, Simulator
from sandbox.sim.commerce import catalog, orders, search, statuses, stores
from sandbox.sim.commerce.oauth import OAuth1Verifier
from sandbox.sim.commerce.returns import CommerceReturns

EVENT_PREFIX = "com.adobe.commerce."
ORDER_SAVED = f"{EVENT_PREFIX}observer.sales_order_save_commit_after"
IMS_TOKEN_PATH = "/ims/token/v3"  # noqa: S105 (a URL path)
BULK_SOURCE_ITEMS_TOPIC = "async.magento.inventoryapi.api.sourceitemssaveinterface.execute.post"
SOURCE_ITEM_TYPE = "\\Magento\\InventoryApi\\Api\\Data\\SourceItemInterface"
_PAGE_SIZE_PARAMS = ("searchCriteria[pageSize]", "searchCriteria[page_size]")


@dataclasses.dataclass(frozen=True)
class InputLimits:
    """Commerce's Web API input limits (Stores > Configuration > Services > Web API Input Limits).

    Adobe, "API security > Input limiting" (https://developer.adobe.com/commerce/webapi/get-started/api-security/):
    off by default; when enabled, at most 20 entities in a list of a synchronous request, 5,000 in
    one of an asynchronous request, 300 items per page. Enabled by default on 2.4.3 / 2.3.7-p1
    (Adobe KB "Web API unable to process requests with more than 20 items in array"). A longer list
    is refused whole by ``Magento\\Framework\\Webapi\\Validator\\EntityArrayValidator`` (magento/magento2,
    lib/internal/Magento/Framework/Webapi/Validator/EntityArrayValidator.php): an
    InvalidArgumentException, which the Web API answers as 400 ``{message, parameters}``; a larger page
    by ``SearchCriteriaValidator`` the same way. Each operation of an async bulk request is one list.
    """

    sync: int = 20
    bulk: int = 5000
    page_size: int = 300

    @classmethod
    def from_seed(cls, config: dict[str, Any]) -> InputLimits | None:
        """Seed ``config``: ``input_list_limit`` turns the limits on; ``async_input_list_limit`` and
        ``max_page_size`` change the other two."""
        if "input_list_limit" not in config:
            return None
        return cls(sync=int(config["input_list_limit"]),
                   bulk=int(config.get("async_input_list_limit", cls.bulk)),
                   page_size=int(config.get("max_page_size", cls.page_size)))


def list_too_long(limit: int) -> HttpError:
    return error(400, 'Maximum items of type "%type" is %max', {"type": SOURCE_ITEM_TYPE, "max": limit})


_PATH = re.compile(
    r"^(?:/rest/[^/]+(?P<paas>/async(?:/bulk)?)?|/[^/]+)?/V1(?P<accs>/async(?:/bulk)?)?(?P<rest>/.*)?$")


def canonical_path(path: str) -> str | None:
    """The route a request path addresses: ``/V1/...`` or ``/async/bulk/V1/...``; None if neither."""
    if path == IMS_TOKEN_PATH:
        return path
    match = _PATH.match(path)
    if match is None:
        return None
    mode = match["paas"] or match["accs"]
    rest = match["rest"] or "/"
    if mode == "/async/bulk":
        return f"/async/bulk/V1{rest}"
    # Single (non-bulk) async calls are not simulated.
    return None if mode else f"/V1{rest}"


def error(status: int, message: str, parameters: list[Any] | dict[str, Any] | None = None) -> HttpError:
    body: dict[str, Any] = {"message": message}
    if parameters is not None:
        body["parameters"] = parameters
    return HttpError(status, body)


def entity_missing() -> HttpError:
    return error(404, "The entity that was requested doesn't exist. Verify the entity and try again.")


def type_error(value: Any, expected: str) -> HttpError:
    return error(400, 'The "%value" value\'s type is invalid. The "%type" type was expected. Verify and try again.',
                 {"value": str(value), "type": expected})


def _int(value: Any) -> int:
    if isinstance(value, bool) or not re.fullmatch(r"-?\d+", str(value).strip()):
        raise type_error(value, "int")
    return int(value)


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise type_error(value, "float")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise type_error(value, "float") from None


def _acl_resource(path: str) -> str:
    if "/inventory/" in path:
        return "Magento_InventoryApi::source"
    if "/bulk/" in path:
        return "Magento_Logging::system_magento_logging_bulk_operations"
    return "Magento_Sales::sales"


class CommerceSim(Simulator):
    system = "commerce"

    def __init__(
        self,
        consumer_key: str = "",
        consumer_secret: str = "",
        access_token: str = "",
        access_token_secret: str = "",
        bearer_token: str = "",
        *,
        ims_client_id: str = "",
        ims_client_secret: str = "",
        io_client_id: str = "oms-bridge-sandbox",
    ) -> None:
        super().__init__()
        self.oauth = (OAuth1Verifier(consumer_key, consumer_secret, access_token, access_token_secret)
                      if consumer_key else None)
        self.bearer_tokens = {bearer_token} if bearer_token else set()
        self.ims_client_id = ims_client_id
        self._ims_client_secret = ims_client_secret
        self._ims_tokens: set[str] = set()
        self.io_client_id = io_client_id
        self.instance_id = str(uuid.uuid4())
        self.emit: Callable[[dict[str, Any]], None] | None = None
        # Why each rejected request was rejected (Commerce itself only says "not authorized").
        self.auth_failures: list[str] = []

        self.products: dict[str, dict[str, Any]] = {}
        self.orders: dict[int, dict[str, Any]] = {}
        self.models: dict[int, dict[str, Any]] = {}
        self.shipments: dict[int, dict[str, Any]] = {}
        self.invoices: dict[int, dict[str, Any]] = {}
        self.creditmemos: dict[int, dict[str, Any]] = {}
        self.sources: dict[str, dict[str, Any]] = {}
        self.source_items: dict[tuple[str, str], dict[str, Any]] = {}
        self.bulks: dict[str, dict[str, Any]] = {}
        self.input_limits: InputLimits | None = None
        self._ids: dict[str, int] = {}
        self._outbox: list[dict[str, Any]] = []

        for method, template, handler in (
            ("POST", IMS_TOKEN_PATH, self._ims_token),
            ("GET", "/V1/orders", self._search_orders),
            ("GET", "/V1/orders/items", self._search_order_items),
            ("GET", "/V1/orders/{id}", self._get_order),
            ("GET", "/V1/orders/{id}/statuses", self._get_status),
            ("POST", "/V1/orders/{id}/comments", self._add_comment),
            ("POST", "/V1/orders/{id}/hold", self._hold),
            ("POST", "/V1/orders/{id}/unhold", self._unhold),
            ("POST", "/V1/orders/{id}/cancel", self._cancel),
            ("POST", "/V1/order/notify-orders-are-ready-for-pickup", self._notify_pickup),
            ("POST", "/V1/order/{orderId}/ship", self._ship),
            ("POST", "/V1/order/{orderId}/invoice", self._invoice),
            ("POST", "/V1/order/{orderId}/refund", self._refund_order),
            ("POST", "/V1/invoice/{invoiceId}/refund", self._refund_invoice),
            ("GET", "/V1/shipments", self._search_shipments),
            ("GET", "/V1/inventory/sources", self._search_sources),
            ("GET", "/V1/inventory/source-items", self._search_source_items),
            ("POST", "/V1/inventory/source-items", self._save_source_items),
            ("POST", "/V1/inventory/source-items-delete", self._delete_source_items),
            ("POST", "/async/bulk/V1/inventory/source-items", self._bulk_source_items),
            ("GET", "/V1/bulk/{bulkUuid}/status", self._bulk_status),
        ):
            self.route(method, template, handler)
        catalog.register(self)
        self.stores = stores.register(self)
        # The fields each event subscription keeps (io_events.xml), by event name without the
        # "com.adobe.commerce." prefix; an event not named here carries the whole document.
        self.event_fields: dict[str, list[str]] = {}
        # Invoice and credit memo documents and events, RMAs (sandbox/sim/commerce/returns.py).
        self.returns = CommerceReturns(self)

    # -- plumbing -------------------------------------------------------------------------------

    def next_id(self, kind: str) -> int:
        self._ids[kind] = self._ids.get(kind, 0) + 1
        return self._ids[kind]

    def _reserve_id(self, kind: str, used: int) -> None:
        self._ids[kind] = max(self._ids.get(kind, 0), used)

    def not_found(self, request: Request) -> Response:
        return Response(404, {"message": "Request does not match any route."})

    def dispatch(self, request: Request) -> Response:
        path = canonical_path(request.path)
        if path is None or not self.stores.known_path(request.path):
            return self.not_found(request)
        for route in self.routes:
            match = route.pattern.match(path) if route.method == request.method else None
            if match is None:
                continue
            request.params = match.groupdict()
            try:
                self.authenticate(request)
                self._check_page_size(request)
                with self.lock:
                    if route.handler != self._bulk_status:
                        self._run_consumers()
                    result = route.handler(request)
                    # Answers are snapshots: the call record must not change with later state.
                    response = result if isinstance(result, Response) else Response(200, copy.deepcopy(result))
                    if request.method == "GET" and request.arg("fields") and response.status == 200:
                        response.body = select_fields(response.body, parse_fields(request.arg("fields") or ""))
            except HttpError as exc:
                return exc.response
            finally:
                self._flush()
            return response
        return self.not_found(request)

    def record(self, request: Request, status: int, response: JsonBody = None) -> None:
        if request.path == IMS_TOKEN_PATH and request.body:
            form = dict(parse_qsl(request.body.decode(errors="replace")))
            if "client_secret" in form:
                form["client_secret"] = "***"  # noqa: S105 (redaction)
            request = dataclasses.replace(request, body=urlencode(form).encode())
        super().record(request, status, response)

    def authenticate(self, request: Request) -> None:
        if request.path == IMS_TOKEN_PATH:
            return
        failure = self._auth_failure(request)
        if failure is None:
            return
        with self.lock:
            self.auth_failures.append(failure)
        raise error(401, "The consumer isn't authorized to access %resources.",
                    {"resources": _acl_resource(request.path)})

    def _auth_failure(self, request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            token = header[len("bearer "):].strip()
            if token in self.bearer_tokens:
                return None
            if token in self._ims_tokens:
                if request.headers.get("x-api-key") != self.ims_client_id:
                    return "x-api-key is not the IMS client id"
                return None
            return "unknown bearer token"
        if self.oauth is None:
            return "OAuth 1.0a is not configured"
        url = f"http://{request.headers.get('host', '')}{request.path}"
        return self.oauth.verify(request.method, url, request.raw_query, header)

    def _check_page_size(self, request: Request) -> None:
        if self.input_limits is None or request.method != "GET":
            return
        for name in _PAGE_SIZE_PARAMS:
            value = request.arg(name)
            if value is not None and value.strip().isdigit() and int(value) > self.input_limits.page_size:
                raise error(400, "Maximum SearchCriteria pageSize is %max", {"max": self.input_limits.page_size})

    def _check_list(self, items: list[Any], *, bulk: bool = False) -> None:
        if self.input_limits is None:
            return
        limit = self.input_limits.bulk if bulk else self.input_limits.sync
        if len(items) > limit:
            raise list_too_long(limit)

    def _body(self, request: Request) -> dict[str, Any]:
        try:
            body = request.json()
        except ValueError:
            raise error(400, "Decoding error: %1", ["the request body is not valid JSON"]) from None
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise error(400, "Decoding error: %1", ["the request body must be a JSON object"])
        return body

    def _flush(self) -> None:
        with self.lock:
            pending, self._outbox = self._outbox, []
        for event in pending:
            if self.emit is not None:
                self.emit(event)

    # -- state: seeding and placing orders ------------------------------------------------------

    def load_seed(self, seed: dict[str, Any]) -> None:
        """ARCHITECTURE §7 keys: ``products``, ``orders`` (REST form), ``sources``, ``source_items``;
        also ``websites`` and ``store_views`` (sandbox/sim/commerce/stores.py), ``event_fields`` and
        ``config`` (store configuration: the Web API input limits of ``InputLimits.from_seed``)."""
        with self.lock:
            self.input_limits = InputLimits.from_seed(seed.get("config") or {})
            self.stores.load_seed(seed)
            self.event_fields.update({name: list(fields) for name, fields in seed.get("event_fields", {}).items()})
            for product in seed.get("products", []):
                self.products[product["sku"]] = {"id": self.next_id("product"), "type_id": "simple", **product}
            for order in seed.get("orders", []):
                entity_id = int(order.get("entity_id") or self.next_id("order"))
                self._reserve_id("order", entity_id)
                for item in order.get("items", []):
                    if "item_id" in item:
                        self._reserve_id("item", int(item["item_id"]))
                stored = orders.normalise(order, entity_id, self.next_id)
                self.orders[entity_id] = stored
                self.models[entity_id] = orders.observer_view(stored)
            for source in seed.get("sources", []):
                self.sources[source["source_code"]] = {"enabled": True, "name": source["source_code"], **source}
            for item in seed.get("source_items", []):
                self.source_items[(item["sku"], item["source_code"])] = {"status": 1, "quantity": 0, **item}

    def place_order(self, order: dict[str, Any]) -> dict[str, Any]:
        """Create an order from an observer-style model; return the I/O event Commerce would send."""
        with self.lock:
            entity_id = self.next_id("order")
            stored, model = orders.from_observer(order, entity_id, self.next_id)
            if self.find_order(stored["increment_id"]) is not None:
                raise ValueError(f"order {stored['increment_id']} already exists")
            self.orders[entity_id] = stored
            self.models[entity_id] = model
            return self._event(model, store_id=stored.get("store_id"))

    def find_order(self, increment_id: str) -> dict[str, Any] | None:
        with self.lock:
            return next((o for o in self.orders.values() if o["increment_id"] == increment_id), None)

    def _event(self, model: dict[str, Any], event_type: str = ORDER_SAVED, *, store_id: Any = None
               ) -> dict[str, Any]:
        """The I/O event for a saved ``model``, narrowed to its subscription's ``event_fields``."""
        fields = self.event_fields.get(event_type.removeprefix(EVENT_PREFIX))
        value = narrowed(model, fields) if fields is not None else copy.deepcopy(model)
        metadata = self.stores.metadata(model.get("store_id") if store_id is None else store_id)
        return {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": f"urn:uuid:{self.instance_id}",
            "type": event_type,
            "datacontenttype": "application/json",
            "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "event_id": str(uuid.uuid4()),
            "recipient_client_id": self.io_client_id,
            "data": {
                "key": str(uuid.uuid4()),
                "value": value,
                "source": "sandbox.commerce",
                "_metadata": {"commerceEdition": "Adobe Commerce", "commerceVersion": "2.4.9",
                              "eventsClientVersion": "1.12.0", **metadata},
            },
        }

    def _saved(self, order: dict[str, Any]) -> None:
        """An order save: bump ``updated_at`` and queue the observer event."""
        order["updated_at"] = orders.now_text()
        entity_id = order["entity_id"]
        self.models[entity_id] = orders.refreshed(self.models[entity_id], order)
        self._outbox.append(self._event(self.models[entity_id], store_id=order.get("store_id")))

    def _order(self, raw_id: str) -> dict[str, Any]:
        order = self.orders.get(_int(raw_id))
        if order is None:
            raise entity_missing()
        return order

    # -- IMS stand-in ---------------------------------------------------------------------------

    def _ims_token(self, request: Request) -> Response:
        form = dict(parse_qsl(request.body.decode(errors="replace")))
        if form.get("grant_type") != "client_credentials":
            return Response(400, {"error": "unsupported_grant_type", "error_description": "grant_type"})
        if not self.ims_client_id or form.get("client_id") != self.ims_client_id or not secrets.compare_digest(
                form.get("client_secret", ""), self._ims_client_secret):
            return Response(401, {"error": "invalid_client", "error_description": "invalid client credentials"})
        token = secrets.token_urlsafe(24)
        self._ims_tokens.add(token)
        return Response(200, {"access_token": token, "token_type": "bearer", "expires_in": 86399})

    # -- catalog and orders ---------------------------------------------------------------------

    def _search_orders(self, request: Request) -> JsonBody:
        return search.result(list(self.orders.values()), search.parse(request.query, required=True))

    def _search_order_items(self, request: Request) -> JsonBody:
        rows = [item for order in self.orders.values() for item in order["items"]]
        return search.result(rows, search.parse(request.query, required=True))

    def _get_order(self, request: Request) -> JsonBody:
        return self._order(request.params["id"])

    def _get_status(self, request: Request) -> JsonBody:
        return self._order(request.params["id"])["status"]

    def _add_comment(self, request: Request) -> JsonBody:
        order = self._order(request.params["id"])
        history = self._body(request).get("statusHistory")
        if not isinstance(history, dict):
            raise search.required_field("statusHistory")
        status = history.get("status")
        statuses.check_comment_status(order, status)
        entry = {
            "comment": str(history.get("comment") or ""),
            "created_at": orders.now_text(),
            "entity_id": self.next_id("comment"),
            "entity_name": "order",
            "is_customer_notified": _int(history.get("is_customer_notified") or 0),
            "is_visible_on_front": _int(history.get("is_visible_on_front") or 0),
            "parent_id": order["entity_id"],
            "status": str(status or order["status"]),
        }
        if status:
            order["status"] = str(status)
        order["status_histories"].insert(0, entry)
        self._saved(order)
        return True

    def _hold(self, request: Request) -> JsonBody:
        order = self._order(request.params["id"])
        if not orders.can_hold(order):
            raise error(400, "A hold action is not available.")
        order["hold_before_state"], order["hold_before_status"] = order["state"], order["status"]
        orders.set_state(order, "holded")
        self._saved(order)
        return True

    def _unhold(self, request: Request) -> JsonBody:
        order = self._order(request.params["id"])
        if not orders.can_unhold(order):
            raise error(400, "You cannot remove the hold.")
        order["state"] = order.pop("hold_before_state", None) or "processing"
        order["status"] = order.pop("hold_before_status", None) or orders.DEFAULT_STATUS[order["state"]]
        self._saved(order)
        return True

    def _cancel(self, request: Request) -> JsonBody:
        order = self._order(request.params["id"])
        if not orders.can_cancel(order):
            return False
        fulfilled = False
        for item in order["items"]:
            if orders.is_dummy(item):
                continue
            done = max(float(item["qty_shipped"]), float(item["qty_invoiced"]))
            fulfilled = fulfilled or done > 0
            cancel = max(0.0, float(item["qty_ordered"]) - done - float(item["qty_canceled"]))
            item["qty_canceled"] = orders.number(float(item["qty_canceled"]) + cancel)
            orders.follow_parent(order, item, "qty_canceled", cancel)
        if fulfilled:
            orders.settle(order)
        else:
            orders.set_state(order, "canceled")
        self._saved(order)
        return True

    def _document_lines(self, order: dict[str, Any], body: dict[str, Any], remaining: Callable[[dict[str, Any]], float],
                        noun: str, verb: str) -> tuple[list[tuple[dict[str, Any], float]], list[str]]:
        """Validated (order item, qty) pairs for a shipment / invoice / credit memo, or the errors."""
        by_id = {int(item["item_id"]): item for item in order["items"]}
        requested = body.get("items")
        if requested is None:
            lines = [(item, remaining(item)) for item in order["items"] if remaining(item) > 0]
            return lines, [] if lines else [f"You can't create a {noun} without products."]
        if not isinstance(requested, list):
            raise type_error(requested, "array")
        lines, problems = [], []
        for entry in requested:
            if not isinstance(entry, dict):
                raise type_error(entry, "object")
            for name in ("order_item_id", "qty"):
                if entry.get(name) is None:
                    raise search.required_field(name)
            item_id, qty = _int(entry["order_item_id"]), _float(entry["qty"])
            item = by_id.get(item_id)
            if item is None:
                problems.append(f'The {noun} contains order item "{item_id}" that is not part of the original order.')
            elif qty > remaining(item) + 1e-9:
                problems.append(f'The quantity to {verb} must not be greater than the remaining quantity '
                                f'for product SKU "{item["sku"]}".')
            elif qty > 0:
                lines.append((item, qty))
        if not lines and not problems:
            problems.append(f"You can't create a {noun} without products.")
        return lines, problems

    def _ship(self, request: Request) -> JsonBody:
        order = self._order(request.params["orderId"])
        body = self._body(request)
        tracks = body.get("tracks") or []
        for track in tracks:
            for name in ("track_number", "title", "carrier_code"):
                if not isinstance(track, dict) or track.get(name) in (None, ""):
                    raise search.required_field(name)
        source_code = str(((body.get("arguments") or {}).get("extension_attributes") or {}).get("source_code")
                          or "default")
        problems = [] if orders.can_ship(order) else [
            f"A shipment cannot be created when an order has a status of {order['status']}"]
        lines, line_problems = self._document_lines(
            order, body, lambda i: orders.qty_to_ship(i, order), "shipment", "ship")
        problems += line_problems
        # A seed without sources is a test that does not look at MSI; with sources, they are checked.
        if self.sources and source_code not in self.sources:
            problems.append(f'Source "{source_code}" does not exist.')
        if problems:
            raise error(400, "Shipment Document Validation Error(s):\n%1", ["\n".join(problems)])
        return self._create_shipment(order, lines, tracks, source_code, body)

    def _create_shipment(self, order: dict[str, Any], lines: list[tuple[dict[str, Any], float]],
                         tracks: list[dict[str, Any]], source_code: str, body: dict[str, Any]) -> int:
        shipment_id = self.next_id("shipment")
        stamp = orders.now_text()
        # Magento's ShipmentDocumentFactory stores the comment either way; appendComment only sends it to
        # the customer (with notify).
        comment = body.get("comment")
        self.shipments[shipment_id] = {
            "entity_id": shipment_id,
            "increment_id": f"{shipment_id:09d}",
            "order_id": order["entity_id"],
            "store_id": order.get("store_id", 1),
            "total_qty": orders.number(sum(qty for _, qty in lines)),
            "created_at": stamp,
            "updated_at": stamp,
            "items": [
                {"entity_id": self.next_id("shipment_item"), "parent_id": shipment_id,
                 "order_item_id": item["item_id"], "qty": orders.number(qty), "sku": item["sku"],
                 "name": item.get("name", item["sku"]), "price": item.get("price", 0),
                 "product_id": item.get("product_id", 0), "weight": item.get("weight", 0)}
                for item, qty in lines
            ],
            # Commerce renders these unset getters as null.
            "tracks": [
                {"entity_id": self.next_id("track"), "parent_id": shipment_id, "order_id": order["entity_id"],
                 "track_number": str(t["track_number"]), "title": str(t["title"]),
                 "carrier_code": str(t["carrier_code"]), "weight": None, "qty": None, "description": None,
                 "created_at": stamp, "updated_at": stamp}
                for t in tracks
            ],
            "comments": [
                {"entity_id": self.next_id("shipment_comment"), "parent_id": shipment_id,
                 "comment": str(comment.get("comment", "")),
                 "is_customer_notified": int(bool(body.get("appendComment") and body.get("notify"))),
                 "is_visible_on_front": _int(comment.get("is_visible_on_front") or 0), "created_at": stamp}
            ] if isinstance(comment, dict) else [],
            "packages": [],
            "extension_attributes": {"source_code": source_code},
        }
        for item, qty in lines:
            item["qty_shipped"] = orders.number(float(item["qty_shipped"]) + qty)
            orders.follow_parent(order, item, "qty_shipped", qty)
            self._deduct(item["sku"], source_code, qty)
        orders.settle(order)
        self._saved(order)
        return shipment_id

    def _deduct(self, sku: str, source_code: str, qty: float) -> None:
        """MSI source deduction on shipment: the source item loses the shipped quantity."""
        source_item = self.source_items.get((sku, source_code))
        if source_item is not None:
            left = float(source_item["quantity"]) - qty
            source_item["quantity"] = orders.number(left)
            source_item["status"] = 1 if left > 0 else 0

    def _invoice(self, request: Request) -> JsonBody:
        order = self._order(request.params["orderId"])
        body = self._body(request)
        problems = [] if orders.can_invoice(order) else [
            f"An invoice cannot be created when an order has a status of {order['status']}"]
        lines, line_problems = self._document_lines(
            order, body, lambda i: orders.qty_to_invoice(i, order), "invoice", "invoice")
        problems += line_problems
        if problems:
            raise error(400, "Invoice Document Validation Error(s):\n%1", ["\n".join(problems)])
        capture = body.get("capture") is True
        already = float(order.get("total_invoiced", 0))
        amount = self._amount(order, lines, "qty_invoiced", already)
        for item, qty in lines:
            item["qty_invoiced"] = orders.number(float(item["qty_invoiced"]) + qty)
            orders.follow_parent(order, item, "qty_invoiced", qty)
        invoice_id = self.next_id("invoice")
        self.invoices[invoice_id] = {
            "entity_id": invoice_id, "order_id": order["entity_id"], "state": 2 if capture else 1,
            "grand_total": amount, "items": [{"order_item_id": i["item_id"], "qty": q} for i, q in lines],
        }
        order["total_invoiced"] = order["base_total_invoiced"] = orders.number(already + amount)
        if capture:
            paid = float(order.get("total_paid", 0)) + amount
            order["total_paid"] = order["base_total_paid"] = orders.number(round(paid, 4))
            if isinstance(order.get("payment"), dict):
                order["payment"]["amount_paid"] = order["total_paid"]
        orders.settle(order)
        self._saved(order)
        return invoice_id

    def _amount(self, order: dict[str, Any], lines: list[tuple[dict[str, Any], float]], done_field: str,
                done_amount: float) -> float:
        """This document's share of the grand total; the last one takes what is left (no rounding drift)."""
        grand = float(order.get("grand_total", 0))
        rows = [i for i in order["items"] if not orders.is_dummy(i)]
        total_rows = sum(float(i.get("row_total", 0)) for i in rows)
        share = sum(float(i.get("row_total", 0)) * qty / float(i["qty_ordered"]) for i, qty in lines)
        after = {id(i): float(i[done_field]) for i in rows}
        for item, qty in lines:
            after[id(item)] += qty
        if all(after[id(i)] >= float(i["qty_ordered"]) - float(i["qty_canceled"]) for i in rows):
            return round(grand - done_amount, 4)
        return round(grand * share / total_rows, 4) if total_rows else 0.0

    def _refund_order(self, request: Request) -> JsonBody:
        return self._refund(self._order(request.params["orderId"]), self._body(request), None)

    def _refund_invoice(self, request: Request) -> JsonBody:
        invoice = self.invoices.get(_int(request.params["invoiceId"]))
        if invoice is None:
            raise entity_missing()
        return self._refund(self.orders[invoice["order_id"]], self._body(request), invoice["entity_id"])

    def _refund(self, order: dict[str, Any], body: dict[str, Any], invoice_id: int | None) -> int:
        problems = [] if order["state"] not in ("canceled", "closed", "holded", "payment_review") else [
            f"A creditmemo can not be created when an order has a status of {order['status']}"]
        lines, line_problems = self._document_lines(order, body, orders.qty_to_refund, "creditmemo", "refund")
        problems += line_problems
        if problems:
            raise error(400, "Creditmemo Document Validation Error(s):\n%1", ["\n".join(problems)])
        already = float(order.get("total_refunded", 0))
        amount = self._amount(order, lines, "qty_refunded", already)
        for item, qty in lines:
            item["qty_refunded"] = orders.number(float(item["qty_refunded"]) + qty)
            orders.follow_parent(order, item, "qty_refunded", qty)
        creditmemo_id = self.next_id("creditmemo")
        self.creditmemos[creditmemo_id] = {
            "entity_id": creditmemo_id, "order_id": order["entity_id"], "invoice_id": invoice_id,
            "grand_total": amount, "items": [{"order_item_id": i["item_id"], "qty": q} for i, q in lines],
        }
        order["total_refunded"] = order["base_total_refunded"] = orders.number(round(already + amount, 4))
        orders.settle(order)
        self._saved(order)
        return creditmemo_id

    def _notify_pickup(self, request: Request) -> JsonBody:
        ids = self._body(request).get("orderIds")
        if not isinstance(ids, list):
            raise search.required_field("orderIds")
        errors = []
        for raw in ids:
            order = self.orders.get(_int(raw))
            pickup = ((order or {}).get("extension_attributes") or {}).get("pickup_location_code")
            if order is None:
                errors.append(f"Order {raw}: The entity that was requested doesn't exist.")
            elif not pickup:
                errors.append(f"Order {raw}: The order is not an in-store pickup order.")
            elif not orders.can_ship(order):
                errors.append(f"Order {raw}: The order is not ready for pickup.")
            else:
                lines = [(i, orders.qty_to_ship(i, order)) for i in order["items"] if orders.qty_to_ship(i, order) > 0]
                self._create_shipment(order, lines, [], str(pickup), {})
        return {"successful": not errors, "errors": errors}

    def _search_shipments(self, request: Request) -> JsonBody:
        return search.result(list(self.shipments.values()), search.parse(request.query, required=True))

    # -- MSI ------------------------------------------------------------------------------------

    def _search_sources(self, request: Request) -> JsonBody:
        return search.result(list(self.sources.values()), search.parse(request.query, required=False))

    def _search_source_items(self, request: Request) -> JsonBody:
        return search.result(list(self.source_items.values()), search.parse(request.query, required=True))

    def _source_item_errors(self, items: Any) -> list[dict[str, Any]]:
        """MSI's validator chain, per item; an empty list means every item can be saved."""
        if not isinstance(items, list):
            raise search.required_field("sourceItems")
        found: list[dict[str, Any]] = []

        def problem(message: str, **parameters: Any) -> None:
            found.append({"message": message, "parameters": parameters})

        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise type_error(item, "object")
            sku, code = item.get("sku"), item.get("source_code")
            if not sku:
                problem('"%field" can not be empty (source item %index).', field="sku", index=index)
            elif sku not in self.products:
                problem('Product with SKU "%sku" does not exist (source item %index).', sku=sku, index=index)
            if not code:
                problem('"%field" can not be empty (source item %index).', field="source_code", index=index)
            elif code not in self.sources:
                problem('Source with code "%code" does not exist (source item %index).', code=code, index=index)
            quantity = item.get("quantity")
            if isinstance(quantity, bool) or not isinstance(quantity, int | float):
                problem('"%field" should be numeric (source item %index).', field="quantity", index=index)
            if item.get("status") not in (0, 1):
                problem('"%field" should be one of 0 or 1 (source item %index).', field="status", index=index)
        return found

    def _apply_source_items(self, items: list[dict[str, Any]]) -> None:
        for item in items:
            key = (item["sku"], item["source_code"])
            self.source_items[key] = {"sku": item["sku"], "source_code": item["source_code"],
                                      "quantity": orders.number(item["quantity"]), "status": item["status"]}

    def _save_source_items(self, request: Request) -> JsonBody:
        items = self._body(request).get("sourceItems")
        if not isinstance(items, list):
            raise search.required_field("sourceItems")
        self._check_list(items)
        problems = self._source_item_errors(items)
        if problems:
            raise HttpError(400, {"message": "Validation Failed", "errors": problems})
        self._apply_source_items(items)
        return []

    def _delete_source_items(self, request: Request) -> JsonBody:
        items = self._body(request).get("sourceItems")
        if not isinstance(items, list):
            raise search.required_field("sourceItems")
        self._check_list(items)
        for item in items:
            if isinstance(item, dict):
                self.source_items.pop((str(item.get("sku")), str(item.get("source_code"))), None)
        return []

    def _bulk_source_items(self, request: Request) -> JsonBody:
        try:
            bodies = request.json()
        except ValueError:
            bodies = None
        if not isinstance(bodies, list):
            raise error(400, "Decoding error: %1", ["an async bulk request body is an array of request bodies"])
        # Every operation's input is resolved before any is queued: one list too long refuses them all.
        for entry in bodies:
            if isinstance(entry, dict) and isinstance(entry.get("sourceItems"), list):
                self._check_list(entry["sourceItems"], bulk=True)
        bulk_uuid = str(uuid.uuid4())
        accepted, operations = [], []
        for index, entry in enumerate(bodies):
            digest = hashlib.sha256(json.dumps(entry, sort_keys=True).encode()).hexdigest()
            if not isinstance(entry, dict) or not isinstance(entry.get("sourceItems"), list):
                accepted.append({"id": index, "data_hash": digest, "status": "rejected",
                                 "error_message": '"sourceItems" is required. Enter and try again.'})
                continue
            accepted.append({"id": index, "data_hash": digest, "status": "accepted"})
            operations.append({"id": self.next_id("operation"), "status": 4, "result_message": None,
                               "error_code": None, "items": entry["sourceItems"]})
        self.bulks[bulk_uuid] = {"bulk_id": bulk_uuid, "operations": operations,
                                 "start_time": orders.now_text()}
        errors = any(item["status"] != "accepted" for item in accepted)
        return Response(202, {"bulk_uuid": bulk_uuid, "request_items": accepted, "errors": errors})

    def _bulk_status(self, request: Request) -> JsonBody:
        bulk = self.bulks.get(request.params["bulkUuid"])
        if bulk is None:
            raise error(404, "Bulk uuid %bulkUuid not exist", {"bulkUuid": request.params["bulkUuid"]})
        answer = {
            "operations_list": [{k: op[k] for k in ("id", "status", "result_message", "error_code")}
                                for op in bulk["operations"]],
            "user_type": 2,
            "bulk_id": bulk["bulk_id"],
            "description": f"Topic {BULK_SOURCE_ITEMS_TOPIC}",
            "start_time": bulk["start_time"],
            "user_id": 1,
            "operation_count": len(bulk["operations"]),
        }
        self._run_consumers()
        return answer

    def run_consumers(self) -> None:
        """Run the async operations consumer now (as ``bin/magento queue:consumers:start`` would)."""
        with self.lock:
            self._run_consumers()

    def _run_consumers(self) -> None:
        for bulk in self.bulks.values():
            for op in bulk["operations"]:
                if op["status"] != 4:
                    continue
                try:
                    problems = self._source_item_errors(op["items"])
                except HttpError as exc:
                    problems = [exc.response.body]
                if problems:
                    op.update(status=3, error_code=0,
                              result_message="; ".join(_rendered(p["message"], p.get("parameters")) for p in problems))
                else:
                    self._apply_source_items(op["items"])
                    op.update(status=1, result_message="Service execution success "
                              "Magento\\InventoryApi\\Api\\SourceItemsSaveInterface\\Interceptor::execute")


def _rendered(message: str, parameters: Any) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if isinstance(parameters, dict) and name in parameters:
            return str(parameters[name])
        if isinstance(parameters, list) and name.isdigit() and 0 < int(name) <= len(parameters):
            return str(parameters[int(name) - 1])
        return match.group(0)

    return re.sub(r"%(\w+)", value, message)


def parse_fields(spec: str) -> dict[str, Any]:
    """Commerce's ``fields`` output filter, e.g. ``items[id,sku,extension_attributes[source_code]],total_count``.

    A name maps to None (keep it whole) or to the filter for its own fields.
    """

    def group(at: int) -> tuple[dict[str, Any], int]:
        found: dict[str, Any] = {}
        name = ""
        while at < len(spec):
            char = spec[at]
            if char == "[":
                found[name.strip()], at = group(at + 1)
                name = ""
                continue
            if char in ",]":
                if name.strip():
                    found[name.strip()] = None
                name = ""
                if char == "]":
                    return found, at + 1
            else:
                name += char
            at += 1
        if name.strip():
            found[name.strip()] = None
        return found, at

    return group(0)[0]


def select_fields(value: Any, fields: dict[str, Any] | None) -> Any:
    if fields is None:
        return value
    if isinstance(value, list):
        return [select_fields(item, fields) for item in value]
    if isinstance(value, dict):
        return {name: select_fields(value[name], sub) for name, sub in fields.items() if name in value}
    return value


def narrowed(model: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """``model`` with only the subscribed ``fields`` (io_events.xml names: ``increment_id``,
    ``items[].sku``, ``payment.method``), as Commerce's events client sends it."""
    tree: dict[str, Any] = {}
    for name in fields:
        node = tree
        parts = [part.removesuffix("[]") for part in name.split(".")]
        for part in parts[:-1]:
            node = node.setdefault(part, {}) if node.get(part, {}) is not None else {}
        node.setdefault(parts[-1], None)
    result: dict[str, Any] = select_fields(copy.deepcopy(model), tree)
    return result
