"""StorefrontFunction over the sandbox: the three GET routes, what they ask Sterling and Commerce,
and what a shopper's browser gets back (bodies, caching and CORS headers, errors)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from omsbridge.flows import storefront
from omsbridge.mapping import storefront as mapping
from sandbox.contracts import assert_commerce_contract
from sandbox.sim.base import Fault
from sandbox.stack import Sandbox, api_event, parse_api_result
from tests.support import Configure, forget_calls

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events" / "storefront"
SEED = json.loads((EVENTS / "seed.json").read_text())
SHOP = "https://shop.example.com"
SKU = "OB-MUG-01"
AVAILABILITY = "/smcfs/restapi/invoke/getAvailableInventory"
SURROUNDING = "/smcfs/restapi/invoke/getSurroundingNodeList"
FIND_INVENTORY = "/smcfs/restapi/invoke/findInventory"
SOURCES = "/rest/default/V1/inventory/sources"
UNAVAILABLE = {"error": "unavailable",
               "reason": "Stock information is temporarily unavailable. Please try again in a moment."}

LOOP = {"source_code": "store_loop", "name": "Chicago Loop", "pickup": True,
        "address": {"street": "120 N State St", "city": "Chicago", "region": "Illinois", "postcode": "60601",
                    "country": "US"},
        "phone": "312-555-0101"}
LINCOLN_PARK = {"source_code": "store_lincoln_park", "name": "Lincoln Park", "pickup": True,
                "address": {"street": "2200 N Clark St", "city": "Chicago", "region": "Illinois",
                            "postcode": "60614", "country": "US"},
                "phone": "312-555-0102"}
NAPERVILLE = {"source_code": "store_naperville", "name": "Naperville", "pickup": True,
              "address": {"street": "55 S Main St", "city": "Naperville", "region": "Illinois",
                          "postcode": "60540", "country": "US"},
              "phone": "630-555-0103"}
COLUMBUS = {"source_code": "dc_columbus", "name": "Columbus distribution centre", "pickup": False,
            "address": None, "phone": None}


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    env = {"STOREFRONT_ORIGINS": f"{SHOP}, https://www.example.com/"}
    with Sandbox(seed=SEED, env=env) as sandbox:
        # The first request makes StorefrontFunction the sandbox's container; only it runs here, so
        # settings a test changes (``configure``) stay in force until the test resets them.
        sandbox.http("GET", "/storefront/stock")
        yield sandbox


@pytest.fixture
def sb(box: Sandbox) -> Iterator[Sandbox]:
    """The module's sandbox with nothing recorded, no faults and empty storefront caches."""
    forget_calls(box)
    for simulator in box.simulators.values():
        simulator.faults.clear()
    for cache in (storefront.availability_cache, storefront.delivery_cache, storefront.nodes_cache,
                  storefront.sources_cache):
        cache.clear()
    yield box
    for simulator in box.simulators.values():
        simulator.faults.clear()




def get(sb: Sandbox, route: str, origin: str | None = SHOP, **query: str) -> tuple[int, dict[str, str], Any]:
    headers = {"origin": origin} if origin else {}
    return sb.http("GET", f"/storefront/{route}", headers=headers, query=query)


def bodies(sb: Sandbox, path: str) -> list[Any]:
    return [call["body"] for call in sb.sterling.calls_to(path, "POST")]


def availability(*nodes: str) -> dict[str, Any]:
    body: dict[str, Any] = {"OrganizationCode": "DEFAULT", "PromiseLines": {"PromiseLine": [
        {"LineId": "1", "UnitOfMeasure": "EACH", "ProductClass": "GOOD", "ItemID": SKU}]}}
    if nodes:
        body["ShipNodes"] = {"ShipNode": [{"Node": node} for node in nodes]}
    return body


