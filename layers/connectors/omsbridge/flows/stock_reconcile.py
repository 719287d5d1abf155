"""Full stock reconciliation, Sterling → Commerce: the steps of ``StockReconcileStateMachine``.

A first load or the nightly check compares every (SKU, source) Sterling knows at the configured
nodes with Commerce — more than one invocation can do — so a Step Functions Distributed Map splits it:

1. ``plan`` lists Sterling's items (getItemList in ItemID order, ItemIDs only) and cuts them into
   pages of ``STOCK_SYNC_RECONCILE_PAGE_SIZE`` items, each named by the ItemIDs it runs after and
   through (the last one open-ended); the map runs ``concurrency`` pages at once.
2. ``page`` reads its items from Sterling again (an item created since the plan is not missed),
   their availability at the nodes, and Commerce's source items for them (searches on SKU lists
   short enough for any URL); it writes only the differences, through the async bulk endpoint
   and the same watermark guard as the event flow, stamped with the time Sterling was read: a
   newer event is never overwritten, and an older one arriving later cannot undo the fix.

Items Commerce rejects are parked in the DLQ with the reason and the page succeeds; a transient
failure fails the page, which the state machine retries (a page can run any number of times).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import quote

import pydantic
from pydantic import BaseModel, ConfigDict

from omsbridge import commerce, dlq, sterling
from omsbridge.errors import PermanentError, RetryableError, ValidationError
from omsbridge.events import now_iso
from omsbridge.flows.stock_sync import (
    FLOW,
    Entry,
    SourceItemWriter,
    TimeLeft,
    apply,
    options,
    repair,
    sterling_truth,
)
from omsbridge.mapping import ids
from omsbridge.mapping.stock import Key, SourceItem, StockRow, chunks, differences, quantity_value
from omsbridge.observability import correlate, logger

# getAvailableInventory lines per Sterling call.
AVAILABILITY_LINES = 500
# Characters of URL-encoded SKUs per Commerce search: with the rest of the query, a request line
# stays under the 8 KB web servers accept by default.
SKU_QUERY_CHARS = 6000


class Page(BaseModel):
    """The items after ``after`` (from the first when empty) through ``through`` (to the last
    when None), in Sterling's ItemID order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    after: str = ""
    through: str | None = None


class PlanTask(BaseModel):
    """The state machine's first step; ``input`` is the execution input (``nodes`` may narrow a
    run started on demand to some nodes)."""

    reconcile: Literal["plan"]
    input: dict[str, Any] = {}


class PageTask(BaseModel):
    reconcile: Literal["page"]
    nodes: list[str]
    page: Page


Task = PlanTask | PageTask


def task(event: Mapping[str, Any]) -> Task | None:
    """The reconciliation step ``event`` asks for; None when it is no reconciliation step."""
    kind = event.get("reconcile")
    if kind is None:
        return None
    try:
        return PlanTask.model_validate(event) if kind == "plan" else PageTask.model_validate(event)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "event"
        raise ValidationError(f"not a stock reconciliation step: {where}: {first['msg']}") from exc


def run(step: Task, *, time_left: TimeLeft | None = None) -> dict[str, Any]:
    if isinstance(step, PlanTask):
        return plan(step)
    return page(step, time_left=time_left)


def plan(step: PlanTask) -> dict[str, Any]:
    opts = options()
    correlate(f"stock-reconcile-{now_iso()}")
    nodes = [str(node) for node in step.input.get("nodes") or opts.reconcile_nodes]
    answer: dict[str, Any] = {"nodes": nodes, "pages": [], "concurrency": opts.reconcile_concurrency}
    if not nodes:
        logger.warning("stock reconciliation has no nodes: set STOCK_SYNC_RECONCILE_NODES")
        return {**answer, "status": "skipped", "reason": "STOCK_SYNC_RECONCILE_NODES is empty"}
    pages = _pages(opts.reconcile_page_size)
    logger.info("stock reconciliation planned", extra={"nodes": nodes, "pages": len(pages)})
    return {**answer, "status": "planned", "pages": [entry.model_dump() for entry in pages]}


