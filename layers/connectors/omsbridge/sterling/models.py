"""The Sterling documents flows read, parsed tolerantly.

Sterling's JSON drops the XML root, returns every value as a string (``"Quantity":"2.00"``) and
usually, but not always, returns repeated elements as arrays: a single child can come back as an
object (``ShipNodeAvailableInventory.Inventory``). These models accept both forms, accept numbers
where strings are expected, flatten the ``OrderLines.OrderLine`` style wrappers into plain lists and
keep every attribute they do not name (``model_extra``), so nothing Sterling sent is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_pascal


def as_list(value: Any) -> list[Any]:
    """A repeated element as a list, whether Sterling sent a list, one object, or nothing."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    return [value]


def _repeated(element: str) -> Callable[[Any], list[Any]]:
    """``{"OrderLine": [...] | {...}}`` → the list of ``OrderLine`` entries."""

    def unwrap(value: Any) -> list[Any]:
        if isinstance(value, dict):
            return as_list(value.get(element))
        return as_list(value)

    return unwrap


def _single(element: str) -> Callable[[Any], Any]:
    """``{"Option": {...}}`` → the inner object (empty when absent)."""

    def unwrap(value: Any) -> Any:
        if isinstance(value, dict) and element in value:
            inner = value[element]
            return inner[0] if isinstance(inner, list) and inner else inner or {}
        return value or {}

    return unwrap


