"""Commerce order → Sterling createOrder input: the exact body per kind of order, and the
changeOrder documents for Commerce-side cancel / hold / unhold.

Every case starts from the real observer payload vendored in tests/fixtures/foreign (order 000000617) and
changes only what the case is about; the expected bodies are written out in full.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from omsbridge import config
from omsbridge.errors import ValidationError
from omsbridge.events import ECHO_MARKER
from omsbridge.mapping import order as mapping
from omsbridge.state import OrderLineRef
from tests.support import foreign

ENTERPRISE = "ACME"


@pytest.fixture(autouse=True)
def _tables(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MAPPING_OVERRIDES", json.dumps({"source_to_node": {"paris_1": "STORE_PARIS"}}))
    config.reset()
    yield
    monkeypatch.delenv("MAPPING_OVERRIDES")
    config.reset()


def fixture_order() -> dict[str, Any]:
    value: dict[str, Any] = foreign("commerce_event_sales_order_save_commit_after.json")["data"]["value"]
    return value


# -- expected pieces of the fixture order ---------------------------------------------------------

JANE = {
    "FirstName": "Jane", "LastName": "Doe", "AddressLine1": "100 Example Street", "AddressLine2": "Suite 5",
    "City": "Springfield", "State": "Gujarat", "ZipCode": "94110", "Country": "IN", "DayPhone": "555-0100",
    "EMailID": "jane.doe@example.com",
}
LINE_998 = {
    "PrimeLineNo": 1, "SubLineNo": 1, "OrderedQty": 1, "DeliveryMethod": "SHP", "CustomerLinePONo": "998",
    "Item": {"ItemID": "Adobe_Pro_12", "UnitOfMeasure": "EACH", "ProductClass": "GOOD",
             "ItemShortDesc": "Adobe_Pro_12"},
    "LinePriceInfo": {"UnitPrice": 505.75, "IsPriceLocked": "Y"},
    "LineCharges": {"LineCharge": [{"ChargeCategory": "Discount", "ChargeName": "Discount",
                                    "ChargePerLine": 101.15}]},
}
SHIPPING_5 = {"ChargeCategory": "Shipping", "ChargeName": "Shipping", "ChargeAmount": 5}


def card_payment(amount: float) -> dict[str, Any]:
    return {
        "PaymentType": "CREDIT_CARD", "PaymentReference1": "braintree", "DisplayCreditCardNo": "1111",
        "CreditCardType": "VISA", "UnlimitedCharges": "N", "MaxChargeLimit": amount,
        "PaymentDetailsList": {"PaymentDetails": [
            {"ChargeType": "AUTHORIZATION", "RequestAmount": amount, "ProcessedAmount": amount,
             "AuthorizationID": "j0yjwb0m"}]},
    }


GUEST_BODY: dict[str, Any] = {
    "EnterpriseCode": "ACME", "SellerOrganizationCode": "ACME", "DocumentType": "0001", "OrderNo": "000000617",
    "EntryType": "WEB", "OrderDate": "2023-08-16T08:40:19+00:00", "DraftOrderFlag": "N",
    "PriceInfo": {"Currency": "USD"},
    "CustomerEMailID": "jane.doe@example.com", "CustomerFirstName": "Jane", "CustomerLastName": "Doe",
    "PersonInfoShipTo": JANE, "PersonInfoBillTo": JANE,
    "OrderLines": {"OrderLine": [LINE_998]},
    "HeaderCharges": {"HeaderCharge": [SHIPPING_5]},
    "PaymentMethods": {"PaymentMethod": [card_payment(409.6)]},
}


def line(prime: int, item_id: str, sku: str, name: str, qty: int, price: float, **extra: Any) -> dict[str, Any]:
    """An order line as the mapping writes it; ``extra`` adds or replaces keys."""
    body: dict[str, Any] = {
        "PrimeLineNo": prime, "SubLineNo": 1, "OrderedQty": qty, "DeliveryMethod": "SHP",
        "CustomerLinePONo": item_id,
        "Item": {"ItemID": sku, "UnitOfMeasure": "EACH", "ProductClass": "GOOD", "ItemShortDesc": name},
        "LinePriceInfo": {"UnitPrice": price, "IsPriceLocked": "Y"},
    }
    body.update(extra)
    return body


def discount(amount: float) -> dict[str, Any]:
    return {"LineCharge": [{"ChargeCategory": "Discount", "ChargeName": "Discount", "ChargePerLine": amount}]}


# -- order variants -------------------------------------------------------------------------------


def registered_ups(order: dict[str, Any]) -> None:
    order.update(customer_is_guest=0, customer_id="42", shipping_method="ups_03")


def configurable(order: dict[str, Any]) -> None:
    order["items"] = [
        {"item_id": "1001", "order_id": "673", "sku": "TSHIRT", "name": "Tee", "product_type": "configurable",
         "qty_ordered": 2, "price": 25, "discount_amount": 5, "tax_amount": 3.6, "tax_percent": 8,
         "product_options": {"simple_sku": "TSHIRT-M-RED"}},
        {"item_id": "1002", "order_id": "673", "parent_item_id": "1001", "sku": "TSHIRT-M-RED",
         "name": "Tee M Red", "product_type": "simple", "qty_ordered": 2, "price": 0},
    ]
    order.update(discount_amount=-5, tax_amount=4.0, shipping_tax_amount=0.4, grand_total=54.0,
                 base_grand_total=54.0)
    order["payment"].update(amount_ordered=54.0, amount_authorized=54.0)


def bundle_dynamic(order: dict[str, Any]) -> None:
    order["items"] = [
        {"item_id": "2001", "sku": "KIT", "name": "Desk kit", "product_type": "bundle", "qty_ordered": 1,
         "price": 60, "product_options": {"product_calculations": 0}},
        {"item_id": "2002", "parent_item_id": "2001", "sku": "KIT-LAMP", "name": "Lamp", "qty_ordered": 2,
         "price": 20, "discount_amount": 4, "product_type": "simple"},
        {"item_id": "2003", "parent_item_id": "2001", "sku": "KIT-MAT", "name": "Mat", "qty_ordered": 1,
         "price": 20, "product_type": "simple"},
    ]
    order.update(discount_amount=-4, grand_total=61, base_grand_total=61)
    order["payment"].update(amount_ordered=61, amount_authorized=61)


def bundle_fixed(order: dict[str, Any]) -> None:
    order["items"] = [
        {"item_id": "2001", "sku": "KIT", "name": "Desk kit", "product_type": "bundle", "qty_ordered": 1,
         "price": 50, "discount_amount": 5, "product_options": {"product_calculations": 1}},
        {"item_id": "2002", "parent_item_id": "2001", "sku": "KIT-LAMP", "name": "Lamp", "qty_ordered": 2,
         "price": 0, "product_type": "simple"},
    ]
    order.update(discount_amount=-5, grand_total=50, base_grand_total=50)
    order["payment"].update(amount_ordered=50, amount_authorized=50)


def street_lines(order: dict[str, Any]) -> None:
    shipping, billing = order["addresses"]
    shipping.update(street="Flat 4\nBuilding 7\n\nExample Road\nNorth District", region="California",
                    region_code="CA", country_id="US", company="Example Ltd")
    billing["street"] = ["1 Main St", "Floor 2"]


def pickup(reservation: bool, source: str) -> Callable[[dict[str, Any]], None]:
    def change(order: dict[str, Any]) -> None:
        order["shipping_method"] = "instore_pickup"
        order["extension_attributes"] = {"pickup_location_code": source}
        if reservation:
            order["oms_reservation_id"] = "r-617"
    return change


def unmapped_method(order: dict[str, Any]) -> None:
    order["shipping_method"] = "customship_express"


def multi_currency(order: dict[str, Any]) -> None:
    order.update(order_currency_code="EUR", base_currency_code="USD", shipping_amount=4.45,
                 discount_amount=-90, grand_total=364.45, base_grand_total=409.6)
    order["items"][0].update(price=450, base_price=505.75, discount_amount=90, base_discount_amount=101.15)
    order["payment"].update(amount_ordered=364.45, amount_authorized=364.45, base_amount_authorized=409.6)


def unchanged(order: dict[str, Any]) -> None:
    """The fixture as delivered: a guest order."""


@dataclass(frozen=True)
class Case:
    change: Callable[[dict[str, Any]], None]
    expected: dict[str, Any]
    hold_amount: Decimal | None = None
    warnings: list[str] = field(default_factory=list)


CASES = [
    pytest.param(Case(registered_ups, {**GUEST_BODY, "BillToID": "42", "SCAC": "UPSN",
                                       "CarrierServiceCode": "UPSNGround"}), id="simple-registered-ups"),
    pytest.param(Case(configurable, {
        **GUEST_BODY,
        "OrderLines": {"OrderLine": [line(
            1, "1001", "TSHIRT-M-RED", "Tee", 2, 25, LineCharges=discount(5),
            LineTaxes={"LineTax": [{"ChargeCategory": "Price", "TaxName": "SalesTax", "Tax": 3.6,
                                    "TaxPercentage": 8}]})]},
        "HeaderTaxes": {"HeaderTax": [{"TaxName": "SalesTax", "Tax": 0.4}]},
        "PaymentMethods": {"PaymentMethod": [card_payment(54)]},
    }), id="configurable-child-sku-parent-price"),
    pytest.param(Case(bundle_dynamic, {
        **GUEST_BODY,
        "OrderLines": {"OrderLine": [
            line(1, "2001", "KIT", "Desk kit", 1, 0, KitCode="BUNDLE"),
            line(2, "2002", "KIT-LAMP", "Lamp", 2, 20, LineCharges=discount(4),
                 BundleParentLine={"PrimeLineNo": 1, "SubLineNo": 1}, KitQty=2),
            line(3, "2003", "KIT-MAT", "Mat", 1, 20, BundleParentLine={"PrimeLineNo": 1, "SubLineNo": 1},
                 KitQty=1),
        ]},
        "PaymentMethods": {"PaymentMethod": [card_payment(61)]},
    }), id="bundle-priced-by-children"),
    pytest.param(Case(bundle_fixed, {
        **GUEST_BODY,
        "OrderLines": {"OrderLine": [
            line(1, "2001", "KIT", "Desk kit", 1, 50, LineCharges=discount(5), KitCode="BUNDLE"),
            line(2, "2002", "KIT-LAMP", "Lamp", 2, 0, BundleParentLine={"PrimeLineNo": 1, "SubLineNo": 1},
                 KitQty=2),
        ]},
        "PaymentMethods": {"PaymentMethod": [card_payment(50)]},
    }), id="bundle-priced-by-parent"),
    pytest.param(Case(street_lines, {
        **GUEST_BODY,
        "PersonInfoShipTo": {
            "FirstName": "Jane", "LastName": "Doe", "Company": "Example Ltd", "AddressLine1": "Flat 4",
            "AddressLine2": "Building 7", "AddressLine3": "Example Road", "AddressLine4": "North District",
            "City": "Springfield", "State": "CA", "ZipCode": "94110", "Country": "US", "DayPhone": "555-0100",
            "EMailID": "jane.doe@example.com"},
        "PersonInfoBillTo": {**JANE, "AddressLine1": "1 Main St", "AddressLine2": "Floor 2"},
    }), id="multi-line-street-and-region-code"),
    pytest.param(Case(unchanged, GUEST_BODY), id="guest"),
    pytest.param(Case(pickup(reservation=True, source="store_1"), {
        **GUEST_BODY,
        "OrderLines": {"OrderLine": [{
            **LINE_998, "DeliveryMethod": "PICK", "ShipNode": "store_1",
            "OrderLineReservations": {"OrderLineReservation": [
                {"ItemID": "Adobe_Pro_12", "Node": "store_1", "Quantity": 1, "ReservationID": "r-617",
                 "UnitOfMeasure": "EACH"}]}}]},
    }), id="pickup-with-reservation"),
    pytest.param(Case(pickup(reservation=False, source="paris_1"), {
        **GUEST_BODY,
        "OrderLines": {"OrderLine": [{**LINE_998, "DeliveryMethod": "PICK", "ShipNode": "STORE_PARIS"}]},
    }), id="pickup-without-reservation-source-mapped-to-node"),
    pytest.param(Case(unmapped_method, GUEST_BODY, warnings=[
        "shipping method 'customship_express' has no SCAC mapping: exported without a carrier"]),
        id="unmapped-shipping-method"),
    pytest.param(Case(unchanged, {
        **GUEST_BODY,
        "OrderHoldTypes": {"OrderHoldType": [
            {"HoldType": "ORDER_AMOUNT_HOLD", "ReasonText": "Order total 409.6 USD is above 300 USD",
             "Status": "1100"}]},
    }, hold_amount=Decimal(300)), id="above-hold-amount"),
    pytest.param(Case(multi_currency, {
        **GUEST_BODY,
        "PriceInfo": {"Currency": "EUR"},
        "OrderLines": {"OrderLine": [{**LINE_998, "LinePriceInfo": {"UnitPrice": 450, "IsPriceLocked": "Y"},
                                      "LineCharges": discount(90)}]},
        "HeaderCharges": {"HeaderCharge": [{**SHIPPING_5, "ChargeAmount": 4.45}]},
        "PaymentMethods": {"PaymentMethod": [card_payment(364.45)]},
        # The threshold is in the base currency: 409.6 USD is above it although 364.45 EUR is not.
        "OrderHoldTypes": {"OrderHoldType": [
            {"HoldType": "ORDER_AMOUNT_HOLD", "ReasonText": "Order total 409.6 USD is above 400 USD",
             "Status": "1100"}]},
    }, hold_amount=Decimal(400)), id="multi-currency"),
]


@pytest.mark.parametrize("case", CASES)
def test_create_order_body(case: Case) -> None:
    order = fixture_order()
    case.change(order)

    exported = mapping.create_order_input(
        mapping.parse_order(order), enterprise_code=ENTERPRISE, product_class="GOOD", hold_amount=case.hold_amount)

    assert exported.body == case.expected
    assert exported.warnings == case.warnings


def test_sterling_total_equals_commerce_grand_total() -> None:
    """Line money plus header money adds up to what the customer pays, so nothing counts twice."""
    for change in (unchanged, configurable, bundle_dynamic, bundle_fixed, multi_currency):
        order = fixture_order()
        change(order)
        body = mapping.create_order_input(mapping.parse_order(order), enterprise_code=ENTERPRISE, product_class="GOOD",
                                          hold_amount=None).body
        total = Decimal(0)
        for entry in body["OrderLines"]["OrderLine"]:
            total += Decimal(str(entry["LinePriceInfo"]["UnitPrice"])) * Decimal(str(entry["OrderedQty"]))
            total -= sum(Decimal(str(c["ChargePerLine"])) for c in entry.get("LineCharges", {}).get("LineCharge", []))
            total += sum(Decimal(str(t["Tax"])) for t in entry.get("LineTaxes", {}).get("LineTax", []))
        for charge in body.get("HeaderCharges", {}).get("HeaderCharge", []):
            sign = -1 if charge["ChargeCategory"] == "Discount" else 1
            total += sign * Decimal(str(charge["ChargeAmount"]))
        total += sum(Decimal(str(t["Tax"])) for t in body.get("HeaderTaxes", {}).get("HeaderTax", []))
        assert total == Decimal(str(order["grand_total"])), change.__name__


LINE_REF_CASES = [
    pytest.param(unchanged, [OrderLineRef(prime_line_no=1, order_item_id=998, sku="Adobe_Pro_12", qty=1)],
                 id="simple"),
    pytest.param(configurable, [OrderLineRef(prime_line_no=1, order_item_id=1001, sku="TSHIRT-M-RED", qty=2,
                                             child_item_id=1002)], id="configurable"),
    pytest.param(bundle_dynamic, [
        OrderLineRef(prime_line_no=1, order_item_id=2001, sku="KIT", qty=1),
        OrderLineRef(prime_line_no=2, order_item_id=2002, sku="KIT-LAMP", qty=2, parent_item_id=2001),
        OrderLineRef(prime_line_no=3, order_item_id=2003, sku="KIT-MAT", qty=1, parent_item_id=2001),
    ], id="bundle"),
]


@pytest.mark.parametrize(("change", "expected"), LINE_REF_CASES)
def test_line_map_kept_for_other_flows(change: Callable[[dict[str, Any]], None],
                                       expected: list[OrderLineRef]) -> None:
    order = fixture_order()
    change(order)

    exported = mapping.create_order_input(mapping.parse_order(order), enterprise_code=ENTERPRISE, product_class="GOOD",
                                          hold_amount=None)

    assert exported.lines == expected


def test_place_after_without_ids_links_children_by_position() -> None:
    """``sales_order_place_after`` fires before Commerce assigns item ids: children still group."""
    order = fixture_order()
    order["items"] = [
        {"sku": "TSHIRT-M-RED", "name": "Tee", "product_type": "configurable", "qty_ordered": 1, "price": 25},
        {"sku": "TSHIRT-M-RED", "name": "Tee M Red", "product_type": "simple", "qty_ordered": 1, "price": 0},
        {"sku": "KIT", "name": "Desk kit", "product_type": "bundle", "qty_ordered": 1, "price": 0},
        {"sku": "KIT-LAMP", "name": "Lamp", "product_type": "simple", "qty_ordered": 1, "price": 20,
         "product_options": {"bundle_selection_attributes": "{\"qty\":1}"}},
        {"sku": "CABLE", "name": "Cable", "product_type": "simple", "qty_ordered": 3, "price": 2},
    ]

    body = mapping.create_order_input(mapping.parse_order(order), enterprise_code=ENTERPRISE, product_class="GOOD",
                                      hold_amount=None).body

    assert [(x["PrimeLineNo"], x["Item"]["ItemID"], x["LinePriceInfo"]["UnitPrice"], x.get("BundleParentLine"))
            for x in body["OrderLines"]["OrderLine"]] == [
        (1, "TSHIRT-M-RED", 25, None),
        (2, "KIT", 0, None),
        (3, "KIT-LAMP", 20, {"PrimeLineNo": 2, "SubLineNo": 1}),
        (4, "CABLE", 2, None),
    ]
    assert all("CustomerLinePONo" not in x for x in body["OrderLines"]["OrderLine"])


def test_held_in_commerce_before_export_is_created_held() -> None:
    order = fixture_order()
    order["state"] = "holded"

    exported = mapping.create_order_input(mapping.parse_order(order), enterprise_code=ENTERPRISE, product_class="GOOD",
                                          hold_amount=Decimal(300))

    assert exported.body["OrderHoldTypes"] == {"OrderHoldType": [
        {"HoldType": "ORDER_AMOUNT_HOLD", "ReasonText": "Order total 409.6 USD is above 300 USD", "Status": "1100"},
        {"HoldType": "COMMERCE_HOLD", "ReasonText": "Held in Adobe Commerce", "Status": "1100"},
    ]}
    assert exported.hold_types == ["ORDER_AMOUNT_HOLD", "COMMERCE_HOLD"]


def test_total_equal_to_hold_amount_is_not_held() -> None:
    exported = mapping.create_order_input(mapping.parse_order(fixture_order()), enterprise_code=ENTERPRISE,
                                          product_class="GOOD", hold_amount=Decimal("409.6"))

    assert "OrderHoldTypes" not in exported.body
    assert exported.hold_types == []


PAYMENT_CASES = [
    pytest.param(
        {"amount_paid": 409.6},
        {"PaymentDetails": [
            {"ChargeType": "AUTHORIZATION", "RequestAmount": 409.6, "ProcessedAmount": 409.6,
             "AuthorizationID": "j0yjwb0m"},
            {"ChargeType": "CHARGE", "RequestAmount": 409.6, "ProcessedAmount": 409.6,
             "AuthorizationID": "j0yjwb0m"}]},
        {"method": "braintree", "payment_type": "CREDIT_CARD", "amount_ordered": 409.6, "authorized": 409.6,
         "captured": 409.6, "transaction_id": "j0yjwb0m"},
        id="authorised-and-captured",
    ),
]


@pytest.mark.parametrize(("change", "details", "state"), PAYMENT_CASES)
def test_payment_amounts(change: dict[str, Any], details: dict[str, Any], state: dict[str, Any]) -> None:
    order = fixture_order()
    order["payment"].update(change)

    exported = mapping.create_order_input(mapping.parse_order(order), enterprise_code=ENTERPRISE, product_class="GOOD",
                                          hold_amount=None)

    assert exported.body["PaymentMethods"]["PaymentMethod"][0]["PaymentDetailsList"] == details
    assert exported.payment == state


def test_an_unmapped_payment_method_is_refused_without_a_fallback() -> None:
    order = fixture_order()
    order["payment"] = {"method": "giftvoucher", "amount_ordered": 409.6, "parent_id": "673"}
    with pytest.raises(ValidationError) as refused:
        mapping.create_order_input(mapping.parse_order(order), enterprise_code=ENTERPRISE, product_class="GOOD",
                                   hold_amount=None)
    assert (refused.value.system, refused.value.code, refused.value.reason) == (
        "mapping", "unmapped_payment_method",
        "order 000000617: payment method 'giftvoucher' has no PaymentType in the payment_types table and "
        "STERLING_PAYMENT_TYPE_FALLBACK is not set")


def test_offline_payment_unmapped_method_and_card_type_fall_back_with_warnings() -> None:
    order = fixture_order()
    order["payment"] = {"method": "giftvoucher", "amount_ordered": 409.6, "parent_id": "673"}
    exported = mapping.create_order_input(mapping.parse_order(order), enterprise_code=ENTERPRISE, product_class="GOOD",
                                          hold_amount=None, payment_type_fallback="GIFT_CARD")
    assert exported.body["PaymentMethods"] == {"PaymentMethod": [
        {"PaymentType": "GIFT_CARD", "PaymentReference1": "giftvoucher", "UnlimitedCharges": "N",
         "MaxChargeLimit": 409.6}]}
    assert exported.warnings == [
        "payment method 'giftvoucher' has no PaymentType mapping: sent as GIFT_CARD (STERLING_PAYMENT_TYPE_FALLBACK)"]

    order = fixture_order()
    order["payment"]["cc_type"] = "XX"
    exported = mapping.create_order_input(mapping.parse_order(order), enterprise_code=ENTERPRISE, product_class="GOOD",
                                          hold_amount=None)
    assert exported.body["PaymentMethods"]["PaymentMethod"][0]["CreditCardType"] == "XX"
    assert exported.warnings == ["card type 'XX' has no mapping: sent as is"]


@pytest.mark.parametrize(("stored", "expected"), [
    ("1111", "1111"), ("xxxx-xxxx-xxxx-4242", "4242"), ("4111111111111111", "1111"), ("", None), (None, None),
])
def test_card_number_reduced_to_last_four_digits(stored: str | None, expected: str | None) -> None:
    assert mapping.last_four(stored) == expected


def test_no_card_data_beyond_last_four_leaves_the_mapping() -> None:
    order = fixture_order()
    order["payment"]["cc_last_4"] = "4111111111111111"

    text = json.dumps(mapping.create_order_input(mapping.parse_order(order), enterprise_code=ENTERPRISE,
                                                 product_class="GOOD", hold_amount=None).body)

    assert "4111111111111111" not in text
    assert "xxxx-1111" not in text  # additional_information.cc_number
    assert "2024" not in text  # the card's expiry year


@pytest.mark.parametrize(("change", "reason"), [
    pytest.param(lambda o: o.update(items=[]),
                 "order 000000617 is not exportable: items: List should have at least 1 item after validation, "
                 "not 0", id="no-items"),
    pytest.param(lambda o: o.pop("increment_id"), "order ? is not exportable: increment_id: Field required",
                 id="no-increment-id"),
    pytest.param(lambda o: o["items"][0].update(qty_ordered="lots"),
                 "order 000000617 is not exportable: items.0.qty_ordered: Value error, expected a number, "
                 "got 'lots'", id="bad-quantity"),
    pytest.param(lambda o: o["items"][0].update(sku=""),
                 "order 000000617 is not exportable: items.0.sku: String should have at least 1 character",
                 id="empty-sku"),
])
def test_invalid_order_is_a_validation_error_naming_the_field(change: Callable[[dict[str, Any]], Any],
                                                              reason: str) -> None:
    order = fixture_order()
    change(order)

    with pytest.raises(ValidationError) as raised:
        mapping.parse_order(order)

    assert raised.value.reason == reason


def test_pickup_without_location_is_a_validation_error() -> None:
    order = fixture_order()
    order["shipping_method"] = "instore_pickup"

    with pytest.raises(ValidationError) as raised:
        mapping.create_order_input(mapping.parse_order(order), enterprise_code=ENTERPRISE, product_class="GOOD",
                                   hold_amount=None)

    assert raised.value.reason == ("order 000000617 is an in-store pickup without pickup_location_code: "
                                   "no store to send it to")


def test_order_date_falls_back_to_the_event_time() -> None:
    order = fixture_order()
    del order["created_at"]

    body = mapping.create_order_input(mapping.parse_order(order), enterprise_code=ENTERPRISE, product_class="GOOD",
                                      hold_amount=None, fallback_date="2023-08-16T10:40:32.811+02:00").body

    assert body["OrderDate"] == "2023-08-16T08:40:32+00:00"


def test_street_beyond_six_lines_stays_on_the_last() -> None:
    address = mapping.CommerceAddress(address_type="shipping", street="1\n2\n3\n4\n5\n6\n7")

    assert mapping.person_info(address, None) == {
        "AddressLine1": "1", "AddressLine2": "2", "AddressLine3": "3", "AddressLine4": "4", "AddressLine5": "5",
        "AddressLine6": "6, 7"}


@pytest.mark.parametrize(("where", "expected"), [
    ({"entity_id": "700"}, 700),
    ({}, 673),  # items[].order_id in the fixture
])
def test_entity_id_from_the_order_or_its_items(where: dict[str, Any], expected: int) -> None:
    order = fixture_order()
    order.update(where)
    assert mapping.parse_order(order).order_entity_id() == expected


def test_entity_id_from_addresses_or_payment_when_items_lack_it() -> None:
    order = fixture_order()
    del order["items"][0]["order_id"]
    assert mapping.parse_order(order).order_entity_id() == 673  # addresses[].parent_id
    for address in order["addresses"]:
        del address["parent_id"]
    order["payment"]["parent_id"] = "674"
    assert mapping.parse_order(order).order_entity_id() == 674
    del order["payment"]["parent_id"]
    assert mapping.parse_order(order).order_entity_id() is None


# -- Commerce-side changes ------------------------------------------------------------------------

@pytest.mark.parametrize(("synced", "state", "expected"), [
    ("processing", "processing", None),
    ("processing", "canceled", "cancel"),
    ("holded", "canceled", "cancel"),
    ("processing", "holded", "hold"),
    ("new", "holded", "hold"),
    ("holded", "processing", "unhold"),
    ("holded", "new", "unhold"),
    ("new", "processing", None),
    ("processing", "complete", None),
    (None, "processing", None),
])
def test_change_for(synced: str | None, state: str, expected: str | None) -> None:
    assert mapping.change_for(synced, state) == expected


def test_change_order_documents() -> None:
    key = {"OrderNo": "000000617", "EnterpriseCode": "ACME", "DocumentType": "0001"}
    assert mapping.cancel_input("000000617", "ACME") == {
        **key, "Action": "CANCEL", "ModificationReasonText": "Cancelled in Adobe Commerce"}
    assert mapping.hold_input("000000617", "ACME") == {**key, "OrderHoldTypes": {"OrderHoldType": [
        {"HoldType": "COMMERCE_HOLD", "ReasonText": "Held in Adobe Commerce", "Status": "1100"}]}}
    assert mapping.resolve_holds_input("000000617", "ACME", ["ORDER_AMOUNT_HOLD", "COMMERCE_HOLD"]) == {
        **key, "OrderHoldTypes": {"OrderHoldType": [
            {"HoldType": "ORDER_AMOUNT_HOLD", "Status": "1300"}, {"HoldType": "COMMERCE_HOLD", "Status": "1300"}]}}


@pytest.mark.parametrize(("histories", "expected"), [
    ([], False),
    ([{"entity_id": "1", "created_at": "2023-08-16 08:40:19", "comment": "Customer called"}], False),
    ([{"entity_id": "1", "created_at": "2023-08-16 08:40:19", "comment": "Customer called"},
      {"entity_id": "2", "created_at": "2023-08-16 09:00:00", "comment": f"{ECHO_MARKER} Scheduled in Sterling"}],
     True),
    ([{"entity_id": "2", "created_at": "2023-08-16 09:00:00", "comment": "Customer called again"},
      {"entity_id": "1", "created_at": "2023-08-16 08:40:19", "comment": f"{ECHO_MARKER} Scheduled"}], False),
    ([{"entity_id": "1", "created_at": "2023-08-16 09:00:00", "comment": f"{ECHO_MARKER} Released"},
      {"entity_id": "2", "created_at": "2023-08-16 09:00:00", "comment": "Customer called"}], False),
])
def test_echo_marker_on_the_newest_comment(histories: list[dict[str, Any]], expected: bool) -> None:
    order = fixture_order()
    order["status_histories"] = histories
    assert mapping.carries_echo_marker(mapping.parse_order(order), ECHO_MARKER) is expected


def test_tables_are_overridable_per_deployment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAPPING_OVERRIDES", json.dumps({
        "shipping_methods": {"customship_express": {"SCAC": "ACME", "CarrierServiceCode": "ACME-1D"}},
        "order_settings": {"seller_organization_code": "ACME-US", "entry_types": {"1": "MOBILE", "default": "WEB"}},
    }))
    config.reset()
    order = fixture_order()
    unmapped_method(order)

    exported = mapping.create_order_input(mapping.parse_order(order), enterprise_code=ENTERPRISE, product_class="GOOD",
                                          hold_amount=None)

    assert exported.body == {**GUEST_BODY, "SellerOrganizationCode": "ACME-US", "EntryType": "MOBILE",
                             "SCAC": "ACME", "CarrierServiceCode": "ACME-1D"}
    assert exported.warnings == []


# -- region codes from Commerce's directory (sandbox/sim/commerce/regions.json holds the real ones) ---------

DIRECTORY = {"IN": {"Gujarat": "GJ", "Odisha": "OD"}, "DE": {"Bayern": "BY", "Thüringen": "TH"},
             "US": {"Texas": "TX"}, "GB": {}}


@pytest.mark.parametrize(("country", "region", "region_code", "state", "warned"), [
    # IBM's 2.4.5-p3 sample order: the name, no region_code.
    ("IN", "Gujarat", None, "GJ", False),
    ("DE", "  thüringen ", None, "TH", False),
    ("DE", "BY", None, "BY", False),
    ("US", "Texas", "TX", "TX", False),
    ("US", "Atlantis", None, "Atlantis", True),
    ("GB", "Greater London", None, "Greater London", True),
])
def test_a_region_named_without_its_code_gets_the_code_commerce_lists(
        country: str, region: str, region_code: str | None, state: str, warned: bool) -> None:
    order = fixture_order()
    for address in order["addresses"]:
        address.update(country_id=country, region=region, region_code=region_code)
    parsed = mapping.parse_order(order)

    exported = mapping.create_order_input(parsed, enterprise_code=ENTERPRISE, product_class="GOOD", hold_amount=None,
                                          regions={c: DIRECTORY[c] for c in mapping.regions_to_resolve(parsed)})

    assert exported.body["PersonInfoShipTo"]["State"] == exported.body["PersonInfoBillTo"]["State"] == state
    unmapped = [w for w in exported.warnings if "has no code in Commerce's directory" in w]
    assert len(unmapped) == (2 if warned else 0)
    assert mapping.regions_to_resolve(parsed) == (set() if region_code else {country})
