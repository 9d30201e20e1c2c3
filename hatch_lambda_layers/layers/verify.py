"""Verification of a wheel before its members are copied raw into a layer.

The zip writer copies members' compressed bytes as they are and writes the central directory's
CRC-32 and sizes into the layer, so a wheel whose directory lies would yield a layer that does
not read back. `verify_wheel` therefore checks every file member against its own bytes, once:

- names: UTF-8 (flagged as such when not ASCII), safe to extract (`layout.check_member`),
  unique, not cut short by a NUL, and named alike by the local header and the directory;
- extents: members' data do not overlap each other or the central directory (the overlapping
  members of a "zip bomb" are refused), no member declares 4 GiB or more (ZIP64, far beyond
  Lambda's limits, which `plan.limits` reports for anything smaller), a stored member's two
  sizes agree, and a deflated one declares no more than deflate's maximum ratio (1032:1) over
  its compressed size;
- contents: each member is inflated from the very bytes the writer copies, never past its
  declared size plus one byte, and must end exactly at its declared compressed size with its
  declared size and CRC-32;
- RECORD vouches for every file member (all but RECORD itself and its signatures) with a
  sha256-or-stronger digest and a size that match the bytes;
- METADATA's Name and Version equal the wheel file name's (normalised with packaging).

The outcome is a `WheelVerdict`: each member's sha256, which the layer's content hash is made
of. `verdicts.verified_wheel` caches it by the wheel's sha256, so a warm build inflates nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from packaging.metadata import parse_email
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from ..errors import CorruptWheelError, LambdaLayersError, UnsafeWheelError
from ..targets import UNZIPPED_MAX
from .layout import check_member
from .record import RecordRow, parse_record, unlistable
from .zipformat import CHUNK, FLAG_ENCRYPTED, FLAG_UTF8, MAX_32, local_header_at

VERIFIER_VERSION = 1  # part of the cache key: raise it when the checks change


DEFLATE_MAX_RATIO = 1032  # no deflate stream inflates more than this per compressed byte


MAX_TEXT_MEMBER = 64 * 1024 * 1024  # METADATA and RECORD are read whole; bounded


@dataclass(frozen=True)
class WheelVerdict:
    """A verified wheel: its file name and the sha256 hex of every file member, by name."""

    filename: str
    members: Mapping[str, str]


_UNIX = 3  # ZipInfo.create_system of archives made on Unix


def unix_attr(info: zipfile.ZipInfo) -> int:
    """The member's external attributes when they hold a Unix mode (the archiver says it is
    Unix), else 0."""
    return info.external_attr if info.create_system == _UNIX else 0


def shown(name: str) -> str:
    """A member name quoted for a one-line message (control characters escaped)."""
    return json.dumps(name, ensure_ascii=False)


def open_wheel(path: Path) -> zipfile.ZipFile:
    """`path` opened as a zip; an unreadable or malformed archive is a one-line error."""
    try:
        return zipfile.ZipFile(path)
    except UnicodeDecodeError:
        raise CorruptWheelError(
            f"wheel {path.name} has a member name flagged as UTF-8 that is not valid UTF-8; "
            "rebuild the wheel"
        ) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise LambdaLayersError(
            f"cannot open wheel {path}: {exc}; delete it so it is downloaded again"
        ) from exc


def verify_wheel(path: str | os.PathLike[str]) -> WheelVerdict:
    """Check the wheel at `path` as the module docstring says; `CorruptWheelError` (or
    `UnsafeWheelError` for names that must never be extracted) names the wheel, the member
    and what is wrong."""
    wheel_path = Path(path)
    name, version = _filename_facts(wheel_path)
    with open_wheel(wheel_path) as zf, wheel_path.open("rb") as source:
        archive = _Archive(zf, source, wheel_path.name)
        infos = zf.infolist()
        _check_names(wheel_path.name, infos)
        _check_extents(wheel_path.name, infos)
        offsets = _locate_members(archive)
        dist_info = _check_metadata(zf, wheel_path.name, name, version)
        record = _read_record(zf, wheel_path.name, dist_info)
        members = _verify_members(archive, offsets, record, dist_info)
    return WheelVerdict(filename=wheel_path.name, members=members)


def _filename_facts(path: Path) -> tuple[str, Version]:
    try:
        name, version, _, _ = parse_wheel_filename(path.name)
    except InvalidWheelFilename as exc:
        raise LambdaLayersError(f"{path} is not a wheel file name: {exc}") from exc
    return name, version


def _check_names(wheel: str, infos: Iterable[zipfile.ZipInfo]) -> None:
    seen: set[str] = set()
    for info in infos:
        if info.orig_filename != info.filename:
            raise UnsafeWheelError(
                f"wheel {wheel} holds member {shown(info.orig_filename)}, whose name tools read "
                "differently (NUL character or separator); refusing it"
            )
        if not info.flag_bits & FLAG_UTF8 and not info.filename.isascii():
            raise CorruptWheelError(
                f"wheel {wheel} holds member {shown(info.filename)} whose name is not marked as "
                "UTF-8 (tools read it differently); rebuild the wheel"
            )
        check_member(wheel, info.filename, unix_attr(info))
        if info.filename in seen:
            raise UnsafeWheelError(
                f"wheel {wheel} holds member {shown(info.filename)} twice; tools disagree on "
                "which copy wins, so it is refused: rebuild the wheel"
            )
        seen.add(info.filename)
        if info.flag_bits & FLAG_ENCRYPTED:
            raise UnsafeWheelError(
                f"wheel {wheel} has an encrypted member {shown(info.filename)}; a wheel cannot "
                "be installed from encrypted members, rebuild it"
            )


def _check_extents(wheel: str, infos: Iterable[zipfile.ZipInfo]) -> None:
    """Declared sizes that no honest member has, refused before anything is inflated."""
    for info in infos:
        where = f"wheel {wheel}: member {shown(info.filename)}"
        if info.file_size >= MAX_32:
            raise CorruptWheelError(
                f"{where} declares {info.file_size:,} bytes, which needs ZIP64 and is far beyond "
                f"Lambda's unzipped limit ({UNZIPPED_MAX:,}); refusing it"
            )
        if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
            raise CorruptWheelError(
                f"{where} is stored uncompressed but declares {info.compress_size} stored and "
                f"{info.file_size} unpacked bytes; the wheel is corrupt, rebuild it"
            )
        if (
            info.compress_type == zipfile.ZIP_DEFLATED
            and info.file_size > DEFLATE_MAX_RATIO * info.compress_size + DEFLATE_MAX_RATIO
        ):
            raise CorruptWheelError(
                f"{where} declares {info.file_size:,} bytes from {info.compress_size:,} "
                "compressed, a ratio deflate cannot reach (a compression bomb?); refusing it"
            )


def _read_text(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> str:
    if info.file_size > MAX_TEXT_MEMBER:
        raise CorruptWheelError(f"{where} declares {info.file_size:,} bytes; refusing to read it")
    try:
        return zf.read(info).decode("utf-8")
    except UnicodeDecodeError:
        raise CorruptWheelError(f"{where} is not UTF-8 text; rebuild the wheel") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise CorruptWheelError(f"{where} cannot be read ({exc}); rebuild the wheel") from None


def _check_metadata(zf: zipfile.ZipFile, wheel: str, name: str, version: Version) -> str:
    """The wheel's one top-level `.dist-info` directory, after checking that its METADATA
    names the same distribution and version as the file name."""
    found = [
        i
        for i in zf.infolist()
        if i.filename.count("/") == 1 and i.filename.endswith(".dist-info/METADATA")
    ]
    if len(found) != 1:
        raise CorruptWheelError(
            f"wheel {wheel} has {len(found)} .dist-info/METADATA files where a wheel has "
            "exactly one; rebuild the wheel"
        )
    where = f"wheel {wheel}: {found[0].filename}"
    raw, _ = parse_email(_read_text(zf, found[0], where))
    meta_name, meta_version = raw.get("name"), raw.get("version")
    try:
        same_version = meta_version is not None and Version(meta_version) == version
    except InvalidVersion:
        same_version = False
    if meta_name is None or canonicalize_name(meta_name) != name or not same_version:
        raise CorruptWheelError(
            f"{where} names {meta_name!r} {meta_version!r} but the file name says {name} "
            f"{version}; the wheel is mislabelled or tampered with, refusing it"
        )
    return found[0].filename.split("/", 1)[0]


def _read_record(zf: zipfile.ZipFile, wheel: str, dist_info: str) -> dict[str, RecordRow]:
    try:
        info = zf.getinfo(f"{dist_info}/RECORD")
    except KeyError:
        raise CorruptWheelError(
            f"wheel {wheel} has no {dist_info}/RECORD, so nothing vouches for its files; "
            "rebuild the wheel"
        ) from None
    where = f"wheel {wheel}: {info.filename}"
    return parse_record(_read_text(zf, info, where), where)


@dataclass(frozen=True)
class _Archive:
    """An open wheel: the zip directory, a raw handle on its bytes, and its file name."""

    zf: zipfile.ZipFile
    source: BinaryIO
    name: str


def _is_directory(info: zipfile.ZipInfo) -> bool:
    return info.filename.endswith("/") or stat.S_ISDIR(unix_attr(info) >> 16)


def _locate_members(archive: _Archive) -> dict[str, int]:
    """member -> where its data starts, after checking each local header and that no member's
    data overlaps another's or the central directory."""
    offsets: dict[str, int] = {}
    end = 0
    for info in sorted(archive.zf.infolist(), key=lambda i: i.header_offset):
        where = f"wheel {archive.name}: member {shown(info.filename)}"
        if info.header_offset < end:
            raise CorruptWheelError(
                f"{where} overlaps the member before it (a zip bomb's trick); refusing the wheel"
            )
        offsets[info.filename] = _data_offset(archive.source, info, where)
        end = offsets[info.filename] + info.compress_size
    start_dir = getattr(archive.zf, "start_dir", None)
    if isinstance(start_dir, int) and end > start_dir:
        raise CorruptWheelError(
            f"wheel {archive.name}: member data runs into the central directory; refusing it"
        )
    return offsets


