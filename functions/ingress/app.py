"""IngressFunction: the one door onto the bus, for Sterling, Inventory Visibility and Adobe I/O Events."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths

from omsbridge import inbound
from omsbridge.errors import RetryableError
from omsbridge.flows import ingress, iv_webhook
from omsbridge.observability import logger, metrics, use_flow_dimension

app = APIGatewayHttpResolver()


def _raw_body() -> bytes:
    return inbound.raw_body(app.current_event.raw_event)


def _answer(answer: ingress.Answer) -> Response[Any]:
    return Response(status_code=answer.status, content_type=content_types.APPLICATION_JSON, body=answer.body,
                    headers=answer.headers or None)


@app.post("/events/sterling/<detail_type>")
def sterling_event(detail_type: str) -> Response[Any]:
    return _answer(ingress.accept_sterling(detail_type, app.current_event.headers, _raw_body()))


@app.post("/events/iv/token")
def iv_token() -> Response[Any]:
    return _answer(iv_webhook.token(app.current_event.headers, _raw_body()))


@app.post("/events/iv")
def iv_events() -> Response[Any]:
    return _answer(iv_webhook.deliver(app.current_event.headers, _raw_body()))


# One I/O Events registration carries Commerce's and Sterling's providers: /events/adobe-io says so,
# /events/commerce stays for the registrations that already point at it.
@app.get("/events/commerce")
@app.get("/events/adobe-io")
def io_events_challenge() -> Response[Any]:
    return _answer(ingress.challenge(app.current_event.query_string_parameters or {}))


@app.post("/events/commerce")
@app.post("/events/adobe-io")
def io_events_delivery() -> Response[Any]:
    return _answer(ingress.accept_io_events(app.current_event.headers, _raw_body()))


@app.exception_handler(RetryableError)
def bus_unavailable(error: RetryableError) -> Response[Any]:
    # 503 tells Sterling and I/O Events to send again: the event is not lost.
    logger.warning("bus unavailable", extra=error.describe())
    return _answer(ingress.Answer(503, {"error": "unavailable", "reason": error.reason}))


@app.exception_handler(inbound.Refusal)
def refused(refusal: inbound.Refusal) -> Response[Any]:
    return _answer(ingress.reject(refusal.status, refusal.error, refusal.reason))


@app.not_found
def not_found(_: Exception) -> Response[Any]:
    return _answer(ingress.reject(404, "not_found", "no such route"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    use_flow_dimension("ingress")
    return inbound.oversized(event) or app.resolve(event, context)
