"""What DistributionCenterFunction and a DC (WMS) adapter exchange: neutral of any one WMS's API."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from omsbridge.carrier.models import Address


class WmsLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    line_ref: str  # Sterling OrderLineKey: the WMS names the line by it in its confirmations
    prime_line_no: str
    sub_line_no: str
    sku: str
    unit_of_measure: str
    quantity: Decimal


class WmsOrder(BaseModel):
    """A Sterling release as the DC receives it: what to pick, where to send it, with whom."""

    model_config = ConfigDict(frozen=True)

    release_key: str
    order_no: str
    release_no: str
    ship_node: str
    scac: str = ""  # empty: the DC's default carrier
    service_code: str = ""
    ship_to: Address
    lines: list[WmsLine]


class Acknowledgement(BaseModel):
    model_config = ConfigDict(frozen=True)

    wms_order_id: str
    status: str = ""


class ConfirmedLine(BaseModel):
    """One release line in a confirmation, named by ``line_ref`` or by PrimeLineNo/SubLineNo."""

    model_config = ConfigDict(frozen=True)

    line_ref: str = ""
    prime_line_no: str = ""
    sub_line_no: str = ""
    sku: str = ""
    quantity: Decimal = Decimal(0)  # how much of the line this confirmation accounts for
    shipped: Decimal = Decimal(0)
    cancelled: Decimal = Decimal(0)

    def describe(self) -> str:
        return self.line_ref or f"{self.prime_line_no}.{self.sub_line_no or '1'}"


class ContainerItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    line_ref: str = ""
    sku: str = ""
    quantity: Decimal


class ConfirmedContainer(BaseModel):
    model_config = ConfigDict(frozen=True)

    container_no: str
    tracking_no: str = ""
    scac: str = ""
    service_code: str = ""
    items: list[ContainerItem] = Field(default_factory=list)


ConfirmationKind = Literal["shipped", "short_pick", "cancelled"]


class DcConfirmation(BaseModel):
    """What the DC did with a release: shipped it (in full or short), or cancelled lines of it."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    kind: ConfirmationKind
    release_key: str
    order_no: str = ""
    ship_node: str = ""
    shipment_no: str = ""
    occurred_at: str = ""
    reason: str = ""
    lines: list[ConfirmedLine]
    containers: list[ConfirmedContainer] = Field(default_factory=list)
