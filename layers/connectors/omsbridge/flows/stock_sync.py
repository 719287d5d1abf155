"""Stock sync, Sterling → Commerce: batches of ``inventory.changed`` events → MSI source items.

One SQS batch is handled as a whole, so Commerce gets few large calls instead of one per event:

1. every record's EventBridge event is mapped to source-item rows stamped with the Sterling time;
2. per (sku, source) only the newest row of the batch is kept;
3. the rows' watermarks are read in one go (BatchGetItem) and rows not newer are dropped as stale
   or duplicate;
4. the rest go to ``POST /V1/inventory/source-items`` in chunks (the async bulk endpoint when the
   load is very large); an item Commerce rejects is taken out and the rest sent again; a list
   longer than the store's Web API input limit is split to the limit Commerce names, and the
   container remembers it;
5. only rows Commerce accepted advance their watermark, so a message retried after a failure is
   never mistaken for stale; each write is conditional on the watermark being unchanged since
   step 3 (transactions of 100), and a row whose watermark another invocation moved meanwhile is
   repaired from Sterling.

The result names the messages to retry (their rows failed transiently); messages whose items were
rejected are parked in the DLQ with the reason and not retried. The full reconciliation
(``omsbridge.flows.stock_reconcile``) writes through the same guard.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pydantic

from omsbridge import commerce, config, dlq, enterprises, state, sterling, timeutil
from omsbridge.commerce.client import InputLimitError
from omsbridge.commerce.models import OperationStatus
from omsbridge.errors import IntegrationError, PermanentError, RetryableError, ValidationError
from omsbridge.events import EventBridgeEvent, SterlingEvent, now_iso
from omsbridge.mapping import ids
from omsbridge.mapping.stock import (
    Key,
    StockRow,
    chunks,
    newest,
    rejected_items,
    rows_from_availability,
    rows_from_event,
)
from omsbridge.observability import Outcome, correlate, count, logger

FLOW = "stock_sync"
# Leave the handler this much of its time to report back after polling a bulk operation.
BULK_POLL_MARGIN_SECONDS = 5.0


@dataclass(frozen=True)
class StockOptions:
    """This flow's settings (``STOCK_SYNC_*`` template parameters)."""

    chunk_size: int = 1000
    bulk_threshold: int = 5000
    bulk_poll_seconds: float = 2.0
    bulk_max_wait_seconds: float = 60.0
    reconcile_nodes: tuple[str, ...] = ()
    reconcile_page_size: int = 1000
    reconcile_concurrency: int = 4

    @classmethod
    def from_settings(cls, settings: config.Settings) -> StockOptions:
        nodes = tuple(node.strip() for node in settings.stock_sync_reconcile_nodes.split(",") if node.strip())
        return cls(
            chunk_size=max(1, settings.stock_sync_chunk_size),
            bulk_threshold=max(1, settings.stock_sync_bulk_threshold),
            bulk_poll_seconds=max(0.01, settings.stock_sync_bulk_poll_seconds),
            bulk_max_wait_seconds=max(0.0, settings.stock_sync_bulk_max_wait_seconds),
            reconcile_nodes=nodes,
            reconcile_page_size=max(1, settings.stock_sync_reconcile_page_size),
            reconcile_concurrency=max(1, settings.stock_sync_reconcile_concurrency),
        )


def options() -> StockOptions:
    return StockOptions.from_settings(config.settings())


def watermark_key(key: Key) -> str:
    sku, source_code = key
    return f"stock#{sku}#{source_code}"


@dataclass(frozen=True)
class Entry:
    """A row and the SQS message it came from (empty for reconciliation rows)."""

    row: StockRow
    origin: str = ""

    @property
    def key(self) -> Key:
        return self.row.key

    @property
    def stamp(self) -> str:
        return self.row.stamp


@dataclass
class Delivery:
    """What Commerce did with the rows sent to it."""

    accepted: list[Entry] = field(default_factory=list)
    rejected: list[tuple[Entry, str]] = field(default_factory=list)
    failed: list[tuple[Entry, str]] = field(default_factory=list)


@dataclass
class Applied:
    delivery: Delivery
    stale: int = 0
    duplicate: int = 0
    lost: list[Entry] = field(default_factory=list)

    @property
    def processed(self) -> int:
        return len(self.delivery.accepted) - len(self.lost)

    def summary(self) -> dict[str, int]:
        return {
            "processed": self.processed, "stale": self.stale, "duplicate": self.duplicate,
            "rejected": len(self.delivery.rejected), "failed": len(self.delivery.failed),
        }


