"""Per-wheel layout results, cached by the wheel's sha256, the layout options and the code that
places members, so a warm build takes the entries of a wheel it has seen without opening it: no
central directory read, no path checks or exclude matching, no verdict (RECORD) to load.

Layout: ``<cache>/layout/v<LAYOUT_FORMAT>/<aa>/<key>.json``, where the key is the sha256 of the
wheel's digest (from the download cache's sidecar, `resolve.cache.digest_of`), the options and
`code_identity()` (the tool's version and a digest of this module's and the layout, wheel,
verify and entries modules' source). An entry holds the wheel's file name and one
row per kept member: path in the layer, mode, sizes, CRC-32, compression (as written and as
stored), member name, local header offset and sha256.

An entry is untrusted when read back: it must name the same wheel file, and every row must be a
safe relative path under the layout prefix (sorted, no duplicates), a 0644/0755 mode, a copyable
compression, 32-bit sizes and CRC, a sha256, and lie within the wheel's bytes; anything else is
recomputed from the wheel and rewritten. The zip writer still checks each member's local header
name when it copies the member.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from ..files import write_text_atomic
from ..resolve.cache import digest_of, is_sha256
from .entries import PackageFiles, ZipSourceEntry, entry_overhead
from .layout import MODE_EXECUTABLE, MODE_FILE, LayoutOptions, unsafe_path_reason
from .zipformat import LOCAL_HEADER_SIZE

LAYOUT_FORMAT = 1
_LIMIT_32 = 1 << 32
_ROW = 10  # fields per entry row
_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
_CODE = ("layoutcache.py", "layout.py", "wheel.py", "verify.py", "entries.py")
_IDENTITY: list[str] = []


def code_identity() -> str:
    """What placed the members: the version, and the source of the modules that decide it
    (read, not imported: the verifier is loaded only for wheels not laid out before)."""
    if not _IDENTITY:
        from .. import __version__

        digest = hashlib.sha256(f"{__version__}\0".encode())
        here = Path(__file__).parent
        for name in _CODE:
            digest.update((here / name).read_bytes())
        _IDENTITY.append(digest.hexdigest())
    return _IDENTITY[0]


def options_key(options: LayoutOptions) -> str:
    """The options that decide a layout, as text."""
    services = None if options.botocore_services is None else sorted(options.botocore_services)
    return json.dumps(
        [
            options.prefix,
            options.default_excludes,
            list(options.exclude),
            services,
            options.compile,
        ],
        separators=(",", ":"),
    )


def _row(entry: ZipSourceEntry) -> list[object]:
    return [
        entry.path,
        entry.mode,
        entry.size,
        entry.compressed_size,
        entry.crc32,
        entry.compress_type,
        entry.member,
        entry.header_offset,
        entry.sha256,
        entry.source_compress_type,
    ]


def _int32(value: object) -> int:
    if type(value) is not int or not 0 <= value < _LIMIT_32:
        raise ValueError("not a 32-bit whole number")
    return value


def _entry(row: object, wheel: Path, prefix: str, wheel_size: int) -> ZipSourceEntry:
    """One validated row; `ValueError` otherwise."""
    if not isinstance(row, list) or len(row) != _ROW:
        raise ValueError("a row has ten fields")
    path, mode, size, csize, crc, method, member, offset, sha, source_method = row
    if not isinstance(path, str) or not path.startswith(prefix) or path.endswith("/"):
        raise ValueError("path outside the layout prefix")
    if unsafe_path_reason(path) is not None:
        raise ValueError("unsafe path")
    if mode not in (MODE_FILE, MODE_EXECUTABLE) or type(mode) is not int:
        raise ValueError("bad mode")
    if method not in _METHODS or type(source_method) is not int:
        raise ValueError("bad compression")
    if method not in (source_method, zipfile.ZIP_DEFLATED):
        raise ValueError("only a re-deflated member changes its compression")
    if not isinstance(member, str) or not member or not is_sha256(sha):
        raise ValueError("bad member name or digest")
    start = _int32(offset)
    if start + LOCAL_HEADER_SIZE + _int32(csize) > wheel_size:
        raise ValueError("the member lies beyond the wheel's end")
    return ZipSourceEntry(
        path=path,
        mode=mode,
        size=_int32(size),
        compressed_size=csize,
        crc32=_int32(crc),
        compress_type=method,
        wheel_path=wheel,
        member=member,
        header_offset=start,
        sha256=sha,
        source_compress_type=source_method,
    )


def package_from_rows(wheel: Path, rows: object, prefix: str, wheel_size: int) -> PackageFiles:
    """The `PackageFiles` of cached rows, validated (see the module docstring)."""
    try:
        name, version, _, _ = parse_wheel_filename(wheel.name)
    except InvalidWheelFilename as exc:
        raise ValueError(str(exc)) from None
    if not isinstance(rows, list):
        raise ValueError("entries must be a list")
    entries = [_entry(row, wheel, prefix, wheel_size) for row in rows]
    if any(a.path >= b.path for a, b in itertools.pairwise(entries)):
        raise ValueError("entries must be sorted by path, each once")
    return PackageFiles(
        name=name,
        version=str(version),
        wheel_path=wheel,
        entries=tuple(entries),
        size_unzipped=sum(e.size for e in entries),
        size_zipped=sum(e.compressed_size + entry_overhead(e.path) for e in entries),
    )


class LayoutCache:
    """The layout entries under ``<cache_dir>/layout`` for one set of options."""

    def __init__(self, cache_dir: Path, options: LayoutOptions) -> None:
        self.root = cache_dir / "layout" / f"v{LAYOUT_FORMAT}"
        self.options = options
        self._salt = f"{code_identity()}\0{options_key(options)}\0"

    def _path(self, wheel_sha256: str) -> Path:
        key = hashlib.sha256((self._salt + wheel_sha256).encode()).hexdigest()
        return self.root / key[:2] / f"{key}.json"

    def load(self, wheel: Path) -> tuple[PackageFiles | None, str]:
        """(the cached entries of `wheel` or None, the wheel's sha256)."""
        sha = digest_of(wheel)
        try:
            data = json.loads(self._path(sha).read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("wheel") != wheel.name:
                return None, sha
            size = os.stat(wheel).st_size
            return package_from_rows(wheel, data.get("entries"), self.options.prefix, size), sha
        except (OSError, ValueError):
            return None, sha

    def store(self, sha: str, package: PackageFiles) -> None:
        """Keep `package`'s entries (all wheel members) for the wheel with digest `sha`; a
        cache that cannot take them costs the next build a layout."""
        rows = [_row(e) for e in package.entries if isinstance(e, ZipSourceEntry)]
        if len(rows) != len(package.entries):
            return
        document = {"wheel": package.wheel_path.name, "entries": rows}
        path = self._path(sha)
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(path, json.dumps(document, separators=(",", ":")))


def cached_layouts(
    cache: LayoutCache, paths: Sequence[Path]
) -> tuple[list[PackageFiles | None], list[str]]:
    """The cached entries of each wheel (None where there are none) and each wheel's sha256."""
    found = [cache.load(path) for path in paths]
    return [f for f, _ in found], [s for _, s in found]
