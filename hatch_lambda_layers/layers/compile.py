"""The `compile` key: unchecked-hash bytecode written by the target's own Python version.

Bytecode must be written by an interpreter of the target's exact ``X.Y`` (the magic number and
the code format change with every minor version), so the package's ``.py`` entries are written
to a temporary tree and ONE subprocess of that interpreter compiles them all with `py_compile` in
``UNCHECKED_HASH`` mode: the ``.pyc`` holds a hash of the source instead of its mtime, and the
runtime never re-checks it, so the bytes are reproducible and the file is always used.
``PYTHONHASHSEED=0`` makes set constants marshal in a fixed order (3.10 writes them in hash
order; 3.11 and later sort them). The path compiled into each code object (tracebacks print it)
is where the file sits on Lambda: ``install_root`` + entry path, i.e. ``/opt/python/pkg/mod.py``
for layers (the default) and ``/var/task/pkg/mod.py`` for a fat zip; nothing of the temporary
directory ends up in the bytes. A small script is used rather than the ``compileall`` command
line because it gives each file its own embedded path and reports exactly which files compiled.
Files the target cannot compile (Python 2 test files in some wheels) are skipped: they keep their
``.py`` and get no ``.pyc``. Each ``.pyc`` lands beside its source as
``__pycache__/<module>.cpython-3X.pyc`` (mode 0644); the ``.py`` files stay, because an
unchecked-hash ``.pyc`` in ``__pycache__`` is only used when its source exists.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, LambdaLayersError
from ..targets import Target
from .entries import BytesEntry, Entry, PackageFiles
from .external import Runner, SkipReporter, child_env, last_line, read_entries
from .interpreters import PYTHON_ENV_PREFIX, find_target_python, no_python_error

LAYER_INSTALL_ROOT = "/opt"  # layers unpack here; their entries start with python/


FUNCTION_INSTALL_ROOT = "/var/task"  # the function zip (fat mode) unpacks here


PYC_MODE = 0o644


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
    "magic": importlib.util.MAGIC_NUMBER.hex(),
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


@dataclass(frozen=True)
class Compiled:
    """What one run of the target interpreter made: source entry path -> bytecode, the sources
    it could not compile (path -> why), and the interpreter's magic number (hex)."""

    pycs: Mapping[str, bytes]
    failed: Mapping[str, str]
    magic: str


def compile_sources(
    sources: Sequence[Entry],
    target: Target,
    *,
    python: str,
    runner: Runner = subprocess.run,
    environ: Mapping[str, str] = os.environ,
    install_root: str = LAYER_INSTALL_ROOT,
    label: str = "sources",
) -> Compiled:
    """Compile the `.py` entries `sources` with `python` (see the module doc); `label` names
    them in errors (a wheel's file name)."""
    datas = read_entries(sources)
    with tempfile.TemporaryDirectory(prefix="hll-compile-") as tmp:
        base = Path(tmp)
        tree = base / "tree"
        jobs, by_source = _write_sources(tree, sources, datas, target, install_root.rstrip("/"))
        command = _Command(python, runner, environ, base, label)
        report = _run_compiler(command, jobs, target)
        _check_interpreter(report, python, target)
        pycs = {
            by_source[source].path: (tree / cache_path(by_source[source].path, target)).read_bytes()
            for source in report.get("compiled", [])
        }
    failed = {by_source[source].path: str(why) for source, why in report.get("failed", [])}
    return Compiled(pycs=pycs, failed=failed, magic=str(report.get("magic", "")))


def pyc_entry(source: Entry, data: bytes, target: Target) -> BytesEntry:
    """The bytecode `data` of `source` as an entry beside it, in ``__pycache__``."""
    return BytesEntry(
        path=cache_path(source.path, target),
        data=data,
        mode=PYC_MODE,
        origin=f"{source.source} (compiled for {target.runtime})",
    )


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
    compiled = compile_sources(
        sources,
        target,
        python=interpreter,
        runner=runner,
        environ=environ,
        install_root=install_root,
        label=pkg.wheel_path.name,
    )
    if on_skip is not None:
        for path, reason in compiled.failed.items():
            on_skip(path, reason)
    by_path = {e.path: e for e in sources}
    pycs = [pyc_entry(by_path[path], data, target) for path, data in compiled.pycs.items()]
    generated = {pyc.path: pyc for pyc in pycs}
    kept = [e for e in pkg.entries if e.path not in generated]
    return pkg.with_entries([*kept, *generated.values()])


def _write_sources(
    tree: Path, sources: Sequence[Entry], datas: Sequence[bytes], target: Target, root: str
) -> tuple[list[list[str]], dict[str, Entry]]:
    """Write each source under `tree`; the compile jobs ``[source, pyc, embedded path]`` and
    source file -> entry."""
    jobs: list[list[str]] = []
    by_source: dict[str, Entry] = {}
    for entry, data in zip(sources, datas, strict=True):
        source = tree / entry.path
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_bytes(data)
        cfile = tree / cache_path(entry.path, target)
        jobs.append([str(source), str(cfile), f"{root}/{entry.path}"])
        by_source[str(source)] = entry
    return jobs, by_source


@dataclass(frozen=True)
class _Command:
    """How to run the compile script: which interpreter, how, where, and for which wheel."""

    interpreter: str
    runner: Runner
    environ: Mapping[str, str]
    cwd: Path
    label: str


def _run_compiler(command: _Command, jobs: list[list[str]], target: Target) -> dict[str, Any]:
    """Run the compile script on `jobs`; its JSON report."""
    try:
        result = command.runner(
            [command.interpreter, "-S", "-s", "-c", _COMPILE_SCRIPT],
            input=json.dumps(jobs).encode(),
            capture_output=True,
            check=False,
            # An empty working directory: `-c` puts it first on sys.path.
            cwd=str(command.cwd),
            env=child_env(command.environ, PYTHONHASHSEED="0"),
        )
    except OSError as exc:
        raise LambdaLayersError(
            f"cannot run {command.interpreter} to compile {command.label}: {exc}; "
            f"set {PYTHON_ENV_PREFIX}{target.python_version[0]}_{target.python_version[1]}"
            " to a working interpreter"
        ) from exc
    try:
        report = json.loads(result.stdout)
    except (TypeError, ValueError):
        report = None
    if result.returncode != 0 or not isinstance(report, dict):
        detail = last_line(result.stderr) or f"exit status {result.returncode}"
        raise LambdaLayersError(
            f"compiling {len(jobs)} files of {command.label} with {command.interpreter} "
            f"failed: {detail}"
        )
    return report


def _check_interpreter(report: Mapping[str, Any], interpreter: str, target: Target) -> None:
    """The report must come from CPython of the target's X.Y."""
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
