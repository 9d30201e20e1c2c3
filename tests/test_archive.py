from __future__ import annotations

import base64
import hashlib
import random
import shutil
import struct
import subprocess
import time
import zipfile
import zlib
from pathlib import Path

import pytest

from hatch_lambda_layers.errors import (
    ConfigError,
    CorruptWheelError,
    LambdaLayersError,
    UnsafeWheelError,
)
from hatch_lambda_layers.layers.elf import zip_elf_machines
from hatch_lambda_layers.layers.entries import (
    BytesEntry,
    Entry,
    FileEntry,
    ZipSourceEntry,
    entries_content_hash,
    entry_bytes,
    estimate_zip_size,
)
from hatch_lambda_layers.layers.layout import LayoutOptions
from hatch_lambda_layers.layers.wheel import read_wheel
from hatch_lambda_layers.layers.zipformat import (
    END_OF_CENTRAL_DIRECTORY_SIZE,
    dos_datetime,
    resolve_epoch,
)
from hatch_lambda_layers.layers.zipwriter import write_zip
from tests.wheelfactory import elf_machine, make_elf, make_wheel

OPTIONS = LayoutOptions()
# Compressible but not trivially so: deflate levels 1 and 6 give different bytes for it.
TEXT = "".join(f"def f{i}(x):\n    return x * {i} + {i * i % 97}\n" for i in range(400))


def raw_payload(zip_path: Path, name: str) -> tuple[int, bytes]:
    """The compression method and the still-compressed bytes of one member."""
    with zipfile.ZipFile(zip_path) as zf:
        info = zf.getinfo(name)
    with zip_path.open("rb") as f:
        f.seek(info.header_offset)
        header = f.read(30)
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        f.seek(name_len + extra_len, 1)
        return info.compress_type, f.read(info.compress_size)


@pytest.fixture
def demo_wheel(tmp_path: Path) -> Path:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    return make_wheel(
        wheels,
        "Demo.Pkg",
        "1.0",
        {
            "demo_pkg/__init__.py": TEXT,
            "demo_pkg/_speedups.cpython-312-x86_64-linux-gnu.so": make_elf("x86_64"),
            "demo_pkg/bin/tool": b"#!/bin/sh\necho hi\n",
            "demo_pkg/__pycache__/__init__.cpython-312.pyc": b"\x00" * 16,
            "demo_pkg/data/\u00e9t\u00e9.txt": "summer",
        },
        tag="cp312-cp312-manylinux_2_17_x86_64",
        modes={"demo_pkg/bin/tool": 0o755},
        data={
            "purelib": {"demo_pkg/extra.py": b"EXTRA = 1\n"},
            "platlib": {"demo_pkg.libs/libfoo.so.1.2": make_elf("x86_64")},
            "scripts": {"demo-cli": b"#!python\n"},
        },
        compresslevel=1,
    )


# ------------------------------------------------------------------ read_wheel


def test_read_wheel_entries(demo_wheel: Path) -> None:
    package = read_wheel(demo_wheel, OPTIONS)
    assert (package.name, package.version, package.wheel_path) == ("demo-pkg", "1.0", demo_wheel)
    paths = [e.path for e in package.entries]
    assert paths == sorted(paths)
    assert paths == [
        "python/demo_pkg-1.0.dist-info/METADATA",
        "python/demo_pkg-1.0.dist-info/WHEEL",
        "python/demo_pkg.libs/libfoo.so.1.2",
        "python/demo_pkg/__init__.py",
        "python/demo_pkg/_speedups.cpython-312-x86_64-linux-gnu.so",
        "python/demo_pkg/bin/tool",
        "python/demo_pkg/data/\u00e9t\u00e9.txt",
        "python/demo_pkg/extra.py",
    ]
    modes = {e.path.rsplit("/", 1)[-1]: e.mode for e in package.entries}
    assert (
        modes["tool"]
        == modes["libfoo.so.1.2"]
        == modes["_speedups.cpython-312-x86_64-linux-gnu.so"]
        == 0o755
    )
    assert modes["__init__.py"] == modes["METADATA"] == 0o644
    with zipfile.ZipFile(demo_wheel) as zf:
        for entry in package.entries:
            assert isinstance(entry, ZipSourceEntry)
            data = zf.read(entry.member)
            info = zf.getinfo(entry.member)
            assert entry.sha256 == hashlib.sha256(data).hexdigest()
            assert (entry.size, entry.crc32) == (len(data), zlib.crc32(data))
            assert (entry.compressed_size, entry.compress_type) == (
                info.compress_size,
                info.compress_type,
            )
            assert entry_bytes(entry) == data
    assert package.size_unzipped == sum(
        e.size for e in package.entries if isinstance(e, ZipSourceEntry)
    )


