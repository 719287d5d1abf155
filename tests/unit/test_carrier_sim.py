"""The carrier simulator keeps the generic carrier contract: API key, idempotency keys, validation,
and tracking callbacks for the parcels it booked."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sandbox.sim.base import Request, Response
from sandbox.sim.carrier import CarrierSim

KEY = "sim-key"
BOOKING = {"reference": "DC/SH1/C1", "ship_from": {"node": "DC"},
           "ship_to": {"name": "Jane Doe", "postal_code": "78701", "country": "US"},
           "package": {"container_no": "C1", "items": [{"sku": "MUG", "quantity": 1}]},
           "service": {"scac": "UPSN", "service_code": "UPSNGround"}}


def post(sim: CarrierSim, body: Any, *, key: str = KEY, idempotency: str | None = "K1") -> Response:
    headers = {"x-api-key": key}
    if idempotency is not None:
        headers["idempotency-key"] = idempotency
    return sim.dispatch(Request("POST", "/v1/shipments", {}, "", headers, json.dumps(body).encode()))


def test_a_booking_answers_tracking_number_and_label() -> None:
    sim = CarrierSim(api_key=KEY)
    answer = post(sim, BOOKING)
    assert (answer.status, answer.body) == (201, {
        "shipment_id": "CS-000001", "tracking_number": "1ZSIM0000000001", "scac": "UPSN",
        "service_code": "UPSNGround",
        "label": {"reference": "LBL-000001", "format": "PDF", "url": "/v1/labels/LBL-000001"}})
    read = sim.dispatch(Request("GET", "/v1/shipments/CS-000001", {}, "", {"x-api-key": KEY}, b""))
    assert read.body["reference"] == "DC/SH1/C1"
    assert read.body["status"] == "booked"


def test_a_repeated_key_answers_the_first_answer_and_books_nothing() -> None:
    sim = CarrierSim(api_key=KEY)
    first, again = post(sim, BOOKING), post(sim, BOOKING)
    assert again.body == first.body
    assert again.headers == {"Idempotent-Replayed": "true"}
    assert len(sim.bookings) == 1


def test_a_booking_without_service_gets_the_carriers_default() -> None:
    sim = CarrierSim(api_key=KEY)
    body = {name: value for name, value in BOOKING.items() if name != "service"}
    assert {k: post(sim, body).body[k] for k in ("scac", "service_code")} == {"scac": "SIMC",
                                                                             "service_code": "STANDARD"}


@pytest.mark.parametrize(("case", "body", "key", "idempotency", "status", "answer"), [
    ("wrong API key", BOOKING, "nope", "K1", 401,
     {"error": "unauthorized", "message": "missing or invalid X-Api-Key"}),
    ("no idempotency key", BOOKING, KEY, None, 400,
     {"error": "idempotency_key_required", "message": "send an Idempotency-Key header"}),
    ("no postcode", {**BOOKING, "ship_to": {"country": "US"}}, KEY, "K1", 400,
     {"error": "invalid_request", "message": "ship_to.postal_code is required", "field": "ship_to.postal_code"}),
    ("no container", {**BOOKING, "package": {}}, KEY, "K1", 400,
     {"error": "invalid_request", "message": "package.container_no is required", "field": "package.container_no"}),
    ("not an object", [BOOKING], KEY, "K1", 400, {"error": "invalid_request", "message": "body must be a JSON object"}),
])
def test_refused_bookings(case: str, body: Any, key: str, idempotency: str | None, status: int,
                          answer: dict[str, Any]) -> None:
    sim = CarrierSim(api_key=KEY)
    refused = post(sim, body, key=key, idempotency=idempotency)
    assert (refused.status, refused.body) == (status, answer)
    assert sim.bookings == {}


def test_a_key_reused_with_another_body_is_a_conflict() -> None:
    sim = CarrierSim(api_key=KEY)
    post(sim, BOOKING)
    conflict = post(sim, {**BOOKING, "reference": "DC/SH1/C2"})
    assert (conflict.status, conflict.body["error"]) == (409, "idempotency_conflict")
    assert len(sim.bookings) == 1


def test_tracking_events_name_the_booking_reference() -> None:
    sim = CarrierSim(api_key=KEY)
    post(sim, BOOKING)
    event = sim.tracking_event("1ZSIM0000000001", "delivered", description="Porch", occurred_at="2024-05-02T10:00:00Z")
    assert event == {"event_id": "TRK-000001", "reference": "DC/SH1/C1", "tracking_number": "1ZSIM0000000001",
                     "status": "delivered", "occurred_at": "2024-05-02T10:00:00Z", "description": "Porch"}
    assert sim.bookings["CS-000001"]["status"] == "delivered"
    with pytest.raises(ValueError, match="booked no parcel 1ZNOPE"):
        sim.tracking_event("1ZNOPE", "delivered")
    with pytest.raises(ValueError, match="status is one of"):
        sim.tracking_event("1ZSIM0000000001", "lost")
