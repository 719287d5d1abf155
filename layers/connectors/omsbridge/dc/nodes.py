"""Which Sterling ship nodes are DCs run by the WMS.

The ``dc_nodes`` mapping table decides first: ``nodes`` names nodes explicitly
(``{"tna_dc_1": true, "store_9": false}``). Any other node is a DC when Sterling's
``getShipNodeList`` gives it a ``NodeType`` listed in ``dc_node_types`` (``["DC"]`` by default).
Sterling's answer is kept for the container's life, for ``CACHE_SECONDS`` at most; a node Sterling
did not list last time is asked about again at once (it may be new).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from omsbridge import config
from omsbridge.mapping.tables import table
from omsbridge.observability import Outcome, count, logger

if TYPE_CHECKING:
    from omsbridge.sterling import SterlingClient

CACHE_SECONDS = 300.0

_types: dict[str, str] = {}
_loaded_at: list[float] = []
_lock = threading.Lock()


def _sterling() -> SterlingClient:
    from omsbridge import sterling

    return sterling.client()


def node_type(node: str) -> str | None:
    """Sterling's NodeType of ``node`` (None when Sterling has no such node)."""
    with _lock:
        fresh = bool(_loaded_at) and time.monotonic() - _loaded_at[0] < CACHE_SECONDS
        if not fresh or node not in _types:
            listed = _sterling().get_ship_node_list()
            _types.clear()
            _types.update({entry.ship_node.strip(): entry.node_type.strip() for entry in listed})
            _loaded_at[:] = [time.monotonic()]
        return _types.get(node)


def is_dc(node: str) -> bool:
    explicit = table("dc_nodes").get("nodes", {}).get(node)
    if isinstance(explicit, bool):
        return explicit
    kind = node_type(node)
    if kind is None:
        # Not sent to the WMS, but not silent either: the table or Sterling's node list needs a look.
        count(Outcome.UNMAPPED)
        logger.warning("ship node unknown to Sterling's node list: not treated as a DC", extra={"ship_node": node})
        return False
    return kind in table("dc_nodes").get("dc_node_types", [])


@config.on_reset
def forget() -> None:
    with _lock:
        _types.clear()
        _loaded_at.clear()
