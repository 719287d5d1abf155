"""Commerce RMA ↔ Sterling return order, and Sterling refund → Commerce credit memo, pinned case by case."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from omsbridge import config
from omsbridge.errors import PermanentError, ValidationError
from omsbridge.mapping import returns as mapping
from omsbridge.mapping.returns import ReturnLine
from omsbridge.state import OrderLineRef
from omsbridge.sterling.models import Order

REFS = [
    OrderLineRef(prime_line_no=1, order_item_id=11, sku="MUG", qty=3),
    OrderLineRef(prime_line_no=2, order_item_id=12, sku="TEE-M", qty=1, child_item_id=13),
]
SALES = Order.model_validate({
    "OrderHeaderKey": "SOHK", "OrderNo": "000000603", "EnterpriseCode": "DEFAULT", "DocumentType": "0001",
    "SellerOrganizationCode": "SELLER", "PriceInfo": {"Currency": "USD"},
    "OrderLines": {"OrderLine": [
        {"OrderLineKey": "L1", "PrimeLineNo": "1", "SubLineNo": "1", "OrderedQty": "3.00", "ShipNode": "",
         "CustomerLinePONo": "11", "Item": {"ItemID": "MUG", "UnitOfMeasure": "EACH", "ProductClass": "GOOD"},
         "LinePriceInfo": {"UnitPrice": "12.50", "IsPriceLocked": "Y"}},
        {"OrderLineKey": "L2", "PrimeLineNo": "2", "SubLineNo": "1", "OrderedQty": "1.00", "ShipNode": "",
         "CustomerLinePONo": "12", "Item": {"ItemID": "TEE-M", "UnitOfMeasure": "EACH", "ProductClass": ""},
         "LinePriceInfo": {"UnitPrice": "25.00"}}]},
    "OrderStatuses": {"OrderStatus": [
        {"OrderLineKey": "L1", "Status": "3700", "StatusQty": "3.00", "ShipNode": "dc1"},
        {"OrderLineKey": "L2", "Status": "9000", "StatusQty": "1.00", "ShipNode": "dc1"},
        {"OrderLineKey": "L2", "Status": "3700", "StatusQty": "1.00", "ShipNode": "store_1"}]},
})


@pytest.fixture
def tables(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Override mapping tables for one test, as MAPPING_OVERRIDES does for a deployment."""

    def use(overrides: dict[str, Any]) -> None:
        monkeypatch.setenv("MAPPING_OVERRIDES", json.dumps(overrides))
        config.reset()

    yield use
    monkeypatch.delenv("MAPPING_OVERRIDES", raising=False)
    config.reset()


def rma(items: list[dict[str, Any]], status: str = "pending", **extra: Any) -> mapping.Rma:
    return mapping.parse_rma({"entity_id": 4, "increment_id": "000000004", "order_id": 9,
                              "order_increment_id": "000000603", "status": status, "items": items, **extra})


def rma_item(entity_id: int, order_item_id: int, requested: int, authorized: int = 0, returned: int = 0,
             reason: str = "") -> dict[str, Any]:
    return {"entity_id": entity_id, "order_item_id": order_item_id, "qty_requested": requested,
            "qty_authorized": authorized, "qty_returned": returned, "reason": reason}


def line(prime: int, order_item_id: int, sku: str, sales_prime: int, qty: float, node: str, **extra: Any
         ) -> ReturnLine:
    return ReturnLine(prime_line_no=prime, order_item_id=order_item_id, sku=sku, sales_prime_line_no=sales_prime,
                      qty=qty, ship_node=node, **extra)


@pytest.mark.parametrize(("items", "refs", "expected"), [
    pytest.param([rma_item(41, 11, 1)], REFS,
                 [line(1, 11, "MUG", 1, 1, "dc1", rma_item_id=41, product_class="GOOD")], id="by the export's map"),
    pytest.param([rma_item(41, 11, 1)], [],
                 [line(1, 11, "MUG", 1, 1, "dc1", rma_item_id=41, product_class="GOOD")],
                 id="by CustomerLinePONo without a map"),
    pytest.param([rma_item(42, 13, 1)], REFS, [line(1, 13, "TEE-M", 2, 1, "store_1", rma_item_id=42)],
                 id="a configurable's child row returns its parent's line"),
    pytest.param([rma_item(41, 11, 0), rma_item(42, 12, 1), rma_item(43, 11, 2)], REFS,
                 [line(1, 12, "TEE-M", 2, 1, "store_1", rma_item_id=42),
                  line(2, 11, "MUG", 1, 2, "dc1", rma_item_id=43, product_class="GOOD")],
                 id="nothing requested, no line; the shipped node of each"),
])
def test_return_lines(items: list[dict[str, Any]], refs: list[OrderLineRef], expected: list[ReturnLine]) -> None:
    assert mapping.return_lines(rma(items), refs, SALES) == expected


