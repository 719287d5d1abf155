"""StockCheckFunction over the sandbox: signed Commerce webhooks in, Sterling asked, operations out."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from omsbridge import config
from sandbox.contracts import assert_commerce_contract
from sandbox.sim.base import Fault, SimServer
from sandbox.sim.sterling.iv import IvSim
from sandbox.stack import Sandbox
from tests.support import Configure, KeyPair, foreign, forget_calls

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events" / "stock_check"
ROUTE = "/webhooks/stock-check"
AVAILABILITY = "/smcfs/restapi/invoke/getAvailableInventory"
UNAVAILABLE = "We could not confirm stock right now. Please try again in a moment."
IV_CREDENTIALS = {"iv_client_id": "iv-client", "iv_client_secret": "iv-secret"}

COLOR, SIZE = "93", "144"  # attribute ids; option ids below are unique across attributes, as in Commerce
SEED = {
    "sterling": {"inventory": [
        {"ItemID": "Product 1", "ShipNode": "DC_1", "Quantity": "5"},
        {"ItemID": "Product-1", "ShipNode": "DC_1", "Quantity": "5"},
        {"ItemID": "MS-BLUE-M", "ShipNode": "DC_1", "Quantity": "1"},
        {"ItemID": "MH-1-M-BLUE", "ShipNode": "DC_1", "Quantity": "3"},
        {"ItemID": "MH-1-M-BLUE", "ShipNode": "STORE_9", "Quantity": "40"},
        {"ItemID": "MH-1-L-RED", "ShipNode": "DC_1", "Quantity": "2"},
    ]},
    "commerce": {"products": [
        {"sku": "MH-1", "name": "Hoodie", "type_id": "configurable", "children": ["MH-1-M-BLUE", "MH-1-L-RED"]},
        {"sku": "MH-1-M-BLUE", "name": "Hoodie-M-Blue", "custom_attributes": [
            {"attribute_code": "color", "value": "52"}, {"attribute_code": "size", "value": "167"}]},
        {"sku": "MH-1-L-RED", "name": "Hoodie-L-Red", "custom_attributes": [
            {"attribute_code": "color", "value": "58"}, {"attribute_code": "size", "value": "168"}]},
        {"sku": "Product 1", "name": "Product test 22"},
    ]},
}
CHILDREN = "/rest/default/V1/configurable-products/MH-1/children"


def event_body(name: str) -> str:
    body: str = json.loads((EVENTS / f"{name}.json").read_text())["body"]
    return body


def signed(key: KeyPair | None, body: str | bytes) -> dict[str, str]:
    raw = body.encode() if isinstance(body, str) else body
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["x-adobe-commerce-webhook-signature"] = key.sign(base64.b64encode(raw))
    return headers


@pytest.fixture(scope="module")
def box(keypair: KeyPair) -> Iterator[Sandbox]:
    env = {"COMMERCE_WEBHOOK_PUBLIC_KEY": keypair.public_pem, "STOCK_CHECK_CACHE_SECONDS": "0"}
    with Sandbox(seed=SEED, env=env, secret=IV_CREDENTIALS) as sandbox:
        # The first request makes StockCheckFunction the sandbox's container; only it runs here, so
        # settings a test changes (``configure``) stay in force until the test resets them.
        sandbox.http("POST", ROUTE, headers=signed(None, "{}"), body="{}")
        yield sandbox


@pytest.fixture
def sb(box: Sandbox) -> Iterator[Sandbox]:
    """The module's sandbox with nothing recorded, no faults and empty stock-check caches."""
    forget_calls(box)
    for simulator in box.simulators.values():
        simulator.faults.clear()
    # A new container: no cached availability, no cached configurable children.
    config.reset(keep_connections=True)
    yield box
    box.sterling.faults.clear()


@pytest.fixture(scope="module")
def iv(box: Sandbox) -> Iterator[tuple[IvSim, str]]:
    """Inventory Visibility over the Sterling simulator's stock, and its base URL for IV_BASE_URL."""
    simulator = IvSim(box.sterling.inventory, IV_CREDENTIALS["iv_client_id"], IV_CREDENTIALS["iv_client_secret"],
                      groups={"STORES": ["STORE_9"]})
    server = SimServer(simulator).start()
    yield simulator, f"{server.url}/inventory/tenant-1"
    server.stop()




def check(sb: Sandbox, body: str, key: KeyPair | None) -> tuple[int, Any]:
    status, headers, answer = sb.http("POST", ROUTE, headers=signed(key, body), body=body)
    assert headers["content-type"] == "application/json"
    return status, answer


