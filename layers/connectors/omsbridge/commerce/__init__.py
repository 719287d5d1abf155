"""Adobe Commerce REST connector (PaaS and Cloud Service)."""

from __future__ import annotations

import functools

from omsbridge import config
from omsbridge.commerce.client import CommerceClient, error_message
from omsbridge.commerce.search import Filter, search_criteria

__all__ = ["CommerceClient", "Filter", "client", "error_message", "search_criteria"]


def _log_retry(attempt: int, reason: str) -> None:
    from omsbridge.observability import logger

    logger.warning("commerce call retried", extra={"attempt": attempt, "reason": reason})


@functools.cache
def client() -> CommerceClient:
    """The container's Commerce client, built from the settings and the secret on first use."""
    return CommerceClient.from_settings(config.settings(), config.secrets(), on_retry=_log_retry)


def _forget() -> None:
    if client.cache_info().currsize:
        client().close()
    client.cache_clear()


config.on_reset(_forget)
