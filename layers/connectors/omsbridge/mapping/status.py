"""Sterling order status → Commerce order state, status and status-history comment. Pure.

Statuses are dotted numbers (``3350``, ``3350.10``, ``1100.70.06.30``) compared part by part.
The table ``order_statuses`` maps them to Commerce: each row keyed by a status code names the
Commerce ``state`` its ``status`` belongs to (``null`` keeps the order's own status) and the
``comment`` to write. A row covers its code and every sub-status of it; a whole-number row also
covers every code up to the next whole-number row, so a tenant's ``3350.10`` uses the ``3350.10``
row if there is one, else ``3350``, and an unknown ``3360`` uses ``3350`` too. More rows hold the
wording of the other news: ``hold``, ``unhold``, ``lines_cancelled`` and (written by
ShipmentSyncFunction, with ``{shipment}``, ``{node}`` and ``{lines}``) ``shipment_created``.

A Commerce comment can only set a status that belongs to the order's current state (Commerce
refuses the others), so a row's status is used only when the order is in the row's state after
our hold / unhold / cancel; otherwise the comment keeps the order's status. To show your own
statuses (e.g. "backordered"), create them in Commerce, assign them to the state, and override the
row through ``MAPPING_OVERRIDES``.

Comment templates may use ``{code}`` (the Sterling status), ``{description}`` (its Sterling
description), ``{node}`` (ship nodes of the lines in that status, or the release's node),
``{lines}`` (those lines, or the cancelled lines) and ``{holds}`` (the hold types concerned).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

import pydantic
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from omsbridge import timeutil
from omsbridge.errors import PermanentError, ValidationError
from omsbridge.events import ECHO_MARKER
from omsbridge.mapping.tables import table

TABLE = "order_statuses"
HOLD_ROW = "hold"
UNHOLD_ROW = "unhold"
LINES_CANCELLED_ROW = "lines_cancelled"
SHIPMENT_CREATED_ROW = "shipment_created"

HOLD_ACTIVE = "1100"
HOLD_RESOLVED = ("1200", "1300")  # rejected, resolved

# Commerce order states (Magento\Sales\Model\Order) and the status each lands in by default.
DEFAULT_STATUS = {
    "new": "pending", "pending_payment": "pending_payment", "payment_review": "payment_review",
    "processing": "processing", "complete": "complete", "closed": "closed", "canceled": "canceled",
    "holded": "holded",
}
NOT_HOLDABLE = frozenset({"canceled", "complete", "closed", "holded", "payment_review"})
NOT_CANCELLABLE = frozenset({"complete", "payment_review"})
FINISHED = frozenset({"canceled", "closed"})

Action = Literal["hold", "unhold", "cancel"]


# -- dotted status codes -----------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Code:
    """A Sterling status: compared as its numbers (``3350.10`` → 3350, 10), shown as Sterling wrote it."""

    parts: tuple[int, ...]
    text: str = field(compare=False)

    def __str__(self) -> str:
        return self.text

    def within(self, row: Code) -> bool:
        """Whether ``row`` is this status or one of its parent statuses."""
        return self.parts[:len(row.parts)] == row.parts


def parse_code(value: Any) -> Code | None:
    """``"3350.10"`` → ``Code((3350, 10))``; None for anything that is not a dotted number."""
    text = "" if value is None else str(value).strip()
    parts = text.split(".")
    if not text or not all(part.isdigit() for part in parts):
        return None
    return Code(tuple(int(part) for part in parts), text)


CANCELLED = Code((9000,), "9000")
RELEASED = Code((3200,), "3200")


@dataclass(frozen=True)
class Row:
    """One row of the table: where a Sterling status (or other news) lands in Commerce."""

    key: str
    comment: str
    state: str | None = None
    status: str | None = None


def _row(key: str, value: Any) -> Row:
    data = value if isinstance(value, Mapping) else {}
    return Row(key=key, comment=str(data.get("comment") or ""),
               state=data.get("state") or None, status=data.get("status") or None)


def named_row(key: str) -> Row:
    return _row(key, table(TABLE).get(key))


def _code_rows() -> dict[Code, Row]:
    rows: dict[Code, Row] = {}
    for key, value in table(TABLE).items():
        code = parse_code(key)
        if code is not None:
            rows[code] = _row(key, value)
    return rows


def row_for(code: Code) -> Row | None:
    """The row covering ``code``: the greatest row code that is ``code`` itself, one of its parent
    statuses, or a whole number not above it. None when every row is above it."""
    rows = _code_rows()
    candidates = [row_code for row_code in rows
                  if code.within(row_code) or (len(row_code.parts) == 1 and row_code <= code)]
    return rows[max(candidates)] if candidates else None


# -- Sterling documents ------------------------------------------------------------------------


def _text(value: Any) -> str:
    # Sterling writes a blank attribute as " ".
    return "" if value is None else str(value).strip()


def _as_list(value: Any) -> list[Any]:
    # Sterling's JSON gives a lone repeated element as an object instead of a one-element list.
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


def _quantity(value: Any) -> Decimal | None:
    text = _text(value)
    try:
        return Decimal(text) if text else None
    except InvalidOperation:
        return None


def _number(quantity: Decimal) -> str:
    return format(quantity.normalize(), "f")


Text = Annotated[str, BeforeValidator(_text)]
Quantity = Annotated[Decimal | None, BeforeValidator(_quantity)]


class _Sterling(BaseModel):
    model_config = ConfigDict(extra="allow")


class LineItem(_Sterling):
    ItemID: Text = ""


class OrderHold(_Sterling):
    HoldType: Text = ""
    Status: Text = ""
    ReasonText: Text = ""

    def describe(self) -> str:
        return f"{self.HoldType} ({self.ReasonText})" if self.ReasonText else self.HoldType


class OrderHolds(_Sterling):
    OrderHoldType: Annotated[list[OrderHold], BeforeValidator(_as_list)] = Field(default_factory=list)


class SterlingLine(_Sterling):
    PrimeLineNo: Text = ""
    SubLineNo: Text = ""
    Status: Text = ""
    MinLineStatus: Text = ""
    MaxLineStatus: Text = ""
    OrderedQty: Quantity = None
    OriginalOrderedQty: Quantity = None
    ShipNode: Text = ""
    Item: Annotated[LineItem, BeforeValidator(lambda v: v or {})] = Field(default_factory=LineItem)

    @property
    def code(self) -> Code | None:
        # The least advanced status of the line's quantities is where the line stands.
        for value in (self.MinLineStatus, self.Status, self.MaxLineStatus):
            code = parse_code(value)
            if code is not None:
                return code
        return None

    @property
    def cancelled(self) -> bool:
        code = self.code
        return (code is not None and code >= CANCELLED) or self.OrderedQty == 0

    @property
    def cancelled_qty(self) -> Decimal | None:
        """How much of the line is cancelled (Sterling keeps the ordered quantity it started with)."""
        if self.OriginalOrderedQty is not None and self.OrderedQty is not None:
            return max(self.OriginalOrderedQty - self.OrderedQty, Decimal(0))
        return self.OriginalOrderedQty if self.cancelled else None

    def label(self) -> str:
        number = self.PrimeLineNo or "?"
        if self.SubLineNo not in ("", "1"):
            number = f"{number}.{self.SubLineNo}"
        return f"line {number} {self.Item.ItemID}".rstrip()

    def cancellation(self) -> str | None:
        """The line as a cancellation lists it (with the quantity cancelled when known); None when
        nothing of it is cancelled."""
        quantity = self.cancelled_qty
        if not self.cancelled and not quantity:
            return None
        return self.label() if quantity is None else f"{self.label()} x{_number(quantity)}"


class SterlingLines(_Sterling):
    OrderLine: Annotated[list[SterlingLine], BeforeValidator(_as_list)] = Field(default_factory=list)


def _blank_is_empty(value: Any) -> Any:
    return value or {}


class SterlingOrder(_Sterling):
    """A Sterling ``Order`` (root dropped), as order events and getOrderDetails give it."""

    OrderNo: Text = ""
    EnterpriseCode: Text = ""
    DocumentType: Text = ""
    OrderHeaderKey: Text = ""
    Status: Text = ""
    MinOrderStatus: Text = ""
    MaxOrderStatus: Text = ""
    HoldFlag: Text = ""
    OrderHoldTypes: Annotated[OrderHolds | None, BeforeValidator(lambda v: v if v else None)] = None
    OrderLines: Annotated[SterlingLines, BeforeValidator(_blank_is_empty)] = Field(default_factory=SterlingLines)

    @property
    def lines(self) -> list[SterlingLine]:
        return self.OrderLines.OrderLine

    @property
    def holds(self) -> list[OrderHold]:
        return self.OrderHoldTypes.OrderHoldType if self.OrderHoldTypes else []


class SterlingRelease(_Sterling):
    """A Sterling ``OrderRelease`` (root dropped), as RELEASE.ON_SUCCESS gives it."""

    OrderNo: Text = ""
    SalesOrderNo: Text = ""
    EnterpriseCode: Text = ""
    ReleaseNo: Text = ""
    ShipNode: Text = ""
    Status: Text = ""
    Order: Annotated[SterlingOrder, BeforeValidator(_blank_is_empty)] = Field(default_factory=SterlingOrder)
    OrderLines: Annotated[SterlingLines, BeforeValidator(_blank_is_empty)] = Field(default_factory=SterlingLines)

    @property
    def order_no(self) -> str:
        return self.OrderNo or self.SalesOrderNo or self.Order.OrderNo


# -- what Sterling says happened ---------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """What Commerce has been shown of a Sterling order; the flow keeps the last one applied
    (``OrderRef.sterling_status``) so that the next event tells only what changed since."""

    status: str = ""
    held: bool | None = None  # None: not known yet
    holds: tuple[str, ...] = ()
    cancelled: tuple[str, ...] = ()
    release: str = ""

    def dump(self) -> dict[str, Any]:
        return {"status": self.status, "held": self.held, "holds": list(self.holds),
                "cancelled": list(self.cancelled), "release": self.release}

    @classmethod
    def load(cls, data: Mapping[str, Any] | None) -> Snapshot | None:
        if not data:
            return None
        held = data.get("held")
        return cls(status=str(data.get("status") or ""), held=held if isinstance(held, bool) else None,
                   holds=tuple(data.get("holds") or ()), cancelled=tuple(data.get("cancelled") or ()),
                   release=str(data.get("release") or ""))

    @property
    def key(self) -> str:
        """The business key of this state: status, hold state, cancelled lines, release."""
        hold = "hold?" if self.held is None else ("held:" + "+".join(self.holds) if self.held else "free")
        parts = [self.status, hold]
        if self.cancelled:
            parts.append("cancelled:" + "+".join(self.cancelled))
        if self.release:
            parts.append(f"release:{self.release}")
        return "|".join(parts)


@dataclass(frozen=True)
class SterlingChange:
    """One Sterling order event, reduced to what Commerce can show."""

    order_no: str
    enterprise_code: str
    stamp: str  # timeutil.sortable form
    code: Code | None
    description: str = ""
    held: bool | None = None  # None: the document does not say (a release)
    active_holds: tuple[str, ...] = ()
    hold_reasons: tuple[str, ...] = ()  # the active holds with their reason, for people
    resolved_holds: tuple[str, ...] = ()
    holds_listed: bool = False  # the document lists the order's hold types (OrderHoldTypes)
    cancelled_whole: bool = False
    cancelled_lines: tuple[str, ...] = ()
    lines: tuple[str, ...] = ()  # the lines in status ``code``
    nodes: tuple[str, ...] = ()
    release: str = ""  # "<ReleaseNo>@<ShipNode>" for a release document

    @property
    def status(self) -> str:
        return self.code.text if self.code else self.description or "?"

    @property
    def known_holds(self) -> tuple[str, ...] | None:
        """The hold types active on the order, when the document tells: it lists them, or says the
        order is on no hold. None when it does not tell."""
        if self.holds_listed:
            return self.active_holds
        return () if self.held is False else None

    def snapshot(self, previous: Snapshot | None) -> Snapshot:
        """The order's state after this event; what the document does not say stays as it was."""
        held, holds = self.held, tuple(sorted(self.active_holds))
        if held is None and previous is not None:
            held, holds = previous.held, previous.holds
        release = self.release or (previous.release if previous else "")
        return Snapshot(status=self.status, held=held, holds=holds,
                        cancelled=tuple(sorted(self.cancelled_lines)), release=release)


