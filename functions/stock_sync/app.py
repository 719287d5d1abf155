"""StockSyncFunction: Sterling availability changes → Commerce MSI source items, in batches.

An EventBridge rule (``ibm.sterling`` / ``inventory.changed``) feeds an SQS queue; Lambda polls it
in batches and this handler reports the messages to retry (``ReportBatchItemFailures``).
StockReconcileStateMachine invokes it too, for the steps of the full reconciliation
(``{"reconcile": "plan" | "page", ...}``). The logic lives in ``omsbridge.flows.stock_sync`` and
``omsbridge.flows.stock_reconcile``.
"""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from omsbridge.flows import stock_reconcile, stock_sync
from omsbridge.observability import logger, metrics, use_flow_dimension

# The whole batch is applied first (one Commerce call for many messages); the processor then only
# turns "which messages failed" into the partial-batch response.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    use_flow_dimension(stock_sync.FLOW)

    def time_left() -> float:
        return float(context.get_remaining_time_in_millis()) / 1000

    step = stock_reconcile.task(event)
    if step is not None:
        return stock_reconcile.run(step, time_left=time_left)
    result = stock_sync.sync_batch(event.get("Records") or [], time_left=time_left)
    logger.info("stock batch applied", extra=result.summary)
    response = process_partial_response(
        event=event, record_handler=result.record_handler, processor=processor, context=context)
    return dict(response)
