"""Demo orders in the form Commerce publishes them (the observer order model of an I/O event's
``data.value``), and the step that places one and lets the sandbox carry it to Sterling.

Totals are computed from the items, so each order adds up the way Commerce's would.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.stack import Sandbox

CUSTOMER = {"customer_id": 7, "customer_email": "jane.doe@example.com", "customer_firstname": "Jane",
            "customer_lastname": "Doe", "customer_is_guest": 0}
ADDRESS = {"firstname": "Jane", "lastname": "Doe", "street": "100 Example Street\nSuite 5", "city": "Austin",
           "region": "Texas", "region_id": "57", "region_code": "TX", "postcode": "78701", "country_id": "US",
           "telephone": "555-0100", "email": "jane.doe@example.com"}
PICKUP_STORE = "store_1"

# What the orders below need to exist on both sides (ARCHITECTURE §7 seed form).
SEED: dict[str, Any] = {
    "commerce": {
        "products": [
            {"sku": "DEMO-MUG", "name": "Demo mug", "type_id": "simple"},
            {"sku": "TEE", "name": "Demo tee", "type_id": "configurable"},
            {"sku": "TEE-M-BLUE", "name": "Demo tee M blue", "type_id": "simple"},
        ],
        "sources": [
            {"source_code": "default", "name": "Default source", "enabled": True, "country_id": "US"},
            {"source_code": PICKUP_STORE, "name": "Austin store", "enabled": True, "country_id": "US",
             "postcode": "78701", "extension_attributes": {"is_pickup_location_active": True}},
        ],
    },
    "sterling": {
        "nodes": [
            {"ShipNode": "default", "NodeType": "DC", "Description": "Default DC"},
            {"ShipNode": PICKUP_STORE, "NodeType": "Store", "Description": "Austin store", "ZipCode": "78701",
             "Country": "US"},
        ],
        "inventory": [
            {"ItemID": "DEMO-MUG", "ShipNode": "default", "Quantity": 100},
            {"ItemID": "DEMO-MUG", "ShipNode": PICKUP_STORE, "Quantity": 5},
            {"ItemID": "TEE-M-BLUE", "ShipNode": "default", "Quantity": 40},
        ],
    },
}


def _item(item_id: int, sku: str, name: str, qty: int, price: str, *, product_type: str = "simple",
          parent: int | None = None, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"item_id": str(item_id), "sku": sku, "name": name, "product_type": product_type,
                            "qty_ordered": qty, "price": float(price), "base_price": float(price),
                            "original_price": float(price), "tax_amount": 0, "tax_percent": 0,
                            "discount_amount": 0, "row_total": float(Decimal(price) * qty), **extra}
    if parent is not None:
        item["parent_item_id"] = str(parent)
    return item


def _order(increment_id: str, items: list[dict[str, Any]], *, shipping_method: str, shipping: str,
           **extra: Any) -> dict[str, Any]:
    top = [item for item in items if "parent_item_id" not in item]
    subtotal = sum((Decimal(str(i["price"])) * i["qty_ordered"] for i in top), Decimal(0))
    grand_total = float(subtotal + Decimal(shipping))
    addresses = [{**ADDRESS, "address_type": kind} for kind in ("shipping", "billing")]
    return {
        "increment_id": increment_id, "state": "processing", "status": "processing", "store_id": 1,
        **CUSTOMER,
        "order_currency_code": "USD", "base_currency_code": "USD", "global_currency_code": "USD",
        "store_currency_code": "USD",
        "subtotal": float(subtotal), "base_subtotal": float(subtotal),
        "shipping_amount": float(shipping), "base_shipping_amount": float(shipping),
        "discount_amount": 0, "tax_amount": 0, "grand_total": grand_total, "base_grand_total": grand_total,
        "total_qty_ordered": sum(i["qty_ordered"] for i in top),
        "shipping_method": shipping_method,
        "items": items,
        "addresses": addresses,
        "payment": {"method": "braintree", "cc_type": "VI", "cc_last_4": "1111", "amount_ordered": grand_total,
                    "amount_authorized": grand_total, "last_trans_id": f"demo-{increment_id}"},
        **extra,
    }


def simple_order(increment_id: str = "000000101", qty: int = 2) -> dict[str, Any]:
    """Two mugs, shipped by UPS Ground."""
    return _order(increment_id, [_item(1, "DEMO-MUG", "Demo mug", qty, "12.50")],
                  shipping_method="ups_03", shipping="5.00")


def configurable_order(increment_id: str = "000000102") -> dict[str, Any]:
    """A configurable tee: the parent row carries the price, its child the chosen size's SKU."""
    return _order(increment_id, [
        _item(1, "TEE-M-BLUE", "Demo tee", 1, "25.00", product_type="configurable",
              product_options={"simple_sku": "TEE-M-BLUE"}),
        _item(2, "TEE-M-BLUE", "Demo tee M blue", 1, "0", parent=1),
    ], shipping_method="flatrate_flatrate", shipping="5.00")


def mugs_and_tee(increment_id: str, mugs: int) -> dict[str, Any]:
    """``mugs`` mugs at 12.50 and a configurable tee at 25.00 (parent row + child row), 5.00 shipping."""
    order = simple_order(increment_id, qty=mugs)
    tee = configurable_order()["items"]
    tee[0]["item_id"], tee[1]["item_id"], tee[1]["parent_item_id"] = "2", "3", "2"
    order["items"] += tee
    for name in ("subtotal", "base_subtotal", "grand_total", "base_grand_total"):
        order[name] += 25.0
    order["payment"]["amount_ordered"] = order["payment"]["amount_authorized"] = order["grand_total"]
    order["total_qty_ordered"] += 1
    return order


def pickup_order(increment_id: str = "000000103", reservation_id: str | None = "r-demo-103") -> dict[str, Any]:
    """A mug to collect at the Austin store, with the stock reservation made at checkout."""
    extra: dict[str, Any] = {"extension_attributes": {"pickup_location_code": PICKUP_STORE}}
    if reservation_id:
        extra["oms_reservation_id"] = reservation_id
    return _order(increment_id, [_item(1, "DEMO-MUG", "Demo mug", 1, "12.50")],
                  shipping_method="instore_pickup", shipping="0", **extra)


def place_order(sandbox: Sandbox, order: dict[str, Any]) -> dict[str, Any]:
    """Place ``order`` in the Commerce simulator, put its event on the bus and deliver until quiet
    (OrderExportFunction creates it in Sterling). Returns the CloudEvent Commerce published."""
    cloud_event: dict[str, Any] = sandbox.commerce.place_order(copy.deepcopy(order))
    sandbox.publish("adobe.commerce", cloud_event["type"], cloud_event)
    sandbox.deliver()
    return cloud_event


def place_and_release(sandbox: Sandbox, orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Place every order in Commerce, let the sandbox export them, then have Sterling schedule and
    release each (its agents' work) and deliver what that raises. Returns the releases, in order."""
    for order in orders:
        cloud_event = sandbox.commerce.place_order(copy.deepcopy(order))
        sandbox.publish("adobe.commerce", cloud_event["type"], cloud_event)
    sandbox.deliver()
    releases: list[dict[str, Any]] = []
    for order in orders:
        sandbox.sterling.schedule(order["increment_id"])
        releases += sandbox.sterling.release(order["increment_id"])
    sandbox.deliver()
    return releases
