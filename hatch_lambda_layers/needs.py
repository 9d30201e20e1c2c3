"""Which bundled packages each function needs. Pure: from the dependency graph and the functions.

A function needs the closure of its roots (what `split_provided` bundles from them): its own
`dependencies` when it lists some, else its project's dependencies (a workspace member's own).
The build bundles the union of these closures; a dependency of the project that no function
reaches is left out, and the manifest says why.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace

from packaging.utils import canonicalize_name

from .config import Config
from .errors import ConfigError
from .project import ProjectInfo, owned_functions
from .resolve.graph import Closure, DependencyGraph, LeftOut, split_provided

NO_FUNCTION = "needed by no function (each lists its own dependencies)"


@dataclass(frozen=True)
class Needs:
    """The bundle and, per function, the names of the bundled packages it needs."""

    closure: Closure
    functions: Mapping[str, frozenset[str]]


def function_roots(
    project: ProjectInfo,
    config: Config,
    graph: DependencyGraph,
    member_roots: Mapping[str, tuple[str, ...]],
) -> dict[str, tuple[str, ...]]:
    """function -> the distributions its closure starts from. Names a function lists must be
    in the graph (the lock); one `ConfigError` names every one that is not."""
    roots: dict[str, tuple[str, ...]] = {}
    problems: list[str] = []
    for member, fn in owned_functions(project, config):
        if fn.dependencies is None:
            roots[fn.name] = member_roots.get(member.project.name, graph.roots)
            continue
        key = member.where(f"tool.lambda-layers.functions.{fn.name}.dependencies")
        problems += [
            f"{key} lists {json.dumps(name)}, which is not a dependency of "
            f"{member.project.name} (nor of its dependencies); add it to [project] "
            f"dependencies and lock again"
            for name in fn.dependencies
            if name not in graph
        ]
        roots[fn.name] = tuple(canonicalize_name(n) for n in fn.dependencies)
    if problems:
        raise ConfigError(problems)
    return roots


def function_needs(
    graph: DependencyGraph, roots: Mapping[str, tuple[str, ...]], provided: tuple[str, ...]
) -> Needs:
    """The closure of every function's roots, and the bundle: their union. What the project's
    own closure holds and no function needs is left out (`NO_FUNCTION`)."""
    whole = split_provided(graph, provided)
    needs = {
        fn: frozenset(
            p.name
            for p in split_provided(
                replace(graph, roots=tuple(map(canonicalize_name, r))), provided
            ).bundled
        )
        for fn, r in sorted(roots.items())
    }
    union = frozenset().union(*needs.values()) if needs else frozenset()
    if union == {p.name for p in whole.bundled}:
        return Needs(whole, needs)
    left_out = [x for x in whole.left_out if x.name not in union]
    left_out += [
        LeftOut(name=p.name, version=p.version, reason=NO_FUNCTION)
        for p in whole.bundled
        if p.name not in union
    ]
    bundled = tuple(sorted((graph[n] for n in union), key=lambda p: p.name))
    closure = Closure(bundled=bundled, left_out=tuple(sorted(left_out, key=lambda x: x.name)))
    return Needs(closure, needs)


def bundle_needs(
    project: ProjectInfo,
    config: Config,
    graph: DependencyGraph,
    member_roots: Mapping[str, tuple[str, ...]],
) -> Needs:
    """`function_needs` of every function's roots (`function_roots`)."""
    return function_needs(
        graph, function_roots(project, config, graph, member_roots), config.provided
    )
