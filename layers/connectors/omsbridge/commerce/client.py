"""The Commerce REST client: base URL forms, auth, retries through ``omsbridge.http``, readable errors.

Paths given to ``get``/``post``/``put``/``delete`` are relative to ``V1`` (``/orders/5/comments``).
Commerce's error body ``{"message": "... %1 ...", "parameters": [...]}`` is rendered into the
raised error's reason; the status and the body stay on the error for the DLQ record.

A store may cap every list in a request and every page of a search (Web API input limits, off by
default, 20 / 5,000 / 300 when on). The client learns each cap from Commerce's refusal and keeps it
for the container's life (``limits``): searches shrink their pages by themselves; a source-item
save refused for its length raises ``InputLimitError`` so the caller can split it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from omsbridge import __version__
from omsbridge.commerce.auth import BearerAuth, ImsAuth, OAuth1Auth
from omsbridge.commerce.models import BulkAccepted, BulkStatus
from omsbridge.commerce.search import Filter, FilterGroup, search_criteria
from omsbridge.config import Secrets, Settings
from omsbridge.errors import IntegrationError, PermanentError
from omsbridge.http import RetryPolicy, new_client, send, timeouts

SYSTEM = "commerce"
CLOUD_SERVICE_HOST_SUFFIX = ".api.commerce.adobe.com"
PAGE_SIZE = 100
# A configurable's children change with the catalog, not with carts: asked again after this long.
CHILDREN_TTL_SECONDS = 3600.0
CHILDREN_CACHE_MAX = 1000


@dataclass(frozen=True)
class Endpoint:
    """Where the REST API of one Commerce instance lives."""

    v1: str
    bulk: str
    headers: dict[str, str] = field(default_factory=dict)


def is_cloud_service(base_url: str, auth: str) -> bool:
    host = (urlsplit(base_url.strip()).hostname or "").lower()
    return auth == "ims" or host.endswith(CLOUD_SERVICE_HOST_SUFFIX)


def endpoint(base_url: str, store_code: str, *, cloud_service: bool) -> Endpoint:
    """Normalise what an SI pastes as the Commerce URL.

    PaaS: ``https://shop.example.com``, ``.../rest``, ``.../rest/default/V1`` or a sub-folder
    install all become ``<root>/rest/<store_code>/V1`` (the store code setting wins over one in
    the URL). Cloud Service: ``https://<server>.api.commerce.adobe.com/<tenant>`` becomes
    ``<base>/V1`` with the store code in a ``Store`` header.
    """
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise PermanentError(f"COMMERCE_BASE_URL {base_url!r} is not an http(s) URL",
                             system=SYSTEM, code="config")
    path = re.sub(r"/V1$", "", parts.path.rstrip("/"))
    store = quote(store_code or "default", safe="")
    if cloud_service:
        root = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
        return Endpoint(v1=f"{root}/V1", bulk=f"{root}/V1/async/bulk", headers={"Store": store_code})
    path = re.sub(r"/rest(/[^/]+)?$", "", path)
    root = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
    return Endpoint(v1=f"{root}/rest/{store}/V1", bulk=f"{root}/rest/{store}/async/bulk/V1")


def render_message(message: str, parameters: Any) -> str:
    """Substitute Commerce's ``%1`` (positional) and ``%name`` (named) placeholders."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if isinstance(parameters, list) and name.isdigit() and 0 < int(name) <= len(parameters):
            return str(parameters[int(name) - 1])
        if isinstance(parameters, dict) and name in parameters:
            return str(parameters[name])
        return match.group(0)

    return re.sub(r"%(\w+)", value, message)


def error_message(body: Any) -> str:
    """A readable reason from a Commerce error body (``message`` plus any ``errors`` list)."""
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        text = render_message(body["message"], body.get("parameters"))
        details = [
            render_message(str(item.get("message", "")), item.get("parameters"))
            for item in body.get("errors") or [] if isinstance(item, dict)
        ]
        return f"{text}: {'; '.join(details)}" if details else text
    if isinstance(body, str) and body.strip():
        return body.strip()[:300]
    return "no error message"


