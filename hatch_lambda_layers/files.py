"""Writing files so that readers never see half of one, and keeping every path the tool writes,
deletes or publishes inside the directory it belongs to."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from .errors import LambdaLayersError


class UnsafePathError(LambdaLayersError):
    """A name read from a manifest, plan file or lock would leave its directory."""


def confined(directory: Path, name: str, *, what: str) -> Path:
    """`directory / name` when `name` is a plain file name (no separators, no `..`, not hidden
    as `.` or empty); else an `UnsafePathError` quoting `name` and `what` it came from."""
    if (
        not name
        or name in (".", "..")
        or "/" in name
        or "\\" in name
        or "\x00" in name
        or name != os.path.basename(name)
    ):
        raise UnsafePathError(
            f"{what} names {name!r}, which is not a plain file name inside {directory}; "
            f"refusing to touch it (the file was edited or is corrupt: delete it and build again)"
        )
    return directory / name


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write to a temporary file beside `path`, then replace it: readers never see half a file."""
    import tempfile

    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def file_mode(path: Path) -> int:
    """0o755 for a file with any execute bit, else 0o644 (what a zip entry records)."""
    try:
        return 0o755 if os.stat(path).st_mode & 0o111 else 0o644
    except OSError:
        return 0o644


LOCK_TIMEOUT_ENV = "HATCH_LAMBDA_LAYERS_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = 600.0


class BuildLock:
    """An exclusive lock on a directory for one build (`fcntl.flock` on a lock file, released by
    the kernel when the process dies, so a killed build never leaves a stale lock).

    `acquire` waits for another holder up to `timeout` seconds (default
    ``$HATCH_LAMBDA_LAYERS_LOCK_TIMEOUT`` or 600), telling `notify` once which process holds it,
    then fails naming that process. Where `fcntl` does not exist (Windows) builds are not
    locked against each other."""

    def __init__(
        self,
        path: Path,
        timeout: float | None = None,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self.path = path
        self.timeout = timeout if timeout is not None else _lock_timeout()
        self.notify = notify
        self._fd: int | None = None

    def _holder(self) -> str:
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            text = ""
        return f"process {text}" if text else "another process"

    def acquire(self) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = self._holder()
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise LambdaLayersError(
                        f"{self.path.parent} is locked by a build in {holder} for more than "
                        f"{self.timeout:g} s; wait for it to finish, or build elsewhere with -o "
                        f"(set {LOCK_TIMEOUT_ENV} to wait longer)"
                    ) from None
                if not told and self.notify is not None:
                    self.notify(f"Waiting for the build in {holder} to release {self.path.parent}")
                    told = True
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} on {os.uname().nodename}".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None


def _lock_timeout() -> float:
    raw = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    try:
        return float(raw) if raw else DEFAULT_LOCK_TIMEOUT
    except ValueError:
        return DEFAULT_LOCK_TIMEOUT
