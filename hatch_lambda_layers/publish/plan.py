"""Phase 2, read-only AWS calls: what each region already has, and so what apply will do.

For each layer, page through its versions for one whose Description carries the same
content_hash; check the S3 bucket when zips go through it (and whether an earlier run left a
zip there); read the function's CodeSha256, layers and state. A dry run stops here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import PublishError
from ..manifest import LayerEntry, Manifest
from .aws import Aws, aws_errors, error_code, explain
from .check import Artifact, CheckedArtifacts
from .description import find_reusable
from .report import PublishAction, PublishedLayer

__all__ = ["FunctionStep", "LayerStep", "RegionPlan", "layers_detail", "plan_region"]


@dataclass(frozen=True)
class LayerStep:
    entry: LayerEntry
    artifact: Artifact
    existing: PublishedLayer | None  # a version carrying the same content_hash
    action: PublishAction
    s3_present: bool = False


@dataclass(frozen=True)
class FunctionStep:
    name: str
    artifact: Artifact
    current_code_sha256: str
    current_layers: tuple[str, ...]
    busy: bool  # an update is still running: wait before the next one
    code_action: PublishAction
    layers_action: PublishAction | None
    s3_present: bool = False


@dataclass(frozen=True)
class RegionPlan:
    region: str
    s3_bucket: str | None
    layers: tuple[LayerStep, ...]
    function: FunctionStep | None

    @property
    def actions(self) -> tuple[PublishAction, ...]:
        fn = self.function
        extra = (
            ()
            if fn is None
            else (fn.code_action, *([fn.layers_action] if fn.layers_action else []))
        )
        return (*(s.action for s in self.layers), *extra)


def layers_detail(arns: Sequence[str]) -> str:
    """How an update-layers action reads."""
    return "set layers to " + ", ".join(arns) if arns else "remove all layers"


def _mib(size: int) -> str:
    return f"{size:,} bytes" if size < 1 << 20 else f"{size / (1 << 20):.1f} MiB"


def _how(artifact: Artifact, s3_bucket: str | None, present: bool) -> str:
    if not artifact.via_s3:
        return "direct upload"
    where = f"s3://{s3_bucket}/{artifact.s3_key}"
    return f"already in {where}" if present else f"upload via {where}"


def _find_existing(
    aws: Aws, region: str, layer: str, content_hash: str, runtime: str, *, architecture: str
) -> tuple[int, str] | None:
    """The newest version of `layer` that carries `content_hash`, paging only as far as needed:
    Lambda lists versions newest first, so an unchanged layer is answered by the first page."""
    client = aws.client(region, "lambda")
    with aws_errors(region, f"listing versions of layer {layer!r}"):
        for page in client.get_paginator("list_layer_versions").paginate(LayerName=layer):
            found = find_reusable(
                page.get("LayerVersions", []), content_hash, runtime, architecture
            )
            if found is not None:
                return found
    return None


def _s3_object_present(aws: Aws, region: str, bucket: str, artifact: Artifact) -> bool:
    """Whether an earlier run already uploaded this zip (keys carry the sha256)."""
    from botocore.exceptions import ClientError

    s3 = aws.client(region, "s3")
    with aws_errors(region, f"looking up s3://{bucket}/{artifact.s3_key}"):
        try:
            head = s3.head_object(Bucket=bucket, Key=artifact.s3_key, ChecksumMode="ENABLED")
        except ClientError as exc:
            if error_code(exc) in {"404", "NoSuchKey", "403", "AccessDenied"}:
                return False
            raise
    checksum = head.get("ChecksumSHA256")
    return bool(
        head.get("ContentLength") == artifact.size
        and (checksum is None or checksum == artifact.code_sha256)
    )


def _already_in_s3(aws: Aws, region: str, s3_bucket: str | None, artifact: Artifact) -> bool:
    return bool(
        artifact.via_s3 and s3_bucket and _s3_object_present(aws, region, s3_bucket, artifact)
    )


def _check_bucket(aws: Aws, region: str, bucket: str) -> None:
    """The bucket exists, is reachable, and lives in `region`."""
    from botocore.exceptions import BotoCoreError, ClientError

    s3 = aws.client(region, "s3")
    try:
        response = s3.head_bucket(Bucket=bucket)
    except (ClientError, BotoCoreError) as exc:
        raise PublishError(
            f"--s3-bucket {bucket!r} cannot be used in {region}: {explain(exc)}; create it in "
            f"{region} (Lambda reads zips from a bucket in its own region) or grant access to it"
        ) from exc
    located = response.get("BucketRegion") or (
        response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("x-amz-bucket-region")
    )
    if located and located != region:
        raise PublishError(
            f"--s3-bucket {bucket!r} is in {located}, not {region}: Lambda reads zips from a "
            "bucket in its own region; name one bucket per region with '{region}' in --s3-bucket"
        )


def _plan_layer(
    aws: Aws,
    manifest: Manifest,
    region: str,
    entry: LayerEntry,
    artifact: Artifact,
    *,
    s3_bucket: str | None,
) -> LayerStep:
    """Reuse the version carrying this content, else publish the zip."""
    target = manifest.target
    found = _find_existing(
        aws,
        region,
        entry.name,
        entry.content_hash,
        target.runtime,
        architecture=target.architecture,
    )
    if found is not None:
        version, arn = found
        existing = PublishedLayer(region, entry.name, version, arn, entry.content_hash, False)
        action = PublishAction("reuse", region, entry.name, f"reuse {arn}")
        return LayerStep(entry, artifact, existing, action)
    present = _already_in_s3(aws, region, s3_bucket, artifact)
    action = PublishAction(
        "publish",
        region,
        entry.name,
        f"publish {artifact.path.name} ({_mib(artifact.size)}, "
        f"{_how(artifact, s3_bucket, present)}) "
        f"for {target.runtime}/{target.architecture}, content_hash={entry.content_hash}",
        0 if present else artifact.size,
    )
    return LayerStep(entry, artifact, None, action, present)


def plan_region(
    aws: Aws,
    manifest: Manifest,
    region: str,
    artifacts: CheckedArtifacts,
    function_name: str | None,
    *,
    s3_bucket: str | None,
) -> RegionPlan:
    """What apply will do in `region`, from read-only calls."""
    if s3_bucket and artifacts.need_s3:
        _check_bucket(aws, region, s3_bucket)
    steps = tuple(
        _plan_layer(aws, manifest, region, entry, artifact, s3_bucket=s3_bucket)
        for entry, artifact in zip(manifest.layers, artifacts.layers, strict=True)
    )
    function = None
    if function_name is not None and artifacts.code is not None:
        function = _plan_function(
            aws, manifest, region, function_name, artifacts.code, s3_bucket=s3_bucket, layers=steps
        )
    return RegionPlan(region, s3_bucket, steps, function)


def _read_function(aws: Aws, manifest: Manifest, region: str, name: str) -> Mapping[str, Any]:
    """The function's configuration, refused unless it is a Zip function of the build's target."""
    client = aws.client(region, "lambda")
    with aws_errors(region, f"reading function {name!r}"):
        config: Mapping[str, Any] = client.get_function(FunctionName=name)["Configuration"]
    package_type = config.get("PackageType", "Zip")
    if package_type != "Zip":
        raise PublishError(
            f"function {name!r} in {region} is a {package_type} function; "
            "layers and zip code need a Zip function"
        )
    runtime = config.get("Runtime")
    architectures = config.get("Architectures") or ["x86_64"]
    target = manifest.target
    if runtime != target.runtime or target.architecture not in architectures:
        raise PublishError(
            f"function {name!r} in {region} runs {runtime}/{','.join(architectures)} "
            f"but the build targets {target.runtime}/{target.architecture}; change the function "
            "or [tool.lambda-layers] runtime/architecture"
        )
    return config


def _code_action(
    aws: Aws, region: str, name: str, code: Artifact, current: str, *, s3_bucket: str | None
) -> tuple[PublishAction, bool]:
    """Keep or update the function's code; and whether its zip is already in S3."""
    if current == code.code_sha256:
        detail = f"keep code (CodeSha256 {current} matches)"
        return PublishAction("skip-code", region, name, detail), False
    present = _already_in_s3(aws, region, s3_bucket, code)
    action = PublishAction(
        "update-code",
        region,
        name,
        f"update code {current or '-'} -> {code.code_sha256} "
        f"({code.path.name}, {_mib(code.size)}, {_how(code, s3_bucket, present)})",
        0 if present else code.size,
    )
    return action, present


def _plan_function(
    aws: Aws,
    manifest: Manifest,
    region: str,
    name: str,
    code: Artifact,
    *,
    s3_bucket: str | None,
    layers: Sequence[LayerStep],
) -> FunctionStep:
    config = _read_function(aws, manifest, region, name)
    current_code = str(config.get("CodeSha256", ""))
    current_layers = tuple(str(x["Arn"]) for x in config.get("Layers") or ())
    code_action, present = _code_action(aws, region, name, code, current_code, s3_bucket=s3_bucket)
    # ARNs of layers still to publish are unknown until then: `<name>:<new>` stands for them.
    wanted = (
        *(s.existing.arn if s.existing else f"{s.entry.name}:<new>" for s in layers),
        *manifest.external_layers,
    )
    layers_action = None
    if wanted != current_layers:
        layers_action = PublishAction("update-layers", region, name, layers_detail(wanted))
    busy = config.get("LastUpdateStatus") == "InProgress" or config.get("State") == "Pending"
    return FunctionStep(
        name, code, current_code, current_layers, busy, code_action, layers_action, present
    )
