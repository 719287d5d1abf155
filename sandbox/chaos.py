"""The life cycle under fire: many orders through the whole loop while every simulator fails a share
of its calls (5xx, 429, timeouts after doing the work, dropped connections) and every bus event is
delivered up to three times, reordered. Stock moves at the same time.

Commerce is set up as merchants run it: every SLIM_EVERY-th order's event is narrowed to Adobe's
integration starter kit's subscription (the flows read the order from Commerce), and every
SECOND_WEBSITE_EVERY-th order is placed on a second website, whose orders belong to another
Sterling enterprise and seller (the ``websites`` mapping table) and whose Sterling documents are
written back through that website's store code.

Untrusted input arrives all along: Sterling documents of another enterprise (cancelling, shipping and
restocking the run's own orders and SKUs), availability no Commerce source item can hold, and
stock-check webhooks asking for absurd quantities. None of it may be applied or let through.

Afterwards the faults stop, whatever was dead-lettered is replayed, RTAM runs its full sync, and
the books are checked:
every order exactly once in Sterling, exactly one complete Commerce shipment per order, Commerce
stock equal to Sterling's, and every DLQ record carrying its reason.

A run can be shared out among processes (``workers``): each takes a range of the orders through
all of the above on a sandbox of its own, and the reports are added up.
"""

from __future__ import annotations

import base64
import collections
import concurrent.futures
import contextlib
import copy
import json
import multiprocessing
import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any

from omsbridge.sterling import SterlingClient
from sandbox.demo_data import SEED, pickup_order, simple_order
from sandbox.keys import KeyPair, new_keypair
from sandbox.sim.base import FAULT_KINDS
from sandbox.sim.commerce.sim import narrowed
from sandbox.sim.sterling.simulator import PipelineError
from sandbox.stack import Delivery, Sandbox

NODES = ("default", "store_1")
STOCK_SKUS = tuple(f"STOCK-{n:03d}" for n in range(20))
# Every PICKUP_EVERY-th order is collected at a store Sterling knows under another name: its export
# is refused for good until the SI maps the store (FIX), and then replayed from the DLQ.
PICKUP_EVERY = 25
UNMAPPED_STORE = "austin_downtown"
# A second website (store view "eu_en") whose orders are the EU enterprise's, in euros.
SECOND_WEBSITE_EVERY = 4
EU_ENTERPRISE, EU_SELLER, EU_STORE, EU_STORE_ID = "EU_BRAND", "EU_SELLER", "eu_en", 2
WEBSITES = {"eu": {"enterprise_code": EU_ENTERPRISE, "seller_organization_code": EU_SELLER, "currency": "EUR",
                   "store_code": EU_STORE}}
# Every SLIM_EVERY-th order's event carries what Adobe's integration starter kit subscribes, only.
SLIM_EVERY = 3
STARTER_KIT_FIELDS = ["id", "increment_id", "created_at", "updated_at"]
MAPPING = {"websites": WEBSITES}
FIX = {"MAPPING_OVERRIDES": json.dumps({**MAPPING, "source_to_node": {UNMAPPED_STORE: "store_1"}})}
# The chaos settings: a timeout fault answers later than the functions wait, so the client sees a
# real read timeout. One call in twenty times out: the clients give up after 25 ms (a loopback
# simulator answers in 1-2 ms), or waiting would be most of the run's time.
CHAOS_ENV = {"HTTP_READ_TIMEOUT": "0.025", "HTTP_CONNECT_TIMEOUT": "0.05", "MAPPING_OVERRIDES": json.dumps(MAPPING)}
FAULT_TIMEOUT_SECONDS = 0.05
BATCH = 25
# A worker process of a run shared out among cores gets four batches at least.
MIN_ORDERS_PER_WORKER = 4 * BATCH
# Untrusted input: an enterprise this stack does not serve, and quantities no cart or source item holds.
OTHER_ENTERPRISE = "OTHER_BRAND"
FOREIGN_EVERY = 5
FOREIGN_MARK = "FX-"
HOSTILE_STERLING_QUANTITIES = ("1e5000", "NaN", "100000000", "9" * 5000)
HOSTILE_CART_QUANTITIES = ("1e5000", "9" * 5000, "1e2000000", "-1", "0", "NaN", "abc", "100000000")


