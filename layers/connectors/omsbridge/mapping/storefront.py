"""Storefront answers: shopper queries validated, Sterling availability and promise dates joined
with Commerce MSI sources into what a shopper may see.

Pure: query strings, Sterling documents and Commerce sources in; answer bodies and headers out.

What a shopper sees of a location is Commerce's view of it (MSI ``source_code``, the frontend name,
the address and phone of a pickup store), never Sterling's: no ship node ids, node types or internal
descriptions. Disabled sources and the ``hidden_sources`` of the ``storefront`` table are not shown.
Quantities are whole units; ``show_quantity: false`` in the table leaves only the stock level.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

import pydantic
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from omsbridge.errors import ValidationError
from omsbridge.mapping.ids import node_for_source, source_for_node
from omsbridge.mapping.tables import table

if TYPE_CHECKING:
    # Types only: the storefront's cold start loads the Sterling client on its first call.
    from omsbridge.sterling.models import Node, Promise, PromiseLine

MAX_QTY = 9999
EARTH_RADIUS = {"MILE": 3958.8, "KM": 6371.0}
UNIT_LABEL = {"MILE": "mi", "KM": "km"}
Level = Literal["in_stock", "low_stock", "out_of_stock"]


def conf() -> dict[str, Any]:
    return table("storefront")


# -- queries ------------------------------------------------------------------------------------------


def _upper(value: str) -> str:
    return value.upper()


Sku = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]
SourceCode = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Postcode = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 -]{0,11}$"), AfterValidator(_upper)]
Country = Annotated[str, Field(pattern=r"^[A-Za-z]{2}$"), AfterValidator(_upper)]
Qty = Annotated[int, Field(ge=1, le=MAX_QTY)]


class Query(BaseModel):
    # Unknown parameters (a cache buster, tracking tags) are ignored, not refused.
    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True, allow_inf_nan=False)

    sku: Sku


class StockQuery(Query):
    """``sku`` only."""


class PickupQuery(Query):
    qty: Qty = 1
    postcode: Postcode | None = None
    country: Country | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lng: float | None = Field(default=None, ge=-180, le=180)

    @model_validator(mode="after")
    def _somewhere(self) -> Self:
        if (self.lat is None) != (self.lng is None):
            raise ValueError("lat and lng go together")
        if self.lat is None and not (self.postcode and self.country):
            raise ValueError("give postcode and country, or lat and lng")
        return self

    def near(self) -> dict[str, Any]:
        if self.lat is not None:
            return {"lat": self.lat, "lng": self.lng}
        return {"postcode": self.postcode, "country": self.country}


class DeliveryQuery(Query):
    qty: Qty = 1
    postcode: Postcode | None = None
    country: Country | None = None
    store: SourceCode | None = None

    @model_validator(mode="after")
    def _destination(self) -> Self:
        if self.store is None and not (self.postcode and self.country):
            raise ValueError("give postcode and country, or the store to pick up from")
        return self


def parse_query[Q: Query](model: type[Q], params: Mapping[str, str] | None) -> Q:
    """The query, or a ``ValidationError`` whose reason names the first bad parameter."""
    try:
        return model.model_validate(dict(params or {}))
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = re.sub(r"^Value error, ", "", str(first["msg"]))
        raise ValidationError(f"{where}: {message}" if where else message) from exc


# -- Commerce MSI sources -----------------------------------------------------------------------------


def _blank_is_none(value: Any) -> Any:
    return None if value == "" else value


Coordinate = Annotated[float | None, BeforeValidator(_blank_is_none)]


class Source(BaseModel):
    """An MSI source as ``GET /V1/inventory/sources`` returns it (the fields read here)."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    source_code: str = Field(min_length=1)
    name: str = ""
    enabled: bool = True
    latitude: Coordinate = None
    longitude: Coordinate = None
    street: str | None = None
    city: str | None = None
    region: str | None = None
    postcode: str | None = None
    country_id: str | None = None
    phone: str | None = None
    extension_attributes: dict[str, Any] = Field(default_factory=dict)

    @property
    def pickup(self) -> bool:
        return bool(self.extension_attributes.get("is_pickup_location_active"))

    @property
    def display_name(self) -> str:
        return str(self.extension_attributes.get("frontend_name") or self.name or self.source_code)

    @property
    def location(self) -> tuple[float, float] | None:
        if self.latitude is None or self.longitude is None:
            return None
        return self.latitude, self.longitude