def test_an_item_of_no_sterling_line_is_refused() -> None:
    with pytest.raises(PermanentError) as raised:
        mapping.return_lines(rma([rma_item(41, 99, 1)]), REFS, SALES)
    assert raised.value.reason == "return 000000004: Commerce order item 99 matches no line of Sterling order 000000603"


def test_the_returns_node_setting_receives_every_return(tables: Any) -> None:
    tables({"returns_settings": {"return_node": "returns_dc"}})
    [returned] = mapping.return_lines(rma([rma_item(41, 11, 1)]), REFS, SALES)
    assert returned.ship_node == "returns_dc"


DERIVED_1 = {"OrderHeaderKey": "SOHK", "OrderNo": "000000603", "EnterpriseCode": "DEFAULT", "DocumentType": "0001",
             "PrimeLineNo": 1, "SubLineNo": 1}


@pytest.mark.parametrize(("reasons", "reason", "row", "warnings"), [
    pytest.param({"wrong_size": "WRONG_SIZE"}, "wrong_size", {"ReturnReason": "WRONG_SIZE"}, [], id="mapped reason"),
    pytest.param({}, "13", {"ReturnReason": "13"}, ["return reason '13' has no ReturnReason mapping: sent as is"],
                 id="unmapped reason sent as is"),
    pytest.param({}, "", {}, [], id="no reason"),
])
def test_create_input(tables: Any, reasons: dict[str, str], reason: str, row: dict[str, Any],
                      warnings: list[str]) -> None:
    tables({"return_reasons": reasons})
    request = rma([rma_item(41, 11, 2, reason=reason)], date_requested="2024-05-03 09:00:00")
    found: list[str] = []
    lines = mapping.return_lines(request, REFS, SALES)
    body = mapping.create_input(request, lines, SALES, return_no="R-4", enterprise_code="DEFAULT", warnings=found)
    assert body == {
        "EnterpriseCode": "DEFAULT", "SellerOrganizationCode": "SELLER", "DocumentType": "0003", "OrderNo": "R-4",
        "OrderDate": "2024-05-03T09:00:00+00:00", "DraftOrderFlag": "N", "PriceInfo": {"Currency": "USD"},
        "OrderLines": {"OrderLine": [{
            "PrimeLineNo": 1, "SubLineNo": 1, "OrderedQty": 2, **row, "ShipNode": "dc1", "CustomerLinePONo": "11",
            "DerivedFrom": DERIVED_1, "Item": {"ItemID": "MUG", "UnitOfMeasure": "EACH", "ProductClass": "GOOD"},
            "LinePriceInfo": {"UnitPrice": 12.5, "IsPriceLocked": "Y"}}]}}
    assert found == warnings


@pytest.mark.parametrize(("value", "number", "key"), [
    ({"entity_id": 4, "increment_id": "000000004", "status": "authorized", "items": [
        {"entity_id": 41, "order_item_id": 11, "qty_requested": "2.0000", "qty_authorized": 1}]},
     "000000004", "authorized|41:2/1/0"),
    ({"entity_id": 4, "increment_id": "7", "items": [{"order_item_id": 11, "qty_requested": 1}]},
     "7", "|11:1/0/0"),
])
def test_return_number_and_event_key(value: dict[str, Any], number: str, key: str) -> None:
    parsed = mapping.parse_rma(value)
    assert (mapping.return_no(parsed), mapping.rma_key(parsed)) == (number, key)


def test_an_rma_without_items_is_refused() -> None:
    with pytest.raises(ValidationError) as raised:
        mapping.parse_rma({"entity_id": 4, "increment_id": "4", "items": []})
    assert raised.value.reason == (
        "return 4 is not usable: items: List should have at least 1 item after validation, not 0")


