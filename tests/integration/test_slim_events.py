"""Commerce events narrowed by their subscription: the flow reads the document from Commerce and works
on that, never on the slim event; a document Commerce does not know is retried, then parked.

The narrowed subscription is Adobe's integration starter kit's (commit becdaf0,
``src/commerce-extensibility-1/.generated/app.commerce.manifest.json``: ``observer.sales_order_save_commit_after``
with ``id, increment_id, created_at, updated_at``); the order is IBM's 2.4.5-p3 sample
(``appbuilder/src/actions/ACCreateOrder/README.md`` of IBM/adobe-commerce-ibm-oms-connector at 1aca86c).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox import demo_data
from sandbox.contracts import assert_commerce_contract
from sandbox.sim.commerce.sim import ORDER_SAVED
from sandbox.stack import SANDBOX_SECRET, Sandbox
from tests.support import foreign

EXPORT = "OrderExportFunction"
RETURNS = "ReturnsFunction"
CREATE = "/smcfs/restapi/invoke/createOrder"
SUBSCRIPTION = foreign("adobe-integration-starter-kit/sales_order_save_commit_after_subscription.json")
KIT_FIELDS = [field["name"] for field in SUBSCRIPTION["fields"]]
SEED = {**demo_data.SEED, "commerce": {**demo_data.SEED["commerce"], "products": [
    *demo_data.SEED["commerce"]["products"], {"sku": "Adobe_Pro_12", "name": "Adobe Pro", "type_id": "simple"}]},
    "sterling": {**demo_data.SEED["sterling"], "items": ["DEMO-MUG", "TEE-M-BLUE", "Adobe_Pro_12"]}}


def ibm_order() -> dict[str, Any]:
    order: dict[str, Any] = copy.deepcopy(foreign("commerce_event_sales_order_save_commit_after.json")["data"]["value"])
    return order


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=SEED, env={"MAPPING_OVERRIDES": '{"payment_types": {"braintree": "CREDIT_CARD"}}'}) as box:
        yield box


def created(sb: Sandbox) -> list[dict[str, Any]]:
    return [call["body"] for call in sb.sterling.calls if call["path"] == CREATE and call["status"] == 200]


def commerce_reads(sb: Sandbox) -> list[tuple[str, dict[str, Any]]]:
    """The order reads before Sterling got the order (later ones are OrderStatusFunction's)."""
    first_create = min([call["seq"] for call in sb.sterling.calls if call["path"] == CREATE] or [10**9])
    return [(call["path"], call["query"]) for call in sb.commerce.calls
            if call["path"].startswith("/rest/default/V1/orders") and call["seq"] < first_create]


@pytest.fixture(scope="module")
def full_export() -> dict[str, Any]:
    """What the export sends Sterling for the IBM order when the event carries the whole order (a
    sandbox of its own, run before the test's)."""
    with Sandbox(seed=SEED, env={"MAPPING_OVERRIDES": '{"payment_types": {"braintree": "CREDIT_CARD"}}'}) as full:
        event = full.commerce.place_order(ibm_order())
        full.publish("adobe.commerce", event["type"], event)
        full.deliver()
        (body,) = created(full)
        return body


def test_the_starter_kits_slim_order_event_exports_the_order_commerce_has(full_export: dict[str, Any],
                                                                          sb: Sandbox) -> None:
    sb.commerce.event_fields["observer.sales_order_save_commit_after"] = KIT_FIELDS
    event = sb.commerce.place_order(ibm_order())
    # What the kit's subscription leaves of the order: no currency, items, addresses or payment.
    assert event["data"]["value"] == {"increment_id": "000000617", "created_at": "2023-08-16 08:40:19",
                                      "updated_at": "2023-08-16 08:40:19"}

    sb.publish("adobe.commerce", event["type"], event)
    sb.deliver()

    assert sb.dlq(EXPORT) == []
    # The order had no id in the event (the observer model has none): found by its number.
    (search,) = commerce_reads(sb)
    assert search[0] == "/rest/default/V1/orders"
    assert search[1]["searchCriteria[filter_groups][0][filters][0][field]"] == "increment_id"
    assert search[1]["searchCriteria[filter_groups][0][filters][0][value]"] == "000000617"
    assert created(sb) == [full_export]
    assert_commerce_contract(sb.commerce)


def test_a_slim_event_naming_the_orders_id_reads_it_by_id(full_export: dict[str, Any], sb: Sandbox) -> None:
    placed = sb.commerce.place_order(ibm_order())
    entity_id = placed["data"]["value"]["items"][0]["order_id"]
    slim = copy.deepcopy(placed)
    slim["data"]["value"] = {"id": entity_id, "increment_id": "000000617", "created_at": "2023-08-16 08:40:19",
                             "updated_at": "2023-08-16 08:40:19"}

    sb.publish("adobe.commerce", slim["type"], slim)
    sb.deliver()

    assert commerce_reads(sb) == [(f"/rest/default/V1/orders/{entity_id}", {})]
    assert created(sb) == [full_export]


def test_the_kits_documented_payload_is_slim_too(sb: Sandbox) -> None:
    # The kit's README sample: items with an item_id only. It must not be taken for a whole order.
    documented = foreign("adobe-integration-starter-kit/order_commerce_created_payload.json")
    sb.commerce.place_order(ibm_order())
    event = sb.commerce.place_order(demo_data.simple_order("000000101"))
    event["data"]["value"] = {**documented, "increment_id": "000000101"}

    sb.publish("adobe.commerce", event["type"], event)
    sb.deliver()

    assert sb.dlq(EXPORT) == []
    (body,) = created(sb)
    assert body["OrderNo"] == "000000101"
    assert body["OrderLines"]["OrderLine"][0]["Item"]["ItemID"] == "DEMO-MUG"


def test_a_slim_event_for_an_order_commerce_does_not_know_is_retried_then_parked(sb: Sandbox) -> None:
    event = sb.commerce.place_order(demo_data.simple_order("000000101"))
    event["data"]["value"] = {"increment_id": "000009999", "created_at": "2023-08-16 08:40:19",
                              "updated_at": "2023-08-16 08:40:19"}

    sb.publish("adobe.commerce", ORDER_SAVED, event)
    sb.deliver()

    attempts = 1 + sb.stack.functions[EXPORT].max_retries
    assert len(commerce_reads(sb)) == attempts
    (record,) = sb.dlq(EXPORT)
    assert record["responsePayload"]["errorType"] == "RetryableError"
    assert "order 000009999 is not in Commerce (yet)" in record["responsePayload"]["errorMessage"]
    assert created(sb) == []


def test_an_id_that_is_not_the_orders_is_parked(sb: Sandbox) -> None:
    first = sb.commerce.place_order(demo_data.simple_order("000000101"))
    sb.commerce.place_order(demo_data.simple_order("000000102"))
    slim = copy.deepcopy(first)
    slim["data"]["value"] = {"id": first["data"]["value"]["items"][0]["order_id"], "increment_id": "000000102",
                             "updated_at": "2023-08-16 08:40:19"}

    sb.publish("adobe.commerce", ORDER_SAVED, slim)
    sb.deliver()

    (record,) = sb.dlq(EXPORT)
    assert record["reason"]["code"] == "id_mismatch"
    assert created(sb) == []


# -- invoices, credit memos, returns --------------------------------------------------------------------

ADMIN = {"Authorization": f"Bearer {SANDBOX_SECRET['commerce_bearer_token']}"}
# The kit's way of subscribing (id, number, times), for the documents ReturnsFunction reads.
SLIM = ["id", "increment_id", "created_at", "updated_at"]


def admin(sb: Sandbox, method: str, path: str, body: Any = None) -> Any:
    answer = httpx.request(method, f"{sb.url('commerce')}/rest/default/V1{path}", json=body, headers=ADMIN)
    answer.raise_for_status()
    return answer.json()


def sterling_bodies(sb: Sandbox, api: str) -> list[dict[str, Any]]:
    return [call["body"] for call in sb.sterling.calls
            if call["path"].endswith(f"/invoke/{api}") and call["status"] == 200]


def test_slim_invoice_and_credit_memo_events_are_read_from_commerce(sb: Sandbox) -> None:
    for name in ("sales_order_invoice_save_commit_after", "sales_order_creditmemo_save_commit_after"):
        sb.commerce.event_fields[f"observer.{name}"] = SLIM
    placed = sb.commerce.place_order(demo_data.simple_order("000000101", qty=2))
    sb.publish("adobe.commerce", placed["type"], placed)
    sb.deliver()
    order = sb.commerce.find_order("000000101")
    item_id = order["items"][0]["item_id"]

    invoice_id = admin(sb, "POST", f"/order/{order['entity_id']}/invoice", {"capture": True})
    memo_id = admin(sb, "POST", f"/invoice/{invoice_id}/refund", {"items": [{"order_item_id": item_id, "qty": 1}]})
    sb.deliver()

    assert sb.dlq(RETURNS) == []
    # Neither document's id survives the kit's field list (theirs is entity_id): found by number.
    searched = {call["path"].rsplit("/", 1)[1]: call["query"]["searchCriteria[filter_groups][0][filters][0][value]"]
                for call in sb.commerce.calls if call["method"] == "GET" and call["path"].endswith(
                    ("/V1/invoices", "/V1/creditmemos"))
                and call["query"].get("searchCriteria[filter_groups][0][filters][0][field]") == "increment_id"}
    assert searched == {"invoices": f"{invoice_id:09d}", "creditmemos": f"{memo_id:09d}"}
    recorded = sterling_bodies(sb, "recordInvoiceCreation")
    assert [(body["InvoiceType"], body["Reference1"], [(line["PrimeLineNo"], line["Quantity"])
                                                       for line in body["LineDetails"]["LineDetail"]])
            for body in recorded] == [
        ("PRO_FORMA", f"Commerce invoice {invoice_id:09d}", [(1, 2)]),
        ("CREDIT_MEMO", f"Commerce credit memo {memo_id:09d}", [(1, 1)]),
    ]
    assert_commerce_contract(sb.commerce)
