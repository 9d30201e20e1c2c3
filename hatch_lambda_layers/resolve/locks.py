"""Lock files: which one a project builds from (`find_lock`), reading it into a `DependencyGraph`
for one target (`read_lock`, through `uvlock` or `pylock`), and the plain facts other stages read
off a lock (pinned versions, the registries it names).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from ..errors import ConfigError, LockError
from .graph import DependencyGraph

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib
if TYPE_CHECKING:
    from ..targets import Target
from .lockfields import PYLOCK, UV_LOCK, is_remote

LOCK_SETTING = "tool.lambda-layers.lock"


def is_valid_pylock_path(path: Path) -> bool:
    """packaging's rule for pylock file names (its module is loaded only for pylock files)."""
    from packaging.pylock import is_valid_pylock_path as valid

    return valid(path)


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
    except UnicodeDecodeError as exc:
        raise LockError(
            f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
            f"a lock file is UTF-8 TOML: regenerate it"
        ) from None
    except OSError as exc:
        raise LockError(f"{path}: cannot read the lock file: {exc.strerror or exc}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LockError(f"{name}: not valid TOML ({exc}); regenerate the lock file") from exc
    if name == UV_LOCK:
        from .uvlock import graph_from_uv_lock

        return graph_from_uv_lock(
            data, target, project_name=project_name, extras=extras, base_dir=path.parent
        )
    from .pylock import graph_from_pylock

    return graph_from_pylock(
        data,
        target,
        project_name=project_name,
        extras=extras,
        base_dir=path.parent,
        file_name=name,
    )


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
        if isinstance(registry, str) and is_remote(registry):
            seen.setdefault(registry, None)
    return tuple(seen)


def pinned_versions(text: str) -> dict[str, str]:
    """name -> version pinned by a uv.lock (``[[package]]``) or pylock.toml (``[[packages]]``)
    text, without evaluating it for a target: what the change-rate history compares between
    revisions of a lock. Raises ValueError when the text is not TOML."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"not a TOML lock file: {exc}") from None
    versions: dict[str, str] = {}
    for key in ("package", "packages"):
        entries = data.get(key)
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            name, version = entry.get("name"), entry.get("version")
            if isinstance(name, str) and isinstance(version, str):
                versions.setdefault(canonicalize_name(name), version)
    return dict(sorted(versions.items()))
