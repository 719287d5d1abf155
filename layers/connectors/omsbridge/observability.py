"""Logger and metrics shared by every flow.

Each flow counts its outcomes under one namespace, with the flow as a dimension, so the dashboard
can show processed / duplicate / stale / loop_dropped / retried / permanent_failure per flow.
"""

from __future__ import annotations

from enum import StrEnum

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

NAMESPACE = "OmsBridge"

logger = Logger()
metrics = Metrics(namespace=NAMESPACE)


class Outcome(StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    STALE = "stale"
    LOOP_DROPPED = "loop_dropped"
    RETRIED = "retried"
    PERMANENT_FAILURE = "permanent_failure"
    UNMAPPED = "unmapped"


def use_flow_dimension(flow: str) -> None:
    """Every metric of this invocation carries the flow (set once: Powertools warns on re-adding)."""
    if metrics.default_dimensions.get("flow") != flow:
        metrics.set_default_dimensions(flow=flow)


def count(outcome: Outcome | str, value: float = 1) -> None:
    metrics.add_metric(name=str(outcome), unit=MetricUnit.Count, value=value)


def latency(system: str, milliseconds: float) -> None:
    metrics.add_metric(name=f"{system}_latency", unit=MetricUnit.Milliseconds, value=milliseconds)


def correlate(correlation_id: str) -> None:
    """One id per business object (order number, shipment number) on every later log line."""
    logger.set_correlation_id(correlation_id)
    logger.append_keys(correlation_id=correlation_id)
