"""The `strip` and `compile` keys: rewrite a package's entries before they go into a layer.

Both take a `PackageFiles` (from `wheel.read_wheel`) and return a new one through
`PackageFiles.with_entries`, so sizes are recomputed. The work itself is done by external
programs, reached through a `runner` (``subprocess.run`` by default, replaceable in tests).

strip
    Every shared object (``*.so``, ``*.so.N``) whose ELF machine is the target's goes through
    ``<strip tool> --strip-debug`` on a temporary copy. ``--strip-debug`` drops debug sections
    only and keeps the symbol tables dynamic linking needs (``--strip-all`` on a shared object
    can break it). A result that is not smaller than the input is thrown away, so already
    stripped libraries keep their wheel bytes. Objects of another architecture are left alone
    (the caller warns about them). Strip output depends only on its input and the tool, so the
    layers stay reproducible for a given tool.

compile
    Bytecode must be written by an interpreter of the target's exact ``X.Y`` (the magic number
    and the code format change with every minor version), so the package's ``.py`` entries are
    written to a temporary tree and ONE subprocess of that interpreter compiles them all with
    `py_compile` in ``UNCHECKED_HASH`` mode: the ``.pyc`` holds a hash of the source instead of
    its mtime, and the runtime never re-checks it, so the bytes are reproducible and the file is
    always used. ``PYTHONHASHSEED=0`` makes set constants marshal in a fixed order (3.10
    writes them in hash order; 3.11 and later sort them). The path compiled into each code
    object (tracebacks print it) is where the file sits on Lambda:
    ``install_root`` + entry path, i.e. ``/opt/python/pkg/mod.py`` for layers (the default)
    and ``/var/task/pkg/mod.py`` for a fat zip (pass ``install_root="/var/task"``); nothing of
    the temporary directory ends up in the bytes. A small script is used rather than the
    ``compileall`` command line because it gives each file its own embedded path and reports
    exactly which files compiled. Files the target cannot compile (Python 2 test files in some
    wheels) are skipped: they keep their ``.py`` and get no ``.pyc``. Each ``.pyc`` lands beside
    its source as ``__pycache__/<module>.cpython-3X.pyc`` (mode 0644); the ``.py`` files stay,
    because an unchecked-hash ``.pyc`` in ``__pycache__`` is only used when its source exists.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..errors import ConfigError, LambdaLayersError
from ..targets import Target
from .elf import elf_machine, is_shared_object
from .entries import BytesEntry, Entry, PackageFiles, ZipSourceEntry, entry_bytes

__all__ = [
    "FUNCTION_INSTALL_ROOT",
    "LAYER_INSTALL_ROOT",
    "PYTHON_ENV_PREFIX",
    "STRIP_ENV",
    "cache_path",
    "compile_package",
    "find_strip_tool",
    "find_target_python",
    "strip_package",
]

Runner = Callable[..., "subprocess.CompletedProcess[Any]"]
SkipReporter = Callable[[str, str], None]  # (entry path, reason)

STRIP_ENV = "HATCH_LAMBDA_LAYERS_STRIP"
PYTHON_ENV_PREFIX = "HATCH_LAMBDA_LAYERS_PYTHON_"  # + "<X>_<Y>"
LAYER_INSTALL_ROOT = "/opt"  # layers unpack here; their entries start with python/
FUNCTION_INSTALL_ROOT = "/var/task"  # the function zip (fat mode) unpacks here
PYC_MODE = 0o644
_PROBE_TIMEOUT = 60

# Lambda architecture names against `platform.machine()` spellings.
_HOST_MACHINES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}
_BINUTILS_PACKAGES = {
    "x86_64": "binutils-x86-64-linux-gnu",
    "aarch64": "binutils-aarch64-linux-gnu",
}
_LLVM_STRIP_VERSIONED = re.compile(r"llvm-strip-(\d+)")


# --------------------------------------------------------------------------------------------
# Shared helpers


def _search_path(environ: Mapping[str, str]) -> str:
    return environ.get("PATH", os.defpath)


def _child_env(environ: Mapping[str, str], **extra: str) -> dict[str, str]:
    """`environ` without PYTHON* variables (a stray PYTHONHOME or PYTHONPATH would change what
    the target interpreter runs), plus `extra`."""
    env = {k: v for k, v in environ.items() if not k.startswith("PYTHON")}
    env.update(extra)
    return env


def _last_line(text: bytes | str | None) -> str:
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _read_entries(entries: Sequence[Entry]) -> list[bytes]:
    """The bytes of `entries`, opening each wheel once (`entry_bytes` reopens it per entry,
    which parses the central directory again for every member)."""
    by_wheel: dict[Path, list[int]] = {}
    result: list[bytes | None] = [None] * len(entries)
    for index, entry in enumerate(entries):
        if isinstance(entry, ZipSourceEntry):
            by_wheel.setdefault(entry.wheel_path, []).append(index)
        else:
            result[index] = entry_bytes(entry)
    for wheel_path, indexes in by_wheel.items():
        with zipfile.ZipFile(wheel_path) as zf:
            for index in indexes:
                member = entries[index]
                assert isinstance(member, ZipSourceEntry)
                result[index] = zf.read(member.member)
    return [data if data is not None else b"" for data in result]


# --------------------------------------------------------------------------------------------
# strip


def _host_machine() -> str | None:
    """The host's machine when it is Linux (the plain `strip` of other systems is not ELF's)."""
    if not sys.platform.startswith("linux"):
        return None
    return _HOST_MACHINES.get(platform.machine().lower())


def _versioned_llvm_strips(path: str) -> list[str]:
    """`llvm-strip-N` programs on `path`, newest N first (Debian and Ubuntu install these)."""
    found: dict[int, str] = {}
    for directory in path.split(os.pathsep):
        try:
            names = os.listdir(directory or ".")
        except OSError:
            continue
        for name in names:
            match = _LLVM_STRIP_VERSIONED.fullmatch(name)
            if match:
                found.setdefault(int(match.group(1)), name)
    return [found[n] for n in sorted(found, reverse=True)]


def find_strip_tool(
    target: Target, environ: Mapping[str, str] = os.environ, *, host_machine: str | None = ""
) -> str | None:
    """A strip program that handles the target's ELF machine, as an absolute path, or None.

    `$HATCH_LAMBDA_LAYERS_STRIP` (a path or a name on PATH) wins; else the host's `strip` when
    the host is Linux on the target's machine, else `<machine>-linux-gnu-strip` (binutils'
    cross tools), else `llvm-strip` / `llvm-strip-N` (LLVM strips every architecture).
    `host_machine` overrides the detected host ("" detects it, None means "not Linux").
    """
    path = _search_path(environ)
    override = environ.get(STRIP_ENV, "").strip()
    if override:
        found = shutil.which(override, path=path)
        if found is None:
            raise ConfigError(
                f'{STRIP_ENV}="{override}" is not an executable program; set it to a strip '
                f"tool for {target.machine} (a path, or a name on PATH)"
            )
        return found
    host = _host_machine() if host_machine == "" else host_machine
    names = ["strip"] if host == target.machine else []
    names += [f"{target.machine}-linux-gnu-strip", "llvm-strip", *_versioned_llvm_strips(path)]
    for name in names:
        found = shutil.which(name, path=path)
        if found is not None:
            return found
    return None


def _no_strip_tool(target: Target) -> ConfigError:
    package = _BINUTILS_PACKAGES[target.machine]
    if target.machine == _host_machine():
        package = "binutils"
    return ConfigError(
        f"tool.lambda-layers.strip = true needs a strip tool for {target.machine} "
        f"(install {package} or llvm, or set {STRIP_ENV})"
    )


def _strip_one(
    tool: str, entry: Entry, data: bytes, runner: Runner, environ: Mapping[str, str]
) -> bytes | str:
    """The stripped bytes of `data`, or why strip failed."""
    with tempfile.TemporaryDirectory(prefix="hll-strip-") as tmp:
        copy = Path(tmp) / entry.path.rsplit("/", 1)[-1]
        copy.write_bytes(data)
        try:
            result = runner(
                [tool, "--strip-debug", str(copy)],
                capture_output=True,
                check=False,
                env=dict(environ),
            )
        except OSError as exc:
            return f"cannot run {tool}: {exc}"
        if result.returncode != 0:
            detail = _last_line(result.stderr) or _last_line(result.stdout)
            return f"{Path(tool).name} exited with status {result.returncode}: {detail}"
        stripped = copy.read_bytes()
    if elf_machine(stripped) != elf_machine(data):
        return f"{Path(tool).name} did not produce an ELF object for the same machine"
    return stripped


def strip_package(
    pkg: PackageFiles,
    target: Target,
    *,
    strip_tool: str | None = None,
    runner: Runner = subprocess.run,
    environ: Mapping[str, str] = os.environ,
    on_skip: SkipReporter | None = None,
) -> PackageFiles:
    """`pkg` with debug sections stripped from its shared objects of the target's machine.

    The strip tool is looked up (`find_strip_tool`) only when the package has such an object,
    so pure-Python packages never need one; none found is a ConfigError. A shared object strip
    cannot process raises LambdaLayersError naming it, unless `on_skip` is given: then it is
    reported there and kept as it was. Entries are only replaced when stripping saved bytes.
    """
    candidates = [e for e in pkg.entries if is_shared_object(e.path)]
    if not candidates:
        return pkg
    datas = _read_entries(candidates)
    todo = [
        (entry, data)
        for entry, data in zip(candidates, datas, strict=True)
        if elf_machine(data) == target.machine
    ]
    if not todo:
        return pkg
    tool = strip_tool or find_strip_tool(target, environ)
    if tool is None:
        raise _no_strip_tool(target)

    workers = max(1, min(len(todo), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(
            pool.map(lambda job: _strip_one(tool, job[0], job[1], runner, environ), todo)
        )

    replaced: dict[str, Entry] = {}
    for (entry, data), outcome in zip(todo, results, strict=True):
        if isinstance(outcome, str):
            message = (
                f'cannot strip "{entry.path}" from {pkg.wheel_path.name}: {outcome}; '
                "set tool.lambda-layers.strip = false or point "
                f"{STRIP_ENV} at a strip tool for {target.machine}"
            )
            if on_skip is None:
                raise LambdaLayersError(message)
            on_skip(entry.path, outcome)
            continue
        if len(outcome) < len(data):
            replaced[entry.path] = BytesEntry(
                path=entry.path,
                data=outcome,
                mode=entry.mode,
                origin=f"{entry.source} (stripped)",
            )
    if not replaced:
        return pkg
    return pkg.with_entries(replaced.get(e.path, e) for e in pkg.entries)


# --------------------------------------------------------------------------------------------
# Finding the target's interpreter

# Prints what decides whether an interpreter can write the target's bytecode. Runs with -S -s
# and imports only the builtin `sys`, so nothing from the working directory is loaded.
_PROBE = "import sys; print(sys.implementation.name, *sys.version_info[:2], sys.version_info[3])"


def _reports_version(
    python: str, version: tuple[int, int], runner: Runner, environ: Mapping[str, str]
) -> bool:
    """Whether `python` runs and is a final (not alpha/beta/rc) CPython of `version`.

    Pre-releases are refused: the magic number may still change up to the final release.
    """
    try:
        result = runner(
            [python, "-S", "-s", "-c", _PROBE],
            capture_output=True,
            check=False,
            env=_child_env(environ),
            timeout=_PROBE_TIMEOUT,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    if result.returncode != 0:
        return False
    out = result.stdout.decode() if isinstance(result.stdout, bytes) else str(result.stdout)
    return out.split() == ["cpython", str(version[0]), str(version[1]), "final"]


def _pyenv_root(environ: Mapping[str, str], runner: Runner) -> Path | None:
    root = environ.get("PYENV_ROOT", "").strip()
    if root:
        return Path(root)
    pyenv = shutil.which("pyenv", path=_search_path(environ))
    if pyenv is not None:
        try:
            result = runner(
                [pyenv, "root"],
                capture_output=True,
                check=False,
                env=dict(environ),
                timeout=_PROBE_TIMEOUT,
            )
        except (OSError, subprocess.SubprocessError):
            result = None
        if result is not None and result.returncode == 0:
            out = result.stdout.decode() if isinstance(result.stdout, bytes) else result.stdout
            if out.strip():
                return Path(out.strip())
    home = environ.get("HOME", "").strip()
    return Path(home) / ".pyenv" if home else None


def _pyenv_pythons(
    version: tuple[int, int], environ: Mapping[str, str], runner: Runner
) -> Iterator[str]:
    """`<pyenv root>/versions/X.Y.N/bin/pythonX.Y`, highest N first (final releases only)."""
    root = _pyenv_root(environ, runner)
    if root is None:
        return
    pattern = re.compile(rf"{version[0]}\.{version[1]}\.(\d+)")
    try:
        names = os.listdir(root / "versions")
    except OSError:
        return
    patches = sorted(
        ((int(m.group(1)), name) for name in names if (m := pattern.fullmatch(name))),
        reverse=True,
    )
    for _, name in patches:
        binary = root / "versions" / name / "bin" / f"python{version[0]}.{version[1]}"
        if binary.is_file():
            yield str(binary)


def _uv_python(
    version: tuple[int, int], environ: Mapping[str, str], runner: Runner
) -> Iterator[str]:
    """The uv-managed interpreter `uv python find` picks, never downloading one."""
    uv = shutil.which("uv", path=_search_path(environ))
    if uv is None:
        return
    env = dict(environ)
    env.update(UV_PYTHON_DOWNLOADS="never", UV_OFFLINE="1")
    try:
        result = runner(
            [
                uv,
                "python",
                "find",
                "--managed-python",
                "--no-project",
                "--no-config",
                f"cpython@{version[0]}.{version[1]}",
            ],
            capture_output=True,
            check=False,
            env=env,
            timeout=_PROBE_TIMEOUT,
        )
    except (OSError, subprocess.SubprocessError):
        return
    out = result.stdout.decode() if isinstance(result.stdout, bytes) else str(result.stdout)
    if result.returncode == 0 and out.strip():
        yield out.strip().splitlines()[-1]


def _python_candidates(
    version: tuple[int, int], environ: Mapping[str, str], runner: Runner
) -> Iterator[str]:
    if sys.implementation.name == "cpython" and sys.version_info[:2] == version:
        yield sys.executable
    on_path = shutil.which(f"python{version[0]}.{version[1]}", path=_search_path(environ))
    if on_path is not None:
        yield on_path
    yield from _pyenv_pythons(version, environ, runner)
    yield from _uv_python(version, environ, runner)


def find_target_python(
    target: Target, environ: Mapping[str, str] = os.environ, *, runner: Runner = subprocess.run
) -> str | None:
    """A CPython interpreter of exactly the target's X.Y (final release), or None.

    In order: `$HATCH_LAMBDA_LAYERS_PYTHON_<X>_<Y>` (a path or a name on PATH; an unusable
    value is a ConfigError rather than silently ignored), the running interpreter when it is
    X.Y, `pythonX.Y` on PATH, pyenv's `versions/X.Y.*` (highest patch first), and the
    uv-managed interpreter `uv python find` reports (local only, downloads disabled). Every
    candidate is run once to check that it reports that version.
    """
    version = target.python_version
    variable = f"{PYTHON_ENV_PREFIX}{version[0]}_{version[1]}"
    override = environ.get(variable, "").strip()
    if override:
        found = shutil.which(override, path=_search_path(environ))
        if found is None or not _reports_version(found, version, runner, environ):
            raise ConfigError(
                f'{variable}="{override}" is not a CPython {version[0]}.{version[1]} '
                "interpreter; point it at one (a path, or a name on PATH)"
            )
        return found
    seen: set[str] = set()
    for candidate in _python_candidates(version, environ, runner):
        if candidate in seen:
            continue
        seen.add(candidate)
        if _reports_version(candidate, version, runner, environ):
            return candidate
    return None


def no_python_error(target: Target) -> ConfigError:
    x, y = target.python_version
    return ConfigError(
        f"tool.lambda-layers.compile = true needs a Python {x}.{y} interpreter to compile for "
        f"{target.runtime}; none found (install it with pyenv or uv, "
        f"or set {PYTHON_ENV_PREFIX}{x}_{y})"
    )


# --------------------------------------------------------------------------------------------
# compile

# Run by the target interpreter: reads [[source, pyc, embedded path], ...] as JSON on stdin,
# writes what it is and which sources compiled as JSON on stdout.
_COMPILE_SCRIPT = """\
import importlib.util, json, py_compile, sys, warnings
warnings.simplefilter("ignore")
compiled, failed = [], []
for source, cfile, dfile in json.loads(sys.stdin.buffer.read()):
    try:
        py_compile.compile(
            source, cfile=cfile, dfile=dfile, doraise=True, optimize=0,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
    except Exception as exc:
        lines = [l for l in str(exc).splitlines() if l.strip()]
        failed.append([source, (lines[-1].strip() if lines else type(exc).__name__)])
    else:
        compiled.append(source)
sys.stdout.buffer.write(json.dumps({
    "implementation": sys.implementation.name,
    "version": list(sys.version_info[:2]),
    "cache_tag": sys.implementation.cache_tag,
    "compiled": compiled,
    "failed": failed,
}).encode())
"""


def cache_path(source_path: str, target: Target) -> str:
    """Where CPython X.Y looks for the bytecode of `source_path` (`importlib.util.cache_from_source`
    of that interpreter, without optimisation): `dir/__pycache__/<name>.cpython-XY.pyc`."""
    head, _, tail = source_path.rpartition("/")
    stem = tail.removesuffix(".py")
    tag = f"cpython-{target.python_version[0]}{target.python_version[1]}"
    prefix = f"{head}/" if head else ""
    return f"{prefix}__pycache__/{stem}.{tag}.pyc"


def compile_package(
    pkg: PackageFiles,
    target: Target,
    *,
    python: str | None = None,
    runner: Runner = subprocess.run,
    environ: Mapping[str, str] = os.environ,
    install_root: str = LAYER_INSTALL_ROOT,
    on_skip: SkipReporter | None = None,
) -> PackageFiles:
    """`pkg` plus `__pycache__/<mod>.cpython-XY.pyc` for each `.py` entry (see module doc).

    `python` defaults to `find_target_python`; none found is a ConfigError (only asked for when
    the package has `.py` files). Sources the target cannot compile are reported to `on_skip`
    (when given) and get no `.pyc`. A generated `.pyc` replaces an entry at the same path.
    """
    sources = [e for e in pkg.entries if e.path.endswith(".py")]
    if not sources:
        return pkg
    interpreter = python or find_target_python(target, environ, runner=runner)
    if interpreter is None:
        raise no_python_error(target)
    root = install_root.rstrip("/")
    datas = _read_entries(sources)

    with tempfile.TemporaryDirectory(prefix="hll-compile-") as tmp:
        base = Path(tmp)
        tree = base / "tree"
        jobs: list[list[str]] = []
        by_source: dict[str, Entry] = {}
        for entry, data in zip(sources, datas, strict=True):
            source = tree / entry.path
            source.parent.mkdir(parents=True, exist_ok=True)
            source.write_bytes(data)
            cfile = tree / cache_path(entry.path, target)
            jobs.append([str(source), str(cfile), f"{root}/{entry.path}"])
            by_source[str(source)] = entry
        try:
            result = runner(
                [interpreter, "-S", "-s", "-c", _COMPILE_SCRIPT],
                input=json.dumps(jobs).encode(),
                capture_output=True,
                check=False,
                # An empty working directory: `-c` puts it first on sys.path.
                cwd=str(base),
                env=_child_env(environ, PYTHONHASHSEED="0"),
            )
        except OSError as exc:
            raise LambdaLayersError(
                f"cannot run {interpreter} to compile {pkg.wheel_path.name}: {exc}; "
                f"set {PYTHON_ENV_PREFIX}{target.python_version[0]}_{target.python_version[1]}"
                " to a working interpreter"
            ) from exc
        try:
            report = json.loads(result.stdout)
        except (TypeError, ValueError):
            report = None
        if result.returncode != 0 or not isinstance(report, dict):
            detail = _last_line(result.stderr) or f"exit status {result.returncode}"
            raise LambdaLayersError(
                f"compiling {len(jobs)} files of {pkg.wheel_path.name} with {interpreter} "
                f"failed: {detail}"
            )
        x, y = target.python_version
        if (
            report.get("implementation") != "cpython"
            or report.get("version") != [x, y]
            or report.get("cache_tag") != f"cpython-{x}{y}"
        ):
            raise ConfigError(
                f"{interpreter} is {report.get('implementation')} "
                f"{'.'.join(map(str, report.get('version') or []))}, not CPython {x}.{y}: it "
                f"cannot write bytecode for {target.runtime}; set {PYTHON_ENV_PREFIX}{x}_{y}"
            )
        if on_skip is not None:
            for source, reason in report.get("failed", []):
                on_skip(by_source[source].path, str(reason))
        generated: dict[str, Entry] = {}
        for source in report.get("compiled", []):
            entry = by_source[source]
            pyc = cache_path(entry.path, target)
            generated[pyc] = BytesEntry(
                path=pyc,
                data=(tree / pyc).read_bytes(),
                mode=PYC_MODE,
                origin=f"{entry.source} (compiled for {target.runtime})",
            )
    kept = [e for e in pkg.entries if e.path not in generated]
    return pkg.with_entries([*kept, *generated.values()])
