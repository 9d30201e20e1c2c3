"""Bundled packages that a left-out (provided) package needs too: who keeps each in the build.
Pure, over the dependency graph and its split."""

from __future__ import annotations

from dataclasses import dataclass

from ..resolve.graph import Closure, DependencyGraph


@dataclass(frozen=True)
class Needer:
    """A left-out distribution that needs a bundled one; `provided`: listed in ``provided``
    (else left out because only provided ones need it)."""

    name: str
    provided: bool


@dataclass(frozen=True)
class SharedDependency:
    """`name` is bundled because `needed_by` need it (the project's own name when the project
    depends on it directly), though `also_needed_by` (left out) need it too: the runtime or an
    external layer may already supply it."""

    name: str
    version: str
    needed_by: tuple[str, ...]
    also_needed_by: tuple[Needer, ...]


def needed_by(graph: DependencyGraph, closure: Closure, project: str) -> dict[str, tuple[str, ...]]:
    """Bundled name -> the bundled distributions (and the project) that depend on it."""
    bundled = {p.name for p in closure.bundled}
    found: dict[str, list[str]] = {name: [] for name in sorted(bundled)}
    for name in graph.roots:
        if name in found:
            found[name].append(project)
    for package in closure.bundled:
        for dep in package.dependencies:
            if dep in found and package.name not in found[dep]:
                found[dep].append(package.name)
    return {
        name: tuple([project] * (project in needers) + sorted(set(needers) - {project}))
        for name, needers in found.items()
    }


def shared_with_provided(
    graph: DependencyGraph, closure: Closure, project: str
) -> tuple[SharedDependency, ...]:
    """Every bundled package that some left-out package depends on, sorted by name."""
    provided = {x.name for x in closure.left_out if x.reason == "provided"}
    left_out = {x.name for x in closure.left_out}
    keepers = needed_by(graph, closure, project)
    shared: list[SharedDependency] = []
    for package in closure.bundled:
        also = sorted(
            p.name for p in graph.packages if p.name in left_out and package.name in p.dependencies
        )
        if also:
            shared.append(
                SharedDependency(
                    name=package.name,
                    version=package.version,
                    needed_by=keepers[package.name],
                    also_needed_by=tuple(Needer(n, n in provided) for n in also),
                )
            )
    return tuple(shared)
