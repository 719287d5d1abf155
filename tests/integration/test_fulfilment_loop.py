"""The fulfilment loop end to end on the sandbox, every hop through the deployed routes:

Commerce order → OrderExportFunction → Sterling schedules and releases to the DC →
DistributionCenterFunction → WMS → the DC packs, Sterling marks the shipment ready to ship →
CarrierFunction → carrier labels → Sterling → the WMS confirms through ``POST /callbacks/dc`` →
Sterling confirmShipment → ``shipment.shipped`` → ShipmentSyncFunction → Commerce shipment with the
carrier's tracking numbers → the carrier's delivery scan → a Commerce order comment.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from omsbridge.sterling import SterlingClient, TokenAuth
from sandbox.contracts import assert_commerce_contract
from sandbox.demo_data import SEED, place_and_release, simple_order
from sandbox.stack import SANDBOX_SECRET, Sandbox

FUNCTIONS = ("OrderExportFunction", "OrderStatusFunction", "DistributionCenterFunction", "CarrierFunction",
             "ShipmentSyncFunction")
UPS = {"carrier_code": "ups", "title": "United Parcel Service"}


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with Sandbox(seed=copy.deepcopy(SEED)) as sandbox:
        yield sandbox


def release_to_dc(box: Sandbox, order: dict[str, Any]) -> dict[str, Any]:
    """Commerce places the order; Sterling (its agents, driven here) schedules and releases it."""
    [release] = place_and_release(box, [order])
    return release


def post_signed(box: Sandbox, path: str, raw: str, headers: dict[str, str]) -> tuple[int, Any]:
    status, _, answer = box.http("POST", path, headers=headers, body=raw)
    return status, answer


def ship_body(shipment_no: str, item_id: int, qty: int, tracks: list[str]) -> dict[str, Any]:
    """What ShipmentSyncFunction sends Commerce for a Sterling shipment from the ``default`` DC."""
    return {"items": [{"order_item_id": item_id, "qty": qty}], "notify": True, "appendComment": False,
            "comment": {"comment": f"[oms-bridge] Sterling shipment {shipment_no} from default",
                        "is_visible_on_front": 0},
            "tracks": [{**UPS, "track_number": number} for number in tracks],
            "arguments": {"extension_attributes": {"source_code": "default"}}}


def nothing_parked(box: Sandbox) -> None:
    assert {name: box.dlq(name) for name in FUNCTIONS} == {name: [] for name in FUNCTIONS}


def test_release_to_wms_to_carrier_to_confirmation_to_commerce_shipment(box: Sandbox) -> None:
    release = release_to_dc(box, simple_order("000000601", qty=3))
    order = box.commerce.find_order("000000601")
    # 1. The release reached the WMS.
    [wms_order] = [o for o in box.dc.orders.values() if o["release_key"] == release["OrderReleaseKey"]]
    assert [(line["sku"], line["quantity"]) for line in wms_order["lines"]] == [("DEMO-MUG", 3)]
    # 2. The DC picks and packs two boxes; Sterling marks the shipment ready to ship.
    shipment = box.sterling.include_in_shipment("000000601", shipment_no="SH-601")
    base = f"{box.url('sterling')}/smcfs/restapi"
    packing = SterlingClient(base, "DEFAULT", TokenAuth(base, SANDBOX_SECRET["sterling_user"],
                                                        SANDBOX_SECRET["sterling_password"]))
    packing.change_shipment({"ShipmentKey": shipment["ShipmentKey"], "Containers": {"Container": [
        {"ContainerNo": "BOX-1", "ContainerDetails": {"ContainerDetail": [{"ItemID": "DEMO-MUG", "Quantity": "2"}]}},
        {"ContainerNo": "BOX-2", "ContainerDetails": {"ContainerDetail": [{"ItemID": "DEMO-MUG", "Quantity": "1"}]}},
    ]}})
    packing.close()
    box.sterling.ready_to_ship("SH-601")
    box.deliver()
    # 3. The carrier labelled both boxes, and Sterling has their tracking numbers.
    labels = {b["package"]["container_no"]: b["tracking_number"] for b in box.carrier.bookings.values()
              if b["reference"].startswith("default/SH-601/")}
    assert sorted(labels) == ["BOX-1", "BOX-2"]
    assert {c["ContainerNo"]: c["TrackingNo"] for c in box.sterling.shipment("SH-601").containers} == labels
    # 4. The WMS ships the boxes with those labels and confirms.
    confirmation = box.dc.confirm(release["OrderReleaseKey"], containers=[
        {"container_no": name, "tracking_number": number, "scac": "UPSN"} for name, number in labels.items()])
    raw, headers = box.dc.signed(confirmation)
    status, answer = post_signed(box, "/callbacks/dc", raw, headers)
    assert (status, answer["result"], answer["shipment"], answer["shipment_created"]) == (
        200, "applied", "default/SH-601", False)
    assert box.sterling.shipment("SH-601").status == "1400"
    # 5. Sterling's shipment.shipped event becomes the Commerce shipment, with the carrier's tracking.
    box.deliver()
    path = f"/rest/default/V1/order/{order['entity_id']}/ship"
    assert [call["body"] for call in box.commerce.calls_to(path, "POST")] == [
        ship_body("SH-601", int(order["items"][0]["item_id"]), 3, [labels["BOX-1"], labels["BOX-2"]])]
    [made] = [s for s in box.commerce.shipments.values() if s["order_id"] == order["entity_id"]]
    assert sorted(track["track_number"] for track in made["tracks"]) == sorted(labels.values())
    # 6. The carrier delivers the first box: Commerce hears of it.
    scan = box.carrier.tracking_event(labels["BOX-1"], "delivered", occurred_at="2024-05-04T11:00:00Z")
    raw, headers = box.carrier.signed(scan)
    assert post_signed(box, "/callbacks/carrier", raw, headers)[0] == 200
    box.deliver()
    comments = [call["body"]["statusHistory"]["comment"]
                for call in box.commerce.calls_to(f"/V1/orders/{order['entity_id']}/comments", "POST")]
    assert comments[-1] == (f"[oms-bridge] Parcel {labels['BOX-1']} (United Parcel Service) of shipment SH-601 "
                            "was delivered 2024-05-04T11:00:00Z.")
    nothing_parked(box)
    assert_commerce_contract(box.commerce)


def test_a_release_the_wms_ships_short_on_its_own_reaches_commerce(box: Sandbox) -> None:
    release = release_to_dc(box, simple_order("000000602", qty=3))
    order = box.commerce.find_order("000000602")
    # The WMS ships two of three with its own label and confirms the release directly.
    confirmation = box.dc.confirm(release["OrderReleaseKey"], shipped={"DEMO-MUG": 2}, shipment_no="WMS-602",
                                  containers=[{"container_no": "P1", "tracking_number": "1ZWMS602", "scac": "UPSN"}])
    raw, headers = box.dc.signed(confirmation)
    status, answer = post_signed(box, "/callbacks/dc", raw, headers)
    assert (status, answer["shipment_created"], answer["short_pick"]) == (200, True, "backorder")
    box.deliver()
    path = f"/rest/default/V1/order/{order['entity_id']}/ship"
    assert [call["body"] for call in box.commerce.calls_to(path, "POST")] == [
        ship_body("WMS-602", int(order["items"][0]["item_id"]), 2, ["1ZWMS602"])]
    # The third mug waits in Sterling, backordered; Commerce still has it to ship.
    statuses = {piece.status: piece.qty for piece in box.sterling.order("000000602").lines[0].slices}
    assert statuses == {"3700": 2, "1300": 1}
    assert box.commerce.find_order("000000602")["items"][0]["qty_shipped"] == 2
    nothing_parked(box)
    assert_commerce_contract(box.commerce)
