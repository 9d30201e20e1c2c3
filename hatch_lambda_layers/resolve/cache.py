"""The content-addressed cache of downloads and built wheels, and how a hit is trusted.

Layout: ``<root>/<kind>/sha256/<aa>/<key>/<filename>``, where ``<key>`` is a sha256 hex digest
(checked to be 64 hex digits before it becomes a path component): the file's own for downloads,
the source distribution's for wheels built from one. A file reaches that place only by an atomic
rename, after its digest was checked; partial downloads live in ``<root>/tmp`` until then.

Trusting a hit without re-reading it: right after the rename, a sidecar ``.<filename>.stat``
records the file's sha256 and its stat facts (size, mtime and ctime in nanoseconds, inode,
device). A hit whose facts are all unchanged is used as it is. Replacing the file (a rename),
rewriting it in place, or writing it and then resetting its mtime (``touch -d``) all change
its ctime or inode, and ctime cannot be set by an unprivileged process, so any such change
is noticed by one ``stat``. When a fact differs (or the sidecar is missing, e.g. after a CI
cache restore) the file is re-hashed: if the digest still matches, the sidecar is rewritten;
if not, a warning names the file and the entry is deleted, so the caller downloads (or builds)
it again. ``rehash`` re-hashes every hit regardless.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

from ..digests import file_sha256
from ..errors import ConfigError, FetchError
from ..files import write_text_atomic

CACHE_DIR_ENV = "HATCH_LAMBDA_LAYERS_CACHE_DIR"


_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def is_sha256(value: object) -> bool:
    """True for a sha256 hex digest: exactly 64 lowercase hexadecimal digits."""
    return isinstance(value, str) and _SHA256_HEX.fullmatch(value) is not None


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$HATCH_LAMBDA_LAYERS_CACHE_DIR``, else ``$XDG_CACHE_HOME/hatch-lambda-layers``."""
    env = os.environ if environ is None else environ
    explicit = env.get(CACHE_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = env.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "hatch-lambda-layers"


def checked_filename(filename: str) -> str:
    """`filename` when it is a plain file name that may be stored; else `FetchError`."""
    if (
        not filename
        or filename != os.path.basename(filename)
        or "/" in filename
        or "\\" in filename
        or "\x00" in filename
        or filename.startswith(".")
    ):
        raise FetchError(f"refusing to store a download named {filename!r}: not a plain file name")
    return filename


@dataclass(frozen=True)
class _Facts:
    """What the sidecar records of a cache entry."""

    sha256: str
    size: int
    mtime_ns: int
    ctime_ns: int
    ino: int
    dev: int

    @classmethod
    def of(cls, sha256: str, st: os.stat_result) -> _Facts:
        return cls(sha256, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def _sidecar(path: Path) -> Path:
    return path.with_name(f".{path.name}.stat")


def _read_facts(path: Path) -> _Facts | None:
    try:
        data = json.loads(_sidecar(path).read_text(encoding="utf-8"))
        facts = _Facts(**data)
    except (OSError, ValueError, TypeError):
        return None
    fields = (facts.size, facts.mtime_ns, facts.ctime_ns, facts.ino, facts.dev)
    if not is_sha256(facts.sha256) or not all(type(v) is int for v in fields):
        return None
    return facts


def _write_facts(path: Path, sha256: str) -> None:
    """Record `path`'s digest and stat facts; a cache that cannot take them still works (every
    hit is then re-hashed)."""
    with contextlib.suppress(OSError):
        write_text_atomic(_sidecar(path), json.dumps(asdict(_Facts.of(sha256, path.stat()))))


def digest_of(path: Path) -> str:
    """The sha256 hex of `path`: from its sidecar when `path` is a cache entry whose stat facts
    are unchanged, else computed by reading it."""
    facts = _read_facts(path)
    try:
        current = path.stat()
    except OSError:
        current = None
    if facts is not None and current is not None and _Facts.of(facts.sha256, current) == facts:
        return facts.sha256
    return file_sha256(path)


@dataclass
class ContentCache:
    """The cache rooted at `root`. `warn` hears about entries found tampered with."""

    root: Path
    rehash: bool = False
    warn: Callable[[str], None] | None = None

    def entry(self, kind: str, key: str, filename: str) -> Path:
        """Where a file of `kind` with cache key `key` (a sha256 hex digest) is stored."""
        if not is_sha256(key):
            raise FetchError(
                f"refusing cache key {key!r} for {filename!r}: not a sha256 hex digest"
            )
        return self.root / kind / "sha256" / key[:2] / key / checked_filename(filename)

    def make_dir(self, path: Path) -> Path:
        """`path` created (with its parents); a cache path that is a file is a configuration
        error naming it, other failures a one-line error naming the directory."""
        try:
            path.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            blocker = next((p for p in (path, *path.parents) if p.is_file()), path)
            raise ConfigError(
                f"the cache directory {self.root} cannot be used: {blocker} is a file, not a "
                f"directory; remove it or set {CACHE_DIR_ENV} to a directory"
            ) from None
        except OSError as exc:
            raise FetchError(
                f"cannot write to the cache directory {self.root}: {exc.strerror or exc}; make "
                f"it writable or set {CACHE_DIR_ENV} to another directory"
            ) from None
        return path

    def temp_file(self) -> tuple[IO[bytes], Path]:
        """A new file in ``<root>/tmp`` where a download lands until its digest is checked."""
        tmp_dir = self.make_dir(self.root / "tmp")
        fd, name = tempfile.mkstemp(dir=tmp_dir, suffix=".part")
        return os.fdopen(fd, "wb"), Path(name)

    def store(self, temp: Path, kind: str, key: str, filename: str, *, sha256: str) -> Path:
        """Move the checked file `temp` (whose digest is `sha256`) into its place."""
        dest = self.entry(kind, key, filename)
        self.make_dir(dest.parent)
        try:
            os.replace(temp, dest)
        except OSError as exc:
            raise FetchError(
                f"cannot store {filename} in the cache at {dest}: {exc.strerror or exc}; "
                "remove that path"
            ) from None
        _write_facts(dest, sha256)
        return dest

    def lookup(
        self, kind: str, key: str, filename: str, *, sha256: str | None, size: int | None = None
    ) -> Path | None:
        """The entry when it is present and intact (see the module docstring), else None.

        `sha256` is the digest the file must have (None: the one its sidecar recorded when it
        was stored, as for built wheels); `size`, when known, must match too."""
        path = self.entry(kind, key, filename)
        try:
            st = path.lstat()
        except OSError:
            return None
        facts = _read_facts(path)
        wanted = sha256 or (facts.sha256 if facts else None)
        if wanted is None or not stat.S_ISREG(st.st_mode):
            self.discard(path)
            return None
        if size is None or st.st_size == size:
            if not self.rehash and facts == _Facts.of(wanted, st):
                return path
            actual = file_sha256(path)
            if actual == wanted:
                _write_facts(path, actual)
                return path
        if self.warn is not None:
            self.warn(
                f"the cached {filename} ({path.parent}) is not the file that was stored "
                f"(its sha256 or size changed): discarded, fetching it again"
            )
        self.discard(path)
        return None

    def find(self, kind: str, key: str, suffix: str) -> Path | None:
        """The one intact entry ending in `suffix` stored under `key`, when there is one."""
        directory = self.entry(kind, key, "x").parent
        try:
            names = sorted(
                p.name for p in directory.iterdir() if p.name.endswith(suffix) and p.name[0] != "."
            )
        except OSError:
            return None
        found = [self.lookup(kind, key, name, sha256=None) for name in names]
        intact = [p for p in found if p is not None]
        return intact[0] if len(intact) == 1 else None

    @staticmethod
    def discard(path: Path) -> None:
        """Delete an entry and its sidecar (missing ones are fine)."""
        for victim in (path, _sidecar(path)):
            with contextlib.suppress(OSError):
                victim.unlink()
