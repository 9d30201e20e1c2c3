"""Reading a wheel without unpacking it: its members placed by `layout` as entries to copy, and
its METADATA.

Every member's sha256 comes from a `verify.WheelVerdict` (the wheel checked against its own
bytes: sizes, CRC-32, RECORD, METADATA), so the entries' sizes and CRCs, which the zip writer
copies into the layer as they are, are known to be true.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from ..errors import CorruptWheelError, LambdaLayersError
from .entries import PackageFiles, ZipSourceEntry, entry_overhead
from .layout import LayoutOptions, Placement, layout_wheel
from .verify import MAX_TEXT_MEMBER, WheelVerdict, open_wheel, shown, unix_attr, verify_wheel
from .zipformat import CHUNK, COPYABLE_METHODS, deflate_stream


def _deflated_size(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> int:
    def chunks() -> Iterator[bytes]:
        with zf.open(info) as member:
            while chunk := member.read(CHUNK):
                yield chunk

    return sum(len(c) for c in deflate_stream(chunks()))


def read_wheel(
    path: str | os.PathLike[str], options: LayoutOptions, *, verdict: WheelVerdict | None = None
) -> PackageFiles:
    """The layer entries of the wheel at `path`, without unpacking it.

    `verdict` is the wheel's verification (cached by `verdicts.verified_wheel`); without one
    the wheel is verified here. Unsafe member names are refused before anything is read.
    """
    wheel_path = Path(path)
    try:
        name, version, _, _ = parse_wheel_filename(wheel_path.name)
    except InvalidWheelFilename as exc:
        raise LambdaLayersError(f"{wheel_path} is not a wheel file name: {exc}") from exc
    with open_wheel(wheel_path) as zf:
        infos = zf.infolist()
        placements = layout_wheel(
            wheel_path.name, [(i.filename, unix_attr(i)) for i in infos], options
        )
        if verdict is None:
            verdict = verify_wheel(wheel_path)
        if verdict.filename != wheel_path.name:
            raise ValueError(f"the verdict is about {verdict.filename}, not {wheel_path.name}")
        entries: list[ZipSourceEntry] = []
        for info, placement in zip(infos, placements, strict=True):
            if placement.target is not None:
                entries.append(_entry(zf, info, placement, verdict=verdict, wheel_path=wheel_path))
    entries.sort(key=lambda e: e.path)
    return PackageFiles(
        name=name,
        version=str(version),
        wheel_path=wheel_path,
        entries=tuple(entries),
        size_unzipped=sum(e.size for e in entries),
        size_zipped=sum(e.compressed_size + entry_overhead(e.path) for e in entries),
    )


def _entry(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    placement: Placement,
    *,
    verdict: WheelVerdict,
    wheel_path: Path,
) -> ZipSourceEntry:
    """The entry for one kept member: copied raw when its method is stored or deflate, else
    re-deflated when written."""
    sha = verdict.members.get(info.filename)
    if sha is None:
        raise CorruptWheelError(
            f"wheel {verdict.filename}: member {shown(info.filename)} was not verified; "
            "the wheel changed since, fetch it again"
        )
    if info.compress_type in COPYABLE_METHODS:
        out_type, out_size = info.compress_type, info.compress_size
    else:
        out_type, out_size = zipfile.ZIP_DEFLATED, _deflated_size(zf, info)
    assert placement.target is not None
    return ZipSourceEntry(
        path=placement.target,
        mode=placement.mode,
        size=info.file_size,
        compressed_size=out_size,
        crc32=info.CRC,
        compress_type=out_type,
        wheel_path=wheel_path,
        member=info.filename,
        header_offset=info.header_offset,
        sha256=sha,
        source_compress_type=info.compress_type,
    )


def read_metadata(path: str | os.PathLike[str]) -> str:
    """The text of a wheel's `*.dist-info/METADATA` (core metadata), read without unpacking."""
    wheel_path = Path(path)
    with open_wheel(wheel_path) as zf:
        found = [
            i
            for i in zf.infolist()
            if i.filename.count("/") == 1 and i.filename.endswith(".dist-info/METADATA")
        ]
        if len(found) != 1:
            raise LambdaLayersError(
                f"wheel {wheel_path.name!r} has {len(found)} .dist-info/METADATA files; expected 1"
            )
        if found[0].file_size > MAX_TEXT_MEMBER:
            raise CorruptWheelError(
                f"wheel {wheel_path.name}: {found[0].filename} declares "
                f"{found[0].file_size:,} bytes; refusing to read it"
            )
        try:
            return zf.read(found[0]).decode("utf-8", errors="replace")
        except (zipfile.BadZipFile, EOFError, NotImplementedError, ValueError) as exc:
            raise CorruptWheelError(
                f"wheel {wheel_path.name}: {found[0].filename} cannot be read ({exc})"
            ) from None
