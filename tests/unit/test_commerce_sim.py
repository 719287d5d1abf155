"""The Commerce simulator's rules, driven in-process (no sockets): routes, auth, searchCriteria,
the order state machine, shipments, invoices, MSI, bulk operations and the events it raises."""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest

from sandbox.sim.base import Request, Response
from sandbox.sim.commerce import IMS_TOKEN_PATH, ORDER_SAVED, CommerceSim, canonical_path
from sandbox.sim.commerce import search as sim_search
from sandbox.sim.commerce.orders import DEFAULT_STATUS
from sandbox.sim.commerce.sim import parse_fields, select_fields
from tests.support import foreign

P = "/rest/default/V1"


def call(sim: CommerceSim, method: str, path: str, body: Any = None, query: dict[str, str] | None = None,
         headers: dict[str, str] | None = None) -> Response:
    raw = urlencode(query or {})
    return sim.dispatch(Request(
        method=method, path=path, query=parse_qs(raw, keep_blank_values=True), raw_query=raw,
        headers={"authorization": "Bearer tok"} if headers is None else headers,
        body=b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode()),
    ))


def order(state: str = "new", entity_id: int = 10, **extra: Any) -> dict[str, Any]:
    return {
        "entity_id": entity_id, "increment_id": f"1000000{entity_id}", "state": state,
        "status": DEFAULT_STATUS[state], "base_grand_total": 30, "grand_total": 30,
        "customer_email": "jane@example.com",
        "items": [
            {"item_id": 100, "sku": "A", "name": "A", "qty_ordered": 2, "price": 10, "row_total": 20,
             "product_type": "simple"},
            {"item_id": 101, "sku": "B", "name": "B", "qty_ordered": 1, "price": 10, "row_total": 10,
             "product_type": "simple"},
        ],
        **extra,
    }


@pytest.fixture
def events() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def sim(events: list[dict[str, Any]]) -> CommerceSim:
    simulator = CommerceSim(bearer_token="tok", ims_client_id="ims-client", ims_client_secret="ims-secret")
    simulator.emit = events.append
    simulator.load_seed({
        "products": [{"sku": "A", "name": "A"}, {"sku": "B", "name": "B"}],
        "orders": [order()],
        "sources": [{"source_code": "dc1"}, {"source_code": "store1"}],
        "source_items": [{"sku": "A", "source_code": "dc1", "quantity": 5, "status": 1}],
    })
    return simulator


# -- routing and auth --------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "canonical"), [
    ("/rest/default/V1/orders/5", "/V1/orders/5"),
    ("/rest/V1/orders", "/V1/orders"),
    ("/V1/orders", "/V1/orders"),
    ("/tenant-1/V1/orders", "/V1/orders"),
    ("/rest/all/async/bulk/V1/inventory/source-items", "/async/bulk/V1/inventory/source-items"),
    ("/V1/async/bulk/inventory/source-items", "/async/bulk/V1/inventory/source-items"),
    ("/rest/default/async/V1/orders/5/hold", None),
    ("/orders/5", None),
    (IMS_TOKEN_PATH, IMS_TOKEN_PATH),
])
def test_canonical_path(path: str, canonical: str | None) -> None:
    assert canonical_path(path) == canonical


@pytest.mark.parametrize(("method", "path"), [("GET", f"{P}/nothing"), ("DELETE", f"{P}/orders/10"),
                                              ("GET", "/elsewhere")])
def test_unknown_routes_are_404_in_commerce_shape(sim: CommerceSim, method: str, path: str) -> None:
    answer = call(sim, method, path)
    assert (answer.status, answer.body) == (404, {"message": "Request does not match any route."})


@pytest.mark.parametrize(("headers", "why", "resource"), [
    ({}, "OAuth 1.0a is not configured", "Magento_Sales::sales"),
    ({"authorization": "Bearer nope"}, "unknown bearer token", "Magento_Sales::sales"),
])
def test_unauthenticated_calls_get_401(sim: CommerceSim, headers: dict[str, str], why: str, resource: str) -> None:
    answer = call(sim, "GET", f"{P}/orders/10", headers=headers)
    assert (answer.status, answer.body) == (401, {
        "message": "The consumer isn't authorized to access %resources.", "parameters": {"resources": resource}})
    assert sim.auth_failures == [why]


