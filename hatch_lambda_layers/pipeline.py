"""Composes the stages, top to bottom: config -> target -> graph -> wheels -> packages -> rates ->
plan -> limits -> zips -> manifest. Each stage lives in its own package; this module only wires
them, and is shared by the hatch builder, the wheel build hook and the `lambda-layers` command,
so that all three produce the same artifacts from the same project.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from . import __version__, manifest
from .config import Config
from .errors import ConfigError
from .layers.budget import BytecodeReport
from .layers.entries import Entry, PackageFiles, entries_content_hash, entry_size
from .layers.packages import FunctionInputs, read_contents
from .layers.prune import EMPTY_REPORT, PruneReport
from .output import OutputDirectory, layer_version
from .plan.decide import decide_plan, decide_rates, layer_names
from .plan.evidence import gather_evidence
from .plan.limits import check_limits, check_written
from .plan.partition import Layer, Plan
from .plan.planfile import PLANFILE_NAME, PlanFile, from_plan
from .plan.rates import Evidence, RateEstimate, next_history
from .project import ProjectInfo, function_files, functions, slug
from .reporting import Reporter, SilentReporter
from .resolve.graph import Closure, DependencyGraph, split_provided
from .resolve.load import SharedIndex, fetch_bundled, load_graph
from .resolve.locks import find_lock
from .targets import Target, get_target


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
    limits: manifest.Limits
    pruned: PruneReport = EMPTY_REPORT  # what default-excludes left out, per rule
    bytecode: BytecodeReport | None = None  # what compile did (None: compile = false)

    def layer_entries(self, layer: Layer) -> list[Entry]:
        by_name: dict[str, PackageFiles] = {p.name: p for p in self.packages}
        return [e for name in layer.packages for e in by_name[name].entries]


@dataclass(frozen=True)
class BuildResult:
    manifest: manifest.Manifest
    output_dir: Path
    manifest_path: Path
    fresh_planfile: Path | None


def find_planfile(
    project: ProjectInfo, output: OutputDirectory | None
) -> tuple[Path, PlanFile] | None:
    """The committed lambda-layers.lock beside pyproject.toml; failing that, the one a previous
    build left in the output directory (so rebuilds in place stay stable before it is committed)."""
    from .plan.planfile import read_planfile

    committed = read_planfile(project.root / PLANFILE_NAME)
    if committed is not None:
        return project.root / PLANFILE_NAME, committed
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
    target = get_target(config.runtime, config.architecture)
    lock_path = find_lock(project.root, config.lock)
    found = find_planfile(project, output)
    plan_path, committed = found if found is not None else (None, None)
    previous = output.previous if output is not None else None
    with SharedIndex(config, project.root, lock_path) as index:
        graph = load_graph(
            project_name=project.name,
            requirements=project.requirements,
            target=target,
            lock_path=lock_path,
            index=index,
            reporter=reporter,
        )
        closure = split_provided(graph, config.provided)
        for item in closure.left_out:
            reporter.info(f"Leaving out {item.name} {item.version} ({item.reason})")
        wheels = fetch_bundled(closure.bundled, target, reporter)
        handlers = {fn.name: fn.handler for fn in functions(project, config)}
        left_out = [x.name for x in closure.left_out]
        inputs = FunctionInputs(function_files(project, config), handlers, left_out, trace_imports)
        contents = read_contents(wheels, inputs, config, target, reporter)
        packages, files = contents.packages, contents.function_files

        def gather(names: Sequence[str]) -> Evidence:
            try:
                client = index.get()
            except ConfigError as exc:
                reporter.warning(f"no release history for change rates: {exc}")
                client = None
            return gather_evidence(
                project.root,
                names,
                lock_path=lock_path,
                manifest_history=previous.history if previous else (),
                index=client,
                loadable=lambda filename: target.wheel_rank(filename) is not None,
                warn=reporter.warning,
            )

        rates = decide_rates([p.name for p in packages], config, committed, gather, replan=replan)
    plan = decide_plan(packages, rates, config, committed, replan=replan)
    limits = check_limits(
        layers_built=len(plan.layers),
        external_layers=len(config.external_layers),
        packages=packages,
        function_unzipped=max((sum(map(entry_size, f)) for f in files.values()), default=0),
        direct_upload=config.upload == "direct",
    )
    return Prepared(
        project=project,
        config=config,
        target=target,
        graph=graph,
        closure=closure,
        packages=packages,
        rates=rates,
        plan=plan,
        layer_names=layer_names(plan, slug(project.name)),
        planfile_path=plan_path,
        planfile=committed,
        function_files=files,
        limits=limits,
        pruned=contents.pruned,
        bytecode=contents.bytecode,
    )


def build(
    project: ProjectInfo, config: Config, output_dir: Path, reporter: Reporter | None = None
) -> BuildResult:
    """Build every artifact into `output_dir` (the `.../lambda` directory itself). A failure at
    any point leaves an earlier build's artifacts and manifest untouched (`output.Staging`)."""
    reporter = reporter or SilentReporter()
    with OutputDirectory(output_dir, notify=reporter.info) as output:
        prepared = prepare(project, config, reporter, output=output)
        built, fresh_planfile = _write(prepared, output, reporter)
    _report(reporter, built, output, fresh_planfile)
    return BuildResult(built, output.path, output.manifest_path, fresh_planfile)