# -- moving Sterling to what the RMA shows ------------------------------------------------------------

LINES = [line(1, 11, "MUG", 1, 2, "dc1"), line(2, 12, "TEE-M", 2, 1, "store_1")]


def returned(*statuses: tuple[str, str, str]) -> Order:
    """A return order with lines R1 (2 ordered) and R2 (1), quantity per (line key, status, qty)."""
    return Order.model_validate({
        "OrderNo": "R-4", "DocumentType": "0003",
        "OrderLines": {"OrderLine": [{"OrderLineKey": "R1", "PrimeLineNo": "1", "SubLineNo": "1"},
                                     {"OrderLineKey": "R2", "PrimeLineNo": "2", "SubLineNo": "1"}]},
        "OrderStatuses": {"OrderStatus": [{"OrderLineKey": key, "Status": status, "StatusQty": qty}
                                          for key, status, qty in statuses]}})


def moves(found: list[tuple[ReturnLine, Decimal]]) -> list[tuple[int, int]]:
    return [(moved.prime_line_no, int(qty)) for moved, qty in found]


NEW = returned(("R1", "1100", "2.00"), ("R2", "1100", "1.00"))
AUTHORISED = returned(("R1", "1100.01", "2.00"), ("R2", "1100", "1.00"))
HALF_RECEIVED = returned(("R1", "3950", "1.00"), ("R1", "1100.01", "1.00"), ("R2", "9000", "1.00"))


@pytest.mark.parametrize(("current", "authorized", "returned_qty", "to_authorize", "to_receive"), [
    pytest.param(NEW, (0, 0), (0, 0), [], [], id="pending"),
    pytest.param(NEW, (2, 1), (0, 0), [(1, 2), (2, 1)], [], id="authorised"),
    pytest.param(NEW, (1, 0), (0, 0), [(1, 1)], [], id="partly authorised"),
    pytest.param(AUTHORISED, (2, 1), (0, 0), [(2, 1)], [], id="the rest authorised later"),
    pytest.param(NEW, (2, 0), (1, 0), [(1, 2)], [(1, 1)], id="authorised and received in one event"),
    pytest.param(HALF_RECEIVED, (2, 1), (2, 1), [], [(1, 1)], id="cancelled quantity is not moved"),
    pytest.param(HALF_RECEIVED, (1, 0), (1, 0), [], [], id="a late event moves nothing back"),
])
def test_what_is_left_to_authorise_and_receive(current: Order, authorized: tuple[int, int],
                                               returned_qty: tuple[int, int], to_authorize: list[tuple[int, int]],
                                               to_receive: list[tuple[int, int]]) -> None:
    request = rma([rma_item(41, 11, 2, authorized[0], returned_qty[0]),
                   rma_item(42, 12, 1, authorized[1], returned_qty[1])])
    lines = [moved.model_copy(update={"rma_item_id": 41 + n}) for n, moved in enumerate(LINES)]
    assert moves(mapping.to_authorize(request, lines, current)) == to_authorize
    assert moves(mapping.to_receive(request, lines, current)) == to_receive


@pytest.mark.parametrize(("current", "receiving", "keep"), [
    pytest.param(NEW, [], [(1, 0), (2, 0)], id="nothing received: every line to zero"),
    pytest.param(HALF_RECEIVED, [], [(1, 1)], id="keeps what was received; cancelled lines left alone"),
    pytest.param(HALF_RECEIVED, [(LINES[0], Decimal(1))], [], id="received in full by this very event"),
])
def test_what_a_closed_return_cancels(current: Order, receiving: list[tuple[ReturnLine, Decimal]],
                                      keep: list[tuple[int, int]]) -> None:
    assert moves(mapping.to_cancel(LINES, current, receiving)) == keep


