"""``compile = true`` and ``compile = "auto"``: bytecode for the target, from the cache when it
is there, beside its source in the same layer (the function's own files get theirs in the
function zip).

Every source is compiled once (`pyccache` keeps the result), which is the only way to know each
``.pyc``'s size; then ``true`` ships all of it and ``"auto"`` ships what `budget.choose` picks
from the handlers' static import closure (`imports`) within Lambda's unzipped limit less
``compile-margin``. With ``trace``, each handler module is also imported by the target's
interpreter (`trace`) and the closure checked against what it really loaded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..config import Config
from ..reporting import Reporter
from ..targets import UNZIPPED_MAX, Target
from . import budget, compile, interpreters, pyccache
from .entries import BytesEntry, Entry, PackageFiles, ZipSourceEntry, entry_size
from .imports import Closure, ModuleFile, ModuleScan, import_closure, index_modules
from .scanstore import ScanStore

FUNCTION_GROUP = "function"
Pyc = ZipSourceEntry | BytesEntry


@dataclass(frozen=True)
class BuildInputs:
    """What the bytecode step reads besides the packages: each function's files and handler
    (``module.function``; None when none is configured), the cache directory (None: no
    cache), and whether to check the closures against an import trace."""

    function_files: Mapping[str, Sequence[Entry]]
    handlers: Mapping[str, str | None]
    cache_dir: Path | None
    trace: bool = False
    provided: Sequence[str] = ()  # top-level modules the runtime provides (stubbed in a trace)


@dataclass(frozen=True)
class BytecodeResult:
    """The packages and function files with their bytecode, and what was done."""

    packages: tuple[PackageFiles, ...]
    function_files: Mapping[str, tuple[Entry, ...]]
    report: budget.BytecodeReport


@dataclass(frozen=True)
class _Group:
    """Sources compiled (and cached) together: a package's, or the functions' files."""

    label: str
    sources: tuple[Entry, ...]
    install_root: str


@dataclass(frozen=True)
class _Compiled:
    pycs: Mapping[str, Pyc]  # source path -> its .pyc entry
    failed: Mapping[str, str]  # source path -> why it did not compile
    compiled_groups: int
    cached_groups: int


@dataclass(frozen=True)
class _Analysis:
    index: Mapping[str, ModuleFile]  # every module of the packages and the functions
    closures: Mapping[str, Closure]  # per function
    ranks: Mapping[str, int]  # source path -> rank
    entries: Mapping[str, Entry]  # path -> entry, over the packages and the functions


def add_bytecode(
    packages: Sequence[PackageFiles],
    inputs: BuildInputs,
    config: Config,
    target: Target,
    reporter: Reporter,
    *,
    store: ScanStore,
) -> BytecodeResult:
    """`packages` and the function files with bytecode as ``config.compile`` asks."""
    python = interpreters.find_target_python(target)
    if python is None:
        raise interpreters.no_python_error(target)
    fat = config.mode == "fat"
    root = compile.FUNCTION_INSTALL_ROOT if fat else compile.LAYER_INSTALL_ROOT
    if config.mode == "efs":  # the archive is extracted at the mount path, no python/ prefix
        root = config.efs_mount_path
    groups = [_Group(p.name, _sources(p.entries), root) for p in packages]
    function_sources = {e.path: e for f in inputs.function_files.values() for e in f}
    groups.append(
        _Group(FUNCTION_GROUP, _sources(function_sources.values()), compile.FUNCTION_INSTALL_ROOT)
    )
    reporter.waiting(f"Compiling bytecode for {target.runtime} with {python}")
    compiled = _compile_groups(groups, target, python, inputs.cache_dir, reporter)
    analysis = _analyse(packages, inputs, store, prefix="" if fat else "python/")
    candidates = [
        budget.Candidate(path, entry_size(pyc), analysis.ranks.get(path, budget.RANK_REST))
        for path, pyc in compiled.pycs.items()
    ]
    limit: int | None = None
    if config.compile == "auto":
        limit = UNZIPPED_MAX - config.compile_margin - _base_total(packages, inputs)
        chosen = budget.choose(candidates, max(limit, 0))
    else:
        chosen = frozenset(compiled.pycs)
    pycs = {s: compiled.pycs[s] for s in chosen}
    result = BytecodeResult(
        packages=tuple(_package_with_pycs(p, pycs) for p in packages),
        function_files={n: tuple(_merged(f, pycs)) for n, f in inputs.function_files.items()},
        report=budget.BytecodeReport(
            mode="auto" if config.compile == "auto" else "true",
            python=f"CPython {target.python_version[0]}.{target.python_version[1]} at {python}",
            candidates=len(candidates),
            chosen=len(pycs),
            chosen_bytes=sum(entry_size(p) for p in pycs.values()),
            all_bytes=sum(c.pyc_size for c in candidates),
            budget=limit,
            margin=config.compile_margin,
            by_rank=_by_rank(candidates, chosen),
            functions=(),
            closure_note="static import closure",
            not_compiled=len(compiled.failed),
            compiled_groups=compiled.compiled_groups,
            cached_groups=compiled.cached_groups,
        ),
    )
    return _with_functions(result, pycs, inputs, analysis, python=python, target=target, fat=fat)


def _with_functions(
    result: BytecodeResult,
    pycs: Mapping[str, Pyc],
    inputs: BuildInputs,
    analysis: _Analysis,
    *,
    python: str,
    target: Target,
    fat: bool,
) -> BytecodeResult:
    """`result` with each function's closure in its report (`pycs`: source path -> the
    bytecode chosen for it), checked against an import trace when `inputs` ask for one."""
    checks: Mapping[str, budget.TraceCheck] = {}
    if inputs.trace:
        from .trace import check_imports

        checks = check_imports(
            result.packages,
            result.function_files,
            analysis.closures,
            inputs.handlers,
            python=python,
            target=target,
            provided=inputs.provided,
            fat=fat,
        )
    functions = tuple(
        _function_report(name, inputs, analysis, pycs, checks.get(name))
        for name in inputs.function_files
    )
    report = replace(
        result.report, functions=functions, closure_note=_closure_note(inputs.trace, checks, target)
    )
    return replace(result, report=report)


def _sources(entries: Iterable[Entry]) -> tuple[Entry, ...]:
    return tuple(sorted((e for e in entries if e.path.endswith(".py")), key=lambda e: e.path))


def _compile_groups(
    groups: Sequence[_Group],
    target: Target,
    python: str,
    cache_dir: Path | None,
    reporter: Reporter,
) -> _Compiled:
    """Every group's bytecode: from a verified cache record, else compiled (and recorded)."""
    magic = interpreters.interpreter_magic(python)
    pycs: dict[str, Pyc] = {}
    failed: dict[str, str] = {}
    fresh = cached = 0
    for group in groups:
        if not group.sources:
            continue
        found = _cached(group, target, magic, cache_dir, reporter)
        if found is None:
            found = _compile_group(group, target, python, magic, cache_dir)
            fresh += 1
        else:
            cached += 1
        pycs.update(found.pycs)
        failed.update(found.failed)
    for path, why in sorted(failed.items()):
        reporter.warning(f"{path}: {why}")
    return _Compiled(pycs, failed, fresh, cached)


