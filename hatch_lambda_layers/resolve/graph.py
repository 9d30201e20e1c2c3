"""Pinned distributions and their dependency graph, as plain data (no I/O).

Lock readers (`locks.py`) and the resolver (`resolver.py`) both produce a `DependencyGraph`
already evaluated for one Lambda target: every edge is a dependency that applies on that
target. This module then answers two questions about it: which distributions are bundled
once the "provided" ones (and whatever only they need) are left out, and which wheel of each
bundled distribution the target should load.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from packaging.utils import (
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)

from ..errors import NoCompatibleWheelError

if TYPE_CHECKING:
    from ..targets import Target


@dataclass(frozen=True)
class WheelLink:
    """One file of a pinned distribution (a wheel, or its sdist), as a lock file or an index
    lists it."""

    filename: str
    url: str
    sha256: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class PinnedPackage:
    """A distribution pinned to one version, with the dependencies that apply on the target."""

    name: NormalizedName
    version: str
    wheels: tuple[WheelLink, ...] = ()
    dependencies: tuple[NormalizedName, ...] = ()
    has_sdist: bool = False
    sdist: WheelLink | None = None  # where the sdist is, when the lock or index says


@dataclass(frozen=True)
class DependencyGraph:
    """The project's runtime closure for one target. `roots` are the project's own dependencies."""

    roots: tuple[NormalizedName, ...]
    packages: tuple[PinnedPackage, ...]
    source: str = ""  # where it came from: "uv.lock", "pylock.toml", "resolved from <index>"
    # False for a pylock file that records no edges: every package is a root until
    # `edges.edges_from_metadata` rebuilds them.
    edges_known: bool = True
    _by_name: dict[str, PinnedPackage] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {p.name: p for p in self.packages})

    def __getitem__(self, name: str) -> PinnedPackage:
        return self._by_name[canonicalize_name(name)]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and canonicalize_name(name) in self._by_name


@dataclass(frozen=True)
class LeftOut:
    """A distribution that is not bundled, and why."""

    name: NormalizedName
    version: str
    reason: str


@dataclass(frozen=True)
class Closure:
    """What gets bundled (sorted by name) and what is left out (sorted by name)."""

    bundled: tuple[PinnedPackage, ...]
    left_out: tuple[LeftOut, ...]


def _reachable(
    graph: DependencyGraph, starts: Iterable[str], blocked: frozenset[str]
) -> dict[str, list[str]]:
    """Names reachable from `starts` without entering `blocked`, each with the path to it."""
    found: dict[str, list[str]] = {}
    stack = [(s, [s]) for s in sorted(set(starts), reverse=True) if s not in blocked]
    while stack:
        name, path = stack.pop()
        if name in found or name not in graph:
            continue
        found[name] = path
        stack += [
            (dep, [*path, dep])
            for dep in sorted(graph[name].dependencies, reverse=True)
            if dep not in found and dep not in blocked
        ]
    return found


def split_provided(graph: DependencyGraph, provided: Iterable[str]) -> Closure:
    """Leave out the provided distributions and every dependency that only they need.

    A dependency that some bundled distribution also needs stays bundled: bundled is exactly
    what the project's roots reach without passing through a provided distribution.
    """
    provided_names = frozenset(canonicalize_name(p) for p in provided)
    bundled_names = _reachable(graph, graph.roots, provided_names)
    everything = _reachable(graph, graph.roots, frozenset())
    left_out: list[LeftOut] = []
    for name in sorted(everything):
        if name in bundled_names:
            continue
        package = graph[name]
        if name in provided_names:
            reason = "provided"
        else:
            needers = sorted(
                p.name for p in graph.packages if name in p.dependencies and p.name in everything
            )
            via = [n for n in needers if n not in bundled_names]
            reason = "only needed by provided " + ", ".join(via)
        left_out.append(LeftOut(name=package.name, version=package.version, reason=reason))
    bundled = tuple(sorted((graph[n] for n in bundled_names), key=lambda p: p.name))
    return Closure(bundled=bundled, left_out=tuple(left_out))


def wheel_tags_text(link: WheelLink) -> str:
    try:
        _, _, _, tags = parse_wheel_filename(link.filename)
    except InvalidWheelFilename:
        return link.filename
    return ".".join(sorted(str(t) for t in tags))


def select_wheel(package: PinnedPackage, target: Target) -> WheelLink:
    """The wheel the target prefers most (first in its ordered tag list).

    Raises `NoCompatibleWheelError` naming the package, its version, the target and the wheels
    that exist, so that a lock pinning e.g. a manylinux_2_28-only release for a glibc 2.26
    runtime is refused at build time rather than failing at import time on Lambda.
    """
    best: tuple[int, str, WheelLink] | None = None
    for link in package.wheels:
        rank = target.wheel_rank(link.filename)
        if rank is None:
            continue
        key = (rank, link.filename, link)
        if best is None or key[:2] < best[:2]:
            best = key
    if best is not None:
        return best[2]
    if package.wheels:
        shown = ", ".join(sorted({wheel_tags_text(w) for w in package.wheels})[:12])
        more = len({wheel_tags_text(w) for w in package.wheels}) - 12
        existing = f"its wheels are tagged {shown}" + (f" and {more} more" if more > 0 else "")
    else:
        existing = "it has no wheels" + (" (only an sdist)" if package.has_sdist else "")
    raise NoCompatibleWheelError(
        f"{package.name} {package.version} has no wheel for {target.describe()}: {existing}; "
        f"lock a release that ships one for {target.describe_platform()} (e.g. add "
        f'"{package.name}<{package.version}" to [tool.uv] constraint-dependencies and run '
        f'`uv lock`), or set lock = "none" in [tool.lambda-layers] to resolve for the target'
    )


def graph_from_mapping(
    roots: Iterable[str], packages: Mapping[str, tuple[str, Iterable[str]]]
) -> DependencyGraph:
    """Small convenience for tests and the resolver: name -> (version, dependencies)."""
    pins = tuple(
        PinnedPackage(
            name=canonicalize_name(name),
            version=version,
            dependencies=tuple(sorted({canonicalize_name(d) for d in deps})),
        )
        for name, (version, deps) in sorted(packages.items())
    )
    return DependencyGraph(roots=tuple(canonicalize_name(r) for r in roots), packages=pins)
