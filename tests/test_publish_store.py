"""The shared store (`--store s3://bucket/prefix`) in one process: content-derived layer names,
records reused across projects, stale records replaced, claims waited for and taken over, and
two runners racing converging on one recorded ARN. AWS is a moto server on 127.0.0.1 that
handles one request at a time (tests/awsproxy.py), reached over HTTP by boto3, some runners
through a proxy that pauses their requests to stage a race."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("boto3")
pytest.importorskip("moto.server")

from hatch_lambda_layers import publish as pub
from hatch_lambda_layers.errors import StoreError
from hatch_lambda_layers.manifest import read_manifest
from hatch_lambda_layers.publish import shared
from hatch_lambda_layers.publish.claims import LEASE_ENV, Claim, StoreRecord
from hatch_lambda_layers.publish.naming import shared_layer_name
from hatch_lambda_layers.publish.store import host_identity
from tests.awsproxy import Aws, Rule, aws_fixture, serial_moto_fixture  # noqa: F401
from tests.publishkit import (
    ACCOUNT,
    ARCH,
    LAYERS,
    REGION,
    REGION2,
    RUNTIME,
    client,
    lam,
    make_manifest,
    quiet,
    read_published,
    versions_of,
)

BUCKET = "fleet-store"
STORE = f"s3://{BUCKET}/shared"
LAYER_VERSIONS = r"/2018-10-31/layers/[^/?]+/versions"


@pytest.fixture(autouse=True)
def _bucket(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    client("s3").create_bucket(Bucket=BUCKET)
    monkeypatch.setattr(shared, "POLL_FIRST", 0.05)
    monkeypatch.setattr(shared, "POLL_MAX", 0.2)


def _names(manifest: Path) -> dict[str, str]:
    """Manifest layer name -> content-derived Lambda layer name."""
    return {e.name: shared_layer_name(e) for e in read_manifest(manifest).layers}


def _record_key(manifest: Path, layer: str, region: str) -> str:
    entry = next(e for e in read_manifest(manifest).layers if e.name == layer)
    digest = entry.content_hash.removeprefix("sha256:")
    return f"shared/layers/{digest}/{RUNTIME}-{ARCH}/{ACCOUNT}/{region}"


def _record(manifest: Path, layer: str, region: str = REGION) -> dict[str, Any]:
    key = _record_key(manifest, layer, region) + ".json"
    body = client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()
    data: dict[str, Any] = json.loads(body)
    return data


def test_layer_names_come_from_the_content(tmp_path: Path) -> None:
    a = read_manifest(make_manifest(tmp_path / "a", LAYERS, project="alpha"))
    b = read_manifest(make_manifest(tmp_path / "b", LAYERS, project="beta"))
    names = [shared_layer_name(e) for e in a.layers]
    assert names == [shared_layer_name(e) for e in b.layers]
    assert names[0] == f"lambda-layers-six-{a.layers[0].content_hash[7:19]}"
    assert all(len(n) <= 64 for n in names)


def test_two_projects_share_one_version_per_region(tmp_path: Path) -> None:
    own = {"python/alpha_app/__init__.py": "alpha = 1\n"}
    alpha = make_manifest(tmp_path / "alpha", {**LAYERS, "alpha-own": own}, project="alpha")
    first = pub.publish(alpha, [REGION, REGION2], store=STORE, log=quiet)
    assert [x.source for x in first.layers] == ["published"] * 8
    names = _names(alpha)
    for region in (REGION, REGION2):
        for layer, name in names.items():
            assert versions_of(name, region) == [1]
            assert _record(alpha, layer, region)["arn"].endswith(f":layer:{name}:1")
    stored = client("s3").list_objects_v2(Bucket=BUCKET, Prefix="shared/layers/")["Contents"]
    zips = [o["Key"] for o in stored if o["Key"].endswith("/layer.zip")]
    assert len(zips) == 4  # each content kept once, whatever the number of regions

    beta = make_manifest(tmp_path / "beta", LAYERS, project="beta")
    second = pub.publish(beta, [REGION, REGION2], store=STORE, log=quiet)
    assert [x.source for x in second.layers] == ["store"] * 6
    assert second.bytes_uploaded == 0
    assert {x.arn for x in second.layers} <= {x.arn for x in first.layers}
    record = read_published(beta)
    assert record["store"]["hits"] == 6
    assert record["store"]["published"] == 0
    assert record["layers"][0]["layer_name"] == names["demo-stable"]
    # A store hit costs one GET of the record and one GetLayerVersion per layer and region.
    assert second.api_calls == 2 + 2 * 6  # + GetCallerIdentity and HeadBucket


def test_version_found_by_content_is_recorded_not_published_again(tmp_path: Path) -> None:
    """A runner killed after publishing but before recording: the next one finds the version
    by its content hash and records it."""
    manifest = make_manifest(tmp_path, LAYERS)
    pub.publish(manifest, [REGION], store=STORE, log=quiet)
    for layer in LAYERS:
        client("s3").delete_object(
            Bucket=BUCKET, Key=_record_key(manifest, layer, REGION) + ".json"
        )
    report = pub.publish(manifest, [REGION], store=STORE, log=quiet)
    assert [x.source for x in report.layers] == ["reused"] * 3
    assert all(versions_of(name) == [1] for name in _names(manifest).values())
    assert all(_record(manifest, layer)["version"] == 1 for layer in LAYERS)


def test_stale_record_is_replaced(tmp_path: Path) -> None:
    manifest = make_manifest(tmp_path, LAYERS)
    pub.publish(manifest, [REGION], store=STORE, log=quiet)
    name = _names(manifest)["demo-mid"]
    lam().delete_layer_version(LayerName=name, VersionNumber=1)
    logs: list[str] = []
    report = pub.publish(manifest, [REGION], store=STORE, log=logs.append)
    assert [x.source for x in report.layers] == ["store", "published", "store"]
    assert any("which no longer exists" in m for m in logs)
    assert versions_of(name) == [2]
    assert _record(manifest, "demo-mid")["version"] == 2


def test_untrusted_record_is_a_one_line_error(tmp_path: Path) -> None:
    manifest = make_manifest(tmp_path, LAYERS)
    key = _record_key(manifest, "demo-stable", REGION) + ".json"
    other = StoreRecord(
        arn="arn:aws:lambda:us-east-1:999999999999:layer:evil:1",
        content_hash=read_manifest(manifest).layers[0].content_hash,
        runtime=RUNTIME,
        architecture=ARCH,
    )
    client("s3").put_object(Bucket=BUCKET, Key=key, Body=other.to_json())
    with pytest.raises(StoreError) as info:
        pub.publish(manifest, [REGION], store=STORE, log=quiet)
    message = str(info.value)
    assert f"s3://{BUCKET}/{key}" in message
    assert "not a layer version of account 123456789012" in message
    assert "\n" not in message
    client("s3").put_object(Bucket=BUCKET, Key=key, Body=b"{not json")
    with pytest.raises(StoreError, match="is not JSON"):
        pub.publish(manifest, [REGION], store=STORE, log=quiet)


def test_dry_run_writes_nothing_to_the_store(tmp_path: Path) -> None:
    manifest = make_manifest(tmp_path, LAYERS)
    report = pub.publish(manifest, [REGION], store=STORE, dry_run=True, log=quiet)
    assert [a.kind for a in report.actions] == ["publish"] * 3
    assert all(" as lambda-layers-" in a.detail for a in report.actions)
    assert "Contents" not in client("s3").list_objects_v2(Bucket=BUCKET)


def _claim(manifest: Path, layer: str, claim: Claim) -> None:
    key = _record_key(manifest, layer, REGION) + ".claim"
    client("s3").put_object(Bucket=BUCKET, Key=key, Body=claim.to_json())


def test_claim_of_a_process_gone_from_this_host_is_taken_over_at_once(tmp_path: Path) -> None:
    manifest = make_manifest(tmp_path, LAYERS)
    code = "import os; print(os.getpid())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    dead = int(done.stdout)
    _claim(manifest, "demo-stable", Claim("killed", host_identity(), dead, 3600.0))
    logs: list[str] = []
    report = pub.publish(manifest, [REGION], store=STORE, log=logs.append)
    assert report.layers[0].source == "published"
    assert any(f"took over the claim of run killed (process {dead}" in m for m in logs)


def test_waiting_runner_uses_the_claimants_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A live claimant (another host, long lease): the runner waits and uses its record."""
    manifest = make_manifest(tmp_path, LAYERS)
    _claim(manifest, "demo-stable", Claim("other", "another-host", 1, 3600.0))
    name = _names(manifest)["demo-stable"]
    entry = read_manifest(manifest).layers[0]
    logs: list[str] = []

    def claimant() -> None:
        while not any("waiting for run other" in m for m in logs):
            threading.Event().wait(0.02)
        empty_zip = b"PK\x05\x06" + b"\0" * 18
        version = lam().publish_layer_version(LayerName=name, Content={"ZipFile": empty_zip})
        record = StoreRecord(version["LayerVersionArn"], entry.content_hash, RUNTIME, ARCH)
        key = _record_key(manifest, "demo-stable", REGION) + ".json"
        client("s3").put_object(Bucket=BUCKET, Key=key, Body=record.to_json())

    thread = threading.Thread(target=claimant)
    thread.start()
    report = pub.publish(manifest, [REGION], store=STORE, log=logs.append)
    thread.join()
    assert report.layers[0].source == "store"
    assert report.layers[0].arn.endswith(f":layer:{name}:1")
    assert versions_of(name) == [1]


