"""IBM's Sterling event codes on Adobe I/O Events → the detail-types of our bus. Pure.

IBM's pre-configured OMS layer publishes Sterling's documents to Adobe I/O Events as a custom
provider (``ibm.sterling.adobe.shipment_shipped.v0``, …), which is how IBM's App Builder connector
receives them (its ``appbuilder/src/config/constant.js``, ``OMS_EVENTS``). The table
``sterling_event_codes`` says for each code the detail-type a direct Sterling POST of the same
document has, and the flow that owns it — or why it is refused. A row either names one
``detail_type``, or chooses among ``detail_types`` by a field of the document (``by``; a value it
does not list is refused with the row's ``refused``), or is ``refused`` outright.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omsbridge.events import STERLING_DETAIL_TYPES, STERLING_ROOTS
from omsbridge.mapping.tables import table

TABLE = "sterling_event_codes"


class CodeRefused(Exception):
    """A code this bridge does not apply; ``reason`` names it and says why."""

    def __init__(self, error: str, reason: str) -> None:
        super().__init__(reason)
        self.error = error
        self.reason = reason


def rows() -> dict[str, dict[str, Any]]:
    return {code: dict(row) for code, row in table(TABLE).items() if isinstance(row, Mapping)}


def is_code(event_type: str) -> bool:
    return event_type in rows()


def detail_types(row: Mapping[str, Any]) -> list[str]:
    """Every detail-type a row can give."""
    if "detail_type" in row:
        return [str(row["detail_type"])]
    return [str(value) for value in (row.get("detail_types") or {}).values()]


def root(code: str) -> str | None:
    """The Sterling root element the code's documents have (None for a refused code)."""
    roots = {STERLING_ROOTS[dt] for dt in detail_types(rows().get(code, {})) if dt in STERLING_ROOTS}
    return roots.pop() if len(roots) == 1 else None


def detail_type(code: str, document: Mapping[str, Any]) -> str:
    """The detail-type of ``document`` (root dropped) published under ``code``; raises ``CodeRefused``."""
    row = rows().get(code)
    if row is None:
        raise CodeRefused("unknown_event", f"{code[:100]!r} is no Sterling event code of the {TABLE} table")
    chosen: Any = row.get("detail_type")
    if chosen is None and "by" in row:
        field = str(row["by"])
        value = document.get(field)
        chosen = (row.get("detail_types") or {}).get(value) if isinstance(value, str) else None
        if chosen is None:
            stated = f"{field} {value[:80]!r}" if isinstance(value, str) and value else f"no {field}"
            raise CodeRefused("refused_event", f"{code} with {stated} refused: {row.get('refused', 'not mapped')}")
    if chosen is None:
        raise CodeRefused("refused_event", f"{code} refused: {row.get('refused', 'not mapped')}")
    if chosen not in STERLING_DETAIL_TYPES:
        raise CodeRefused("refused_event", f"{code} maps to {chosen!r}, which is no Sterling event of the bus")
    return str(chosen)
