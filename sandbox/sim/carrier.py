"""A simulator of a carrier speaking the generic carrier REST contract (docs/extending.md).

* ``POST /v1/shipments`` books one parcel: the API key in ``X-Api-Key`` (else 401), an
  ``Idempotency-Key`` (else 400); the same key with the same body answers the first answer again
  (``Idempotent-Replayed: true``) and books nothing, with another body 409. A booking without a
  ship-to postcode or country is refused (400). Tracking numbers are ``1ZSIM`` + a counter.
* ``GET /v1/shipments/{id}`` reads a booking back.
* ``tracking_event(...)`` is what the carrier's scan system would POST to ``/callbacks/carrier``,
  and ``signed(body)`` signs it as the carrier does; tests and the demo post it themselves.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
from datetime import UTC, datetime
from typing import Any

from sandbox.sim.base import HttpError, Request, Response, Simulator

STATUSES = ("in_transit", "out_for_delivery", "delivered", "exception")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def sign(body: str, key: str) -> dict[str, str]:
    """The partner's signature header (written here independently of the layer's verifier)."""
    digest = hmac.new(key.encode(), body.encode(), hashlib.sha256).hexdigest()
    return {"content-type": "application/json", "x-signature": f"sha256={digest}"}


class PartnerSim(Simulator):
    """API key check and idempotency keys, as both generic contracts specify them."""

    def __init__(self, api_key: str) -> None:
        super().__init__()
        self.api_key = api_key
        # Idempotency-Key → (fingerprint of the body, the answer given)
        self.replies: dict[str, tuple[str, Response]] = {}

    def authenticate(self, request: Request) -> None:
        given = request.headers.get("x-api-key", "")
        if not given or not secrets.compare_digest(given, self.api_key):
            raise HttpError(401, {"error": "unauthorized", "message": "missing or invalid X-Api-Key"})

    @staticmethod
    def body_of(request: Request) -> dict[str, Any]:
        try:
            body = request.json()
        except ValueError:
            raise HttpError(400, {"error": "invalid_request", "message": "body is not JSON"}) from None
        if not isinstance(body, dict):
            raise HttpError(400, {"error": "invalid_request", "message": "body must be a JSON object"})
        return body

    def once(self, request: Request, create: Any) -> Response:
        """Run ``create(body)`` once per Idempotency-Key; a repeat gets the first answer."""
        key = request.headers.get("idempotency-key", "").strip()
        if not key:
            raise HttpError(400, {"error": "idempotency_key_required", "message": "send an Idempotency-Key header"})
        body = self.body_of(request)
        fingerprint = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        stored = self.replies.get(key)
        if stored is not None:
            if stored[0] != fingerprint:
                raise HttpError(409, {"error": "idempotency_conflict",
                                      "message": "this Idempotency-Key was used with another body"})
            first = stored[1]
            return Response(first.status, first.body, {**first.headers, "Idempotent-Replayed": "true"})
        response: Response = create(body)
        self.replies[key] = (fingerprint, response)
        return response

    def signed(self, body: dict[str, Any]) -> tuple[str, dict[str, str]]:
        """``body`` as the partner POSTs it: the raw JSON and its headers, signature included."""
        raw = json.dumps(body)
        return raw, sign(raw, self.api_key)


class CarrierSim(PartnerSim):
    system = "carrier"

    def __init__(self, api_key: str) -> None:
        super().__init__(api_key)
        self.bookings: dict[str, dict[str, Any]] = {}
        self.tracking_events: list[dict[str, Any]] = []
        self._numbers = itertools.count(1)
        self._events = itertools.count(1)
        self.route("POST", "/v1/shipments", lambda request: self.once(request, self._book))
        self.route("GET", "/v1/shipments/{shipment_id}", self._get)

    def _book(self, body: dict[str, Any]) -> Response:
        given = body.get("ship_to")
        ship_to = given if isinstance(given, dict) else {}
        for field in ("reference", "ship_to.postal_code", "ship_to.country", "package.container_no"):
            owner, _, name = field.rpartition(".")
            holder = body.get(owner) if owner else body
            if not isinstance(holder, dict) or not str(holder.get(name) or "").strip():
                raise HttpError(400, {"error": "invalid_request", "message": f"{field} is required", "field": field})
        chosen = body.get("service")
        service = chosen if isinstance(chosen, dict) else {}
        number = next(self._numbers)
        booking = {
            "shipment_id": f"CS-{number:06d}",
            "reference": body["reference"],
            "tracking_number": f"1ZSIM{number:010d}",
            "scac": str(service.get("scac") or "SIMC"),
            "service_code": str(service.get("service_code") or "STANDARD"),
            "label": {"reference": f"LBL-{number:06d}", "format": "PDF", "url": f"/v1/labels/LBL-{number:06d}"},
            "ship_to": ship_to,
            "package": body["package"],
            "status": "booked",
        }
        self.bookings[booking["shipment_id"]] = booking
        return Response(201, {name: booking[name] for name in
                              ("shipment_id", "tracking_number", "scac", "service_code", "label")})

    def _get(self, request: Request) -> Any:
        booking = self.bookings.get(request.params["shipment_id"])
        if booking is None:
            raise HttpError(404, {"error": "not_found", "message": "no such shipment"})
        return booking

    def booking(self, tracking_number: str) -> dict[str, Any]:
        found = next((b for b in self.bookings.values() if b["tracking_number"] == tracking_number), None)
        if found is None:
            raise ValueError(f"the carrier booked no parcel {tracking_number}")
        return found

    def tracking_event(self, tracking_number: str, status: str, *, description: str = "",
                       occurred_at: str | None = None) -> dict[str, Any]:
        """The callback the carrier sends for a scan of one of its parcels."""
        if status not in STATUSES:
            raise ValueError(f"status is one of {STATUSES}")
        booking = self.booking(tracking_number)
        booking["status"] = status
        event = {"event_id": f"TRK-{next(self._events):06d}", "reference": booking["reference"],
                 "tracking_number": tracking_number, "status": status, "occurred_at": occurred_at or now(),
                 "description": description}
        self.tracking_events.append(event)
        return event