def availability_requests(sb: Sandbox) -> list[Any]:
    return [call["body"] for call in sb.sterling.calls_to(AVAILABILITY, "POST")]


def promise(*skus: str) -> dict[str, Any]:
    return {"OrganizationCode": "DEFAULT", "PromiseLines": {"PromiseLine": [
        {"LineId": str(n), "UnitOfMeasure": "EACH", "ProductClass": "GOOD", "ItemID": sku}
        for n, sku in enumerate(skus, start=1)]}}


def test_adobe_default_payload_in_stock(sb: Sandbox, keypair: KeyPair) -> None:
    assert check(sb, event_body("add_to_cart_default_payload"), keypair) == (200, {"op": "success"})
    assert availability_requests(sb) == [promise("Product 1")]


def test_short_names_the_product_and_what_is_left(sb: Sandbox, keypair: KeyPair) -> None:
    assert check(sb, event_body("add_to_cart_fields_payload"), keypair) == (
        200, {"op": "exception", "message": "Only 1 of Blue Shirt M (MS-BLUE-M) left in stock."})


def test_order_with_several_lines_one_short_asks_sterling_once(sb: Sandbox, keypair: KeyPair) -> None:
    assert check(sb, event_body("order_place"), keypair) == (
        200, {"op": "exception", "message": "Only 1 of Blue Shirt M (MS-BLUE-M) left in stock."})
    assert availability_requests(sb) == [promise("MS-BLUE-M", "MH-1-M-BLUE")]


def test_cart_item_update_checks_the_new_quantity(sb: Sandbox, keypair: KeyPair) -> None:
    assert check(sb, event_body("cart_item_saved"), keypair) == (
        200, {"op": "exception", "message": "Only 1 of Blue Shirt M (MS-BLUE-M) left in stock."})


def test_unknown_sku_is_out_of_stock(sb: Sandbox, keypair: KeyPair) -> None:
    body = json.dumps({"product": {"sku": "NO-SUCH-SKU", "name": "Ghost"}, "info": {"qty": "1"}})
    assert check(sb, body, keypair) == (200, {"op": "exception", "message": "Ghost (NO-SUCH-SKU) is out of stock."})


@pytest.mark.parametrize(
    ("signer", "reason"),
    [
        pytest.param(None, "missing x-adobe-commerce-webhook-signature header", id="unsigned"),
        pytest.param("other", "signature does not verify", id="bad-signature"),
    ],
)
def test_unsigned_or_badly_signed_is_401_and_asks_nobody(sb: Sandbox, other_keypair: KeyPair, signer: str | None,
                                                         reason: str) -> None:
    key = other_keypair if signer else None
    assert check(sb, event_body("add_to_cart_default_payload"), key) == (
        401, {"error": "bad_signature", "reason": reason})
    assert sb.sterling.calls == []


def test_rotated_key_is_accepted(sb: Sandbox, configure: Configure, keypair: KeyPair,
                                 other_keypair: KeyPair) -> None:
    configure(COMMERCE_WEBHOOK_PUBLIC_KEY_NEXT=other_keypair.public_pem)
    assert check(sb, event_body("add_to_cart_default_payload"), other_keypair) == (200, {"op": "success"})
    assert check(sb, event_body("add_to_cart_default_payload"), keypair) == (200, {"op": "success"})


def test_raw_signed_bytes_setting(sb: Sandbox, configure: Configure, keypair: KeyPair) -> None:
    configure(COMMERCE_WEBHOOK_SIGNED_BYTES="raw")
    body = event_body("add_to_cart_default_payload")
    headers = {"x-adobe-commerce-webhook-signature": keypair.sign(body.encode())}
    assert sb.http("POST", ROUTE, headers=headers, body=body)[::2] == (200, {"op": "success"})
    assert check(sb, body, keypair) == (401, {"error": "bad_signature", "reason": "signature does not verify"})


def test_malformed_json_is_400(sb: Sandbox, keypair: KeyPair) -> None:
    assert check(sb, '{"product": {"sku": "MS-1"', keypair) == (
        400, {"error": "invalid_json", "reason": "body is not valid JSON"})
    assert sb.sterling.calls == []


