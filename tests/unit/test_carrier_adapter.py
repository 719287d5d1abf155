"""The carrier adapter interface: callback signatures, the registry chosen by CARRIER_ADAPTER, and
the generic reference adapter against the carrier simulator over loopback HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from omsbridge import carrier, config
from omsbridge.carrier import BookingRequest, Label, PackageItem, SignatureError, TrackingUpdate
from omsbridge.carrier.generic import GenericCarrier, label_from_answer, parse_tracking_body
from omsbridge.carrier.models import Address
from omsbridge.carrier.rest import PartnerClient
from omsbridge.carrier.signing import sign, verify
from omsbridge.config import Secrets, Settings
from omsbridge.errors import PermanentError, RetryableError, ValidationError
from omsbridge.http import RetryPolicy, timeouts
from sandbox.sim.base import Fault, SimServer
from sandbox.sim.carrier import CarrierSim

KEY = "carrier-test-key"
BODY = b'{"event_id":"E1"}'

# -- signatures -------------------------------------------------------------------------------------

REFUSED: list[tuple[str, dict[str, str], bytes, str, str]] = [
    ("no header", {}, BODY, KEY, "missing X-Signature header"),
    ("another scheme", {"X-Signature": "md5=abc"}, BODY, KEY, "is not sha256=<hex digest>"),
    ("no digest", {"X-Signature": "sha256="}, BODY, KEY, "is not sha256=<hex digest>"),
    ("signed with another key", {"X-Signature": sign(BODY, "other")}, BODY, KEY, "does not match the body"),
    ("body changed after signing", {"X-Signature": sign(BODY, KEY)}, BODY + b" ", KEY, "does not match the body"),
    ("no secret configured", {"X-Signature": sign(BODY, "")}, BODY, "", "no callback secret is configured"),
]


@pytest.mark.parametrize(("case", "headers", "body", "key", "reason"), REFUSED, ids=[r[0] for r in REFUSED])
def test_an_unsigned_or_wrongly_signed_callback_is_refused(case: str, headers: dict[str, str], body: bytes,
                                                           key: str, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason.replace("<", ".").replace(">", ".")):
        verify(body, headers, key)


@pytest.mark.parametrize("header", ["x-signature", "X-Signature"])
def test_a_signed_callback_verifies_whatever_the_header_case(header: str) -> None:
    verify(BODY, {header: sign(BODY, KEY).upper().replace("SHA256", "sha256")}, KEY)


def test_the_simulators_sign_as_the_layer_verifies() -> None:
    sim = CarrierSim(api_key=KEY)
    raw, headers = sim.signed({"event_id": "E1", "note": "é"})
    verify(raw.encode(), headers, KEY)


# -- tracking callbacks ---------------------------------------------------------------------------

EVENT = {"event_id": "TRK-1", "reference": "DC/SH1/C1", "tracking_number": "1ZA", "status": "out_for_delivery",
         "occurred_at": "2024-05-02T10:00:00Z", "description": " On the van "}


def test_a_tracking_callback_reads_as_neutral_updates() -> None:
    assert parse_tracking_body(json.dumps(EVENT).encode()) == [TrackingUpdate(
        event_id="TRK-1", reference="DC/SH1/C1", tracking_no="1ZA", status="in_transit",
        occurred_at="2024-05-02T10:00:00Z", description="On the van")]


MALFORMED: list[tuple[str, bytes, str]] = [
    ("not JSON", b"{", "body is not valid JSON"),
    ("not an object", b"[]", "body: Input should be a valid dictionary"),
    ("no event id", json.dumps({**EVENT, "event_id": ""}).encode(), "event_id: String should have at least 1"),
    ("unknown status", json.dumps({**EVENT, "status": "lost"}).encode(), "status: Input should be"),
    ("no reference", json.dumps({k: v for k, v in EVENT.items() if k != "reference"}).encode(),
     "reference: Field required"),
]


@pytest.mark.parametrize(("case", "body", "reason"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_a_malformed_tracking_callback_is_refused_with_the_reason(case: str, body: bytes, reason: str) -> None:
    with pytest.raises(ValidationError) as raised:
        parse_tracking_body(body)
    assert raised.value.reason.startswith(reason)


@pytest.mark.parametrize(("answer", "reason"), [
    ({"scac": "UPSN"}, "without a usable label: Field required"),
    ({"tracking_number": " ", "scac": "UPSN"}, "empty tracking number"),
    ("booked", "without a usable label"),
])
def test_a_booking_answer_without_a_label_is_permanent(answer: Any, reason: str) -> None:
    with pytest.raises(PermanentError, match=reason):
        label_from_answer(answer)


# -- the registry ---------------------------------------------------------------------------------


class FakeCarrier:
    def __init__(self) -> None:
        self.closed = False

    def book_shipment(self, request: BookingRequest) -> Label:
        return Label(tracking_no="FAKE1", scac="FAKE")

    def parse_tracking_callback(self, headers: Any, body: bytes) -> list[TrackingUpdate]:
        return []

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.delenv("SECRET_ID", raising=False)
    config.reset()
    yield monkeypatch
    carrier.ADAPTERS.pop("fake", None)
    config.reset()


def test_the_adapter_is_the_one_carrier_adapter_names(environment: pytest.MonkeyPatch) -> None:
    made: list[FakeCarrier] = []

    def factory(settings: Settings, secrets: Secrets) -> FakeCarrier:
        made.append(FakeCarrier())
        return made[-1]

    carrier.registry.register("fake", factory)
    environment.setenv("CARRIER_ADAPTER", "fake")
    config.reset()
    assert carrier.adapter() is carrier.adapter() is made[0]
    config.reset()  # a new container builds its own, and the old one is closed
    assert made[0].closed
    assert carrier.adapter() is made[1]


def test_an_unknown_adapter_name_is_a_permanent_error_naming_the_known_ones(
        environment: pytest.MonkeyPatch) -> None:
    environment.setenv("CARRIER_ADAPTER", "acme")
    config.reset()
    with pytest.raises(PermanentError, match=r"CARRIER_ADAPTER='acme' names no carrier adapter \(known: generic\)"):
        carrier.adapter()


def test_the_generic_adapter_needs_its_url_and_key(environment: pytest.MonkeyPatch) -> None:
    with pytest.raises(PermanentError, match="the carrier base URL is not set"):
        carrier.adapter()
    environment.setenv("CARRIER_BASE_URL", "http://127.0.0.1:9")
    config.reset()
    with pytest.raises(PermanentError, match="the secret has no carrier API key"):
        carrier.adapter()


# -- the generic adapter against the simulator ----------------------------------------------------


@pytest.fixture
def server() -> Iterator[SimServer]:
    running = SimServer(CarrierSim(api_key=KEY)).start()
    yield running
    running.stop()


def generic(server: SimServer, key: str = KEY) -> GenericCarrier:
    policy = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.01)
    client = PartnerClient(server.url, key, system="carrier", policy=policy, timeout=timeouts(1, 0.5))
    return GenericCarrier(client, key)


REQUEST = BookingRequest(ship_node="DC", shipment_no="SH1", container_no="C1", scac="UPSN",
                         service_code="UPSNGround", ship_to=Address(name="Jane Doe", postal_code="78701", country="US"),
                         items=[PackageItem(sku="MUG", quantity=Decimal("2.00"))])


def test_a_booking_answers_the_label(server: SimServer) -> None:
    adapter = generic(server)
    assert adapter.book_shipment(REQUEST) == Label(tracking_no="1ZSIM0000000001", scac="UPSN",
                                                  service_code="UPSNGround", label_reference="LBL-000001",
                                                  carrier_shipment_id="CS-000001")
    adapter.close()
    assert list(server.simulator.replies) == ["DC/SH1/C1"]


def test_a_booking_resent_after_a_5xx_books_one_parcel(server: SimServer) -> None:
    server.simulator.faults.script(r"^/v1/shipments$", Fault("status", status=503))
    adapter = generic(server)
    assert adapter.book_shipment(REQUEST).tracking_no == "1ZSIM0000000001"
    adapter.close()
    assert [call["status"] for call in server.simulator.calls] == [503, 201]
    assert len(server.simulator.bookings) == 1


def test_a_booking_whose_answer_was_lost_is_resent_and_booked_once(server: SimServer) -> None:
    # The carrier books, then answers after the adapter stopped waiting.
    server.simulator.faults.script(r"^/v1/shipments$", Fault("timeout", seconds=0.8))
    adapter = generic(server)
    assert adapter.book_shipment(REQUEST).tracking_no == "1ZSIM0000000001"
    adapter.close()
    # The resend got the first booking's label back: one parcel, not two.
    assert len(server.simulator.bookings) == 1
    assert server.simulator.faults.injected == 1


@pytest.mark.parametrize(("key", "request_", "reason"), [
    ("wrong-key", REQUEST,
     r"carrier answered 401 \(unauthorized: missing or invalid X-Api-Key\) to POST /v1/shipments"),
    (KEY, REQUEST.model_copy(update={"ship_to": Address(name="Jane Doe")}),
     r"carrier answered 400 \(invalid_request: ship_to.postal_code is required\)"),
])
def test_a_refused_booking_is_permanent_with_the_carriers_reason(server: SimServer, key: str,
                                                                request_: BookingRequest, reason: str) -> None:
    adapter = generic(server, key)
    with pytest.raises(PermanentError, match=reason):
        adapter.book_shipment(request_)
    adapter.close()
    assert server.simulator.bookings == {}


def test_a_carrier_that_stays_down_is_retryable(server: SimServer) -> None:
    server.simulator.faults.script(r"^/v1/shipments$", Fault("status", status=502), times=3)
    adapter = generic(server)
    with pytest.raises(RetryableError, match="carrier answered 502"):
        adapter.book_shipment(REQUEST)
    adapter.close()


def test_the_generic_adapter_verifies_then_reads_a_callback(server: SimServer) -> None:
    raw, headers = server.simulator.signed(EVENT)
    adapter = generic(server)
    assert [u.event_id for u in adapter.parse_tracking_callback(headers, raw.encode())] == ["TRK-1"]
    with pytest.raises(SignatureError):
        adapter.parse_tracking_callback({**headers, "x-signature": sign(raw.encode(), "x")}, raw.encode())
    adapter.close()