def test_ims_stand_in_issues_tokens_bound_to_the_client_id(sim: CommerceSim) -> None:
    form = urlencode({"grant_type": "client_credentials", "client_id": "ims-client", "client_secret": "ims-secret"})
    issued = call(sim, "POST", IMS_TOKEN_PATH, form.encode(), headers={})
    assert (issued.status, issued.body["expires_in"]) == (200, 86399)
    token = issued.body["access_token"]
    ok = call(sim, "GET", "/V1/orders/10", headers={"authorization": f"Bearer {token}", "x-api-key": "ims-client"})
    wrong = call(sim, "GET", "/V1/orders/10", headers={"authorization": f"Bearer {token}", "x-api-key": "other"})
    assert (ok.status, wrong.status) == (200, 401)
    refused = call(sim, "POST", IMS_TOKEN_PATH, form.replace("ims-secret", "guess").encode(), headers={})
    assert (refused.status, refused.body["error"]) == (401, "invalid_client")


# -- seeds -------------------------------------------------------------------------------------

def test_only_what_the_seed_names_exists(sim: CommerceSim) -> None:
    assert call(sim, "GET", f"{P}/orders/10").body["increment_id"] == "100000010"
    assert call(sim, "GET", f"{P}/orders/11").status == 404
    sources = call(sim, "GET", f"{P}/inventory/sources").body
    assert [s["source_code"] for s in sources["items"]] == ["dc1", "store1"]
    empty = CommerceSim(bearer_token="tok")
    assert call(empty, "GET", f"{P}/inventory/sources").body == {
        "items": [], "search_criteria": {"filter_groups": []}, "total_count": 0}


# -- searchCriteria and the fields filter ------------------------------------------------------

ROWS = [
    {"id": 1, "sku": "Red-Shirt", "qty": 5, "tags": "a,b", "note": None, "created_at": "2024-01-01 10:00:00"},
    {"id": 2, "sku": "red-hat", "qty": 10, "tags": "b", "note": "x", "created_at": "2024-02-01 10:00:00"},
    {"id": 3, "sku": "Blue", "qty": 7.5, "tags": "c", "created_at": "2024-03-01 10:00:00"},
]


@pytest.mark.parametrize(("field", "value", "condition", "ids"), [
    ("sku", "red-shirt", "eq", [1]),
    ("qty", "10.0", "eq", [2]),
    ("sku", "Blue", "neq", [1, 2]),
    ("note", "x", "neq", []),
    ("sku", "red%", "like", [1, 2]),
    ("sku", "b_ue", "like", [3]),
    ("id", "1,3", "in", [1, 3]),
    ("id", "1,3", "nin", [2]),
    ("qty", "10, 7.50", "in", [2, 3]),
    ("sku", "BLUE,red-hat ,x", "in", [2, 3]),
    ("qty", "7", "gt", [2, 3]),
    ("qty", "7.5", "gteq", [2, 3]),
    ("qty", "7.5", "lt", [1]),
    ("qty", "7.5", "lteq", [1, 3]),
    ("created_at", "2024-02-01 00:00:00", "from", [2, 3]),
    ("created_at", "2024-02-01 23:59:59", "to", [1, 2]),
    ("note", "", "null", [1, 3]),
    ("note", "", "notnull", [2]),
    ("tags", "b", "finset", [1, 2]),
])
def test_search_conditions(field: str, value: str, condition: str, ids: list[int]) -> None:
    criteria = sim_search.Criteria(groups=[[sim_search.Condition(field, value, condition)]])
    assert [row["id"] for row in sim_search.apply(ROWS, criteria)[0]] == ids


def _query(groups: list[list[tuple[str, str, str]]], **extra: str) -> dict[str, list[str]]:
    flat: dict[str, str] = {}
    for g, group in enumerate(groups):
        for f, (field, value, condition) in enumerate(group):
            key = f"searchCriteria[filter_groups][{g}][filters][{f}]"
            flat.update({f"{key}[field]": field, f"{key}[value]": value, f"{key}[condition_type]": condition})
    flat.update(extra)
    return {k: [v] for k, v in flat.items()}


def test_groups_are_anded_and_filters_in_a_group_ored() -> None:
    criteria = sim_search.parse(_query([[("sku", "Blue", "eq"), ("sku", "red-hat", "eq")], [("qty", "8", "gt")]]),
                                required=True)
    assert [row["id"] for row in sim_search.apply(ROWS, criteria)[0]] == [2]


