"""Sterling's error envelope, parsed into errors a flow can act on.

Sterling answers business errors and authentication errors alike with HTTP 400 and
``{"errors":[{"ErrorCode","ErrorDescription","MoreInfo",...,"httpcode"}]}`` (some releases use
``{"Errors":{"Error":...}}``). The error code, not the HTTP status, says what happened.
"""

from __future__ import annotations

from typing import Any

from omsbridge.errors import PermanentError
from omsbridge.sterling.models import as_list

SYSTEM = "sterling"

# Codes seen on real tenants.
NOT_AUTHENTICATED = "YCP0427"
NOT_MODIFIABLE = "YFS10137"
INVALID_ORDER = "YFS10003"
RECORD_EXISTS = "YFC0001"

_MORE_INFO_FIELDS = 6


class SterlingError(PermanentError):
    """A call Sterling refused. ``code`` is Sterling's ErrorCode (``None`` when it sent none)."""

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        body: Any = None,
        code: str | None = None,
        description: str = "",
        more_info: Any = None,
        api: str = "",
    ) -> None:
        super().__init__(reason, system=SYSTEM, status=status, body=body, code=code)
        self.description = description
        self.more_info = more_info
        self.api = api

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "api": self.api}


class SterlingAuthError(SterlingError):
    """Sterling does not accept our credentials: a wrong user or password, a session it keeps
    rejecting after a fresh login, or a 401/403 from Sterling or its gateway."""


def error_entries(body: Any) -> list[dict[str, Any]]:
    """The error objects in an error answer, in either envelope form."""
    if not isinstance(body, dict):
        return []
    if "errors" in body:
        entries = as_list(body["errors"])
    elif isinstance(body.get("Errors"), dict):
        entries = as_list(body["Errors"].get("Error"))
    else:
        entries = []
    return [entry for entry in entries if isinstance(entry, dict)]


def from_response(status: int | None, body: Any, api: str) -> SterlingError:
    """Build the error for a refused call from Sterling's answer."""
    entries = error_entries(body)
    first = entries[0] if entries else {}
    code = str(first.get("ErrorCode") or "") or None
    description = str(first.get("ErrorDescription") or "")
    more_info = first.get("MoreInfo")
    if code is None:
        reason = f"{api}: Sterling answered HTTP {status}"
    else:
        reason = f"{api}: Sterling {code} {description or 'error'}"
        detail = _summarise(more_info)
        if detail:
            reason += f" ({detail})"
        if len(entries) > 1:
            reason += f"; and {len(entries) - 1} more error(s)"
    auth_failure = status in (401, 403) or code == NOT_AUTHENTICATED
    error_cls = SterlingAuthError if auth_failure else SterlingError
    return error_cls(
        reason, status=status, body=body, code=code, description=description, more_info=more_info, api=api,
    )


def _summarise(more_info: Any) -> str:
    if isinstance(more_info, dict):
        pairs = [
            f"{key}={value}" for key, value in more_info.items()
            if isinstance(value, str | int | float) and str(value).strip()
        ]
        return ", ".join(pairs[:_MORE_INFO_FIELDS])
    if isinstance(more_info, str):
        return more_info.strip()[:200]
    return ""
