"""IBM's pre-configured OMS layer, as far as the sandbox needs it: Sterling's event documents
published to Adobe I/O Events as IBM's custom provider's CloudEvents.

The codes are those IBM's App Builder connector receives (``appbuilder/src/config/constant.js``,
``OMS_EVENTS``, and its ``appbuilder/config.json`` registrations); the envelope is the one its
``ShipmentChangeAC/README.md`` shows: a CloudEvent 1.0 from ``urn:uuid:<provider id>`` with
``event_id`` and ``recipient_client_id``, the document under its root element in ``data``, and the
Sterling transaction in ``YFSTranEventID`` where the connector tells transactions apart
(``ShipmentChangeAC/index.js``). Events the layer has no code for (a shipment packed and ready to
ship, returns) are posted to the ingress directly, as an integrator on that layer configures them.
"""

from __future__ import annotations

import uuid
from typing import Any

from omsbridge.events import STERLING_ROOTS, now_iso

PROVIDER_ID = "5f1c4f0e-6a43-4c1f-9a52-0b7e2c1d9e11"
# detail-type the simulator raises → (IBM's code, the YFSTranEventID the layer states).
CODES: dict[str, tuple[str, str | None]] = {
    "order.created": ("ibm.sterling.adobe.order_status_change.v0", None),
    "order.changed": ("ibm.sterling.adobe.order_status_change.v0", None),
    "order.hold_changed": ("ibm.sterling.adobe.order_status_change.v0", None),
    "order.cancelled": ("ibm.sterling.adobe.cancel_order.v0", None),
    "order.backordered": ("ibm.sterling.adobe.backorder.v0", None),
    "order.released": ("ibm.sterling.adobe.shipment_request.v0", None),
    "shipment.created": ("ibm.sterling.adobe.shipment_change.v0", "CREATE_SHIPMENT.ON_SUCCESS"),
    "shipment.ready_for_pickup": ("ibm.sterling.adobe.shipment_change.v0", "YCD_BACKROOM_PICK.ON_SUCCESS"),
    "shipment.shipped": ("ibm.sterling.adobe.shipment_shipped.v0", None),
    "inventory.changed": ("ibm.sterling.adobe.stock_change.v0", None),
}
UNHOLD = "ibm.sterling.adobe.order_unhold.v0"


def cloud_event(detail_type: str, document: dict[str, Any], recipient_client_id: str) -> dict[str, Any] | None:
    """The CloudEvent the layer publishes for a Sterling event, or None when it has no code for it."""
    if detail_type not in CODES:
        return None
    code, transaction = CODES[detail_type]
    data = dict(document)
    if transaction:
        data["YFSTranEventID"] = transaction
    if detail_type == "order.hold_changed" and str(data.get("HoldFlag", "")).upper() == "N":
        code = UNHOLD
    return {
        "data": {STERLING_ROOTS[detail_type]: data},
        "id": str(uuid.uuid4()),
        "source": f"urn:uuid:{PROVIDER_ID}",
        "specversion": "1.0",
        "type": code,
        "datacontenttype": "application/json",
        "time": now_iso(),
        "event_id": str(uuid.uuid4()),
        "recipient_client_id": recipient_client_id,
    }
