"""The raw-copy floor: copy given compressed members from wheels into zips, nothing else.

    python benchmarks/rawcopy_floor.py SPEC.json OUT_DIR

SPEC (written by speed_bench.py) lists, per zip, each entry's wheel, local header offset,
compressed size, CRC-32, size, method and name in the zip. This script reads each member's
bytes past its local header and writes a local header, the bytes, the central directory and
its end record: no path checks, no hashing, no fsync, standard library only. What any tool that
copies compressed bytes must at least do, for the floor the builds are compared with.
"""

from __future__ import annotations

import json
import os
import struct
import sys
from typing import BinaryIO

LOCAL = struct.Struct("<IHHHHHIIIHH")
CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
END = struct.Struct("<IHHHHIIH")
DOS_TIME, DOS_DATE = 0, 0x21  # 1980-01-01


def copy_zip(path: str, entries: list[list[object]], sources: dict[str, BinaryIO]) -> None:
    central: list[bytes] = []
    with open(path, "wb") as out:
        for wheel, offset, csize, crc, size, method, name in entries:
            assert isinstance(wheel, str)
            assert isinstance(name, str)
            assert isinstance(offset, int)
            assert isinstance(csize, int)
            source = sources.get(wheel)
            if source is None:
                source = sources[wheel] = open(wheel, "rb")  # noqa: SIM115 (closed by main)
            source.seek(offset + 26)
            name_length, extra_length = struct.unpack("<HH", source.read(4))
            source.seek(offset + 30 + name_length + extra_length)
            data = source.read(csize)
            encoded = name.encode("utf-8")
            where = out.tell()
            out.write(LOCAL.pack(0x04034B50, 20, 0, method, DOS_TIME, DOS_DATE, crc, csize,
                                 size, len(encoded), 0) + encoded)  # fmt: skip
            out.write(data)
            central.append(CENTRAL.pack(0x02014B50, 0x031E, 20, 0, method, DOS_TIME, DOS_DATE,
                                        crc, csize, size, len(encoded), 0, 0, 0, 0,
                                        0o100644 << 16, where) + encoded)  # fmt: skip
        start = out.tell()
        out.write(b"".join(central))
        count = len(central)
        out.write(END.pack(0x06054B50, 0, 0, count, count, out.tell() - start, start, 0))


def main(argv: list[str]) -> int:
    spec_path, out_dir = argv
    with open(spec_path, encoding="utf-8") as fh:
        spec = json.load(fh)
    sources: dict[str, BinaryIO] = {}
    try:
        for layer in spec:
            copy_zip(os.path.join(out_dir, layer["zip"]), layer["entries"], sources)
    finally:
        for handle in sources.values():
            handle.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
