"""Composes the stages, top to bottom: config -> target -> graph -> wheels -> packages -> rates ->
plan -> limits -> zips -> manifest. Each stage lives in its own package; this module only wires
them, and is shared by the hatch builder, the wheel build hook and the `lambda-layers` command,
so that all three produce the same artifacts from the same project.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from . import manifest
from .errors import LambdaLayersError
from .fingerprint import PLANFILE, Inputs
from .output import STATE_NAME, OutputDirectory
from .report.summary import artifacts_summary, fresh_planfile_warning
from .report.units import plural
from .reporting import Reporter, SilentReporter

if TYPE_CHECKING:
    from .config import Config
    from .external_layers import ExternalSize
    from .layers.entries import PackageFiles
    from .layers.packages import Contents
    from .needs import Needs
    from .plan.planfile import PlanFile
    from .plan.rates import Evidence, RateEstimate
    from .prepared import Prepared
    from .project import ProjectInfo
    from .resolve.graph import DependencyGraph
    from .resolve.load import SharedIndex
    from .targets import Target

__all__ = ["BuildResult", "build", "find_planfile", "prepare", "unchanged_build"]


@dataclass(frozen=True)
class BuildResult:
    manifest: manifest.Manifest
    output_dir: Path
    manifest_path: Path
    fresh_planfile: Path | None
    unchanged: bool = False  # nothing changed since the last build: nothing was written


def find_planfile(
    project: ProjectInfo, output: OutputDirectory | None
) -> tuple[Path, PlanFile] | None:
    """The committed lambda-layers.lock beside pyproject.toml; failing that, the one a previous
    build left in the output directory (so rebuilds in place stay stable before it is committed)."""
    from .plan.planfile import read_planfile

    committed = read_planfile(project.root / PLANFILE)
    if committed is not None:
        return project.root / PLANFILE, committed
    return output.left_planfile() if output is not None else None


def prepare(
    project: ProjectInfo,
    config: Config,
    reporter: Reporter,
    *,
    output: OutputDirectory | None = None,
    replan: bool = False,
    trace_imports: bool = False,
) -> Prepared:
    """Everything a build decides before writing: the graph, the bundled packages' contents,
    their change rates, the plan within Lambda's limits."""
    from .plan.decide import layer_names, plan_within_limits
    from .prepared import Prepared
    from .project import slug

    found = find_planfile(project, output)
    plan_path, committed = found if found is not None else (None, None)
    previous = output.previous if output is not None else None
    got = _gather(
        project, config, reporter, committed, previous, replan=replan, trace=trace_imports
    )
    external = _external_sizes(config, reporter)
    decided, limits = plan_within_limits(
        got.packages,
        got.rates,
        config,
        committed,
        graph=got.graph,
        files=got.contents.function_files,
        external=sum(s.unzipped or 0 for s in external),
        replan=replan,
        needs=got.needs.functions,
    )
    return Prepared(
        project=project,
        config=config,
        target=got.target,
        graph=got.graph,
        closure=got.needs.closure,
        packages=got.packages,
        rates=got.rates,
        plan=decided.plan,
        layer_names=layer_names(decided.plan, slug(project.name)),
        planfile_path=plan_path,
        planfile=committed,
        function_files=got.contents.function_files,
        limits=limits,
        external_sizes=external,
        pruned=got.contents.pruned,
        bytecode=got.contents.bytecode,
        function_layers=decided.attached,
        function_needs=got.needs.functions,
    )


@dataclass(frozen=True)
class _Gathered:
    """What the stages that may need the index found: the graph, what each function needs,
    the bundled packages' contents (collisions resolved) and their change rates."""

    target: Target
    graph: DependencyGraph
    needs: Needs
    contents: Contents
    packages: tuple[PackageFiles, ...]
    rates: Mapping[str, RateEstimate]


