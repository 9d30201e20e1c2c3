"""Dependency edges from core metadata: a pylock graph's edges rebuilt from each wheel's
``Requires-Dist``, and a graph's roots set to the project's own requirements on the target.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from packaging.markers import UndefinedComparison, UndefinedEnvironmentName
from packaging.metadata import parse_email
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

from ..errors import LockError
from .graph import DependencyGraph, PinnedPackage

if TYPE_CHECKING:
    from ..targets import Target
from .lockfields import MarkerEnv


def needs_metadata_edges(graph: DependencyGraph) -> bool:
    """True when the graph's dependency edges are unknown (a pylock file that records none).

    Such a graph lists every selected package as a root; call `edges_from_metadata` with each
    package's METADATA to get the real edges and roots.
    """
    return not graph.edges_known


def _requirements(texts: Iterable[str], where: str) -> list[Requirement]:
    parsed = []
    for text in texts:
        try:
            parsed.append(Requirement(text))
        except InvalidRequirement as exc:
            raise LockError(f"{where}: invalid requirement {text!r}: {exc}") from exc
    return parsed


def _applies(requirement: Requirement, env: MarkerEnv, extras: Iterable[str], where: str) -> bool:
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
    lock_name = graph.source
    where = "the project's dependencies"
    requirements = _requirements(project_requirements, where)
    env = MarkerEnv(target.marker_environment)
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


def check_lock_covers(
    graph: DependencyGraph,
    target: Target,
    project_requirements: Sequence[str],
    *,
    project_name: str | None = None,
) -> None:
    """`LockError` when a requirement of the project that applies on `target` is not pinned by
    the lock: the lock is older than pyproject.toml (a stale lock would build without it)."""
    _project_roots(graph, target, project_requirements, (), project_name)


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
    source = graph.source
    return pruned(
        DependencyGraph(roots=tuple(sorted(roots)), packages=graph.packages, source=source)
    )


def pruned(graph: DependencyGraph) -> DependencyGraph:
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
    texts = {canonicalize_name(k): v for k, v in metadata.items()}
    project = canonicalize_name(project_name) if project_name else None
    active = _project_roots(graph, target, project_requirements, extras, project_name)
    roots = tuple(sorted(active))
    edges = _metadata_edges(graph, texts, active, target, project)
    packages = tuple(
        PinnedPackage(
            name=p.name,
            version=p.version,
            wheels=p.wheels,
            dependencies=tuple(sorted(edges[p.name])),
            has_sdist=p.has_sdist,
            sdist=p.sdist,
        )
        for p in graph.packages
        if p.name in edges
    )
    return DependencyGraph(roots=roots, packages=packages, source=graph.source)


def _metadata_edges(
    graph: DependencyGraph,
    texts: Mapping[NormalizedName, str],
    active: dict[NormalizedName, set[str]],
    target: Target,
    project: NormalizedName | None,
) -> dict[NormalizedName, set[NormalizedName]]:
    """name -> dependencies of every package reached from the roots in `active`.

    `active` (name -> the extras asked of it) grows as the walk goes; a package is expanded
    again whenever it is reached with new extras.
    """
    env = MarkerEnv(target.marker_environment)
    edges: dict[NormalizedName, set[NormalizedName]] = {}
    expanded: dict[NormalizedName, frozenset[str]] = {}
    pending = sorted(active)
    while pending:
        name = pending.pop()
        if expanded.get(name) == frozenset(active[name]):
            continue
        expanded[name] = frozenset(active[name])
        package = graph[name]
        where = f"{graph.source}: {package.name} {package.version} METADATA"
        edges.setdefault(name, set())
        for requirement in _requires_dist(package, texts.get(name), where):
            # Evaluated one by one: a self-reference earlier in the list widens `active[name]`.
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
            _check_pinned(graph, requirement, package, target)
            edges[name].add(dep)
            known = active.setdefault(dep, set())
            new_extras = {canonicalize_name(e) for e in requirement.extras}
            if dep not in expanded or not new_extras <= known:
                known |= new_extras
                pending.append(dep)
    return edges


def _requires_dist(package: PinnedPackage, text: str | None, where: str) -> list[Requirement]:
    """The ``Requires-Dist`` entries of `package`'s METADATA `text`.

    Missing METADATA means no dependencies for a package without wheels (it cannot be bundled),
    and is an error otherwise.
    """
    if text is None:
        if package.wheels:
            raise LockError(
                f"{where} is missing, so its dependencies are unknown; the pipeline must "
                f"pass the METADATA of every pinned wheel"
            )
        return []
    raw, _ = parse_email(text)
    return _requirements(raw.get("requires_dist", []), where)


def _check_pinned(
    graph: DependencyGraph, requirement: Requirement, package: PinnedPackage, target: Target
) -> None:
    if canonicalize_name(requirement.name) not in graph:
        raise LockError(
            f"{graph.source}: does not pin {requirement.name}, which {package.name} "
            f"{package.version} requires on {target.describe()} ({requirement}); "
            f"re-create the lock file"
        )
