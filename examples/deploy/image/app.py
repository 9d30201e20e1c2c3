"""AWS CDK (Python) app deploying a hatch-lambda-layers image build (mode = "image").

CDK builds the context the build wrote (`dist/lambda/image/`) with Docker at synth time and
pushes it to the bootstrap ECR repository; each function of the manifest runs the image with its
own handler as the command. Unchanged image layers are cached by Docker and not pushed again.

    uv build
    LAMBDA_MANIFEST=dist/lambda/manifest.json cdk deploy
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

MANIFEST = Path(os.environ.get("LAMBDA_MANIFEST", "dist/lambda/manifest.json"))


class ImageFunctionStack(cdk.Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, manifest_path: Path, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        image = manifest["image"]
        context = manifest_path.parent / image["context"]
        architecture = (
            lambda_.Architecture.ARM_64
            if manifest["target"]["architecture"] == "arm64"
            else lambda_.Architecture.X86_64
        )
        for function in image["functions"]:
            lambda_.DockerImageFunction(
                self,
                f"Function-{function['name']}",
                function_name=function["name"],
                code=lambda_.DockerImageCode.from_image_asset(
                    str(context),
                    platform=ecr_assets.Platform.custom(image["platform"]),
                    cmd=[function["handler"]],
                ),
                architecture=architecture,
                memory_size=1024,
                timeout=cdk.Duration.seconds(30),
            )


app = cdk.App()
ImageFunctionStack(app, "ImageFunction", manifest_path=MANIFEST)
app.synth()
