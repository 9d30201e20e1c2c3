"""Composes the stages: config -> target -> graph -> wheels -> partition -> zips -> manifest.

Each stage lives in its own module; this one only wires them, and is shared verbatim by the
hatch builder, the wheel build hook and the `lambda-layers` command, so that all three produce
the same artifacts from the same project.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from packaging.utils import canonicalize_name

from . import __version__, digests, manifest
from .config import Config, FunctionConfig
from .errors import ConfigError, LambdaLayersError, LimitError
from .layers import entries, layout, wheel, zipwriter
from .layers.transforms import transform_packages
from .plan import history, partition, planfile
from .project import ProjectInfo
from .reporting import Reporter, SilentReporter
from .resolve import edges, locks
from .resolve.graph import Closure, DependencyGraph, PinnedPackage, select_wheel, split_provided
from .targets import Target, get_target

LAYERS_MAX = 5
UNZIPPED_MAX = 262_144_000
DIRECT_UPLOAD_MAX = 52_428_800
PLANFILE_NAME = "lambda-layers.lock"
OUTPUT_SUBDIR = "lambda"


@dataclass(frozen=True)
class Prepared:
    """Everything decided before any artifact is written (what `plan` prints)."""

    project: ProjectInfo
    config: Config
    target: Target
    graph: DependencyGraph
    closure: Closure
    packages: tuple[entries.PackageFiles, ...]
    rates: Mapping[str, history.RateEstimate]
    plan: partition.Plan
    layer_names: Mapping[str, str]  # partition layer name -> published layer name
    planfile_path: Path | None  # the lambda-layers.lock that was honoured (None: planned afresh)
    planfile: planfile.PlanFile | None = None
    change_history: history.ChangeHistory | None = None  # what the joint cost learned from
    function_files: Mapping[str, tuple[entries.BytesEntry | entries.FileEntry, ...]] = field(
        default_factory=dict
    )


@dataclass(frozen=True)
class BuildResult:
    manifest: manifest.Manifest
    output_dir: Path
    manifest_path: Path
    fresh_planfile: Path | None


# --------------------------------------------------------------------------------------------
# stage helpers


def _slug(name: str) -> str:
    return canonicalize_name(name).replace(".", "-")


def load_graph(
    project: ProjectInfo, config: Config, target: Target, reporter: Reporter
) -> DependencyGraph:
    lock_path = locks.find_lock(project.root, config.lock)
    if lock_path is not None:
        reporter.info(f"Reading {lock_path.name} for {target.describe()}")
        graph = locks.read_lock(lock_path, target, project_name=project.name)
        if edges.needs_metadata_edges(graph):
            metadata = _metadata_for(graph.packages, target, reporter)
            graph = edges.edges_from_metadata(
                graph, metadata, target, project.requirements, project_name=project.name
            )
        return graph
    from .resolve import index, indexconfig, resolver

    settings = indexconfig.discover_index_settings(config, project.root)
    reporter.info(f"Resolving {len(project.requirements)} requirements for {target.describe()}")
    client = index.IndexClient(settings)
    return resolver.resolve(project.requirements, target, client)


def _metadata_for(
    packages: Sequence[PinnedPackage], target: Target, reporter: Reporter
) -> dict[str, str]:
    """METADATA of each pinned wheel (pylock files without dependency edges need it)."""
    from .resolve import fetch

    # Packages without wheels (git, sdist-only) have no METADATA to read; edges_from_metadata
    # accepts that, and select_wheel reports them later only if they end up bundled.
    links = {p.name: select_wheel(p, target) for p in packages if p.wheels}
    paths = fetch.fetch_wheels(list(links.values()), progress=reporter.download_progress())
    return {name: wheel.read_metadata(paths[link.filename]) for name, link in links.items()}


def layout_options(config: Config, *, fat: bool = False) -> layout.LayoutOptions:
    return layout.LayoutOptions(
        prefix="" if fat else "python/",
        default_excludes=config.default_excludes,
        exclude=config.exclude,
        botocore_services=(
            None if config.botocore_services is None else frozenset(config.botocore_services)
        ),
        compile=config.compile,
    )


def _check_botocore_services(config: Config, packages: Sequence[entries.PackageFiles]) -> None:
    if config.botocore_services is None:
        return
    names: set[str] = set()
    for pkg in packages:
        if pkg.name in ("botocore", "boto3"):
            with zipfile.ZipFile(pkg.wheel_path) as zf:
                names |= layout.known_botocore_services(zf.namelist())
    if names:
        layout.check_botocore_services(config.botocore_services, names)


def function_entries(
    project: ProjectInfo, config: Config
) -> dict[str, tuple[entries.BytesEntry | entries.FileEntry, ...]]:
    """Per function, the project's own files at the zip root (hatch's wheel selection),
    narrowed by its `include` patterns (the same gitignore-style globs as `exclude`)."""
    result: dict[str, tuple[entries.BytesEntry | entries.FileEntry, ...]] = {}
    for fn in _functions(project, config):
        try:
            patterns = [layout.ExcludePattern.parse(p) for p in fn.include]
        except ValueError as exc:
            raise ConfigError(f"tool.lambda-layers.functions.{fn.name}.include: {exc}") from None
        chosen = [
            f for f in project.files if not patterns or any(p.matches(f.path) for p in patterns)
        ]
        if not chosen:
            raise ConfigError(
                f"tool.lambda-layers.functions.{fn.name}.include matches none of the project's "
                f"files ({', '.join(p.path for p in project.files[:5])}...)"
            )
        result[fn.name] = tuple(
            entries.FileEntry(path=f.path, source_path=f.source, mode=_file_mode(f.source))
            for f in chosen
        )
    return result


def _functions(project: ProjectInfo, config: Config) -> tuple[FunctionConfig, ...]:
    """The configured functions, or one named after the project with `handler`."""
    if config.functions:
        return config.functions
    return (FunctionConfig(name=_slug(project.name), handler=config.handler),)


def _file_mode(path: Path) -> int:
    try:
        return 0o755 if os.stat(path).st_mode & 0o111 else 0o644
    except OSError:
        return 0o644


def _release_history(
    project: ProjectInfo, config: Config, names: Sequence[str], reporter: Reporter
) -> dict[str, tuple[datetime, ...]]:
    """Upload times of each package's releases (the change-rate prior when there is no history),
    from the lock's own registry, else the user's index configuration. Never fatal: without
    them the rates fall back to the default prior, with one warning."""
    from .resolve import index, indexconfig

    lock_path = locks.find_lock(project.root, config.lock)
    urls = locks.registry_urls(lock_path) if lock_path is not None else ()
    try:
        settings = (
            indexconfig.IndexSettings(index_urls=urls)
            if urls
            else indexconfig.discover_index_settings(config, project.root)
        )
    except ConfigError as exc:
        reporter.warning(f"no release history for change rates: {exc}")
        return {}
    missing: list[str] = []
    target = get_target(config.runtime, config.architecture)
    found = history.upload_times_from_index(
        index.IndexClient(settings),
        names,
        lambda message: missing.append(message),
        # A release the target cannot load (e.g. manylinux_2_28-only for glibc 2.26) is not
        # a change this project would ever build.
        loadable=lambda filename: target.wheel_rank(filename) is not None,
        # ...and when the newest release is such a one, the package is frozen for this target
        # (history.loadability_frozen): its rate is the cadence floor, not its past releases.
        freeze=True,
    )
    if missing:
        reporter.warning(
            f"no release history for {len(missing)} of {len(names)} packages on "
            f"{settings.describe()}; their change rates use the default prior"
        )
    return found


def estimate_rates(
    project: ProjectInfo,
    config: Config,
    bundled: Sequence[PinnedPackage],
    previous: manifest.Manifest | None,
    recorded: Mapping[str, history.RateEstimate],
    reporter: Reporter,
    *,
    deciding: bool = False,
    replan: bool = False,
) -> tuple[dict[str, history.RateEstimate], history.ChangeHistory | None]:
    """Change rates for the bundled packages, and (when `deciding` a plan) the history of which
    packages changed together, for the partitioner's joint cost.

    Rates recorded in lambda-layers.lock win (except on `replan`, and unless an override says
    otherwise), so a committed plan reproduces without the network; the rest are estimated from
    lock history, manifest history or release cadence (history.py says how they combine)."""
    names = [p.name for p in bundled]
    query = names if deciding else [n for n in names if n not in recorded]
    estimated: Mapping[str, history.RateEstimate] = {}
    joint: history.ChangeHistory | None = None
    if query:
        lock_path = locks.find_lock(project.root, config.lock)
        estimated, joint = history.estimate_and_history_for_project(
            project.root,
            query,
            lock_file=(
                lock_path.relative_to(project.root).as_posix()
                if lock_path is not None and lock_path.is_relative_to(project.root)
                else None
            ),
            previous_history=previous.history if previous else (),
            volatile=config.volatile,
            stable=config.stable,
            upload_times=_release_history(project, config, query, reporter),
        )
    overrides = history.estimate_for_project(
        project.root,
        names,
        previous_history=(),
        volatile=config.volatile,
        stable=config.stable,
        upload_times={},
        use_git=False,
    )
    result: dict[str, history.RateEstimate] = {}
    for n in names:
        if overrides[n].source == "override":
            result[n] = overrides[n]
        elif n in recorded and not replan:
            result[n] = recorded[n]
        else:
            result[n] = estimated[n]
    return result, (joint if deciding else None)


def find_planfile(
    project: ProjectInfo, output_dir: Path | None
) -> tuple[Path, planfile.PlanFile] | None:
    """The committed lambda-layers.lock beside pyproject.toml; failing that, the one a previous
    build left in the output directory (so rebuilds in place stay stable before it is committed)."""
    candidates = [project.root / PLANFILE_NAME]
    if output_dir is not None:
        candidates.append(Path(output_dir) / PLANFILE_NAME)
    for path in candidates:
        found = planfile.read_planfile(path)
        if found is not None:
            return path, found
    return None


def prepare(
    project: ProjectInfo,
    config: Config,
    reporter: Reporter,
    *,
    previous: manifest.Manifest | None = None,
    replan: bool = False,
    output_dir: Path | None = None,
) -> Prepared:
    target = get_target(config.runtime, config.architecture)
    graph = load_graph(project, config, target, reporter)
    closure = split_provided(graph, config.provided)
    for item in closure.left_out:
        reporter.info(f"Leaving out {item.name} {item.version} ({item.reason})")

    links = {p.name: select_wheel(p, target) for p in closure.bundled}
    from .resolve import fetch, http

    reporter.waiting(f"Fetching {len(links)} wheels")
    paths = fetch.fetch_wheels(
        list(links.values()),
        progress=reporter.download_progress(),
        # uv records no hashes for wheels on local disk (find-links, path sources).
        allow_unhashed=all(w.sha256 or http.local_path(w.url) for w in links.values()),
    )
    fat = config.mode == "fat"
    options = layout_options(config, fat=fat)
    packages = tuple(
        wheel.read_wheel(paths[links[p.name].filename], options) for p in closure.bundled
    )
    _check_botocore_services(config, packages)
    packages = transform_packages(packages, config, target, reporter)

    found = find_planfile(project, output_dir)
    plan_path, committed = found if found is not None else (None, None)
    recorded = committed.rates() if committed else {}
    placed = committed.assignment() if committed else {}
    # A plan is decided afresh without a plan file, on `plan --update`, or for packages the
    # plan file does not place; only then is the (network) history worth gathering.
    deciding = replan or committed is None or any(p.name not in placed for p in closure.bundled)
    rates, joint = estimate_rates(
        project,
        config,
        closure.bundled,
        previous,
        recorded,
        reporter,
        deciding=deciding,
        replan=replan,
    )

    fn_files = function_entries(project, config)
    if fat:
        plan = partition.Plan(
            layers=(), expected_bytes=0.0, single_layer_bytes=0.0, exact=True, lower_bound=None
        )
    else:
        items = [
            partition.Item(
                name=p.name,
                size_zipped=p.size_zipped,
                size_unzipped=p.size_unzipped,
                change_rate=rates[p.name].rate,
            )
            for p in packages
        ]
        constraints = partition.Constraints(
            max_layers=config.max_layers,
            max_zipped_per_layer=DIRECT_UPLOAD_MAX if config.upload == "direct" else None,
            pinned_groups=dict(config.layers),
        )
        previous_assignment = committed.assignment() if committed else None
        if replan:
            plan = partition.replan(
                items, constraints, previous_assignment, margin=config.replan_margin, history=joint
            )
        else:
            plan = partition.partition(items, constraints, previous_assignment, history=joint)
    prefix = _slug(project.name)
    layer_names = {layer.name: f"{prefix}-{layer.name}" for layer in plan.layers}
    prepared = Prepared(
        project=project,
        config=config,
        target=target,
        graph=graph,
        closure=closure,
        packages=packages,
        rates=rates,
        plan=plan,
        layer_names=layer_names,
        planfile_path=plan_path,
        planfile=committed,
        function_files=fn_files,
        change_history=joint,
    )
    check_limits(prepared)
    return prepared


# --------------------------------------------------------------------------------------------
# limits


def _fmt(n: float) -> str:
    return f"{n / 1_000_000:,.1f} MB"


def _largest(packages: Sequence[entries.PackageFiles], n: int = 5) -> str:
    top = sorted(packages, key=lambda p: (-p.size_unzipped, p.name))[:n]
    return ", ".join(f"{p.name} {p.version} {_fmt(p.size_unzipped)}" for p in top)


def function_sizes(prepared: Prepared) -> dict[str, int]:
    return {
        name: sum(entries.entry_size(e) for e in files)
        for name, files in prepared.function_files.items()
    }


def check_limits(prepared: Prepared) -> manifest.Limits:
    config = prepared.config
    packages = prepared.packages
    layers_used = len(prepared.plan.layers) + len(config.external_layers)
    deps_unzipped = sum(p.size_unzipped for p in packages)
    fn_max = max(function_sizes(prepared).values(), default=0)
    total = deps_unzipped + fn_max
    problems: list[str] = []
    if layers_used > LAYERS_MAX:
        problems.append(
            f"{layers_used} layers ({len(prepared.plan.layers)} built + "
            f"{len(config.external_layers)} external) exceed Lambda's {LAYERS_MAX}"
        )
    if total > UNZIPPED_MAX:
        problems.append(
            f"function plus layers unzip to {total:,} bytes ({_fmt(total)}), over Lambda's "
            f"{UNZIPPED_MAX:,}-byte limit by {total - UNZIPPED_MAX:,}; largest packages: "
            f"{_largest(packages)}; add the ones the runtime or an external layer supplies to "
            f"tool.lambda-layers.provided, trim with exclude or botocore-services, or use a "
            f"container image"
        )
    if problems:
        raise LimitError("; ".join(problems))
    return manifest.Limits(
        layers_used=layers_used,
        layers_max=LAYERS_MAX,
        unzipped_total=total,
        unzipped_max=UNZIPPED_MAX,
        zipped_layer_max=DIRECT_UPLOAD_MAX if config.upload == "direct" else None,
        ok=True,
    )


# --------------------------------------------------------------------------------------------
# writing


def _hash12(content_hash: str) -> str:
    return content_hash.split(":", 1)[-1][:12]


@dataclass(frozen=True)
class _Written:
    file: str
    result: zipwriter.ZipResult


def _write(staging: Path, stem: str, files: Sequence[entries.Entry]) -> _Written:
    content_hash = entries.entries_content_hash(files)
    file = f"{stem}-{_hash12(content_hash)}.zip"
    result = zipwriter.write_zip(staging / file, files)
    if result.content_hash != content_hash:  # pragma: no cover - guards archive's contract
        raise LambdaLayersError(f"internal error: content hash of {file} changed while writing")
    return _Written(file=file, result=result)


def build(
    project: ProjectInfo,
    config: Config,
    output_dir: Path,
    reporter: Reporter | None = None,
) -> BuildResult:
    """Build every artifact into `output_dir` (the `.../lambda` directory itself).

    All zips go to a staging directory first; only when every one is complete are they moved
    into place, and the manifest is written last, atomically. A failure at any point leaves an
    earlier build's artifacts and manifest untouched.
    """
    reporter = reporter or SilentReporter()
    output_dir = Path(output_dir)
    previous = manifest.read_previous(output_dir)
    prepared = prepare(project, config, reporter, previous=previous, output_dir=output_dir)
    limits = check_limits(prepared)

    output_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=output_dir))
    try:
        built = _write_all(prepared, staging, output_dir, previous, reporter)
        layers, functions = built
        for entry in layers:
            if limits.zipped_layer_max is not None and entry.size_zipped > limits.zipped_layer_max:
                raise LimitError(
                    f"layer {entry.name} is {entry.size_zipped:,} bytes zipped, over the "
                    f'{limits.zipped_layer_max:,}-byte direct-upload limit; set upload = "s3" '
                    f"in [tool.lambda-layers] or lower max-layers pressure with provided/exclude"
                )
        new_manifest = _manifest(prepared, layers, functions, limits, previous)
        # Everything is complete: move into place, then the manifest, last and atomically.
        for name in sorted(os.listdir(staging)):
            os.replace(staging / name, output_dir / name)
        manifest_path = output_dir / manifest.MANIFEST_NAME
        manifest.write_manifest(manifest_path, new_manifest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    keep = {x.file for x in new_manifest.layers} | {x.file for x in new_manifest.functions}
    if previous is not None:
        for old_file in [x.file for x in previous.layers] + [x.file for x in previous.functions]:
            if old_file not in keep:
                (output_dir / old_file).unlink(missing_ok=True)

    fresh_planfile: Path | None = None
    committed_path = project.root / PLANFILE_NAME
    if prepared.planfile_path != committed_path and config.mode != "fat":
        fresh_planfile = output_dir / PLANFILE_NAME
        manifest.write_text_atomic(
            fresh_planfile, planfile.dumps_planfile(planfile_for(prepared, new_manifest))
        )
        reporter.warning(
            f"no {PLANFILE_NAME} beside pyproject.toml: wrote a fresh plan to {fresh_planfile}; "
            f"copy it next to pyproject.toml and commit it so every build keeps these layers"
        )
    for layer in new_manifest.layers:
        state = "changed" if layer.changed else "unchanged"
        reporter.info(
            f"  {layer.file}  v{layer.version} {state}  {_fmt(layer.size_zipped)} zipped, "
            f"{len(layer.packages)} packages"
        )
    for fn in new_manifest.functions:
        reporter.info(f"  {fn.file}  function {fn.name}  {fn.size_zipped:,} bytes zipped")
    reporter.success(f"Wrote {output_dir / manifest.MANIFEST_NAME}")
    return BuildResult(
        manifest=new_manifest,
        output_dir=output_dir,
        manifest_path=output_dir / manifest.MANIFEST_NAME,
        fresh_planfile=fresh_planfile,
    )


def _write_all(
    prepared: Prepared,
    staging: Path,
    output_dir: Path,
    previous: manifest.Manifest | None,
    reporter: Reporter,
) -> tuple[list[manifest.LayerEntry], list[manifest.FunctionEntry]]:
    by_name: dict[str, entries.PackageFiles] = {p.name: p for p in prepared.packages}
    layers: list[manifest.LayerEntry] = []
    for layer in prepared.plan.layers:
        full_name = prepared.layer_names[layer.name]
        layer_entries = [e for pkg in layer.packages for e in by_name[pkg].entries]
        content_hash = entries.entries_content_hash(layer_entries)
        old = previous.layer(full_name) if previous else None
        version, changed = layer_version(
            content_hash,
            old,
            prepared.planfile.layer_record(layer.name) if prepared.planfile else None,
        )
        if old is not None and not changed and _intact(output_dir / old.file, old.sha256):
            # Same content, file still there and intact: keep it as it is, untouched on disk.
            reporter.info(f"Layer {full_name} unchanged (v{old.version})")
            layers.append(
                replace(old, changed=False, packages=_package_entries(prepared, by_name, layer))
            )
            continue
        reporter.waiting(f"Writing layer {full_name} ({len(layer.packages)} packages)")
        written = _write(staging, f"layer-{full_name}", layer_entries)
        layers.append(
            manifest.LayerEntry(
                name=full_name,
                file=written.file,
                version=version,
                sha256=written.result.sha256,
                code_sha256=written.result.code_sha256,
                content_hash=written.result.content_hash,
                size_zipped=written.result.size_zipped,
                size_unzipped=written.result.size_unzipped,
                changed=changed,
                packages=_package_entries(prepared, by_name, layer),
            )
        )
    functions: list[manifest.FunctionEntry] = []
    fat = prepared.config.mode == "fat"
    for fn in _functions(prepared.project, prepared.config):
        fn_entries: list[entries.Entry] = list(prepared.function_files[fn.name])
        if fat:
            fn_entries += [e for pkg in prepared.packages for e in pkg.entries]
        reporter.waiting(f"Writing function {fn.name}")
        written = _write(staging, f"function-{fn.name}", fn_entries)
        functions.append(
            manifest.FunctionEntry(
                name=fn.name,
                file=written.file,
                handler=fn.handler,
                sha256=written.result.sha256,
                code_sha256=written.result.code_sha256,
                size_zipped=written.result.size_zipped,
                size_unzipped=written.result.size_unzipped,
            )
        )
    return layers, functions


def layer_version(
    content_hash: str,
    previous: manifest.LayerEntry | None,
    record: tuple[int, str | None] | None,
) -> tuple[int, bool]:
    """(version, changed) of a layer: against the previous manifest in the output directory,
    else against the version lambda-layers.lock records (a clean CI checkout), else 1."""
    if previous is not None:
        if previous.content_hash == content_hash:
            return previous.version, False
        return previous.version + 1, True
    if record is not None:
        version, recorded_hash = record
        if recorded_hash == content_hash:
            return version, False
        return version + 1, True
    return 1, True


def _intact(path: Path, sha256: str) -> bool:
    try:
        return digests.file_sha256(path) == sha256
    except OSError:
        return False


def _package_entries(
    prepared: Prepared, by_name: Mapping[str, entries.PackageFiles], layer: partition.Layer
) -> tuple[manifest.PackageEntry, ...]:
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
    limits: manifest.Limits,
    previous: manifest.Manifest | None,
) -> manifest.Manifest:
    target = prepared.target
    fn_max = max((f.size_unzipped for f in functions), default=0)
    total = sum(x.size_unzipped for x in layers) + fn_max
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
        limits=manifest.Limits(
            layers_used=limits.layers_used,
            layers_max=limits.layers_max,
            unzipped_total=total,
            unzipped_max=limits.unzipped_max,
            zipped_layer_max=limits.zipped_layer_max,
            ok=total <= limits.unzipped_max,
        ),
        license_info=prepared.config.license_info,
        history=tuple(history.next_history(previous.history if previous else (), versions)),
    )


def planfile_for(
    prepared: Prepared,
    built: manifest.Manifest | None = None,
    previous: manifest.Manifest | None = None,
) -> planfile.PlanFile:
    """The lambda-layers.lock record of a plan, with each layer's version and content hash: from
    the built manifest when there is one, else computed from the layer's entries (plan --update)
    and versioned like a build would."""
    records: dict[str, tuple[int, str | None]] = {}
    if built is not None:
        reverse = {v: k for k, v in prepared.layer_names.items()}
        for entry in built.layers:
            records[reverse[entry.name]] = (entry.version, entry.content_hash)
    else:
        by_name: dict[str, entries.PackageFiles] = {p.name: p for p in prepared.packages}
        for layer in prepared.plan.layers:
            content_hash = entries.entries_content_hash(
                [e for n in layer.packages for e in by_name[n].entries]
            )
            old = previous.layer(prepared.layer_names[layer.name]) if previous else None
            record = prepared.planfile.layer_record(layer.name) if prepared.planfile else None
            version, _ = layer_version(content_hash, old, record)
            records[layer.name] = (version, content_hash)
    return planfile.from_plan(
        prepared.plan,
        prepared.rates,
        runtime=prepared.target.runtime,
        architecture=prepared.target.architecture,
        records=records,
    )


OUTPUT_DIR_ENV = "HATCH_LAMBDA_LAYERS_OUTPUT_DIR"


def output_directory(
    build_directory: str | os.PathLike[str], environ: Mapping[str, str] = os.environ
) -> Path:
    """`<build output directory>/lambda`, unless HATCH_LAMBDA_LAYERS_OUTPUT_DIR names the
    artifacts directory itself (relative paths against the current directory). `pip wheel`
    needs it: pip builds into a temporary directory and keeps only the wheel."""
    override = environ.get(OUTPUT_DIR_ENV, "").strip()
    if override:
        return Path(override).absolute()
    return Path(build_directory) / OUTPUT_SUBDIR
