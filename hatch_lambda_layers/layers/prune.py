"""Files Lambda never uses, left out of the layers by default (``default-excludes``), each rule
named and reported with the bytes it saves.

- **test suites**: directories named ``tests`` or ``test`` inside a package (``numpy/_core/
  tests``, ``pandas/tests``, ``scipy/**/tests``, ``pyarrow/tests``), and pytest's
  ``conftest.py`` files inside a package; real wheels ship them for ``pytest --pyargs`` and
  import them nowhere else;
- **docs and examples**: directories named ``docs``, ``doc``, ``examples`` or ``example``
  inside a package;
- **type stubs**: ``*.pyi`` (only type checkers read them; ``py.typed`` stays);
- **dist-info files** the runtime never reads: ``WHEEL``, ``dependency_links.txt``,
  ``zip-safe``, ``not-zip-safe``, ``metadata.json``, ``pbr.json``, ``DESCRIPTION.rst``
  (``METADATA``, licence files, ``entry_points.txt`` (plugins read it), ``top_level.txt``
  (``importlib.metadata.packages_distributions`` reads it) and everything else stay).

A directory is only dropped when nothing that stays refers to it: no remaining module (of any
package, or of the function) imports a module inside it, at initialisation or later, no
distribution's ``entry_points.txt`` names one (plugins are loaded by name), and, for
docs and examples, no module of the same top-level package names it in a string constant (code
that reads files from it, as ``boto3`` reads ``boto3/examples``). A directory kept that way
makes its own modules count as staying, until nothing changes. Only top-level packages'
subdirectories are candidates: a wheel's top-level ``tests`` package is left alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .entries import Entry, PackageFiles, entry_size
from .imports import (
    IMPORT_HINT,
    STRING_HINT,
    ModuleFile,
    ModuleScan,
    import_root_path,
    module_name,
    resolve,
)
from .scanstore import ENTRY_POINTS, ScanStore

RULE_TESTS = "test suites"
RULE_DOCS = "docs and examples"
RULE_STUBS = "type stubs"
RULE_DIST_INFO = "dist-info files"
RULES = (RULE_TESTS, RULE_DOCS, RULE_STUBS, RULE_DIST_INFO)

_DIRECTORY_RULES = {
    "tests": RULE_TESTS,
    "test": RULE_TESTS,
    "docs": RULE_DOCS,
    "doc": RULE_DOCS,
    "examples": RULE_DOCS,
    "example": RULE_DOCS,
}
UNREAD_DIST_INFO = frozenset(
    {
        "WHEEL",
        "dependency_links.txt",
        "zip-safe",
        "not-zip-safe",
        "metadata.json",
        "pbr.json",
        "DESCRIPTION.rst",
    }
)


@dataclass(frozen=True)
class RuleSaving:
    """What one rule left out: `files` files of `bytes` bytes from `packages`."""

    rule: str
    files: int
    bytes: int
    packages: tuple[str, ...]


@dataclass(frozen=True)
class KeptDirectory:
    """A candidate directory that stays because `by` (a path) refers to it."""

    directory: str
    rule: str
    by: str


@dataclass(frozen=True)
class PruneReport:
    savings: tuple[RuleSaving, ...]
    kept: tuple[KeptDirectory, ...]

    @property
    def bytes(self) -> int:
        return sum(s.bytes for s in self.savings)


EMPTY_REPORT = PruneReport((), ())


def file_rule(relpath: str) -> str | None:
    """The per-file rule that drops `relpath` (relative to the import root), if any."""
    parts = relpath.split("/")
    if parts[-1].endswith(".pyi"):
        return RULE_STUBS
    if parts[-1] == "conftest.py" and len(parts) > 1 and not parts[0].endswith(".data"):
        return RULE_TESTS
    if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] in UNREAD_DIST_INFO:  # noqa: PLR2004
        return RULE_DIST_INFO
    return None


def candidate_directory(relpath: str) -> tuple[str, str] | None:
    """``(directory, rule)`` for the outermost test/docs directory inside a top-level package
    that holds `relpath`, or None."""
    parts = relpath.split("/")
    if parts[0].endswith((".dist-info", ".data")):
        return None
    for depth in range(1, len(parts) - 1):
        rule = _DIRECTORY_RULES.get(parts[depth])
        if rule is not None:
            return "/".join(parts[: depth + 1]), rule
    return None


def references(
    candidates: Mapping[str, str],
    hints: Mapping[str, frozenset[str]],
    scans: Mapping[str, tuple[ModuleFile | None, ModuleScan]],
) -> dict[str, str]:
    """Candidate directory -> the first staying path (in sorted order) that refers to it.

    `hints` maps each staying source (path relative to the import root) to its reference hints,
    `scans` the parsed ones to their module (None when the path is not importable) and scan.
    An import that resolves into a directory refers to it; for docs and examples, so does a
    quoted path naming it in a source of the same top-level package.
    """
    found: dict[str, str] = {}
    by_module = {d.replace("/", "."): d for d in candidates}
    for relpath in sorted(scans):
        module, scan = scans[relpath]
        for raw in scan.imports:
            target = resolve(raw, module) if module is not None else raw.module or None
            for name in [target, *(f"{target}.{n}" for n in raw.names)] if target else []:
                parts = name.split(".")
                for depth in range(2, len(parts) + 1):
                    directory = by_module.get(".".join(parts[:depth]))
                    if directory is not None:
                        found.setdefault(directory, relpath)
    for relpath in sorted(hints):
        for directory, rule in candidates.items():
            if (
                rule == RULE_DOCS
                and directory not in found
                and STRING_HINT + directory.rsplit("/", 1)[-1] in hints[relpath]
                and relpath.split("/", 1)[0] == directory.split("/", 1)[0]
            ):
                found[directory] = relpath
    return found


@dataclass(frozen=True)
class _Located:
    """A package entry with its path relative to the import root."""

    entry: Entry
    relpath: str
    owner: str


def prune_packages(
    packages: Sequence[PackageFiles],
    function_files: Iterable[Entry],
    store: ScanStore,
    *,
    prefix: str,
) -> tuple[tuple[PackageFiles, ...], PruneReport]:
    """`packages` without what the rules drop (see the module docstring), and the report."""
    located = [
        _Located(e, rel, p.name)
        for p in packages
        for e in p.entries
        if (rel := import_root_path(e.path, prefix)) is not None
    ]
    candidates: dict[str, str] = {}
    for item in located:
        found = candidate_directory(item.relpath)
        if found is not None:
            candidates.setdefault(*found)
    kept = _kept_directories(located, list(function_files), candidates, store)
    dropped: dict[str, str] = {}  # entry path -> rule
    for item in located:
        rule = file_rule(item.relpath)
        found = candidate_directory(item.relpath)
        if found is not None and found[0] not in kept:
            rule = found[1]
        if rule is not None:
            dropped[item.entry.path] = rule
    pruned = tuple(
        p.with_entries([e for e in p.entries if e.path not in dropped])
        if any(e.path in dropped for e in p.entries)
        else p
        for p in packages
    )
    report = PruneReport(
        savings=_savings(located, dropped),
        kept=tuple(KeptDirectory(d, candidates[d], by) for d, by in sorted(kept.items())),
    )
    return pruned, report


def _kept_directories(
    located: Sequence[_Located],
    function_files: Sequence[Entry],
    candidates: Mapping[str, str],
    store: ScanStore,
) -> dict[str, str]:
    """Candidate directory -> the path that refers to it, for every one that must stay.

    Only sources whose text could import a candidate's name are parsed."""
    kept: dict[str, str] = {}
    staying = [
        i for i in located if candidate_directory(i.relpath) is None and not file_rule(i.relpath)
    ]
    staying += [_Located(e, e.path, "function") for e in function_files]
    while candidates.keys() - kept.keys():
        open_candidates = {d: r for d, r in candidates.items() if d not in kept}
        words = {IMPORT_HINT + d.rsplit("/", 1)[-1] for d in open_candidates}
        sources = [i for i in staying if i.relpath.endswith(".py")]
        hints = store.hints([i.entry for i in sources])
        parse = [i for i in sources if words & hints[i.entry.path]]
        parse += [i for i in staying if i.relpath.endswith(ENTRY_POINTS)]
        scans = store.scans([i.entry for i in parse])
        found = references(
            open_candidates,
            {i.relpath: hints[i.entry.path] for i in sources},
            {i.relpath: (_module_of(i.relpath), scans[i.entry.path]) for i in parse},
        )
        if not found:
            break
        kept.update(found)
        staying = [
            i
            for i in located
            if (c := candidate_directory(i.relpath)) is not None and c[0] in found
        ]
    return kept


def _module_of(relpath: str) -> ModuleFile | None:
    found = module_name(relpath)
    return ModuleFile(found[0], relpath, "", found[1]) if found else None


def _savings(located: Sequence[_Located], dropped: Mapping[str, str]) -> tuple[RuleSaving, ...]:
    totals: dict[str, tuple[int, int, set[str]]] = {}
    for item in located:
        rule = dropped.get(item.entry.path)
        if rule is None:
            continue
        files, size, owners = totals.get(rule, (0, 0, set()))
        totals[rule] = (files + 1, size + entry_size(item.entry), owners | {item.owner})
    return tuple(
        RuleSaving(rule, totals[rule][0], totals[rule][1], tuple(sorted(totals[rule][2])))
        for rule in RULES
        if rule in totals
    )