def promised_day(sb: Sandbox) -> tuple[str, str]:
    """The node and day of the one assignment the Sterling simulator answered findInventory with."""
    (call,) = sb.sterling.calls_to(FIND_INVENTORY, "POST")
    line = call["response"]["SuggestedOption"]["Option"]["PromiseLines"]["PromiseLine"][0]
    (assignment,) = line["Assignments"]["Assignment"]
    return assignment["ShipNode"], assignment["DeliveryDate"][:10]


# -- stock per location ------------------------------------------------------------------------------------


def test_stock_per_location_joins_sterling_availability_with_commerce_sources(sb: Sandbox) -> None:
    status, headers, body = get(sb, "stock", sku=SKU)

    assert status == 200
    assert body == {"sku": SKU, "in_stock": True, "level": "in_stock", "quantity": 135, "locations": [
        {**LOOP, "level": "low_stock", "quantity": 3},
        {**COLUMBUS, "level": "in_stock", "quantity": 120},
        {**NAPERVILLE, "level": "in_stock", "quantity": 12},
        {**LINCOLN_PARK, "level": "out_of_stock", "quantity": 0},
    ]}
    assert headers["content-type"] == "application/json"
    assert headers["cache-control"] == "public, max-age=5"
    # Every node, so the disabled Evanston store and the unmapped drop-ship node are left out here.
    assert bodies(sb, AVAILABILITY) == [availability()]
    assert [call["method"] for call in sb.commerce.calls_to(SOURCES)] == ["GET"]
    assert_commerce_contract(sb.commerce)


TEE, CHILDREN = "OB-TEE", ["OB-TEE-M-NAVY", "OB-TEE-L-NAVY", "OB-TEE-L-RUST"]


def test_a_configurable_products_stock_is_answered_per_child(sb: Sandbox) -> None:
    status, _, body = get(sb, "stock", sku=TEE)

    assert status == 200
    out = {"level": "out_of_stock", "quantity": 0}
    assert body["children"] == [
        {"sku": "OB-TEE-M-NAVY", "in_stock": True, "level": "in_stock", "quantity": 32, "locations": [
            {**LOOP, "level": "low_stock", "quantity": 2}, {**COLUMBUS, "level": "in_stock", "quantity": 30},
            {**LINCOLN_PARK, **out}, {**NAPERVILLE, **out}]},
        {"sku": "OB-TEE-L-NAVY", "in_stock": False, "level": "out_of_stock", "quantity": 0, "locations": [
            {**LOOP, **out}, {**COLUMBUS, **out}, {**LINCOLN_PARK, **out}, {**NAPERVILLE, **out}]},
        {"sku": "OB-TEE-L-RUST", "in_stock": True, "level": "in_stock", "quantity": 14, "locations": [
            {**COLUMBUS, "level": "in_stock", "quantity": 10}, {**NAPERVILLE, "level": "low_stock", "quantity": 4},
            {**LOOP, **out}, {**LINCOLN_PARK, **out}]},
    ]
    # The parent: in stock where some option is (no longer "out of stock at every location").
    assert {key: body[key] for key in ("sku", "configurable", "in_stock", "level", "quantity")} == {
        "sku": TEE, "configurable": True, "in_stock": True, "level": "in_stock", "quantity": 46}
    assert [(row["source_code"], row["quantity"]) for row in body["locations"]] == [
        ("store_loop", 2), ("dc_columbus", 40), ("store_naperville", 4), ("store_lincoln_park", 0)]
    # Every child asked of Sterling in one call; the children asked of Commerce once.
    assert [[line["ItemID"] for line in call["PromiseLines"]["PromiseLine"]] for call in bodies(sb, AVAILABILITY)] == [
        CHILDREN]
    assert get(sb, "stock", sku=TEE)[2] == body
    assert [call["path"] for call in sb.commerce.calls if "configurable-products" in call["path"]] == [
        f"/rest/default/V1/configurable-products/{TEE}/children"]
    assert len(bodies(sb, AVAILABILITY)) == 1
    assert_commerce_contract(sb.commerce)


