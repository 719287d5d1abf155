"""Commerce order → Sterling ``createOrder`` input, and the ``changeOrder`` documents for
Commerce-side cancel / hold / unhold.

The input is the order model an I/O event carries in ``data.value`` (observer field names:
``items``, ``addresses``, ``payment``, ``cc_last_4``; numbers sometimes as strings). Pure: data in,
documents out. What cannot be mapped never drops the order: it comes back in ``warnings`` for the
flow to log and count.

Money: amounts are in the order currency (what the customer pays, ``price`` not ``base_price``);
only the hold threshold compares ``base_grand_total``, since ``ORDER_HOLD_AMOUNT`` is one figure in
the base currency whatever the order's currency.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

import pydantic
from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field

from omsbridge import timeutil
from omsbridge.errors import ValidationError
from omsbridge.mapping.ids import node_for_source
from omsbridge.mapping.tables import table
from omsbridge.state import OrderLineRef

SALES_ORDER = "0001"
HOLD_ACTIVE = "1100"
HOLD_RESOLVED = "1300"
ADDRESS_LINES = 6  # Sterling PersonInfo has AddressLine1..AddressLine6

Change = Literal["cancel", "hold", "unhold"]


def _decimal(value: Any) -> Decimal:
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, bool):
        raise ValueError("expected a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"expected a number, got {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"expected a finite number, got {value!r}")
    return number


def _optional_decimal(value: Any) -> Decimal | None:
    return None if value is None or value == "" else _decimal(value)


def _id(value: Any) -> Any:
    return None if value in ("", None) else value


def _object(value: Any) -> Any:
    # PHP serialises an empty associative array as ``[]``.
    return {} if value in (None, []) else value


Amount = Annotated[Decimal, BeforeValidator(_decimal)]
OptionalAmount = Annotated[Decimal | None, BeforeValidator(_optional_decimal)]
Id = Annotated[int | None, BeforeValidator(_id)]
Extras = Annotated[dict[str, Any], BeforeValidator(_object)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)


class CommerceItem(_Model):
    item_id: Id = None
    order_id: Id = None
    parent_item_id: Id = None
    sku: str = Field(min_length=1)
    name: str = ""
    product_type: str = "simple"
    qty_ordered: Amount = Field(gt=0)
    price: Amount = Decimal(0)
    discount_amount: Amount = Decimal(0)
    tax_amount: Amount = Decimal(0)
    tax_percent: Amount = Decimal(0)
    product_options: Any = None

    def option(self, name: str) -> Any:
        options = self.product_options
        if isinstance(options, str):
            try:
                options = json.loads(options)
            except ValueError:
                return None
        return options.get(name) if isinstance(options, dict) else None


class CommerceAddress(_Model):
    address_type: str
    parent_id: Id = None
    firstname: str = ""
    middlename: str | None = None
    lastname: str = ""
    company: str | None = None
    street: str | list[str] = ""
    city: str = ""
    region: str | None = None
    region_code: str | None = None
    postcode: str | None = None
    country_id: str = ""
    telephone: str | None = None
    email: str | None = None


class CommercePayment(_Model):
    method: str = Field(min_length=1)
    parent_id: Id = None
    cc_type: str | None = None
    cc_last_4: str | None = Field(default=None, validation_alias=AliasChoices("cc_last_4", "cc_last4"))
    amount_ordered: Amount = Decimal(0)
    amount_authorized: Amount = Decimal(0)
    amount_paid: Amount = Decimal(0)
    last_trans_id: str | None = None
    cc_trans_id: str | None = None


class CommerceOrder(_Model):
    increment_id: str = Field(min_length=1)
    entity_id: Id = None
    state: str = ""
    status: str = ""
    store_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    order_currency_code: str = Field(min_length=3)
    base_currency_code: str | None = None
    grand_total: Amount = Decimal(0)
    base_grand_total: OptionalAmount = None
    shipping_method: str | None = None
    shipping_amount: Amount = Decimal(0)
    discount_amount: Amount = Decimal(0)
    tax_amount: Amount = Decimal(0)
    customer_email: str | None = None
    customer_id: Id = None
    customer_is_guest: bool | None = None
    customer_firstname: str | None = None
    customer_lastname: str | None = None
    items: list[CommerceItem] = Field(min_length=1)
    addresses: list[CommerceAddress] = Field(default_factory=list)
    payment: CommercePayment | None = None
    status_histories: list[dict[str, Any]] = Field(default_factory=list)
    extension_attributes: Extras = Field(default_factory=dict)

    def attribute(self, name: str) -> Any:
        """A field Commerce may deliver at the top level or under ``extension_attributes``."""
        value = (self.model_extra or {}).get(name)
        return value if value not in (None, "") else self.extension_attributes.get(name) or None

    def order_entity_id(self) -> int | None:
        """The order's database id. The observer payload may lack a top-level ``entity_id``; its
        items carry it as ``order_id``, addresses and payment as ``parent_id``."""
        candidates = [self.entity_id, *(i.order_id for i in self.items), *(a.parent_id for a in self.addresses)]
        if self.payment is not None:
            candidates.append(self.payment.parent_id)
        return next((c for c in candidates if c is not None), None)

    def address(self, kind: str) -> CommerceAddress | None:
        return next((a for a in self.addresses if a.address_type == kind), None)

    @property
    def is_guest(self) -> bool:
        return bool(self.customer_is_guest) or self.customer_id is None


def from_rest(order: Mapping[str, Any]) -> dict[str, Any]:
    """An order as ``GET /V1/orders/{id}`` shows it (``sales-data-order-interface``), in the observer
    model's field names the events carry: ``billing_address`` and the first shipping assignment's
    address become ``addresses``, the assignment's method ``shipping_method``."""
    value = {key: item for key, item in order.items() if key != "billing_address"}
    addresses: list[dict[str, Any]] = []
    billing = order.get("billing_address")
    if isinstance(billing, Mapping):
        addresses.append({**billing, "address_type": "billing"})
    extension = order.get("extension_attributes")
    assignments = extension.get("shipping_assignments") if isinstance(extension, Mapping) else None
    first = assignments[0] if isinstance(assignments, list) and assignments else None
    shipping = first.get("shipping") if isinstance(first, Mapping) else None
    if isinstance(shipping, Mapping):
        if isinstance(shipping.get("address"), Mapping):
            addresses.append({**shipping["address"], "address_type": "shipping"})
        if shipping.get("method") and not value.get("shipping_method"):
            value["shipping_method"] = shipping["method"]
    value["addresses"] = addresses
    return value


