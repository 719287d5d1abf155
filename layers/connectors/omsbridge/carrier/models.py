"""What CarrierFunction and a carrier adapter exchange: neutral of any one carrier's API.

The flow speaks these models; an adapter turns them into its carrier's requests and its carrier's
answers and callbacks back into them.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import quote, unquote

from pydantic import BaseModel, ConfigDict, Field

from omsbridge.errors import ValidationError

ADDRESS_LINES = 6


class Address(BaseModel):
    """A postal address (ship-to of a parcel or of a DC release)."""

    model_config = ConfigDict(frozen=True)

    name: str = ""
    company: str = ""
    lines: list[str] = Field(default_factory=list)
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = ""
    phone: str = ""
    email: str = ""


def address_from_person_info(info: Mapping[str, Any]) -> Address:
    """A Sterling ``PersonInfo`` (``PersonInfoShipTo``, a shipment's ``ToAddress``) as an Address.

    Sterling writes an unset attribute as ``" "``, so every value is stripped.
    """

    def value(name: str) -> str:
        return str(info.get(name) or "").strip()

    name = " ".join(part for part in (value("FirstName"), value("MiddleName"), value("LastName")) if part)
    return Address(
        name=name,
        company=value("Company"),
        lines=[line for line in (value(f"AddressLine{n}") for n in range(1, ADDRESS_LINES + 1)) if line],
        city=value("City"),
        state=value("State"),
        postal_code=value("ZipCode"),
        country=value("Country"),
        phone=value("DayPhone") or value("MobilePhone") or value("EveningPhone"),
        email=value("EMailID"),
    )


class PackageItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: str
    quantity: Decimal


class BookingRequest(BaseModel):
    """One parcel (a Sterling container) to book a label for."""

    model_config = ConfigDict(frozen=True)

    ship_node: str
    shipment_no: str
    container_no: str
    scac: str = ""  # empty: the carrier's default service for the account
    service_code: str = ""
    ship_to: Address
    items: list[PackageItem]
    weight: Decimal | None = None
    weight_uom: str = ""

    @property
    def reference(self) -> str:
        """Names the parcel for the carrier, which echoes it in tracking callbacks; also the
        idempotency key of the booking."""
        return "/".join(quote(part, safe="") for part in (self.ship_node, self.shipment_no, self.container_no))


def parse_reference(reference: str) -> tuple[str, str, str]:
    """(ShipNode, ShipmentNo, ContainerNo) from a booking reference."""
    parts = [unquote(part) for part in reference.split("/")]
    if len(parts) != 3 or not all(part.strip() for part in parts):
        raise ValidationError(f"reference {reference[:120]!r} is not a parcel this integration booked")
    return parts[0], parts[1], parts[2]


class Label(BaseModel):
    """The carrier's answer to a booking."""

    model_config = ConfigDict(frozen=True)

    tracking_no: str
    scac: str
    service_code: str = ""
    label_reference: str = ""
    carrier_shipment_id: str = ""


# Progress scans are accepted and not recorded; "delivered" and "exception" are.
TrackingStatus = Literal["in_transit", "delivered", "exception"]


class TrackingUpdate(BaseModel):
    """One tracking event from the carrier."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    reference: str
    tracking_no: str
    status: TrackingStatus
    occurred_at: str
    description: str = ""
