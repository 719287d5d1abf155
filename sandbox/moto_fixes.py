"""Repairs to moto that the sandbox's long runs need; the answers stay moto's.

They patch moto's internals, so they are made for one moto version (``MOTO_VERSION``, the one
``requirements/dev.txt`` pins): ``install`` refuses any other until each repair is checked again.

* moto 5.2 makes a TransactWriteItems all-or-nothing by deep-copying every table the transaction
  touches, once per item of the transaction, and putting the copy back when an item fails: one
  transaction of 100 watermarks over a table of 20,000 items copies two million items. Here only
  the items the transaction touches are saved and restored.
* moto parses a condition expression up to four times per item it writes (to validate the
  request, in the transaction, again in the put), 0.8 ms for Powertools' idempotency condition. The
  parse reads the expression and its names, and only which value names there are, never a value:
  each distinct one is parsed once into moto's syntax tree, and each call makes its condition from
  that tree with its own values (Powertools' values, the clock, change on every call).
* moto looks up every response class's methods (``inspect.getmembers``) and turns the action name
  into a method name on every call: a tenth of a call's cost for answers that never change. Both
  are remembered per class and per name.
* Every answer's request id is 52 characters drawn one ``random.choice`` at a time (a tenth of a
  DynamoDB read): drawn with one ``random.choices``, from the same characters and moto's same
  (seedable) generator.
* A JSON-protocol error (every failed DynamoDB condition) first renders an XML body with
  ``xmltodict``, then replaces it with its JSON body: a third of a failed conditional write. It is
  given its JSON body alone.
* SQS reads a queue's retention period, for each message it receives, by building every attribute
  of the queue (a dozen timestamps and name conversions): it reads the one attribute instead.
* moto's response serializer asks six alias providers, for every member of every output shape,
  which keys a value may be under. For a plain ``dict`` (what DynamoDB's answers are made of) the
  answer depends only on the shape and the member name, so it is worked out once per member and
  the value read straight from the dict (moto's response transformers, when a service has any,
  still go moto's way).
* moto parses an update expression twice per UpdateItem (the parse is a pure function of the
  text; its users only read the tree, and the validator works on its own deep copy), then walks
  the tree with ten processors, each rebuilding its table of node handlers for every node it
  visits and asking ``isinstance`` of abstract classes for each. Each distinct expression is parsed
  once; each processor builds its table once; which handler takes a node is known per class.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import string
import threading
import types
from collections.abc import Iterator
from typing import Any

MOTO_VERSION = "5.2.5"
# What moto draws its request ids from (moto.moto_api._internal.moto_random.get_random_string).
REQUEST_ID_CHARACTERS = string.ascii_letters + string.digits
# (owner, attribute, moto's own value, the repair) for every attribute replaced.
_PATCHES: list[tuple[Any, str, Any, Any]] = []
_LOCK = threading.Lock()


def install() -> None:
    """Install every repair, once per process; refuse a moto they were not made for."""
    import moto

    with _LOCK:
        if _PATCHES:
            return
        if moto.__version__ != MOTO_VERSION:
            raise RuntimeError(
                f"sandbox/moto_fixes.py patches moto {MOTO_VERSION}'s internals, and moto {moto.__version__} "
                "is installed: check each repair of its docstring against the new moto, then update "
                "MOTO_VERSION")
        _install_transactions()
        _install_condition_parses()
        _install_lookups()
        _install_dict_picker()
        _install_update_expressions()


def _patch(owner: Any, name: str, repair: Any) -> None:
    # A class's own entry, so that a classmethod is put back as a classmethod.
    original = vars(owner)[name] if isinstance(owner, type) and name in vars(owner) else getattr(owner, name)
    _PATCHES.append((owner, name, original, repair))
    setattr(owner, name, repair)


@contextlib.contextmanager
def suspended() -> Iterator[None]:
    """moto as released, for as long as the block runs: what tests compare the repairs against."""
    for owner, name, original, _ in _PATCHES:
        setattr(owner, name, original)
    try:
        yield
    finally:
        for owner, name, _, repair in _PATCHES:
            setattr(owner, name, repair)


def _install_transactions() -> None:
    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import DynamoType

    backend = models.DynamoDBBackend
    original = backend.transact_write_items

    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        # The rollback below replaces moto's whole-table copies.
        return value if isinstance(value, models.Table) else copy.deepcopy(value, memo)

    _patch(models, "copy", types.SimpleNamespace(deepcopy=deepcopy, copy=copy.copy))

    @functools.wraps(original)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = []
        for entry in transact_items:
            op = next(iter(entry.values()), None)
            table = self.tables.get(op.get("TableName")) if isinstance(op, dict) else None
            key = (op.get("Key") or op.get("Item")) if isinstance(op, dict) else None
            if table is None or not isinstance(key, dict) or table.hash_key_attr not in key:
                continue
            hash_value = DynamoType(key[table.hash_key_attr])
            range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr in key else None
            if table.range_key_attr is not None and range_value is None:
                continue
            before = table.get_item(hash_value, range_value)
            saved.append((table, hash_value, range_value, copy.deepcopy(before)))
        try:
            original(self, transact_items)
        except Exception:
            for table, hash_value, range_value, item in reversed(saved):
                rows = table.items if range_value is None else table.items[hash_value]
                where = hash_value if range_value is None else range_value
                if item is None:
                    rows.pop(where, None)
                else:
                    rows[where] = item
            raise

    _patch(backend, "transact_write_items", transact_write_items)


class _ValueName:
    """Stands for an expression attribute value while a condition is parsed: the parse never looks
    inside a value, so its tree holds for every call with the same value names."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


