"""searchCriteria query parameters: groups AND, filters in a group OR."""

from __future__ import annotations

from typing import Any

import pytest

from omsbridge.commerce.search import Filter, search_criteria

G = "searchCriteria[filter_groups]"


@pytest.mark.parametrize(("kwargs", "expected"), [
    pytest.param({}, {"searchCriteria": ""}, id="empty-means-everything"),
    pytest.param(
        {"filters": [Filter("increment_id", "000000617")], "page_size": 2, "current_page": 1},
        {f"{G}[0][filters][0][field]": "increment_id", f"{G}[0][filters][0][value]": "000000617",
         f"{G}[0][filters][0][condition_type]": "eq", "searchCriteria[pageSize]": "2",
         "searchCriteria[currentPage]": "1"},
        id="one-filter-paged"),
    pytest.param(
        {"filters": [Filter("order_id", 5), Filter("created_at", "2024-01-01", "gteq")]},
        {f"{G}[0][filters][0][field]": "order_id", f"{G}[0][filters][0][value]": "5",
         f"{G}[0][filters][0][condition_type]": "eq",
         f"{G}[1][filters][0][field]": "created_at", f"{G}[1][filters][0][value]": "2024-01-01",
         f"{G}[1][filters][0][condition_type]": "gteq"},
        id="two-groups-are-AND"),
    pytest.param(
        {"filters": [[Filter("status", "pending"), Filter("status", "processing")]]},
        {f"{G}[0][filters][0][field]": "status", f"{G}[0][filters][0][value]": "pending",
         f"{G}[0][filters][0][condition_type]": "eq",
         f"{G}[0][filters][1][field]": "status", f"{G}[0][filters][1][value]": "processing",
         f"{G}[0][filters][1][condition_type]": "eq"},
        id="one-group-is-OR"),
    pytest.param(
        {"filters": [Filter("sku", ["A", "B", 3], "in"), Filter("status", True)],
         "sort": [("created_at", "desc")]},
        {f"{G}[0][filters][0][field]": "sku", f"{G}[0][filters][0][value]": "A,B,3",
         f"{G}[0][filters][0][condition_type]": "in",
         f"{G}[1][filters][0][field]": "status", f"{G}[1][filters][0][value]": "1",
         f"{G}[1][filters][0][condition_type]": "eq",
         "searchCriteria[sortOrders][0][field]": "created_at",
         "searchCriteria[sortOrders][0][direction]": "DESC"},
        id="lists-booleans-and-sort"),
])
def test_search_criteria(kwargs: dict[str, Any], expected: dict[str, str]) -> None:
    assert search_criteria(**kwargs) == expected


def test_unknown_condition_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="condition_type 'equals'"):
        Filter("sku", "A", "equals")


def test_bad_sort_direction_and_empty_group_are_rejected() -> None:
    with pytest.raises(ValueError, match="ASC or DESC"):
        search_criteria(sort=[("sku", "up")])
    with pytest.raises(ValueError, match="at least one filter"):
        search_criteria([[]])
