"""The validated tool table as frozen dataclasses, with the choices as `Literal` types and the
documented defaults.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, get_args

from ..targets import ARCHITECTURES, LAYERS_MAX, RUNTIMES

if sys.version_info >= (3, 11):
    pass
else:  # pragma: no cover - exercised on Python 3.10 only
    pass


TOOL_KEY = "tool.lambda-layers"


Mode = Literal["layers", "fat", "image", "efs"]


Compile = bool | Literal["auto"]


Upload = Literal["direct", "s3"]


# `Config.lock` is one of these keywords (always lower case) or else a lock file path.
LockKeyword = Literal["auto", "none"]


_RUNTIMES = RUNTIMES


_ARCHITECTURES = ARCHITECTURES


_LOCK_KEYWORDS: tuple[LockKeyword, ...] = get_args(LockKeyword)


_UPLOADS: tuple[Upload, ...] = get_args(Upload)


_MODES: tuple[Mode, ...] = get_args(Mode)


_DEFAULT_REPLAN_MARGIN = 0.10


# What one more layer costs the partitioner, in zipped bytes republished per build (README).
DEFAULT_LAYER_OVERHEAD = 500_000


# Bytes of Lambda's unzipped limit that `compile = "auto"` leaves free (external layers, growth).
DEFAULT_COMPILE_MARGIN = 5_000_000


_KNOWN_KEYS: tuple[str, ...] = (
    "runtime",
    "architecture",
    "provided",
    "external-layers",
    "max-layers",
    "lock",
    "index-url",
    "extra-index-urls",
    "find-links",
    "exclude",
    "default-excludes",
    "botocore-services",
    "strip",
    "compile",
    "compile-margin",
    "volatile",
    "stable",
    "upload",
    "mode",
    "layers",
    "functions",
    "handler",
    "license-info",
    "replan-margin",
    "layer-overhead",
    "external-layer-sizes",
    "efs-mount-path",
)


_FUNCTION_KEYS: tuple[str, ...] = ("handler", "include", "dependencies")


# Where mode = "efs" expects the dependencies (Lambda mounts file systems under /mnt/).
DEFAULT_EFS_MOUNT_PATH = "/mnt/python"


@dataclass(frozen=True)
class FunctionConfig:
    """One Lambda function built from the project.

    `include` holds glob patterns relative to the wheel's distribution paths; empty means
    everything the wheel target selects. `dependencies` names the distributions it needs
    (None: all of the project's). `handler` is None only for the default function the
    pipeline makes when neither `functions` nor `handler` is configured.
    """

    name: str
    handler: str | None
    include: tuple[str, ...] = ()
    # Its own dependency list (distribution names, canonical): it attaches only the layers
    # that hold their closure. None: every dependency of the project.
    dependencies: tuple[str, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class Config:
    """The validated tool table. Defaults mirror the documented TOML defaults.

    `lock` is ``"auto"`` or ``"none"`` (a `LockKeyword`, normalised to lower case) or, for any
    other value, the path of a lock file as written, relative to the project root unless
    absolute; `resolve.locks.find_lock` interprets it.
    """

    runtime: str
    architecture: str = "x86_64"
    provided: tuple[str, ...] = ()
    external_layers: tuple[str, ...] = ()
    max_layers: int = LAYERS_MAX
    lock: LockKeyword | str = "auto"
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    default_excludes: bool = True
    botocore_services: tuple[str, ...] | None = None
    strip: bool = False
    compile: Compile = False
    compile_margin: int = DEFAULT_COMPILE_MARGIN
    volatile: tuple[str, ...] = ()
    stable: tuple[str, ...] = ()
    upload: Upload = "direct"
    mode: Mode = "layers"
    # A read-only view, compared by value but left out of the hash (a mapping proxy is not
    # hashable); equal configs still hash equally.
    layers: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    functions: tuple[FunctionConfig, ...] = ()
    handler: str | None = None
    license_info: str | None = None
    replan_margin: float = _DEFAULT_REPLAN_MARGIN
    layer_overhead: int = DEFAULT_LAYER_OVERHEAD
    # external layer ARN -> its unzipped size in bytes, as the user states it
    external_layer_sizes: Mapping[str, int] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    efs_mount_path: str = DEFAULT_EFS_MOUNT_PATH