def test_binary_body_is_verified_as_sent(sb: Sandbox, keypair: KeyPair) -> None:
    raw = event_body("add_to_cart_default_payload").encode()
    status, _, answer = sb.http("POST", ROUTE, headers=signed(keypair, raw), body=raw)
    assert (status, answer) == (200, {"op": "success"})


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        pytest.param("open", {"op": "success"}, id="fail-open"),
        pytest.param("closed", {"op": "exception", "message": UNAVAILABLE}, id="fail-closed"),
    ],
)
def test_sterling_timeout_answers_in_time_by_fail_mode(sb: Sandbox, configure: Configure, keypair: KeyPair,
                                                       mode: str, expected: dict[str, Any]) -> None:
    configure(STOCK_CHECK_FAIL_MODE=mode, STOCK_CHECK_TIMEOUT_MS="300")
    sb.sterling.faults.script(AVAILABILITY, Fault("timeout", seconds=0.6))
    assert check(sb, event_body("add_to_cart_default_payload"), keypair) == (200, expected)
    await_late_call(sb)


def await_late_call(sb: Sandbox) -> None:
    """Let the abandoned Sterling call land, so that it is not recorded during the next test."""
    give_up = time.monotonic() + 10
    while not sb.sterling.calls_to(AVAILABILITY) and time.monotonic() < give_up:
        time.sleep(0.05)


@pytest.mark.parametrize(("mode", "op"), [("open", "success"), ("closed", "exception")])
def test_sterling_5xx_is_not_retried_and_answers_by_fail_mode(sb: Sandbox, configure: Configure,
                                                              keypair: KeyPair, mode: str, op: str) -> None:
    configure(STOCK_CHECK_FAIL_MODE=mode)
    sb.sterling.faults.script(AVAILABILITY, Fault("status", status=503), times=2)
    status, answer = check(sb, event_body("order_place"), keypair)
    assert (status, answer["op"]) == (200, op)
    # A retry would have met the second scripted 503.
    assert [call["status"] for call in sb.sterling.calls_to(AVAILABILITY)] == [503]
    assert len(sb.sterling.faults.scripted) == 1


def test_sterling_down_at_login_answers_by_fail_mode(sb: Sandbox, configure: Configure, keypair: KeyPair) -> None:
    configure(STOCK_CHECK_FAIL_MODE="closed")
    sb.sterling.faults.script("/invoke/login", Fault("drop"))
    assert check(sb, event_body("order_place"), keypair) == (200, {"op": "exception", "message": UNAVAILABLE})
    assert availability_requests(sb) == []


def test_hot_skus_are_served_from_the_cache(sb: Sandbox, configure: Configure, keypair: KeyPair) -> None:
    configure(STOCK_CHECK_CACHE_SECONDS="60")
    for _ in range(3):
        assert check(sb, event_body("add_to_cart_default_payload"), keypair) == (200, {"op": "success"})
    assert availability_requests(sb) == [promise("Product 1")]


def test_ship_nodes_setting_counts_only_those_nodes(sb: Sandbox, configure: Configure, keypair: KeyPair) -> None:
    body = json.dumps({"item": {"sku": "MH-1-M-BLUE", "name": "Hoodie", "qty": 10, "product_type": "configurable"}})
    assert check(sb, body, keypair) == (200, {"op": "success"})
    configure(STOCK_CHECK_SHIP_NODES="DC_1")
    assert check(sb, body, keypair) == (
        200, {"op": "exception", "message": "Only 3 of Hoodie (MH-1-M-BLUE) left in stock."})
    assert availability_requests(sb)[-1] == {**promise("MH-1-M-BLUE"), "ShipNodes": {"ShipNode": [{"Node": "DC_1"}]}}


def add_configurable(child: str | None = None, qty: Any = "4", **picked: str) -> str:
    info: dict[str, Any] = {"qty": qty, "selected_configurable_option": child or ""}
    if picked:
        info["super_attribute"] = picked
    return json.dumps({"eventName": "checkout_cart_product_add_before", "data": {
        "product": {"sku": "MH-1", "name": "Hoodie", "type_id": "configurable"}, "info": info}})


def product_id(sb: Sandbox, sku: str) -> str:
    return str(sb.commerce.products[sku]["id"])


def test_configurable_add_to_cart_checks_the_selected_child(sb: Sandbox, keypair: KeyPair) -> None:
    body = add_configurable(product_id(sb, "MH-1-M-BLUE"), **{COLOR: "52", SIZE: "167"})
    assert check(sb, body, keypair) == (200, {"op": "success"})
    assert availability_requests(sb) == [promise("MH-1-M-BLUE")]
    [lookup] = sb.commerce.calls
    assert (lookup["method"], lookup["path"], lookup["query"]) == ("GET", CHILDREN, {})
    assert [child["sku"] for child in lookup["response"]] == ["MH-1-M-BLUE", "MH-1-L-RED"]
    assert_commerce_contract(sb.commerce)


