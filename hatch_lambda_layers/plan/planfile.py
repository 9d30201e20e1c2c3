"""``lambda-layers.lock``: the committed layer plan, beside pyproject.toml.

It records which package goes in which named layer, the change rate and its source that decided
each package's place, and (once built) each layer's version and content hash, so that a clean
CI checkout reproduces the same layers and versions. Example::

    # lambda-layers.lock: layer plan of hatch-lambda-layers; commit it.
    version = 1

    [target]
    runtime = "python3.12"
    architecture = "x86_64"

    [[layers]]
    name = "numpy"
    version = 2
    content-hash = "sha256:..."
    packages = [
      { name = "numpy", rate = 0.142, source = "release-cadence" },
    ]

tomllib reads it; it is written by the small emitter below because the standard library cannot
write TOML and the format is a handful of keys (strings, numbers, arrays of inline tables): a
writer dependency would buy nothing. Output is deterministic (layers and packages sorted by name,
rates rounded to `RATE_DIGITS` decimals) and round-trips through `read_planfile`/`loads_planfile`.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Container, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

from ..errors import ConfigError
from .partition import Plan
from .rates import SOURCES, RateEstimate, RateSource

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FORMAT_VERSION = 1
PLANFILE_NAME = "lambda-layers.lock"
# Plan files are untrusted input: a layer name becomes part of file and layer names.
LAYER_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
RATE_DIGITS = 6
_HEADER = (
    "# lambda-layers.lock: the layer plan of hatch-lambda-layers. "
    "Commit it beside pyproject.toml.\n"
    "# Every build honours it; `lambda-layers plan --update` rewrites it.\n"
)
_FIX = "fix it or rewrite it with `lambda-layers plan --update`"


class PlanFileError(ConfigError):
    """lambda-layers.lock cannot be read (exit status 2: the committed configuration is bad)."""


@dataclass(frozen=True, kw_only=True)
class PlannedPackage:
    name: str
    rate: float
    source: RateSource


@dataclass(frozen=True, kw_only=True)
class PlannedLayer:
    name: str
    packages: tuple[PlannedPackage, ...]
    version: int | None = None
    content_hash: str | None = None


@dataclass(frozen=True, kw_only=True)
class PlanFile:
    runtime: str
    architecture: str
    layers: tuple[PlannedLayer, ...]
    version: int = FORMAT_VERSION

    def assignment(self) -> dict[str, str]:
        """package -> layer name (what `partition.partition(..., previous=)` honours)."""
        return {p.name: layer.name for layer in self.layers for p in layer.packages}

    def rates(self) -> dict[str, RateEstimate]:
        return {
            p.name: RateEstimate(p.rate, p.source) for layer in self.layers for p in layer.packages
        }

    def layer_record(self, name: str) -> tuple[int, str | None] | None:
        """(version, content hash) recorded for a layer, or None when no version is recorded."""
        for layer in self.layers:
            if layer.name == name and layer.version is not None:
                return layer.version, layer.content_hash
        return None


def from_plan(
    plan: Plan,
    rates: Mapping[str, RateEstimate],
    *,
    runtime: str,
    architecture: str,
    records: Mapping[str, tuple[int, str | None]] | None = None,
) -> PlanFile:
    """The lock-file record of a plan; `records` maps layer name -> (version, content hash)."""
    records = records or {}
    layers = []
    for layer in sorted(plan.layers, key=lambda x: x.name):
        packages = []
        for name in sorted(layer.packages):
            estimate = rates.get(name)
            if estimate is None:
                raise ValueError(f"no change rate for {name!r} in layer {layer.name!r}")
            packages.append(
                PlannedPackage(
                    name=name, rate=round(estimate.rate, RATE_DIGITS), source=estimate.source
                )
            )
        version, content_hash = records.get(layer.name, (None, None))
        layers.append(
            PlannedLayer(
                name=layer.name,
                packages=tuple(packages),
                version=version,
                content_hash=content_hash,
            )
        )
    return PlanFile(runtime=runtime, architecture=architecture, layers=tuple(layers))


# --------------------------------------------------------------------------- writing


def _string(value: str) -> str:
    """A TOML basic string. Escaped by hand: json.dumps leaves DEL unescaped and writes
    surrogate pairs for astral characters, neither of which is valid TOML."""
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch.isascii() and not ch.isprintable():  # C0 controls and DEL
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _rate(value: float) -> str:
    return repr(float(round(value, RATE_DIGITS)))


def dumps_planfile(plan_file: PlanFile) -> str:
    lines = [
        _HEADER.rstrip("\n"),
        f"version = {plan_file.version}",
        "",
        "[target]",
        f"runtime = {_string(plan_file.runtime)}",
        f"architecture = {_string(plan_file.architecture)}",
    ]
    for layer in sorted(plan_file.layers, key=lambda x: x.name):
        lines += ["", "[[layers]]", f"name = {_string(layer.name)}"]
        if layer.version is not None:
            lines.append(f"version = {int(layer.version)}")
        if layer.content_hash is not None:
            lines.append(f"content-hash = {_string(layer.content_hash)}")
        lines.append("packages = [")
        for p in sorted(layer.packages, key=lambda x: x.name):
            lines.append(
                f"  {{ name = {_string(p.name)}, rate = {_rate(p.rate)}, "
                f"source = {_string(p.source)} }},"
            )
        lines.append("]")
    return "\n".join(lines) + "\n"


def write_planfile(path: str | os.PathLike[str], plan_file: PlanFile) -> None:
    from ..files import write_text_atomic

    write_text_atomic(path, dumps_planfile(plan_file))


# --------------------------------------------------------------------------- reading


def _fail(where: str, problem: str) -> PlanFileError:
    return PlanFileError(f"{where}: {problem}; {_FIX}")


def _str(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise _fail(where, f"`{key}` must be a non-empty string, got {value!r}")
    return value


def _is_source(value: object) -> TypeGuard[RateSource]:
    return value in SOURCES


def _int_or_none(data: Mapping[str, Any], key: str, where: str) -> int | None:
    value = data.get(key)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise _fail(where, f"`{key}` must be an integer, got {value!r}")
    return value


def _package(entry: object, where: str) -> PlannedPackage:
    if not isinstance(entry, Mapping):
        raise _fail(where, "must be a { name, rate, source } table")
    name = _str(entry, "name", where)
    rate = entry.get("rate")
    if not isinstance(rate, int | float) or isinstance(rate, bool) or not 0.0 <= rate <= 1.0:
        raise _fail(where, f"`rate` must be a number from 0 to 1, got {rate!r}")
    source = _str(entry, "source", where)
    if not _is_source(source):
        raise _fail(where, f"`source` must be one of {', '.join(SOURCES)}, got {source!r}")
    return PlannedPackage(name=name, rate=float(rate), source=source)


def _layer(raw: object, where: str, owner: dict[str, str], seen: Container[str]) -> PlannedLayer:
    """One [[layers]] table. `seen`: the layer names before it; `owner` (package -> layer, filled
    in here) catches a package in two layers."""
    if not isinstance(raw, Mapping):
        raise _fail(where, "must be a table")
    name = _str(raw, "name", where)
    if not LAYER_NAME.fullmatch(name):
        raise _fail(
            where,
            f"`name` must be 1 to 64 letters, digits, '-' or '_' (it becomes a file and a layer "
            f"name), got {name!r}",
        )
    if name in seen:
        raise _fail(where, f"layer name {name!r} appears twice")
    version = _int_or_none(raw, "version", where)
    content_hash = raw.get("content-hash")
    if content_hash is not None and not isinstance(content_hash, str):
        raise _fail(where, f"`content-hash` must be a string, got {content_hash!r}")
    raw_packages = raw.get("packages")
    if not isinstance(raw_packages, list):
        raise _fail(where, "`packages` must be an array of { name, rate, source } tables")
    packages: list[PlannedPackage] = []
    for m, entry in enumerate(raw_packages):
        package = _package(entry, f"{where}.packages[{m}]")
        if package.name in owner:
            raise _fail(
                f"{where}.packages[{m}]",
                f"{package.name!r} is already in layer {owner[package.name]!r}",
            )
        owner[package.name] = name
        packages.append(package)
    return PlannedLayer(
        name=name,
        packages=tuple(sorted(packages, key=lambda p: p.name)),
        version=version,
        content_hash=content_hash,
    )


def _version(data: Mapping[str, Any], where: str) -> int:
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise _fail(where, f"`version` must be an integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise PlanFileError(
            f"{where}: format version {version} was written by a newer hatch-lambda-layers "
            f"(this one reads up to {FORMAT_VERSION}); upgrade hatch-lambda-layers"
        )
    return version


def loads_planfile(text: str, where: str = PLANFILE_NAME) -> PlanFile:
    """Parse lock-file text; raises PlanFileError naming the offending field."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(where, f"not valid TOML ({exc})") from None
    version = _version(data, where)
    target = data.get("target")
    if not isinstance(target, Mapping):
        raise _fail(where, "missing the [target] table")
    runtime = _str(target, "runtime", f"{where}: target")
    architecture = _str(target, "architecture", f"{where}: target")
    raw_layers = data.get("layers", [])
    if not isinstance(raw_layers, list):
        raise _fail(where, "`layers` must be an array of tables ([[layers]])")
    layers: dict[str, PlannedLayer] = {}
    owner: dict[str, str] = {}
    for n, raw in enumerate(raw_layers):
        layer = _layer(raw, f"{where}: layers[{n}]", owner, layers)
        layers[layer.name] = layer
    return PlanFile(
        runtime=runtime,
        architecture=architecture,
        layers=tuple(sorted(layers.values(), key=lambda x: x.name)),
        version=version,
    )


def read_planfile(path: str | os.PathLike[str]) -> PlanFile | None:
    """The plan committed at `path`, or None when there is no such file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PlanFileError(f"{p}: cannot be read ({exc})") from None
    return loads_planfile(text, str(p))