def _verify_members(
    archive: _Archive,
    offsets: Mapping[str, int],
    record: Mapping[str, RecordRow],
    dist_info: str,
) -> dict[str, str]:
    """member -> sha256 hex of every file member, in the order the bytes lie in the file."""
    members: dict[str, str] = {}
    for info in sorted(archive.zf.infolist(), key=lambda i: i.header_offset):
        if _is_directory(info):
            continue
        row = record.get(info.filename)
        if row is None and not unlistable(info.filename, dist_info):
            raise CorruptWheelError(
                f"wheel {archive.name}: member {shown(info.filename)} is not vouched for by "
                f"{dist_info}/RECORD; the wheel is incomplete or tampered with, refusing it"
            )
        members[info.filename] = _check_member_bytes(archive, info, offsets[info.filename], row)
    return members


def _data_offset(source: BinaryIO, info: zipfile.ZipInfo, where: str) -> int:
    header = local_header_at(source, info.header_offset)
    if header is None:
        raise CorruptWheelError(f"{where} has no local header where the directory points")
    local_name, _, data_offset = header
    if local_name != info.orig_filename:
        raise UnsafeWheelError(
            f"{where} is named {shown(local_name)} by its local header; refusing an ambiguous wheel"
        )
    return data_offset


def _check_member_bytes(
    archive: _Archive, info: zipfile.ZipInfo, data_offset: int, row: RecordRow | None
) -> str:
    """The member's sha256 hex, after checking its size, CRC-32 and RECORD row."""
    where = f"wheel {archive.name}: member {shown(info.filename)}"
    sha256 = hashlib.sha256()
    other = hashlib.new(row.algorithm) if row and row.algorithm != "sha256" else None
    crc, size = 0, 0
    for chunk in _member_bytes(archive, info, data_offset, where):
        crc = zlib.crc32(chunk, crc)
        size += len(chunk)
        sha256.update(chunk)
        if other is not None:
            other.update(chunk)
    if size != info.file_size:
        raise CorruptWheelError(
            f"{where} holds {size} bytes where the zip directory declares {info.file_size}; "
            "the wheel is corrupt, rebuild it"
        )
    if crc != info.CRC:
        raise CorruptWheelError(
            f"{where} fails its CRC-32 check (the zip directory lies or the bytes are damaged); "
            "the wheel is corrupt, fetch or rebuild it"
        )
    if row is not None:
        digest = (other or sha256).digest()
        if digest != row.digest or (row.size is not None and row.size != size):
            raise CorruptWheelError(
                f"{where} does not match its RECORD {row.algorithm} hash and size; the wheel is "
                "corrupt or tampered with, refusing it"
            )
    return sha256.hexdigest()


