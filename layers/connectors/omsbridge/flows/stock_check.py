"""The real-time stock check behind ``POST /webhooks/stock-check`` (StockCheckFunction).

Commerce calls this webhook while the shopper waits (add to cart, cart item saved, order placed)
and aborts at the hook's ``timeout``. So: verify the signature (401), read the payload (413, 400),
take what the TTL cache knows, ask Sterling once for every other line under a deadline well inside
the hook's budget, and answer HTTP 200 with ``success`` or an ``exception`` naming what is short.

What the shopper sent and we cannot check — a quantity that is no plain positive number within
Commerce's limits, a configurable option that names none of the parent's children — is an
``exception`` naming the product: fail-open is for our outages, never for input we could not read.
When Sterling (or Commerce, for the children) cannot answer in time, ``STOCK_CHECK_FAIL_MODE`` decides:
``open`` lets the action go on, ``closed`` stops it with a "could not confirm" message. Either way
the answer comes back in time and is counted; nothing here answers a 5xx (docs/stock-check.md).

Imports stay small: the Sterling and Commerce clients (httpx, and boto3 for the secret) load on the
first call that needs them, so rejected requests and cache hits never pay for them.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from omsbridge import config, inbound, webhooks
from omsbridge.cache import TtlCache
from omsbridge.errors import IntegrationError, PermanentError, ValidationError
from omsbridge.mapping import stock_check as mapping
from omsbridge.observability import Outcome, correlate, count, logger

if TYPE_CHECKING:
    import httpx

    from omsbridge.sterling import SterlingClient
    from omsbridge.sterling.iv import IvClient



class Unavailable(Exception):
    """Availability could not be had in time; the fail mode decides the answer."""


class NoChild(Exception):
    """A configurable's add to cart names no child of it: the shopper's input, refused."""

    def __init__(self, products: list[str]) -> None:
        super().__init__(f"no child of {', '.join(products)} matches the option chosen")
        self.products = products


@dataclass
class Answer:
    status: int
    body: Any
    timings: dict[str, float] = field(default_factory=dict)

    def api_result(self) -> dict[str, Any]:
        """The API Gateway (HTTP API, payload 2.0) result, with the time spent as Server-Timing."""
        timing = ", ".join(f"{name};dur={ms:.1f}" for name, ms in self.timings.items())
        headers = {"content-type": "application/json"}
        if timing:
            headers["server-timing"] = timing
        return {"statusCode": self.status, "headers": headers, "body": json.dumps(self.body)}


availability_cache: TtlCache[Decimal] = TtlCache()


def _reject(status: int, error: str, reason: str) -> Answer:
    count(f"rejected_{status}")
    logger.info("stock check rejected", extra={"status": status, "error": error, "reason": reason})
    return Answer(status, {"error": error, "reason": reason})


def handle(event: Mapping[str, Any]) -> dict[str, Any]:
    """An HTTP API request in, the API Gateway result out. Never raises, never answers a 5xx."""
    started = time.perf_counter()
    timings: dict[str, float] = {}
    try:
        answer = _answer(event, timings)
    except Exception:
        logger.exception("stock check failed unexpectedly")
        try:
            answer = _fail_mode_answer("unexpected error")
        except Exception:
            # The settings themselves cannot be read: answer as the default fail mode (open) does.
            logger.exception("stock check settings unreadable")
            answer = Answer(200, webhooks.success())
    answer.timings = {**timings, "total": (time.perf_counter() - started) * 1000}
    return answer.api_result()


def _answer(event: Mapping[str, Any], timings: dict[str, float]) -> Answer:
    settings = config.settings()
    try:
        raw = inbound.raw_body(event)
    except inbound.Refusal as refusal:
        return _reject(refusal.status, refusal.error, refusal.reason)
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    try:
        webhooks.verify(
            raw, headers.get(webhooks.SIGNATURE_HEADER),
            (settings.commerce_webhook_public_key, settings.commerce_webhook_public_key_next),
            settings.commerce_webhook_signed_bytes,
        )
    except webhooks.SignatureError as exc:
        return _reject(401, "bad_signature", str(exc))
    try:
        check = mapping.check_from_payload(inbound.loads(raw))
    except inbound.Refusal as refusal:
        return _reject(refusal.status, refusal.error, refusal.reason)
    except mapping.QuantityError as exc:
        # The shopper's input, not our outage: never let it through unchecked.
        return _refused("invalid_quantity", exc.reason, mapping.invalid_quantity_message(exc.product))
    except ValidationError as exc:
        return _reject(400, "invalid_payload", exc.reason)
    correlate(check.reference or str((event.get("requestContext") or {}).get("requestId") or ""))
    for reason in check.skipped:
        logger.info("line not checked", extra={"reason": reason})
    if not check.lines:
        count(Outcome.PROCESSED)
        return Answer(200, webhooks.success())
    deadline = time.monotonic() + settings.stock_check_timeout_ms / 1000
    try:
        check = _resolve_children(check, deadline, timings)
        available = _availability(check.skus(), deadline, timings)
    except Unavailable as exc:
        return _fail_mode_answer(str(exc))
    except NoChild as exc:
        return _refused("no_child", str(exc), mapping.no_option_message(exc.products))
    shorts = mapping.shortfalls(check.lines, available)
    count(Outcome.PROCESSED)
    extra = {"kind": check.kind, "lines": len(check.lines), "short": [s.line.sku for s in shorts]}
    if not shorts:
        count("in_stock")
        logger.info("stock check passed", extra=extra)
        return Answer(200, webhooks.success())
    count("short")
    logger.info("stock check short", extra=extra)
    return Answer(200, webhooks.exception(mapping.message(shorts)))


def _refused(outcome: str, reason: str, message: str) -> Answer:
    count(outcome)
    logger.info("stock check refused", extra={"outcome": outcome, "reason": reason})
    return Answer(200, webhooks.exception(message))


def _fail_mode_answer(reason: str) -> Answer:
    if config.settings().stock_check_fail_mode == "closed":
        count("fail_closed")
        logger.warning("stock unknown: refused (fail closed)", extra={"reason": reason})
        return Answer(200, webhooks.exception(mapping.unavailable_message()))
    count("fail_open")
    logger.warning("stock unknown: allowed (fail open)", extra={"reason": reason})
    return Answer(200, webhooks.success())


# -- availability under a deadline -------------------------------------------------------------------


def within[T](deadline: float, what: str, call: Callable[[], T]) -> T:
    """``call()``'s result if it comes before ``deadline`` (monotonic); else ``Unavailable``.

    The call runs on a thread of its own so that waiting can stop at the deadline whatever the
    client is doing (a login and a call, each with its own socket timeouts). A late call is left
    to finish: it only reads, and its answer is dropped.
    """
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise Unavailable(f"{what}: no time left")
    outcome: list[tuple[bool, Any]] = []
    done = threading.Event()

    def run() -> None:
        try:
            outcome.append((True, call()))
        except Exception as exc:
            outcome.append((False, exc))
        finally:
            done.set()

    threading.Thread(target=run, name="stock-check-call", daemon=True).start()
    if not done.wait(remaining):
        raise Unavailable(f"{what}: no answer within the stock check timeout")
    succeeded, value = outcome[0]
    if succeeded:
        return value
    if isinstance(value, IntegrationError):
        level = logger.error if isinstance(value, PermanentError) else logger.warning
        level(f"{what} failed", extra=value.describe())
        raise Unavailable(f"{what}: {value.reason}") from value
    raise value


def _availability(skus: list[str], deadline: float, timings: dict[str, float]) -> dict[str, Decimal]:
    cached = availability_cache.get_many(skus)
    if cached:
        count("cache_hit", len(cached))
    missing = [sku for sku in skus if sku not in cached]
    if not missing:
        return cached
    started = time.perf_counter()
    try:
        fetched = within(deadline, "sterling availability", lambda: fetch_available(missing))
    finally:
        # Server-Timing only: omsbridge.http reports each Sterling call's sterling_latency itself.
        timings["sterling"] = (time.perf_counter() - started) * 1000
    # A SKU Sterling did not answer for has nothing available; remember that too.
    answered = {sku: fetched.get(sku, Decimal(0)) for sku in missing}
    availability_cache.put_many(answered, config.settings().stock_check_cache_seconds)
    return {**cached, **answered}


def _ship_nodes() -> list[str]:
    return [node.strip() for node in config.settings().stock_check_ship_nodes.split(",") if node.strip()]


def fetch_available(skus: list[str]) -> dict[str, Decimal]:
    """On-hand quantity per SKU, one call for all SKUs, from where ``STOCK_CHECK_AVAILABILITY`` says:
    Sterling OMS ``getAvailableInventory`` (``oms``), or Inventory Visibility network availability
    for ``STOCK_CHECK_DISTRIBUTION_GROUP`` (``iv_network``) or node availability (``iv_node``)."""
    settings = config.settings()
    nodes = _ship_nodes()
    if settings.stock_check_availability == "iv_network":
        group = settings.stock_check_distribution_group
        request = mapping.iv_network_request(skus, group, settings.sterling_product_class)
        answer = stock_check_iv().network_availability(request)
        return mapping.iv_available(answer, skus, group)
    if settings.stock_check_availability == "iv_node":
        if not nodes:
            raise PermanentError("STOCK_CHECK_SHIP_NODES must name the nodes for iv_node availability",
                                 system="iv", code="config")
        request = mapping.iv_node_request(skus, nodes, settings.sterling_product_class)
        return mapping.iv_available(stock_check_iv().node_availability(request), skus)
    available: dict[str, Decimal] = {}
    for line in stock_check_sterling().get_available_inventory(skus, nodes):
        if line.item_id:
            available[line.item_id] = available.get(line.item_id, Decimal(0)) + line.available.available_onhand_quantity
    return available


def _deadline_timeout() -> httpx.Timeout:
    from omsbridge.http import timeouts

    seconds = config.settings().stock_check_timeout_ms / 1000
    return timeouts(seconds, seconds)


@functools.cache
def stock_check_sterling() -> SterlingClient:
    """The container's Sterling client (same session), with one attempt and the stock check's
    timeout: a retry would not fit in the hook's budget."""
    from omsbridge import sterling
    from omsbridge.http import RetryPolicy

    shared = sterling.client()
    return shared.derive(policy=RetryPolicy(attempts=1), timeout=_deadline_timeout())


