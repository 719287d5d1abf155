"""The Commerce module (commerce/) as a Composer package with the storefront bundle built in.

    python tools/commerce_module.py [--output dist] [--bundle DIR]

Builds the storefront components (``npm ci`` when storefront/node_modules is missing or older than
the lock file, then ``npm run build:commerce``, which writes the bundle into
commerce/view/frontend/web/storefront/) unless ``--bundle`` names a folder holding a built one, then
zips the module as ``oms-bridge-module-connector-<version>.zip`` with composer.json at its root: the
form a Composer "artifact" repository takes, so the bundle ships with the module however it is
installed::

    composer config repositories.oms-bridge artifact /path/to/dist
    composer require oms-bridge/module-connector:<version>

The zip holds the module's own files (no dotfiles) and the bundle's two files. Prints a JSON summary;
exits 1 when the bundle is not there.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULE = ROOT / "commerce"
STOREFRONT = ROOT / "storefront"
BUNDLE_DIR = Path("view/frontend/web/storefront")
BUNDLE_FILES = ("omsbridge-storefront.js", "omsbridge-storefront.css")
# Zip entries get one fixed time: the same module and bundle make the same archive.
ZIP_TIME = (2024, 1, 1, 0, 0, 0)


def build_bundle() -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is needed to build the storefront bundle (node >= 20.19)")
    installed = STOREFRONT / "node_modules" / ".package-lock.json"
    if not installed.is_file() or installed.stat().st_mtime < (STOREFRONT / "package-lock.json").stat().st_mtime:
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=STOREFRONT, check=True)  # noqa: S603
    subprocess.run([npm, "run", "build:commerce"], cwd=STOREFRONT, check=True)  # noqa: S603
    return MODULE / BUNDLE_DIR


def module_files() -> list[Path]:
    """The module's files, relative to it: no dotfiles, nothing of a bundle built in place."""
    return sorted(path.relative_to(MODULE) for path in MODULE.rglob("*")
                  if path.is_file() and not any(part.startswith(".") for part in path.relative_to(MODULE).parts)
                  and BUNDLE_DIR not in path.relative_to(MODULE).parents)


def package(bundle: Path, output: Path) -> dict[str, object]:
    missing = [name for name in BUNDLE_FILES if not (bundle / name).is_file()]
    if missing:
        raise SystemExit(f"no built bundle in {bundle} ({', '.join(missing)} missing): "
                         "run `npm ci && npm run build:commerce` in storefront/")
    composer = json.loads((MODULE / "composer.json").read_text())
    archive = output / f"{composer['name'].replace('/', '-')}-{composer['version']}.zip"
    output.mkdir(parents=True, exist_ok=True)
    entries = [(MODULE / path, path.as_posix()) for path in module_files()]
    entries += [(bundle / name, (BUNDLE_DIR / name).as_posix()) for name in BUNDLE_FILES]
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for source, name in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            zipped.writestr(info, source.read_bytes())
    return {"archive": str(archive), "package": composer["name"], "version": composer["version"],
            "files": len(entries), "bundle": [name for _, name in entries[-len(BUNDLE_FILES):]]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=ROOT / "dist", help="where the zip goes (default: dist/)")
    parser.add_argument("--bundle", type=Path, help="a folder with the built bundle (default: build it now)")
    args = parser.parse_args(argv)
    try:
        bundle = args.bundle or build_bundle()
        print(json.dumps(package(bundle, args.output)))
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
