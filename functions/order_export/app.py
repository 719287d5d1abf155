"""OrderExportFunction: Commerce order events → Sterling createOrder, then Commerce-side cancel /
hold / unhold → Sterling changeOrder. The logic lives in ``omsbridge.flows.order_export``."""

from __future__ import annotations

from omsbridge.flows import order_export
from omsbridge.runtime import eventbridge_flow

handler = eventbridge_flow("order_export")(order_export.handle)