def test_pickup_and_delivery_are_asked_of_a_child_never_of_its_parent(sb: Sandbox) -> None:
    for route, query in (("pickup-locations", {"postcode": "60601", "country": "US"}),
                         ("delivery-estimate", {"postcode": "10001", "country": "US"})):
        status, _, body = get(sb, route, sku=TEE, **query)
        assert (status, body) == (400, {"error": "invalid_request", "reason": (
            "sku: OB-TEE is a configurable product; ask for one of its options "
            "(OB-TEE-M-NAVY, OB-TEE-L-NAVY, OB-TEE-L-RUST)")})
    assert get(sb, "pickup-locations", sku="OB-TEE-L-RUST", postcode="60601", country="US")[0] == 200
    assert bodies(sb, FIND_INVENTORY) == []


def test_stock_answer_carries_no_sterling_node_data(sb: Sandbox) -> None:
    _, _, body = get(sb, "stock", sku=SKU)
    text = json.dumps(body)
    for internal in ("vendor_dropship", "store_evanston", "CHI-001", "CMH DC01", "NodeType", "Store\"", "DC\""):
        assert internal not in text


def test_stock_of_a_sku_sterling_has_none_of(sb: Sandbox) -> None:
    status, _, body = get(sb, "stock", sku="NOT-STOCKED")
    assert status == 200
    assert body == {"sku": "NOT-STOCKED", "in_stock": False, "level": "out_of_stock", "quantity": 0, "locations": [
        {**LOOP, "level": "out_of_stock", "quantity": 0},
        {**COLUMBUS, "level": "out_of_stock", "quantity": 0},
        {**LINCOLN_PARK, "level": "out_of_stock", "quantity": 0},
        {**NAPERVILLE, "level": "out_of_stock", "quantity": 0},
    ]}


def test_stock_is_reused_per_sku_for_the_cache_time(sb: Sandbox) -> None:
    for _ in range(3):
        assert get(sb, "stock", sku=SKU)[0] == 200
    assert get(sb, "stock", sku="OTHER-SKU")[0] == 200

    assert bodies(sb, AVAILABILITY) == [availability(), {
        **availability(), "PromiseLines": {"PromiseLine": [{"LineId": "1", "UnitOfMeasure": "EACH",
                                                            "ProductClass": "GOOD", "ItemID": "OTHER-SKU"}]}}]
    assert len(sb.commerce.calls_to(SOURCES)) == 1


def test_no_cache_when_the_cache_time_is_zero(sb: Sandbox, configure: Configure) -> None:
    configure(STOREFRONT_CACHE_SECONDS="0")
    for _ in range(2):
        status, headers, _ = get(sb, "stock", sku=SKU)
        assert (status, headers["cache-control"]) == (200, "no-store")
    assert bodies(sb, AVAILABILITY) == [availability(), availability()]


# -- pickup stores -------------------------------------------------------------------------------------------


def test_pickup_stores_near_a_postcode_nearest_first(sb: Sandbox) -> None:
    status, headers, body = get(sb, "pickup-locations", sku=SKU, qty="2", postcode="60601", country="us")

    assert (status, headers["cache-control"]) == (200, "public, max-age=5")
    assert body == {"sku": SKU, "qty": 2, "near": {"postcode": "60601", "country": "US"}, "distance_unit": "mi",
                    "locations": [
                        {**LOOP, "distance": 0.0, "available": True, "level": "low_stock", "quantity": 3},
                        {**LINCOLN_PARK, "distance": 3.1, "available": False, "level": "out_of_stock",
                         "quantity": 0},
                        {**NAPERVILLE, "distance": 28.2, "available": True, "level": "in_stock", "quantity": 12},
                    ]}
    assert bodies(sb, SURROUNDING) == [{
        "OrganizationCode": "DEFAULT", "NodeType": "Store", "DistanceToConsider": "50.0",
        "DistanceToConsiderUOM": "MILE", "ShipToAddress": {"ZipCode": "60601", "Country": "US"}}]
    # Only the nearby stores are asked about, in one call; Evanston is closed in Commerce.
    assert bodies(sb, AVAILABILITY) == [availability("store_loop", "store_lincoln_park", "store_naperville")]
    assert_commerce_contract(sb.commerce)


