"""Field readers shared by the uv.lock and pylock readers: file URLs, hashes, versions, and
the marker environment with a set of active extras.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote, urlparse

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..errors import LockError

if TYPE_CHECKING:
    from ..targets import Target


UV_LOCK = "uv.lock"
PYLOCK = "pylock.toml"
UNKNOWN_VERSION = "unknown"  # directory/VCS packages may be locked without a version


_T = TypeVar("_T")


_KINDS = {str: "a string", int: "an integer", list: "an array", dict: "a table"}


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."  # noqa: PLR2004


def typed_field(table: Mapping[str, Any], key: str, kind: type[_T], where: str) -> _T | None:
    """``table[key]`` when absent (None) or of `kind`; else a `LockError` naming `where` and
    the key, e.g. ``uv.lock: package x 1.0 wheels[0]: `url` must be a string, got 5``."""
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        expected = _KINDS.get(kind, kind.__name__)
        raise LockError(f"{where}: `{key}` must be {expected}, got {_shown(value)}")
    return value


def string_list(table: Mapping[str, Any], key: str, where: str) -> list[str]:
    """``table[key]`` as a list of strings (empty when absent); else a `LockError`."""
    value = typed_field(table, key, list, where) or []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise LockError(f"{where}: `{key}[{index}]` must be a string, got {_shown(item)}")
    return value


_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def file_url(base_dir: Path, path: str) -> str:
    """A `file:` URL for a path a lock file records relative to its own directory."""
    local = Path(path)
    if not local.is_absolute():
        local = base_dir / local
    return local.resolve().as_uri()


def url_filename(url: str) -> str:
    return unquote(urlparse(url).path.rsplit("/", 1)[-1])


def is_remote(url: str) -> bool:
    return urlparse(url).scheme not in ("", "file")


def python_covered(spec: str, target: Target) -> bool:
    return SpecifierSet(spec).contains(target.python_full_version, prereleases=True)


# `extra == "x"` / `extra != "x"` in packaging's normalised marker text, either way round.
_EXTRA_LEFT = re.compile(r'(?<![\w"])extra (==|!=) "([^"]*)"')


_EXTRA_RIGHT = re.compile(r'"([^"]*)" (==|!=) extra(?![\w"])')


@functools.lru_cache(maxsize=4096)
def with_extras_set(text: str) -> Marker:
    """`text` with every ``extra ==`` / ``extra !=`` turned into ``in extras`` / ``not in extras``.

    Lock markers test ``extra`` against a *set* of active extras: uv writes conflict markers such
    as ``extra == 'extra-5-proj-new' or extra != 'extra-5-proj-old'``, which mean membership.
    packaging evaluates ``extra`` as a single string only, and evaluating once per extra gets
    ``!=`` wrong, so the comparisons are rewritten into PEP 751's set-valued ``extras`` form
    (evaluated by packaging) on packaging's own normalised rendering of the marker.
    """
    rendered = str(Marker(text))
    rendered = _EXTRA_LEFT.sub(
        lambda m: f'"{m[2]}" {"in" if m[1] == "==" else "not in"} extras', rendered
    )
    rendered = _EXTRA_RIGHT.sub(
        lambda m: f'"{m[1]}" {"in" if m[2] == "==" else "not in"} extras', rendered
    )
    return Marker(rendered)


@dataclass(frozen=True)
class MarkerEnv:
    """The target's marker environment plus a set of active extras.

    uv.lock markers see the extra whose dependency list holds them and uv's encoded names for the
    project's active extras (``extra-<len(project)>-<project>-<extra>``); METADATA markers see
    the extras a requirement asked for.
    """

    environment: Mapping[str, str]
    extras: frozenset[str] = frozenset()

    def evaluate(self, marker: Marker, *, extras: Iterable[str] = ()) -> bool:
        active = self.extras | {canonicalize_name(e) for e in extras}
        env: dict[str, str | frozenset[str]] = {
            **self.environment,
            "extra": "",
            "extras": frozenset(active),
            "dependency_groups": frozenset(),
        }
        return with_extras_set(str(marker)).evaluate(env, context="lock_file")


def parse_marker(text: str, where: str) -> Marker:
    try:
        return Marker(text)
    except InvalidMarker as exc:
        raise LockError(f"{where} has an invalid marker {text!r}: {exc}") from exc


def holds(env: MarkerEnv, text: object, where: str, *, extras: Iterable[str] = ()) -> bool:
    if text is None or text == "":
        return True
    if not isinstance(text, str):
        raise LockError(f"{where}: a marker must be a string, got {_shown(text)}")
    marker = parse_marker(text, where)
    try:
        return env.evaluate(marker, extras=extras)
    except (UndefinedComparison, UndefinedEnvironmentName) as exc:
        raise LockError(f"{where}: cannot evaluate marker {text!r}: {exc}") from exc


def sha256_of(
    hashes: Mapping[str, object],
    *,
    file: str,
    package: str,
    filename: str,
    remote: bool,
    lock: str,
    what: str = "wheel",
) -> str | None:
    """The file's sha256 hex digest from a lock's `hashes`, checked to be one (it becomes a
    cache path); None for a local file the lock records no hash for."""
    digest = hashes.get("sha256")
    if digest:
        if not isinstance(digest, str) or not _SHA256_HEX.fullmatch(digest.lower()):
            raise LockError(
                f"{file}: package {package} {what} {filename} has sha256 {_shown(digest)}, which "
                f"is not a sha256 digest (64 hexadecimal digits); the lock file is corrupt: "
                f"re-create it"
            )
        return digest.lower()
    if not remote:
        # Files on the local disk (find-links directories, path sources): uv records no hash
        # for them, and a re-lock would not add one; the fetcher hashes what it reads.
        return None
    raise LockError(
        f"{file}: package {package} {what} {filename} has no sha256 hash; re-lock with hashes "
        f"({lock})"
    )


def same_version(a: object, b: object) -> bool:
    if not isinstance(a, str) or not isinstance(b, str):
        return a == b
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b