def _install_condition_parses() -> None:
    from moto.dynamodb import comparisons

    parser = comparisons.ConditionExpressionParser
    parse = parser.parse
    make_operand = parser._make_operand

    @functools.lru_cache(maxsize=8192)
    def syntax(expression: str, names: str, values: tuple[str, ...]) -> tuple[Any, tuple[str, ...], tuple[str, ...]]:
        placeholders: Any = {name: _ValueName(name) for name in values}
        fresh: Any = parser(expression, json.loads(names), placeholders)
        # The syntax tree moto's parse ends with, before it becomes the condition that holds values.
        fresh._make_op_condition = lambda node: node
        return parse(fresh), tuple(fresh.expr_attr_names_found), tuple(fresh.expr_attr_values_found)

    def parse_once(self: Any) -> Any:
        if not self.condition_expression:
            return parse(self)
        # moto passes absent names and values as None in some places and {} in others: one parse for both.
        names = json.dumps(self.expression_attribute_names or {}, sort_keys=True)
        node, names_found, values_found = syntax(
            self.condition_expression, names, tuple(sorted(self.expression_attribute_values or {})))
        self.expr_attr_names_found.extend(names_found)
        self.expr_attr_values_found.extend(values_found)
        return self._make_op_condition(node)

    def operand_with_values(self: Any, node: Any) -> Any:
        if isinstance(node.value, _ValueName):
            return comparisons.AttributeValue(self.expression_attribute_values[node.value.name])
        return make_operand(self, node)

    _patch(parser, "parse", parse_once)
    _patch(parser, "_make_operand", operand_with_values)


def _install_lookups() -> None:
    from moto.core import exceptions, responses, utils
    from moto.moto_api._internal import mock_random
    from moto.sqs import models as sqs
    from werkzeug.exceptions import HTTPException

    _patch(responses, "method_names_from_class", functools.cache(utils.method_names_from_class))
    names = functools.cache(utils.camelcase_to_underscores)
    _patch(responses, "camelcase_to_underscores", names)
    _patch(sqs, "camelcase_to_underscores", names)

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retain_until = self.get_queue(queue_name).message_retention_period + message.sent_timestamp / 1000
        return bool(retain_until > utils.unix_time())

    def gen_amzn_requestid_long(headerdict: dict[str, Any] | None = None) -> str:
        request_id = "".join(mock_random.choices(REQUEST_ID_CHARACTERS, k=52))
        if isinstance(headerdict, dict):
            headerdict["x-amzn-requestid"] = request_id
        return request_id

    _patch(responses, "gen_amzn_requestid_long", gen_amzn_requestid_long)

    def json_error(self: Any, error_type: str, message: str, _: str = "", **__: Any) -> None:
        # JsonRESTError's attributes once its own __init__ has overwritten _RESTError's XML.
        HTTPException.__init__(self)
        self.error_type = error_type
        self.message = message
        self.description = json.dumps({"__type": error_type, "message": message})
        self.content_type = "application/json"

    _patch(exceptions.JsonRESTError, "__init__", json_error)
    _patch(sqs.SQSBackend, "is_message_valid_based_on_retention_period", is_message_valid_based_on_retention_period)


