"""What decides a build's artifacts, recorded so that a rebuild with nothing changed can stop
before any stage runs.

`inputs.collect_inputs` reads every input once and records, per file, its content hash and its
stat facts: pyproject.toml (the tool table, the project metadata and hatch's file selection),
the VCS ignore files hatch honours, the lock files, a committed lambda-layers.lock, a version
file hatch reads, and the function files hatch selects. With them: the tool's version and a
digest of its own code, the environment variables that change what a build writes (each by a
digest of its value, never the value), the project metadata and file selection as hatch reported
them, and the mtimes of the directories the selection was walked from.

`inputs_changed` says why a recorded build no longer matches (or None): a file's stat facts are
compared first and its content re-hashed only when they differ, so an unchanged project costs a
few `stat` calls. Without the project as hatch reads it (the command line's no-op path imports
no hatchling), added or removed files show in the recorded directories' mtimes; a project whose
metadata hatch computes (metadata hooks, a version from anything but a file) cannot be checked
that way and says so (`NEEDS_PROJECT`).

`Inputs.fingerprint` is a digest of contents only (no paths, times or inodes), so the same
inputs give the same fingerprint in any checkout; the manifest records it. A build without a lock
file resolves against the index, whose state no fingerprint captures, and a uv workspace has
inputs beyond the project's own: such builds are never skipped (`Inputs.not_reusable`).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__

if TYPE_CHECKING:
    from .project import ProjectInfo

PLANFILE = "lambda-layers.lock"  # plan.planfile.PLANFILE_NAME, without importing the planner
LOCK_NAMES = ("uv.lock", "pylock.toml")
VCS_IGNORE_FILES = (".gitignore", ".hgignore")
NEEDS_PROJECT = "the project's metadata is computed by hatch"

# Variables that change what a build writes. Every HATCH_LAMBDA_LAYERS_* variable counts too,
# except those that only change how it runs (waits, retries, where things go).
ENVIRONMENT = (
    "SOURCE_DATE_EPOCH",
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS",
    "PIP_CONFIG_FILE",
    "UV_DEFAULT_INDEX",
    "UV_INDEX_URL",
    "UV_INDEX",
    "UV_EXTRA_INDEX_URL",
    "UV_FIND_LINKS",
    "UV_CONFIG_FILE",
    "UV_NO_CONFIG",
)
TOOL_PREFIX = "HATCH_LAMBDA_LAYERS_"
NOT_DECIDING = frozenset(
    TOOL_PREFIX + name
    for name in (
        "CACHE_DIR",
        "OUTPUT_DIR",
        "LOCK_TIMEOUT",
        "HTTP_TIMEOUT",
        "HTTP_RETRIES",
        "SDIST_TIMEOUT",
        "STORE_LEASE",
        "REHASH",
    )
)
# With `strip` or `compile`, external programs found on these paths write bytes too.
TOOL_SEARCH = ("PATH", "PYENV_ROOT")
# Directories inside a package tree that tools rewrite and hatch never ships from.
UNWATCHED_DIRS = frozenset({"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"})
MAX_WATCHED_DIRS = 2000
_HEX = "0123456789abcdef"


@dataclass(frozen=True)
class FileState:
    """A file as a build saw it: stat facts that change whenever its bytes may have, and what
    the bytes were (sha256 hex and the executable bit a zip entry records)."""

    size: int
    mtime_ns: int
    ctime_ns: int
    ino: int
    executable: bool
    sha256: str

    def same_stat(self, st: os.stat_result) -> bool:
        return (self.size, self.mtime_ns, self.ctime_ns, self.ino) == (
            st.st_size,
            st.st_mtime_ns,
            st.st_ctime_ns,
            st.st_ino,
        )

    def to_list(self) -> list[Any]:
        return [self.size, self.mtime_ns, self.ctime_ns, self.ino, self.executable, self.sha256]

    @classmethod
    def from_list(cls, value: object) -> FileState:
        """From `to_list` output; `ValueError` for anything else (the record is untrusted)."""
        if not isinstance(value, list) or len(value) != 6:  # noqa: PLR2004
            raise ValueError("a file state is a list of six values")
        size, mtime, ctime, ino, executable, sha = value
        if not all(type(v) is int and v >= 0 for v in (size, mtime, ctime, ino)):
            raise ValueError("stat facts must be whole numbers")
        if type(executable) is not bool or not _is_hex64(sha):
            raise ValueError("a file state needs a flag and a sha256")
        return cls(size, mtime, ctime, ino, executable, sha)


def _is_hex64(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and not value.strip(_HEX)  # noqa: PLR2004


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file (the one way digests.py hashes, without its import)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def file_state(path: str | os.PathLike[str]) -> FileState:
    """Stat facts taken before the bytes are hashed: a change while hashing shows next time."""
    st = os.stat(path)
    return FileState(
        st.st_size,
        st.st_mtime_ns,
        st.st_ctime_ns,
        st.st_ino,
        bool(st.st_mode & 0o111),
        file_sha256(path),
    )


def restat(state: FileState, path: str | os.PathLike[str]) -> FileState:
    """`state` with the file's current stat facts (its bytes were just found the same)."""
    st = os.stat(path)
    return FileState(
        st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, state.executable, state.sha256
    )


