"""Publish a build's layers (and optionally point a function at them) with boto3.

Three phases, so that nothing is written when something is wrong:

1. *check* (local, pure + file reads): every zip exists next to the manifest and matches its
   sha256; zips over the direct-upload limit have an S3 bucket to go through; the function to
   update is known.
2. *plan* (read-only AWS calls, every region before any write): page through all versions of
   each layer name and look for one whose Description carries the same ``content_hash``; check
   the S3 bucket; read the function's CodeSha256 and layers. ``dry_run`` stops here.
3. *apply*: publish what no version carries, update the function's code only when its
   CodeSha256 differs, then its layers only when they differ, waiting for each update.

The content hash lives in the layer version's Description, so the lookup is also what makes a
re-run after a failure finish the job without duplicate versions. Nothing is ever deleted.
``published.json`` (next to the manifest, written atomically) records what this run published,
with ``"complete": false`` when the run failed part-way.

boto3 is imported lazily: it lives in the ``publish`` extra.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..digests import file_sha256
from ..errors import PublishError, UsageError
from ..files import write_text_atomic
from ..manifest import FunctionEntry, LayerEntry, Manifest, read_manifest

# Lambda's limit for a zip sent in the request itself (CONTRACT section 6); larger zips go via S3.
DIRECT_UPLOAD_LIMIT = 52_428_800
MAX_LAYERS_PER_FUNCTION = 5
DESCRIPTION_MAX = 256
LICENSE_INFO_MAX = 512
PUBLISHED_NAME = "published.json"
# Polling for function updates; Lambda updates usually finish within seconds.
WAITER_DELAY = 2
WAITER_MAX_ATTEMPTS = 150

DESCRIPTION_TAG = "hatch-lambda-layers content_hash="
_HASH_IN_DESCRIPTION = re.compile(re.escape(DESCRIPTION_TAG) + r"([^\s()]+)")
# Lambda's LayerName rule for a bare name (API reference, PublishLayerVersion).
_LAYER_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")

SessionFactory = Callable[[str], Any]


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class PublishedLayer:
    region: str
    name: str
    version: int
    arn: str
    content_hash: str
    uploaded: bool  # False when an existing version carrying the same content_hash was reused


@dataclass(frozen=True)
class PublishAction:
    """One step, done or (with dry_run) to be done.

    kind: "reuse" (a layer version with this content exists), "publish" (a new layer version),
    "update-code" / "skip-code" (the function's code), "update-layers" (the function's layers).
    """

    kind: str
    region: str
    target: str
    detail: str
    bytes: int = 0


@dataclass(frozen=True)
class FunctionUpdate:
    region: str
    name: str
    code_sha256: str
    code_updated: bool
    layers: tuple[str, ...]
    layers_updated: bool


@dataclass(frozen=True)
class PublishReport:
    layers: tuple[PublishedLayer, ...]
    actions: tuple[PublishAction, ...]
    api_calls: int
    bytes_uploaded: int
    dry_run: bool
    functions: tuple[FunctionUpdate, ...] = ()


@dataclass(frozen=True)
class Artifact:
    """A zip from the manifest, checked against the file next to it."""

    name: str
    path: Path
    sha256: str
    code_sha256: str
    size: int

    @property
    def via_s3(self) -> bool:
        return self.size > DIRECT_UPLOAD_LIMIT

    @property
    def s3_key(self) -> str:
        return f"{self.name}/{self.sha256}.zip"


# --------------------------------------------------------------------------- pure helpers


def describe(content_hash: str, layer_version: int, project: str = "") -> str:
    """The layer version Description: carries the content hash where a later run can read it."""
    base = f"{DESCRIPTION_TAG}{content_hash}"
    if len(base) > DESCRIPTION_MAX:
        raise PublishError(
            f"content_hash {content_hash!r} is too long for a layer description "
            f"({DESCRIPTION_MAX} characters); rebuild with this version of hatch-lambda-layers"
        )
    suffix = f" ({project} layer v{layer_version})" if project else f" (layer v{layer_version})"
    return base + suffix if len(base + suffix) <= DESCRIPTION_MAX else base


def parse_content_hash(description: str | None) -> str | None:
    match = _HASH_IN_DESCRIPTION.search(description or "")
    return match.group(1) if match else None


def find_reusable(
    versions: Iterable[Mapping[str, Any]], content_hash: str, runtime: str, architecture: str
) -> tuple[int, str] | None:
    """(version, ARN) of the newest listed layer version carrying `content_hash` and compatible
    with the target; a version that lists no runtimes or architectures accepts any."""
    best: tuple[int, str] | None = None
    for v in versions:
        if parse_content_hash(v.get("Description")) != content_hash:
            continue
        runtimes = v.get("CompatibleRuntimes") or [runtime]
        architectures = v.get("CompatibleArchitectures") or [architecture]
        if runtime not in runtimes or architecture not in architectures:
            continue
        number = int(v["Version"])
        if best is None or number > best[0]:
            best = (number, str(v["LayerVersionArn"]))
    return best


def bucket_for(s3_bucket: str | None, region: str) -> str | None:
    """The bucket for one region: `{region}` in --s3-bucket stands for the region's name, as
    Lambda reads zips only from a bucket in its own region and bucket names are global."""
    return None if s3_bucket is None else s3_bucket.replace("{region}", region)


def code_sha256_of(sha256_hex: str) -> str:
    """Lambda's CodeSha256: base64 of the raw sha256 digest."""
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode("ascii")


