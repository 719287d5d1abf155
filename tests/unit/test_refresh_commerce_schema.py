"""tools/refresh_commerce_schema.py: a newer Adobe release replaces the vendored schema, the version
the contract tests name, and the NOTICE line; the report says what changed."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest
import yaml

from sandbox import contracts
from tools import refresh_commerce_schema as refresh

ORDER = {"type": "object", "properties": {"entity_id": {"type": "integer"}}}


def schema(version: str, paths: dict[str, list[str]], definitions: dict[str, object]) -> bytes:
    document = {"swagger": "2.0", "info": {"version": version, "title": "Commerce"},
                "paths": {path: {method: {"responses": {}} for method in methods} for path, methods in paths.items()},
                "definitions": definitions}
    return yaml.safe_dump(document, sort_keys=False).encode()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project tree with the vendored 2.4.9 schemas, NOTICE and contracts.py as committed."""
    root = tmp_path / "project"
    folder = root / refresh.SCHEMAS
    folder.mkdir(parents=True)
    shutil.copy(contracts.CONTRACTS_DIR / "NOTICE", folder / "NOTICE")
    shutil.copy(contracts.CONTRACTS_DIR / "LICENSE", folder / "LICENSE")
    (root / refresh.CONTRACTS).write_text(Path(contracts.__file__).read_text())
    (folder / "admin-schema-2.4.9.yaml.gz").write_bytes(refresh.compress(schema(
        "2.4.9", {"/V1/orders/{id}": ["get"], "/V1/gone": ["post"]}, {"sales-data-order-interface": ORDER})))
    (folder / "accs-schema.yaml.gz").write_bytes(refresh.compress(schema("July 2026", {"/V1/orders": ["get"]}, {})))
    return root


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """The layout of AdobeDocs/commerce-webapi: one admin schema per release, betas included."""
    folder = tmp_path / "commerce-webapi" / "src" / "openapi"
    folder.mkdir(parents=True)
    newer_order = {"type": "object", "properties": {"entity_id": {"type": "integer"}, "state": {"type": "string"}}}
    (folder / "admin-schema-2.4.9.yaml").write_bytes(schema("2.4.9", {"/V1/orders/{id}": ["get"]}, {}))
    (folder / "admin-schema-2.4.10.yaml").write_bytes(schema(
        "2.4.10", {"/V1/orders/{id}": ["get"], "/V1/orders/{id}/notes": ["get", "post"]},
        {"sales-data-order-interface": newer_order, "sales-data-note-interface": {"type": "object"}}))
    (folder / "admin-schema-2.4.11-beta-1.yaml").write_bytes(schema("2.4.11-beta-1", {}, {}))
    (folder / "accs-schema.yaml").write_bytes(schema("July 2026", {"/V1/orders": ["get"]}, {}))
    return tmp_path / "commerce-webapi"


def test_a_checkout_brings_its_newest_release(project: Path, checkout: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert refresh.main([str(checkout)], root=project) == 0
    report = capsys.readouterr().out

    folder = project / refresh.SCHEMAS
    new = folder / "admin-schema-2.4.10.yaml.gz"
    assert sorted(p.name for p in folder.glob("*.gz")) == ["accs-schema.yaml.gz", "admin-schema-2.4.10.yaml.gz"]
    source = (checkout / "src/openapi/admin-schema-2.4.10.yaml").read_bytes()
    assert gzip.decompress(new.read_bytes()) == source
    assert new.read_bytes() == refresh.compress(source)
    assert new.read_bytes()[4:8] == b"\0\0\0\0", "no time stamp in the gzip header"
    assert 'SCHEMA_VERSION = "2.4.10"\n' in (project / refresh.CONTRACTS).read_text()
    notice = (folder / "NOTICE").read_text()
    assert "admin-schema-2.4.10.yaml.gz  Adobe Commerce 2.4.10 admin REST API (src/openapi/admin-schema-2.4.10.yaml)" \
        in notice
    assert "2.4.9" not in notice
    assert "Apache License" in notice
    assert report.splitlines() == [
        "admin schema: 2.4.9 -> 2.4.10 (sandbox/schemas/commerce/admin-schema-2.4.10.yaml.gz)",
        "  operations: +2 -1 (now 3)",
        "    + GET /V1/orders/{id}/notes",
        "    + POST /V1/orders/{id}/notes",
        "    - POST /V1/gone",
        "  definitions: +1 -0, 1 changed",
        "    ~ sales-data-order-interface",
        "  paths whose operations changed: 0",
        "  SCHEMA_VERSION in sandbox/contracts.py: 2.4.9 -> 2.4.10",
        "Cloud Service schema: July 2026, unchanged (sandbox/schemas/commerce/accs-schema.yaml.gz)",
        "next: make test (the contract tests hold the Commerce simulator to this schema)",
    ]


def test_a_downloaded_file_a_named_release_and_a_dry_run(project: Path, checkout: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    before = {p.name: p.read_bytes() for p in (project / refresh.SCHEMAS).iterdir()}
    assert refresh.main([str(checkout), "--version", "2.4.10", "--dry-run"], root=project) == 0
    assert "admin schema: 2.4.9 -> 2.4.10" in capsys.readouterr().out
    assert {p.name: p.read_bytes() for p in (project / refresh.SCHEMAS).iterdir()} == before

    downloaded = tmp_path / "accs-schema.yaml"
    downloaded.write_bytes(schema("August 2026", {"/V1/orders": ["get"], "/V1/carts": ["post"]}, {}))
    assert refresh.main([str(downloaded)], root=project) == 0
    assert "Cloud Service schema: July 2026 -> August 2026" in capsys.readouterr().out
    assert gzip.decompress((project / refresh.SCHEMAS / "accs-schema.yaml.gz").read_bytes()) == downloaded.read_bytes()
    notice = (project / refresh.SCHEMAS / "NOTICE").read_text()
    assert "Cloud Service REST API, August 2026 (downloaded file accs-schema.yaml)" in notice
    assert 'SCHEMA_VERSION = "2.4.9"\n' in (project / refresh.CONTRACTS).read_text()


@pytest.mark.parametrize(("name", "content", "error"), [
    ("admin-schema-2.4.10.yaml", b"openapi: '3.0.0'\npaths: {}\ndefinitions: {}\n", "not a Swagger 2.0 document"),
    ("admin-schema-2.4.10.yaml", b"swagger: '2.0'\ninfo: {version: 2.4.8}\npaths: {}\ndefinitions: {}\n",
     "the file name says 2.4.10, info.version says 2.4.8"),
    ("admin-schema.yaml", b"swagger: '2.0'\npaths: {}\ndefinitions: {}\n", "expected admin-schema-<release>.yaml"),
])
def test_what_is_not_a_release_schema_is_refused_and_nothing_changes(
        project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: bytes,
        error: str) -> None:
    before = {p.name: p.read_bytes() for p in (project / refresh.SCHEMAS).iterdir()}
    (tmp_path / name).write_bytes(content)
    assert refresh.main([str(tmp_path / name)], root=project) == 1
    assert error in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in (project / refresh.SCHEMAS).iterdir()} == before


def test_the_vendored_notice_names_each_vendored_file() -> None:
    notice = (contracts.CONTRACTS_DIR / "NOTICE").read_text()
    for path in contracts.CONTRACTS_DIR.glob("*.gz"):
        assert path.name in notice
