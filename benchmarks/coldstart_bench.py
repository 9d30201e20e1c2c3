"""Cold start: how long a handler module takes to import, with no bytecode, `compile = true`
and `compile = "auto"`, and what each costs in unzipped bytes.

    python benchmarks/coldstart_bench.py [--workloads example,data312,...] [--repeat N]
                                         [--out FILE] [--show] [--markdown]

Workloads (each built in a temporary directory, with one shared wheel and bytecode cache):

- ``example``: `example_project/` (pydantic, requests; boto3 provided by the runtime), python3.11,
  locked with `uv lock` against the index uv is configured with;
- ``data312``: pandas, numpy, pyarrow 20 and requests on python3.12, locked with `uv lock`;
- ``data311``: the same on python3.11, resolved for the target by the tool (``lock = "none"``:
  the newest releases glibc 2.26 can load, as the README explains);
- ``data312-full`` / ``data311-full``: the same with ``default-excludes = false`` (test suites,
  stubs and the like kept), the situation in which ``compile = true`` no longer fits.

Each variant is built with ``lambda-layers build`` (``upload = "s3"`` for the data workloads:
pyarrow alone is over the 50 MiB direct upload). A build refused by the limit check is recorded
with its exit status. A built one is unpacked the way Lambda does (layers into ``opt/``, the
function into ``var/task``), and its handler module imported in a fresh interpreter of the
target's version with Lambda's import path (the function, the layers' ``python/``, a stand-in
for the runtime's own directory holding boto3 for the example, the standard library; ``-S -I
-B``: no site-packages, nothing written, as on Lambda's read-only file system), ``--repeat``
times (default 11), the variants of a workload taking turns; both the wall and the CPU time of
the import are kept, and the table gives the median with the lowest and highest run (CPU time:
on a shared machine it depends far less on what else runs). The plan's bytecode lines for
``auto`` (closure, budget, the import trace check) are recorded too. Results go to
benchmarks/results/coldstart.json; ``--show --markdown`` reprints the table from it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "coldstart.json"
UNZIPPED_MAX = 262_144_000
VARIANTS = ("none", "true", "auto")
SETTING = {"none": "false", "true": "true", "auto": '"auto"'}
LOCK_TIMEOUT = 600
BUILD_TIMEOUT = 1800
IMPORT_TIMEOUT = 300
UV = shutil.which("uv")

DATA_HANDLER = """\
import numpy as np
import pandas as pd
import pyarrow as pa
import requests


def handler(event, context):
    frame = pd.DataFrame({"x": np.arange(3)})
    return {"rows": pa.Table.from_pandas(frame).num_rows, "requests": requests.__version__}
"""

DATA_PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "datafn"
version = "0.1.0"
requires-python = ">={python}"
dependencies = ["pandas", "numpy", "pyarrow==20.*", "requests"]

[tool.hatch.build.targets.wheel]
packages = ["datafn"]

[tool.uv]
environments = ["sys_platform == 'linux' and platform_machine == 'x86_64'"]

[tool.lambda-layers]
runtime = "python{python}"
handler = "datafn.handler.handler"
upload = "s3"
{extra}"""

# Imports one module with Lambda's import path; prints how long that took (wall, CPU seconds).
IMPORT_TIMER = r"""
import importlib, json, sys, time
paths, module = json.loads(sys.argv[1])
stdlib = [p for p in sys.path if p and "site-packages" not in p and "dist-packages" not in p]
sys.path[:] = paths + stdlib
wall, cpu = time.perf_counter(), time.process_time()
importlib.import_module(module)
print(json.dumps([time.perf_counter() - wall, time.process_time() - cpu]))
"""


@dataclass(frozen=True)
class Workload:
    name: str
    runtime: str
    lock: str  # "uv" or "none"
    pruned: bool = True
    example: bool = False


