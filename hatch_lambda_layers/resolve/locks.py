"""Lock files (``uv.lock``, PEP 751 ``pylock.toml``) -> a `DependencyGraph` for one target.

Everything here is pure except `find_lock` and the file read at the top of `read_lock`: the
parsed TOML goes through `graph_from_uv_lock` / `graph_from_pylock`, which evaluate every marker
against the target's PEP 508 environment (never the running interpreter's).

``uv.lock`` records the full graph (dependencies, extras, forks), so its graph is exact.
A pylock file usually records no dependency edges (``uv export`` and ``pip lock`` write none).
Its graph then lists every selected package as a root with no edges, and its ``source`` carries
the suffix `NO_EDGES_SUFFIX`: `needs_metadata_edges` reports that, and the pipeline rebuilds the
edges with `edges_from_metadata` from each wheel's METADATA and the project's own requirements.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.metadata import parse_email
from packaging.pylock import (
    Package,
    PackageWheel,
    Pylock,
    PylockValidationError,
    is_valid_pylock_path,
)
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from ..errors import ConfigError, LockError
from .graph import DependencyGraph, PinnedPackage, WheelLink

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

if TYPE_CHECKING:
    from ..targets import Target

__all__ = [
    "NO_EDGES_SUFFIX",
    "UV_LOCK",
    "edges_from_metadata",
    "find_lock",
    "graph_from_pylock",
    "graph_from_uv_lock",
    "needs_metadata_edges",
    "read_lock",
    "with_project_roots",
]

UV_LOCK = "uv.lock"
PYLOCK = "pylock.toml"
# `DependencyGraph.source` of a pylock graph whose dependency edges are unknown ends with this.
NO_EDGES_SUFFIX = " (no dependency edges)"
LOCK_SETTING = "tool.lambda-layers.lock"
_SUPPORTED_UV_LOCK_VERSIONS = frozenset({1})
_UNKNOWN_VERSION = "unknown"  # directory/VCS packages may be locked without a version


# --------------------------------------------------------------------------- finding the lock


def _is_lock_name(name: str) -> bool:
    return name == UV_LOCK or is_valid_pylock_path(Path(name))


def find_lock(project_root: Path, lock_setting: str) -> Path | None:
    """The lock file to honour for `lock_setting` (`Config.lock`), or None to resolve instead.

    ``auto``: ``uv.lock`` if present, else ``pylock.toml``, else the only ``pylock.<name>.toml``
    (several of those are ambiguous: `LockError`), else None. ``none``: None. Anything else is a
    path relative to the project root that must exist and be named like a lock file.
    """
    if lock_setting == "none":
        return None
    if lock_setting == "auto":
        for name in (UV_LOCK, PYLOCK):
            candidate = project_root / name
            if candidate.is_file():
                return candidate
        named = sorted(
            p for p in project_root.glob("pylock.*.toml") if p.is_file() and is_valid_pylock_path(p)
        )
        if len(named) > 1:
            listed = ", ".join(p.name for p in named)
            raise LockError(
                f"found several lock files in {project_root} ({listed}); set {LOCK_SETTING} "
                f'to the one to build from, e.g. lock = "{named[0].name}"'
            )
        return named[0] if named else None
    path = Path(lock_setting)
    if not _is_lock_name(path.name):
        raise ConfigError(
            f'{LOCK_SETTING} must be "auto", "none" or the path of a uv.lock, pylock.toml or '
            f"pylock.<name>.toml file, got {lock_setting!r}"
        )
    full = path if path.is_absolute() else project_root / path
    if not full.is_file():
        raise ConfigError(
            f"{LOCK_SETTING} = {lock_setting!r}: no such file in {project_root}; create it "
            f'(`uv lock` / `uv export --format pylock.toml`) or set {LOCK_SETTING} = "auto"'
        )
    return full


# --------------------------------------------------------------------------- reading the lock


def read_lock(
    path: Path, target: Target, *, project_name: str, extras: Sequence[str] = ()
) -> DependencyGraph:
    """Read `path` (``uv.lock`` or ``pylock*.toml``) into the graph that applies on `target`.

    The project itself is not a package of the graph; `roots` are its direct dependencies
    (all selected packages when a pylock file records no edges, see `needs_metadata_edges`).
    """
    name = path.name
    if not _is_lock_name(name):
        raise LockError(
            f"{path}: not a lock file name hatch-lambda-layers reads (uv.lock, pylock.toml, "
            f"pylock.<name>.toml); set {LOCK_SETTING} to one of those"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LockError(f"{path}: cannot read the lock file: {exc}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LockError(f"{name}: not valid TOML ({exc}); regenerate the lock file") from exc
    if name == UV_LOCK:
        return graph_from_uv_lock(
            data, target, project_name=project_name, extras=extras, base_dir=path.parent
        )
    return graph_from_pylock(
        data,
        target,
        project_name=project_name,
        extras=extras,
        base_dir=path.parent,
        file_name=name,
    )


# --------------------------------------------------------------------------- shared helpers


def _file_url(base_dir: Path, path: str) -> str:
    """A `file:` URL for a path a lock file records relative to its own directory."""
    local = Path(path)
    if not local.is_absolute():
        local = base_dir / local
    return local.resolve().as_uri()


def _url_filename(url: str) -> str:
    return unquote(urlparse(url).path.rsplit("/", 1)[-1])


def _is_remote(url: str) -> bool:
    return urlparse(url).scheme not in ("", "file")


def _python_covered(spec: str, target: Target) -> bool:
    return SpecifierSet(spec).contains(target.python_full_version, prereleases=True)


# `extra == "x"` / `extra != "x"` in packaging's normalised marker text, either way round.
_EXTRA_LEFT = re.compile(r'(?<![\w"])extra (==|!=) "([^"]*)"')
_EXTRA_RIGHT = re.compile(r'"([^"]*)" (==|!=) extra(?![\w"])')


@functools.lru_cache(maxsize=4096)
def _with_extras_set(text: str) -> Marker:
    """`text` with every ``extra ==`` / ``extra !=`` turned into ``in extras`` / ``not in extras``.

    Lock markers test ``extra`` against a *set* of active extras: uv writes conflict markers such
    as ``extra == 'extra-5-proj-new' or extra != 'extra-5-proj-old'``, which mean membership.
    packaging evaluates ``extra`` as a single string only, and evaluating once per extra gets
    ``!=`` wrong, so the comparisons are rewritten into PEP 751's set-valued ``extras`` form
    (evaluated by packaging) on packaging's own normalised rendering of the marker.
    """
    rendered = str(Marker(text))
    rendered = _EXTRA_LEFT.sub(
        lambda m: f'"{m[2]}" {"in" if m[1] == "==" else "not in"} extras', rendered
    )
    rendered = _EXTRA_RIGHT.sub(
        lambda m: f'"{m[1]}" {"in" if m[2] == "==" else "not in"} extras', rendered
    )
    return Marker(rendered)


@dataclass(frozen=True)
class _MarkerEnv:
    """The target's marker environment plus a set of active extras.

    uv.lock markers see the extra whose dependency list holds them and uv's encoded names for the
    project's active extras (``extra-<len(project)>-<project>-<extra>``); METADATA markers see
    the extras a requirement asked for.
    """

    environment: Mapping[str, str]
    extras: frozenset[str] = frozenset()

    def evaluate(self, marker: Marker, *, extras: Iterable[str] = ()) -> bool:
        active = self.extras | {canonicalize_name(e) for e in extras}
        env: dict[str, str | frozenset[str]] = {
            **self.environment,
            "extra": "",
            "extras": frozenset(active),
            "dependency_groups": frozenset(),
        }
        return _with_extras_set(str(marker)).evaluate(env, context="lock_file")


def _parse_marker(text: str, where: str) -> Marker:
    try:
        return Marker(text)
    except InvalidMarker as exc:
        raise LockError(f"{where} has an invalid marker {text!r}: {exc}") from exc


def _holds(env: _MarkerEnv, text: str | None, where: str, *, extras: Iterable[str] = ()) -> bool:
    if not text:
        return True
    marker = _parse_marker(text, where)
    try:
        return env.evaluate(marker, extras=extras)
    except (UndefinedComparison, UndefinedEnvironmentName) as exc:
        raise LockError(f"{where}: cannot evaluate marker {text!r}: {exc}") from exc


def _sha256_of(
    hashes: Mapping[str, str], *, file: str, package: str, filename: str, remote: bool, lock: str
) -> str | None:
    digest = hashes.get("sha256")
    if digest:
        return digest.lower()
    if not remote:
        # Files on the local disk (find-links directories, path sources): uv records no hash
        # for them, and a re-lock would not add one; the fetcher hashes what it reads.
        return None
    raise LockError(
        f"{file}: package {package} wheel {filename} has no sha256 hash; re-lock with hashes "
        f"({lock})"
    )


# --------------------------------------------------------------------------- uv.lock


_UvEntry = Mapping[str, Any]
_NodeKey = int  # index of a [[package]] entry in the lock


def _uv_error(problem: str) -> LockError:
    return LockError(f"{UV_LOCK}: {problem}")


def _uv_table(entry: _UvEntry, key: str, where: str) -> Mapping[str, Any]:
    value = entry.get(key, {})
    if not isinstance(value, Mapping):
        raise _uv_error(f"{where}: {key} must be a table, got {value!r}; run `uv lock`")
    return value


def _uv_list(entry: Mapping[str, Any], key: str, where: str) -> list[Mapping[str, Any]]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise _uv_error(f"{where}: {key} must be an array of tables; run `uv lock`")
    return value


def _uv_describe(entry: _UvEntry) -> str:
    version = entry.get("version")
    return f"package {entry.get('name')}" + (f" {version}" if version else "")


def _same_version(a: object, b: object) -> bool:
    if not isinstance(a, str) or not isinstance(b, str):
        return a == b
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


@dataclass(frozen=True)
class _UvLock:
    entries: tuple[_UvEntry, ...]
    by_name: Mapping[str, tuple[_NodeKey, ...]]
    env: _MarkerEnv
    project: NormalizedName

    def pick(self, name: str, dependency: Mapping[str, Any], where: str) -> _NodeKey:
        """The [[package]] entry a dependency refers to on this target."""
        canonical = canonicalize_name(name)
        candidates = list(self.by_name.get(canonical, ()))
        if "version" in dependency:
            candidates = [
                k
                for k in candidates
                if _same_version(self.entries[k].get("version"), dependency["version"])
            ]
        if "source" in dependency:
            candidates = [
                k for k in candidates if self.entries[k].get("source") == dependency["source"]
            ]
        if len(candidates) > 1:
            candidates = [k for k in candidates if self._fork_applies(self.entries[k])]
        if len(candidates) == 1:
            return candidates[0]
        wanted = name + (f" {dependency['version']}" if "version" in dependency else "")
        if not candidates:
            raise _uv_error(
                f"{where} depends on {wanted}, which the lock does not contain; run `uv lock`"
            )
        versions = ", ".join(str(self.entries[k].get("version")) for k in candidates)
        raise _uv_error(
            f"{where} depends on {wanted}, and several locked versions apply on this target "
            f"({versions}); run `uv lock`"
        )

    def _fork_applies(self, entry: _UvEntry) -> bool:
        markers = entry.get("resolution-markers")
        if not markers:
            return True
        where = f"{UV_LOCK}: {_uv_describe(entry)} resolution-markers"
        return any(_holds(self.env, m, where) for m in markers)


def graph_from_uv_lock(
    data: Mapping[str, Any],
    target: Target,
    *,
    project_name: str,
    extras: Sequence[str] = (),
    base_dir: Path = Path(),
) -> DependencyGraph:
    """The parsed ``uv.lock`` as the graph reachable from the project on `target`.

    Only default dependencies are followed (plus the project's `extras`); dependency groups
    (``dev-dependencies``) are ignored. Paths in the lock are relative to `base_dir`.
    """
    version = data.get("version")
    if version not in _SUPPORTED_UV_LOCK_VERSIONS:
        raise _uv_error(
            f"lock version {version!r} is not supported (hatch-lambda-layers reads version 1); "
            f"re-lock with a uv release that writes version 1 or upgrade hatch-lambda-layers"
        )
    requires_python = data.get("requires-python")
    if isinstance(requires_python, str) and requires_python:
        try:
            covered = _python_covered(requires_python, target)
        except InvalidSpecifier as exc:
            raise _uv_error(f"invalid requires-python {requires_python!r}: {exc}") from exc
        if not covered:
            raise _uv_error(
                f"requires-python {requires_python!r} does not cover {target.describe()} "
                f"(Python {target.python_full_version}); the lock does not cover the runtime: "
                f"widen requires-python in pyproject.toml and run `uv lock`"
            )
    project = canonicalize_name(project_name)
    encoded_extras = tuple(f"extra-{len(project)}-{project}-{canonicalize_name(e)}" for e in extras)
    env = _MarkerEnv(target.marker_environment, frozenset(encoded_extras))
    supported = data.get("supported-markers")
    if (
        isinstance(supported, list)
        and supported
        and not any(_holds(env, m, f"{UV_LOCK}: supported-markers") for m in supported)
    ):
        raise _uv_error(
            f"its supported-markers ({'; '.join(map(str, supported))}) exclude "
            f"{target.describe()}; the lock does not cover the runtime: add it to "
            f"tool.uv.environments and run `uv lock`"
        )

    entries = tuple(_uv_list(data, "package", "the lock"))
    by_name: dict[str, list[int]] = {}
    for index, entry in enumerate(entries):
        name = entry.get("name")
        if not isinstance(name, str):
            raise _uv_error(f"[[package]] number {index + 1} has no name; run `uv lock`")
        by_name.setdefault(canonicalize_name(name), []).append(index)
    lock = _UvLock(
        entries=entries,
        by_name={k: tuple(v) for k, v in by_name.items()},
        env=env,
        project=project,
    )
    if project not in lock.by_name:
        raise LockError(f"{UV_LOCK} has no package named {project_name}; run `uv lock`")
    root = lock.pick(project_name, {}, f"the project {project_name}")
    _check_extras(entries[root], extras, project_name)

    # Walk from the project; a node is re-expanded whenever it is reached with new extras.
    active: dict[_NodeKey, set[str]] = {root: {canonicalize_name(e) for e in extras}}
    done: dict[_NodeKey, set[str | None]] = {}
    edges: dict[_NodeKey, set[_NodeKey]] = {}
    pending = [root]
    while pending:
        key = pending.pop()
        entry = entries[key]
        where = _uv_describe(entry)
        sections: list[tuple[str | None, list[Mapping[str, Any]]]] = [
            (None, _uv_list(entry, "dependencies", where))
        ]
        optional = _uv_table(entry, "optional-dependencies", where)
        for wanted_extra in sorted(active[key]):
            sections.append((wanted_extra, _optional_deps(optional, wanted_extra, where)))
        seen = done.setdefault(key, set())
        for extra, section in sections:
            if extra in seen:
                continue
            seen.add(extra)
            for dep in section:
                dep_name = dep.get("name")
                if not isinstance(dep_name, str):
                    raise _uv_error(f"{where} has a dependency without a name; run `uv lock`")
                marker_where = f"{UV_LOCK}: {where} (dependency {dep_name})"
                if not _holds(
                    env, dep.get("marker"), marker_where, extras=[extra] if extra else ()
                ):
                    continue
                dep_key = lock.pick(dep_name, dep, where)
                edges.setdefault(key, set()).add(dep_key)
                wanted = {canonicalize_name(e) for e in dep.get("extra", ())}
                known = active.setdefault(dep_key, set())
                if dep_key not in done or not wanted <= known:
                    known |= wanted
                    pending.append(dep_key)

    reached = {k for k in active if k != root} | {
        d for ds in edges.values() for d in ds if d != root
    }
    by_package: dict[NormalizedName, _NodeKey] = {}
    for key in sorted(reached):
        name = canonicalize_name(entries[key]["name"])
        other = by_package.setdefault(name, key)
        if other != key:
            raise _uv_error(
                f"two versions of {name} ({entries[other].get('version')} and "
                f"{entries[key].get('version')}) apply on {target.describe()}; run `uv lock`"
            )
    packages = []
    for name, key in sorted(by_package.items()):
        dep_names = {canonicalize_name(entries[d]["name"]) for d in edges.get(key, ()) if d != root}
        packages.append(_uv_package(entries[key], name, dep_names, base_dir))
    roots = sorted(
        {canonicalize_name(entries[d]["name"]) for d in edges.get(root, ()) if d != root}
    )
    return DependencyGraph(roots=tuple(roots), packages=tuple(packages), source=UV_LOCK)


def _optional_deps(optional: Mapping[str, Any], extra: str, where: str) -> list[Mapping[str, Any]]:
    for key in optional:
        if canonicalize_name(key) == extra:
            return _uv_list(optional, key, f"{where} extra {key}")
    return []


def _check_extras(project: _UvEntry, extras: Sequence[str], project_name: str) -> None:
    if not extras:
        return
    known = {
        canonicalize_name(k) for k in _uv_table(project, "optional-dependencies", project_name)
    }
    metadata = _uv_table(project, "metadata", project_name)
    provided = metadata.get("provides-extras", [])
    if isinstance(provided, list):
        known |= {canonicalize_name(str(e)) for e in provided}
    unknown = [e for e in extras if canonicalize_name(e) not in known]
    if unknown:
        have = ", ".join(sorted(known)) or "none"
        raise _uv_error(
            f"the project {project_name} has no extra {', '.join(map(repr, unknown))} in the lock "
            f"(locked extras: {have}); add it to [project.optional-dependencies] and run `uv lock`"
        )


def _uv_package(
    entry: _UvEntry, name: NormalizedName, deps: Iterable[NormalizedName], base_dir: Path
) -> PinnedPackage:
    version = str(entry.get("version") or _UNKNOWN_VERSION)
    where = f"package {name} {version}"
    source = _uv_table(entry, "source", where)
    registry = source.get("registry")
    wheels: list[WheelLink] = []
    for wheel in _uv_list(entry, "wheels", where):
        url: str | None = wheel.get("url")
        if url is None and isinstance(wheel.get("path"), str):
            # A find-links directory: the wheel path is relative to the registry directory.
            folder = "."
            if isinstance(registry, str) and not _is_remote(registry):
                folder = (
                    unquote(urlparse(registry).path) if registry.startswith("file:") else registry
                )
            url = _file_url(base_dir, str(Path(folder) / wheel["path"]))
        if url is None and isinstance(source.get("path"), str):
            url = _file_url(base_dir, source["path"])  # a `path` source that is a wheel file
        if url is None and isinstance(source.get("url"), str):
            url = source["url"]
        if url is None:
            raise _uv_error(f"{where} has a wheel with no url or path; run `uv lock`")
        filename = wheel.get("filename") or _url_filename(url)
        hash_text = wheel.get("hash")
        hashes: dict[str, str] = {}
        if isinstance(hash_text, str) and ":" in hash_text:
            algorithm, _, digest = hash_text.partition(":")
            hashes[algorithm.lower()] = digest
        sha256 = _sha256_of(
            hashes,
            file=UV_LOCK,
            package=f"{name} {version}",
            filename=filename,
            remote=_is_remote(url),
            lock="`uv lock --refresh` against an index that publishes sha256 hashes",
        )
        size = wheel.get("size")
        wheels.append(
            WheelLink(
                filename=filename,
                url=url,
                sha256=sha256,
                size=size if isinstance(size, int) and not isinstance(size, bool) else None,
            )
        )
    return PinnedPackage(
        name=name,
        version=version,
        wheels=tuple(wheels),
        dependencies=tuple(sorted(set(deps))),
        has_sdist="sdist" in entry,
    )


# --------------------------------------------------------------------------- pylock.toml


def graph_from_pylock(
    data: Mapping[str, Any],
    target: Target,
    *,
    project_name: str,
    extras: Sequence[str] = (),
    base_dir: Path = Path(),
    file_name: str = PYLOCK,
) -> DependencyGraph:
    """The packages of a parsed PEP 751 lock selected for `target`.

    Selection follows the spec's installer steps (requires-python, environments, package
    markers with `extras` and the lock's default groups, one entry per name). It is written out
    here rather than calling `Pylock.select`, which keeps only the one wheel it would install on
    the running host; the pipeline needs every wheel to rank them for the Lambda target.
    """
    try:
        lock = Pylock.from_dict(data)
    except PylockValidationError as exc:
        raise LockError(f"{file_name}: {exc}; regenerate the lock file") from exc
    if lock.requires_python is not None and not lock.requires_python.contains(
        target.python_full_version, prereleases=True
    ):
        raise LockError(
            f"{file_name}: requires-python {str(lock.requires_python)!r} does not cover "
            f"{target.describe()} (Python {target.python_full_version}); the lock does not cover "
            f"the runtime: re-create it for that Python"
        )
    environment: dict[str, str] = dict(target.marker_environment)
    if lock.environments and not any(
        m.evaluate(dict(environment), context="requirement") for m in lock.environments
    ):
        shown = "; ".join(str(m) for m in lock.environments)
        raise LockError(
            f"{file_name}: its environments ({shown}) exclude {target.describe()}; the lock does "
            f"not cover the runtime: re-create it for that platform"
        )
    wanted_extras = frozenset(canonicalize_name(e) for e in extras)
    if lock.extras is not None:
        missing = sorted(wanted_extras - set(lock.extras))
        if missing:
            raise LockError(
                f"{file_name}: was not locked with extra {', '.join(map(repr, missing))} "
                f"(locked extras: {', '.join(lock.extras) or 'none'}); re-create it with them"
            )
    lock_env: dict[str, str | frozenset[str]] = {
        **environment,
        "extras": wanted_extras,
        "dependency_groups": frozenset(lock.default_groups or ()),
    }
    project = canonicalize_name(project_name)
    selected: dict[NormalizedName, Package] = {}
    for index, package in enumerate(lock.packages):
        if package.marker is not None and not package.marker.evaluate(
            lock_env, context="lock_file"
        ):
            continue
        where = f"{file_name}: packages[{index}] ({package.name})"
        if package.requires_python is not None and not package.requires_python.contains(
            target.python_full_version, prereleases=True
        ):
            raise LockError(
                f"{where} requires Python {package.requires_python}, which excludes "
                f"{target.describe()}; the lock does not cover the runtime"
            )
        if package.name in selected:
            raise LockError(
                f"{where}: several entries for {package.name} apply on {target.describe()}; "
                f"regenerate the lock file"
            )
        selected[package.name] = package

    own = selected.pop(project, None)
    has_edges = any(p.dependencies is not None for p in selected.values()) or (
        own is not None and own.dependencies is not None
    )
    packages: list[PinnedPackage] = []
    for _, package in sorted(selected.items(), key=lambda item: item[0]):
        deps = _pylock_edges(package, selected, project) if has_edges else ()
        packages.append(_pylock_package(package, deps, base_dir, file_name))
    if not has_edges:
        return DependencyGraph(
            roots=tuple(sorted(selected)),
            packages=tuple(packages),
            source=file_name + NO_EDGES_SUFFIX,
        )
    if own is not None and own.dependencies is not None:
        roots = _pylock_edges(own, selected, project)
        return _pruned(DependencyGraph(roots=roots, packages=tuple(packages), source=file_name))
    # No entry for the project itself: the packages nothing else needs are its roots. A
    # dependency it shares with another package is then not a root; the pipeline can make
    # the roots exact with `with_project_roots` when it knows the project's requirements.
    needed = {d for p in packages for d in p.dependencies}
    roots = tuple(p.name for p in packages if p.name not in needed)
    return DependencyGraph(roots=roots, packages=tuple(packages), source=file_name)


def _pylock_edges(
    package: Package, selected: Mapping[NormalizedName, Package], project: NormalizedName
) -> tuple[NormalizedName, ...]:
    deps: set[NormalizedName] = set()
    for dep in package.dependencies or ():
        name = dep.get("name")
        if not isinstance(name, str):
            continue
        canonical = canonicalize_name(name)
        chosen = selected.get(canonical)
        if chosen is None or canonical == project:
            continue  # an entry for another environment
        version = dep.get("version")
        if (
            version is not None
            and chosen.version is not None
            and not _same_version(str(chosen.version), version)
        ):
            continue  # refers to another fork's entry
        deps.add(canonical)
    return tuple(sorted(deps))


def _pylock_wheel(
    wheel: PackageWheel, package: Package, base_dir: Path, file_name: str
) -> WheelLink:
    filename = wheel.filename
    url = wheel.url if wheel.url else _file_url(base_dir, wheel.path or filename)
    sha256 = _sha256_of(
        wheel.hashes,
        file=file_name,
        package=f"{package.name} {package.version or _UNKNOWN_VERSION}",
        filename=filename,
        remote=_is_remote(url),
        lock="re-create the lock file with sha256 hashes",
    )
    return WheelLink(filename=filename, url=url, sha256=sha256, size=wheel.size)


def _pylock_package(
    package: Package, deps: Sequence[NormalizedName], base_dir: Path, file_name: str
) -> PinnedPackage:
    wheels = [_pylock_wheel(w, package, base_dir, file_name) for w in package.wheels or ()]
    has_sdist = package.sdist is not None
    archive = package.archive
    if archive is not None:
        location = archive.url or archive.path or ""
        filename = _url_filename(location) if archive.url else Path(location).name
        if filename.endswith(".whl") and not archive.subdirectory:
            as_wheel = PackageWheel(
                name=filename,
                url=archive.url,
                path=archive.path,
                size=archive.size,
                hashes=archive.hashes,
            )
            wheels.append(_pylock_wheel(as_wheel, package, base_dir, file_name))
        else:
            has_sdist = True
    return PinnedPackage(
        name=package.name,
        version=str(package.version) if package.version is not None else _UNKNOWN_VERSION,
        wheels=tuple(wheels),
        dependencies=tuple(deps),
        has_sdist=has_sdist,
    )


# --------------------------------------------------------------------------- edges from METADATA


def needs_metadata_edges(graph: DependencyGraph) -> bool:
    """True when the graph's dependency edges are unknown (a pylock file that records none).

    Such a graph lists every selected package as a root; call `edges_from_metadata` with each
    package's METADATA to get the real edges and roots.
    """
    return graph.source.endswith(NO_EDGES_SUFFIX)


def _requirements(texts: Iterable[str], where: str) -> list[Requirement]:
    parsed = []
    for text in texts:
        try:
            parsed.append(Requirement(text))
        except InvalidRequirement as exc:
            raise LockError(f"{where}: invalid requirement {text!r}: {exc}") from exc
    return parsed


def _applies(requirement: Requirement, env: _MarkerEnv, extras: Iterable[str], where: str) -> bool:
    if requirement.marker is None:
        return True
    try:
        return env.evaluate(requirement.marker, extras=extras)
    except (UndefinedComparison, UndefinedEnvironmentName) as exc:
        raise LockError(f"{where}: cannot evaluate marker of {requirement}: {exc}") from exc


def _project_roots(
    graph: DependencyGraph,
    target: Target,
    project_requirements: Sequence[str],
    extras: Sequence[str],
    project_name: str | None,
) -> dict[NormalizedName, set[str]]:
    """The project's requirements that apply on `target`: name -> the extras each asks for.

    A requirement on the project itself (``app[all]`` asking for ``app[socks]``) widens the
    project's active extras instead of naming a package.
    """
    lock_name = graph.source.removesuffix(NO_EDGES_SUFFIX)
    where = "the project's dependencies"
    requirements = _requirements(project_requirements, where)
    env = _MarkerEnv(target.marker_environment)
    project = canonicalize_name(project_name) if project_name else None
    active = {canonicalize_name(e) for e in extras}
    while True:
        roots: dict[NormalizedName, set[str]] = {}
        widened = set(active)
        for requirement in requirements:
            if not _applies(requirement, env, active, where):
                continue
            name = canonicalize_name(requirement.name)
            wanted = {canonicalize_name(e) for e in requirement.extras}
            if name == project:
                widened |= wanted
                continue
            if name not in graph:
                raise LockError(
                    f"{lock_name}: does not pin {requirement.name}, which the project requires "
                    f"on {target.describe()}; re-create the lock file"
                )
            roots.setdefault(name, set()).update(wanted)
        if widened == active:
            return roots
        active = widened


def with_project_roots(
    graph: DependencyGraph,
    target: Target,
    project_requirements: Sequence[str],
    *,
    extras: Sequence[str] = (),
    project_name: str | None = None,
) -> DependencyGraph:
    """`graph` with its roots set to the project's requirements that apply on `target`.

    Packages the project no longer reaches are dropped. Every applicable requirement must name
    a package of the graph (else the lock does not cover the target: `LockError`).
    """
    roots = _project_roots(graph, target, project_requirements, extras, project_name)
    source = graph.source.removesuffix(NO_EDGES_SUFFIX)
    return _pruned(
        DependencyGraph(roots=tuple(sorted(roots)), packages=graph.packages, source=source)
    )


def _pruned(graph: DependencyGraph) -> DependencyGraph:
    """`graph` without the packages its roots do not reach."""
    reached: set[str] = set()
    stack = list(graph.roots)
    while stack:
        name = stack.pop()
        if name in reached or name not in graph:
            continue
        reached.add(name)
        stack.extend(d for d in graph[name].dependencies if d not in reached)
    return DependencyGraph(
        roots=graph.roots,
        packages=tuple(p for p in graph.packages if p.name in reached),
        source=graph.source,
    )


def edges_from_metadata(
    graph: DependencyGraph,
    metadata: Mapping[str, str],
    target: Target,
    project_requirements: Sequence[str],
    *,
    extras: Sequence[str] = (),
    project_name: str | None = None,
) -> DependencyGraph:
    """Rebuild a pylock graph's edges from each package's METADATA (``Requires-Dist``).

    `metadata` maps package names to METADATA text; `project_requirements` are the project's own
    ``Requires-Dist`` strings, whose applicable entries become the roots (`extras` are the
    project's active extras). Markers are evaluated for `target` (``extra`` empty, or an extra a
    requirement asked for); packages the project does not reach are dropped. A package without
    METADATA keeps no edges only if it has no wheels (it cannot be bundled anyway). With
    `project_name`, requirements on the project itself widen its extras.
    """
    lock_name = graph.source.removesuffix(NO_EDGES_SUFFIX)
    texts = {canonicalize_name(k): v for k, v in metadata.items()}
    project = canonicalize_name(project_name) if project_name else None
    active = _project_roots(graph, target, project_requirements, extras, project_name)
    roots = tuple(sorted(active))
    env = _MarkerEnv(target.marker_environment)
    edges: dict[NormalizedName, set[NormalizedName]] = {}
    expanded: dict[NormalizedName, frozenset[str]] = {}
    pending = sorted(active)
    while pending:
        name = pending.pop()
        if expanded.get(name) == frozenset(active[name]):
            continue
        expanded[name] = frozenset(active[name])
        package = graph[name]
        where = f"{lock_name}: {package.name} {package.version} METADATA"
        text = texts.get(name)
        if text is None:
            if package.wheels:
                raise LockError(
                    f"{where} is missing, so its dependencies are unknown; the pipeline must "
                    f"pass the METADATA of every pinned wheel"
                )
            edges[name] = set()
            continue
        raw, _ = parse_email(text)
        for requirement in _requirements(raw.get("requires_dist", []), where):
            if not _applies(requirement, env, sorted(active[name]), where):
                continue
            dep = canonicalize_name(requirement.name)
            if dep == project:
                continue  # a plugin needing the project: the project is not a layer package
            if dep == name:
                # Self-reference (`pkg[extra]` in pkg's own metadata): widen its extras.
                active[name] |= {canonicalize_name(e) for e in requirement.extras}
                if frozenset(active[name]) != expanded[name]:
                    pending.append(name)
                continue
            if dep not in graph:
                raise LockError(
                    f"{lock_name}: does not pin {requirement.name}, which {package.name} "
                    f"{package.version} requires on {target.describe()} ({requirement}); "
                    f"re-create the lock file"
                )
            edges.setdefault(name, set()).add(dep)
            known = active.setdefault(dep, set())
            new_extras = {canonicalize_name(e) for e in requirement.extras}
            if dep not in expanded or not new_extras <= known:
                known |= new_extras
                pending.append(dep)
    packages = tuple(
        PinnedPackage(
            name=p.name,
            version=p.version,
            wheels=p.wheels,
            dependencies=tuple(sorted(edges.get(p.name, ()))),
            has_sdist=p.has_sdist,
        )
        for p in graph.packages
        if p.name in expanded
    )
    return DependencyGraph(roots=roots, packages=packages, source=lock_name)


def registry_urls(path: Path) -> tuple[str, ...]:
    """The remote indexes a lock file's packages came from (uv.lock `source.registry`), in
    first-seen order: where release history (upload times) can be asked for. Empty for pylock
    files, which record wheel URLs rather than indexes, and for unreadable locks."""
    if path.name != "uv.lock":
        return ()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ()
    seen: dict[str, None] = {}
    for package in data.get("package", ()):
        source = package.get("source") if isinstance(package, dict) else None
        registry = source.get("registry") if isinstance(source, dict) else None
        if isinstance(registry, str) and _is_remote(registry):
            seen.setdefault(registry, None)
    return tuple(seen)
