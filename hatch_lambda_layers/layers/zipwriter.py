"""Byte-reproducible zips, copying wheel members' compressed bytes as they are.

The stdlib `zipfile` can only write data it compresses itself, so this module writes local
headers, data and the central directory on its own (plain ZIP, no ZIP64: Lambda's limits are far
below 65,535 entries and 4 GiB, and a zip that would need ZIP64 is refused). Entries are sorted by
path, share one timestamp, carry a Unix create-system and external attributes
``(0o100000 | mode) << 16``, and have no extra fields, comments or directory entries. Bytes this
module deflates itself depend on the zlib build (zlib and zlib-ng differ); copied wheel members
never do.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import secrets
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..errors import LambdaLayersError, UnsafeWheelError
from .entries import Entry, ZipSourceEntry, checked_sorted, content_hash_of, entry_chunks
from .zipformat import (
    CENTRAL,
    CENTRAL_SIG,
    CHUNK,
    END,
    END_SIG,
    FLAG_UTF8,
    LOCAL,
    LOCAL_SIG,
    MADE_BY,
    MAX_32,
    MAX_ENTRIES,
    VERSION,
    deflate_stream,
    dos_datetime,
    file_chunks,
    local_header_at,
    resolve_epoch,
)


@dataclass(frozen=True)
class ZipResult:
    sha256: str  # hex digest of the zip file
    code_sha256: str  # base64 of the same digest (Lambda's CodeSha256)
    content_hash: str  # "sha256:<hex>" over paths, modes and file hashes
    size_zipped: int
    size_unzipped: int
    entry_count: int


@dataclass(frozen=True)
class _Written:
    name: bytes
    flags: int
    method: int
    crc32: int
    compressed_size: int
    size: int
    offset: int
    mode: int


class _ZipWriter:
    def __init__(self, out: BinaryIO, dos_time: int, dos_date: int, target: Path) -> None:
        self.out = out
        self.dos_time = dos_time
        self.dos_date = dos_date
        self.target = target
        self.written: list[_Written] = []

    def _check32(self, value: int, what: str) -> None:
        if value >= MAX_32:
            raise LambdaLayersError(
                f"{self.target}: {what} reaches 4 GiB, which needs ZIP64; that is far above "
                "Lambda's limits, so split the content"
            )

    def local_header(self, w: _Written) -> bytes:
        return (
            LOCAL.pack(
                LOCAL_SIG,
                VERSION,
                w.flags,
                w.method,
                self.dos_time,
                self.dos_date,
                w.crc32,
                w.compressed_size,
                w.size,
                len(w.name),
                0,
            )
            + w.name
        )

    def add(
        self, path: str, mode: int, method: int, crc32: int, csize: int, *, size: int
    ) -> _Written:
        name = path.encode("utf-8")
        flags = 0 if path.isascii() else FLAG_UTF8
        offset = self.out.tell()
        for value, what in ((offset, "an entry offset"), (csize, path), (size, path)):
            self._check32(value, what)
        w = _Written(name, flags, method, crc32, csize, size, offset, mode)
        self.written.append(w)
        return w

    def finish(self) -> None:
        start = self.out.tell()
        self._check32(start, "the central directory offset")
        for w in self.written:
            self.out.write(
                CENTRAL.pack(
                    CENTRAL_SIG,
                    MADE_BY,
                    VERSION,
                    w.flags,
                    w.method,
                    self.dos_time,
                    self.dos_date,
                    w.crc32,
                    w.compressed_size,
                    w.size,
                    len(w.name),
                    0,  # extra field length
                    0,  # comment length
                    0,  # disk number
                    0,  # internal attributes
                    (0o100000 | w.mode) << 16,
                    w.offset,
                )
                + w.name
            )
        size = self.out.tell() - start
        self._check32(size, "the central directory")
        count = len(self.written)
        self.out.write(END.pack(END_SIG, 0, 0, count, count, size, start, 0))


def _copy_raw(entry: ZipSourceEntry, source: BinaryIO, out: BinaryIO) -> None:
    """Copy the member's compressed bytes from the wheel, after checking its local header."""
    header = local_header_at(source, entry.header_offset)
    if header is None:
        raise LambdaLayersError(
            f'wheel {entry.wheel_path.name}: no local header for "{entry.member}" at offset '
            f"{entry.header_offset}; the wheel changed or is corrupt, fetch it again"
        )
    local_name, _, data_offset = header
    if local_name != entry.member:
        raise UnsafeWheelError(
            f'wheel {entry.wheel_path.name}: local header names "{local_name}" where the '
            f'directory lists "{entry.member}"; refusing an ambiguous wheel'
        )
    source.seek(data_offset)
    remaining = entry.compressed_size
    while remaining:
        chunk = source.read(min(remaining, CHUNK))
        if not chunk:
            raise LambdaLayersError(
                f'wheel {entry.wheel_path.name}: member "{entry.member}" is truncated; '
                "fetch the wheel again"
            )
        out.write(chunk)
        remaining -= len(chunk)


