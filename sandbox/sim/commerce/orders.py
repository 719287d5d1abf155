"""The two faces of a Commerce order and the rules of its state machine.

REST (``GET /V1/orders/{id}``) shows the ``sales-data-order-interface`` DTO: typed values,
``billing_address``, ``payment.cc_last4``, the shipping address under
``extension_attributes.shipping_assignments``. The I/O Events observer payload shows the order
model: DB field names, ``addresses`` with newline-separated streets, ``payment.cc_last_4``,
ids as strings, and no top-level ``entity_id`` (as in the published sample).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

DEFAULT_STATUS = {
    "new": "pending", "pending_payment": "pending_payment", "payment_review": "payment_review",
    "processing": "processing", "complete": "complete", "closed": "closed", "canceled": "canceled",
    "holded": "holded",
}

_ORDER_INT = frozenset({
    "store_id", "customer_is_guest", "customer_note_notify", "is_virtual", "total_item_count",
    "billing_address_id", "quote_id", "quote_address_id", "customer_id", "customer_group_id", "email_sent",
    "customer_gender", "edit_increment", "can_ship_partially", "forced_shipment_with_invoice",
})
_ORDER_NUMBER = frozenset({
    "base_discount_amount", "base_grand_total", "base_discount_tax_compensation_amount", "base_shipping_amount",
    "base_shipping_discount_amount", "base_shipping_discount_tax_compensation_amnt", "base_shipping_incl_tax",
    "base_shipping_tax_amount", "base_subtotal", "base_subtotal_incl_tax", "base_tax_amount",
    "base_to_global_rate", "base_to_order_rate", "base_total_due", "base_total_paid", "base_total_invoiced",
    "base_total_refunded", "base_total_canceled", "discount_amount", "grand_total",
    "discount_tax_compensation_amount", "shipping_amount", "shipping_discount_amount",
    "shipping_discount_tax_compensation_amount", "shipping_incl_tax", "shipping_tax_amount",
    "store_to_base_rate", "store_to_order_rate", "subtotal", "subtotal_incl_tax", "tax_amount",
    "total_qty_ordered", "total_due", "total_paid", "total_invoiced", "total_refunded", "total_canceled",
    "total_offline_refunded", "total_online_refunded", "weight",
})
_ORDER_TEXT = frozenset({
    "applied_rule_ids", "base_currency_code", "coupon_code", "created_at", "customer_dob", "customer_email",
    "customer_firstname", "customer_lastname", "customer_middlename", "customer_note", "customer_prefix",
    "customer_suffix", "customer_taxvat", "discount_description", "ext_order_id", "global_currency_code",
    "hold_before_state", "hold_before_status", "increment_id", "order_currency_code", "protect_code",
    "remote_ip", "shipping_description", "state", "status", "store_currency_code", "store_name",
    "updated_at", "x_forwarded_for",
})
_ITEM_INT = frozenset({
    "item_id", "order_id", "parent_item_id", "product_id", "quote_item_id", "store_id", "is_virtual",
    "is_qty_decimal", "free_shipping", "no_discount", "locked_do_invoice", "locked_do_ship",
})
_ITEM_NUMBER = frozenset({
    "qty_ordered", "qty_shipped", "qty_invoiced", "qty_canceled", "qty_refunded", "qty_backordered",
    "qty_returned", "price", "base_price", "original_price", "base_original_price", "price_incl_tax",
    "base_price_incl_tax", "row_total", "base_row_total", "row_total_incl_tax", "base_row_total_incl_tax",
    "row_weight", "weight", "tax_amount", "base_tax_amount", "tax_percent", "discount_amount",
    "base_discount_amount", "discount_percent", "discount_tax_compensation_amount",
    "base_discount_tax_compensation_amount", "amount_refunded", "base_amount_refunded", "row_invoiced",
    "base_row_invoiced", "tax_invoiced", "discount_invoiced",
})
_ITEM_TEXT = frozenset({
    "sku", "name", "product_type", "created_at", "updated_at", "applied_rule_ids", "description",
    "additional_data",
})
_ADDRESS_INT = frozenset({"entity_id", "parent_id", "region_id", "customer_address_id", "customer_id"})
_ADDRESS_TEXT = frozenset({
    "address_type", "city", "company", "country_id", "email", "fax", "firstname", "lastname", "middlename",
    "postcode", "prefix", "region", "region_code", "suffix", "telephone", "vat_id",
})
_PAYMENT_INT = frozenset({"entity_id", "parent_id"})
_PAYMENT_NUMBER = frozenset({
    "amount_ordered", "base_amount_ordered", "amount_authorized", "base_amount_authorized", "amount_paid",
    "base_amount_paid", "shipping_amount", "base_shipping_amount", "amount_refunded", "base_amount_refunded",
    "amount_canceled", "shipping_captured", "base_shipping_captured",
})
_PAYMENT_TEXT = frozenset({
    "method", "cc_type", "cc_exp_month", "cc_exp_year", "last_trans_id", "cc_trans_id", "cc_owner",
    "po_number", "cc_approval", "cc_status",
})
QTY_FIELDS = ("qty_ordered", "qty_shipped", "qty_invoiced", "qty_canceled", "qty_refunded")
# Header fields a REST change can move; copied into the observer model before each event.
_SYNCED = ("state", "status", "updated_at", "hold_before_state", "hold_before_status", "total_paid",
           "base_total_paid", "total_invoiced", "base_total_invoiced", "total_refunded", "base_total_refunded",
           "total_canceled", "base_total_canceled")


def now_text() -> str:
    """Commerce's own timestamp form (UTC)."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