def test_camel_case_keys_sorting_and_the_page_past_the_end() -> None:
    query = {"searchCriteria[filterGroups][0][filters][0][field]": ["qty"],
             "searchCriteria[filterGroups][0][filters][0][value]": ["0"],
             "searchCriteria[filterGroups][0][filters][0][conditionType]": ["gt"],
             "searchCriteria[sortOrders][0][field]": ["qty"], "searchCriteria[sortOrders][0][direction]": ["DESC"],
             "searchCriteria[pageSize]": ["2"], "searchCriteria[currentPage]": ["9"]}
    answer = sim_search.result(ROWS, sim_search.parse(query, required=True))
    # Commerce answers a page past the end with the last page.
    assert ([row["id"] for row in answer["items"]], answer["total_count"]) == ([1], 3)
    assert answer["search_criteria"] == {
        "filter_groups": [{"filters": [{"field": "qty", "value": "0", "condition_type": "gt"}]}],
        "sort_orders": [{"field": "qty", "direction": "DESC"}], "page_size": 2, "current_page": 9}


@pytest.mark.parametrize(("query", "message", "parameters"), [
    ({}, '"%fieldName" is required. Enter and try again.', {"fieldName": "searchCriteria"}),
    ({"searchCriteria[pageSize]": ["ten"]},
     'The "%value" value\'s type is invalid. The "%type" type was expected. Verify and try again.',
     {"value": "ten", "type": "int"}),
    (_query([[("sku", "A", "equals")]]), 'Invalid condition type "%1".', ["equals"]),
])
def test_bad_search_criteria_are_400(sim: CommerceSim, query: dict[str, list[str]], message: str,
                                     parameters: Any) -> None:
    answer = call(sim, "GET", f"{P}/orders", query={k: v[0] for k, v in query.items()})
    assert (answer.status, answer.body) == (400, {"message": message, "parameters": parameters})


def test_order_search_by_increment_id(sim: CommerceSim) -> None:
    answer = call(sim, "GET", f"{P}/orders", query={k: v[0] for k, v in _query([[
        ("increment_id", "100000010", "eq")]]).items()})
    assert [o["entity_id"] for o in answer.body["items"]] == [10]


@pytest.mark.parametrize(("spec", "parsed"), [
    ("items[id,sku]", {"items": {"id": None, "sku": None}}),
    ("items[id,extension_attributes[source_code]],total_count",
     {"items": {"id": None, "extension_attributes": {"source_code": None}}, "total_count": None}),
    (" total_count ", {"total_count": None}),
])
def test_parse_fields(spec: str, parsed: dict[str, Any]) -> None:
    assert parse_fields(spec) == parsed


def test_select_fields_keeps_only_what_was_asked() -> None:
    answer = {"items": [{"id": 1, "sku": "A", "name": "x", "extension_attributes": {"source_code": "s", "o": 1}}],
              "total_count": 1}
    assert select_fields(answer, parse_fields("items[sku,extension_attributes[source_code]]")) == {
        "items": [{"sku": "A", "extension_attributes": {"source_code": "s"}}]}


def test_products_are_searchable_by_entity_id_and_trimmed_by_fields(sim: CommerceSim) -> None:
    answer = call(sim, "GET", f"{P}/products", query={
        "searchCriteria[filter_groups][0][filters][0][field]": "entity_id",
        "searchCriteria[filter_groups][0][filters][0][value]": "2,9",
        "searchCriteria[filter_groups][0][filters][0][condition_type]": "in",
        "fields": "items[id,sku]"})
    assert (answer.status, answer.body) == (200, {"items": [{"id": 2, "sku": "B"}]})


# -- order state machine -----------------------------------------------------------------------

@pytest.mark.parametrize(("state", "action", "status", "answer", "after"), [
    ("new", "hold", 200, True, "holded"),
    ("processing", "hold", 200, True, "holded"),
    ("holded", "hold", 400, {"message": "A hold action is not available."}, "holded"),
    ("complete", "hold", 400, {"message": "A hold action is not available."}, "complete"),
    ("canceled", "hold", 400, {"message": "A hold action is not available."}, "canceled"),
    ("payment_review", "hold", 400, {"message": "A hold action is not available."}, "payment_review"),
    ("processing", "unhold", 400, {"message": "You cannot remove the hold."}, "processing"),
    ("new", "cancel", 200, True, "canceled"),
    ("processing", "cancel", 200, True, "canceled"),
    ("holded", "cancel", 200, False, "holded"),
    ("complete", "cancel", 200, False, "complete"),
    ("closed", "cancel", 200, False, "closed"),
    ("canceled", "cancel", 200, False, "canceled"),
])
def test_state_machine(state: str, action: str, status: int, answer: Any, after: str,
                       events: list[dict[str, Any]]) -> None:
    simulator = CommerceSim(bearer_token="tok")
    simulator.emit = events.append
    simulator.load_seed({"orders": [order(state)]})
    result = call(simulator, "POST", f"{P}/orders/10/{action}")
    assert (result.status, result.body) == (status, answer)
    assert simulator.orders[10]["state"] == after
    # Only a change that saved the order raises an event.
    assert len(events) == (1 if answer is True else 0)


