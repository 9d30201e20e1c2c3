"""strip and compile: real shared objects from gcc, real bytecode from each target interpreter."""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import stat
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hatch_lambda_layers.errors import ConfigError, LambdaLayersError
from hatch_lambda_layers.layers.compile import cache_path, compile_package
from hatch_lambda_layers.layers.elf import elf_machine
from hatch_lambda_layers.layers.entries import (
    BytesEntry,
    PackageFiles,
    ZipSourceEntry,
    entry_bytes,
    entry_compressed_size,
    entry_overhead,
    entry_size,
)
from hatch_lambda_layers.layers.interpreters import find_target_python
from hatch_lambda_layers.layers.layout import LayoutOptions
from hatch_lambda_layers.layers.strip import find_strip_tool, strip_package
from hatch_lambda_layers.layers.wheel import read_wheel
from hatch_lambda_layers.targets import RUNTIMES, get_target
from tests.wheelfactory import make_elf, make_wheel

HOST_ARCHITECTURE = {"x86_64": "x86_64", "aarch64": "arm64"}.get(os.uname().machine)
C_SOURCE = """\
struct table { int values[256]; };
static struct table data = {{1, 2, 3}};
int answer(void) { return 41 + data.values[0]; }
"""


def section_names(elf: bytes) -> set[str]:
    """Section names of a little-endian ELF64 file (independent of readelf and of the code)."""
    assert elf[4] == 2, "test helper reads ELF64 only"
    assert elf[5] == 1, "test helper reads little-endian ELF only"
    (shoff,) = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3A)
    headers = [struct.unpack_from("<IIQQQQ", elf, shoff + i * shentsize) for i in range(shnum)]
    strtab_offset, strtab_size = headers[shstrndx][4], headers[shstrndx][5]
    strtab = elf[strtab_offset : strtab_offset + strtab_size]
    return {strtab[h[0] : strtab.index(b"\0", h[0])].decode() for h in headers}


def assert_sizes(pkg: PackageFiles) -> None:
    assert pkg.size_unzipped == sum(entry_size(e) for e in pkg.entries)
    assert pkg.size_zipped == sum(
        entry_compressed_size(e) + entry_overhead(e.path) for e in pkg.entries
    )
    assert [e.path for e in pkg.entries] == sorted(e.path for e in pkg.entries)


def by_path(pkg: PackageFiles) -> dict[str, Any]:
    return {e.path: e for e in pkg.entries}


def script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


# --------------------------------------------------------------------------------------------
# strip


