"""What a publish did (or, with dry_run, would do): plain frozen data."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FunctionUpdate", "PublishAction", "PublishReport", "PublishedLayer"]


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