def select_function(manifest: Manifest, function_name: str) -> FunctionEntry:
    """The manifest function deployed as `function_name`: same name, else the only one."""
    names = [f.name for f in manifest.functions]
    for f in manifest.functions:
        if f.name == function_name:
            return f
    if len(manifest.functions) == 1:
        return manifest.functions[0]
    if not manifest.functions:
        raise PublishError(
            f"--function-name {function_name!r}: the manifest has no function zip to deploy; "
            "configure [tool.lambda-layers.functions] or leave out --function-name"
        )
    raise PublishError(
        f"--function-name {function_name!r} matches none of the manifest's functions "
        f"{', '.join(names)}; name the Lambda function after one of them"
    )


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _mib(size: int) -> str:
    return f"{size:,} bytes" if size < 1 << 20 else f"{size / (1 << 20):.1f} MiB"


# --------------------------------------------------------------------------- local checks


def _check_artifact(
    base: Path, kind: str, name: str, file: str, sha256: str, problems: list[str]
) -> Artifact | None:
    """The zip `file` next to the manifest, if it exists and has the recorded sha256."""
    label = f"{kind} {name!r}"
    path = base / file
    if not path.is_file():
        problems.append(
            f"{label}: zip {str(path)!r} does not exist; rebuild or publish the manifest it came with"
        )
        return None
    actual = file_sha256(path)
    if actual != sha256.lower():
        problems.append(
            f"{label}: zip {str(path)!r} has sha256 {actual}, the manifest says {sha256}; rebuild"
        )
        return None
    return Artifact(name, path, actual, code_sha256_of(actual), path.stat().st_size)