def test_sterling_inputs() -> None:
    key = {"OrderNo": "R-4", "EnterpriseCode": "DEFAULT", "DocumentType": "0003"}
    one = [(LINES[0], Decimal(1))]
    assert mapping.authorize_input("R-4", "DEFAULT", one) == {
        **key, "TransactionId": "AUTHORIZE_RETURN.0003", "BaseDropStatus": "1100.01",
        "OrderLines": {"OrderLine": [{"PrimeLineNo": 1, "SubLineNo": 1, "Quantity": 1}]}}
    assert mapping.start_receipt_input("R-4", "DEFAULT", "dc1") == {
        "DocumentType": "0003", "ReceivingNode": "dc1", "Shipment": key}
    assert mapping.receive_input("R-4", "RHK", "dc1", one) == {
        "DocumentType": "0003", "ReceiptHeaderKey": "RHK", "ReceivingNode": "dc1", "ReceiptLines": {"ReceiptLine": [
            {"OrderNo": "R-4", "PrimeLineNo": 1, "SubLineNo": 1, "ItemID": "MUG", "UnitOfMeasure": "EACH",
             "Quantity": 1}]}}
    assert mapping.close_receipt_input("RHK") == {"DocumentType": "0003", "ReceiptHeaderKey": "RHK"}
    assert mapping.cancel_input("R-4", "DEFAULT", [(LINES[1], Decimal(0))]) == {
        **key, "ModificationReasonText": "Return closed in Adobe Commerce",
        "OrderLines": {"OrderLine": [{"PrimeLineNo": 2, "SubLineNo": 1, "OrderedQty": 0}]}}
    assert mapping.by_node([(LINES[0], Decimal(1)), (LINES[1], Decimal(1))]) == {
        "dc1": [(LINES[0], Decimal(1))], "store_1": [(LINES[1], Decimal(1))]}


def test_the_tenants_transaction_and_disposition_are_settings(tables: Any) -> None:
    tables({"returns_settings": {"authorize": {"TransactionId": "RETURN_AUTH.0003.ex", "BaseDropStatus": "3200"},
                                 "disposition_code": "RESTOCK"}})
    one = [(LINES[0], Decimal(1))]
    body = mapping.authorize_input("R-4", "DEFAULT", one)
    assert (body["TransactionId"], body["BaseDropStatus"]) == ("RETURN_AUTH.0003.ex", "3200")
    assert mapping.receive_input("R-4", "RHK", "dc1", one)["ReceiptLines"]["ReceiptLine"][0]["DispositionCode"] == (
        "RESTOCK")


# -- Sterling refund → Commerce credit memo ------------------------------------------------------------

MARK = "[oms-bridge] Refund for Sterling return R-4"


def memo(invoice_id: int | None, items: list[tuple[int, int]], comment: str = MARK) -> dict[str, Any]:
    return {"invoice_id": invoice_id, "comments": [{"comment": comment}],
            "items": [{"order_item_id": item, "qty": qty} for item, qty in items]}


def invoice(entity_id: int, items: list[tuple[int, int]]) -> dict[str, Any]:
    return {"entity_id": entity_id, "items": [{"order_item_id": item, "qty": qty} for item, qty in items]}


def test_what_the_return_has_to_credit() -> None:
    done = mapping.quantities(HALF_RECEIVED, "3950")
    assert done == {(1, 1): Decimal(1), (2, 1): Decimal(0)}
    targets = mapping.credit_targets(LINES, done)
    assert targets == {11: Decimal(1)}
    assert mapping.refund_comment("R-4") == MARK
    already = mapping.credited([memo(1, [(11, 1)]), memo(1, [(11, 5)], comment="goodwill")], MARK)
    assert already == {11: Decimal(1)}
    assert mapping.still_to_credit({11: Decimal(2), 12: Decimal(1)}, already) == {11: Decimal(1), 12: Decimal(1)}
    assert mapping.still_to_credit(targets, already) == {}


@pytest.mark.parametrize(("wanted", "invoices", "memos", "plan"), [
    pytest.param({11: 1}, [invoice(1, [(11, 3), (12, 1)])], [], [(1, {11: 1})],
                 id="one unit of a line of three, not the invoice"),
    pytest.param({11: 2, 12: 1}, [invoice(2, [(12, 1)]), invoice(1, [(11, 1)]), invoice(3, [(11, 2)])], [],
                 [(1, {11: 1}), (2, {12: 1}), (3, {11: 1})], id="spread over invoices, oldest first"),
    pytest.param({11: 1}, [invoice(1, [(11, 1)]), invoice(2, [(11, 1)])], [memo(1, [(11, 1)], comment="")],
                 [(2, {11: 1})], id="what a memo took back is not refunded again"),
])
def test_allocate(wanted: dict[int, int], invoices: list[dict[str, Any]], memos: list[dict[str, Any]],
                  plan: list[tuple[int, dict[int, int]]]) -> None:
    as_decimal = {item: Decimal(qty) for item, qty in wanted.items()}
    assert mapping.allocate(as_decimal, invoices, memos) == [
        (invoice_id, {item: Decimal(qty) for item, qty in share.items()}) for invoice_id, share in plan]