def parse_sources(items: Iterable[Any]) -> tuple[dict[str, Source], list[str]]:
    """Sources by code, and a note for each item that is not a readable source."""
    sources: dict[str, Source] = {}
    problems: list[str] = []
    for index, item in enumerate(items):
        try:
            source = Source.model_validate(item)
        except pydantic.ValidationError as exc:
            problems.append(f"source {index}: {exc.errors()[0]['msg']}")
            continue
        sources[source.source_code] = source
    return sources, problems


def shown(source: Source) -> bool:
    return source.enabled and source.source_code not in conf()["hidden_sources"]


def pickup_store(source: Source | None) -> bool:
    return source is not None and shown(source) and source.pickup


# -- availability ---------------------------------------------------------------------------------------


def node_quantities(lines: Sequence[PromiseLine], sku: str) -> dict[str, Decimal]:
    """On-hand available quantity per Sterling node for ``sku`` (getAvailableInventory)."""
    quantities: dict[str, Decimal] = {}
    for line in lines:
        if line.item_id and line.item_id != sku:
            continue
        for node in line.available.nodes:
            if node.node:
                quantities[node.node] = quantities.get(node.node, Decimal(0)) + node.available_onhand_quantity
    return quantities


def units(quantity: Decimal) -> int:
    return max(int(quantity.to_integral_value(rounding=ROUND_FLOOR)), 0)


def level(quantity: int) -> Level:
    if quantity <= 0:
        return "out_of_stock"
    return "low_stock" if quantity < int(conf()["low_stock_below"]) else "in_stock"


def _quantity(quantity: int) -> int | None:
    return quantity if conf()["show_quantity"] else None


def location(source: Source) -> dict[str, Any]:
    """A location as the shopper sees it: a pickup store with its address and phone, any other
    location (a warehouse) by name only."""
    address = None
    if source.pickup:
        address = {"street": source.street, "city": source.city, "region": source.region,
                   "postcode": source.postcode, "country": source.country_id}
    return {"source_code": source.source_code, "name": source.display_name, "pickup": source.pickup,
            "address": address, "phone": source.phone if source.pickup else None}


def stock_answer(sku: str, quantities: Mapping[str, Decimal], sources: Mapping[str, Source]
                 ) -> tuple[dict[str, Any], list[str]]:
    """Stock per shown location (in stock first, then by name), and the Sterling nodes with stock
    that no Commerce source stands for (not shown, but worth a warning)."""
    rows: list[tuple[int, dict[str, Any]]] = []
    unmapped: list[str] = []
    for node, quantity in sorted(quantities.items()):
        source = sources.get(source_for_node(node))
        if source is None:
            if quantity > 0:
                unmapped.append(node)
            continue
        if shown(source):
            whole = units(quantity)
            rows.append((whole, {**location(source), "level": level(whole), "quantity": _quantity(whole)}))
    rows.sort(key=lambda row: (row[0] <= 0, row[1]["name"].casefold(), row[1]["source_code"]))
    total = sum(whole for whole, _ in rows)
    body = {"sku": sku, "in_stock": total > 0, "level": level(total), "quantity": _quantity(total),
            "locations": [row for _, row in rows]}
    return body, unmapped


def configurable_stock_answer(parent: str, children: Mapping[str, Mapping[str, Decimal]],
                              sources: Mapping[str, Source]) -> tuple[dict[str, Any], list[str]]:
    """A configurable's stock: each child's own answer (``children``, in the order given), and for the
    parent their sum per location: in stock where some option is."""
    answers = []
    unmapped: set[str] = set()
    for sku, quantities in children.items():
        body, missing = stock_answer(sku, quantities, sources)
        answers.append(body)
        unmapped.update(missing)
    total: dict[str, Decimal] = {}
    for quantities in children.values():
        for node, quantity in quantities.items():
            total[node] = total.get(node, Decimal(0)) + max(quantity, Decimal(0))
    body, _ = stock_answer(parent, total, sources)
    return {**body, "configurable": True, "children": answers}, sorted(unmapped)


# -- pickup stores -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A pickup store near the shopper: its Commerce source, Sterling node and distance."""

    source: Source
    node: str
    distance: float


