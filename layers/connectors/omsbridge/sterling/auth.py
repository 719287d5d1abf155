"""How calls to Sterling authenticate: a login token (STANDARD auth style) or HTTP Basic.

STANDARD: ``POST <base>/invoke/login`` with ``{"LoginID","Password"}`` answers a ``UserToken``
that every later call carries as the query parameters ``_loginid`` and ``_token`` (both are
required). The token's expiry cannot be read, so it is kept until Sterling rejects it with
``YCP0427``; the client then logs in once more and repeats the call once. Tokens are shared by all
clients of the same base URL and user in this container (warm invocations reuse them) and are
forgotten on ``config.reset()``.

BASIC: ``Authorization: Basic`` on every call, no session.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from omsbridge import config
from omsbridge.observability import logger
from omsbridge.sterling.errors import SterlingAuthError

# Posts a login body to ``invoke/login`` and returns Sterling's parsed answer.
Login = Callable[[dict[str, str]], Any]


@dataclass(frozen=True)
class Credentials:
    """What one call carries: query parameters and headers. ``token`` identifies the session."""

    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    token: str | None = None

    def __repr__(self) -> str:
        return "Credentials(<redacted>)"


class SterlingAuth(Protocol):
    def credentials(self, login: Login) -> Credentials:
        """Credentials for the next call (logging in first when there is no session yet)."""
        ...

    def renew(self, rejected: Credentials, login: Login) -> Credentials | None:
        """Fresh credentials after Sterling rejected ``rejected``; ``None`` when nothing can be renewed."""
        ...


class BasicAuth:
    def __init__(self, user: str, password: str) -> None:
        encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
        self._headers = {"Authorization": f"Basic {encoded}"}

    def __repr__(self) -> str:
        return "BasicAuth(<redacted>)"

    def credentials(self, login: Login) -> Credentials:
        return Credentials(headers=dict(self._headers))

    def renew(self, rejected: Credentials, login: Login) -> Credentials | None:
        return None


_tokens: dict[tuple[str, str], str] = {}
_tokens_lock = threading.Lock()


@config.on_new_connections
def forget_tokens() -> None:
    with _tokens_lock:
        _tokens.clear()


class TokenAuth:
    def __init__(self, base_url: str, user: str, password: str) -> None:
        self.user = user
        self._password = password
        self._key = (base_url.rstrip("/"), user)

    def __repr__(self) -> str:
        return f"TokenAuth(user={self.user!r})"

    def credentials(self, login: Login) -> Credentials:
        with _tokens_lock:
            token = _tokens.get(self._key)
        return self._credentials(token if token is not None else self._login(login))

    def renew(self, rejected: Credentials, login: Login) -> Credentials | None:
        with _tokens_lock:
            current = _tokens.get(self._key)
            if current is not None and current != rejected.token:
                # Another call in this container has already logged in again: use its session.
                return self._credentials(current)
            _tokens.pop(self._key, None)
        return self._credentials(self._login(login))

    def _credentials(self, token: str) -> Credentials:
        return Credentials(params={"_loginid": self.user, "_token": token}, token=token)

    def _login(self, login: Login) -> str:
        answer = login({"LoginID": self.user, "Password": self._password})
        token = answer.get("UserToken") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise SterlingAuthError(
                "login: Sterling answered without a UserToken (is servlet.authstyle STANDARD?)", api="login",
            )
        with _tokens_lock:
            _tokens[self._key] = token
        logger.info("Sterling login", extra={"sterling_login_id": self.user})
        return token
