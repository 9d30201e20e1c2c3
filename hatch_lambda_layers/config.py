"""The ``[tool.lambda-layers]`` table of a project's pyproject.toml, as a frozen `Config`.

`parse_config` is pure: it checks every key strictly (a boolean is not an integer, a string is
not a list), collects every problem with its full key, and raises them all at once in one
`ConfigError`. `load_config` is the only function here that touches the file system.
"""

from __future__ import annotations

import difflib
import json
import keyword
import math
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, TypeVar, get_args
from urllib.parse import urlsplit

from packaging.utils import InvalidName, canonicalize_name

from .errors import ConfigError
from .targets import ARCHITECTURES, LAYERS_MAX, LICENSE_INFO_MAX, RUNTIMES, UNZIPPED_MAX

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "TOOL_KEY",
    "Config",
    "FunctionConfig",
    "load_config",
    "parse_config",
    "pyproject_path",
]

TOOL_KEY = "tool.lambda-layers"

Mode = Literal["layers", "fat", "image", "efs"]
Compile = bool | Literal["auto"]
Upload = Literal["direct", "s3"]
# `Config.lock` is one of these keywords (always lower case) or else a lock file path.
LockKeyword = Literal["auto", "none"]

_RUNTIMES = RUNTIMES
_ARCHITECTURES = ARCHITECTURES
_SHOWN_MAX = 80  # characters of a quoted value in an error message
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

# AWS has no library-free validator for these shapes (botocore is an optional extra), so the
# patterns are written out: layer version ARNs, Lambda resource names, botocore service names.
_LAYER_VERSION_ARN = re.compile(
    r"arn:aws[a-z-]*:lambda:[a-z]{2}(?:-[a-z]+)+-\d+:\d{12}:layer:[A-Za-z0-9_-]{1,140}:[1-9]\d*"
)
_LAYER_ARN_WITHOUT_VERSION = re.compile(
    r"arn:aws[a-z-]*:lambda:[a-z]{2}(?:-[a-z]+)+-\d+:\d{12}:layer:[A-Za-z0-9_-]{1,140}"
)
_RESOURCE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SERVICE_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_BARE_TOML_KEY = re.compile(r"[A-Za-z0-9_-]+")
_URL_SCHEMES = ("http", "https", "file")


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


# --------------------------------------------------------------------------- rendering helpers


def _join(path: str, key: str) -> str:
    """The dotted TOML key of `key` inside `path`, quoting keys that are not bare."""
    return f"{path}.{key}" if _BARE_TOML_KEY.fullmatch(key) else f"{path}.{json.dumps(key)}"


