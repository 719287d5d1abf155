"""The WMS simulator keeps the generic WMS contract, and its confirm / cancel steps produce the
callbacks a warehouse would send."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sandbox.sim.base import Request, Response
from sandbox.sim.dc import DcSim

KEY = "sim-key"
ORDER = {"release_key": "RK1", "order_no": "000000101", "release_no": "1", "ship_node": "DC",
         "ship_to": {"name": "Jane Doe", "country": "US"},
         "lines": [{"line_ref": "OL1", "prime_line_no": "1", "sub_line_no": "1", "sku": "MUG", "quantity": 3},
                   {"line_ref": "OL2", "prime_line_no": "2", "sub_line_no": "1", "sku": "TEE", "quantity": 1}]}


def post(sim: DcSim, body: Any, idempotency: str = "RK1") -> Response:
    headers = {"x-api-key": KEY, "idempotency-key": idempotency}
    return sim.dispatch(Request("POST", "/v1/orders", {}, "", headers, json.dumps(body).encode()))


def accepted() -> DcSim:
    sim = DcSim(api_key=KEY)
    assert (post(sim, ORDER).status, post(sim, ORDER).status) == (201, 201)
    return sim


def test_a_release_is_accepted_once_per_key_and_once_per_release() -> None:
    sim = accepted()
    assert list(sim.orders) == ["RK1"]
    again = post(sim, ORDER, idempotency="another-key")
    assert (again.status, again.body) == (409, {"error": "order_exists", "message": "release RK1 is already here"})
    conflict = post(sim, {**ORDER, "release_no": "2"})
    assert (conflict.status, conflict.body["error"]) == (409, "idempotency_conflict")


@pytest.mark.parametrize(("body", "message"), [
    ({**ORDER, "release_key": ""}, "release_key is required"),
    ({**ORDER, "lines": []}, "lines are required"),
    ({**ORDER, "ship_to": {"name": "Jane"}}, "ship_to.country is required"),
])
def test_an_incomplete_release_is_refused(body: dict[str, Any], message: str) -> None:
    sim = DcSim(api_key=KEY)
    refused = post(sim, body)
    assert (refused.status, refused.body) == (400, {"error": "invalid_request", "message": message})


def test_confirm_ships_everything_left_by_default() -> None:
    sim = accepted()
    event = sim.confirm("RK1", containers=[{"container_no": "B1", "tracking_number": "1ZA"}])
    assert {k: v for k, v in event.items() if k != "occurred_at"} == {
        "event_id": "DC-EVT-000001", "type": "shipped", "release_key": "RK1", "order_no": "000000101",
        "ship_node": "DC", "shipment_no": "WMS-SH-000001",
        "lines": [{"line_ref": "OL1", "prime_line_no": "1", "sub_line_no": "1", "sku": "MUG", "quantity": 3,
                   "shipped": 3},
                  {"line_ref": "OL2", "prime_line_no": "2", "sub_line_no": "1", "sku": "TEE", "quantity": 1,
                   "shipped": 1}],
        "containers": [{"container_no": "B1", "tracking_number": "1ZA"}]}
    with pytest.raises(ValueError, match="nothing left to ship"):
        sim.confirm("RK1")


def test_shipping_less_than_left_is_a_short_pick_in_one_default_box() -> None:
    sim = accepted()
    event = sim.confirm("RK1", shipped={"MUG": 2, "TEE": 1}, shipment_no="S9")
    assert (event["type"], event["shipment_no"]) == ("short_pick", "S9")
    assert event["containers"] == [{"container_no": "S9-1"}]
    assert [(line["quantity"], line["shipped"]) for line in event["lines"]] == [(3, 2), (1, 1)]
    with pytest.raises(ValueError, match="MUG: cannot ship 4, 3 left"):
        accepted().confirm("RK1", shipped={"MUG": 4})


def test_cancel_cancels_what_is_left() -> None:
    sim = accepted()
    event = sim.cancel("RK1", cancelled={"MUG": 1})
    assert (event["type"], event["reason"], event["lines"]) == ("cancelled", "Out of stock at the DC", [
        {"line_ref": "OL1", "prime_line_no": "1", "sub_line_no": "1", "sku": "MUG", "cancelled": 1}])
    rest = sim.cancel("RK1")
    assert [(line["sku"], line["cancelled"]) for line in rest["lines"]] == [("MUG", 2), ("TEE", 1)]
    with pytest.raises(ValueError, match="nothing left to cancel"):
        sim.cancel("RK1")
    with pytest.raises(ValueError, match="holds no release RK9"):
        sim.confirm("RK9")
