"""``uv.lock`` -> a `DependencyGraph` for one target (pure: parsed TOML in).

uv.lock records the full graph (dependencies, extras, forks), so its graph is exact. Every marker
is evaluated against the target's PEP 508 environment, never the running interpreter's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from packaging.specifiers import InvalidSpecifier
from packaging.utils import NormalizedName, canonicalize_name

from ..errors import LockError
from .graph import DependencyGraph, PinnedPackage, WheelLink

if TYPE_CHECKING:
    from ..targets import Target
from .lockfields import (
    UNKNOWN_VERSION,
    UV_LOCK,
    MarkerEnv,
    file_url,
    holds,
    is_remote,
    python_covered,
    same_version,
    sha256_of,
    string_list,
    typed_field,
    url_filename,
)

_SUPPORTED_UV_LOCK_VERSIONS = frozenset({1})


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


@dataclass(frozen=True)
class _UvLock:
    entries: tuple[_UvEntry, ...]
    by_name: Mapping[str, tuple[_NodeKey, ...]]
    env: MarkerEnv
    project: NormalizedName

    def pick(self, name: str, dependency: Mapping[str, Any], where: str) -> _NodeKey:
        """The [[package]] entry a dependency refers to on this target."""
        canonical = canonicalize_name(name)
        candidates = list(self.by_name.get(canonical, ()))
        if "version" in dependency:
            candidates = [
                k
                for k in candidates
                if same_version(self.entries[k].get("version"), dependency["version"])
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
        where = f"{UV_LOCK}: {_uv_describe(entry)}"
        markers = string_list(entry, "resolution-markers", where)
        if not markers:
            return True
        return any(holds(self.env, m, f"{where} resolution-markers") for m in markers)


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
    _check_lock_version(data)
    _check_requires_python(data, target)
    project = canonicalize_name(project_name)
    encoded_extras = tuple(f"extra-{len(project)}-{project}-{canonicalize_name(e)}" for e in extras)
    env = MarkerEnv(target.marker_environment, frozenset(encoded_extras))
    _check_supported_markers(data, env, target)
    lock = _index_lock(data, env, project)
    if project not in lock.by_name:
        raise LockError(f"{UV_LOCK} has no package named {project_name}; run `uv lock`")
    root = lock.pick(project_name, {}, f"the project {project_name}")
    _check_extras(lock.entries[root], extras, project_name)
    active, edges = _walk(lock, root, {canonicalize_name(e) for e in extras})
    return _reached_graph(lock, root, active, edges, target, base_dir=base_dir)


def _check_lock_version(data: Mapping[str, Any]) -> None:
    version = data.get("version")
    if version not in _SUPPORTED_UV_LOCK_VERSIONS:
        raise _uv_error(
            f"lock version {version!r} is not supported (hatch-lambda-layers reads version 1); "
            f"re-lock with a uv release that writes version 1 or upgrade hatch-lambda-layers"
        )


def _check_requires_python(data: Mapping[str, Any], target: Target) -> None:
    requires_python = typed_field(data, "requires-python", str, UV_LOCK)
    if not requires_python:
        return
    try:
        covered = python_covered(requires_python, target)
    except InvalidSpecifier as exc:
        raise _uv_error(f"invalid requires-python {requires_python!r}: {exc}") from exc
    if not covered:
        raise _uv_error(
            f"requires-python {requires_python!r} does not cover {target.describe()} "
            f"(Python {target.python_full_version}); the lock does not cover the runtime: "
            f"widen requires-python in pyproject.toml and run `uv lock`"
        )


def _check_supported_markers(data: Mapping[str, Any], env: MarkerEnv, target: Target) -> None:
    supported = string_list(data, "supported-markers", UV_LOCK)
    if supported and not any(holds(env, m, f"{UV_LOCK}: supported-markers") for m in supported):
        raise _uv_error(
            f"its supported-markers ({'; '.join(map(str, supported))}) exclude "
            f"{target.describe()}; the lock does not cover the runtime: add it to "
            f"tool.uv.environments and run `uv lock`"
        )


def _index_lock(data: Mapping[str, Any], env: MarkerEnv, project: NormalizedName) -> _UvLock:
    """The lock's [[package]] entries, indexed by canonical name."""
    entries = tuple(_uv_list(data, "package", "the lock"))
    by_name: dict[str, list[int]] = {}
    for index, entry in enumerate(entries):
        name = entry.get("name")
        if not isinstance(name, str):
            raise _uv_error(f"[[package]] number {index + 1} has no name; run `uv lock`")
        string_list(entry, "resolution-markers", f"{UV_LOCK}: {_uv_describe(entry)}")
        by_name.setdefault(canonicalize_name(name), []).append(index)
    return _UvLock(
        entries=entries,
        by_name={k: tuple(v) for k, v in by_name.items()},
        env=env,
        project=project,
    )


