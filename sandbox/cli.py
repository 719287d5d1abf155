"""``python -m sandbox demo | up | invoke | run | replay-dlq`` — a stable command-line contract."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sandbox.stack import REPLAY_PATH, STERLING_DOORS, ApiServer, FunctionError, Sandbox


def _pairs(values: list[str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"expected K=V, got {item!r}")
        pairs[key] = Path(value[1:]).read_text().strip() if value.startswith("@") else value
    return pairs


@contextlib.contextmanager
def _answer_on_stdout() -> Iterator[list[Any]]:
    """The functions' logs and metrics go to stderr; stdout carries only the one JSON answer."""
    answer: list[Any] = []
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield answer
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
    for item in answer:
        print(json.dumps(item, indent=2, default=str), flush=True)


def _read_json(path: str) -> Any:
    return json.loads(Path(path).read_text())


IO_EVENTS_KEY_ENV = "SANDBOX_IO_EVENTS_KEY"


def _io_events_key(args: argparse.Namespace) -> bytes | None:
    """The PEM public key standing in for Adobe's I/O Events key host: ``--io-events-key`` or
    ``$SANDBOX_IO_EVENTS_KEY`` (a file either way)."""
    path = args.io_events_key or os.environ.get(IO_EVENTS_KEY_ENV)
    if not path:
        return None
    pem = Path(path).read_bytes()
    if b"-----BEGIN PUBLIC KEY-----" not in pem:
        raise SystemExit(f"{path}: expected a PEM public key (-----BEGIN PUBLIC KEY-----)")
    return pem


def bus_entries(sandbox: Sandbox, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Bus events as they were given to PutEvents."""
    return [
        {"Source": e["source"], "DetailType": e["detail-type"], "Detail": e["detail"],
         "EventBusName": sandbox.aws.bus_name}
        for e in events
    ]


def _without_secrets(trace: dict[str, Any], secret: dict[str, str]) -> Any:
    """The trace shows every call, logins included: print it with the secret's values masked."""
    text = json.dumps(trace, default=str)
    for value in sorted((v for v in secret.values() if len(v) >= 6), key=len, reverse=True):
        text = text.replace(json.dumps(value)[1:-1], "<secret>")
    return json.loads(text)


def _invoke(sandbox: Sandbox, logical_id: str, event: dict[str, Any]) -> Any:
    if logical_id not in sandbox.stack.functions:
        raise SystemExit(f"no function {logical_id!r} in template.yaml; have: {', '.join(sandbox.stack.functions)}")
    try:
        return sandbox.invoke(logical_id, event)
    except FunctionError as failure:
        return {"errorMessage": str(failure.error), "errorType": type(failure.error).__name__}


def cmd_run(args: argparse.Namespace) -> int:
    seed = _read_json(args.seed) if args.seed else None
    with _answer_on_stdout() as answer, Sandbox(seed=seed, env=_pairs(args.env), secret=_pairs(args.secret),
                                                io_events_key=_io_events_key(args)) as sb:
        result = _invoke(sb, args.logical_id, _read_json(args.event))
        calls = [{k: call[k] for k in ("system", "method", "path", "query", "body")} for call in sb.calls()]
        trace = {"result": result, "calls": calls, "events": bus_entries(sb, sb.drain_tap())}
        answer.append(_without_secrets(trace, sb.secret))
    return 0


def cmd_invoke(args: argparse.Namespace) -> int:
    with _answer_on_stdout() as answer, Sandbox(env=_pairs(args.env), io_events_key=_io_events_key(args)) as sandbox:
        answer.append(_invoke(sandbox, args.logical_id, _read_json(args.event)))
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    seed = _read_json(args.seed) if args.seed else None
    with Sandbox(seed=seed, io_events_key=_io_events_key(args)) as sandbox:
        api = ApiServer(sandbox, port=args.port).start()
        urls = {"api": api.url, **{name: server.url for name, server in sandbox.servers.items()}}
        print(json.dumps(urls), flush=True)
        try:
            deadline = time.monotonic() + args.seconds if args.seconds else None
            while deadline is None or time.monotonic() < deadline:
                sandbox.deliver()
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        finally:
            api.stop()
    return 0


def cmd_replay_dlq(args: argparse.Namespace) -> int:
    import httpx

    answer = httpx.post(args.api.rstrip("/") + REPLAY_PATH, timeout=600)
    answer.raise_for_status()
    result = answer.json()
    print(json.dumps(result))
    # A refused message is still in its DLQ and needs a look: not a clean run.
    return 1 if result["refused"] else 0


def cmd_demo(args: argparse.Namespace) -> int:
    from sandbox.demo import run_demo

    return run_demo(verbose=not args.quiet, sterling_via=args.sterling_via)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="the whole order life cycle, end to end")
    demo.add_argument("--quiet", action="store_true")
    demo.add_argument("--sterling-via", choices=STERLING_DOORS, default="direct",
                      help="how Sterling's events reach the ingress: posted by Sterling (direct), or published "
                           "through Adobe I/O Events as IBM's OMS layer does (io-events)")
    demo.set_defaults(func=cmd_demo)

    up = commands.add_parser("up", help="simulators + the HTTP API on loopback; prints the URLs")
    up.add_argument("--port", type=int, default=0)
    up.add_argument("--seed")
    up.add_argument("--seconds", type=float, default=0, help="stop after this long (0: until Ctrl-C)")
    up.set_defaults(func=cmd_up)

    invoke = commands.add_parser("invoke", help="like `sam local invoke`, without Docker")
    invoke.add_argument("logical_id")
    invoke.add_argument("-e", "--event", required=True)
    invoke.add_argument("--env", action="append", default=[], metavar="K=V")
    invoke.set_defaults(func=cmd_invoke)

    run = commands.add_parser("run", help="one invocation on fresh simulators; prints result, calls, events")
    run.add_argument("logical_id")
    run.add_argument("event")
    run.add_argument("--seed")
    run.add_argument("--env", action="append", default=[], metavar="K=V")
    run.add_argument("--secret", action="append", default=[], metavar="K=V|K=@file")
    run.set_defaults(func=cmd_run)

    replay = commands.add_parser(
        "replay-dlq", help="send every dead-lettered event of a running `up` sandbox back to its function, "
                           "if the stack (or AWS for it) wrote it; prints what was replayed and what refused")
    replay.add_argument("--api", required=True, help="the api URL `python -m sandbox up` printed")
    replay.set_defaults(func=cmd_replay_dlq)

    for command in (up, invoke, run):
        command.add_argument(
            "--io-events-key", metavar="PEM_FILE",
            help="public key that verifies I/O Events signatures in place of Adobe's key host "
                 f"(default: ${IO_EVENTS_KEY_ENV})")

    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
