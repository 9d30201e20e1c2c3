"""`lambda-layers publish` on a manifest the real pipeline built, against a moto server on
127.0.0.1 reached over HTTP by boto3."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hatch_lambda_layers import cli
from tests.motoserver import moto_endpoint  # noqa: F401  (fixture)
from tests.projects import Fixture, build, copy_project

boto3 = pytest.importorskip("boto3")
pytestmark = pytest.mark.usefixtures("isolated_cache")


def _role() -> str:
    iam = boto3.client("iam")
    doc = json.dumps(
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
    )
    return str(iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument=doc)["Role"]["Arn"])


def test_publish_built_manifest(
    fixture: Fixture,
    moto_endpoint: str,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    project = copy_project(fixture.project, tmp_path / "p")
    assert build(project) == 0
    manifest_path = project / "dist" / "lambda" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    region = "eu-central-1"
    client = boto3.client("lambda", region_name=region)

    # --dry-run: says what it would upload, changes nothing.
    capsys.readouterr()
    assert cli.main(["publish", str(manifest_path), "--region", region, "--dry-run"]) == 0
    out = capsys.readouterr().out
    total = sum(layer["size_zipped"] for layer in manifest["layers"])
    assert f"would upload {total:,} bytes" in out
    assert client.list_layers()["Layers"] == []
    assert not (manifest_path.parent / "published.json").exists()

    # First publish: every layer, with its content hash where Lambda keeps it.
    assert cli.main(["--quiet", "publish", str(manifest_path), "--region", region]) == 0
    assert f"uploaded {total:,} bytes" in capsys.readouterr().out
    for layer in manifest["layers"]:
        (version,) = client.list_layer_versions(LayerName=layer["name"])["LayerVersions"]
        assert layer["content_hash"] in version["Description"]
        assert version["CompatibleRuntimes"] == ["python3.11"]
    published = json.loads((manifest_path.parent / "published.json").read_text())
    assert published["complete"] is True

    # Unchanged: nothing uploaded, no new versions.
    assert cli.main(["--quiet", "publish", str(manifest_path), "--region", region]) == 0
    assert "uploaded 0 bytes" in capsys.readouterr().out
    for layer in manifest["layers"]:
        assert len(client.list_layer_versions(LayerName=layer["name"])["LayerVersions"]) == 1

    # Point a function at the layers: code updated to the manifest's, layers in manifest order.
    client.create_function(
        FunctionName="hello",
        Runtime="python3.11",
        Role=_role(),
        Handler="hello_fn.handler.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )
    argv = [
        "--quiet",
        "publish",
        str(manifest_path),
        "--region",
        region,
        "--function-name",
        "hello",
    ]
    assert cli.main(argv) == 0
    config = client.get_function(FunctionName="hello")["Configuration"]
    assert config["CodeSha256"] == manifest["functions"][0]["code_sha256"]
    arns = [layer["Arn"] for layer in config["Layers"]]
    assert [a.split(":")[-2] for a in arns] == [layer["name"] for layer in manifest["layers"]]


def test_publish_usage_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["publish", str(tmp_path / "manifest.json")])
    assert info.value.code == 2
    assert "--region" in capsys.readouterr().err
    assert cli.main(["publish", str(tmp_path / "missing.json"), "--region", "us-east-1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "missing.json" in err[0]


def test_boto3_is_imported_only_when_publishing() -> None:
    """The CLI and the publish package load without boto3 (it lives in the publish extra)."""
    code = (
        "import sys, hatch_lambda_layers.cli, hatch_lambda_layers.publish; "
        "print(sorted(m for m in ('boto3', 'botocore') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
