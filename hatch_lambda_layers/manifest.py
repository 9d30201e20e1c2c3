"""manifest.json (schema_version 1): frozen dataclasses that round-trip through plain dicts.

The fields deploy tooling may rely on are those of CONTRACT section 4. A few additive fields
(`license_info`, per-package `size_zipped`, `history`) carry what `publish` and the change-rate
estimates need, and `fingerprint` the digest of the inputs that decided the build
(`fingerprint.Inputs`); readers ignore keys they do not know, so adding fields keeps
schema_version 1.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import LambdaLayersError

SCHEMA_VERSION = 1
MANIFEST_NAME = "manifest.json"
UNKNOWN_SOURCE = "unknown"


class ManifestError(LambdaLayersError):
    """A manifest cannot be read."""


_SHOWN_MAX = 60  # characters of a value quoted in an error
_HEX64 = re.compile(r"[0-9a-f]{64}")
_CONTENT_HASH = re.compile(r"sha256:[0-9a-f]{64}")


class _Reader:
    """Typed access to one JSON object of a manifest; every error names the field's path
    (``layers[0].sha256``) and the file, and says what was expected."""

    def __init__(self, data: object, where: str, source: str) -> None:
        if not isinstance(data, Mapping):
            raise ManifestError(
                f"{source}: {where or 'the manifest'} must be an object, got {_kind(data)}"
            )
        self.data: Mapping[str, Any] = data
        self.where = where
        self.source = source

    def _fail(self, key: str, expected: str, value: object) -> ManifestError:
        return ManifestError(
            f"{self.source}: field {self.where}{key} must be {expected}, got {_shown(value)}; "
            f"the manifest was edited or is corrupt: rebuild it"
        )

    def _value(self, key: str, required: bool) -> object:
        if key not in self.data:
            if required:
                raise ManifestError(
                    f"{self.source}: missing field {self.where}{key}; the manifest was edited or "
                    f"is corrupt: rebuild it"
                )
            return None
        return self.data[key]

    def string(
        self, key: str, *, required: bool = True, pattern: re.Pattern[str] | None = None
    ) -> str:
        value = self._value(key, required)
        if not isinstance(value, str) or (pattern is not None and not pattern.fullmatch(value)):
            raise self._fail(
                key,
                "a string" if pattern is None else f"a string matching {pattern.pattern}",
                value,
            )
        return value

    def optional_string(self, key: str) -> str | None:
        value = self._value(key, False)
        if value is not None and not isinstance(value, str):
            raise self._fail(key, "a string or null", value)
        return value

    def integer(self, key: str, *, required: bool = True, default: int = 0) -> int:
        value = self._value(key, required)
        if value is None and not required:
            return default
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self._fail(key, "a whole number >= 0", value)
        return value

    def optional_integer(self, key: str) -> int | None:
        value = self._value(key, False)
        return None if value is None else self.integer(key)

    def boolean(self, key: str, default: bool = False) -> bool:
        value = self._value(key, False)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self._fail(key, "true or false", value)
        return value

    def rate(self, key: str) -> float | None:
        value = self._value(key, False)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
            raise self._fail(key, "a number from 0 to 1", value)
        return float(value)

    def objects(self, key: str, *, required: bool = True) -> list[_Reader]:
        value = self._value(key, required)
        if value is None and not required:
            return []
        if not isinstance(value, list):
            raise self._fail(key, "an array", value)
        return [
            _Reader(item, f"{self.where}{key}[{i}].", self.source) for i, item in enumerate(value)
        ]

    def child(self, key: str) -> _Reader:
        value = self._value(key, True)
        if not isinstance(value, Mapping):
            raise self._fail(key, "an object", value)
        return _Reader(value, f"{self.where}{key}.", self.source)

    def strings(self, key: str) -> tuple[str, ...]:
        value = self._value(key, True)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._fail(key, "an array of strings", value)
        return tuple(value)

    def history(self, key: str) -> tuple[Mapping[str, str], ...]:
        value = self._value(key, False)
        if value is None:
            return ()
        entries: list[Mapping[str, str]] = []
        for h in value if isinstance(value, list) else [None]:
            if not isinstance(h, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in h.items()
            ):
                raise self._fail(key, "an array of {name: version} objects", value)
            entries.append(dict(h))
        return tuple(entries)


def _kind(value: object) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value),
        "a number"
        if isinstance(value, int | float)
        else "null"
        if value is None
        else type(value).__name__,
    )


def _shown(value: object) -> str:
    text = (
        json.dumps(value)
        if isinstance(value, str | int | float | bool) or value is None
        else _kind(value)
    )
    return text if len(text) <= _SHOWN_MAX else text[: _SHOWN_MAX - 3] + "..."


@dataclass(frozen=True, kw_only=True)
class PackageEntry:
    name: str
    version: str
    size_unzipped: int
    size_zipped: int = 0
    change_rate: float | None = None
    change_source: str = UNKNOWN_SOURCE

    @classmethod
    def read(cls, r: _Reader) -> PackageEntry:
        return cls(
            name=r.string("name"),
            version=r.string("version"),
            size_unzipped=r.integer("size_unzipped"),
            size_zipped=r.integer("size_zipped", required=False),
            change_rate=r.rate("change_rate"),
            change_source=r.optional_string("change_source") or UNKNOWN_SOURCE,
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
    def read(cls, r: _Reader) -> LayerEntry:
        return cls(
            name=r.string("name"),
            file=r.string("file"),
            version=r.integer("version"),
            sha256=r.string("sha256", pattern=_HEX64),
            code_sha256=r.string("code_sha256"),
            content_hash=r.string("content_hash", pattern=_CONTENT_HASH),
            size_zipped=r.integer("size_zipped"),
            size_unzipped=r.integer("size_unzipped"),
            changed=r.boolean("changed"),
            packages=tuple(PackageEntry.read(p) for p in r.objects("packages")),
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
    def read(cls, r: _Reader) -> FunctionEntry:
        return cls(
            name=r.string("name"),
            file=r.string("file"),
            handler=r.optional_string("handler"),
            sha256=r.string("sha256", pattern=_HEX64),
            code_sha256=r.string("code_sha256"),
            size_zipped=r.integer("size_zipped"),
            size_unzipped=r.integer("size_unzipped"),
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
    fingerprint: str | None = None
    schema_version: int = SCHEMA_VERSION

    def layer(self, name: str) -> LayerEntry | None:
        return next((layer for layer in self.layers if layer.name == name), None)

    def package_versions(self) -> dict[str, str]:
        return {p.name: p.version for layer in self.layers for p in layer.packages}

    @classmethod
    def from_dict(cls, d: object, source: str = MANIFEST_NAME) -> Manifest:
        """Validate untrusted data; `ManifestError` names `source` and the offending field."""
        r = _Reader(d, "", source)
        version = r._value("schema_version", True)
        if version != SCHEMA_VERSION:
            raise ManifestError(
                f"{source}: schema_version {_shown(version)} is not supported (this version of "
                f"hatch-lambda-layers reads {SCHEMA_VERSION}); rebuild with it, or upgrade"
            )
        project, target, limits = r.child("project"), r.child("target"), r.child("limits")
        return cls(
            generator=r.string("generator"),
            project_name=project.string("name"),
            project_version=project.string("version"),
            target=Target(
                runtime=target.string("runtime"),
                architecture=target.string("architecture"),
                python_version=target.string("python_version"),
                glibc=target.string("glibc"),
            ),
            layers=tuple(LayerEntry.read(x) for x in r.objects("layers")),
            functions=tuple(FunctionEntry.read(x) for x in r.objects("functions")),
            provided=tuple(
                ProvidedEntry(
                    name=p.string("name"),
                    version=p.optional_string("version"),
                    reason=p.optional_string("reason") or "",
                )
                for p in r.objects("provided")
            ),
            external_layers=r.strings("external_layers"),
            limits=Limits(
                layers_used=limits.integer("layers_used"),
                layers_max=limits.integer("layers_max"),
                unzipped_total=limits.integer("unzipped_total"),
                unzipped_max=limits.integer("unzipped_max"),
                zipped_layer_max=limits.optional_integer("zipped_layer_max"),
                ok=limits.boolean("ok"),
            ),
            license_info=r.optional_string("license_info"),
            history=r.history("history"),
            fingerprint=r.optional_string("fingerprint"),
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
            "fingerprint": self.fingerprint,
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
    return Manifest.from_dict(data, str(p))


def write_manifest(path: str | os.PathLike[str], manifest: Manifest) -> None:
    from .files import write_text_atomic

    write_text_atomic(path, dumps(manifest))
