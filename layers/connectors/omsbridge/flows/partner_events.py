"""Adobe I/O Events delivered straight to an Amazon EventBridge partner bus → the integration bus
(PartnerEventsFunction, deployed with ``AdobePartnerEventBusName``).

Adobe's form there (its guide "Adobe I/O Events and Amazon EventBridge Integration", Output Event
Format; the sample is tests/fixtures/foreign/adobe-io-events/eventbridge_partner_event.json):
``source`` is the partner event source of the registration, ``aws.partner/developer.adobe.com…/<id>``,
which is also the partner bus's name; ``detail-type`` is ``<provider label>:<event code>``;
``detail`` is the event's data. No signature comes with it: only Adobe can put events under that
partner source, and the rule and this flow accept that one source only (``ADOBE_PARTNER_SOURCE``),
which stands in for the webhook's signature and recipient checks. Everything else is checked as at
the webhook (``flows.ingress.io_event_entries``): a Commerce type or Sterling code a flow consumes,
the document's shape, the event time, EventBridge's size, card numbers cut to the last four. What
passes goes on the integration bus as the very entry the webhook makes; what does not is parked
with the reason.
"""

from __future__ import annotations

from typing import Any

from omsbridge import aws, config, inbound
from omsbridge.errors import ValidationError
from omsbridge.events import EventBridgeEvent, Publisher
from omsbridge.flows import ingress
from omsbridge.observability import Outcome, correlate, count, logger


def handle(event: EventBridgeEvent) -> dict[str, Any]:
    expected = config.settings().adobe_partner_source
    if not expected or event.source != expected:
        raise ValidationError(f"event source {event.source[:120]!r} is not this stack's Adobe partner event source "
                              f"(ADOBE_PARTNER_SOURCE {expected or 'not set'})", code="foreign_source")
    provider, separator, code = event.detail_type.rpartition(":")
    if not separator or not provider or not code:
        raise ValidationError(f"detail-type {event.detail_type[:120]!r} is not Adobe's '<provider>:<event code>'",
                              code="invalid_event")
    correlate(event.id)
    cloud_event = {"id": event.id, "type": code, "time": event.time or None, "data": event.detail}
    try:
        entries = ingress.io_event_entries(cloud_event)
    except inbound.Refusal as refusal:
        reason = refusal.reason if code in refusal.reason else f"{code}: {refusal.reason}"
        raise ValidationError(reason, code=refusal.error) from refusal
    Publisher(aws.client("events"), config.settings().event_bus_name).publish(entries)
    count(Outcome.PROCESSED, len(entries))
    logger.info("Adobe partner event put on the integration bus", extra={"type": code, "provider": provider})
    return {"status": "published", "type": code,
            "entries": [{"source": e.source, "detail_type": e.detail_type, "id": e.detail.get("id")} for e in entries]}
