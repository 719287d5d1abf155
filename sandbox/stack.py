"""The sandbox: simulators + moto + a router that runs the functions as AWS would.

``Sandbox`` reads template.yaml, starts the simulators on 127.0.0.1, creates the template's tables,
queues, bus and secret in moto, and runs each function's real handler in-process:

* ``invoke`` — one synchronous invocation, like ``sam local invoke``;
* ``deliver`` — routes what is on the bus (and in the SQS queues the template wires) to the
  functions whose rules match, with Lambda's asynchronous retries and on-failure DLQ;
* ``http`` — sends a request to the function behind an HTTP API route;
* ``io_events_post`` — delivers Commerce (or any) CloudEvents to ``POST /events/commerce`` the way
  Adobe I/O Events does: signed, with Adobe's headers;
* ``partner_put`` — puts an event on the Adobe partner bus (``AdobePartnerEventBusName``), as Adobe
  I/O Events does for a registration delivering to Amazon EventBridge; ``deliver`` routes it by the
  rules on that bus.

Sterling's events reach the ingress as Sterling posts them (``sterling_via="direct"``), or
(``sterling_via="io-events"``) as IBM's OMS layer publishes them through Adobe I/O Events
(``sandbox.ibm_layer``), signed and posted to ``/events/adobe-io``.

Adobe's key host is stood in for in-process, never on the network: it serves the sandbox's own
public key (its key pair is made at run time, never kept) and, for every other key path, the public
key given as ``io_events_key`` (``python -m sandbox run|up --io-events-key PEM_FILE``), so anyone can
sign deliveries of their own.

Each function behaves as its own container: switching from one function to another forgets the
cached settings and clients, as a cold start would.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import json
import os
import random
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from sandbox import template
from sandbox.aws_local import AWS_ENV, LocalAws
from sandbox.keys import KeyPair, new_keypair
from sandbox.sim.base import SimServer, Simulator

if TYPE_CHECKING:
    from omsbridge.dlq import Provenance
    from omsbridge.sterling import SterlingClient

SANDBOX_SECRET = {
    "commerce_consumer_key": "sandbox-consumer-key",
    "commerce_consumer_secret": "sandbox-consumer-secret",
    "commerce_access_token": "sandbox-access-token",
    "commerce_access_token_secret": "sandbox-access-token-secret",
    "commerce_bearer_token": "sandbox-bearer-token",
    "ims_client_id": "sandbox-ims-client",
    "ims_client_secret": "sandbox-ims-secret",
    "sterling_user": "sandbox",
    "sterling_password": "sandbox-sterling-password",
    "ingress_token": "sandbox-ingress-token",
    "ingress_token_next": "",
    "carrier_api_key": "sandbox-carrier-key",
    "dc_api_key": "sandbox-dc-key",
}

# Settings that make the local run quick: short timeouts, near-zero backoff.
SANDBOX_ENV = {
    "HTTP_CONNECT_TIMEOUT": "1",
    "HTTP_READ_TIMEOUT": "1",
    "HTTP_RETRY_BASE_DELAY": "0.001",
    "HTTP_RETRY_MAX_DELAY": "0.01",
    "POWERTOOLS_METRICS_NAMESPACE": "OmsBridge",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_DEV": "false",
}


class FunctionError(Exception):
    """A handler raised: what Lambda reports as ``Unhandled``."""

    def __init__(self, logical_id: str, error: BaseException) -> None:
        super().__init__(f"{logical_id}: {type(error).__name__}: {error}")
        self.logical_id = logical_id
        self.error = error


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/sandbox"
    log_stream_name: str = "sandbox"
    function_version: str = "$LATEST"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@dataclass
class Delivery:
    """How events reach functions: duplicates and reordering for the chaos runs."""

    duplicates: int = 0  # up to this many extra copies of each event
    shuffle: bool = False
    seed: int = 0


def _simulators(secret: dict[str, str]) -> dict[str, Callable[[], Simulator]]:
    """The simulators the sandbox runs, by system name, holding the credentials of ``secret``."""
    from sandbox.sim.commerce import CommerceSim
    from sandbox.sim.sterling import SterlingSim

    factories: dict[str, Callable[[], Simulator]] = {
        "commerce": lambda: CommerceSim(
            consumer_key=secret["commerce_consumer_key"],
            consumer_secret=secret["commerce_consumer_secret"],
            access_token=secret["commerce_access_token"],
            access_token_secret=secret["commerce_access_token_secret"],
            bearer_token=secret["commerce_bearer_token"],
        ),
        "sterling": lambda: SterlingSim(
            user=secret["sterling_user"], password=secret["sterling_password"]),
    }
    with contextlib.suppress(ImportError):
        from sandbox.sim.carrier import CarrierSim

        factories["carrier"] = lambda: CarrierSim(api_key=secret["carrier_api_key"])
    with contextlib.suppress(ImportError):
        from sandbox.sim.dc import DcSim

        factories["dc"] = lambda: DcSim(api_key=secret["dc_api_key"])
    return factories


SANDBOX_PARTNER_BUS = "aws.partner/developer.adobe.com/oms-bridge-sandbox"
# How Sterling's events reach the ingress: posted by Sterling, or published by IBM's OMS layer.
STERLING_DOORS = ("direct", "io-events")
# The sandbox's own I/O Events signing key, under two paths as Adobe names its two keys.
SANDBOX_KEY_PATHS = ("/prod/keys/pub-key-oms-bridge-sandbox-1.pem", "/prod/keys/pub-key-oms-bridge-sandbox-2.pem")


class Sandbox:
    def __init__(
        self,
        seed: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
        secret: dict[str, str] | None = None,
        delivery: Delivery | None = None,
        io_events_key: str | bytes | None = None,
        sterling_via: str = "direct",
    ) -> None:
        if sterling_via not in STERLING_DOORS:
            raise ValueError(f"sterling_via must be one of {', '.join(STERLING_DOORS)}")
        self.sterling_via = sterling_via
        self.stack = template.read()
        self.seed = seed or {}
        self.env_overrides = dict(env or {})
        self.secret = {**SANDBOX_SECRET, **(secret or {})}
        self.delivery = delivery or Delivery()
        self.io_events_key = io_events_key.encode() if isinstance(io_events_key, str) else io_events_key
        self.key_host_fetches: list[str] = []
        self._io_events_signer: KeyPair | None = None
        self._saved_key_cache: Any = None
        self.servers: dict[str, SimServer] = {}
        self.bus_events: list[dict[str, Any]] = []
        self.invocations: list[dict[str, Any]] = []
        self.duplicates_delivered = 0
        self._modules: dict[str, ModuleType] = {}
        self._container: str | None = None
        self._switch = threading.Condition()
        self._active = 0
        self._pending: list[tuple[str, dict[str, Any]]] = []
        self.partner_events: list[dict[str, Any]] = []
        self._partner_queue: list[dict[str, Any]] = []
        self._random = random.Random(self.delivery.seed)
        self._saved_env: dict[str, str] = {}

    # -- life cycle ---------------------------------------------------------------------------

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> Sandbox:
        self._saved_env = dict(os.environ)
        for system, factory in _simulators(self.secret).items():
            self.servers[system] = SimServer(factory()).start()
        for system, server in self.servers.items():
            section = self.seed.get(system)
            if section:
                server.simulator.load_seed(section)
        self._install_sterling_templates()
        self.sterling.emit = self._sterling_emitted
        self.commerce.emit = self._commerce_emitted
        self.aws = LocalAws(self.stack, self.parameters(), self.secret).start()
        from omsbridge import io_events

        self._saved_key_cache = io_events.keys
        io_events.keys = io_events.KeyCache(self._key_host)
        return self

    def _install_sterling_templates(self) -> None:
        """The output templates the SI's install step stores (tools/sterling_templates.py), as the
        tenant's configuration: no calls recorded, no session opened."""
        from omsbridge.sterling import templates

        self.sterling.store_templates(templates.documents())

    def stop(self) -> None:
        from omsbridge import io_events

        io_events.keys = self._saved_key_cache
        # Each server's loop takes up to its poll interval to notice the stop: wait for all at once.
        stopping = [threading.Thread(target=server.stop) for server in self.servers.values()]
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join()
        self.aws.stop()
        os.environ.clear()
        os.environ.update(self._saved_env)
        from omsbridge import config

        config.reset()

    # -- simulators ---------------------------------------------------------------------------

    @property
    def commerce(self) -> Any:
        return self.servers["commerce"].simulator

    @property
    def sterling(self) -> Any:
        return self.servers["sterling"].simulator

    @property
    def carrier(self) -> Any:
        return self.servers["carrier"].simulator

    @property
    def dc(self) -> Any:
        return self.servers["dc"].simulator

    @property
    def simulators(self) -> dict[str, Simulator]:
        return {name: server.simulator for name, server in self.servers.items()}

    def calls(self) -> list[dict[str, Any]]:
        """Every call any simulator received, in arrival order."""
        merged = [call for sim in self.simulators.values() for call in sim.calls]
        return sorted(merged, key=lambda call: call["seq"])

    def url(self, system: str) -> str:
        return self.servers[system].url

    def sterling_user(self, enterprise_code: str = "DEFAULT") -> SterlingClient:
        """Sterling's REST API as the people and systems around it use it, logged in with the
        sandbox's user (a packing station, a WMS, an agent at the screens): not the integration
        under test. The caller closes it."""
        from omsbridge.sterling import SterlingClient, TokenAuth

        base = f"{self.url('sterling')}/smcfs/restapi"
        return SterlingClient(base, enterprise_code,
                              TokenAuth(base, self.secret["sterling_user"], self.secret["sterling_password"]))

    def parameters(self) -> dict[str, str]:
        """Template parameter values: the template's defaults, pointed at the simulators."""
        values = {
            name: str(spec.get("Default", ""))
            for name, spec in self.stack.template.get("Parameters", {}).items()
        }
        values.update({
            "CommerceBaseUrl": self.url("commerce"),
            "SterlingBaseUrl": f"{self.url('sterling')}/smcfs/restapi",
            "SecretId": "oms-bridge/sandbox",
            # The registration the Commerce simulator's events are addressed to.
            "IoEventsClientId": self.commerce.io_client_id,
            # A partner bus as Adobe names it, so that its rule and function run here too.
            "AdobePartnerEventBusName": SANDBOX_PARTNER_BUS,
        })
        if "carrier" in self.servers:
            values["CarrierBaseUrl"] = self.url("carrier")
        if "dc" in self.servers:
            values["DcBaseUrl"] = self.url("dc")
        return values

    @property
    def io_events_client_id(self) -> str:
        """The registration deliveries to this stack are addressed to (what IO_EVENTS_CLIENT_ID is)."""
        return self.env_overrides.get("IO_EVENTS_CLIENT_ID") or self.parameters()["IoEventsClientId"]

    def reconfigure(self, env: dict[str, str]) -> None:
        """Change settings, as an SI redeploying with new parameters: every function starts cold."""
        with self._switch:
            self.env_overrides.update(env)
            self._container = None

    # -- invoking functions -------------------------------------------------------------------

    def environment(self, logical_id: str) -> dict[str, str]:
        function = self.stack.functions[logical_id]
        env = {name: str(self.aws.resolve(value)) for name, value in function.environment.items()}
        env.update(SANDBOX_ENV)
        env.update(AWS_ENV)
        env["AWS_LAMBDA_FUNCTION_NAME"] = logical_id
        env.update(self.env_overrides)
        return env

    def _handler(self, logical_id: str) -> Callable[[dict[str, Any], Any], Any]:
        module = self._modules.get(logical_id)
        if module is None:
            function = self.stack.functions[logical_id]
            spec = importlib.util.spec_from_file_location(f"sandbox_fn_{logical_id}", function.path)
            if spec is None or spec.loader is None:
                raise FunctionError(logical_id, ImportError(f"cannot load {function.path}"))
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            self._modules[logical_id] = module
        attribute = self.stack.functions[logical_id].handler.rsplit(".", 1)[1]
        handler: Callable[[dict[str, Any], Any], Any] = getattr(module, attribute)
        return handler

    @contextlib.contextmanager
    def _container_for(self, logical_id: str) -> Iterator[None]:
        """Calls to one function may overlap; switching to another waits until they are done,
        since the process has one environment."""
        from omsbridge import config

        with self._switch:
            while self._active and self._container != logical_id:
                self._switch.wait()
            if self._container != logical_id:
                os.environ.clear()
                os.environ.update(self._saved_env)
                os.environ.update(self.environment(logical_id))
                config.reset(keep_connections=self._container is not None)
                self._container = logical_id
            self._active += 1
        try:
            yield
        finally:
            with self._switch:
                self._active -= 1
                self._switch.notify_all()

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        """Run the function once, synchronously; raise ``FunctionError`` if its handler raised."""
        with self._container_for(logical_id):
            handler = self._handler(logical_id)
            record: dict[str, Any] = {"function": logical_id, "event": event}
            self.invocations.append(record)
            try:
                record["result"] = handler(event, LambdaContext(logical_id))
            except Exception as exc:
                record["error"] = f"{type(exc).__name__}: {exc}"
                raise FunctionError(logical_id, exc) from exc
            return record["result"]

    def invoke_async(self, logical_id: str, event: dict[str, Any]) -> Any:
        """Lambda's asynchronous invocation: retries on error, then the on-failure destination."""
        function = self.stack.functions[logical_id]
        for attempt in range(function.max_retries + 1):
            try:
                return self.invoke(logical_id, event)
            except FunctionError as failure:
                last = failure
                attempts = attempt + 1
        self._to_on_failure(logical_id, event, last, attempts)
        return None

    def _to_on_failure(self, logical_id: str, event: dict[str, Any], failure: FunctionError,
                       attempts: int) -> None:
        function = self.stack.functions[logical_id]
        if not function.dlq:
            raise failure
        record = {
            "version": "1.0",
            "timestamp": _now(),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": LambdaContext(logical_id).invoked_function_arn,
                "condition": "RetriesExhausted",
                "approximateInvokeCount": attempts,
            },
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorMessage": str(failure.error), "errorType": type(failure.error).__name__},
        }
        # Lambda sends it with the function's execution role, whose session is named after the function.
        self.aws.send(self.aws.physical[function.dlq], json.dumps(record),
                      sender_id=f"{self.aws.role_id(logical_id)}:{logical_id}")

    # -- the bus --------------------------------------------------------------------------------

    def publish(self, source: str, detail_type: str, detail: dict[str, Any]) -> None:
        """Put one event on the integration bus, as an outside producer would."""
        self.aws.events.put_events(Entries=[{
            "Source": source, "DetailType": detail_type, "Detail": json.dumps(detail),
            "EventBusName": self.aws.bus_name,
        }])

    def _sterling_emitted(self, detail_type: str, document: dict[str, Any]) -> None:
        # Called on a simulator thread: queue it; ``deliver`` sends it through the ingress route.
        self._pending.append(("sterling", {"detail_type": detail_type, "document": document}))

    def _commerce_emitted(self, cloud_event: dict[str, Any]) -> None:
        self._pending.append(("commerce", cloud_event))

    def _flush_emitted(self) -> None:
        while self._pending:
            origin, payload = self._pending.pop(0)
            if origin == "sterling":
                self._sterling_publish(payload["detail_type"], payload["document"])
            else:
                self.publish("adobe.commerce", payload["type"], payload)

    def _sterling_publish(self, detail_type: str, document: dict[str, Any]) -> None:
        if self.sterling_via == "io-events":
            from sandbox import ibm_layer

            cloud_event = ibm_layer.cloud_event(detail_type, document, self.io_events_client_id)
            if cloud_event is not None:
                self.io_events_post(cloud_event, path="/events/adobe-io")
                return
        self.sterling_post(detail_type, document)

    def sterling_post(self, detail_type: str, document: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        """What Sterling's event handler does: POST the document to the ingress URL."""
        return self.http(
            "POST", f"/events/sterling/{detail_type}",
            headers={"authorization": f"Bearer {self.secret['ingress_token']}"},
            body=json.dumps(document),
        )

    # -- Adobe I/O Events ----------------------------------------------------------------------

    def _signer(self) -> KeyPair:
        if self._io_events_signer is None:
            self._io_events_signer = new_keypair()
        return self._io_events_signer

    def _key_host(self, url: str) -> bytes:
        """Adobe's key host, in-process: ``omsbridge.io_events`` has already checked the path."""
        from omsbridge import io_events

        self.key_host_fetches.append(url)
        path = url.removeprefix(io_events.KEY_HOST)
        if path in SANDBOX_KEY_PATHS:
            return self._signer().public_pem.encode()
        if self.io_events_key is None:
            raise LookupError(f"no public key for {path}: give the sandbox one (--io-events-key PEM_FILE)")
        return self.io_events_key

    def io_events_post(self, body: dict[str, Any] | list[dict[str, Any]],
                       path: str = "/events/commerce") -> tuple[int, dict[str, str], Any]:
        """Deliver one CloudEvent, or a batch (a list), to ``POST <path>`` as Adobe I/O Events does:
        the raw body signed twice (RSA-SHA256) with the sandbox's key, the key paths, the event
        code and id of the (first) event, and a delivery id."""
        raw = json.dumps(body).encode()
        first = body[0] if isinstance(body, list) and body else body
        event = first if isinstance(first, dict) else {}
        signature = self._signer().sign(raw)
        headers = {
            "content-type": "application/json", "user-agent": "Adobe/1.0",
            "x-adobe-digital-signature-1": signature, "x-adobe-public-key1-path": SANDBOX_KEY_PATHS[0],
            "x-adobe-digital-signature-2": signature, "x-adobe-public-key2-path": SANDBOX_KEY_PATHS[1],
            "x-adobe-event-code": str(event.get("type", "")), "x-adobe-event-id": str(event.get("id", "")),
            "x-adobe-delivery-id": str(uuid.uuid4()),
        }
        return self.http("POST", path, headers=headers, body=raw)

    def partner_put(self, event: dict[str, Any]) -> None:
        """Put an event on the Adobe partner bus, in the shape a rule target receives it."""
        self._partner_queue.append(event)

    def _bus_of(self, rule: template.Rule) -> str:
        return str(self.aws.resolve({"Ref": rule.bus or "EventBus"}))

    def _routes(self, bus: str, events: list[dict[str, Any]]) -> list[tuple[template.Rule, dict[str, Any]]]:
        """(rule, event) for every rule on ``bus`` whose pattern (its references resolved) matches."""
        rules = [(rule, self._resolved(rule.pattern)) for rule in self.stack.rules if self._bus_of(rule) == bus]
        return [(rule, event) for event in events for rule, pattern in rules if template.matches(pattern, event)]

    def _resolved(self, value: Any) -> Any:
        if isinstance(value, dict):
            if len(value) == 1 and next(iter(value)) in ("Ref", "Fn::GetAtt", "Fn::Sub"):
                return self.aws.resolve(value)
            return {key: self._resolved(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._resolved(item) for item in value]
        return value

    def drain_tap(self) -> list[dict[str, Any]]:
        """Take the events put on the bus since the last call (without routing them)."""
        return self.aws.tap.take()

    def deliver(self, rounds: int = 1000) -> int:
        """Route events and queue messages to functions until nothing is left. Returns deliveries."""
        delivered = 0
        for _ in range(rounds):
            self._flush_emitted()
            events = self.drain_tap()
            self.bus_events.extend(events)
            partner, self._partner_queue = self._partner_queue, []
            self.partner_events.extend(partner)
            work = self._routes(self.aws.bus_name, events) + self._routes(SANDBOX_PARTNER_BUS, partner)
            work = self._apply_delivery_faults(work)
            for rule, event in work:
                delivered += 1
                if rule.function:
                    self.invoke_async(rule.function, event)
                elif rule.queue:
                    self.aws.send(self.aws.physical[rule.queue], json.dumps(event))
            polled = self._poll_queues()
            delivered += polled
            if not work and not polled and not self._pending and not self._partner_queue:
                return delivered
        raise RuntimeError("sandbox delivery did not settle")

    def _apply_delivery_faults(self, work: list[Any]) -> list[Any]:
        if self.delivery.duplicates:
            before = len(work)
            work = [item for item in work for _ in range(1 + self._random.randint(0, self.delivery.duplicates))]
            self.duplicates_delivered += len(work) - before
        if self.delivery.shuffle:
            self._random.shuffle(work)
        # Each target gets its events in that (shuffled) order; targets are independent consumers, so
        # serving one after another changes nothing but the number of container switches.
        return sorted(work, key=lambda item: item[0].function or item[0].queue or "")

    def _poll_queues(self) -> int:
        polled = 0
        for function in self.stack.functions.values():
            for source in function.queues:
                queue_url = self.aws.physical[source["queue"]]
                batch_size = min(int(self.aws.resolve(source.get("BatchSize", 10))), 10)
                answer = self.aws.sqs.receive_message(
                    QueueUrl=queue_url, MaxNumberOfMessages=batch_size, AttributeNames=["All"])
                messages = answer.get("Messages", [])
                if not messages:
                    continue
                polled += len(messages)
                self._run_batch(function.logical_id, queue_url, messages, source)
        return polled

    def _run_batch(self, logical_id: str, queue_url: str, messages: list[dict[str, Any]],
                   source: dict[str, Any]) -> None:
        arn = self.aws.arns[source["queue"]]
        event = {"Records": [{
            "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
            "attributes": m.get("Attributes", {}), "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
            "eventSource": "aws:sqs", "eventSourceARN": arn, "awsRegion": "us-east-1",
        } for m in messages]}
        try:
            result = self.invoke(logical_id, event)
        except FunctionError:
            failed = {m["MessageId"] for m in messages}
        else:
            reports = (result or {}).get("batchItemFailures", []) if "ReportBatchItemFailures" in (
                source.get("FunctionResponseTypes") or []) else []
            failed = {item["itemIdentifier"] for item in reports}
        for message in messages:
            if message["MessageId"] not in failed:
                self.aws.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    def dlq(self, logical_id: str) -> list[dict[str, Any]]:
        """The records in a function's dead-letter queues, left in place."""
        records: list[dict[str, Any]] = []
        for name in self._dead_letter_queues(logical_id):
            records.extend(self.peek(self.aws.physical[name]))
        return records

    def _redrive_target(self, queue: str) -> str | None:
        props = self.stack.resources.get(queue, {}).get("Properties", {}) or {}
        return template.ref_name((props.get("RedrivePolicy") or {}).get("deadLetterTargetArn"))

    def peek(self, queue_url: str) -> list[dict[str, Any]]:
        """Read every message of a queue and make them all visible again."""
        messages: list[dict[str, Any]] = []
        while True:
            batch = self.aws.sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=60).get("Messages", [])
            if not batch:
                break
            messages.extend(batch)
        for message in messages:
            self.aws.sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
        return [json.loads(message["Body"]) for message in messages]

    def replay_dlq(self) -> dict[str, Any]:
        """Send every dead-lettered event back to its function, as an operator does once the cause
        is fixed, if ``omsbridge.dlq.verify`` finds this stack (or AWS for it) wrote it. A replayed
        message is removed from the DLQ once its replay has been handed over; an event that fails
        again lands in the DLQ again. A refused one stays where it is. Returns the number replayed
        per function and, for each refused message, where it is and why."""
        from omsbridge import dlq

        replayed: dict[str, int] = {}
        refused: list[dict[str, str]] = []
        for logical_id, function in self.stack.functions.items():
            trust = self.provenance(logical_id)
            for name in self._dead_letter_queues(logical_id):
                url = self.aws.physical[name]
                kept = []
                for message in self._receive_all(url):
                    verdict = dlq.verify({**message, "Attributes": self.aws.attributes(url, message)}, trust)
                    if verdict.refused:
                        refused.append({"function": logical_id, "queue": name, "message_id": message["MessageId"],
                                        "reason": verdict.refused})
                        kept.append(message)
                        continue
                    self.aws.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                    if function.queues:
                        self.aws.send(self.aws.physical[function.queues[0]["queue"]], json.dumps(verdict.event))
                    else:
                        self.invoke_async(logical_id, verdict.event)
                    replayed[logical_id] = replayed.get(logical_id, 0) + 1
                for message in kept:
                    self.aws.sqs.change_message_visibility(
                        QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
        self.deliver()
        return {"replayed": replayed, "refused": refused}

    def provenance(self, logical_id: str) -> Provenance:
        """What may write function ``logical_id``'s DLQs, as replay checks it."""
        from omsbridge import config, dlq

        function = self.stack.functions[logical_id]
        keys: tuple[str, ...] = ()
        secret = function.environment.get("DLQ_SIGNING_SECRET")
        if secret:
            import boto3

            answer = boto3.client("secretsmanager", region_name="us-east-1").get_secret_value(
                SecretId=str(self.aws.resolve(secret)))
            keys = config.dlq_signing_keys_of(answer["SecretString"])
        source = self.aws.arns[function.queues[0]["queue"]] if function.queues else ""
        return dlq.Provenance(function_arn=LambdaContext(logical_id).invoked_function_arn,
                              role_id=self.aws.role_id(logical_id), signing_keys=keys, source_queue_arn=source)

    def _dead_letter_queues(self, logical_id: str) -> list[str]:
        function = self.stack.functions[logical_id]
        names = {function.dlq, template.ref_name(function.environment.get("DLQ_URL"))}
        names |= {self._redrive_target(source["queue"]) for source in function.queues}
        return sorted(n for n in names if n)

    def _receive_all(self, queue_url: str) -> list[dict[str, Any]]:
        received: list[dict[str, Any]] = []
        while batch := self.aws.sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=60, AttributeNames=["All"],
                MessageAttributeNames=["All"]).get("Messages", []):
            received.extend(batch)
        return received

    # -- HTTP API -------------------------------------------------------------------------------

    def http(self, method: str, path: str, headers: dict[str, str] | None = None,
             body: str | bytes | None = None, query: dict[str, str] | None = None,
             ) -> tuple[int, dict[str, str], Any]:
        """Call the function behind an HTTP API route; returns (status, headers, parsed body)."""
        split = urlsplit(path)
        query_pairs = parse_qsl(split.query, keep_blank_values=True) + list((query or {}).items())
        found = self.stack.route(method, split.path)
        if found is None:
            return 404, {"content-type": "application/json"}, {"message": "Not Found"}
        function, path_params = found
        event = api_event(method, split.path, headers or {}, body, query_pairs, path_params)
        try:
            result = self.invoke(function.logical_id, event)
        except FunctionError:
            return 500, {"content-type": "application/json"}, {"message": "Internal Server Error"}
        return parse_api_result(result)


def api_event(method: str, path: str, headers: dict[str, str], body: str | bytes | None,
              query: list[tuple[str, str]], path_params: dict[str, str]) -> dict[str, Any]:
    """An API Gateway HTTP API (payload v2.0) event."""
    is_binary = isinstance(body, bytes)
    encoded = base64.b64encode(body).decode() if isinstance(body, bytes) else body
    request_id = str(uuid.uuid4())
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method.upper()} {path}",
        "rawPath": path,
        "rawQueryString": urlencode(query),
        "headers": {k.lower(): v for k, v in headers.items()},
        "requestContext": {
            "accountId": "123456789012", "apiId": "sandbox", "domainName": "127.0.0.1",
            "http": {"method": method.upper(), "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": headers.get("user-agent", "sandbox")},
            "requestId": request_id, "routeKey": f"{method.upper()} {path}", "stage": "$default",
            "time": _now(), "timeEpoch": 0,
        },
        "isBase64Encoded": is_binary,
    }
    if query:
        event["queryStringParameters"] = dict(query)
    if path_params:
        event["pathParameters"] = path_params
    if encoded is not None:
        event["body"] = encoded
    return event


