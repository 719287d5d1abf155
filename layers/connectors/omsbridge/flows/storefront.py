"""The storefront API behind ``GET /storefront/...`` (StorefrontFunction): public, read-only.

* ``stock?sku=`` — stock per location: Sterling ``getAvailableInventory`` over every node, joined
  with the Commerce MSI sources (names, pickup store addresses). For a configurable product (Commerce
  lists children for it: ``GET /V1/configurable-products/{sku}/children``, kept an hour) the answer
  is per child, all asked of Sterling at once, and what the parent shows is their sum; pickup stores
  and delivery dates are asked of a child, never of its parent (a 400 naming the children);
* ``pickup-locations?sku=&qty=&postcode=&country=`` (or ``&lat=&lng=``) — pickup stores near the
  shopper, nearest first, each saying whether it has the quantity: Sterling
  ``getSurroundingNodeList`` for a postcode, the MSI sources' coordinates for a position;
* ``delivery-estimate?sku=&qty=&postcode=&country=`` (or ``&store=`` for pickup) — the date
  Sterling ``findInventory`` promises, or a clear "not available".

Shoppers wait for these answers, so Sterling and Commerce get one quick retry and
``STOREFRONT_TIMEOUT_MS``. Sterling availability and promises are reused for
``STOREFRONT_CACHE_SECONDS`` (and the browser / CDN may cache the answer as long); MSI sources and
the stores around a postcode change rarely and are kept for five minutes. Bad input is a 400 with
the reason; Sterling or Commerce down is a 503 with a reason a shopper may read, never a trace.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from omsbridge import config
from omsbridge.cache import TtlCache
from omsbridge.errors import IntegrationError, PermanentError, ValidationError
from omsbridge.mapping import storefront as mapping
from omsbridge.mapping.ids import node_for_source
from omsbridge.observability import Outcome, correlate, count, logger

if TYPE_CHECKING:
    from omsbridge.commerce import CommerceClient
    from omsbridge.sterling import SterlingClient
    from omsbridge.sterling.models import Node

SLOW_CHANGING_SECONDS = 300.0
RETRY_AFTER_SECONDS = 5
UNAVAILABLE = "Stock information is temporarily unavailable. Please try again in a moment."

availability_cache: TtlCache[dict[str, Decimal]] = TtlCache()
delivery_cache: TtlCache[dict[str, Any]] = TtlCache()
nodes_cache: TtlCache[list[Node]] = TtlCache()
sources_cache: TtlCache[dict[str, mapping.Source]] = TtlCache()


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    def api_result(self, origin: str | None) -> dict[str, Any]:
        """The API Gateway (HTTP API, payload 2.0) result for a request from ``origin``."""
        settings = config.settings()
        headers = {"Content-Type": "application/json",
                   "Cache-Control": mapping.cache_control(self.status, settings.storefront_cache_seconds),
                   **self.headers,
                   **mapping.cors_headers(origin, mapping.allowed_origins(settings.storefront_origins))}
        return {"statusCode": self.status, "headers": headers, "body": json.dumps(self.body)}


class BadRequest(Exception):
    """Well-formed input naming something that does not exist (a store)."""


def stock(params: Mapping[str, str] | None) -> Answer:
    return _answer("stock", mapping.StockQuery, params, _stock)


def pickup_locations(params: Mapping[str, str] | None) -> Answer:
    return _answer("pickup_locations", mapping.PickupQuery, params, _pickup_locations)


def delivery_estimate(params: Mapping[str, str] | None) -> Answer:
    return _answer("delivery_estimate", mapping.DeliveryQuery, params, _delivery_estimate)


def rejected(status: int, error: str, reason: str) -> Answer:
    count(f"rejected_{status}")
    logger.info("storefront request rejected", extra={"status": status, "error": error, "reason": reason})
    return Answer(status, {"error": error, "reason": reason})


def _answer[Q: mapping.Query](route: str, model: type[Q], params: Mapping[str, str] | None,
                               build: Callable[[Q], dict[str, Any]]) -> Answer:
    try:
        query = mapping.parse_query(model, params)
    except ValidationError as exc:
        return rejected(400, "invalid_request", exc.reason)
    correlate(query.sku)
    try:
        body = build(query)
    except BadRequest as exc:
        return rejected(400, "invalid_request", str(exc))
    except IntegrationError as exc:
        level = logger.error if isinstance(exc, PermanentError) else logger.warning
        level("storefront answer unavailable", extra={"route": route, **exc.describe()})
        count("unavailable")
        return Answer(503, {"error": "unavailable", "reason": UNAVAILABLE},
                      {"Retry-After": str(RETRY_AFTER_SECONDS)})
    count(Outcome.PROCESSED)
    return Answer(200, body)


# -- the three answers ------------------------------------------------------------------------------------


def _stock(query: mapping.StockQuery) -> dict[str, Any]:
    children = _children(query.sku)
    if children:
        quantities = _all_nodes(children)
        body, unmapped = mapping.configurable_stock_answer(
            query.sku, {child: quantities[child] for child in children}, _sources())
    else:
        body, unmapped = mapping.stock_answer(query.sku, _all_nodes([query.sku])[query.sku], _sources())
    _unmapped(unmapped)
    return body


def _not_a_parent(sku: str) -> None:
    """Pickup and delivery are for what is put in the cart: one of a configurable's children."""
    children = _children(sku)
    if children:
        shown = ", ".join(children[:20]) + (", ..." if len(children) > 20 else "")
        raise BadRequest(f"sku: {sku} is a configurable product; ask for one of its options ({shown})")


