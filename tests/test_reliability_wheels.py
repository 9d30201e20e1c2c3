"""Reliability against hostile or broken wheels: whatever a wheel's headers, RECORD or METADATA
claim, a member whose bytes disagree never reaches a layer. Each fault is a one-line error
naming the wheel and the member; the build exits 1 and writes no artifact."""

from __future__ import annotations

import base64
import hashlib
import shutil
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from hatch_lambda_layers import cli
from hatch_lambda_layers.errors import CorruptWheelError, LambdaLayersError, UnsafeWheelError
from hatch_lambda_layers.layers.layout import LayoutOptions
from hatch_lambda_layers.layers.verdicts import verified_wheel
from hatch_lambda_layers.layers.verify import verify_wheel
from hatch_lambda_layers.layers.wheel import read_wheel
from tests.localindex import serve_index
from tests.projects import UV, Fixture, copy_project, uv_lock
from tests.wheelfactory import (
    RawMember,
    deflated,
    make_wheel,
    raw_members,
    record_hash,
    write_raw_zip,
)

MODULE = b"pkg/mod.py"
SOURCE = b"VALUE = 1\n" * 50


@pytest.fixture
def good_wheel(tmp_path: Path) -> Path:
    return make_wheel(tmp_path, "pkg", "1.0", {"pkg/__init__.py": "", "pkg/mod.py": SOURCE})


def rewrite(wheel: Path, change: Callable[[RawMember], RawMember | None]) -> Path:
    """The wheel rewritten byte by byte with `change` applied to every member (None drops it)."""
    members = [m for m in (change(m) for m in raw_members(wheel)) if m is not None]
    return write_raw_zip(wheel, members)


def only(name: bytes, change: Callable[[RawMember], RawMember]) -> Callable[[RawMember], RawMember]:
    return lambda m: change(m) if m.name == name else m


def with_record(wheel: Path, member: str, content: bytes) -> Callable[[RawMember], RawMember]:
    """A change that makes RECORD vouch for `content` as `member`."""

    def change(m: RawMember) -> RawMember:
        if not m.name.endswith(b".dist-info/RECORD"):
            return m
        lines = zlib.decompress(m.data, -15).decode().splitlines()
        lines = [
            f"{member},{record_hash(content)},{len(content)}" if line.startswith(member) else line
            for line in lines
        ]
        text = ("\n".join(lines) + "\n").encode()
        return replace(m, data=deflated(text), crc=zlib.crc32(text), size=len(text))

    return change


def refused(wheel: Path, kind: type[LambdaLayersError] = CorruptWheelError) -> str:
    with pytest.raises(kind) as info:
        read_wheel(wheel, LayoutOptions())
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"wheel {wheel.name}")
    return message


# --------------------------------------------------------------------------- lying headers


def test_central_directory_crc_that_lies_is_refused(good_wheel: Path) -> None:
    rewrite(good_wheel, only(MODULE, lambda m: replace(m, crc=m.crc ^ 1)))
    assert refused(good_wheel) == (
        f'wheel {good_wheel.name}: member "pkg/mod.py" fails its CRC-32 check (the zip directory '
        "lies or the bytes are damaged); the wheel is corrupt, fetch or rebuild it"
    )


def test_declared_size_larger_than_the_bytes_is_refused(good_wheel: Path) -> None:
    rewrite(good_wheel, only(MODULE, lambda m: replace(m, size=m.size + 10)))
    assert "holds 500 bytes where the zip directory declares 510" in refused(good_wheel)


def test_declared_size_smaller_than_the_bytes_is_refused(good_wheel: Path) -> None:
    rewrite(good_wheel, only(MODULE, lambda m: replace(m, size=m.size - 10)))
    assert "inflates past its declared size of 490 bytes" in refused(good_wheel)


def test_stored_member_whose_sizes_disagree_is_refused(good_wheel: Path) -> None:
    stored = only(MODULE, lambda m: replace(m, method=0, data=SOURCE, size=len(SOURCE) + 1))
    rewrite(good_wheel, stored)
    assert "stored uncompressed but declares 500 stored and 501 unpacked" in refused(good_wheel)


