"""Phase 1, local: everything that can be known without AWS, every problem reported at once.

Each zip the manifest names is confined to the manifest's directory, exists and has the
recorded sha256; layer names and license_info fit Lambda's rules; a function to update is
chosen for every --function-name and fits the layer count; zips over the direct-upload limit
have an S3 bucket (or, for layers, the shared store).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..digests import file_sha256
from ..errors import PublishError
from ..files import UnsafePathError, confined
from ..manifest import FunctionEntry, Manifest
from ..targets import DIRECT_UPLOAD_MAX, LAYERS_MAX, LICENSE_INFO_MAX
from .options import FunctionTarget

__all__ = [
    "Artifact",
    "CheckedArtifacts",
    "FunctionArtifact",
    "check_artifacts",
    "code_sha256_of",
    "select_function",
    "wanted_layers",
]

# Lambda's LayerName rule for a bare name (API reference, PublishLayerVersion).
_LAYER_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")


@dataclass(frozen=True)
class Artifact:
    """A zip from the manifest, checked against the file next to it."""

    name: str
    path: Path
    sha256: str
    code_sha256: str
    size: int
    via_s3: bool  # over the direct-upload limit: Lambda must read it from S3

    @property
    def s3_key(self) -> str:
        return f"{self.name}/{self.sha256}.zip"


@dataclass(frozen=True)
class FunctionArtifact:
    """A manifest function, the Lambda function it is deployed as, and its checked zip."""

    target: FunctionTarget
    entry: FunctionEntry
    artifact: Artifact

    @property
    def name(self) -> str:
        """The Lambda function's name."""
        return self.target.aws_name


@dataclass(frozen=True)
class CheckedArtifacts:
    """The manifest's layer zips in manifest order, and the functions to update."""

    layers: tuple[Artifact, ...]
    functions: tuple[FunctionArtifact, ...] = ()

    @property
    def all(self) -> tuple[Artifact, ...]:
        return (*self.layers, *(f.artifact for f in self.functions))

    @property
    def need_s3(self) -> bool:
        return any(a.via_s3 for a in self.all)


def code_sha256_of(sha256_hex: str) -> str:
    """Lambda's CodeSha256: base64 of the raw sha256 digest."""
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode("ascii")


def select_function(manifest: Manifest, target: FunctionTarget | str) -> FunctionEntry:
    """The manifest function deployed as `target`: the one it names before `=`; else the one
    named like the Lambda function; else the only one."""
    if isinstance(target, str):
        target = FunctionTarget(None, target)
    names = [f.name for f in manifest.functions]
    flag = f"--function-name {target.flag!r}"
    for f in manifest.functions:
        if f.name == (target.manifest_name or target.aws_name):
            return f
    if target.manifest_name is not None:
        return _no_such_function(flag, target.manifest_name, names)
    if len(manifest.functions) == 1:
        return manifest.functions[0]
    if not manifest.functions:
        raise PublishError(
            f"{flag}: the manifest has no function zip to deploy; "
            "configure [tool.lambda-layers.functions] or leave out --function-name"
        )
    raise PublishError(
        f"{flag} matches none of the manifest's functions "
        f"{', '.join(names)}; name the Lambda function after one of them or write "
        "MANIFEST_FUNCTION=NAME"
    )


def _no_such_function(flag: str, name: str, names: list[str]) -> FunctionEntry:
    have = ", ".join(names) if names else "none"
    raise PublishError(f"{flag}: the manifest has no function {name!r} (it has {have})")


def _check_artifact(
    base: Path, kind: str, name: str, file: str, sha256: str, *, problems: list[str]
) -> Artifact | None:
    """The zip `file` in `base`, if its name stays there, it exists and has the recorded sha256."""
    label = f"{kind} {name!r}"
    try:
        path = confined(base, file, what=f"the manifest's {label}")
    except UnsafePathError as exc:
        problems.append(str(exc))
        return None
    if not path.is_file():
        problems.append(
            f"{label}: zip {str(path)!r} does not exist; rebuild or publish the manifest "
            f"it came with"
        )
        return None
    actual = file_sha256(path)
    if actual != sha256.lower():
        problems.append(
            f"{label}: zip {str(path)!r} has sha256 {actual}, the manifest says {sha256}; rebuild"
        )
        return None
    size = path.stat().st_size
    return Artifact(name, path, actual, code_sha256_of(actual), size, size > DIRECT_UPLOAD_MAX)


