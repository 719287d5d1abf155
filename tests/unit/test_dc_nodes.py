"""Which ship nodes are DCs: the dc_nodes table first, then Sterling's node types, asked once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from omsbridge import config
from omsbridge.dc import nodes
from omsbridge.sterling.models import Node


class FakeSterling:
    def __init__(self, rows: list[dict[str, str]]) -> None:
        self.rows = rows
        self.asked = 0

    def get_ship_node_list(self, **_: Any) -> list[Node]:
        self.asked += 1
        return [Node.model_validate(row) for row in self.rows]


@pytest.fixture
def sterling(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSterling]:
    fake = FakeSterling([{"ShipNode": "DC_EAST", "NodeType": "DC"}, {"ShipNode": "store_1", "NodeType": "Store"},
                         {"ShipNode": "3PL_1", "NodeType": "3PL"}])
    monkeypatch.setattr(nodes, "_sterling", lambda: fake)
    monkeypatch.delenv("MAPPING_OVERRIDES", raising=False)
    config.reset()
    yield fake
    config.reset()


def test_node_types_come_from_sterling_once_per_container(sterling: FakeSterling) -> None:
    assert [nodes.is_dc(node) for node in ("DC_EAST", "store_1", "3PL_1", "DC_EAST")] == [True, False, False, True]
    assert sterling.asked == 1
    config.reset()  # a new container asks again
    assert nodes.is_dc("DC_EAST")
    assert sterling.asked == 2


def test_a_node_sterling_did_not_list_is_asked_about_again_and_is_no_dc(sterling: FakeSterling) -> None:
    assert not nodes.is_dc("DC_NEW")
    sterling.rows.append({"ShipNode": "DC_NEW", "NodeType": "DC"})
    assert nodes.is_dc("DC_NEW")
    assert sterling.asked == 2


def test_the_table_decides_before_sterling(sterling: FakeSterling, monkeypatch: pytest.MonkeyPatch) -> None:
    overrides = {"dc_nodes": {"dc_node_types": ["DC", "3PL"], "nodes": {"store_1": True, "DC_EAST": False}}}
    monkeypatch.setenv("MAPPING_OVERRIDES", json.dumps(overrides))
    config.reset()
    assert [nodes.is_dc(node) for node in ("DC_EAST", "store_1", "3PL_1")] == [False, True, True]
    assert sterling.asked == 1
