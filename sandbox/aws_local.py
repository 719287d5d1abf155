"""AWS in moto: the template's tables, queues, bus and secrets, created in-process."""

from __future__ import annotations

import base64
import functools
import json
import os
import secrets
import threading
from datetime import UTC, datetime
from typing import Any

from sandbox.template import Stack

REGION = "us-east-1"
ACCOUNT = "123456789012"
AWS_ENV = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "sandbox",
    "AWS_SECRET_ACCESS_KEY": "sandbox",
    "AWS_SESSION_TOKEN": "sandbox",
}


class Tap:
    """Sits among a moto bus's rules, which moto hands every event put on the bus, and keeps them
    in the shape a rule target receives."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def send_to_targets(self, event: dict[str, Any]) -> None:
        delivered = {k: v for k, v in event.items() if k != "ingestion-time"}
        stamp = delivered.get("time")
        if isinstance(stamp, int | float):
            delivered["time"] = datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self._lock:
            self.events.append(delivered)

    def take(self) -> list[dict[str, Any]]:
        with self._lock:
            taken, self.events = self.events, []
        return taken


class LocalAws:
    """Creates the template's stateful resources in moto and resolves ``!Ref`` / ``!GetAtt``."""

    def __init__(self, stack: Stack, parameters: dict[str, str], secret: dict[str, str]) -> None:
        from moto import mock_aws

        os.environ.update(AWS_ENV)
        self.stack = stack
        self.parameters = parameters
        self.secret = secret
        self.physical: dict[str, str] = {}
        self.sqs: Any = None
        self.events: Any = None
        self.dynamodb: Any = None
        self.bus_name = "oms-bridge"
        self.tap = Tap()
        self.arns: dict[str, str] = {}
        # Message id -> the queue it was sent to and the system attributes AWS would report for it,
        # which moto does not (one SenderId for every sender, no DeadLetterQueueSourceArn).
        self._sent: dict[str, tuple[str, dict[str, str]]] = {}
        # moto's default is a new boto3 session per mock, so new clients for every sandbox. The data is
        # reset all the same; the session holds nothing but the sandbox's fake credentials.
        self._mock = mock_aws(config={"core": {"reset_boto3_session": False}})

    def start(self) -> LocalAws:
        from sandbox import moto_fixes

        prepare_botocore()
        moto_fixes.install()
        self._mock.start()
        self.sqs = _client("sqs")
        self.events = _client("events")
        self.dynamodb = _client("dynamodb")
        self._create_tables()
        self._create_queues()
        self._create_bus()
        self._create_secrets()
        return self

    def stop(self) -> None:
        self._mock.stop()

    def _create_tables(self) -> None:
        for name, resource in self.stack.of_type("AWS::DynamoDB::Table").items():
            props = resource.get("Properties", {})
            table_name = f"oms-bridge-{name}"
            self.dynamodb.create_table(
                TableName=table_name,
                KeySchema=props["KeySchema"],
                AttributeDefinitions=props["AttributeDefinitions"],
                BillingMode="PAY_PER_REQUEST",
            )
            self.physical[name] = table_name
            self.arns[name] = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table_name}"

    def _create_queues(self) -> None:
        queues = self.stack.of_type("AWS::SQS::Queue")
        # Dead-letter queues first, so redrive policies can point at them.
        ordered = sorted(queues, key=lambda n: "RedrivePolicy" in queues[n].get("Properties", {}))
        for name in ordered:
            props = queues[name].get("Properties", {}) or {}
            attributes = {"VisibilityTimeout": "0"}
            redrive = props.get("RedrivePolicy")
            if redrive:
                target = self.resolve(redrive.get("deadLetterTargetArn"))
                attributes["RedrivePolicy"] = json.dumps({
                    "deadLetterTargetArn": target, "maxReceiveCount": str(redrive.get("maxReceiveCount", 3)),
                })
            queue_name = f"oms-bridge-{name}"
            self.physical[name] = self.sqs.create_queue(QueueName=queue_name, Attributes=attributes)["QueueUrl"]
            self.arns[name] = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue_name}"

    def _create_bus(self) -> None:
        buses = self.stack.of_type("AWS::Events::EventBus")
        for name, resource in buses.items():
            bus_name = str(self.resolve(resource.get("Properties", {}).get("Name"))) or "oms-bridge"
            arn = self.events.create_event_bus(Name=bus_name)["EventBusArn"]
            self.physical[name] = bus_name
            self.arns[name] = arn
            self.bus_name = bus_name
        # The router applies the template's rules itself; moto only has to hand over every event.
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.events.models import events_backends

        backend = events_backends[DEFAULT_ACCOUNT_ID][REGION]
        bus = backend.event_buses[self.bus_name]
        bus.rules["sandbox-tap"] = self.tap  # type: ignore[assignment]  # duck-typed: send_to_targets only
        backend.put_events = strict_put_events(backend.put_events)  # type: ignore[method-assign]

    def _create_secrets(self) -> None:
        """One secret per concern (``<SecretId>/<concern>``) with its keys of ``self.secret``, as an SI
        creates them, and the secrets the template generates itself."""
        client = _client("secretsmanager")
        for concern, values in self.secret_values().items():
            client.create_secret(Name=self.secret_name(concern), SecretString=json.dumps(values))
        for name, resource in self.stack.of_type("AWS::SecretsManager::Secret").items():
            generate = resource["Properties"]["GenerateSecretString"]
            document = json.loads(generate.get("SecretStringTemplate", "{}"))
            document[generate["GenerateStringKey"]] = secrets.token_hex(int(generate.get("PasswordLength", 32)) // 2)
            arn = client.create_secret(Name=f"oms-bridge-{name}", SecretString=json.dumps(document))["ARN"]
            self.physical[name] = self.arns[name] = arn

    def secret_name(self, concern: str) -> str:
        from omsbridge.config import secret_name

        return secret_name(concern, self.parameters.get("SecretId") or "oms-bridge/sandbox")

    def secret_values(self) -> dict[str, dict[str, str]]:
        """``self.secret``'s keys by the secret that holds them; a key no secret holds is an error."""
        from omsbridge.config import SECRET_CONCERNS

        stray = sorted(set(self.secret) - {key for keys in SECRET_CONCERNS.values() for key in keys})
        if stray:
            raise ValueError(f"no secret holds {', '.join(stray)} (omsbridge.config.SECRET_CONCERNS)")
        return {concern: {key: self.secret[key] for key in keys if key in self.secret}
                for concern, keys in SECRET_CONCERNS.items()}

    def put_secret(self, **changes: str) -> None:
        """Change secret values in Secrets Manager, as an operator does (the functions see them
        after their cache expires or on a cold start)."""
        before = self.secret_values()
        self.secret.update(changes)
        client = _client("secretsmanager")
        for concern, values in self.secret_values().items():
            if values != before[concern]:
                client.put_secret_value(SecretId=self.secret_name(concern), SecretString=json.dumps(values))

    # -- who sent a message ------------------------------------------------------------------------

    @staticmethod
    def role_id(logical_id: str) -> str:
        """The unique id (``AROA…``) IAM gives the execution role of function ``logical_id``."""
        import hashlib

        return "AROA" + hashlib.sha256(logical_id.encode()).hexdigest()[:17].upper()

    def send(self, queue_url: str, body: str, *, sender_id: str = "") -> str:
        """SendMessage as an AWS service does it for the stack: as a function's role (Lambda's
        on-failure records) or as EventBridge (rule targets); ``attributes`` reports it so."""
        message_id: str = self.sqs.send_message(QueueUrl=queue_url, MessageBody=body)["MessageId"]
        self._sent[message_id] = (queue_url, {"SenderId": sender_id} if sender_id else {})
        return message_id

    def attributes(self, queue_url: str, message: dict[str, Any]) -> dict[str, str]:
        """The system attributes AWS gives ``message`` received from ``queue_url``: its real sender,
        and DeadLetterQueueSourceArn when SQS moved it there from the queue it was sent to."""
        attributes = dict(message.get("Attributes") or {})
        sent_to, known = self._sent.get(message["MessageId"], (queue_url, {}))
        attributes.update(known)
        if sent_to != queue_url:
            [source] = [name for name, url in self.physical.items() if url == sent_to]
            attributes["DeadLetterQueueSourceArn"] = self.arns[source]
        return attributes

    def resolve(self, value: Any) -> Any:
        """The value a CloudFormation expression would have in this stack."""
        if not isinstance(value, dict):
            return value
        if "Ref" in value:
            name = value["Ref"]
            if name in self.parameters:
                return self.parameters[name]
            if name == "AWS::Region":
                return REGION
            if name == "AWS::AccountId":
                return ACCOUNT
            return self.physical.get(name, name)
        if "Fn::GetAtt" in value:
            name, attribute = value["Fn::GetAtt"]
            if attribute == "Arn":
                return self.arns.get(name, f"arn:aws:sandbox:::{name}")
            if attribute == "QueueName":
                return str(self.physical.get(name, name)).rsplit("/", 1)[-1]
            return self.physical.get(name, name)
        if "Fn::Sub" in value:
            raw = value["Fn::Sub"]
            text = str(raw[0] if isinstance(raw, list) else raw)
            for ref in set(_sub_refs(text)):
                resolved = self.resolve({"Fn::GetAtt": ref.split(".", 1)} if "." in ref else {"Ref": ref})
                text = text.replace("${" + ref + "}", str(resolved))
            return text
        if "Fn::If" in value:
            return self.resolve(value["Fn::If"][2])
        return value


# What EventBridge refuses and moto lets through. Sizes per AWS's "Calculating PutEvents event entry
# size" (UTF-8 bytes of Source, DetailType, Detail; 256 KiB per request); a detail that is not strict
# JSON (NaN, Infinity) is the entry's MalformedDetail (PutEvents API reference, PutEventsResultEntry).
# Measured here independently of omsbridge.events, which the sandbox is there to check.
PUT_EVENTS_MAX_BYTES = 256 * 1024


def _entry_bytes(entry: dict[str, Any]) -> int:
    return sum(len(str(entry.get(name) or "").encode()) for name in ("Source", "DetailType", "Detail"))


def _strict_json(text: str) -> bool:
    def refuse(token: str) -> None:
        raise ValueError(token)

    try:
        json.loads(text, parse_constant=refuse)
    except ValueError:
        return False
    return True


def strict_put_events(put_events: Any) -> Any:
    from moto.events.exceptions import ValidationException

    def put(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if sum(_entry_bytes(entry) for entry in events) > PUT_EVENTS_MAX_BYTES:
            raise ValidationException("Total size of the entries in the request is over the limit.")
        malformed = [not _strict_json(str(entry.get("Detail") or "{}")) for entry in events]
        accepted = iter(put_events([entry for entry, bad in zip(events, malformed, strict=True) if not bad]))
        return [{"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."} if bad else next(accepted)
                for bad in malformed]

    return put


def prepare_botocore() -> None:
    """Make AWS calls in this process cheap without changing what they do (see the two hooks)."""
    import botocore.handlers
    import botocore.loaders
    import botocore.session

    if botocore.session.create_loader is botocore.loaders.create_loader:
        botocore.session.create_loader = _shared_loader
        botocore.handlers.BUILTIN_HANDLERS.append(("before-call", _moto_direct))


@functools.cache
def _shared_loader(search_paths_string: str | None = None) -> Any:
    """Every botocore session reads the AWS service models once.

    A Lambda container builds its clients once; the sandbox runs container after container in one
    process, and code that opens its own ``boto3.Session`` (Powertools' secrets provider, after every
    ``config.reset()``) would parse the same JSON models each time: ~0.2 s a client, 25 ms shared.
    The loader only caches files that never change.
    """
    import botocore.loaders

    return botocore.loaders.create_loader(search_paths_string)


def _moto_direct(model: Any, params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]] | None:
    """``before-call`` hook: a JSON-protocol call goes to moto's handler without the HTTP detour.

    moto answers from botocore's ``before-send``: after the request was signed and made into an
    HTTP request, it matches the URL against every service's patterns and rebuilds a request from
    it: a third of a call's cost (1 ms of 3), none of its meaning. Here moto's handler gets the same
    method, URL, headers and body (DynamoDB's item calls go further: ``_dynamodb_action``), and
    botocore's own parser reads its answer as the endpoint would; ``None`` (anything else) leaves
    the call to the usual path.
    """
    from moto.core.models import botocore_stubber

    if not botocore_stubber.enabled or model.service_model.protocol != "json":
        return None
    if model.service_model.service_name == "dynamodb":
        answered = _dynamodb_action(model, params)
        if answered is not None:
            return answered
    dispatch = _moto_handler(params["url"])
    if dispatch is None:
        return None
    from moto.core.exceptions import HTTPException
    from moto.moto_api import recorder

    request, raw_url = _moto_request(params["method"], params["url"], params["headers"], params["body"])
    try:
        recorder._record_request(request)
        status, headers, body = dispatch(request, raw_url, request.headers)
    except HTTPException as error:
        status, headers, body = error.code, error.get_headers(), error.get_body()
    return _parsed(model, params["url"], status, headers, body)


def _parsed(model: Any, url: str, status: int, headers: Any, body: Any) -> tuple[Any, dict[str, Any]]:
    """What botocore makes of moto's answer, as from the endpoint."""
    from botocore.awsrequest import AWSResponse
    from botocore.endpoint import convert_to_response_dict
    from botocore.parsers import create_parser
    from moto.core.botocore_stubber import MockRawResponse

    http = AWSResponse(url, status, headers, MockRawResponse(body))
    response = convert_to_response_dict(http, model)
    parser = create_parser(model.service_model.protocol)
    parsed: dict[str, Any] = parser.parse(response, model.output_shape)
    error_shape = model.service_model.shape_for_error_code(parsed.get("Error", {}).get("Code")) if (
        status >= 300) else None
    if error_shape is not None:
        parsed.update(parser.parse(response, error_shape))
    if "ResponseMetadata" in parsed:
        parsed["ResponseMetadata"]["RetryAttempts"] = 0
    return http, parsed


# How a blob looks in a DynamoDB request body: base64 text, which moto's parser decodes to bytes.
_BLOB_TYPES = (b'"B"', b'"BS"')
# The item operations: their answers are items, keys and counts, no dates.
_ITEM_ACTIONS = frozenset({"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem",
                           "BatchWriteItem", "TransactGetItems", "TransactWriteItems"})


def _dynamodb_action(model: Any, params: dict[str, Any]) -> tuple[Any, dict[str, Any]] | None:
    """A DynamoDB item call made on moto's DynamoDB handler, without the request moto would
    rebuild, its parameter parser and its response serializer (a third of a GetItem's cost). It
    sets the handler up as moto 5.2's dispatch does, so it is held to the moto version
    ``sandbox.moto_fixes`` accepts.

    A DynamoDB request body is its parameters as JSON, and moto's parser gives them back as they
    are unless a value is a blob: a call that sends one goes the usual way. The answer is what the
    handler answered, as JSON (blobs base64, as moto's serializer writes them), read by botocore's
    parser like any other; an error is the error's own JSON body, as moto's dispatch sends it.
    """
    from moto.core.exceptions import HTTPException
    from moto.core.utils import camelcase_to_underscores
    from moto.dynamodb.responses import DynamoHandler
    from moto.moto_api import recorder

    body = params["body"]
    if (model.name not in _ITEM_ACTIONS or recorder._user_enabled or not isinstance(body, bytes)
            or any(kind in body for kind in _BLOB_TYPES)):
        return None
    handler = DynamoHandler()
    handler.current_account, handler.region = ACCOUNT, REGION
    handler.params = handler.body = json.loads(body)
    handler.uri_match = {}
    try:
        result = getattr(handler, camelcase_to_underscores(model.name))()
    except HTTPException as error:
        answer = str(error.description).encode()
        headers = {**_dynamodb_headers(answer), **{name.lower(): value for name, value in error.get_headers() or []}}
        # werkzeug answers an exception without a code as a 500.
        return _parsed(model, params["url"], error.code or 500, headers, answer)
    answer = json.dumps(result.result, default=_base64).encode()
    return _parsed(model, params["url"], 200, _dynamodb_headers(answer), answer)


def _dynamodb_headers(answer: bytes) -> dict[str, str]:
    """The headers moto's dispatch sends with a DynamoDB answer."""
    import email.utils
    import zlib

    from moto.core import responses

    return {"content-type": "application/x-amz-json-1.0", "server": "amazon.com",
            "date": email.utils.formatdate(usegmt=True), "x-amzn-requestid": responses.gen_amzn_requestid_long(),
            "x-amz-crc32": str(zlib.crc32(answer))}


def _base64(value: Any) -> str:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} in a DynamoDB answer")