TimeLeft = Callable[[], float]


class SourceItemWriter:
    """Sends source items to Commerce and finds out, item by item, what it accepted.

    ``bulk`` sends everything through the async bulk endpoint (otherwise only loads larger than
    ``bulk_threshold``). Lists are cut to the store's input limits as far as this container knows
    them (``CommerceClient.limits``), and cut again when Commerce names a lower one.
    """

    def __init__(self, client: commerce.CommerceClient, options: StockOptions,
                 time_left: TimeLeft | None = None, sleep: Callable[[float], None] = time.sleep, *,
                 bulk: bool = False) -> None:
        self.client = client
        self.options = options
        self.time_left = time_left
        self.sleep = sleep
        self.bulk = bulk
        self.on_accepted: Callable[[Sequence[Entry]], None] | None = None

    def write(self, entries: Sequence[Entry], on_accepted: Callable[[Sequence[Entry]], None] | None = None
              ) -> Delivery:
        """Send ``entries``; ``on_accepted`` hears of each part Commerce accepted as soon as it has."""
        self.on_accepted = on_accepted
        delivery = Delivery()
        if entries and (self.bulk or len(entries) > self.options.bulk_threshold):
            self._bulk(entries, delivery)
        else:
            self._send(entries, delivery)
        return delivery

    def _limit(self, learned: int | None) -> int:
        return min(self.options.chunk_size, learned or self.options.chunk_size)

    def _send(self, entries: Sequence[Entry], delivery: Delivery) -> None:
        for chunk in chunks(entries, self._limit(self.client.limits.sync)):
            self._sync(chunk, delivery)

    def _sync(self, entries: Sequence[Entry], delivery: Delivery) -> None:
        pending = list(entries)
        while pending:
            try:
                self.client.upsert_source_items([entry.row.item.body() for entry in pending])
            except RetryableError as exc:
                delivery.failed.extend((entry, exc.reason) for entry in pending)
                return
            except InputLimitError as exc:
                if exc.limit >= len(pending):
                    self._unnamed(pending, exc, delivery)
                    return
                # Commerce applied none of the list: the same items again, in lists it takes.
                logger.info("Commerce input limit met; splitting source items",
                            extra={"limit": exc.limit, "items": len(pending)})
                for part in chunks(pending, exc.limit):
                    self._sync(part, delivery)
                return
            except PermanentError as exc:
                named = rejected_items(exc.body, [entry.row.item for entry in pending]) if exc.status == 400 else {}
                if not named:
                    self._unnamed(pending, exc, delivery)
                    return
                # Commerce refuses the whole request for one bad item: drop the named ones, resend the rest.
                delivery.rejected.extend((entry, named[entry.key]) for entry in pending if entry.key in named)
                pending = [entry for entry in pending if entry.key not in named]
            else:
                self._accepted(pending, delivery)
                return

    def _accepted(self, entries: Sequence[Entry], delivery: Delivery) -> None:
        delivery.accepted.extend(entries)
        if self.on_accepted is not None:
            self.on_accepted(entries)

    def _unnamed(self, pending: list[Entry], exc: PermanentError, delivery: Delivery) -> None:
        """A rejection that names no item: a single item is the culprit; otherwise halve and retry
        each half (a 400 means some item is bad; any other status concerns the whole request)."""
        if len(pending) == 1 or exc.status != 400:
            delivery.rejected.extend((entry, exc.reason) for entry in pending)
            return
        middle = len(pending) // 2
        self._sync(pending[:middle], delivery)
        self._sync(pending[middle:], delivery)

    def _bulk(self, entries: Sequence[Entry], delivery: Delivery, size: int | None = None) -> None:
        groups = list(chunks(entries, size or self._limit(self.client.limits.bulk)))
        try:
            bulk_uuid = self.client.bulk_upsert_source_items(
                [[entry.row.item.body() for entry in group] for group in groups])
        except InputLimitError as exc:
            if exc.limit < max(map(len, groups)):
                self._bulk(entries, delivery, exc.limit)
                return
            self._bulk_refused(groups, exc, delivery)
            return
        except IntegrationError as exc:
            self._bulk_refused(groups, exc, delivery)
            return
        statuses = self._await(bulk_uuid)
        for index, group in enumerate(groups):
            if index < len(statuses) and statuses[index] == OperationStatus.COMPLETE:
                self._accepted(group, delivery)
            else:
                # Failed, rejected or still open: the synchronous call tells which items are bad.
                self._send(group, delivery)

    def _bulk_refused(self, groups: Sequence[Sequence[Entry]], exc: IntegrationError, delivery: Delivery) -> None:
        # The synchronous endpoint reports per item; the values are absolute, so a bulk the far
        # side may still have queued applies the same state.
        logger.warning("bulk source-items not accepted, sending synchronously", extra=exc.describe())
        for group in groups:
            self._send(group, delivery)

    def _await(self, bulk_uuid: str) -> list[OperationStatus]:
        """The operations' states in request order (operation ids grow in the order queued)."""
        waited = 0.0
        while True:
            status = self.client.bulk_status(bulk_uuid)
            if not status.open or not self._may_wait(waited):
                if status.open:
                    logger.warning("bulk source-items still open, sending the rest synchronously",
                                   extra={"bulk_uuid": bulk_uuid})
                return [op.status for op in sorted(status.operations_list, key=lambda op: op.id)]
            self.sleep(self.options.bulk_poll_seconds)
            waited += self.options.bulk_poll_seconds

    def _may_wait(self, waited: float) -> bool:
        if waited + self.options.bulk_poll_seconds > self.options.bulk_max_wait_seconds:
            return False
        return self.time_left is None or self.time_left() > self.options.bulk_poll_seconds + BULK_POLL_MARGIN_SECONDS


