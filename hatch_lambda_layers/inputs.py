"""Reading a project's build inputs into a `fingerprint.Inputs` record (I/O): which files decide
the artifacts, their stat facts and hashes, the directories hatch's file selection was walked
from, and whether the record can be checked without hatch."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .config import Config
from .fingerprint import (
    LOCK_NAMES,
    MAX_WATCHED_DIRS,
    PLANFILE,
    UNWATCHED_DIRS,
    VCS_IGNORE_FILES,
    Inputs,
    environment,
    file_state,
    project_digest,
    root_names,
    selection,
    tool_identity,
)
from .project import ProjectInfo

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

PYPROJECT = "pyproject.toml"


def collect_inputs(
    project: ProjectInfo,
    config: Config,
    *,
    output_dir: Path | None = None,
    local_files: Iterable[Path] = (),
    environ: Mapping[str, str] | None = None,
) -> Inputs:
    """Everything that decides this build's artifacts, read now (see `fingerprint`), with
    `local_files`: the wheels and sdists the lock names on local disk (one rebuilt under the
    same name is a change). Called once the output directory exists, so creating it does not
    count as a change."""
    root = project.root
    table = _pyproject(root)
    names = root_names(root)
    locks = _lock_files(root, config.lock, names)
    version_file, hatchless = _hatch_reads(table)
    paths = [PYPROJECT, *_vcs_ignore_files(root), *locks]
    if PLANFILE in names:
        paths.append(PLANFILE)
    if version_file is not None:
        paths.append(version_file)
    pairs = selection(project)
    paths += [source for _, source in pairs]
    paths += [os.path.relpath(path, root) for path in local_files]
    dirs = watched_dirs(root, [source for _, source in pairs], skip=output_dir)
    return Inputs(
        tool=tool_identity(),
        environment=environment(
            os.environ if environ is None else environ, tools=config.strip or bool(config.compile)
        ),
        root_names=names,
        files={p: file_state(root / p) for p in dict.fromkeys(paths)},
        project=project_digest(project),
        selection=pairs,
        dirs=dirs or {},
        hatchless=hatchless and dirs is not None,
        not_reusable=_not_reusable(table, locks),
    )


def _pyproject(root: Path) -> dict[str, Any]:
    with (root / PYPROJECT).open("rb") as fh:
        return tomllib.load(fh)


def _table(data: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    for key in keys:
        value = data.get(key)
        data = value if isinstance(value, Mapping) else {}
    return data


def _not_reusable(table: Mapping[str, Any], locks: list[str]) -> str:
    if not locks:
        return "it resolves without a lock file"
    if _table(table, "tool", "uv", "workspace"):
        return "it is a uv workspace"
    return ""


def _lock_files(root: Path, setting: str, names: Iterable[str]) -> list[str]:
    """The lock files `lock` may pick (paths relative to the root): every candidate of
    ``auto``, none for ``none``, else the configured one."""
    if setting == "none":
        return []
    if setting == "auto":
        return [n for n in names if n in LOCK_NAMES or n.startswith("pylock.")]
    path = Path(setting)
    full = path if path.is_absolute() else root / path
    return [os.path.relpath(full, root)] if full.is_file() else []


def _hatch_reads(table: Mapping[str, Any]) -> tuple[str | None, bool]:
    """(the file hatch reads the version from, whether name, version and dependencies follow
    from pyproject.toml and that file alone)."""
    dynamic = _table(table, "project").get("dynamic", [])
    dynamic = set(dynamic) if isinstance(dynamic, list) else {"dependencies"}
    if {"name", "dependencies", "optional-dependencies"} & dynamic or _table(
        table, "tool", "hatch", "metadata", "hooks"
    ):
        return None, False
    if "version" not in dynamic:
        return None, True
    version = _table(table, "tool", "hatch", "version")
    path = version.get("path")
    if version.get("source", "regex") != "regex" or not isinstance(path, str):
        return None, False
    return os.path.normpath(path), True


def _vcs_ignore_files(root: Path) -> list[str]:
    """The .gitignore / .hgignore hatch reads: the nearest at or above the root, up to the
    repository's top."""
    found: list[str] = []
    for name, boundary in zip(VCS_IGNORE_FILES, (".git", ".hg"), strict=True):
        directory = root
        while True:
            if (directory / name).is_file():
                found.append(os.path.relpath(directory / name, root))
                break
            if (directory / boundary).exists() or directory.parent == directory:
                break
            directory = directory.parent
    return found


def watched_dirs(root: Path, sources: Iterable[str], *, skip: Path | None) -> dict[str, int] | None:
    """mtime_ns of the root, of every directory under each top-level directory holding a
    selected file, and of the directory of each file outside the root; None when there are
    more than `MAX_WATCHED_DIRS` (the record then needs hatch to be checked)."""
    dirs: dict[str, int] = {".": os.stat(root).st_mtime_ns}
    tops: set[str] = set()
    for source in sources:
        head, _, rest = source.partition(os.sep)
        if head == os.pardir:
            parent = os.path.dirname(source)
            dirs[parent] = os.stat(root / parent).st_mtime_ns
        elif rest:
            tops.add(head)
    excluded = os.path.abspath(skip) if skip is not None else None
    pending = sorted(tops)
    while pending:
        rel = pending.pop()
        full = root / rel
        if excluded is not None and os.path.abspath(full) == excluded:
            continue
        dirs[rel] = os.stat(full).st_mtime_ns
        if len(dirs) > MAX_WATCHED_DIRS:
            return None
        with os.scandir(full) as entries:
            pending += [
                os.path.join(rel, e.name)
                for e in entries
                if e.is_dir(follow_symlinks=False) and e.name not in UNWATCHED_DIRS
            ]
    return dirs
