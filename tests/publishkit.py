"""Shared by the publish tests: manifests with real zips, and boto3 clients for the moto server
the test's environment points at (AWS_ENDPOINT_URL)."""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import os
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from hatch_lambda_layers.manifest import (
    FunctionEntry,
    LayerEntry,
    Limits,
    Manifest,
    PackageEntry,
    Target,
    write_manifest,
)

RUNTIME, ARCH = "python3.12", "arm64"
REGION, REGION2 = "us-east-1", "eu-west-1"
ACCOUNT = "123456789012"  # moto's default account


def zip_bytes(files: Mapping[str, str]) -> bytes:
    """A small reproducible zip: same files, same bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            zf.writestr(info, files[name])
    return buf.getvalue()


def _content_hash(files: Mapping[str, str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(f"{name}\0{files[name]}\0".encode())
    return "sha256:" + digest.hexdigest()


def _entry_bits(directory: Path, file: str, data: bytes) -> dict[str, Any]:
    (directory / file).write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    return {
        "file": file,
        "sha256": sha,
        "code_sha256": base64.b64encode(bytes.fromhex(sha)).decode(),
        "size_zipped": len(data),
    }


def _package(files: Mapping[str, str]) -> str:
    """The package a layer's files hold: `python/six.py` -> six, `python/attr/...` -> attr."""
    first = min(files).removeprefix("python/")
    return first.split("/")[0].removesuffix(".py")


def make_manifest(
    directory: Path,
    layers: Mapping[str, Mapping[str, str]],
    *,
    functions: Mapping[str, Mapping[str, str]] | None = None,
    external: Sequence[str] = (),
    license_info: str | None = None,
    versions: Mapping[str, int] | None = None,
    project: str = "demo",
    runtime: str = RUNTIME,
) -> Path:
    """manifest.json plus its zips in `directory`; `layers` maps name -> {path: text}."""
    directory.mkdir(parents=True, exist_ok=True)
    entries = []
    for name, files in layers.items():
        content_hash = _content_hash(files)
        bits = _entry_bits(directory, f"{name}-{content_hash[7:15]}.zip", zip_bytes(files))
        entries.append(
            LayerEntry(
                name=name,
                version=(versions or {}).get(name, 1),
                content_hash=content_hash,
                size_unzipped=sum(len(t) for t in files.values()),
                changed=True,
                packages=(PackageEntry(name=_package(files), version="1.0", size_unzipped=1),),
                **bits,
            )
        )
    fns = [
        FunctionEntry(
            name=name,
            handler="app.handler",
            size_unzipped=sum(len(t) for t in files.values()),
            **_entry_bits(directory, f"function-{name}.zip", zip_bytes(files)),
        )
        for name, files in (functions or {}).items()
    ]
    manifest = Manifest(
        generator="hatch-lambda-layers test",
        project_name=project,
        project_version="1.0",
        target=Target(
            runtime=runtime,
            architecture=ARCH,
            python_version=runtime.removeprefix("python"),
            glibc="2.34",
        ),
        layers=tuple(entries),
        functions=tuple(fns),
        provided=(),
        external_layers=tuple(external),
        limits=Limits(
            layers_used=len(entries),
            layers_max=5,
            unzipped_total=0,
            unzipped_max=262_144_000,
            zipped_layer_max=None,
            ok=True,
        ),
        license_info=license_info,
    )
    path = directory / "manifest.json"
    write_manifest(path, manifest)
    return path


LAYERS = {
    "demo-stable": {"python/six.py": "six = 1\n"},
    "demo-mid": {"python/attr/__init__.py": "attr = 1\n"},
    "demo-volatile": {"python/requests/__init__.py": "requests = '2.32.0'\n"},
}
BUMPED = {**LAYERS, "demo-volatile": {"python/requests/__init__.py": "requests = '2.32.3'\n"}}


def client(service: str, region: str = REGION) -> Any:
    """The tests' own clients, for the moto server the environment points at."""
    return _client(service, region, os.environ.get("AWS_ENDPOINT_URL", ""))


@functools.cache
def _client(service: str, region: str, endpoint: str) -> Any:
    """Cached per endpoint: each moto server's endpoint and fake credentials never change."""
    return boto3.session.Session(region_name=region).client(service)


def lam(region: str = REGION) -> Any:
    return client("lambda", region)


def versions_of(name: str, region: str = REGION) -> list[int]:
    pages = lam(region).get_paginator("list_layer_versions").paginate(LayerName=name)
    return sorted(v["Version"] for page in pages for v in page["LayerVersions"])


def quiet(_: str) -> None:
    pass


def read_published(manifest: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((manifest.parent / "published.json").read_text())
    return data


def make_function(name: str, files: Mapping[str, str], region: str = REGION) -> None:
    iam = client("iam", region)
    try:
        role = iam.create_role(RoleName="lambda-role", AssumeRolePolicyDocument="{}")["Role"]
    except ClientError:
        role = iam.get_role(RoleName="lambda-role")["Role"]
    lam(region).create_function(
        FunctionName=name,
        Runtime=RUNTIME,
        Architectures=[ARCH],
        Role=role["Arn"],
        Handler="app.handler",
        Code={"ZipFile": zip_bytes(files)},
    )