def _flag(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip().upper() == "Y"
    return False if value is None else value


def _quantity(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return Decimal(0)
    return value


Flag = Annotated[bool, BeforeValidator(_flag)]
Quantity = Annotated[Decimal, BeforeValidator(_quantity)]


def status_key(status: str) -> tuple[int, ...]:
    """A status code as comparable numbers: ``"3350.10"`` → ``(3350, 10)``.

    Tenants extend the pipeline with dotted sub-statuses, so statuses compare as dotted numbers,
    never as exact strings.
    """
    text = status.strip()
    if not text:
        return ()
    return tuple(int(part) for part in text.split("."))


def status_at_least(status: str, threshold: str) -> bool:
    return status_key(status) >= status_key(threshold)


class SterlingDocument(BaseModel):
    """Attribute names follow Sterling's (``OrderHeaderKey`` ↔ ``order_header_key``)."""

    model_config = ConfigDict(
        extra="allow", populate_by_name=True, coerce_numbers_to_str=True, alias_generator=to_pascal,
    )


class PersonInfo(SterlingDocument):
    first_name: str = ""
    last_name: str = ""
    address_line1: str = ""
    city: str = ""
    state: str = ""
    zip_code: str = ""
    country: str = ""
    latitude: str = ""
    longitude: str = ""


class Item(SterlingDocument):
    item_id: str = Field("", alias="ItemID")
    unit_of_measure: str = ""
    product_class: str = ""


class OrderHoldType(SterlingDocument):
    hold_type: str = ""
    status: str = ""
    reason_text: str = ""

    @property
    def active(self) -> bool:
        """Hold-type status 1100 is applied; 1300 is resolved."""
        return self.status == "1100"


class OrderStatus(SterlingDocument):
    order_line_key: str = ""
    status: str = ""
    status_description: str = ""
    status_qty: Quantity = Decimal(0)
    ship_node: str = ""
    order_release_key: str = ""


class OrderLine(SterlingDocument):
    order_line_key: str = ""
    prime_line_no: str = ""
    sub_line_no: str = "1"
    ordered_qty: Quantity = Decimal(0)
    status_quantity: Quantity = Decimal(0)
    status: str = ""
    max_line_status: str = ""
    min_line_status: str = ""
    ship_node: str = ""
    delivery_method: str = ""
    item: Item = Field(default_factory=Item)


class Order(SterlingDocument):
    order_header_key: str = ""
    order_no: str = ""
    enterprise_code: str = ""
    document_type: str = ""
    seller_organization_code: str = ""
    order_date: str = ""
    status: str = ""
    max_order_status: str = ""
    min_order_status: str = ""
    hold_flag: Flag = False
    order_lines: Annotated[list[OrderLine], BeforeValidator(_repeated("OrderLine"))] = Field(
        default_factory=list, alias="OrderLines")
    order_statuses: Annotated[list[OrderStatus], BeforeValidator(_repeated("OrderStatus"))] = Field(
        default_factory=list, alias="OrderStatuses")
    hold_types: Annotated[list[OrderHoldType], BeforeValidator(_repeated("OrderHoldType"))] = Field(
        default_factory=list, alias="OrderHoldTypes")
    person_info_ship_to: PersonInfo = Field(default_factory=PersonInfo)

    @property
    def active_holds(self) -> list[OrderHoldType]:
        return [hold for hold in self.hold_types if hold.active]


class OrderRelease(SterlingDocument):
    order_release_key: str = ""
    release_no: str = ""
    order_header_key: str = ""
    order_no: str = ""
    enterprise_code: str = ""
    document_type: str = ""
    ship_node: str = ""
    delivery_method: str = ""
    scac: str = Field("", alias="SCAC")
    carrier_service_code: str = ""
    status: str = ""
    order_lines: Annotated[list[OrderLine], BeforeValidator(_repeated("OrderLine"))] = Field(
        default_factory=list, alias="OrderLines")
    person_info_ship_to: PersonInfo = Field(default_factory=PersonInfo)


class ShipmentLine(SterlingDocument):
    shipment_line_key: str = ""
    shipment_line_no: str = ""
    order_no: str = ""
    order_header_key: str = ""
    order_line_key: str = ""
    order_release_key: str = ""
    release_no: str = ""
    prime_line_no: str = ""
    sub_line_no: str = ""
    item_id: str = Field("", alias="ItemID")
    unit_of_measure: str = ""
    product_class: str = ""
    quantity: Quantity = Decimal(0)
    order_line: OrderLine = Field(default_factory=OrderLine)

    @property
    def delivery_method(self) -> str:
        return self.order_line.delivery_method


class ContainerDetail(SterlingDocument):
    item_id: str = Field("", alias="ItemID")
    quantity: Quantity = Decimal(0)
    unit_of_measure: str = ""
    shipment_line_key: str = ""


class Container(SterlingDocument):
    container_no: str = ""
    tracking_no: str = ""
    scac: str = Field("", alias="SCAC")
    carrier_service_code: str = ""
    shipment_container_key: str = ""
    details: Annotated[list[ContainerDetail], BeforeValidator(_repeated("ContainerDetail"))] = Field(
        default_factory=list, alias="ContainerDetails")


class Shipment(SterlingDocument):
    shipment_key: str = ""
    shipment_no: str = ""
    ship_node: str = ""
    status: str = ""
    status_date: str = ""
    enterprise_code: str = ""
    seller_organization_code: str = ""
    document_type: str = ""
    scac: str = Field("", alias="SCAC")
    carrier_service_code: str = ""
    tracking_no: str = ""
    delivery_method: str = ""
    actual_shipment_date: str = ""
    to_address: PersonInfo = Field(default_factory=PersonInfo)
    shipment_lines: Annotated[list[ShipmentLine], BeforeValidator(_repeated("ShipmentLine"))] = Field(
        default_factory=list, alias="ShipmentLines")
    containers: Annotated[list[Container], BeforeValidator(_repeated("Container"))] = Field(
        default_factory=list, alias="Containers")

    @property
    def order_nos(self) -> list[str]:
        """The orders this shipment ships, in line order, each once."""
        return list(dict.fromkeys(line.order_no for line in self.shipment_lines if line.order_no))


class AvailabilityChange(SterlingDocument):
    node: str = ""
    onhand_available_quantity: Quantity = Decimal(0)
    first_future_available_date: str = ""
    distribution_rule_id: str = ""
    alert_level: str = ""


class InventoryItem(SterlingDocument):
    """An RTAM availability change: one item, the nodes whose availability moved."""

    item_id: str = Field("", alias="ItemID")
    unit_of_measure: str = ""
    product_class: str = ""
    inventory_organization_code: str = ""
    availability_changes: Annotated[
        list[AvailabilityChange], BeforeValidator(_repeated("AvailabilityChange"))
    ] = Field(default_factory=list, alias="AvailabilityChanges")


class NodeInventory(SterlingDocument):
    node: str = ""
    available_quantity: Quantity = Decimal(0)
    available_onhand_quantity: Quantity = Decimal(0)
    available_future_quantity: Quantity = Decimal(0)


class AvailableInventory(SterlingDocument):
    available_quantity: Quantity = Decimal(0)
    available_onhand_quantity: Quantity = Decimal(0)
    available_future_quantity: Quantity = Decimal(0)
    start_date: str = ""
    end_date: str = ""
    nodes: Annotated[list[NodeInventory], BeforeValidator(_repeated("Inventory"))] = Field(
        default_factory=list, alias="ShipNodeAvailableInventory")


class Assignment(SterlingDocument):
    ship_node: str = ""
    quantity: Quantity = Decimal(0)
    ship_date: str = ""
    delivery_date: str = ""
    product_avail_date: str = ""
    distance: Quantity = Decimal(0)
    empty_assignment_reason: str = ""


class PromiseLine(SterlingDocument):
    line_id: str = ""
    item_id: str = Field("", alias="ItemID")
    unit_of_measure: str = ""
    delivery_method: str = ""
    ship_node: str = ""
    required_qty: Quantity = Decimal(0)
    assignments: Annotated[list[Assignment], BeforeValidator(_repeated("Assignment"))] = Field(
        default_factory=list, alias="Assignments")
    available: Annotated[AvailableInventory, BeforeValidator(_single("AvailableInventory"))] = Field(
        default_factory=AvailableInventory, alias="Availability")


class PromiseOption(SterlingDocument):
    option_no: str = ""
    first_date: str = ""
    last_date: str = ""
    has_any_unavailable_qty: Flag = False
    promise_lines: Annotated[list[PromiseLine], BeforeValidator(_repeated("PromiseLine"))] = Field(
        default_factory=list, alias="PromiseLines")


class SuggestedOption(SterlingDocument):
    option: PromiseOption = Field(default_factory=PromiseOption)
    unavailable_lines: Annotated[list[PromiseLine], BeforeValidator(_repeated("UnavailableLine"))] = Field(
        default_factory=list, alias="UnavailableLines")


class Promise(SterlingDocument):
    """The answer of getAvailableInventory (``promise_lines``) and findInventory (``suggested_option``)."""

    organization_code: str = ""
    promise_lines: Annotated[list[PromiseLine], BeforeValidator(_repeated("PromiseLine"))] = Field(
        default_factory=list, alias="PromiseLines")
    suggested_option: SuggestedOption = Field(default_factory=SuggestedOption)


class Node(SterlingDocument):
    """A ship node, as getShipNodeList and getSurroundingNodeList return it."""

    ship_node: str = ""
    node_type: str = ""
    description: str = ""
    distance_from_ship_to_address: Quantity = Decimal(0)
    ship_node_person_info: PersonInfo = Field(default_factory=PersonInfo)
