"""OrderStatusFunction: Sterling order events → Commerce order status history, hold, unhold, cancel.

EventBridge rules on ``ibm.sterling`` / ``order.created``, ``order.changed``, ``order.hold_changed``,
``order.cancelled``, ``order.backordered`` and ``order.released`` invoke it asynchronously; the
logic lives in ``omsbridge.flows.order_status``.
"""

from omsbridge.flows import order_status
from omsbridge.runtime import eventbridge_flow

handler = eventbridge_flow("order_status")(order_status.handle)