def test_allocate_refuses_what_no_invoice_covers() -> None:
    with pytest.raises(PermanentError) as raised:
        mapping.allocate({11: Decimal(2), 12: Decimal(1)}, [invoice(1, [(11, 1)])], [])
    assert raised.value.reason == "no invoice has enough left to refund item 11 × 1, item 12 × 1"


def test_refund_body_credits_exactly_the_items_and_no_shipping() -> None:
    assert mapping.refund_body({11: Decimal(1)}, online=True, comment=MARK, notify=True) == {
        "items": [{"order_item_id": 11, "qty": 1}], "isOnline": True, "notify": True, "appendComment": False,
        "comment": {"comment": MARK, "is_visible_on_front": 0},
        "arguments": {"shipping_amount": 0, "adjustment_positive": 0, "adjustment_negative": 0}}


@pytest.mark.parametrize(("payment", "online"), [
    ({"payment_type": "CREDIT_CARD", "authorized": 42.5, "captured": 42.5}, True),
    ({"payment_type": "CREDIT_CARD", "authorized": 42.5, "captured": 0}, False),
    ({"payment_type": "CHECK", "captured": 42.5}, False),
    ({}, False),
])
def test_refunds_go_through_the_gateway_only_for_money_it_captured(payment: dict[str, Any], online: bool) -> None:
    assert mapping.refunds_online(payment) is online


def test_a_return_sterling_made_is_known_from_its_sales_lines() -> None:
    document = Order.model_validate({"OrderNo": "R-9", "DocumentType": "0003", "OrderLines": {"OrderLine": [
        {"PrimeLineNo": "1", "SubLineNo": "1", "OrderedQty": "1.00", "Item": {"ItemID": "TEE-M"},
         "DerivedFrom": {"OrderNo": "000000603", "PrimeLineNo": "2", "SubLineNo": "1"}}]}})
    assert mapping.derived_order_no(document) == "000000603"
    assert mapping.lines_from_document(document, REFS) == [line(1, 12, "TEE-M", 2, 1, "")]
    blind = Order.model_validate({"OrderNo": "R-9", "OrderLines": {"OrderLine": [{"PrimeLineNo": "1"}]}})
    assert mapping.derived_order_no(blind) is None
    with pytest.raises(PermanentError) as raised:
        mapping.lines_from_document(blind, REFS)
    assert raised.value.reason == ("return R-9 line 1: its sales line (DerivedFrom ?.1) is not a line the order export "
                                   "recorded")


# -- the sample events (events/returns/*.json, for sam local invoke and python -m sandbox run) ------------

SAMPLES = Path(__file__).resolve().parents[2] / "events" / "returns"


@pytest.mark.parametrize("name", sorted(path.name for path in SAMPLES.glob("*.json")))
def test_each_sample_event_is_one_the_function_reads(name: str) -> None:
    from omsbridge.events import CommerceEvent, EventBridgeEvent, SterlingEvent
    from omsbridge.flows import returns as flow
    from omsbridge.mapping import invoice

    event = EventBridgeEvent.model_validate(json.loads((SAMPLES / name).read_text()))
    assert (event.source, event.detail_type) in flow.ROUTES
    if event.source == "ibm.sterling":
        document = Order.model_validate(SterlingEvent.model_validate(event.detail).data)
        assert (document.document_type, mapping.derived_order_no(document)) == ("0003", "000000101")
        return
    value = CommerceEvent.model_validate(event.detail).data.value
    parse = {flow.INVOICE_SAVED: invoice.parse_invoice, flow.CREDITMEMO_SAVED: invoice.parse_creditmemo,
             flow.RMA_SAVED: mapping.parse_rma}[event.detail_type]
    assert parse(value).entity_id == 1
