"""Full stock reconciliation benchmark: StockReconcileStateMachine over a drifted catalog.

    python bench/reconcile.py [--rows 100000] [--nodes 10] [--drift 0.05] [--latency 0.03]

Seeds Sterling with ``--rows`` (item, node) availabilities (``--rows / --nodes`` items at every
node) and Commerce with the same source items, except that a ``--drift`` share of them differs:
Commerce higher, lower, or missing an item Sterling has. Then runs the template's state machine in
the sandbox (``sandbox/states.py``: the plan, then every page, one after the other, each a real
StockSyncFunction invocation) with the template's parameters, both simulators answering after
``--latency`` seconds per call. Afterwards every (item, node) is compared again.

``seconds_for_1m_rows`` scales the run to a million rows at the state machine's configured
concurrency (``StockSyncReconcileConcurrency``): the plan lists items one page after another, the
pages run that many at once. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "connectors")]

from omsbridge.config import Settings  # noqa: E402
from sandbox import states  # noqa: E402
from sandbox.demo import function_output_to  # noqa: E402
from sandbox.stack import Sandbox  # noqa: E402

STATE_MACHINE = "StockReconcileStateMachine"
FUNCTION = "StockSyncFunction"
BULK_PATH = "/async/bulk/V1/inventory/source-items"


def workload(rows: int, nodes: int, drift: float, seed: int) -> tuple[dict[str, Any], dict[tuple[str, str], int]]:
    """The seed of both systems, and Sterling's truth per (item, node)."""
    rng = random.Random(seed)
    node_names = [f"node_{n:02d}" for n in range(nodes)]
    skus = [f"SKU-{n:07d}" for n in range(max(1, rows // nodes))]
    truth = {(sku, node): rng.choice([0, 0, 1, 2, 5, 10, 25, 40, 100]) for sku in skus for node in node_names}
    source_items = []
    for (sku, node), quantity in truth.items():
        held: int | None = quantity
        if rng.random() < drift:
            held = rng.choice([quantity + rng.randint(1, 20), max(0, quantity - rng.randint(1, 20)), None])
            if held is None and quantity == 0:
                held = quantity + 3
        if held is not None and (held > 0 or rng.random() < 0.5):
            source_items.append({"sku": sku, "source_code": node, "quantity": held, "status": int(held > 0)})
    seed_doc = {
        "commerce": {
            "products": [{"sku": sku, "name": sku, "type_id": "simple"} for sku in skus],
            "sources": [{"source_code": node, "name": node} for node in node_names],
            "source_items": source_items,
        },
        "sterling": {
            "nodes": [{"ShipNode": node, "NodeType": "Store", "Description": node} for node in node_names],
            "inventory": [{"ItemID": sku, "ShipNode": node, "Quantity": quantity}
                          for (sku, node), quantity in truth.items()],
        },
    }
    return seed_doc, truth


def mismatches(sb: Sandbox, truth: dict[tuple[str, str], int]) -> int:
    """Items where Commerce differs from Sterling (an item Commerce lacks matters only if Sterling has some)."""
    wrong = 0
    for key, quantity in truth.items():
        item = sb.commerce.source_items.get(key)
        if item is None:
            wrong += quantity > 0
        elif float(item["quantity"]) != quantity or int(item["status"]) != int(quantity > 0):
            wrong += 1
    return wrong


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--drift", type=float, default=0.05, help="share of (item, node) rows Commerce has wrong")
    parser.add_argument("--latency", type=float, default=0.03, help="seconds per Commerce and per Sterling call")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    seed_doc, truth = workload(args.rows, args.nodes, args.drift, args.seed)
    with function_output_to(Path("artifacts/reconcile-functions.log")) as terminal:
        result = measure(args, seed_doc, truth)
        print(json.dumps(result), file=terminal)
    return result


def measure(args: argparse.Namespace, seed_doc: dict[str, Any], truth: dict[tuple[str, str], int]) -> dict[str, Any]:
    nodes = sorted({node for _, node in truth})
    # A page searches a catalog of --rows source items in the simulator: the deployed read timeout
    # (10 s), not the sandbox's 1 s meant for small test fixtures.
    env = {"STOCK_SYNC_RECONCILE_NODES": ",".join(nodes), "HTTP_READ_TIMEOUT": str(Settings().http_read_timeout)}
    with Sandbox(seed=seed_doc, env=env) as sb:
        parameters = sb.parameters()
        before = mismatches(sb, truth)
        sb.commerce.faults.latency = args.latency
        sb.sterling.faults.latency = args.latency
        spent: dict[str, float] = defaultdict(float)
        invoke = sb.invoke

        def timed(logical_id: str, event: dict[str, Any]) -> Any:
            started = time.perf_counter()
            try:
                return invoke(logical_id, event)
            finally:
                spent[str(event.get("reconcile"))] += time.perf_counter() - started

        sb.invoke = timed  # type: ignore[method-assign]
        started = time.perf_counter()
        output = states.execute(sb, STATE_MACHINE, {})
        seconds = time.perf_counter() - started
        calls = sb.commerce.calls
        after = mismatches(sb, truth)
        parked = len(sb.dlq(FUNCTION))
    rows = len(truth)
    pages = len(output["pages"])
    concurrency = int(parameters["StockSyncReconcileConcurrency"])
    scale = 1_000_000 / rows
    # The plan is one Lambda reading Sterling page after page; the pages run `concurrency` at once.
    seconds_for_1m = spent["plan"] * scale + math.ceil(pages * scale / concurrency) * spent["page"] / pages
    return {
        "rows": rows,
        "items": rows // len(nodes),
        "nodes": len(nodes),
        "pages": pages,
        "page_size_items": int(parameters["StockSyncReconcilePageSize"]),
        "drifted_before": before,
        "commerce_calls": len(calls),
        "commerce_calls_by_kind": {
            "read": sum(call["method"] == "GET" and "/bulk/" not in call["path"] for call in calls),
            "bulk_write": sum(call["method"] == "POST" and call["path"].endswith(BULK_PATH) for call in calls),
            "bulk_status": sum(call["method"] == "GET" and "/bulk/" in call["path"] for call in calls),
            "other": sum(call["method"] == "POST" and not call["path"].endswith(BULK_PATH) for call in calls),
        },
        "calls_per_row": round(len(calls) / rows, 5),
        "mismatches": after,
        "parked": parked,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds, 1),
        "plan_seconds": round(spent["plan"], 2),
        "page_seconds_mean": round(spent["page"] / max(pages, 1), 2),
        "concurrency": concurrency,
        "seconds_for_1m_rows": round(seconds_for_1m, 1),
        "latency_s": args.latency,
    }


if __name__ == "__main__":
    main()
