"""``python -m sandbox demo``: one order's whole life, end to end, on the sandbox.

Every hop runs the real function through its template trigger: Commerce places an order → Sterling
creates, schedules and releases it to the DC → the WMS gets the release → the carrier labels the
boxes → the WMS confirms → Sterling confirms the shipment → Commerce gets the shipment with its
tracking numbers. Then stock moves from Sterling to Commerce, and the checkout's stock check refuses
an add-to-cart Sterling cannot cover. Each step is checked; the exit code is 0 only when all held.

``--sterling-via io-events`` runs the same life cycle with Sterling's events arriving as IBM's OMS
layer publishes them: its codes' CloudEvents through Adobe I/O Events, signed, to
``/events/adobe-io`` (``sandbox.ibm_layer``); the one event that layer has no code for (a shipment
ready to ship, for the carrier) is posted by Sterling directly.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from sandbox.demo_data import SEED, place_order, simple_order
from sandbox.keys import KeyPair, new_keypair
from sandbox.stack import STERLING_DOORS, Sandbox

ORDER_NO = "000000617"
FUNCTIONS_WATCHED = ("OrderExportFunction", "OrderStatusFunction", "DistributionCenterFunction",
                     "CarrierFunction", "ShipmentSyncFunction", "StockSyncFunction")


class DemoFailed(Exception):
    pass


LOG_FILE = Path("artifacts/demo-functions.log")


class Timeline:
    """The story on the terminal; the functions' own logs and metrics go to ``LOG_FILE``."""

    def __init__(self, verbose: bool, out: TextIO) -> None:
        self.verbose = verbose
        self.out = out
        self.started = time.monotonic()
        self.steps = 0

    def say(self, system: str, text: str) -> None:
        if self.verbose:
            print(f"[{time.monotonic() - self.started:6.2f}s] {system:<9} {text}", file=self.out, flush=True)

    def check(self, condition: object, what: str) -> None:
        self.steps += 1
        if not condition:
            raise DemoFailed(what)
        self.say("check", f"ok: {what}")


def _history(box: Sandbox) -> list[str]:
    order = box.commerce.find_order(ORDER_NO)
    return [entry["comment"] for entry in order.get("status_histories", [])] if order else []


def order_to_sterling(box: Sandbox, line: Timeline) -> None:
    line.say("commerce", f"order {ORDER_NO} placed: 2 x DEMO-MUG, UPS ground")
    place_order(box, simple_order(ORDER_NO, qty=2))
    creates = [c for c in box.sterling.calls_to("/invoke/createOrder") if c["status"] == 200]
    line.say("sterling", f"createOrder {ORDER_NO}: {len(creates[0]['body']['OrderLines']['OrderLine'])} line(s)")
    line.check(len(creates) == 1, "the order reached Sterling exactly once")
    line.check(box.sterling.order(ORDER_NO).lines[0].item_id == "DEMO-MUG", "Sterling's line carries the SKU")


def schedule_and_release(box: Sandbox, line: Timeline) -> dict[str, Any]:
    box.sterling.schedule(ORDER_NO)
    box.deliver()
    line.say("sterling", "order scheduled")
    [release] = box.sterling.release(ORDER_NO)
    box.deliver()
    line.say("sterling", f"released to node {release['ShipNode']} ({release['OrderReleaseKey']})")
    line.check(any("Scheduled" in text for text in _history(box)), "Commerce's status history shows Scheduled")
    line.check(box.dc.order(release["OrderReleaseKey"])["order_no"] == ORDER_NO, "the WMS received the release")
    line.say("wms", f"release {release['OrderReleaseKey']} accepted for picking")
    return release


def pack_and_label(box: Sandbox, line: Timeline) -> dict[str, str]:
    shipment = box.sterling.include_in_shipment(ORDER_NO, shipment_no="SH-617")
    with contextlib.closing(box.sterling_user()) as packing:
        boxes = [{"ContainerNo": name, "ContainerDetails": {"ContainerDetail": [
            {"ItemID": "DEMO-MUG", "Quantity": "1"}]}} for name in ("BOX-1", "BOX-2")]
        packing.change_shipment({"ShipmentKey": shipment["ShipmentKey"], "Containers": {"Container": boxes}})
    box.sterling.ready_to_ship("SH-617")
    line.say("wms", "packed SH-617 into BOX-1 and BOX-2; Sterling: ready to ship")
    box.deliver()
    labels = {b["package"]["container_no"]: b["tracking_number"] for b in box.carrier.bookings.values()
              if b["reference"].startswith("default/SH-617/")}
    for container, tracking in sorted(labels.items()):
        line.say("carrier", f"label for {container}: {tracking}")
    line.check(sorted(labels) == ["BOX-1", "BOX-2"], "the carrier labelled both boxes")
    stored = {c["ContainerNo"]: c["TrackingNo"] for c in box.sterling.shipment("SH-617").containers}
    line.check(stored == labels, "Sterling's shipment has the tracking numbers")
    return labels


def confirm_and_ship(box: Sandbox, line: Timeline, release: dict[str, Any], labels: dict[str, str]) -> None:
    confirmation = box.dc.confirm(release["OrderReleaseKey"], containers=[
        {"container_no": name, "tracking_number": number, "scac": "UPSN"} for name, number in labels.items()])
    raw, headers = box.dc.signed(confirmation)
    status, _, _ = box.http("POST", "/callbacks/dc", headers=headers, body=raw)
    line.say("wms", f"confirmed SH-617 shipped (callback answered {status})")
    line.check(status == 200, "the DC callback was accepted")
    line.check(box.sterling.shipment("SH-617").status == "1400", "Sterling confirmed the shipment")
    box.deliver()
    order = box.commerce.find_order(ORDER_NO)
    shipments = [s for s in box.commerce.shipments.values() if s["order_id"] == order["entity_id"]]
    tracks = sorted(t["track_number"] for s in shipments for t in s["tracks"])
    line.say("commerce", f"shipment created with tracking {', '.join(tracks)}")
    line.check(len(shipments) == 1, "exactly one Commerce shipment")
    line.check(tracks == sorted(labels.values()), "the Commerce shipment carries every tracking number")
    line.check(order["items"][0]["qty_shipped"] == 2, "both mugs shipped in Commerce")


