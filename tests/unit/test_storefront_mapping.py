"""omsbridge.mapping.storefront: queries, Sterling + Commerce → shopper answers, CORS and caching headers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from omsbridge import config
from omsbridge.errors import ValidationError
from omsbridge.mapping import storefront as mapping
from omsbridge.sterling.models import Node, Promise, PromiseLine

STORE_A = {"source_code": "store_a", "name": "Store A", "enabled": True, "street": "1 Main St", "city": "Springfield",
           "region": "Illinois", "postcode": "62701", "country_id": "US", "phone": "555-0101",
           "latitude": 39.8017, "longitude": -89.6436, "contact_name": "Pat Manager", "email": "a@example.com",
           "extension_attributes": {"is_pickup_location_active": True, "frontend_name": "Springfield Downtown"}}
STORE_B = {"source_code": "store_b", "name": "Store B", "enabled": True, "city": "Chatham", "postcode": "62629",
           "country_id": "US", "latitude": "39.6761", "longitude": "-89.7045",
           "extension_attributes": {"is_pickup_location_active": True}}
WAREHOUSE = {"source_code": "wh_1", "name": "Warehouse", "enabled": True, "street": "9 Dock Rd", "city": "Peoria",
             "postcode": "61602", "country_id": "US", "latitude": "", "longitude": None}
CLOSED = {"source_code": "store_closed", "name": "Closed store", "enabled": False, "latitude": 39.80,
          "longitude": -89.64, "extension_attributes": {"is_pickup_location_active": True}}
SOURCES, _ = mapping.parse_sources([STORE_A, STORE_B, WAREHOUSE, CLOSED])

A_SHOWN = {"source_code": "store_a", "name": "Springfield Downtown", "pickup": True, "phone": "555-0101",
           "address": {"street": "1 Main St", "city": "Springfield", "region": "Illinois", "postcode": "62701",
                       "country": "US"}}
B_SHOWN = {"source_code": "store_b", "name": "Store B", "pickup": True, "phone": None,
           "address": {"street": None, "city": "Chatham", "region": None, "postcode": "62629", "country": "US"}}
WAREHOUSE_SHOWN = {"source_code": "wh_1", "name": "Warehouse", "pickup": False, "address": None, "phone": None}


@pytest.fixture
def overrides(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    def apply(tables: dict[str, Any]) -> None:
        monkeypatch.setenv("MAPPING_OVERRIDES", json.dumps(tables))
        config.reset()

    config.reset()
    yield apply
    monkeypatch.undo()
    config.reset()


# -- queries -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "params", "expected"), [
    (mapping.StockQuery, {"sku": " MS-1 ", "_": "1712"}, {"sku": "MS-1"}),
    (mapping.PickupQuery, {"sku": "MS-1", "postcode": "sw1a 1aa", "country": "gb"},
     {"sku": "MS-1", "qty": 1, "postcode": "SW1A 1AA", "country": "GB", "lat": None, "lng": None}),
    (mapping.PickupQuery, {"sku": "MS-1", "qty": "3", "lat": "51.5", "lng": "-0.12"},
     {"sku": "MS-1", "qty": 3, "postcode": None, "country": None, "lat": 51.5, "lng": -0.12}),
    (mapping.DeliveryQuery, {"sku": "MS-1", "qty": "2", "store": "store_a"},
     {"sku": "MS-1", "qty": 2, "postcode": None, "country": None, "store": "store_a"}),
    (mapping.DeliveryQuery, {"sku": "Tee/Blue M", "postcode": "10001", "country": "US"},
     {"sku": "Tee/Blue M", "qty": 1, "postcode": "10001", "country": "US", "store": None}),
])
def test_valid_queries(model: type[mapping.Query], params: dict[str, str], expected: dict[str, Any]) -> None:
    assert mapping.parse_query(model, params).model_dump() == expected


@pytest.mark.parametrize(("model", "params", "reason"), [
    (mapping.StockQuery, None, "sku: Field required"),
    (mapping.PickupQuery, {"sku": "S", "qty": "-1", "lat": "1", "lng": "1"},
     "qty: Input should be greater than or equal to 1"),
    (mapping.PickupQuery, {"sku": "S", "lng": "1"}, "lat and lng go together"),
    (mapping.PickupQuery, {"sku": "S", "country": "US"}, "give postcode and country, or lat and lng"),
    (mapping.PickupQuery, {"sku": "S", "lat": "1", "lng": "inf"}, "lng: Input should be a finite number"),
    (mapping.PickupQuery, {"sku": "S", "lat": "1", "lng": "181"}, "lng: Input should be less than or equal to 180"),
    (mapping.DeliveryQuery, {"sku": "S", "store": ""}, "store: String should have at least 1 character"),
    (mapping.DeliveryQuery, {"sku": "S", "postcode": "1234567890123", "country": "US"},
     "postcode: String should match pattern '^[A-Za-z0-9][A-Za-z0-9 -]{0,11}$'"),
])
def test_invalid_queries_name_the_parameter(model: type[mapping.Query], params: dict[str, str] | None,
                                             reason: str) -> None:
    with pytest.raises(ValidationError) as raised:
        mapping.parse_query(model, params)
    assert raised.value.reason == reason


# -- sources ---------------------------------------------------------------------------------------------------


def test_unreadable_sources_are_reported_not_fatal() -> None:
    sources, problems = mapping.parse_sources([STORE_A, {"name": "no code"}, {"source_code": "x", "latitude": "N"}])
    assert list(sources) == ["store_a"]
    assert problems == ["source 1: Field required",
                        "source 2: Input should be a valid number, unable to parse string as a number"]


# -- stock per location ---------------------------------------------------------------------------------------


def line(sku: str, *nodes: tuple[str, str]) -> PromiseLine:
    inventory: Any = [{"Node": node, "AvailableOnhandQuantity": qty, "AvailableQuantity": qty} for node, qty in nodes]
    return PromiseLine.model_validate({"ItemID": sku, "Availability": {"AvailableInventory": {
        "ShipNodeAvailableInventory": {"Inventory": inventory[0] if len(inventory) == 1 else inventory}}}})


@pytest.mark.parametrize(("lines", "expected"), [
    ([line("S", ("store_a", "2.00"), ("wh_1", "7.50"))], {"store_a": Decimal(2), "wh_1": Decimal("7.5")}),
    ([line("S", ("store_a", "2.00"))], {"store_a": Decimal(2)}),
    ([line("S", ("store_a", "1")), line("S", ("store_a", "2"))], {"store_a": Decimal(3)}),
    ([line("OTHER", ("store_a", "9")), line("S", ("wh_1", "1"))], {"wh_1": Decimal(1)}),
    ([PromiseLine.model_validate({"ItemID": "S"})], {}),
])
def test_node_quantities(lines: list[PromiseLine], expected: dict[str, Decimal]) -> None:
    assert mapping.node_quantities(lines, "S") == expected


@pytest.mark.parametrize(("quantities", "expected", "unmapped"), [
    (
        {"store_a": Decimal("3"), "wh_1": Decimal("40.9"), "store_b": Decimal(0), "store_closed": Decimal(8),
         "dropship": Decimal(5), "ghost": Decimal(0)},
        {"sku": "S", "in_stock": True, "level": "in_stock", "quantity": 43, "locations": [
            {**A_SHOWN, "level": "low_stock", "quantity": 3},
            {**WAREHOUSE_SHOWN, "level": "in_stock", "quantity": 40},
            {**B_SHOWN, "level": "out_of_stock", "quantity": 0},
        ]},
        ["dropship"],
    ),
    (
        {"store_b": Decimal("-2")},
        {"sku": "S", "in_stock": False, "level": "out_of_stock", "quantity": 0, "locations": [
            {**B_SHOWN, "level": "out_of_stock", "quantity": 0}]},
        [],
    ),
    ({}, {"sku": "S", "in_stock": False, "level": "out_of_stock", "quantity": 0, "locations": []}, []),
])
def test_stock_answer(quantities: dict[str, Decimal], expected: dict[str, Any], unmapped: list[str]) -> None:
    assert mapping.stock_answer("S", quantities, SOURCES) == (expected, unmapped)


def test_stock_answer_through_the_node_to_source_table(overrides: Any) -> None:
    overrides({"node_to_source": {"SPR_01": "store_a"}})
    body, unmapped = mapping.stock_answer("S", {"SPR_01": Decimal(9)}, SOURCES)
    assert body["locations"] == [{**A_SHOWN, "level": "in_stock", "quantity": 9}]
    assert unmapped == []


def test_hidden_sources_and_levels_without_quantities(overrides: Any) -> None:
    overrides({"storefront": {"hidden_sources": ["wh_1"], "show_quantity": False, "low_stock_below": 10}})
    body, _ = mapping.stock_answer("S", {"store_a": Decimal(9), "wh_1": Decimal(50)}, SOURCES)
    assert body == {"sku": "S", "in_stock": True, "level": "low_stock", "quantity": None, "locations": [
        {**A_SHOWN, "level": "low_stock", "quantity": None}]}


@pytest.mark.parametrize(("quantity", "level"), [(0, "out_of_stock"), (-1, "out_of_stock"), (1, "low_stock"),
                                                 (4, "low_stock"), (5, "in_stock"), (500, "in_stock")])
def test_levels(quantity: int, level: str) -> None:
    assert mapping.level(quantity) == level


# -- pickup stores ----------------------------------------------------------------------------------------------


def node(name: str, miles: str) -> Node:
    return Node.model_validate({"ShipNode": name, "NodeType": "Store", "Description": f"internal {name}",
                                "DistanceFromShipToAddress": miles})


def test_candidates_from_sterling_nodes_keep_open_commerce_pickup_stores() -> None:
    nodes = [node("store_b", "12.40"), node("store_a", "0.31"), node("store_closed", "1"), node("wh_1", "2"),
             node("dropship", "3")]
    candidates, unmapped = mapping.candidates_from_nodes(nodes, SOURCES)
    assert [(c.source.source_code, c.node, c.distance) for c in candidates] == [
        ("store_a", "store_a", 0.31), ("store_b", "store_b", 12.4)]
    assert unmapped == ["dropship"]


@pytest.mark.parametrize(("radius", "unit", "expected"), [
    (50, "MILE", [("store_a", 0.0), ("store_b", 9.3)]),
    (5, "MILE", [("store_a", 0.0)]),
    (20, "KM", [("store_a", 0.0), ("store_b", 14.9)]),
])
def test_candidates_near_a_position(radius: float, unit: str, expected: list[tuple[str, float]]) -> None:
    found = mapping.candidates_near((39.8017, -89.6436), SOURCES, radius, unit)
    assert [(c.source.source_code, round(c.distance, 1)) for c in found] == expected


def test_pickup_answer_says_which_store_has_the_quantity(overrides: Any) -> None:
    overrides({"storefront": {"max_pickup_locations": 2}})
    query = mapping.parse_query(mapping.PickupQuery, {"sku": "S", "qty": "3", "postcode": "62701", "country": "us"})
    candidates = [mapping.Candidate(SOURCES["store_a"], "store_a", 0.04),
                  mapping.Candidate(SOURCES["store_b"], "store_b", 9.06),
                  mapping.Candidate(SOURCES["store_b"], "store_b_2", 11.0)]
    answer = mapping.pickup_answer(query, candidates, {"store_a": Decimal(2), "store_b": Decimal(3)}, "KM")
    assert answer == {"sku": "S", "qty": 3, "near": {"postcode": "62701", "country": "US"}, "distance_unit": "km",
                      "locations": [
                          {**A_SHOWN, "distance": 0.0, "available": False, "level": "low_stock", "quantity": 2},
                          {**B_SHOWN, "distance": 9.1, "available": True, "level": "low_stock", "quantity": 3}]}


# -- delivery estimate -----------------------------------------------------------------------------------------


def promise(assignments: list[dict[str, str]], unavailable: list[dict[str, str]] | None = None,
            option: dict[str, str] | None = None) -> Promise:
    suggested: dict[str, Any] = {"Option": {
        "PromiseLines": {"PromiseLine": [{"ItemID": "S", "Assignments": {"Assignment": assignments}}]},
        **(option or {})}}
    if unavailable is not None:
        suggested["UnavailableLines"] = {"UnavailableLine": unavailable}
    return Promise.model_validate({"SuggestedOption": suggested})


DELIVERY = mapping.DeliveryQuery(sku="S", qty=3, postcode="10001", country="US")
HOME = {"sku": "S", "qty": 3, "method": "delivery", "destination": {"postcode": "10001", "country": "US"}}


@pytest.mark.parametrize(("answer", "expected"), [
    (promise([{"ShipNode": "wh_1", "Quantity": "3.00", "DeliveryDate": "2026-03-04T18:00:00-05:00"}]),
     {**HOME, "available": True, "date": "2026-03-04", "available_qty": 3}),
    (promise([{"ShipNode": "wh_1", "Quantity": "2", "DeliveryDate": "2026-03-04T10:00:00+00:00"},
              {"ShipNode": "store_a", "Quantity": "1", "DeliveryDate": "2026-03-06"}]),
     {**HOME, "available": True, "date": "2026-03-06", "available_qty": 3}),
    (promise([{"ShipNode": "wh_1", "Quantity": "3"}], option={"LastDate": "2026-03-09T00:00:00"}),
     {**HOME, "available": True, "date": "2026-03-09", "available_qty": 3}),
    (promise([{"ShipNode": "wh_1", "Quantity": "2", "DeliveryDate": "2026-03-04"}],
             unavailable=[{"ItemID": "S", "UnavailableQty": "1"}]),
     {**HOME, "available": False, "date": None, "available_qty": 2}),
    (promise([{"ShipNode": "", "Quantity": "0", "EmptyAssignmentReason": "NO_INVENTORY"}]),
     {**HOME, "available": False, "date": None, "available_qty": 0}),
    (promise([{"ShipNode": "wh_1", "Quantity": "3", "DeliveryDate": "2026-03-04"}],
             option={"HasAnyUnavailableQty": "Y"}),
     {**HOME, "available": False, "date": None, "available_qty": 3}),
    (Promise.model_validate({}), {**HOME, "available": False, "date": None, "available_qty": 0}),
])
def test_delivery_answer(answer: Promise, expected: dict[str, Any]) -> None:
    assert mapping.delivery_answer(DELIVERY, answer, None) == expected


def test_pickup_answer_names_the_store() -> None:
    query = mapping.DeliveryQuery(sku="S", qty=1, store="store_a")
    answer = promise([{"ShipNode": "store_a", "Quantity": "1", "DeliveryDate": "2026-03-04T09:00:00+00:00"}])
    assert mapping.delivery_answer(query, answer, SOURCES["store_a"]) == {
        "sku": "S", "qty": 1, "method": "pickup", "store": {"source_code": "store_a", "name": "Springfield Downtown"},
        "available": True, "date": "2026-03-04", "available_qty": 1}


@pytest.mark.parametrize(("node_name", "expected"), [
    (None, [{"ItemID": "S", "RequiredQty": "4"}]),
    ("store_a", [{"ItemID": "S", "RequiredQty": "4", "ShipNode": "store_a"}]),
])
def test_promise_lines(node_name: str | None, expected: list[dict[str, str]]) -> None:
    assert mapping.promise_lines("S", 4, node=node_name) == expected


# -- HTTP ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("setting", "origin", "expected"), [
    ("", "https://shop.example.com", {}),
    ("https://shop.example.com", "https://shop.example.com",
     {"Vary": "Origin", "Access-Control-Allow-Origin": "https://shop.example.com",
      "Access-Control-Allow-Methods": "GET", "Access-Control-Max-Age": "600"}),
    (" https://a.example/ ,https://shop.example.com", "https://a.example",
     {"Vary": "Origin", "Access-Control-Allow-Origin": "https://a.example",
      "Access-Control-Allow-Methods": "GET", "Access-Control-Max-Age": "600"}),
    ("https://shop.example.com", "https://shop.example.com.evil.net", {"Vary": "Origin"}),
    ("https://shop.example.com", None, {"Vary": "Origin"}),
    ("*", "https://anyone.example", {"Vary": "Origin"}),
])
def test_cors_only_for_configured_origins(setting: str, origin: str | None, expected: dict[str, str]) -> None:
    assert mapping.cors_headers(origin, mapping.allowed_origins(setting)) == expected


@pytest.mark.parametrize(("status", "max_age", "expected"), [
    (200, 5.0, "public, max-age=5"), (200, 0.0, "no-store"), (400, 5.0, "no-store"), (503, 5.0, "no-store"),
])
def test_cache_control(status: int, max_age: float, expected: str) -> None:
    assert mapping.cache_control(status, max_age) == expected
