"""published.json: what a publish run did, next to the manifest, written atomically.

``"complete": false`` marks a run that failed part-way: the layers it lists exist, the rest of
the manifest may not.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import __version__
from ..files import write_text_atomic
from ..manifest import Manifest
from .report import FunctionUpdate, PublishedLayer

__all__ = ["PUBLISHED_NAME", "published_document", "write_published"]

PUBLISHED_NAME = "published.json"


def _layer(x: PublishedLayer) -> dict[str, Any]:
    return {
        "region": x.region,
        "name": x.name,
        "version": x.version,
        "arn": x.arn,
        "content_hash": x.content_hash,
        "uploaded": x.uploaded,
    }


def _function(f: FunctionUpdate) -> dict[str, Any]:
    return {
        "region": f.region,
        "name": f.name,
        "code_sha256": f.code_sha256,
        "code_updated": f.code_updated,
        "layers": list(f.layers),
        "layers_updated": f.layers_updated,
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
) -> dict[str, Any]:
    """The JSON document published.json holds."""
    return {
        "schema_version": 1,
        "generator": f"hatch-lambda-layers {__version__}",
        "complete": complete,
        "manifest": manifest_path.name,
        "project": {"name": manifest.project_name, "version": manifest.project_version},
        "layers": [_layer(x) for x in layers],
        "functions": [_function(f) for f in functions],
        "external_layers": list(manifest.external_layers),
        "api_calls": api_calls,
        "bytes_uploaded": bytes_uploaded,
    }


def write_published(manifest_path: Path, document: dict[str, Any]) -> None:
    """Write `document` as published.json next to the manifest, atomically."""
    text = json.dumps(document, indent=2) + "\n"
    write_text_atomic(manifest_path.parent / PUBLISHED_NAME, text)