def parse_order(value: dict[str, Any]) -> CommerceOrder:
    """Validate the order model of an event; a bad one is a ``ValidationError`` naming the field."""
    try:
        return CommerceOrder.model_validate(value)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "order"
        number = value.get("increment_id") if isinstance(value, dict) else None
        raise ValidationError(f"order {number or '?'} is not exportable: {where}: {first['msg']}") from exc


@dataclass(frozen=True)
class ExportedOrder:
    """The createOrder input and what the state table keeps about it."""

    body: dict[str, Any]
    lines: list[OrderLineRef]
    payment: dict[str, Any]
    hold_types: list[str]
    warnings: list[str] = field(default_factory=list)


def num(value: Decimal) -> int | float:
    """A JSON number: integral values without a fraction (``1``, not ``1.0000``)."""
    return int(value) if value == value.to_integral_value() else float(value)


def settings() -> dict[str, Any]:
    return table("order_settings")


def create_order_input(
    order: CommerceOrder,
    *,
    enterprise_code: str,
    hold_amount: Decimal | None,
    product_class: str,
    payment_type_fallback: str = "",
    fallback_date: str | None = None,
    regions: Mapping[str, Mapping[str, str]] | None = None,
    seller_organization_code: str = "",
    currency: str = "",
) -> ExportedOrder:
    """Map ``order`` to Sterling's createOrder input, its items in ``product_class``.
    ``payment_type_fallback`` is the PaymentType of a payment method the ``payment_types`` table
    does not map; without one such an order is a ``ValidationError``. ``fallback_date`` (the event
    time) stands in for ``created_at``, which ``sales_order_place_after`` fires before Commerce sets.
    ``regions`` (country → region name → code, Commerce's directory) gives the code of an address
    that names its region only (events of Commerce 2.4.5 carry no ``region_code``); a region it has
    no code for is sent as its name, with a warning. Without ``regions`` names are sent as they are.
    ``seller_organization_code`` (the website's) wins over the table's; ``currency`` is the one the
    enterprise takes: an order in another is sent as charged, with a warning."""
    conf = settings()
    warnings: list[str] = []
    if regions is not None:
        order = _with_region_codes(order, regions, warnings)
    pickup = _pickup(order, conf)
    lines, refs = _lines(order, pickup, conf, product_class)
    order_date = order.created_at or fallback_date
    if not order_date:
        raise ValidationError(f"order {order.increment_id} is not exportable: created_at: Field required")

    body: dict[str, Any] = {
        "EnterpriseCode": enterprise_code,
        "SellerOrganizationCode": seller_organization_code or conf["seller_organization_code"] or enterprise_code,
        "DocumentType": SALES_ORDER,
        "OrderNo": order.increment_id,
        "EntryType": _entry_type(order, conf),
        "OrderDate": sterling_date(order_date),
        "DraftOrderFlag": "N",
        "PriceInfo": {"Currency": order.order_currency_code},
        **_customer(order),
    }
    if currency and order.order_currency_code.upper() != currency.upper():
        warnings.append(f"order in {order.order_currency_code} for enterprise {enterprise_code}, which takes "
                        f"{currency}: sent in {order.order_currency_code}")
    carrier = _carrier(order, warnings)
    body.update(carrier)
    holds = _holds(order, hold_amount, conf)
    if holds:
        body["OrderHoldTypes"] = {"OrderHoldType": holds}
    email = order.customer_email
    bill_to = order.address("billing")
    ship_to = order.address("shipping") or bill_to
    if ship_to is not None:
        body["PersonInfoShipTo"] = person_info(ship_to, email)
    if bill_to is not None:
        body["PersonInfoBillTo"] = person_info(bill_to, email)
    body["OrderLines"] = {"OrderLine": lines}
    charges, taxes = _header_money(order, lines, conf)
    if charges:
        body["HeaderCharges"] = {"HeaderCharge": charges}
    if taxes:
        body["HeaderTaxes"] = {"HeaderTax": taxes}
    payment_method, payment_state = _payment(order, warnings, payment_type_fallback)
    if payment_method:
        body["PaymentMethods"] = {"PaymentMethod": [payment_method]}
    return ExportedOrder(
        body=body, lines=refs, payment=payment_state,
        hold_types=[hold["HoldType"] for hold in holds], warnings=warnings,
    )


