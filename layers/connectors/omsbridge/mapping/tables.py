"""Mapping tables are data: one JSON file per table beside this module, overridable per deployment.

``MAPPING_OVERRIDES`` (an environment variable holding a JSON object ``{"<table>": {...}}``) is
merged over the shipped defaults key by key, so a deployment changes one row without copying the
table. A value missing from a table is never a reason to drop data: callers fall back and count it.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from omsbridge import config


@functools.cache
def _overrides() -> dict[str, Any]:
    raw = config.settings().mapping_overrides
    if not raw:
        return {}
    parsed = json.loads(raw)
    if not isinstance(parsed, dict):
        raise ValueError("MAPPING_OVERRIDES must be a JSON object of tables")
    return parsed


@functools.cache
def table(name: str) -> dict[str, Any]:
    shipped = json.loads(resources.files(__package__).joinpath("tables", f"{name}.json").read_text())
    merged = dict(shipped)
    merged.update(_overrides().get(name, {}))
    return merged


def clear() -> None:
    _overrides.cache_clear()
    table.cache_clear()


config.on_reset(clear)
