"""Bring a newer Adobe Commerce REST schema into ``sandbox/schemas/commerce`` and say what changed.

    python tools/refresh_commerce_schema.py SOURCE [--version 2.4.10] [--dry-run]

SOURCE is a checkout of https://github.com/AdobeDocs/commerce-webapi (its ``src/openapi/`` holds
``admin-schema-<version>.yaml``, one per Commerce release, and ``accs-schema.yaml`` for Commerce as
a Cloud Service) or one downloaded schema file with either name. From a checkout the newest
release is taken (no ``-beta``), or ``--version``; the Cloud Service schema too when present.

Each schema must parse as Swagger 2.0 with paths and definitions. It is stored unmodified, gzipped
without a time stamp or file name (the same input gives the same bytes). A new admin release
replaces the old file, ``SCHEMA_VERSION`` in ``sandbox/contracts.py`` and the file's line in
``NOTICE`` (with the checkout's commit when there is one). The report lists the operations added
and removed and the definitions added, removed and changed; then run ``make test``: the contract
tests hold the simulator to the new release.
"""

from __future__ import annotations

import argparse
import gzip
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = Path("sandbox/schemas/commerce")
CONTRACTS = Path("sandbox/contracts.py")
ADMIN = re.compile(r"^admin-schema-(?P<version>\d+\.\d+\.\d+(?:-p\d+)?)\.yaml$")
ACCS = "accs-schema.yaml"
REPOSITORY = "https://github.com/AdobeDocs/commerce-webapi"
LISTED = 15  # operations listed per direction; the rest are counted


@dataclass
class Schema:
    kind: str  # "admin" | "accs"
    source: Path
    raw: bytes
    spec: dict[str, Any]
    version: str

    @property
    def file_name(self) -> str:
        return f"admin-schema-{self.version}.yaml.gz" if self.kind == "admin" else f"{ACCS}.gz"

    def notice_line(self, origin: str) -> str:
        what = (f"Adobe Commerce {self.version} admin REST API" if self.kind == "admin"
                else f"Adobe Commerce as a Cloud Service REST API, {self.version}")
        return f"{self.file_name:<26}  {what} ({origin})"


class RefreshError(Exception):
    pass


def _release_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


def read_schema(path: Path, kind: str, raw: bytes | None = None) -> Schema:
    """The schema in ``path`` (or ``raw``, its content: a vendored file is read decompressed)."""
    raw = path.read_bytes() if raw is None else raw
    name = path.name.removesuffix(".gz")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        spec = yaml.load(raw, Loader=loader)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        raise RefreshError(f"{path}: not YAML ({exc})") from exc
    if not isinstance(spec, dict) or str(spec.get("swagger")) != "2.0":
        raise RefreshError(f"{path}: not a Swagger 2.0 document")
    if not isinstance(spec.get("paths"), dict) or not isinstance(spec.get("definitions"), dict):
        raise RefreshError(f"{path}: no paths or definitions")
    stated = str((spec.get("info") or {}).get("version", "")).strip()
    if kind == "admin":
        match = ADMIN.match(name)
        if match is None:
            raise RefreshError(f"{path}: an admin schema is named admin-schema-<release>.yaml")
        version = match["version"]
        if stated and stated != version:
            raise RefreshError(f"{path}: the file name says {version}, info.version says {stated}")
    else:
        version = stated or "unversioned"
    return Schema(kind, path, raw, spec, version)


def find_schemas(source: Path, version: str | None) -> list[Schema]:
    if source.is_file():
        if source.name == ACCS:
            return [read_schema(source, "accs")]
        if ADMIN.match(source.name):
            return [read_schema(source, "admin")]
        raise RefreshError(f"{source}: expected admin-schema-<release>.yaml or {ACCS}")
    folder = source / "src" / "openapi"
    if not folder.is_dir():
        raise RefreshError(f"{source}: neither a schema file nor a commerce-webapi checkout (no src/openapi)")
    releases = {m["version"]: path for path in folder.iterdir() if (m := ADMIN.match(path.name))}
    if version is not None and version not in releases:
        raise RefreshError(f"{folder}: no admin-schema-{version}.yaml (have {', '.join(sorted(releases)) or 'none'})")
    if not releases:
        raise RefreshError(f"{folder}: no admin-schema-<release>.yaml")
    chosen = version or max(releases, key=_release_key)
    schemas = [read_schema(releases[chosen], "admin")]
    if (folder / ACCS).is_file():
        schemas.append(read_schema(folder / ACCS, "accs"))
    return schemas


def _operations(spec: dict[str, Any]) -> set[str]:
    return {f"{method.upper()} {path}" for path, item in (spec.get("paths") or {}).items()
            for method in (item or {}) if method != "parameters"}


