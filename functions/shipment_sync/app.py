"""ShipmentSyncFunction: Sterling shipment events → Commerce shipments, pickup notices, captures.

EventBridge rules on ``ibm.sterling`` / ``shipment.shipped`` and ``shipment.ready_for_pickup``
invoke it asynchronously; the logic lives in ``omsbridge.flows.shipment_sync``.
"""

from omsbridge.flows import shipment_sync
from omsbridge.runtime import eventbridge_flow

handler = eventbridge_flow("shipment_sync")(shipment_sync.handle)
