"""Which status a status-history comment may set.

``POST /V1/orders/{id}/comments`` changes the order's status only to one assigned to the order's
current state; Commerce (Magento_Sales' comment plugin) answers 400 for any other, unless the
store allows any status change. The statuses per state are those of a fresh install.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.sim.base import HttpError

STATE_STATUSES: dict[str, tuple[str, ...]] = {
    "new": ("pending",),
    "pending_payment": ("pending_payment",),
    "processing": ("processing", "fraud"),
    "payment_review": ("payment_review", "fraud"),
    "holded": ("holded",),
    "complete": ("complete",),
    "closed": ("closed",),
    "canceled": ("canceled",),
}


def check_comment_status(order: Mapping[str, Any], status: Any,
                         assigned: Mapping[str, tuple[str, ...]] = STATE_STATUSES) -> None:
    if status and str(status) not in assigned.get(str(order["state"]), ()):
        raise HttpError(400, {
            "message": 'Unable to add comment: The status "%1" is not part of the order status history.',
            "parameters": [str(status)],
        })
