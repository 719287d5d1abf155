"""Reads template.yaml the way the sandbox needs it: functions, their environment, and what
triggers them (EventBridge rules, SQS queues, HTTP API routes, schedules)."""

from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


class _CfnLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """SafeLoader (libyaml's when PyYAML has it: ten times quicker) that keeps CloudFormation
    short-form tags as ``{"Fn::X": value}`` mappings."""


def _constructor(name: str) -> Any:
    key = "Ref" if name == "Ref" else f"Fn::{name}"

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if name == "GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {key: value}

    return construct


for _name in ("Ref", "GetAtt", "Sub", "If", "Equals", "Not", "And", "Or", "Join", "Select", "Split",
              "FindInMap", "ImportValue", "Condition", "Base64", "GetAZs", "Cidr"):
    _CfnLoader.add_constructor(f"!{_name}", _constructor(_name))


def load(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open() as handle:
        return yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


@dataclass
class Rule:
    """An EventBridge rule: which events, and where they go."""

    name: str
    pattern: dict[str, Any]
    function: str | None = None
    queue: str | None = None
    # What EventBusName names: the integration bus ("EventBus") or a parameter (a partner bus).
    bus: str | None = None


@dataclass
class Function:
    logical_id: str
    code_uri: str
    handler: str
    environment: dict[str, Any]
    routes: list[tuple[str, str]] = field(default_factory=list)
    queues: list[dict[str, Any]] = field(default_factory=list)
    schedules: list[dict[str, Any]] = field(default_factory=list)
    dlq: str | None = None
    max_retries: int = 2

    @property
    def path(self) -> Path:
        module, _ = self.handler.rsplit(".", 1)
        return ROOT / self.code_uri / f"{module.replace('.', '/')}.py"


@dataclass
class Stack:
    template: dict[str, Any]
    functions: dict[str, Function]
    rules: list[Rule]

    @property
    def resources(self) -> dict[str, Any]:
        return dict(self.template.get("Resources", {}))

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {name: res for name, res in self.resources.items() if res.get("Type") == kind}

    def route(self, method: str, path: str) -> tuple[Function, dict[str, str]] | None:
        for function in self.functions.values():
            for route_method, route_path in function.routes:
                if route_method not in (method.upper(), "ANY"):
                    continue
                params = match_route(route_path, path)
                if params is not None:
                    return function, params
        return None


def match_route(template: str, path: str) -> dict[str, str] | None:
    regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    match = re.fullmatch(regex, path)
    return match.groupdict() if match else None


def ref_name(value: Any) -> str | None:
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    return None


def read(path: Path = TEMPLATE) -> Stack:
    """The stack in ``path``, parsed once per version of the file; each caller gets its own copy."""
    return copy.deepcopy(_parsed(path, path.stat().st_mtime_ns))


@functools.lru_cache(maxsize=4)
def _parsed(path: Path, mtime_ns: int) -> Stack:
    template = load(path)
    globals_fn = template.get("Globals", {}).get("Function", {})
    global_env = dict(globals_fn.get("Environment", {}).get("Variables", {}))
    functions: dict[str, Function] = {}
    rules: list[Rule] = []
    for name, resource in template.get("Resources", {}).items():
        kind = resource.get("Type")
        props = resource.get("Properties", {}) or {}
        if kind == "AWS::Serverless::Function":
            function = Function(
                logical_id=name,
                code_uri=str(props.get("CodeUri", "")).rstrip("/"),
                handler=str(props.get("Handler", globals_fn.get("Handler", "app.handler"))),
                environment={**global_env, **props.get("Environment", {}).get("Variables", {})},
            )
            invoke_config = props.get("EventInvokeConfig", {})
            function.max_retries = int(invoke_config.get("MaximumRetryAttempts", 2))
            on_failure = invoke_config.get("DestinationConfig", {}).get("OnFailure", {})
            function.dlq = ref_name(on_failure.get("Destination"))
            for event_name, event in (props.get("Events") or {}).items():
                event_props = event.get("Properties", {}) or {}
                event_type = event.get("Type")
                if event_type == "HttpApi":
                    function.routes.append((str(event_props["Method"]).upper(), str(event_props["Path"])))
                elif event_type in ("EventBridgeRule", "CloudWatchEvent"):
                    rules.append(Rule(f"{name}.{event_name}", event_props.get("Pattern", {}), function=name,
                                      bus=ref_name(event_props.get("EventBusName"))))
                elif event_type == "SQS":
                    function.queues.append({"queue": ref_name(event_props.get("Queue")), **event_props})
                elif event_type in ("Schedule", "ScheduleV2"):
                    function.schedules.append(event_props)
            functions[name] = function
        elif kind == "AWS::Events::Rule":
            for target in props.get("Targets", []):
                # A target is a function of the template, or else a queue.
                target_name = ref_name(target.get("Arn"))
                is_function = template["Resources"].get(target_name, {}).get("Type") == "AWS::Serverless::Function"
                rules.append(Rule(f"{name}.{target.get('Id', '')}", props.get("EventPattern", {}),
                                  function=target_name if is_function else None,
                                  queue=None if is_function else target_name, bus=ref_name(props.get("EventBusName"))))
    return Stack(template, functions, rules)


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """EventBridge pattern matching for the forms the template uses: exact values, ``prefix``,
    ``wildcard``, ``anything-but`` and nested objects."""
    for key, expected in pattern.items():
        if key not in event:
            return False
        actual = event[key]
        if isinstance(expected, dict):
            if not isinstance(actual, dict) or not matches(expected, actual):
                return False
            continue
        if not any(_value_matches(option, actual) for option in expected):
            return False
    return True


def _value_matches(option: Any, actual: Any) -> bool:
    if isinstance(option, dict):
        if "prefix" in option:
            return isinstance(actual, str) and actual.startswith(option["prefix"])
        if "wildcard" in option:
            # EventBridge: "*" stands for any run of characters, everything else is literal.
            literal = (re.escape(part) for part in str(option["wildcard"]).split("*"))
            return isinstance(actual, str) and re.fullmatch(".*".join(literal), actual, re.DOTALL) is not None
        if "anything-but" in option:
            excluded = option["anything-but"]
            excluded = excluded if isinstance(excluded, list) else [excluded]
            return actual not in excluded
        return False
    if isinstance(actual, list):
        return option in actual
    return bool(option == actual)