def test_read_wheel_refuses_members_record_does_not_vouch_for(tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path, "demo", "1.0", {"demo.py": "x = 1\n"}, raw_members=[("extra.py", b"y = 2\n")]
    )
    with pytest.raises(CorruptWheelError) as info:
        read_wheel(wheel, OPTIONS)
    assert str(info.value) == (
        'wheel demo-1.0-py3-none-any.whl: member "extra.py" is not vouched for by '
        "demo-1.0.dist-info/RECORD; the wheel is incomplete or tampered with, refusing it"
    )


def tamper(wheel: Path, member: str, data: bytes) -> None:
    """Replace one member's bytes but keep the wheel's RECORD as it was."""
    with zipfile.ZipFile(wheel) as zf:
        members = [(info, zf.read(info)) for info in zf.infolist()]
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, content in members:
            zf.writestr(info, data if info.filename == member else content)


def test_read_wheel_detects_tampering(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "demo", "1.0", {"demo.py": "x = 1\n"})
    tamper(wheel, "demo.py", b"x = 2\n")  # same size, other bytes
    with pytest.raises(LambdaLayersError, match=r'"demo\.py" does not match its RECORD'):
        read_wheel(wheel, OPTIONS)
    tamper(wheel, "demo.py", b"x = 22\n")  # other size
    with pytest.raises(LambdaLayersError, match=r'"demo\.py" does not match its RECORD'):
        read_wheel(wheel, OPTIONS)


@pytest.mark.parametrize("bad", ["../evil.py", "/abs.py", "demo/../../evil.py"])
def test_read_wheel_refuses_unsafe_members(tmp_path: Path, bad: str) -> None:
    wheel = make_wheel(tmp_path, "demo", "1.0", {"demo.py": ""}, raw_members=[(bad, b"boom")])
    with pytest.raises(UnsafeWheelError) as info:
        read_wheel(wheel, OPTIONS)
    assert wheel.name in str(info.value)
    assert f'"{bad}"' in str(info.value)


def test_read_wheel_refuses_symlinks(tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path, "demo", "1.0", {"demo.py": ""}, symlinks={"demo_link.py": "/etc/passwd"}
    )
    with pytest.raises(UnsafeWheelError, match=r'"demo_link\.py" \(symbolic link\)'):
        read_wheel(wheel, OPTIONS)


def test_read_wheel_bad_inputs(tmp_path: Path) -> None:
    not_zip = tmp_path / "demo-1.0-py3-none-any.whl"
    not_zip.write_bytes(b"not a zip")
    with pytest.raises(LambdaLayersError, match="cannot open wheel"):
        read_wheel(not_zip, OPTIONS)
    with pytest.raises(LambdaLayersError, match="not a wheel file name"):
        read_wheel(tmp_path / "demo.zip", OPTIONS)


def test_read_wheel_applies_layout_options(demo_wheel: Path) -> None:
    options = LayoutOptions(exclude=("*.txt", "bin/"), default_excludes=False)
    paths = {e.path for e in read_wheel(demo_wheel, options).entries}
    assert "python/demo_pkg/bin/tool" not in paths
    assert "python/demo_pkg/data/\u00e9t\u00e9.txt" not in paths
    assert "python/demo_pkg/__pycache__/__init__.cpython-312.pyc" in paths
    assert "python/demo_pkg-1.0.dist-info/RECORD" in paths


# ------------------------------------------------------------------ write_zip


