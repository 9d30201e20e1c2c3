"""Writing files so that readers never see half of one, and keeping every path the tool writes,
deletes or publishes inside the directory it belongs to."""

from __future__ import annotations

import os
import tempfile
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
            f"refusing to touch it (the file was edited or is corrupt: rebuild it)"
        )
    return directory / name


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write to a temporary file beside `path`, then replace it: readers never see half a file."""
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
