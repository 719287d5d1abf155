"""Adobe Commerce REST connector (PaaS and Cloud Service)."""

from __future__ import annotations

import threading

from omsbridge import config
from omsbridge.commerce.client import CommerceClient, error_message
from omsbridge.commerce.search import Filter, search_criteria

__all__ = ["CommerceClient", "Filter", "client", "client_for", "error_message", "search_criteria"]


def _log_retry(attempt: int, reason: str) -> None:
    from omsbridge.observability import logger

    logger.warning("commerce call retried", extra={"attempt": attempt, "reason": reason})


_clients: dict[str, CommerceClient] = {}
_lock = threading.Lock()


def client(store_code: str = "") -> CommerceClient:
    """The container's Commerce client for REST store code ``store_code`` (default:
    ``COMMERCE_STORE_CODE``), built from the settings and the secret on first use."""
    settings = config.settings()
    code = store_code or settings.commerce_store_code
    with _lock:
        made = _clients.get(code)
        if made is None:
            tuned = settings if code == settings.commerce_store_code else settings.model_copy(
                update={"commerce_store_code": code})
            made = _clients[code] = CommerceClient.from_settings(tuned, config.secrets(), on_retry=_log_retry)
        return made


def client_for(enterprise_code: str) -> CommerceClient:
    """The client writing a Sterling document of ``enterprise_code`` back: through the REST store
    code its ``websites`` mapping row names (``omsbridge.websites.store_code_for``)."""
    from omsbridge import websites

    return client(websites.store_code_for(enterprise_code))


def _forget() -> None:
    with _lock:
        for made in _clients.values():
            made.close()
        _clients.clear()


config.on_reset(_forget)
