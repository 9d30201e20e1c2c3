"""Layer names for content shared through the store: derived from the content, not the project.

``lambda-layers-<package>-<hash12>``: `<package>` is the layer's largest package (by unzipped
size, ties by name), lower-cased with anything but letters and digits turned into ``-`` and
shortened so the name fits Lambda's 64 characters; `<hash12>` is the first 12 hex digits of the
layer's ``content_hash``. Two projects whose layers hold the same files get the same name, so
each account and region needs one copy.
"""

from __future__ import annotations

import re

from ..manifest import LayerEntry

__all__ = ["SHARED_PREFIX", "content_key", "shared_layer_name"]

SHARED_PREFIX = "lambda-layers"
_LAYER_NAME_MAX = 64
_HASH_DIGITS = 12
_NOT_NAME = re.compile(r"[^a-z0-9]+")


def content_key(content_hash: str) -> str:
    """The hex digest of a `sha256:<hex>` content hash (what store keys and names use)."""
    return content_hash.partition(":")[2] or content_hash


def _main_package(entry: LayerEntry) -> str:
    if not entry.packages:
        return "layer"
    largest = min(entry.packages, key=lambda p: (-p.size_unzipped, p.name))
    return _NOT_NAME.sub("-", largest.name.lower()).strip("-") or "layer"


def shared_layer_name(entry: LayerEntry) -> str:
    """The content-derived Lambda layer name of `entry` (see the module docstring)."""
    digest = content_key(entry.content_hash)[:_HASH_DIGITS]
    room = _LAYER_NAME_MAX - len(SHARED_PREFIX) - len(digest) - 2
    package = _main_package(entry)[:room].rstrip("-") or "layer"
    return f"{SHARED_PREFIX}-{package}-{digest}"