# Magento\Framework\Webapi\Validator\EntityArrayValidator and SearchCriteriaValidator refuse with these.
LIST_LIMIT_MESSAGE = 'Maximum items of type "%type" is %max'
PAGE_LIMIT_MESSAGE = "Maximum SearchCriteria pageSize is %max"


@dataclass
class InputLimits:
    """The Web API input limits this container has met (None: none met so far)."""

    sync: int | None = None
    bulk: int | None = None
    page_size: int | None = None


class InputLimitError(PermanentError):
    """Commerce refused a list longer than its input limit, ``limit``: nothing of it was applied."""

    def __init__(self, reason: str, *, limit: int, **details: Any) -> None:
        super().__init__(reason, **details)
        self.limit = limit


def refused_limit(body: Any, message: str) -> int | None:
    """The limit a Commerce 400 body states, when it is the refusal ``message``."""
    if not isinstance(body, Mapping) or body.get("message") != message:
        return None
    parameters = body.get("parameters")
    limit = parameters.get("max") if isinstance(parameters, Mapping) else None
    if isinstance(limit, bool) or not isinstance(limit, int | str) or not str(limit).isdigit() or int(limit) < 1:
        return None
    return int(limit)


def _segment(value: object) -> str:
    return quote(str(value), safe="")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _as_int(answer: Any, what: str) -> int:
    if isinstance(answer, bool) or not isinstance(answer, int | str) or not str(answer).isdigit():
        raise PermanentError(f"commerce answered {answer!r} where {what} id was expected", system=SYSTEM)
    return int(answer)