def _cached(
    group: _Group, target: Target, magic: str, cache_dir: Path | None, reporter: Reporter
) -> pyccache.CachedBytecode | None:
    if cache_dir is None:
        return None
    key = pyccache.record_key(group.sources, target, magic, group.install_root)
    found = pyccache.load(cache_dir, key, group.sources, target, magic)
    if found is None:
        return None
    if not pyccache.verify(list(found.pycs.values()), magic):
        reporter.warning(f"cached bytecode of {group.label} did not verify; compiling it again")
        pyccache.discard(cache_dir, key)
        return None
    return found


def _compile_group(
    group: _Group, target: Target, python: str, magic: str, cache_dir: Path | None
) -> pyccache.CachedBytecode:
    label = group.label
    first = group.sources[0]
    if isinstance(first, ZipSourceEntry):
        label = first.wheel_path.name
    made = compile.compile_sources(
        group.sources, target, python=python, install_root=group.install_root, label=label
    )
    if cache_dir is None:
        by_path = {e.path: e for e in group.sources}
        return pyccache.CachedBytecode(
            pycs={s: compile.pyc_entry(by_path[s], d, target) for s, d in made.pycs.items()},
            failed=made.failed,
        )
    key = pyccache.record_key(group.sources, target, magic, group.install_root)
    return pyccache.store(cache_dir, key, group.sources, target, made)