def sterling_date(value: str) -> str:
    """Commerce ``2023-08-16 08:40:19`` (UTC) → Sterling ``2023-08-16T08:40:19+00:00``."""
    return timeutil.parse(value).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _entry_type(order: CommerceOrder, conf: dict[str, Any]) -> str:
    by_store: dict[str, str] = conf["entry_types"]
    return by_store.get(str(order.store_id), by_store["default"])


def _customer(order: CommerceOrder) -> dict[str, Any]:
    customer: dict[str, Any] = {}
    if not order.is_guest:
        customer["BillToID"] = str(order.customer_id)
    if order.customer_email:
        customer["CustomerEMailID"] = order.customer_email
    if order.customer_firstname:
        customer["CustomerFirstName"] = order.customer_firstname
    if order.customer_lastname:
        customer["CustomerLastName"] = order.customer_lastname
    return customer


def _carrier(order: CommerceOrder, warnings: list[str]) -> dict[str, str]:
    method = order.shipping_method or ""
    methods = table("shipping_methods")
    if method not in methods:
        warnings.append(f"shipping method {method!r} has no SCAC mapping: exported without a carrier")
        return {}
    row = methods[method]
    if not row:  # a method without a carrier (flat rate, pickup): known, nothing to send
        return {}
    return {"SCAC": row["SCAC"], "CarrierServiceCode": row["CarrierServiceCode"]}


