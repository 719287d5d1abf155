"""Runs a state machine of template.yaml in-process, its Lambda tasks through the sandbox.

Not a Step Functions emulator: it walks the definition's states one after the other (a Map's
items in order, one at a time) and knows exactly the Amazon States Language the template uses —
``Task`` on ``arn:aws:states:::lambda:invoke``, ``Map`` over ``ItemsPath``, ``Pass``, ``Succeed``,
with ``Parameters`` / ``ItemSelector`` / ``ResultSelector`` (``.$`` JSONPath keys), ``ResultPath``,
``Retry`` (without the waits). A field outside that set is refused, so the template cannot drift
from what this runner proves. Each task is a real invocation of the real handler
(``Sandbox.invoke``), so a run shows what the deployed state machine would ask of its functions.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from sandbox.stack import FunctionError, Sandbox
from sandbox.template import ref_name

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
_COMMON = {"Type", "Comment", "Next", "End"}
_FIELDS = {
    "Task": _COMMON | {"Resource", "Parameters", "ResultSelector", "ResultPath", "Retry", "TimeoutSeconds"},
    "Map": _COMMON | {"ItemsPath", "ItemSelector", "ItemProcessor", "MaxConcurrency", "MaxConcurrencyPath",
                      "ToleratedFailurePercentage", "ResultSelector", "ResultPath"},
    "Pass": _COMMON | {"Parameters", "Result", "ResultPath"},
    "Succeed": {"Type", "Comment"},
}
_MACHINE_FIELDS = {"Comment", "StartAt", "States", "TimeoutSeconds", "ProcessorConfig"}
_PATH_STEP = re.compile(r"\.([A-Za-z_][\w-]*)")


class ExecutionFailed(Exception):
    """The execution failed: ``error`` and ``cause`` as Step Functions would report them."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


def execute(box: Sandbox, logical_id: str, execution_input: Any) -> Any:
    """Run state machine ``logical_id`` with ``execution_input``; return the execution's output."""
    resource = box.stack.resources[logical_id]
    if resource.get("Type") != "AWS::Serverless::StateMachine":
        raise ValueError(f"{logical_id} is not a state machine")
    properties = resource["Properties"]
    functions = {name: ref_name(value) for name, value in (properties.get("DefinitionSubstitutions") or {}).items()}

    def function_of(name: Any) -> str:
        match = re.fullmatch(r"\$\{(\w+)\}", str(name))
        target = functions.get(match[1]) if match else None
        if target is None or target not in box.stack.functions:
            raise ValueError(f"{logical_id}: FunctionName {name!r} is no function of the template")
        return target

    return _Machine(properties["Definition"], lambda name, payload: box.invoke(function_of(name), payload)
                    ).run(execution_input, {"Execution": {"Input": execution_input}})


class _Machine:
    def __init__(self, definition: dict[str, Any], invoke: Callable[[Any, Any], Any]) -> None:
        unknown = set(definition) - _MACHINE_FIELDS
        if unknown:
            raise ValueError(f"state machine fields not simulated: {sorted(unknown)}")
        self.definition = definition
        self.invoke = invoke

    def run(self, value: Any, context: dict[str, Any]) -> Any:
        states = self.definition["States"]
        name = self.definition["StartAt"]
        while True:
            state = states[name]
            kind = state["Type"]
            unknown = set(state) - _FIELDS.get(kind, set())
            if unknown or kind not in _FIELDS:
                raise ValueError(f"state {name} ({kind}): fields not simulated: {sorted(unknown) or kind}")
            if kind == "Succeed":
                return value
            result = self._task(state, value, context) if kind == "Task" else (
                self._map(state, value, context) if kind == "Map" else self._pass(state, value, context))
            if "ResultSelector" in state:
                result = _resolve(state["ResultSelector"], result, context)
            value = _place(value, state.get("ResultPath", "$"), result)
            if state.get("End"):
                return value
            name = state["Next"]

    def _task(self, state: dict[str, Any], value: Any, context: dict[str, Any]) -> Any:
        if state["Resource"] != LAMBDA_INVOKE:
            raise ValueError(f"task resource not simulated: {state['Resource']}")
        parameters = _resolve(state["Parameters"], value, context)
        retries = {error: rule.get("MaxAttempts", 3) for rule in state.get("Retry", [])
                   for error in rule["ErrorEquals"]}
        attempt = 0
        while True:
            try:
                return {"StatusCode": 200, "Payload": self.invoke(parameters["FunctionName"], parameters["Payload"])}
            except FunctionError as failure:
                error = type(failure.error).__name__
                attempt += 1
                if attempt > retries.get(error, retries.get("States.ALL", 0)):
                    raise ExecutionFailed(error, str(failure.error)) from failure

    def _map(self, state: dict[str, Any], value: Any, context: dict[str, Any]) -> list[Any]:
        items = _path(value, state.get("ItemsPath", "$"))
        if not isinstance(items, list):
            raise ExecutionFailed("States.Runtime", f"ItemsPath {state.get('ItemsPath')} is not an array")
        if "MaxConcurrencyPath" in state and not isinstance(_path(value, state["MaxConcurrencyPath"]), int):
            raise ExecutionFailed("States.Runtime", f"{state['MaxConcurrencyPath']} is not an integer")
        processor = _Machine(state["ItemProcessor"], self.invoke)
        results = []
        for index, item in enumerate(items):
            item_context = {**context, "Map": {"Item": {"Index": index, "Value": item}}}
            selected = _resolve(state["ItemSelector"], value, item_context) if "ItemSelector" in state else item
            results.append(processor.run(selected, item_context))
        return results

    @staticmethod
    def _pass(state: dict[str, Any], value: Any, context: dict[str, Any]) -> Any:
        if "Result" in state:
            return copy.deepcopy(state["Result"])
        return _resolve(state["Parameters"], value, context) if "Parameters" in state else value


def _resolve(template: Any, value: Any, context: dict[str, Any]) -> Any:
    """A payload template: keys ending in ``.$`` take the value at their JSONPath (``$`` the state
    input, ``$$`` the context object)."""
    if isinstance(template, dict):
        resolved = {}
        for key, item in template.items():
            if key.endswith(".$"):
                resolved[key[:-2]] = (_path(context, item[1:]) if item.startswith("$$")
                                      else _path(value, item))
            else:
                resolved[key] = _resolve(item, value, context)
        return resolved
    if isinstance(template, list):
        return [_resolve(item, value, context) for item in template]
    return copy.deepcopy(template)


def _path(value: Any, path: str) -> Any:
    """A reference path: ``$`` or ``$.a.b``."""
    if not path.startswith("$"):
        raise ValueError(f"not a reference path: {path!r}")
    rest = path[1:]
    found = value
    for step in _PATH_STEP.finditer(rest):
        if not isinstance(found, dict) or step[1] not in found:
            raise ExecutionFailed("States.Runtime", f"the path {path} matches nothing")
        found = found[step[1]]
    if "".join(match[0] for match in _PATH_STEP.finditer(rest)) != rest:
        raise ValueError(f"reference path not simulated: {path!r}")
    return copy.deepcopy(found)


def _place(value: Any, result_path: str | None, result: Any) -> Any:
    if result_path is None:
        return value
    if result_path == "$":
        return result
    placed = copy.deepcopy(value)
    *parents, last = [step[1] for step in _PATH_STEP.finditer(result_path[1:])]
    node = placed
    for step in parents:
        node = node.setdefault(step, {})
    node[last] = result
    return placed
