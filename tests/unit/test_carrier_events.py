"""The sample events in events/carrier are what CarrierFunction takes: a ready-to-ship Shipment
that books two parcels, and tracking callbacks signed with the sandbox's carrier key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from omsbridge.carrier import mapping
from omsbridge.carrier.generic import parse_tracking_body
from omsbridge.carrier.signing import verify
from omsbridge.events import EventBridgeEvent, SterlingEvent
from omsbridge.sterling.models import Shipment
from sandbox.stack import SANDBOX_SECRET

EVENTS = Path(__file__).resolve().parents[2] / "events" / "carrier"


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return loaded


def test_the_ready_to_ship_sample_books_a_parcel_per_box() -> None:
    event = EventBridgeEvent.model_validate(sample("shipment_ready_to_ship.json"))
    assert (event.source, event.detail_type) == ("ibm.sterling", "shipment.ready_to_ship")
    shipment = Shipment.model_validate(SterlingEvent.model_validate(event.detail).data)
    assert [request.reference for request in mapping.booking_requests(shipment)] == [
        "DC_EAST/100001/BOX-1", "DC_EAST/100001/BOX-2"]


@pytest.mark.parametrize(("name", "status"), [("tracking_delivered.json", "delivered"),
                                              ("tracking_exception.json", "exception")])
def test_the_tracking_samples_are_signed_callbacks(name: str, status: str) -> None:
    request = sample(name)
    assert request["routeKey"] == "POST /callbacks/carrier"
    body = request["body"].encode()
    verify(body, request["headers"], SANDBOX_SECRET["carrier_api_key"])
    [update] = parse_tracking_body(body)
    assert (update.status, update.reference) == (status, "DC_EAST/100001/BOX-1")