def _pickup_locations(query: mapping.PickupQuery) -> dict[str, Any]:
    _not_a_parent(query.sku)
    settings = config.settings()
    unit = settings.storefront_distance_unit
    sources = _sources()
    if query.lat is not None and query.lng is not None:
        candidates = mapping.candidates_near((query.lat, query.lng), sources, settings.storefront_pickup_radius, unit)
    else:
        candidates, unmapped = mapping.candidates_from_nodes(
            _surrounding(str(query.postcode), str(query.country)), sources)
        _unmapped(unmapped)
    quantities = _quantities(query.sku, [candidate.node for candidate in candidates])
    return mapping.pickup_answer(query, candidates, quantities, unit)


def _delivery_estimate(query: mapping.DeliveryQuery) -> dict[str, Any]:
    _not_a_parent(query.sku)
    store = None
    if query.store is not None:
        store = _sources().get(query.store)
        if not mapping.pickup_store(store):
            raise BadRequest(f"store: {query.store} is not a pickup store")
    key = json.dumps([query.sku, query.qty, query.store, query.postcode, query.country])
    cached = delivery_cache.get_many([key])
    if cached:
        count("cache_hit")
        return cached[key]
    client = storefront_sterling()
    if store is not None:
        node = node_for_source(store.source_code)
        promise = client.find_inventory(mapping.promise_lines(query.sku, query.qty, node=node), delivery_method="PICK")
    else:
        promise = client.find_inventory(mapping.promise_lines(query.sku, query.qty),
                                        ship_to={"Country": query.country, "ZipCode": query.postcode})
    body = mapping.delivery_answer(query, promise, store)
    delivery_cache.put_many({key: body}, config.settings().storefront_cache_seconds)
    return body


# -- reads, cached ------------------------------------------------------------------------------------------


def _children(sku: str) -> list[str]:
    """The SKUs of a configurable's children, in Commerce's order; none for any other product."""
    children = storefront_commerce().configurable_children(sku, missing_ok=True)
    return list(dict.fromkeys(str(child["sku"]) for child in children if child.get("sku")))