def test_compression_bomb_claiming_100_bytes_stops_at_101(good_wheel: Path) -> None:
    """50 MB of zeros whose headers and RECORD claim the first 100 bytes."""
    head = bytes(100)
    bomb = only(
        MODULE, lambda m: replace(m, data=deflated(bytes(50_000_000)), crc=zlib.crc32(head))
    )
    rewrite(good_wheel, lambda m: bomb(with_record(good_wheel, "pkg/mod.py", head)(m)))
    rewrite(good_wheel, only(MODULE, lambda m: replace(m, size=100)))
    started = time.monotonic()
    message = refused(good_wheel)
    assert time.monotonic() - started < 1
    assert message == (
        f'wheel {good_wheel.name}: member "pkg/mod.py" inflates past its declared size of 100 '
        "bytes (a compression bomb or a lying zip directory); refusing the wheel"
    )


def test_ratio_deflate_cannot_reach_is_refused_before_inflating(good_wheel: Path) -> None:
    rewrite(good_wheel, only(MODULE, lambda m: replace(m, size=2_000_000_000)))
    assert "a ratio deflate cannot reach (a compression bomb?)" in refused(good_wheel)


def test_bytes_after_the_compressed_stream_are_refused(good_wheel: Path) -> None:
    rewrite(good_wheel, only(MODULE, lambda m: replace(m, data=m.data + b"junk")))
    assert "has bytes after the end of its compressed data" in refused(good_wheel)


def test_truncated_compressed_stream_is_refused(good_wheel: Path) -> None:
    rewrite(good_wheel, only(MODULE, lambda m: replace(m, data=m.data[:-3])))
    assert "ends before its compressed data does" in refused(good_wheel)


def test_members_sharing_their_bytes_are_refused(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "pkg", "1.0", {"pkg/a.py": SOURCE})
    data = wheel.read_bytes()
    # Point the second member's directory entry at the first one's local header.
    first = data.index(b"PK\x01\x02")
    second = data.index(b"PK\x01\x02", first + 4)
    patched = bytearray(data)
    patched[second + 42 : second + 46] = data[first + 42 : first + 46]
    wheel.write_bytes(bytes(patched))
    with pytest.raises((CorruptWheelError, UnsafeWheelError)) as info:
        read_wheel(wheel, LayoutOptions())
    assert "refusing" in str(info.value)


# --------------------------------------------------------------------------- RECORD, METADATA


def test_member_that_record_does_not_vouch_for_is_refused(good_wheel: Path) -> None:
    rewrite(good_wheel, only(MODULE, lambda m: replace(m, name=b"pkg/other.py")))
    assert refused(good_wheel) == (
        f'wheel {good_wheel.name}: member "pkg/other.py" is not vouched for by '
        "pkg-1.0.dist-info/RECORD; the wheel is incomplete or tampered with, refusing it"
    )


def test_member_whose_bytes_differ_from_record_is_refused(good_wheel: Path) -> None:
    other = SOURCE.replace(b"1", b"2")
    swap = only(MODULE, lambda m: replace(m, data=deflated(other), crc=zlib.crc32(other)))
    rewrite(good_wheel, swap)
    assert refused(good_wheel) == (
        f'wheel {good_wheel.name}: member "pkg/mod.py" does not match its RECORD sha256 hash '
        "and size; the wheel is corrupt or tampered with, refusing it"
    )


def test_record_with_a_weak_hash_is_refused(good_wheel: Path) -> None:
    digest = base64.urlsafe_b64encode(hashlib.md5(SOURCE).digest()).decode().rstrip("=")
    weak = with_record(good_wheel, "pkg/mod.py", SOURCE)

    def md5(m: RawMember) -> RawMember:
        m = weak(m)
        if not m.name.endswith(b"RECORD"):
            return m
        text = zlib.decompress(m.data, -15).replace(
            record_hash(SOURCE).encode(), b"md5=" + digest.encode()
        )
        return replace(m, data=deflated(text), crc=zlib.crc32(text), size=len(text))

    rewrite(good_wheel, md5)
    assert "is not <algorithm>=<digest> with sha256 or a stronger algorithm" in refused(good_wheel)


@pytest.mark.parametrize(
    ("filename", "says"),
    [("other-1.0-py3-none-any.whl", "other 1.0"), ("pkg-2.0-py3-none-any.whl", "pkg 2.0")],
)
def test_metadata_that_names_another_distribution_or_version_is_refused(
    good_wheel: Path, filename: str, says: str
) -> None:
    renamed = good_wheel.rename(good_wheel.with_name(filename))
    assert refused(renamed) == (
        f"wheel {filename}: pkg-1.0.dist-info/METADATA names 'pkg' '1.0' but the file name says "
        f"{says}; the wheel is mislabelled or tampered with, refusing it"
    )


