"""Composes the stages, top to bottom: config -> target -> graph -> wheels -> packages -> rates ->
plan -> limits -> zips -> manifest. Each stage lives in its own package; this module only wires
them, and is shared by the hatch builder, the wheel build hook and the `lambda-layers` command,
so that all three produce the same artifacts from the same project.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from . import manifest
from .assemble import manifest_of, planfile_for
from .config import Config
from .errors import ConfigError
from .external_layers import cache_root, external_sizes
from .layers.collisions import resolve_collisions
from .layers.entries import Entry, entry_size
from .layers.packages import FunctionInputs, read_contents
from .modes import PLANNED, writer_for
from .needs import bundle_needs
from .output import OutputDirectory
from .plan.decide import decide_rates, layer_names, plan_within_limits
from .plan.evidence import gather_evidence
from .plan.limits import check_written
from .plan.planfile import PLANFILE_NAME, PlanFile, read_planfile
from .plan.rates import Evidence
from .prepared import Prepared
from .progress import WriteTracker
from .project import ProjectInfo, function_files, functions, slug
from .report.summary import (
    artifact_lines,
    artifacts_summary,
    fresh_planfile_warning,
    identical_functions_warning,
)
from .report.units import plural
from .reporting import Reporter, SilentReporter
from .resolve.load import SharedIndex, fetch_bundled
from .resolve.locks import find_lock
from .targets import get_target
from .workspace import load_members_graph, workspace_lock

__all__ = ["BuildResult", "Prepared", "build", "find_planfile", "planfile_for", "prepare"]


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
    lock_path = find_lock(project.root, config.lock) or workspace_lock(project.root, config.lock)
    found = find_planfile(project, output)
    plan_path, committed = found if found is not None else (None, None)
    previous = output.previous if output is not None else None
    with SharedIndex(config, project.root, lock_path) as index:
        graph, member_roots = load_members_graph(
            project, target=target, lock_path=lock_path, index=index, reporter=reporter
        )
        needs = bundle_needs(project, config, graph, member_roots)
        closure = needs.closure
        for item in closure.left_out:
            reporter.info(f"Leaving out {item.name} {item.version} ({item.reason})")
        wheels = fetch_bundled(closure.bundled, target, reporter, index)
        handlers = {fn.name: fn.handler for fn in functions(project, config)}
        left_out = [x.name for x in closure.left_out]
        inputs = FunctionInputs(function_files(project, config), handlers, left_out, trace_imports)
        contents = read_contents(wheels, inputs, config, target, reporter)
        packages = resolve_collisions(contents.packages)
        files = contents.function_files

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
    external = external_sizes(
        config.external_layers, config.external_layer_sizes, cache_dir=cache_root()
    )
    for size in external:
        if size.unzipped is None:
            reporter.warning(
                f"external layer {size.arn}: unknown size ({size.note}); it is left out of the "
                f"unzipped total: set it in tool.lambda-layers.external-layer-sizes"
            )
    decided, limits = plan_within_limits(
        packages,
        rates,
        config,
        committed,
        graph=graph,
        files=files,
        external=sum(s.unzipped or 0 for s in external),
        replan=replan,
        needs=needs.functions,
    )
    plan = decided.plan
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
        external_sizes=external,
        pruned=contents.pruned,
        bytecode=contents.bytecode,
        function_layers=decided.attached,
        function_needs=needs.functions,
    )


def build(
    project: ProjectInfo, config: Config, output_dir: Path, reporter: Reporter | None = None
) -> BuildResult:
    """Build every artifact into `output_dir` (the `.../lambda` directory itself). A failure at
    any point leaves an earlier build's artifacts and manifest untouched (`output.Staging`)."""
    reporter = reporter or SilentReporter()
    with OutputDirectory(output_dir, notify=reporter.info) as output:
        prepared = prepare(project, config, reporter, output=output)
        for group in prepared.identical_functions:
            reporter.warning(identical_functions_warning(group))
        built, fresh_planfile = _write(prepared, output, reporter)
    if fresh_planfile is not None:
        reporter.warning(fresh_planfile_warning(fresh_planfile))
    for line in artifact_lines(built):
        reporter.info(line)
    reporter.success(artifacts_summary(built, output.path))
    return BuildResult(built, output.path, output.manifest_path, fresh_planfile)


def _write(
    prepared: Prepared, output: OutputDirectory, reporter: Reporter
) -> tuple[manifest.Manifest, Path | None]:
    """Stage every zip, then commit them with the manifest (and a fresh plan file when the
    project has none committed)."""
    project, config = prepared.project, prepared.config
    fresh = prepared.planfile_path != project.root / PLANFILE_NAME and config.mode in PLANNED
    writer = writer_for(config.mode)
    if writer is not None:  # image, efs: each mode's own artifacts
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
        built = manifest_of(prepared, layers, fns, output.previous)
        fresh_planfile = staging.commit(built, planfile_for(prepared, built) if fresh else None)
    return built, fresh_planfile
