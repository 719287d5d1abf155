"""StockCheckFunction: the real-time stock-check Commerce webhook (``POST /webhooks/stock-check``).

Commerce waits for this answer, so the module imports only what the request path needs: no boto3
(the Sterling secret is read on the first call that needs it), no X-Ray SDK (no Powertools
Tracer), no event-handler router. Powertools Logger and Metrics stay: bench/stock_check.py shows
what they cost. The logic lives in ``omsbridge.flows.stock_check``.
"""

from __future__ import annotations

from typing import Any

from omsbridge.flows import stock_check
from omsbridge.observability import logger, metrics, use_flow_dimension


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    use_flow_dimension("stock_check")
    return stock_check.handle(event)
