"""Build real `.whl` files in tests (RECORD included), and fake ELF headers.

    from tests.wheelfactory import make_wheel, make_elf, elf_machine
    from tests.wheelfactory import raw_members, write_raw_zip  # hostile zips, byte by byte
    from tests.wheelfactory import make_sdist  # sdists a PEP 517 front end can build offline

This module is independent of `hatch_lambda_layers` on purpose: tests check the code against
it, not against itself.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.tags import parse_tag
from packaging.utils import canonicalize_name

_FIXED_DATE = (2020, 2, 2, 2, 2, 2)
_MACHINES = {"x86_64": 62, "aarch64": 183, "i386": 3}
_MACHINE_NAMES = {v: k for k, v in _MACHINES.items()}


def record_hash(data: bytes) -> str:
    """`sha256=<urlsafe base64, no padding>` as RECORD writes it."""
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def wheel_stem(name: str, version: str) -> str:
    """`name-version` with the name escaped as wheel file names and dist-info dirs need."""
    return f"{re.sub(r'[-_.]+', '_', canonicalize_name(name))}-{version}"


def _info(name: str, mode: int = 0o100644) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
    info.create_system = 3
    info.external_attr = mode << 16
    return info


def make_wheel(
    directory: str | Path,
    name: str,
    version: str,
    files: Mapping[str, bytes | str],
    *,
    tag: str = "py3-none-any",
    requires_dist: Sequence[str] = (),
    extra_metadata: str = "",
    modes: Mapping[str, int] | None = None,
    data: Mapping[str, Mapping[str, bytes]] | None = None,
    compression: int = zipfile.ZIP_DEFLATED,
    compresslevel: int | None = None,
    raw_members: Sequence[tuple[str, bytes]] = (),
    symlinks: Mapping[str, str] | None = None,
) -> Path:
    """Write `<name>-<version>-<tag>.whl` into `directory` and return its path.

    `files` are members at the wheel root; `data` maps a scheme (purelib, platlib, scripts,
    headers, data) to members of `<dist>.data/<scheme>/`. `modes` gives permission bits per
    member (root-relative key, or the full member name for `.data` members); default 0o644.
    `raw_members` are appended verbatim and left out of RECORD (for unsafe-name tests);
    `symlinks` adds symbolic-link members (name -> link target), also left out of RECORD.
    """
    modes = modes or {}
    stem = wheel_stem(name, version)
    dist_info = f"{stem}.dist-info"
    path = Path(directory) / f"{stem}-{tag}.whl"
    purelib = all(t.abi == "none" and t.platform == "any" for t in parse_tag(tag))

    members: list[tuple[str, bytes, int]] = []
    for member, content in files.items():
        raw = content.encode("utf-8") if isinstance(content, str) else content
        members.append((member, raw, modes.get(member, 0o644)))
    for scheme, scheme_files in (data or {}).items():
        for inner, content in scheme_files.items():
            member = f"{stem}.data/{scheme}/{inner}"
            members.append((member, content, modes.get(member, modes.get(inner, 0o644))))

    metadata = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    metadata += [f"Requires-Dist: {r}" for r in requires_dist]
    metadata_text = "\n".join(metadata) + "\n" + extra_metadata
    wheel_text = (
        "Wheel-Version: 1.0\n"
        "Generator: tests.wheelfactory\n"
        f"Root-Is-Purelib: {'true' if purelib else 'false'}\n"
        + "".join(f"Tag: {t}\n" for t in sorted(str(t) for t in parse_tag(tag)))
    )
    members.append((f"{dist_info}/METADATA", metadata_text.encode("utf-8"), 0o644))
    members.append((f"{dist_info}/WHEEL", wheel_text.encode("utf-8"), 0o644))

    record_lines = [f"{m},{record_hash(raw)},{len(raw)}" for m, raw, _ in members]
    record_lines.append(f"{dist_info}/RECORD,,")
    record = ("\n".join(record_lines) + "\n").encode("utf-8")

    with zipfile.ZipFile(path, "w", compression=compression, compresslevel=compresslevel) as zf:
        for member, raw, mode in members:
            zf.writestr(_info(member, 0o100000 | mode), raw, compression, compresslevel)
        zf.writestr(_info(f"{dist_info}/RECORD"), record, compression, compresslevel)
        for member, raw in raw_members:
            zf.writestr(_info(member), raw, compression, compresslevel)
        for member, link_target in (symlinks or {}).items():
            zf.writestr(_info(member, 0o120777), link_target.encode("utf-8"), zipfile.ZIP_STORED)
    return path


def make_elf(machine: str) -> bytes:
    """A minimal little-endian ELF64 shared-object header for `machine` (x86_64, aarch64, i386)."""
    e_ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)  # ELFCLASS64, LSB, version 1, SysV
    header = e_ident + struct.pack(
        "<HHIQQQIHHHHHH",
        3,  # e_type: ET_DYN
        _MACHINES[machine],
        1,  # e_version
        0,  # e_entry
        0,  # e_phoff
        0,  # e_shoff
        0,  # e_flags
        64,  # e_ehsize
        56,  # e_phentsize
        0,  # e_phnum
        64,  # e_shentsize
        0,  # e_shnum
        0,  # e_shstrndx
    )
    return header + bytes(64)  # some padding so the "library" is more than a header


def elf_machine(data: bytes) -> str | None:
    """The machine name of an ELF header written by `make_elf`, None when not ELF."""
    if len(data) < 20 or data[:4] != b"\x7fELF":
        return None
    fmt = "<H" if data[5] == 1 else ">H"
    (machine,) = struct.unpack_from(fmt, data, 18)
    return _MACHINE_NAMES.get(machine, f"e_machine={machine}")


@dataclass(frozen=True)
class RawMember:
    """A zip member as it is stored: `data` already compressed when `method` is deflate, and
    `crc` and `size` what the headers declare (true or not)."""

    name: bytes
    data: bytes
    method: int
    crc: int
    size: int
    flags: int = 0
    external_attr: int = 0o100644 << 16


def raw_members(path: Path) -> list[RawMember]:
    """The members of the zip at `path`, as stored."""
    members = []
    with zipfile.ZipFile(path) as zf, path.open("rb") as f:
        for info in zf.infolist():
            f.seek(info.header_offset)
            header = f.read(30)
            name_len, extra_len = struct.unpack("<HH", header[26:30])
            raw_name = f.read(name_len)
            f.seek(extra_len, 1)
            data = f.read(info.compress_size)
            members.append(
                RawMember(
                    raw_name,
                    data,
                    info.compress_type,
                    info.CRC,
                    info.file_size,
                    info.flag_bits & 0x800,
                    info.external_attr,
                )
            )
    return members


def deflated(data: bytes) -> bytes:
    """`data` as a raw deflate stream, what a zip member's compressed bytes are."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def write_raw_zip(path: Path, members: Sequence[RawMember]) -> Path:
    """A zip holding `members` exactly as given (headers may lie; nothing is checked)."""
    out = bytearray()
    central = bytearray()
    for m in members:
        offset = len(out)
        fields = (20, m.flags, m.method, 0, 0x21, m.crc, len(m.data), m.size, len(m.name), 0)
        out += b"PK\x03\x04" + struct.pack("<5H3I2H", *fields) + m.name + m.data
        central += (
            b"PK\x01\x02"
            + struct.pack("<6H3I5H2I", 0x314, 20, *fields[1:], 0, 0, 0, m.external_attr, offset)
            + m.name
        )
    end = struct.pack("<4H2IH", 0, 0, len(members), len(members), len(central), len(out), 0)
    path.write_bytes(bytes(out + central + b"PK\x05\x06" + end))
    return path


