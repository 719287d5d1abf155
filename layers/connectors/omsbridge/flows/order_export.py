"""Commerce order events → Sterling: the order is created once, then Commerce-side cancel / hold /
unhold follow it as ``changeOrder``.

``sales_order_save_commit_after`` fires on every save of an order, so most events for an exported
order change nothing. What decides:

* not exported yet → ``createOrder``, exactly once per ``increment_id`` (idempotency record; a
  Sterling "order already exists" answer means an earlier attempt got through, so it counts as
  success);
* exported → compare the event's Commerce ``state`` with ``OrderRef.commerce_state`` (the last one
  seen here) and ``OrderRef.synced_state`` (the one Sterling reflects). Equal to the last seen: no
  Commerce-side change (a comment, an invoice...). Equal to the synced one: the echo of a write
  OrderStatusFunction made into Commerce, dropped. Otherwise cancel / hold / unhold, once.
* older than the newest event already handled for the order (Commerce ``updated_at``) → stale.

An event narrowed by its subscription (no items, addresses, payment...) is completed first: the
order is read from Commerce (``omsbridge.commerce.documents``) and that is what is exported. The
order's website decides its Sterling enterprise and seller (``omsbridge.websites``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omsbridge import config, idempotency, state, sterling, timeutil, websites
from omsbridge.commerce import documents
from omsbridge.errors import ValidationError
from omsbridge.events import ECHO_MARKER, CommerceEvent, EventBridgeEvent
from omsbridge.mapping import order as mapping
from omsbridge.mapping.order import CommerceOrder
from omsbridge.observability import Outcome, correlate, count, logger
from omsbridge.state import OrderRef
from omsbridge.sterling import RECORD_EXISTS, SterlingClient, SterlingError

if TYPE_CHECKING:
    from omsbridge.commerce import CommerceClient

EXPORT_SCOPE = "order_export"
CHANGE_SCOPE = "order_change"
WATERMARK = "watermark#order_export"


def _sterling() -> SterlingClient:
    return sterling.client()


def _commerce() -> CommerceClient:
    from omsbridge import commerce

    return commerce.client()


def handle(event: EventBridgeEvent) -> dict[str, Any]:
    cloud_event = CommerceEvent.model_validate(event.detail)
    order = mapping.parse_order(_order_value(cloud_event))
    correlate(order.increment_id)
    ref = state.get_order(order.increment_id)
    if ref is None:
        skipped = _not_exportable_yet(order)
        if skipped is not None:
            return skipped
        # Recorded so older events that arrive later are stale; never a reason not to export.
        _newest_seen(order)
        ref, created = _export(order, cloud_event)
        if created:
            return {"status": "exported", "order_no": ref.order_no, "lines": len(ref.lines)}
    return _follow(order, ref, cloud_event.id)


def _order_value(cloud_event: CommerceEvent) -> dict[str, Any]:
    value, read = documents.complete(documents.ORDER, cloud_event.data.value, _commerce)
    return mapping.from_rest(value) if read else value


def _not_exportable_yet(order: CommerceOrder) -> dict[str, Any] | None:
    conf = mapping.settings()
    if order.state in conf["defer_states"]:
        # Payment not settled: a later save of the order exports it.
        count("deferred")
        logger.info("order not exported yet", extra={"state": order.state})
        return {"status": "deferred", "order_no": order.increment_id, "state": order.state}
    if order.state in conf["unexported_final_states"]:
        count("skipped")
        logger.info("order ended before it was exported", extra={"state": order.state})
        return {"status": "skipped", "order_no": order.increment_id, "state": order.state}
    return None


def _export(order: CommerceOrder, cloud_event: CommerceEvent) -> tuple[OrderRef, bool]:
    settings = config.settings()
    site = websites.of_order(order.store_id, (cloud_event.data.model_extra or {}).get("_metadata"), _commerce)
    exported = mapping.create_order_input(
        order, enterprise_code=site.enterprise_code, seller_organization_code=site.seller_organization_code,
        currency=site.currency, hold_amount=settings.order_hold_amount, product_class=settings.sterling_product_class,
        payment_type_fallback=settings.sterling_payment_type_fallback, fallback_date=cloud_event.time,
        regions={country: _commerce().region_codes(country) for country in mapping.regions_to_resolve(order)},
    )

    def create() -> dict[str, Any]:
        for warning in exported.warnings:
            logger.warning(warning)
            count(Outcome.UNMAPPED)
        header_key = _create_order(exported.body)
        # Kept with the idempotency record: whoever stores the map later starts from what Sterling got.
        return {"order_header_key": header_key, "state": order.state, "hold_types": exported.hold_types}

    result, ran = idempotency.once(EXPORT_SCOPE, order.increment_id, create)
    ref = OrderRef(
        increment_id=order.increment_id,
        order_no=order.increment_id,
        enterprise_code=site.enterprise_code,
        entity_id=order.order_entity_id(),
        order_header_key=result["order_header_key"],
        lines=exported.lines,
        synced_state=result["state"],
        commerce_state=result["state"],
        payment=exported.payment,
        hold_types=result["hold_types"],
    )
    state.put_order(ref)
    count(Outcome.PROCESSED if ran else Outcome.DUPLICATE)
    logger.info("order exported" if ran else "order already exported", extra={"lines": len(ref.lines)})
    return ref, ran


def _create_order(body: dict[str, Any]) -> str | None:
    client = _sterling()
    try:
        return client.create_order(body).order_header_key or None
    except SterlingError as exc:
        # Sterling's duplicate-key answer: an earlier attempt created the order (its answer lost to
        # a timeout, or an idempotency record gone). Success, once the order is really there.
        if exc.code != RECORD_EXISTS:
            raise
        existing = client.find_order(body["OrderNo"], enterprise_code=body["EnterpriseCode"])
        if existing is None:
            raise
        logger.info("order already in Sterling", extra={"code": exc.code})
        return existing.order_header_key or None


def _newest_seen(order: CommerceOrder) -> bool:
    """Advance the order's watermark to this event; False when a newer event was handled."""
    if not order.updated_at:
        return True
    try:
        stamp = timeutil.event_stamp(order.updated_at)
    except ValueError as exc:
        raise ValidationError(f"Commerce order updated_at {order.updated_at[:64]!r} refused: {exc}") from exc
    return state.advance_watermark(state.order_key(order.increment_id)["pk"], stamp, WATERMARK, allow_equal=True)


