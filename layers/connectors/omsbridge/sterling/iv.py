"""IBM Sterling Intelligent Promising / Inventory Visibility (IV) REST: token and availability.

The base URL names the tenant: ``https://api.watsoncommerce.ibm.com/inventory/<tenantId>``
(``IV_BASE_URL``). A bearer token comes from ``POST <base>/v1/oauth2/token`` with the client
credentials (the secret's ``iv_client_id`` / ``iv_client_secret``, HTTP Basic). IV issues tokens
for 12 hours and allows 1000 per hour, so one is kept per container and renewed 30 minutes before it
expires, or once when IV answers 401. Calls go through ``omsbridge.http.send`` like every other.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from omsbridge.errors import PermanentError
from omsbridge.http import RetryPolicy, new_client, send, timeouts

SYSTEM = "iv"
RENEW_BEFORE_SECONDS = 1800


class IvClient:
    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        policy: RetryPolicy | None = None,
        timeout: httpx.Timeout | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not base_url:
            raise PermanentError("IV_BASE_URL is not set", system=SYSTEM, code="config")
        self.base_url = base_url.rstrip("/")
        self.policy = policy or RetryPolicy()
        self._basic = "Basic " + base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        self._clock = clock
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()
        self._http = new_client(timeout=timeout or timeouts(), headers={"Accept": "application/json"})

    def __repr__(self) -> str:
        return f"IvClient({self.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def network_availability(self, body: Mapping[str, Any]) -> Any:
        """``POST /v1/availability/network``: availability per line and distribution group."""
        return self._post("/v1/availability/network", body)

    def node_availability(self, body: Mapping[str, Any]) -> Any:
        """``POST /v1/availability/node``: availability per line and ship node."""
        return self._post("/v1/availability/node", body)

    def _post(self, path: str, body: Mapping[str, Any]) -> Any:
        token = self._bearer()
        try:
            return self._send(path, body, token)
        except PermanentError as exc:
            if exc.status != 401:
                raise
        # IV revoked or expired the token early: one fresh token, one more try.
        return self._send(path, body, self._bearer(rejected=token))

    def _send(self, path: str, body: Mapping[str, Any], token: str) -> Any:
        request = self._http.build_request(
            "POST", self.base_url + path, content=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        # Availability reads change nothing, so they may be retried.
        response = send(self._http, request, system=SYSTEM, idempotent=True, policy=self.policy)
        return response.json() if response.content else {}

    def _bearer(self, rejected: str | None = None) -> str:
        with self._lock:
            if self._token is not None and self._token[0] != rejected and self._token[1] > self._clock():
                return self._token[0]
            request = self._http.build_request(
                "POST", f"{self.base_url}/v1/oauth2/token", data={"grant_type": "client_credentials"},
                headers={"Authorization": self._basic},
            )
            answer = send(self._http, request, system=SYSTEM, idempotent=True, policy=self.policy).json()
            token = answer.get("access_token") if isinstance(answer, dict) else None
            if not isinstance(token, str) or not token:
                raise PermanentError("IV token answer has no access_token", system=SYSTEM, code="auth")
            lifetime = float(answer.get("expires_in") or 0)
            self._token = (token, self._clock() + max(lifetime - RENEW_BEFORE_SECONDS, lifetime / 2))
            return token
