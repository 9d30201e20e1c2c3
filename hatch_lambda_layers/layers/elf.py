"""Which machine a shared object is built for (its ELF header), to check binaries against the
target.
"""

from __future__ import annotations

import os
import struct
import zipfile
from collections.abc import Mapping

ELF_MACHINES: Mapping[int, str] = {62: "x86_64", 183: "aarch64"}
_HEADER_PREFIX = 20  # e_ident (16 bytes), e_type, e_machine: what identifies the machine


def elf_machine(data: bytes) -> str | None:
    """'x86_64', 'aarch64' or 'other' for an ELF header, None when `data` is not ELF."""
    if len(data) < _HEADER_PREFIX or data[:4] != b"\x7fELF":
        return None
    order = "<" if data[5] == 1 else ">"
    (machine,) = struct.unpack_from(order + "H", data, 18)
    return ELF_MACHINES.get(machine, "other")


def is_shared_object(path: str) -> bool:
    basename = path.rsplit("/", 1)[-1]
    return basename.endswith(".so") or ".so." in basename


def zip_elf_machines(path: str | os.PathLike[str]) -> dict[str, str]:
    """For every shared object (`*.so`, `*.so.N`) in the zip: 'x86_64', 'aarch64' or 'other'."""
    machines: dict[str, str] = {}
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if info.is_dir() or not is_shared_object(info.filename):
                continue
            with zf.open(info) as member:
                head = member.read(64)
            machines[info.filename] = elf_machine(head) or "other"
    return machines