def check_artifacts(
    manifest: Manifest,
    base: Path,
    *,
    function_name: str | None,
    s3_bucket: str | None,
) -> tuple[tuple[Artifact, ...], Artifact | None, FunctionEntry | None]:
    """Every problem found before any AWS call, reported at once."""
    problems: list[str] = []
    layers: list[Artifact] = []
    function: FunctionEntry | None = None
    code: Artifact | None = None
    for layer in manifest.layers:
        if not _LAYER_NAME.fullmatch(layer.name):
            problems.append(
                f"layer name {layer.name!r} is not a valid Lambda layer name "
                "(letters, digits, '-' and '_', at most 64)"
            )
        art = _check_artifact(base, "layer", layer.name, layer.file, layer.sha256, problems)
        if art is not None:
            layers.append(art)
    if manifest.license_info is not None and len(manifest.license_info) > LICENSE_INFO_MAX:
        problems.append(
            f"license_info {manifest.license_info[:40]!r}... is longer than Lambda's "
            f"{LICENSE_INFO_MAX} characters; use an SPDX identifier or a URL"
        )
    if function_name is not None:
        try:
            function = select_function(manifest, function_name)
        except PublishError as exc:
            problems.append(str(exc))
    if function_name is not None and function is not None:
        code = _check_artifact(
            base, "function", function.name, function.file, function.sha256, problems
        )
        count = len(manifest.layers) + len(manifest.external_layers)
        if count > MAX_LAYERS_PER_FUNCTION:
            problems.append(
                f"function {function_name!r} would get {count} layers "
                f"({len(manifest.layers)} built + {len(manifest.external_layers)} external), "
                f"Lambda allows {MAX_LAYERS_PER_FUNCTION}; lower max-layers"
            )
    too_big = [a for a in (*layers, *([code] if code else [])) if a.via_s3]
    if too_big and not s3_bucket:
        problems.append(
            "zips over the direct-upload limit of "
            f"{DIRECT_UPLOAD_LIMIT:,} bytes need --s3-bucket: "
            + ", ".join(f"{a.path.name} ({a.size:,} bytes)" for a in too_big)
        )
    if problems:
        raise PublishError("; ".join(problems))
    return tuple(layers), code, function


# --------------------------------------------------------------------------- AWS plumbing


def _require_boto3() -> Any:
    try:
        import boto3
    except ImportError:
        raise PublishError("boto3 is needed: pip install 'hatch-lambda-layers[publish]'") from None
    return boto3


def _error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        code = (response.get("Error") or {}).get("Code")
        return None if code is None else str(code)
    return None


def _explain(exc: BaseException) -> str:
    """`Code: message` of a botocore error, on one line."""
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        error = response.get("Error") or {}
        code = error.get("Code") or "Unknown"
        message = _one_line(error.get("Message") or "")
        return f"{code}: {message}" if message else str(code)
    return f"{type(exc).__name__}: {_one_line(str(exc))}"


@contextmanager
def _aws(region: str, what: str) -> Iterator[None]:
    """Turn botocore's errors into one-line PublishErrors naming the region, target and code."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise PublishError(f"{what} in {region} failed: {_explain(exc)}") from exc


class _Aws:
    """Clients per region and service, counting every API call they make (pages and waiter
    polls included) through botocore's ``before-call`` event."""

    def __init__(self, factory: SessionFactory) -> None:
        self._factory = factory
        self._sessions: dict[str, Any] = {}
        self._clients: dict[tuple[str, str], Any] = {}
        self.api_calls = 0
        self.bytes_uploaded = 0

    def _count(self, **_: Any) -> None:
        self.api_calls += 1

    def client(self, region: str, service: str) -> Any:
        key = (region, service)
        if key not in self._clients:
            if region not in self._sessions:
                self._sessions[region] = self._factory(region)
            with _aws(region, f"creating the {service} client"):
                client = self._sessions[region].client(service)
            events = getattr(getattr(client, "meta", None), "events", None)
            if events is not None:  # any botocore client; a bare test double may lack it
                events.register("before-call", self._count)
            self._clients[key] = client
        return self._clients[key]

    def wait_updated(self, region: str, function_name: str) -> None:
        client = self.client(region, "lambda")
        names = getattr(client, "waiter_names", ())
        waiter = client.get_waiter(
            "function_updated_v2" if "function_updated_v2" in names else "function_updated"
        )
        with _aws(region, f"waiting for function {function_name!r} to finish updating"):
            waiter.wait(
                FunctionName=function_name,
                WaiterConfig={"Delay": WAITER_DELAY, "MaxAttempts": WAITER_MAX_ATTEMPTS},
            )


# --------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class _LayerStep:
    entry: LayerEntry
    artifact: Artifact
    existing: PublishedLayer | None  # a version carrying the same content_hash
    action: PublishAction
    s3_present: bool = False


