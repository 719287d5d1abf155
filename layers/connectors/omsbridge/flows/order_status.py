"""Sterling order events → Commerce: status history, hold / unhold, cancel (OrderStatusFunction).

For each ``order.*`` event Sterling raises:

1. Stale guard: an event older than the last one applied for the order (a watermark on the event
   time, which ingress takes from Sterling's ``Modifyts``) changes nothing. An equal time passes:
   Sterling stamps whole seconds, and two changes within one second are both real.
2. What changed: the order's Sterling state after the event (status, hold state, cancelled lines,
   release; ``mapping.status.Snapshot``) against the one last shown in Commerce
   (``OrderRef.sterling_status``). Nothing changed: a duplicate.
3. Exactly once per (OrderNo, status, hold state) since the last applied change: read the Commerce
   order, plan the writes (``mapping.status.plan``), make them. ``OrderRef.synced_state`` is set
   before hold / unhold / cancel and every comment starts with ``ECHO_MARKER``, so the order export
   flow recognises the Commerce events our writes raise and does not send them back to Sterling.

A Commerce order that does not exist yet is a ``RetryableError``: Lambda retries, then its
on-failure destination keeps the event with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from omsbridge import config, idempotency, state
from omsbridge.errors import PermanentError, RetryableError, ValidationError
from omsbridge.events import STERLING_SOURCE, EventBridgeEvent, SterlingEvent
from omsbridge.mapping import status
from omsbridge.mapping.status import Snapshot, SterlingChange
from omsbridge.observability import Outcome, correlate, count, logger
from omsbridge.state import OrderRef

if TYPE_CHECKING:
    from omsbridge.commerce import CommerceClient

SCOPE = "order_status"
WATERMARK = "watermark#order_status"
HANDLED = frozenset({
    "order.created", "order.changed", "order.hold_changed", "order.cancelled", "order.backordered",
    "order.released",
})


def _commerce(enterprise_code: str = "") -> CommerceClient:
    """Commerce as seen by the order's enterprise (its website's REST store code)."""
    from omsbridge import commerce

    return commerce.client_for(enterprise_code)


def handle(event: EventBridgeEvent) -> dict[str, Any]:
    if event.source != STERLING_SOURCE or event.detail_type not in HANDLED:
        raise ValidationError(f"not a Sterling order event: {event.source} {event.detail_type}")
    detail = SterlingEvent.model_validate(event.detail)
    change = status.change_from_event(event.detail_type, detail.data, detail.time)
    correlate(change.order_no)
    summary: dict[str, Any] = {"order_no": change.order_no, "sterling_status": change.status}
    pk = state.order_key(change.order_no)["pk"]
    applied = state.read_watermark(pk, WATERMARK)
    if applied is not None and change.stamp < applied:
        count(Outcome.STALE)
        logger.info("stale Sterling order event", extra={"time": detail.time, "applied": applied})
        return {**summary, "status": "stale"}
    ref = state.get_order(change.order_no)
    previous = Snapshot.load(ref.sterling_status if ref else None)
    after = change.snapshot(previous)
    if after == previous:
        result: dict[str, Any] = {}
        ran = False
    else:
        key = f"{change.order_no}|{after.key}|after:{applied or '-'}"
        result, ran = idempotency.once(SCOPE, key, lambda: _apply(change, previous, ref))
        _remember(change, after, result["entity_id"])
    state.advance_watermark(pk, change.stamp, WATERMARK, allow_equal=True)
    if ran and (result["actions"] or result["comment"]):
        count(Outcome.PROCESSED)
        logger.info("Sterling order change shown in Commerce", extra=result)
        return {**summary, "status": "processed", **result}
    count(Outcome.DUPLICATE)
    logger.info("Commerce already shows this Sterling order state", extra={"key": after.key})
    return {**summary, "status": "duplicate"}


def _apply(change: SterlingChange, previous: Snapshot | None, ref: OrderRef | None) -> dict[str, Any]:
    """``ref``: the map as ``handle`` read it a moment ago, for the order's enterprise and entity id."""
    client = _commerce(change.enterprise_code or (ref.enterprise_code if ref else ""))
    entity_id = _entity_id(client, ref, change.order_no)
    current = status.commerce_order(client.get_order(entity_id))
    plan = status.plan(change, current, previous)
    if plan.unmapped:
        count(Outcome.UNMAPPED)
        logger.warning("unmapped Sterling order status", extra={"sterling_status": change.status})
    for note in plan.notes:
        logger.warning(note, extra={"commerce_state": current.state})
    if plan.synced_state is not None:
        # Before the write: the Commerce event it raises must already look like our own echo. Read
        # again right before writing: the export flow updates the same map.
        synced = state.get_order(change.order_no) or _new_ref(change, entity_id)
        synced.synced_state = plan.synced_state
        synced.entity_id = synced.entity_id or entity_id
        state.put_order(synced)
    calls: dict[str, Callable[[int], bool]] = {
        "hold": client.hold, "unhold": client.unhold, "cancel": client.cancel,
    }
    for action in plan.actions:
        if not calls[action](entity_id):
            raise PermanentError(
                f"Commerce refused to {action} order {change.order_no} (state {current.state})",
                system="commerce", code=f"{action}_refused")
    if plan.comment is not None and not client.add_order_comment(entity_id, plan.comment, plan.status):
        raise PermanentError(f"Commerce did not add the status comment to order {change.order_no}",
                             system="commerce", code="comment_refused")
    return {"entity_id": entity_id, "actions": list(plan.actions), "comment": plan.comment,
            "commerce_status": plan.status}


def _entity_id(client: CommerceClient, ref: OrderRef | None, increment_id: str) -> int:
    if ref is not None and ref.entity_id is not None:
        return ref.entity_id
    entity_id = client.find_order_entity_id(increment_id)
    if entity_id is None:
        raise RetryableError(f"Commerce order {increment_id} does not exist yet", system="commerce",
                             code="order_not_found")
    return entity_id


def _new_ref(change: SterlingChange, entity_id: int) -> OrderRef:
    # An order Sterling knows but the export flow never mapped (e.g. created before this bridge).
    return OrderRef(increment_id=change.order_no, order_no=change.order_no,
                    enterprise_code=change.enterprise_code or config.settings().sterling_enterprise_code,
                    entity_id=entity_id)


def _remember(change: SterlingChange, after: Snapshot, entity_id: int) -> None:
    # Read again right before writing: the export flow updates the same map.
    ref = state.get_order(change.order_no) or _new_ref(change, entity_id)
    ref.sterling_status = after.dump()
    ref.entity_id = ref.entity_id or entity_id
    known = change.known_holds
    if known is not None:
        # What a Commerce unhold resolves: the hold types the order has in Sterling.
        ref.sterling_holds = list(known)
    state.put_order(ref)
