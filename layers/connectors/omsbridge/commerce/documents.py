"""Commerce documents as a flow needs them, whatever fields the event subscription kept.

Merchants narrow the fields of an ``io_events.xml`` subscription: Adobe's integration starter kit
subscribes ``observer.sales_order_save_commit_after`` with ``id, increment_id, created_at,
updated_at`` only. An event whose ``data.value`` lacks a field the flow reads (``Kind.needs``: what
every real document has, so its absence means the subscription left it out) is never used as it is:
the document is read from Commerce by the id the event names (``entity_id``, or ``id``), else found
by its ``increment_id``, and the flow works on that.

A document Commerce does not know (yet) is a ``RetryableError``: Lambda retries, then its
on-failure destination keeps the event with the reason. Nothing is exported half.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from omsbridge.commerce.search import Filter
from omsbridge.errors import PermanentError, RetryableError, ValidationError

if TYPE_CHECKING:
    from omsbridge.commerce.client import CommerceClient

SYSTEM = "commerce"


@dataclass(frozen=True)
class Kind:
    """A document type: its REST read (``GET {path}/{id}``), its search, and the fields a flow reads
    that every real document of the type has (``items[].sku``: each item has a ``sku``)."""

    what: str
    path: str
    search_path: str
    needs: tuple[str, ...]


# A Magento order always has items, a currency, a billing address and a payment (a free order's
# method is "free"). Events leave null fields out, so only never-null fields can say "narrowed".
ORDER = Kind("order", "/orders", "/orders", (
    "increment_id", "state", "order_currency_code", "items[].sku", "items[].qty_ordered", "items[].price",
    "items[].product_type", "addresses[].address_type", "addresses[].country_id", "payment.method"))
INVOICE = Kind("invoice", "/invoices", "/invoices",
               ("entity_id", "order_id", "state", "items[].order_item_id", "items[].qty"))
CREDIT_MEMO = Kind("credit memo", "/creditmemo", "/creditmemos",
                   ("entity_id", "order_id", "items[].order_item_id", "items[].qty"))
RMA = Kind("return", "/returns", "/returns",
           ("entity_id", "increment_id", "status", "items[].order_item_id", "items[].qty_requested"))


def missing(kind: Kind, value: Mapping[str, Any]) -> list[str]:
    """The fields of ``kind.needs`` the event's document lacks (absent, null or empty, in any item)."""
    return [name for name in kind.needs if not _present(value, name.split("."))]


def _present(value: Any, path: list[str]) -> bool:
    if not isinstance(value, Mapping):
        return False
    name, rest = path[0], path[1:]
    many = name.endswith("[]")
    found = value.get(name.removesuffix("[]"))
    if found in (None, "", [], {}):
        return False
    if not rest:
        return True
    if many:
        return isinstance(found, list) and all(_present(item, rest) for item in found)
    return _present(found, rest)


def complete(kind: Kind, value: Mapping[str, Any],
             client: Callable[[], CommerceClient]) -> tuple[dict[str, Any], bool]:
    """``(document, read)``: the event's document when it has every needed field, else the document
    as Commerce has it now (``read`` True). ``client`` is called only when Commerce must be asked."""
    lacking = missing(kind, value)
    if not lacking:
        return dict(value), False
    from omsbridge.observability import count, logger

    count("read_from_commerce")
    logger.info(f"slim {kind.what} event: the {kind.what} is read from Commerce", extra={"missing": lacking})
    return read(kind, value, client()), True


def of_event(kind: Kind, detail: Mapping[str, Any], client: Callable[[], CommerceClient]) -> dict[str, Any]:
    """The document of an I/O event (an EventBridge ``detail``), completed from Commerce if need be."""
    from omsbridge.events import CommerceEvent

    return complete(kind, CommerceEvent.model_validate(detail).data.value, client)[0]


def read(kind: Kind, value: Mapping[str, Any], client: CommerceClient) -> dict[str, Any]:
    number = _text(value.get("increment_id"))
    entity_id = next((_text(value.get(name)) for name in ("entity_id", "id") if _text(value.get(name))), "")
    if entity_id:
        if not entity_id.isdigit():
            raise ValidationError(f"{kind.what} event names id {entity_id[:40]!r}, not a Commerce entity id")
        document = _get(kind, client, entity_id, number)
        if number and _text(document.get("increment_id")) != number:
            raise PermanentError(
                f"Commerce {kind.what} {entity_id} is number {_text(document.get('increment_id'))[:40]!r}, not "
                f"{number[:40]!r} as the event says: is the subscribed id field the {kind.what}'s entity id?",
                system=SYSTEM, code="id_mismatch")
        return document
    if number:
        return _find(kind, client, number)
    raise ValidationError(f"{kind.what} event carries neither an id nor an increment_id: nothing to read it by "
                          "(add them to the io_events.xml subscription)")


def _get(kind: Kind, client: CommerceClient, entity_id: str, number: str) -> dict[str, Any]:
    try:
        answer = client.get(f"{kind.path}/{entity_id}")
    except PermanentError as exc:
        if exc.status != 404:
            raise
        raise _unknown(kind, number or entity_id) from exc
    if not isinstance(answer, dict):
        raise PermanentError(f"Commerce answered {type(answer).__name__} for {kind.what} {entity_id}",
                             system=SYSTEM, body=answer, code="bad_answer")
    return answer


def _find(kind: Kind, client: CommerceClient, number: str) -> dict[str, Any]:
    found = client.search(kind.search_path, [Filter("increment_id", number)], page_size=2)
    if not found:
        raise _unknown(kind, number)
    if len(found) > 1:
        raise PermanentError(f"Commerce has {len(found)} {kind.what}s numbered {number[:40]}", system=SYSTEM,
                             code="ambiguous")
    return found[0]


def _unknown(kind: Kind, number: str) -> RetryableError:
    return RetryableError(f"the event's {kind.what} {number[:40]} is not in Commerce (yet): not exported from a "
                          "slim event", system=SYSTEM, code="not_found")


def _text(value: Any) -> str:
    return "" if value is None or isinstance(value, bool) else str(value).strip()
