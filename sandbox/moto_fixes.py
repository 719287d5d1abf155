"""Repairs to moto's DynamoDB that the sandbox's stock runs need; the answers stay moto's.

* moto 5.2 makes a TransactWriteItems all-or-nothing by deep-copying every table the transaction
  touches, once per item of the transaction, and putting the copy back when an item fails: one
  transaction of 100 watermarks over a table of 20,000 items copies two million items. Here only
  the items the transaction touches are saved and restored.
* moto parses a condition expression up to four times per item it writes (to validate the
  request, in the transaction, again in the put). Parsing is a pure function of the expression,
  its names and its values, so each distinct one is parsed once.
"""

from __future__ import annotations

import copy
import functools
import json
import types
from typing import Any

_INSTALLED = "_sandbox_items_only"


def install() -> None:
    from moto.dynamodb import comparisons, models
    from moto.dynamodb.models.dynamo_type import DynamoType

    backend = models.DynamoDBBackend
    if getattr(backend.transact_write_items, _INSTALLED, False):
        return
    original = backend.transact_write_items

    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        # The rollback below replaces moto's whole-table copies.
        return value if isinstance(value, models.Table) else copy.deepcopy(value, memo)

    models.copy = types.SimpleNamespace(deepcopy=deepcopy, copy=copy.copy)  # type: ignore[assignment]

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

    setattr(transact_write_items, _INSTALLED, True)
    backend.transact_write_items = transact_write_items  # type: ignore[method-assign]

    parser = comparisons.ConditionExpressionParser
    parse = parser.parse

    @functools.lru_cache(maxsize=8192)
    def parsed(expression: str, names: str, values: str) -> tuple[Any, tuple[str, ...], tuple[str, ...]]:
        fresh = parser(expression, json.loads(names), json.loads(values))
        return parse(fresh), tuple(fresh.expr_attr_names_found), tuple(fresh.expr_attr_values_found)

    def parse_once(self: Any) -> Any:
        # moto passes absent names and values as None in some places and {} in others: one parse for both.
        try:
            names = json.dumps(self.expression_attribute_names or {}, sort_keys=True)
            values = json.dumps(self.expression_attribute_values or {}, sort_keys=True)
        except TypeError:
            # A binary value (bytes) has no JSON key to cache the parse under: parsed as moto would.
            return parse(self)
        op, names_found, values_found = parsed(self.condition_expression, names, values)
        self.expr_attr_names_found.extend(names_found)
        self.expr_attr_values_found.extend(values_found)
        return op

    parser.parse = parse_once  # type: ignore[method-assign]