_Edges = dict[_NodeKey, set[_NodeKey]]
_ActiveExtras = dict[_NodeKey, set[str]]


def _walk(lock: _UvLock, root: _NodeKey, extras: set[str]) -> tuple[_ActiveExtras, _Edges]:
    """Walk from the project: the extras each reached entry is asked for, and the edges.

    An entry is re-expanded whenever it is reached with new extras.
    """
    active: _ActiveExtras = {root: extras}
    done: dict[_NodeKey, set[str | None]] = {}
    edges: _Edges = {}
    pending = [root]
    while pending:
        key = pending.pop()
        sections = _sections(lock.entries[key], active[key])
        seen = done.setdefault(key, set())
        for extra, section in sections:
            if extra in seen:
                continue
            seen.add(extra)
            for dep in section:
                dep_key = _follow(lock, lock.entries[key], dep, extra)
                if dep_key is None:
                    continue
                edges.setdefault(key, set()).add(dep_key)
                where = f"{UV_LOCK}: {_uv_describe(lock.entries[key])} (dependency {dep['name']})"
                wanted = {canonicalize_name(e) for e in string_list(dep, "extra", where)}
                known = active.setdefault(dep_key, set())
                if dep_key not in done or not wanted <= known:
                    known |= wanted
                    pending.append(dep_key)
    return active, edges


def _sections(
    entry: _UvEntry, extras: set[str]
) -> list[tuple[str | None, list[Mapping[str, Any]]]]:
    """An entry's dependency lists: the default one (extra None), then one per active extra."""
    where = _uv_describe(entry)
    sections: list[tuple[str | None, list[Mapping[str, Any]]]] = [
        (None, _uv_list(entry, "dependencies", where))
    ]
    optional = _uv_table(entry, "optional-dependencies", where)
    sections += [(extra, _optional_deps(optional, extra, where)) for extra in sorted(extras)]
    return sections


def _follow(
    lock: _UvLock, entry: _UvEntry, dep: Mapping[str, Any], extra: str | None
) -> _NodeKey | None:
    """The entry `dep` (listed by `entry`, under `extra`) refers to; None if its marker fails."""
    where = _uv_describe(entry)
    dep_name = dep.get("name")
    if not isinstance(dep_name, str):
        raise _uv_error(f"{where} has a dependency without a name; run `uv lock`")
    marker_where = f"{UV_LOCK}: {where} (dependency {dep_name})"
    if not holds(lock.env, dep.get("marker"), marker_where, extras=[extra] if extra else ()):
        return None
    return lock.pick(dep_name, dep, where)


def _reached_graph(
    lock: _UvLock,
    root: _NodeKey,
    active: _ActiveExtras,
    edges: _Edges,
    target: Target,
    *,
    base_dir: Path,
) -> DependencyGraph:
    """The walked entries (all but the project's own) as a `DependencyGraph`."""
    entries = lock.entries
    reached = {k for k in active if k != root} | {
        d for ds in edges.values() for d in ds if d != root
    }
    packages = []
    for name, key in sorted(_one_entry_per_name(entries, reached, target).items()):
        dep_names = {canonicalize_name(entries[d]["name"]) for d in edges.get(key, ()) if d != root}
        packages.append(_uv_package(entries[key], name, dep_names, base_dir))
    roots = sorted(
        {canonicalize_name(entries[d]["name"]) for d in edges.get(root, ()) if d != root}
    )
    return DependencyGraph(roots=tuple(roots), packages=tuple(packages), source=UV_LOCK)


