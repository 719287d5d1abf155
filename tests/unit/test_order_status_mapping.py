"""Sterling order events → Commerce hold / unhold / cancel and status-history comment, as data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from omsbridge import config
from omsbridge.errors import PermanentError, ValidationError
from omsbridge.mapping import status
from omsbridge.mapping.status import CommerceOrder, Snapshot
from tests.support import foreign

T0 = "2025-03-01T10:00:00+00:00"
M = "[oms-bridge]"


@pytest.fixture(autouse=True)
def _fresh_tables(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("MAPPING_OVERRIDES", raising=False)
    config.reset()
    yield
    config.reset()


def line(prime: int, sku: str, code: str, *, node: str = "", qty: str = "1.00", sub: str = "1") -> dict[str, Any]:
    return {"PrimeLineNo": str(prime), "SubLineNo": sub, "OrderedQty": qty, "MinLineStatus": code,
            "MaxLineStatus": code, "Status": "", "ShipNode": node,
            "Item": {"ItemID": sku, "UnitOfMeasure": "EACH"}}


def order(*lines: dict[str, Any], hold: str = "N", holds: list[dict[str, str]] | None = None,
          **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"OrderNo": "000000617", "EnterpriseCode": "DEFAULT", "DocumentType": "0001",
                           "OrderHeaderKey": "202503011000001", "HoldFlag": hold,
                           "OrderLines": {"OrderLine": list(lines)}, **extra}
    if holds is not None:
        doc["OrderHoldTypes"] = {"OrderHoldType": holds}
    return doc


def commerce(state: str = "processing", status_: str | None = None, **extra: Any) -> CommerceOrder:
    return CommerceOrder(entity_id=617, state=state, status=status_ or status.DEFAULT_STATUS[state], **extra)


FRAUD = {"HoldType": "FRAUD_HOLD", "Status": "1100", "ReasonText": "Address mismatch"}
FRAUD_RESOLVED = {"HoldType": "FRAUD_HOLD", "Status": "1300", "ReasonText": "Address mismatch"}
HELD = Snapshot(status="1500", held=True, holds=("FRAUD_HOLD",))
SCHEDULED = Snapshot(status="1500", held=False)
RELEASE = {"OrderReleaseKey": "R1", "ReleaseNo": "1", "SalesOrderNo": "000000617", "EnterpriseCode": "DEFAULT",
           "ShipNode": "DC_EAST", "OrderLines": {"OrderLine": [line(1, "SKU-A", "3200", node="DC_EAST")]}}


# -- status codes and the table ---------------------------------------------------------------


@pytest.mark.parametrize(("code", "row"), [
    pytest.param("1100", "1100", id="exact"),
    pytest.param("3350.10", "3350", id="tenant-sub-status-in-its-range"),
    pytest.param("3350.10.20", "3350", id="deeper-sub-status"),
    pytest.param("3360", "3350", id="unknown-whole-code-up-to-next-row"),
    pytest.param("3700.01", "3700.01", id="own-sub-status-row"),
    pytest.param("3700.01.5", "3700.01", id="child-of-sub-status-row"),
    pytest.param("3700.30", "3700", id="sibling-of-sub-status-rows-uses-parent"),
    pytest.param("9000.100", "9000", id="cancelled-sub-status"),
    pytest.param("999", None, id="below-every-row"),
])
def test_row_for_compares_dotted_numbers(code: str, row: str | None) -> None:
    parsed = status.parse_code(code)
    assert parsed is not None
    found = status.row_for(parsed)
    assert (found.key if found else None) == row


@pytest.mark.parametrize(("text", "parts", "shown"), [
    ("3350.10", (3350, 10), "3350.10"), (" 1100 ", (1100,), "1100"),
    ("1100.70.06.30", (1100, 70, 6, 30), "1100.70.06.30"),
    ("Created", None, None), ("", None, None), (None, None, None), ("3350.", None, None), ("3350.1a", None, None),
])
def test_parse_code(text: str | None, parts: tuple[int, ...] | None, shown: str | None) -> None:
    code = status.parse_code(text)
    assert (code.parts, str(code)) == (parts, shown) if code else (parts, shown) == (None, None)


def test_codes_compare_as_dotted_numbers() -> None:
    codes = [status.parse_code(text) for text in ("3700", "3350.10", "1100.70.06.30", "3350", "3350.9", "9000")]
    assert [str(code) for code in sorted(c for c in codes if c)] == [
        "1100.70.06.30", "3350", "3350.9", "3350.10", "3700", "9000"]


def test_override_adds_a_tenant_sub_status_row(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAPPING_OVERRIDES", json.dumps({"order_statuses": {
        "3350.10": {"state": "processing", "status": "ready_for_pickup", "comment": "Ready at {node}"}}}))
    config.reset()
    change = status.change_from_event("order.changed", order(line(1, "SKU-A", "3350.10", node="store_1")), T0)
    result = status.plan(change, commerce(), SCHEDULED)
    assert (result.comment, result.status) == (f"{M} Ready at store_1", "ready_for_pickup")
    assert status.row_for(status.Code((3350, 20), "3350.20")).key == "3350"  # type: ignore[union-attr]


# -- reading Sterling documents -----------------------------------------------------------------


@pytest.mark.parametrize(("detail_type", "doc", "expected"), [
    pytest.param(
        "order.created", order(line(1, "SKU-A", "1100"), line(2, "SKU-B", "1100")),
        {"status": "1100", "held": False, "lines": ("line 1 SKU-A", "line 2 SKU-B"), "key": "1100|free"},
        id="created"),
    pytest.param(
        "order.changed", {**order(line(1, "SKU-A", "1100")), "OrderLines": {"OrderLine": line(1, "SKU-A", "1500")}},
        {"status": "1500", "lines": ("line 1 SKU-A",)}, id="lone-line-as-object"),
    pytest.param(
        "order.backordered",
        order(line(1, "SKU-A", "1500", node="DC_EAST"), line(2, "SKU-B", "1300")),
        {"status": "1300", "lines": ("line 2 SKU-B",), "key": "1300|free"}, id="least-advanced-line-wins"),
    pytest.param(
        "order.hold_changed", order(line(1, "SKU-A", "1500"), hold="Y", holds=[FRAUD, {
            "HoldType": "CREDIT_HOLD", "Status": "1300"}]),
        {"held": True, "active_holds": ("FRAUD_HOLD",), "hold_reasons": ("FRAUD_HOLD (Address mismatch)",),
         "resolved_holds": ("CREDIT_HOLD",), "key": "1500|held:FRAUD_HOLD"}, id="hold-applied"),
    pytest.param(
        "order.hold_changed", order(line(1, "SKU-A", "1500"), holds=[FRAUD_RESOLVED]),
        {"held": False, "resolved_holds": ("FRAUD_HOLD",), "key": "1500|free"}, id="hold-resolved"),
    pytest.param(
        "order.changed", {"OrderNo": "000000617", "MinOrderStatus": "1500", "MaxOrderStatus": "3200"},
        {"status": "1500", "held": None, "key": "1500|hold?"}, id="header-only-no-hold-info"),
    pytest.param(
        "order.cancelled", order(line(1, "SKU-A", "9000", qty="0.00"), line(2, "SKU-B", "9000", qty="0.00")),
        {"status": "9000", "cancelled_whole": True, "key": "9000|free|cancelled:line 1 SKU-A+line 2 SKU-B"},
        id="whole-order-cancelled"),
    pytest.param(
        "order.cancelled", order(line(1, "SKU-A", "1500"), line(2, "SKU-B", "1500", qty="0.00", sub="2")),
        {"status": "1500", "cancelled_whole": False, "cancelled_lines": ("line 2.2 SKU-B",)},
        id="line-cancelled-by-zero-quantity"),
    pytest.param(
        "order.cancelled", order({**line(1, "SKU-A", "1500", qty="1.00"), "OriginalOrderedQty": "3.00"},
                                 {**line(2, "SKU-B", "9000", qty="0.00"), "OriginalOrderedQty": "2.00"},
                                 {**line(3, "SKU-C", "1500", qty="1.00"), "OriginalOrderedQty": "1.00"}),
        {"status": "1500", "cancelled_whole": False, "cancelled_lines": ("line 1 SKU-A x2", "line 2 SKU-B x2")},
        id="part-of-a-line-cancelled"),
    pytest.param(
        "order.cancelled", {"OrderNo": "000000617", "Status": "9000", "HoldFlag": "N"},
        {"status": "9000", "cancelled_whole": True}, id="cancelled-header-only"),
    pytest.param(
        "order.released", RELEASE,
        {"status": "3200", "nodes": ("DC_EAST",), "release": "1@DC_EAST", "held": None,
         "key": "3200|hold?|release:1@DC_EAST"}, id="release-document"),
    pytest.param(
        "order.released", {"ReleaseNo": "2", "Order": {"OrderNo": "000000617", "HoldFlag": "N"},
                           "ShipNode": "DC_WEST"},
        {"status": "3200", "nodes": ("DC_WEST",), "held": False, "key": "3200|free|release:2@DC_WEST"},
        id="release-with-order-element-and-no-lines"),
    pytest.param(
        "order.released", {**RELEASE, "Status": "3200", "OrderLines": {"OrderLine": [
            {**line(1, "SKU-A", "1500", node="DC_EAST"), "MaxLineStatus": "3200"}]}},
        {"status": "3200", "lines": ("line 1 SKU-A",)}, id="release-status-over-partly-released-line"),
    pytest.param(
        "order.changed", order(line(1, "SKU-A", ""), Status="Created"),
        {"code": None, "status": "Created", "description": "Created", "key": "Created|free"}, id="description-only"),
])
def test_change_from_event(detail_type: str, doc: dict[str, Any], expected: dict[str, Any]) -> None:
    change = status.change_from_event(detail_type, doc, T0)
    assert change.order_no == "000000617"
    assert change.stamp == "2025-03-01T10:00:00.000000Z"
    key = expected.pop("key", None)
    assert {name: getattr(change, name) for name in expected} == expected
    if key is not None:
        assert change.snapshot(None).key == key


@pytest.mark.parametrize(("detail_type", "doc", "time", "reason"), [
    pytest.param("order.changed", {"Status": "1100"}, T0, "Sterling order.changed document names no OrderNo",
                 id="no-order-no"),
    pytest.param("order.changed", {"OrderNo": "1", "OrderLines": {"OrderLine": ["x"]}}, T0,
                 "malformed Sterling order document: OrderLines.OrderLine.0: Input should be a valid dictionary",
                 id="line-not-an-object"),
    pytest.param("order.changed", {"OrderNo": "1"}, "yesterday",
                 "Sterling event time 'yesterday' refused: Invalid isoformat string: 'yesterday'", id="bad-time"),
    pytest.param("order.changed", {"OrderNo": "1"}, "2999-01-01T00:00:00Z",
                 "Sterling event time '2999-01-01T00:00:00Z' refused: 2999-01-01T00:00:00Z is more than 300 seconds "
                 "in the future", id="future-time"),
    # IBM's cancelWebhook/README.md request (tests/fixtures/foreign/ibm-oms-connector/cancelWebhook_request.json):
    # an order number and nothing Commerce could show.
    pytest.param("order.cancelled", foreign("cancelWebhook_request.json")["data"], T0,
                 "Sterling order.cancelled document for order 383 states no status, hold or lines", id="bare-order"),
])
def test_change_from_event_rejects(detail_type: str, doc: dict[str, Any], time: str, reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        status.change_from_event(detail_type, doc, time)
    assert caught.value.reason.startswith(reason)


def test_snapshot_keeps_what_a_release_does_not_say() -> None:
    change = status.change_from_event("order.released", RELEASE, T0)
    after = change.snapshot(HELD)
    assert after == Snapshot(status="3200", held=True, holds=("FRAUD_HOLD",), release="1@DC_EAST")
    assert Snapshot.load(after.dump()) == after
    assert Snapshot.load({}) is None
    later = status.change_from_event("order.changed", order(line(1, "SKU-A", "3200"), holds=[FRAUD_RESOLVED]), T0)
    assert later.snapshot(after) == Snapshot(status="3200", held=False, release="1@DC_EAST")


@pytest.mark.parametrize(("doc", "known"), [
    (order(line(1, "SKU-A", "1100"), hold="Y", holds=[FRAUD, {**FRAUD_RESOLVED, "HoldType": "AMOUNT"}]),
     ("FRAUD_HOLD",)),
    (order(line(1, "SKU-A", "1100"), hold="N", holds=[FRAUD_RESOLVED]), ()),
    (order(line(1, "SKU-A", "1100"), hold="N"), ()),
    (order(line(1, "SKU-A", "1100"), hold="Y"), None),
    ({**RELEASE, "Order": {"OrderNo": "000000617", "HoldFlag": "Y"}}, None),
])
def test_the_hold_types_an_event_tells(doc: dict[str, Any], known: tuple[str, ...] | None) -> None:
    detail_type = "order.released" if "ReleaseNo" in doc else "order.hold_changed"
    assert status.change_from_event(detail_type, doc, T0).known_holds == known


# -- what to write into Commerce ----------------------------------------------------------------

PLAN_CASES = [
    pytest.param(
        "order.created", order(line(1, "SKU-A", "1100")), commerce(), None,
        ((), f"{M} Created in Sterling (1100)", "processing", None), id="created-keeps-status"),
    pytest.param(
        "order.created", order(line(1, "SKU-A", "1100"), hold="Y", holds=[FRAUD]), commerce(), None,
        (("hold",), f"{M} On hold in Sterling: FRAUD_HOLD (Address mismatch)", "holded", "holded"),
        id="created-on-hold"),
    pytest.param(
        "order.changed", order(line(1, "SKU-A", "1500", node="DC_EAST")), commerce(),
        Snapshot(status="1100", held=False),
        ((), f"{M} Scheduled in Sterling (1500)", "processing", None), id="scheduled"),
    pytest.param(
        "order.changed", order(line(1, "SKU-A", "1500")), commerce("new"), Snapshot(status="1100", held=False),
        ((), f"{M} Scheduled in Sterling (1500)", "pending", None),
        id="scheduled-on-pending-order-keeps-status-of-its-state"),
    pytest.param(
        "order.changed", order(line(1, "SKU-A", "3350.10", node="store_1")), commerce(), SCHEDULED,
        ((), f"{M} Included in shipment in Sterling (3350.10)", "processing", None), id="tenant-sub-status"),
    pytest.param(
        "order.changed", order(line(1, "SKU-A", "3350.05")), commerce(), SCHEDULED,
        ((), f"{M} Included in shipment in Sterling (3350.05)", "processing", None),
        id="sub-status-shown-as-sterling-wrote-it"),
    pytest.param(
        "order.hold_changed", order(line(1, "SKU-A", "1500"), hold="Y", holds=[FRAUD]), commerce(), SCHEDULED,
        (("hold",), f"{M} On hold in Sterling: FRAUD_HOLD (Address mismatch)", "holded", "holded"),
        id="hold-applied"),
    pytest.param(
        "order.hold_changed", order(line(1, "SKU-A", "1500"), holds=[FRAUD_RESOLVED]),
        commerce("holded", hold_before_state="processing", hold_before_status="processing"), HELD,
        (("unhold",), f"{M} Hold resolved in Sterling: FRAUD_HOLD", "processing", "processing"),
        id="hold-resolved"),
    pytest.param(
        "order.hold_changed", order(line(1, "SKU-A", "1500"), holds=[FRAUD_RESOLVED]),
        commerce("holded", hold_before_state="new", hold_before_status="pending"), HELD,
        (("unhold",), f"{M} Hold resolved in Sterling: FRAUD_HOLD", "pending", "new"),
        id="hold-resolved-back-to-pending"),
    pytest.param(
        "order.hold_changed", order(line(1, "SKU-A", "1500"), hold="Y", holds=[FRAUD]), commerce("holded"),
        SCHEDULED, ((), f"{M} On hold in Sterling: FRAUD_HOLD (Address mismatch)", "holded", None),
        id="hold-applied-commerce-already-holded"),
    pytest.param(
        "order.hold_changed", order(line(1, "SKU-A", "1500"), hold="Y", holds=[
            FRAUD, {"HoldType": "CREDIT_HOLD", "Status": "1100"}]), commerce("holded"), HELD,
        ((), f"{M} On hold in Sterling: FRAUD_HOLD (Address mismatch), CREDIT_HOLD", "holded", None),
        id="second-hold-type"),
    pytest.param(
        "order.hold_changed", order(line(1, "SKU-A", "3700"), hold="Y", holds=[FRAUD]), commerce("complete"),
        Snapshot(status="3700", held=False),
        ((), f"{M} On hold in Sterling: FRAUD_HOLD (Address mismatch)", "complete", None),
        id="hold-on-complete-order-is-a-comment"),
    pytest.param(
        "order.changed", order(line(1, "SKU-A", "1500"), hold="Y", holds=[FRAUD]), commerce("holded"),
        Snapshot(status="1100", held=True, holds=("FRAUD_HOLD",)),
        ((), f"{M} Scheduled in Sterling (1500)", "holded", None), id="status-change-while-held"),
    pytest.param(
        "order.cancelled", order(line(1, "SKU-A", "9000", qty="0.00")), commerce(), SCHEDULED,
        (("cancel",), f"{M} Cancelled in Sterling (9000)", "canceled", "canceled"), id="whole-order-cancelled"),
    pytest.param(
        "order.cancelled", order(line(1, "SKU-A", "9000", qty="0.00"), hold="Y", holds=[FRAUD]),
        commerce("holded", hold_before_state="processing"), HELD,
        (("unhold", "cancel"), f"{M} Cancelled in Sterling (9000)", "canceled", "canceled"),
        id="held-order-cancelled"),
    pytest.param(
        "order.cancelled", order(line(1, "SKU-A", "9000", qty="0.00")), commerce("canceled"), SCHEDULED,
        ((), f"{M} Cancelled in Sterling (9000)", "canceled", None), id="cancelled-in-commerce-already"),
    pytest.param(
        "order.cancelled", order(line(1, "SKU-A", "1500"), line(2, "SKU-B", "9000", qty="0.00")),
        commerce(), SCHEDULED,
        ((), f"{M} Lines cancelled in Sterling: line 2 SKU-B", "processing", None), id="line-cancelled"),
    pytest.param(
        "order.cancelled",
        order(line(1, "SKU-A", "1500"), line(2, "SKU-B", "9000", qty="0.00"), line(3, "SKU-C", "9000")),
        commerce(), Snapshot(status="1500", held=False, cancelled=("line 2 SKU-B",)),
        ((), f"{M} Lines cancelled in Sterling: line 3 SKU-C", "processing", None),
        id="another-line-cancelled-lists-only-it"),
    pytest.param(
        "order.changed", order({**line(1, "SKU-A", "1500", qty="1.50"), "OriginalOrderedQty": "2.00"}),
        commerce(), SCHEDULED,
        ((), f"{M} Lines cancelled in Sterling: line 1 SKU-A x0.5", "processing", None),
        id="quantity-reduced-on-a-line"),
    pytest.param(
        "order.backordered", order(line(1, "SKU-A", "1500"), line(2, "SKU-B", "1300"), line(3, "SKU-C", "1300")),
        commerce(), Snapshot(status="1100", held=False),
        ((), f"{M} Backordered in Sterling (1300): line 2 SKU-B, line 3 SKU-C", "processing", None),
        id="backordered"),
    pytest.param(
        "order.backordered", order(line(1, "SKU-A", "1400", node="DC_EAST")), commerce(), None,
        ((), f"{M} Backordered from node DC_EAST in Sterling (1400): line 1 SKU-A", "processing", None),
        id="backordered-from-node"),
    pytest.param(
        "order.released", RELEASE, commerce(), SCHEDULED,
        ((), f"{M} Released to node DC_EAST in Sterling (3200)", "processing", None), id="released"),
    pytest.param(
        "order.changed", order(line(1, "SKU-A", "3700")), commerce("complete"), SCHEDULED,
        ((), f"{M} Shipped in Sterling (3700)", "complete", None), id="shipped-keeps-complete"),
    pytest.param(
        "order.changed", order(line(1, "SKU-A", "500")), commerce(), None,
        ((), f"{M} Sterling status 500", "processing", None), id="unmapped-code"),
    pytest.param(
        "order.changed", order(line(1, "SKU-A", "1500")), commerce(last_echo=f"{M} Scheduled in Sterling (1500)"),
        Snapshot(status="1100", held=False), ((), None, "processing", None),
        id="comment-already-there-after-an-ambiguous-call"),
]


@pytest.mark.parametrize(("detail_type", "doc", "current", "previous", "expected"), PLAN_CASES)
def test_plan(detail_type: str, doc: dict[str, Any], current: CommerceOrder, previous: Snapshot | None,
              expected: tuple[tuple[str, ...], str | None, str, str | None]) -> None:
    result = status.plan(status.change_from_event(detail_type, doc, T0), current, previous)
    assert (result.actions, result.comment, result.status, result.synced_state) == expected


def test_plan_flags_unmapped_and_unholdable() -> None:
    unmapped = status.plan(status.change_from_event("order.changed", order(line(1, "A", "500")), T0), commerce())
    assert unmapped.unmapped
    mapped = status.plan(status.change_from_event("order.changed", order(line(1, "A", "1500")), T0), commerce())
    assert not mapped.unmapped
    held = status.change_from_event("order.hold_changed", order(line(1, "A", "3700"), hold="Y", holds=[FRAUD]), T0)
    assert status.plan(held, commerce("complete")).notes == ("Commerce cannot hold an order in state complete",)


def test_whole_cancel_of_a_complete_order_is_permanent() -> None:
    change = status.change_from_event("order.cancelled", order(line(1, "SKU-A", "9000", qty="0.00")), T0)
    with pytest.raises(PermanentError) as caught:
        status.plan(change, commerce("complete"), SCHEDULED)
    assert caught.value.reason == (
        "Sterling cancelled order 000000617 but the Commerce order is complete, which Commerce cannot "
        "cancel (refund it with a credit memo)")


def test_override_sets_a_custom_backorder_status(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAPPING_OVERRIDES", json.dumps({"order_statuses": {
        "1300": {"state": "processing", "status": "backordered", "comment": "Awaiting stock: {lines}"}}}))
    config.reset()
    change = status.change_from_event("order.backordered", order(line(1, "SKU-A", "1300")), T0)
    result = status.plan(change, commerce(), None)
    assert (result.comment, result.status) == (f"{M} Awaiting stock: line 1 SKU-A", "backordered")
    assert status.named_row("9000").status == "canceled"


def test_unknown_placeholder_in_an_override_stays_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAPPING_OVERRIDES", json.dumps({"order_statuses": {
        "1500": {"comment": "Scheduled {when} at {node}"}}}))
    config.reset()
    change = status.change_from_event("order.changed", order(line(1, "SKU-A", "1500", node="DC_EAST")), T0)
    assert status.plan(change, commerce(), None).comment == f"{M} Scheduled {{when}} at DC_EAST"


@pytest.mark.parametrize(("histories", "last"), [
    pytest.param([], "", id="none"),
    pytest.param([{"entity_id": 1, "comment": "customer called", "created_at": "2025-03-01 10:00:00"}], "",
                 id="not-ours"),
    pytest.param([
        {"entity_id": 3, "comment": f"{M} B", "created_at": "2025-03-01 10:00:02"},
        {"entity_id": 1, "comment": f"{M} A", "created_at": "2025-03-01 10:00:00"},
        {"entity_id": 4, "comment": "admin note", "created_at": "2025-03-01 10:00:03"},
    ], f"{M} B", id="newest-of-ours-whatever-the-order"),
    pytest.param([
        {"entity_id": 5, "comment": f"{M} A", "created_at": "2025-03-01 10:00:00"},
        {"entity_id": 6, "comment": f"{M} B", "created_at": "2025-03-01 10:00:00"},
    ], f"{M} B", id="same-second-by-id"),
])
def test_commerce_order_finds_our_newest_comment(histories: list[dict[str, Any]], last: str) -> None:
    found = status.commerce_order({"entity_id": "617", "state": "holded", "status": "holded",
                                   "hold_before_state": "processing", "status_histories": histories})
    assert found == CommerceOrder(entity_id=617, state="holded", status="holded",
                                  hold_before_state="processing", last_echo=last)


# -- the sample events (events/order_status) -----------------------------------------------------

EVENTS = Path(__file__).resolve().parents[2] / "events" / "order_status"
BEFORE = Snapshot(status="1100", held=False)


@pytest.mark.parametrize(("name", "current", "previous", "expected"), [
    ("order_created.json", commerce(), None, ((), f"{M} Created in Sterling (1100)", "processing")),
    ("order_scheduled.json", commerce(), BEFORE, ((), f"{M} Scheduled in Sterling (1500)", "processing")),
    ("order_hold_applied.json", commerce(), SCHEDULED, (
        ("hold",), f"{M} On hold in Sterling: FRAUD_HOLD (Billing and shipping address differ)", "holded")),
    ("order_hold_resolved.json", commerce("holded", hold_before_state="processing"),
     Snapshot(status="1500", held=True, holds=("FRAUD_HOLD",)),
     (("unhold",), f"{M} Hold resolved in Sterling: FRAUD_HOLD", "processing")),
    ("order_backordered.json", commerce(), BEFORE,
     ((), f"{M} Backordered in Sterling (1300): line 2 MH01-M-Gray", "processing")),
    ("order_released.json", commerce(), SCHEDULED,
     ((), f"{M} Released to node DC_EAST in Sterling (3200)", "processing")),
    ("order_sub_status.json", commerce(), Snapshot(status="3200", held=False),
     ((), f"{M} Included in shipment in Sterling (3350.10)", "processing")),
    ("order_line_cancelled.json", commerce(), SCHEDULED,
     ((), f"{M} Lines cancelled in Sterling: line 2 MH01-M-Gray", "processing")),
    ("order_cancelled.json", commerce(), SCHEDULED, (("cancel",), f"{M} Cancelled in Sterling (9000)", "canceled")),
])
def test_sample_events(name: str, current: CommerceOrder, previous: Snapshot | None,
                       expected: tuple[tuple[str, ...], str, str]) -> None:
    raw = json.loads((EVENTS / name).read_text())
    assert raw["source"] == "ibm.sterling"
    detail = raw["detail"]
    change = status.change_from_event(raw["detail-type"], detail["data"], detail["time"])
    assert change.order_no == "000000101"
    result = status.plan(change, current, previous)
    assert (result.actions, result.comment, result.status) == expected


def test_every_sample_event_is_tested() -> None:
    tested = {"order_created.json", "order_scheduled.json", "order_hold_applied.json", "order_hold_resolved.json",
              "order_backordered.json", "order_released.json", "order_sub_status.json",
              "order_line_cancelled.json", "order_cancelled.json"}
    assert {path.name for path in EVENTS.glob("*.json")} == tested