def _show(value: object) -> str:
    """A value as TOML spells it, shortened."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = json.dumps(value)
        return text if len(text) <= _SHOWN_MAX else text[: _SHOWN_MAX - 4] + '..."'
    if isinstance(value, int | float):
        return repr(value)
    return _type_name(value)


# TOML's names for Python's types, most specific first (a bool is also an int).
_TOML_TYPES: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "a boolean"),
    (int, "an integer"),
    (float, "a float"),
    (str, "a string"),
    ((list, tuple), "an array"),
    (Mapping, "a table"),
)


def _type_name(value: object) -> str:
    for kind, name in _TOML_TYPES:
        if isinstance(value, kind):
            return name
    return f"a {type(value).__name__}"


def _got(value: object) -> str:
    """`got ...` for a value of the wrong type: the value and what TOML type it is."""
    if isinstance(value, list | tuple | Mapping):
        return f"got {_type_name(value)}"
    return f"got {_show(value)} ({_type_name(value)})"


def _one_of(choices: Iterable[str]) -> str:
    return ", ".join(json.dumps(c) for c in choices)


def _unknown_key(path: str, key: str, known: tuple[str, ...]) -> str:
    full = _join(path, key)
    close = difflib.get_close_matches(key, known, n=1)
    if close:
        return f"{full} is not a known key; did you mean {_join(path, close[0])}?"
    return f"{full} is not a known key; known keys are {', '.join(known)}"


# --------------------------------------------------------------------------- item checks
# Each returns (normalized value, None) or (None, reason); the reason completes
# "<key> item <n> ..." style messages.

_Checked = tuple[str, None] | tuple[None, str]
_ItemCheck = Callable[[str], _Checked]


def _check_name(item: str) -> _Checked:
    try:
        # validate=True applies the PEP 508 name pattern before normalizing.
        return canonicalize_name(item, validate=True), None
    except InvalidName:
        return None, f"{_show(item)} is not a valid distribution name (PEP 508)"


def _check_layer_arn(item: str) -> _Checked:
    if _LAYER_VERSION_ARN.fullmatch(item):
        return item, None
    if _LAYER_ARN_WITHOUT_VERSION.fullmatch(item):
        return None, f"{_show(item)} has no version; add it, e.g. {json.dumps(item + ':1')}"
    return None, (
        f"{_show(item)} is not a Lambda layer version ARN "
        '("arn:aws:lambda:<region>:<account id>:layer:<name>:<version>")'
    )


def _check_url(item: str) -> _Checked:
    parts = urlsplit(item)
    if (
        parts.scheme in _URL_SCHEMES
        and (parts.netloc or parts.scheme == "file")
        and not any(c.isspace() for c in item)
    ):
        return item, None
    return None, f"{_show(item)} is not an http, https or file URL"


def _check_url_or_path(item: str) -> _Checked:
    if "://" in item:
        return _check_url(item)
    if not item.strip():
        return None, "is empty; give a URL or a directory"
    return item, None


def _check_glob(item: str) -> _Checked:
    if not item:
        return None, "is an empty pattern"
    if item.startswith(("/", "\\")) or re.match(r"[A-Za-z]:[\\/]", item):
        return None, f"{_show(item)} is absolute; patterns are relative paths"
    if ".." in re.split(r"[\\/]", item):
        return None, f"{_show(item)} climbs out with '..'; patterns are relative paths"
    return item, None


def _check_service(item: str) -> _Checked:
    if _SERVICE_NAME.fullmatch(item):
        return item, None
    hint = f'; did you mean "{item.lower()}"?' if _SERVICE_NAME.fullmatch(item.lower()) else ""
    return None, (
        f'{_show(item)} is not a botocore service name (lowercase, e.g. "s3", "dynamodb"){hint}'
    )


def _check_dependency(item: str) -> _Checked:
    """A function's dependency: a distribution name; versions come from the project's lock."""
    checked = _check_name(item)
    if checked[0] is not None:
        return checked
    bare = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", item)
    if bare and _check_name(bare.group(1))[0] is not None:
        return None, (
            f"{_show(item)} is not a distribution name: write {json.dumps(bare.group(1))}; its "
            "version and extras come from the project's dependencies and lock"
        )
    return checked


def _handler_problem(value: str) -> str | None:
    parts = value.split(".")
    if len(parts) > 1 and all(p.isidentifier() and not keyword.iskeyword(p) for p in parts):
        return None
    return (
        f'must be "module.function" (dotted Python names, e.g. "app.handler"), got {_show(value)}'
    )


# --------------------------------------------------------------------------- table reader


_Choice = TypeVar("_Choice", bound=str)


class _Table:
    """Typed getters over one TOML table that record problems instead of raising."""

    def __init__(self, data: Mapping[str, Any], path: str, problems: list[str]) -> None:
        self.data = data
        self.path = path
        self.problems = problems

    def key(self, name: str) -> str:
        return _join(self.path, name)

    def problem(self, name: str, message: str) -> None:
        self.problems.append(f"{self.key(name)} {message}")

    def check_unknown(self, known: tuple[str, ...]) -> None:
        for name in self.data:
            if name not in known:
                self.problems.append(_unknown_key(self.path, str(name), known))

    def string(self, name: str) -> str | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            self.problem(name, f"must be a string, {_got(value)}")
            return None
        if not value.strip():
            self.problem(name, "must not be empty")
            return None
        return value

    def choice(self, name: str, choices: tuple[_Choice, ...], default: _Choice) -> _Choice:
        value = self.data.get(name)
        if value is None:
            return default
        for choice in choices:
            if value == choice and isinstance(value, str):
                return choice
        got = f"got {_show(value)}" if isinstance(value, str) else _got(value)
        self.problem(name, f"must be one of {_one_of(choices)}, {got}")
        return default

    def boolean(self, name: str, default: bool) -> bool:
        value = self.data.get(name, default)
        if not isinstance(value, bool):
            self.problem(name, f"must be true or false, {_got(value)}")
            return default
        return value

    def integer(self, name: str, low: int, high: int) -> int | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            got = f"got {value}" if type(value) is int else _got(value)
            self.problem(name, f"must be an integer from {low} to {high}, {got}")
            return None
        return value

    def number(self, name: str, low: float, high: float, default: float) -> float:
        value = self.data.get(name, default)
        ok_type = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok_type or not math.isfinite(value) or not low <= value <= high:
            got = f"got {_show(value)}" if ok_type else _got(value)
            self.problem(name, f"must be a number from {low:g} to {high:g}, {got}")
            return default
        return float(value)

    def array(self, name: str, what: str, check: _ItemCheck | None = None) -> tuple[str, ...]:
        """A list of strings, each normalized by `check`; duplicates dropped, order kept."""
        value = self.data.get(name)
        if value is None:
            return ()
        return _string_array(value, self.key(name), what, self.problems, check)


def _string_array(
    value: object,
    key: str,
    what: str,
    problems: list[str],
    check: _ItemCheck | None = None,
    *,
    keep_duplicates: bool = False,
) -> tuple[str, ...]:
    if isinstance(value, str):
        problems.append(
            f"{key} must be a list of {what}, got a string; write [{json.dumps(value)}]"
        )
        return ()
    if not isinstance(value, list | tuple):
        problems.append(f"{key} must be a list of {what}, {_got(value)}")
        return ()
    items: list[str] = []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            problems.append(f"{key}[{index}] must be a string, {_got(item)}")
            continue
        if check is None:
            normalized: str | None = item if item.strip() else None
            reason = None if normalized is not None else "is empty"
        else:
            normalized, reason = check(item)
        if normalized is None:
            problems.append(f"{key}[{index}] {reason}")
        elif keep_duplicates or normalized not in items:
            items.append(normalized)
    return tuple(items)


# --------------------------------------------------------------------------- sub-tables


def _parse_layers(value: object, key: str, problems: list[str]) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.append(
            f"{key} must be a table of layer name = [distribution names], {_got(value)}"
        )
        return {}
    groups: dict[str, tuple[str, ...]] = {}
    owner: dict[str, str] = {}
    for layer, members in value.items():
        layer_key = _join(key, str(layer))
        if not _RESOURCE_NAME.fullmatch(str(layer)):
            problems.append(
                f"{layer_key} is not a valid layer name: use 1 to 64 letters, digits, '-' or '_'"
            )
        names = _string_array(members, layer_key, "distribution names", problems, _check_name)
        if isinstance(members, list | tuple) and not members:
            problems.append(f"{layer_key} is empty; list the packages this layer holds")
        for name in names:
            if name in owner:
                problems.append(
                    f"{layer_key} lists {json.dumps(name)}, already pinned to "
                    f"{_join(key, owner[name])}; a package belongs to one layer"
                )
            else:
                owner[name] = str(layer)
        groups[str(layer)] = names
    return groups


def _parse_functions(value: object, key: str, problems: list[str]) -> tuple[FunctionConfig, ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        problems.append(f"{key} must be a table of function tables, {_got(value)}")
        return ()
    if not value:
        problems.append(
            f'{key} is empty; add a [{key}.<name>] table with handler = "module.function"'
        )
        return ()
    functions: list[FunctionConfig] = []
    for name, body in value.items():
        function = _parse_function(str(name), body, _join(key, str(name)), problems)
        if function is not None:
            functions.append(function)
    return tuple(functions)


def _parse_function(
    name: str, body: object, key: str, problems: list[str]
) -> FunctionConfig | None:
    """One ``[functions.<name>]`` table; None when it is not a table at all."""
    if not _RESOURCE_NAME.fullmatch(name):
        problems.append(
            f"{key} is not a valid function name: use 1 to 64 letters, digits, '-' or '_'"
        )
    if not isinstance(body, Mapping):
        problems.append(f'{key} must be a table with handler = "module.function", {_got(body)}')
        return None
    table = _Table(body, key, problems)
    table.check_unknown(_FUNCTION_KEYS)
    handler = table.string("handler")
    if "handler" not in body:
        table.problem(
            "handler", 'is required: the "module.function" Lambda calls, e.g. "app.handler"'
        )
    elif handler is not None and (reason := _handler_problem(handler)):
        table.problem("handler", reason)
    include: tuple[str, ...] = ()
    dependencies = None
    if "dependencies" in body:
        dependencies = table.array("dependencies", "distribution names", _check_dependency)
    if "include" in body:
        include = table.array("include", "glob patterns", _check_glob)
        if isinstance(body["include"], list | tuple) and not body["include"]:
            table.problem(
                "include",
                "is empty, so the function would hold nothing; remove it to include everything",
            )
    return FunctionConfig(name=name, handler=handler, include=include, dependencies=dependencies)


# --------------------------------------------------------------------------- public API


def parse_config(table: Mapping[str, Any] | None) -> Config:
    """Validate ``pyproject["tool"]["lambda-layers"]``; one `ConfigError` names every problem."""
    if table is None:
        raise ConfigError(
            f"pyproject.toml has no [{TOOL_KEY}] table; add a [{TOOL_KEY}] table with at least "
            f'runtime = "{_RUNTIMES[-1]}"'
        )
    if not isinstance(table, Mapping):
        raise ConfigError(f"{TOOL_KEY} must be a table, {_got(table)}")
    problems: list[str] = []
    config = _read_config(_Table(table, TOOL_KEY, problems))
    if problems:
        raise ConfigError(problems)
    return config


def _read_config(t: _Table) -> Config:
    """Every key of the tool table, in documentation order; problems go to `t.problems`.

    The returned `Config` holds defaults where a key had a problem, so it is only meaningful
    when `t.problems` stayed empty.
    """
    t.check_unknown(_KNOWN_KEYS)
    runtime, architecture = _parse_target(t)
    provided = t.array("provided", "distribution names", _check_name)
    slots = _parse_slots(t)
    lock = _parse_lock(t)
    index_url, extra_index_urls, find_links = _parse_index(t)
    exclude = t.array("exclude", "glob patterns", _check_glob)
    default_excludes = t.boolean("default-excludes", True)
    botocore_services = _parse_botocore_services(t)
    strip = t.boolean("strip", False)
    compile_ = _parse_compile(t)
    compile_margin = t.integer("compile-margin", 0, UNZIPPED_MAX)
    volatile, stable = _parse_rates(t)
    upload = t.choice("upload", _UPLOADS, "direct")
    mode = t.choice("mode", _MODES, "layers")
    layers = _parse_pinned_layers(t, slots, provided)
    functions, handler = _parse_handlers(t)
    license_info = _parse_license_info(t)
    replan_margin = t.number("replan-margin", 0.0, 1.0, _DEFAULT_REPLAN_MARGIN)
    layer_overhead = t.integer("layer-overhead", 0, 10**9)
    external_sizes = _parse_external_sizes(t, slots.external_layers)
    efs_mount_path = _parse_mode_keys(t, mode, slots.external_layers)
    return Config(
        runtime=runtime,
        architecture=architecture,
        provided=provided,
        external_layers=slots.external_layers,
        max_layers=slots.max_layers,
        lock=lock,
        index_url=index_url,
        extra_index_urls=extra_index_urls,
        find_links=find_links,
        exclude=exclude,
        default_excludes=default_excludes,
        botocore_services=botocore_services,
        strip=strip,
        compile=compile_,
        compile_margin=DEFAULT_COMPILE_MARGIN if compile_margin is None else compile_margin,
        volatile=volatile,
        stable=stable,
        upload=upload,
        mode=mode,
        layers=MappingProxyType(layers),
        functions=functions,
        handler=handler,
        license_info=license_info,
        replan_margin=replan_margin,
        layer_overhead=DEFAULT_LAYER_OVERHEAD if layer_overhead is None else layer_overhead,
        external_layer_sizes=MappingProxyType(external_sizes),
        efs_mount_path=efs_mount_path,
    )


_MOUNT_PATH = re.compile(r"/mnt(?:/[A-Za-z0-9_.-]+)+")


def _parse_mode_keys(t: _Table, mode: Mode, external_layers: tuple[str, ...]) -> str:
    """What `mode` allows: `efs-mount-path` (a path under /mnt/, as Lambda requires of a file
    system's local mount path) only with mode = "efs"; no `external-layers` for an image."""
    path = t.string("efs-mount-path")
    if path is not None:
        parts = path.split("/")
        if not _MOUNT_PATH.fullmatch(path) or any(p in (".", "..") for p in parts):
            t.problem(
                "efs-mount-path",
                f"must be an absolute path under /mnt/ (Lambda mounts file systems there), e.g. "
                f'"{DEFAULT_EFS_MOUNT_PATH}", got {_show(path)}',
            )
            path = None
        elif mode != "efs":
            t.problem("efs-mount-path", f'applies only with mode = "efs", not {json.dumps(mode)}')
    if mode == "image" and external_layers:
        t.problem(
            "external-layers",
            'cannot be used with mode = "image": Lambda attaches no layers to a container '
            "image function; put their packages in the project's dependencies instead",
        )
    return path or DEFAULT_EFS_MOUNT_PATH


def _parse_external_sizes(t: _Table, arns: tuple[str, ...]) -> dict[str, int]:
    """`external-layer-sizes = { "<layer version ARN>" = <unzipped bytes> }`: each key one of
    `external-layers`, each value a whole number of bytes."""
    value = t.data.get("external-layer-sizes")
    if value is None:
        return {}
    key = t.key("external-layer-sizes")
    if not isinstance(value, Mapping):
        t.problems.append(f"{key} must be a table of layer ARN = unzipped bytes, {_got(value)}")
        return {}
    sizes: dict[str, int] = {}
    for arn, size in value.items():
        entry = _join(key, str(arn))
        if arn not in arns:
            t.problems.append(f"{entry} is not one of {t.key('external-layers')}; list it there")
        elif not isinstance(size, int) or isinstance(size, bool) or size < 0:
            t.problems.append(f"{entry} must be the layer's unzipped size in bytes, {_got(size)}")
        else:
            sizes[str(arn)] = size
    return sizes


# --------------------------------------------------------------------------- key groups
# Each reads one group of keys from the tool table and appends its problems to the shared list.


def _parse_target(t: _Table) -> tuple[str, str]:
    """`runtime` (required) and `architecture`."""
    if "runtime" not in t.data:
        t.problem("runtime", f"is required: one of {_one_of(_RUNTIMES)}")
    runtime = t.choice("runtime", _RUNTIMES, _RUNTIMES[-1])
    architecture = t.choice("architecture", _ARCHITECTURES, "x86_64")
    return runtime, architecture


@dataclass(frozen=True)
class _Slots:
    """How Lambda's layer slots are shared between external layers and this project's layers."""

    external_layers: tuple[str, ...]
    max_layers: int
    # False when `max_layers` is a fallback after a problem, so other checks must not use it.
    max_layers_ok: bool


def _parse_compile(t: _Table) -> Compile:
    """`compile`: true, false or "auto"."""
    value = t.data.get("compile", False)
    if isinstance(value, bool):
        return value
    if value == "auto":
        return "auto"
    got = f"got {_show(value)}" if isinstance(value, str) else _got(value)
    t.problem("compile", f'must be true, false or "auto", {got}')
    return False


def _parse_external_layers(t: _Table) -> tuple[tuple[str, ...], int]:
    """`external-layers` without duplicates, and how many slots the array as written takes."""
    if "external-layers" not in t.data:
        return (), 0
    raw = t.data["external-layers"]
    arns = _string_array(
        raw,
        t.key("external-layers"),
        "layer version ARNs",
        t.problems,
        _check_layer_arn,
        keep_duplicates=True,
    )
    for arn in sorted({a for a in arns if arns.count(a) > 1}):
        t.problem("external-layers", f"lists {json.dumps(arn)} more than once")
    count = len(raw) if isinstance(raw, list | tuple) else 0
    return tuple(dict.fromkeys(arns)), count


def _parse_slots(t: _Table) -> _Slots:
    """`external-layers` and `max-layers`: together at most Lambda's layer limit."""
    external_layers, external_count = _parse_external_layers(t)
    slots_left = LAYERS_MAX - external_count
    if slots_left <= 0:
        t.problem(
            "external-layers",
            f"lists {external_count} layers, but Lambda attaches at most {LAYERS_MAX} "
            f"to a function, leaving none for this project's layers; keep at most "
            f"{LAYERS_MAX - 1}",
        )
    max_layers = t.integer("max-layers", 1, LAYERS_MAX)
    if max_layers is not None and slots_left > 0 and max_layers > slots_left:
        t.problem(
            "max-layers",
            f"is {max_layers}, but {t.key('external-layers')} already takes {external_count} of "
            f"Lambda's {LAYERS_MAX} layer slots ({max_layers} + {external_count} > "
            f"{LAYERS_MAX}); set it to at most {slots_left}",
        )
    max_layers_ok = slots_left > 0 and (max_layers is not None or "max-layers" not in t.data)
    return _Slots(
        external_layers=external_layers,
        max_layers=max(slots_left, 1) if max_layers is None else max_layers,
        max_layers_ok=max_layers_ok,
    )


def _parse_lock(t: _Table) -> str:
    """`lock`: the keywords in lower case, any other string as written (a path)."""
    if "lock" not in t.data:
        return "auto"
    value = t.string("lock")
    if value is None:
        return "auto"
    return value.lower() if value.lower() in _LOCK_KEYWORDS else value


def _parse_index(t: _Table) -> tuple[str | None, tuple[str, ...], tuple[str, ...]]:
    """`index-url`, `extra-index-urls` and `find-links`."""
    index_url = None
    if "index-url" in t.data:
        index_url = t.string("index-url")
        if index_url is not None:
            index_url, reason = _check_url(index_url)
            if reason:
                t.problem("index-url", reason)
    extra_index_urls = t.array("extra-index-urls", "index URLs", _check_url)
    find_links = t.array("find-links", "URLs or directories", _check_url_or_path)
    return index_url, extra_index_urls, find_links


def _parse_botocore_services(t: _Table) -> tuple[str, ...] | None:
    """`botocore-services`: None when unset (keep every service)."""
    if t.data.get("botocore-services") is None:
        return None
    return t.array("botocore-services", "botocore service names", _check_service)


def _parse_rates(t: _Table) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`volatile` and `stable`, which must not share a name."""
    volatile = t.array("volatile", "distribution names", _check_name)
    stable = t.array("stable", "distribution names", _check_name)
    for name in (n for n in stable if n in volatile):
        t.problem(
            "stable",
            f"lists {json.dumps(name)}, which {t.key('volatile')} lists too; keep it in one",
        )
    return volatile, stable


def _parse_pinned_layers(
    t: _Table, slots: _Slots, provided: tuple[str, ...]
) -> dict[str, tuple[str, ...]]:
    """`[layers]`: no more groups than `max-layers`, and no package that `provided` omits."""
    layers = _parse_layers(t.data.get("layers"), t.key("layers"), t.problems)
    if slots.max_layers_ok and len(layers) > slots.max_layers:
        t.problem(
            "layers",
            f"defines {len(layers)} layers, more than max-layers ({slots.max_layers}); merge "
            f"groups or raise {t.key('max-layers')}",
        )
    for layer, names in layers.items():
        for name in (n for n in names if n in provided):
            t.problems.append(
                f"{_join(t.key('layers'), layer)} pins {json.dumps(name)}, which "
                f"{t.key('provided')} leaves out of every layer; remove it from one of them"
            )
    return layers


def _parse_handlers(t: _Table) -> tuple[tuple[FunctionConfig, ...], str | None]:
    """`[functions]` and the top-level `handler`, which only applies without them."""
    functions = _parse_functions(t.data.get("functions"), t.key("functions"), t.problems)
    handler = t.string("handler")
    if handler is not None:
        if reason := _handler_problem(handler):
            t.problem("handler", reason)
        if "functions" in t.data:
            t.problem(
                "handler",
                f"applies only when {t.key('functions')} is not set; move it into a function table",
            )
    return functions, handler


def _parse_license_info(t: _Table) -> str | None:
    """`license-info`, within Lambda's length limit."""
    license_info = t.string("license-info")
    if license_info is not None and len(license_info) > LICENSE_INFO_MAX:
        t.problem(
            "license-info",
            f"is {len(license_info)} characters long; Lambda accepts at most {LICENSE_INFO_MAX}",
        )
    return license_info


def pyproject_path(project_root: str | os.PathLike[str]) -> Path:
    """Where the project's pyproject.toml is."""
    return Path(project_root) / "pyproject.toml"


def load_config(project_root: str | os.PathLike[str]) -> Config:
    """Read ``<project_root>/pyproject.toml`` and parse its ``[tool.lambda-layers]`` table."""
    path = pyproject_path(project_root)
    try:
        with path.open("rb") as file:
            document = tomllib.load(file)
    except FileNotFoundError:
        raise ConfigError(
            f"{path} does not exist; run from the project directory or pass its path"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    tool = document.get("tool")
    if tool is not None and not isinstance(tool, Mapping):
        raise ConfigError(f"{path}: tool must be a table, {_got(tool)}")
    return parse_config(None if tool is None else tool.get("lambda-layers"))
