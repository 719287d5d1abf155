"""Websites, store views and the country directory of the Commerce simulator.

* ``GET /V1/store/websites`` and ``GET /V1/store/storeViews``: every website and store view, the admin
  ones (id 0) included, as ``StoreRepository::getList`` / ``WebsiteRepository::getList`` answer. A new
  install has the ``base`` website and the ``default`` store view; the seed's ``websites`` and
  ``store_views`` add more (``{"id", "code", "name", "website_id"}``; ``store_group_id`` defaults to
  the website's id).
* A PaaS path names its store view: ``/rest/<code>/V1/...``. Commerce's
  ``Magento\\Webapi\\Controller\\PathProcessor`` strips a code only when it is a known store (or
  ``all``); an unknown one stays in the path, which then matches no route: 404 "Request does not
  match any route."
* ``GET /V1/directory/countries/{countryId}``: a country with its ``available_regions`` from
  ``regions.json`` (Magento's own ``directory_country_region`` data; the file names its source);
  an unknown country is ``NoSuchEntityException`` "Requested country is not available." (404).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from sandbox.sim.base import HttpError, JsonBody, Request

REGIONS = Path(__file__).with_name("regions.json")
ADMIN = {"website": {"id": 0, "code": "admin", "name": "Admin", "default_group_id": 0},
         "store": {"id": 0, "code": "admin", "name": "Admin", "website_id": 0, "store_group_id": 0, "is_active": 1}}
INSTALLED = {"website": {"id": 1, "code": "base", "name": "Main Website", "default_group_id": 1},
             "store": {"id": 1, "code": "default", "name": "Default Store View", "website_id": 1,
                       "store_group_id": 1, "is_active": 1}}
ALL_STORES = "all"
_STORE_IN_PATH = re.compile(r"^/rest/(?P<code>[^/]+)/")


class Stores:
    def __init__(self) -> None:
        self.websites: dict[int, dict[str, Any]] = {0: dict(ADMIN["website"]), 1: dict(INSTALLED["website"])}
        self.store_views: dict[int, dict[str, Any]] = {0: dict(ADMIN["store"]), 1: dict(INSTALLED["store"])}
        self.countries: dict[str, dict[str, Any]] = json.loads(REGIONS.read_text())["countries"]

    def load_seed(self, seed: dict[str, Any]) -> None:
        for website in seed.get("websites", []):
            row = {"default_group_id": int(website["id"]), **website, "id": int(website["id"])}
            self.websites[row["id"]] = {key: row[key] for key in ("id", "code", "name", "default_group_id")}
        for store in seed.get("store_views", []):
            website_id = int(store["website_id"])
            if website_id not in self.websites:
                raise ValueError(f"store view {store['code']} names website {website_id}, which the seed lacks")
            row = {"store_group_id": website_id, "is_active": 1, **store, "id": int(store["id"]),
                   "website_id": website_id}
            self.store_views[row["id"]] = {key: row[key] for key in (
                "id", "code", "name", "website_id", "store_group_id", "is_active")}

    def known_path(self, path: str) -> bool:
        """False for a ``/rest/<code>/`` path whose code is no store view (see the module docstring)."""
        match = _STORE_IN_PATH.match(path)
        if match is None or match["code"] in ("V1", ALL_STORES):
            return True
        return any(store["code"] == match["code"] for store in self.store_views.values())

    def store(self, store_id: Any) -> dict[str, Any] | None:
        try:
            return self.store_views.get(int(store_id))
        except (TypeError, ValueError):
            return None

    def metadata(self, store_id: Any) -> dict[str, str]:
        """The ``_metadata`` ids of an event about something of ``store_id`` (the default store when unknown)."""
        store = self.store(store_id) or self.store_views[1]
        return {"storeId": str(store["id"]), "websiteId": str(store["website_id"]),
                "storeGroupId": str(store["store_group_id"])}

    # -- routes ---------------------------------------------------------------------------------

    def list_websites(self, request: Request) -> JsonBody:
        return [copy.deepcopy(row) for _, row in sorted(self.websites.items())]

    def list_store_views(self, request: Request) -> JsonBody:
        return [copy.deepcopy(row) for _, row in sorted(self.store_views.items())]

    def country(self, request: Request) -> JsonBody:
        country_id = request.params["countryId"].upper()
        country = self.countries.get(country_id)
        if country is None:
            raise HttpError(404, {"message": "Requested country is not available."})
        answer: dict[str, Any] = {"id": country_id, "two_letter_abbreviation": country_id,
                                  "three_letter_abbreviation": country["iso3"], "full_name_locale": country["name"],
                                  "full_name_english": country["name"]}
        if country["regions"]:
            answer["available_regions"] = copy.deepcopy(country["regions"])
        return answer


def register(sim: Any) -> Stores:
    stores = Stores()
    sim.route("GET", "/V1/store/websites", stores.list_websites)
    sim.route("GET", "/V1/store/storeViews", stores.list_store_views)
    sim.route("GET", "/V1/directory/countries/{countryId}", stores.country)
    return stores
