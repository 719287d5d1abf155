"""The Sterling OMS REST client: ``/invoke/<api>``, ``/executeFlow/<service>`` and the resources.

Every request goes through ``omsbridge.http.send``, the one place that retries (408/429/5xx and
timeouts, idempotent calls only). This module adds what is Sterling's own: the login session
(re-login once on ``YCP0427``), the error envelope (``SterlingError`` with Sterling's ErrorCode),
output templates (``_templateKey``) and the domain calls the flows use.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from omsbridge.errors import PermanentError, RetryableError
from omsbridge.http import RetryPolicy, new_client, send, timeouts
from omsbridge.observability import Outcome, count, logger
from omsbridge.sterling import templates
from omsbridge.sterling.auth import Credentials, SterlingAuth
from omsbridge.sterling.errors import (
    NOT_AUTHENTICATED,
    SYSTEM,
    SterlingAuthError,
    SterlingError,
    error_entries,
    from_response,
)
from omsbridge.sterling.models import Node, Order, OrderRelease, Promise, PromiseLine, Shipment, as_list

SALES_ORDER = "0001"
_IDEMPOTENT_METHODS = frozenset({"GET", "PUT", "DELETE"})

# A promise line: an ItemID, or the PromiseLine attributes themselves.
LineInput = str | Mapping[str, Any]


class SterlingClient:
    def __init__(
        self,
        base_url: str,
        enterprise_code: str,
        auth: SterlingAuth,
        *,
        policy: RetryPolicy | None = None,
        timeout: httpx.Timeout | None = None,
        tls: ssl.SSLContext | None = None,
        product_class: str = "GOOD",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.enterprise_code = enterprise_code
        self.auth = auth
        # The ProductClass promising lines name (STERLING_PRODUCT_CLASS): orders are created with it.
        self.product_class = product_class
        self.policy = policy or RetryPolicy()
        # A context presenting the tenant's client certificate (mTLS), if it asks for one.
        self.tls = tls
        # One pool per container. It also keeps Sterling's cookies: with sticky ingress routing a
        # token is only known to the pod that issued it.
        self._http = new_client(tls, timeout=timeout or timeouts(), headers={"Accept": "application/json"})

    def close(self) -> None:
        self._http.close()

    def derive(self, *, policy: RetryPolicy, timeout: httpx.Timeout) -> SterlingClient:
        """A client of the same tenant, session and certificate, with its own retries and timeouts."""
        return SterlingClient(self.base_url, self.enterprise_code, self.auth, policy=policy, timeout=timeout,
                              tls=self.tls, product_class=self.product_class)

    # -- transport --------------------------------------------------------------------------------

    def invoke(
        self, api: str, body: Mapping[str, Any], *, template_key: str | None = None, idempotent: bool,
    ) -> Any:
        """``POST /invoke/<api>``: the API's input document without its root element."""
        return self._call("POST", f"/invoke/{api}", api=api, body=body, template_key=template_key,
                          idempotent=idempotent)

    def execute_flow(self, service: str, body: Mapping[str, Any], *, idempotent: bool) -> Any:
        """``POST /executeFlow/<service>``: a service (flow) configured in Sterling's SDF."""
        return self._call("POST", f"/executeFlow/{service}", api=service, body=body, idempotent=idempotent)

    def resource(
        self,
        method: str,
        name: str,
        key: str | None = None,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        *,
        template_key: str | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        """A REST resource call (``GET /order?OrderNo=..``, ``PATCH /release/<key>``, ...).

        GET, PUT and DELETE are retried on transient failures, POST and PATCH only when the caller
        says the call is idempotent.
        """
        verb = method.upper()
        path = f"/{name}" if key is None else f"/{name}/{quote(key, safe='')}"
        retry_safe = verb in _IDEMPOTENT_METHODS if idempotent is None else idempotent
        return self._call(verb, path, api=f"{verb} {name}", body=body, params=params,
                          template_key=template_key, idempotent=retry_safe)

    def _call(
        self,
        method: str,
        path: str,
        *,
        api: str,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        template_key: str | None = None,
        idempotent: bool,
    ) -> Any:
        query = {name: str(value) for name, value in (params or {}).items()}
        if template_key:
            query["_templateKey"] = template_key
        content = None if body is None else _encode(body)
        credentials = self.auth.credentials(self._login)
        try:
            return self._send(method, path, api, query, content, credentials, idempotent)
        except SterlingError as exc:
            if exc.code != NOT_AUTHENTICATED:
                raise
            renewed = self.auth.renew(credentials, self._login)
            if renewed is None:
                raise
        # Sterling checks the session before it runs the API, so repeating even a non-idempotent
        # call after YCP0427 is safe: the rejected attempt did nothing.
        logger.info("Sterling session rejected; logged in again", extra={"sterling_api": api})
        try:
            return self._send(method, path, api, query, content, renewed, idempotent)
        except SterlingError as exc:
            if exc.code != NOT_AUTHENTICATED:
                raise
            raise SterlingAuthError(
                f"{api}: Sterling rejected the session again right after a fresh login ({NOT_AUTHENTICATED})",
                status=exc.status, body=exc.body, code=exc.code, description=exc.description, api=api,
            ) from exc

    def _send(
        self,
        method: str,
        path: str,
        api: str,
        query: dict[str, str],
        content: bytes | None,
        credentials: Credentials,
        idempotent: bool,
    ) -> Any:
        headers = dict(credentials.headers)
        if content is not None:
            headers["Content-Type"] = "application/json"
        request = self._http.build_request(
            method, self.base_url + path, params={**query, **credentials.params}, content=content,
            headers=headers,
        )
        try:
            response = send(
                self._http, request, system=SYSTEM, idempotent=idempotent, policy=self.policy,
                on_retry=lambda attempt, reason: _retried(api, attempt, reason),
            )
        except PermanentError as exc:
            raise from_response(exc.status, exc.body, api) from exc
        except RetryableError as exc:
            raise _named(exc, api) from exc
        return _decode(response, api)

    def _login(self, body: dict[str, str]) -> Any:
        request = self._http.build_request(
            "POST", f"{self.base_url}/invoke/login", content=_encode(body),
            headers={"Content-Type": "application/json"},
        )
        try:
            # Logging in again only opens another session, so a failed login may be retried.
            response = send(self._http, request, system=SYSTEM, idempotent=True, policy=self.policy,
                            on_retry=lambda attempt, reason: _retried("login", attempt, reason))
        except PermanentError as exc:
            refused = from_response(exc.status, exc.body, "login")
            raise SterlingAuthError(
                refused.reason, status=refused.status, body=refused.body, code=refused.code,
                description=refused.description, api="login",
            ) from exc
        except RetryableError as exc:
            raise _named(exc, "login") from exc
        return _decode(response, "login")

    # -- orders -----------------------------------------------------------------------------------

    def create_order(self, doc: Mapping[str, Any]) -> Order:
        """createOrder. Not retried: after an ambiguous timeout, ``find_order`` tells whether it landed."""
        answer = self.invoke("createOrder", self._order_keys(doc), idempotent=False)
        return Order.model_validate(answer)

    def change_order(self, doc: Mapping[str, Any], *, idempotent: bool = False) -> Order:
        """changeOrder: cancel (``Action=CANCEL``), line changes, hold types (1100 applied, 1300 resolved).

        Pass ``idempotent=True`` for changes that set an absolute state (a hold status, a cancel) so
        that transient failures are retried; never for changes that add (notes, lines).
        """
        answer = self.invoke("changeOrder", self._order_keys(doc), idempotent=idempotent)
        return Order.model_validate(answer)

    def get_order_details(
        self, order_no: str, document_type: str = SALES_ORDER, *, template_key: str = templates.ORDER_LINES,
        enterprise_code: str | None = None,
    ) -> Order:
        """The order with its lines and their statuses per node (``OrderStatuses``). Orders are keyed by
        enterprise: ``enterprise_code`` names the order's when it is not the client's."""
        body = {"OrderNo": order_no, "EnterpriseCode": enterprise_code or self.enterprise_code,
                "DocumentType": document_type}
        answer = self.invoke("getOrderDetails", body, template_key=template_key, idempotent=True)
        return Order.model_validate(_having(answer, "getOrderDetails", template_key, "OrderLines", "OrderStatuses"))

    def get_order_holds(self, order_no: str, document_type: str = SALES_ORDER, *,
                        enterprise_code: str | None = None) -> Order:
        """The order's hold types (``OrderHoldTypes``), applied and resolved."""
        body = {"OrderNo": order_no, "EnterpriseCode": enterprise_code or self.enterprise_code,
                "DocumentType": document_type}
        answer = self.invoke("getOrderDetails", body, template_key=templates.ORDER_HOLDS, idempotent=True)
        return Order.model_validate(_having(answer, "getOrderDetails", templates.ORDER_HOLDS, "OrderHoldTypes"))

    def find_order(self, order_no: str, document_type: str = SALES_ORDER, *,
                   enterprise_code: str | None = None) -> Order | None:
        """The order if it exists (getOrderList, which answers an empty list instead of an error)."""
        body = {"OrderNo": order_no, "EnterpriseCode": enterprise_code or self.enterprise_code,
                "DocumentType": document_type}
        answer = self.invoke("getOrderList", body, idempotent=True)
        orders = as_list(answer.get("Order")) if isinstance(answer, dict) else as_list(answer)
        return Order.model_validate(orders[0]) if orders else None

    # -- shipments and releases -------------------------------------------------------------------

    def create_shipment(self, doc: Mapping[str, Any]) -> Shipment:
        answer = self.invoke("createShipment", self._order_keys(doc), idempotent=False)
        return Shipment.model_validate(answer)

    def confirm_shipment(self, doc: Mapping[str, Any]) -> Shipment:
        answer = self.invoke("confirmShipment", doc, idempotent=False)
        return Shipment.model_validate(answer)

    def change_shipment(self, doc: Mapping[str, Any], *, idempotent: bool = False) -> Shipment:
        """changeShipment: containers, tracking, SCAC, or ``Action=Cancel``."""
        answer = self.invoke("changeShipment", doc, idempotent=idempotent)
        return Shipment.model_validate(answer)

    def get_shipment_details(
        self,
        shipment_key: str | None = None,
        *,
        shipment_no: str | None = None,
        ship_node: str | None = None,
        template_key: str = templates.SHIPMENT,
    ) -> Shipment:
        """By ``ShipmentKey``, or by ``ShipmentNo`` + ``ShipNode`` (seller = the enterprise), with its
        lines and containers."""
        if shipment_key:
            body = {"ShipmentKey": shipment_key}
        elif shipment_no and ship_node:
            body = {"ShipmentNo": shipment_no, "ShipNode": ship_node,
                    "SellerOrganizationCode": self.enterprise_code}
        else:
            raise ValueError("get_shipment_details needs shipment_key, or shipment_no and ship_node")
        answer = self.invoke("getShipmentDetails", body, template_key=template_key, idempotent=True)
        return Shipment.model_validate(_having(answer, "getShipmentDetails", template_key, "ShipmentLines"))

    def get_shipment_list(self, criteria: Mapping[str, Any]) -> list[Shipment]:
        """getShipmentList (``OrderNo``, ``ShipNode``, ...), each shipment with its lines."""
        answer = self.invoke("getShipmentList", criteria, template_key=templates.RELEASE_SHIPMENTS, idempotent=True)
        rows = as_list(answer.get("Shipment")) if isinstance(answer, dict) else as_list(answer)
        return [Shipment.model_validate(_having(row, "getShipmentList", templates.RELEASE_SHIPMENTS, "ShipmentLines"))
                for row in rows]

    def get_release_details(self, release_key: str) -> OrderRelease:
        """getOrderReleaseDetails: the release with its lines and ship-to address."""
        answer = self.invoke("getOrderReleaseDetails", {"OrderReleaseKey": release_key},
                             template_key=templates.RELEASE, idempotent=True)
        return OrderRelease.model_validate(_having(answer, "getOrderReleaseDetails", templates.RELEASE, "OrderLines"))

    def change_release(self, doc: Mapping[str, Any], *, idempotent: bool = False) -> OrderRelease:
        """changeRelease, e.g. cancel the quantity a DC could not ship (``Action=CANCEL`` per line)."""
        answer = self.invoke("changeRelease", doc, idempotent=idempotent)
        return OrderRelease.model_validate(answer)

    # -- inventory and nodes ----------------------------------------------------------------------

    def get_available_inventory(self, lines: Sequence[LineInput], nodes: Iterable[str] = ()) -> list[PromiseLine]:
        """Availability per line and node (all nodes when ``nodes`` is empty)."""
        body: dict[str, Any] = {
            "OrganizationCode": self.enterprise_code,
            "PromiseLines": {"PromiseLine": _promise_lines(lines, {"ProductClass": self.product_class})},
        }
        node_list = [{"Node": node} for node in nodes]
        if node_list:
            body["ShipNodes"] = {"ShipNode": node_list}
        answer = self.invoke("getAvailableInventory", body, idempotent=True)
        return Promise.model_validate(answer).promise_lines

    def get_item_ids(self, after: str = "", limit: int = 1000) -> list[str]:
        """Up to ``limit`` ItemIDs of the catalog, in ItemID order, after ``after`` (from the first
        when empty): getItemList read as a keyset, the way Sterling's list APIs page
        (``<Attribute>QryType``, ``MaximumRecords``, ``OrderBy``)."""
        body: dict[str, Any] = {"CallingOrganizationCode": self.enterprise_code}
        if after:
            body |= {"ItemID": after, "ItemIDQryType": "GT"}
        body |= {"MaximumRecords": str(limit), "OrderBy": {"Attribute": {"Name": "ItemID"}}}
        answer = self.invoke("getItemList", body, idempotent=True)
        rows = as_list(answer.get("Item")) if isinstance(answer, dict) else []
        return [str(row["ItemID"]) for row in rows if isinstance(row, dict) and row.get("ItemID")]

    def find_inventory(
        self,
        lines: Sequence[LineInput],
        *,
        ship_to: Mapping[str, Any] | None = None,
        delivery_method: str = "SHP",
    ) -> Promise:
        """Sourcing and promise dates (``suggested_option``), unavailable lines included."""
        body: dict[str, Any] = {
            "OrganizationCode": self.enterprise_code,
            "PromiseLines": {"PromiseLine": _promise_lines(
                lines, {"ProductClass": self.product_class, "RequiredQty": "1", "DeliveryMethod": delivery_method})},
        }
        if ship_to:
            body["ShipToAddress"] = dict(ship_to)
        return Promise.model_validate(self.invoke("findInventory", body, idempotent=True))

    def get_surrounding_node_list(
        self,
        zip_code: str,
        country: str,
        *,
        node_type: str = "Store",
        distance: float = 50,
        distance_uom: str = "MILE",
    ) -> list[Node]:
        """Nodes within ``distance`` of a postcode, nearest first."""
        body = {
            "OrganizationCode": self.enterprise_code,
            "NodeType": node_type,
            "DistanceToConsider": f"{distance}",
            "DistanceToConsiderUOM": distance_uom,
            "ShipToAddress": {"ZipCode": zip_code, "Country": country},
        }
        answer = self.invoke("getSurroundingNodeList", body, idempotent=True)
        node_list = answer.get("NodeList") if isinstance(answer, dict) else None
        rows = as_list(node_list.get("Node")) if isinstance(node_list, dict) else []
        return [Node.model_validate(row) for row in rows]

    def get_ship_node_list(self, *, node_type: str | None = None, ship_node: str | None = None) -> list[Node]:
        body = {"OwnerKey": self.enterprise_code}
        if node_type:
            body["NodeType"] = node_type
        if ship_node:
            body["ShipNode"] = ship_node
        answer = self.invoke("getShipNodeList", body, idempotent=True)
        rows = as_list(answer.get("ShipNode")) if isinstance(answer, dict) else []
        return [Node.model_validate(row) for row in rows]

    def adjust_inventory(self, items: Iterable[Mapping[str, Any]]) -> Any:
        """adjustInventory: ``AdjustmentType`` ADJUSTMENT (a delta, the default) or ABSOLUTE (a level)."""
        rows = [
            {"OrganizationCode": self.enterprise_code, "UnitOfMeasure": "EACH", "SupplyType": "ONHAND",
             "AdjustmentType": "ADJUSTMENT", **item}
            for item in items
        ]
        # A delta sent twice counts twice; absolute levels can be repeated.
        absolute = all(row["AdjustmentType"] == "ABSOLUTE" for row in rows)
        return self.invoke("adjustInventory", {"Item": rows}, idempotent=absolute)

    # -- invoices ---------------------------------------------------------------------------------

    def record_invoice_creation(self, doc: Mapping[str, Any]) -> Any:
        return self.invoke("recordInvoiceCreation", self._order_keys(doc), idempotent=False)

    def _order_keys(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        return {"EnterpriseCode": self.enterprise_code, "DocumentType": SALES_ORDER, **doc}


def _having(answer: Any, api: str, template_key: str, *elements: str) -> Any:
    """``answer`` if it holds ``elements``. A standard output leaves parts out, so an answer without
    them means the tenant does not have the template: nothing is read from it."""
    absent = [name for name in elements if not isinstance(answer, dict) or name not in answer]
    if absent:
        raise SterlingError(
            f"{api}: Sterling answered without {', '.join(absent)}: is the output template {template_key} "
            "stored in the tenant? (tools/sterling_templates.py)", api=api, code="template_missing")
    return answer


def _promise_lines(lines: Sequence[LineInput], defaults: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(lines, start=1):
        given = {"ItemID": line} if isinstance(line, str) else dict(line)
        rows.append({"LineId": str(number), "UnitOfMeasure": "EACH", **defaults, **given})
    return rows


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"cannot send {type(value).__name__} to Sterling")


def _encode(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, default=_json_default, separators=(",", ":")).encode()


def _decode(response: httpx.Response, api: str) -> Any:
    if not response.content.strip():
        return {}
    try:
        return response.json()
    except ValueError as exc:
        raise SterlingError(
            f"{api}: Sterling answered HTTP {response.status_code} with a body that is not JSON",
            status=response.status_code, body=response.text[:2000], api=api,
        ) from exc


def _named(error: RetryableError, api: str) -> RetryableError:
    """The same transient error (same class), naming the API and Sterling's code if it sent one."""
    entries = error_entries(error.body)
    code = str(entries[0].get("ErrorCode") or "") if entries else ""
    return type(error)(f"{api}: {error.reason}", system=SYSTEM, status=error.status, body=error.body,
                       code=code or None)


def _retried(api: str, attempt: int, reason: str) -> None:
    logger.warning("Sterling call retried", extra={"sterling_api": api, "attempt": attempt, "reason": reason})
    count(Outcome.RETRIED)
