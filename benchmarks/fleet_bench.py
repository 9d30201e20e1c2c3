"""Fleet benchmark: API calls and bytes uploaded when ten projects that use the same five
popular layers deploy to two regions, with and without the shared store (`--store`).

    python benchmarks/fleet_bench.py [--projects 10] [--regions 2] [--scale 0.05] [--out FILE]

AWS is a moto server started here on 127.0.0.1 and reached by boto3 over HTTP; nothing leaves
the machine. Each project's manifest holds the same five layers (the same files, so the same
content hashes), zips of incompressible bytes sized like numpy, pandas, pydantic, a requests
stack and a small utility layer, times `--scale` (the counts and the ratio do not depend on
it; it keeps the server's memory small). Projects deploy one after the other, then all deploy
again unchanged. Without the store every project publishes the layers under its own names;
with it, layers are named by their content and each is published once per region.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import logging
import os
import random
import tempfile
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

from hatch_lambda_layers.manifest import (
    LayerEntry,
    Limits,
    Manifest,
    PackageEntry,
    Target,
    write_manifest,
)

ROOT = Path(__file__).resolve().parents[1]

# Zipped bytes of the five popular layers before --scale (the order of magnitude of their
# manylinux wheels for CPython 3.12 on x86_64).
POPULAR = {
    "numpy": 17_000_000,
    "pandas": 12_000_000,
    "pydantic": 2_100_000,
    "requests": 900_000,
    "attrs": 300_000,
}
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1"]
BUCKET = "fleet-bench-store"


def _layer_zip(package: str, size: int) -> tuple[bytes, str]:
    """A reproducible zip of incompressible bytes for `package`, and its content hash."""
    data = random.Random(package).randbytes(size)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        info = zipfile.ZipInfo(f"python/{package}/_data.bin", date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        zf.writestr(info, data)
    content = hashlib.sha256(f"python/{package}/_data.bin\0".encode() + data).hexdigest()
    return buf.getvalue(), "sha256:" + content


def write_project(directory: Path, project: str, scale: float) -> Path:
    """manifest.json and five layer zips for one project."""
    directory.mkdir(parents=True, exist_ok=True)
    layers = []
    for package, size in POPULAR.items():
        data, content_hash = _layer_zip(package, max(1, int(size * scale)))
        file = f"{project}-{package}.zip"
        (directory / file).write_bytes(data)
        sha = hashlib.sha256(data).hexdigest()
        layers.append(
            LayerEntry(
                name=f"{project}-{package}",
                file=file,
                version=1,
                sha256=sha,
                code_sha256=base64.b64encode(bytes.fromhex(sha)).decode(),
                content_hash=content_hash,
                size_zipped=len(data),
                size_unzipped=len(data),
                changed=True,
                packages=(PackageEntry(name=package, version="1.0", size_unzipped=len(data)),),
            )
        )
    manifest = Manifest(
        generator="fleet benchmark",
        project_name=project,
        project_version="1.0",
        target=Target(
            runtime="python3.12", architecture="x86_64", python_version="3.12", glibc="2.34"
        ),
        layers=tuple(layers),
        functions=(),
        provided=(),
        external_layers=(),
        limits=Limits(
            layers_used=5,
            layers_max=5,
            unzipped_total=0,
            unzipped_max=262_144_000,
            zipped_layer_max=None,
            ok=True,
        ),
    )
    path = directory / "manifest.json"
    write_manifest(path, manifest)
    return path


def _env(endpoint: str, config_dir: Path) -> None:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        os.environ.pop(name, None)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(config_dir / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(config_dir / "credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL": endpoint,
        }
    )


def _layer_versions(regions: list[str]) -> int:
    import boto3

    total = 0
    for region in regions:
        lam = boto3.client("lambda", region_name=region)
        for page in lam.get_paginator("list_layers").paginate():
            for layer in page["Layers"]:
                pages = lam.get_paginator("list_layer_versions").paginate(
                    LayerName=layer["LayerName"]
                )
                total += sum(len(p["LayerVersions"]) for p in pages)
    return total


def scenario(
    manifests: list[Path], regions: list[str], store: str | None
) -> dict[str, dict[str, int]]:
    """Every project deploys once, then all deploy again unchanged; calls and bytes of each
    round, and the layer versions that exist after it."""
    from hatch_lambda_layers.publish import publish

    results: dict[str, dict[str, int]] = {}
    for label in ("first deploy", "no-change deploy"):
        calls = uploaded = published = 0
        for manifest in manifests:
            report = publish(manifest, regions, store=store, log=lambda _m: None)
            calls += report.api_calls
            uploaded += report.bytes_uploaded
            published += sum(x.uploaded for x in report.layers)
        results[label] = {
            "api_calls": calls,
            "bytes_uploaded": uploaded,
            "layer_versions_published": published,
            "layer_versions_existing": _layer_versions(regions),
        }
    return results


def _reset(endpoint: str) -> None:
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


def run(projects: int, regions: list[str], scale: float) -> dict[str, Any]:
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        with tempfile.TemporaryDirectory() as tmp:
            _env(endpoint, Path(tmp))
            manifests = [
                write_project(Path(tmp) / f"p{i}", f"project{i}", scale) for i in range(projects)
            ]
            without = scenario(manifests, regions, None)
            _reset(endpoint)
            boto3.client("s3", region_name=regions[0]).create_bucket(Bucket=BUCKET)
            with_store = scenario(manifests, regions, f"s3://{BUCKET}/layers")
            layer_bytes = sum(
                e["size_zipped"] for e in json.loads(manifests[0].read_text())["layers"]
            )
    finally:
        server.stop()
    return {
        "projects": projects,
        "regions": regions,
        "shared_layers": len(POPULAR),
        "scale": scale,
        "layer_bytes_per_project": layer_bytes,
        "without_store": without,
        "with_store": with_store,
    }


def _ratio(data: dict[str, Any], label: str, key: str) -> float:
    with_store = data["with_store"][label][key]
    return float(data["without_store"][label][key]) / with_store if with_store else float("inf")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--projects", type=int, default=10)
    parser.add_argument("--regions", type=int, default=2)
    parser.add_argument("--scale", type=float, default=0.05, help="layer size factor")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "fleet.json"))
    args = parser.parse_args(argv)
    regions = REGIONS[: max(1, min(args.regions, len(REGIONS)))]
    data = run(max(1, args.projects), regions, args.scale)
    data["ratios"] = {
        key: round(_ratio(data, "first deploy", key), 2)
        for key in ("bytes_uploaded", "layer_versions_published", "api_calls")
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(data, indent=2) + "\n")
    print(
        f"{data['projects']} projects x {data['shared_layers']} shared layers "
        f"({data['layer_bytes_per_project']:,} bytes zipped each), regions {regions}"
    )
    print(f"{'':<10} {'round':<18} {'API calls':>10} {'bytes uploaded':>15} {'published':>10}")
    for mode in ("without_store", "with_store"):
        for label, r in data[mode].items():
            print(
                f"{mode:<14} {label:<18} {r['api_calls']:>10} {r['bytes_uploaded']:>15,} "
                f"{r['layer_versions_published']:>10}"
            )
    print("first deploy, without / with store:", data["ratios"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
