"""Which modules a handler imports, read statically from the sources (pure, no I/O).

`scan_source` reads one module with `ast` and records every import it can run:

- ``import a.b`` and ``from a.b import c`` (with ``c`` a submodule when one exists), at any
  level of a ``try``/``if``/``with``/class body: they run when the module is initialised;
- relative imports (``from . import x``, ``from ..pkg import y``), resolved later against the
  importing module's package (`resolve`);
- ``importlib.import_module("name")`` / ``import_module("name", package)`` and
  ``__import__("name")`` with constant names;
- imports inside function bodies (and under ``if __name__ == "__main__":``) are recorded as
  *later*: likely at run time, but not while the module initialises;
- imports under ``if TYPE_CHECKING:`` never run and are left out.

`reference_hints` says, from the text alone, whether a source could name a directory called one
of `WATCHED_WORDS` in an import or in a string (``os.path.join(here, "examples")``), so that
pruning parses only the few sources that might refer to a directory it would drop.

`import_closure` follows the imports from the handler modules across a `ModuleIndex` (the
function's files and every layer): importing ``a.b.c`` initialises ``a``, ``a.b`` and ``a.b.c``,
so each package's ``__init__`` on the way is part of it. Modules the index does not hold (the
standard library, what the runtime provides) end the walk; extension modules are reached but
their own imports cannot be read.
"""

from __future__ import annotations

import ast
import configparser
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

# Directory names pruning may drop (see `prune`).
WATCHED_WORDS = frozenset({"tests", "test", "examples", "docs"})

_IMPORT_MODULE = frozenset({"import_module", "__import__"})


@dataclass(frozen=True)
class RawImport:
    """One import as written: `level` leading dots, the `module` after them, the names of a
    ``from`` import (empty for ``import x``), and whether it runs only later (in a function)."""

    level: int
    module: str
    names: tuple[str, ...]
    later: bool


@dataclass(frozen=True)
class ModuleScan:
    """What `scan_source` found in one source file (`parsed` is False when it is not Python
    this interpreter can parse; such a module has no known imports)."""

    imports: tuple[RawImport, ...]
    parsed: bool = True

    def to_json(self) -> list[object]:
        return [[[i.level, i.module, list(i.names), i.later] for i in self.imports], self.parsed]

    @classmethod
    def from_json(cls, data: object) -> ModuleScan:
        """Inverse of `to_json`; ValueError on anything else (the cache is untrusted input)."""
        match data:
            case [list(rows), bool(parsed)]:
                return cls(tuple(_raw_import(r) for r in rows), parsed)
        raise ValueError("not a module scan")


def _raw_import(row: object) -> RawImport:
    # Plain type checks rather than a match statement: records hold thousands of rows.
    if type(row) is list and len(row) == 4:  # noqa: PLR2004
        level, module, names, later = row
        if (
            type(level) is int
            and level >= 0
            and type(module) is str
            and type(names) is list
            and type(later) is bool
            and all(type(n) is str for n in names)
        ):
            return RawImport(level, module, tuple(names), later)
    raise ValueError("not an import row")


UNPARSED = ModuleScan((), parsed=False)


