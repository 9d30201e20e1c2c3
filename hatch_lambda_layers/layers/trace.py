"""Checking a static import closure against what the target's interpreter really imports.

The layers (with their bytecode) and each function's files are staged in a temporary directory
the way Lambda unpacks them, and the target interpreter imports each handler module with
Lambda's import path (the function's directory, the layers' ``python/lib/pythonX.Y/
site-packages`` and ``python/``, then the standard library; no site-packages of this machine).
Top-level modules of distributions the runtime provides (``provided``) are not on the build
machine: they are stubbed by a finder of last resort that hands out permissive stand-ins, and
reported. Every module loaded from the staged files, named after the file it came from (so
aliases such as ``requests.packages.urllib3`` count once), is compared with the static closure.

This runs the handler module's top level on the build machine, so it is only done by
``lambda-layers plan``, and only where an interpreter can load the target's extension modules
(same machine architecture); a failure is reported, and the static closure is used.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from ..targets import Target
from .budget import TraceCheck
from .entries import Entry, PackageFiles, ZipSourceEntry, entry_bytes
from .external import child_env, detect_host_machine, last_line
from .imports import Closure, module_name

TRACE_TIMEOUT = 120  # seconds for one handler module's import

_RUNNER = r"""
import importlib, importlib.machinery, json, sys, types
paths, module, root, stub_roots = json.loads(sys.argv[1])
stdlib = [p for p in sys.path if p and "site-packages" not in p and "dist-packages" not in p]
sys.path[:] = paths + stdlib
stubbed = set()


class Anything:
    def __call__(self, *args, **kwargs): return Anything()
    def __getattr__(self, name):
        if name.startswith("__"): raise AttributeError(name)
        return Anything()
    def __getitem__(self, key): return Anything()
    def __iter__(self): return iter(())
    def __mro_entries__(self, bases): return (object,)


class Stub(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"): raise AttributeError(name)
        return Anything()


class StubFinder:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] not in stub_roots: return None
        stubbed.add(name.split(".")[0])
        return importlib.machinery.ModuleSpec(name, self, is_package=True)
    def create_module(self, spec):
        module = Stub(spec.name)
        module.__path__ = []
        return module
    def exec_module(self, module): pass


sys.meta_path.append(StubFinder())
error = None
try:
    importlib.import_module(module)
except BaseException as exc:
    error = f"{type(exc).__name__}: {exc}"
files = sorted({
    f for m in list(sys.modules.values())
    if isinstance(f := getattr(m, "__file__", None), str) and f.startswith(root)
})
print(json.dumps({"files": files, "stubbed": sorted(stubbed), "error": error}))
"""


def stub_roots(distributions: Iterable[str]) -> list[str]:
    """Top-level module names the runtime's provided distributions most likely use: the name
    with ``-``/``.`` as ``_``, and without a ``python-`` prefix (``python-dateutil`` is
    ``dateutil``)."""
    roots: set[str] = set()
    for name in distributions:
        module = name.lower().replace("-", "_").replace(".", "_")
        roots.add(module)
        roots.add(module.removeprefix("python_"))
    return sorted(roots)


def can_trace(target: Target) -> bool:
    """Whether this machine can load the target's extension modules."""
    return detect_host_machine() == target.machine


def check_imports(
    packages: Sequence[PackageFiles],
    functions: Mapping[str, Sequence[Entry]],
    closures: Mapping[str, Closure],
    handlers: Mapping[str, str | None],
    *,
    python: str,
    target: Target,
    provided: Sequence[str] = (),
    fat: bool = False,
) -> dict[str, TraceCheck]:
    """Function name -> how its handler module's real imports compare with `closures`
    (empty when this machine cannot trace the target; see the module docstring). `provided`
    lists top-level module names to stub; `fat` puts the packages in the function's directory
    rather than in layers."""
    if not can_trace(target):
        return {}
    x, y = target.python_version
    checks: dict[str, TraceCheck] = {}
    with tempfile.TemporaryDirectory(prefix="hll-trace-") as tmp:
        root = Path(tmp).resolve()
        opt = root / "opt"
        layer_roots = [opt / "python" / "lib" / f"python{x}.{y}" / "site-packages", opt / "python"]
        if not fat:
            _stage((e for p in packages for e in p.entries), opt)
        for name, files in functions.items():
            handler = handlers.get(name)
            if not handler or "." not in handler:
                continue
            task = root / "functions" / name
            _stage(files, task)
            if fat:
                _stage((e for p in packages for e in p.entries), task)
            bases = [task, *layer_roots]
            traced = _run(python, bases, handler.rpartition(".")[0], root, provided)
            checks[name] = _compare(traced, closures[name], bases)
    return checks


def _stage(entries: Iterable[Entry], dest: Path) -> None:
    """Write `entries` under `dest`, opening each wheel once."""
    by_wheel: dict[Path, list[ZipSourceEntry]] = {}
    for entry in entries:
        if isinstance(entry, ZipSourceEntry):
            by_wheel.setdefault(entry.wheel_path, []).append(entry)
        else:
            _target(dest, entry.path).write_bytes(entry_bytes(entry))
    for wheel, members in by_wheel.items():
        with zipfile.ZipFile(wheel) as zf:
            for entry in members:
                with zf.open(entry.member) as src, _target(dest, entry.path).open("wb") as out:
                    shutil.copyfileobj(src, out)


def _target(dest: Path, path: str) -> Path:
    out = dest / path
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def _run(
    python: str, bases: Sequence[Path], module: str, root: Path, provided: Sequence[str]
) -> dict[str, object]:
    """Import `module` with `bases` as the import path; the runner's report (or its error)."""
    argument = json.dumps([[str(b) for b in bases], module, str(root), sorted(provided)])
    try:
        proc = subprocess.run(
            [python, "-S", "-s", "-B", "-c", _RUNNER, argument],
            capture_output=True,
            text=True,
            timeout=TRACE_TIMEOUT,
            cwd=str(bases[0]),
            env=child_env(os.environ),
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": last_line(proc.stderr) or f"exit status {proc.returncode}"}
    return result if isinstance(result, dict) else {"error": "no report"}


def _compare(traced: Mapping[str, object], closure: Closure, bases: Sequence[Path]) -> TraceCheck:
    """The traced modules (named after their files, relative to the first base that holds
    them) against the static closure's modules at initialisation."""
    error = traced.get("error")
    files = traced.get("files")
    if not isinstance(files, list):
        return TraceCheck(0, (), (), error=str(error or "no modules reported"))
    names: set[str] = set()
    for file in files:
        path = Path(str(file))
        base = next((b for b in bases if path.is_relative_to(b)), None)
        found = module_name(path.relative_to(base).as_posix()) if base is not None else None
        if found is not None:
            names.add(found[0])
    stubbed = traced.get("stubbed")
    missing = names - set(closure.init)
    return TraceCheck(
        traced=len(names),
        missing=tuple(sorted(missing)),
        extra=tuple(sorted(set(closure.init) - names)),
        stubbed=tuple(str(s) for s in stubbed) if isinstance(stubbed, list) else (),
        error=str(error) if error else None,
        missing_ranked_later=len(missing & closure.later),
    )
