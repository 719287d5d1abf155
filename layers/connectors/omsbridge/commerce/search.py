"""Commerce ``searchCriteria`` as the flat query parameters its REST API reads.

Filter groups are ANDed; the filters inside one group are ORed. Values are sent as given and
URL-encoded by the HTTP client (the old connector interpolated them raw into the URL).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

CONDITIONS = frozenset({
    "eq", "neq", "like", "in", "nin", "gt", "gteq", "lt", "lteq", "from", "to", "null", "notnull",
    "finset",
})
DIRECTIONS = frozenset({"ASC", "DESC"})


@dataclass(frozen=True)
class Filter:
    field: str
    value: Any = ""
    condition: str = "eq"

    def __post_init__(self) -> None:
        if self.condition not in CONDITIONS:
            raise ValueError(f"unknown searchCriteria condition_type {self.condition!r}")


FilterGroup = Filter | Sequence[Filter]


def search_criteria(
    filters: Iterable[FilterGroup] = (),
    page_size: int | None = None,
    current_page: int | None = None,
    sort: Iterable[tuple[str, str]] = (),
) -> dict[str, str]:
    """``filters``: each item is one group; a bare ``Filter`` is a group of its own.

    >>> search_criteria([Filter("increment_id", "000000617")], page_size=2)["searchCriteria[pageSize]"]
    '2'
    """
    params: dict[str, str] = {}
    for g, group in enumerate(filters):
        members = [group] if isinstance(group, Filter) else list(group)
        if not members:
            raise ValueError("a searchCriteria filter group needs at least one filter")
        for f, item in enumerate(members):
            prefix = f"searchCriteria[filter_groups][{g}][filters][{f}]"
            params[f"{prefix}[field]"] = item.field
            params[f"{prefix}[value]"] = _text(item.value)
            params[f"{prefix}[condition_type]"] = item.condition
    for s, (field, direction) in enumerate(sort):
        upper = direction.upper()
        if upper not in DIRECTIONS:
            raise ValueError(f"sort direction must be ASC or DESC, not {direction!r}")
        params[f"searchCriteria[sortOrders][{s}][field]"] = field
        params[f"searchCriteria[sortOrders][{s}][direction]"] = upper
    if page_size is not None:
        params["searchCriteria[pageSize]"] = str(page_size)
    if current_page is not None:
        params["searchCriteria[currentPage]"] = str(current_page)
    # Commerce rejects a list call without searchCriteria; an empty one means "everything".
    return params or {"searchCriteria": ""}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, Iterable):
        return ",".join(_text(item) for item in value)
    return str(value)