# (method, URL, header names, content type) -> the WSGI environ werkzeug built for such a request,
# less its body stream (the header values are replaced), and its raw URL.
_ENVIRONS: dict[tuple[str, str, tuple[str, ...], str], tuple[dict[str, Any], str]] = {}
_PER_REQUEST = frozenset({"wsgi.input", "werkzeug.request"})


def _moto_request(method: str, url: str, headers: Any, body: Any) -> tuple[Any, str]:
    """moto's ``Request.from_primitives`` and its ``raw_url``, without werkzeug's ``EnvironBuilder``
    for every call.

    The builder's environ for a request with a body depends on the method, the URL, which headers
    there are and the content type; the rest is each header's value, the body and its length. The
    first request of each kind is built by werkzeug and kept as the pattern for the next ones (a
    third of a PutEvents call, a tenth of a DynamoDB read). A request without a body, or with a
    body that is not bytes, is always built by werkzeug. The raw URL is the pattern's unless the
    request names its own host.
    """
    import io
    import sys

    from moto.core.request import PRESERVED_HEADER_NAMES_ENVIRON_KEY, Request

    values = [(key, value.decode("utf-8") if isinstance(value, bytes) else value) for key, value in headers.items()]
    keys = tuple(_environ_key(key) for key, _ in values)
    if (not isinstance(body, bytes) or not body or len(set(keys) - {""}) != len(keys) - keys.count("")
            or not all(isinstance(value, str) and "\n" not in value and "\r" not in value for _, value in values)):
        # No body, two headers werkzeug would join, a value werkzeug would convert or refuse.
        request = Request.from_primitives(method, url, headers, body)
        return request, request.raw_url
    content_type = next((value for key, value in values if key.lower() == "content-type"), "")
    kind = (method, url, tuple(key for key, _ in values), content_type)
    pattern = _ENVIRONS.get(kind)
    if pattern is None:
        request = Request.from_primitives(method, url, headers, body)
        raw_url: str = request.raw_url
        _ENVIRONS[kind] = ({key: value for key, value in request.environ.items() if key not in _PER_REQUEST},
                           "" if "HTTP_HOST" in keys else raw_url)
        return request, raw_url
    template, raw_url = pattern
    environ = dict(template)
    for key, (_, value) in zip(keys, values, strict=True):
        if key:
            environ[key] = value
    environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = dict(template[PRESERVED_HEADER_NAMES_ENVIRON_KEY])
    environ["CONTENT_LENGTH"] = str(len(body))
    environ["wsgi.input"] = io.BytesIO(body)
    environ["wsgi.errors"] = sys.stderr
    request = Request(environ)
    return request, raw_url or request.raw_url