WORKLOADS = {
    w.name: w
    for w in (
        Workload("example", "python3.11", "uv", example=True),
        Workload("data312", "python3.12", "uv"),
        Workload("data311", "python3.11", "none"),
        Workload("data312-full", "python3.12", "uv", pruned=False),
        Workload("data311-full", "python3.11", "none", pruned=False),
    )
}


@dataclass
class Variant:
    exit: int | None = None
    build_s: float | None = None
    unzipped: int | None = None
    pyc_files: int = 0
    content_hashes: list[str] = field(default_factory=list)
    error: str = ""
    import_runs: list[float] = field(default_factory=list)  # wall seconds
    cpu_runs: list[float] = field(default_factory=list)  # CPU seconds of the same runs
    plan: list[str] = field(default_factory=list)


def run(
    cmd: Sequence[str], cwd: Path, env: Mapping[str, str], timeout: int
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(cmd),
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def target_python(runtime: str) -> str:
    """The target's interpreter, found the way the tool finds it."""
    sys.path.insert(0, str(ROOT))
    from hatch_lambda_layers.layers.interpreters import find_target_python
    from hatch_lambda_layers.targets import get_target

    found = find_target_python(get_target(runtime))
    if found is None:
        raise SystemExit(f"no CPython {runtime.removeprefix('python')} here (pyenv or uv adds one)")
    return found


def make_project(workload: Workload, base: Path, env: Mapping[str, str], python: str) -> Path:
    """The workload's project, locked (by uv, run with the target's `python`) when it locks
    with uv."""
    if workload.example:
        project = base / "example_project"
        shutil.copytree(
            ROOT / "example_project",
            project,
            ignore=shutil.ignore_patterns("dist", "uv.lock", ".venv", "lambda-layers.lock"),
        )
        text = (project / "pyproject.toml").read_text()
        text = text.replace('{ path = ".." }', f'{{ path = "{ROOT}" }}')
        (project / "pyproject.toml").write_text(text.replace("{root:parent:uri}", ROOT.as_uri()))
    else:
        project = base / "datafn"
        (project / "datafn").mkdir(parents=True)
        (project / "datafn" / "__init__.py").write_text("")
        (project / "datafn" / "handler.py").write_text(DATA_HANDLER)
        version = workload.runtime.removeprefix("python")
        extra = 'lock = "none"\n' if workload.lock == "none" else ""
        (project / "pyproject.toml").write_text(DATA_PYPROJECT.format(python=version, extra=extra))
    if workload.lock == "uv":
        if UV is None:
            raise SystemExit("uv is needed to lock the workloads")
        proc = run([UV, "lock", "--no-progress", "--python", python], project, env, LOCK_TIMEOUT)
        if proc.returncode != 0:
            raise SystemExit(f"uv lock failed for {workload.name}: {proc.stderr.strip()[-400:]}")
    return project


def configure(project: Path, original: str, workload: Workload, variant: str) -> None:
    """The project's pyproject.toml (`original`) with the variant's keys in its tool table."""
    header = "[tool.lambda-layers]\n"
    extra = f"compile = {SETTING[variant]}\n"
    if not workload.pruned:
        extra += "default-excludes = false\n"
    (project / "pyproject.toml").write_text(original.replace(header, header + extra, 1))


def build(project: Path, out: Path, env: Mapping[str, str]) -> Variant:
    start = time.perf_counter()
    cmd = [sys.executable, "-m", "hatch_lambda_layers", "--quiet", "build", str(project)]
    proc = run([*cmd, "-o", str(out)], project, env, BUILD_TIMEOUT)
    result = Variant(exit=proc.returncode, build_s=round(time.perf_counter() - start, 2))
    manifest_path = out / "lambda" / "manifest.json"
    if proc.returncode != 0 or not manifest_path.is_file():
        result.error = proc.stderr.strip().splitlines()[-1][:600] if proc.stderr.strip() else ""
        return result
    manifest = json.loads(manifest_path.read_text())
    result.unzipped = int(manifest["limits"]["unzipped_total"])
    result.content_hashes = [x["content_hash"] for x in manifest["layers"]]
    result.content_hashes += [x["sha256"] for x in manifest["functions"]]
    for item in [*manifest["layers"], *manifest["functions"]]:
        with zipfile.ZipFile(manifest_path.parent / item["file"]) as zf:
            result.pyc_files += sum(n.endswith(".pyc") for n in zf.namelist())
    return result


def plan_lines(project: Path, env: Mapping[str, str]) -> list[str]:
    proc = run(
        [sys.executable, "-m", "hatch_lambda_layers", "--quiet", "plan", str(project)],
        project,
        env,
        BUILD_TIMEOUT,
    )
    keep = (
        "pruned",
        "  kept",
        "bytecode",
        "  by likelihood",
        "  function",
        "    import",
        "    not",
    )
    return [line for line in proc.stdout.splitlines() if line.startswith(keep)]


def install(out: Path, dest: Path) -> str:
    """Unpack like Lambda; the handler's module."""
    manifest = json.loads((out / "lambda" / "manifest.json").read_text())
    for layer in manifest["layers"]:
        with zipfile.ZipFile(out / "lambda" / layer["file"]) as zf:
            zf.extractall(dest / "opt")
    function = manifest["functions"][0]
    with zipfile.ZipFile(out / "lambda" / function["file"]) as zf:
        zf.extractall(dest / "var" / "task")
    return str(function["handler"]).rpartition(".")[0]


def runtime_dir(base: Path, python: str, env: Mapping[str, str]) -> Path:
    """A stand-in for the runtime's own directory: boto3 with its bytecode, as the runtime
    ships it (the same for every variant)."""
    dest = base / "runtime"
    if UV is None:
        raise SystemExit("uv is needed to install the runtime's boto3")
    proc = run(
        [
            UV,
            "pip",
            "install",
            "--no-progress",
            "--python",
            python,
            "--target",
            str(dest),
            "--compile-bytecode",
            "boto3",
        ],
        base,
        env,
        LOCK_TIMEOUT,
    )
    if proc.returncode != 0:
        raise SystemExit(f"cannot install boto3 for the runtime stand-in: {proc.stderr[-400:]}")
    return dest


def time_import(
    python: str, root: Path, module: str, runtime: Path | None, version: str
) -> tuple[float, float]:
    """Wall and CPU seconds of importing `module` in a fresh interpreter."""
    paths = [
        str(root / "var" / "task"),
        str(root / "opt" / "python" / "lib" / f"python{version}" / "site-packages"),
        str(root / "opt" / "python"),
        *([str(runtime)] if runtime else []),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    proc = run(
        [python, "-S", "-I", "-B", "-c", IMPORT_TIMER, json.dumps([paths, module])],
        root / "var" / "task",
        env,
        IMPORT_TIMEOUT,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"import of {module} failed: {proc.stderr.strip()[-600:]}")
    wall, cpu = json.loads(proc.stdout.strip().splitlines()[-1])
    return float(wall), float(cpu)


def bench_workload(
    workload: Workload, repeat: int, cache: Path, env: Mapping[str, str]
) -> dict[str, Any]:
    python = target_python(workload.runtime)
    version = workload.runtime.removeprefix("python")
    with tempfile.TemporaryDirectory(prefix=f"coldstart-{workload.name}-") as tmp:
        base = Path(tmp)
        project = make_project(workload, base, env, python)
        runtime = runtime_dir(base, python, env) if workload.example else None
        variants: dict[str, Variant] = {}
        modules: dict[str, tuple[Path, str]] = {}
        original = (project / "pyproject.toml").read_text()
        for name in VARIANTS:
            configure(project, original, workload, name)
            variants[name] = build(project, base / f"out-{name}", env)
            print(f"  {workload.name} {name}: exit {variants[name].exit}", file=sys.stderr)
            if variants[name].exit == 0:
                root = base / f"lambda-{name}"
                modules[name] = (root, install(base / f"out-{name}", root))
            if name == "auto":
                variants[name].plan = plan_lines(project, env)
        for _ in range(repeat):  # the variants take turns
            for name, (root, module) in modules.items():
                wall, cpu = time_import(python, root, module, runtime, version)
                variants[name].import_runs.append(round(wall, 4))
                variants[name].cpu_runs.append(round(cpu, 4))
    return {
        "runtime": workload.runtime,
        "python": python,
        "pruned": workload.pruned,
        "variants": {k: asdict(v) for k, v in variants.items()},
    }


def _mb(n: float | None) -> str:
    return "-" if n is None else f"{n / 1e6:,.1f}"


def _median(variant: Mapping[str, Any], key: str) -> float | None:
    runs = variant.get(key) or []
    return statistics.median(runs) if runs else None


def _cell(variant: Mapping[str, Any], key: str) -> str:
    runs = variant.get(key) or []
    if not runs:
        return f"refused (exit {variant['exit']})"
    return f"{statistics.median(runs):.3f} ({min(runs):.3f}-{max(runs):.3f})"


def _ratio(results: Mapping[str, Any], name: str, key: str) -> str:
    """auto / true: against this workload's `compile = true`, or, where that was refused,
    against the pruned workload's (the same modules are imported)."""
    variants = results["workloads"][name]["variants"]
    auto = _median(variants["auto"], key)
    if variants["auto"]["content_hashes"] and (
        variants["auto"]["content_hashes"] == variants["true"]["content_hashes"]
    ):
        return "1 (same bytes)"
    reference = _median(variants["true"], key)
    note = ""
    if reference is None and name.endswith("-full"):
        pruned = results["workloads"].get(name.removesuffix("-full"))
        reference = _median(pruned["variants"]["true"], key) if pruned else None
        note = " (vs pruned true)"
    return f"{auto / reference:.2f}{note}" if auto and reference else "-"


def table(results: Mapping[str, Any], key: str = "cpu_runs") -> str:
    """The markdown table: import seconds (`key`: CPU or wall runs), median and range."""
    rows = [
        '| workload | no bytecode, s | `compile = true`, s | `compile = "auto"`, s | '
        "auto / true | none / auto | unzipped MB none / true / auto |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for name, data in results["workloads"].items():
        v = data["variants"]
        none, auto = _median(v["none"], key), _median(v["auto"], key)
        speedup = f"{none / auto:.1f}x" if none and auto else "-"
        sizes = " / ".join(_mb(v[k]["unzipped"]) if v[k]["unzipped"] else "over" for k in VARIANTS)
        rows.append(
            f"| {name} ({data['runtime']}) | {_cell(v['none'], key)} | {_cell(v['true'], key)} | "
            f"{_cell(v['auto'], key)} | {_ratio(results, name, key)} | {speedup} | {sizes} |"
        )
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--show", action="store_true", help="reprint the table from --out")
    parser.add_argument("--markdown", action="store_true", help="print the markdown table")
    args = parser.parse_args(argv)
    if args.show:
        results = json.loads(args.out.read_text())
    else:
        env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
        with tempfile.TemporaryDirectory(prefix="coldstart-cache-") as cache:
            env["HATCH_LAMBDA_LAYERS_CACHE_DIR"] = cache
            started = time.perf_counter()
            workloads = {}
            for name in args.workloads.split(","):
                print(f"{name}...", file=sys.stderr)
                workloads[name] = bench_workload(WORKLOADS[name], args.repeat, Path(cache), env)
        results = {
            "machine": f"{platform.machine()} {os.cpu_count()} CPUs, {platform.system()}",
            "repeat": args.repeat,
            "seconds": round(time.perf_counter() - started, 1),
            "workloads": workloads,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1) + "\n")
    print("CPU seconds of the import (median, lowest-highest):")
    print(table(results))
    print("\nWall seconds of the same runs:")
    print(table(results, "import_runs"))
    if not args.markdown:
        for name, data in results["workloads"].items():
            print(f"\n{name}:\n" + "\n".join(data["variants"]["auto"]["plan"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