def test_wheel_without_record_is_refused(good_wheel: Path) -> None:
    rewrite(good_wheel, lambda m: None if m.name.endswith(b"RECORD") else m)
    assert "has no pkg-1.0.dist-info/RECORD, so nothing vouches for its files" in refused(
        good_wheel
    )


# --------------------------------------------------------------------------- member names


def test_member_name_flagged_utf8_that_is_not_utf8_is_refused(good_wheel: Path) -> None:
    rewrite(good_wheel, only(MODULE, lambda m: replace(m, name=b"pkg/\xff.py", flags=0x800)))
    assert refused(good_wheel) == (
        f"wheel {good_wheel.name} has a member name flagged as UTF-8 that is not valid UTF-8; "
        "rebuild the wheel"
    )


def test_non_ascii_member_name_not_flagged_utf8_is_refused(good_wheel: Path) -> None:
    rewrite(good_wheel, only(MODULE, lambda m: replace(m, name=b"pkg/caf\xc3\xa9.py", flags=0)))
    message = refused(good_wheel)
    assert "whose name is not marked as UTF-8 (tools read it differently)" in message


def test_member_name_with_a_newline_stays_on_one_line(good_wheel: Path) -> None:
    rewrite(good_wheel, only(MODULE, lambda m: replace(m, name=b"pkg/a\nb.py")))
    assert '"pkg/a\\nb.py"' in refused(good_wheel)


# --------------------------------------------------------------------------- the verdict cache


def test_verdict_is_cached_by_sha256_so_a_warm_read_inflates_nothing(
    good_wheel: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    verdict, cached = verified_wheel(good_wheel, cache_dir=cache)
    assert not cached
    assert verdict.members["pkg/mod.py"] == hashlib.sha256(SOURCE).hexdigest()
    calls: list[object] = []

    def spy(*args: object) -> Iterator[bytes]:
        calls.append(args)
        return iter(())

    monkeypatch.setattr("hatch_lambda_layers.layers.verify._inflate", spy)
    again, cached = verified_wheel(good_wheel, cache_dir=cache)
    assert (again, cached) == (verdict, True)
    read_wheel(good_wheel, LayoutOptions(), verdict=again)
    assert calls == []

    # Other bytes under the same name have another sha256, hence no verdict yet.
    rewrite(good_wheel, only(MODULE, lambda m: replace(m, crc=m.crc ^ 1)))
    monkeypatch.undo()
    with pytest.raises(CorruptWheelError, match="fails its CRC-32 check"):
        verified_wheel(good_wheel, cache_dir=cache)


def test_verifying_a_large_wheel_costs_one_pass(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "big", "1.0", {"big/blob.bin": bytes(20_000_000)})
    started = time.monotonic()
    verify_wheel(wheel)
    assert time.monotonic() - started < 2


# --------------------------------------------------------------------------- through the CLI


@pytest.mark.skipif(UV is None, reason="uv is not installed (pip install uv)")
def test_build_with_a_bomb_wheel_exits_1_and_keeps_the_previous_artifacts(
    fixture: Fixture,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HATCH_LAMBDA_LAYERS_CACHE_DIR", str(tmp_path / "cache"))
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for w in fixture.wheels.glob("*.whl"):
        shutil.copy(w, wheels)
    bomb = make_wheel(wheels, "bomb", "1.0", {"bomb/__init__.py": bytes(100)})
    rewrite(
        bomb,
        only(b"bomb/__init__.py", lambda m: replace(m, data=deflated(bytes(10_000_000)))),
    )
    project = copy_project(fixture.project, tmp_path / "p")
    assert cli.main(["--quiet", "build", str(project)]) == 0
    out = project / "dist" / "lambda"
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.name[0] != "."}
    with serve_index(wheels) as index:
        pyproject = project / "pyproject.toml"
        pyproject.write_text(pyproject.read_text().replace('"cloudsdk"]', '"cloudsdk", "bomb"]', 1))
        uv_lock(project, index, tmp_path / "uv-cache")
        code = cli.main(["--quiet", "build", str(project)])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 1
    # Warnings may come first; the error is one line.
    assert all(line.startswith("warning: ") for line in lines[:-1]), lines
    assert lines[-1] == (
        'lambda-layers: error: wheel bomb-1.0-py3-none-any.whl: member "bomb/__init__.py" '
        "inflates past its declared size of 100 bytes (a compression bomb or a lying zip "
        "directory); refusing the wheel"
    )
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.name[0] != "."} == before