def _analyse(
    packages: Sequence[PackageFiles], inputs: BuildInputs, store: ScanStore, *, prefix: str
) -> _Analysis:
    """The module index, each function's static import closure, and every source's rank."""
    package_files = [(e.path, p.name) for p in packages for e in p.entries]
    entries = {e.path: e for p in packages for e in p.entries}
    closures: dict[str, Closure] = {}
    everything: dict[str, ModuleFile] = {}
    own: set[str] = set()
    for name, files in inputs.function_files.items():
        entries.update({e.path: e for e in files})
        owner = f"{FUNCTION_GROUP} {name}"
        index = index_modules([("", [(e.path, owner) for e in files]), (prefix, package_files)])
        mine = [m.name for m in index.values() if m.owner == owner]
        own.update(mine)
        roots = _roots(inputs.handlers.get(name), mine)

        def scan(modules: list[ModuleFile]) -> Mapping[str, ModuleScan]:
            return store.scans([entries[m.path] for m in modules])

        closures[name] = import_closure(roots, index, scan)
        everything.update({k: v for k, v in index.items() if k not in everything})
    ranks = budget.rank_modules(everything, closures.values(), own)
    return _Analysis(everything, closures, ranks, entries)


def _roots(handler: str | None, own_modules: Sequence[str]) -> list[str]:
    """The handler's module, or every module of the function when no handler is known."""
    if handler and "." in handler:
        return [handler.rpartition(".")[0]]
    return sorted(own_modules)


def _base_total(packages: Sequence[PackageFiles], inputs: BuildInputs) -> int:
    """Unzipped bytes before any bytecode: every package plus the largest function."""
    functions = [sum(entry_size(e) for e in f) for f in inputs.function_files.values()]
    return sum(p.size_unzipped for p in packages) + max(functions, default=0)


def _merged(entries: Iterable[Entry], pycs: Mapping[str, Pyc]) -> list[Entry]:
    """`entries` plus the chosen bytecode of their sources (a ``.pyc`` made for a path replaces
    an entry already there)."""
    listed = list(entries)
    mine = [pycs[e.path] for e in listed if e.path in pycs]
    taken = {p.path for p in mine}
    return [e for e in listed if e.path not in taken] + mine


def _package_with_pycs(pkg: PackageFiles, pycs: Mapping[str, Pyc]) -> PackageFiles:
    if not any(e.path in pycs for e in pkg.entries):
        return pkg
    return pkg.with_entries(_merged(pkg.entries, pycs))


def _by_rank(
    candidates: Sequence[budget.Candidate], chosen: frozenset[str]
) -> tuple[tuple[int, int, int], ...]:
    """(candidates, chosen, chosen bytecode bytes) for each rank."""
    rows = []
    for rank in range(len(budget.RANK_NAMES)):
        mine = [c for c in candidates if c.rank == rank]
        picked = [c for c in mine if c.source in chosen]
        rows.append((len(mine), len(picked), sum(c.pyc_size for c in picked)))
    return tuple(rows)


def _function_report(
    name: str,
    inputs: BuildInputs,
    analysis: _Analysis,
    pycs: Mapping[str, Pyc],
    check: budget.TraceCheck | None,
) -> budget.FunctionBytecode:
    closure = analysis.closures[name]
    files = {e.path: e for e in inputs.function_files[name]}
    sources = []
    for module in closure.init:
        found = analysis.index.get(module)
        if found is not None and found.path.endswith(".py"):
            sources.append(found.path)
    sizes = {p: _source_size(p, files, analysis) for p in sources}
    compiled = [p for p in sources if p in pycs]
    return budget.FunctionBytecode(
        function=name,
        handler=inputs.handlers.get(name),
        modules=len(sources),
        source_bytes=sum(sizes.values()),
        compiled=len(compiled),
        pyc_bytes=sum(entry_size(pycs[p]) for p in compiled),
        later=len(closure.later),
        check=check,
    )


def _source_size(path: str, files: Mapping[str, Entry], analysis: _Analysis) -> int:
    entry = files.get(path) or analysis.entries.get(path)
    return entry_size(entry) if entry is not None else 0


def _closure_note(trace: bool, checks: Mapping[str, budget.TraceCheck], target: Target) -> str:
    """Which closure the plan shows: static, and whether an import trace checked it."""
    from .trace import can_trace

    if not trace:
        return "static import closure"
    if checks:
        return f"static import closure, checked against an import trace by {target.runtime}"
    if not can_trace(target):
        return (
            f"static import closure only: this machine cannot load {target.architecture} "
            "extension modules, so no import trace"
        )
    return "static import closure only: no function has a handler to trace"
