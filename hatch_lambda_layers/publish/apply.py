"""Phase 3, writes: publish what no version carries, then point the function at its code and
layers, each only when it differs, waiting for every function update to finish.

Nothing is ever deleted. What is done is recorded in a :class:`Progress` as it happens, so a
failure part-way still leaves an accurate account of what exists.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import PublishError
from ..manifest import Manifest
from .aws import Aws, aws_errors
from .check import Artifact
from .description import describe
from .plan import FunctionStep, LayerStep, RegionPlan, layers_detail
from .report import FunctionUpdate, PublishAction, PublishedLayer

__all__ = ["Progress", "apply_region"]

Log = Callable[[str], None]


class Progress:
    """What has been done so far: what published.json records, complete or not."""

    def __init__(self) -> None:
        self.layers: list[PublishedLayer] = []
        self.actions: list[PublishAction] = []
        self.functions: list[FunctionUpdate] = []


def _upload_s3(aws: Aws, region: str, bucket: str, artifact: Artifact) -> None:
    s3 = aws.client(region, "s3")
    with (
        artifact.path.open("rb") as body,
        aws_errors(region, f"uploading {artifact.path.name} to s3://{bucket}/{artifact.s3_key}"),
    ):
        s3.put_object(
            Bucket=bucket,
            Key=artifact.s3_key,
            Body=body,
            ContentLength=artifact.size,
            ChecksumSHA256=artifact.code_sha256,  # S3 rejects the object if bytes differ
        )
    aws.bytes_uploaded += artifact.size


def _read_verified(artifact: Artifact) -> bytes:
    data = artifact.path.read_bytes()
    if hashlib.sha256(data).hexdigest() != artifact.sha256:
        raise PublishError(f"zip {str(artifact.path)!r} changed while publishing; rebuild")
    return data


def _content(
    aws: Aws, region: str, artifact: Artifact, s3_bucket: str | None, present: bool
) -> dict[str, Any]:
    """Where Lambda takes the zip from, uploading it to S3 first when needed."""
    if artifact.via_s3:
        assert s3_bucket is not None  # check_artifacts guarantees it
        if not present:
            _upload_s3(aws, region, s3_bucket, artifact)
        return {"S3Bucket": s3_bucket, "S3Key": artifact.s3_key}
    return {"ZipFile": _read_verified(artifact)}


def _publish_layer(
    aws: Aws, manifest: Manifest, region: str, step: LayerStep, s3_bucket: str | None
) -> PublishedLayer:
    """A new version of the step's layer, its Description carrying the content hash."""
    entry = step.entry
    content = _content(aws, region, step.artifact, s3_bucket, step.s3_present)
    params: dict[str, Any] = {
        "LayerName": entry.name,
        "Description": describe(entry.content_hash, entry.version, manifest.project_name),
        "Content": content,
        "CompatibleRuntimes": [manifest.target.runtime],
        "CompatibleArchitectures": [manifest.target.architecture],
    }
    if manifest.license_info:
        params["LicenseInfo"] = manifest.license_info
    with aws_errors(region, f"publishing layer {entry.name!r}"):
        response = aws.client(region, "lambda").publish_layer_version(**params)
    if "ZipFile" in content:
        aws.bytes_uploaded += step.artifact.size
    version, arn = int(response["Version"]), str(response["LayerVersionArn"])
    return PublishedLayer(region, entry.name, version, arn, entry.content_hash, True)


def apply_region(
    aws: Aws, manifest: Manifest, plan: RegionPlan, progress: Progress, log: Log
) -> None:
    """Carry out one region's plan: its layers in manifest order, then its function."""
    region = plan.region
    arns: list[str] = []
    for step in plan.layers:
        if step.existing is not None:
            layer, message = step.existing, step.action.detail
        else:
            layer = _publish_layer(aws, manifest, region, step, plan.s3_bucket)
            message = f"published {layer.arn}"
        progress.layers.append(layer)
        progress.actions.append(step.action)
        arns.append(layer.arn)
        log(f"[{region}] {step.entry.name}: {message}")
    if plan.function is not None:
        _apply_function(
            aws,
            manifest,
            region,
            plan.function,
            arns,
            s3_bucket=plan.s3_bucket,
            progress=progress,
            log=log,
        )


def _update_code(
    aws: Aws, region: str, step: FunctionStep, s3_bucket: str | None, busy: bool
) -> None:
    code = step.artifact
    content = _content(aws, region, code, s3_bucket, step.s3_present)
    if busy:
        aws.wait_updated(region, step.name)
    with aws_errors(region, f"updating the code of function {step.name!r}"):
        aws.client(region, "lambda").update_function_code(FunctionName=step.name, **content)
    if "ZipFile" in content:
        aws.bytes_uploaded += code.size


def _update_layers(aws: Aws, region: str, name: str, wanted: Sequence[str], busy: bool) -> None:
    if busy:
        aws.wait_updated(region, name)
    with aws_errors(region, f"setting the layers of function {name!r}"):
        aws.client(region, "lambda").update_function_configuration(
            FunctionName=name, Layers=list(wanted)
        )


def _apply_function(
    aws: Aws,
    manifest: Manifest,
    region: str,
    step: FunctionStep,
    arns: Sequence[str],
    *,
    s3_bucket: str | None,
    progress: Progress,
    log: Log,
) -> None:
    """Code first, then layers; Lambda refuses an update while the previous one still runs."""
    name = step.name
    busy = step.busy
    code_updated = step.code_action.kind == "update-code"
    if code_updated:
        _update_code(aws, region, step, s3_bucket, busy)
        busy = True
    progress.actions.append(step.code_action)
    log(f"[{region}] {name}: {step.code_action.detail}")
    wanted = (*arns, *manifest.external_layers)
    layers_updated = wanted != step.current_layers
    if layers_updated:
        _update_layers(aws, region, name, wanted, busy)
        busy = True
        action = PublishAction("update-layers", region, name, layers_detail(wanted))
        progress.actions.append(action)
        log(f"[{region}] {name}: {action.detail}")
    if busy:
        aws.wait_updated(region, name)
    progress.functions.append(
        FunctionUpdate(
            region, name, step.artifact.code_sha256, code_updated, wanted, layers_updated
        )
    )