class WatermarkAdvancer:
    """Advances the watermarks of accepted rows in the background, so the conditional writes of
    one chunk overlap the Commerce call of the next. A watermark that changed since it was read
    means another invocation wrote the same item meanwhile, and Commerce may have ended up with
    the older of the two values: those rows end up in ``lost``."""

    def __init__(self, seen: Mapping[str, str]) -> None:
        self._seen = seen
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="watermarks")
        self._pending: list[tuple[dict[str, Entry], Future[set[str]]]] = []
        self.lost: list[Entry] = []

    def advance(self, entries: Sequence[Entry]) -> None:
        by_key = {watermark_key(entry.key): entry for entry in entries}
        stamps = {pk: entry.stamp for pk, entry in by_key.items()}
        self._pending.append((by_key, self._pool.submit(state.advance_watermarks, stamps, self._seen)))

    def __enter__(self) -> WatermarkAdvancer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            for by_key, future in self._pending:
                self.lost.extend(by_key[pk] for pk in future.result())
        finally:
            self._pool.shutdown(wait=True)


def apply(entries: Sequence[Entry], writer: SourceItemWriter) -> Applied:
    """Newest per key, minus what the watermarks say is already applied, to Commerce; then advance
    the watermarks of what Commerce accepted."""
    winners = newest(entries)
    stale = duplicate = 0
    for entry in entries:
        winner = winners[entry.key]
        if entry is not winner:
            if entry.row == winner.row:
                duplicate += 1
            else:
                stale += 1
    marks = state.read_watermarks(watermark_key(key) for key in winners)
    fresh: list[Entry] = []
    for key, entry in winners.items():
        mark = marks.get(watermark_key(key))
        if mark is None or mark < entry.stamp:
            fresh.append(entry)
        elif mark == entry.stamp:
            duplicate += 1
        else:
            stale += 1
    with WatermarkAdvancer(marks) as advancer:
        delivery = writer.write(fresh, on_accepted=advancer.advance)
    applied = Applied(delivery, stale=stale + len(advancer.lost), duplicate=duplicate, lost=advancer.lost)
    _count(applied)
    return applied


def _count(applied: Applied) -> None:
    numbers = {
        Outcome.PROCESSED: applied.processed,
        Outcome.STALE: applied.stale,
        Outcome.DUPLICATE: applied.duplicate,
        Outcome.PERMANENT_FAILURE: len(applied.delivery.rejected),
        Outcome.RETRIED: len(applied.delivery.failed),
    }
    for outcome, value in numbers.items():
        if value:
            count(outcome, value)


# -- SQS batches --------------------------------------------------------------------------------


@dataclass
class Message:
    message_id: str
    event: Any
    rows: list[StockRow]


