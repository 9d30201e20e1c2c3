"""Publish benchmark: API calls and bytes uploaded by `lambda-layers publish`, against the
naive recipe (`aws lambda publish-layer-version` for every layer on every deploy).

    python benchmarks/publish_bench.py [MANIFEST] [--regions N] [--out FILE]

MANIFEST defaults to example_project/dist/lambda/manifest.json (build it first with the
README's first command). AWS is a moto server started here on 127.0.0.1 and reached by boto3
over HTTP; nothing leaves the machine. Scenarios, per region:
  first        an empty account: every layer is published
  no-change    the same manifest again
  function     the same manifest with --function-name (function created beforehand)
  naive        what publishing every layer on every deploy costs (one PublishLayerVersion per
               layer and region, every zip uploaded), for comparison with no-change
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


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


def _create_function(region: str, manifest: dict[str, Any]) -> str:
    import boto3

    role = boto3.client("iam", region_name=region).create_role(
        RoleName=f"bench-{region}",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    name = "bench-fn"
    boto3.client("lambda", region_name=region).create_function(
        FunctionName=name,
        Runtime=manifest["target"]["runtime"],
        Architectures=[manifest["target"]["architecture"]],
        Role=role,
        Handler=manifest["functions"][0]["handler"] or "app.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )
    return name


def run(manifest_path: Path, regions: list[str]) -> dict[str, Any]:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    from hatch_lambda_layers.publish import publish

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        with tempfile.TemporaryDirectory() as tmp:
            _env(f"http://{host}:{port}", Path(tmp))
            manifest = json.loads(manifest_path.read_text())
            results: dict[str, Any] = {}

            def record(label: str, **kwargs: Any) -> None:
                report = publish(manifest_path, regions, log=lambda _m: None, **kwargs)
                results[label] = {
                    "api_calls": report.api_calls,
                    "bytes_uploaded": report.bytes_uploaded,
                    "layers_published": sum(1 for x in report.layers if x.uploaded),
                    "layers_reused": sum(1 for x in report.layers if not x.uploaded),
                }

            record("first")
            record("no-change")
            function = None
            for region in regions:
                function = _create_function(region, manifest)
            record("function-first", function_name=function)
            record("function-no-change", function_name=function)
            layers = manifest["layers"]
            results["naive"] = {
                "api_calls": len(layers) * len(regions),
                "bytes_uploaded": sum(x["size_zipped"] for x in layers) * len(regions),
                "layers_published": len(layers) * len(regions),
                "layers_reused": 0,
            }
            return {
                "manifest": os.path.relpath(manifest_path, ROOT),
                "layers": len(layers),
                "regions": regions,
                "layer_bytes": sum(x["size_zipped"] for x in layers),
                "results": results,
            }
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "manifest",
        nargs="?",
        default=str(ROOT / "example_project" / "dist" / "lambda" / "manifest.json"),
    )
    parser.add_argument("--regions", type=int, default=2, help="how many regions (default 2)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "publish.json"))
    args = parser.parse_args(argv)
    manifest = Path(args.manifest)
    if not manifest.exists():
        print(f"{manifest} does not exist: run the README's first command", file=sys.stderr)
        return 2
    all_regions = ["us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1"]
    data = run(manifest, all_regions[: max(1, min(args.regions, len(all_regions)))])
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(data, indent=2) + "\n")
    print(
        f"{data['layers']} layers, {data['layer_bytes']:,} bytes zipped, regions {data['regions']}"
    )
    print(
        f"{'scenario':<22} {'API calls':>10} {'bytes uploaded':>15} {'published':>10} {'reused':>7}"
    )
    for label, r in data["results"].items():
        print(
            f"{label:<22} {r['api_calls']:>10} {r['bytes_uploaded']:>15,} "
            f"{r['layers_published']:>10} {r['layers_reused']:>7}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
