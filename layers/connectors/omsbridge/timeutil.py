"""Timestamps from Commerce and Sterling in one sortable form."""

from __future__ import annotations

from datetime import UTC, datetime


def parse(value: str) -> datetime:
    """Parse ISO 8601 (``Z`` or offset), Commerce's ``YYYY-MM-DD HH:MM:SS`` (UTC), or Sterling's
    ``YYYY-MM-DDTHH:MM:SS±HH:MM``. A naive time is taken as UTC."""
    text = value.strip().replace(" ", "T", 1)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def sortable(value: str) -> str:
    """UTC, microsecond precision, fixed width: compares as text in time order."""
    return parse(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
