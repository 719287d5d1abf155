"""The Commerce client against mocked HTTP (respx): URLs, auth headers, errors, retries, request bodies."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import respx
from pydantic import SecretStr

from omsbridge import commerce, config
from omsbridge.commerce.auth import BearerAuth, ImsAuth
from omsbridge.commerce.client import (
    CommerceClient,
    InputLimitError,
    InputLimits,
    endpoint,
    error_message,
    is_cloud_service,
    render_message,
)
from omsbridge.commerce.models import OperationStatus
from omsbridge.commerce.search import Filter
from omsbridge.config import Secrets, Settings
from omsbridge.errors import PermanentError, RetryableError
from omsbridge.http import RetryPolicy

BASE = "https://shop.example.com"
V1 = f"{BASE}/rest/default/V1"
NOT_FOUND = {"message": "The entity that was requested doesn't exist. Verify the entity and try again."}


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sleeps: list[float]) -> Iterator[CommerceClient]:
    where = endpoint(BASE, "default", cloud_service=False)
    commerce_client = CommerceClient(where, auth=BearerAuth("token-1"),
                                     policy=RetryPolicy(attempts=3, base_delay=0.01, sleep=sleeps.append))
    yield commerce_client
    commerce_client.close()


def sent_json(route: respx.Route, index: int = -1) -> Any:
    return json.loads(route.calls[index].request.content)


# -- base URL forms ----------------------------------------------------------------------------

@pytest.mark.parametrize(("base_url", "store", "cloud", "v1", "bulk", "headers"), [
    ("https://shop.example.com", "default", False, V1, f"{BASE}/rest/default/async/bulk/V1", {}),
    ("https://shop.example.com/", "default", False, V1, f"{BASE}/rest/default/async/bulk/V1", {}),
    ("https://shop.example.com/rest", "default", False, V1, f"{BASE}/rest/default/async/bulk/V1", {}),
    ("https://shop.example.com/rest/V1", "default", False, V1, f"{BASE}/rest/default/async/bulk/V1", {}),
    ("https://shop.example.com/rest/all/V1/", "de", False, f"{BASE}/rest/de/V1",
     f"{BASE}/rest/de/async/bulk/V1", {}),
    ("https://shop.example.com/magento/", "default", False, f"{BASE}/magento/rest/default/V1",
     f"{BASE}/magento/rest/default/async/bulk/V1", {}),
    ("http://127.0.0.1:8080?x=1", "default", False, "http://127.0.0.1:8080/rest/default/V1",
     "http://127.0.0.1:8080/rest/default/async/bulk/V1", {}),
    ("https://na1.api.commerce.adobe.com/T3n4nt/", "default", True, "https://na1.api.commerce.adobe.com/T3n4nt/V1",
     "https://na1.api.commerce.adobe.com/T3n4nt/V1/async/bulk", {"Store": "default"}),
    ("https://na1.api.commerce.adobe.com/T3n4nt/V1", "us", True, "https://na1.api.commerce.adobe.com/T3n4nt/V1",
     "https://na1.api.commerce.adobe.com/T3n4nt/V1/async/bulk", {"Store": "us"}),
])
def test_base_url_normalisation(base_url: str, store: str, cloud: bool, v1: str, bulk: str,
                                headers: dict[str, str]) -> None:
    where = endpoint(base_url, store, cloud_service=cloud)
    assert (where.v1, where.bulk, where.headers) == (v1, bulk, headers)


@pytest.mark.parametrize(("base_url", "auth", "cloud"), [
    ("https://shop.example.com", "oauth1", False),
    ("https://shop.example.com", "ims", True),
    ("https://na1-sandbox.API.commerce.adobe.com/t", "bearer", True),
    ("https://api.commerce.adobe.com.evil.example/t", "bearer", False),
])
def test_cloud_service_detection(base_url: str, auth: str, cloud: bool) -> None:
    assert is_cloud_service(base_url, auth) is cloud


@pytest.mark.parametrize("base_url", ["shop.example.com", "ftp://shop.example.com", ""])
def test_a_base_url_that_is_not_http_is_a_configuration_error(base_url: str) -> None:
    with pytest.raises(PermanentError) as caught:
        endpoint(base_url, "default", cloud_service=False)
    assert caught.value.code == "config"


# -- error bodies ------------------------------------------------------------------------------

@pytest.mark.parametrize(("message", "parameters", "expected"), [
    ("Invalid product data: %1", ["Invalid attribute set entity type"],
     "Invalid product data: Invalid attribute set entity type"),
    ("The consumer isn't authorized to access %resources.", {"resources": "Magento_Sales::sales"},
     "The consumer isn't authorized to access Magento_Sales::sales."),
    ("%1 of %2", ["a", "b"], "a of b"),
    ("%10 then %1", [str(n) for n in range(1, 11)], "10 then 1"),
    ("missing %3 and %name", ["a"], "missing %3 and %name"),
    ("no placeholders", None, "no placeholders"),
])
def test_render_message(message: str, parameters: Any, expected: str) -> None:
    assert render_message(message, parameters) == expected


@pytest.mark.parametrize(("body", "expected"), [
    ({"message": "Validation Failed", "errors": [
        {"message": '"%field" can not be empty.', "parameters": {"field": "sku"}},
        {"message": "Bad %1", "parameters": ["qty"]}]},
     'Validation Failed: "sku" can not be empty.; Bad qty'),
    ({"message": "Plain", "trace": "#0 ..."}, "Plain"),
    ("<html>Bad gateway</html>", "<html>Bad gateway</html>"),
    (None, "no error message"),
])
def test_error_message(body: Any, expected: str) -> None:
    assert error_message(body) == expected


@respx.mock
def test_404_is_permanent_not_found_with_the_readable_reason(client: CommerceClient) -> None:
    respx.get(f"{V1}/orders/7").respond(404, json=NOT_FOUND)
    with pytest.raises(PermanentError) as caught:
        client.get_order(7)
    error = caught.value
    assert (error.code, error.status, error.body, error.system) == ("not_found", 404, NOT_FOUND, "commerce")
    assert error.reason == ("commerce GET /rest/default/V1/orders/7 answered 404: "
                            "The entity that was requested doesn't exist. Verify the entity and try again.")


@respx.mock
def test_400_is_permanent_and_not_retried(client: CommerceClient, sleeps: list[float]) -> None:
    body = {"message": "Shipment Document Validation Error(s):\n%1", "parameters": ["You can't ship that."]}
    route = respx.post(f"{V1}/order/5/ship").respond(400, json=body)
    with pytest.raises(PermanentError) as caught:
        client.ship(5, {"items": [{"order_item_id": 9, "qty": 1}]})
    assert caught.value.reason == ("commerce POST /rest/default/V1/order/5/ship answered 400: "
                                   "Shipment Document Validation Error(s):\nYou can't ship that.")
    assert (route.call_count, sleeps) == (1, [])


@respx.mock
def test_get_is_retried_on_503_then_succeeds(client: CommerceClient, sleeps: list[float]) -> None:
    route = respx.get(f"{V1}/orders/5").mock(side_effect=[
        httpx.Response(503, json={"message": "busy"}), httpx.Response(200, json={"entity_id": 5})])
    assert client.get_order(5) == {"entity_id": 5}
    assert route.call_count == 2
    assert len(sleeps) == 1
    assert 0 <= sleeps[0] <= 0.01


@respx.mock
def test_retry_after_is_honoured_on_429(client: CommerceClient, sleeps: list[float]) -> None:
    respx.get(f"{V1}/orders/5").mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "2"}, json={"message": "Too many requests"}),
        httpx.Response(200, json={"entity_id": 5})])
    client.get_order(5)
    assert sleeps == [2.0]


@respx.mock
def test_retries_are_bounded_and_the_last_error_is_readable(client: CommerceClient) -> None:
    route = respx.get(f"{V1}/orders/5").respond(503, json={"message": "Service %1 unavailable", "parameters": ["X"]})
    with pytest.raises(RetryableError) as caught:
        client.get_order(5)
    assert route.call_count == 3
    assert caught.value.reason == "commerce GET /rest/default/V1/orders/5 answered 503: Service X unavailable"


@respx.mock
def test_a_plain_post_is_not_retried_but_an_idempotent_one_is(client: CommerceClient) -> None:
    comment = respx.post(f"{V1}/orders/5/comments").respond(502, json={"message": "bad gateway"})
    with pytest.raises(RetryableError):
        client.add_order_comment(5, "hello")
    assert comment.call_count == 1
    items = respx.post(f"{V1}/inventory/source-items").mock(side_effect=[
        httpx.Response(503, json={"message": "busy"}), httpx.Response(200, json=[])])
    client.upsert_source_items([{"sku": "A", "source_code": "s1", "quantity": 1, "status": 1}])
    assert items.call_count == 2


@respx.mock
def test_non_json_success_is_an_error(client: CommerceClient) -> None:
    respx.get(f"{V1}/orders/5").respond(200, text="<html>maintenance</html>")
    with pytest.raises(PermanentError, match="answered non-JSON"):
        client.get_order(5)


# -- auth --------------------------------------------------------------------------------------

def _settings(**values: Any) -> Settings:
    return Settings.model_validate({"commerce_base_url": BASE, **values})


OAUTH_SECRETS = Secrets(commerce_consumer_key=SecretStr("ck"), commerce_consumer_secret=SecretStr("cs"),
                        commerce_access_token=SecretStr("at"), commerce_access_token_secret=SecretStr("ats"))


@respx.mock
def test_oauth1_signs_every_attempt_afresh() -> None:
    route = respx.get(f"{V1}/orders").mock(side_effect=[
        httpx.Response(503, json={"message": "busy"}), httpx.Response(200, json={"items": [], "total_count": 0})])
    client = CommerceClient.from_settings(_settings(http_retry_base_delay=0), OAUTH_SECRETS)
    client.find_order_entity_id("000000617")
    headers = [call.request.headers["Authorization"] for call in route.calls]
    fields = [dict(re.findall(r'(\w+)="([^"]*)"', header)) for header in headers]
    for header, field in zip(headers, fields, strict=True):
        assert header.startswith("OAuth ")
        assert (field["oauth_consumer_key"], field["oauth_token"], field["oauth_signature_method"],
                field["oauth_version"]) == ("ck", "at", "HMAC-SHA256", "1.0")
    # A retried request is a new signature, never a replayed nonce.
    assert fields[0]["oauth_nonce"] != fields[1]["oauth_nonce"]


@respx.mock
def test_bearer_mode_sends_the_token() -> None:
    route = respx.get(f"{V1}/orders/1").respond(200, json={"entity_id": 1})
    secrets = Secrets(commerce_bearer_token=SecretStr("tok"))
    CommerceClient.from_settings(_settings(commerce_auth="bearer"), secrets).get_order(1)
    assert route.calls.last.request.headers["Authorization"] == "Bearer tok"


@pytest.mark.parametrize(("auth", "missing"), [
    ("oauth1", "commerce_consumer_key"), ("bearer", "commerce_bearer_token"), ("ims", "ims_client_id")])
def test_missing_secret_names_the_key(auth: str, missing: str) -> None:
    with pytest.raises(PermanentError, match=missing) as caught:
        CommerceClient.from_settings(_settings(commerce_auth=auth), Secrets())
    assert caught.value.code == "config"


IMS_URL = "https://ims.example.com/ims/token/v3"
CLOUD = "https://na1.api.commerce.adobe.com/tenant"
IMS_SECRETS = Secrets(ims_client_id=SecretStr("client-1"), ims_client_secret=SecretStr("s3cret"))


def _ims_client() -> CommerceClient:
    settings = _settings(commerce_base_url=CLOUD, commerce_auth="ims", commerce_ims_token_url=IMS_URL,
                         commerce_ims_org_id="ORG@AdobeOrg", commerce_store_code="us")
    return CommerceClient.from_settings(settings, IMS_SECRETS)


@respx.mock
def test_ims_token_is_fetched_once_and_sent_with_the_adobe_headers() -> None:
    token = respx.post(IMS_URL).respond(200, json={"access_token": "ims-token", "expires_in": 86399})
    api = respx.get(f"{CLOUD}/V1/orders/1").respond(200, json={"entity_id": 1})
    client = _ims_client()
    client.get_order(1)
    client.get_order(1)
    assert token.call_count == 1
    assert api.call_count == 2
    assert dict(parse_qsl(token.calls.last.request.content.decode())) == {
        "grant_type": "client_credentials", "client_id": "client-1", "client_secret": "s3cret",
        "scope": "openid,AdobeID,email,profile,additional_info.roles,additional_info.projectedProductContext,"
                 "commerce.accs"}
    sent = api.calls.last.request.headers
    assert (sent["Authorization"], sent["x-api-key"], sent["x-gw-ims-org-id"], sent["Store"]) == (
        "Bearer ims-token", "client-1", "ORG@AdobeOrg", "us")


@respx.mock
def test_ims_401_drops_the_token_and_resends_once() -> None:
    respx.post(IMS_URL).mock(side_effect=[
        httpx.Response(200, json={"access_token": "old", "expires_in": 86399}),
        httpx.Response(200, json={"access_token": "new", "expires_in": 86399})])
    api = respx.get(f"{CLOUD}/V1/orders/1").mock(side_effect=[
        httpx.Response(401, json={"message": "expired"}), httpx.Response(200, json={"entity_id": 1})])
    assert _ims_client().get_order(1) == {"entity_id": 1}
    assert [c.request.headers["Authorization"] for c in api.calls] == ["Bearer old", "Bearer new"]


@respx.mock
def test_ims_refusal_is_permanent_and_keeps_the_secret_out_of_the_reason() -> None:
    respx.post(IMS_URL).respond(400, json={"error": "invalid_client", "error_description": "invalid client_secret"})
    with pytest.raises(PermanentError) as caught:
        _ims_client().get_order(1)
    assert caught.value.code == "unauthorized"
    assert caught.value.reason == "adobe-ims refused the client credentials: invalid client_secret"
    assert "s3cret" not in json.dumps(caught.value.describe())


@respx.mock
@pytest.mark.parametrize(("lifetime", "still_cached_at", "refreshed_at"), [
    (3600, 3299.0, 3300.0),   # refreshed 5 minutes early
    (100, 89.0, 90.0),        # short-lived token: a tenth of its life early
])
def test_ims_token_is_refreshed_shortly_before_it_expires(lifetime: int, still_cached_at: float,
                                                          refreshed_at: float) -> None:
    now = [0.0]
    route = respx.post(IMS_URL).respond(200, json={"access_token": "t", "expires_in": lifetime})
    auth = ImsAuth(IMS_URL, "client-1", "s3cret", "ORG", http=httpx.Client(), policy=RetryPolicy(attempts=1),
                   clock=lambda: now[0])
    auth.token()
    now[0] = still_cached_at
    auth.token()
    assert route.call_count == 1
    now[0] = refreshed_at
    auth.token()
    assert route.call_count == 2


# -- domain helpers: exact requests ------------------------------------------------------------

@respx.mock
def test_find_order_entity_id_searches_on_increment_id(client: CommerceClient) -> None:
    route = respx.get(f"{V1}/orders").respond(200, json={"items": [{"entity_id": 673}], "total_count": 1})
    assert client.find_order_entity_id("000000617") == 673
    assert dict(route.calls.last.request.url.params) == {
        "searchCriteria[filter_groups][0][filters][0][field]": "increment_id",
        "searchCriteria[filter_groups][0][filters][0][value]": "000000617",
        "searchCriteria[filter_groups][0][filters][0][condition_type]": "eq",
        "searchCriteria[pageSize]": "2",
        "searchCriteria[currentPage]": "1",
    }


@respx.mock
def test_find_order_entity_id_none_and_ambiguous(client: CommerceClient) -> None:
    respx.get(f"{V1}/orders").mock(side_effect=[
        httpx.Response(200, json={"items": [], "total_count": 0}),
        httpx.Response(200, json={"items": [{"entity_id": 1}, {"entity_id": 2}], "total_count": 2})])
    assert client.find_order_entity_id("1") is None
    with pytest.raises(PermanentError) as caught:
        client.find_order_entity_id("1")
    assert caught.value.code == "ambiguous"


@respx.mock
def test_add_order_comment_body(client: CommerceClient) -> None:
    route = respx.post(f"{V1}/orders/5/comments").respond(200, json=True)
    assert client.add_order_comment(5, "[oms-bridge] Released", "processing", notify=True) is True
    assert sent_json(route) == {"statusHistory": {
        "comment": "[oms-bridge] Released", "is_customer_notified": 1, "is_visible_on_front": 0,
        "parent_id": 5, "status": "processing"}}
    assert route.calls.last.request.headers["Content-Type"] == "application/json"


@respx.mock
def test_hold_unhold_cancel_post_without_a_body_and_return_the_answer(client: CommerceClient) -> None:
    hold = respx.post(f"{V1}/orders/5/hold").respond(200, json=True)
    unhold = respx.post(f"{V1}/orders/5/unhold").respond(200, json=True)
    cancel = respx.post(f"{V1}/orders/5/cancel").respond(200, json=False)
    assert (client.hold(5), client.unhold(5), client.cancel(5)) == (True, True, False)
    assert [r.calls.last.request.content for r in (hold, unhold, cancel)] == [b"", b"", b""]


@respx.mock
def test_ship_and_invoice_return_the_new_ids(client: CommerceClient) -> None:
    body = {"items": [{"order_item_id": 9, "qty": 1}], "tracks": [
        {"track_number": "1Z", "title": "UPS", "carrier_code": "ups"}],
        "arguments": {"extension_attributes": {"source_code": "dc1"}}}
    ship = respx.post(f"{V1}/order/5/ship").respond(200, json=12)
    respx.post(f"{V1}/order/5/invoice").respond(200, json="31")
    assert client.ship(5, body) == 12
    assert sent_json(ship) == body
    assert client.invoice(5, {"capture": True}) == 31


@respx.mock
def test_an_unexpected_id_answer_is_an_error(client: CommerceClient) -> None:
    respx.post(f"{V1}/order/5/ship").respond(200, json=True)
    with pytest.raises(PermanentError, match="where a shipment id was expected"):
        client.ship(5, {})


@respx.mock
def test_search_pages_through_total_count(client: CommerceClient) -> None:
    route = respx.get(f"{V1}/shipments").mock(side_effect=[
        httpx.Response(200, json={"items": [{"entity_id": 1}, {"entity_id": 2}], "total_count": 3}),
        httpx.Response(200, json={"items": [{"entity_id": 3}], "total_count": 3})])
    found = client.search("/shipments", [Filter("order_id", 5)], page_size=2)
    assert [s["entity_id"] for s in found] == [1, 2, 3]
    assert [c.request.url.params["searchCriteria[currentPage]"] for c in route.calls] == ["1", "2"]


@respx.mock
def test_list_shipments_filters_on_order_id(client: CommerceClient) -> None:
    route = respx.get(f"{V1}/shipments").respond(200, json={"items": [], "total_count": 0})
    assert client.list_shipments(5) == []
    params = route.calls.last.request.url.params
    assert (params["searchCriteria[filter_groups][0][filters][0][field]"],
            params["searchCriteria[filter_groups][0][filters][0][value]"]) == ("order_id", "5")


@respx.mock
def test_notify_ready_for_pickup(client: CommerceClient) -> None:
    route = respx.post(f"{V1}/order/notify-orders-are-ready-for-pickup").mock(side_effect=[
        httpx.Response(200, json={"successful": True, "errors": []}),
        httpx.Response(200, json={"successful": False, "errors": ["Order 5: not ready"]})])
    assert client.notify_ready_for_pickup([5]) == {"successful": True, "errors": []}
    assert sent_json(route) == {"orderIds": [5]}
    with pytest.raises(PermanentError, match="not ready") as caught:
        client.notify_ready_for_pickup([5])
    assert caught.value.code == "not_ready_for_pickup"


@respx.mock
def test_source_items_are_sent_as_json_numbers(client: CommerceClient) -> None:
    route = respx.post(f"{V1}/inventory/source-items").respond(200, json=[])
    client.upsert_source_items([{"sku": "A", "source_code": "s1", "quantity": Decimal("5"), "status": 1},
                                {"sku": "B", "source_code": "s1", "quantity": Decimal("2.5"), "status": 1}])
    assert route.calls.last.request.content == (
        b'{"sourceItems": [{"sku": "A", "source_code": "s1", "quantity": 5, "status": 1}, '
        b'{"sku": "B", "source_code": "s1", "quantity": 2.5, "status": 1}]}')


@respx.mock
def test_bulk_upsert_posts_an_array_of_bodies_to_the_async_route(client: CommerceClient) -> None:
    route = respx.post(f"{BASE}/rest/default/async/bulk/V1/inventory/source-items").respond(202, json={
        "bulk_uuid": "u-1", "errors": False,
        "request_items": [{"id": 0, "data_hash": "h0", "status": "accepted"},
                          {"id": 1, "data_hash": "h1", "status": "accepted"}]})
    chunks = [[{"sku": "A", "source_code": "s1", "quantity": 1, "status": 1}],
              [{"sku": "B", "source_code": "s1", "quantity": 0, "status": 0}]]
    assert client.bulk_upsert_source_items(chunks) == "u-1"
    assert sent_json(route) == [{"sourceItems": chunks[0]}, {"sourceItems": chunks[1]}]


@respx.mock
def test_bulk_with_rejected_operations_is_an_error(client: CommerceClient) -> None:
    respx.post(f"{BASE}/rest/default/async/bulk/V1/inventory/source-items").respond(202, json={
        "bulk_uuid": "u-2", "errors": True,
        "request_items": [{"id": 0, "status": "rejected", "error_message": '"sourceItems" is required.'}]})
    with pytest.raises(PermanentError, match=re.escape('#0: "sourceItems" is required.')) as caught:
        client.bulk_upsert_source_items([[]])
    assert caught.value.code == "bulk_rejected"


@respx.mock
def test_bulk_status_is_parsed(client: CommerceClient) -> None:
    respx.get(f"{V1}/bulk/u-1/status").respond(200, json={
        "bulk_id": "u-1", "operation_count": 2, "user_type": 2, "description": "d", "start_time": "t",
        "user_id": 1, "operations_list": [
            {"id": 1, "status": 1, "result_message": "ok", "error_code": None},
            {"id": 2, "status": 3, "result_message": "bad sku", "error_code": 0}]})
    status = client.bulk_status("u-1")
    assert (status.open, status.complete) == (False, False)
    assert [(op.id, op.status) for op in status.failed] == [(2, OperationStatus.FAILED)]


# -- Web API input limits (Adobe "API security > Input limiting"; answers as Magento's validators give them) --

SOURCE_ITEM = "\\Magento\\InventoryApi\\Api\\Data\\SourceItemInterface"


def too_long(limit: int) -> httpx.Response:
    return httpx.Response(400, json={"message": 'Maximum items of type "%type" is %max',
                                     "parameters": {"type": SOURCE_ITEM, "max": limit}})


@respx.mock
def test_a_search_shrinks_its_pages_to_the_stores_maximum_and_keeps_it(client: CommerceClient) -> None:
    route = respx.get(f"{V1}/inventory/source-items").mock(side_effect=[
        httpx.Response(400, json={"message": "Maximum SearchCriteria pageSize is %max", "parameters": {"max": 2}}),
        httpx.Response(200, json={"items": [{"sku": "A"}, {"sku": "B"}], "total_count": 3}),
        httpx.Response(200, json={"items": [{"sku": "C"}], "total_count": 3}),
        httpx.Response(200, json={"items": [{"sku": "A"}], "total_count": 1})])
    assert [item["sku"] for item in client.search_source_items(page_size=500)] == ["A", "B", "C"]
    assert [(c.request.url.params["searchCriteria[pageSize]"], c.request.url.params["searchCriteria[currentPage]"])
            for c in route.calls] == [("500", "1"), ("2", "1"), ("2", "2")]
    assert client.limits == InputLimits(page_size=2)
    client.search_source_items(page_size=500)
    assert route.calls.last.request.url.params["searchCriteria[pageSize]"] == "2"


@respx.mock
def test_a_list_too_long_raises_input_limit_error_and_the_limit_is_kept(client: CommerceClient) -> None:
    respx.post(f"{V1}/inventory/source-items").mock(return_value=too_long(20))
    respx.post(f"{BASE}/rest/default/async/bulk/V1/inventory/source-items").mock(return_value=too_long(5000))
    item = {"sku": "A", "source_code": "s1", "quantity": 1, "status": 1}
    with pytest.raises(InputLimitError) as caught:
        client.upsert_source_items([item] * 21)
    assert (caught.value.limit, caught.value.status, caught.value.code) == (20, 400, "input_limit")
    assert caught.value.reason == ("commerce POST /rest/default/V1/inventory/source-items answered 400: "
                                   f'Maximum items of type "{SOURCE_ITEM}" is 20')
    with pytest.raises(InputLimitError):
        client.bulk_upsert_source_items([[item] * 5001])
    assert client.limits == InputLimits(sync=20, bulk=5000)


@respx.mock
def test_other_400s_are_not_taken_for_a_limit(client: CommerceClient) -> None:
    respx.post(f"{V1}/inventory/source-items").respond(400, json={
        "message": 'Maximum items of type "%type" is %max', "parameters": {"type": SOURCE_ITEM, "max": "many"}})
    with pytest.raises(PermanentError) as caught:
        client.upsert_source_items([{"sku": "A", "source_code": "s1", "quantity": 1, "status": 1}])
    assert not isinstance(caught.value, InputLimitError)
    assert client.limits == InputLimits()


# -- the per-container client ------------------------------------------------------------------

def test_client_is_cached_per_container_and_rebuilt_after_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMMERCE_BASE_URL", BASE)
    monkeypatch.setenv("COMMERCE_AUTH", "bearer")
    monkeypatch.setattr(config, "secrets", functools.cache(lambda: Secrets(commerce_bearer_token=SecretStr("tok"))))
    config.reset()
    first = commerce.client()
    assert commerce.client() is first
    assert first.endpoint.v1 == V1
    config.reset()
    assert commerce.client() is not first
    config.reset()