def _holds(order: CommerceOrder, hold_amount: Decimal | None, conf: dict[str, Any]) -> list[dict[str, str]]:
    holds: list[dict[str, str]] = []
    total = order.base_grand_total if order.base_grand_total is not None else order.grand_total
    if hold_amount is not None and total > hold_amount:
        currency = order.base_currency_code or order.order_currency_code
        reason = conf["amount_hold_reason"].format(total=total, currency=currency, limit=hold_amount)
        holds.append({"HoldType": conf["amount_hold_type"], "ReasonText": reason, "Status": HOLD_ACTIVE})
    if order.state == "holded":
        holds.append({"HoldType": conf["commerce_hold_type"], "ReasonText": conf["commerce_hold_reason"],
                      "Status": HOLD_ACTIVE})
    return holds


def regions_to_resolve(order: CommerceOrder) -> set[str]:
    """The countries whose directory the order's addresses need: a region named without its code."""
    return {address.country_id.strip().upper() for address in order.addresses if _names_region_only(address)}


def _names_region_only(address: CommerceAddress) -> bool:
    return bool((address.region or "").strip() and not (address.region_code or "").strip()
                and address.country_id.strip())


def region_code(name: str, codes: Mapping[str, str]) -> str | None:
    """The code of region ``name`` (as Commerce names it, case and spacing aside, or its code already)."""
    wanted = " ".join(name.split()).casefold()
    for region, code in codes.items():
        if wanted in (" ".join(region.split()).casefold(), code.casefold()):
            return code
    return None


def _with_region_codes(order: CommerceOrder, regions: Mapping[str, Mapping[str, str]],
                       warnings: list[str]) -> CommerceOrder:
    def resolved(address: CommerceAddress) -> CommerceAddress:
        if not _names_region_only(address):
            return address
        name, country = str(address.region).strip(), address.country_id.strip().upper()
        code = region_code(name, regions.get(country, {}))
        if code is None:
            warnings.append(f"{address.address_type} region {name[:64]!r} of {country} has no code in Commerce's "
                            "directory: sent as its name")
            return address
        return address.model_copy(update={"region_code": code})

    return order.model_copy(update={"addresses": [resolved(address) for address in order.addresses]})


def person_info(address: CommerceAddress, email: str | None) -> dict[str, str]:
    street = address.street if isinstance(address.street, list) else address.street.split("\n")
    parts = [part.strip() for part in street if part.strip()]
    # Sterling has six address lines; anything beyond stays on the last one rather than being lost.
    if len(parts) > ADDRESS_LINES:
        parts = [*parts[:ADDRESS_LINES - 1], ", ".join(parts[ADDRESS_LINES - 1:])]
    info = {
        "FirstName": address.firstname,
        "MiddleName": address.middlename or "",
        "LastName": address.lastname,
        "Company": address.company or "",
        **{f"AddressLine{n}": part for n, part in enumerate(parts, start=1)},
        "City": address.city,
        "State": address.region_code or address.region or "",
        "ZipCode": address.postcode or "",
        "Country": address.country_id,
        "DayPhone": address.telephone or "",
        "EMailID": email or address.email or "",
    }
    return {key: value for key, value in info.items() if value}


@dataclass(frozen=True)
class _Pickup:
    node: str
    reservation_id: str | None


def _pickup(order: CommerceOrder, conf: dict[str, Any]) -> _Pickup | None:
    if order.shipping_method not in conf["pickup_shipping_methods"]:
        return None
    source = order.attribute("pickup_location_code")
    if not source:
        raise ValidationError(
            f"order {order.increment_id} is an in-store pickup without pickup_location_code: "
            "no store to send it to")
    reservation = order.attribute("oms_reservation_id")
    return _Pickup(node=node_for_source(str(source)), reservation_id=str(reservation) if reservation else None)


@dataclass
class _Group:
    item: CommerceItem
    children: list[CommerceItem] = field(default_factory=list)