def test_unhold_restores_the_state_and_status_before_the_hold() -> None:
    simulator = CommerceSim(bearer_token="tok")
    simulator.load_seed({"orders": [order("processing")]})
    call(simulator, "POST", f"{P}/orders/10/comments", {"statusHistory": {"comment": "c", "status": "fraud"}})
    call(simulator, "POST", f"{P}/orders/10/hold")
    held = simulator.orders[10]
    assert (held["state"], held["status"], held["hold_before_state"], held["hold_before_status"]) == (
        "holded", "holded", "processing", "fraud")
    assert call(simulator, "POST", f"{P}/orders/10/unhold").body is True
    assert (simulator.orders[10]["state"], simulator.orders[10]["status"]) == ("processing", "fraud")
    assert "hold_before_state" not in simulator.orders[10]


def test_a_fully_invoiced_order_cannot_be_cancelled(sim: CommerceSim) -> None:
    assert call(sim, "POST", f"{P}/order/10/invoice", {"capture": True}).status == 200
    assert call(sim, "POST", f"{P}/orders/10/cancel").body is False


def test_comment_with_status_changes_the_status_and_is_listed_newest_first() -> None:
    simulator = CommerceSim(bearer_token="tok")
    simulator.load_seed({"orders": [order("processing")]})
    first = call(simulator, "POST", f"{P}/orders/10/comments", {"statusHistory": {
        "comment": "one", "is_customer_notified": 0, "is_visible_on_front": 0, "parent_id": 10}})
    call(simulator, "POST", f"{P}/orders/10/comments", {"statusHistory": {
        "comment": "two", "is_customer_notified": 1, "is_visible_on_front": 1, "parent_id": 10, "status": "fraud"}})
    assert first.body is True
    histories = simulator.orders[10]["status_histories"]
    assert [(h["comment"], h["status"], h["is_customer_notified"]) for h in histories] == [
        ("two", "fraud", 1), ("one", "processing", 0)]
    assert simulator.orders[10]["status"] == "fraud"


@pytest.mark.parametrize(("body", "expected"), [
    ({"comment": "flat"}, {"message": '"%fieldName" is required. Enter and try again.',
                           "parameters": {"fieldName": "statusHistory"}}),
    ({"statusHistory": {"comment": "c", "status": "complete"}},
     {"message": 'Unable to add comment: The status "%1" is not part of the order status history.',
      "parameters": ["complete"]}),
])
def test_comment_rejections(sim: CommerceSim, body: dict[str, Any], expected: dict[str, Any]) -> None:
    answer = call(sim, "POST", f"{P}/orders/10/comments", body)
    assert (answer.status, answer.body) == (400, expected)
    assert sim.orders[10]["status_histories"] == []


# -- shipments and invoices --------------------------------------------------------------------

TRACK = {"track_number": "1Z999", "title": "UPS", "carrier_code": "ups"}


def ship_body(*lines: tuple[int, Any], source: str = "dc1", tracks: list[dict[str, Any]] | None = None
              ) -> dict[str, Any]:
    return {"items": [{"order_item_id": i, "qty": q} for i, q in lines], "tracks": [TRACK] if tracks is None
            else tracks, "arguments": {"extension_attributes": {"source_code": source}}}


def test_partial_then_full_shipment_then_invoice_completes_the_order(sim: CommerceSim) -> None:
    first = call(sim, "POST", f"{P}/order/10/ship", ship_body((100, 1)))
    assert (first.status, first.body) == (200, 1)
    assert (sim.orders[10]["state"], sim.orders[10]["items"][0]["qty_shipped"]) == ("processing", 1)
    assert call(sim, "POST", f"{P}/order/10/ship", ship_body((100, 1), (101, 1))).body == 2
    # Everything shipped but nothing invoiced: Commerce keeps it processing.
    assert sim.orders[10]["state"] == "processing"
    assert call(sim, "POST", f"{P}/order/10/invoice", {"capture": True}).body == 1
    assert (sim.orders[10]["state"], sim.orders[10]["total_paid"]) == ("complete", 30)