@dataclass(frozen=True)
class _FunctionStep:
    name: str
    artifact: Artifact
    current_code_sha256: str
    current_layers: tuple[str, ...]
    busy: bool  # an update is still running: wait before the next one
    code_action: PublishAction
    layers_action: PublishAction | None
    s3_present: bool = False


@dataclass(frozen=True)
class _RegionPlan:
    region: str
    s3_bucket: str | None
    layers: tuple[_LayerStep, ...]
    function: _FunctionStep | None

    @property
    def actions(self) -> tuple[PublishAction, ...]:
        fn = self.function
        extra = (
            ()
            if fn is None
            else (fn.code_action, *([fn.layers_action] if fn.layers_action else []))
        )
        return (*(s.action for s in self.layers), *extra)


def _find_existing(
    aws: _Aws, region: str, layer: str, content_hash: str, runtime: str, architecture: str
) -> tuple[int, str] | None:
    """The newest version of `layer` that carries `content_hash`, paging only as far as needed:
    Lambda lists versions newest first, so an unchanged layer is answered by the first page."""
    client = aws.client(region, "lambda")
    with _aws(region, f"listing versions of layer {layer!r}"):
        for page in client.get_paginator("list_layer_versions").paginate(LayerName=layer):
            found = find_reusable(
                page.get("LayerVersions", []), content_hash, runtime, architecture
            )
            if found is not None:
                return found
    return None


def _s3_object_present(aws: _Aws, region: str, bucket: str, artifact: Artifact) -> bool:
    """Whether an earlier run already uploaded this zip (keys carry the sha256)."""
    from botocore.exceptions import ClientError

    s3 = aws.client(region, "s3")
    with _aws(region, f"looking up s3://{bucket}/{artifact.s3_key}"):
        try:
            head = s3.head_object(Bucket=bucket, Key=artifact.s3_key, ChecksumMode="ENABLED")
        except ClientError as exc:
            if _error_code(exc) in {"404", "NoSuchKey", "403", "AccessDenied"}:
                return False
            raise
    checksum = head.get("ChecksumSHA256")
    return bool(
        head.get("ContentLength") == artifact.size
        and (checksum is None or checksum == artifact.code_sha256)
    )