def _write_streamed(writer: _ZipWriter, entry: Entry) -> str:
    """Deflate an entry's bytes into the zip; returns their sha256 hex."""
    out = writer.out
    offset = out.tell()
    placeholder = _Written(entry.path.encode("utf-8"), 0, zipfile.ZIP_DEFLATED, 0, 0, 0, 0, 0)
    out.write(writer.local_header(placeholder))
    crc, size, csize = 0, 0, 0
    digest = hashlib.sha256()

    def counted() -> Iterator[bytes]:
        nonlocal crc, size
        for chunk in entry_chunks(entry):
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
            digest.update(chunk)
            yield chunk

    for block in deflate_stream(counted()):
        out.write(block)
        csize += len(block)
    end = out.tell()
    out.seek(offset)
    w = writer.add(entry.path, entry.mode, zipfile.ZIP_DEFLATED, crc, csize, size=size)
    out.write(writer.local_header(w))
    out.seek(end)
    return digest.hexdigest()


def write_zip(
    path: str | os.PathLike[str], entries: Iterable[Entry], *, epoch: int | None = None
) -> ZipResult:
    """Write `entries` as a byte-reproducible zip at `path` (atomically) and describe it.

    Two entries with the same path are an error naming both sources; nothing wins silently.
    """
    target = Path(path)
    ordered = checked_sorted(entries)
    if len(ordered) > MAX_ENTRIES:
        raise LambdaLayersError(
            f"{target}: {len(ordered)} files would need ZIP64 (more than 65535 entries); "
            "use tool.lambda-layers.exclude or more layers to make it smaller"
        )
    dos_time, dos_date = dos_datetime(resolve_epoch(epoch))
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        # os.open with 0o666 lets the umask decide the final permissions, like any new file.
        with os.fdopen(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb") as out:
            writer = _ZipWriter(out, dos_time, dos_date, target)
            hashes = _write_entries(writer, ordered)
            writer.finish()
            out.flush()
            os.fsync(out.fileno())
        digest = hashlib.sha256()
        for chunk in file_chunks(temp):
            digest.update(chunk)
        size_zipped = temp.stat().st_size
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    return ZipResult(
        sha256=digest.hexdigest(),
        code_sha256=base64.b64encode(digest.digest()).decode("ascii"),
        content_hash=content_hash_of(hashes),
        size_zipped=size_zipped,
        size_unzipped=sum(w.size for w in writer.written),
        entry_count=len(writer.written),
    )


def _write_entries(writer: _ZipWriter, ordered: Sequence[Entry]) -> list[tuple[str, int, str]]:
    """Write every entry, in order: wheel members whose compression is kept are copied raw,
    the rest deflated here. Returns (path, mode, sha256 hex) of each, for the content hash."""
    hashes: list[tuple[str, int, str]] = []
    with contextlib.ExitStack() as stack:
        sources: dict[Path, BinaryIO] = {}
        for entry in ordered:
            if (
                isinstance(entry, ZipSourceEntry)
                and entry.source_compress_type == entry.compress_type
            ):
                if entry.wheel_path not in sources:
                    sources[entry.wheel_path] = stack.enter_context(entry.wheel_path.open("rb"))
                _write_copied(writer, entry, sources[entry.wheel_path])
                sha = entry.sha256
            else:
                sha = _write_streamed(writer, entry)
            hashes.append((entry.path, entry.mode, sha))
    return hashes


def _write_copied(writer: _ZipWriter, entry: ZipSourceEntry, source: BinaryIO) -> None:
    """A local header from the entry's recorded sizes and CRC, then the member's raw bytes."""
    w = writer.add(
        entry.path,
        entry.mode,
        entry.compress_type,
        entry.crc32,
        entry.compressed_size,
        size=entry.size,
    )
    writer.out.write(writer.local_header(w))
    _copy_raw(entry, source, writer.out)