@dataclass
class Report:
    orders: int
    fault_rate: float
    faults_injected: int = 0
    duplicates_delivered: int = 0
    lost: int = 0
    duplicated: int = 0
    stock_mismatches: int = 0
    dlq: dict[str, int] = field(default_factory=dict)
    dlq_without_reason: int = 0
    replayed: int = 0
    refused: int = 0
    untrusted_sent: int = 0
    untrusted_applied: int = 0
    slim_events: int = 0
    second_website_orders: int = 0
    misrouted: int = 0
    workers: int = 1
    wall_s: float = 0.0
    problems: list[str] = field(default_factory=list)

    @classmethod
    def combined(cls, reports: list[Report]) -> Report:
        """One report for runs that shared out the orders: every count (orders and workers too)
        added, reasons merged."""
        counts = [item.name for item in fields(cls) if item.type == "int"]
        total = cls(orders=0, fault_rate=reports[0].fault_rate, workers=0)
        for report in reports:
            for name in counts:
                setattr(total, name, getattr(total, name) + getattr(report, name))
            for reason, n in report.dlq.items():
                total.dlq[reason] = total.dlq.get(reason, 0) + n
            total.problems += report.problems
        return total

    def as_dict(self) -> dict[str, Any]:
        return {
            "orders": self.orders, "workers": self.workers, "fault_rate": self.fault_rate,
            "faults_injected": self.faults_injected,
            "duplicates_delivered": self.duplicates_delivered, "lost": self.lost, "duplicated": self.duplicated,
            "stock_mismatches": self.stock_mismatches, "dlq": self.dlq,
            "dlq_without_reason": self.dlq_without_reason, "replayed": self.replayed,
            "untrusted_sent": self.untrusted_sent, "untrusted_applied": self.untrusted_applied,
            "slim_events": self.slim_events, "second_website_orders": self.second_website_orders,
            "misrouted": self.misrouted,
            "wall_s": round(self.wall_s, 1), "problems": self.problems[:20],
        }


def seed(orders: int) -> dict[str, Any]:
    data = copy.deepcopy(SEED)
    data["commerce"]["products"] += [{"sku": sku, "name": sku, "type_id": "simple"} for sku in STOCK_SKUS]
    inventory = [row for row in data["sterling"]["inventory"] if row["ItemID"] != "DEMO-MUG"]
    inventory.append({"ItemID": "DEMO-MUG", "ShipNode": "default", "Quantity": orders * 3 + 10})
    inventory += [{"ItemID": sku, "ShipNode": node, "Quantity": 1} for sku in STOCK_SKUS for node in NODES]
    data["sterling"]["inventory"] = inventory
    data["commerce"]["source_items"] = [{"sku": sku, "source_code": node, "quantity": 1, "status": 1}
                                        for sku in STOCK_SKUS for node in NODES]
    data["commerce"]["websites"] = [{"id": EU_STORE_ID, "code": "eu", "name": "EU website"}]
    data["commerce"]["store_views"] = [{"id": EU_STORE_ID, "code": EU_STORE, "name": "EU English",
                                        "website_id": EU_STORE_ID}]
    data["sterling"]["enterprises"] = ["DEFAULT", EU_ENTERPRISE, EU_SELLER]
    return data


def order_numbers(orders: int) -> list[str]:
    return [f"{700_000_000 + n:09d}" for n in range(orders)]


def is_pickup(number: str) -> bool:
    return int(number) % PICKUP_EVERY == PICKUP_EVERY - 1


def on_second_website(number: str) -> bool:
    return not is_pickup(number) and int(number) % SECOND_WEBSITE_EVERY == 1


def enterprise_of(number: str) -> str:
    return EU_ENTERPRISE if on_second_website(number) else "DEFAULT"


def order_for(number: str) -> dict[str, Any]:
    if not is_pickup(number):
        order = simple_order(number, qty=1)
        if on_second_website(number):
            order.update(store_id=EU_STORE_ID, order_currency_code="EUR", base_currency_code="EUR")
        return order
    order = pickup_order(number)
    order["extension_attributes"]["pickup_location_code"] = UNMAPPED_STORE
    return order