def test_written_zip_is_valid_and_matches_wheel(demo_wheel: Path, tmp_path: Path) -> None:
    package = read_wheel(demo_wheel, OPTIONS)
    out = tmp_path / "layer.zip"
    result = write_zip(out, package.entries, epoch=0)
    with zipfile.ZipFile(out) as layer, zipfile.ZipFile(demo_wheel) as wheel:
        assert layer.testzip() is None
        assert layer.comment == b""
        infos = layer.infolist()
        assert [i.filename for i in infos] == [e.path for e in package.entries]
        for info, entry in zip(infos, package.entries, strict=True):
            assert isinstance(entry, ZipSourceEntry)
            assert layer.read(info) == wheel.read(entry.member)
            assert info.create_system == 3
            assert info.external_attr == (0o100000 | entry.mode) << 16
            assert info.external_attr >> 16 in (0o100644, 0o100755)
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.extra == b""
            assert info.comment == b""
            assert not info.is_dir()
    data = out.read_bytes()
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert base64.b64decode(result.code_sha256) == hashlib.sha256(data).digest()
    assert result.size_zipped == len(data)
    assert result.size_unzipped == package.size_unzipped
    assert result.entry_count == len(package.entries)
    assert result.content_hash == entries_content_hash(package.entries)
    # the partitioner's estimate is exact for one package
    assert package.size_zipped + END_OF_CENTRAL_DIRECTORY_SIZE == len(data)
    assert estimate_zip_size(package.entries) == len(data)


def test_non_ascii_names_flagged_utf8(demo_wheel: Path, tmp_path: Path) -> None:
    out = tmp_path / "layer.zip"
    write_zip(out, read_wheel(demo_wheel, OPTIONS).entries)
    with zipfile.ZipFile(out) as zf:
        info = zf.getinfo("python/demo_pkg/data/\u00e9t\u00e9.txt")
        assert info.flag_bits & 0x800
        assert zf.read(info) == b"summer"
        assert not zf.getinfo("python/demo_pkg/extra.py").flag_bits & 0x800


def test_compressed_bytes_are_copied_not_recompressed(demo_wheel: Path, tmp_path: Path) -> None:
    out = tmp_path / "layer.zip"
    write_zip(out, read_wheel(demo_wheel, OPTIONS).entries)
    method, in_wheel = raw_payload(demo_wheel, "demo_pkg/__init__.py")
    assert method == zipfile.ZIP_DEFLATED
    assert raw_payload(out, "python/demo_pkg/__init__.py") == (method, in_wheel)
    # meaningful: recompressing at our level would have produced other bytes
    recompressed = zlib.compressobj(6, zlib.DEFLATED, -15)
    assert recompressed.compress(TEXT.encode()) + recompressed.flush() != in_wheel


def test_stored_members_stay_stored(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "demo", "1.0", {"demo.py": TEXT}, compression=zipfile.ZIP_STORED)
    out = tmp_path / "layer.zip"
    write_zip(out, read_wheel(wheel, OPTIONS).entries)
    assert raw_payload(out, "python/demo.py") == (zipfile.ZIP_STORED, TEXT.encode())


def test_other_compression_methods_are_transcoded(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "demo", "1.0", {"demo.py": TEXT}, compression=zipfile.ZIP_BZIP2)
    package = read_wheel(wheel, OPTIONS)
    entry = next(e for e in package.entries if e.path == "python/demo.py")
    assert isinstance(entry, ZipSourceEntry)
    assert (entry.source_compress_type, entry.compress_type) == (
        zipfile.ZIP_BZIP2,
        zipfile.ZIP_DEFLATED,
    )
    out = tmp_path / "layer.zip"
    result = write_zip(out, package.entries)
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None
        assert zf.getinfo("python/demo.py").compress_type == zipfile.ZIP_DEFLATED
        assert zf.read("python/demo.py") == TEXT.encode()
    assert result.size_zipped == estimate_zip_size(package.entries)