def _follow(order: CommerceOrder, ref: OrderRef, event_id: str) -> dict[str, Any]:
    summary: dict[str, Any] = {"order_no": ref.order_no, "state": order.state}
    if not _newest_seen(order):
        count(Outcome.STALE)
        logger.info("stale order event", extra={"updated_at": order.updated_at})
        return {**summary, "status": "stale"}
    learned = _learn_ids(ref, order)
    if order.state == ref.commerce_state:
        echo = mapping.carries_echo_marker(order, ECHO_MARKER)
        if learned:
            state.put_order(ref)
        count(Outcome.LOOP_DROPPED if echo else Outcome.DUPLICATE)
        return {**summary, "status": "loop_dropped" if echo else "unchanged"}
    if order.state == ref.synced_state:
        # OrderStatusFunction wrote this state into Commerce after Sterling had it: our own echo.
        ref.commerce_state = order.state
        state.put_order(ref)
        count(Outcome.LOOP_DROPPED)
        logger.info("own change echoed back", extra={"state": order.state})
        return {**summary, "status": "loop_dropped"}
    change = mapping.change_for(ref.synced_state, order.state)
    if change is not None:
        key = f"{order.increment_id}#{order.state}#{order.updated_at or event_id}"
        _, ran = idempotency.once(CHANGE_SCOPE, key, lambda: _change_order(ref, change))
        _holds_after(ref, change)
        count(Outcome.PROCESSED if ran else Outcome.DUPLICATE)
        logger.info("Commerce change sent to Sterling", extra={"change": change, "state": order.state})
        ref.synced_state = order.state
    else:
        # A step Sterling has no counterpart for (say, the unhold before our own cancel) says nothing
        # about what Sterling reflects: keep ``synced_state``, or the next echo would look new.
        count("no_change")
    ref.commerce_state = order.state
    state.put_order(ref)
    return {**summary, "status": change or "unchanged"}


def _change_order(ref: OrderRef, change: mapping.Change) -> dict[str, Any]:
    if change == "cancel":
        document = mapping.cancel_input(ref.order_no, ref.enterprise_code)
    elif change == "hold":
        document = mapping.hold_input(ref.order_no, ref.enterprise_code)
    else:
        holds = _holds_to_resolve(ref)
        if not holds:
            logger.info("Commerce unhold: the Sterling order is on no hold")
            return {"change": change, "resolved": []}
        document = mapping.resolve_holds_input(ref.order_no, ref.enterprise_code, holds)
    # Each document sets an absolute state (cancelled, hold applied / resolved): safe to repeat.
    _sterling().change_order(document, idempotent=True)
    return {"change": change}


def _holds_to_resolve(ref: OrderRef) -> list[str]:
    """The hold types active on the Sterling order: a Commerce unhold releases exactly those.
    Resolving a hold type the order does not have would apply it (IBM support swg21991521)."""
    if ref.sterling_holds is not None:
        return list(ref.sterling_holds)
    holds = _sterling().get_order_holds(ref.order_no, enterprise_code=ref.enterprise_code)
    return [hold.hold_type for hold in holds.active_holds]


def _holds_after(ref: OrderRef, change: mapping.Change) -> None:
    if change == "unhold":
        ref.hold_types, ref.sterling_holds = [], []
    elif change == "hold":
        hold_type = mapping.settings()["commerce_hold_type"]
        ref.hold_types = list(dict.fromkeys([*ref.hold_types, hold_type]))
        if ref.sterling_holds is not None:
            ref.sterling_holds = list(dict.fromkeys([*ref.sterling_holds, hold_type]))


def _learn_ids(ref: OrderRef, order: CommerceOrder) -> bool:
    """Fill in ids the exporting event lacked (``sales_order_place_after`` fires before Commerce
    assigns them). Returns whether anything was learned."""
    learned = False
    entity_id = order.order_entity_id()
    if ref.entity_id is None and entity_id is not None:
        ref.entity_id = entity_id
        learned = True
    if any(line.order_item_id is None for line in ref.lines):
        fresh = {(line.prime_line_no, line.sku): line for line in mapping.line_refs(order)}
        for line in ref.lines:
            known = fresh.get((line.prime_line_no, line.sku))
            if line.order_item_id is None and known is not None and known.order_item_id is not None:
                line.order_item_id = known.order_item_id
                line.parent_item_id = known.parent_item_id
                line.child_item_id = known.child_item_id
                learned = True
    return learned
