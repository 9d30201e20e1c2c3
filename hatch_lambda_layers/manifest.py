"""manifest.json (schema_version 1): frozen dataclasses that round-trip through plain dicts.

The fields deploy tooling may rely on are those of CONTRACT section 4. A few additive fields
(`license_info`, per-package `size_zipped`, `history`) carry what `publish` and the change-rate
estimates need; readers ignore keys they do not know, so adding fields keeps schema_version 1.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import LambdaLayersError

SCHEMA_VERSION = 1
MANIFEST_NAME = "manifest.json"
UNKNOWN_SOURCE = "unknown"


class ManifestError(LambdaLayersError):
    """A manifest cannot be read."""


def _get(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in data:
        raise ManifestError(f"manifest: missing field `{where}{key}`")
    value = data[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float)):
        raise ManifestError(f"manifest: field `{where}{key}` has the wrong type: {value!r}")
    return value


def _opt(data: Mapping[str, Any], key: str, default: Any = None) -> Any:
    return data.get(key, default)


@dataclass(frozen=True, kw_only=True)
class PackageEntry:
    name: str
    version: str
    size_unzipped: int
    size_zipped: int = 0
    change_rate: float | None = None
    change_source: str = UNKNOWN_SOURCE

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "") -> PackageEntry:
        rate = _opt(d, "change_rate")
        return cls(
            name=_get(d, "name", str, where),
            version=_get(d, "version", str, where),
            size_unzipped=_get(d, "size_unzipped", int, where),
            size_zipped=int(_opt(d, "size_zipped", 0)),
            change_rate=None if rate is None else float(rate),
            change_source=str(_opt(d, "change_source", UNKNOWN_SOURCE)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "size_unzipped": self.size_unzipped,
            "size_zipped": self.size_zipped,
            "change_rate": self.change_rate,
            "change_source": self.change_source,
        }


@dataclass(frozen=True, kw_only=True)
class LayerEntry:
    name: str
    file: str
    version: int
    sha256: str
    code_sha256: str
    content_hash: str
    size_zipped: int
    size_unzipped: int
    changed: bool
    packages: tuple[PackageEntry, ...] = ()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "layers[].") -> LayerEntry:
        return cls(
            name=_get(d, "name", str, where),
            file=_get(d, "file", str, where),
            version=_get(d, "version", int, where),
            sha256=_get(d, "sha256", str, where),
            code_sha256=_get(d, "code_sha256", str, where),
            content_hash=_get(d, "content_hash", str, where),
            size_zipped=_get(d, "size_zipped", int, where),
            size_unzipped=_get(d, "size_unzipped", int, where),
            changed=bool(_opt(d, "changed", False)),
            packages=tuple(
                PackageEntry.from_dict(p, where + "packages[].")
                for p in _get(d, "packages", list, where)
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "file": self.file,
            "version": self.version,
            "sha256": self.sha256,
            "code_sha256": self.code_sha256,
            "content_hash": self.content_hash,
            "size_zipped": self.size_zipped,
            "size_unzipped": self.size_unzipped,
            "changed": self.changed,
            "packages": [p.to_dict() for p in self.packages],
        }


@dataclass(frozen=True, kw_only=True)
class FunctionEntry:
    name: str
    file: str
    handler: str | None
    sha256: str
    code_sha256: str
    size_zipped: int
    size_unzipped: int

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "functions[].") -> FunctionEntry:
        return cls(
            name=_get(d, "name", str, where),
            file=_get(d, "file", str, where),
            handler=_opt(d, "handler"),
            sha256=_get(d, "sha256", str, where),
            code_sha256=_get(d, "code_sha256", str, where),
            size_zipped=_get(d, "size_zipped", int, where),
            size_unzipped=_get(d, "size_unzipped", int, where),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "file": self.file,
            "handler": self.handler,
            "sha256": self.sha256,
            "code_sha256": self.code_sha256,
            "size_zipped": self.size_zipped,
            "size_unzipped": self.size_unzipped,
        }


@dataclass(frozen=True, kw_only=True)
class ProvidedEntry:
    name: str
    version: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "reason": self.reason}


@dataclass(frozen=True, kw_only=True)
class Limits:
    layers_used: int
    layers_max: int
    unzipped_total: int
    unzipped_max: int
    zipped_layer_max: int | None
    ok: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "layers_used": self.layers_used,
            "layers_max": self.layers_max,
            "unzipped_total": self.unzipped_total,
            "unzipped_max": self.unzipped_max,
            "zipped_layer_max": self.zipped_layer_max,
            "ok": self.ok,
        }


@dataclass(frozen=True, kw_only=True)
class Target:
    runtime: str
    architecture: str
    python_version: str
    glibc: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "runtime": self.runtime,
            "architecture": self.architecture,
            "python_version": self.python_version,
            "glibc": self.glibc,
        }


@dataclass(frozen=True, kw_only=True)
class Manifest:
    generator: str
    project_name: str
    project_version: str
    target: Target
    layers: tuple[LayerEntry, ...]
    functions: tuple[FunctionEntry, ...]
    provided: tuple[ProvidedEntry, ...]
    external_layers: tuple[str, ...]
    limits: Limits
    license_info: str | None = None
    # Bounded rolling history of earlier builds' package versions (newest first), which the
    # change-rate estimates read when the project has no lock-file history of its own.
    history: tuple[Mapping[str, str], ...] = field(default=())
    schema_version: int = SCHEMA_VERSION

    def layer(self, name: str) -> LayerEntry | None:
        return next((layer for layer in self.layers if layer.name == name), None)

    def package_versions(self) -> dict[str, str]:
        return {p.name: p.version for layer in self.layers for p in layer.packages}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Manifest:
        version = d.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ManifestError(
                f"manifest: schema_version {version!r} is not supported (expected {SCHEMA_VERSION})"
            )
        project = _get(d, "project", dict, "")
        target = _get(d, "target", dict, "")
        limits = _get(d, "limits", dict, "")
        return cls(
            generator=_get(d, "generator", str, ""),
            project_name=_get(project, "name", str, "project."),
            project_version=_get(project, "version", str, "project."),
            target=Target(
                runtime=_get(target, "runtime", str, "target."),
                architecture=_get(target, "architecture", str, "target."),
                python_version=_get(target, "python_version", str, "target."),
                glibc=_get(target, "glibc", str, "target."),
            ),
            layers=tuple(LayerEntry.from_dict(x) for x in _get(d, "layers", list, "")),
            functions=tuple(FunctionEntry.from_dict(x) for x in _get(d, "functions", list, "")),
            provided=tuple(
                ProvidedEntry(name=p["name"], version=p.get("version"), reason=p.get("reason", ""))
                for p in _get(d, "provided", list, "")
            ),
            external_layers=tuple(_get(d, "external_layers", list, "")),
            limits=Limits(
                layers_used=_get(limits, "layers_used", int, "limits."),
                layers_max=_get(limits, "layers_max", int, "limits."),
                unzipped_total=_get(limits, "unzipped_total", int, "limits."),
                unzipped_max=_get(limits, "unzipped_max", int, "limits."),
                zipped_layer_max=limits.get("zipped_layer_max"),
                ok=bool(limits.get("ok", False)),
            ),
            license_info=d.get("license_info"),
            history=tuple(dict(h) for h in d.get("history", ()) if isinstance(h, Mapping)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "generator": self.generator,
            "project": {"name": self.project_name, "version": self.project_version},
            "target": self.target.to_dict(),
            "layers": [x.to_dict() for x in self.layers],
            "functions": [x.to_dict() for x in self.functions],
            "provided": [x.to_dict() for x in self.provided],
            "external_layers": list(self.external_layers),
            "limits": self.limits.to_dict(),
            "license_info": self.license_info,
            "history": [dict(sorted(h.items())) for h in self.history],
        }


def dumps(manifest: Manifest) -> str:
    return json.dumps(manifest.to_dict(), indent=2, sort_keys=False) + "\n"


def read_manifest(path: str | os.PathLike[str]) -> Manifest:
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"manifest {str(p)!r} does not exist; build first") from None
    except (OSError, ValueError) as exc:
        raise ManifestError(f"manifest {str(p)!r} cannot be read: {exc}") from None
    if not isinstance(data, dict):
        raise ManifestError(f"manifest {str(p)!r} is not a JSON object")
    return Manifest.from_dict(data)


def write_manifest(path: str | os.PathLike[str], manifest: Manifest) -> None:
    from .files import write_text_atomic

    write_text_atomic(path, dumps(manifest))


@dataclass(frozen=True)
class LayerChange:
    name: str
    status: str  # "added", "removed", "changed", "unchanged"
    packages_added: tuple[str, ...] = ()
    packages_removed: tuple[str, ...] = ()
    packages_changed: tuple[tuple[str, str, str], ...] = ()  # (name, old, new)


def diff(old: Manifest, new: Manifest) -> tuple[LayerChange, ...]:
    """Which layers changed between two manifests, and which of their packages did."""
    names = sorted({x.name for x in old.layers} | {x.name for x in new.layers})
    changes: list[LayerChange] = []
    for name in names:
        a, b = old.layer(name), new.layer(name)
        if a is None or b is None:
            layer = b if a is None else a
            assert layer is not None
            pkgs = tuple(sorted(p.name for p in layer.packages))
            changes.append(
                LayerChange(name, "added", packages_added=pkgs)
                if a is None
                else LayerChange(name, "removed", packages_removed=pkgs)
            )
            continue
        av = {p.name: p.version for p in a.packages}
        bv = {p.name: p.version for p in b.packages}
        added = tuple(sorted(set(bv) - set(av)))
        removed = tuple(sorted(set(av) - set(bv)))
        changed = tuple(sorted((n, av[n], bv[n]) for n in set(av) & set(bv) if av[n] != bv[n]))
        status = "unchanged" if a.content_hash == b.content_hash else "changed"
        changes.append(LayerChange(name, status, added, removed, changed))
    return tuple(changes)


def format_diff(changes: Sequence[LayerChange]) -> str:
    lines: list[str] = []
    for c in changes:
        if c.status == "unchanged":
            lines.append(f"  {c.name}: unchanged")
            continue
        lines.append(
            f"{'+' if c.status == 'added' else '-' if c.status == 'removed' else '~'} "
            f"{c.name}: {c.status}"
        )
        lines += [f"    + {n}" for n in c.packages_added]
        lines += [f"    - {n}" for n in c.packages_removed]
        lines += [f"    ~ {n} {o} -> {v}" for n, o, v in c.packages_changed]
    return "\n".join(lines)