def test_pickup_stores_within_the_radius_in_kilometres(sb: Sandbox, configure: Configure) -> None:
    configure(STOREFRONT_PICKUP_RADIUS="10", STOREFRONT_DISTANCE_UNIT="KM")
    _, _, body = get(sb, "pickup-locations", sku=SKU, postcode="60601", country="US")

    assert body["distance_unit"] == "km"
    assert [(row["source_code"], row["distance"]) for row in body["locations"]] == [
        ("store_loop", 0.0), ("store_lincoln_park", 5.0)]
    assert bodies(sb, SURROUNDING)[0]["DistanceToConsider"] == "10.0"
    assert bodies(sb, SURROUNDING)[0]["DistanceToConsiderUOM"] == "KM"


def test_pickup_stores_near_a_position_use_the_commerce_coordinates(sb: Sandbox) -> None:
    status, _, body = get(sb, "pickup-locations", sku=SKU, qty="5", lat="41.8781", lng="-87.6298")

    assert status == 200
    assert body == {"sku": SKU, "qty": 5, "near": {"lat": 41.8781, "lng": -87.6298}, "distance_unit": "mi",
                    "locations": [
                        {**LOOP, "distance": 0.8, "available": False, "level": "low_stock", "quantity": 3},
                        {**LINCOLN_PARK, "distance": 3.3, "available": False, "level": "out_of_stock",
                         "quantity": 0},
                        {**NAPERVILLE, "distance": 27.4, "available": True, "level": "in_stock", "quantity": 12},
                    ]}
    assert bodies(sb, SURROUNDING) == []
    assert bodies(sb, AVAILABILITY) == [availability("store_loop", "store_lincoln_park", "store_naperville")]


def test_pickup_uses_the_cached_stock_of_the_sku(sb: Sandbox) -> None:
    get(sb, "stock", sku=SKU)
    _, _, body = get(sb, "pickup-locations", sku=SKU, postcode="60601", country="US")
    assert [row["quantity"] for row in body["locations"]] == [3, 0, 12]
    assert bodies(sb, AVAILABILITY) == [availability()]


def test_no_store_near_a_postcode_sterling_cannot_place(sb: Sandbox) -> None:
    status, _, body = get(sb, "pickup-locations", sku=SKU, postcode="99999", country="US")
    assert status == 200
    assert body == {"sku": SKU, "qty": 1, "near": {"postcode": "99999", "country": "US"}, "distance_unit": "mi",
                    "locations": []}
    assert bodies(sb, AVAILABILITY) == []


def test_no_store_near_a_far_away_postcode(sb: Sandbox) -> None:
    status, _, body = get(sb, "pickup-locations", sku=SKU, postcode="94105", country="US")
    assert (status, body["locations"]) == (200, [])
    assert len(bodies(sb, SURROUNDING)) == 1
    assert bodies(sb, AVAILABILITY) == []


# -- delivery estimate ----------------------------------------------------------------------------------------


def test_delivery_date_for_a_postcode(sb: Sandbox) -> None:
    status, headers, body = get(sb, "delivery-estimate", sku=SKU, qty="1", postcode="10001", country="US")

    node, day = promised_day(sb)
    assert node == "dc_columbus"
    assert (status, headers["cache-control"]) == (200, "public, max-age=5")
    assert body == {"sku": SKU, "qty": 1, "method": "delivery", "destination": {"postcode": "10001", "country": "US"},
                    "available": True, "date": day, "available_qty": 1}
    assert bodies(sb, FIND_INVENTORY) == [{
        "OrganizationCode": "DEFAULT",
        "PromiseLines": {"PromiseLine": [{"LineId": "1", "UnitOfMeasure": "EACH", "ProductClass": "GOOD",
                                          "RequiredQty": "1", "DeliveryMethod": "SHP", "ItemID": SKU}]},
        "ShipToAddress": {"Country": "US", "ZipCode": "10001"}}]
    assert sb.commerce.calls == []


