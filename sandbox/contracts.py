"""The Commerce contract harness: our Commerce traffic held against Adobe's published REST schema.

Adobe's published admin schema (Swagger 2.0), vendored gzipped in ``sandbox/schemas/commerce/`` with
its licence and source (``NOTICE``; ``tools/refresh_commerce_schema.py`` brings a newer release), is
parsed once and cached as JSON under ``.cache/`` (keyed on the file's mtime: it is 1 MB of YAML). Request bodies are
checked against the operation's ``in: body`` parameter schema and answers against its response
schema, with ``$ref: '#/definitions/...'`` resolved inside the document and ``jsonschema`` draft 4.

Two deliberate departures from the generated schema, both about what real Commerce sends:

* error ``parameters`` are positional (``["SKU1"]`` for ``%1``) or named (``{"resources": ...}``
  for ``%resources``), while the schema types them as a list of objects;
* in answers, a property may be ``null``: Commerce renders an unset getter declared non-nullable
  as ``null`` (``payment.account_status``, a track's ``weight``, a bulk operation's ``error_code``).

An answer to a GET with a ``fields`` parameter (Commerce's output filter) is partial by request, so
its ``required`` lists are not enforced; the types of what it does contain still are.
"""

from __future__ import annotations

import copy
import functools
import gzip
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jsonschema import Draft4Validator

if TYPE_CHECKING:
    from sandbox.sim.base import Simulator

REPO_ROOT = Path(__file__).resolve().parents[1]
CONTRACTS_DIR = REPO_ROOT / "sandbox" / "schemas" / "commerce"
# The Commerce release the simulator is held to; the file is admin-schema-<version>.yaml.gz.
SCHEMA_VERSION = "2.4.9"
SCHEMA_FILE = f"admin-schema-{SCHEMA_VERSION}.yaml.gz"
CACHE_DIR = REPO_ROOT / ".cache"
# Not Commerce REST: the simulator's stand-in for Adobe IMS.
NOT_COMMERCE_PATHS = frozenset({"/ims/token/v3"})

# The schema lists synchronous routes only. An async bulk route takes an array of its synchronous
# twin's request bodies and answers 202 with an acceptance record; these are the ones we use, so
# any other bulk route shows up as a problem until someone adds it here on purpose.
ASYNC_BULK_OPERATIONS = frozenset({("POST", "/V1/inventory/source-items")})
ASYNC_ACCEPTED: dict[str, Any] = {
    "type": "object",
    "required": ["bulk_uuid", "request_items", "errors"],
    "properties": {
        "bulk_uuid": {"type": "string"},
        "errors": {"type": "boolean"},
        "request_items": {"type": "array", "items": {
            "type": "object",
            "required": ["id", "status"],
            "properties": {"id": {"type": "integer"}, "data_hash": {"type": "string"},
                           "status": {"type": "string"}, "error_message": {"type": ["string", "null"]}},
        }},
    },
}
_ERROR_PARAMETERS = {"type": ["array", "object"], "items": {"type": ["string", "number", "object"]}}

_PATH = re.compile(
    r"^(?:/rest/[^/]+(?P<paas>/async(?:/bulk)?)?|/[^/]+)?/V1(?P<accs>/async(?:/bulk)?)?(?P<rest>/.*)?$")


def split_path(path: str) -> tuple[str, str] | None:
    """``(mode, /V1/...)`` where mode is ``sync``, ``async`` or ``bulk``; None for a non-REST path.

    Strips ``/rest/<store>`` (PaaS) or ``/<tenant>`` (Cloud Service) and both spellings of the
    async segments (``/rest/<store>/async/bulk/V1/x`` and ``/V1/async/bulk/x``).
    """
    match = _PATH.match(path)
    if match is None:
        return None
    segment = match["paas"] or match["accs"]
    mode = {"/async/bulk": "bulk", "/async": "async"}.get(segment or "", "sync")
    return mode, f"/V1{match['rest'] or ''}"


