"""Commerce ``searchCriteria``: parsing the flat query parameters and applying them to records.

As in Commerce: filter groups are ANDed and the filters in a group ORed; both the snake_case
(``filter_groups``, ``condition_type``) and camelCase (``filterGroups``, ``conditionType``) spellings
are read; comparisons behave like MySQL's (numbers as numbers, text case-insensitively, NULL never
matches a comparison); a ``currentPage`` past the end answers with the last page, as Commerce's
collections do.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.sim.base import HttpError

CONDITIONS = frozenset({
    "eq", "neq", "like", "in", "nin", "gt", "gteq", "lt", "lteq", "from", "to", "null", "notnull", "finset",
})

_FILTER = re.compile(
    r"^searchCriteria\[(?:filter_groups|filterGroups)\]\[(\d+)\]\[filters\]\[(\d+)\]"
    r"\[(field|value|condition_type|conditionType)\]$")
_SORT = re.compile(r"^searchCriteria\[(?:sort_orders|sortOrders)\]\[(\d+)\]\[(field|direction)\]$")
_PAGE = re.compile(r"^searchCriteria\[(page_size|pageSize|current_page|currentPage)\]$")


@dataclass(frozen=True)
class Condition:
    field: str
    value: str
    condition: str = "eq"


@dataclass
class Criteria:
    groups: list[list[Condition]] = field(default_factory=list)
    sort: list[tuple[str, str]] = field(default_factory=list)
    page_size: int | None = None
    current_page: int | None = None

    def echo(self) -> dict[str, Any]:
        """``search_criteria`` as Commerce repeats it in a search result."""
        echo: dict[str, Any] = {"filter_groups": [
            {"filters": [{"field": c.field, "value": c.value, "condition_type": c.condition} for c in group]}
            for group in self.groups
        ]}
        if self.sort:
            echo["sort_orders"] = [{"field": f, "direction": d} for f, d in self.sort]
        if self.page_size is not None:
            echo["page_size"] = self.page_size
        if self.current_page is not None:
            echo["current_page"] = self.current_page
        return echo


def required_field(name: str) -> HttpError:
    return HttpError(400, {"message": '"%fieldName" is required. Enter and try again.',
                           "parameters": {"fieldName": name}})


def parse(query: dict[str, list[str]], *, required: bool) -> Criteria:
    if not any(key.startswith("searchCriteria") for key in query):
        if required:
            raise required_field("searchCriteria")
        return Criteria()
    filters: dict[int, dict[int, dict[str, str]]] = {}
    sorts: dict[int, dict[str, str]] = {}
    criteria = Criteria()
    for key, values in query.items():
        value = values[0]
        if match := _FILTER.match(key):
            part = "condition_type" if match[3] == "conditionType" else match[3]
            filters.setdefault(int(match[1]), {}).setdefault(int(match[2]), {})[part] = value
        elif match := _SORT.match(key):
            sorts.setdefault(int(match[1]), {})[match[2]] = value
        elif match := _PAGE.match(key):
            number = _integer(value, key)
            if match[1] in ("page_size", "pageSize"):
                criteria.page_size = number
            else:
                criteria.current_page = number
    for g in sorted(filters):
        group = []
        for f in sorted(filters[g]):
            spec = filters[g][f]
            if not spec.get("field"):
                raise required_field("field")
            condition = spec.get("condition_type") or "eq"
            if condition not in CONDITIONS:
                raise HttpError(400, {"message": 'Invalid condition type "%1".', "parameters": [condition]})
            group.append(Condition(spec["field"], spec.get("value", ""), condition))
        criteria.groups.append(group)
    for s in sorted(sorts):
        spec = sorts[s]
        if not spec.get("field"):
            raise required_field("field")
        criteria.sort.append((spec["field"], (spec.get("direction") or "ASC").upper()))
    return criteria


def _integer(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise HttpError(400, {
            "message": 'The "%value" value\'s type is invalid. The "%type" type was expected. '
                       "Verify and try again.",
            "parameters": {"value": value, "type": "int"},
        }) from None


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def _compare(left: Any, right: str) -> int | None:
    """-1/0/1 like MySQL would compare a column to a string literal; None when the column is NULL."""
    if left is None:
        return None
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    x, y = str(left).lower(), right.lower()
    return (x > y) - (x < y)


def _like(pattern: str) -> re.Pattern[str]:
    parts = ("." if ch == "_" else ".*" if ch == "%" else re.escape(ch) for ch in pattern)
    return re.compile("^" + "".join(parts) + "$", re.IGNORECASE | re.DOTALL)


@functools.lru_cache(maxsize=256)
def _listed(values: str) -> tuple[frozenset[Decimal], frozenset[str]]:
    """An ``in`` list as ``_compare`` sees its members: the numbers, and every member as text."""
    items = [item.strip() for item in values.split(",")]
    numbers = frozenset(number for number in map(_number, items) if number is not None)
    return numbers, frozenset(item.lower() for item in items)


def _in(left: Any, values: str) -> bool:
    # Equal under _compare: as numbers when both are numbers, else as text (a member equal to a
    # number as text is a number too). Sets, so a long list costs no more than a short one.
    numbers, texts = _listed(values)
    number = _number(left)
    return number in numbers if number is not None else str(left).lower() in texts


_TESTS: dict[str, Callable[[Any, str], bool]] = {
    "eq": lambda v, x: _compare(v, x) == 0,
    "neq": lambda v, x: _compare(v, x) not in (None, 0),
    "like": lambda v, x: v is not None and bool(_like(x).match(str(v))),
    "in": lambda v, x: v is not None and _in(v, x),
    "nin": lambda v, x: v is not None and not _in(v, x),
    "gt": lambda v, x: _compare(v, x) == 1,
    "gteq": lambda v, x: _compare(v, x) in (0, 1),
    "from": lambda v, x: _compare(v, x) in (0, 1),
    "lt": lambda v, x: _compare(v, x) == -1,
    "lteq": lambda v, x: _compare(v, x) in (0, -1),
    "to": lambda v, x: _compare(v, x) in (0, -1),
    "null": lambda v, _x: v is None,
    "notnull": lambda v, _x: v is not None,
    "finset": lambda v, x: v is not None and x in str(v).split(","),
}


def matches(record: dict[str, Any], criteria: Criteria) -> bool:
    return all(
        any(_TESTS[c.condition](record.get(c.field), c.value) for c in group)
        for group in criteria.groups
    )


def _sort_key(value: Any) -> tuple[int, Decimal, str]:
    # MySQL puts NULL first in ascending order; numbers compare as numbers.
    if value is None:
        return (0, Decimal(0), "")
    number = _number(value)
    return (1, number, "") if number is not None else (2, Decimal(0), str(value).lower())


def _by(field_name: str) -> Callable[[dict[str, Any]], tuple[int, Decimal, str]]:
    def key(record: dict[str, Any]) -> tuple[int, Decimal, str]:
        return _sort_key(record.get(field_name))

    return key


def apply(records: list[dict[str, Any]], criteria: Criteria) -> tuple[list[dict[str, Any]], int]:
    """(the requested page, the total count of matches)."""
    found = [record for record in records if matches(record, criteria)]
    for field_name, direction in reversed(criteria.sort):
        found.sort(key=_by(field_name), reverse=direction == "DESC")
    total = len(found)
    size = criteria.page_size or 0
    if size <= 0:
        return found, total
    last_page = max(1, -(-total // size))
    page = min(max(criteria.current_page or 1, 1), last_page)
    return found[(page - 1) * size: page * size], total


def result(records: list[dict[str, Any]], criteria: Criteria) -> dict[str, Any]:
    page, total = apply(records, criteria)
    return {"items": page, "search_criteria": criteria.echo(), "total_count": total}