def _gather(
    project: ProjectInfo,
    config: Config,
    reporter: Reporter,
    committed: PlanFile | None,
    previous: manifest.Manifest | None,
    *,
    replan: bool,
    trace: bool,
) -> _Gathered:
    """The stages that share the build's one index client (opened only if one needs it)."""
    from .layers.collisions import resolve_collisions
    from .needs import bundle_needs
    from .plan.decide import decide_rates
    from .resolve.load import SharedIndex, fetch_bundled
    from .resolve.locks import find_lock
    from .targets import get_target
    from .workspace import load_members_graph, workspace_lock

    target = get_target(config.runtime, config.architecture)
    lock_path = find_lock(project.root, config.lock) or workspace_lock(project.root, config.lock)
    with SharedIndex(config, project.root, lock_path) as index:
        graph, member_roots = load_members_graph(
            project, target=target, lock_path=lock_path, index=index, reporter=reporter
        )
        needs = bundle_needs(project, config, graph, member_roots)
        for item in needs.closure.left_out:
            reporter.info(f"Leaving out {item.name} {item.version} ({item.reason})")
        wheels = fetch_bundled(needs.closure.bundled, target, reporter, index)
        contents = _contents(project, config, target, needs, wheels, reporter=reporter, trace=trace)
        packages = resolve_collisions(contents.packages)
        gather = _evidence(
            project,
            lock_path=lock_path,
            previous=previous,
            index=index,
            target=target,
            reporter=reporter,
        )
        rates = decide_rates([p.name for p in packages], config, committed, gather, replan=replan)
    return _Gathered(target, graph, needs, contents, packages, rates)


def _contents(
    project: ProjectInfo,
    config: Config,
    target: Target,
    needs: Needs,
    wheels: Mapping[str, Path],
    *,
    reporter: Reporter,
    trace: bool,
) -> Contents:
    """The bundled wheels' entries and the functions' files, pruned, stripped and compiled."""
    from .layers.packages import FunctionInputs, read_contents
    from .project import function_files, functions

    handlers = {fn.name: fn.handler for fn in functions(project, config)}
    left_out = [x.name for x in needs.closure.left_out]
    inputs = FunctionInputs(function_files(project, config), handlers, left_out, trace)
    return read_contents(wheels, inputs, config, target, reporter)


def _evidence(
    project: ProjectInfo,
    *,
    lock_path: Path | None,
    previous: manifest.Manifest | None,
    index: SharedIndex,
    target: Target,
    reporter: Reporter,
) -> Callable[[Sequence[str]], Evidence]:
    """Where change rates come from when some must be estimated: git, earlier manifests, and
    the release history on the index (kept in the cache for a day)."""

    def gather(names: Sequence[str]) -> Evidence:
        from .plan.evidence import gather_evidence
        from .plan.releases import release_pages

        return gather_evidence(
            project.root,
            names,
            lock_path=lock_path,
            manifest_history=previous.history if previous else (),
            index=release_pages(index, names, target, warn=reporter.warning),
            loadable=lambda filename: target.wheel_rank(filename) is not None,
            warn=reporter.warning,
        )

    return gather


def _external_sizes(config: Config, reporter: Reporter) -> tuple[ExternalSize, ...]:
    from .external_layers import cache_root, external_sizes

    external = external_sizes(
        config.external_layers, config.external_layer_sizes, cache_dir=cache_root()
    )
    for size in external:
        if size.unzipped is None:
            reporter.warning(
                f"external layer {size.arn}: unknown size ({size.note}); it is left out of the "
                f"unzipped total: set it in tool.lambda-layers.external-layer-sizes"
            )
    return external


def build(
    project: ProjectInfo,
    config: Config,
    output_dir: Path,
    reporter: Reporter | None = None,
    *,
    verify: bool = False,
) -> BuildResult:
    """Build every artifact into `output_dir` (the `.../lambda` directory itself). A failure at
    any point leaves an earlier build's artifacts and manifest untouched (`output.Staging`).
    When the inputs are those the last build recorded and its files are intact (every one
    re-hashed with `verify`), nothing is written and that build's manifest is the result."""
    from .inputs import collect_inputs
    from .report.summary import artifact_lines, identical_functions_warning

    reporter = reporter or SilentReporter()
    with OutputDirectory(output_dir, notify=reporter.info, verify=verify) as output:
        kept, _ = output.unchanged(project.root, project=project)
        if kept is not None:
            return _kept(kept, output, project.root, reporter)
        prepared = prepare(project, config, reporter, output=output)
        try:
            inputs: Inputs | None = collect_inputs(
                project, config, output_dir=output.path, local_files=_local_files(prepared)
            )
        except OSError:
            inputs = None  # the build reports what it cannot read; the next one just builds
        for group in prepared.identical_functions:
            reporter.warning(identical_functions_warning(group))
        built, fresh_planfile = _write(prepared, output, reporter, inputs)
    if fresh_planfile is not None:
        reporter.warning(fresh_planfile_warning(fresh_planfile))
    for line in artifact_lines(built):
        reporter.info(line)
    reporter.success(artifacts_summary(built, output.path))
    return BuildResult(built, output.path, output.manifest_path, fresh_planfile)


