"""Error classes that decide what happens to a failed call: retry it, or park it with a reason."""

from __future__ import annotations

from typing import Any


class IntegrationError(Exception):
    """A failed call to an outside system, with what it answered kept for diagnosis."""

    def __init__(
        self,
        reason: str,
        *,
        system: str = "",
        status: int | None = None,
        body: Any = None,
        code: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.system = system
        self.status = status
        self.body = body
        self.code = code

    def describe(self) -> dict[str, Any]:
        """A JSON-safe summary for a DLQ record or a log line (never carries request secrets)."""
        return {
            "error": type(self).__name__,
            "reason": self.reason,
            "system": self.system,
            "status": self.status,
            "code": self.code,
        }


class RetryableError(IntegrationError):
    """Transient: 408, 429, 5xx, timeouts, dropped connections. Safe to try again later."""


class PermanentError(IntegrationError):
    """Will fail the same way every time until someone fixes data or configuration."""


class ValidationError(PermanentError):
    """Our own input (an event, a webhook body) is not what the flow accepts."""
