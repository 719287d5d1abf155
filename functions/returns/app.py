"""ReturnsFunction: Commerce invoices, credit memos and returns → Sterling; Sterling return receipts
and refunds → Commerce credit memos for exactly the returned items.

EventBridge rules on ``adobe.commerce`` (invoice, credit memo and RMA saves) and ``ibm.sterling``
(``return.received``, ``return.refunded``) invoke it asynchronously; the logic lives in
``omsbridge.flows.returns`` and ``omsbridge.flows.invoice``.
"""

from omsbridge.flows import returns
from omsbridge.runtime import eventbridge_flow

handler = eventbridge_flow("returns")(returns.handle)