def test_pickup_date_at_a_store(sb: Sandbox) -> None:
    status, _, body = get(sb, "delivery-estimate", sku=SKU, qty="2", store="store_loop")

    node, day = promised_day(sb)
    assert node == "store_loop"
    assert status == 200
    assert body == {"sku": SKU, "qty": 2, "method": "pickup", "store": {"source_code": "store_loop",
                                                                         "name": "Chicago Loop"},
                    "available": True, "date": day, "available_qty": 2}
    assert bodies(sb, FIND_INVENTORY) == [{
        "OrganizationCode": "DEFAULT",
        "PromiseLines": {"PromiseLine": [{"LineId": "1", "UnitOfMeasure": "EACH", "ProductClass": "GOOD",
                                          "RequiredQty": "2", "DeliveryMethod": "PICK", "ItemID": SKU,
                                          "ShipNode": "store_loop"}]}}]


def test_delivery_of_more_than_there_is_is_unavailable(sb: Sandbox) -> None:
    status, _, body = get(sb, "delivery-estimate", sku=SKU, qty="500", postcode="10001", country="US")
    assert status == 200
    # Sterling sources what it can from every node it has (182), and cannot promise the rest.
    assert body == {"sku": SKU, "qty": 500, "method": "delivery", "destination": {"postcode": "10001", "country": "US"},
                    "available": False, "date": None, "available_qty": 182}


def test_pickup_at_a_store_without_stock_is_unavailable(sb: Sandbox) -> None:
    status, _, body = get(sb, "delivery-estimate", sku=SKU, store="store_lincoln_park")
    assert status == 200
    assert body == {"sku": SKU, "qty": 1, "method": "pickup",
                    "store": {"source_code": "store_lincoln_park", "name": "Lincoln Park"},
                    "available": False, "date": None, "available_qty": 0}


@pytest.mark.parametrize(("store", "reason"), [
    ("dc_columbus", "store: dc_columbus is not a pickup store"),
    ("store_evanston", "store: store_evanston is not a pickup store"),
    ("vendor_dropship", "store: vendor_dropship is not a pickup store"),
])
def test_pickup_only_at_an_open_commerce_pickup_store(sb: Sandbox, store: str, reason: str) -> None:
    status, headers, body = get(sb, "delivery-estimate", sku=SKU, store=store)
    assert (status, body) == (400, {"error": "invalid_request", "reason": reason})
    assert headers["cache-control"] == "no-store"
    assert bodies(sb, FIND_INVENTORY) == []


def test_delivery_estimates_are_reused_for_the_cache_time(sb: Sandbox) -> None:
    first = get(sb, "delivery-estimate", sku=SKU, postcode="10001", country="US")[2]
    second = get(sb, "delivery-estimate", sku=SKU, postcode="10001", country="US")[2]
    get(sb, "delivery-estimate", sku=SKU, qty="2", postcode="10001", country="US")
    assert first == second
    assert [body["PromiseLines"]["PromiseLine"][0]["RequiredQty"] for body in bodies(sb, FIND_INVENTORY)] == ["1", "2"]