def _all_nodes(skus: list[str]) -> dict[str, dict[str, Decimal]]:
    """Availability per node of each SKU; the ones not cached asked of Sterling in one call."""
    found = availability_cache.get_many(skus)
    missing = [sku for sku in skus if sku not in found]
    if not missing:
        count("cache_hit")
        return found
    lines = storefront_sterling().get_available_inventory(missing)
    fresh = {sku: mapping.node_quantities(lines, sku) for sku in missing}
    availability_cache.put_many(fresh, config.settings().storefront_cache_seconds)
    return {**found, **fresh}


def _quantities(sku: str, nodes: list[str]) -> dict[str, Decimal]:
    """Availability at ``nodes``: from the SKU's cached stock answer if there is one, else asked for
    those nodes only (a network can have thousands)."""
    if not nodes:
        return {}
    cached = availability_cache.get_many([sku])
    if cached:
        count("cache_hit")
        return cached[sku]
    return mapping.node_quantities(storefront_sterling().get_available_inventory([sku], nodes), sku)


def _surrounding(postcode: str, country: str) -> list[Node]:
    from omsbridge.sterling import SterlingAuthError, SterlingError

    key = f"{country}:{postcode}"
    cached = nodes_cache.get_many([key])
    if cached:
        return cached[key]
    settings = config.settings()
    try:
        nodes = storefront_sterling().get_surrounding_node_list(
            postcode, country, node_type=str(mapping.conf()["pickup_node_type"]),
            distance=settings.storefront_pickup_radius, distance_uom=settings.storefront_distance_unit)
    except SterlingAuthError:
        raise
    except SterlingError as exc:
        # Sterling refuses a postcode it cannot place: for the shopper, no store is near it. Logged as
        # a warning all the same, since a misconfigured API user is refused the same way.
        logger.warning("Sterling refused the store search", extra=exc.describe())
        count("postcode_unknown")
        nodes = []
    nodes_cache.put_many({key: nodes}, SLOW_CHANGING_SECONDS)
    return nodes


def _sources() -> dict[str, mapping.Source]:
    cached = sources_cache.get_many(["all"])
    if cached:
        return cached["all"]
    sources, problems = mapping.parse_sources(storefront_commerce().list_sources())
    for problem in problems:
        logger.warning("unreadable MSI source skipped", extra={"problem": problem})
    sources_cache.put_many({"all": sources}, SLOW_CHANGING_SECONDS)
    return sources


def _unmapped(nodes: list[str]) -> None:
    if nodes:
        logger.warning("Sterling nodes without a Commerce source are not shown", extra={"nodes": nodes})
        count(Outcome.UNMAPPED, len(nodes))


# -- clients: one quick retry, the storefront's timeout ----------------------------------------------------


def _seconds() -> float:
    return config.settings().storefront_timeout_ms / 1000


@functools.cache
def storefront_sterling() -> SterlingClient:
    """The container's Sterling session, with the storefront's timeout and one retry."""
    from omsbridge import sterling
    from omsbridge.http import RetryPolicy, timeouts

    settings = config.settings()
    shared = sterling.client()
    policy = RetryPolicy(attempts=2, base_delay=settings.http_retry_base_delay,
                         max_delay=settings.http_retry_max_delay)
    return shared.derive(policy=policy, timeout=timeouts(_seconds(), _seconds()))


@functools.cache
def storefront_commerce() -> CommerceClient:
    from omsbridge.commerce import CommerceClient

    tuned = config.settings().model_copy(update={
        "http_connect_timeout": _seconds(), "http_read_timeout": _seconds(), "http_retry_attempts": 2})
    return CommerceClient.from_settings(tuned, config.secrets())


def _forget() -> None:
    for cache in (availability_cache, delivery_cache, nodes_cache, sources_cache):
        cache.clear()
    for build in (storefront_sterling, storefront_commerce):
        if build.cache_info().currsize:
            build().close()
        build.cache_clear()


config.on_reset(_forget)