# A PEP 517 backend for tests, in the standard library only: it packs the sdist's package into
# a wheel tagged as `build.txt` says ("tag <wheel tag>"), and with "compile" in that file it
# first runs the C compiler named by $CC, as an extension build would.
TEST_BACKEND = """
import base64, hashlib, os, subprocess, zipfile


def _hash(data):
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    options = dict(line.split(" ", 1) for line in open("build.txt").read().splitlines())
    if "compile" in options:
        subprocess.run([os.environ.get("CC", "cc"), "--version"], check=True)
    metadata = open("PKG-INFO", "rb").read()
    fields = dict(line.split(": ", 1) for line in metadata.decode().splitlines() if ": " in line)
    stem = fields["Name"].replace("-", "_") + "-" + fields["Version"]
    members = {}
    for root, _, files in os.walk(options["package"]):
        for name in files:
            path = os.path.join(root, name)
            members[path.replace(os.sep, "/")] = open(path, "rb").read()
    members[stem + ".dist-info/METADATA"] = metadata
    members[stem + ".dist-info/WHEEL"] = (
        "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: "
        + options["tag"] + "\\n"
    ).encode()
    record = "".join(f"{n},{_hash(d)},{len(d)}\\n" for n, d in members.items())
    record += stem + ".dist-info/RECORD,,\\n"
    filename = stem + "-" + options["tag"] + ".whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        zf.writestr(stem + ".dist-info/RECORD", record)
    return filename
"""


def make_sdist(
    directory: str | Path,
    name: str,
    version: str,
    files: Mapping[str, str],
    *,
    tag: str = "py3-none-any",
    compile_first: bool = False,
    requires_dist: Sequence[str] = (),
    backend_requires: Sequence[str] = (),
) -> Path:
    """Write `<name>-<version>.tar.gz` into `directory`: a project built by `TEST_BACKEND`, kept
    in the tree (``backend-path``) unless `backend_requires` names the distribution that
    provides a module `test_backend` (see `make_backend_wheel`)."""
    stem = wheel_stem(name, version)
    package = next(iter(files)).split("/", 1)[0]
    in_tree = not backend_requires
    backend = "_backend" if in_tree else "test_backend"
    pyproject = (
        "[build-system]\n"
        f"requires = {list(backend_requires)!r}\n"
        f'build-backend = "{backend}"\n' + ('backend-path = ["."]\n' if in_tree else "")
    ).replace("'", '"')
    pkg_info = f"Metadata-Version: 2.2\nName: {name}\nVersion: {version}\n" + "".join(
        f"Requires-Dist: {r}\n" for r in requires_dist
    )
    build = f"tag {tag}\npackage {package}\n" + ("compile yes\n" if compile_first else "")
    members = {
        "pyproject.toml": pyproject,
        "PKG-INFO": pkg_info,
        "build.txt": build,
        **({"_backend.py": TEST_BACKEND} if in_tree else {}),
        **files,
    }
    path = Path(directory) / f"{stem}.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for member, text in sorted(members.items()):
            data = text.encode("utf-8")
            info = tarfile.TarInfo(f"{stem}/{member}")
            info.size, info.mtime, info.mode = len(data), 315532800, 0o644
            tar.addfile(info, io.BytesIO(data))
    return path


def make_backend_wheel(directory: str | Path) -> Path:
    """A wheel of the distribution `test-backend`, whose module `test_backend` is
    `TEST_BACKEND`: a build requirement an index serves."""
    return make_wheel(directory, "test-backend", "1.0", {"test_backend.py": TEST_BACKEND})