# -- bad input -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("route", "query", "reason"), [
    ("stock", {}, "sku: Field required"),
    ("stock", {"sku": ""}, "sku: String should have at least 1 character"),
    ("stock", {"sku": "X" * 65}, "sku: String should have at most 64 characters"),
    ("stock", {"sku": "A\nB"}, "sku: String should match pattern '^[^\\x00-\\x1f\\x7f]+$'"),
    ("pickup-locations", {"sku": SKU, "qty": "0", "postcode": "60601", "country": "US"},
     "qty: Input should be greater than or equal to 1"),
    ("pickup-locations", {"sku": SKU, "qty": "10000", "postcode": "60601", "country": "US"},
     "qty: Input should be less than or equal to 9999"),
    ("pickup-locations", {"sku": SKU, "qty": "two", "postcode": "60601", "country": "US"},
     "qty: Input should be a valid integer, unable to parse string as an integer"),
    ("pickup-locations", {"sku": SKU, "qty": "1.5", "postcode": "60601", "country": "US"},
     "qty: Input should be a valid integer, unable to parse string as an integer"),
    ("pickup-locations", {"sku": SKU, "postcode": "60601"}, "give postcode and country, or lat and lng"),
    ("pickup-locations", {"sku": SKU, "lat": "41.9"}, "lat and lng go together"),
    ("pickup-locations", {"sku": SKU, "lat": "91", "lng": "0"}, "lat: Input should be less than or equal to 90"),
    ("pickup-locations", {"sku": SKU, "lat": "nan", "lng": "0"}, "lat: Input should be a finite number"),
    ("pickup-locations", {"sku": SKU, "postcode": "60601", "country": "USA"},
     "country: String should match pattern '^[A-Za-z]{2}$'"),
    ("pickup-locations", {"sku": SKU, "postcode": "<script>", "country": "US"},
     "postcode: String should match pattern '^[A-Za-z0-9][A-Za-z0-9 -]{0,11}$'"),
    ("delivery-estimate", {"sku": SKU}, "give postcode and country, or the store to pick up from"),
    ("delivery-estimate", {"sku": SKU, "store": "../etc"}, "store: String should match pattern '^[A-Za-z0-9_.-]+$'"),
])
def test_bad_input_is_400_with_the_reason_and_asks_nobody(sb: Sandbox, route: str, query: dict[str, str],
                                                           reason: str) -> None:
    status, headers, body = get(sb, route, **query)
    assert (status, body) == (400, {"error": "invalid_request", "reason": reason})
    assert headers["cache-control"] == "no-store"
    assert headers["access-control-allow-origin"] == SHOP
    assert sb.sterling.calls == sb.commerce.calls == []


# -- Sterling or Commerce down ----------------------------------------------------------------------------------


ROUTES = [
    ("stock", {"sku": SKU}),
    ("pickup-locations", {"sku": SKU, "postcode": "60601", "country": "US"}),
    ("delivery-estimate", {"sku": SKU, "postcode": "10001", "country": "US"}),
]


@pytest.mark.parametrize(("route", "query"), ROUTES)
def test_sterling_down_is_503_with_a_reason(sb: Sandbox, route: str, query: dict[str, str]) -> None:
    sb.sterling.faults.script(r"/invoke/(?!login)", Fault("status", status=503), times=2)

    status, headers, body = get(sb, route, **query)

    assert (status, body) == (503, UNAVAILABLE)
    assert (headers["retry-after"], headers["cache-control"]) == ("5", "no-store")
    assert headers["access-control-allow-origin"] == SHOP
    # One quick retry, then the answer: shoppers are waiting.
    assert len([c for c in sb.sterling.calls if "/login" not in c["path"]]) == 2


@pytest.mark.parametrize(("route", "query"), ROUTES)
def test_sterling_too_slow_is_503(sb: Sandbox, configure: Configure, route: str, query: dict[str, str]) -> None:
    configure(STOREFRONT_TIMEOUT_MS="300")
    sb.sterling.faults.script(r"/invoke/(?!login)", Fault("timeout", seconds=0.6), times=2)
    assert get(sb, route, **query)[::2] == (503, UNAVAILABLE)


def test_sterling_refusing_our_credentials_is_503(sb: Sandbox, configure: Configure) -> None:
    configure(STOREFRONT_CACHE_SECONDS="5")  # a new container: it logs in again
    sb.sterling.faults.script(r"/invoke/login$", Fault("status", status=401), times=2)
    assert get(sb, "stock", sku=SKU)[::2] == (503, UNAVAILABLE)