def still_same(state: FileState, path: str | os.PathLike[str], *, rehash: bool = False) -> bool:
    """Whether the file at `path` still holds what `state` recorded: equal stat facts suffice
    unless `rehash`; otherwise its bytes are hashed again."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode) or st.st_size != state.size:
        return False
    if not rehash and state.same_stat(st):
        return True
    try:
        return bool(st.st_mode & 0o111) == state.executable and file_sha256(path) == state.sha256
    except OSError:
        return False


@dataclass(frozen=True)
class Inputs:
    """Everything recorded about one build's inputs (paths relative to the project root)."""

    tool: str  # version and a digest of the tool's own code
    environment: Mapping[str, str]  # variable name -> digest of its value
    root_names: tuple[str, ...]  # lock, plan and ignore files present beside pyproject.toml
    files: Mapping[str, FileState]
    project: str  # digest of the metadata and file selection hatch reported
    selection: tuple[tuple[str, str], ...]  # (path in the function zip, source path)
    dirs: Mapping[str, int] = field(default_factory=dict)  # directory -> mtime_ns
    hatchless: bool = False  # whether the checks above suffice without hatch
    not_reusable: str = ""  # why a build from these inputs is never skipped ("" when it can be)

    @property
    def fingerprint(self) -> str:
        """``sha256:<hex>`` over contents only: same inputs, same fingerprint anywhere."""
        document = {
            "version": __version__,
            "environment": dict(sorted(self.environment.items())),
            "root_names": list(self.root_names),
            "files": {k: [v.executable, v.sha256] for k, v in sorted(self.files.items())},
            "project": self.project,
        }
        text = json.dumps(document, sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "environment": dict(sorted(self.environment.items())),
            "root_names": list(self.root_names),
            "files": {k: v.to_list() for k, v in sorted(self.files.items())},
            "project": self.project,
            "selection": [list(pair) for pair in self.selection],
            "dirs": dict(sorted(self.dirs.items())),
            "hatchless": self.hatchless,
            "not_reusable": self.not_reusable,
        }

    @classmethod
    def from_dict(cls, data: object) -> Inputs:
        """From `to_dict` output; `ValueError` names what is wrong (the record is untrusted)."""
        if not isinstance(data, Mapping):
            raise ValueError("inputs must be an object")
        environment = _str_map(data.get("environment"), "environment")
        files = data.get("files")
        if not isinstance(files, Mapping):
            raise ValueError("files must be an object")
        dirs = data.get("dirs")
        if not isinstance(dirs, Mapping) or not all(
            isinstance(k, str) and type(v) is int for k, v in dirs.items()
        ):
            raise ValueError("dirs must map names to whole numbers")
        return cls(
            tool=_string(data.get("tool"), "tool"),
            environment=environment,
            root_names=_strings(data.get("root_names"), "root_names"),
            files={_string(k, "a file name"): FileState.from_list(v) for k, v in files.items()},
            project=_string(data.get("project"), "project"),
            selection=_pairs(data.get("selection")),
            dirs=dict(dirs),
            hatchless=data.get("hatchless") is True,
            not_reusable=_string(data.get("not_reusable"), "not_reusable"),
        )