def test_a_configurable_chosen_by_its_options_alone_checks_that_child(sb: Sandbox, keypair: KeyPair) -> None:
    # GraphQL and REST carts send the options picked (super_attribute), not the child's id.
    assert check(sb, add_configurable(qty="3", **{COLOR: "58", SIZE: "168"}), keypair) == (
        200, {"op": "exception", "message": "Only 2 of Hoodie (MH-1-L-RED) left in stock."})
    assert availability_requests(sb) == [promise("MH-1-L-RED")]


def test_the_children_of_a_configurable_are_asked_once(sb: Sandbox, keypair: KeyPair) -> None:
    for _ in range(3):
        check(sb, add_configurable(product_id(sb, "MH-1-M-BLUE")), keypair)
    assert len(sb.commerce.calls_to(CHILDREN)) == 1


@pytest.mark.parametrize("case", ["another-product", "no-such-id", "nothing-chosen", "options-of-no-child"])
def test_an_option_that_names_no_child_is_an_exception_naming_the_product(
    sb: Sandbox, keypair: KeyPair, case: str,
) -> None:
    body = {
        "another-product": add_configurable(product_id(sb, "Product 1")),
        "no-such-id": add_configurable("99999"),
        "nothing-chosen": add_configurable(),
        "options-of-no-child": add_configurable(**{COLOR: "52", SIZE: "168"}),
    }[case]
    assert check(sb, body, keypair) == (
        200, {"op": "exception", "message": "Please choose the options of Hoodie (MH-1) again."})
    assert availability_requests(sb) == []


def test_a_configurable_commerce_does_not_know_is_an_exception(sb: Sandbox, keypair: KeyPair) -> None:
    body = json.dumps({"product": {"sku": "GONE-1", "name": "Gone", "type_id": "configurable"},
                       "info": {"qty": "1", "selected_configurable_option": "5"}})
    assert check(sb, body, keypair) == (
        200, {"op": "exception", "message": "Please choose the options of Gone (GONE-1) again."})
    assert [call["status"] for call in sb.commerce.calls] == [404, 404]


def test_commerce_down_for_the_children_answers_by_fail_mode(sb: Sandbox, configure: Configure,
                                                             keypair: KeyPair) -> None:
    configure(STOCK_CHECK_FAIL_MODE="closed")
    sb.commerce.faults.script("/children", Fault("status", status=503), times=20)
    assert check(sb, add_configurable(product_id(sb, "MH-1-M-BLUE")), keypair) == (
        200, {"op": "exception", "message": UNAVAILABLE})


# -- quantities: the shopper's input ---------------------------------------------------------------------


@pytest.mark.parametrize("qty", [
    "1e5000", "9" * 5000, "1e2000000", "-1", "0", "0.0000", "abc", "NaN", "Infinity", "1e3", "100000000",
    " ", {"value": 1}, [2], True, -3, 0, 1e300,
], ids=lambda qty: repr(qty)[:20])
def test_a_quantity_that_cannot_be_checked_is_an_exception_naming_the_product(
    sb: Sandbox, keypair: KeyPair, qty: Any,
) -> None:
    body = json.dumps({"product": {"sku": "Product 1", "name": "Product test 22", "type_id": "simple"},
                       "info": {"qty": qty}})
    assert check(sb, body, keypair) == (
        200, {"op": "exception", "message": "The quantity requested of Product test 22 (Product 1) is not valid."})
    assert availability_requests(sb) == []


@pytest.mark.parametrize(("payload", "expected"), [
    pytest.param(  # Adobe's hooks.md: a field mapping renaming qty to product.quantity
        {"product": {"name": "Product 1", "sku": "Product 1", "price": 123, "quantity": 6}},
        {"op": "exception", "message": "Only 5 of Product 1 left in stock."}, id="hook-fields-quantity"),
    pytest.param(  # Adobe's hooks.md: observer.sales_quote_add_item, quote_item.qty
        {"eventName": "sales_quote_add_item", "data": {"quote_item": {
            "sku": "Product 1", "name": "Product 1", "qty": 6, "product_type": "simple", "quote_id": "63"}}},
        {"op": "exception", "message": "Only 5 of Product 1 left in stock."}, id="quote-add-item"),
    pytest.param(foreign("sales_quote_item_save_before_default_payload.json"), {"op": "success"},
                 id="adobe-product-stock-validation-default-payload"),
    pytest.param(foreign("check_stock_request.json"), {"op": "exception", "message": "SKU is out of stock."},
                 id="starter-kit-cart-items"),
    pytest.param(  # Adobe's testing.md: an add to cart without a quantity adds one, as Commerce does
        foreign("webhooks_dev_run_add_to_cart.json"),
        {"op": "exception", "message": "Simple Product (simple-product) is out of stock."}, id="add-without-qty"),
])
def test_the_quantity_is_read_under_every_name_adobe_uses(sb: Sandbox, keypair: KeyPair, payload: dict[str, Any],
                                                          expected: dict[str, Any]) -> None:
    assert check(sb, json.dumps(payload), keypair) == (200, expected)
    assert len(availability_requests(sb)) == 1


