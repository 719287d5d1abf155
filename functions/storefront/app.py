"""StorefrontFunction: the public, read-only API behind the storefront components.

``GET /storefront/stock``, ``/storefront/pickup-locations`` and ``/storefront/delivery-estimate``
answer JSON for shoppers' browsers; the logic lives in ``omsbridge.flows.storefront``. CORS is
answered here per request (only the configured ``STOREFRONT_ORIGINS``), because the HTTP API is
shared with the integration's own routes, which must not be callable from browsers.

Three fixed routes are dispatched on the HTTP API's ``routeKey`` (the template's own, never the
stage-prefixed path) rather than with Powertools' event handler: importing that package imports
every resolver it has (AppSync, Bedrock, VPC Lattice...), a cost each shopper's cold start would pay
(``python bench/storefront.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.logging import correlation_paths

from omsbridge import inbound
from omsbridge.flows import storefront
from omsbridge.observability import logger, metrics, use_flow_dimension

ROUTES: dict[str, Callable[[Mapping[str, str] | None], storefront.Answer]] = {
    "GET /storefront/stock": storefront.stock,
    "GET /storefront/pickup-locations": storefront.pickup_locations,
    "GET /storefront/delivery-estimate": storefront.delivery_estimate,
}


def _answer(event: dict[str, Any]) -> storefront.Answer:
    route = ROUTES.get(str(event.get("routeKey") or ""))
    if route is None:
        return storefront.rejected(404, "not_found", "no such route")
    try:
        return route(event.get("queryStringParameters"))
    except Exception:
        # The shopper gets a plain JSON error; the traceback goes to the log only.
        logger.exception("storefront request failed unexpectedly")
        return storefront.rejected(500, "internal", "Something went wrong. Please try again.")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    use_flow_dimension("storefront")
    headers = event.get("headers") or {}
    return inbound.oversized(event) or _answer(event).api_result(headers.get("origin"))
