"""The storefront demo page in headless Chromium: stock per location, a store picked, a delivery date.

Uses the bundle ``make test`` built (and builds it here when it is missing or older than its
sources: ``npm ci`` when the installed packages are older than the lock file, then
``npm run build``), serves the demo page and the sandbox's HTTP API on two loopback ports (the page
calls the API cross-origin, as a storefront would) and drives the OS's Chromium with the node script
beside this file (playwright-core, no browser download). The screenshot is kept as
``artifacts/storefront-demo.png``.

Needs node, npm and Chromium (``CHROMIUM_PATH`` names another binary than the chromium package's).
``make test`` installs Chromium when it may; without it this test fails and says how to install
it, so a run that could not drive the browser never passes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sandbox.demo_page import SCRIPT, demo
from sandbox.sim.base import Simulator

ROOT = Path(__file__).resolve().parents[2]
STOREFRONT = ROOT / "storefront"
DRIVER = Path(__file__).with_name("storefront_demo.mjs")
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SKU = "OB-MUG-01"


def install_command(packages: str) -> str:
    sudo = "" if os.geteuid() == 0 else "sudo "
    return f"{sudo}apt-get update && {sudo}apt-get install -y {packages}"


def unavailable(reason: str, packages: str) -> None:
    pytest.fail(f"{reason}; install it with: {install_command(packages)}", pytrace=False)


def run(command: list[str], timeout: float, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, cwd=STOREFRONT, capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1", **(env or {})}, check=False)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def bundle() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        unavailable("node >= 20.19 and npm are needed to build the storefront bundle", "nodejs npm")
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        unavailable(f"no Chromium at {CHROMIUM}", "chromium")
    installed = STOREFRONT / "node_modules" / ".package-lock.json"
    if older(installed, [STOREFRONT / "package-lock.json"]):
        run([str(npm), "ci", "--no-audit", "--no-fund"], timeout=240)
    dist = STOREFRONT / "dist"
    sources = [*(STOREFRONT / "src").rglob("*"), STOREFRONT / "package.json", STOREFRONT / "vite.config.js", installed]
    if older(dist / SCRIPT, sources):
        run([str(npm), "run", "build"], timeout=120)
    assert (dist / SCRIPT).is_file()
    return dist


def older(target: Path, sources: list[Path]) -> bool:
    """Missing, or older than one of ``sources``: make's rule (the Makefile builds the same way)."""
    return not target.is_file() or any(target.stat().st_mtime < source.stat().st_mtime for source in sources)


def sterling_answer(sim: Simulator, api: str) -> Any:
    (call,) = [call for call in sim.calls if call["path"].endswith(f"/invoke/{api}")]
    return call


def promised_day(call: dict[str, Any]) -> str:
    line = call["response"]["SuggestedOption"]["Option"]["PromiseLines"]["PromiseLine"][0]
    (assignment,) = line["Assignments"]["Assignment"]
    day: str = assignment["DeliveryDate"][:10]
    return day


