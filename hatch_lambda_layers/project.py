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
    root: Path
    name: str
    version: str
    requirements: tuple[str, ...]
    files: tuple[ProjectFile, ...]


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
    """The configured functions, or one named after the project with `handler`."""
    if config.functions:
        return config.functions
    return (FunctionConfig(name=slug(project.name), handler=config.handler),)


def slug(name: str) -> str:
    """A distribution name as Lambda resource names spell it (``Orders_API`` -> ``orders-api``)."""
    return canonicalize_name(name).replace(".", "-")


def function_files(project: ProjectInfo, config: Config) -> dict[str, tuple[FileEntry, ...]]:
    """Per function, the project's own files at the zip root (hatch's wheel selection), narrowed
    by its `include` patterns (the same gitignore-style globs as `exclude`)."""
    result: dict[str, tuple[FileEntry, ...]] = {}
    for fn in functions(project, config):
        try:
            patterns = [ExcludePattern.parse(p) for p in fn.include]
        except ValueError as exc:
            raise ConfigError(f"tool.lambda-layers.functions.{fn.name}.include: {exc}") from None
        chosen = [
            f for f in project.files if not patterns or any(p.matches(f.path) for p in patterns)
        ]
        if not chosen:
            raise ConfigError(
                f"tool.lambda-layers.functions.{fn.name}.include matches none of the project's "
                f"files ({', '.join(p.path for p in project.files[:5])}...)"
            )
        result[fn.name] = tuple(
            FileEntry(path=f.path, source_path=f.source, mode=file_mode(f.source)) for f in chosen
        )
    return result
