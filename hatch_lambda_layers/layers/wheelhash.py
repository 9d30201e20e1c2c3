"""The sha256 of a wheel file, the identity under which its derived data (import scans, compiled
bytecode) is cached.

A wheel in the tool's download cache sits at ``.../wheels/sha256/<ab>/<sha256>/<file>.whl``, an
address the fetch stage verified the bytes against, so that name is used as it is; any other
wheel (a test's, a local file) is hashed once per process.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from pathlib import Path

from .zipformat import file_chunks

_HEX64 = re.compile(r"[0-9a-f]{64}")


def wheel_sha256(path: Path) -> str:
    """Hex sha256 of the wheel at `path` (see the module docstring)."""
    digest_dir = path.parent
    if (
        _HEX64.fullmatch(digest_dir.name)
        and digest_dir.parent.name == digest_dir.name[:2]
        and digest_dir.parent.parent.name == "sha256"
        and digest_dir.parent.parent.parent.name == "wheels"
    ):
        return digest_dir.name
    stat = path.stat()
    return _hashed(path.resolve(), stat.st_size, stat.st_mtime_ns)


@cache
def _hashed(path: Path, size: int, mtime_ns: int) -> str:
    del size, mtime_ns  # part of the memo key only: a rewritten file is hashed again
    digest = hashlib.sha256()
    for chunk in file_chunks(path):
        digest.update(chunk)
    return digest.hexdigest()
