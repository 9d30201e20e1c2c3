"""uv workspaces: `lambda-layers build` at a workspace root builds the functions of every member
that has a ``[tool.lambda-layers]`` table, with one plan and one output directory at the root.

The members' tables must agree on everything that shapes the shared plan (every key but
`handler` and `functions`); each member's functions keep their own code and start their closure
from that member's dependencies. The graph is each member's, read from the root's lock, merged.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from .config import Config, load_config, pyproject_path
from .errors import ConfigError, LockError
from .project import Member, ProjectInfo, load_project
from .reporting import Reporter
from .resolve.graph import DependencyGraph, PinnedPackage
from .resolve.load import SharedIndex, load_graph
from .targets import Target

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

# Config fields each member may set for itself; every other one shapes the shared plan.
_OWN_FIELDS = frozenset({"functions", "handler"})


def _read_toml(path: Path) -> Mapping[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None


def _tool(document: Mapping[str, Any], name: str) -> Any:
    tool = document.get("tool")
    return tool.get(name) if isinstance(tool, Mapping) else None


def member_dirs(root: Path) -> list[Path] | None:
    """The members of the uv workspace rooted at `root` (``[tool.uv.workspace]`` globs less its
    `exclude` globs), sorted; None when `root` is no workspace root."""
    path = pyproject_path(root)
    if not path.is_file():
        return None
    uv = _tool(_read_toml(path), "uv")
    workspace = uv.get("workspace") if isinstance(uv, Mapping) else None
    if not isinstance(workspace, Mapping):
        return None
    key = "tool.uv.workspace"
    members, excluded = workspace.get("members", []), workspace.get("exclude", [])
    for name, value in (("members", members), ("exclude", excluded)):
        if not isinstance(value, list) or not all(isinstance(g, str) for g in value):
            raise ConfigError(f"{path}: {key}.{name} must be a list of glob patterns")
    skip = {p.resolve() for g in excluded for p in root.glob(g)}
    found = {
        p.resolve()
        for g in members
        for p in root.glob(g)
        if pyproject_path(p).is_file() and p.resolve() not in skip
    }
    return sorted(found)


def workspace_lock(project_root: Path, lock_setting: str) -> Path | None:
    """For a workspace member built on its own with ``lock = "auto"``: the uv.lock of the
    workspace it belongs to (the nearest parent whose ``[tool.uv.workspace]`` lists it), so it
    builds from the same pins as the whole workspace. None otherwise."""
    if lock_setting != "auto":
        return None
    member = project_root.resolve()
    for parent in member.parents:
        try:
            dirs = member_dirs(parent)
        except ConfigError:  # an unreadable pyproject.toml above: not this build's business
            return None
        if dirs is not None:
            lock = parent / "uv.lock"
            return lock if member in dirs and lock.is_file() else None
    return None


def _has_table(directory: Path) -> bool:
    return _tool(_read_toml(pyproject_path(directory)), "lambda-layers") is not None


def load_build(root: str | Path) -> tuple[ProjectInfo, Config]:
    """What `lambda-layers build`/`plan` builds at `root`: a workspace when some member other
    than the root has a ``[tool.lambda-layers]`` table, else the project itself."""
    base = Path(root).resolve()
    dirs = member_dirs(base)
    if dirs is not None:
        lambdas = [d for d in dirs if d != base and _has_table(d)]
        if lambdas:
            if _has_table(base) and _is_project(base):
                lambdas.insert(0, base)
            return load_workspace(base, lambdas)
    project = load_project(base)
    return project, load_config(project.root)


def _is_project(directory: Path) -> bool:
    return isinstance(_read_toml(pyproject_path(directory)).get("project"), Mapping)


def load_workspace(root: Path, directories: Sequence[Path]) -> tuple[ProjectInfo, Config]:
    """The workspace as one build: every member loaded through hatchling, their tables checked
    to agree (all problems at once), the root's name and version (or its directory's)."""
    members: list[Member] = []
    problems: list[str] = []
    for directory in directories:
        where = directory.relative_to(root).as_posix() or "."
        try:
            project = load_project(directory)
            members.append(Member(where, project, load_config(directory)))
        except ConfigError as exc:
            problems += [f"{where}/pyproject.toml: {p}" for p in exc.problems]
    if not problems:
        problems += _disagreements(members)
    if problems:
        raise ConfigError(problems)
    name, version = _identity(root)
    workspace = ProjectInfo(
        root=root,
        name=name,
        version=version,
        requirements=tuple(r for m in members for r in m.project.requirements),
        files=(),
        members=tuple(members),
    )
    shared = replace(members[0].config, functions=(), handler=None)
    return workspace, shared


def _identity(root: Path) -> tuple[str, str]:
    project = _read_toml(pyproject_path(root)).get("project")
    if isinstance(project, Mapping) and isinstance(project.get("name"), str):
        version = project.get("version")
        return project["name"], version if isinstance(version, str) else "0"
    return canonicalize_name(root.name) or "workspace", "0"


def _disagreements(members: Sequence[Member]) -> list[str]:
    """One problem per shared key a member sets differently from the first member."""
    first = members[0]
    problems = []
    for member in members[1:]:
        for f in fields(Config):
            if f.name in _OWN_FIELDS:
                continue
            mine, theirs = getattr(member.config, f.name), getattr(first.config, f.name)
            if mine != theirs:
                problems.append(
                    f"{member.path}/pyproject.toml: tool.lambda-layers.{f.name.replace('_', '-')}"
                    f" is {_shown(mine)} here but {_shown(theirs)} in {first.path}/pyproject.toml;"
                    f" the workspace builds one plan, so set it the same in every member"
                )
    return problems


def _shown(value: object) -> str:
    if isinstance(value, Mapping):
        value = dict(value)
    if isinstance(value, tuple):
        value = list(value)
    return json.dumps(value, default=str)


def load_members_graph(
    project: ProjectInfo,
    *,
    target: Target,
    lock_path: Path | None,
    index: SharedIndex,
    reporter: Reporter,
) -> tuple[DependencyGraph, dict[str, tuple[str, ...]]]:
    """The build's graph and each member's roots (by project name): for a lone project its
    own graph; for a workspace every member's graph from the same lock, merged."""
    graphs: dict[str, DependencyGraph] = {}
    for one in [m.project for m in project.members] or [project]:
        graphs[one.name] = load_graph(
            project_name=one.name,
            requirements=one.requirements,
            target=target,
            lock_path=lock_path,
            index=index,
            reporter=reporter,
        )
    if not project.members:
        graph = graphs[project.name]
        return graph, {project.name: graph.roots}
    merged = merge_graphs(graphs)
    inside = sorted(
        canonicalize_name(m.project.name) for m in project.members if m.project.name in merged
    )
    if inside:
        raise LockError(
            f"a workspace member depends on the member {inside[0]}: functions that share code "
            f"through workspace members are not supported yet; move that code into a package "
            f"the members depend on from an index, or into each function's own files"
        )
    return merged, {name: g.roots for name, g in graphs.items()}


def merge_graphs(graphs: Mapping[str, DependencyGraph]) -> DependencyGraph:
    """One graph of several (each a member's, from one lock): roots and packages united. Two
    versions of one package are a `LockError` naming both members."""
    packages: dict[str, tuple[str, PinnedPackage]] = {}
    for owner, graph in sorted(graphs.items()):
        for package in graph.packages:
            seen = packages.get(package.name)
            if seen is None:
                packages[package.name] = (owner, package)
            elif seen[1].version != package.version:
                raise LockError(
                    f"{package.name} is {seen[1].version} for {seen[0]} but {package.version} "
                    f"for {owner}; the workspace builds one plan: lock it as one (`uv lock` at "
                    f"the workspace root)"
                )
            else:
                merged = sorted(set(seen[1].dependencies) | set(package.dependencies))
                packages[package.name] = (seen[0], replace(seen[1], dependencies=tuple(merged)))
    values = list(graphs.values())
    return DependencyGraph(
        roots=tuple(sorted({r for g in values for r in g.roots})),
        packages=tuple(p for _, (_, p) in sorted(packages.items())),
        source=values[0].source if values else "",
        edges_known=all(g.edges_known for g in values),
    )