def stock_moves(box: Sandbox, line: Timeline) -> None:
    with contextlib.closing(box.sterling_user()) as sterling:
        sterling.adjust_inventory([{"ItemID": "DEMO-MUG", "ShipNode": "default", "UnitOfMeasure": "EACH",
                                    "ProductClass": "GOOD", "SupplyType": "ONHAND", "AdjustmentType": "ABSOLUTE",
                                    "Quantity": "3"}])
    line.say("sterling", "cycle count: DEMO-MUG at node default is now 3")
    box.deliver()
    item = box.commerce.source_items.get(("DEMO-MUG", "default"))
    available = box.sterling.inventory.available("DEMO-MUG", "default")
    line.say("commerce", f"source item DEMO-MUG/default = {item and item['quantity']}")
    line.check(item is not None and float(item["quantity"]) == float(available),
               "Commerce's source item matches Sterling's availability")


def stock_check(box: Sandbox, line: Timeline, sign: Callable[[bytes], str]) -> None:
    body = json.dumps({"eventName": "checkout_cart_product_add_before",
                       "data": {"product": {"sku": "DEMO-MUG", "type_id": "simple", "name": "Demo mug"},
                                "info": {"qty": "50"}}})
    headers = {"content-type": "application/json", "x-adobe-commerce-webhook-signature": sign(body.encode())}
    status, _, answer = box.http("POST", "/webhooks/stock-check", headers=headers, body=body)
    line.say("checkout", f"add 50 x DEMO-MUG to cart -> {answer}")
    line.check(status == 200 and answer.get("op") == "exception", "the stock check refused the add-to-cart")


def nothing_parked(box: Sandbox, line: Timeline) -> None:
    parked = {name: box.dlq(name) for name in FUNCTIONS_WATCHED}
    line.check(not any(parked.values()), "no dead-lettered events")


def sterling_doors(box: Sandbox, line: Timeline) -> None:
    """Which door each of Sterling's events came through, and that every one was taken."""
    deliveries = [(i["event"]["rawPath"], i.get("result", {}).get("statusCode")) for i in box.invocations
                  if i["function"] == "IngressFunction" and i["event"].get("rawPath", "").startswith(
                      ("/events/adobe-io", "/events/sterling/"))]
    through_io = [status for path, status in deliveries if path == "/events/adobe-io"]
    direct = [path.rsplit("/", 1)[-1] for path, _ in deliveries if path.startswith("/events/sterling/")]
    line.say("ingress", f"Sterling events: {len(through_io)} through Adobe I/O Events, {len(direct)} posted "
                        f"directly ({', '.join(sorted(set(direct))) or 'none'})")
    line.check(all(status == 202 for _, status in deliveries), "the ingress took every Sterling event")
    if box.sterling_via == "io-events":
        line.check(through_io and set(direct) <= {"shipment.ready_to_ship"},
                   "Sterling's events came through Adobe I/O Events (ready-to-ship, which has no code, directly)")


@contextlib.contextmanager
def function_output_to(path: Path) -> Iterator[TextIO]:
    """Point this process's stdout and stderr at ``path``; yield the terminal's stdout."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    with path.open("w") as log, os.fdopen(os.dup(saved_out), "w") as terminal:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield terminal
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)


def run_demo(verbose: bool = True, sterling_via: str = "direct") -> int:
    with function_output_to(LOG_FILE) as terminal:
        line = Timeline(verbose, terminal)
        line.say("sandbox", f"starting simulators and moto; function logs go to {LOG_FILE}")
        return run_lifecycle(line, sterling_via)


def run_lifecycle(line: Timeline, sterling_via: str = "direct") -> int:
    if sterling_via not in STERLING_DOORS:
        raise ValueError(f"sterling_via must be one of {', '.join(STERLING_DOORS)}")
    commerce_key = new_keypair()
    env = {"COMMERCE_WEBHOOK_PUBLIC_KEY": commerce_key.public_pem}
    if sterling_via == "io-events":
        line.say("sterling", "events published through Adobe I/O Events as IBM's OMS layer does (signed CloudEvents)")
    with Sandbox(seed=copy.deepcopy(SEED), env=env, sterling_via=sterling_via) as box:
        try:
            lifecycle(box, line, commerce_key)
        except DemoFailed as failure:
            line.say("FAILED", str(failure))
            return 1
        line.say("commerce", "status history of " + ORDER_NO + ", oldest first:")
        for text in reversed(_history(box)):
            line.say("", f"  {text}")
    line.say("done", f"{line.steps} checks held")
    return 0


def lifecycle(box: Sandbox, line: Timeline, commerce_key: KeyPair) -> None:
    """Every step of the demo, on a sandbox seeded with ``SEED`` whose stock-check key is ``commerce_key``."""
    order_to_sterling(box, line)
    release = schedule_and_release(box, line)
    labels = pack_and_label(box, line)
    confirm_and_ship(box, line, release, labels)
    stock_moves(box, line)
    stock_check(box, line, lambda raw: commerce_key.sign(base64.b64encode(raw)))
    nothing_parked(box, line)
    sterling_doors(box, line)