def test_shipment_deducts_the_source_item_and_is_searchable(sim: CommerceSim) -> None:
    call(sim, "POST", f"{P}/order/10/ship", ship_body((100, 2)))
    assert sim.source_items[("A", "dc1")] == {"sku": "A", "source_code": "dc1", "quantity": 3, "status": 1}
    found = call(sim, "GET", f"{P}/shipments", query={
        "searchCriteria[filter_groups][0][filters][0][field]": "order_id",
        "searchCriteria[filter_groups][0][filters][0][value]": "10"}).body
    shipment = found["items"][0]
    assert (shipment["total_qty"], shipment["extension_attributes"], shipment["items"][0]["order_item_id"]) == (
        2, {"source_code": "dc1"}, 100)
    assert shipment["tracks"][0]["track_number"] == "1Z999"


@pytest.mark.parametrize(("body", "status", "expected"), [
    (ship_body((999, 1)), 400, {"message": "Shipment Document Validation Error(s):\n%1", "parameters": [
        'The shipment contains order item "999" that is not part of the original order.']}),
    (ship_body((100, 3)), 400, {"message": "Shipment Document Validation Error(s):\n%1", "parameters": [
        'The quantity to ship must not be greater than the remaining quantity for product SKU "A".']}),
    (ship_body((100, 1), source="nowhere"), 400, {"message": "Shipment Document Validation Error(s):\n%1",
                                                  "parameters": ['Source "nowhere" does not exist.']}),
    (ship_body((100, 1), tracks=[{"track_number": "1Z", "title": "UPS"}]), 400, {
        "message": '"%fieldName" is required. Enter and try again.', "parameters": {"fieldName": "carrier_code"}}),
    (ship_body((100, "x")), 400, {
        "message": 'The "%value" value\'s type is invalid. The "%type" type was expected. Verify and try again.',
        "parameters": {"value": "x", "type": "float"}}),
    (ship_body((100, 0)), 400, {"message": "Shipment Document Validation Error(s):\n%1", "parameters": [
        "You can't create a shipment without products."]}),
])
def test_ship_validation(sim: CommerceSim, events: list[dict[str, Any]], body: dict[str, Any], status: int,
                         expected: dict[str, Any]) -> None:
    answer = call(sim, "POST", f"{P}/order/10/ship", body)
    assert (answer.status, answer.body) == (status, expected)
    assert (sim.shipments, events, sim.orders[10]["items"][0]["qty_shipped"]) == ({}, [], 0)


def test_a_held_order_cannot_ship_or_invoice(sim: CommerceSim) -> None:
    call(sim, "POST", f"{P}/orders/10/hold")
    shipped = call(sim, "POST", f"{P}/order/10/ship", ship_body((100, 1)))
    invoiced = call(sim, "POST", f"{P}/order/10/invoice", {})
    assert shipped.body["parameters"] == ["A shipment cannot be created when an order has a status of holded"]
    assert invoiced.body["parameters"] == ["An invoice cannot be created when an order has a status of holded"]


def test_configurable_parent_is_shipped_and_its_child_follows() -> None:
    simulator = CommerceSim(bearer_token="tok")
    simulator.load_seed({"orders": [order(items=[
        {"item_id": 1, "sku": "TEE-M", "qty_ordered": 2, "product_type": "configurable", "row_total": 20},
        {"item_id": 2, "sku": "TEE-M", "qty_ordered": 2, "product_type": "simple", "parent_item_id": 1}])]})
    child = call(simulator, "POST", f"{P}/order/10/ship", ship_body((2, 1), tracks=[]))
    assert child.status == 400
    assert call(simulator, "POST", f"{P}/order/10/ship", ship_body((1, 2), tracks=[])).status == 200
    assert [i["qty_shipped"] for i in simulator.orders[10]["items"]] == [2, 2]


def test_refund_of_everything_closes_the_order(sim: CommerceSim) -> None:
    call(sim, "POST", f"{P}/order/10/invoice", {"capture": True})
    call(sim, "POST", f"{P}/order/10/ship", ship_body((100, 2), (101, 1)))
    assert sim.orders[10]["state"] == "complete"
    too_much = call(sim, "POST", f"{P}/order/10/refund", {"items": [{"order_item_id": 100, "qty": 3}]})
    assert too_much.status == 400
    assert call(sim, "POST", f"{P}/invoice/1/refund", {"items": [{"order_item_id": 100, "qty": 2}]}).body == 1
    assert sim.orders[10]["state"] == "complete"
    assert call(sim, "POST", f"{P}/order/10/refund", {}).body == 2
    assert (sim.orders[10]["state"], sim.orders[10]["total_refunded"]) == ("closed", 30)