def _member_bytes(
    archive: _Archive, info: zipfile.ZipInfo, data_offset: int, where: str
) -> Iterator[bytes]:
    """The member's uncompressed bytes. Stored and deflated members (the ones copied raw) are
    read from the file here; other methods, which the writer re-deflates from what `zipfile`
    yields, are read through `zipfile` (which stops at the declared size and checks the CRC)."""
    if info.compress_type == zipfile.ZIP_STORED:
        yield from _raw_chunks(archive.source, data_offset, info.compress_size, where)
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        raw = _raw_chunks(archive.source, data_offset, info.compress_size, where)
        yield from _inflate(raw, info.file_size, where)
    else:
        try:
            with archive.zf.open(info) as member:
                while chunk := member.read(CHUNK):
                    yield chunk
        except (zipfile.BadZipFile, NotImplementedError, EOFError, OSError, struct.error) as exc:
            raise CorruptWheelError(f"{where} cannot be read: {exc}") from None
        except (zlib.error, ValueError) as exc:  # lzma.LZMAError and bz2 errors among them
            raise CorruptWheelError(f"{where} cannot be decompressed: {exc}") from None


def _raw_chunks(source: BinaryIO, offset: int, length: int, where: str) -> Iterator[bytes]:
    source.seek(offset)
    remaining = length
    while remaining:
        chunk = source.read(min(remaining, CHUNK))
        if not chunk:
            raise CorruptWheelError(f"{where} is cut short; the wheel is truncated, fetch it again")
        remaining -= len(chunk)
        yield chunk