def _check_layers(manifest: Manifest, base: Path, problems: list[str]) -> list[Artifact]:
    layers: list[Artifact] = []
    for layer in manifest.layers:
        if not _LAYER_NAME.fullmatch(layer.name):
            problems.append(
                f"layer name {layer.name!r} is not a valid Lambda layer name "
                "(letters, digits, '-' and '_', at most 64)"
            )
        art = _check_artifact(
            base, "layer", layer.name, layer.file, layer.sha256, problems=problems
        )
        if art is not None:
            layers.append(art)
    if manifest.license_info is not None and len(manifest.license_info) > LICENSE_INFO_MAX:
        problems.append(
            f"license_info {manifest.license_info[:40]!r}... is longer than Lambda's "
            f"{LICENSE_INFO_MAX} characters; use an SPDX identifier or a URL"
        )
    return layers


def _check_functions(
    manifest: Manifest,
    base: Path,
    targets: Sequence[FunctionTarget],
    problems: list[str],
) -> list[FunctionArtifact]:
    checked: list[FunctionArtifact] = []
    for target in targets:
        try:
            function = select_function(manifest, target)
        except PublishError as exc:
            problems.append(str(exc))
            continue
        code = _check_artifact(
            base, "function", function.name, function.file, function.sha256, problems=problems
        )
        if code is not None:
            checked.append(FunctionArtifact(target, function, code))
    for f in checked:  # the first function over (all are, without per-function layers)
        built = len(manifest.function_layers(f.entry))
        count = built + len(manifest.external_layers)
        if count > LAYERS_MAX:
            problems.append(
                f"function {f.name!r} would get {count} layers "
                f"({built} built + {len(manifest.external_layers)} external), "
                f"Lambda allows {LAYERS_MAX}; lower max-layers"
            )
            break
    return checked


def wanted_layers(
    manifest: Manifest, function: FunctionEntry, arns: Sequence[str]
) -> tuple[str, ...]:
    """The layer ARNs `function` attaches: of `arns` (one per manifest layer, in manifest
    order) those of the layers it lists, then the external layers."""
    mine = {x.name for x in manifest.function_layers(function)}
    built = [arn for layer, arn in zip(manifest.layers, arns, strict=True) if layer.name in mine]
    return (*built, *manifest.external_layers)


def check_artifacts(
    manifest: Manifest,
    base: Path,
    *,
    functions: Sequence[FunctionTarget] = (),
    s3_bucket: str | None,
    store: bool = False,
) -> CheckedArtifacts:
    """The zips to publish, checked before any AWS call; a PublishError lists every problem.

    With the shared `store`, layers over the direct-upload limit may go through it (in the
    store bucket's region; other regions need `s3_bucket`, which planning checks)."""
    if manifest.image is not None:
        raise PublishError(
            f'the manifest is a container image build (mode = "image", context '
            f"{manifest.image.context}/): build and push the image with a container builder, "
            f"then point the function at it (docs/deploy.md, container images)"
        )
    problems: list[str] = []
    layers = _check_layers(manifest, base, problems)
    checked = _check_functions(manifest, base, functions, problems)
    too_big = [a for a in (*([] if store else layers), *(f.artifact for f in checked)) if a.via_s3]
    if too_big and not s3_bucket:
        problems.append(
            "zips over the direct-upload limit of "
            f"{DIRECT_UPLOAD_MAX:,} bytes need --s3-bucket: "
            + ", ".join(f"{a.path.name} ({a.size:,} bytes)" for a in too_big)
        )
    if problems:
        raise PublishError("; ".join(problems))
    return CheckedArtifacts(tuple(layers), tuple(checked))
