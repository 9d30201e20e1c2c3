"""Compiled bytecode kept in the tool's cache, so an unchanged package is never compiled again.

One record per group of sources (a wheel's ``.py`` entries, or the function's files),
``<cache>/bytecode/v1/<ab>/<key>.zip``, where the key hashes everything the bytes depend on:
the sources' identity (the wheel's sha256 and each member's name and place, or the bytes of a
file that is not a wheel member), the target's ``X.Y``, the interpreter's magic number, the
install root compiled into the code objects and the compile settings. A record is a zip written
by the layer zip writer (deflated the same way, written atomically) holding each ``.pyc`` at its
place beside its source, and ``index.json`` with each one's sha256 and size and the sources that
did not compile. Layers copy the ``.pyc`` members' compressed bytes straight from the record.

The cache is untrusted input: a record that does not read as one, or does not answer for
exactly the sources asked about, is a miss; and each ``.pyc`` used is checked against the
sha256 its index records, and for the magic number and unchecked-hash flags, before it ships
(`verify`). A record that fails is removed and its sources compiled again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..targets import Target
from .compile import PYC_MODE, Compiled, cache_path
from .entries import BytesEntry, Entry, ZipSourceEntry, entry_sha256
from .layout import unsafe_path_reason
from .wheelhash import wheel_sha256
from .zipformat import COPYABLE_METHODS
from .zipwriter import write_zip

RECORD_VERSION = 1
# Everything about how bytecode is written that is not in the key's other parts.
COMPILE_SETTINGS = "py_compile optimize=0 unchecked-hash PYTHONHASHSEED=0 dfile=install-root"
INDEX = "index.json"
UNCHECKED_HASH_FLAGS = b"\x01\x00\x00\x00"
_HEADER = 8  # magic (4 bytes) and flags (4 bytes)


def record_key(sources: Sequence[Entry], target: Target, magic: str, install_root: str) -> str:
    """The cache key of compiling `sources` (see the module docstring)."""
    digest = hashlib.sha256()
    settings = [RECORD_VERSION, COMPILE_SETTINGS, list(target.python_version), magic, install_root]
    digest.update(json.dumps(settings).encode())
    for entry in sorted(sources, key=lambda e: e.path):
        if isinstance(entry, ZipSourceEntry):
            identity = f"{wheel_sha256(entry.wheel_path)}:{entry.member}"
        else:
            identity = entry_sha256(entry)
        digest.update(f"\n{entry.path}\0{identity}".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class CachedBytecode:
    """Bytecode for a group of sources: source path -> its ``.pyc`` entry, and the sources
    that did not compile (path -> why)."""

    pycs: Mapping[str, ZipSourceEntry | BytesEntry]
    failed: Mapping[str, str]


def record_path(cache_dir: Path, key: str) -> Path:
    return cache_dir / "bytecode" / f"v{RECORD_VERSION}" / key[:2] / f"{key}.zip"


def load(
    cache_dir: Path, key: str, sources: Sequence[Entry], target: Target, magic: str
) -> CachedBytecode | None:
    """The record for `key` when it answers for exactly `sources`, else None."""
    path = record_path(cache_dir, key)
    try:
        with zipfile.ZipFile(path) as zf:
            index = json.loads(zf.read(INDEX))
            infos = {i.filename: i for i in zf.infolist()}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None
    try:
        return _from_index(index, infos, path, sources, _Expect(key, target, magic))
    except (TypeError, ValueError, KeyError):
        return None


@dataclass(frozen=True)
class _Expect:
    key: str
    target: Target
    magic: str


def _from_index(
    index: object,
    infos: Mapping[str, zipfile.ZipInfo],
    path: Path,
    sources: Sequence[Entry],
    expect: _Expect,
) -> CachedBytecode | None:
    if not isinstance(index, dict) or [index.get("version"), index.get("key")] != [
        RECORD_VERSION,
        expect.key,
    ]:
        return None
    if index.get("magic") != expect.magic:
        return None
    compiled, failed = index["compiled"], index["failed"]
    if not isinstance(compiled, dict) or not isinstance(failed, dict):
        return None
    if set(compiled) | set(failed) != {e.path for e in sources} or set(compiled) & set(failed):
        return None
    pycs: dict[str, ZipSourceEntry | BytesEntry] = {}
    for source, (sha, size) in compiled.items():
        member = cache_path(source, expect.target)
        info = infos.get(member)
        if (
            info is None
            or unsafe_path_reason(member) is not None
            or info.file_size != size
            or info.compress_type not in COPYABLE_METHODS
            or not isinstance(sha, str)
        ):
            return None
        pycs[source] = ZipSourceEntry(
            path=member,
            mode=PYC_MODE,
            size=info.file_size,
            compressed_size=info.compress_size,
            crc32=info.CRC,
            compress_type=info.compress_type,
            wheel_path=path,
            member=member,
            header_offset=info.header_offset,
            sha256=sha,
            source_compress_type=info.compress_type,
        )
    return CachedBytecode(pycs=pycs, failed={str(k): str(v) for k, v in failed.items()})


def store(
    cache_dir: Path, key: str, sources: Sequence[Entry], target: Target, compiled: Compiled
) -> CachedBytecode:
    """Write a record of `compiled` and answer from it; when the cache cannot be written, the
    bytecode is answered from memory."""
    by_path = {e.path: e for e in sources}
    pycs = {
        source: BytesEntry(cache_path(source, target), data, PYC_MODE, by_path[source].source)
        for source, data in compiled.pycs.items()
    }
    index = {
        "version": RECORD_VERSION,
        "key": key,
        "python": ".".join(map(str, target.python_version)),
        "magic": compiled.magic,
        "compiled": {
            s: [hashlib.sha256(e.data).hexdigest(), len(e.data)] for s, e in sorted(pycs.items())
        },
        "failed": dict(sorted(compiled.failed.items())),
    }
    path = record_path(cache_dir, key)
    try:
        write_zip(path, [*pycs.values(), BytesEntry(INDEX, json.dumps(index).encode())])
    except OSError:
        return CachedBytecode(pycs=dict(pycs), failed=dict(compiled.failed))
    loaded = load(cache_dir, key, sources, target, compiled.magic)
    return loaded or CachedBytecode(pycs=dict(pycs), failed=dict(compiled.failed))


def verify(pycs: Sequence[ZipSourceEntry | BytesEntry], magic: str) -> bool:
    """Whether every cached ``.pyc`` of `pycs` has the bytes its record's index promises (its
    sha256), the interpreter's `magic` and the unchecked-hash flags."""
    header = bytes.fromhex(magic) + UNCHECKED_HASH_FLAGS
    by_record: dict[Path, list[ZipSourceEntry]] = {}
    for pyc in pycs:
        if isinstance(pyc, ZipSourceEntry):
            by_record.setdefault(pyc.wheel_path, []).append(pyc)
    try:
        for path, entries in by_record.items():
            with zipfile.ZipFile(path) as zf:
                for entry in entries:
                    data = zf.read(entry.member)
                    if data[:_HEADER] != header or hashlib.sha256(data).hexdigest() != entry.sha256:
                        return False
    except (OSError, KeyError, zipfile.BadZipFile, ValueError):
        return False
    return True


def discard(cache_dir: Path, key: str) -> None:
    """Remove a record that failed `verify`."""
    with contextlib.suppress(OSError):
        record_path(cache_dir, key).unlink()