def _groups(items: list[CommerceItem]) -> list[_Group]:
    """Top-level items with their children (configurable and bundle parents).

    Children point at their parent with ``parent_item_id``. ``sales_order_place_after`` fires
    before Commerce assigns ids, so an item without ids is linked by position: a configurable's
    child follows it with the same SKU, a bundle's children follow it with their selection data.
    """
    groups: list[_Group] = []
    by_id: dict[int, _Group] = {}
    open_parent: _Group | None = None
    for item in items:
        parent = by_id.get(item.parent_item_id) if item.parent_item_id is not None else None
        if parent is None and item.item_id is None and open_parent is not None and _follows(open_parent, item):
            parent = open_parent
        if parent is not None:
            parent.children.append(item)
            continue
        group = _Group(item)
        groups.append(group)
        if item.item_id is not None:
            by_id[item.item_id] = group
        open_parent = group if item.product_type in ("configurable", "bundle") else None
    return groups


def _follows(parent: _Group, item: CommerceItem) -> bool:
    if parent.item.product_type == "configurable":
        return not parent.children and item.sku == parent.item.sku
    return item.option("bundle_selection_attributes") is not None


@dataclass(frozen=True)
class _Money:
    price: Decimal
    discount: Decimal
    tax: Decimal
    tax_percent: Decimal

    @classmethod
    def of(cls, item: CommerceItem) -> _Money:
        return cls(item.price, item.discount_amount, item.tax_amount, item.tax_percent)


NO_MONEY = _Money(Decimal(0), Decimal(0), Decimal(0), Decimal(0))


def _lines(
    order: CommerceOrder, pickup: _Pickup | None, conf: dict[str, Any], product_class: str,
) -> tuple[list[dict[str, Any]], list[OrderLineRef]]:
    lines: list[dict[str, Any]] = []
    refs: list[OrderLineRef] = []

    def add(item: CommerceItem, *, sku: str, money: _Money, ref: OrderLineRef,
            bundle_parent: int | None = None, kit_qty: Decimal | None = None, kit: bool = False) -> int:
        prime = len(lines) + 1
        line = _line(prime, item, sku, money, pickup, conf, product_class)
        if kit:
            line["KitCode"] = "BUNDLE"
        if bundle_parent is not None:
            line["BundleParentLine"] = {"PrimeLineNo": bundle_parent, "SubLineNo": 1}
        if kit_qty is not None:
            line["KitQty"] = num(kit_qty)
        lines.append(line)
        refs.append(ref.model_copy(update={"prime_line_no": prime}))
        return prime

    for group in _groups(order.items):
        item = group.item
        if item.product_type == "configurable":
            # One Sterling line: the simple child's SKU at the parent's price (the parent row
            # carries price, discount and tax; the child row carries the SKU).
            child = group.children[0] if group.children else None
            sku = child.sku if child is not None else str(item.option("simple_sku") or item.sku)
            add(item, sku=sku, money=_Money.of(item), ref=_ref(item, sku, child_item_id=_item_id(child)))
        elif item.product_type == "bundle":
            by_children = _priced_by_children(item, group.children)
            parent = add(item, sku=item.sku, money=NO_MONEY if by_children else _Money.of(item),
                         ref=_ref(item, item.sku), kit=True)
            for child in group.children:
                add(child, sku=child.sku, money=_Money.of(child) if by_children else NO_MONEY,
                    ref=_ref(child, child.sku, parent_item_id=item.item_id),
                    bundle_parent=parent, kit_qty=child.qty_ordered / item.qty_ordered)
        else:
            add(item, sku=item.sku, money=_Money.of(item), ref=_ref(item, item.sku))
            for child in group.children:  # children of a parent type we do not model: never dropped
                add(child, sku=child.sku, money=_Money.of(child), ref=_ref(child, child.sku))
    return lines, refs


def line_refs(order: CommerceOrder) -> list[OrderLineRef]:
    """The line map alone (PrimeLineNo ↔ order_item_id ↔ sku), for ids Commerce assigns after the
    event that exported the order."""
    return _lines(order, None, settings(), "")[1]


def _item_id(item: CommerceItem | None) -> int | None:
    return item.item_id if item is not None else None


