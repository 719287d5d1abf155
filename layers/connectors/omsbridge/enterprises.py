"""The one check every Sterling flow makes: is this document of an enterprise this bridge serves?

A Sterling instance usually runs several enterprises (brands, countries, B2B) and its transaction
events fire for all of them. A document of an enterprise this bridge does not serve
(``Settings.served_enterprises``: ``STERLING_ENTERPRISE_CODE``, ``STERLING_EXTRA_ENTERPRISE_CODES``
and the enterprises of the ``websites`` mapping table) must never touch Commerce or a partner: the flow parks it in
its DLQ with the reason (an HTTP callback answers 4xx with it).

The enterprise is the document's ``EnterpriseCode``; an availability change names its
``InventoryOrganizationCode`` instead. A document that names neither (IBM's connector publishes
thin shipment events with little more than an ``OrderNo``) is checked where the flow reads the
full document from Sterling.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omsbridge import config
from omsbridge.errors import ValidationError

ENTERPRISE_FIELDS = ("EnterpriseCode", "InventoryOrganizationCode")
ROOTS = ("Order", "OrderRelease", "Shipment", "InventoryItem")


class ForeignEnterprise(ValidationError):
    """A document of an enterprise this bridge does not serve."""


def stated(document: Any) -> str:
    """The enterprise a Sterling document names ("" when none): a parsed model or Sterling's JSON,
    with or without its root element."""
    if not isinstance(document, Mapping):
        return str(getattr(document, "enterprise_code", "") or getattr(document, "inventory_organization_code", "")
                   or "").strip()
    if len(document) == 1 and next(iter(document)) in ROOTS and isinstance(next(iter(document.values())), Mapping):
        return stated(next(iter(document.values())))
    for name in ENTERPRISE_FIELDS:
        value = document.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def check(document: Any, what: str) -> None:
    """Raise ``ForeignEnterprise`` when ``document`` names an enterprise this bridge does not serve."""
    enterprise = stated(document)
    served = config.settings().served_enterprises
    if enterprise and enterprise not in served:
        raise ForeignEnterprise(
            f"{what} is of Sterling enterprise {enterprise[:64]!r}, not one this bridge serves "
            f"({', '.join(sorted(served))}; STERLING_ENTERPRISE_CODE, STERLING_EXTRA_ENTERPRISE_CODES, the websites "
            "mapping table)",
            system="sterling", code="foreign_enterprise")