def test_demo_page_shows_stock_pickup_and_delivery_in_chromium(bundle: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "storefront-demo.png"
    screenshot.unlink(missing_ok=True)
    # A long cache time, so that what the API asks does not depend on how fast the browser is.
    with demo(bundle_dir=bundle, env={"STOREFRONT_CACHE_SECONDS": "300"}) as running:
        result = subprocess.run(
            [str(shutil.which("node")), str(DRIVER), running.url, str(screenshot)],
            capture_output=True, text=True, timeout=60, check=False,
            env={**os.environ, "STOREFRONT_DIR": str(STOREFRONT), "CHROMIUM_PATH": CHROMIUM})
        sterling = running.sandbox.sterling
        commerce = running.sandbox.commerce
    assert result.returncode == 0, f"browser run failed:\n{result.stderr[-4000:]}\n{result.stdout[-2000:]}"
    seen = json.loads(result.stdout.strip().splitlines()[-1])

    assert seen["problems"] == []
    assert seen["stock"] == {"summary": "In stock at 3 locations", "rows": [
        {"source": "store_loop", "name": "Chicago Loop", "address": "120 N State St, Chicago, 60601",
         "availability": "Only 3 left"},
        {"source": "dc_columbus", "name": "Columbus distribution centre", "address": None,
         "availability": "In stock (120)"},
        {"source": "store_naperville", "name": "Naperville", "address": "55 S Main St, Naperville, 60540",
         "availability": "In stock (12)"},
        {"source": "store_lincoln_park", "name": "Lincoln Park", "address": "2200 N Clark St, Chicago, 60614",
         "availability": "Out of stock"},
    ]}
    assert seen["pickup"]["stores"] == [
        {"source": "store_loop", "name": "Chicago Loop", "distance": "0 mi", "availability": "Available (3 in store)",
         "disabled": False},
        {"source": "store_lincoln_park", "name": "Lincoln Park", "distance": "3.1 mi",
         "availability": "Not available in this quantity", "disabled": True},
        {"source": "store_naperville", "name": "Naperville", "distance": "28.2 mi",
         "availability": "Available (12 in store)", "disabled": False},
    ]
    assert seen["pickup"]["selected"] == {"sku": SKU, "qty": 2,
                                          "store": {"source_code": "store_loop", "name": "Chicago Loop"}}

    # The dates shown are the ones Sterling promised: a pickup today at the store, a delivery from the DC.
    finds = [call for call in sterling.calls if call["path"].endswith("/invoke/findInventory")]
    assert [call["body"]["PromiseLines"]["PromiseLine"] for call in finds] == [
        [{"LineId": "1", "UnitOfMeasure": "EACH", "ProductClass": "GOOD", "RequiredQty": "2", "DeliveryMethod": "PICK",
          "ItemID": SKU, "ShipNode": "store_loop"}],
        [{"LineId": "1", "UnitOfMeasure": "EACH", "ProductClass": "GOOD", "RequiredQty": "2", "DeliveryMethod": "SHP",
          "ItemID": SKU}],
    ]
    assert finds[1]["body"]["ShipToAddress"] == {"Country": "US", "ZipCode": "10001"}
    assert seen["pickup"]["result"]["day"] == promised_day(finds[0])
    assert seen["pickup"]["result"]["text"].startswith("Ready for pickup at Chicago Loop on ")
    assert seen["delivery"]["day"] == promised_day(finds[1])
    assert seen["delivery"]["text"].startswith("Arrives by ")

    # What the browser made the API ask: the SKU's stock once (reused for the pickup stores).
    assert [call["path"].rsplit("/", 1)[1] for call in sterling.calls if "/invoke/login" not in call["path"]] == [
        "getAvailableInventory", "getSurroundingNodeList", "findInventory", "findInventory"]
    # Commerce: the sources, and whether the SKU is a configurable (once; it is not).
    assert sorted(call["path"] for call in commerce.calls) == [
        f"/rest/default/V1/configurable-products/{SKU}/children", "/rest/default/V1/inventory/sources"]

    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_configurable_products_page_follows_the_chosen_option_in_chromium(bundle: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "storefront-configurable.png"
    with demo(bundle_dir=bundle, env={"STOREFRONT_CACHE_SECONDS": "300"}) as running:
        result = subprocess.run(
            [str(shutil.which("node")), str(DRIVER), running.url, str(screenshot), "configurable"],
            capture_output=True, text=True, timeout=60, check=False,
            env={**os.environ, "STOREFRONT_DIR": str(STOREFRONT), "CHROMIUM_PATH": CHROMIUM})
        sterling = running.sandbox.sterling
    assert result.returncode == 0, f"browser run failed:\n{result.stderr[-4000:]}\n{result.stdout[-2000:]}"
    seen = json.loads(result.stdout.strip().splitlines()[-1])

    assert seen["problems"] == []
    # Before the options are chosen: the parent's answer, per child, summed up; pickup waits.
    assert seen["before"] == {"summary": "In stock in 2 of 3 options",
                              "hint": "Choose your options to see the stock at each location.",
                              "pickupHint": "Choose your options to find a store that has them.",
                              "pickupDisabled": True}
    assert seen["halfway"] == "OB-TEE"
    # Size L, colour rust: the child the options name, its own stock and stores.
    assert seen["rust"]["sku"] == "OB-TEE-L-RUST"
    assert seen["rust"]["summary"] == "In stock at 2 locations"
    assert [(row["source"], row["availability"]) for row in seen["rust"]["rows"]] == [
        ("dc_columbus", "In stock (10)"), ("store_naperville", "Only 4 left"), ("store_loop", "Out of stock"),
        ("store_lincoln_park", "Out of stock")]
    assert [(row["source"], row["availability"]) for row in seen["rust"]["stores"]] == [
        ("store_loop", "Not available in this quantity"), ("store_lincoln_park", "Not available in this quantity"),
        ("store_naperville", "Available (4 in store)")]
    assert seen["navy"] == {"summary": "Out of stock at every location"}
    # The children's stock in one Sterling call; pickup asked for the child, never the parent.
    lines = [[line["ItemID"] for line in call["body"]["PromiseLines"]["PromiseLine"]]
             for call in sterling.calls if call["path"].endswith("/invoke/getAvailableInventory")]
    assert lines[0] == ["OB-TEE-M-NAVY", "OB-TEE-L-NAVY", "OB-TEE-L-RUST"]
    assert all("OB-TEE" not in line for line in lines)


def test_npm_run_build_commerce_fills_the_module_and_deletes_no_other_file(bundle: Path) -> None:
    npm = shutil.which("npm")
    assert npm is not None
    built = ROOT / "commerce" / "view" / "frontend" / "web" / "storefront"
    module_files = {path for path in (ROOT / "commerce").rglob("*") if path.is_file() and built not in path.parents}

    run([npm, "run", "build:commerce"], timeout=120)

    assert {path for path in module_files if not path.exists()} == set()
    assert sorted(path.name for path in built.iterdir()) == ["omsbridge-storefront.css", SCRIPT]
