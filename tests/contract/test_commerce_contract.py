"""Commerce traffic held against Adobe's published REST schema (vendored in sandbox/schemas/commerce)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from omsbridge.commerce.auth import BearerAuth, OAuth1Auth
from omsbridge.commerce.client import CommerceClient, endpoint
from omsbridge.commerce.search import Filter, search_criteria
from omsbridge.errors import PermanentError
from sandbox import contracts
from sandbox.contracts import CommerceContract, assert_commerce_contract
from sandbox.sim.base import SimServer
from sandbox.sim.commerce import CommerceSim
from tests.support import foreign

pytestmark = pytest.mark.contract

KEYS = ("ck", "cs", "at", "ats")


@pytest.fixture(scope="module", params=[contracts.SCHEMA_VERSION], ids=lambda version: f"commerce-{version}")
def contract(request: pytest.FixtureRequest) -> CommerceContract:
    """The vendored contract; its release is in every test id (``...[commerce-2.4.9-...]``)."""
    assert request.param == contracts.SCHEMA_VERSION
    return CommerceContract.load()


@pytest.fixture
def sim() -> CommerceSim:
    simulator = CommerceSim(*KEYS, bearer_token="tok")
    simulator.load_seed({
        "products": [{"sku": "Adobe_Pro_12", "name": "Adobe Pro"}, {"sku": "B", "name": "B"}],
        "sources": [{"source_code": "dc1", "name": "DC 1", "country_id": "US", "postcode": "94110"},
                    {"source_code": "store1", "name": "Store 1",
                     "extension_attributes": {"is_pickup_location_active": True}}],
        "source_items": [{"sku": "Adobe_Pro_12", "source_code": "dc1", "quantity": 10, "status": 1}],
        "orders": [{
            "entity_id": 40, "increment_id": "000000040", "state": "processing", "status": "processing",
            "base_grand_total": 20, "grand_total": 20, "customer_email": "pickup@example.com",
            "items": [{"item_id": 400, "sku": "B", "name": "B", "qty_ordered": 1, "price": 20, "row_total": 20,
                       "product_type": "simple"}],
            "extension_attributes": {"pickup_location_code": "store1"},
        }],
    })
    return simulator


@pytest.fixture
def client(sim: CommerceSim) -> Iterator[CommerceClient]:
    server = SimServer(sim).start()
    made = CommerceClient(endpoint(server.url, "default", cloud_service=False), auth=OAuth1Auth(*KEYS))
    yield made
    made.close()
    server.stop()


def test_the_simulators_own_traffic_keeps_the_contract(contract: CommerceContract, sim: CommerceSim,
                                                       client: CommerceClient) -> None:
    sim.place_order(foreign("commerce_event_sales_order_save_commit_after.json")["data"]["value"])
    entity_id = client.find_order_entity_id("000000617")
    assert entity_id is not None
    item_id = client.get_order(entity_id)["items"][0]["item_id"]
    client.add_order_comment(entity_id, "[oms-bridge] released", "processing")
    client.hold(entity_id)
    client.unhold(entity_id)
    client.get(f"/orders/{entity_id}/statuses")
    client.search("/orders/items", [Filter("order_id", entity_id)])
    client.invoice(entity_id, {"capture": True, "items": [{"order_item_id": item_id, "qty": 1}], "notify": False,
                               "appendComment": True, "comment": {"comment": "paid", "is_visible_on_front": 0}})
    client.ship(entity_id, {
        "items": [{"order_item_id": item_id, "qty": 1}], "notify": True, "appendComment": True,
        "comment": {"comment": "[oms-bridge] shipped", "is_visible_on_front": 0},
        "tracks": [{"track_number": "1Z999", "title": "UPS Ground", "carrier_code": "ups"}],
        "arguments": {"extension_attributes": {"source_code": "dc1"}}})
    client.list_shipments(entity_id)
    client.post(f"/order/{entity_id}/refund", {"items": [{"order_item_id": item_id, "qty": 1}], "notify": False,
                                               "arguments": {"shipping_amount": 0, "adjustment_positive": 0,
                                                             "adjustment_negative": 0}})
    client.cancel(entity_id)
    client.notify_ready_for_pickup([40])
    client.get("/products", {**search_criteria([Filter("entity_id", [1, 2], "in")]), "fields": "items[id,sku]"})
    client.search("/products", [Filter("sku", "B")])
    client.list_sources()
    client.list_sources([Filter("postcode", "94110")])
    client.upsert_source_items([{"sku": "B", "source_code": "dc1", "quantity": 3, "status": 1}])
    client.search_source_items([Filter("sku", "B")])
    client.post("/inventory/source-items-delete", {"sourceItems": [{"sku": "B", "source_code": "dc1"}]})
    uuid = client.bulk_upsert_source_items([[{"sku": "B", "source_code": "dc1", "quantity": 1, "status": 1}],
                                            [{"sku": "missing", "source_code": "dc1", "quantity": 1, "status": 1}]])
    client.bulk_status(uuid)
    assert [op.status for op in client.bulk_status(uuid).operations_list] == [1, 3]
    # Error answers are part of the contract too: 400, 401, 404.
    for failing in (lambda: client.get_order(999), lambda: client.hold(entity_id + 1000),
                    lambda: client.ship(40, {"items": [{"order_item_id": 400, "qty": 5}]}),
                    lambda: client.upsert_source_items([{"sku": "missing", "source_code": "dc1", "quantity": 1,
                                                         "status": 1}])):
        with pytest.raises(PermanentError):
            failing()
    unauthorised = CommerceClient(client.endpoint, auth=BearerAuth("wrong"))
    with pytest.raises(PermanentError):
        unauthorised.get_order(entity_id)
    unauthorised.close()
    assert {call["status"] for call in sim.calls} == {200, 202, 400, 401, 404}
    assert_commerce_contract(sim)


def test_a_wrong_field_type_is_caught(contract: CommerceContract, sim: CommerceSim, client: CommerceClient) -> None:
    with pytest.raises(PermanentError):
        client.ship(40, {"items": [{"order_item_id": 400, "qty": "x"}]})
    assert contract.check_calls(sim) == [
        "POST /rest/default/V1/order/40/ship: request items/0/qty: 'x' is not of type 'number'"]
    version = re.escape(f"Adobe Commerce {contracts.SCHEMA_VERSION} admin REST schema")
    with pytest.raises(pytest.fail.Exception, match=f"{version}(?s:.*)'x' is not of type 'number'"):
        assert_commerce_contract(sim)


def test_an_unknown_path_is_caught(contract: CommerceContract, sim: CommerceSim, client: CommerceClient) -> None:
    with pytest.raises(PermanentError) as caught:
        client.get("/orders/40/notes")
    assert caught.value.code == "not_found"
    assert contract.check_calls(sim) == [
        "GET /rest/default/V1/orders/40/notes: no such operation in the Commerce schema"]


@pytest.mark.parametrize(("method", "path", "body", "problems"), [
    ("POST", "/rest/default/V1/orders/40/comments", {"statusHistory": {"comment": "c"}}, [
        "POST /rest/default/V1/orders/40/comments: request statusHistory: "
        "'is_customer_notified' is a required property",
        "POST /rest/default/V1/orders/40/comments: request statusHistory: "
        "'is_visible_on_front' is a required property",
        "POST /rest/default/V1/orders/40/comments: request statusHistory: 'parent_id' is a required property"]),
    ("POST", "/rest/default/V1/orders/abc/hold", None, [
        "POST /rest/default/V1/orders/abc/hold: path parameter id='abc' is not an integer"]),
    ("POST", "/rest/default/V1/orders/40/hold", {"reason": "x"}, [
        "POST /rest/default/V1/orders/40/hold: sends a body the operation does not take"]),
    ("PUT", "/rest/default/V1/orders/40/hold", None, [
        "PUT /rest/default/V1/orders/40/hold: no such operation in the Commerce schema"]),
    ("POST", "/tenant/V1/async/bulk/inventory/source-items", [{"sourceItems": [{"sku": 1}]}], [
        "POST /tenant/V1/async/bulk/inventory/source-items: request 0/sourceItems/0/sku: "
        "1 is not of type 'string'"]),
    ("POST", "/rest/default/async/bulk/V1/orders/40/hold", [{}], [
        "POST /rest/default/async/bulk/V1/orders/40/hold: async route not known to the contract harness"]),
    ("GET", "/rest/default/V1/orders/items", None, []),
    ("POST", "/V1/order/notify-orders-are-ready-for-pickup", {"orderIds": [40]}, []),
])
def test_check_request(contract: CommerceContract, method: str, path: str, body: Any, problems: list[str]) -> None:
    assert contract.check_request(method, path, body) == problems


@pytest.mark.parametrize(("method", "path", "status", "body", "problems"), [
    ("GET", "/rest/default/V1/orders/40", 200, {"items": "none", "grand_total": 1, "base_grand_total": 1,
                                                 "customer_email": "a@example.com"},
     ["GET /rest/default/V1/orders/40: response 200 items: 'none' is not of type 'array', 'null'"]),
    ("POST", "/rest/default/V1/orders/40/hold", 200, "true",
     ["POST /rest/default/V1/orders/40/hold: response 200 (root): 'true' is not of type 'boolean'"]),
    ("POST", "/rest/default/V1/orders/40/hold", 202, True,
     ["POST /rest/default/V1/orders/40/hold: answered 202 where Commerce answers 200"]),
    ("POST", "/rest/default/V1/inventory/source-items", 200, {"saved": 1},
     ["POST /rest/default/V1/inventory/source-items: answered {'saved': 1} where the operation returns nothing"]),
    ("GET", "/rest/default/V1/orders/40", 404, {"error": "missing"},
     ["GET /rest/default/V1/orders/40: response 404 (root): 'message' is a required property"]),
    ("POST", "/rest/default/V1/inventory/source-items", 400,
     {"message": "Validation Failed", "errors": [{"message": "%field", "parameters": {"field": "sku"}}]}, []),
    ("POST", "/V1/async/bulk/inventory/source-items", 202, {"bulk_uuid": "u", "errors": False}, [
        "POST /V1/async/bulk/inventory/source-items: response 202 (root): 'request_items' is a required property"]),
])
def test_check_response(contract: CommerceContract, method: str, path: str, status: int, body: Any,
                        problems: list[str]) -> None:
    assert contract.check_response(method, path, status, body) == problems


def test_a_fields_filtered_answer_is_partial_but_still_typed(contract: CommerceContract) -> None:
    trimmed = {"items": [{"id": 2, "sku": "B"}]}
    path = "/rest/default/V1/products"
    assert contract.check_response("GET", path, 200, trimmed, partial=True) == []
    assert contract.check_response("GET", path, 200, trimmed) == [
        f"GET {path}: response 200 (root): 'search_criteria' is a required property",
        f"GET {path}: response 200 (root): 'total_count' is a required property"]
    assert contract.check_response("GET", path, 200, {"items": [{"id": "2"}]}, partial=True) == [
        f"GET {path}: response 200 items/0/id: '2' is not of type 'integer', 'null'"]


def test_the_parsed_schema_is_cached_as_json_keyed_on_mtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    schema = tmp_path / "admin-schema-2.4.9.yaml"
    schema.write_text("swagger: '2.0'\npaths: {}\ndefinitions: {}\n")
    monkeypatch.setattr(contracts, "CACHE_DIR", tmp_path / "cache")
    assert contracts._read_spec(schema) == {"swagger": "2.0", "paths": {}, "definitions": {}}
    cached = list((tmp_path / "cache").iterdir())
    assert [p.name for p in cached] == [f"admin-schema-2.4.9.{schema.stat().st_mtime_ns}.json"]
    # The cache answers without parsing YAML again.
    cached[0].write_text('{"from": "cache"}')
    assert contracts._read_spec(schema) == {"from": "cache"}
    # A changed file is parsed again and replaces the stale cache entry.
    schema.write_text("swagger: '2.0'\npaths: {}\ndefinitions: {x: {}}\n")
    import os

    os.utime(schema, ns=(1, 1))
    assert contracts._read_spec(schema)["definitions"] == {"x": {}}
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["admin-schema-2.4.9.1.json"]


def test_a_missing_schema_fails_the_check_instead_of_skipping_it(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(FileNotFoundError, match="missing from the checkout"):
        CommerceContract.load(tmp_path)
    monkeypatch.setattr(contracts, "CONTRACTS_DIR", tmp_path)
    with pytest.raises(FileNotFoundError):
        assert_commerce_contract(CommerceSim())


def test_the_vendored_schema_is_the_release_the_simulator_is_held_to() -> None:
    assert (contracts.CONTRACTS_DIR / contracts.SCHEMA_FILE).is_file()
    assert (contracts.CONTRACTS_DIR / "LICENSE").is_file()
    notice = (contracts.CONTRACTS_DIR / "NOTICE").read_text()
    assert "Apache License" in notice
    assert f"{contracts.SCHEMA_FILE}  Adobe Commerce {contracts.SCHEMA_VERSION} admin REST API" in notice
    assert CommerceContract.load().operation("GET", "/V1/orders/1") is not None


def test_the_ims_stand_in_is_not_held_to_the_commerce_contract(contract: CommerceContract, sim: CommerceSim) -> None:
    server = SimServer(sim).start()
    try:
        httpx.post(f"{server.url}/ims/token/v3", data={"grant_type": "client_credentials"})
    finally:
        server.stop()
    assert contract.check_calls(sim) == []
