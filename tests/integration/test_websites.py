"""Several Commerce websites, several Sterling enterprises: the ``websites`` mapping table sends each
website's orders to its enterprise and seller, and writes its enterprise's documents back through its
REST store code. An order's website is found from its store view (the event's ``store_id``, or the
``_metadata.storeId`` Commerce's events client adds: IBM's 2.4.5-p3 sample of
IBM/adobe-commerce-ibm-oms-connector at 1aca86c, ``appbuilder/src/actions/ACCreateOrder/README.md``,
has ``{"storeId": "1", "websiteId": "1", "storeGroupId": "1"}``)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox import demo_data
from sandbox.contracts import assert_commerce_contract
from sandbox.stack import Sandbox
from tests.support import foreign

CREATE = "/smcfs/restapi/invoke/createOrder"
EXPORT = "OrderExportFunction"
EU = {"enterprise_code": "EU_BRAND", "seller_organization_code": "EU_SELLER", "currency": "EUR",
      "store_code": "eu_en"}
SEED: dict[str, Any] = {
    "commerce": {**demo_data.SEED["commerce"],
                 "websites": [{"id": 2, "code": "eu", "name": "EU website"},
                              {"id": 3, "code": "b2b", "name": "Trade website"}],
                 "store_views": [{"id": 2, "code": "eu_en", "name": "EU English", "website_id": 2},
                                 {"id": 3, "code": "eu_de", "name": "EU Deutsch", "website_id": 2},
                                 {"id": 4, "code": "trade", "name": "Trade", "website_id": 3}]},
    "sterling": {**demo_data.SEED["sterling"], "enterprises": ["DEFAULT", "EU_BRAND", "EU_SELLER"]},
}


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    env = {"MAPPING_OVERRIDES": json.dumps({"websites": {"eu": EU}})}
    with Sandbox(seed=copy.deepcopy(SEED), env=env) as box:
        yield box


def order_on(number: str, store_id: int, currency: str = "EUR") -> dict[str, Any]:
    order = demo_data.simple_order(number)
    order.update(store_id=store_id, order_currency_code=currency, base_currency_code=currency)
    return order


def place(sb: Sandbox, *orders: dict[str, Any]) -> list[dict[str, Any]]:
    events = [sb.commerce.place_order(order) for order in orders]
    for event in events:
        sb.publish("adobe.commerce", event["type"], event)
    sb.deliver()
    return events


def created(sb: Sandbox) -> dict[str, tuple[str, str, str]]:
    return {call["body"]["OrderNo"]: (call["body"]["EnterpriseCode"], call["body"]["SellerOrganizationCode"],
                                      call["body"]["PriceInfo"]["Currency"])
            for call in sb.sterling.calls if call["path"] == CREATE and call["status"] == 200}


def test_each_websites_orders_go_to_its_enterprise_and_seller(sb: Sandbox) -> None:
    events = place(sb, order_on("000000101", 1, "USD"), order_on("000000102", 2), order_on("000000103", 3),
                   order_on("000000104", 4, "USD"))

    # The events say where the order was placed, as Commerce's events client does.
    assert [event["data"]["_metadata"]["websiteId"] for event in events] == ["1", "2", "2", "3"]
    assert created(sb) == {
        "000000101": ("DEFAULT", "DEFAULT", "USD"),
        # Both store views of the "eu" website.
        "000000102": ("EU_BRAND", "EU_SELLER", "EUR"),
        "000000103": ("EU_BRAND", "EU_SELLER", "EUR"),
        # A website without a row is the default's.
        "000000104": ("DEFAULT", "DEFAULT", "USD"),
    }
    assert sb.dlq(EXPORT) == []
    # Commerce's stores are read once for the container, not per order.
    reads = [call["path"] for call in sb.commerce.calls if "/V1/store/" in call["path"]]
    assert sorted(reads) == ["/rest/default/V1/store/storeViews", "/rest/default/V1/store/websites"]
    assert_commerce_contract(sb.commerce)


def commerce_writes(sb: Sandbox, entity_id: int) -> list[str]:
    return [call["path"] for call in sb.commerce.calls if call["method"] == "POST"
            and (f"/orders/{entity_id}/" in call["path"] or f"/order/{entity_id}/" in call["path"])]


def test_sterling_documents_of_each_enterprise_are_written_through_its_websites_store(sb: Sandbox) -> None:
    place(sb, order_on("000000101", 1, "USD"), order_on("000000102", 3))
    for number, enterprise in (("000000101", "DEFAULT"), ("000000102", "EU_BRAND")):
        sb.sterling.schedule(number, enterprise_code=enterprise)
        sb.sterling.release(number, enterprise_code=enterprise)
        api = sb.sterling_user(enterprise)
        lines = sb.sterling.order(number, enterprise_code=enterprise).lines
        api.create_shipment({"ShipmentNo": f"SH-{number}", "ShipNode": "default", "ShipmentLines": {
            "ShipmentLine": [{"OrderNo": number, "PrimeLineNo": line.prime_line_no, "SubLineNo": "1",
                              "Quantity": str(line.ordered_qty)} for line in lines]}})
        api.confirm_shipment({"ShipmentNo": f"SH-{number}", "ShipNode": "default",
                              "SellerOrganizationCode": sb.sterling.order(number, enterprise_code=enterprise).seller})
        api.close()
    sb.deliver()

    us, eu = (sb.commerce.find_order(number) for number in ("000000101", "000000102"))
    # Status comments and the shipment, each through the store code of its order's website.
    assert {path.split("/V1/")[0] for path in commerce_writes(sb, us["entity_id"])} == {"/rest/default"}
    assert {path.split("/V1/")[0] for path in commerce_writes(sb, eu["entity_id"])} == {"/rest/eu_en"}
    assert any(path.endswith(f"/order/{eu['entity_id']}/ship") for path in commerce_writes(sb, eu["entity_id"]))
    assert eu["items"][0]["qty_shipped"] == 2
    for function in ("OrderStatusFunction", "ShipmentSyncFunction", EXPORT):
        assert sb.dlq(function) == []


def test_an_order_whose_store_cannot_be_told_is_parked_when_websites_are_mapped(sb: Sandbox) -> None:
    event = sb.commerce.place_order(order_on("000000101", 2))
    del event["data"]["value"]["store_id"]
    event["data"]["_metadata"].update(storeId="0", websiteId="0")
    sb.publish("adobe.commerce", event["type"], event)
    sb.deliver()

    (record,) = sb.dlq(EXPORT)
    assert record["reason"]["code"] == "unknown_store"
    assert created(sb) == {}


def test_without_a_websites_table_nothing_is_asked_of_commerces_stores() -> None:
    order = foreign("commerce_event_sales_order_save_commit_after.json")["data"]["value"]
    seed = copy.deepcopy(SEED)
    seed["sterling"]["items"] = ["DEMO-MUG", "Adobe_Pro_12"]
    env = {"MAPPING_OVERRIDES": json.dumps({"payment_types": {"braintree": "CREDIT_CARD"}})}
    with Sandbox(seed=seed, env=env) as box:
        place(box, {**copy.deepcopy(order), "store_id": 3})
        assert created(box) == {"000000617": ("DEFAULT", "DEFAULT", "USD")}
        assert [call for call in box.commerce.calls if "/V1/store/" in call["path"]] == []
