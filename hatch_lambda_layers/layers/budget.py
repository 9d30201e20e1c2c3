"""Which modules get bytecode under ``compile = "auto"``, and the plan's lines about it (pure).

Every module with a source is a candidate, ranked by how likely the handlers are to import it:

0. the static import closure of a handler at initialisation (and the function's own modules);
1. modules a handler may import later (imports inside functions, names read out of
   extension modules);
2. the other modules of every package that holds a module of rank 0 or 1;
3. the rest.

Candidates are taken in rank order (then by path, so a cut falls inside as few packages as
possible) while their bytecode fits the budget: Lambda's unzipped limit, less the margin, less
everything else the build ships. A module that does not fit is passed over for smaller ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .imports import Closure, ModuleFile
from .prune import PruneReport

RANK_INIT = 0
RANK_LATER = 1
RANK_PACKAGE = 2
RANK_REST = 3
RANK_NAMES = ("imported at init", "imported later", "same package", "the rest")


@dataclass(frozen=True)
class Candidate:
    """A source that could ship bytecode: its entry path, its bytecode's size, its rank."""

    source: str
    pyc_size: int
    rank: int


def rank_modules(
    index: Mapping[str, ModuleFile], closures: Iterable[Closure], always: Iterable[str] = ()
) -> dict[str, int]:
    """Entry path -> rank of every module in `index` (best over all handlers); the modules of
    `always` (the function's own) rank 0."""
    init: set[str] = set(always)
    later: set[str] = set()
    for closure in closures:
        init.update(closure.init)
        later.update(closure.later)
    later -= init
    owners = {index[n].owner for n in init | later if n in index}
    ranks: dict[str, int] = {}
    for name, module in index.items():
        if name in init:
            rank = RANK_INIT
        elif name in later:
            rank = RANK_LATER
        elif module.owner in owners:
            rank = RANK_PACKAGE
        else:
            rank = RANK_REST
        ranks[module.path] = rank
    return ranks


def choose(candidates: Iterable[Candidate], budget: int) -> frozenset[str]:
    """The sources whose bytecode ships: in rank order (then path) while it fits `budget`."""
    left = budget
    chosen: set[str] = set()
    for candidate in sorted(candidates, key=lambda c: (c.rank, c.source)):
        if candidate.pyc_size <= left:
            chosen.add(candidate.source)
            left -= candidate.pyc_size
    return frozenset(chosen)


# --------------------------------------------------------------------------------------------
# Report


@dataclass(frozen=True)
class TraceCheck:
    """A handler module imported by the target's interpreter, against its static closure:
    modules it imported that the closure lacks (`missing`), modules of the closure it did not
    import (`extra`), and modules that were not available at build time (`stubbed`, e.g. what
    the runtime provides). `error` is set when the import itself failed."""

    traced: int
    missing: tuple[str, ...]
    extra: tuple[str, ...]
    stubbed: tuple[str, ...] = ()
    error: str | None = None
    missing_ranked_later: int = 0  # how many of `missing` the closure has as imported later


@dataclass(frozen=True)
class FunctionBytecode:
    """One function's import closure at initialisation: `modules` modules with `source_bytes`
    bytes of source, of which `compiled` ship `pyc_bytes` bytes of bytecode."""

    function: str
    handler: str | None
    modules: int
    source_bytes: int
    compiled: int
    pyc_bytes: int
    later: int
    check: TraceCheck | None = None


@dataclass(frozen=True)
class BytecodeReport:
    """What `compile` did: `mode` ("true" or "auto"), the interpreter, how many sources were
    candidates and how many ship bytecode (with its bytes), the budget (auto), and per rank
    and per function what that means."""

    mode: str
    python: str
    candidates: int
    chosen: int
    chosen_bytes: int
    all_bytes: int
    budget: int | None
    margin: int
    by_rank: tuple[tuple[int, int, int], ...]  # (candidates, chosen, chosen bytes) per rank
    functions: tuple[FunctionBytecode, ...]
    closure_note: str
    not_compiled: int = 0
    compiled_groups: int = 0
    cached_groups: int = 0


def _mb(n: float) -> str:
    return f"{n / 1_000_000:,.2f} MB"


def describe(report: BytecodeReport | None, pruned: PruneReport | None = None) -> list[str]:
    """The plan's lines about pruning and bytecode, per function."""
    lines: list[str] = []
    if pruned is not None and pruned.savings:
        parts = [
            f"{s.rule} {_mb(s.bytes)} ({s.files} file{'' if s.files == 1 else 's'})"
            for s in pruned.savings
        ]
        lines.append(f"pruned (default-excludes): {_mb(pruned.bytes)}: " + ", ".join(parts))
        lines += [f"  kept {k.directory}/ ({k.rule}): {k.by} refers to it" for k in pruned.kept]
    if report is None:
        return [
            *lines,
            'bytecode: none (compile = false); compile = "auto" ships it for what '
            "the handlers import, within the size limit",
        ]
    budget = (
        f", budget {_mb(report.budget)} (limit less margin {report.margin:,} bytes)"
        if report.budget is not None
        else ""
    )
    lines.append(
        f"bytecode (compile = {_setting(report.mode)}, {report.python}): {report.chosen:,} of "
        f"{report.candidates:,} modules, {_mb(report.chosen_bytes)} of {_mb(report.all_bytes)}"
        f"{budget}; {report.closure_note}"
    )
    if report.mode == "auto":
        ranks = [
            f"{RANK_NAMES[rank]} {chosen}/{total}"
            for rank, (total, chosen, _) in enumerate(report.by_rank)
            if total
        ]
        lines.append("  by likelihood: " + ", ".join(ranks))
    for fn in report.functions:
        lines += _function_lines(fn)
    if report.not_compiled:
        lines.append(f"  {report.not_compiled} sources the target cannot compile ship as source")
    return lines


def _setting(mode: str) -> str:
    return '"auto"' if mode == "auto" else mode


def _function_lines(fn: FunctionBytecode) -> list[str]:
    handler = fn.handler or "no handler: every module of the function as a root"
    lines = [
        f"  function {fn.function} ({handler}): imports {fn.modules:,} modules at init "
        f"({_mb(fn.source_bytes)} source), {fn.compiled:,} with bytecode "
        f"({_mb(fn.pyc_bytes)}); {fn.later:,} more later"
    ]
    check = fn.check
    if check is None:
        return lines
    if check.error is not None:
        return [*lines, f"    import trace failed ({check.error}): the static closure is used"]
    later = (
        f"; {check.missing_ranked_later} of them ranked as imported later"
        if check.missing_ranked_later
        else ""
    )
    lines.append(
        f"    import trace: {check.traced:,} modules at init; {len(check.missing)} missing from "
        f"the static closure{_some(check.missing)}{later}; {len(check.extra)} in it but not "
        f"imported{_some(check.extra)}"
    )
    if check.stubbed:
        lines.append(f"    not on the build machine (stubbed): {', '.join(check.stubbed)}")
    return lines


def _some(names: Sequence[str], shown: int = 5) -> str:
    if not names:
        return ""
    more = f", +{len(names) - shown}" if len(names) > shown else ""
    return f" ({', '.join(names[:shown])}{more})"
