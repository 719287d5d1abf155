"""The three ways oms-bridge authenticates to Commerce, as ``httpx.Auth``.

* ``OAuth1Auth`` — an integration's four OAuth 1.0a values, HMAC-SHA256. Every request is signed
  afresh (new nonce and timestamp, so a retried request is not a replay); the signature covers
  the method, URL and query parameters such as ``searchCriteria``, not the JSON body.
* ``BearerAuth`` — an integration access token used as a bearer token (Commerce must allow it).
* ``ImsAuth`` — Adobe IMS server-to-server client credentials (Commerce as a Cloud Service). The
  token is fetched once and kept until shortly before it expires; a 401 drops it and the request
  is sent once more with a new one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import httpx
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, Client

from omsbridge.errors import PermanentError
from omsbridge.http import RetryPolicy, send

IMS_SCOPE = (
    "openid,AdobeID,email,profile,additional_info.roles,additional_info.projectedProductContext,"
    "commerce.accs"
)


class OAuth1Auth(httpx.Auth):
    def __init__(self, consumer_key: str, consumer_secret: str, access_token: str,
                 access_token_secret: str) -> None:
        self._signer = Client(
            consumer_key, client_secret=consumer_secret, resource_owner_key=access_token,
            resource_owner_secret=access_token_secret, signature_method=SIGNATURE_HMAC_SHA256,
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        # The body is left out on purpose: OAuth 1.0a signs only form-encoded bodies.
        _, headers, _ = self._signer.sign(str(request.url), http_method=request.method)
        request.headers["Authorization"] = headers["Authorization"]
        yield request


class BearerAuth(httpx.Auth):
    def __init__(self, token: str) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


@dataclass(frozen=True)
class _Token:
    value: str
    refresh_at: float


class ImsAuth(httpx.Auth):
    # Refresh this long before expiry (at most a tenth of the lifetime for short-lived tokens),
    # so a token never expires between the check and the call.
    REFRESH_MARGIN = 300.0

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        org_id: str,
        *,
        http: httpx.Client,
        policy: RetryPolicy,
        scope: str = IMS_SCOPE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._org_id = org_id
        self._http = http
        self._policy = policy
        self._scope = scope
        self._clock = clock
        self._token: _Token | None = None
        self._lock = threading.Lock()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        self._apply(request, self.token())
        response = yield request
        if response.status_code == 401:
            self.invalidate()
            self._apply(request, self.token())
            yield request

    def _apply(self, request: httpx.Request, token: str) -> None:
        request.headers["Authorization"] = f"Bearer {token}"
        request.headers["x-api-key"] = self._client_id
        if self._org_id:
            request.headers["x-gw-ims-org-id"] = self._org_id

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def token(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._token.refresh_at:
                self._token = self._fetch()
            return self._token.value

    def _fetch(self) -> _Token:
        request = self._http.build_request("POST", self._token_url, data={
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "scope": self._scope,
        })
        try:
            # Asking for a new token has no side effect: safe to retry.
            response = send(self._http, request, system="adobe-ims", idempotent=True, policy=self._policy)
        except PermanentError as exc:
            raise PermanentError(
                f"adobe-ims refused the client credentials: {_ims_reason(exc.body)}",
                system="adobe-ims", status=exc.status, body=exc.body, code="unauthorized",
            ) from exc
        answer = response.json()
        value = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(value, str) or not value:
            raise PermanentError("adobe-ims answered without an access_token", system="adobe-ims")
        lifetime = float(answer.get("expires_in") or 0)
        margin = min(self.REFRESH_MARGIN, lifetime / 10)
        return _Token(value, self._clock() + lifetime - margin)


def _ims_reason(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("error_description") or body.get("error") or body)
    return str(body)
