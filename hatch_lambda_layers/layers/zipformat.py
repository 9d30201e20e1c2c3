"""The ZIP format facts every zip this tool writes shares: header layouts, the fixed timestamp
(``SOURCE_DATE_EPOCH`` clamped to 1980-01-01, else 1980-01-01 00:00:00), and one deflate setting
(zlib level 6, fixed parameters) for the bytes it compresses itself.
"""

from __future__ import annotations

import os
import struct
import time
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import BinaryIO

from ..errors import ConfigError

LOCAL = struct.Struct("<4s5H3I2H")


CENTRAL = struct.Struct("<4s6H3I5H2I")


END = struct.Struct("<4s4H2IH")


LOCAL_SIG = b"PK\x03\x04"


CENTRAL_SIG = b"PK\x01\x02"


END_SIG = b"PK\x05\x06"


VERSION = 20  # 2.0: deflate; what both "made by" and "needed to extract" say


MADE_BY = (3 << 8) | VERSION  # 3 = Unix, so unzip honours the mode bits


FLAG_ENCRYPTED = 0x1


FLAG_UTF8 = 0x800


MAX_ENTRIES = 0xFFFF


MAX_32 = 0xFFFFFFFF


LOCAL_HEADER_SIZE = LOCAL.size  # 30


CENTRAL_HEADER_SIZE = CENTRAL.size  # 46


END_OF_CENTRAL_DIRECTORY_SIZE = END.size  # 22


COPYABLE_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})


DEFLATE_LEVEL = 6


CHUNK = 1 << 20


# 1980-01-01T00:00:00Z, the earliest time a zip can hold, and its latest (2107-12-31).
MIN_EPOCH = 315532800


MAX_EPOCH = 4354819198


def deflate_stream(chunks: Iterable[bytes]) -> Iterator[bytes]:
    compressor = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY)
    for chunk in chunks:
        out = compressor.compress(chunk)
        if out:
            yield out
    yield compressor.flush()


def file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def resolve_epoch(epoch: int | None = None, environ: Mapping[str, str] | None = None) -> int:
    """The timestamp for every entry: `epoch`, else SOURCE_DATE_EPOCH, else 1980-01-01."""
    if epoch is None:
        env = os.environ if environ is None else environ
        raw = env.get("SOURCE_DATE_EPOCH", "").strip()
        if not raw:
            return MIN_EPOCH
        try:
            epoch = int(raw)
        except ValueError:
            raise ConfigError(
                f'SOURCE_DATE_EPOCH must be a whole number of seconds since 1970, got "{raw}"'
            ) from None
    return min(max(epoch, MIN_EPOCH), MAX_EPOCH)


def dos_datetime(epoch: int) -> tuple[int, int]:
    """(time, date) fields of a zip header for `epoch` (UTC, two-second resolution)."""
    t = time.gmtime(min(max(epoch, MIN_EPOCH), MAX_EPOCH))
    dos_time = (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2)
    dos_date = ((t.tm_year - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday
    return dos_time, dos_date


def local_header_at(source: BinaryIO, offset: int) -> tuple[str, int, int] | None:
    """(name, flags, data offset) of the local file header at `offset` of `source`, or None
    when no local header starts there. The name is decoded as the header's flags say (UTF-8
    when bit 11 is set, else cp437, undecodable bytes replaced), as `zipfile` decodes names."""
    source.seek(offset)
    header = source.read(LOCAL_HEADER_SIZE)
    if len(header) != LOCAL_HEADER_SIZE or header[:4] != LOCAL_SIG:
        return None
    fields = LOCAL.unpack(header)
    flags, name_len, extra_len = fields[2], fields[9], fields[10]
    raw_name = source.read(name_len)
    name = raw_name.decode("utf-8" if flags & FLAG_UTF8 else "cp437", errors="replace")
    return name, flags, offset + LOCAL_HEADER_SIZE + name_len + extra_len