def test_two_runners_racing_publish_at_most_twice_and_converge(
    aws: Aws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runner A claims and sends its PublishLayerVersion, which the proxy holds; A's lease runs
    out, so runner B takes the claim over, publishes and records; then A's request reaches
    Lambda (a second version), and A, losing the record write, uses B's version."""
    monkeypatch.setenv(LEASE_ENV, "0.3")
    one = {"demo-stable": LAYERS["demo-stable"]}
    paused = aws.proxy.add(Rule("POST", LAYER_VERSIONS, "pause"))
    a_manifest = make_manifest(tmp_path / "a", one, project="alpha")
    b_manifest = make_manifest(tmp_path / "b", one, project="beta")
    results: dict[str, pub.PublishReport] = {}

    def runner_a() -> None:
        results["a"] = pub.publish(
            a_manifest, [REGION], store=STORE, session_factory=aws.session, log=quiet
        )

    thread = threading.Thread(target=runner_a)
    thread.start()
    assert paused.held.wait(30)
    logs: list[str] = []
    results["b"] = pub.publish(b_manifest, [REGION], store=STORE, log=logs.append)
    assert any("took over the claim of run" in m for m in logs)
    paused.release.set()
    thread.join(60)
    name = _names(a_manifest)["demo-stable"]
    assert versions_of(name) == [1, 2]  # at most twice
    recorded = _record(a_manifest, "demo-stable")["arn"]
    assert results["a"].layers[0].arn == results["b"].layers[0].arn == recorded
    assert results["b"].layers[0].source == "published"
    assert results["a"].layers[0].source == "adopted"
    assert read_published(a_manifest)["store"]["adopted"] == 1