def _first_code(*values: str) -> Code | None:
    for value in values:
        code = parse_code(value)
        if code is not None:
            return code
    return None


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value for value in values if value))


def _in_status(code: Code, line_code: Code | None) -> bool:
    if line_code is None:
        return False
    row = row_for(code)
    return line_code == code if row is None else row_for(line_code) == row


def _held(flag: str, holds: Sequence[OrderHold], stated: bool) -> bool | None:
    if not stated:
        return None
    return flag.upper() == "Y" or any(h.Status == HOLD_ACTIVE for h in holds)


def change_from_order(order: SterlingOrder, stamp: str) -> SterlingChange:
    active = [line for line in order.lines if not line.cancelled]
    cancelled = [line for line in order.lines if line.cancelled]
    codes = [line.code for line in active if line.code is not None]
    if order.lines and not active:
        code: Code | None = min((c for c in (line.code for line in cancelled) if c and c >= CANCELLED),
                                default=CANCELLED)
    elif codes:
        code = min(codes)  # the order stands where its least advanced line stands
    else:
        code = _first_code(order.MinOrderStatus, order.Status, order.MaxOrderStatus)
    whole = code is not None and code >= CANCELLED
    in_status = [line for line in (active or cancelled) if code is not None and _in_status(code, line.code)]
    return SterlingChange(
        order_no=order.OrderNo,
        enterprise_code=order.EnterpriseCode,
        stamp=stamp,
        code=code,
        description="" if parse_code(order.Status) else order.Status,
        held=_held(order.HoldFlag, order.holds, bool(order.HoldFlag) or order.OrderHoldTypes is not None),
        active_holds=_unique(h.HoldType for h in order.holds if h.Status == HOLD_ACTIVE),
        hold_reasons=_unique(h.describe() for h in order.holds if h.Status == HOLD_ACTIVE),
        resolved_holds=_unique(h.HoldType for h in order.holds if h.Status in HOLD_RESOLVED),
        holds_listed=order.OrderHoldTypes is not None,
        cancelled_whole=whole,
        cancelled_lines=tuple(entry for entry in map(SterlingLine.cancellation, order.lines) if entry),
        lines=tuple(line.label() for line in in_status),
        nodes=_unique(line.ShipNode for line in in_status),
    )