def _install_dict_picker() -> None:
    from moto.core import serialize
    from moto.core.utils import MISSING, get_value

    serializer = serialize.ResponseSerializer
    original = serializer.get_value
    pickers = (serialize.AttributePicker, serialize.XFormedAttributePicker)
    # (picker class, alias providers, shape, its parent, member name) -> (shape, parent, keys): the
    # entry holds the shapes, so their ids cannot be reused while it is cached.
    keys_of: dict[tuple[Any, ...], tuple[Any, Any, tuple[str, ...]]] = {}

    def get_value_of_dict(self: Any, value: Any, key: str, shape: Any) -> Any:
        picker = self._value_picker
        if type(value) is not dict or type(picker) not in pickers or picker.response_transformers:
            return original(self, value, key, shape)
        parent = getattr(shape, "parent", None)
        cache_key = (type(picker), tuple(picker.alias_providers), id(shape), id(parent), key)
        entry = keys_of.get(cache_key)
        if entry is None or entry[0] is not shape or entry[1] is not parent:
            context = serialize.AttributePickerContext(
                obj=value, key=key, shape=shape, operation_model=self.operation_model,
                service_model=self.operation_model.service_model, key_path=".".join(self.path))
            entry = keys_of[cache_key] = (shape, parent, tuple(picker.get_possible_keys(context)))
        for possible_key in entry[2]:
            found = value.get(possible_key, MISSING) if "." not in possible_key else get_value(
                value, possible_key, MISSING)
            if found is not MISSING:
                return found
        return None

    _patch(serializer, "get_value", get_value_of_dict)


def _install_update_expressions() -> None:
    from moto.dynamodb.parsing import ast_nodes, expressions

    parser = expressions.UpdateExpressionParser  # type: ignore[attr-defined]  # moto's module is untyped
    parse: Any = functools.lru_cache(maxsize=1024)(parser.make.__func__)
    _patch(parser, "make", classmethod(parse))

    def handlers(self: Any) -> dict[type, Any]:
        table: dict[type, Any] | None = self.__dict__.get("_sandbox_handlers")
        if table is None:
            table = self.__dict__["_sandbox_handlers"] = self._processing_map()
        return table

    # (processor class, node class) -> the key of the processor's table that handles such a node,
    # or None: moto's tables are literals per processor class, and its node classes are ABCs, whose
    # isinstance checks are the slow part of every walk.
    handled_by: dict[tuple[type, type], type | None] = {}

    def handler_key(self: Any, node_type: type) -> type | None:
        key = (type(self), node_type)
        if key not in handled_by:
            handled_by[key] = next((kind for kind in handlers(self) if issubclass(node_type, kind)), None)
        return handled_by[key]

    node_class: type = ast_nodes.Node  # type: ignore[attr-defined]
    node_classes: dict[type, bool] = {}

    def is_node(node_type: type) -> bool:
        known = node_classes.get(node_type)
        if known is None:
            known = node_classes[node_type] = issubclass(node_type, node_class)
        return known

    def nodes_to_be_processed(self: Any) -> tuple[type, ...]:
        return tuple(handlers(self))

    def process_node(self: Any, node: Any) -> Any:
        kind = handler_key(self, type(node))
        return None if kind is None else handlers(self)[kind](node)

    def traverse_node_recursively(self: Any, node: Any, child_id: int = -1) -> Any:
        # moto's walk, with the isinstance checks answered per class.
        if is_node(type(node)):
            parent_node = node.parent
            if node.children is not None:
                for i, child_node in enumerate(node.children):
                    self.pre_processing_of_child(node, i)
                    self.traverse_node_recursively(child_node, i)
            if handler_key(self, type(node)) is not None:
                node = self.process(node)
                node.parent = parent_node
                if parent_node:
                    parent_node.children[child_id] = node
        return node

    traverser = ast_nodes.DepthFirstTraverser  # type: ignore[attr-defined]
    _patch(traverser, "nodes_to_be_processed", nodes_to_be_processed)
    _patch(traverser, "process", process_node)
    _patch(traverser, "traverse_node_recursively", traverse_node_recursively)
