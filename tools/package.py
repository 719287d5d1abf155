"""``make package``: ``sam package`` the build output against a local S3, then prove the artefacts
are complete. Needs no AWS account and no network: S3 is moto's server on 127.0.0.1 (a free port),
the credentials are dummies, and local AWS profiles are ignored.

What "complete" means here, checked in the uploaded zips themselves:

* every function and the layer of the packaged template points at an object in the bucket;
* each function zip has its handler module, compiled for the runtime (``cpython-313`` bytecode);
* the layer has ``omsbridge`` with bytecode for every module, the compiled extensions built for
  arm64 (``aarch64``), and none of the packages the Lambda runtime already ships (boto3 & co);
* a function with the layer stays under Lambda's 250 MB unzipped limit.

Usage: ``python tools/package.py SAM [--build-dir .aws-sam/build] [--output .aws-sam/packaged.yaml]``.
Prints a JSON summary; exits 1 with the problems found.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import boto3
import yaml
from moto.server import ThreadedMotoServer

BUCKET = "oms-bridge-artifacts"
REGION = "us-east-1"
RUNTIME_TAG = "cpython-313"
# Shipped by the python3.13 Lambda runtime: a copy in the layer would only shadow it.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer")
UNZIPPED_LIMIT = 250 * 1024 * 1024
ELF_AARCH64 = 183  # e_machine of an arm64 ELF file


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags, kept as their long form."""


def _tag(loader: CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        return {name: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {name: loader.construct_sequence(node, deep=True)}
    return {name: loader.construct_mapping(node, deep=True)}


CfnLoader.add_multi_constructor("!", _tag)


def sam_package(sam: str, template: Path, output: Path, endpoint: str) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update({
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL_S3": endpoint, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "SAM_CLI_TELEMETRY": "0",
    })
    subprocess.run(  # noqa: S603 - our own argument list, no shell
        [sam, "package", "--template-file", str(template), "--s3-bucket", BUCKET, "--s3-prefix", "oms-bridge",
         "--output-template-file", str(output), "--region", REGION],
        env=env, check=True, stdout=subprocess.DEVNULL,
    )


def artefacts(packaged: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """Logical id → (type, S3 URI) of every function and layer."""
    found = {}
    for name, resource in packaged.get("Resources", {}).items():
        properties = resource.get("Properties") or {}
        if resource["Type"] == "AWS::Serverless::Function":
            found[name] = ("function", properties.get("CodeUri"))
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            found[name] = ("layer", properties.get("ContentUri"))
    return found


def check_function(name: str, handler: str, files: set[str]) -> list[str]:
    module = handler.rsplit(".", 1)[0].replace(".", "/")
    folder, _, stem = module.rpartition("/")
    cached = f"{folder + '/' if folder else ''}__pycache__/{stem}.{RUNTIME_TAG}.pyc"
    problems = []
    if f"{module}.py" not in files:
        problems.append(f"{name}: no handler module {module}.py")
    if cached not in files:
        problems.append(f"{name}: no {cached} (bytecode for the runtime)")
    return problems


def elf_machine(header: bytes) -> int | None:
    """The ``e_machine`` field of a little-endian ELF header (None for anything else)."""
    if len(header) < 20 or header[:4] != b"\x7fELF" or header[5] != 1:
        return None
    return int.from_bytes(header[18:20], "little")


def check_layer(name: str, archive: zipfile.ZipFile, files: set[str]) -> list[str]:
    problems = []
    modules = sorted(f for f in files if f.startswith("python/omsbridge/") and f.endswith(".py"))
    if "python/omsbridge/__init__.py" not in modules:
        problems.append(f"{name}: no python/omsbridge package")
    for module in modules:
        folder, _, file = module.rpartition("/")
        if f"{folder}/__pycache__/{file[:-3]}.{RUNTIME_TAG}.pyc" not in files:
            problems.append(f"{name}: {module} has no {RUNTIME_TAG} bytecode")
    extensions = [f for f in files if f.endswith(".so")]
    if not any("pydantic_core/" in f for f in extensions):
        problems.append(f"{name}: pydantic_core has no compiled extension")
    for extension in sorted(extensions):
        with archive.open(extension) as binary:
            if elf_machine(binary.read(20)) != ELF_AARCH64:
                problems.append(f"{name}: {extension} is not an arm64 binary")
    shipped = sorted({f.split("/")[1] for f in files if f.count("/") > 1 and f.split("/")[1] in RUNTIME_PACKAGES})
    problems += [f"{name}: carries {package}, which the Lambda runtime already has" for package in shipped]
    return problems


def verify(packaged: dict[str, Any], s3: Any) -> tuple[list[str], list[dict[str, Any]]]:
    problems: list[str] = []
    summary: list[dict[str, Any]] = []
    unzipped: dict[str, int] = {}
    found = artefacts(packaged)
    if not any(kind == "layer" for kind, _ in found.values()):
        problems.append("the packaged template has no layer")
    for name, (kind, uri) in sorted(found.items()):
        if not isinstance(uri, str) or not uri.startswith(f"s3://{BUCKET}/"):
            problems.append(f"{name}: {uri!r} is not an uploaded artefact")
            continue
        key = uri.removeprefix(f"s3://{BUCKET}/")
        try:
            body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            problems.append(f"{name}: {uri} is not in the bucket")
            continue
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            files = {info.filename for info in archive.infolist() if not info.is_dir()}
            unzipped[name] = sum(info.file_size for info in archive.infolist())
            if kind == "function":
                handler = packaged["Resources"][name]["Properties"].get("Handler", "")
                problems += check_function(name, handler, files)
            else:
                problems += check_layer(name, archive, files)
        summary.append({"resource": name, "kind": kind, "key": key, "zip_bytes": len(body),
                        "unzipped_bytes": unzipped[name], "files": len(files)})
    layers = sum(size for name, size in unzipped.items() if found[name][0] == "layer")
    for name, size in unzipped.items():
        if found[name][0] == "function" and size + layers > UNZIPPED_LIMIT:
            problems.append(f"{name}: {size + layers} bytes unzipped with the layer, over Lambda's 250 MB")
    return problems, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sam", help="the sam executable")
    parser.add_argument("--build-dir", type=Path, default=Path(".aws-sam/build"))
    parser.add_argument("--output", type=Path, default=Path(".aws-sam/packaged.yaml"))
    args = parser.parse_args(argv)
    template = args.build_dir / "template.yaml"
    if not template.is_file():
        print(f"error: {template} does not exist; run `make build` first", file=sys.stderr)
        return 1
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION,
                          aws_access_key_id="testing", aws_secret_access_key="testing")  # noqa: S106
        s3.create_bucket(Bucket=BUCKET)
        sam_package(args.sam, template, args.output, endpoint)
        packaged = yaml.load(args.output.read_text(), Loader=CfnLoader)  # noqa: S506 - SafeLoader subclass
        problems, summary = verify(packaged, s3)
    finally:
        server.stop()
    print(json.dumps({"packaged_template": str(args.output), "artefacts": summary}, indent=2))
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