def change_from_release(release: SterlingRelease, stamp: str) -> SterlingChange:
    lines = [line for line in release.OrderLines.OrderLine if not line.cancelled]
    # A release line shows the whole order line, whose other units may be elsewhere in the pipeline:
    # the release's own status says where this release is.
    codes = [line.code for line in lines if line.code is not None]
    code = _first_code(release.Status) or (min(codes) if codes else RELEASED)
    nodes = (release.ShipNode,) if release.ShipNode else _unique(line.ShipNode for line in lines)
    order = release.Order
    return SterlingChange(
        order_no=release.order_no,
        enterprise_code=release.EnterpriseCode or order.EnterpriseCode,
        stamp=stamp,
        code=code,
        held=_held(order.HoldFlag, order.holds, bool(order.HoldFlag)),
        active_holds=_unique(h.HoldType for h in order.holds if h.Status == HOLD_ACTIVE),
        hold_reasons=_unique(h.describe() for h in order.holds if h.Status == HOLD_ACTIVE),
        holds_listed=order.OrderHoldTypes is not None,
        lines=tuple(line.label() for line in lines),
        nodes=nodes,
        release=f"{release.ReleaseNo or '?'}@{'+'.join(nodes)}",
    )


def change_from_event(detail_type: str, data: Mapping[str, Any], event_time: str) -> SterlingChange:
    """Read one Sterling order event (``detail.data``, stamped with ``detail.time``).

    Raises ``ValidationError`` when the document is malformed or names no order.
    """
    try:
        stamp = timeutil.event_stamp(event_time)
    except ValueError as exc:
        raise ValidationError(f"Sterling event time {event_time[:64]!r} refused: {exc}") from exc
    try:
        if detail_type == "order.released":
            change = change_from_release(SterlingRelease.model_validate(data), stamp)
        else:
            change = change_from_order(SterlingOrder.model_validate(data), stamp)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "data"
        raise ValidationError(f"malformed Sterling order document: {where}: {first['msg']}") from exc
    if not change.order_no:
        raise ValidationError(f"Sterling {detail_type} document names no OrderNo")
    if change.code is None and not change.description and change.held is None and not change.cancelled_lines:
        # A bare {"OrderNo": ...} (IBM's connector publishes such requests) would become a comment
        # "Sterling status ?" in Commerce.
        raise ValidationError(f"Sterling {detail_type} document for order {change.order_no} states no status, "
                              "hold or lines: nothing to show in Commerce")
    return change


