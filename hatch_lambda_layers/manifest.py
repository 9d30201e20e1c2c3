"""manifest.json (schema_version 1): frozen dataclasses that round-trip through plain dicts,
validating untrusted input on the way in (`jsonreader`).

The fields deploy tooling may rely on are those of CONTRACT section 4. Additive fields
(`license_info`, per-package `size_zipped`, `history`, `functions[].layers`, `image`, `efs`)
carry what `publish`, the change-rate estimates and the other modes need, and `fingerprint` the
digest of the inputs that decided the build (`fingerprint.Inputs`); readers ignore keys they do
not know, so adding fields keeps schema_version 1.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ManifestError
from .jsonreader import CONTENT_HASH, HEX64, Reader, optional, shown

__all__ = [
    "MANIFEST_NAME",
    "SCHEMA_VERSION",
    "UNKNOWN_SOURCE",
    "EfsInfo",
    "FunctionEntry",
    "ImageFunction",
    "ImageInfo",
    "ImageLayer",
    "LayerEntry",
    "Limits",
    "Manifest",
    "ManifestError",
    "PackageEntry",
    "ProvidedEntry",
    "Target",
    "dumps",
    "read_manifest",
    "write_manifest",
]

SCHEMA_VERSION = 1


MANIFEST_NAME = "manifest.json"


UNKNOWN_SOURCE = "unknown"


@dataclass(frozen=True, kw_only=True)
class PackageEntry:
    name: str
    version: str
    size_unzipped: int
    size_zipped: int = 0
    change_rate: float | None = None
    change_source: str = UNKNOWN_SOURCE

    @classmethod
    def read(cls, r: Reader) -> PackageEntry:
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
    def read(cls, r: Reader) -> LayerEntry:
        return cls(
            name=r.string("name"),
            file=r.string("file"),
            version=r.integer("version"),
            sha256=r.string("sha256", pattern=HEX64),
            code_sha256=r.string("code_sha256"),
            content_hash=r.string("content_hash", pattern=CONTENT_HASH),
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
    # The names of the manifest's layers this function attaches, in manifest order (mode =
    # "layers"); None where the build records none (older manifests: every layer).
    layers: tuple[str, ...] | None = None

    @classmethod
    def read(cls, r: Reader) -> FunctionEntry:
        return cls(
            name=r.string("name"),
            file=r.string("file"),
            handler=r.optional_string("handler"),
            sha256=r.string("sha256", pattern=HEX64),
            code_sha256=r.string("code_sha256"),
            size_zipped=r.integer("size_zipped"),
            size_unzipped=r.integer("size_unzipped"),
            layers=r.optional_strings("layers"),
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "file": self.file,
            "handler": self.handler,
            "sha256": self.sha256,
            "code_sha256": self.code_sha256,
            "size_zipped": self.size_zipped,
            "size_unzipped": self.size_unzipped,
        }
        if self.layers is not None:
            data["layers"] = list(self.layers)
        return data


@dataclass(frozen=True, kw_only=True)
class ImageLayer:
    """One directory of the image's build context, copied by one COPY instruction (one image
    layer), in the order the Dockerfile copies them: dependency layers, then the code."""

    name: str
    dir: str  # relative to the context directory
    destination: str  # where COPY puts its files in the image
    version: int
    changed: bool
    content_hash: str  # the same hash a zip of these files reports
    size_unzipped: int
    files: int
    packages: tuple[PackageEntry, ...] = ()

    @classmethod
    def read(cls, r: Reader) -> ImageLayer:
        return cls(
            name=r.string("name"),
            dir=r.string("dir"),
            destination=r.string("destination"),
            version=r.integer("version"),
            changed=r.boolean("changed"),
            content_hash=r.string("content_hash", pattern=CONTENT_HASH),
            size_unzipped=r.integer("size_unzipped"),
            files=r.integer("files"),
            packages=tuple(PackageEntry.read(p) for p in r.objects("packages")),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dir": self.dir,
            "destination": self.destination,
            "version": self.version,
            "changed": self.changed,
            "content_hash": self.content_hash,
            "size_unzipped": self.size_unzipped,
            "files": self.files,
            "packages": [p.to_dict() for p in self.packages],
        }


@dataclass(frozen=True, kw_only=True)
class ImageFunction:
    """A function the image serves: its handler is the image's command for it."""

    name: str
    handler: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "handler": self.handler}


