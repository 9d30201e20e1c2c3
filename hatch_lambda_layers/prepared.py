"""`Prepared`: everything a build decided before writing anything, what `plan` shows and what
the output stage writes. Plain data, with the derivations both need."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .config import Config
from .external_layers import ExternalSize
from .layers.budget import BytecodeReport
from .layers.entries import Entry, PackageFiles
from .layers.prune import EMPTY_REPORT, PruneReport
from .manifest import Limits, PackageEntry
from .plan.partition import Layer, Plan
from .plan.planfile import PlanFile
from .plan.rates import RateEstimate
from .project import ProjectInfo
from .resolve.graph import Closure, DependencyGraph
from .targets import Target


@dataclass(frozen=True)
class Prepared:
    """Everything decided before any artifact is written (what `plan` prints)."""

    project: ProjectInfo
    config: Config
    target: Target
    graph: DependencyGraph
    closure: Closure
    packages: tuple[PackageFiles, ...]
    rates: Mapping[str, RateEstimate]
    plan: Plan
    layer_names: Mapping[str, str]  # partition layer name -> published layer name
    planfile_path: Path | None  # the lambda-layers.lock that was honoured (None: planned afresh)
    planfile: PlanFile | None
    function_files: Mapping[str, tuple[Entry, ...]]
    limits: Limits
    external_sizes: tuple[ExternalSize, ...] = ()
    pruned: PruneReport = EMPTY_REPORT  # what default-excludes left out, per rule
    bytecode: BytecodeReport | None = None  # what compile did (None: compile = false)
    # function -> the partition layers it attaches (sorted); a function not named attaches all
    function_layers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # function -> the bundled packages it needs; a function not named needs all
    function_needs: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def packages_of(self, function: str) -> tuple[PackageFiles, ...]:
        """The bundled packages `function` needs, in bundle order (what its fat zip holds)."""
        needs = self.function_needs.get(function)
        return tuple(p for p in self.packages if needs is None or p.name in needs)

    def attached(self, function: str) -> tuple[Layer, ...]:
        """The planned layers `function` attaches, in plan order."""
        names = self.function_layers.get(function)
        return tuple(x for x in self.plan.layers if names is None or x.name in names)

    @property
    def identical_functions(self) -> tuple[tuple[str, ...], ...]:
        """Groups of functions whose zips hold exactly the same files (each group sorted)."""
        groups: dict[tuple[str, ...], list[str]] = {}
        for name, files in self.function_files.items():
            key = tuple(sorted(f"{f.path}\0{f.source}" for f in files))
            groups.setdefault(key, []).append(name)
        return tuple(sorted(tuple(sorted(g)) for g in groups.values() if len(g) > 1))

    def layer_entries(self, layer: Layer) -> list[Entry]:
        by_name: dict[str, PackageFiles] = {p.name: p for p in self.packages}
        return [e for name in layer.packages for e in by_name[name].entries]

    def layer_unzipped(self, layer: Layer) -> int:
        sizes: dict[str, int] = {p.name: p.size_unzipped for p in self.packages}
        return sum(sizes[n] for n in layer.packages)

    def package_entries(self, layer: Layer) -> tuple[PackageEntry, ...]:
        """The manifest's record of each package in `layer`."""
        by_name: dict[str, PackageFiles] = {p.name: p for p in self.packages}
        return tuple(
            PackageEntry(
                name=by_name[n].name,
                version=by_name[n].version,
                size_unzipped=by_name[n].size_unzipped,
                size_zipped=by_name[n].size_zipped,
                change_rate=round(self.rates[n].rate, 6),
                change_source=self.rates[n].source,
            )
            for n in layer.packages
        )