def _check_bucket(aws: _Aws, region: str, bucket: str) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    s3 = aws.client(region, "s3")
    try:
        response = s3.head_bucket(Bucket=bucket)
    except (ClientError, BotoCoreError) as exc:
        raise PublishError(
            f"--s3-bucket {bucket!r} cannot be used in {region}: {_explain(exc)}; create it in "
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


def _plan_region(
    aws: _Aws,
    manifest: Manifest,
    region: str,
    layers: Sequence[Artifact],
    code: Artifact | None,
    function_name: str | None,
    s3_bucket: str | None,
) -> _RegionPlan:
    target = manifest.target
    if s3_bucket and any(a.via_s3 for a in (*layers, *([code] if code else []))):
        _check_bucket(aws, region, s3_bucket)
    steps: list[_LayerStep] = []
    for entry, artifact in zip(manifest.layers, layers, strict=True):
        found = _find_existing(
            aws, region, entry.name, entry.content_hash, target.runtime, target.architecture
        )
        if found is not None:
            version, arn = found
            existing = PublishedLayer(region, entry.name, version, arn, entry.content_hash, False)
            action = PublishAction("reuse", region, entry.name, f"reuse {arn}")
            steps.append(_LayerStep(entry, artifact, existing, action))
            continue
        present = bool(
            artifact.via_s3 and s3_bucket and _s3_object_present(aws, region, s3_bucket, artifact)
        )
        how = _how(artifact, s3_bucket, present)
        action = PublishAction(
            "publish",
            region,
            entry.name,
            f"publish {artifact.path.name} ({_mib(artifact.size)}, {how}) "
            f"for {target.runtime}/{target.architecture}, content_hash={entry.content_hash}",
            0 if present else artifact.size,
        )
        steps.append(_LayerStep(entry, artifact, None, action, present))
    function = None
    if function_name is not None and code is not None:
        function = _plan_function(aws, manifest, region, function_name, code, s3_bucket, steps)
    return _RegionPlan(region, s3_bucket, tuple(steps), function)


def _how(artifact: Artifact, s3_bucket: str | None, present: bool) -> str:
    if not artifact.via_s3:
        return "direct upload"
    where = f"s3://{s3_bucket}/{artifact.s3_key}"
    return f"already in {where}" if present else f"upload via {where}"


def _plan_function(
    aws: _Aws,
    manifest: Manifest,
    region: str,
    function_name: str,
    code: Artifact,
    s3_bucket: str | None,
    layers: Sequence[_LayerStep],
) -> _FunctionStep:
    client = aws.client(region, "lambda")
    with _aws(region, f"reading function {function_name!r}"):
        config = client.get_function(FunctionName=function_name)["Configuration"]
    package_type = config.get("PackageType", "Zip")
    if package_type != "Zip":
        raise PublishError(
            f"function {function_name!r} in {region} is a {package_type} function; "
            "layers and zip code need a Zip function"
        )
    runtime = config.get("Runtime")
    architectures = config.get("Architectures") or ["x86_64"]
    target = manifest.target
    if runtime != target.runtime or target.architecture not in architectures:
        raise PublishError(
            f"function {function_name!r} in {region} runs {runtime}/{','.join(architectures)} "
            f"but the build targets {target.runtime}/{target.architecture}; change the function "
            "or [tool.lambda-layers] runtime/architecture"
        )
    current_code = str(config.get("CodeSha256", ""))
    current_layers = tuple(str(x["Arn"]) for x in config.get("Layers") or ())
    present = False
    if current_code == code.code_sha256:
        code_action = PublishAction(
            "skip-code", region, function_name, f"keep code (CodeSha256 {current_code} matches)"
        )
    else:
        present = bool(
            code.via_s3 and s3_bucket and _s3_object_present(aws, region, s3_bucket, code)
        )
        code_action = PublishAction(
            "update-code",
            region,
            function_name,
            f"update code {current_code or '-'} -> {code.code_sha256} "
            f"({code.path.name}, {_mib(code.size)}, {_how(code, s3_bucket, present)})",
            0 if present else code.size,
        )
    # ARNs of layers still to publish are unknown until then: `<name>:<new>` stands for them.
    wanted = (
        *(s.existing.arn if s.existing else f"{s.entry.name}:<new>" for s in layers),
        *manifest.external_layers,
    )
    layers_action = None
    if wanted != current_layers:
        layers_action = PublishAction(
            "update-layers", region, function_name, _layers_detail(wanted)
        )
    busy = config.get("LastUpdateStatus") == "InProgress" or config.get("State") == "Pending"
    return _FunctionStep(
        function_name,
        code,
        current_code,
        current_layers,
        busy,
        code_action,
        layers_action,
        present,
    )


def _layers_detail(arns: Sequence[str]) -> str:
    return "set layers to " + ", ".join(arns) if arns else "remove all layers"


# --------------------------------------------------------------------------- apply


class _Progress:
    """What has been done so far: what published.json records, complete or not."""

    def __init__(self) -> None:
        self.layers: list[PublishedLayer] = []
        self.actions: list[PublishAction] = []
        self.functions: list[FunctionUpdate] = []


def _upload_s3(aws: _Aws, region: str, bucket: str, artifact: Artifact) -> None:
    s3 = aws.client(region, "s3")
    with (
        artifact.path.open("rb") as body,
        _aws(region, f"uploading {artifact.path.name} to s3://{bucket}/{artifact.s3_key}"),
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
    aws: _Aws, region: str, artifact: Artifact, s3_bucket: str | None, present: bool
) -> dict[str, Any]:
    """Where Lambda takes the zip from, uploading it to S3 first when needed."""
    if artifact.via_s3:
        assert s3_bucket is not None  # check_artifacts guarantees it
        if not present:
            _upload_s3(aws, region, s3_bucket, artifact)
        return {"S3Bucket": s3_bucket, "S3Key": artifact.s3_key}
    return {"ZipFile": _read_verified(artifact)}


def _apply_region(
    aws: _Aws,
    manifest: Manifest,
    plan: _RegionPlan,
    progress: _Progress,
    log: Callable[[str], None],
) -> None:
    region, s3_bucket = plan.region, plan.s3_bucket
    client = aws.client(region, "lambda")
    arns: list[str] = []
    for step in plan.layers:
        if step.existing is not None:
            progress.layers.append(step.existing)
            progress.actions.append(step.action)
            arns.append(step.existing.arn)
            log(f"[{region}] {step.entry.name}: {step.action.detail}")
            continue
        content = _content(aws, region, step.artifact, s3_bucket, step.s3_present)
        params: dict[str, Any] = {
            "LayerName": step.entry.name,
            "Description": describe(
                step.entry.content_hash, step.entry.version, manifest.project_name
            ),
            "Content": content,
            "CompatibleRuntimes": [manifest.target.runtime],
            "CompatibleArchitectures": [manifest.target.architecture],
        }
        if manifest.license_info:
            params["LicenseInfo"] = manifest.license_info
        with _aws(region, f"publishing layer {step.entry.name!r}"):
            response = client.publish_layer_version(**params)
        if "ZipFile" in content:
            aws.bytes_uploaded += step.artifact.size
        published = PublishedLayer(
            region,
            step.entry.name,
            int(response["Version"]),
            str(response["LayerVersionArn"]),
            step.entry.content_hash,
            True,
        )
        progress.layers.append(published)
        progress.actions.append(step.action)
        arns.append(published.arn)
        log(f"[{region}] {step.entry.name}: published {published.arn}")
    if plan.function is not None:
        _apply_function(aws, manifest, region, plan.function, arns, s3_bucket, progress, log)


def _apply_function(
    aws: _Aws,
    manifest: Manifest,
    region: str,
    step: _FunctionStep,
    arns: Sequence[str],
    s3_bucket: str | None,
    progress: _Progress,
    log: Callable[[str], None],
) -> None:
    """Code first, then layers; Lambda refuses an update while the previous one still runs."""
    name, code = step.name, step.artifact
    client = aws.client(region, "lambda")
    busy = step.busy
    code_updated = step.code_action.kind == "update-code"
    if code_updated:
        content = _content(aws, region, code, s3_bucket, step.s3_present)
        if busy:
            aws.wait_updated(region, name)
        with _aws(region, f"updating the code of function {name!r}"):
            client.update_function_code(FunctionName=name, **content)
        if "ZipFile" in content:
            aws.bytes_uploaded += code.size
        busy = True
    progress.actions.append(step.code_action)
    log(f"[{region}] {name}: {step.code_action.detail}")
    wanted = (*arns, *manifest.external_layers)
    layers_updated = wanted != step.current_layers
    if layers_updated:
        if busy:
            aws.wait_updated(region, name)
        with _aws(region, f"setting the layers of function {name!r}"):
            client.update_function_configuration(FunctionName=name, Layers=list(wanted))
        busy = True
        action = PublishAction("update-layers", region, name, _layers_detail(wanted))
        progress.actions.append(action)
        log(f"[{region}] {name}: {action.detail}")
    if busy:
        aws.wait_updated(region, name)
    progress.functions.append(
        FunctionUpdate(region, name, code.code_sha256, code_updated, wanted, layers_updated)
    )


# --------------------------------------------------------------------------- record


def published_document(
    manifest: Manifest,
    manifest_path: Path,
    layers: Sequence[PublishedLayer],
    functions: Sequence[FunctionUpdate],
    *,
    complete: bool,
    api_calls: int,
    bytes_uploaded: int,
) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "generator": f"hatch-lambda-layers {__version__}",
        "complete": complete,
        "manifest": manifest_path.name,
        "project": {"name": manifest.project_name, "version": manifest.project_version},
        "layers": [
            {
                "region": x.region,
                "name": x.name,
                "version": x.version,
                "arn": x.arn,
                "content_hash": x.content_hash,
                "uploaded": x.uploaded,
            }
            for x in layers
        ],
        "functions": [
            {
                "region": f.region,
                "name": f.name,
                "code_sha256": f.code_sha256,
                "code_updated": f.code_updated,
                "layers": list(f.layers),
                "layers_updated": f.layers_updated,
            }
            for f in functions
        ],
        "external_layers": list(manifest.external_layers),
        "api_calls": api_calls,
        "bytes_uploaded": bytes_uploaded,
    }


