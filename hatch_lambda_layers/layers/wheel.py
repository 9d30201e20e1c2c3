"""Reading a wheel without unpacking it: its members placed by `layout` as entries to copy, and
its METADATA.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import io
import os
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from ..errors import LambdaLayersError, UnsafeWheelError
from .entries import PackageFiles, ZipSourceEntry, entry_overhead
from .layout import LayoutOptions, layout_wheel
from .zipformat import CHUNK, COPYABLE_METHODS, FLAG_ENCRYPTED, deflate_stream

_UNIX = 3  # ZipInfo.create_system of archives made on Unix
_RECORD_HASH_COLUMN = 1  # RECORD rows: path, hash, size
_RECORD_SIZE_COLUMN = 2


def _unix_attr(info: zipfile.ZipInfo) -> int:
    # The high 16 bits of external_attr hold a Unix mode only when the archiver says it is Unix.
    return info.external_attr if info.create_system == _UNIX else 0


def _record_hashes(zf: zipfile.ZipFile, names: Sequence[str]) -> dict[str, tuple[str, int | None]]:
    """member -> (sha256 hex, size) from the wheel's RECORD, when the wheel has exactly one."""
    records = [n for n in names if n.count("/") == 1 and n.endswith(".dist-info/RECORD")]
    if len(records) != 1:
        return {}
    text = zf.read(records[0]).decode("utf-8", errors="replace")
    hashes: dict[str, tuple[str, int | None]] = {}
    for row in csv.reader(io.StringIO(text)):
        if len(row) <= _RECORD_HASH_COLUMN or not row[1].startswith("sha256="):
            continue
        encoded = row[1][len("sha256=") :]
        try:
            digest = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except (binascii.Error, ValueError):
            continue
        if len(digest) != hashlib.sha256().digest_size:
            continue
        size = int(row[2]) if len(row) > _RECORD_SIZE_COLUMN and row[2].isdigit() else None
        hashes[row[0]] = (digest.hex(), size)
    return hashes


def _member_sha256(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    digest = hashlib.sha256()
    with zf.open(info) as member:
        while chunk := member.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _deflated_size(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> int:
    def chunks() -> Iterator[bytes]:
        with zf.open(info) as member:
            while chunk := member.read(CHUNK):
                yield chunk

    return sum(len(c) for c in deflate_stream(chunks()))


def read_wheel(
    path: str | os.PathLike[str], options: LayoutOptions, *, verify: bool = False
) -> PackageFiles:
    """The layer entries of the wheel at `path`, without unpacking it.

    Member hashes come from the wheel's RECORD (the wheel file itself is hash-verified when it
    is fetched); members RECORD does not list are hashed here. With `verify`, every kept member
    is decompressed (which checks its CRC) and compared with RECORD.
    """
    wheel_path = Path(path)
    try:
        name, version, _, _ = parse_wheel_filename(wheel_path.name)
    except InvalidWheelFilename as exc:
        raise LambdaLayersError(f"{wheel_path} is not a wheel file name: {exc}") from exc
    try:
        zf = zipfile.ZipFile(wheel_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise LambdaLayersError(
            f"cannot open wheel {wheel_path}: {exc}; delete it so it is downloaded again"
        ) from exc
    with zf:
        entries = _placed_entries(_Wheel(zf, wheel_path), options, verify=verify)
    entries.sort(key=lambda e: e.path)
    return PackageFiles(
        name=name,
        version=str(version),
        wheel_path=wheel_path,
        entries=tuple(entries),
        size_unzipped=sum(e.size for e in entries),
        size_zipped=sum(e.compressed_size + entry_overhead(e.path) for e in entries),
    )


@dataclass(frozen=True)
class _Wheel:
    """An open wheel and its path, for reading members and naming it in errors."""

    zf: zipfile.ZipFile
    path: Path

    @property
    def name(self) -> str:
        return self.path.name


def _placed_entries(wheel: _Wheel, options: LayoutOptions, *, verify: bool) -> list[ZipSourceEntry]:
    """An entry for every member `layout` keeps, in the wheel's member order."""
    infos = wheel.zf.infolist()
    placements = layout_wheel(wheel.name, [(i.filename, _unix_attr(i)) for i in infos], options)
    record = _record_hashes(wheel.zf, [i.filename for i in infos])
    entries: list[ZipSourceEntry] = []
    for info, placement in zip(infos, placements, strict=True):
        if placement.target is None:
            continue
        sha = _member_digest(wheel, info, record.get(info.filename), verify=verify)
        if info.compress_type in COPYABLE_METHODS:
            out_type, out_size = info.compress_type, info.compress_size
        else:
            out_type, out_size = zipfile.ZIP_DEFLATED, _deflated_size(wheel.zf, info)
        entries.append(
            ZipSourceEntry(
                path=placement.target,
                mode=placement.mode,
                size=info.file_size,
                compressed_size=out_size,
                crc32=info.CRC,
                compress_type=out_type,
                wheel_path=wheel.path,
                member=info.filename,
                header_offset=info.header_offset,
                sha256=sha,
                source_compress_type=info.compress_type,
            )
        )
    return entries


def _member_digest(
    wheel: _Wheel, info: zipfile.ZipInfo, recorded: tuple[str, int | None] | None, *, verify: bool
) -> str:
    """The sha256 hex of a member: RECORD's, checked against the member when `verify` (or
    computed when RECORD does not list it). Encrypted or corrupt members are errors."""
    if info.flag_bits & FLAG_ENCRYPTED:
        raise UnsafeWheelError(
            f'wheel {wheel.name} has an encrypted member "{info.filename}"; '
            "a wheel cannot be installed from encrypted members, rebuild it"
        )
    if recorded is not None and recorded[1] is not None and recorded[1] != info.file_size:
        raise LambdaLayersError(
            f'wheel {wheel.name}: RECORD gives "{info.filename}" {recorded[1]} '
            f"bytes but the member has {info.file_size}; the wheel is corrupt, rebuild it"
        )
    if recorded is not None and not verify:
        return recorded[0]
    try:
        sha = _member_sha256(wheel.zf, info)
    except (zipfile.BadZipFile, zlib.error, NotImplementedError) as exc:
        raise LambdaLayersError(
            f'wheel {wheel.name}: cannot read member "{info.filename}": {exc}'
        ) from exc
    if recorded is not None and recorded[0] != sha:
        raise LambdaLayersError(
            f'wheel {wheel.name}: member "{info.filename}" does not match its '
            "RECORD hash; the wheel is corrupt or tampered with, fetch it again"
        )
    return sha


def read_metadata(path: str | os.PathLike[str]) -> str:
    """The text of a wheel's `*.dist-info/METADATA` (core metadata), read without unpacking."""
    with zipfile.ZipFile(path) as zf:
        names = [
            n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")
        ]
        if len(names) != 1:
            raise LambdaLayersError(
                f"wheel {Path(path).name!r} has {len(names)} .dist-info/METADATA files; expected 1"
            )
        return zf.read(names[0]).decode("utf-8", errors="replace")
