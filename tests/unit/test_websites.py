"""The websites mapping table: a website's or store view's row, the default, the enterprises it makes
served, and the store code each enterprise's documents are written back through."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import pytest

from omsbridge import config, enterprises, websites
from omsbridge.errors import PermanentError
from omsbridge.mapping import order as mapping
from tests.support import foreign

TABLE = {
    "eu": {"enterprise_code": "EU_BRAND", "seller_organization_code": "EU_SELLER", "currency": "eur",
           "store_code": "eu_en"},
    "eu_fr": {"enterprise_code": "EU_BRAND", "store_code": "eu_fr"},
    "trade": {"enterprise_code": "B2B"},
}


@pytest.fixture
def mapped(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MAPPING_OVERRIDES", json.dumps({"websites": TABLE}))
    monkeypatch.setenv("STERLING_ENTERPRISE_CODE", "US_BRAND")
    config.reset()
    yield
    monkeypatch.undo()
    config.reset()


@pytest.mark.parametrize(("store", "website", "row", "enterprise"), [
    ("eu_en", "eu", "eu", "EU_BRAND"),
    ("eu_fr", "eu", "eu_fr", "EU_BRAND"),      # a store view's own row wins over its website's
    ("trade_en", "trade", "trade", "B2B"),
    ("default", "base", "", "US_BRAND"),      # no row: the default enterprise
])
@pytest.mark.usefixtures("mapped")
def test_a_store_views_row_else_its_websites_else_the_default(store: str, website: str, row: str,
                                                                enterprise: str) -> None:
    site = websites.site_of(store, website)
    assert (site.row, site.enterprise_code) == (row, enterprise)


@pytest.mark.usefixtures("mapped")
def test_the_tables_enterprises_are_served_and_written_back_through_their_store() -> None:
    assert config.settings().served_enterprises == {"US_BRAND", "EU_BRAND", "B2B"}
    enterprises.check({"EnterpriseCode": "B2B"}, "a shipment")
    with pytest.raises(enterprises.ForeignEnterprise):
        enterprises.check({"EnterpriseCode": "OTHER"}, "a shipment")
    assert [websites.store_code_for(code) for code in ("EU_BRAND", "B2B", "US_BRAND")] == ["eu_en", "", ""]


def test_zero_configuration_is_one_enterprise_and_asks_commerce_nothing() -> None:
    config.reset()

    def no_commerce() -> None:
        raise AssertionError("Commerce asked")

    site = websites.of_order("2", {"storeId": "2"}, no_commerce)  # type: ignore[arg-type]
    assert site == websites.Site(row="", enterprise_code="DEFAULT")
    assert config.settings().served_enterprises == {"DEFAULT"}


def test_a_row_without_an_enterprise_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAPPING_OVERRIDES", json.dumps({"websites": {"eu": {"store_code": "eu_en"}}}))
    config.reset()
    try:
        with pytest.raises(PermanentError, match="row 'eu' names no enterprise_code"):
            websites.rows()
    finally:
        monkeypatch.undo()
        config.reset()


def test_the_websites_seller_and_currency_shape_the_order() -> None:
    order = mapping.parse_order(foreign("commerce_event_sales_order_save_commit_after.json")["data"]["value"])

    exported = mapping.create_order_input(order, enterprise_code="EU_BRAND", seller_organization_code="EU_SELLER",
                                          currency="EUR", hold_amount=Decimal(10_000), product_class="GOOD")

    assert (exported.body["EnterpriseCode"], exported.body["SellerOrganizationCode"]) == ("EU_BRAND", "EU_SELLER")
    # Sent as Commerce charged it (USD), with a warning: Sterling converts nothing.
    assert exported.body["PriceInfo"] == {"Currency": "USD"}
    assert "order in USD for enterprise EU_BRAND, which takes EUR: sent in USD" in exported.warnings