def number(value: Any) -> int | float:
    result = float(value)
    return int(result) if result.is_integer() else result


def _typed(source: dict[str, Any], ints: Iterable[str], numbers: Iterable[str],
           texts: Iterable[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ints:
        if source.get(name) not in (None, ""):
            out[name] = int(float(source[name]))
    for name in numbers:
        if source.get(name) not in (None, ""):
            out[name] = number(source[name])
    for name in texts:
        if source.get(name) is not None:
            out[name] = str(source[name])
    return out


def _rest_address(address: dict[str, Any], entity_id: int, address_id: int) -> dict[str, Any]:
    out = _typed(address, _ADDRESS_INT, (), _ADDRESS_TEXT)
    street = address.get("street", "")
    out["street"] = street if isinstance(street, list) else [line for line in str(street).split("\n") if line]
    out["entity_id"] = address_id
    out["parent_id"] = entity_id
    return out


def _rest_payment(payment: dict[str, Any], entity_id: int) -> dict[str, Any]:
    out = _typed(payment, (), _PAYMENT_NUMBER, _PAYMENT_TEXT)
    last4 = payment.get("cc_last4") or payment.get("cc_last_4")
    info = payment.get("additional_information") or []
    out.update({
        "entity_id": entity_id,
        "parent_id": entity_id,
        # Commerce renders these two getters even when unset (as null).
        "account_status": None,
        "cc_last4": str(last4)[-4:] if last4 else None,
        "additional_information": [str(v) for v in (info.values() if isinstance(info, dict) else info)],
    })
    return out


def from_observer(model: dict[str, Any], entity_id: int, next_id: Callable[[str], int]
                  ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Place an order given in observer form: (the REST DTO, the observer model with ids assigned).

    ``next_id(kind)`` hands out ids for ``item`` and ``address``; item ids in the input are
    replaced and ``parent_item_id`` references follow them.
    """
    stamp = now_text()
    view = copy.deepcopy(model)
    view.setdefault("state", "new")
    view.setdefault("status", DEFAULT_STATUS.get(view["state"], view["state"]))
    view.setdefault("created_at", stamp)
    view.setdefault("updated_at", stamp)
    view.setdefault("increment_id", f"{entity_id:09d}")
    view.pop("entity_id", None)

    renumbered: dict[str, int] = {}
    for item in view.get("items", []):
        new_id = next_id("item")
        renumbered[str(item.get("item_id", item.get("id", new_id)))] = new_id
        item["item_id"] = item["id"] = str(new_id)
        item["order_id"] = str(entity_id)
        for qty in QTY_FIELDS[1:]:
            item.setdefault(qty, 0)
    for item in view.get("items", []):
        parent = item.get("parent_item_id")
        if parent not in (None, ""):
            item["parent_item_id"] = str(renumbered.get(str(parent), parent))
    for address in view.get("addresses", []):
        address_id = next_id("address")
        address["entity_id"] = address["id"] = str(address_id)
        address["parent_id"] = str(entity_id)
    if isinstance(view.get("payment"), dict):
        view["payment"].update({"entity_id": str(entity_id), "id": str(entity_id), "parent_id": str(entity_id)})

    order = _typed(view, _ORDER_INT, _ORDER_NUMBER, _ORDER_TEXT)
    order["entity_id"] = entity_id
    order["items"] = [_typed(item, _ITEM_INT, _ITEM_NUMBER, _ITEM_TEXT) for item in view.get("items", [])]
    order.setdefault("total_qty_ordered", number(sum(float(i.get("qty_ordered", 0)) for i in order["items"])))
    addresses = {a.get("address_type"): a for a in view.get("addresses", [])}
    if "billing" in addresses:
        billing = addresses["billing"]
        order["billing_address"] = _rest_address(billing, entity_id, int(billing["entity_id"]))
        order["billing_address_id"] = int(billing["entity_id"])
    if isinstance(view.get("payment"), dict):
        order["payment"] = _rest_payment(view["payment"], entity_id)
    order["status_histories"] = []
    extension: dict[str, Any] = {}
    if "shipping" in addresses or view.get("shipping_method"):
        shipping: dict[str, Any] = {"method": view.get("shipping_method", "")}
        if "shipping" in addresses:
            address = addresses["shipping"]
            shipping["address"] = _rest_address(address, entity_id, int(address["entity_id"]))
        extension["shipping_assignments"] = [{"shipping": shipping, "items": copy.deepcopy(order["items"])}]
    pickup = view.get("pickup_location_code") or (view.get("extension_attributes") or {}).get(
        "pickup_location_code")
    if pickup:
        extension["pickup_location_code"] = str(pickup)
    if extension:
        order["extension_attributes"] = extension
    return order, view


def normalise(order: dict[str, Any], entity_id: int, next_id: Callable[[str], int]) -> dict[str, Any]:
    """A seeded REST order with what Commerce would always show filled in."""
    out = copy.deepcopy(order)
    stamp = now_text()
    out["entity_id"] = entity_id
    out.setdefault("increment_id", f"{entity_id:09d}")
    out.setdefault("state", "new")
    out.setdefault("status", DEFAULT_STATUS.get(out["state"], out["state"]))
    out.setdefault("created_at", stamp)
    out.setdefault("updated_at", stamp)
    out.setdefault("status_histories", [])
    out.setdefault("items", [])
    for item in out["items"]:
        item["item_id"] = int(item["item_id"]) if "item_id" in item else next_id("item")
        item["order_id"] = entity_id
        for qty in QTY_FIELDS:
            item.setdefault(qty, 0)
    return out


def observer_view(order: dict[str, Any]) -> dict[str, Any]:
    """The observer payload for an order that only exists in REST form (a seeded one)."""
    skip = {"entity_id", "items", "billing_address", "payment", "extension_attributes", "status_histories"}
    view = {k: copy.deepcopy(v) for k, v in order.items() if k not in skip}
    entity = str(order["entity_id"])
    view["items"] = []
    for item in order.get("items", []):
        row = copy.deepcopy(item)
        for name in ("item_id", "order_id", "product_id", "parent_item_id", "quote_item_id"):
            if row.get(name) is not None:
                row[name] = str(row[name])
        row["id"] = row["item_id"]
        view["items"].append(row)
    addresses = []
    shipping = ((order.get("extension_attributes") or {}).get("shipping_assignments") or [{}])[0].get(
        "shipping") or {}
    for address in (order.get("billing_address"), shipping.get("address")):
        if address:
            row = {k: v for k, v in address.items() if k != "street"}
            row["street"] = "\n".join(address.get("street") or [])
            row["parent_id"] = entity
            if row.get("entity_id") is not None:
                row["entity_id"] = row["id"] = str(row["entity_id"])
            addresses.append(row)
    view["addresses"] = addresses
    if shipping.get("method"):
        view["shipping_method"] = shipping["method"]
    if order.get("payment"):
        payment = {k: v for k, v in order["payment"].items() if k not in ("cc_last4", "account_status")}
        payment["cc_last_4"] = order["payment"].get("cc_last4")
        payment.update({"entity_id": entity, "id": entity, "parent_id": entity})
        view["payment"] = payment
    return view


def refreshed(model: dict[str, Any], order: dict[str, Any]) -> dict[str, Any]:
    """The observer model after REST changes: header state, item quantities, status history."""
    view = copy.deepcopy(model)
    for name in _SYNCED:
        if order.get(name) is not None:
            view[name] = order[name]
        else:
            view.pop(name, None)
    quantities = {str(item["item_id"]): item for item in order.get("items", [])}
    for item in view.get("items", []):
        current = quantities.get(str(item.get("item_id")))
        if current is not None:
            for qty in QTY_FIELDS[1:]:
                item[qty] = current.get(qty, 0)
    if order.get("status_histories"):
        view["status_histories"] = copy.deepcopy(order["status_histories"])
    return view


# -- state machine (Magento\Sales\Model\Order::canHold / canUnhold / canCancel / canShip / ...) --

def is_dummy(item: dict[str, Any]) -> bool:
    """A child row (configurable / bundle shipped together): its parent row is what is fulfilled."""
    return item.get("parent_item_id") not in (None, "", 0)


def qty_to_ship(item: dict[str, Any], order: dict[str, Any]) -> float:
    if is_dummy(item) or item.get("is_virtual") or item.get("product_type") in ("virtual", "downloadable"):
        return 0.0
    return max(0.0, float(item["qty_ordered"]) - float(item["qty_shipped"]) - float(item["qty_refunded"])
               - float(item["qty_canceled"]))


def qty_to_invoice(item: dict[str, Any], order: dict[str, Any]) -> float:
    if is_dummy(item):
        return 0.0
    return max(0.0, float(item["qty_ordered"]) - float(item["qty_invoiced"]) - float(item["qty_canceled"]))


def qty_to_refund(item: dict[str, Any]) -> float:
    return max(0.0, float(item["qty_invoiced"]) - float(item["qty_refunded"]))


def can_hold(order: dict[str, Any]) -> bool:
    return order["state"] not in ("canceled", "payment_review", "complete", "closed", "holded")


def can_unhold(order: dict[str, Any]) -> bool:
    return order["state"] == "holded"


def can_cancel(order: dict[str, Any]) -> bool:
    if order["state"] in ("holded", "payment_review", "canceled", "complete", "closed"):
        return False
    # Fully invoiced orders are refunded, not cancelled.
    return any(qty_to_invoice(item, order) > 0 for item in order["items"])


def can_ship(order: dict[str, Any]) -> bool:
    if order["state"] in ("holded", "payment_review", "canceled", "complete", "closed"):
        return False
    return any(qty_to_ship(item, order) > 0 for item in order["items"])


def can_invoice(order: dict[str, Any]) -> bool:
    if order["state"] in ("holded", "payment_review", "canceled", "complete", "closed"):
        return False
    return any(qty_to_invoice(item, order) > 0 for item in order["items"])


def set_state(order: dict[str, Any], state: str) -> None:
    order["state"] = state
    order["status"] = DEFAULT_STATUS[state]


def settle(order: dict[str, Any]) -> None:
    """After a shipment, invoice or refund: processing, complete, or closed (Order::_checkState)."""
    if order["state"] in ("holded", "payment_review", "canceled"):
        return
    items = [item for item in order["items"] if not is_dummy(item)]
    open_qty = sum(float(i["qty_ordered"]) - float(i["qty_canceled"]) for i in items)
    refunded = sum(float(i["qty_refunded"]) for i in items)
    if open_qty > 0 and refunded >= open_qty:
        set_state(order, "closed")
    elif not any(qty_to_ship(i, order) > 0 or qty_to_invoice(i, order) > 0 for i in items):
        set_state(order, "complete")
    else:
        set_state(order, "processing")


def follow_parent(order: dict[str, Any], parent: dict[str, Any], field: str, qty: float) -> None:
    """Children of a fulfilled parent row move with it, in their ratio to the parent."""
    ordered = float(parent["qty_ordered"]) or 1.0
    for child in order["items"]:
        if str(child.get("parent_item_id")) == str(parent["item_id"]):
            child[field] = number(float(child[field]) + qty * float(child["qty_ordered"]) / ordered)