def _environ_key(header: str) -> str:
    """Where werkzeug's builder puts a header's value ("" for those it takes from the body)."""
    name = header.upper().replace("-", "_")
    return "" if name in ("CONTENT_TYPE", "CONTENT_LENGTH", "TRANSFER_ENCODING") else f"HTTP_{name}"


@functools.cache
def _moto_handler(url: str) -> Any:
    """moto's handler for a request URL, found the way moto's stub finds it on every call."""
    import re

    from moto import backends
    from moto.backend_index import backend_url_patterns
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.core.base_backend import BackendDict
    from moto.core.utils import get_equivalent_url_in_aws_domain

    parsed_url, _ = get_equivalent_url_in_aws_domain(url)
    clean_url = f"{parsed_url.scheme}://{parsed_url.netloc}{parsed_url.path}"
    for service, pattern in backend_url_patterns:
        if not pattern.match(clean_url):
            continue
        backend_dict = backends.get_backend(service)  # type: ignore[call-overload]
        if isinstance(backend_dict, BackendDict):
            regions = backend_dict[DEFAULT_ACCOUNT_ID]
            backend = regions[REGION] if REGION in regions else regions["aws"]
        else:
            backend = backend_dict["global"]
        return next((handler for url_pattern, handler in backend.urls.items()
                     if re.compile(url_pattern).match(clean_url)), None)
    return None


@functools.cache
def _client(service: str) -> Any:
    """The sandbox's own clients, one per process: moto answers them whenever a mock is running."""
    import boto3

    return boto3.client(service, region_name=REGION)  # type: ignore[call-overload]


def _sub_refs(text: str) -> list[str]:
    import re

    return re.findall(r"\$\{([^}!]+)\}", text)