@dataclass(frozen=True, kw_only=True)
class ImageInfo:
    """mode = "image": the container build context beside the manifest."""

    context: str  # the context directory, beside the manifest
    base: str  # the AWS base image the Dockerfile starts from
    platform: str  # linux/amd64 or linux/arm64
    dockerfile_sha256: str
    command: tuple[str, ...]  # the image's CMD: the first function's handler
    size_unzipped: int  # everything the build copies into the image
    layers: tuple[ImageLayer, ...]
    functions: tuple[ImageFunction, ...]

    @classmethod
    def read(cls, r: Reader) -> ImageInfo:
        return cls(
            context=r.string("context"),
            base=r.string("base"),
            platform=r.string("platform"),
            dockerfile_sha256=r.string("dockerfile_sha256", pattern=HEX64),
            command=r.strings("command"),
            size_unzipped=r.integer("size_unzipped"),
            layers=tuple(ImageLayer.read(x) for x in r.objects("layers")),
            functions=tuple(
                ImageFunction(name=f.string("name"), handler=f.optional_string("handler"))
                for f in r.objects("functions")
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "context": self.context,
            "base": self.base,
            "platform": self.platform,
            "dockerfile_sha256": self.dockerfile_sha256,
            "command": list(self.command),
            "size_unzipped": self.size_unzipped,
            "layers": [x.to_dict() for x in self.layers],
            "functions": [f.to_dict() for f in self.functions],
        }


@dataclass(frozen=True, kw_only=True)
class EfsInfo:
    """mode = "efs": the dependencies' archive, to extract at `mount_path` on the file
    system, and how a function finds them (`handler`, or `pythonpath` in PYTHONPATH)."""

    file: str
    version: int
    changed: bool
    sha256: str
    content_hash: str
    size_zipped: int
    size_unzipped: int
    mount_path: str
    pythonpath: str
    handler: str  # the bootstrap handler each function zip carries
    packages: tuple[PackageEntry, ...] = ()

    @classmethod
    def read(cls, r: Reader) -> EfsInfo:
        return cls(
            file=r.string("file"),
            version=r.integer("version"),
            changed=r.boolean("changed"),
            sha256=r.string("sha256", pattern=HEX64),
            content_hash=r.string("content_hash", pattern=CONTENT_HASH),
            size_zipped=r.integer("size_zipped"),
            size_unzipped=r.integer("size_unzipped"),
            mount_path=r.string("mount_path"),
            pythonpath=r.string("pythonpath"),
            handler=r.string("handler"),
            packages=tuple(PackageEntry.read(p) for p in r.objects("packages")),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "version": self.version,
            "changed": self.changed,
            "sha256": self.sha256,
            "content_hash": self.content_hash,
            "size_zipped": self.size_zipped,
            "size_unzipped": self.size_unzipped,
            "mount_path": self.mount_path,
            "pythonpath": self.pythonpath,
            "handler": self.handler,
            "packages": [p.to_dict() for p in self.packages],
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
    image: ImageInfo | None = None  # mode = "image"
    efs: EfsInfo | None = None  # mode = "efs"
    fingerprint: str | None = None
    schema_version: int = SCHEMA_VERSION

    def layer(self, name: str) -> LayerEntry | None:
        return next((layer for layer in self.layers if layer.name == name), None)

    def artifacts(self) -> tuple[str, ...]:
        """The names of every file and directory beside the manifest this build owns."""
        names = [x.file for x in self.layers] + [x.file for x in self.functions]
        if self.efs is not None:
            names.append(self.efs.file)
        if self.image is not None:
            names.append(self.image.context)
        return tuple(names)

    def function_layers(self, function: FunctionEntry) -> tuple[LayerEntry, ...]:
        """The layers `function` attaches, in manifest order (all of them when the manifest
        does not say)."""
        if function.layers is None:
            return self.layers
        return tuple(x for x in self.layers if x.name in function.layers)

    def package_versions(self) -> dict[str, str]:
        return {p.name: p.version for layer in self.layers for p in layer.packages}

    @classmethod
    def from_dict(cls, d: object, source: str = MANIFEST_NAME) -> Manifest:
        """Validate untrusted data; `ManifestError` names `source` and the offending field."""
        r = Reader(d, "", source)
        version = r._value("schema_version", True)
        if version != SCHEMA_VERSION:
            raise ManifestError(
                f"{source}: schema_version {shown(version)} is not supported (this version of "
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
            image=optional(r.optional_child("image"), ImageInfo.read),
            efs=optional(r.optional_child("efs"), EfsInfo.read),
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
            **({"image": self.image.to_dict()} if self.image is not None else {}),
            **({"efs": self.efs.to_dict()} if self.efs is not None else {}),
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