def scan_source(source: bytes) -> ModuleScan:
    """The imports of one module's source (see the module docstring).

    Import statements are found by walking statement lists only; expressions are visited (for
    ``import_module`` calls) only in sources whose text holds such a call.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes and the like in old code
            tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return UNPARSED
    imports: list[RawImport] = []
    _statements(tree.body, later=False, out=imports)
    if _CALL_HINT.search(source):
        calls = _Calls()
        calls.visit(tree)
        imports += calls.imports
    return ModuleScan(tuple(imports))


_CALL_HINT = re.compile(rb"import_module|__import__")
_NAME_CHAR = re.compile(rb"[\w-]")
_IMPORT_KEYWORD = re.compile(rb"(?<![\w.])import$")
_NOT_A_NAME_AFTER = re.compile(rb"\s*[=(]")
_QUOTE_OR_SEPARATOR = b"\"'/\\."
_CONTEXT = 40  # bytes looked at on each side of a word
IMPORT_HINT = "import:"
STRING_HINT = "string:"


def reference_hints(source: bytes) -> frozenset[str]:
    """``import:<word>`` / ``string:<word>`` for each watched word the text could use as a
    module name or in a quoted path (a superset of what the code does; never fewer).

    A module name: right after a dot (``pkg.tests``, ``from .tests``), or after ``import``, a
    comma or an opening parenthesis (``from pkg import a, tests``), and not followed by ``=`` or
    ``(`` (a keyword argument or a call). A quoted path: between quotes or path separators
    (``"tests/"``, ``'/docs/'``).
    """
    found: set[str] = set()
    for word in WATCHED_WORDS:
        if word.encode() in source:
            found.update(kind + word for kind in _hint_kinds(source, word))
    return frozenset(found)


def _occurrences(source: bytes, word: bytes) -> Iterator[tuple[bytes, bytes]]:
    """The text before and after each occurrence of `word` as a whole name (found with
    `bytes.find`, which is far faster than a regular expression over large sources)."""
    start = source.find(word)
    while start >= 0:
        end = start + len(word)
        before = source[max(0, start - _CONTEXT) : start]
        after = source[end : end + _CONTEXT]
        if not (_NAME_CHAR.match(before[-1:]) or _NAME_CHAR.match(after[:1])):
            yield before, after
        start = source.find(word, end)


def _hint_kinds(source: bytes, word: str) -> set[str]:
    kinds: set[str] = set()
    for before, after in _occurrences(source, word.encode()):
        if before[-1:] and before[-1:] in _QUOTE_OR_SEPARATOR and after[:1] in _QUOTE_OR_SEPARATOR:
            kinds.add(STRING_HINT)
        stripped = before.rstrip()
        if (
            before.endswith(b".")
            or stripped.endswith((b",", b"("))
            or _IMPORT_KEYWORD.search(stripped)
        ) and not _NOT_A_NAME_AFTER.match(after):
            kinds.add(IMPORT_HINT)
        if len(kinds) == 2:  # noqa: PLR2004
            break
    return kinds


_NESTED_BODIES = ("body", "orelse", "finalbody", "handlers", "cases")


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _is_main_guard(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
    )


def _statements(body: Iterable[ast.AST], *, later: bool, out: list[RawImport]) -> None:
    """Append the import statements of `body` and of every block nested in it."""
    for node in body:
        if isinstance(node, ast.Import):
            out.extend(RawImport(0, alias.name, (), later) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names = tuple(alias.name for alias in node.names)
            out.append(RawImport(node.level, node.module or "", names, later))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            _statements(node.body, later=True, out=out)
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):  # TYPE_CHECKING is never true at run time
                _statements(node.body, later=later or _is_main_guard(node.test), out=out)
            _statements(node.orelse, later=later, out=out)
        else:  # class bodies, try/except, with, for, while, match: same moment as their parent
            for field in _NESTED_BODIES:
                block = getattr(node, field, None)
                if isinstance(block, list):
                    _statements(block, later=later, out=out)


class _Calls(ast.NodeVisitor):
    """``import_module``/``__import__`` calls with constant names, with whether each runs only
    later (inside a function or a main guard)."""

    def __init__(self) -> None:
        self.imports: list[RawImport] = []
        self.later = 0  # depth of function bodies (and main guards) around the node

    def _later(self, nodes: Iterable[ast.AST]) -> None:
        self.later += 1
        for node in nodes:
            self.visit(node)
        self.later -= 1

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._later(node.body)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._later(node.body)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._later([node.body])

    def visit_If(self, node: ast.If) -> None:
        self.visit(node.test)
        if _is_main_guard(node.test):
            self._later(node.body)
        elif not _is_type_checking(node.test):
            for child in node.body:
                self.visit(child)
        for child in node.orelse:
            self.visit(child)

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name not in _IMPORT_MODULE or not node.args:
            return
        first = node.args[0]
        if not isinstance(first, ast.Constant) or not isinstance(first.value, str):
            return
        text = first.value
        level = len(text) - len(text.lstrip("."))
        module = text[level:]
        if level and name == "import_module":
            anchor = _package_argument(node)
            if anchor is not None:  # relative to a named package: make it absolute
                module, level = _absolute(anchor, level, module), 0
        if module or level:
            self.imports.append(RawImport(level, module, (), self.later > 0))


def _package_argument(call: ast.Call) -> str | None:
    """The constant `package` argument of an ``import_module`` call, if it has one."""
    candidates = [*call.args[1:2], *(k.value for k in call.keywords if k.arg == "package")]
    for value in candidates:
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return value.value
    return None


def _absolute(anchor: str, level: int, module: str) -> str:
    parts = anchor.split(".")
    base = parts[: len(parts) - (level - 1)] if level > 1 else parts
    return ".".join([*base, module] if module else base)


# --------------------------------------------------------------------------------------------
# Resolving imports against the modules on the import path


@dataclass(frozen=True)
class ModuleFile:
    """A module on Lambda's import path: its dotted `name`, the entry `path` that holds it (a
    ``.py`` source or an extension module), and who ships it (`owner`: a package name, or
    ``function <name>`` for the function's own files)."""

    name: str
    path: str
    owner: str
    is_package: bool

    @property
    def is_extension(self) -> bool:
        return self.path.endswith(".so")


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SITE_PACKAGES = re.compile(r"lib/python3\.\d+/site-packages/")


def module_name(relpath: str) -> tuple[str, bool] | None:
    """``(dotted name, is package)`` of a file relative to an import root, or None when it is
    not an importable module (not ``.py``/``.so``, or a component is not an identifier)."""
    parts = relpath.split("/")
    filename = parts[-1]
    if filename.endswith(".py"):
        stem = filename[: -len(".py")]
    elif filename.endswith(".so"):
        stem = filename.split(".", 1)[0]
    else:
        return None
    names = [*parts[:-1], stem]
    if not all(_IDENTIFIER.fullmatch(n) for n in names):
        return None
    if stem == "__init__":
        return (".".join(names[:-1]), True) if len(names) > 1 else None
    return ".".join(names), False


def import_root_path(path: str, prefix: str) -> str | None:
    """`path` (an entry of a layer or function zip) relative to the import root it sits under:
    ``python/`` or ``python/lib/pythonX.Y/site-packages/`` in a layer (`prefix` "python/"), the
    zip root in a function zip (`prefix` "")."""
    if not path.startswith(prefix):
        return None
    rest = path[len(prefix) :]
    if prefix and (match := _SITE_PACKAGES.match(rest)):
        return rest[match.end() :]
    return rest


def index_modules(groups: Iterable[tuple[str, Iterable[tuple[str, str]]]]) -> dict[str, ModuleFile]:
    """Dotted name -> `ModuleFile` for every module of `groups`, each ``(prefix, [(entry path,
    owner), ...])`` in import path order (the function's files, then the layers).

    As Python's path finder does, an earlier group wins a name, and within one group a package
    directory wins over a module file and an extension module over a ``.py`` source.
    """
    index: dict[str, ModuleFile] = {}
    for group, (prefix, files) in enumerate(groups):
        ranks: dict[str, tuple[int, int]] = {}
        for path, owner in files:
            rel = import_root_path(path, prefix)
            found = module_name(rel) if rel is not None else None
            if found is None:
                continue
            name, is_package = found
            rank = (group, 0 if is_package else 1 if path.endswith(".so") else 2)
            if name in index and ranks.get(name, (group - 1, 0)) <= rank:
                continue
            ranks[name] = rank
            index[name] = ModuleFile(name, path, owner, is_package)
    return index


def resolve(raw: RawImport, module: ModuleFile) -> str | None:
    """The absolute module `raw` names when imported from `module` (None: beyond the top)."""
    if raw.level == 0:
        return raw.module
    package = module.name.split(".") if module.is_package else module.name.split(".")[:-1]
    drop = raw.level - 1
    if drop >= len(package):
        return None
    base = package[: len(package) - drop]
    return ".".join([*base, raw.module] if raw.module else base)


def imported_modules(
    raw: RawImport, module: ModuleFile, index: Mapping[str, ModuleFile]
) -> list[str]:
    """The modules of `index` that running `raw` in `module` initialises: every package on the
    way to the named module, the module, and each ``from`` name that is a submodule."""
    target = resolve(raw, module)
    if target is None:
        return []
    parts = target.split(".")
    found = [n for n in (".".join(parts[: i + 1]) for i in range(len(parts))) if n in index]
    found += [f"{target}.{name}" for name in raw.names if f"{target}.{name}" in index]
    return found


@dataclass(frozen=True)
class Closure:
    """Modules reached from the roots: `init` maps each module imported while the roots
    initialise to its distance from them; `later` holds those only imported inside functions."""

    init: Mapping[str, int]
    later: frozenset[str]


Scanner = Callable[[list[ModuleFile]], Mapping[str, ModuleScan]]  # paths -> scans, in batches


def import_closure(roots: Iterable[str], index: Mapping[str, ModuleFile], scan: Scanner) -> Closure:
    """The static import closure of `roots` (dotted module names) over `index`.

    `scan` is asked for the scans of each new wave of modules with sources (keyed by path),
    so a caller can read and parse them in batches.
    """
    init: dict[str, int] = {}
    wave = [n for root in roots for n in _chain(root, index)]
    for name in wave:
        init.setdefault(name, 0)
    later_edges: set[str] = set()
    depth = 0
    while wave:
        depth += 1
        scans = _scans(wave, index, scan)
        nxt: list[str] = []
        for name in wave:
            for raw in scans.get(index[name].path, UNPARSED).imports:
                for reached in imported_modules(raw, index[name], index):
                    if raw.later:
                        later_edges.add(reached)
                    elif reached not in init:
                        init[reached] = depth
                        nxt.append(reached)
        wave = nxt
    later = _reach(sorted(later_edges - init.keys()), index, scan, set(init))
    return Closure(init=init, later=frozenset(later))


def _reach(
    start: list[str], index: Mapping[str, ModuleFile], scan: Scanner, seen: set[str]
) -> set[str]:
    """Every module reachable from `start` over all imports, leaving out `seen`."""
    found = set(start)
    wave = start
    while wave:
        scans = _scans(wave, index, scan)
        nxt: list[str] = []
        for name in wave:
            for raw in scans.get(index[name].path, UNPARSED).imports:
                for reached in imported_modules(raw, index[name], index):
                    if reached not in seen and reached not in found:
                        found.add(reached)
                        nxt.append(reached)
        wave = nxt
    return found


def _chain(name: str, index: Mapping[str, ModuleFile]) -> list[str]:
    parts = name.split(".")
    return [n for n in (".".join(parts[: i + 1]) for i in range(len(parts))) if n in index]


def _scans(
    names: list[str], index: Mapping[str, ModuleFile], scan: Scanner
) -> Mapping[str, ModuleScan]:
    files = [index[n] for n in names]
    return scan(files) if files else {}


def scan_entry_points(text: bytes) -> ModuleScan:
    """The modules a distribution's ``entry_points.txt`` names (``name = module:attr``), as
    imports that may run later: plugin loaders import them at run time."""
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    try:
        parser.read_string(text.decode("utf-8", errors="replace"))
    except configparser.Error:
        return UNPARSED
    modules = {
        value.split(":", 1)[0].strip()
        for section in parser.sections()
        for value in parser[section].values()
    }
    found = sorted(m for m in modules if m and all(_IDENTIFIER.fullmatch(p) for p in m.split(".")))
    return ModuleScan(tuple(RawImport(0, m, (), True) for m in found))


_DOTTED = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+")


def scan_extension(binary: bytes) -> ModuleScan:
    """Dotted module names among an extension module's strings, as imports that may run.

    An extension module's imports are compiled into it (Cython keeps each imported module's
    name as a string), so the names it holds are a good guess at what it imports; they count
    as *later* because they are a guess, not a reading of the code.
    """
    names = {m.decode("ascii") for m in _DOTTED.findall(binary)}
    return ModuleScan(tuple(RawImport(0, n, (), True) for n in sorted(names)))
