"""Catalog reads for the Commerce simulator: ``GET /V1/products`` with ``searchCriteria``.

The stock-check webhook resolves a configurable's selected child (named by entity id in the
add-to-cart payload) to its SKU with it. As in Commerce, ``entity_id`` filters the product's ``id``.
"""

from __future__ import annotations

from typing import Any

from sandbox.sim.base import JsonBody, Request
from sandbox.sim.commerce import search


def search_products(products: list[dict[str, Any]], request: Request) -> JsonBody:
    criteria = search.parse(request.query, required=True)
    rows = [{**product, "entity_id": product["id"]} for product in products]
    answer = search.result(rows, criteria)
    answer["items"] = [{k: v for k, v in row.items() if k != "entity_id"} for row in answer["items"]]
    return answer


def register(sim: Any) -> None:
    """Add the catalog route to a ``CommerceSim`` (its ``products`` come from the seed)."""
    sim.route("GET", "/V1/products", lambda request: search_products(list(sim.products.values()), request))