def _ref(item: CommerceItem, sku: str, *, parent_item_id: int | None = None,
         child_item_id: int | None = None) -> OrderLineRef:
    return OrderLineRef(prime_line_no=0, order_item_id=item.item_id, sku=sku, parent_item_id=parent_item_id,
                        qty=float(item.qty_ordered), child_item_id=child_item_id)


def _priced_by_children(parent: CommerceItem, children: list[CommerceItem]) -> bool:
    """A dynamic-price bundle prices its children (and its parent row repeats their sum); a
    fixed-price bundle prices the parent. Exactly one side carries money, so nothing counts twice."""
    calculation = parent.option("product_calculations")
    if calculation is not None:
        return str(calculation) == "0"  # Commerce: 0 = calculate children, 1 = calculate parent
    return any(child.price > 0 for child in children)


def _line(prime: int, item: CommerceItem, sku: str, money: _Money, pickup: _Pickup | None,
          conf: dict[str, Any], product_class: str) -> dict[str, Any]:
    line: dict[str, Any] = {
        "PrimeLineNo": prime,
        "SubLineNo": 1,
        "OrderedQty": num(item.qty_ordered),
        "DeliveryMethod": "PICK" if pickup else "SHP",
    }
    if pickup:
        line["ShipNode"] = pickup.node
    if item.item_id is not None:
        line["CustomerLinePONo"] = str(item.item_id)
    line["Item"] = {"ItemID": sku, "UnitOfMeasure": conf["unit_of_measure"], "ProductClass": product_class}
    if item.name:
        line["Item"]["ItemShortDesc"] = item.name
    line["LinePriceInfo"] = {"UnitPrice": num(money.price), "IsPriceLocked": "Y"}
    if money.discount:
        line["LineCharges"] = {"LineCharge": [
            {"ChargeCategory": "Discount", "ChargeName": "Discount", "ChargePerLine": num(money.discount)}]}
    if money.tax:
        line["LineTaxes"] = {"LineTax": [{
            "ChargeCategory": "Price", "TaxName": conf["tax_name"], "Tax": num(money.tax),
            "TaxPercentage": num(money.tax_percent)}]}
    if pickup and pickup.reservation_id:
        line["OrderLineReservations"] = {"OrderLineReservation": [{
            "ItemID": sku, "Node": pickup.node, "Quantity": num(item.qty_ordered),
            "ReservationID": pickup.reservation_id, "UnitOfMeasure": conf["unit_of_measure"]}]}
    return line