def differences(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """What a reviewer needs to know: operations and definitions added, removed, changed."""
    if old is None:
        return [f"  new file: {len(_operations(new))} operations, {len(new['definitions'])} definitions"]
    lines: list[str] = []
    before, after = _operations(old), _operations(new)
    added, removed = sorted(after - before), sorted(before - after)
    lines.append(f"  operations: +{len(added)} -{len(removed)} (now {len(after)})")
    for sign, names in (("+", added), ("-", removed)):
        lines += [f"    {sign} {name}" for name in names[:LISTED]]
        if len(names) > LISTED:
            lines.append(f"    {sign} ... and {len(names) - LISTED} more")
    kept = old["definitions"].keys() & new["definitions"].keys()
    changed = sorted(name for name in kept if old["definitions"][name] != new["definitions"][name])
    lines.append(f"  definitions: +{len(new['definitions'].keys() - old['definitions'].keys())}"
                 f" -{len(old['definitions'].keys() - new['definitions'].keys())}, {len(changed)} changed")
    lines += [f"    ~ {name}" for name in changed[:LISTED]]
    if len(changed) > LISTED:
        lines.append(f"    ~ ... and {len(changed) - LISTED} more")
    paths_changed = sorted(path for path in old["paths"].keys() & new["paths"].keys()
                           if old["paths"][path] != new["paths"][path])
    lines.append(f"  paths whose operations changed: {len(paths_changed)}")
    return lines


def compress(raw: bytes) -> bytes:
    """gzip with no time stamp and no file name: the same schema always gives the same bytes."""
    return gzip.compress(raw, compresslevel=9, mtime=0)


def _current(folder: Path, kind: str) -> Path | None:
    if kind == "accs":
        path = folder / f"{ACCS}.gz"
        return path if path.is_file() else None
    found = sorted(folder.glob("admin-schema-*.yaml.gz"))
    return found[-1] if found else None


def _origin(source: Path, schema: Schema) -> str:
    if source.is_file():
        return f"downloaded file {schema.source.name}"
    inside = schema.source.relative_to(source).as_posix()
    answer = subprocess.run(["git", "-C", str(source), "rev-parse", "--show-toplevel", "HEAD"],  # noqa: S603, S607
                            capture_output=True, text=True, check=False).stdout.split()
    if len(answer) == 2 and Path(answer[0]).resolve() == source.resolve():
        return f"{inside}, commit {answer[1][:12]}"
    return inside


def refresh(source: Path, root: Path, version: str | None = None, dry_run: bool = False) -> list[str]:
    """Refresh the vendored schemas under ``root`` from ``source``; returns the report lines."""
    folder = root / SCHEMAS
    notice_path, contracts_path = folder / "NOTICE", root / CONTRACTS
    notice, contracts = notice_path.read_text(), contracts_path.read_text()
    report: list[str] = []
    for schema in find_schemas(source, version):
        current = _current(folder, schema.kind)
        old = read_schema(current, schema.kind, gzip.decompress(current.read_bytes())) if current else None
        label = "admin schema" if schema.kind == "admin" else "Cloud Service schema"
        target = folder / schema.file_name
        if old is not None and old.raw == schema.raw:
            report.append(f"{label}: {schema.version}, unchanged ({target.relative_to(root)})")
            continue
        report.append(f"{label}: {old.version if old else 'none'} -> {schema.version} ({target.relative_to(root)})")
        report += differences(old.spec if old else None, schema.spec)
        pattern = re.compile(r"^admin-schema-\S+\.yaml\.gz .*$" if schema.kind == "admin"
                             else rf"^{re.escape(ACCS)}\.gz .*$", re.MULTILINE)
        line = schema.notice_line(_origin(source, schema))
        notice = pattern.sub(line, notice, count=1) if pattern.search(notice) else notice.rstrip() + f"\n{line}\n"
        if schema.kind == "admin":
            contracts = re.sub(r'^SCHEMA_VERSION = ".*"$', f'SCHEMA_VERSION = "{schema.version}"', contracts,
                               count=1, flags=re.MULTILINE)
            report.append(f"  SCHEMA_VERSION in {CONTRACTS}: {old.version if old else 'none'} -> {schema.version}")
        if dry_run:
            continue
        target.write_bytes(compress(schema.raw))
        if current is not None and current != target:
            current.unlink()
    licence = source / "LICENSE"
    if not dry_run:
        notice_path.write_text(notice)
        contracts_path.write_text(contracts)
        if source.is_dir() and licence.is_file() and licence.read_bytes() != (folder / "LICENSE").read_bytes():
            (folder / "LICENSE").write_bytes(licence.read_bytes())
            report.append("LICENSE: replaced by the checkout's")
    report.append("dry run: nothing written" if dry_run else
                  "next: make test (the contract tests hold the Commerce simulator to this schema)")
    return report


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="commerce-webapi checkout, or one schema file")
    parser.add_argument("--version", help="the admin schema release to take from a checkout (default: newest)")
    parser.add_argument("--dry-run", action="store_true", help="report what would change, write nothing")
    args = parser.parse_args(argv)
    try:
        report = refresh(args.source, root, version=args.version, dry_run=args.dry_run)
    except RefreshError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
