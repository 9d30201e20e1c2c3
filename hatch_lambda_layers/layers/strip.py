"""The `strip` key: debug symbols out of the target's shared objects.

Every shared object (``*.so``, ``*.so.N``) whose ELF machine is the target's goes through
``<strip tool> --strip-debug`` on a temporary copy. ``--strip-debug`` drops debug sections only
and keeps the symbol tables dynamic linking needs (``--strip-all`` on a shared object can break
it). A result that is not smaller than the input is thrown away, so already stripped libraries
keep their wheel bytes. Objects of another architecture are left alone (the caller warns about
them). Strip output depends only on its input and the tool, so layers stay reproducible for a
given tool. `strip_package` returns a new `PackageFiles` (sizes recomputed).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..errors import ConfigError, LambdaLayersError
from ..targets import Target
from .elf import elf_machine, is_shared_object
from .entries import BytesEntry, Entry, PackageFiles
from .external import (
    Runner,
    SkipReporter,
    detect_host_machine,
    last_line,
    read_entries,
    search_path,
)

STRIP_ENV = "HATCH_LAMBDA_LAYERS_STRIP"


_BINUTILS_PACKAGES = {
    "x86_64": "binutils-x86-64-linux-gnu",
    "aarch64": "binutils-aarch64-linux-gnu",
}


_LLVM_STRIP_VERSIONED = re.compile(r"llvm-strip-(\d+)")


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
    path = search_path(environ)
    override = environ.get(STRIP_ENV, "").strip()
    if override:
        found = shutil.which(override, path=path)
        if found is None:
            raise ConfigError(
                f'{STRIP_ENV}="{override}" is not an executable program; set it to a strip '
                f"tool for {target.machine} (a path, or a name on PATH)"
            )
        return found
    host = detect_host_machine() if host_machine == "" else host_machine
    names = ["strip"] if host == target.machine else []
    names += [f"{target.machine}-linux-gnu-strip", "llvm-strip", *_versioned_llvm_strips(path)]
    for name in names:
        found = shutil.which(name, path=path)
        if found is not None:
            return found
    return None


def _no_strip_tool(target: Target) -> ConfigError:
    package = _BINUTILS_PACKAGES[target.machine]
    if target.machine == detect_host_machine():
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
            detail = last_line(result.stderr) or last_line(result.stdout)
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
    todo = _target_objects(pkg, target)
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
            _strip_failed(pkg, entry, outcome, target, on_skip)
        elif len(outcome) < len(data):
            replaced[entry.path] = BytesEntry(
                path=entry.path,
                data=outcome,
                mode=entry.mode,
                origin=f"{entry.source} (stripped)",
            )
    if not replaced:
        return pkg
    return pkg.with_entries(replaced.get(e.path, e) for e in pkg.entries)


def _target_objects(pkg: PackageFiles, target: Target) -> list[tuple[Entry, bytes]]:
    """The package's shared objects whose ELF machine is the target's, with their bytes."""
    candidates = [e for e in pkg.entries if is_shared_object(e.path)]
    if not candidates:
        return []
    datas = read_entries(candidates)
    return [
        (entry, data)
        for entry, data in zip(candidates, datas, strict=True)
        if elf_machine(data) == target.machine
    ]


def _strip_failed(
    pkg: PackageFiles, entry: Entry, reason: str, target: Target, on_skip: SkipReporter | None
) -> None:
    """Report a shared object strip could not process to `on_skip`, or raise without one."""
    if on_skip is None:
        raise LambdaLayersError(
            f'cannot strip "{entry.path}" from {pkg.wheel_path.name}: {reason}; '
            "set tool.lambda-layers.strip = false or point "
            f"{STRIP_ENV} at a strip tool for {target.machine}"
        )
    on_skip(entry.path, reason)