def _pages(size: int) -> list[Page]:
    client = sterling.client()
    pages: list[Page] = []
    after = ""
    while True:
        found = client.get_item_ids(after, size)
        if not found:
            # The catalog ended with the previous page (or is empty): that one runs to the end.
            return [*pages[:-1], Page(after=pages[-1].after)] if pages else [Page()]
        if len(found) < size:
            return [*pages, Page(after=after)]
        pages.append(Page(after=after, through=found[-1]))
        after = found[-1]


def page(step: PageTask, *, time_left: TimeLeft | None = None) -> dict[str, Any]:
    opts = options()
    correlate(f"stock-reconcile-page-{step.page.after}")
    skus = page_items(step.page, opts.reconcile_page_size)
    truth: list[StockRow] = []
    for part in chunks(skus, AVAILABILITY_LINES):
        truth.extend(sterling_truth(part, step.nodes))
    sources = sorted({ids.source_for_node(node) for node in step.nodes})
    drift = differences(truth, commerce_items(skus, sources))
    applied = apply([Entry(row) for row in drift], SourceItemWriter(commerce.client(), opts, time_left, bulk=True))
    for entry, reason in applied.delivery.rejected:
        _park(entry, reason)
    if applied.delivery.failed:
        raise RetryableError(f"reconciliation could not apply {len(applied.delivery.failed)} rows: "
                             f"{applied.delivery.failed[0][1]}", system="commerce")
    if applied.lost:
        repair(applied.lost)
    summary = {"status": "reconciled", "items": len(skus), "compared": len(truth), "drift": len(drift),
               **applied.summary()}
    logger.info("stock reconciliation page done", extra={"page": step.page.model_dump(), **summary})
    return summary


def page_items(where: Page, size: int) -> list[str]:
    """The page's ItemIDs as Sterling lists them now. Items created in the range since the plan
    make the page longer: it reads on until it reaches ``through``."""
    client = sterling.client()
    found: list[str] = []
    after = where.after
    while True:
        batch = client.get_item_ids(after, size)
        for item_id in batch:
            # Passed over only when ``through`` itself was deleted since the plan.
            if where.through is not None and item_id > where.through:
                return found
            found.append(item_id)
            if item_id == where.through:
                return found
        if len(batch) < size:
            return found
        after = batch[-1]


def commerce_items(skus: Sequence[str], sources: Sequence[str]) -> dict[Key, SourceItem]:
    """Commerce's source items for ``skus`` at ``sources``."""
    client = commerce.client()
    found: dict[Key, SourceItem] = {}
    for group, condition in sku_groups(skus):
        filters = [commerce.Filter("sku", group, condition), commerce.Filter("source_code", sources, "in")]
        for item in client.search_source_items(filters, page_size=max(1, len(group) * len(sources))):
            current = SourceItem(str(item["sku"]), str(item["source_code"]),
                                 quantity_value(Decimal(str(item.get("quantity") or 0))), int(item.get("status") or 0))
            found[current.key] = current
    return found


def sku_groups(skus: Sequence[str]) -> Iterator[tuple[str | list[str], str]]:
    """``(value, condition)`` of the SKU filters that cover ``skus``: ``in`` lists of at most
    ``SKU_QUERY_CHARS`` encoded characters, and ``eq`` for a SKU with a comma (``in`` splits on it)."""
    group: list[str] = []
    size = 0
    for sku in skus:
        if "," in sku:
            yield sku, "eq"
            continue
        length = len(quote(sku, safe="")) + 3
        if group and size + length > SKU_QUERY_CHARS:
            yield group, "in"
            group, size = [], 0
        group.append(sku)
        size += length
    if group:
        yield group, "in"


def _park(entry: Entry, reason: str) -> None:
    item = entry.row.item
    error = PermanentError(f"Commerce rejected source item {item.sku} at {item.source_code}: {reason}",
                           system="commerce", status=400, code="source_item_rejected")
    logger.error("parked in DLQ", extra={"flow": FLOW, **error.describe()})
    dlq.park(FLOW, {"reconcile": item.body(), "stamp": entry.stamp}, error)