def _header_money(order: CommerceOrder, lines: list[dict[str, Any]],
                  conf: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Shipping, plus the discount and tax the lines do not carry (in Commerce: the shipping
    discount and shipping tax), so that Sterling's total equals Commerce's grand total."""
    line_discount = sum((_line_amount(line, "LineCharges", "LineCharge", "ChargePerLine") for line in lines),
                        Decimal(0))
    line_tax = sum((_line_amount(line, "LineTaxes", "LineTax", "Tax") for line in lines), Decimal(0))
    charges: list[dict[str, Any]] = []
    if order.shipping_amount:
        charges.append({"ChargeCategory": "Shipping", "ChargeName": "Shipping",
                        "ChargeAmount": num(order.shipping_amount)})
    discount = abs(order.discount_amount) - line_discount
    if discount > 0:
        charges.append({"ChargeCategory": "Discount", "ChargeName": "Discount", "ChargeAmount": num(discount)})
    taxes: list[dict[str, Any]] = []
    tax = order.tax_amount - line_tax
    if tax > 0:
        taxes.append({"TaxName": conf["tax_name"], "Tax": num(tax)})
    return charges, taxes


def _line_amount(line: dict[str, Any], outer: str, inner: str, key: str) -> Decimal:
    entries = line.get(outer, {}).get(inner, [])
    return sum((Decimal(str(entry[key])) for entry in entries), Decimal(0))


def last_four(value: str | None) -> str | None:
    """At most the last four digits of a card number, whatever form Commerce stored it in."""
    digits = re.sub(r"\D", "", value or "")
    return digits[-4:] or None


def _payment(order: CommerceOrder, warnings: list[str],
             fallback: str) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    payment = order.payment
    if payment is None:
        return None, {}
    # A tenant refuses a PaymentType its seller has not set up (YFS10491): only the table's types,
    # or the one the SI named as the fallback, are sent.
    payment_type = table("payment_types").get(payment.method)
    if payment_type is None:
        if not fallback:
            raise ValidationError(
                f"order {order.increment_id}: payment method {payment.method!r} has no PaymentType in the "
                "payment_types table and STERLING_PAYMENT_TYPE_FALLBACK is not set", system="mapping",
                code="unmapped_payment_method")
        warnings.append(f"payment method {payment.method!r} has no PaymentType mapping: sent as {fallback} "
                        "(STERLING_PAYMENT_TYPE_FALLBACK)")
        payment_type = fallback
    method: dict[str, Any] = {"PaymentType": payment_type, "PaymentReference1": payment.method}
    # Card data stops at the last four digits: no number, no expiry, no additional_information.
    digits = last_four(payment.cc_last_4)
    if digits:
        method["DisplayCreditCardNo"] = digits
        if payment.cc_type:
            card_types: dict[str, str] = settings()["card_types"]
            if payment.cc_type not in card_types:
                warnings.append(f"card type {payment.cc_type!r} has no mapping: sent as is")
            method["CreditCardType"] = card_types.get(payment.cc_type, payment.cc_type)
    method["UnlimitedCharges"] = "N"
    method["MaxChargeLimit"] = num(payment.amount_ordered)
    reference = payment.last_trans_id or payment.cc_trans_id
    details: list[dict[str, Any]] = []
    for charge_type, amount in (("AUTHORIZATION", payment.amount_authorized), ("CHARGE", payment.amount_paid)):
        if amount > 0:
            detail: dict[str, Any] = {"ChargeType": charge_type, "RequestAmount": num(amount),
                                      "ProcessedAmount": num(amount)}
            if reference:
                detail["AuthorizationID"] = reference
            details.append(detail)
    if details:
        method["PaymentDetailsList"] = {"PaymentDetails": details}
    state = {
        "method": payment.method,
        "payment_type": payment_type,
        "amount_ordered": num(payment.amount_ordered),
        "authorized": num(payment.amount_authorized),
        "captured": num(payment.amount_paid),
        "transaction_id": reference,
    }
    return method, state


# -- Commerce-side changes of an exported order ---------------------------------------------------


def change_for(synced_state: str | None, state: str) -> Change | None:
    """The Sterling change a Commerce state change asks for, given the state Sterling reflects."""
    if state == synced_state:
        return None
    if state == "canceled":
        return "cancel"
    if state == "holded":
        return "hold"
    if synced_state == "holded":
        return "unhold"
    return None


def _order_key(order_no: str, enterprise_code: str) -> dict[str, str]:
    return {"OrderNo": order_no, "EnterpriseCode": enterprise_code, "DocumentType": SALES_ORDER}


def cancel_input(order_no: str, enterprise_code: str) -> dict[str, Any]:
    return {**_order_key(order_no, enterprise_code), "Action": "CANCEL",
            "ModificationReasonText": settings()["cancel_reason_text"]}


def hold_input(order_no: str, enterprise_code: str) -> dict[str, Any]:
    conf = settings()
    return {**_order_key(order_no, enterprise_code), "OrderHoldTypes": {"OrderHoldType": [
        {"HoldType": conf["commerce_hold_type"], "ReasonText": conf["commerce_hold_reason"],
         "Status": HOLD_ACTIVE}]}}


def resolve_holds_input(order_no: str, enterprise_code: str, hold_types: list[str]) -> dict[str, Any]:
    return {**_order_key(order_no, enterprise_code), "OrderHoldTypes": {"OrderHoldType": [
        {"HoldType": hold_type, "Status": HOLD_RESOLVED} for hold_type in hold_types]}}


def carries_echo_marker(order: CommerceOrder, marker: str) -> bool:
    """Whether the newest status-history comment is one this integration wrote."""
    if not order.status_histories:
        return False
    newest = max(order.status_histories,
                 key=lambda entry: (str(entry.get("created_at") or ""), _int(entry.get("entity_id"))))
    return marker in str(newest.get("comment") or "")


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