def test_commerce_down_is_503(sb: Sandbox) -> None:
    sb.commerce.faults.script(r"/V1/inventory/sources$", Fault("status", status=500), times=2)
    assert get(sb, "stock", sku=SKU)[::2] == (503, UNAVAILABLE)
    assert len(sb.commerce.calls_to(SOURCES)) == 2


def test_unexpected_failure_is_a_json_500_without_a_trace(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(mapping, "stock_answer", broken)
    status, headers, body = get(sb, "stock", sku=SKU)
    assert (status, body) == (500, {"error": "internal", "reason": "Something went wrong. Please try again."})
    assert headers["content-type"] == "application/json"


def test_a_path_the_function_does_not_serve_is_a_json_404(sb: Sandbox) -> None:
    event = api_event("GET", "/storefront/nothing", {}, None, [], {})
    status, _, body = parse_api_result(sb.invoke("StorefrontFunction", event))
    assert (status, body) == (404, {"error": "not_found", "reason": "no such route"})


# -- CORS ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("origin", [SHOP, "https://www.example.com"])
def test_configured_origins_may_read_the_answer(sb: Sandbox, origin: str) -> None:
    _, headers, _ = get(sb, "stock", origin=origin, sku=SKU)
    assert {k: headers[k] for k in ("access-control-allow-origin", "access-control-allow-methods", "vary")} == {
        "access-control-allow-origin": origin, "access-control-allow-methods": "GET", "vary": "Origin"}


@pytest.mark.parametrize("origin", ["https://evil.example.net", "http://shop.example.com", None])
def test_other_origins_get_no_cors_grant(sb: Sandbox, origin: str | None) -> None:
    status, headers, _ = get(sb, "stock", origin=origin, sku=SKU)
    assert status == 200
    assert "access-control-allow-origin" not in headers
    assert headers["vary"] == "Origin"


def test_without_configured_origins_no_cors_headers_at_all(sb: Sandbox, configure: Configure) -> None:
    configure(STOREFRONT_ORIGINS="")
    _, headers, _ = get(sb, "stock", sku=SKU)
    assert not [name for name in headers if name.startswith("access-control") or name == "vary"]


# -- sample events ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "status"), [
    ("stock", 200), ("pickup_locations", 200), ("pickup_locations_by_position", 200), ("delivery_estimate", 200),
    ("delivery_estimate_pickup", 200), ("invalid_qty", 400),
])
def test_sample_events_run_as_lambda_would(sb: Sandbox, name: str, status: int) -> None:
    event = json.loads((EVENTS / f"{name}.json").read_text())
    answer = parse_api_result(sb.invoke("StorefrontFunction", event))
    assert answer[0] == status
    assert answer[1]["access-control-allow-origin"] == SHOP


def test_the_handlers_cold_import_loads_neither_boto3_nor_every_event_resolver() -> None:
    """What each shopper's cold start pays (figures: ``python bench/storefront.py``): the secrets and
    the Sterling client load on the first call, and no resolver of Powertools' event handler package."""
    probe = ("import importlib.util, json, sys\n"
             "spec = importlib.util.spec_from_file_location('app', sys.argv[1])\n"
             "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
             "print(json.dumps(sorted(sys.modules)))")
    env = {"PYTHONPATH": str(ROOT / "layers" / "connectors"), "AWS_REGION": "us-east-1", "PATH": "/usr/bin:/bin"}
    answer = subprocess.run([sys.executable, "-c", probe, str(ROOT / "functions" / "storefront" / "app.py")],
                            env=env, capture_output=True, text=True, check=True)
    modules = set(json.loads(answer.stdout))
    assert not {"boto3", "botocore.client", "aws_lambda_powertools.event_handler", "httpx"} & modules