def _inflate(chunks: Iterable[bytes], declared: int, where: str) -> Iterator[bytes]:
    """Inflate raw deflate `chunks`, never producing more than `declared` + 1 bytes."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    produced = 0
    try:
        for chunk in chunks:
            data = chunk
            while data:
                out = inflater.decompress(data, declared + 1 - produced)
                produced += len(out)
                if produced > declared or inflater.unused_data:
                    raise _overrun(where, declared, inflater.unused_data)
                data = inflater.unconsumed_tail
                yield out
        while not inflater.eof and (out := inflater.decompress(b"", declared + 1 - produced)):
            produced += len(out)
            if produced > declared:
                raise _overrun(where, declared, b"")
            yield out
    except zlib.error as exc:
        raise CorruptWheelError(f"{where} is not valid deflate data ({exc})") from None
    if not inflater.eof:
        raise CorruptWheelError(f"{where} ends before its compressed data does; it is truncated")


def _overrun(where: str, declared: int, trailing: bytes) -> CorruptWheelError:
    if trailing:
        return CorruptWheelError(
            f"{where} has bytes after the end of its compressed data; refusing the wheel"
        )
    return CorruptWheelError(
        f"{where} inflates past its declared size of {declared:,} bytes (a compression bomb or "
        "a lying zip directory); refusing the wheel"
    )