def candidates_from_nodes(nodes: Sequence[Node], sources: Mapping[str, Source]
                          ) -> tuple[list[Candidate], list[str]]:
    """Sterling's surrounding nodes (nearest first) that are Commerce pickup stores; and the nodes
    no Commerce source stands for."""
    found: list[Candidate] = []
    unmapped: list[str] = []
    for node in nodes:
        source = sources.get(source_for_node(node.ship_node))
        if source is None:
            unmapped.append(node.ship_node)
        elif pickup_store(source):
            found.append(Candidate(source, node.ship_node, float(node.distance_from_ship_to_address)))
    found.sort(key=lambda candidate: candidate.distance)
    return found, unmapped


def distance(a: tuple[float, float], b: tuple[float, float], unit: str) -> float:
    """Great-circle distance (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS[unit] * math.asin(math.sqrt(h))


def candidates_near(origin: tuple[float, float], sources: Mapping[str, Source], radius: float, unit: str
                    ) -> list[Candidate]:
    """Commerce pickup stores with coordinates within ``radius`` of ``origin``, nearest first."""
    found = []
    for code, source in sources.items():
        where = source.location
        if where is None or not pickup_store(source):
            continue
        away = distance(origin, where, unit)
        if away <= radius:
            found.append(Candidate(source, node_for_source(code), away))
    found.sort(key=lambda candidate: (candidate.distance, candidate.source.source_code))
    return found


def pickup_answer(query: PickupQuery, candidates: Sequence[Candidate], quantities: Mapping[str, Decimal],
                  unit: str) -> dict[str, Any]:
    rows = []
    for candidate in candidates[: int(conf()["max_pickup_locations"])]:
        whole = units(quantities.get(candidate.node, Decimal(0)))
        rows.append({**location(candidate.source), "distance": round(candidate.distance, 1),
                     "available": whole >= query.qty, "level": level(whole), "quantity": _quantity(whole)})
    return {"sku": query.sku, "qty": query.qty, "near": query.near(), "distance_unit": UNIT_LABEL[unit],
            "locations": rows}


# -- delivery estimate ----------------------------------------------------------------------------------------


def promise_lines(sku: str, qty: int, *, node: str | None = None) -> list[dict[str, str]]:
    """The findInventory line: the whole quantity, from ``node`` when the shopper picks it up."""
    line = {"ItemID": sku, "RequiredQty": str(qty)}
    if node:
        line["ShipNode"] = node
    return [line]


def _day(value: str) -> str | None:
    """The calendar day of a Sterling date or timestamp, as Sterling states it (its own offset)."""
    try:
        return date.fromisoformat(value.strip()[:10]).isoformat()
    except ValueError:
        return None


def delivery_answer(query: DeliveryQuery, promise: Promise, store: Source | None) -> dict[str, Any]:
    """When the whole quantity arrives (or can be picked up), or that it cannot be promised."""
    suggested = promise.suggested_option
    option = suggested.option
    assignments = [a for line in option.promise_lines for a in line.assignments
                   if a.quantity > 0 and not a.empty_assignment_reason]
    promised = sum((a.quantity for a in assignments), Decimal(0))
    available = promised >= query.qty and not suggested.unavailable_lines and not option.has_any_unavailable_qty
    days = [day for day in (_day(a.delivery_date) for a in assignments) if day]
    when = max(days) if days else _day(option.last_date)
    body: dict[str, Any] = {"sku": query.sku, "qty": query.qty,
                            "method": "pickup" if store is not None else "delivery"}
    if store is not None:
        body["store"] = {"source_code": store.source_code, "name": store.display_name}
    else:
        body["destination"] = {"postcode": query.postcode, "country": query.country}
    body.update({"available": available, "date": when if available else None,
                 "available_qty": min(units(promised), query.qty)})
    return body


# -- HTTP ---------------------------------------------------------------------------------------------------------


def allowed_origins(setting: str) -> frozenset[str]:
    """``STOREFRONT_ORIGINS``: exact origins (scheme, host, port), comma-separated."""
    return frozenset(origin.strip().rstrip("/") for origin in setting.split(",") if origin.strip())


def cors_headers(origin: str | None, allowed: frozenset[str]) -> dict[str, str]:
    """CORS for a configured storefront origin only; no wildcard. The answer varies by Origin
    whenever origins are configured, so a shared cache never hands one origin's answer to another."""
    if not allowed:
        return {}
    headers = {"Vary": "Origin"}
    if origin and origin in allowed:
        headers.update({"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Methods": "GET",
                        "Access-Control-Max-Age": "600"})
    return headers


def cache_control(status: int, max_age: float) -> str:
    if status == 200 and max_age > 0:
        return f"public, max-age={int(max_age)}"
    return "no-store"