def test_reproducible_across_dirs_and_times(
    demo_wheel: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    entries = read_wheel(demo_wheel, OPTIONS).entries
    monkeypatch.setattr(time, "time", lambda: 1_700_000_000.0)
    first = write_zip(tmp_path / "a" / "layer.zip", entries)
    monkeypatch.setattr(time, "time", lambda: 1_800_000_000.0)
    second = write_zip(tmp_path / "b" / "deeper" / "other-name.zip", entries)
    assert (tmp_path / "a" / "layer.zip").read_bytes() == (
        tmp_path / "b" / "deeper" / "other-name.zip"
    ).read_bytes()
    assert first == second


def test_source_date_epoch_changes_bytes_not_content_hash(
    demo_wheel: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entries = read_wheel(demo_wheel, OPTIONS).entries
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    first = write_zip(tmp_path / "a.zip", entries)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1600000000")
    second = write_zip(tmp_path / "b.zip", entries)
    assert first.sha256 != second.sha256
    assert first.content_hash == second.content_hash
    with zipfile.ZipFile(tmp_path / "a.zip") as zf:
        assert zf.infolist()[0].date_time == (2023, 11, 14, 22, 13, 20)
    # an explicit epoch wins over the environment
    third = write_zip(tmp_path / "c.zip", entries, epoch=1700000000)
    assert third.sha256 == first.sha256


def test_epoch_resolution() -> None:
    assert resolve_epoch(None, {}) == 315532800
    assert resolve_epoch(None, {"SOURCE_DATE_EPOCH": "0"}) == 315532800  # clamped to 1980
    assert resolve_epoch(None, {"SOURCE_DATE_EPOCH": " 1700000000 "}) == 1700000000
    assert resolve_epoch(42, {"SOURCE_DATE_EPOCH": "1700000000"}) == 315532800
    with pytest.raises(ConfigError, match=r'SOURCE_DATE_EPOCH .* got "soon"'):
        resolve_epoch(None, {"SOURCE_DATE_EPOCH": "soon"})
    assert dos_datetime(0) == (0, (1 << 5) | 1)
    assert dos_datetime(10**12) == dos_datetime(4354819198)


def test_input_order_independence(demo_wheel: Path, tmp_path: Path) -> None:
    entries = [*read_wheel(demo_wheel, OPTIONS).entries, BytesEntry("python/z.txt", b"z")]
    results = []
    for seed in range(3):
        shuffled = entries[:]
        random.Random(seed).shuffle(shuffled)
        results.append(write_zip(tmp_path / f"{seed}.zip", shuffled))
        assert entries_content_hash(shuffled) == results[0].content_hash
    assert len({r.sha256 for r in results}) == 1
    assert (tmp_path / "0.zip").read_bytes() == (tmp_path / "2.zip").read_bytes()


def test_bytes_and_file_entries_deflated(tmp_path: Path) -> None:
    source = tmp_path / "handler.py"
    source.write_text(TEXT)
    entries: list[Entry] = [
        FileEntry("app/handler.py", source),
        BytesEntry("bin/run", b"#!/bin/sh\n", 0o755),
        BytesEntry("empty.txt", b""),
    ]
    out = tmp_path / "function.zip"
    result = write_zip(out, entries)
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None
        assert zf.namelist() == ["app/handler.py", "bin/run", "empty.txt"]
        assert zf.read("app/handler.py") == TEXT.encode()
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in zf.infolist())
        assert zf.getinfo("bin/run").external_attr >> 16 == 0o100755
        assert zf.getinfo("empty.txt").file_size == 0
    assert result.size_zipped == estimate_zip_size(entries) == out.stat().st_size
    _, payload = raw_payload(out, "app/handler.py")
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY)
    assert payload == compressor.compress(TEXT.encode()) + compressor.flush()


def test_content_hash_ignores_compression_and_origin(demo_wheel: Path, tmp_path: Path) -> None:
    package = read_wheel(demo_wheel, OPTIONS)
    as_bytes = [BytesEntry(e.path, entry_bytes(e), e.mode) for e in package.entries]
    copied = write_zip(tmp_path / "copied.zip", package.entries)
    regenerated = write_zip(tmp_path / "bytes.zip", as_bytes)
    assert copied.sha256 != regenerated.sha256  # level-1 wheel bytes vs level-6 deflate
    assert copied.content_hash == regenerated.content_hash
    lines = sorted(
        f"{e.path}\0{e.mode:o}\0{hashlib.sha256(entry_bytes(e)).hexdigest()}\n"
        for e in package.entries
    )
    expected = "sha256:" + hashlib.sha256("".join(lines).encode()).hexdigest()
    assert copied.content_hash == expected
    # a mode change is a content change
    flipped = [BytesEntry(e.path, e.data, 0o755) for e in as_bytes]
    assert entries_content_hash(flipped) != copied.content_hash


