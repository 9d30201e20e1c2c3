"""published.json: what a publish run did, next to the manifest, written atomically.

``"complete": false`` marks a run that failed part-way: the layers it lists exist, the rest of
the manifest may not. ``regions`` says, per region, whether it finished and why not.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import __version__
from ..files import write_text_atomic
from ..manifest import Manifest
from .report import FunctionUpdate, PublishedLayer, RegionOutcome

__all__ = ["PUBLISHED_NAME", "published_document", "store_summary", "write_published"]

PUBLISHED_NAME = "published.json"


def _layer(x: PublishedLayer) -> dict[str, Any]:
    return {
        "region": x.region,
        "name": x.name,
        "layer_name": x.layer_name or x.name,
        "version": x.version,
        "arn": x.arn,
        "content_hash": x.content_hash,
        "uploaded": x.uploaded,
        "source": x.source or ("published" if x.uploaded else "reused"),
        "shares": [
            {"principal": s.principal, "statement_id": s.statement_id, "added": s.added}
            for s in x.shares
        ],
    }


def _function(f: FunctionUpdate) -> dict[str, Any]:
    return {
        "region": f.region,
        "name": f.name,
        "code_sha256": f.code_sha256,
        "code_updated": f.code_updated,
        "layers": list(f.layers),
        "layers_updated": f.layers_updated,
        "alias": f.alias,
        "version": f.version,
        "version_published": f.version_published,
        "alias_moved": f.alias_moved,
        "snapstart": f.snapstart,
    }


def _region(r: RegionOutcome) -> dict[str, Any]:
    return {
        "complete": r.complete,
        "error": r.error,
        "api_calls": r.api_calls,
        "bytes_uploaded": r.bytes_uploaded,
    }


def store_summary(
    url: str, account: str, bucket_region: str, layers: Sequence[PublishedLayer]
) -> dict[str, Any]:
    """How the shared store served this run: layer versions it recorded already ("hits"),
    versions this run published, found by content, or took from a runner that won a race."""
    sources = [x.source for x in layers]
    return {
        "url": url,
        "account": account,
        "bucket_region": bucket_region,
        "hits": sources.count("store"),
        "published": sources.count("published"),
        "found": sources.count("reused"),
        "adopted": sources.count("adopted"),
    }


def published_document(
    manifest: Manifest,
    manifest_path: Path,
    layers: Sequence[PublishedLayer],
    functions: Sequence[FunctionUpdate],
    *,
    complete: bool,
    api_calls: int,
    bytes_uploaded: int,
    regions: Sequence[RegionOutcome] = (),
    store: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON document published.json holds."""
    return {
        "schema_version": 1,
        "generator": f"hatch-lambda-layers {__version__}",
        "complete": complete,
        "manifest": manifest_path.name,
        "project": {"name": manifest.project_name, "version": manifest.project_version},
        "regions": {r.region: _region(r) for r in regions},
        "layers": [_layer(x) for x in layers],
        "functions": [_function(f) for f in functions],
        "external_layers": list(manifest.external_layers),
        "store": store,
        "api_calls": api_calls,
        "bytes_uploaded": bytes_uploaded,
    }


def write_published(manifest_path: Path, document: dict[str, Any]) -> None:
    """Write `document` as published.json next to the manifest, atomically."""
    text = json.dumps(document, indent=2) + "\n"
    write_text_atomic(manifest_path.parent / PUBLISHED_NAME, text)