def _string(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string")
    return value


def _strings(value: object, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{what} must be a list of strings")
    return tuple(value)


def _str_map(value: object, what: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError(f"{what} must map strings to strings")
    return dict(value)


def _pairs(value: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list):
        raise ValueError("selection must be a list")
    pairs = []
    for item in value:
        match item:
            case [str(path), str(source)]:
                pairs.append((path, source))
            case _:
                raise ValueError("selection entries are [path, source] pairs")
    return tuple(pairs)


# ------------------------------------------------------------------------------------------
# facts shared by recording and checking (light: os and hashlib only)


def _value_digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def environment(
    environ: Mapping[str, str], *, tools: bool = False, also: Iterable[str] = ()
) -> dict[str, str]:
    """Digests of the set variables that change what a build writes (`ENVIRONMENT`, this
    tool's own, and with `tools` the program search paths), plus any named in `also` (so a
    variable recorded then unset counts as a change)."""
    names = set(ENVIRONMENT) | set(also)
    names |= {n for n in environ if n.startswith(TOOL_PREFIX) and n not in NOT_DECIDING}
    if tools:
        names |= set(TOOL_SEARCH)
    return {n: _value_digest(environ[n]) if n in environ else "" for n in sorted(names)}


def _package_sources(directory: str) -> Iterator[tuple[str, os.stat_result]]:
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False) and entry.name != "__pycache__":
                yield from _package_sources(entry.path)
            elif entry.name.endswith(".py"):
                yield entry.path, entry.stat()


_TOOL: list[str] = []


def tool_identity() -> str:
    """The tool's version and a digest of its own code's stat facts (sizes, mtimes): a build by
    a changed checkout of the same version is not taken for one by the old code."""
    if not _TOOL:
        package = os.path.dirname(os.path.abspath(__file__))
        digest = hashlib.sha256()
        for path, st in sorted(_package_sources(package)):
            digest.update(
                f"{os.path.relpath(path, package)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode()
            )
        _TOOL.append(f"{__version__}+{digest.hexdigest()[:32]}")
    return _TOOL[0]


def is_root_input(name: str) -> bool:
    """Whether a file of this name beside pyproject.toml is an input by being there: lock files
    (`lock = "auto"` picks among them), the committed plan and the VCS ignore files."""
    return (
        name in LOCK_NAMES
        or name == PLANFILE
        or name in VCS_IGNORE_FILES
        or (name.startswith("pylock.") and name.endswith(".toml"))
    )


def root_names(root: str | os.PathLike[str]) -> tuple[str, ...]:
    return tuple(sorted(n for n in os.listdir(root) if is_root_input(n)))


def project_digest(project: ProjectInfo) -> str:
    """The metadata and file selection hatch reported for the project."""
    document = [project.name, project.version, list(project.requirements)]
    text = json.dumps(document + [list(p) for p in selection(project)], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def selection(project: ProjectInfo) -> tuple[tuple[str, str], ...]:
    """(path in the function zip, source path relative to the project root) of each file."""
    root = str(project.root)
    return tuple((f.path, os.path.relpath(f.source, root)) for f in project.files)


def inputs_changed(
    recorded: Inputs,
    root: Path,
    *,
    project: ProjectInfo | None = None,
    environ: Mapping[str, str] | None = None,
    rehash: bool = False,
) -> str | None:
    """Why the inputs differ from `recorded` (a short phrase), or None when they do not.

    With `project` (read by hatch) its metadata and file selection are compared; without it
    the recorded directories' mtimes stand in for the selection (`NEEDS_PROJECT` when they
    cannot). `rehash` re-hashes every input file whatever its stat facts."""
    env = os.environ if environ is None else environ
    reason = (
        recorded.not_reusable
        or _setup_changed(recorded, root, env)
        or _files_changed(recorded, root, rehash=rehash)
    )
    if reason:
        return reason
    if project is not None:
        return None if project_digest(project) == recorded.project else "the project changed"
    if not recorded.hatchless:
        return NEEDS_PROJECT
    return _dirs_changed(root, recorded.dirs)


def _setup_changed(recorded: Inputs, root: Path, environ: Mapping[str, str]) -> str | None:
    """The tool, the deciding environment variables, or which lock and plan files exist."""
    if recorded.tool != tool_identity():
        return "hatch-lambda-layers changed"
    tools = any(n in recorded.environment for n in TOOL_SEARCH)
    now = environment(environ, tools=tools, also=recorded.environment)
    changed = sorted(n for n in now if now[n] != recorded.environment.get(n, ""))
    if changed:
        return f"{', '.join(changed)} changed"
    try:
        names = root_names(root)
    except OSError as exc:
        return f"the project cannot be read ({exc.strerror})"
    if names != recorded.root_names:
        differ = sorted(set(names) ^ set(recorded.root_names))
        return f"lock or plan files changed ({', '.join(differ)})"
    return None


def _files_changed(recorded: Inputs, root: Path, *, rehash: bool) -> str | None:
    for name, state in recorded.files.items():
        if not still_same(state, root / name, rehash=rehash):
            return f"{name} changed"
    return None


def _dirs_changed(root: Path, dirs: Mapping[str, int]) -> str | None:
    for name, mtime in dirs.items():
        try:
            if os.stat(root / name).st_mtime_ns != mtime:
                return f"files were added or removed in {name}"
        except OSError:
            return f"{name} was removed"
    return None
