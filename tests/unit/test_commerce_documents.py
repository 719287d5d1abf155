"""What makes a Commerce event "slim" (omsbridge.commerce.documents.missing), and the REST order in the
observer model's field names (omsbridge.mapping.order.from_rest)."""

from __future__ import annotations

from typing import Any

import pytest

from omsbridge.commerce import documents
from omsbridge.mapping.order import from_rest, parse_order
from tests.support import foreign

IBM_ORDER = foreign("commerce_event_sales_order_save_commit_after.json")["data"]["value"]


@pytest.mark.parametrize(("value", "missing"), [
    (IBM_ORDER, []),
    # Adobe's starter kit subscription (id, increment_id, created_at, updated_at).
    ({"id": "7", "increment_id": "000000007", "created_at": "x", "updated_at": "x"},
     [name for name in documents.ORDER.needs if name != "increment_id"]),
    # The kit's documented payload: items with an item_id and nothing else.
    (foreign("adobe-integration-starter-kit/order_commerce_created_payload.json"),
     ["state", "order_currency_code", "items[].sku", "items[].qty_ordered", "items[].price", "items[].product_type",
      "addresses[].address_type", "addresses[].country_id", "payment.method"]),
    # One item of two without its price: narrowed all the same.
    ({**IBM_ORDER, "items": [IBM_ORDER["items"][0], {**IBM_ORDER["items"][0], "price": None}]}, ["items[].price"]),
    ({**IBM_ORDER, "payment": {}}, ["payment.method"]),
])
def test_an_event_is_slim_when_a_field_every_order_has_is_absent(value: dict[str, Any], missing: list[str]) -> None:
    assert documents.missing(documents.ORDER, value) == missing


def test_a_rest_order_reads_as_the_observer_model() -> None:
    rest = {
        "entity_id": 5, "increment_id": "000000005", "state": "processing", "order_currency_code": "EUR",
        "items": [{"item_id": 9, "sku": "A", "qty_ordered": 1, "price": 10, "product_type": "simple"}],
        "billing_address": {"address_type": "billing", "street": ["1 Main St"], "city": "Berlin", "country_id": "DE",
                            "firstname": "Jo", "lastname": "Doe"},
        "payment": {"method": "checkmo", "cc_last4": None},
        "extension_attributes": {"shipping_assignments": [{"shipping": {
            "method": "flatrate_flatrate",
            "address": {"address_type": "shipping", "street": ["2 Side St"], "city": "Bonn", "country_id": "DE"}}}]},
    }
    value = from_rest(rest)
    assert [a["address_type"] for a in value["addresses"]] == ["billing", "shipping"]
    assert value["shipping_method"] == "flatrate_flatrate"
    assert "billing_address" not in value
    assert documents.missing(documents.ORDER, value) == []
    order = parse_order(value)
    assert order.order_entity_id() == 5
    shipping = order.address("shipping")
    assert shipping is not None
    assert shipping.city == "Bonn"
