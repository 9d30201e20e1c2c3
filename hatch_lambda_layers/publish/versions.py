"""Function versions and aliases: publish a version only when the alias's version does not run
the wanted code, layers (and SnapStart), wait until it is Active, then create or move the alias.

PublishVersion is safe to repeat: Lambda returns the latest version instead of publishing one
when nothing changed since it, which is also what a re-run after a lost answer gets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..errors import PublishError
from .aws import aws_errors, error_code
from .context import Context
from .report import FunctionUpdate, PublishAction

__all__ = [
    "SNAPSTART_ON",
    "AliasStep",
    "VersionState",
    "needs_version",
    "read_alias",
    "settle_alias",
    "version_action",
]

SNAPSTART_ON = "PublishedVersions"
_NOT_FOUND = frozenset({"ResourceNotFoundException"})
_EXISTS = frozenset({"ResourceConflictException", "ConflictException"})

Done = Callable[[PublishAction], None]


@dataclass(frozen=True)
class VersionState:
    """What a function version (or $LATEST) runs: its code, its layers and SnapStart."""

    code_sha256: str
    layers: tuple[str, ...]
    snapstart: str = "None"  # SnapStart.ApplyOn

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> VersionState:
        return cls(
            str(config.get("CodeSha256", "")),
            tuple(str(x["Arn"]) for x in config.get("Layers") or ()),
            str((config.get("SnapStart") or {}).get("ApplyOn", "None")),
        )


@dataclass(frozen=True)
class AliasStep:
    name: str
    version: str | None  # where the alias points now; None when it does not exist
    state: VersionState | None  # what that version runs


def needs_version(alias: AliasStep, wanted: VersionState, *, snapstart: bool) -> bool:
    """Whether the alias's version differs from what the function should run: a new version
    is published only then (an alias that does not exist yet needs one too)."""
    have = alias.state
    if alias.version is None or have is None:
        return True
    if (have.code_sha256, have.layers) != (wanted.code_sha256, wanted.layers):
        return True
    return snapstart and have.snapstart != SNAPSTART_ON


def read_alias(ctx: Context, region: str, function: str, alias: str) -> AliasStep:
    """Where `alias` points and what that version runs (read calls)."""
    from botocore.exceptions import ClientError

    client = ctx.aws.client(region, "lambda")
    with aws_errors(region, f"reading alias {alias!r} of function {function!r}"):
        try:
            version = str(client.get_alias(FunctionName=function, Name=alias)["FunctionVersion"])
        except ClientError as exc:
            if error_code(exc) in _NOT_FOUND:
                return AliasStep(alias, None, None)
            raise
        config = client.get_function_configuration(FunctionName=function, Qualifier=version)
    return AliasStep(alias, version, VersionState.of(config))


def version_action(
    region: str, function: str, alias: AliasStep, wanted: VersionState, *, snapstart: bool
) -> PublishAction:
    """What planning says about the version and the alias."""
    if not needs_version(alias, wanted, snapstart=snapstart):
        detail = f"keep alias {alias.name} on version {alias.version} (code and layers match)"
        return PublishAction("keep-alias", region, function, detail)
    where = "create" if alias.version is None else f"move (from version {alias.version})"
    with_snap = " with SnapStart" if snapstart else ""
    detail = f"publish a version{with_snap} and {where} alias {alias.name}"
    return PublishAction("publish-version", region, function, detail)


def _publish_version(ctx: Context, region: str, function: str, code_sha256: str) -> str:
    manifest = ctx.manifest
    with aws_errors(region, f"publishing a version of function {function!r}"):
        response = ctx.aws.client(
            region, "lambda"
        ).publish_version(
            FunctionName=function,
            CodeSha256=code_sha256,  # refused if someone changed the code since
            Description=f"hatch-lambda-layers: {manifest.project_name} {manifest.project_version}"[
                :256
            ],
        )
    return str(response["Version"])


def _snapstart_of(ctx: Context, region: str, function: str, version: str) -> str:
    with aws_errors(region, f"reading version {version} of function {function!r}"):
        config = ctx.aws.client(region, "lambda").get_function_configuration(
            FunctionName=function, Qualifier=version
        )
    snap = config.get("SnapStart") or {}
    apply_on = str(snap.get("ApplyOn", "None"))
    if apply_on != SNAPSTART_ON:
        raise PublishError(
            f"version {version} of function {function!r} in {region} was published with "
            f"SnapStart ApplyOn {apply_on!r}, not {SNAPSTART_ON!r}; check that the function's "
            "runtime supports SnapStart"
        )
    return apply_on


def _point_alias(ctx: Context, region: str, function: str, alias: AliasStep, version: str) -> bool:
    """Create the alias on `version` or move it there; whether it changed."""
    from botocore.exceptions import ClientError

    if alias.version == version:
        return False
    client = ctx.aws.client(region, "lambda")
    with aws_errors(region, f"pointing alias {alias.name!r} of {function!r} at version {version}"):
        if alias.version is None:
            try:
                client.create_alias(FunctionName=function, Name=alias.name, FunctionVersion=version)
                return True
            except ClientError as exc:
                if error_code(exc) not in _EXISTS:  # created meanwhile: move it instead
                    raise
        client.update_alias(FunctionName=function, Name=alias.name, FunctionVersion=version)
    return True


def settle_alias(
    ctx: Context,
    region: str,
    alias: AliasStep,
    wanted: VersionState,
    update: FunctionUpdate,
    *,
    done: Done,
) -> FunctionUpdate:
    """Publish a version and point the alias at it, unless the alias's version already runs
    `wanted`; `update` is the function's record so far."""
    function, snapstart = update.name, ctx.options.snapstart
    if not needs_version(alias, wanted, snapstart=snapstart):
        done(version_action(region, function, alias, wanted, snapstart=snapstart))
        have = alias.state.snapstart if alias.state and snapstart else None
        return replace(update, alias=alias.name, version=alias.version, snapstart=have)
    version = _publish_version(ctx, region, function, wanted.code_sha256)
    ctx.aws.wait_version_active(region, function, version)
    snap = _snapstart_of(ctx, region, function, version) if snapstart else None
    with_snap = f" (SnapStart {snap})" if snap else ""
    done(PublishAction("publish-version", region, function, f"version {version}{with_snap}"))
    moved = _point_alias(ctx, region, function, alias, version)
    if moved:
        detail = f"alias {alias.name}: {alias.version or '(new)'} -> {version}"
        done(PublishAction("move-alias", region, function, detail))
    return replace(
        update,
        alias=alias.name,
        version=version,
        version_published=True,
        alias_moved=moved,
        snapstart=snap,
    )