def test_ready_for_pickup_ships_pickup_orders_from_their_location(sim: CommerceSim) -> None:
    sim.load_seed({"orders": [order(entity_id=11, extension_attributes={"pickup_location_code": "store1"})]})
    answer = call(sim, "POST", f"{P}/order/notify-orders-are-ready-for-pickup", {"orderIds": [11, 10, 99]})
    assert answer.body == {"successful": False, "errors": [
        "Order 10: The order is not an in-store pickup order.",
        "Order 99: The entity that was requested doesn't exist."]}
    shipment = next(iter(sim.shipments.values()))
    assert (shipment["order_id"], shipment["extension_attributes"]["source_code"]) == (11, "store1")


# -- MSI ---------------------------------------------------------------------------------------

def test_source_items_upsert_validates_every_item_before_saving(sim: CommerceSim) -> None:
    items = [{"sku": "A", "source_code": "dc1", "quantity": 9, "status": 1},
             {"sku": "NOPE", "source_code": "dc9", "quantity": "lots", "status": 2}]
    answer = call(sim, "POST", f"{P}/inventory/source-items", {"sourceItems": items})
    assert (answer.status, answer.body) == (400, {"message": "Validation Failed", "errors": [
        {"message": 'Product with SKU "%sku" does not exist (source item %index).',
         "parameters": {"sku": "NOPE", "index": 1}},
        {"message": 'Source with code "%code" does not exist (source item %index).',
         "parameters": {"code": "dc9", "index": 1}},
        {"message": '"%field" should be numeric (source item %index).',
         "parameters": {"field": "quantity", "index": 1}},
        {"message": '"%field" should be one of 0 or 1 (source item %index).',
         "parameters": {"field": "status", "index": 1}}]})
    assert sim.source_items[("A", "dc1")]["quantity"] == 5
    assert call(sim, "POST", f"{P}/inventory/source-items", {"sourceItems": items[:1]}).body == []
    assert sim.source_items[("A", "dc1")]["quantity"] == 9
    assert call(sim, "POST", f"{P}/inventory/source-items-delete", {"sourceItems": items[:1]}).body == []
    assert ("A", "dc1") not in sim.source_items


def test_bulk_operations_go_open_then_complete_or_failed(sim: CommerceSim) -> None:
    accepted = call(sim, "POST", "/V1/async/bulk/inventory/source-items", [
        {"sourceItems": [{"sku": "B", "source_code": "dc1", "quantity": 4, "status": 1}]},
        {"sourceItems": [{"sku": "NOPE", "source_code": "dc1", "quantity": 4, "status": 1}]},
        {"items": []}])
    assert accepted.status == 202
    assert [(i["id"], i["status"]) for i in accepted.body["request_items"]] == [
        (0, "accepted"), (1, "accepted"), (2, "rejected")]
    assert accepted.body["errors"] is True
    uuid = accepted.body["bulk_uuid"]
    assert ("B", "dc1") not in sim.source_items
    first = call(sim, "GET", f"{P}/bulk/{uuid}/status").body
    assert [op["status"] for op in first["operations_list"]] == [4, 4]
    second = call(sim, "GET", f"{P}/bulk/{uuid}/status").body
    assert [(op["status"], op["error_code"]) for op in second["operations_list"]] == [(1, None), (3, 0)]
    assert second["operations_list"][1]["result_message"] == 'Product with SKU "NOPE" does not exist (source item 0).'
    assert sim.source_items[("B", "dc1")]["quantity"] == 4
    assert call(sim, "GET", f"{P}/bulk/unknown/status").body == {
        "message": "Bulk uuid %bulkUuid not exist", "parameters": {"bulkUuid": "unknown"}}


def test_run_consumers_applies_open_operations(sim: CommerceSim) -> None:
    call(sim, "POST", "/rest/default/async/bulk/V1/inventory/source-items", [
        {"sourceItems": [{"sku": "B", "source_code": "store1", "quantity": 2, "status": 1}]}])
    sim.run_consumers()
    assert sim.source_items[("B", "store1")]["quantity"] == 2


# -- placing orders and the events they raise --------------------------------------------------

@pytest.fixture
def fixture_order() -> dict[str, Any]:
    value: dict[str, Any] = foreign("commerce_event_sales_order_save_commit_after.json")["data"]["value"]
    return value


