"""A simulator of Sterling Intelligent Promising / Inventory Visibility availability (api-contracts A2.13).

It serves ``/inventory/{tenantId}/v1/oauth2/token`` (client credentials in HTTP Basic → a bearer
token valid 12 h) and ``/v1/availability/network`` and ``/v1/availability/node`` over the stock of
a Sterling simulator's ``Inventory``, so OMS and IV answer from the same supply. JSON is camelCase
with numeric quantities. Distribution groups map to nodes (``groups``); ``DEFAULT`` is every node.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

from sandbox.sim.base import HttpError, JsonBody, Request, Simulator
from sandbox.sim.sterling.inventory import Inventory

PREFIX = "/inventory/{tenant}/v1"
TOKEN_SECONDS = 43200


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


class IvSim(Simulator):
    system = "iv"

    def __init__(self, inventory: Inventory, client_id: str, client_secret: str, *,
                 groups: dict[str, list[str]] | None = None) -> None:
        super().__init__()
        self.inventory = inventory
        self.client_id = client_id
        self.client_secret = client_secret
        self.groups = groups or {}
        self.tokens: set[str] = set()
        self.route("POST", f"{PREFIX}/oauth2/token", self._token)
        self.route("POST", f"{PREFIX}/availability/network", self._network)
        self.route("POST", f"{PREFIX}/availability/node", self._node)

    def authenticate(self, request: Request) -> None:
        if request.path.endswith("/oauth2/token"):
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token not in self.tokens:
            raise HttpError(401, {"error": "invalid_token", "error_description": "The access token is invalid"})

    def _token(self, request: Request) -> JsonBody:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            client_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            client_id, secret = "", ""
        form = parse_qs(request.body.decode(errors="replace"))
        if scheme.lower() != "basic" or (client_id, secret) != (self.client_id, self.client_secret):
            raise HttpError(401, {"error": "invalid_client", "error_description": "Client authentication failed"})
        if form.get("grant_type") != ["client_credentials"]:
            raise HttpError(400, {"error": "unsupported_grant_type", "error_description": "client_credentials only"})
        token = uuid.uuid4().hex
        self.tokens.add(token)
        return {"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_SECONDS}

    def _lines(self, request: Request) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        body = request.json() or {}
        lines = body.get("lines") if isinstance(body, dict) else None
        if not isinstance(lines, list) or not lines:
            raise HttpError(400, {"error": "invalid_request", "error_description": "lines is required"})
        return body, lines

    def _availability(self, item: str, node: str) -> dict[str, Any]:
        onhand = _number(self.inventory.available(item, node))
        return {"totalAvailableQuantity": onhand, "onhandAvailableQuantity": onhand, "futureAvailableQuantity": 0}

    def _network(self, request: Request) -> JsonBody:
        body, lines = self._lines(request)
        group = str(body.get("distributionGroupId") or "")
        if group != "DEFAULT" and group not in self.groups:
            raise HttpError(400, {"error": "invalid_request",
                                  "error_description": f"distribution group {group!r} does not exist"})
        nodes = self.groups.get(group, sorted(self.inventory.nodes))
        answer = []
        for line in lines:
            item = str(line.get("itemId") or "")
            onhand = _number(sum((self.inventory.available(item, node) for node in nodes), Decimal(0)))
            answer.append({"lineId": str(line.get("lineId")), "networkAvailabilities": [{
                "distributionGroupId": group, "totalAvailableQuantity": onhand,
                "onhandAvailableQuantity": onhand, "futureAvailableQuantity": 0}]})
        return {"lines": answer}

    def _node(self, request: Request) -> JsonBody:
        _, lines = self._lines(request)
        return {"lines": [
            {"lineId": str(line.get("lineId")), "shipNodeAvailability": [
                {"shipNode": node, **self._availability(str(line.get("itemId") or ""), node)}
                for node in line.get("shipNodes") or []]}
            for line in lines
        ]}
