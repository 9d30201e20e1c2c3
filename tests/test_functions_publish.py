"""`lambda-layers publish` with functions that attach different layers (functions[].layers),
against a moto server on 127.0.0.1: each Lambda function gets exactly its own layers, in
manifest order, then the external ones; the dry run says so; the SAM parameters script too."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("boto3")

from hatch_lambda_layers import publish as pub
from tests.motoserver import moto_endpoint  # noqa: F401
from tests.publishkit import LAYERS, REGION, lam, make_function, make_manifest, quiet

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "deploy"
CODE = {"app.py": "def handler(e, c): return 1\n"}
SAM_PARAMS = [sys.executable, str(EXAMPLES / "sam" / "sam_params.py")]
EXTERNAL = "arn:aws:lambda:us-east-1:123456789012:layer:tools:3"


def _per_function_manifest(directory: Path, external: tuple[str, ...] = ()) -> Path:
    manifest = make_manifest(
        directory, LAYERS, functions={"api": CODE, "auth": CODE}, external=external
    )
    data = json.loads(manifest.read_text())
    for function in data["functions"]:
        function["layers"] = (
            ["demo-stable", "demo-volatile"] if function["name"] == "api" else ["demo-stable"]
        )
    manifest.write_text(json.dumps(data))
    return manifest


@pytest.mark.usefixtures("moto_endpoint")
def test_each_function_gets_only_its_layers(tmp_path: Path) -> None:
    make_function("prod-api", {"app.py": "old"})
    make_function("prod-auth", {"app.py": "old"})
    manifest = _per_function_manifest(tmp_path)
    names = ["api=prod-api", "auth=prod-auth"]
    dry = pub.publish(manifest, [REGION], function_names=names, dry_run=True, log=quiet)
    details = [a.detail for a in dry.actions if a.kind == "update-layers"]
    assert details == [
        "set layers to demo-stable:<new>, demo-volatile:<new>",
        "set layers to demo-stable:<new>",
    ]
    report = pub.publish(manifest, [REGION], function_names=names, log=quiet)
    arns = {x.name: x.arn for x in report.layers}
    got = {
        name: [x["Arn"] for x in lam().get_function_configuration(FunctionName=name)["Layers"]]
        for name in ("prod-api", "prod-auth")
    }
    assert got == {
        "prod-api": [arns["demo-stable"], arns["demo-volatile"]],
        "prod-auth": [arns["demo-stable"]],
    }


def test_sam_parameters_take_the_functions_own_layers(tmp_path: Path) -> None:
    manifest = _per_function_manifest(tmp_path, (EXTERNAL,))
    published = {
        "complete": True,
        "layers": [
            {"region": REGION, "name": n, "version": 1, "arn": f"arn:{n}:1"} for n in LAYERS
        ],
    }
    (tmp_path / "published.json").write_text(json.dumps(published))
    done = subprocess.run(
        [*SAM_PARAMS, str(manifest), "--region", REGION, "--function", "auth"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split()[0] == f"LayerArns=arn:demo-stable:1,{EXTERNAL}"