def test_place_order_keeps_both_faces_of_the_order(sim: CommerceSim, fixture_order: dict[str, Any]) -> None:
    event = sim.place_order(copy.deepcopy(fixture_order))
    stored = sim.find_order("000000617")
    assert stored is not None
    entity_id = stored["entity_id"]
    assert entity_id == 11
    assert (event["type"], event["specversion"], event["datacontenttype"]) == (ORDER_SAVED, "1.0", "application/json")
    value = event["data"]["value"]
    assert "entity_id" not in value
    assert (value["items"][0]["item_id"], value["items"][0]["order_id"]) == ("102", "11")
    assert (value["payment"]["cc_last_4"], value["addresses"][0]["street"]) == ("1111", "100 Example Street\nSuite 5")
    rest = call(sim, "GET", f"{P}/orders/{entity_id}").body
    assert (rest["items"][0]["item_id"], rest["items"][0]["product_id"], rest["payment"]["cc_last4"]) == (
        102, 3953, "1111")
    assert rest["billing_address"]["street"] == ["100 Example Street", "Suite 5"]
    shipping = rest["extension_attributes"]["shipping_assignments"][0]["shipping"]
    assert (shipping["method"], shipping["address"]["address_type"]) == ("flatrate_flatrate", "shipping")
    with pytest.raises(ValueError, match="already exists"):
        sim.place_order(copy.deepcopy(fixture_order))


def test_every_rest_change_raises_a_fresh_order_event(sim: CommerceSim, events: list[dict[str, Any]],
                                                      fixture_order: dict[str, Any]) -> None:
    placed = sim.place_order(copy.deepcopy(fixture_order))
    assert events == []
    call(sim, "POST", f"{P}/orders/11/comments", {"statusHistory": {"comment": "[oms-bridge] sent"}})
    call(sim, "POST", f"{P}/orders/11/hold")
    call(sim, "POST", f"{P}/orders/11/hold")
    assert [e["data"]["value"]["state"] for e in events] == ["processing", "holded"]
    assert len({placed["id"], *(e["id"] for e in events)}) == 3
    latest = events[-1]["data"]["value"]
    assert latest["status_histories"][0]["comment"] == "[oms-bridge] sent"
    assert (latest["increment_id"], latest["items"][0]["product_options"]["info_buyRequest"]["qty"]) == (
        "000000617", 1)


# -- stores, the country directory and narrowed events (sandbox/sim/commerce/stores.py) ----------------


def test_store_views_and_websites_are_the_installs_plus_the_seeds_and_paths_name_a_known_one() -> None:
    sim = CommerceSim(bearer_token="tok")
    sim.load_seed({"websites": [{"id": 2, "code": "eu", "name": "EU"}],
                   "store_views": [{"id": 2, "code": "eu_en", "name": "EU English", "website_id": 2}]})

    views = call(sim, "GET", f"{P}/store/storeViews").body
    assert [(view["id"], view["code"], view["website_id"]) for view in views] == [
        (0, "admin", 0), (1, "default", 1), (2, "eu_en", 2)]
    assert [site["code"] for site in call(sim, "GET", f"{P}/store/websites").body] == ["admin", "base", "eu"]
    assert call(sim, "GET", "/rest/eu_en/V1/store/websites").status == 200
    assert call(sim, "GET", "/rest/all/V1/store/websites").status == 200
    # Magento\Webapi\Controller\PathProcessor keeps an unknown code in the path: no route matches.
    assert (call(sim, "GET", "/rest/nowhere/V1/store/websites").status,
            call(sim, "GET", "/rest/nowhere/V1/store/websites").body) == (404, {
                "message": "Request does not match any route."})


def test_the_country_directory_lists_magentos_regions() -> None:
    sim = CommerceSim(bearer_token="tok")
    india = call(sim, "GET", f"{P}/directory/countries/IN").body
    assert {"id": "544", "code": "GJ", "name": "Gujarat"} in india["available_regions"]
    assert {region["code"] for region in call(sim, "GET", f"{P}/directory/countries/DE").body[
        "available_regions"]} >= {"BY", "BE", "NW"}
    assert "available_regions" not in call(sim, "GET", f"{P}/directory/countries/GB").body
    missing = call(sim, "GET", f"{P}/directory/countries/XX")
    assert (missing.status, missing.body) == (404, {"message": "Requested country is not available."})


