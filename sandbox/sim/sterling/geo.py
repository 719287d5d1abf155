"""Postcode → coordinates for the demo store locator, and great-circle distances.

``postcodes.json`` holds a handful of postcodes per country; add the ones a demo needs. Nodes can
also carry their own ``Latitude``/``Longitude``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

_POSTCODES: dict[str, dict[str, list[float]]] = json.loads(
    Path(__file__).with_name("postcodes.json").read_text(encoding="utf-8"))

_EARTH_RADIUS = {"MILE": 3958.8, "KM": 6371.0}


def normalise(country: str, zip_code: str) -> str:
    code = zip_code.replace(" ", "").upper()
    return code[:5] if country.upper() == "US" else code


def coordinates(country: str, zip_code: str) -> tuple[float, float] | None:
    found = _POSTCODES.get(country.upper(), {}).get(normalise(country, zip_code))
    return (found[0], found[1]) if found else None


def distance(a: tuple[float, float], b: tuple[float, float], uom: str = "MILE") -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * _EARTH_RADIUS.get(uom.upper(), _EARTH_RADIUS["MILE"]) * math.asin(math.sqrt(h))
