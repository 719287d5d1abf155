"""The transport of the generic partner contract (carrier and WMS, docs/extending.md): JSON over
HTTPS, the partner's API key in ``X-Api-Key``, an ``Idempotency-Key`` on every POST.

Because the partner answers a repeated key with its first answer and does nothing twice, a POST
here is safe to resend, so ``omsbridge.http.send`` may retry it after a timeout or a 5xx.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx

from omsbridge import __version__
from omsbridge.config import Settings
from omsbridge.errors import IntegrationError, PermanentError
from omsbridge.http import RetryPolicy, new_client, send, timeouts

API_KEY_HEADER = "X-Api-Key"
IDEMPOTENCY_HEADER = "Idempotency-Key"


def number(value: Decimal) -> int | float:
    """A JSON number: whole quantities as integers (Sterling's ``"2.00"`` → ``2``)."""
    return int(value) if value == value.to_integral_value() else float(value)


def partner_message(body: Any) -> str:
    """The reason a partner gave in its error answer ``{"error", "message"}``, if it gave one."""
    if isinstance(body, dict):
        parts = [str(body[name]) for name in ("error", "message") if body.get(name)]
        if parts:
            return ": ".join(parts)[:300]
    return ""


class PartnerClient:
    def __init__(self, base_url: str, api_key: str, *, system: str, policy: RetryPolicy | None = None,
                 timeout: httpx.Timeout | None = None, transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.system = system
        self.policy = policy or RetryPolicy()
        self._http = new_client(
            timeout=timeout or timeouts(), transport=transport,
            headers={"Accept": "application/json", API_KEY_HEADER: api_key,
                     "User-Agent": f"oms-bridge/{__version__}"},
        )

    @classmethod
    def from_settings(cls, settings: Settings, base_url: str, api_key: str, *, system: str) -> PartnerClient:
        if not base_url:
            raise PermanentError(f"the {system} base URL is not set", system=system, code="not_configured")
        if not api_key:
            raise PermanentError(f"the secret has no {system} API key", system=system, code="not_configured")
        policy = RetryPolicy(attempts=settings.http_retry_attempts, base_delay=settings.http_retry_base_delay,
                             max_delay=settings.http_retry_max_delay)
        return cls(base_url, api_key, system=system, policy=policy,
                   timeout=timeouts(settings.http_connect_timeout, settings.http_read_timeout))

    def close(self) -> None:
        self._http.close()

    def post(self, path: str, body: Any, *, idempotency_key: str) -> Any:
        request = self._http.build_request(
            "POST", self.base_url + path, content=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", IDEMPOTENCY_HEADER: idempotency_key},
        )
        try:
            response = send(self._http, request, system=self.system, idempotent=True, policy=self.policy)
        except IntegrationError as exc:
            said = partner_message(exc.body)
            raise type(exc)(f"{exc.reason}{f' ({said})' if said else ''} to POST {path}", system=self.system,
                            status=exc.status, body=exc.body, code=exc.code) from exc
        try:
            return response.json()
        except ValueError as exc:
            raise PermanentError(f"{self.system} answered POST {path} with a body that is not JSON",
                                 system=self.system, status=response.status_code) from exc
