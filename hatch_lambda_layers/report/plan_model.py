"""Everything `lambda-layers plan` shows, as one frozen value built from `pipeline.Prepared`.
The text and JSON renderings both read this model, so they carry the same figures. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ..external_layers import ExternalSize
from ..layers.budget import BytecodeReport
from ..layers.entries import entry_size
from ..layers.prune import EMPTY_REPORT, PruneReport
from ..manifest import Target
from ..plan.planfile import PLANFILE_NAME
from .headroom import LimitUse, limit_uses
from .shared import SharedDependency, needed_by, shared_with_provided

if TYPE_CHECKING:
    from ..plan.rates import RateEstimate
    from ..prepared import Prepared

OriginKind = Literal["committed", "last-build", "fresh", "replanned"]


@dataclass(frozen=True)
class PlanOrigin:
    """Where the layer plan came from; `path` relative to the project when inside it."""

    kind: OriginKind
    path: str | None


@dataclass(frozen=True)
class PackageRow:
    """A bundled package: sizes, change rate and its source, layer (None in fat mode) and
    who depends on it."""

    name: str
    version: str
    size_zipped: int
    size_unzipped: int
    change_rate: float
    change_source: str
    layer: str | None
    needed_by: tuple[str, ...]


@dataclass(frozen=True)
class LayerRow:
    """A planned layer; `change_probability` is P(any of its packages changes in a build) and
    `expected_bytes` the zipped bytes it re-uploads per build on average."""

    name: str
    packages: tuple[PackageRow, ...]  # largest zipped first
    size_zipped: int
    size_unzipped: int
    change_probability: float
    expected_bytes: float


@dataclass(frozen=True)
class LeftOutRow:
    """A distribution left out of the build, and why."""

    name: str
    version: str
    reason: str


@dataclass(frozen=True)
class FunctionRow:
    """A function zip: how many files, how many bytes unzipped."""

    name: str
    files: int
    size_unzipped: int
    layers: tuple[str, ...] | None = None  # the layers it attaches, when not all of them


@dataclass(frozen=True)
class PlanReport:
    """Everything the plan shows, in one value (text and JSON render it)."""

    project_name: str
    project_version: str
    target: Target
    dependency_source: str
    mode: str
    bundled: tuple[PackageRow, ...]  # sorted by name
    left_out: tuple[LeftOutRow, ...]
    shared: tuple[SharedDependency, ...]
    layers: tuple[LayerRow, ...]
    functions: tuple[FunctionRow, ...]
    expected_bytes: float
    single_layer_bytes: float
    exact: bool
    lower_bound: float | None
    limits: tuple[LimitUse, ...]
    external_layers: tuple[ExternalSize, ...]
    origin: PlanOrigin
    pruned: PruneReport = EMPTY_REPORT
    bytecode: BytecodeReport | None = None


def change_probability(rates: Sequence[float]) -> float:
    """P(at least one of independent changes happens): ``1 - prod(1 - r)``."""
    survive = 1.0
    for rate in rates:
        survive *= 1.0 - rate
    return 1.0 - survive


def plan_origin(prepared: Prepared, *, replanned: bool = False) -> PlanOrigin:
    """Committed plan file, the one a build left in the output directory, fresh, or re-planned."""
    root = prepared.project.root
    path = prepared.planfile_path
    shown = None if path is None else _relative(path, root)
    if replanned:
        return PlanOrigin("replanned", shown)
    if path is None:
        return PlanOrigin("fresh", None)
    return PlanOrigin("committed" if path == root / PLANFILE_NAME else "last-build", shown)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _bundled(prepared: Prepared) -> tuple[PackageRow, ...]:
    """Every bundled package with its layer (None in fat mode), sorted by name."""
    rates: Mapping[str, RateEstimate] = prepared.rates
    needers = needed_by(prepared.graph, prepared.closure, prepared.project.name)
    layer_of = {
        p: prepared.layer_names[layer.name]
        for layer in prepared.plan.layers
        for p in layer.packages
    }
    return tuple(
        PackageRow(
            name=p.name,
            version=p.version,
            size_zipped=p.size_zipped,
            size_unzipped=p.size_unzipped,
            change_rate=rates[p.name].rate,
            change_source=rates[p.name].source,
            layer=layer_of.get(p.name),
            needed_by=needers.get(p.name, ()),
        )
        for p in sorted(prepared.packages, key=lambda p: p.name)
    )


def _layers(prepared: Prepared, bundled: Sequence[PackageRow]) -> tuple[LayerRow, ...]:
    by_name = {p.name: p for p in bundled}
    rows = []
    for layer in prepared.plan.layers:
        packages = sorted(
            (by_name[n] for n in layer.packages), key=lambda p: (-p.size_zipped, p.name)
        )
        rows.append(
            LayerRow(
                name=prepared.layer_names[layer.name],
                packages=tuple(packages),
                size_zipped=sum(p.size_zipped for p in packages),
                size_unzipped=sum(p.size_unzipped for p in packages),
                change_probability=change_probability(
                    [by_name[n].change_rate for n in sorted(layer.packages)]
                ),
                expected_bytes=layer.expected_bytes,
            )
        )
    return tuple(rows)


def _attached(prepared: Prepared, function: str) -> tuple[str, ...] | None:
    """The published names of the layers `function` attaches, None when it attaches all."""
    attached = prepared.attached(function)
    if prepared.config.mode != "layers" or len(attached) == len(prepared.plan.layers):
        return None
    return tuple(prepared.layer_names[x.name] for x in attached)


def plan_report(prepared: Prepared, *, replanned: bool = False) -> PlanReport:
    """The model of what `plan` prints. `replanned`: the plan was made with ``--update``."""
    t = prepared.target
    closure, name = prepared.closure, prepared.project.name
    bundled = _bundled(prepared)
    layers = _layers(prepared, bundled)
    largest = max(layers, key=lambda x: (x.size_zipped, x.name), default=None)
    return PlanReport(
        project_name=name,
        project_version=prepared.project.version,
        target=Target(
            runtime=t.runtime,
            architecture=t.architecture,
            python_version=".".join(map(str, t.python_version)),
            glibc=".".join(map(str, t.glibc)),
        ),
        dependency_source=prepared.graph.source,
        mode=prepared.config.mode,
        bundled=bundled,
        left_out=tuple(LeftOutRow(x.name, x.version, x.reason) for x in closure.left_out),
        shared=shared_with_provided(prepared.graph, closure, name),
        layers=layers,
        functions=tuple(
            FunctionRow(fn, len(files), sum(map(entry_size, files)), _attached(prepared, fn))
            for fn, files in sorted(prepared.function_files.items())
        ),
        expected_bytes=prepared.plan.expected_bytes,
        single_layer_bytes=prepared.plan.single_layer_bytes,
        exact=prepared.plan.exact,
        lower_bound=prepared.plan.lower_bound,
        limits=limit_uses(
            prepared.limits,
            external_layers=len(prepared.config.external_layers),
            largest_layer=None if largest is None else (largest.name, largest.size_zipped),
            image=prepared.config.mode == "image",
        ),
        external_layers=prepared.external_sizes,
        pruned=prepared.pruned,
        bytecode=prepared.bytecode,
        origin=plan_origin(prepared, replanned=replanned),
    )
