"""Stock-check webhook benchmark: latency through the local HTTP API, and cold import time.

    python bench/stock_check.py [--requests 600] [--concurrency 4] [--sterling-latency 0.05]

Runs the sandbox (the Sterling simulator answering after ``--sterling-latency`` seconds) behind
``sandbox.stack.ApiServer`` and sends signed add-to-cart and order-placement webhooks from
concurrent clients in a separate process, with the availability cache off so every request asks
Sterling, and the fail mode closed so a missed deadline shows up as an error. Prints one JSON line:

* ``p50_ms`` / ``p95_ms`` / ``p99_ms``: end to end, as the clients saw it;
* ``p50_sterling_call_ms``: the Sterling call as the handler timed it (its Server-Timing header);
* ``p50_handler_overhead_ms`` / ``p99_handler_overhead_ms``: the Lambda handler's whole run (the
  Powertools decorators and the log and metric output included) minus its Sterling call: what
  the function adds to Sterling's latency;
* ``p99_e2e_overhead_ms``: end to end minus the Sterling call (adds the local HTTP stack);
* ``errors``: answers other than HTTP 200 ``success``;
* ``cold_import_ms``: importing the handler module in a fresh interpreter, bytecode compiled,
  median of ``--import-runs``; ``naive_cold_import_ms``: the same for a handler that imports
  Powertools Logger + Tracer + Metrics and boto3 the usual way (and the Sterling client up
  front), measured in turns with it; ``cold_first_call_imports_ms``: the handler plus what its
  first Sterling call imports (the Sterling client, httpx, boto3 for the secret);
* ``load_average``: the machine's, since a busy machine stretches every figure.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "connectors")]

from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: E402

SKUS = [f"BENCH-{n:03d}" for n in range(50)]
HANDLER = ROOT / "functions" / "stock_check" / "app.py"

# The environment a Lambda container has (LAMBDA_TASK_ROOT makes Powertools Tracer really trace).
LAMBDA_ENV = {
    "LAMBDA_TASK_ROOT": str(HANDLER.parent),
    "AWS_LAMBDA_FUNCTION_NAME": "StockCheckFunction",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "oms-bridge",
    "POWERTOOLS_METRICS_NAMESPACE": "OmsBridge",
}

IMPORT_HANDLER = """
import importlib.util, sys, time
started = time.perf_counter()
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
{extra}
print((time.perf_counter() - started) * 1000)
"""
FIRST_CALL_IMPORTS = "import omsbridge.sterling, omsbridge.commerce\nimport aws_lambda_powertools.utilities.parameters"

NAIVE_HANDLER = '''
import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer

from omsbridge.flows import stock_check
from omsbridge import sterling

logger = Logger()
metrics = Metrics()
tracer = Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return stock_check.handle(event)
'''


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return round(ordered[index], 2)


def cold_imports(handlers: dict[str, tuple[Path, str]], runs: int) -> dict[str, float]:
    """Median milliseconds to import each handler (plus ``extra`` imports) in a fresh interpreter.

    The handlers take turns, run after run, so a busy moment on the machine hits them alike.
    """
    env = {**os.environ, **LAMBDA_ENV, "PYTHONPATH": str(ROOT / "layers" / "connectors")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    commands = {name: [sys.executable, "-c", IMPORT_HANDLER.format(extra=extra), str(path)]
                for name, (path, extra) in handlers.items()}
    for command in commands.values():
        # The first run writes the bytecode the layer ships precompiled; it is not counted.
        subprocess.run(command, env=env, check=True, capture_output=True)  # noqa: S603 - our own interpreter
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            answer = subprocess.run(command, env=env, check=True, capture_output=True, text=True)  # noqa: S603
            times[name].append(float(answer.stdout))
    return {name: round(statistics.median(values), 1) for name, values in times.items()}


Signed = tuple[bytes, str]  # a webhook body and its signature header


def server_timing(headers: Mapping[str, str]) -> dict[str, float]:
    """``{"sterling": 51.2, "total": 52.0}`` from ``server-timing: sterling;dur=51.2, total;dur=52.0``."""
    return {
        part.split(";dur=")[0].strip(): float(part.split(";dur=")[1])
        for part in headers.get("server-timing", "").split(",") if ";dur=" in part
    }


def timed(invoke: Callable[[str, dict[str, Any]], Any], overheads: list[float]) -> Callable[..., Any]:
    """Wrap ``Sandbox.invoke``: the whole Lambda handler (decorators, log and metric output
    included) minus the Sterling call it reports, per request that asked Sterling."""

    def run(logical_id: str, event: dict[str, Any]) -> Any:
        started = time.perf_counter()
        result = invoke(logical_id, event)
        elapsed = (time.perf_counter() - started) * 1000
        sterling = server_timing(result.get("headers") or {}).get("sterling")
        if sterling is not None:
            overheads.append(elapsed - sterling)
        return result

    return run


def post_all(url: str, requests: list[Signed], concurrency: int) -> list[dict[str, Any]]:
    """Send every request from ``concurrency`` threads, one kept-alive connection each."""
    import httpx

    local = threading.local()

    def post(request: Signed) -> dict[str, Any]:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(timeout=10)
        raw, signature = request
        headers = {"content-type": "application/json", "x-adobe-commerce-webhook-signature": signature}
        started = time.perf_counter()
        response = client.post(f"{url}/webhooks/stock-check", content=raw, headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        ok = response.status_code == 200 and response.json() == {"op": "success"}
        return {"ms": elapsed, "ok": ok, "sterling": server_timing(response.headers).get("sterling")}

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(post, requests))


def _client_process(url: str, requests: list[Signed], concurrency: int, results: Connection) -> None:
    results.send(post_all(url, requests, concurrency))
    results.close()


def body(rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.5:
        return {"eventName": "checkout_cart_product_add_before",
                "data": {"product": {"sku": rng.choice(SKUS), "name": "Bench", "type_id": "simple"},
                         "info": {"qty": "1"}}}
    picked = rng.sample(SKUS, 3)
    return {"order": {"increment_id": f"B{rng.randrange(10**6):06d}", "items": [
        {"sku": sku, "name": sku, "qty_ordered": 1, "product_type": "simple"} for sku in picked]}}


def signed(key: rsa.RSAPrivateKey, payload: dict[str, Any]) -> Signed:
    raw = json.dumps(payload).encode()
    signature = key.sign(base64.b64encode(raw), padding.PKCS1v15(), hashes.SHA256())
    return raw, base64.b64encode(signature).decode()


def run_load(requests: int, concurrency: int, sterling_latency: float, switch_interval: float) -> dict[str, Any]:
    """The sandbox serves in this process; the clients run in another, so that signing requests and
    reading answers do not compete with the handler for this interpreter.

    Lambda runs one request per container; here the handler, the HTTP API and the simulator share
    one interpreter, whose default 5 ms GIL switch interval would charge the handler for other
    threads' turns. ``switch_interval`` (reported) shortens those turns.
    """
    sys.setswitchinterval(switch_interval)
    from sandbox.stack import ApiServer, Sandbox

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    seed = {"sterling": {"inventory": [{"ItemID": sku, "ShipNode": "DC_1", "Quantity": "1000000"} for sku in SKUS]}}
    env = {"COMMERCE_WEBHOOK_PUBLIC_KEY": pem, "STOCK_CHECK_CACHE_SECONDS": "0", "STOCK_CHECK_FAIL_MODE": "closed",
           "STOCK_CHECK_TIMEOUT_MS": "1500", "POWERTOOLS_LOG_LEVEL": "INFO"}
    rng = random.Random(7)
    prepared = [signed(key, body(rng)) for _ in range(requests + concurrency)]
    warmup, timed_requests = prepared[:concurrency], prepared[concurrency:]
    # Logs and metrics go to stdout, as in Lambda; here they would drown the one JSON line.
    overheads: list[float] = []
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), Sandbox(seed=seed, env=env) as sandbox:
        sandbox.invoke = timed(sandbox.invoke, overheads)  # type: ignore[method-assign]
        server = ApiServer(sandbox)
        # The local servers write headers and body separately; without TCP_NODELAY, Nagle's
        # algorithm and the client's delayed ACK hold every slow answer back by ~40 ms.
        for httpd in (server.httpd, *(sim.httpd for sim in sandbox.servers.values())):
            httpd.RequestHandlerClass.disable_nagle_algorithm = True  # type: ignore[attr-defined]
        server.start()
        try:
            post_all(server.url, warmup, concurrency)  # the in-process "cold start" and the Sterling login
            overheads.clear()
            sandbox.sterling.faults.latency = sterling_latency
            receiver, sender = multiprocessing.get_context("spawn").Pipe(duplex=False)
            client = multiprocessing.get_context("spawn").Process(
                target=_client_process, args=(server.url, timed_requests, concurrency, sender))
            client.start()
            results: list[dict[str, Any]] = receiver.recv()
            client.join()
        finally:
            server.stop()
    latencies = [r["ms"] for r in results]
    sterling = [r["sterling"] for r in results if r["sterling"] is not None]
    e2e_overhead = [r["ms"] - r["sterling"] for r in results if r["sterling"] is not None]
    return {
        "requests": requests,
        "concurrency": concurrency,
        "sterling_latency_ms": round(sterling_latency * 1000, 1),
        "p50_ms": percentile(latencies, 0.50),
        "p95_ms": percentile(latencies, 0.95),
        "p99_ms": percentile(latencies, 0.99),
        "p50_sterling_call_ms": percentile(sterling, 0.50) if sterling else None,
        "p50_handler_overhead_ms": percentile(overheads, 0.50) if overheads else None,
        "p99_handler_overhead_ms": percentile(overheads, 0.99) if overheads else None,
        "p99_e2e_overhead_ms": percentile(e2e_overhead, 0.99) if e2e_overhead else None,
        "errors": sum(1 for r in results if not r["ok"]),
        "switch_interval_ms": switch_interval * 1000,
    }


def main() -> None:
    # Lambda runs one request per container; the sandbox runs them side by side in one process and
    # shares Powertools' Metrics between them, so a flush can find another request's set empty.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--sterling-latency", type=float, default=0.05, help="seconds (default 0.05)")
    parser.add_argument("--import-runs", type=int, default=9)
    parser.add_argument("--switch-interval", type=float, default=0.001, help="seconds (default 0.001)")
    args = parser.parse_args()

    figures = run_load(args.requests, args.concurrency, args.sterling_latency, args.switch_interval)
    with tempfile.TemporaryDirectory() as folder:
        naive = Path(folder) / "app.py"
        naive.write_text(NAIVE_HANDLER)
        imports = cold_imports({
            "cold_import_ms": (HANDLER, ""),
            "naive_cold_import_ms": (naive, ""),
            "cold_first_call_imports_ms": (HANDLER, FIRST_CALL_IMPORTS),
        }, args.import_runs)
    figures.update(imports)
    figures["cold_import_ratio"] = round(imports["cold_import_ms"] / imports["naive_cold_import_ms"], 2)
    figures["load_average"] = round(os.getloadavg()[0], 2)  # figures from a busy machine read high
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
