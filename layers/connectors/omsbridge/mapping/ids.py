"""Stock locations across systems: Sterling ``ShipNode`` ↔ Commerce MSI ``source_code``.

The tables hold the exceptions; a node absent from them keeps its name (identity by default).
"""

from __future__ import annotations

from omsbridge.mapping.tables import table


def source_for_node(node: str) -> str:
    return str(table("node_to_source").get(node, node))


def node_for_source(source_code: str) -> str:
    return str(table("source_to_node").get(source_code, source_code))