def parse_api_result(result: Any) -> tuple[int, dict[str, str], Any]:
    """Interpret a handler's return value as API Gateway does for payload v2.0."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return 200, {"content-type": "application/json"}, result
    headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    raw = result.get("body")
    if result.get("isBase64Encoded") and raw is not None:
        raw = base64.b64decode(raw).decode()
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw
    return int(result["statusCode"]), headers, parsed


def _now() -> str:
    from omsbridge.events import now_iso

    return now_iso()


# Not an API Gateway route: the sandbox's own operator action, used by ``python -m sandbox replay-dlq``.
REPLAY_PATH = "/_sandbox/replay-dlq"


class ApiServer:
    """The HTTP API on loopback, for ``python -m sandbox up`` and the HTTP benchmarks."""

    def __init__(self, sandbox: Sandbox, port: int = 0) -> None:
        box = sandbox

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else None
                if self.command == "POST" and self.path == REPLAY_PATH:
                    headers: dict[str, str] = {}
                    status, parsed = 200, box.replay_dlq()
                else:
                    status, headers, parsed = box.http(
                        self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                        body.decode() if body is not None else None)
                payload = b"" if parsed is None else (
                    parsed.encode() if isinstance(parsed, str) else json.dumps(parsed).encode())
                self.send_response(status)
                headers.setdefault("content-type", "application/json")
                for name, value in headers.items():
                    if name != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True, name="sandbox-api")

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> ApiServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