@functools.cache
def stock_check_iv() -> IvClient:
    from omsbridge.http import RetryPolicy
    from omsbridge.sterling.iv import IvClient

    secrets = config.secrets()
    return IvClient(config.settings().iv_base_url, secrets.iv_client_id.get_secret_value(),
                    secrets.iv_client_secret.get_secret_value(), policy=RetryPolicy(attempts=1),
                    timeout=_deadline_timeout())


# -- configurable children --------------------------------------------------------------------------


def _resolve_children(check: mapping.Check, deadline: float,
                      timings: dict[str, float]) -> mapping.Check:
    """The check with each configurable parent replaced by the child the shopper chose. A choice
    that names none of the parent's children (after asking Commerce afresh, in case the catalog
    changed) raises ``NoChild``; Commerce not answering in time raises ``Unavailable``."""
    parents = [line for line in check.lines if line.choice is not None]
    if not parents:
        return check
    started = time.perf_counter()
    chosen: dict[str, str] = {}
    try:
        for line in parents:
            choice = line.choice or mapping.Choice()
            sku = mapping.chosen_child(within(deadline, "commerce configurable children",
                                              functools.partial(configurable_children, line.sku)), choice)
            if sku is None:
                sku = mapping.chosen_child(within(deadline, "commerce configurable children", functools.partial(
                    configurable_children, line.sku, fresh=True)), choice)
            if sku is not None:
                chosen[line.sku] = sku
    finally:
        timings["commerce"] = (time.perf_counter() - started) * 1000
    unresolved = [line.label() for line in parents if line.sku not in chosen]
    if unresolved:
        raise NoChild(unresolved)
    return mapping.resolve_children(check, chosen)


def configurable_children(parent_sku: str, *, fresh: bool = False) -> list[dict[str, Any]]:
    """The parent's children as Commerce lists them; none when Commerce has no such configurable."""
    from omsbridge import commerce

    return commerce.client().configurable_children(parent_sku, fresh=fresh, missing_ok=True)


def _forget() -> None:
    availability_cache.clear()
    for build in (stock_check_sterling, stock_check_iv):
        if build.cache_info().currsize:
            build().close()
        build.cache_clear()


config.on_reset(_forget)