@pytest.fixture(scope="module")
def debug_so(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    gcc = shutil.which("gcc")
    if gcc is None or HOST_ARCHITECTURE is None:
        pytest.skip("needs gcc on an x86_64 or aarch64 host to build a real shared object")
    work = tmp_path_factory.mktemp("so")
    (work / "answer.c").write_text(C_SOURCE)
    subprocess.run(
        [gcc, "-shared", "-fPIC", "-g", "-O0", "-o", "libanswer.so", "answer.c"],
        cwd=work,
        check=True,
        capture_output=True,
    )
    return (work / "libanswer.so").read_bytes()


@pytest.fixture
def native_pkg(tmp_path: Path, debug_so: bytes) -> PackageFiles:
    wheel = make_wheel(
        tmp_path,
        "native",
        "1.0",
        {
            "native/__init__.py": "",
            "native/_answer.so": debug_so,
            "native/libs/libanswer.so.1": debug_so,
            "native/foreign.so": make_elf("i386"),
            "native/not_elf.so": b"just text\n",
        },
        tag="cp311-cp311-manylinux_2_17_x86_64",
    )
    return read_wheel(wheel, LayoutOptions())


def host_strip_tool() -> str:
    assert HOST_ARCHITECTURE is not None
    tool = find_strip_tool(get_target("python3.11", HOST_ARCHITECTURE))
    if tool is None:
        pytest.skip("no strip tool for the host machine (binutils or llvm)")
    return tool


def test_strip_removes_debug_sections_and_keeps_objects_loadable(
    native_pkg: PackageFiles, debug_so: bytes, tmp_path: Path
) -> None:
    assert HOST_ARCHITECTURE is not None
    target = get_target("python3.11", HOST_ARCHITECTURE)
    before = by_path(native_pkg)
    assert ".debug_info" in section_names(debug_so)

    stripped = strip_package(native_pkg, target, strip_tool=host_strip_tool())
    after = by_path(stripped)

    assert sorted(after) == sorted(before)
    for path in ("python/native/_answer.so", "python/native/libs/libanswer.so.1"):
        entry = after[path]
        assert isinstance(entry, BytesEntry)
        assert len(entry.data) < len(debug_so)
        assert elf_machine(entry.data) == target.machine
        sections = section_names(entry.data)
        assert not {s for s in sections if s.startswith(".debug")}
        assert {".dynsym", ".dynstr", ".text"} <= sections  # what dynamic linking needs
        assert entry.mode == before[path].mode == 0o755
    # Other machines and non-ELF files are left exactly as they were.
    for path in ("python/native/foreign.so", "python/native/not_elf.so"):
        assert after[path] is before[path]
    assert stripped.size_unzipped < native_pkg.size_unzipped
    assert_sizes(stripped)

    library = tmp_path / "libanswer.so"
    library.write_bytes(entry_bytes(after["python/native/_answer.so"]))
    assert ctypes.CDLL(str(library)).answer() == 42

    again = strip_package(native_pkg, target, strip_tool=host_strip_tool())
    assert [entry_bytes(e) for e in again.entries] == [entry_bytes(e) for e in stripped.entries]


def test_strip_finds_the_tool_itself(native_pkg: PackageFiles) -> None:
    assert HOST_ARCHITECTURE is not None
    host_strip_tool()
    stripped = strip_package(native_pkg, get_target("python3.12", HOST_ARCHITECTURE))
    assert isinstance(by_path(stripped)["python/native/_answer.so"], BytesEntry)


def test_strip_for_aarch64_without_a_tool_is_a_config_error(tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path,
        "armpkg",
        "1.0",
        {"armpkg/_x.so": make_elf("aarch64")},
        tag="cp312-cp312-manylinux_2_17_aarch64",
    )
    pkg = read_wheel(wheel, LayoutOptions())
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    with pytest.raises(ConfigError) as info:
        strip_package(pkg, get_target("python3.12", "arm64"), environ={"PATH": str(empty)})
    assert str(info.value) == (
        "tool.lambda-layers.strip = true needs a strip tool for aarch64 "
        "(install binutils-aarch64-linux-gnu or llvm, or set HATCH_LAMBDA_LAYERS_STRIP)"
    )
    assert info.value.exit_code == 2


def test_strip_needs_no_tool_without_objects_of_the_target(tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path,
        "mixed",
        "1.0",
        {"mixed/__init__.py": "x = 1\n", "mixed/_x.so": make_elf("x86_64")},
    )
    pkg = read_wheel(wheel, LayoutOptions())
    empty = tmp_path / "empty-bin"
    empty.mkdir()

    def runner(*args: object, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        raise AssertionError("no program may run")

    arm = get_target("python3.12", "arm64")
    assert strip_package(pkg, arm, environ={"PATH": str(empty)}, runner=runner) is pkg


def fake_strip(returncode: int, stderr: bytes = b"", *, shrink: bool = False) -> Any:
    calls: list[list[str]] = []

    def runner(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        calls.append(list(args))
        if shrink:
            target = Path(args[-1])
            target.write_bytes(target.read_bytes()[:-16])
        return subprocess.CompletedProcess(args, returncode, b"", stderr)

    runner.calls = calls  # type: ignore[attr-defined]
    return runner


def elf_pkg(tmp_path: Path) -> PackageFiles:
    wheel = make_wheel(
        tmp_path,
        "elfpkg",
        "2.0",
        {"elfpkg/_a.so": make_elf("x86_64"), "elfpkg/_b.so.3": make_elf("x86_64")},
        tag="cp311-cp311-manylinux_2_17_x86_64",
    )
    return read_wheel(wheel, LayoutOptions())


def test_strip_uses_strip_debug_and_keeps_unshrunk_objects(tmp_path: Path) -> None:
    pkg = elf_pkg(tmp_path)
    runner = fake_strip(0)
    result = strip_package(
        pkg, get_target("python3.11"), strip_tool="/opt/bin/mystrip", runner=runner
    )
    assert result is pkg  # nothing got smaller, so the wheel members stay
    assert sorted(call[:2] for call in runner.calls) == [["/opt/bin/mystrip", "--strip-debug"]] * 2
    assert sorted(Path(call[2]).name for call in runner.calls) == ["_a.so", "_b.so.3"]

    shrunk = strip_package(
        pkg, get_target("python3.11"), strip_tool="s", runner=fake_strip(0, shrink=True)
    )
    assert all(isinstance(e, BytesEntry) for e in shrunk.entries if ".so" in e.path)
    assert shrunk.size_unzipped == pkg.size_unzipped - 32
    assert_sizes(shrunk)


def test_strip_failure_names_the_file_or_is_reported(tmp_path: Path) -> None:
    pkg = elf_pkg(tmp_path)
    runner = fake_strip(1, b"strip: error\nstrip: _a.so: file format not recognized\n")
    with pytest.raises(LambdaLayersError) as info:
        strip_package(pkg, get_target("python3.11"), strip_tool="strip", runner=runner)
    message = str(info.value)
    assert '"python/elfpkg/_a.so"' in message
    assert "elfpkg-2.0-cp311-cp311-manylinux_2_17_x86_64.whl" in message
    assert "file format not recognized" in message
    assert "tool.lambda-layers.strip = false" in message

    skipped: list[tuple[str, str]] = []
    result = strip_package(
        pkg,
        get_target("python3.11"),
        strip_tool="strip",
        runner=runner,
        on_skip=lambda path, why: skipped.append((path, why)),
    )
    assert result is pkg
    assert [p for p, _ in sorted(skipped)] == ["python/elfpkg/_a.so", "python/elfpkg/_b.so.3"]
    assert all("status 1" in why for _, why in skipped)


def test_find_strip_tool_order(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("strip", "aarch64-linux-gnu-strip", "llvm-strip-14", "llvm-strip-17"):
        script(bin_dir / name, "exit 0\n")
    env = {"PATH": str(bin_dir)}
    x86, arm = get_target("python3.12", "x86_64"), get_target("python3.12", "arm64")

    assert find_strip_tool(x86, env, host_machine="x86_64") == str(bin_dir / "strip")
    assert find_strip_tool(arm, env, host_machine="x86_64") == str(
        bin_dir / "aarch64-linux-gnu-strip"
    )
    assert find_strip_tool(arm, env, host_machine="aarch64") == str(bin_dir / "strip")
    # A non-Linux host's own strip does not know ELF; newest versioned llvm-strip instead.
    assert find_strip_tool(x86, env, host_machine=None) == str(bin_dir / "llvm-strip-17")
    script(bin_dir / "llvm-strip", "exit 0\n")
    assert find_strip_tool(x86, env, host_machine=None) == str(bin_dir / "llvm-strip")

    override = {**env, "HATCH_LAMBDA_LAYERS_STRIP": "llvm-strip-14"}
    assert find_strip_tool(arm, override, host_machine="x86_64") == str(bin_dir / "llvm-strip-14")
    with pytest.raises(ConfigError, match='HATCH_LAMBDA_LAYERS_STRIP="nope"'):
        find_strip_tool(arm, {**env, "HATCH_LAMBDA_LAYERS_STRIP": "nope"})
    assert find_strip_tool(arm, {"PATH": str(tmp_path / "missing")}, host_machine=None) is None


# --------------------------------------------------------------------------------------------
# compile

MODULE = """\
WHERE = "compiled"
NAMES = frozenset({"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"})


def answer(word):
    if word in {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"}:
        return 42
    return 0
"""

SOURCES = {
    "mod.py": MODULE,
    "pkg/__init__.py": "from .sub import VALUE\n",
    "pkg/sub.py": "VALUE = 'sub'\n",
    "pkg/name.with.dots.py": "X = 1\n",
    "pkg/py2_only.py": "print 'hello'\n",
    "pkg/data.txt": "not python\n",
}

INTERPRETERS: dict[str, str | None] = {}


def interpreter_for(runtime: str) -> str:
    if runtime not in INTERPRETERS:
        INTERPRETERS[runtime] = find_target_python(get_target(runtime))
    python = INTERPRETERS[runtime]
    if python is None:
        pytest.skip(f"no CPython {runtime.removeprefix('python')} here (pyenv or uv can add one)")
    return python


def run_python(python: str, code: str, *args: str, cwd: Path | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    result = subprocess.run(
        [python, "-c", code, *args], capture_output=True, text=True, env=env, cwd=cwd, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def source_pkg(tmp_path: Path) -> PackageFiles:
    wheel = make_wheel(tmp_path, "srcpkg", "1.0", SOURCES)
    return read_wheel(wheel, LayoutOptions(compile=True))


VERIFY = """\
import importlib.machinery, importlib.util, json, sys
root, pyc, source = sys.argv[1:]
loader = importlib.machinery.SourcelessFileLoader("mod", pyc)
spec = importlib.util.spec_from_loader("mod", loader)
module = importlib.util.module_from_spec(spec)
loader.exec_module(module)
data = open(pyc, "rb").read()
print(json.dumps({
    "magic": importlib.util.MAGIC_NUMBER.hex(),
    "answer": module.answer("eta"),
    "filename": loader.get_code("mod").co_filename,
    "hash_ok": data[8:16] == importlib.util.source_hash(open(source, "rb").read()),
}))
"""


@pytest.mark.parametrize("runtime", ["python3.10", "python3.11", "python3.12", "python3.13"])
def test_compile_writes_target_bytecode(
    runtime: str, source_pkg: PackageFiles, tmp_path: Path
) -> None:
    python = interpreter_for(runtime)
    target = get_target(runtime)
    tag = f"cpython-{target.python_version[0]}{target.python_version[1]}"
    skipped: list[tuple[str, str]] = []

    compiled = compile_package(
        source_pkg, target, on_skip=lambda path, why: skipped.append((path, why))
    )

    paths = by_path(compiled)
    expected_pycs = {
        f"python/__pycache__/mod.{tag}.pyc",
        f"python/pkg/__pycache__/__init__.{tag}.pyc",
        f"python/pkg/__pycache__/sub.{tag}.pyc",
        f"python/pkg/__pycache__/name.with.dots.{tag}.pyc",
    }
    assert {p for p in paths if p.endswith(".pyc")} == expected_pycs
    assert set(by_path(source_pkg)) <= set(paths)  # sources and data stay
    assert [p for p, _ in skipped] == ["python/pkg/py2_only.py"]
    for pyc in expected_pycs:
        entry = paths[pyc]
        assert isinstance(entry, BytesEntry)
        assert entry.mode == 0o644
        (flags,) = struct.unpack_from("<I", entry.data, 4)
        assert flags == 0b01  # hash-based, check_source off: unchecked-hash
    assert compiled.size_unzipped > source_pkg.size_unzipped
    assert_sizes(compiled)

    # Reproducible whatever hash seed the build runs with (3.10 marshals sets in hash order).
    again = compile_package(
        source_pkg, target, python=python, environ={**os.environ, "PYTHONHASHSEED": "12345"}
    )
    assert [(e.path, entry_bytes(e)) for e in again.entries] == [
        (e.path, entry_bytes(e)) for e in compiled.entries
    ]

    root = tmp_path / "opt"
    for entry in compiled.entries:
        dest = root / entry.path
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(entry_bytes(entry))
    pyc_file = root / f"python/__pycache__/mod.{tag}.pyc"
    report = json.loads(
        run_python(
            python, VERIFY, str(root), str(pyc_file), str(root / "python/mod.py"), cwd=tmp_path
        )
    )
    assert bytes.fromhex(report["magic"]) == paths[f"python/__pycache__/mod.{tag}.pyc"].data[:4]
    assert report == {
        "magic": report["magic"],
        "answer": 42,
        "filename": "/opt/python/mod.py",
        "hash_ok": True,
    }

    # An unchecked-hash pyc is used even when the source beside it changed: proof it is read.
    (root / "python/mod.py").write_text('WHERE = "source"\n')
    (root / "python/pkg/sub.py").write_text("VALUE = 'source'\n")
    out = run_python(
        python,
        "import sys; sys.path.insert(0, sys.argv[1]); import mod, pkg; print(mod.WHERE, pkg.VALUE)",
        str(root / "python"),
        cwd=tmp_path,
    )
    assert out.split() == ["compiled", "sub"]


def test_compile_uses_the_install_root_for_fat_zips(tmp_path: Path) -> None:
    python = interpreter_for(f"python{sys.version_info[0]}.{sys.version_info[1]}")
    wheel = make_wheel(tmp_path, "fat", "1.0", {"fat.py": "x = 1\n"})
    pkg = read_wheel(wheel, LayoutOptions(prefix="", compile=True))
    target = get_target(f"python{sys.version_info[0]}.{sys.version_info[1]}")
    compiled = compile_package(pkg, target, python=python, install_root="/var/task/")
    tag = f"cpython-{sys.version_info[0]}{sys.version_info[1]}"
    data = by_path(compiled)[f"__pycache__/fat.{tag}.pyc"].data
    assert b"/var/task/fat.py" in data
    assert b"/opt/" not in data
    assert str(tmp_path).encode() not in data


def test_compile_replaces_a_shipped_pyc_at_the_same_path(tmp_path: Path) -> None:
    runtime = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    python = interpreter_for(runtime)
    tag = f"cpython-{sys.version_info[0]}{sys.version_info[1]}"
    wheel = make_wheel(
        tmp_path, "stale", "1.0", {"m.py": "x = 1\n", f"__pycache__/m.{tag}.pyc": b"stale"}
    )
    pkg = read_wheel(wheel, LayoutOptions(compile=True, default_excludes=False))
    assert isinstance(by_path(pkg)[f"python/__pycache__/m.{tag}.pyc"], ZipSourceEntry)
    compiled = compile_package(pkg, get_target(runtime), python=python)
    pyc = by_path(compiled)[f"python/__pycache__/m.{tag}.pyc"]
    assert isinstance(pyc, BytesEntry)
    assert pyc.data != b"stale"
    assert [e.path for e in compiled.entries].count(pyc.path) == 1


def other_runtime() -> str:
    here = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    return next(r for r in reversed(RUNTIMES) if r != here)


def test_compile_without_an_interpreter_is_a_config_error(
    source_pkg: PackageFiles, tmp_path: Path
) -> None:
    runtime = other_runtime()
    x, y = get_target(runtime).python_version
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError) as info:
        compile_package(
            source_pkg, get_target(runtime), environ={"PATH": str(empty), "HOME": str(empty)}
        )
    assert str(info.value) == (
        f"tool.lambda-layers.compile = true needs a Python {x}.{y} interpreter to compile for "
        f"python{x}.{y}; none found (install it with pyenv or uv, "
        f"or set HATCH_LAMBDA_LAYERS_PYTHON_{x}_{y})"
    )


def test_compile_refuses_an_interpreter_of_another_version(source_pkg: PackageFiles) -> None:
    runtime = other_runtime()
    with pytest.raises(ConfigError, match=r"not CPython 3\.\d+: it cannot write bytecode"):
        compile_package(source_pkg, get_target(runtime), python=sys.executable)


def test_compile_without_sources_runs_nothing(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "data", "1.0", {"data/x.json": "{}"})
    pkg = read_wheel(wheel, LayoutOptions(compile=True))

    def runner(*args: object, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        raise AssertionError("no program may run")

    assert compile_package(pkg, get_target(other_runtime()), runner=runner) is pkg


def test_compile_failure_of_the_interpreter_is_reported(source_pkg: PackageFiles) -> None:
    def runner(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        return subprocess.CompletedProcess(args, 1, b"", b"Traceback...\nMemoryError\n")

    with pytest.raises(LambdaLayersError, match=r"srcpkg-1\.0-py3-none-any\.whl.*MemoryError"):
        compile_package(source_pkg, get_target("python3.12"), python="py", runner=runner)


def test_cache_path() -> None:
    target = get_target("python3.13")
    assert cache_path("python/a/b.py", target) == "python/a/__pycache__/b.cpython-313.pyc"
    assert cache_path("top.py", target) == "__pycache__/top.cpython-313.pyc"
    assert cache_path("p/x.y.py", target) == "p/__pycache__/x.y.cpython-313.pyc"


# --------------------------------------------------------------------------------------------
# find_target_python


def fake_python(path: Path, answer: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return script(path, f'echo "{answer}"\n')


def test_find_target_python_prefers_the_variable(tmp_path: Path) -> None:
    target = get_target("python3.12")
    good = fake_python(tmp_path / "py312", "cpython 3 12 final")
    wrong = fake_python(tmp_path / "py313", "cpython 3 13 final")
    env = {"PATH": str(tmp_path / "nothing")}
    assert find_target_python(target, {**env, "HATCH_LAMBDA_LAYERS_PYTHON_3_12": str(good)}) == str(
        good
    )
    for value in (str(wrong), "no-such-python"):
        with pytest.raises(ConfigError, match="HATCH_LAMBDA_LAYERS_PYTHON_3_12="):
            find_target_python(target, {**env, "HATCH_LAMBDA_LAYERS_PYTHON_3_12": value})


def test_find_target_python_path_then_pyenv_then_uv(tmp_path: Path) -> None:
    target = get_target("python3.12")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    root = tmp_path / "pyenv"
    env = {"PATH": str(bin_dir), "PYENV_ROOT": str(root)}

    # A pyenv shim that cannot run this version is passed over.
    script(bin_dir / "python3.12", "echo 'pyenv: python3.12: command not found' >&2; exit 127\n")
    fake_python(root / "versions/3.12.2/bin/python3.12", "cpython 3 12 final")
    fake_python(root / "versions/3.12.10/bin/python3.12", "cpython 3 12 final")
    fake_python(root / "versions/3.12.11/bin/python3.12", "cpython 3 12 candidate")
    fake_python(root / "versions/3.1.99/bin/python3.1", "cpython 3 1 final")
    fake_python(root / "versions/3.12.12rc1/bin/python3.12", "cpython 3 12 final")
    assert find_target_python(target, env) == str(root / "versions/3.12.10/bin/python3.12")

    on_path = fake_python(bin_dir / "python3.12", "cpython 3 12 final")
    assert find_target_python(target, env) == str(on_path)

    on_path.unlink()
    shutil.rmtree(root)
    managed = fake_python(tmp_path / "uv-python/bin/python3.12", "cpython 3 12 final")
    log = tmp_path / "uv.log"
    script(bin_dir / "uv", f'echo "$UV_PYTHON_DOWNLOADS $*" > {log}\necho {managed}\n')
    assert find_target_python(target, env) == str(managed)
    assert log.read_text().split() == [
        "never",
        "python",
        "find",
        "--managed-python",
        "--no-project",
        "--no-config",
        "cpython@3.12",
    ]


def test_find_target_python_checks_the_running_interpreter_first() -> None:
    here = get_target(f"python{sys.version_info[0]}.{sys.version_info[1]}")
    assert find_target_python(here, {"PATH": ""}) == sys.executable


def test_pyenv_root_from_the_pyenv_command(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    root = tmp_path / "somewhere"
    found = fake_python(root / "versions/3.13.4/bin/python3.13", "cpython 3 13 final")
    script(bin_dir / "pyenv", f'[ "$1" = root ] && echo {root}\n')
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path / "home")}
    assert find_target_python(get_target("python3.13"), env) == str(found)


def test_a_pyenv_shim_on_path_is_tried_after_pyenv_s_versions(tmp_path: Path) -> None:
    root = tmp_path / "pyenv"
    shims = root / "shims"
    shim = fake_python(shims / "python3.12", "cpython 3 12 final")
    version = fake_python(root / "versions/3.12.4/bin/python3.12", "cpython 3 12 final")
    env = {"PATH": str(shims), "PYENV_ROOT": str(root)}
    assert find_target_python(get_target("python3.12"), env) == str(version)
    shutil.rmtree(root / "versions")
    (root / "versions").mkdir()
    assert find_target_python(get_target("python3.12"), env) == str(shim)