def _one_entry_per_name(
    entries: Sequence[_UvEntry], reached: set[_NodeKey], target: Target
) -> dict[NormalizedName, _NodeKey]:
    """name -> the reached entry of that name; two reached versions of one name are an error."""
    by_package: dict[NormalizedName, _NodeKey] = {}
    for key in sorted(reached):
        name = canonicalize_name(entries[key]["name"])
        other = by_package.setdefault(name, key)
        if other != key:
            raise _uv_error(
                f"two versions of {name} ({entries[other].get('version')} and "
                f"{entries[key].get('version')}) apply on {target.describe()}; run `uv lock`"
            )
    return by_package


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
    provided = string_list(metadata, "provides-extras", f"{UV_LOCK}: {project_name} metadata")
    known |= {canonicalize_name(e) for e in provided}
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
    version = typed_field(entry, "version", str, f"{UV_LOCK}: package {name}") or UNKNOWN_VERSION
    where = f"package {name} {version}"
    source = _uv_table(entry, "source", where)
    wheels = [
        _uv_file(wheel, source, f"{name} {version}", base_dir, f"wheels[{index}]")
        for index, wheel in enumerate(_uv_list(entry, "wheels", where))
    ]
    sdist_table = entry.get("sdist")
    if sdist_table is not None and not isinstance(sdist_table, Mapping):
        raise _uv_error(f"{where}: `sdist` must be a table, got {sdist_table!r}; run `uv lock`")
    sdist = None
    sdist_where = f"{UV_LOCK}: {where} sdist"
    if sdist_table is not None and _uv_file_url(sdist_table, source, base_dir, sdist_where):
        sdist = _uv_file(sdist_table, source, f"{name} {version}", base_dir, "sdist")
    return PinnedPackage(
        name=name,
        version=version,
        wheels=tuple(wheels),
        dependencies=tuple(sorted(set(deps))),
        has_sdist=sdist_table is not None,
        sdist=sdist,
    )


def _uv_file(
    item: Mapping[str, Any], source: Mapping[str, Any], package: str, base_dir: Path, key: str
) -> WheelLink:
    """One ``wheels`` item or the ``sdist`` of the package `package` ("name version")."""
    where = f"{UV_LOCK}: package {package} {key}"
    url = _uv_file_url(item, source, base_dir, where)
    if url is None:
        raise _uv_error(f"package {package} {key} has no url or path; run `uv lock`")
    filename = typed_field(item, "filename", str, where) or url_filename(url)
    hash_text = typed_field(item, "hash", str, where)
    hashes: dict[str, str] = {}
    if hash_text is not None and ":" in hash_text:
        algorithm, _, digest = hash_text.partition(":")
        hashes[algorithm.lower()] = digest
    sha256 = sha256_of(
        hashes,
        file=UV_LOCK,
        package=package,
        filename=filename,
        remote=is_remote(url),
        lock="`uv lock --refresh` against an index that publishes sha256 hashes",
        what="sdist" if key == "sdist" else "wheel",
    )
    size = typed_field(item, "size", int, where)
    return WheelLink(filename=filename, url=url, sha256=sha256, size=size)


def _uv_file_url(
    item: Mapping[str, Any], source: Mapping[str, Any], base_dir: Path, where: str
) -> str | None:
    """Where a file is: its url, its path in a find-links directory, or the package source."""
    url = typed_field(item, "url", str, where)
    path = typed_field(item, "path", str, where)
    if url is None and path is not None:
        # A find-links directory: the file's path is relative to the registry directory.
        registry = source.get("registry")
        folder = "."
        if isinstance(registry, str) and not is_remote(registry):
            folder = unquote(urlparse(registry).path) if registry.startswith("file:") else registry
        url = file_url(base_dir, str(Path(folder) / path))
    source_where = f"{where} source"
    source_path = typed_field(source, "path", str, source_where)
    if url is None and source_path is not None:
        url = file_url(base_dir, source_path)  # a `path` source that is the file itself
    source_url = typed_field(source, "url", str, source_where)
    if url is None and source_url is not None:
        url = source_url
    return url