@dataclass
class BatchResult:
    """Which messages to retry; ``record_handler`` tells Powertools' BatchProcessor."""

    failed: set[str]
    summary: dict[str, int]

    def record_handler(self, record: Any) -> None:
        if record.message_id in self.failed:
            raise RetryableError(f"stock rows of message {record.message_id} were not applied", system="commerce")


def parse_record(record: Mapping[str, Any]) -> Message:
    """An SQS record whose body is the EventBridge event of an ``inventory.changed``."""
    message_id = str(record.get("messageId", ""))
    try:
        event = json.loads(record.get("body") or "")
    except ValueError as exc:
        raise ValidationError(f"message {message_id} body is not JSON") from exc
    try:
        parsed = EventBridgeEvent.model_validate(event)
        detail = SterlingEvent.model_validate(parsed.detail)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "event"
        raise ValidationError(f"message {message_id} is not a Sterling bus event: {where}: {first['msg']}") from exc
    enterprises.check(detail.data, f"the inventory document of message {message_id}")
    return Message(message_id, event, rows_from_event(detail.data, detail.time))


def sync_batch(records: Sequence[Mapping[str, Any]], *, time_left: TimeLeft | None = None) -> BatchResult:
    if records:
        correlate(f"stock-batch-{records[0].get('messageId', '')}")
    failed: set[str] = set()
    messages: list[Message] = []
    for record in records:
        try:
            messages.append(parse_record(record))
        except ValidationError as exc:
            body = record.get("body")
            _park(str(record.get("messageId", "")), body, exc, failed)
    entries = [Entry(row, message.message_id) for message in messages for row in message.rows]
    applied = apply(entries, SourceItemWriter(commerce.client(), options(), time_left))
    by_id = {message.message_id: message for message in messages}
    failed.update(entry.origin for entry, _ in applied.delivery.failed)
    for message_id, reasons in _reasons_by_message(applied.delivery.rejected).items():
        error = PermanentError(f"Commerce rejected source items: {'; '.join(reasons)}", system="commerce",
                               status=400, code="source_item_rejected")
        _park(message_id, by_id[message_id].event, error, failed)
    if applied.delivery.failed:
        logger.warning("stock rows will be retried", extra={
            "messages": sorted(failed), "reason": applied.delivery.failed[0][1]})
    if applied.lost:
        repair(applied.lost)
    return BatchResult(failed, {"messages": len(records), "rows": len(entries), **applied.summary()})


def _reasons_by_message(rejected: Iterable[tuple[Entry, str]]) -> dict[str, list[str]]:
    reasons: dict[str, list[str]] = defaultdict(list)
    for entry, reason in rejected:
        item = entry.row.item
        reasons[entry.origin].append(f"{item.sku} at {item.source_code}: {reason}")
    return reasons


def _park(message_id: str, event: Any, error: PermanentError, failed: set[str]) -> None:
    logger.error("parked in DLQ", extra={"flow": FLOW, "message_id": message_id, **error.describe()})
    try:
        dlq.park(FLOW, event, error)
    except Exception:  # without a DLQ the message is retried, then redriven: never dropped
        logger.exception("could not park, the message will be retried", extra={"message_id": message_id})
        failed.add(message_id)


# -- repair ----------------------------------------------------------------------------------------


def sterling_truth(skus: Sequence[str], nodes: Sequence[str]) -> list[StockRow]:
    """Sterling's availability now for ``skus`` at ``nodes``, stamped with the time of asking."""
    stamp = timeutil.sortable(now_iso())
    lines = sterling.client().get_available_inventory(list(skus), nodes)
    sources = {ids.source_for_node(node) for node in nodes}
    return [row for row in rows_from_availability(lines, stamp) if row.item.source_code in sources]


def repair(lost: Sequence[Entry]) -> None:
    """Another invocation wrote these items between our read and our write, so Commerce may hold
    the older of two values: put Sterling's current availability there. Failing that, the
    scheduled reconciliation will."""
    keys = {entry.key for entry in lost}
    logger.warning("stock rows raced a newer update; re-reading Sterling", extra={"keys": sorted(keys)[:20]})
    try:
        truth = sterling_truth(sorted({sku for sku, _ in keys}),
                               sorted({ids.node_for_source(source) for _, source in keys}))
        apply([Entry(row) for row in truth if row.key in keys], SourceItemWriter(commerce.client(), options()))
    except IntegrationError as exc:
        logger.warning("stock repair failed; reconciliation will catch it", extra=exc.describe())
