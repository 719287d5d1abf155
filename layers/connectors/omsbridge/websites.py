"""Which Sterling enterprise a Commerce website's orders belong to, and which Commerce store a Sterling
enterprise's documents are written back through.

One Commerce often runs several websites that are different Sterling enterprises, seller
organisations and currencies. The ``websites`` mapping table (``mapping/tables/websites.json``,
overridable through ``MAPPING_OVERRIDES``) names them, one row per Commerce website code or store
view code::

    {"websites": {"eu": {"enterprise_code": "EU_BRAND", "seller_organization_code": "EU_SELLER",
                         "currency": "EUR", "store_code": "eu_en"}}}

``enterprise_code`` is required; ``seller_organization_code`` defaults to ``order_settings``' one (or
the enterprise); ``currency``, when set, is the one the enterprise takes (an order in another is sent
as Commerce charged it, with a warning); ``store_code`` is the REST store code Sterling's documents of
the enterprise are written back through (default ``COMMERCE_STORE_CODE``).

An order's row: its ``store_id`` (the event's ``_metadata.storeId`` when the order names none) →
Commerce's store views and websites (``GET /V1/store/storeViews`` and ``/V1/store/websites``, once
per container) → the row of its store view code, else of its website code. A website without a row
is the default's: ``STERLING_ENTERPRISE_CODE``. With an empty table (zero configuration) nothing is
asked of Commerce. Every enterprise the table names is served (``Settings.served_enterprises``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from omsbridge import config
from omsbridge.errors import PermanentError, ValidationError
from omsbridge.mapping.tables import table

if TYPE_CHECKING:
    from omsbridge.commerce import CommerceClient

TABLE = "websites"
ADMIN_STORE = "0"


@dataclass(frozen=True)
class Site:
    """Where one website's orders go: ``row`` is its key in the table ("" for the default)."""

    row: str
    enterprise_code: str
    seller_organization_code: str = ""
    currency: str = ""
    store_code: str = ""


def rows() -> dict[str, Site]:
    """The table's rows; a row without an enterprise is a configuration error, never a guess."""
    sites: dict[str, Site] = {}
    for key, row in table(TABLE).items():
        enterprise = str(row.get("enterprise_code") or "").strip() if isinstance(row, Mapping) else ""
        if not enterprise:
            raise PermanentError(f"the {TABLE} mapping row {key!r} names no enterprise_code", system="mapping",
                                 code="config")
        sites[key] = Site(row=key, enterprise_code=enterprise,
                          seller_organization_code=str(row.get("seller_organization_code") or "").strip(),
                          currency=str(row.get("currency") or "").strip().upper(),
                          store_code=str(row.get("store_code") or "").strip())
    return sites


def default() -> Site:
    return Site(row="", enterprise_code=config.settings().sterling_enterprise_code.strip())


def enterprises() -> frozenset[str]:
    """The enterprises the table names."""
    return frozenset(site.enterprise_code for site in rows().values())


def store_code_for(enterprise_code: str) -> str:
    """The REST store code a Sterling document of ``enterprise_code`` is written to Commerce through
    ("" for ``COMMERCE_STORE_CODE``): its first row's ``store_code``."""
    wanted = enterprise_code.strip()
    return next((site.store_code for site in rows().values()
                 if site.enterprise_code == wanted and site.store_code), "")


def site_of(store_code: str, website_code: str) -> Site:
    """The row of a store view code, else of its website's code, else the default. Pure."""
    sites = rows()
    return sites.get(store_code) or sites.get(website_code) or default()


def of_order(store_id: Any, metadata: Mapping[str, Any] | None, client: Callable[[], CommerceClient]) -> Site:
    """The site of an order saved in store view ``store_id`` (see the module docstring)."""
    if not rows():
        return default()
    store = _text(store_id) or _text((metadata or {}).get("storeId"))
    if not store or store == ADMIN_STORE or not store.isdigit():
        raise ValidationError(f"the order names no store view (store_id {store or 'missing'}), so which {TABLE} "
                              "row it belongs to cannot be told", system="mapping", code="unknown_store")
    commerce = client()
    view = commerce.store_views().get(int(store)) or commerce.store_views(fresh=True).get(int(store))
    if view is None:
        raise PermanentError(f"Commerce has no store view {store}", system="commerce", code="unknown_store")
    website = commerce.websites().get(int(view.get("website_id") or 0)) or {}
    return site_of(str(view.get("code") or ""), str(website.get("code") or ""))


def _text(value: Any) -> str:
    return "" if value is None or isinstance(value, bool) else str(value).strip()