def _write(
    prepared: Prepared, output: OutputDirectory, reporter: Reporter
) -> tuple[manifest.Manifest, Path | None]:
    """Stage every zip, then commit them with the manifest (and a fresh plan file when the
    project has none committed)."""
    project, config = prepared.project, prepared.config
    fresh = prepared.planfile_path != project.root / PLANFILE_NAME and config.mode != "fat"
    with output.staging() as staging:
        layers: list[manifest.LayerEntry] = []
        for layer in prepared.plan.layers:
            name = prepared.layer_names[layer.name]
            record = prepared.planfile.layer_record(layer.name) if prepared.planfile else None
            entry, reused = staging.layer(
                name, prepared.layer_entries(layer), _package_entries(prepared, layer), record
            )
            state = f"unchanged (v{entry.version})" if reused else f"written (v{entry.version})"
            reporter.info(f"Layer {name}: {state}, {len(layer.packages)} packages")
            layers.append(entry)
        check_written(layers, prepared.limits)
        fns = []
        for fn in functions(project, config):
            entries: list[Entry] = list(prepared.function_files[fn.name])
            if config.mode == "fat":
                entries += [e for p in prepared.packages for e in p.entries]
            reporter.waiting(f"Writing function {fn.name}")
            fns.append(staging.function(fn.name, fn.handler, entries))
        built = _manifest(prepared, layers, fns, output.previous)
        fresh_planfile = staging.commit(built, planfile_for(prepared, built) if fresh else None)
    return built, fresh_planfile


def _report(
    reporter: Reporter, built: manifest.Manifest, output: OutputDirectory, fresh: Path | None
) -> None:
    if fresh is not None:
        reporter.warning(
            f"no {PLANFILE_NAME} beside pyproject.toml: wrote a fresh plan to {fresh}; copy it "
            f"next to pyproject.toml and commit it so every build keeps these layers"
        )
    for layer in built.layers:
        state = "changed" if layer.changed else "unchanged"
        reporter.info(
            f"  {layer.file}  v{layer.version} {state}  {layer.size_zipped / 1e6:,.1f} MB "
            f"zipped, {len(layer.packages)} packages"
        )
    for fn in built.functions:
        reporter.info(f"  {fn.file}  function {fn.name}  {fn.size_zipped:,} bytes zipped")
    reporter.success(f"Wrote {output.manifest_path}")


def _package_entries(prepared: Prepared, layer: Layer) -> tuple[manifest.PackageEntry, ...]:
    by_name: dict[str, PackageFiles] = {p.name: p for p in prepared.packages}
    return tuple(
        manifest.PackageEntry(
            name=by_name[n].name,
            version=by_name[n].version,
            size_unzipped=by_name[n].size_unzipped,
            size_zipped=by_name[n].size_zipped,
            change_rate=round(prepared.rates[n].rate, 6),
            change_source=prepared.rates[n].source,
        )
        for n in layer.packages
    )


def _manifest(
    prepared: Prepared,
    layers: Sequence[manifest.LayerEntry],
    functions: Sequence[manifest.FunctionEntry],
    previous: manifest.Manifest | None,
) -> manifest.Manifest:
    target = prepared.target
    total = sum(x.size_unzipped for x in layers) + max(
        (f.size_unzipped for f in functions), default=0
    )
    limits = replace(
        prepared.limits, unzipped_total=total, ok=total <= prepared.limits.unzipped_max
    )
    versions: dict[str, str] = {p.name: p.version for p in prepared.packages}
    return manifest.Manifest(
        generator=f"hatch-lambda-layers {__version__}",
        project_name=prepared.project.name,
        project_version=prepared.project.version,
        target=manifest.Target(
            runtime=target.runtime,
            architecture=target.architecture,
            python_version=".".join(map(str, target.python_version)),
            glibc=".".join(map(str, target.glibc)),
        ),
        layers=tuple(layers),
        functions=tuple(functions),
        provided=tuple(
            manifest.ProvidedEntry(name=x.name, version=x.version, reason=x.reason)
            for x in prepared.closure.left_out
        ),
        external_layers=tuple(prepared.config.external_layers),
        limits=limits,
        license_info=prepared.config.license_info,
        history=next_history(previous.history if previous else (), versions),
    )


def planfile_for(
    prepared: Prepared,
    built: manifest.Manifest | None = None,
    previous: manifest.Manifest | None = None,
) -> PlanFile:
    """The lambda-layers.lock record of a plan, with each layer's version and content hash: from
    the built manifest when there is one, else computed from the layer's entries and versioned
    as a build over `previous` would (plan --update)."""
    if built is not None:
        reverse = {v: k for k, v in prepared.layer_names.items()}
        records = {reverse[e.name]: (e.version, e.content_hash) for e in built.layers}
    else:
        records = {}
        for layer in prepared.plan.layers:
            name = prepared.layer_names[layer.name]
            record = prepared.planfile.layer_record(layer.name) if prepared.planfile else None
            content_hash = entries_content_hash(prepared.layer_entries(layer))
            old = previous.layer(name) if previous else None
            records[layer.name] = (layer_version(content_hash, old, record)[0], content_hash)
    return from_plan(
        prepared.plan,
        prepared.rates,
        runtime=prepared.target.runtime,
        architecture=prepared.target.architecture,
        records=records,
    )
