"""The content hash in a layer version's Description: written on publish, read to find a
version that already holds the same content (whoever published it)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import PublishError
from ..targets import DESCRIPTION_MAX

__all__ = ["DESCRIPTION_TAG", "describe", "find_reusable", "parse_content_hash"]

DESCRIPTION_TAG = "hatch-lambda-layers content_hash="
_HASH_IN_DESCRIPTION = re.compile(re.escape(DESCRIPTION_TAG) + r"([^\s()]+)")


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
    """The content hash a Description carries, or None."""
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
