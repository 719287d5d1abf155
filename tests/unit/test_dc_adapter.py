"""The DC adapter interface: the generic WMS callbacks read as neutral confirmations, the registry
chosen by DC_ADAPTER, and the generic reference adapter against the WMS simulator over loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from omsbridge import config, dc
from omsbridge.carrier.models import Address
from omsbridge.carrier.rest import PartnerClient
from omsbridge.carrier.signing import sign
from omsbridge.dc import (
    Acknowledgement,
    ConfirmedContainer,
    ConfirmedLine,
    ContainerItem,
    DcConfirmation,
    SignatureError,
    WmsLine,
    WmsOrder,
)
from omsbridge.dc.generic import GenericDc, parse_callback_body
from omsbridge.errors import PermanentError, ValidationError
from omsbridge.http import RetryPolicy, timeouts
from sandbox.sim.base import Fault, SimServer
from sandbox.sim.dc import DcSim

KEY = "dc-test-key"
SHIPPED = {
    "event_id": "DC-1", "type": "short_pick", "release_key": "RK1", "order_no": "000000101", "ship_node": "DC",
    "shipment_no": "WMS-SH-1", "occurred_at": "2024-05-02T10:00:00Z",
    "lines": [{"line_ref": "OL1", "prime_line_no": "1", "sub_line_no": "1", "sku": "MUG", "quantity": 3,
               "shipped": 2}],
    "containers": [{"container_no": "B1", "tracking_number": "1ZA", "scac": "UPSN",
                    "items": [{"line_ref": "OL1", "sku": "MUG", "quantity": 2}]}],
}
CANCELLED = {"event_id": "DC-2", "type": "cancelled", "release_key": "RK1", "reason": "Out of stock",
             "lines": [{"prime_line_no": "1", "cancelled": "1.5"}]}


def raw(document: Any) -> bytes:
    return json.dumps(document).encode()


def test_a_ship_confirmation_reads_as_a_neutral_confirmation() -> None:
    assert parse_callback_body(raw(SHIPPED)) == DcConfirmation(
        event_id="DC-1", kind="short_pick", release_key="RK1", order_no="000000101", ship_node="DC",
        shipment_no="WMS-SH-1", occurred_at="2024-05-02T10:00:00Z",
        lines=[ConfirmedLine(line_ref="OL1", prime_line_no="1", sub_line_no="1", sku="MUG", quantity=Decimal(3),
                             shipped=Decimal(2))],
        containers=[ConfirmedContainer(container_no="B1", tracking_no="1ZA", scac="UPSN",
                                       items=[ContainerItem(line_ref="OL1", sku="MUG", quantity=Decimal(2))])])


def test_a_cancel_confirmation_reads_as_a_neutral_confirmation() -> None:
    assert parse_callback_body(raw(CANCELLED)) == DcConfirmation(
        event_id="DC-2", kind="cancelled", release_key="RK1", reason="Out of stock",
        lines=[ConfirmedLine(prime_line_no="1", cancelled=Decimal("1.5"))])


def without(document: dict[str, Any], name: str) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != name}


def first_line(document: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**document, "lines": [{**document["lines"][0], **changes}]}


MALFORMED: list[tuple[str, bytes, str]] = [
    ("not JSON", b"{", "body is not valid JSON"),
    ("unknown type", raw({**SHIPPED, "type": "lost"}), "type: Input should be 'shipped', 'short_pick' or 'cancelled'"),
    ("no release key", raw(without(SHIPPED, "release_key")), "release_key: Field required"),
    ("no lines", raw({**SHIPPED, "lines": []}), "lines: List should have at least 1 item"),
    ("a line without a name", raw(first_line(SHIPPED, line_ref="", prime_line_no="")),
     "lines.0: a line needs line_ref or prime_line_no"),
    ("a negative quantity", raw(first_line(SHIPPED, shipped=-1)), "lines.0.shipped: Input should be greater"),
    ("shipped without a shipment number", raw(without(SHIPPED, "shipment_no")),
     "body: a short_pick confirmation needs shipment_no"),
    ("shipped nothing", raw(first_line(SHIPPED, shipped=0)),
     "body: a short_pick confirmation ships nothing: send type cancelled instead"),
    ("shipped more than it covers", raw(first_line(SHIPPED, shipped=4)), "body: shipped exceeds quantity on line OL1"),
    ("cancelled nothing", raw(first_line(CANCELLED, cancelled=0)),
     "body: a cancelled confirmation cancels a quantity of at least one line"),
    ("a box without a number", raw({**SHIPPED, "containers": [{"tracking_number": "1ZA"}]}),
     "containers.0.container_no: Field required"),
]


@pytest.mark.parametrize(("case", "body", "reason"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_a_malformed_confirmation_is_refused_with_the_reason(case: str, body: bytes, reason: str) -> None:
    with pytest.raises(ValidationError) as raised:
        parse_callback_body(body)
    assert raised.value.reason.startswith(reason)


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.delenv("SECRET_ID", raising=False)
    config.reset()
    yield monkeypatch
    config.reset()


def test_an_unknown_dc_adapter_is_a_permanent_error(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("DC_ADAPTER", "manhattan")
    config.reset()
    with pytest.raises(PermanentError, match=r"DC_ADAPTER='manhattan' names no dc adapter \(known: generic\)"):
        dc.adapter()


@pytest.fixture
def server() -> Iterator[SimServer]:
    running = SimServer(DcSim(api_key=KEY)).start()
    yield running
    running.stop()


def generic(server: SimServer, key: str = KEY) -> GenericDc:
    policy = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.01)
    return GenericDc(PartnerClient(server.url, key, system="dc", policy=policy, timeout=timeouts(1, 0.5)), key)


ORDER = WmsOrder(release_key="RK1", order_no="000000101", release_no="1", ship_node="DC",
                 ship_to=Address(name="Jane Doe", country="US"),
                 lines=[WmsLine(line_ref="OL1", prime_line_no="1", sub_line_no="1", sku="MUG",
                                unit_of_measure="EACH", quantity=Decimal(3))])


def test_a_release_is_handed_over_once_under_its_key(server: SimServer) -> None:
    server.simulator.faults.script(r"^/v1/orders$", Fault("status", status=503))
    adapter = generic(server)
    assert adapter.send_release(ORDER) == Acknowledgement(wms_order_id="WMS-000001", status="accepted")
    assert adapter.send_release(ORDER) == Acknowledgement(wms_order_id="WMS-000001", status="accepted")
    adapter.close()
    assert [call["status"] for call in server.simulator.calls] == [503, 201, 201]
    assert list(server.simulator.orders) == list(server.simulator.replies) == ["RK1"]


@pytest.mark.parametrize(("key", "order", "reason"), [
    ("wrong", ORDER, r"dc answered 401 \(unauthorized: missing or invalid X-Api-Key\) to POST /v1/orders"),
    (KEY, ORDER.model_copy(update={"ship_to": Address()}),
     r"dc answered 400 \(invalid_request: ship_to.country is required\)"),
])
def test_a_refused_release_is_permanent_with_the_wms_reason(server: SimServer, key: str, order: WmsOrder,
                                                           reason: str) -> None:
    adapter = generic(server, key)
    with pytest.raises(PermanentError, match=reason):
        adapter.send_release(order)
    adapter.close()
    assert server.simulator.orders == {}


def test_the_generic_dc_verifies_then_reads_a_confirmation(server: SimServer) -> None:
    body, headers = server.simulator.signed(CANCELLED)
    adapter = generic(server)
    assert adapter.parse_callback(headers, body.encode()).event_id == "DC-2"
    with pytest.raises(SignatureError, match="does not match"):
        adapter.parse_callback({"x-signature": sign(body.encode(), "carrier-key")}, body.encode())
    adapter.close()
