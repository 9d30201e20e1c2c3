"""A build against a base build (e.g. the main branch's manifest): which layers change, which
packages moved version and by how many bytes, what a deploy uploads, and the headroom to each
limit. The model `report` renders as markdown or HTML. Pure: two manifests in, one value out."""

from __future__ import annotations

from dataclasses import dataclass

from ..manifest import FunctionEntry, LayerEntry, Manifest, PackageEntry
from .diff import TargetChange, target_changes
from .headroom import LimitUse, limit_uses


@dataclass(frozen=True)
class LayerDelta:
    """A layer of the build (or of the base only: `removed`). `status`: added, removed, changed
    (its content differs from the base's) or unchanged. Sizes of the base are 0 when absent."""

    name: str
    status: str
    version: int | None
    file: str | None
    size_zipped: int
    size_unzipped: int
    base_zipped: int
    base_unzipped: int
    packages: tuple[PackageEntry, ...]

    @property
    def uploads(self) -> bool:
        """A deploy uploads this layer: its content is new or changed."""
        return self.status in ("added", "changed")


@dataclass(frozen=True)
class PackageMove:
    """A package whose version differs from the base (None: not in that build) with the change
    of its size, unzipped and zipped."""

    name: str
    layer: str
    old_version: str | None
    new_version: str | None
    delta_unzipped: int
    delta_zipped: int


@dataclass(frozen=True)
class FunctionDelta:
    """A function of the build, and whether its zip differs from the base's."""

    name: str
    changed: bool  # its zip differs from the base's (or the base has no such function)
    size_zipped: int
    size_unzipped: int
    base_unzipped: int


@dataclass(frozen=True)
class BuildReport:
    """The build (`manifest`) against a base build: what `report` renders."""

    project_name: str
    project_version: str
    manifest: Manifest
    has_base: bool
    target_changes: tuple[TargetChange, ...]
    layers: tuple[LayerDelta, ...]
    moves: tuple[PackageMove, ...]
    functions: tuple[FunctionDelta, ...]
    limits: tuple[LimitUse, ...]
    base_unzipped_total: int
    base_zipped_total: int
    base_layer_count: int

    @property
    def upload_bytes(self) -> int:
        """Zipped bytes a deploy uploads: the changed layers and the changed functions."""
        return sum(x.size_zipped for x in self.layers if x.uploads) + sum(
            f.size_zipped for f in self.functions if f.changed
        )

    @property
    def zipped_total(self) -> int:
        """Zipped bytes of all the build's layers."""
        return sum(x.size_zipped for x in self.manifest.layers)

    @property
    def unzipped_total(self) -> int:
        """The largest function plus every layer, unzipped (manifest limits)."""
        return self.manifest.limits.unzipped_total


def _layer_delta(new: LayerEntry | None, old: LayerEntry | None) -> LayerDelta:
    layer = new if new is not None else old
    assert layer is not None
    if new is None:
        status = "removed"
    elif old is None:
        status = "added"
    else:
        status = "unchanged" if old.content_hash == new.content_hash else "changed"
    return LayerDelta(
        name=layer.name,
        status=status,
        version=None if new is None else new.version,
        file=None if new is None else new.file,
        size_zipped=0 if new is None else new.size_zipped,
        size_unzipped=0 if new is None else new.size_unzipped,
        base_zipped=0 if old is None else old.size_zipped,
        base_unzipped=0 if old is None else old.size_unzipped,
        packages=() if new is None else new.packages,
    )


def _packages(manifest: Manifest) -> dict[str, tuple[str, PackageEntry]]:
    return {p.name: (layer.name, p) for layer in manifest.layers for p in layer.packages}


def package_moves(base: Manifest, new: Manifest) -> tuple[PackageMove, ...]:
    """Packages added, removed or at another version, sorted by name."""
    a, b = _packages(base), _packages(new)
    moves = []
    for name in sorted(a.keys() | b.keys()):
        old, now = a.get(name), b.get(name)
        if old is not None and now is not None and old[1].version == now[1].version:
            continue
        layer = (now or old or ("", None))[0]
        moves.append(
            PackageMove(
                name=name,
                layer=layer,
                old_version=None if old is None else old[1].version,
                new_version=None if now is None else now[1].version,
                delta_unzipped=_size(now, "size_unzipped") - _size(old, "size_unzipped"),
                delta_zipped=_size(now, "size_zipped") - _size(old, "size_zipped"),
            )
        )
    return tuple(moves)


def _size(found: tuple[str, PackageEntry] | None, field: str) -> int:
    return 0 if found is None else int(getattr(found[1], field))


def _function_delta(new: FunctionEntry, base: Manifest | None) -> FunctionDelta:
    old = next((f for f in base.functions if f.name == new.name), None) if base else None
    return FunctionDelta(
        name=new.name,
        changed=old is None or old.sha256 != new.sha256,
        size_zipped=new.size_zipped,
        size_unzipped=new.size_unzipped,
        base_unzipped=0 if old is None else old.size_unzipped,
    )


def build_report(new: Manifest, base: Manifest | None = None) -> BuildReport:
    """`new` against `base`; without a base every artifact counts as new, as on a first
    deploy."""
    old_layers = {x.name: x for x in base.layers} if base else {}
    names = [x.name for x in new.layers] + sorted(set(old_layers) - {x.name for x in new.layers})
    largest = max(new.layers, key=lambda x: (x.size_zipped, x.name), default=None)
    return BuildReport(
        project_name=new.project_name,
        project_version=new.project_version,
        manifest=new,
        has_base=base is not None,
        target_changes=target_changes(base, new) if base else (),
        layers=tuple(_layer_delta(new.layer(n), old_layers.get(n)) for n in names),
        moves=package_moves(base, new) if base else (),
        functions=tuple(_function_delta(f, base) for f in new.functions),
        limits=limit_uses(
            new.limits,
            external_layers=len(new.external_layers),
            largest_layer=None if largest is None else (largest.name, largest.size_zipped),
        ),
        base_unzipped_total=base.limits.unzipped_total if base else 0,
        base_zipped_total=sum(x.size_zipped for x in base.layers) if base else 0,
        base_layer_count=len(base.layers) if base else 0,
    )