class Chaos:
    def __init__(self, box: Sandbox, numbers: list[str], fault_rate: float, seed_value: int,
                 commerce_key: KeyPair) -> None:
        self.box = box
        self.commerce_key = commerce_key
        self.numbers = numbers
        self.fault_rate = fault_rate
        self.random = random.Random(seed_value)
        self.report = Report(orders=len(numbers), fault_rate=fault_rate)
        self.releases: dict[str, str] = {}
        self.confirmed: set[str] = set()
        # What the WMS sent for each order, kept until it is answered 2xx.
        self.confirmations: dict[str, tuple[str, dict[str, str]]] = {}

    # -- faults ----------------------------------------------------------------------------------

    def faults_on(self) -> None:
        for number, simulator in enumerate(self.box.simulators.values()):
            simulator.faults.rate = self.fault_rate
            simulator.faults.kinds = FAULT_KINDS
            simulator.faults.timeout_seconds = FAULT_TIMEOUT_SECONDS
            simulator.faults.seed = number
            simulator.faults.__post_init__()

    def faults_off(self) -> None:
        for simulator in self.box.simulators.values():
            simulator.faults.rate = 0.0

    @contextlib.contextmanager
    def operator(self) -> Iterator[SterlingClient]:
        """People at Sterling's screens and the warehouse: not the integration under test, no faults."""
        saved = self.box.sterling.faults.rate
        self.box.sterling.faults.rate = 0.0
        client = self.box.sterling_user()
        try:
            yield client
        finally:
            client.close()
            self.box.sterling.faults.rate = saved

    # -- the loop --------------------------------------------------------------------------------

    def place(self, numbers: list[str]) -> None:
        for number in numbers:
            if self.box.commerce.find_order(number) is None:
                event = self.box.commerce.place_order(order_for(number))
                self.report.second_website_orders += on_second_website(number)
                if int(number) % SLIM_EVERY == 0:
                    event["data"]["value"] = narrowed(event["data"]["value"], STARTER_KIT_FIELDS)
                    self.report.slim_events += 1
                self.box.publish("adobe.commerce", event["type"], event)
        self.box.deliver()

    def release(self, numbers: list[str]) -> None:
        for number in numbers:
            if number in self.releases or is_pickup(number):
                continue
            enterprise = enterprise_of(number)
            try:
                if not self.box.sterling.order(number, enterprise_code=enterprise).releases:
                    self.box.sterling.schedule(number, enterprise_code=enterprise)
                    [release] = self.box.sterling.release(number, enterprise_code=enterprise)
                else:
                    release = {"OrderReleaseKey": self.box.sterling.order(
                        number, enterprise_code=enterprise).releases[0].key}
            except PipelineError:
                continue  # not in Sterling yet: its export is waiting in a DLQ for the replay
            self.releases[number] = release["OrderReleaseKey"]
        self.box.deliver()

    def pack(self, numbers: list[str]) -> None:
        for number in numbers:
            shipment_no = f"SH-{number}"
            if number not in self.releases or self._has_shipment(shipment_no):
                continue
            shipment = self.box.sterling.include_in_shipment(number, shipment_no=shipment_no,
                                                             enterprise_code=enterprise_of(number))
            with self.operator() as sterling:
                sterling.change_shipment({"ShipmentKey": shipment["ShipmentKey"], "Containers": {"Container": [
                    {"ContainerNo": f"B-{number}",
                     "ContainerDetails": {"ContainerDetail": [{"ItemID": "DEMO-MUG", "Quantity": "1"}]}}]}})
            self.box.sterling.ready_to_ship(shipment_no)
        self.box.deliver()

    def _has_shipment(self, shipment_no: str) -> bool:
        try:
            self.box.sterling.shipment(shipment_no)
        except PipelineError:
            return False
        return True

    def confirm(self, numbers: list[str]) -> None:
        for number in numbers:
            if number in self.confirmed or not self._has_shipment(f"SH-{number}"):
                continue
            containers = self.box.sterling.shipment(f"SH-{number}").containers
            if not all(c.get("TrackingNo") for c in containers):
                continue  # the label is still to come (its booking was dead-lettered)
            boxes = [{"container_no": c["ContainerNo"], "tracking_number": c["TrackingNo"], "scac": "UPSN"}
                     for c in containers]
            if number not in self.confirmations:
                self.confirmations[number] = self.box.dc.signed(
                    self.box.dc.confirm(self.releases[number], containers=boxes))
            raw, headers = self.confirmations[number]
            # The WMS sends the same confirmation again until it is answered 2xx, as any webhook
            # sender does (a later stage resends one that was never answered).
            for _ in range(8):
                status, _, _ = self.box.http("POST", "/callbacks/dc", headers=headers, body=raw)
                if status < 300:
                    self.confirmed.add(number)
                    break
        self.box.deliver()

    def move_stock(self, rounds: int) -> None:
        with self.operator() as sterling:
            for _ in range(rounds):
                sku, node = self.random.choice(STOCK_SKUS), self.random.choice(NODES)
                sterling.adjust_inventory([{
                    "ItemID": sku, "ShipNode": node, "UnitOfMeasure": "EACH", "ProductClass": "GOOD",
                    "SupplyType": "ONHAND", "AdjustmentType": "ABSOLUTE", "Quantity": str(self.random.randint(0, 50)),
                }])
        self.box.deliver()

    def untrusted(self, numbers: list[str]) -> None:
        """Another enterprise's documents about this run's orders and stock, availability Commerce
        cannot hold, and shoppers asking for absurd quantities: all refused, none applied."""
        for number in numbers[::FOREIGN_EVERY]:
            foreign = {"EnterpriseCode": OTHER_ENTERPRISE}
            self.box.sterling_post("order.cancelled", {"OrderNo": number, "DocumentType": "0001", **foreign,
                                                       "MinOrderStatus": "9000", "MaxOrderStatus": "9000"})
            self.box.sterling_post("shipment.shipped", {
                "ShipmentNo": f"{FOREIGN_MARK}{number}", "ShipNode": "default", "Status": "1400", **foreign,
                "ShipmentLines": {"ShipmentLine": [{"OrderNo": number, "PrimeLineNo": "1", "SubLineNo": "1",
                                                    "ItemID": "DEMO-MUG", "Quantity": "1"}]}})
            self.report.untrusted_sent += 2
        sku, node = self.random.choice(STOCK_SKUS), self.random.choice(NODES)
        availability = [("OTHER_INVENTORY", str(self.random.randint(60, 99)))]
        availability += [("DEFAULT", quantity) for quantity in HOSTILE_STERLING_QUANTITIES]
        for organization, quantity in availability:
            self.box.sterling_post("inventory.changed", {
                "ItemID": sku, "InventoryOrganizationCode": organization, "AvailabilityChanges": {
                    "AvailabilityChange": [{"Node": node, "OnhandAvailableQuantity": quantity}]}})
            self.report.untrusted_sent += 1
        for quantity in HOSTILE_CART_QUANTITIES:
            self.report.untrusted_sent += 1
            if self._stock_check(sku, quantity) != "exception":
                self.report.untrusted_applied += 1
                self.report.problems.append(f"stock check let qty {quantity[:20]!r} of {sku} through")
        self.box.deliver()

    def _stock_check(self, sku: str, quantity: str) -> str:
        raw = json.dumps({"eventName": "checkout_cart_product_add_before", "data": {
            "product": {"sku": sku, "name": sku, "type_id": "simple"}, "info": {"qty": quantity}}}).encode()
        signature = self.commerce_key.sign(base64.b64encode(raw))
        status, _, answer = self.box.http("POST", "/webhooks/stock-check", body=raw,
                                          headers={"x-adobe-commerce-webhook-signature": signature})
        return str(answer.get("op")) if status == 200 and isinstance(answer, dict) else f"http {status}"

    def cycle(self) -> None:
        for start in range(0, len(self.numbers), BATCH):
            batch = self.numbers[start:start + BATCH]
            self.place(batch)
            self.release(batch)
            self.untrusted(batch)
            self.pack(batch)
            self.confirm(batch)
            self.move_stock(rounds=4)

    # -- after the storm ---------------------------------------------------------------------------

    def count_dlq(self) -> None:
        for name in self.box.stack.functions:
            for record in self.box.dlq(name):
                reason = _reason(record)
                if not reason:
                    self.report.dlq_without_reason += 1
                key = f"{name}: {reason or 'no reason'}"
                self.report.dlq[key] = self.report.dlq.get(key, 0) + 1

    def settle(self) -> None:
        self.faults_off()
        self.box.deliver()
        self.count_dlq()
        self.box.reconfigure(FIX)
        replay = self.box.replay_dlq()
        self.report.replayed = sum(replay["replayed"].values())
        self.report.refused = len(replay["refused"])
        # The business goes on for the orders a dead-lettered step had held up.
        for stage in (self.place, self.release, self.pack, self.confirm):
            stage(self.numbers)
        # RTAM publishes only when availability crosses a level of its monitoring rule; its nightly
        # full sync publishes every item, and brings Commerce to Sterling's exact quantities.
        self.box.sterling.rtam_full_sync()
        self.box.deliver()

    def check(self) -> None:
        creates = collections.Counter(
            call["body"]["OrderNo"] for call in self.box.sterling.calls_to("/invoke/createOrder")
            if call["status"] == 200 and isinstance(call["body"], dict))
        orders = collections.Counter(order.order_no for order in self.box.sterling.orders.values())
        ships: dict[int, list[dict[str, Any]]] = collections.defaultdict(list)
        for call in self.box.commerce.calls:
            if call["method"] == "POST" and call["path"].endswith("/ship"):
                ships[int(call["path"].rsplit("/", 2)[1])].append(call)
        for number in self.numbers:
            commerce = self.box.commerce.find_order(number)
            shipments = [s for s in self.box.commerce.shipments.values()
                         if commerce and s["order_id"] == commerce["entity_id"]]
            shipped = commerce["items"][0].get("qty_shipped", 0) if commerce else 0
            if is_pickup(number):
                # Collected in store: the BOPIS path is not part of this run; it must be in Sterling once.
                shipments, shipped = [None], 1
            if orders[number] == 0 or not shipments or shipped < 1:
                self.report.lost += 1
                self.report.problems.append(f"{number}: sterling={orders[number]} shipments={len(shipments)}")
            if orders[number] > 1 or creates[number] > 1 or len(shipments) > 1 or shipped > 1:
                self.report.duplicated += 1
                self.report.problems.append(f"{number}: creates={creates[number]} shipments={len(shipments)}")
            if commerce and commerce["state"] == "canceled":
                self.report.untrusted_applied += 1
                self.report.problems.append(f"{number}: cancelled in Commerce (only another enterprise asked)")
            enterprises = [order.enterprise_code for order in self.box.sterling.orders.values()
                           if order.order_no == number]
            if enterprises and enterprises != [enterprise_of(number)]:
                self.report.problems.append(f"{number}: in Sterling as {enterprises}, not {enterprise_of(number)}")
                self.report.misrouted += 1
            store = f"/rest/{EU_STORE if on_second_website(number) else 'default'}/V1/"
            if commerce and any(not call["path"].startswith(store) for call in ships.get(commerce["entity_id"], [])):
                self.report.problems.append(f"{number}: shipped in Commerce through another store than {store}")
                self.report.misrouted += 1
        foreign_shipments = [s for s in self.box.commerce.shipments.values()
                             if any(FOREIGN_MARK in str(c.get("comment")) for c in s.get("comments", []))]
        self.report.untrusted_applied += len(foreign_shipments)
        for sku in STOCK_SKUS:
            for node in NODES:
                item = self.box.commerce.source_items.get((sku, node))
                truth = float(self.box.sterling.inventory.available(sku, node))
                if item is None or float(item["quantity"]) != truth:
                    self.report.stock_mismatches += 1
                    self.report.problems.append(f"stock {sku}@{node}: commerce={item and item['quantity']} "
                                                f"sterling={truth}")
        self.report.faults_injected = sum(s.faults.injected for s in self.box.simulators.values())
        self.report.duplicates_delivered = self.box.duplicates_delivered