# -- what Commerce shows now -------------------------------------------------------------------


@dataclass(frozen=True)
class CommerceOrder:
    """The parts of a Commerce order (``GET /V1/orders/{id}``) that decide what to write."""

    entity_id: int
    state: str
    status: str
    hold_before_state: str = ""
    hold_before_status: str = ""
    last_echo: str = ""  # our newest status-history comment


def _history_order(entry: Mapping[str, Any]) -> tuple[str, int]:
    return (str(entry.get("created_at") or ""), int(entry.get("entity_id") or 0))


def commerce_order(order: Mapping[str, Any]) -> CommerceOrder:
    ours = [entry for entry in order.get("status_histories") or []
            if str(entry.get("comment") or "").startswith(ECHO_MARKER)]
    last = max(ours, key=_history_order) if ours else {}
    state = str(order.get("state") or "")
    return CommerceOrder(
        entity_id=int(order["entity_id"]),
        state=state,
        status=str(order.get("status") or DEFAULT_STATUS.get(state, "")),
        hold_before_state=str(order.get("hold_before_state") or ""),
        hold_before_status=str(order.get("hold_before_status") or ""),
        last_echo=str(last.get("comment") or ""),
    )


# -- what to write -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """The Commerce calls that make the order show a change, in order: ``actions``, then the
    status-history ``comment`` with ``status``."""

    actions: tuple[Action, ...]
    comment: str | None
    status: str
    synced_state: str | None  # the Commerce state our hold / unhold / cancel leaves the order in
    unmapped: bool = False
    notes: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.actions and self.comment is None


class _Fill(dict[str, str]):
    # An override naming a placeholder we do not know keeps it as written instead of failing.
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(template: str, values: Mapping[str, str]) -> str:
    """A comment template of the table with ``values`` in its placeholders."""
    return template.format_map(_Fill(values)).strip()


def _joined(values: Sequence[str], empty: str) -> str:
    return ", ".join(values) if values else empty


def comment_text(row: Row, change: SterlingChange, previous: Snapshot | None) -> str:
    if row.key == LINES_CANCELLED_ROW:
        before = set(previous.cancelled) if previous else set()
        lines = [line for line in change.cancelled_lines if line not in before]
    else:
        lines = list(change.lines)
    holds = change.resolved_holds if row.key == UNHOLD_ROW else change.hold_reasons
    values = {
        "code": change.status,
        "description": change.description,
        "node": _joined(change.nodes, "unassigned"),
        "lines": _joined(lines, "all lines"),
        "holds": _joined(holds, "all holds" if row.key == UNHOLD_ROW else "order hold"),
    }
    return f"{ECHO_MARKER} {fill(row.comment, values)}"


def _transitions(change: SterlingChange, current: CommerceOrder) -> tuple[list[Action], str, list[str]]:
    """Hold / unhold / cancel calls Commerce needs, and its state after them."""
    state = current.state
    if change.cancelled_whole:
        if state in FINISHED:
            return [], state, []
        if state in NOT_CANCELLABLE:
            raise PermanentError(
                f"Sterling cancelled order {change.order_no} but the Commerce order is {state}, "
                "which Commerce cannot cancel (refund it with a credit memo)", system="commerce")
        # Commerce cancels only an order that is not on hold.
        return (["unhold", "cancel"] if state == "holded" else ["cancel"]), "canceled", []
    if change.held and state != "holded":
        if state in NOT_HOLDABLE:
            return [], state, [f"Commerce cannot hold an order in state {state}"]
        return ["hold"], "holded", []
    if change.held is False and state == "holded":
        return ["unhold"], current.hold_before_state or "processing", []
    return [], state, []


def _news(change: SterlingChange, actions: Sequence[Action], previous: Snapshot | None) -> str | None:
    """The named row that tells what changed; None when it is the status."""
    if change.cancelled_whole:
        return None
    if "hold" in actions:
        return HOLD_ROW
    if "unhold" in actions:
        return UNHOLD_ROW
    if (change.held is not None and previous is not None and previous.held is not None
            and (change.held, tuple(sorted(change.active_holds))) != (previous.held, previous.holds)):
        return HOLD_ROW if change.held else UNHOLD_ROW
    if set(change.cancelled_lines) - set(previous.cancelled if previous else ()):
        return LINES_CANCELLED_ROW
    return None


def _status_after(actions: Sequence[Action], state: str, current: CommerceOrder) -> str:
    if not actions:
        return current.status
    if actions[-1] == "unhold":
        return current.hold_before_status or DEFAULT_STATUS.get(state, state)
    return DEFAULT_STATUS.get(state, state)


def plan(change: SterlingChange, current: CommerceOrder, previous: Snapshot | None = None) -> Plan:
    """What to write into Commerce so that it shows ``change``, given what it shows now and the
    Sterling state last applied (``previous``).

    The comment is left out when our newest comment already says the same (a retry after a call
    that may have gone through). Raises ``PermanentError`` for a whole-order cancellation Commerce
    cannot follow.
    """
    actions, state, notes = _transitions(change, current)
    status_row = row_for(change.code) if change.code else None
    news = _news(change, actions, previous)
    row = named_row(news) if news else status_row
    if row is None or not row.comment:
        row = Row(key="", comment="Sterling status {code}")
    text = comment_text(row, change, previous)
    status = _status_after(actions, state, current)
    for candidate in (row, status_row):
        if candidate is not None and candidate.status and candidate.state == state:
            status = candidate.status
            break
    return Plan(
        actions=tuple(actions),
        comment=text if actions or text != current.last_echo else None,
        status=status,
        synced_state=state if actions else None,
        unmapped=status_row is None and news is None,
        notes=tuple(notes),
    )
