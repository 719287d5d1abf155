"""PartnerEventsFunction: Adobe I/O Events delivered straight to an EventBridge partner bus → the
same checks as the I/O Events webhook → the integration bus. The logic lives in
``omsbridge.flows.partner_events``."""

from __future__ import annotations

from omsbridge.flows import partner_events
from omsbridge.runtime import eventbridge_flow

handler = eventbridge_flow("partner_events")(partner_events.handle)