def _reason(record: dict[str, Any]) -> str:
    if "reason" in record and isinstance(record["reason"], dict):
        return str(record["reason"].get("reason", ""))
    if "responsePayload" in record:
        return str(record["responsePayload"].get("errorMessage", ""))
    return ""


def run(orders: int = 500, fault_rate: float = 0.2, duplicates: int = 2, seed_value: int = 7,
        workers: int = 1) -> Report:
    """The run over ``orders`` orders. With ``workers`` > 1 the orders are shared out in ranges
    among as many processes, each with a sandbox of its own (as many merchants' stacks), so that
    the run uses as many cores; every check holds for every range."""
    started = time.monotonic()
    numbers = order_numbers(orders)
    size = max(1, -(-len(numbers) // max(1, workers)))
    shares = [numbers[start:start + size] for start in range(0, len(numbers), size)]
    if len(shares) <= 1:
        report = run_orders(numbers, fault_rate, duplicates, seed_value)
    else:
        # Spawned, not forked: a fork would copy whatever threads the caller is running.
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(max_workers=len(shares), mp_context=context) as pool:
            report = Report.combined(list(pool.map(
                run_orders, shares, [fault_rate] * len(shares), [duplicates] * len(shares),
                [seed_value + n for n in range(len(shares))])))
    report.wall_s = time.monotonic() - started
    return report


def run_orders(numbers: list[str], fault_rate: float, duplicates: int, seed_value: int) -> Report:
    """These orders through the whole loop on one sandbox, then the checks."""
    delivery = Delivery(duplicates=duplicates, shuffle=True, seed=seed_value)
    commerce_key = new_keypair()
    env = {**CHAOS_ENV, "COMMERCE_WEBHOOK_PUBLIC_KEY": commerce_key.public_pem}
    with Sandbox(seed=seed(len(numbers)), env=env, delivery=delivery) as box:
        chaos = Chaos(box, numbers, fault_rate, seed_value, commerce_key)
        chaos.faults_on()
        chaos.cycle()
        chaos.settle()
        chaos.check()
    return chaos.report


def default_workers(orders: int) -> int:
    """One process per core this process may use, each with at least MIN_ORDERS_PER_WORKER orders."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores, orders // MIN_ORDERS_PER_WORKER))
