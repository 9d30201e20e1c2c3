"""Phase 2, read-only AWS calls: what each region already has, and so what apply will do.

For each layer: with a store, its record for this account and region (and whether the recorded
version still exists); else, or when there is none, the layer's versions paged for one whose
Description carries the same content_hash. The S3 bucket is checked when zips go through it
(and whether an earlier run left a zip there); each function's CodeSha256, layers, state and,
with an alias, the alias's version are read (:mod:`.functions`). A dry run stops here.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import PublishError
from ..manifest import LayerEntry
from .aws import aws_errors, error_code
from .check import Artifact, CheckedArtifacts, wanted_layers
from .claims import StoreRecord
from .context import Context
from .functions import FunctionStep, plan_function
from .layer_publish import find_existing
from .naming import shared_layer_name
from .report import PublishAction, PublishedLayer
from .s3check import already_in_s3, check_bucket, describe_source, mib
from .store import Slot

__all__ = ["LayerStep", "RegionPlan", "plan_region"]


@dataclass(frozen=True)
class LayerStep:
    entry: LayerEntry
    artifact: Artifact
    layer_name: str  # the Lambda layer name: the manifest's, or content-derived with a store
    existing: PublishedLayer | None  # a version carrying the same content_hash
    action: PublishAction
    s3_present: bool = False
    slot: Slot | None = None  # with a store: where this content's record lives
    stale_etag: str | None = None  # the record names a version that no longer exists

    @property
    def needs_record(self) -> bool:
        """With a store: whether the version used must still be recorded there."""
        return self.slot is not None and (self.existing is None or self.existing.source != "store")


@dataclass(frozen=True)
class RegionPlan:
    region: str
    layers: tuple[LayerStep, ...]
    functions: tuple[FunctionStep, ...] = ()

    @property
    def actions(self) -> tuple[PublishAction, ...]:
        return (*(s.action for s in self.layers), *(a for f in self.functions for a in f.actions))


def _version_exists(ctx: Context, region: str, record: StoreRecord) -> bool:
    from botocore.exceptions import ClientError

    client = ctx.aws.client(region, "lambda")
    with aws_errors(region, f"reading layer version {record.arn}"):
        try:
            client.get_layer_version(LayerName=record.layer_name, VersionNumber=record.version)
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return False
            raise
    return True


def _store_lookup(
    ctx: Context, region: str, entry: LayerEntry
) -> tuple[Slot, str | None, PublishedLayer | None]:
    """The content's slot in the store, the ETag of a record naming a version that no longer
    exists (to be replaced), and the recorded version when it does exist."""
    store = ctx.store
    assert store is not None  # only called with a store
    slot = store.slot(entry.content_hash, ctx.manifest.target, region)
    found = store.read_record(slot)
    if found is None:
        return slot, None, None
    record, etag = found
    if not _version_exists(ctx, region, record):
        ctx.log(f"[{region}] {entry.name}: the store records {record.arn}, which no longer exists")
        return slot, etag, None
    existing = PublishedLayer(
        region,
        entry.name,
        record.version,
        record.arn,
        entry.content_hash,
        False,
        record.layer_name,
        "store",
    )
    return slot, None, existing


def _source(ctx: Context, region: str, artifact: Artifact, present: bool) -> str:
    store = ctx.store
    if store is not None and region == store.bucket_region:
        return f"from the store in s3://{store.location.bucket}"
    if artifact.via_s3 and ctx.s3_bucket(region) is None:
        raise PublishError(
            f"{artifact.path.name} ({artifact.size:,} bytes) is over the direct-upload limit: "
            f"in {region} it needs --s3-bucket (the store's bucket is in "
            f"{store.bucket_region if store else '-'})"
        )
    return describe_source(artifact, ctx.s3_bucket(region), present)


def _plan_layer(ctx: Context, region: str, entry: LayerEntry, artifact: Artifact) -> LayerStep:
    """Reuse the version carrying this content (recorded in the store, or found by its
    content hash), else publish the zip."""
    slot, stale, name = None, None, entry.name
    if ctx.store is not None:
        slot, stale, recorded = _store_lookup(ctx, region, entry)
        if recorded is not None:
            action = PublishAction("reuse", region, entry.name, f"reuse {recorded.arn} (store)")
            return LayerStep(entry, artifact, recorded.layer_name, recorded, action, slot=slot)
        name = shared_layer_name(entry)
    found = find_existing(ctx, region, name, entry.content_hash)
    if found is not None:
        version, arn = found
        existing = PublishedLayer(
            region, entry.name, version, arn, entry.content_hash, False, name, "reused"
        )
        also = " and record it in the store" if slot else ""
        action = PublishAction("reuse", region, entry.name, f"reuse {arn}{also}")
        return LayerStep(entry, artifact, name, existing, action, slot=slot, stale_etag=stale)
    bucket = ctx.s3_bucket(region)
    present = already_in_s3(ctx.aws, region, bucket, artifact)
    target = ctx.manifest.target
    action = PublishAction(
        "publish",
        region,
        entry.name,
        f"publish {artifact.path.name} ({mib(artifact.size)}, "
        f"{_source(ctx, region, artifact, present)}) "
        f"for {target.runtime}/{target.architecture}, content_hash={entry.content_hash}"
        + (f" as {name}" if name != entry.name else ""),
        0 if present else artifact.size,
    )
    return LayerStep(entry, artifact, name, None, action, present, slot, stale)


def plan_region(ctx: Context, region: str, artifacts: CheckedArtifacts) -> RegionPlan:
    """What apply will do in `region`, from read-only calls."""
    bucket = ctx.s3_bucket(region)
    if bucket and artifacts.need_s3:
        check_bucket(ctx.aws, region, bucket)
    steps = tuple(
        _plan_layer(ctx, region, entry, artifact)
        for entry, artifact in zip(ctx.manifest.layers, artifacts.layers, strict=True)
    )
    # ARNs of layers still to publish are unknown until then: `<name>:<new>` stands for them.
    arns = [s.existing.arn if s.existing else f"{s.layer_name}:<new>" for s in steps]
    functions = tuple(
        plan_function(ctx, region, f, wanted_layers(ctx.manifest, f.entry, arns))
        for f in artifacts.functions
    )
    return RegionPlan(region, steps, functions)