# --------------------------------------------------------------------------- entry point


def publish(
    manifest_path: Path,
    regions: Sequence[str],
    *,
    function_name: str | None = None,
    s3_bucket: str | None = None,
    dry_run: bool = False,
    session_factory: SessionFactory | None = None,
    log: Callable[[str], None] = print,
) -> PublishReport:
    """Publish the manifest's layers to every region (reusing versions with the same content),
    optionally pointing `function_name` at them and at its code; see the module docstring.

    `session_factory(region)` returns a boto3-Session-like object (default: a boto3 Session for
    that region, which finds credentials and endpoints the usual way). With `dry_run` only read
    calls are made; the report lists the planned actions and, as `layers`, the versions that
    would be reused. Raises PublishError (UsageError without regions, ManifestError for an
    unreadable manifest).
    """
    manifest_path = Path(manifest_path)
    region_list = list(dict.fromkeys(regions))
    if not region_list:
        raise UsageError("publish needs at least one --region")
    _require_boto3()
    factory = session_factory or (
        lambda region: _require_boto3().session.Session(region_name=region)
    )
    manifest = read_manifest(manifest_path)
    layers, code, _ = check_artifacts(
        manifest, manifest_path.parent, function_name=function_name, s3_bucket=s3_bucket
    )
    aws = _Aws(factory)
    plans = [
        _plan_region(
            aws, manifest, region, layers, code, function_name, bucket_for(s3_bucket, region)
        )
        for region in region_list
    ]
    if dry_run:
        actions = tuple(a for p in plans for a in p.actions)
        for a in actions:
            log(f"[{a.region}] {a.target}: would {a.detail}")
        reused = tuple(s.existing for p in plans for s in p.layers if s.existing is not None)
        would_upload = sum(a.bytes for a in actions)
        log(f"dry run: {would_upload:,} bytes would be uploaded, {aws.api_calls} read calls made")
        return PublishReport(reused, actions, aws.api_calls, 0, True)

    progress = _Progress()
    try:
        for plan in plans:
            _apply_region(aws, manifest, plan, progress, log)
    except BaseException:
        try:
            _record(manifest, manifest_path, progress, aws, complete=False)
        except OSError as exc:  # the publish error matters more than the record
            log(f"could not write {PUBLISHED_NAME} next to {str(manifest_path)!r}: {exc}")
        raise
    _record(manifest, manifest_path, progress, aws, complete=True)
    log(
        f"published {sum(x.uploaded for x in progress.layers)} layer version(s), reused "
        f"{sum(not x.uploaded for x in progress.layers)}; {aws.bytes_uploaded:,} bytes "
        f"uploaded in {aws.api_calls} API calls"
    )
    return PublishReport(
        tuple(progress.layers),
        tuple(progress.actions),
        aws.api_calls,
        aws.bytes_uploaded,
        False,
        tuple(progress.functions),
    )


def _record(
    manifest: Manifest, manifest_path: Path, progress: _Progress, aws: _Aws, *, complete: bool
) -> None:
    document = published_document(
        manifest,
        manifest_path,
        progress.layers,
        progress.functions,
        complete=complete,
        api_calls=aws.api_calls,
        bytes_uploaded=aws.bytes_uploaded,
    )
    write_text_atomic(manifest_path.parent / PUBLISHED_NAME, json.dumps(document, indent=2) + "\n")
