"""Ship nodes and stock for the Sterling simulator.

Availability per (item, node) is on-hand supply minus demand (quantity scheduled or released to
the node and not yet shipped), never below zero. RTAM publishes it as one ``InventoryItem`` document
per item listing the rows that moved across a level of the tenant's monitoring rule
(``tenant.Rtam``): node rows, and when RTAM monitors the network, a row with no ``Node`` for the
total across nodes. ``full_sync`` publishes every row whatever its level.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sandbox.sim.sterling import geo
from sandbox.sim.sterling.documents import (
    INVALID_INPUT,
    INVALID_NODE,
    NOT_SIMULATED,
    as_list,
    decimal,
    mapping,
    missing,
    now,
    qty,
    repeated,
    sterling_error,
    stringify,
    text,
    timestamp,
)
from sandbox.sim.sterling.tenant import Tenant

Key = tuple[str, str]  # (ItemID, ShipNode); ShipNode "" is the network total

NEVER = "2500-01-01"  # Sterling's "no date" for future availability
AVAILABILITY_WINDOW_DAYS = 30
_NODE_FIELDS = ("ShipNode", "NodeType", "Description")


@dataclass
class SimNode:
    ship_node: str
    node_type: str
    description: str
    address: dict[str, str] = field(default_factory=dict)

    @property
    def location(self) -> tuple[float, float] | None:
        latitude, longitude = self.address.get("Latitude"), self.address.get("Longitude")
        if latitude and longitude:
            return float(latitude), float(longitude)
        return geo.coordinates(self.address.get("Country", ""), self.address.get("ZipCode", ""))

    def render(self) -> dict[str, Any]:
        person_info = dict(self.address)
        location = self.location
        if location is not None:
            person_info["Latitude"], person_info["Longitude"] = f"{location[0]}", f"{location[1]}"
        return {"ShipNode": self.ship_node, "NodeType": self.node_type, "Description": self.description,
                "ShipNodePersonInfo": person_info}


class Inventory:
    def __init__(self, organization_code: str, tenant: Tenant) -> None:
        self.organization_code = organization_code
        self.tenant = tenant
        self.nodes: dict[str, SimNode] = {}
        self.supply: dict[Key, Decimal] = {}
        self.demand: dict[Key, Decimal] = {}
        self.units: dict[str, str] = {}
        # The alert level RTAM last published per row (YFS_INVENTORY_ALERTS).
        self._published: dict[Key, int] = {}
        self._dirty: set[Key] = set()

    # -- nodes ------------------------------------------------------------------------------------

    def add_node(self, doc: dict[str, Any]) -> SimNode:
        name = text(doc.get("ShipNode")).strip()
        if not name:
            raise missing("ShipNode", "ShipNode")
        address = {key: text(value) for key, value in doc.items() if key not in _NODE_FIELDS}
        node = SimNode(name, text(doc.get("NodeType") or "DC"), text(doc.get("Description") or name), address)
        self.nodes[name] = node
        return node

    def node(self, name: str) -> SimNode:
        found = self.nodes.get(name)
        if found is None:
            raise sterling_error(INVALID_NODE, "Invalid ship node", {"ShipNode": name})
        return found

    def ship_node_list(self, body: dict[str, Any]) -> dict[str, Any]:
        node_type, ship_node = text(body.get("NodeType")), text(body.get("ShipNode"))
        rows = [
            node.render() for name, node in sorted(self.nodes.items())
            if (not node_type or node.node_type == node_type) and (not ship_node or name == ship_node)
        ]
        return {"ShipNode": rows}

    def surrounding_nodes(self, body: dict[str, Any]) -> dict[str, Any]:
        ship_to = mapping(body.get("ShipToAddress"))
        country, zip_code = text(ship_to.get("Country")), text(ship_to.get("ZipCode"))
        origin = geo.coordinates(country, zip_code)
        if origin is None:
            raise sterling_error(INVALID_INPUT, "No coordinates known for the ship-to postcode",
                                 {"Country": country, "ZipCode": zip_code})
        uom = text(body.get("DistanceToConsiderUOM") or "MILE").upper()
        limit = float(decimal(body.get("DistanceToConsider") or "50", "DistanceToConsider", "GetSurroundingNodeList"))
        node_type = text(body.get("NodeType"))
        found: list[tuple[float, str, SimNode]] = []
        for name, node in self.nodes.items():
            location = node.location
            if location is None or (node_type and node.node_type != node_type):
                continue
            miles = geo.distance(origin, location, uom)
            if miles <= limit:
                found.append((miles, name, node))
        rows = [
            {**node.render(), "DistanceFromShipToAddress": f"{miles:.2f}", "DistanceUOM": uom}
            for miles, _, node in sorted(found, key=lambda entry: entry[:2])
        ]
        return {"NodeList": {"TotalNumberOfRecords": str(len(rows)), "Node": rows}}

    # -- stock ------------------------------------------------------------------------------------

    def available(self, item: str, node: str) -> Decimal:
        key = (item, node)
        return max(self.supply.get(key, Decimal(0)) - self.demand.get(key, Decimal(0)), Decimal(0))

    def network_available(self, item: str) -> Decimal:
        return sum((self.available(item, node) for node in self.nodes), Decimal(0))

    def seed(self, rows: list[dict[str, Any]]) -> None:
        """Stock that exists before the test starts: no availability event for it."""
        for row in rows:
            item, node = text(row.get("ItemID")), text(row.get("ShipNode"))
            if not item or not node:
                raise ValueError(f"an inventory seed row needs ItemID and ShipNode: {row}")
            if node not in self.nodes:
                self.add_node({"ShipNode": node, "NodeType": "DC"})
            key = (item, node)
            self.supply[key] = decimal(row.get("Quantity") or "0", "Quantity", "Item")
            self.units[item] = text(row.get("UnitOfMeasure") or "EACH")
            self._published[key] = self.tenant.rtam.level(self.available(item, node))
            self._published[(item, "")] = self.tenant.rtam.level(self.network_available(item))

    def adjust(self, body: dict[str, Any]) -> dict[str, Any]:
        """adjustInventory: all rows are checked before any is applied, as in one transaction."""
        rows = [row for row in as_list(body.get("Item")) if isinstance(row, dict)]
        if not rows:
            raise missing("Item", "Items")
        for row in rows:
            self._check_organization(row)
        changes = [self._adjustment(row) for row in rows]
        for item, node, unit, kind, quantity in changes:
            key = (item, node)
            current = self.supply.get(key, Decimal(0))
            self.supply[key] = quantity if kind == "ABSOLUTE" else current + quantity
            self.units[item] = unit
            self._dirty.add(key)
        return {"Item": stringify(rows)}

    def _adjustment(self, row: dict[str, Any]) -> tuple[str, str, str, str, Decimal]:
        item, node = text(row.get("ItemID")).strip(), text(row.get("ShipNode")).strip()
        if not item:
            raise missing("ItemID", "Item")
        if not node:
            raise missing("ShipNode", "Item")
        self.node(node)
        self.tenant.check_product_class(text(row.get("ProductClass")), item)
        if text(row.get("Quantity")).strip() == "":
            raise missing("Quantity", "Item")
        quantity = decimal(row.get("Quantity"), "Quantity", "Item")
        kind = text(row.get("AdjustmentType") or "ADJUSTMENT").upper()
        if kind not in ("ADJUSTMENT", "ABSOLUTE"):
            raise sterling_error(INVALID_INPUT, "Invalid AdjustmentType", {"AdjustmentType": kind})
        supply_type = text(row.get("SupplyType") or "ONHAND").upper()
        if supply_type != "ONHAND":
            raise sterling_error(NOT_SIMULATED, "The simulator keeps ONHAND supply only",
                                 {"SupplyType": supply_type})
        return item, node, text(row.get("UnitOfMeasure") or "EACH"), kind, quantity

    def reserve(self, item: str, node: str, quantity: Decimal) -> None:
        self._move_demand(item, node, quantity)

    def unreserve(self, item: str, node: str, quantity: Decimal) -> None:
        self._move_demand(item, node, -quantity)

    def consume(self, item: str, node: str, quantity: Decimal) -> None:
        """Shipped: the supply leaves the node and so does the demand it served."""
        key = (item, node)
        self.supply[key] = self.supply.get(key, Decimal(0)) - quantity
        self._move_demand(item, node, -quantity)

    def _move_demand(self, item: str, node: str, delta: Decimal) -> None:
        key = (item, node)
        self.demand[key] = max(self.demand.get(key, Decimal(0)) + delta, Decimal(0))
        self._dirty.add(key)

    def _check_organization(self, doc: dict[str, Any]) -> None:
        code = text(doc.get("OrganizationCode")).strip()
        if code:
            self.tenant.check_enterprise(code, "OrganizationCode")

    def changes(self) -> list[dict[str, Any]]:
        """RTAM's activity-based run: a document per item whose availability crossed a level of the
        monitoring rule since it was last published (or was never published)."""
        dirty = {key for key in self._dirty if key[1]}
        self._dirty.clear()
        return self._publish(dirty, everything=False)

    def full_sync(self) -> list[dict[str, Any]]:
        """RTAM's full sync: every item at every node, whatever its level."""
        return self._publish({key for key in (*self.supply, *self.demand) if key[1]}, everything=True)

    def _publish(self, keys: set[tuple[str, str]], *, everything: bool) -> list[dict[str, Any]]:
        rtam = self.tenant.rtam
        rows: set[Key] = set()
        if rtam.nodes:
            rows |= keys
        if rtam.network:
            rows |= {(item, "") for item, _ in keys}
        by_item: dict[str, list[dict[str, str]]] = {}
        today = now().date().isoformat()
        for key in sorted(rows):
            item, node = key
            current = self.available(item, node) if node else self.network_available(item)
            level = rtam.level(current)
            if not everything and self._published.get(key) == level:
                continue
            self._published[key] = level
            row = {"Node": node, "OnhandAvailableQuantity": qty(current),
                   "FirstFutureAvailableDate": today if current > 0 else NEVER, "AlertLevel": str(max(level, 0))}
            if not node:
                row["DistributionRuleId"] = rtam.distribution_group
            by_item.setdefault(item, []).append(row)
        return [
            {"ItemID": item, "UnitOfMeasure": self.units.get(item, "EACH"),
             "InventoryOrganizationCode": self.organization_code,
             "AvailabilityChanges": {"AvailabilityChange": rows_of_item}}
            for item, rows_of_item in by_item.items()
        ]

    def item_list(self, body: dict[str, Any]) -> dict[str, Any]:
        """getItemList over the items stocked here, in ItemID order (binary, as Sterling's
        databases sort), with the list-API conventions getOrderList also follows: ``ItemID`` with
        ``ItemIDQryType`` (EQ, GT, GE, FLIKE), ``MaximumRecords``."""
        item_id = text(body.get("ItemID"))
        kind = text(body.get("ItemIDQryType") or "EQ").upper()
        tests: dict[str, Callable[[str], bool]] = {
            "EQ": lambda item: item == item_id, "GT": lambda item: item > item_id,
            "GE": lambda item: item >= item_id, "FLIKE": lambda item: item.startswith(item_id)}
        if kind not in tests:
            raise sterling_error(INVALID_INPUT, "Invalid ItemIDQryType", {"ItemIDQryType": kind})
        limit = int(decimal(body.get("MaximumRecords") or "5000", "MaximumRecords", "Item"))
        found = [item for item in sorted(self.units) if not item_id or tests[kind](item)][:limit]
        return {"Item": [{"ItemID": item, "UnitOfMeasure": self.units[item],
                          "OrganizationCode": self.organization_code} for item in found]}

    # -- availability and promising ---------------------------------------------------------------

    def available_inventory(self, body: dict[str, Any]) -> dict[str, Any]:
        """getAvailableInventory. One node answers ``Inventory`` as an object, as Sterling does."""
        self._check_organization(body)
        nodes = [text(entry.get("Node")) for entry in repeated(body, "ShipNodes", "ShipNode")] or sorted(self.nodes)
        for name in nodes:
            self.node(name)
        today = now().date()
        lines = []
        for line in repeated(body, "PromiseLines", "PromiseLine"):
            item = text(line.get("ItemID")).strip()
            if not item:
                raise missing("ItemID", "PromiseLine")
            self.tenant.check_product_class(text(line.get("ProductClass")), item)
            per_node = [
                {"AvailableFromUnplannedInventory": "N", "AvailableFutureQuantity": "0.00",
                 "AvailableOnhandQuantity": qty(self.available(item, name)),
                 "AvailableQuantity": qty(self.available(item, name)), "Node": name}
                for name in nodes
            ]
            total = qty(sum((self.available(item, name) for name in nodes), Decimal(0)))
            lines.append({
                "AutoReplacedByPreferredSubstitute": "N",
                "Availability": {"AvailableInventory": {
                    "AvailableFromUnplannedInventory": "N", "AvailableFutureQuantity": "0.00",
                    "AvailableOnhandQuantity": total, "AvailableQuantity": total,
                    "EndDate": (today + timedelta(days=AVAILABILITY_WINDOW_DAYS)).isoformat(),
                    "ShipNodeAvailableInventory": {"Inventory": per_node[0] if len(per_node) == 1 else per_node},
                    "StartDate": today.isoformat(),
                }},
                "DeliveryMethod": text(line.get("DeliveryMethod") or "SHP"),
                "ItemID": item,
                "LineId": text(line.get("LineId")),
                "ShipNode": nodes[0] if len(nodes) == 1 else "",
                "UnitOfMeasure": text(line.get("UnitOfMeasure") or self.units.get(item, "EACH")),
            })
        return {"OrganizationCode": text(body.get("OrganizationCode")), "PromiseLines": {"PromiseLine": lines}}

    def find_inventory(self, body: dict[str, Any]) -> dict[str, Any]:
        """findInventory: the nearest node that has the whole quantity, else a split, else unavailable.

        Ship date is today; delivery takes one day per started 500 miles (three days when the
        distance is unknown), and PICK is same day.
        """
        self._check_organization(body)
        ship_to = mapping(body.get("ShipToAddress"))
        origin = geo.coordinates(text(ship_to.get("Country")), text(ship_to.get("ZipCode")))
        moment = now()
        interactions: dict[tuple[str, str], dict[str, str]] = {}
        promised, unavailable = [], []
        for line in repeated(body, "PromiseLines", "PromiseLine"):
            item = text(line.get("ItemID")).strip()
            if not item:
                raise missing("ItemID", "PromiseLine")
            self.tenant.check_product_class(text(line.get("ProductClass")), item)
            required = decimal(line.get("RequiredQty") or "1", "RequiredQty", "PromiseLine")
            method = text(line.get("DeliveryMethod") or "SHP")
            fixed = text(line.get("ShipNode")).strip()
            if fixed:
                self.node(fixed)
            ranked = self._ranked([fixed] if fixed else list(self.nodes), origin)
            picks, remaining = self._source(item, required, ranked)
            base = {
                "LineId": text(line.get("LineId")), "ItemID": item,
                "RequiredQty": text(line.get("RequiredQty") or "1"),
                "UnitOfMeasure": text(line.get("UnitOfMeasure") or self.units.get(item, "EACH")),
                "DeliveryMethod": method,
            }
            if picks:
                assignments = [self._assignment(name, miles, take, method, moment, interactions)
                               for name, miles, take in picks]
                promised.append({**base, "Assignments": {"Assignment": assignments,
                                                         "TotalNumberOfRecords": str(len(assignments))}})
            if remaining > 0:
                unavailable.append({**base, "UnavailableQty": qty(remaining)})
        dates = [entry["DeliveryDate"] for entry in interactions.values()]
        option = {
            "OptionNo": "1", "FirstDate": min(dates, default=""), "LastDate": max(dates, default=""),
            "HasAnyUnavailableQty": "Y" if unavailable else "N", "TotalShipments": str(len(interactions)),
            "Interactions": {"Interaction": list(interactions.values()),
                             "TotalNumberOfRecords": str(len(interactions))},
            "PromiseLines": {"PromiseLine": promised, "TotalNumberOfRecords": str(len(promised))},
        }
        suggested: dict[str, Any] = {"Option": option}
        if unavailable:
            suggested["UnavailableLines"] = {"UnavailableLine": unavailable}
        return {"OrganizationCode": text(body.get("OrganizationCode")), "OptimizationType": "03",
                "Options": {"TotalNumberOfRecords": "0"}, "SuggestedOption": suggested}

    def _source(
        self, item: str, required: Decimal, ranked: list[tuple[str, float | None]],
    ) -> tuple[list[tuple[str, float | None, Decimal]], Decimal]:
        """The nearest node holding the whole quantity; else split across nodes, nearest first."""
        for name, miles in ranked:
            if self.available(item, name) >= required:
                return [(name, miles, required)], Decimal(0)
        picks, remaining = [], required
        for name, miles in ranked:
            take = min(self.available(item, name), remaining)
            if take > 0:
                picks.append((name, miles, take))
                remaining -= take
        return picks, remaining

    def _ranked(self, names: list[str], origin: tuple[float, float] | None) -> list[tuple[str, float | None]]:
        def miles(name: str) -> float | None:
            location = self.nodes[name].location
            return geo.distance(origin, location) if origin and location else None

        ranked = [(name, miles(name)) for name in names]
        return sorted(ranked, key=lambda entry: (math.inf if entry[1] is None else entry[1], entry[0]))

    @staticmethod
    def _assignment(
        node: str, miles: float | None, quantity: Decimal, method: str, moment: datetime,
        interactions: dict[tuple[str, str], dict[str, str]],
    ) -> dict[str, str]:
        days = 0 if method == "PICK" else 3 if miles is None else 1 + int(miles // 500)
        ship, deliver = timestamp(moment), timestamp(moment + timedelta(days=days))
        interaction = interactions.setdefault((node, method), {
            "InteractionNo": str(len(interactions) + 1), "Node": node, "DeliveryMethod": method,
            "ShipDate": ship, "DeliveryDate": deliver, "EarliestDate": ship, "LastDate": deliver,
        })
        return {"ShipNode": node, "Quantity": qty(quantity), "ShipDate": ship, "DeliveryDate": deliver,
                "ProductAvailDate": moment.date().isoformat(), "Distance": f"{miles or 0:.2f}",
                "InteractionNo": interaction["InteractionNo"], "NodePriority": "1.00", "ReservedQty": "0.00"}