def test_duplicate_paths_name_both_sources(demo_wheel: Path, tmp_path: Path) -> None:
    package = read_wheel(demo_wheel, OPTIONS)
    clash = BytesEntry("python/demo_pkg/extra.py", b"other", origin="compiled bytecode")
    out = tmp_path / "layer.zip"
    with pytest.raises(LambdaLayersError) as info:
        write_zip(out, [*package.entries, clash])
    message = str(info.value)
    assert '"python/demo_pkg/extra.py"' in message
    assert "compiled bytecode" in message
    assert f"{demo_wheel.name}:demo_pkg-1.0.data/purelib/demo_pkg/extra.py" in message
    assert list(tmp_path.glob("*.zip")) == []


@pytest.mark.parametrize("path", ["../x.py", "/abs.py", "dir/", ""])
def test_write_zip_refuses_bad_paths(tmp_path: Path, path: str) -> None:
    with pytest.raises(LambdaLayersError, match="cannot write"):
        write_zip(tmp_path / "x.zip", [BytesEntry(path, b"")])


def test_write_zip_refuses_non_permission_modes(tmp_path: Path) -> None:
    with pytest.raises(LambdaLayersError, match="mode 0o100644"):
        write_zip(tmp_path / "x.zip", [BytesEntry("a", b"", 0o100644)])


def test_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    out = tmp_path / "layer.zip"
    write_zip(out, [BytesEntry("a.txt", b"old")])
    before = out.read_bytes()
    with pytest.raises(FileNotFoundError):
        write_zip(out, [BytesEntry("a.txt", b"new"), FileEntry("b.txt", tmp_path / "missing")])
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["layer.zip"]


def test_too_many_entries_is_a_clear_error(tmp_path: Path) -> None:
    entries = [BytesEntry(f"f{i}", b"") for i in range(65536)]
    with pytest.raises(LambdaLayersError, match="ZIP64"):
        write_zip(tmp_path / "big.zip", entries)
    assert not (tmp_path / "big.zip").exists()


def test_empty_zip(tmp_path: Path) -> None:
    result = write_zip(tmp_path / "empty.zip", [])
    with zipfile.ZipFile(tmp_path / "empty.zip") as zf:
        assert zf.namelist() == []
    assert result.size_zipped == END_OF_CENTRAL_DIRECTORY_SIZE


@pytest.mark.skipif(shutil.which("unzip") is None, reason="unzip is not installed")
def test_info_zip_accepts_the_zip(demo_wheel: Path, tmp_path: Path) -> None:
    out = tmp_path / "layer.zip"
    write_zip(out, read_wheel(demo_wheel, OPTIONS).entries)
    subprocess.run(["unzip", "-tq", str(out)], check=True, capture_output=True)
    target = tmp_path / "opt"
    subprocess.run(["unzip", "-q", str(out), "-d", str(target)], check=True, capture_output=True)
    assert (target / "python/demo_pkg/bin/tool").stat().st_mode & 0o777 == 0o755
    assert (target / "python/demo_pkg/__init__.py").stat().st_mode & 0o777 == 0o644


# ------------------------------------------------------------------ ELF checks


def test_factory_elf_round_trip() -> None:
    assert elf_machine(make_elf("x86_64")) == "x86_64"
    assert elf_machine(make_elf("aarch64")) == "aarch64"
    assert elf_machine(b"not elf") is None


def test_zip_elf_machines(tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path,
        "native",
        "2.0",
        {
            "native/_x.cpython-312-x86_64-linux-gnu.so": make_elf("x86_64"),
            "native.libs/libarm.so.3": make_elf("aarch64"),
            "native/_old.so": make_elf("i386"),
            "native/fake.so": b"text, not ELF",
            "native/__init__.py": "",
        },
        tag="cp312-cp312-manylinux_2_17_x86_64",
    )
    out = tmp_path / "layer.zip"
    write_zip(out, read_wheel(wheel, OPTIONS).entries)
    assert zip_elf_machines(out) == {
        "python/native/_x.cpython-312-x86_64-linux-gnu.so": "x86_64",
        "python/native.libs/libarm.so.3": "aarch64",
        "python/native/_old.so": "other",
        "python/native/fake.so": "other",
    }
