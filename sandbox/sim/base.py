"""The small HTTP framework every simulator is built on.

A simulator is a set of routes over in-memory state. It runs as a real HTTP server on 127.0.0.1
(a port the OS picks), records every call it receives, and can inject faults: latency, an error
status (with ``Retry-After`` for 429), a timeout (answers later than the client waits) or a dropped
connection. Faults come from a random plan (rate + kinds, seeded) or are scripted for the next
matching calls.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

JsonBody = Any


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    raw_query: str
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    client_cert: str = ""  # the common name of the TLS client certificate presented, if any

    def json(self) -> JsonBody:
        if not self.body:
            return None
        return json.loads(self.body)

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Response:
    status: int = 200
    body: JsonBody = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return json.dumps(self.body).encode()


class HttpError(Exception):
    """Raised by a route to answer with an error in the simulated system's own shape."""

    def __init__(self, status: int, body: JsonBody, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.response = Response(status, body, headers or {})


@dataclass(frozen=True)
class Fault:
    kind: str  # "status" | "timeout" | "drop" | "latency"
    status: int = 503
    retry_after: float | None = None
    seconds: float = 0.0


FAULT_KINDS = ("5xx", "429", "timeout", "drop")


@dataclass
class FaultPlan:
    """Which calls fail, and how. ``rate`` applies to calls whose path matches ``only``."""

    rate: float = 0.0
    kinds: tuple[str, ...] = FAULT_KINDS
    timeout_seconds: float = 1.5
    only: str | None = None
    seed: int = 0
    latency: float = 0.0
    scripted: list[tuple[re.Pattern[str], Fault]] = field(default_factory=list)
    injected: int = 0

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    def script(self, path_pattern: str, fault: Fault, times: int = 1) -> None:
        """The next ``times`` calls whose path matches ``path_pattern`` fail with ``fault``."""
        with self._lock:
            self.scripted.extend((re.compile(path_pattern), fault) for _ in range(times))

    def clear(self) -> None:
        with self._lock:
            self.rate = 0.0
            self.scripted.clear()

    def draw(self, request: Request) -> Fault | None:
        with self._lock:
            for index, (pattern, fault) in enumerate(self.scripted):
                if pattern.search(request.path):
                    del self.scripted[index]
                    self.injected += 1
                    return fault
            if self.rate <= 0 or (self.only and not re.search(self.only, request.path)):
                return None
            if self._random.random() >= self.rate:
                return None
            self.injected += 1
            kind = self._random.choice(self.kinds)
        if kind == "429":
            return Fault("status", status=429, retry_after=0.01)
        if kind == "timeout":
            return Fault("timeout", seconds=self.timeout_seconds)
        if kind == "drop":
            return Fault("drop")
        return Fault("status", status=self._random.choice((500, 502, 503, 504)))


Handler = Callable[[Request], Response | JsonBody]

# One sequence across all simulators, so their calls can be merged in the order they arrived.
_call_sequence = itertools.count(1)


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


def compile_path(template: str) -> re.Pattern[str]:
    """``/V1/orders/{id}/comments`` → a regex with a named group per ``{name}``."""
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return re.compile(f"^{regex}$")


class Simulator:
    """State + routes + call recording + faults. Subclasses add routes in ``__init__``."""

    system = "simulator"

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.calls: list[dict[str, Any]] = []
        self.faults = FaultPlan()
        self.lock = threading.RLock()

    def route(self, method: str, template: str, handler: Handler) -> None:
        self.routes.append(Route(method.upper(), compile_path(template), handler))

    def record(self, request: Request, status: int, response: JsonBody = None) -> None:
        try:
            body = request.json()
        except ValueError:
            body = request.body.decode(errors="replace")
        query = {k: v[0] if len(v) == 1 else v for k, v in request.query.items()}
        call = {
            "system": self.system, "method": request.method, "path": request.path,
            "query": query, "body": body, "status": status, "seq": next(_call_sequence),
            "response": response,
        }
        if request.client_cert:
            call["client_cert"] = request.client_cert
        self.calls.append(call)

    def calls_to(self, path_suffix: str, method: str | None = None) -> list[dict[str, Any]]:
        return [
            call for call in self.calls
            if call["path"].endswith(path_suffix) and (method is None or call["method"] == method)
        ]

    def load_seed(self, seed: dict[str, Any]) -> None:
        """Preload state (ARCHITECTURE §7 seed format). Simulators that keep state override it."""
        raise ValueError(f"the {self.system} simulator takes no seed")

    def authenticate(self, request: Request) -> None:
        """Raise ``HttpError`` when the request is not authenticated. Open by default."""

    def not_found(self, request: Request) -> Response:
        return Response(404, {"message": f"no route {request.method} {request.path}"})

    def dispatch(self, request: Request) -> Response:
        for route in self.routes:
            if route.method != request.method:
                continue
            match = route.pattern.match(request.path)
            if match is None:
                continue
            request.params = match.groupdict()
            try:
                self.authenticate(request)
                with self.lock:
                    result = route.handler(request)
            except HttpError as exc:
                return exc.response
            return result if isinstance(result, Response) else Response(200, result)
        return self.not_found(request)


def _handler_class(simulator: Simulator) -> type[BaseHTTPRequestHandler]:
    class SimHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out as two writes: without TCP_NODELAY the second waits ~40 ms for
        # the client's delayed ACK, which would dwarf the latency a test sets on purpose.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the simulator records calls itself."""

        def _serve(self) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            request = Request(
                method=self.command,
                path=split.path,
                query=parse_qs(split.query, keep_blank_values=True),
                raw_query=split.query,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
                client_cert=_common_name(self.connection),
            )
            fault = simulator.faults.draw(request)
            if simulator.faults.latency:
                time.sleep(simulator.faults.latency)
            if fault is not None and fault.kind == "drop":
                simulator.record(request, 0)
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if fault is not None and fault.kind == "status":
                headers = {"Retry-After": f"{fault.retry_after}"} if fault.retry_after is not None else {}
                response = Response(fault.status, {"message": "injected fault"}, headers)
            else:
                response = simulator.dispatch(request)
            # Recorded when the work is done, before a late answer: a test that moves on after the
            # client gave up must already see the call it timed out on.
            simulator.record(request, response.status, response.body)
            if fault is not None and fault.kind == "timeout":
                # Do the work, answer late: the client gave up, but the side effect happened.
                time.sleep(fault.seconds)
            payload = response.encode()
            try:
                self.send_response(response.status)
                self.send_header("Content-Type", response.headers.pop("Content-Type", "application/json"))
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    return SimHandler


def _common_name(connection: Any) -> str:
    peer = connection.getpeercert() if isinstance(connection, ssl.SSLSocket) else None
    subject: Any = (peer or {}).get("subject", ())
    names = [value for rdn in subject for name, value in rdn if name == "commonName"]
    return str(names[0]) if names else ""


class SimServer:
    """Runs a simulator on 127.0.0.1 in a daemon thread; ``stop()`` frees the port. With ``tls`` (a
    server-side context, which may require client certificates) it speaks HTTPS."""

    def __init__(self, simulator: Simulator, port: int = 0, tls: ssl.SSLContext | None = None) -> None:
        self.simulator = simulator
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler_class(simulator))
        self.httpd.daemon_threads = True
        self.scheme = "http"
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        # A short poll interval: stop() waits up to one interval for the serving loop to notice.
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True, name=f"sim-{simulator.system}")

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"{self.scheme}://{host!s}:{port}"

    def start(self) -> SimServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
