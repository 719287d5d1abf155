"""A simulator of a WMS speaking the generic WMS REST contract (docs/extending.md).

* ``POST /v1/orders`` takes one Sterling release: the API key in ``X-Api-Key`` (else 401), an
  ``Idempotency-Key`` (else 400; a repeat answers the first answer, 409 with another body). A
  release it already holds under another key is refused (409 ``order_exists``), one without lines
  or ship-to country too (400).
* ``GET /v1/orders/{release_key}`` reads an order back.
* The warehouse's work is driven by the test or demo: ``confirm(...)`` (shipped, or short-pick when
  less ships) and ``cancel(...)`` return the confirmation the WMS would POST to ``/callbacks/dc``;
  ``signed(body)`` signs it as the WMS does.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from sandbox.sim.base import HttpError, Request, Response
from sandbox.sim.carrier import PartnerSim, now

Number = int | float


class DcSim(PartnerSim):
    system = "dc"

    def __init__(self, api_key: str) -> None:
        super().__init__(api_key)
        self.orders: dict[str, dict[str, Any]] = {}
        self.confirmations: list[dict[str, Any]] = []
        self._orders = itertools.count(1)
        self._shipments = itertools.count(1)
        self._events = itertools.count(1)
        self.route("POST", "/v1/orders", lambda request: self.once(request, self._accept))
        self.route("GET", "/v1/orders/{release_key}", self._get)

    def _accept(self, body: dict[str, Any]) -> Response:
        release_key = str(body.get("release_key") or "").strip()
        lines = body.get("lines")
        given = body.get("ship_to")
        ship_to = given if isinstance(given, dict) else {}
        if not release_key:
            raise HttpError(400, {"error": "invalid_request", "message": "release_key is required"})
        if not isinstance(lines, list) or not lines:
            raise HttpError(400, {"error": "invalid_request", "message": "lines are required"})
        if not str(ship_to.get("country") or "").strip():
            raise HttpError(400, {"error": "invalid_request", "message": "ship_to.country is required"})
        if release_key in self.orders:
            raise HttpError(409, {"error": "order_exists", "message": f"release {release_key} is already here"})
        order = {**body, "order_id": f"WMS-{next(self._orders):06d}", "status": "accepted",
                 "done": {str(line.get("line_ref")): 0 for line in lines}}
        self.orders[release_key] = order
        return Response(201, {"order_id": order["order_id"], "status": "accepted"})

    def _get(self, request: Request) -> Any:
        order = self.orders.get(request.params["release_key"])
        if order is None:
            raise HttpError(404, {"error": "not_found", "message": "no such order"})
        return order

    # -- the warehouse's work (driven by tests and the demo) ------------------------------------------

    def order(self, release_key: str) -> dict[str, Any]:
        found = self.orders.get(release_key)
        if found is None:
            raise ValueError(f"the WMS holds no release {release_key}")
        return found

    def _event(self, kind: str, order: dict[str, Any], **fields: Any) -> dict[str, Any]:
        event = {"event_id": f"DC-EVT-{next(self._events):06d}", "type": kind, "release_key": order["release_key"],
                 "order_no": order["order_no"], "ship_node": order["ship_node"], "occurred_at": now(), **fields}
        self.confirmations.append(event)
        return event

    def confirm(self, release_key: str, *, shipped: Mapping[str, Number] | None = None,
                containers: Sequence[Mapping[str, Any]] | None = None,
                shipment_no: str | None = None) -> dict[str, Any]:
        """The WMS ships what is left of the release: ``shipped`` per SKU (default: everything).

        ``containers``: ``{"container_no", "tracking_number", "scac", "items": [{"sku", "quantity"}]}``
        each (default: one box). Less than left → a ``short_pick`` confirmation, else ``shipped``.
        """
        with self.lock:
            return self._confirm(release_key, shipped, containers, shipment_no)

    def _confirm(self, release_key: str, shipped: Mapping[str, Number] | None,
                 containers: Sequence[Mapping[str, Any]] | None, shipment_no: str | None) -> dict[str, Any]:
        order = self.order(release_key)
        lines, short = [], False
        for line in order["lines"]:
            ref = str(line["line_ref"])
            left = line["quantity"] - order["done"][ref]
            if left <= 0:
                continue
            sent = left if shipped is None else shipped.get(line["sku"], 0)
            if sent > left:
                raise ValueError(f"{line['sku']}: cannot ship {sent}, {left} left")
            short = short or sent < left
            order["done"][ref] += left
            lines.append({"line_ref": ref, "prime_line_no": line["prime_line_no"],
                          "sub_line_no": line["sub_line_no"], "sku": line["sku"], "quantity": left, "shipped": sent})
        if not lines:
            raise ValueError(f"release {release_key} has nothing left to ship")
        number = shipment_no or f"WMS-SH-{next(self._shipments):06d}"
        boxes = [dict(box) for box in containers] if containers else [{"container_no": f"{number}-1"}]
        order["status"] = "shipped"
        return self._event("short_pick" if short else "shipped", order, shipment_no=number, lines=lines,
                           containers=boxes)

    def cancel(self, release_key: str, *, cancelled: Mapping[str, Number] | None = None,
               reason: str = "Out of stock at the DC") -> dict[str, Any]:
        """The WMS cancels ``cancelled`` per SKU of the release (default: everything left)."""
        with self.lock:
            return self._cancel(release_key, cancelled, reason)

    def _cancel(self, release_key: str, cancelled: Mapping[str, Number] | None, reason: str) -> dict[str, Any]:
        order = self.order(release_key)
        lines = []
        for line in order["lines"]:
            ref = str(line["line_ref"])
            left = line["quantity"] - order["done"][ref]
            amount = left if cancelled is None else cancelled.get(line["sku"], 0)
            if amount <= 0:
                continue
            if amount > left:
                raise ValueError(f"{line['sku']}: cannot cancel {amount}, {left} left")
            order["done"][ref] += amount
            lines.append({"line_ref": ref, "prime_line_no": line["prime_line_no"],
                          "sub_line_no": line["sub_line_no"], "sku": line["sku"], "cancelled": amount})
        if not lines:
            raise ValueError(f"release {release_key} has nothing left to cancel")
        order["status"] = "cancelled"
        return self._event("cancelled", order, reason=reason, lines=lines)
