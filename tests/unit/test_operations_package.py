"""tools/package.py, the check behind ``make package``: what makes a packaged artefact set complete."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tools import package
from tools.package import BUCKET, elf_machine, verify

ARM64_ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 11 + (183).to_bytes(2, "little")
X86_ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 11 + (62).to_bytes(2, "little")

LAYER = {
    "python/omsbridge/__init__.py": b"",
    "python/omsbridge/__pycache__/__init__.cpython-313.pyc": b"pyc",
    "python/omsbridge/http.py": b"",
    "python/omsbridge/__pycache__/http.cpython-313.pyc": b"pyc",
    "python/pydantic_core/_pydantic_core.cpython-313-aarch64-linux-gnu.so": ARM64_ELF,
    "python/cryptography/hazmat/bindings/_rust.abi3.so": ARM64_ELF,
}
FUNCTION = {"app.py": b"", "__pycache__/app.cpython-313.pyc": b"pyc"}


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def packaged(s3: Any, layer: dict[str, bytes], function: dict[str, bytes], *,
             code_uri: str | None = None) -> dict[str, Any]:
    s3.put_object(Bucket=BUCKET, Key="oms-bridge/layer", Body=zipped(layer))
    s3.put_object(Bucket=BUCKET, Key="oms-bridge/ingress", Body=zipped(function))
    return {"Resources": {
        "ConnectorsLayer": {"Type": "AWS::Serverless::LayerVersion",
                            "Properties": {"ContentUri": f"s3://{BUCKET}/oms-bridge/layer"}},
        "IngressFunction": {"Type": "AWS::Serverless::Function", "Properties": {
            "Handler": "app.handler", "CodeUri": code_uri or f"s3://{BUCKET}/oms-bridge/ingress"}},
        "EventBus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "oms-bridge"}},
    }}


def test_a_complete_set_passes_and_is_summarised(s3: Any) -> None:
    problems, summary = verify(packaged(s3, LAYER, FUNCTION), s3)
    assert problems == []
    assert [(item["resource"], item["kind"], item["key"], item["files"]) for item in summary] == [
        ("ConnectorsLayer", "layer", "oms-bridge/layer", 6),
        ("IngressFunction", "function", "oms-bridge/ingress", 2),
    ]


@pytest.mark.parametrize(("layer", "function", "code_uri", "expected"), [
    (LAYER, {"app.py": b""}, None,
     ["IngressFunction: no __pycache__/app.cpython-313.pyc (bytecode for the runtime)"]),
    (LAYER, {"__pycache__/app.cpython-313.pyc": b"pyc"}, None, ["IngressFunction: no handler module app.py"]),
    (LAYER, {"app.py": b"", "__pycache__/app.cpython-311.pyc": b"pyc"}, None,
     ["IngressFunction: no __pycache__/app.cpython-313.pyc (bytecode for the runtime)"]),
    (LAYER, FUNCTION, "functions/ingress/", ["IngressFunction: 'functions/ingress/' is not an uploaded artefact"]),
    (LAYER, FUNCTION, f"s3://{BUCKET}/oms-bridge/missing", [
        f"IngressFunction: s3://{BUCKET}/oms-bridge/missing is not in the bucket"]),
    ({k: v for k, v in LAYER.items() if "__pycache__/http" not in k}, FUNCTION, None,
     ["ConnectorsLayer: python/omsbridge/http.py has no cpython-313 bytecode"]),
    ({**LAYER, "python/cryptography/hazmat/bindings/_rust.abi3.so": X86_ELF}, FUNCTION, None,
     ["ConnectorsLayer: python/cryptography/hazmat/bindings/_rust.abi3.so is not an arm64 binary"]),
    ({k: v for k, v in LAYER.items() if "pydantic_core" not in k}, FUNCTION, None,
     ["ConnectorsLayer: pydantic_core has no compiled extension"]),
    ({**LAYER, "python/boto3/__init__.py": b"", "python/botocore/__init__.py": b""}, FUNCTION, None,
     ["ConnectorsLayer: carries boto3, which the Lambda runtime already has",
      "ConnectorsLayer: carries botocore, which the Lambda runtime already has"]),
], ids=["no-bytecode", "no-handler", "wrong-python-bytecode", "local-path", "not-uploaded", "layer-module-no-bytecode",
        "x86-extension", "no-pydantic-core", "runtime-packages"])
def test_what_is_incomplete_is_named(s3: Any, layer: dict[str, bytes], function: dict[str, bytes],
                                     code_uri: str | None, expected: list[str]) -> None:
    problems, _ = verify(packaged(s3, layer, function, code_uri=code_uri), s3)
    assert problems == expected


def test_a_function_over_the_unzipped_limit_with_the_layer_is_refused(s3: Any, monkeypatch: pytest.MonkeyPatch
                                                                       ) -> None:
    layer_bytes = sum(len(content) for content in LAYER.values())
    monkeypatch.setattr(package, "UNZIPPED_LIMIT", layer_bytes + 10)
    big = {**FUNCTION, "data.bin": b"\x00" * 8}
    problems, _ = verify(packaged(s3, LAYER, big), s3)
    assert problems == [f"IngressFunction: {layer_bytes + 11} bytes unzipped with the layer, over Lambda's 250 MB"]


@pytest.mark.parametrize(("header", "machine"), [
    (ARM64_ELF, 183), (X86_ELF, 62), (b"MZ\x90\x00" + b"\x00" * 16, None), (b"\x7fELF", None),
])
def test_elf_machine_reads_the_architecture(header: bytes, machine: int | None) -> None:
    assert elf_machine(header) == machine
