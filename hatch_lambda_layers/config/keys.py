"""Every key of ``[tool.lambda-layers]``, group by group, into a `Config`: `parse_config` is pure
and raises one `ConfigError` with every problem; `load_config` reads pyproject.toml.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..errors import ConfigError
from ..targets import LAYERS_MAX, LICENSE_INFO_MAX, UNZIPPED_MAX

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib
from .model import (
    _ARCHITECTURES,
    _DEFAULT_REPLAN_MARGIN,
    _FUNCTION_KEYS,
    _KNOWN_KEYS,
    _LOCK_KEYWORDS,
    _MODES,
    _RUNTIMES,
    _UPLOADS,
    DEFAULT_COMPILE_MARGIN,
    DEFAULT_EFS_MOUNT_PATH,
    DEFAULT_LAYER_OVERHEAD,
    TOOL_KEY,
    Compile,
    Config,
    FunctionConfig,
    Mode,
)
from .table import (
    _RESOURCE_NAME,
    _check_dependency,
    _check_glob,
    _check_layer_arn,
    _check_name,
    _check_service,
    _check_url,
    _check_url_or_path,
    _got,
    _handler_problem,
    _join,
    _one_of,
    _show,
    _string_array,
    _Table,
)


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
