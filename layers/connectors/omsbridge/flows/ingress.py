"""Inbound events from Sterling and Adobe I/O Events: authenticate, validate, put on the bus.

Nothing else talks to the bus from outside, so this is where bad input stops: every rejection is a
4xx JSON answer with a reason, and a rejected event puts nothing on the bus. Bodies are read with
``omsbridge.inbound`` (size, NaN, absurd numbers, depth); card numbers are cut to their last four
digits before anything is put; an event time further ahead than the allowed clock skew is refused,
since a flow would keep it as a watermark and drop every later real event as stale.

Sterling posts JSON, or XML (``Content-Type: application/xml``) from a service that does not speak
JSON: that is converted to the JSON Sterling's REST layer writes (``omsbridge.sterling.xmljson``).

Adobe I/O Events delivers CloudEvents of two providers to the same URL: Commerce's, and IBM's
Sterling codes (``mapping.event_codes``), whose document becomes the same ``ibm.sterling`` entry a
direct POST of it makes. Only events some flow consumes are accepted. A batch delivery is read
event by event: Adobe does not send a delivery again after a 4xx (its "Retries" page), so the
events that pass are put on the bus and the others are refused by index, with the reason.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pydantic

from omsbridge import aws, config, inbound, io_events, timeutil
from omsbridge.events import (
    COMMERCE_DETAIL_TYPES,
    COMMERCE_SOURCE,
    PUT_EVENTS_MAX_BYTES,
    STERLING_DETAIL_TYPES,
    STERLING_ROOTS,
    STERLING_SOURCE,
    BusEntry,
    CommerceEvent,
    EntryTooLarge,
    IoEvent,
    Publisher,
    SterlingEvent,
    entry_size,
    now_iso,
)
from omsbridge.mapping import event_codes
from omsbridge.observability import Outcome, count, logger
from omsbridge.redact import redact_card_data
from omsbridge.sterling import xmljson

# A document of each root carries at least one of these (Sterling drops the root element in JSON).
ROOT_MARKERS: dict[str, tuple[str, ...]] = {
    "Order": ("OrderNo", "OrderHeaderKey"),
    "OrderRelease": ("OrderReleaseKey", "ReleaseNo"),
    "Shipment": ("ShipmentNo", "ShipmentKey", "ShipmentLines"),
    "InventoryItem": ("ItemID", "AvailabilityChanges"),
}
IV_EVENT_TYPES = ("productAvailability.v2",)

@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    entries: list[BusEntry] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)


def reject(status: int, error: str, reason: str) -> Answer:
    count(f"rejected_{status}")
    logger.info("rejected", extra={"status": status, "error": error, "reason": reason})
    return Answer(status, {"error": error, "reason": reason})


def _publish(entries: list[BusEntry]) -> Answer:
    try:
        Publisher(aws.client("events"), config.settings().event_bus_name).publish(entries)
    except EntryTooLarge as exc:
        return reject(413, "event_too_large", exc.reason)
    count(Outcome.PROCESSED, len(entries))
    return Answer(202, {"accepted": len(entries), "ids": [e.detail["id"] for e in entries]}, entries)


def _bearer_ok(headers: Mapping[str, str]) -> bool | None:
    """True / False for a presented token; None when none was presented."""
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    secrets = config.secrets()
    accepted = [s.get_secret_value() for s in (secrets.ingress_token, secrets.ingress_token_next)]
    # Compare against every configured token, always, so timing tells nothing about which matched.
    results = [hmac.compare_digest(token.strip().encode(), t.encode()) for t in accepted if t]
    return any(results)


def unwrap(body: dict[str, Any], root: str) -> dict[str, Any]:
    """A Sterling document with its ``data`` wrapper and root element dropped, if it has them."""
    document = body
    if set(document) == {"data"} and isinstance(document["data"], dict):
        document = document["data"]
    if set(document) == {root} and isinstance(document[root], dict):
        document = document[root]
    return document


def sterling_documents(detail_type: str, body: Any) -> list[dict[str, Any]] | str:
    """The documents in a Sterling POST, root dropped; or the reason they are not acceptable."""
    root = STERLING_ROOTS[detail_type]
    if detail_type == "inventory.changed" and is_iv_batch(body):
        items = body if isinstance(body, list) else [body]
        return [item for item in items if isinstance(item, dict)]
    if not isinstance(body, dict):
        return f"body must be a JSON object (a Sterling {root} document)"
    document = unwrap(body, root)
    if not any(marker in document for marker in ROOT_MARKERS[root]):
        return f"not a Sterling {root} document: expected one of {', '.join(ROOT_MARKERS[root])}"
    return [document]


def is_iv_batch(body: Any) -> bool:
    items = body if isinstance(body, list) else [body]
    return bool(items) and all(isinstance(i, dict) and i.get("type") in IV_EVENT_TYPES for i in items)


def accept_sterling(detail_type: str, headers: Mapping[str, str], raw: bytes) -> Answer:
    authenticated = _bearer_ok(headers)
    if authenticated is None:
        return reject(401, "unauthenticated", "missing bearer token")
    if not authenticated:
        return reject(401, "unauthenticated", "invalid bearer token")
    return sterling_event(detail_type, headers, raw)


def sterling_event(detail_type: str, headers: Mapping[str, str], raw: bytes) -> Answer:
    """An authenticated delivery of Sterling documents (or IV events): validated, put on the bus."""
    if detail_type not in STERLING_DETAIL_TYPES:
        return reject(404, "unknown_event", f"unknown Sterling event {detail_type[:64]!r}")
    if _is_xml(headers):
        try:
            body: Any = xmljson.to_json(raw)
        except xmljson.NotADocument as exc:
            return reject(400, "invalid_xml", str(exc))
    else:
        try:
            body = inbound.loads(raw)
        except inbound.Refusal as refusal:
            return reject(refusal.status, refusal.error, refusal.reason)
    documents = sterling_documents(detail_type, body)
    if isinstance(documents, str):
        return reject(400, "invalid_document", documents)
    if not documents:
        return reject(400, "invalid_document", "no documents in the body")
    received = now_iso()
    try:
        entries = [
            sterling_entry(detail_type, document, _event_id(headers, document, detail_type),
                           (headers.get("x-event-time"), document.get("Modifyts"), document.get("time"), received))
            for document in documents
        ]
    except inbound.Refusal as refusal:
        return reject(refusal.status, refusal.error, refusal.reason)
    return _publish(entries)


def sterling_entry(detail_type: str, document: dict[str, Any], event_id: str, times: tuple[Any, ...]) -> BusEntry:
    """The bus entry of one Sterling document, whichever door it came through; its time is the
    first of ``times`` given. Raises ``inbound.Refusal`` for a time that cannot go on the bus."""
    time = next(value for value in times if isinstance(value, str) and value)
    if problem := _time_problem(time):
        raise inbound.Refusal(400, "invalid_event_time", problem)
    detail = SterlingEvent(id=event_id, time=time, data=redact_card_data(document))
    return BusEntry(source=STERLING_SOURCE, detail_type=detail_type, detail=detail.model_dump())


def _is_xml(headers: Mapping[str, str]) -> bool:
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media_type in ("application/xml", "text/xml")


def _event_id(headers: Mapping[str, str], document: dict[str, Any], detail_type: str) -> str:
    explicit = headers.get("x-event-id") or document.get("id")
    if isinstance(explicit, str) and explicit:
        return explicit[:128]
    # The same document posted twice gets the same id, which makes Sterling's resends recognisable.
    digest = hashlib.sha256(json.dumps([detail_type, document], sort_keys=True).encode()).hexdigest()
    return f"sterling-{digest[:32]}"


def _time_problem(value: str) -> str | None:
    """Why an event time cannot go on the bus, or None."""
    try:
        timeutil.event_stamp(value)
    except ValueError as exc:
        return f"event time {value[:64]!r}: {str(exc)[:120]}"
    return None


def challenge(query: Mapping[str, str]) -> Answer:
    value = query.get("challenge", "")
    if not value or len(value) > 256:
        return reject(400, "missing_challenge", "GET /events/commerce answers the I/O Events challenge only")
    return Answer(200, {"challenge": value})


def accept_io_events(headers: Mapping[str, str], raw: bytes) -> Answer:
    """An Adobe I/O Events delivery (one CloudEvent, or a batch) of Commerce or Sterling events."""
    expected_client = config.settings().io_events_client_id
    if not expected_client:
        # Adobe signs every registration's deliveries with the same keys: without the recipient
        # check, a delivery made for someone else's registration would pass.
        return reject(403, "not_configured", "IoEventsClientId (IO_EVENTS_CLIENT_ID) is not set: no I/O Events "
                      "delivery is accepted until it names this integration's registration")
    try:
        io_events.verify(raw, headers)
    except io_events.SignatureError as exc:
        return reject(401, "bad_signature", str(exc))
    try:
        body = inbound.loads(raw)
    except inbound.Refusal as refusal:
        return reject(refusal.status, refusal.error, refusal.reason)
    items = body if isinstance(body, list) else [body]
    if not items:
        return reject(400, "invalid_event", "an empty batch")
    # One registration's delivery: an event addressed to another makes the whole delivery suspect.
    if any(isinstance(item, dict) and item.get("recipient_client_id") != expected_client for item in items):
        return reject(403, "wrong_recipient", "recipient_client_id is not this integration's client id")
    accepted: list[BusEntry] = []
    refused: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            accepted.extend(io_event_entries(item))
        except inbound.Refusal as refusal:
            described = item if isinstance(item, dict) else {}
            refused.append({"index": index, "id": str(described.get("id", ""))[:128],
                            "type": str(described.get("type", ""))[:128], "status": refusal.status,
                            "error": refusal.error, "reason": refusal.reason})
    if not refused:
        return _publish(accepted)
    if not isinstance(body, list):
        return reject(refused[0]["status"], refused[0]["error"], refused[0]["reason"])
    published = _publish(accepted) if accepted else Answer(202, {"accepted": 0, "ids": []})
    if published.status != 202:
        return published
    for each in refused:
        reject(each["status"], each["error"], f"event {each['index']}: {each['reason']}")
    first = refused[0]
    return Answer(first["status"], {
        "error": first["error"],
        "reason": f"{len(refused)} of {len(items)} events refused"
                  f"{'; the others are on the bus' if accepted else ''}; event {first['index']}: {first['reason']}",
        **published.body,
        "refused": [{k: v for k, v in each.items() if k != "status"} for each in refused],
    }, published.entries)


def io_event_entries(item: Any) -> list[BusEntry]:
    """The bus entries of one I/O Events CloudEvent, whichever provider, already authenticated by
    its delivery (signature and recipient, or the partner event source). Raises ``inbound.Refusal``
    with the reason for an event no flow of this stack would apply."""
    if not isinstance(item, dict):
        raise inbound.Refusal(400, "invalid_event", "an event must be a JSON object (a CloudEvent)")
    event_type = item.get("type")
    if not isinstance(event_type, str):
        raise inbound.Refusal(400, "invalid_event", "type: a CloudEvent's type must be a string")
    if event_codes.is_code(event_type):
        entries = _sterling_io_entries(item)
    elif event_type in COMMERCE_DETAIL_TYPES:
        entries = [_commerce_entry(item)]
    elif event_type.startswith("com.adobe.commerce."):
        raise inbound.Refusal(400, "unknown_event", f"Commerce event {event_type[:100]!r} is consumed by no flow "
                              f"of this stack (it takes {', '.join(sorted(COMMERCE_DETAIL_TYPES))}): take it "
                              "out of the event registration")
    else:
        raise inbound.Refusal(400, "unknown_event", f"event type {event_type[:100]!r} is neither a Commerce "
                              f"event this stack consumes nor a Sterling event code of the {event_codes.TABLE} table")
    bus = config.settings().event_bus_name
    for entry in entries:
        size = entry_size(entry.to_put_events(bus))
        if size > PUT_EVENTS_MAX_BYTES:
            raise inbound.Refusal(413, "event_too_large", f"the event would be {size} bytes on the bus; "
                                  f"EventBridge takes at most {PUT_EVENTS_MAX_BYTES}")
    return entries


def _validated[M: IoEvent](model: type[M], item: dict[str, Any]) -> M:
    try:
        return model.model_validate(item)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise inbound.Refusal(400, "invalid_event", f"{where}: {first['msg']}") from exc


def _commerce_entry(item: dict[str, Any]) -> BusEntry:
    event = _validated(CommerceEvent, item)
    return BusEntry(source=COMMERCE_SOURCE, detail_type=event.type,
                    detail=redact_card_data(event.model_dump(exclude_none=True)))


def _sterling_io_entries(item: dict[str, Any]) -> list[BusEntry]:
    """IBM's layer publishes the document as Sterling wrote it, with or without its root element."""
    event = _validated(IoEvent, item)
    root = event_codes.root(event.type)
    try:
        detail_type = event_codes.detail_type(event.type, unwrap(event.data, root) if root else event.data)
    except event_codes.CodeRefused as refusal:
        raise inbound.Refusal(400, refusal.error, refusal.reason) from refusal
    documents = sterling_documents(detail_type, event.data)
    if isinstance(documents, str):
        raise inbound.Refusal(400, "invalid_document", f"{event.type}: {documents}")
    received = now_iso()
    return [sterling_entry(detail_type, document, event.id[:128],
                           (document.get("Modifyts"), document.get("time"), event.time, received))
            for document in documents]
