"""What a publish did (or, with dry_run, would do): plain frozen data."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "FunctionUpdate",
    "PublishAction",
    "PublishReport",
    "PublishedLayer",
    "RegionOutcome",
    "ShareResult",
]


@dataclass(frozen=True)
class ShareResult:
    """One grant of `lambda:GetLayerVersion` on a layer version."""

    principal: str  # account ID or organisation ID
    statement_id: str
    added: bool  # False when the policy already granted it


@dataclass(frozen=True)
class PublishedLayer:
    """A layer version the function uses in one region.

    source: "published" (this run created it), "reused" (an existing version carries the same
    content_hash), "store" (the shared store recorded it), "adopted" (this run raced another
    runner for the store record and uses the version the winner recorded).
    """

    region: str
    name: str  # the manifest's layer name
    version: int
    arn: str
    content_hash: str
    uploaded: bool  # True when this run published the version
    layer_name: str = ""  # the Lambda layer name (the manifest's, or content-derived with a store)
    source: str = ""
    shares: tuple[ShareResult, ...] = ()


@dataclass(frozen=True)
class PublishAction:
    """One step, done or (with dry_run) to be done.

    kind: "reuse" (a layer version with this content exists), "publish" (a new layer version),
    "record" (write the store's record of a version found by its content), "share" (grant a
    layer permission), "update-code" / "skip-code" (the function's code), "update-layers" (the
    function's layers), "snapstart" (turn SnapStart on), "publish-version", "move-alias",
    "keep-alias".
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
    alias: str | None = None
    version: str | None = None  # the version the alias points to after the run
    version_published: bool = False  # PublishVersion was called (code or layers changed)
    alias_moved: bool = False  # the alias was created or moved
    snapstart: str | None = None  # the published version's SnapStart ApplyOn, when asked for


@dataclass(frozen=True)
class RegionOutcome:
    region: str
    complete: bool
    error: str | None
    api_calls: int
    bytes_uploaded: int


@dataclass(frozen=True)
class PublishReport:
    layers: tuple[PublishedLayer, ...]
    actions: tuple[PublishAction, ...]
    api_calls: int
    bytes_uploaded: int
    dry_run: bool
    functions: tuple[FunctionUpdate, ...] = ()
    regions: tuple[RegionOutcome, ...] = ()