@pytest.mark.parametrize(("payload", "product"), [
    pytest.param({"item": {"sku": "Product 1", "name": "Product test 22", "product_type": "simple"}},
                 "Product test 22 (Product 1)", id="cart-item"),
    pytest.param(foreign("order_placement_validation_configured_payload.json"), "Pr-1", id="adobe-order-sku-only"),
    pytest.param({"data": {"cart_id": "7", "items": [{"sku": "Product 1", "qty": None}]}}, "Product 1",
                 id="cart-item-null"),
])
def test_a_missing_quantity_outside_add_to_cart_is_not_success(sb: Sandbox, keypair: KeyPair,
                                                               payload: dict[str, Any], product: str) -> None:
    assert check(sb, json.dumps(payload), keypair) == (
        200, {"op": "exception", "message": f"The quantity requested of {product} is not valid."})
    assert availability_requests(sb) == []


def iv_lines(*skus: str, nodes: list[str] | None = None) -> list[dict[str, Any]]:
    lines = [{"lineId": str(n), "itemId": sku, "unitOfMeasure": "EACH", "productClass": "GOOD", "deliveryMethod": "SHP"}
             for n, sku in enumerate(skus, start=1)]
    return [{**line, "shipNodes": nodes} for line in lines] if nodes is not None else lines


def test_inventory_visibility_network_availability(sb: Sandbox, configure: Configure, keypair: KeyPair,
                                                   iv: tuple[IvSim, str]) -> None:
    simulator, url = iv
    simulator.calls.clear()
    configure(STOCK_CHECK_AVAILABILITY="iv_network", IV_BASE_URL=url)
    assert check(sb, event_body("order_place"), keypair) == (
        200, {"op": "exception", "message": "Only 1 of Blue Shirt M (MS-BLUE-M) left in stock."})
    configure(STOCK_CHECK_DISTRIBUTION_GROUP="STORES")
    assert check(sb, event_body("cart_item_saved"), keypair) == (
        200, {"op": "exception", "message": "Blue Shirt M (MS-BLUE-M) is out of stock."})
    assert [(c["path"], c["body"]) for c in simulator.calls if "availability" in c["path"]] == [
        ("/inventory/tenant-1/v1/availability/network",
         {"distributionGroupId": "DEFAULT", "lines": iv_lines("MS-BLUE-M", "MH-1-M-BLUE")}),
        ("/inventory/tenant-1/v1/availability/network",
         {"distributionGroupId": "STORES", "lines": iv_lines("MS-BLUE-M")}),
    ]
    assert availability_requests(sb) == []


def test_inventory_visibility_node_availability(sb: Sandbox, configure: Configure, keypair: KeyPair,
                                                iv: tuple[IvSim, str]) -> None:
    simulator, url = iv
    simulator.calls.clear()
    configure(STOCK_CHECK_AVAILABILITY="iv_node", IV_BASE_URL=url, STOCK_CHECK_SHIP_NODES="STORE_9")
    body = json.dumps({"item": {"sku": "MH-1-M-BLUE", "name": "Hoodie", "qty": 40}})
    assert check(sb, body, keypair) == (200, {"op": "success"})
    [token, call] = simulator.calls
    assert token["path"] == "/inventory/tenant-1/v1/oauth2/token"
    assert call["body"] == {"lines": iv_lines("MH-1-M-BLUE", nodes=["STORE_9"])}


def test_inventory_visibility_node_mode_without_nodes_is_a_configuration_error(
        sb: Sandbox, configure: Configure, keypair: KeyPair, iv: tuple[IvSim, str]) -> None:
    configure(STOCK_CHECK_AVAILABILITY="iv_node", IV_BASE_URL=iv[1], STOCK_CHECK_FAIL_MODE="closed")
    assert check(sb, event_body("cart_item_saved"), keypair) == (200, {"op": "exception", "message": UNAVAILABLE})