def _nullable(schema: Any) -> Any:
    """The schema with ``null`` allowed for every object property (see the module docstring)."""
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    if isinstance(schema.get("items"), dict):
        out["items"] = _nullable(schema["items"])
    if isinstance(schema.get("properties"), dict):
        out["properties"] = {name: _or_null(_nullable(prop)) for name, prop in schema["properties"].items()}
    return out


def _partial(schema: Any) -> Any:
    """The schema without ``required`` anywhere (for a ``fields``-filtered answer)."""
    if not isinstance(schema, dict):
        return schema
    out = {key: value for key, value in schema.items() if key != "required"}
    if isinstance(schema.get("items"), dict):
        out["items"] = _partial(schema["items"])
    if isinstance(schema.get("properties"), dict):
        out["properties"] = {name: _partial(prop) for name, prop in schema["properties"].items()}
    return out


def _or_null(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    if isinstance(schema.get("type"), str):
        return {**schema, "type": [schema["type"], "null"]}
    return schema


def _read_spec(path: Path) -> dict[str, Any]:
    stamp = path.stat().st_mtime_ns
    stem = path.name.removesuffix(".gz").removesuffix(".yaml")
    cached = CACHE_DIR / f"{stem}.{stamp}.json"
    if cached.exists():
        spec: dict[str, Any] = json.loads(cached.read_text())
        return spec
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    spec = yaml.load(raw.decode(), Loader=loader)  # noqa: S506 (a safe loader)
    CACHE_DIR.mkdir(exist_ok=True)
    for stale in CACHE_DIR.glob(f"{stem}.*.json"):
        stale.unlink(missing_ok=True)
    partial = cached.with_name(f"{cached.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(spec, default=str))
    partial.replace(cached)
    return spec


class CommerceContract:
    def __init__(self, spec: dict[str, Any]) -> None:
        definitions = copy.deepcopy(spec.get("definitions", {}))
        definitions["error-parameters"] = _ERROR_PARAMETERS
        self._request_definitions = definitions
        self._response_definitions = {name: _nullable(schema) for name, schema in definitions.items()}
        self._partial_definitions = {name: _partial(schema) for name, schema in self._response_definitions.items()}
        self._operations: list[tuple[re.Pattern[str], str, dict[str, Any]]] = []
        for template, methods in spec.get("paths", {}).items():
            literal = re.split(r"\{[^}]+\}", template)
            pattern = re.compile("^" + "([^/]+)".join(re.escape(part) for part in literal) + "$")
            self._operations.append((pattern, template, {m.upper(): op for m, op in methods.items()}))
        # Literal routes win over parameterised ones (``/V1/orders/items`` before ``/V1/orders/{id}``).
        self._operations.sort(key=lambda entry: (entry[1].count("{"), -len(entry[1])))
        self._validators: dict[str, Draft4Validator] = {}

    @classmethod
    def load(cls, directory: Path | None = None) -> CommerceContract:
        """The vendored contract; a missing schema file is an error, never a reason to check less."""
        path = (directory or CONTRACTS_DIR) / SCHEMA_FILE
        if not path.is_file():
            raise FileNotFoundError(f"the Commerce REST schema {path} is missing from the checkout")
        return _contract(path, path.stat().st_mtime_ns)

    # -- lookups --------------------------------------------------------------------------------

    def operation(self, method: str, path: str) -> tuple[str, str, dict[str, Any], list[str]] | None:
        """``(mode, template, operation, problems with path parameters)`` for a request path."""
        where = split_path(path)
        if where is None:
            return None
        mode, v1_path = where
        for pattern, template, methods in self._operations:
            match = pattern.match(v1_path)
            if match is None or method.upper() not in methods:
                continue
            operation = methods[method.upper()]
            names = re.findall(r"\{([^}]+)\}", template)
            types = {p["name"]: p.get("type") for p in operation.get("parameters", []) if p.get("in") == "path"}
            problems = [
                f"path parameter {name}={value!r} is not an integer"
                for name, value in zip(names, match.groups(), strict=True)
                if types.get(name) == "integer" and not value.isdigit()
            ]
            return mode, template, operation, problems
        return None

    def _validator(self, schema: dict[str, Any], kind: str) -> Draft4Validator:
        key = f"{kind}:{json.dumps(schema, sort_keys=True)}"
        validator = self._validators.get(key)
        if validator is None:
            definitions = {"request": self._request_definitions, "response": self._response_definitions,
                           "partial": self._partial_definitions}[kind]
            if kind == "partial":
                schema = _partial(schema)
            validator = Draft4Validator({"definitions": definitions, "allOf": [schema]})
            self._validators[key] = validator
        return validator

    def _problems(self, validator: Draft4Validator, instance: Any, what: str) -> list[str]:
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
        return [
            f"{what} {'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
            for error in errors[:10]
        ]

    # -- checks ---------------------------------------------------------------------------------

    def check_request(self, method: str, path: str, body: Any) -> list[str]:
        found = self.operation(method, path)
        if found is None:
            return [f"{method} {path}: no such operation in the Commerce schema"]
        mode, template, operation, problems = found
        body_schema = next((p.get("schema") for p in operation.get("parameters", []) if p.get("in") == "body"),
                           None)
        if mode != "sync":
            if mode == "async" or (method.upper(), template) not in ASYNC_BULK_OPERATIONS:
                return [f"{method} {path}: async route not known to the contract harness"]
            body_schema = {"type": "array", "minItems": 1, "items": body_schema or {}}
        if body_schema is None:
            if body not in (None, "", {}, []):
                problems.append("sends a body the operation does not take")
        elif body is not None or body_schema.get("required"):
            problems += self._problems(self._validator(body_schema, "request"), body, "request")
        return [f"{method} {path}: {problem}" for problem in problems]

    def check_response(self, method: str, path: str, status: int, body: Any, *, partial: bool = False
                       ) -> list[str]:
        """``partial``: the request asked for some fields only (``fields=...``)."""
        found = self.operation(method, path)
        if found is None:
            return [f"{method} {path}: no such operation in the Commerce schema"]
        mode, _, operation, _ = found
        responses = operation.get("responses", {})
        problems: list[str] = []
        if 200 <= status < 300:
            expected = 202 if mode == "bulk" else 200
            if status != expected:
                problems.append(f"answered {status} where Commerce answers {expected}")
            schema = ASYNC_ACCEPTED if mode == "bulk" else (responses.get("200") or {}).get("schema")
            # A void service method (no schema): Commerce answers an empty JSON array.
            if schema is None and body not in ([], None):
                problems.append(f"answered {body!r} where the operation returns nothing")
        else:
            schema = (responses.get(str(status)) or responses.get("default") or {}).get("schema")
        if schema is not None:
            kind = "partial" if partial and 200 <= status < 300 else "response"
            problems += self._problems(self._validator(schema, kind), body, f"response {status}")
        return [f"{method} {path}: {problem}" for problem in problems]

    def check_calls(self, sim: Simulator) -> list[str]:
        """Every call the simulator recorded: what was sent, and what the simulator answered."""
        problems: list[str] = []
        for call in list(sim.calls):
            if call["path"] in NOT_COMMERCE_PATHS or call["status"] == 0:
                continue
            sent = self.check_request(call["method"], call["path"], call["body"])
            problems += sent
            if self.operation(call["method"], call["path"]) is not None:
                problems += self.check_response(call["method"], call["path"], call["status"], call.get("response"),
                                                partial=bool((call.get("query") or {}).get("fields")))
        return _unique(problems)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


@functools.cache
def _contract(path: Path, mtime_ns: int) -> CommerceContract:
    return CommerceContract(_read_spec(path))


def assert_commerce_contract(sim: Simulator) -> None:
    """pytest helper: fail with every contract problem in the simulator's recorded traffic."""
    import pytest

    problems = CommerceContract.load().check_calls(sim)
    if problems:
        pytest.fail(f"Commerce traffic breaks the published contract (Adobe Commerce {SCHEMA_VERSION} admin REST "
                    f"schema, {SCHEMA_FILE}):\n" + "\n".join(problems), pytrace=False)
