"""Many pipelines, one store: separate processes running `python -m hatch_lambda_layers publish`
against one moto server on 127.0.0.1 (one request at a time, as atomic as S3 and Lambda; see
tests/awsproxy.py) through a proxy, with one `--store`. Eight at once publish each content at
most twice per region and all end with the ARN the store records; a run killed with SIGKILL
mid-publish is finished by the next one without a duplicate."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("boto3")
pytest.importorskip("moto.server")

from hatch_lambda_layers import publish as pub
from hatch_lambda_layers.manifest import read_manifest
from hatch_lambda_layers.publish.naming import shared_layer_name
from tests.awsproxy import Aws, Rule, aws_fixture, serial_moto_fixture  # noqa: F401
from tests.publishkit import (
    ACCOUNT,
    ARCH,
    LAYERS,
    REGION,
    REGION2,
    RUNTIME,
    client,
    make_manifest,
    read_published,
    versions_of,
)

ROOT = Path(__file__).resolve().parents[1]
BUCKET = "fleet-store"
STORE = f"s3://{BUCKET}/layers"
LAYER_VERSIONS = r"/2018-10-31/layers/[^/?]+/versions"
RUNNERS = 8


def _runner(manifest: Path, endpoint: str, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint}
    argv = [sys.executable, "-m", "hatch_lambda_layers", "publish", str(manifest)]
    argv += ["--region", REGION, "--region", REGION2, *extra]
    return subprocess.Popen(
        argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _recorded_arn(entry_hash: str, region: str) -> str:
    key = f"layers/layers/{entry_hash.removeprefix('sha256:')}/{RUNTIME}-{ARCH}/{ACCOUNT}/{region}"
    body = client("s3").get_object(Bucket=BUCKET, Key=key + ".json")["Body"].read()
    return str(json.loads(body)["arn"])


@pytest.fixture(autouse=True)
def _bucket(aws: Aws) -> None:
    client("s3").create_bucket(Bucket=BUCKET)


def test_eight_concurrent_publishers_publish_each_layer_at_most_twice_and_converge(
    aws: Aws, tmp_path: Path
) -> None:
    # Every PublishLayerVersion answers late, so that runners overlap while publishing.
    aws.proxy.add(Rule("POST", LAYER_VERSIONS, "delay", times=1000, seconds=0.3))
    manifests = [
        make_manifest(
            tmp_path / f"p{i}",
            {**LAYERS, f"p{i}-own": {f"python/app{i}/__init__.py": f"app = {i}\n"}},
            project=f"p{i}",
        )
        for i in range(RUNNERS)
    ]
    runners = [_runner(m, aws.proxy.url, "--store", STORE) for m in manifests]
    for proc in runners:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    shared = [e for e in read_manifest(manifests[0]).layers if e.name in LAYERS]
    for region in (REGION, REGION2):
        for entry in shared:
            published = versions_of(shared_layer_name(entry), region)
            assert 1 <= len(published) <= 2, (entry.name, region, published)
            recorded = _recorded_arn(entry.content_hash, region)
            for manifest in manifests:
                arns = {
                    x["arn"]
                    for x in read_published(manifest)["layers"]
                    if x["region"] == region and x["name"] == entry.name
                }
                assert arns == {recorded}
    for i, manifest in enumerate(manifests):
        own = read_manifest(manifest).layers[-1]
        assert versions_of(shared_layer_name(own)) == [1], i
        assert read_published(manifest)["complete"] is True
    sources = [x["source"] for m in manifests for x in read_published(m)["layers"]]
    assert sources.count("published") >= 2 * (len(LAYERS) + RUNNERS)  # each content, each region
    assert sources.count("published") <= 2 * (2 * len(LAYERS) + RUNNERS)


@pytest.mark.parametrize(
    ("moment", "store"),
    [("hold-after", True), ("hold-before", True), ("hold-after", False)],
    ids=["after-aws-acted-store", "before-aws-acted-store", "after-aws-acted-no-store"],
)
def test_killed_run_then_rerun_completes_without_duplicates(
    aws: Aws, tmp_path: Path, moment: str, store: bool
) -> None:
    manifest = make_manifest(tmp_path, LAYERS)
    held = aws.proxy.add(Rule("POST", LAYER_VERSIONS, moment, skip=1))
    extra = ["--store", STORE] if store else []
    proc = _runner(manifest, aws.proxy.url, *extra)
    try:
        assert held.held.wait(120), proc.stderr.read() if proc.stderr else ""
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        held.release.set()
    assert proc.returncode == -signal.SIGKILL
    logs: list[str] = []
    report = pub.publish(
        manifest, [REGION, REGION2], store=STORE if store else None, log=logs.append
    )
    entries = read_manifest(manifest).layers
    for region in (REGION, REGION2):
        for entry in entries:
            name = shared_layer_name(entry) if store else entry.name
            assert versions_of(name, region) == [1], (entry.name, region)
            if store:
                assert _recorded_arn(entry.content_hash, region).endswith(f":{name}:1")
    assert read_published(manifest)["complete"] is True
    assert all(x.version == 1 for x in report.layers)
    if store and moment == "hold-before":
        assert any("took over the claim" in m for m in logs)