class CommerceClient:
    def __init__(
        self,
        endpoint: Endpoint,
        *,
        auth: httpx.Auth,
        timeout: httpx.Timeout | None = None,
        policy: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        on_retry: Callable[[int, str], None] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.limits = InputLimits()
        self.policy = policy or RetryPolicy()
        self._on_retry = on_retry
        self._children: dict[str, tuple[float, list[dict[str, Any]]]] = {}
        self._regions: dict[str, dict[str, str]] = {}
        self._stores: dict[str, dict[int, dict[str, Any]]] = {}
        self._http = new_client(
            auth=auth, timeout=timeout or timeouts(), transport=transport,
            headers={"Accept": "application/json", "User-Agent": f"oms-bridge/{__version__}",
                     **endpoint.headers},
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, secrets: Secrets, *, transport: httpx.BaseTransport | None = None,
        on_retry: Callable[[int, str], None] | None = None,
    ) -> CommerceClient:
        timeout = timeouts(settings.http_connect_timeout, settings.http_read_timeout)
        policy = RetryPolicy(attempts=settings.http_retry_attempts, base_delay=settings.http_retry_base_delay,
                             max_delay=settings.http_retry_max_delay)
        cloud = is_cloud_service(settings.commerce_base_url, settings.commerce_auth)
        where = endpoint(settings.commerce_base_url, settings.commerce_store_code, cloud_service=cloud)
        auth = _auth(settings, secrets, policy, timeout, transport)
        return cls(where, auth=auth, timeout=timeout, policy=policy, transport=transport, on_retry=on_retry)

    def close(self) -> None:
        self._http.close()

    # -- HTTP verbs, paths relative to V1 -------------------------------------------------------

    def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        return self._call("GET", self.endpoint.v1 + path, params=params, idempotent=True)

    def post(self, path: str, json: Any = None, *, idempotent: bool = False) -> Any:
        return self._call("POST", self.endpoint.v1 + path, body=json, idempotent=idempotent)

    def put(self, path: str, json: Any = None) -> Any:
        return self._call("PUT", self.endpoint.v1 + path, body=json, idempotent=True)

    def delete(self, path: str) -> Any:
        return self._call("DELETE", self.endpoint.v1 + path, idempotent=True)

    def _call(self, method: str, url: str, *, params: Mapping[str, str] | None = None, body: Any = None,
              idempotent: bool) -> Any:
        content = None if body is None else json.dumps(body, default=_json_default).encode()
        headers = {"Content-Type": "application/json"} if content is not None else {}
        request = self._http.build_request(method, url, params=params, content=content, headers=headers)
        try:
            response = send(self._http, request, system=SYSTEM, idempotent=idempotent, policy=self.policy,
                            on_retry=self._on_retry)
        except IntegrationError as exc:
            if exc.system != SYSTEM:
                raise
            raise _described(exc, method, urlsplit(url).path) from exc
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise PermanentError(f"commerce {method} {urlsplit(url).path} answered non-JSON",
                                 system=SYSTEM, status=response.status_code,
                                 body=response.text[:2000]) from exc

    # -- searches -------------------------------------------------------------------------------

    def search(self, path: str, filters: Iterable[FilterGroup] = (), *, page_size: int = PAGE_SIZE,
               sort: Sequence[tuple[str, str]] = ()) -> list[dict[str, Any]]:
        """Every item matching ``filters``, page by page (no larger than the store allows)."""
        groups = list(filters)
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            page_size = min(page_size, self.limits.page_size or page_size)
            try:
                answer = self.get(path, search_criteria(groups, page_size=page_size, current_page=page, sort=sort))
            except PermanentError as exc:
                limit = refused_limit(exc.body, PAGE_LIMIT_MESSAGE) if exc.status == 400 else None
                if limit is None or limit >= page_size:
                    raise
                # Pages of another size are other slices: start over with the size the store allows.
                self.limits.page_size = limit
                items, page = [], 1
                continue
            batch = answer.get("items") or []
            items.extend(batch)
            total = int(answer.get("total_count") or 0)
            # Commerce answers a page past the end with the last page again: stop on the count.
            if not batch or len(items) >= total or page * page_size >= total:
                return items
            page += 1

    # -- catalog --------------------------------------------------------------------------------

    def configurable_children(self, parent_sku: str, *, fresh: bool = False,
                              missing_ok: bool = False) -> list[dict[str, Any]]:
        """The simple products of a configurable (``GET /V1/configurable-products/{sku}/children``:
        a list of products with ``id``, ``sku`` and ``custom_attributes``; none for a product that
        is not configurable), kept for ``CHILDREN_TTL_SECONDS``; ``fresh`` asks Commerce again.
        Commerce's 404 for an unknown SKU raises, or with ``missing_ok`` means no children."""
        cached = self._children.get(parent_sku)
        if cached is not None and not fresh and cached[0] > time.monotonic():
            return cached[1]
        try:
            answer = self.get(f"/configurable-products/{_segment(parent_sku)}/children")
        except PermanentError as exc:
            if not (missing_ok and exc.status == 404):
                raise
            answer = []
        if not isinstance(answer, list):
            raise PermanentError(f"commerce answered {type(answer).__name__} for the children of {parent_sku}",
                                 system=SYSTEM, body=answer, code="bad_answer")
        children = [child for child in answer if isinstance(child, dict)]
        if len(self._children) >= CHILDREN_CACHE_MAX:
            self._children.clear()
        self._children[parent_sku] = (time.monotonic() + CHILDREN_TTL_SECONDS, children)
        return children

    # -- directory ------------------------------------------------------------------------------

    def region_codes(self, country_id: str) -> dict[str, str]:
        """Region name → code in ``country_id`` (``GET /V1/directory/countries/{id}``'s
        ``available_regions``), asked once per container: the directory changes with upgrades, not
        with orders. A country Commerce does not know (404) or lists no regions for has none."""
        key = country_id.strip().upper()
        cached = self._regions.get(key)
        if cached is not None:
            return cached
        try:
            answer = self.get(f"/directory/countries/{_segment(key)}")
        except PermanentError as exc:
            if exc.status != 404:
                raise
            answer = {}
        listed = answer.get("available_regions") if isinstance(answer, dict) else None
        codes = {str(row["name"]): str(row["code"]) for row in listed or []
                 if isinstance(row, dict) and row.get("name") and row.get("code")}
        self._regions[key] = codes
        return codes

    # -- stores ---------------------------------------------------------------------------------

    def store_views(self, *, fresh: bool = False) -> dict[int, dict[str, Any]]:
        """Every store view by id (``GET /V1/store/storeViews``: ``code``, ``website_id``, ...), asked
        once per container unless ``fresh``."""
        return self._listed("/store/storeViews", fresh=fresh)

    def websites(self, *, fresh: bool = False) -> dict[int, dict[str, Any]]:
        """Every website by id (``GET /V1/store/websites``: ``code``, ``name``, ...)."""
        return self._listed("/store/websites", fresh=fresh)

    def _listed(self, path: str, *, fresh: bool) -> dict[int, dict[str, Any]]:
        cached = self._stores.get(path)
        if cached is not None and not fresh:
            return cached
        answer = self.get(path)
        if not isinstance(answer, list):
            raise PermanentError(f"commerce answered {type(answer).__name__} for {path}", system=SYSTEM,
                                 body=answer, code="bad_answer")
        rows = {int(row["id"]): row for row in answer if isinstance(row, dict) and str(row.get("id", "")).isdigit()}
        self._stores[path] = rows
        return rows

    # -- orders ---------------------------------------------------------------------------------

    def find_order_entity_id(self, increment_id: str) -> int | None:
        """The ``entity_id`` REST calls need, from the customer-facing order number."""
        answer = self.get("/orders", search_criteria([Filter("increment_id", increment_id)], page_size=2,
                                                     current_page=1))
        items = answer.get("items") or []
        if not items:
            return None
        if len(items) > 1:
            raise PermanentError(f"commerce has {len(items)} orders numbered {increment_id}",
                                 system=SYSTEM, code="ambiguous")
        return int(items[0]["entity_id"])

    def get_order(self, entity_id: int) -> dict[str, Any]:
        answer: dict[str, Any] = self.get(f"/orders/{_segment(entity_id)}")
        return answer

    def add_order_comment(self, entity_id: int, comment: str, status: str | None = None, *,
                          notify: bool = False, visible: bool = False) -> bool:
        history: dict[str, Any] = {
            "comment": comment,
            "is_customer_notified": int(notify),
            "is_visible_on_front": int(visible),
            "parent_id": entity_id,
        }
        if status:
            history["status"] = status
        return self.post(f"/orders/{_segment(entity_id)}/comments", {"statusHistory": history}) is True

    def hold(self, entity_id: int) -> bool:
        return self.post(f"/orders/{_segment(entity_id)}/hold") is True

    def unhold(self, entity_id: int) -> bool:
        return self.post(f"/orders/{_segment(entity_id)}/unhold") is True

    def cancel(self, entity_id: int) -> bool:
        """``False`` when Commerce says the order cannot be cancelled (it answers 200 either way)."""
        return self.post(f"/orders/{_segment(entity_id)}/cancel") is True

    def ship(self, entity_id: int, body: Mapping[str, Any]) -> int:
        return _as_int(self.post(f"/order/{_segment(entity_id)}/ship", dict(body)), "a shipment")

    def list_shipments(self, order_entity_id: int) -> list[dict[str, Any]]:
        return self.search("/shipments", [Filter("order_id", order_entity_id)])

    def invoice(self, entity_id: int, body: Mapping[str, Any]) -> int:
        return _as_int(self.post(f"/order/{_segment(entity_id)}/invoice", dict(body)), "an invoice")

    def notify_ready_for_pickup(self, entity_ids: Sequence[int]) -> dict[str, Any]:
        answer = self.post("/order/notify-orders-are-ready-for-pickup", {"orderIds": list(entity_ids)})
        if not isinstance(answer, dict) or answer.get("successful") is not True:
            errors = answer.get("errors") if isinstance(answer, dict) else answer
            raise PermanentError(f"commerce did not notify orders {list(entity_ids)} ready for pickup: {errors}",
                                 system=SYSTEM, body=answer, code="not_ready_for_pickup")
        return answer

    # -- MSI ------------------------------------------------------------------------------------

    def upsert_source_items(self, items: Sequence[Mapping[str, Any]]) -> None:
        """Raises ``InputLimitError`` (and remembers ``limits.sync``) when the list is too long."""
        # Absolute quantities: sending the same items twice leaves the same state.
        try:
            self.post("/inventory/source-items", {"sourceItems": [dict(item) for item in items]}, idempotent=True)
        except PermanentError as exc:
            self._learn(exc, "sync")
            raise

    def bulk_upsert_source_items(self, chunks: Sequence[Sequence[Mapping[str, Any]]]) -> str:
        """Queue one operation per chunk; returns the bulk uuid to poll with ``bulk_status``.
        Raises ``InputLimitError`` (and remembers ``limits.bulk``) when a chunk is too long."""
        body = [{"sourceItems": [dict(item) for item in chunk]} for chunk in chunks]
        url = f"{self.endpoint.bulk}/inventory/source-items"
        try:
            answer = self._call("POST", url, body=body, idempotent=False)
        except PermanentError as exc:
            self._learn(exc, "bulk")
            raise
        accepted = BulkAccepted.model_validate(answer)
        rejected = [item for item in accepted.request_items if item.status != "accepted"]
        if accepted.errors or rejected:
            detail = "; ".join(f"#{item.id}: {item.error_message or item.status}" for item in rejected)
            raise PermanentError(f"commerce rejected bulk {accepted.bulk_uuid} operations: {detail}",
                                 system=SYSTEM, body=accepted.model_dump(), code="bulk_rejected")
        return accepted.bulk_uuid

    def _learn(self, exc: PermanentError, route: str) -> None:
        """A refusal for the list's length: remember the limit, raise ``InputLimitError``."""
        limit = refused_limit(exc.body, LIST_LIMIT_MESSAGE) if exc.status == 400 else None
        if limit is None:
            return
        setattr(self.limits, route, limit)
        raise InputLimitError(exc.reason, limit=limit, system=SYSTEM, status=exc.status, body=exc.body,
                              code="input_limit") from exc

    def bulk_status(self, bulk_uuid: str) -> BulkStatus:
        return BulkStatus.model_validate(self.get(f"/bulk/{_segment(bulk_uuid)}/status"))

    def list_sources(self, filters: Iterable[FilterGroup] = (), *, page_size: int = PAGE_SIZE
                     ) -> list[dict[str, Any]]:
        return self.search("/inventory/sources", filters, page_size=page_size)

    def search_source_items(self, filters: Iterable[FilterGroup] = (), *, page_size: int = PAGE_SIZE
                            ) -> list[dict[str, Any]]:
        return self.search("/inventory/source-items", filters, page_size=page_size)


def _described(exc: IntegrationError, method: str, path: str) -> IntegrationError:
    if exc.status is None:
        reason = f"commerce {method} {path}: {exc.reason}"
    else:
        reason = f"commerce {method} {path} answered {exc.status}: {error_message(exc.body)}"
    code = {404: "not_found", 401: "unauthorized", 403: "unauthorized"}.get(exc.status or 0, exc.code)
    return type(exc)(reason, system=SYSTEM, status=exc.status, body=exc.body, code=code)


def _auth(settings: Settings, secrets: Secrets, policy: RetryPolicy, timeout: httpx.Timeout,
          transport: httpx.BaseTransport | None) -> httpx.Auth:
    def need(*names: str) -> list[str]:
        values = [getattr(secrets, name).get_secret_value() for name in names]
        missing = [name for name, value in zip(names, values, strict=True) if not value]
        if missing:
            raise PermanentError(f"COMMERCE_AUTH={settings.commerce_auth} needs secret keys {missing}",
                                 system=SYSTEM, code="config")
        return values

    if settings.commerce_auth == "bearer":
        return BearerAuth(*need("commerce_bearer_token"))
    if settings.commerce_auth == "ims":
        client_id, client_secret = need("ims_client_id", "ims_client_secret")
        return ImsAuth(settings.commerce_ims_token_url, client_id, client_secret, settings.commerce_ims_org_id,
                       http=httpx.Client(timeout=timeout, transport=transport), policy=policy)
    return OAuth1Auth(*need("commerce_consumer_key", "commerce_consumer_secret", "commerce_access_token",
                            "commerce_access_token_secret"))
