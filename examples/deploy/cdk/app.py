"""AWS CDK (Python) app deploying a hatch-lambda-layers build.

One LayerVersion per layer in manifest.json (in manifest order) and a Function on them, followed
by the project's external layers. A layer zip whose content did not change keeps its bytes, so
its asset hash, its LayerVersion and its ARN stay the same: nothing is republished.

    uv build
    LAMBDA_MANIFEST=dist/lambda/manifest.json cdk deploy
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

MANIFEST = Path(os.environ.get("LAMBDA_MANIFEST", "dist/lambda/manifest.json"))


class LayeredFunctionStack(cdk.Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, manifest_path: Path, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        dist = manifest_path.parent
        target = manifest["target"]
        runtime = lambda_.Runtime(target["runtime"], lambda_.RuntimeFamily.PYTHON)
        architecture = (
            lambda_.Architecture.ARM_64
            if target["architecture"] == "arm64"
            else lambda_.Architecture.X86_64
        )

        function = manifest["functions"][0]
        # A function with dependencies of its own lists the layers it attaches; else it gets all.
        attached = function.get("layers", [x["name"] for x in manifest["layers"]])
        layers: list[lambda_.ILayerVersion] = []
        for layer in (x for x in manifest["layers"] if x["name"] in attached):
            layers.append(
                lambda_.LayerVersion(
                    self,
                    f"Layer-{layer['name']}",
                    layer_version_name=layer["name"],
                    # A .zip asset is uploaded as is, not zipped again.
                    code=lambda_.Code.from_asset(str(dist / layer["file"])),
                    compatible_runtimes=[runtime],
                    compatible_architectures=[architecture],
                    # What `lambda-layers publish` writes too: either tool reuses the other's.
                    description=(
                        f"hatch-lambda-layers content_hash={layer['content_hash']}"
                        f" (layer v{layer['version']})"
                    ),
                    # Old versions may still be in use elsewhere: keep them.
                    removal_policy=cdk.RemovalPolicy.RETAIN,
                )
            )
        for index, arn in enumerate(manifest["external_layers"]):
            layers.append(
                lambda_.LayerVersion.from_layer_version_arn(self, f"External{index}", arn)
            )

        lambda_.Function(
            self,
            "Function",
            runtime=runtime,
            architecture=architecture,
            handler=function["handler"],
            code=lambda_.Code.from_asset(str(dist / function["file"])),
            layers=layers,
            memory_size=256,
            timeout=cdk.Duration.seconds(30),
        )


app = cdk.App()
LayeredFunctionStack(app, "LayeredFunction", manifest_path=MANIFEST)
app.synth()
