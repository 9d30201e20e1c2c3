"""The project being built: name, version, requirements and its own files.

The function zip holds exactly what hatch's wheel target would ship, so the file list comes from
hatchling's own `WheelBuilder.recurse_included_files()` (packages, sources mapping, force-include
and excludes all honoured), never from a separate glob of ours.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from .config import Config, FunctionConfig
from .errors import ConfigError
from .files import file_mode
from .layers.entries import FileEntry
from .layers.layout import ExcludePattern


@dataclass(frozen=True)
class ProjectFile:
    """A file of the project: where it is on disk and where it goes in the function zip."""

    source: Path
    path: str  # posix path relative to the zip root (hatch's distribution path)


@dataclass(frozen=True)
class ProjectInfo:
    """A project (or a workspace: `members` then hold the projects whose functions it builds,
    and `files` is empty)."""

    root: Path
    name: str
    version: str
    requirements: tuple[str, ...]
    files: tuple[ProjectFile, ...]
    members: tuple[Member, ...] = ()


@dataclass(frozen=True)
class Member:
    """A project whose functions a build makes, with its own configuration; `path` is its
    directory relative to the workspace root, in posix form (``.`` for a lone project)."""

    path: str
    project: ProjectInfo
    config: Config

    def where(self, key: str) -> str:
        """`key` prefixed with the member's pyproject.toml inside a workspace."""
        return key if self.path == "." else f"{self.path}/pyproject.toml: {key}"


def members_of(project: ProjectInfo, config: Config) -> tuple[Member, ...]:
    """The projects whose functions the build makes: a workspace's members, or the project."""
    return project.members or (Member(".", project, config),)


def _files(included: Iterable[Any]) -> tuple[ProjectFile, ...]:
    files = {
        f.distribution_path.replace(os.sep, "/"): ProjectFile(
            Path(f.path), f.distribution_path.replace(os.sep, "/")
        )
        for f in included
    }
    return tuple(files[k] for k in sorted(files))


def project_from_wheel_builder(builder: Any) -> ProjectInfo:
    """From a hatchling WheelBuilder (the one running a build hook, or one we make)."""
    metadata = builder.metadata
    return ProjectInfo(
        root=Path(builder.root),
        name=metadata.core.name,
        version=metadata.version,
        requirements=tuple(metadata.core.dependencies),
        files=_files(builder.recurse_included_files()),
    )


def make_wheel_builder(
    root: str | os.PathLike[str],
    *,
    plugin_manager: Any = None,
    metadata: Any = None,
    app: Any = None,
) -> Any:
    from hatchling.builders.wheel import WheelBuilder

    return WheelBuilder(str(root), plugin_manager=plugin_manager, metadata=metadata, app=app)


def load_project(root: str | os.PathLike[str]) -> ProjectInfo:
    """For the CLI: read the project through hatchling, as `hatch build` would."""
    root_path = Path(root).resolve()
    if not (root_path / "pyproject.toml").is_file():
        raise ConfigError(f"{str(root_path)!r} has no pyproject.toml; pass the project directory")
    try:
        return project_from_wheel_builder(make_wheel_builder(root_path))
    except (ValueError, TypeError, OSError) as exc:
        raise ConfigError(
            f"{str(root_path / 'pyproject.toml')!r}: hatchling cannot read the project: {exc}"
        ) from None


def functions(project: ProjectInfo, config: Config) -> tuple[FunctionConfig, ...]:
    """The configured functions (every member's, in a workspace), or one named after the
    project with `handler`."""
    return tuple(fn for _, fn in owned_functions(project, config))


def owned_functions(
    project: ProjectInfo, config: Config
) -> tuple[tuple[Member, FunctionConfig], ...]:
    """Each function with the member it belongs to; a name used twice is a `ConfigError`."""
    owned: list[tuple[Member, FunctionConfig]] = []
    seen: dict[str, Member] = {}
    for member in members_of(project, config):
        own = member.config.functions or (
            FunctionConfig(name=slug(member.project.name), handler=member.config.handler),
        )
        for fn in own:
            if fn.name in seen:
                raise ConfigError(
                    f"{member.where('tool.lambda-layers.functions.' + fn.name)}: "
                    f"{seen[fn.name].path} already has a function named {fn.name!r}; function "
                    f"names must be unique in a workspace"
                )
            seen[fn.name] = member
            owned.append((member, fn))
    return tuple(owned)


def slug(name: str) -> str:
    """A distribution name as Lambda resource names spell it (``Orders_API`` -> ``orders-api``)."""
    return canonicalize_name(name).replace(".", "-")


def function_files(project: ProjectInfo, config: Config) -> dict[str, tuple[FileEntry, ...]]:
    """Per function, the project's own files at the zip root (hatch's wheel selection), narrowed
    by its `include` patterns (the same gitignore-style globs as `exclude`)."""
    result: dict[str, tuple[FileEntry, ...]] = {}
    for member, fn in owned_functions(project, config):
        key = member.where(f"tool.lambda-layers.functions.{fn.name}.include")
        try:
            patterns = [ExcludePattern.parse(p) for p in fn.include]
        except ValueError as exc:
            raise ConfigError(f"{key}: {exc}") from None
        files = member.project.files
        chosen = [f for f in files if not patterns or any(p.matches(f.path) for p in patterns)]
        if not chosen:
            raise ConfigError(
                f"{key} matches none of the project's files "
                f"({', '.join(p.path for p in files[:5])}...)"
            )
        result[fn.name] = tuple(
            FileEntry(path=f.path, source_path=f.source, mode=file_mode(f.source)) for f in chosen
        )
    return result