def test_events_carry_the_subscribed_fields_only_and_where_the_order_was_placed() -> None:
    sim = CommerceSim(bearer_token="tok")
    sim.load_seed({"websites": [{"id": 2, "code": "eu", "name": "EU"}],
                   "store_views": [{"id": 5, "code": "eu_en", "name": "EU English", "website_id": 2}],
                   "event_fields": {"observer.sales_order_save_commit_after": [
                       "increment_id", "items[].sku", "payment.method"]}})
    model = copy.deepcopy(foreign("commerce_event_sales_order_save_commit_after.json")["data"]["value"])
    model["store_id"] = 5

    event = sim.place_order(model)

    assert event["data"]["value"] == {"increment_id": "000000617", "items": [{"sku": "Adobe_Pro_12"}],
                                      "payment": {"method": "braintree"}}
    assert {key: event["data"]["_metadata"][key] for key in ("storeId", "websiteId")} == {
        "storeId": "5", "websiteId": "2"}


# -- Web API input limits ----------------------------------------------------------------------

PAGE_SIZE = "searchCriteria[pageSize]"
SOURCE_ITEM = "\\Magento\\InventoryApi\\Api\\Data\\SourceItemInterface"


def items_of(count: int) -> list[dict[str, Any]]:
    return [{"sku": "A", "source_code": "dc1", "quantity": n, "status": 1} for n in range(count)]


def limited(**config: int) -> CommerceSim:
    simulator = CommerceSim(bearer_token="tok")
    simulator.load_seed({"config": config, "products": [{"sku": "A"}], "sources": [{"source_code": "dc1"}]})
    return simulator


def test_input_limits_are_off_unless_the_seed_turns_them_on() -> None:
    simulator = limited()
    assert call(simulator, "POST", f"{P}/inventory/source-items", {"sourceItems": items_of(21)}).status == 200
    assert call(simulator, "GET", f"{P}/inventory/source-items", query={PAGE_SIZE: "5000"}).status == 200


def test_a_synchronous_list_longer_than_the_limit_is_refused_whole() -> None:
    simulator = limited(input_list_limit=20)
    refused = call(simulator, "POST", f"{P}/inventory/source-items", {"sourceItems": items_of(21)})
    assert (refused.status, refused.body) == (400, {
        "message": 'Maximum items of type "%type" is %max', "parameters": {"type": SOURCE_ITEM, "max": 20}})
    assert simulator.source_items == {}
    assert call(simulator, "POST", f"{P}/inventory/source-items", {"sourceItems": items_of(20)}).status == 200
    deleted = call(simulator, "POST", f"{P}/inventory/source-items-delete", {"sourceItems": items_of(21)})
    assert (deleted.status, deleted.body["parameters"]["max"]) == (400, 20)


def test_the_asynchronous_limit_is_per_operation_and_defaults_to_5000() -> None:
    simulator = limited(input_list_limit=20)
    accepted = call(simulator, "POST", f"{P[:-3]}/async/bulk/V1/inventory/source-items",
                    [{"sourceItems": items_of(5000)}, {"sourceItems": items_of(21)}])
    assert accepted.status == 202
    refused = call(simulator, "POST", f"{P[:-3]}/async/bulk/V1/inventory/source-items",
                   [{"sourceItems": items_of(1)}, {"sourceItems": items_of(5001)}])
    assert (refused.status, refused.body) == (400, {
        "message": 'Maximum items of type "%type" is %max', "parameters": {"type": SOURCE_ITEM, "max": 5000}})
    assert len(simulator.bulks) == 1
    small = limited(input_list_limit=20, async_input_list_limit=50)
    answer = call(small, "POST", "/V1/async/bulk/inventory/source-items", [{"sourceItems": items_of(51)}])
    assert (answer.status, answer.body["parameters"]["max"]) == (400, 50)


def test_a_page_larger_than_the_maximum_page_size_is_refused() -> None:
    simulator = limited(input_list_limit=20)
    refused = call(simulator, "GET", f"{P}/inventory/source-items", query={PAGE_SIZE: "301"})
    assert (refused.status, refused.body) == (400, {
        "message": "Maximum SearchCriteria pageSize is %max", "parameters": {"max": 300}})
    assert call(simulator, "GET", f"{P}/inventory/source-items", query={PAGE_SIZE: "300"}).status == 200
    small = limited(input_list_limit=20, max_page_size=50)
    answer = call(small, "GET", f"{P}/orders", query={"searchCriteria[page_size]": "51"})
    assert (answer.status, answer.body["parameters"]) == (400, {"max": 50})