def _local_files(prepared: Prepared) -> list[Path]:
    """The wheels and sdists the lock names on local disk: rebuilt under the same name, they
    are a change (a build then finds their hash no longer the lock's, or uses them)."""
    from .resolve.http import local_path

    links = [
        link
        for p in prepared.graph.packages
        for link in (*p.wheels, *([p.sdist] if p.sdist is not None else []))
    ]
    paths = [local_path(link.url) for link in links]
    return [path for path in paths if path is not None and path.is_file()]


def unchanged_build(
    root: Path, output_dir: Path, reporter: Reporter | None = None, *, verify: bool = False
) -> BuildResult | None:
    """The last build's result when nothing changed since, checked without reading the project
    through hatch or loading any stage; None when the project must be built (or read by hatch:
    then `build` checks again with what hatch reports). The check runs under the build lock;
    without a recorded state there is nothing to check and no lock is taken."""
    reporter = reporter or SilentReporter()
    if not (output_dir / STATE_NAME).is_file():
        return None
    try:
        with OutputDirectory(output_dir, notify=reporter.info, verify=verify) as output:
            kept, _ = output.unchanged(root)
            return None if kept is None else _kept(kept, output, root, reporter)
    except LambdaLayersError:
        return None  # a malformed manifest, say: the build proper reports it


def _kept(
    kept: manifest.Manifest, output: OutputDirectory, root: Path, reporter: Reporter
) -> BuildResult:
    """The result of a build that found nothing changed."""
    kept = output.settle(kept)
    zips = plural(len(kept.layers), "layer") + " and " + plural(len(kept.functions), "function")
    reporter.info(f"Nothing changed since the last build: kept {zips}")
    fresh = output.path / PLANFILE
    if (root / PLANFILE).is_file() or not fresh.is_file():
        fresh_planfile = None
    else:
        fresh_planfile = fresh
        reporter.warning(fresh_planfile_warning(fresh))
    reporter.success(artifacts_summary(kept, output.path))
    return BuildResult(kept, output.path, output.manifest_path, fresh_planfile, unchanged=True)


def _write(
    prepared: Prepared, output: OutputDirectory, reporter: Reporter, inputs: Inputs | None
) -> tuple[manifest.Manifest, Path | None]:
    """Stage every zip, then commit them with the manifest (and a fresh plan file when the
    project has none committed), and record the inputs they were built from."""
    from .assemble import manifest_of, planfile_for
    from .layers.entries import Entry, entry_size
    from .plan.limits import check_written
    from .progress import WriteTracker
    from .project import functions

    project, config = prepared.project, prepared.config
    from .modes import PLANNED, writer_for

    fresh = prepared.planfile_path != project.root / PLANFILE and config.mode in PLANNED
    fingerprint = inputs.fingerprint if inputs is not None and not inputs.not_reusable else None
    writer = writer_for(config.mode)
    if writer is not None:  # image, efs: each mode's own artifacts, always rebuilt (the
        # recorded state covers zips only, not a build context directory)
        with output.staging() as staging:
            built = writer(prepared, staging, output.previous, reporter)
            planfile = planfile_for(prepared, built) if fresh else None
            return built, staging.commit(built, planfile)
    progress = WriteTracker(
        reporter.write_progress(), len(prepared.plan.layers) + len(functions(project, config))
    )
    with output.staging() as staging:
        layers: list[manifest.LayerEntry] = []
        for layer in prepared.plan.layers:
            name = prepared.layer_names[layer.name]
            record = prepared.planfile.layer_record(layer.name) if prepared.planfile else None
            progress.start(f"layer {name}", prepared.layer_unzipped(layer))
            entry, reused = staging.layer(
                name, prepared.layer_entries(layer), prepared.package_entries(layer), record
            )
            state = f"unchanged (v{entry.version})" if reused else f"written (v{entry.version})"
            reporter.info(f"Layer {name}: {state}, {plural(len(layer.packages), 'package')}")
            layers.append(entry)
        check_written(layers, prepared.limits)
        fns = []
        for fn in functions(project, config):
            entries: list[Entry] = list(prepared.function_files[fn.name])
            if config.mode == "fat":
                entries += [e for p in prepared.packages_of(fn.name) for e in p.entries]
            reporter.waiting(f"Writing function {fn.name}")
            progress.start(f"function {fn.name}", sum(map(entry_size, entries)))
            fns.append(staging.function(fn.name, fn.handler, entries))
        progress.finish()
        built = replace(
            manifest_of(prepared, layers, fns, output.previous), fingerprint=fingerprint
        )
        planfile = planfile_for(prepared, built) if fresh else None
        fresh_planfile = staging.commit(built, planfile, inputs)
    return built, fresh_planfile
