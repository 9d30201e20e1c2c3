"""Functions: point each at its code and the layers, then (with --alias) publish a version and
move the alias to it, each step only when something changed.

Planning reads the function's configuration ($LATEST) and, with an alias, the configuration of
the version the alias points to. Applying updates the code when its CodeSha256 differs, then the
layers (and, with --snapstart, ``SnapStart: {ApplyOn: PublishedVersions}``) in one
configuration update when they differ, waiting for each update; then, when the alias's version
does not hold that code and those layers (and SnapStart), publishes a version, waits until it
is Active (with SnapStart, until its snapshot is ready) and creates or moves the alias.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import PublishError
from ..manifest import FunctionEntry
from .aws import aws_errors
from .check import Artifact, FunctionArtifact
from .content import content_for
from .context import Context
from .report import FunctionUpdate, PublishAction
from .s3check import already_in_s3, describe_source, mib
from .versions import (
    SNAPSTART_ON,
    AliasStep,
    VersionState,
    read_alias,
    settle_alias,
    version_action,
)

__all__ = ["FunctionStep", "apply_function", "layers_detail", "plan_function"]

Done = Callable[[PublishAction], None]
_SNAPSTART_DETAIL = f"turn SnapStart on (ApplyOn {SNAPSTART_ON}) for published versions"


@dataclass(frozen=True)
class FunctionStep:
    name: str  # the Lambda function
    artifact: Artifact
    current: VersionState  # $LATEST
    busy: bool  # an update is still running: wait before the next one
    code_action: PublishAction
    layers_action: PublishAction | None
    s3_present: bool = False
    alias: AliasStep | None = None
    snapstart: bool = False
    version_action: PublishAction | None = None
    snapstart_action: PublishAction | None = None
    entry: FunctionEntry | None = None  # the manifest's function (which layers it attaches)

    @property
    def actions(self) -> tuple[PublishAction, ...]:
        extra = (self.layers_action, self.snapstart_action, self.version_action)
        return (self.code_action, *(a for a in extra if a is not None))


def layers_detail(arns: Sequence[str]) -> str:
    """How an update-layers action reads."""
    return "set layers to " + ", ".join(arns) if arns else "remove all layers"


def _read_function(ctx: Context, region: str, name: str) -> Mapping[str, Any]:
    """The function's configuration, refused unless it is a Zip function of the build's target."""
    client = ctx.aws.client(region, "lambda")
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
    target = ctx.manifest.target
    if runtime != target.runtime or target.architecture not in architectures:
        raise PublishError(
            f"function {name!r} in {region} runs {runtime}/{','.join(architectures)} "
            f"but the build targets {target.runtime}/{target.architecture}; change the function "
            "or [tool.lambda-layers] runtime/architecture"
        )
    return config


def _code_action(
    ctx: Context, region: str, name: str, code: Artifact, current: str
) -> tuple[PublishAction, bool]:
    """Keep or update the function's code; and whether its zip is already in S3."""
    if current == code.code_sha256:
        detail = f"keep code (CodeSha256 {current} matches)"
        return PublishAction("skip-code", region, name, detail), False
    bucket = ctx.s3_bucket(region)
    present = already_in_s3(ctx.aws, region, bucket, code)
    action = PublishAction(
        "update-code",
        region,
        name,
        f"update code {current or '-'} -> {code.code_sha256} "
        f"({code.path.name}, {mib(code.size)}, {describe_source(code, bucket, present)})",
        0 if present else code.size,
    )
    return action, present


def plan_function(
    ctx: Context, region: str, function: FunctionArtifact, wanted_layers: Sequence[str]
) -> FunctionStep:
    """What apply will do to one function; `wanted_layers` may hold `<name>:<new>` for layer
    versions still to be published."""
    name, code = function.name, function.artifact
    config = _read_function(ctx, region, name)
    current = VersionState.of(config)
    code_action, present = _code_action(ctx, region, name, code, current.code_sha256)
    wanted = tuple(wanted_layers)
    layers_action = None
    if wanted != current.layers:
        layers_action = PublishAction("update-layers", region, name, layers_detail(wanted))
    busy = config.get("LastUpdateStatus") == "InProgress" or config.get("State") == "Pending"
    alias, version_step, snap_step = None, None, None
    if ctx.options.snapstart and current.snapstart != SNAPSTART_ON:
        snap_step = PublishAction("snapstart", region, name, _SNAPSTART_DETAIL)
    if ctx.options.alias is not None:
        alias = read_alias(ctx, region, name, ctx.options.alias)
        want = VersionState(code.code_sha256, wanted, SNAPSTART_ON)
        version_step = version_action(region, name, alias, want, snapstart=ctx.options.snapstart)
    return FunctionStep(
        name,
        code,
        current,
        busy,
        code_action,
        layers_action,
        present,
        alias,
        ctx.options.snapstart,
        version_step,
        snap_step,
        function.entry,
    )


def _update_code(ctx: Context, region: str, step: FunctionStep) -> None:
    content = content_for(ctx, region, step.artifact, present=step.s3_present)
    if step.busy:
        ctx.aws.wait_updated(region, step.name)
    with aws_errors(region, f"updating the code of function {step.name!r}"):
        ctx.aws.client(region, "lambda").update_function_code(FunctionName=step.name, **content)
    if "ZipFile" in content:
        ctx.aws.uploaded(region, step.artifact.size)


def _update_configuration(
    ctx: Context, region: str, step: FunctionStep, wanted: Sequence[str], *, busy: bool, done: Done
) -> bool:
    """Layers and SnapStart in one update, when either differs; whether there was one."""
    params: dict[str, Any] = {}
    if tuple(wanted) != step.current.layers:
        params["Layers"] = list(wanted)
    if step.snapstart and step.current.snapstart != SNAPSTART_ON:
        params["SnapStart"] = {"ApplyOn": SNAPSTART_ON}
    if not params:
        return False
    if busy:
        ctx.aws.wait_updated(region, step.name)
    what = "setting the layers of" if "Layers" in params else "turning on SnapStart for"
    with aws_errors(region, f"{what} function {step.name!r}"):
        ctx.aws.client(region, "lambda").update_function_configuration(
            FunctionName=step.name, **params
        )
    if "Layers" in params:
        done(PublishAction("update-layers", region, step.name, layers_detail(wanted)))
    if step.snapstart_action is not None and "SnapStart" in params:
        done(step.snapstart_action)
    return True


def apply_function(
    ctx: Context, region: str, step: FunctionStep, wanted: Sequence[str], done: Done
) -> FunctionUpdate:
    """Code first, then layers and SnapStart, then the version and the alias; Lambda refuses
    an update while the previous one still runs, so each waits for the one before."""
    name, busy = step.name, step.busy
    code_updated = step.code_action.kind == "update-code"
    if code_updated:
        _update_code(ctx, region, step)
        busy = True
    done(step.code_action)
    layers_updated = tuple(wanted) != step.current.layers
    if _update_configuration(ctx, region, step, wanted, busy=busy, done=done):
        busy = True
    if busy:
        ctx.aws.wait_updated(region, name)
    update = FunctionUpdate(
        region, name, step.artifact.code_sha256, code_updated, tuple(wanted), layers_updated
    )
    if step.alias is None:
        return update
    want = VersionState(step.artifact.code_sha256, tuple(wanted), SNAPSTART_ON)
    return settle_alias(ctx, region, step.alias, want, update, done=done)
