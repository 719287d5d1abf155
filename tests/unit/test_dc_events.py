"""The sample events in events/dc are what DistributionCenterFunction takes: releases to a DC and
to a store (with the seed that says which node is which), and WMS confirmations signed with the
sandbox's WMS key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from omsbridge.carrier.signing import verify
from omsbridge.dc import mapping
from omsbridge.dc.generic import parse_callback_body
from omsbridge.events import EventBridgeEvent, SterlingEvent
from omsbridge.sterling.models import OrderRelease
from sandbox.stack import SANDBOX_SECRET

EVENTS = Path(__file__).resolve().parents[2] / "events" / "dc"


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return loaded


@pytest.mark.parametrize(("name", "node_type", "skus"), [
    ("order_released.json", "DC", ["24-MB01", "MH01-M-Gray"]),
    ("order_released_to_store.json", "Store", ["24-MB01"]),
])
def test_the_release_samples_name_a_seeded_node(name: str, node_type: str, skus: list[str]) -> None:
    event = EventBridgeEvent.model_validate(sample(name))
    assert (event.source, event.detail_type) == ("ibm.sterling", "order.released")
    release = OrderRelease.model_validate(SterlingEvent.model_validate(event.detail).data)
    nodes = {node["ShipNode"]: node["NodeType"] for node in sample("seed.json")["sterling"]["nodes"]}
    assert nodes[release.ship_node] == node_type
    assert [line.sku for line in mapping.wms_order(release).lines] == skus


@pytest.mark.parametrize(("name", "kind"), [("confirmation_shipped.json", "shipped"),
                                            ("confirmation_short_pick.json", "short_pick"),
                                            ("confirmation_cancelled.json", "cancelled")])
def test_the_confirmation_samples_are_signed_callbacks_for_the_sample_release(name: str, kind: str) -> None:
    request = sample(name)
    assert request["routeKey"] == "POST /callbacks/dc"
    body = request["body"].encode()
    verify(body, request["headers"], SANDBOX_SECRET["dc_api_key"])
    confirmation = parse_callback_body(body)
    release = OrderRelease.model_validate(sample("order_released.json")["detail"]["data"])
    assert confirmation.kind == kind
    mapping.check(confirmation, release)
