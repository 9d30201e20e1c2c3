"""Build speed side by side with the uv recipe, in one run: cold, warm, warm with a committed
plan, a rebuild with nothing changed (and with --verify), compile = true, the recipe with zip -9
and zip -6, and a raw-copy floor, as whole-process wall times and ratios.

    python benchmarks/speed_bench.py [--workloads W1_api,W5_data311,...] [--rounds N]
                                     [--baseline REF] [--workdir DIR] [--out FILE]
                                     [--markdown] [--show]

For each workload of ../shared/workloads/workloads.json (pins and a throwaway project locked by
`build_bench.prepare_project`), in `--workdir` (a temporary directory by default):

* ours: `python -m hatch_lambda_layers -q build PROJECT -o OUT` with this checkout first on
  PYTHONPATH and bytecode written as a normal install has it. *cold*: empty cache; *warm*: the
  same cache, a fresh output directory, no lambda-layers.lock (so the plan is made again from
  the cached release history); *plan*: as warm with the lock the cold build wrote committed;
  *no-op*: again into an output directory that already holds that build (*verify*: with
  --verify); *compile*: as plan with ``compile = true`` (when a Python of the runtime's
  version is found).
* recipe: `uv pip install --target python --python-platform P --python-version X.Y
  --only-binary :all: --no-deps -r pins.txt` (the same pins, the lock's registry, a warm uv
  cache), then `zip -r -q -9 layer.zip python`, and `-6`.
* floor: `benchmarks/rawcopy_floor.py`, which copies the same compressed members (their offsets,
  sizes and CRCs given) into zips of the same entries: the least any tool copying raw bytes
  does, without hashing or fsync.

Warm measures run in rounds, each round every variant once in turn (so load on the machine hits
them alike); medians are reported. `--baseline REF` also times warm, plan, no-op and the
command's import time for the package as it was at git REF. Results go to results/speed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

import build_bench as bb  # noqa: E402

from hatch_lambda_layers.layers.interpreters import find_target_python  # noqa: E402
from hatch_lambda_layers.resolve import locks  # noqa: E402
from hatch_lambda_layers.targets import Target, get_target  # noqa: E402

DEFAULT_OUT = ROOT / "benchmarks" / "results" / "speed.json"
DEFAULT_SELECTION = ("W1_api", "W5_data311", "W3_boto", "W4_ml")
FLOOR_SCRIPT = ROOT / "benchmarks" / "rawcopy_floor.py"
TIMEOUT = 900

# The aims of issue 10, checked on the medians.
AIM_NOOP = 0.10  # no-op / warm with plan, at most
AIM_RECIPE_LARGE = 20.0  # recipe (zip -9) / warm with plan, at least, over 50 MB
AIM_RECIPE_SMALL = 10.0  # the same on the small API workload
AIM_FLOOR = 1.5  # warm with plan / raw-copy floor, at most (data workload)
AIM_NO_PLAN = 1.2  # warm without plan / with plan, at most
AIM_COMPILE = 1.5  # warm compile=true / without, at most
LARGE = 50_000_000


# --------------------------------------------------------------------------------------------
# pure parts


def median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 4) if values else None


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else round(a / b, 3)


def import_total_us(stderr: str) -> int:
    """Total import time of a `python -X importtime` run: the sum of the top-level entries'
    cumulative microseconds."""
    total = 0
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|", 2)
        if name.startswith(" ") and not name.startswith("  ") and cumulative.strip().isdigit():
            total += int(cumulative)
    return total


def aims(times: Mapping[str, float | None], zipped: int | None, small: bool) -> dict[str, Any]:
    """Each aim's ratio, bound and whether it is met (None when not measured)."""
    plan = times.get("plan")

    def check(value: float | None, bound: float, *, at_most: bool) -> dict[str, Any]:
        met = None if value is None else (value <= bound if at_most else value >= bound)
        return {"ratio": value, "bound": bound, "met": met}

    large = zipped is not None and zipped > LARGE
    recipe_bound = AIM_RECIPE_LARGE if large else AIM_RECIPE_SMALL
    return {
        "noop_over_plan": check(ratio(times.get("noop"), plan), AIM_NOOP, at_most=True),
        "recipe9_over_plan": check(
            ratio(times.get("recipe_zip9"), plan), recipe_bound, at_most=False
        )
        if large or small
        else {"ratio": ratio(times.get("recipe_zip9"), plan), "bound": None, "met": None},
        "plan_over_floor": check(ratio(plan, times.get("floor")), AIM_FLOOR, at_most=True)
        if large
        else {"ratio": ratio(plan, times.get("floor")), "bound": None, "met": None},
        "warm_over_plan": check(ratio(times.get("warm"), plan), AIM_NO_PLAN, at_most=True),
        "compile_over_plan": check(ratio(times.get("compile"), plan), AIM_COMPILE, at_most=True),
    }


def floor_spec(layer_zips: Sequence[Path], wheels: Sequence[Path]) -> list[dict[str, Any]]:
    """For each of our layer zips, where each of its entries sits in a wheel: the copy plan the
    floor script follows (offset, sizes, CRC, method, the name in the layer)."""
    members: dict[str, tuple[Path, zipfile.ZipInfo]] = {}
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as zf:
            for info in zf.infolist():
                name = info.filename
                parts = name.split("/")
                if (
                    len(parts) > 2
                    and parts[0].endswith(".data")
                    and parts[1]
                    in (
                        "purelib",
                        "platlib",
                    )
                ):
                    name = "/".join(parts[2:])
                members.setdefault(name, (wheel, info))
    spec = []
    for layer in layer_zips:
        with zipfile.ZipFile(layer) as zf:
            rows = []
            for info in zf.infolist():
                wheel, source = members[info.filename.removeprefix("python/")]
                rows.append(
                    [str(wheel), source.header_offset, source.compress_size, source.CRC,
                     source.file_size, source.compress_type, info.filename]
                )  # fmt: skip
        spec.append({"zip": layer.name, "entries": rows})
    return spec


# --------------------------------------------------------------------------------------------
# running


@dataclass
class Bench:
    """One workload's directories and commands."""

    workload: bb.Workload
    target: Target
    tmp: Path
    tool_path: Path = ROOT
    times: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def say(self, message: str) -> None:
        print(f"[{self.workload.name}] {message}", file=sys.stderr, flush=True)

    def env(self, *, tool: Path | None = None, cache: Path | None = None) -> dict[str, str]:
        env = bb.base_env()
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # a normal install has its bytecode
        env["PYTHONPATH"] = str(tool or self.tool_path)
        env["HATCH_LAMBDA_LAYERS_CACHE_DIR"] = str(cache or self.tmp / "cache")
        return env

    def ours(self, project: Path, out: Path, *extra: str, tool: Path | None = None) -> float:
        ran = bb.run(
            [sys.executable, "-m", "hatch_lambda_layers", "-q", "build", str(project), "-o",
             str(out), *extra],
            cwd=project, env=self.env(tool=tool), timeout=TIMEOUT,
        )  # fmt: skip
        if not ran.ok:
            raise bb.BenchError(f"build of {project.name} failed: {ran.error_lines()}")
        return ran.seconds

    def fresh(self, project: Path, out: Path, tool: Path | None = None) -> float:
        shutil.rmtree(out, ignore_errors=True)
        return self.ours(project, out, tool=tool)

    def record(self, name: str, seconds: float) -> None:
        self.times.setdefault(name, []).append(round(seconds, 4))


def projects(bench: Bench, compile_python: str | None) -> dict[str, Path]:
    """The prepared project as three copies: without a plan, with the cold build's plan
    committed, and with compile = true (and its own plan)."""
    source = bench.tmp / "project"
    made = {"plain": source}
    for name in ("planned", "compiled"):
        if name == "compiled" and compile_python is None:
            continue
        copy = bench.tmp / name
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("dist", ".venv"))
        made[name] = copy
    if "compiled" in made:
        pyproject = made["compiled"] / "pyproject.toml"
        text = pyproject.read_text(encoding="utf-8")
        pyproject.write_text(
            text.replace("[tool.lambda-layers]\n", "[tool.lambda-layers]\ncompile = true\n", 1),
            encoding="utf-8",
        )
    return made


def recipe_once(bench: Bench, requirements: Path, index_args: Sequence[str]) -> dict[str, float]:
    """uv pip install --target into a fresh python/, then zip -9 and zip -6 of it."""
    work = bench.tmp / "recipe"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    env = bb.base_env()
    env["UV_CACHE_DIR"] = str(bench.tmp / "uv-cache")
    install = bb.run(
        ["uv", "pip", "install", "--quiet", "--no-config", "--target", "python",
         "--python-platform", bb.uv_python_platform(bench.target),
         "--python-version", bb.python_version_arg(bench.target),
         "--only-binary", ":all:", "--no-deps", *index_args, "-r", str(requirements)],
        cwd=work, env=env, timeout=TIMEOUT,
    )  # fmt: skip
    if not install.ok:
        raise bb.BenchError(f"uv pip install --target failed: {install.error_lines()}")
    result = {"uv": install.seconds}
    for level in ("9", "6"):
        (work / "layer.zip").unlink(missing_ok=True)
        zipped = bb.run(
            ["zip", "-r", "-q", f"-{level}", "layer.zip", "python"],
            cwd=work, env=env, timeout=TIMEOUT,
        )  # fmt: skip
        if not zipped.ok:
            raise bb.BenchError(f"zip -{level} failed: {zipped.error_lines()}")
        result[f"zip{level}"] = zipped.seconds
        result[f"size{level}"] = (work / "layer.zip").stat().st_size
    return result


def recipe_inputs(bench: Bench, provided: Sequence[str]) -> tuple[Path, list[str]]:
    exported = bb.run(
        ["uv", "export", "--quiet", "--no-hashes", "--format", "requirements-txt",
         "--no-emit-project"],
        cwd=bench.tmp / "project", env=bb.base_env(), timeout=TIMEOUT,
    )  # fmt: skip
    if not exported.ok:
        raise bb.BenchError(f"uv export failed: {exported.last_line()}")
    pins = bb.recipe_pins(exported.stdout, bench.target.marker_environment, provided)
    requirements = bench.tmp / "pins.txt"
    requirements.write_text("".join(f"{n}=={v}\n" for n, v in pins), encoding="utf-8")
    index_args: list[str] = []
    for i, url in enumerate(locks.registry_urls(bench.tmp / "project" / "uv.lock")):
        index_args += ["--index-url" if i == 0 else "--extra-index-url", url]
    return requirements, index_args


def import_times(bench: Bench, argv: Sequence[str], tool: Path) -> dict[str, float | None]:
    """Wall time and total import time (-X importtime) of `python -m hatch_lambda_layers ARGV`."""
    walls, imports = [], []
    for _ in range(5):
        ran = bb.run(
            [sys.executable, "-X", "importtime", "-m", "hatch_lambda_layers", *argv],
            cwd=bench.tmp, env=bench.env(tool=tool), timeout=TIMEOUT,
        )  # fmt: skip
        walls.append(ran.seconds)
        imports.append(import_total_us(ran.stderr) / 1e6)
    return {"wall_s": median(walls), "imports_s": median(imports)}


def baseline_tool(ref: str, into: Path) -> Path:
    """The package as it was at git `ref`, unpacked under `into`."""
    target = into / f"baseline-{ref}"
    if not target.exists():
        target.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", ref, "hatch_lambda_layers"],
            capture_output=True, check=True, timeout=120,
        )  # fmt: skip
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


def compile_bytecode(paths: Sequence[Path]) -> None:
    """Write the bytecode a normal install has, so no measure pays for compiling our code or
    its dependencies (this environment may set PYTHONDONTWRITEBYTECODE)."""
    import compileall
    import importlib.util

    dirs = list(paths)
    for name in ("packaging", "hatchling", "urllib3", "resolvelib", "pathspec", "pluggy",
                 "trove_classifiers", "build", "editables", "tomli"):  # fmt: skip
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            dirs += [Path(p) for p in spec.submodule_search_locations]
    for directory in dirs:
        compileall.compile_dir(str(directory), quiet=1)


def bundled_wheels(cache: Path, manifest: Mapping[str, Any]) -> list[Path]:
    """The cached wheels of the manifest's packages."""
    wanted = {
        (p["name"].replace("-", "_").lower(), p["version"])
        for layer in manifest["layers"]
        for p in layer["packages"]
    }
    found = []
    for wheel in sorted((cache / "wheels").rglob("*.whl")):
        name, version = wheel.name.split("-")[:2]
        if (name.lower(), version) in wanted:
            found.append(wheel)
    return found


def prepare(bench: Bench) -> str | None:
    """Pins and the locked project (kept in a reused --workdir); a reason to skip, or None."""
    if (bench.tmp / "project" / "uv.lock").exists():
        return None
    shutil.rmtree(bench.tmp, ignore_errors=True)
    bench.tmp.mkdir(parents=True)
    ctx = bb.Context(bench.workload, bench.target, bench.tmp, bench.tmp / "project", 1, 1)
    prepared = bb.prepare_project(ctx)
    return prepared if isinstance(prepared, str) else None


def first_builds(bench: Bench, made: dict[str, Path]) -> dict[str, Any]:
    """Cold build (which writes the plan the others commit), and the builds the warm measures
    start from: compile's own plan (compile is dropped, with the reason, when its build fails:
    bytecode can push a workload over Lambda's unzipped limit), the no-op's directory."""
    tmp = bench.tmp
    shutil.rmtree(tmp / "cache", ignore_errors=True)
    bench.record("cold", bench.fresh(made["plain"], tmp / "out-cold"))
    shutil.copyfile(tmp / "out-cold" / "lambda-layers.lock", made["planned"] / "lambda-layers.lock")
    if "compiled" in made:
        try:
            bench.fresh(made["compiled"], tmp / "out-compile-first")
        except bb.BenchError as exc:
            bench.notes.append(f"compile = true not measured: {exc}")
            del made["compiled"]
        else:
            shutil.copyfile(
                tmp / "out-compile-first" / "lambda-layers.lock",
                made["compiled"] / "lambda-layers.lock",
            )
    for _ in range(2):  # the second settles the manifest: from then on nothing is written
        bench.ours(made["planned"], tmp / "out-noop")
    manifest: dict[str, Any] = json.loads((tmp / "out-cold" / "manifest.json").read_text())
    return manifest


def one_round(
    bench: Bench,
    made: Mapping[str, Path],
    recipe: tuple[Path, list[str]],
    baseline: Path | None,
) -> None:
    tmp = bench.tmp
    bench.record("warm", bench.fresh(made["plain"], tmp / "out-warm"))
    bench.record("plan", bench.fresh(made["planned"], tmp / "out-plan"))
    bench.record("noop", bench.ours(made["planned"], tmp / "out-noop"))
    bench.record("verify", bench.ours(made["planned"], tmp / "out-noop", "--verify"))
    if "compiled" in made:
        bench.record("compile", bench.fresh(made["compiled"], tmp / "out-compile"))
    ran = recipe_once(bench, *recipe)
    bench.record("recipe_uv", ran["uv"])
    bench.record("recipe_zip9", ran["uv"] + ran["zip9"])
    bench.record("recipe_zip6", ran["uv"] + ran["zip6"])
    floor_out = tmp / "out-floor"
    shutil.rmtree(floor_out, ignore_errors=True)
    floor_out.mkdir()
    floor = bb.run(
        [sys.executable, str(FLOOR_SCRIPT), str(tmp / "floor.json"), str(floor_out)],
        cwd=tmp, env=bench.env(), timeout=TIMEOUT,
    )  # fmt: skip
    if not floor.ok:
        raise bb.BenchError(f"raw-copy floor failed: {floor.error_lines()}")
    bench.record("floor", floor.seconds)
    if baseline is not None:
        bench.record("base_warm", bench.fresh(made["plain"], tmp / "out-bwarm", baseline))
        bench.record("base_plan", bench.fresh(made["planned"], tmp / "out-bplan", baseline))
        bench.record("base_noop", bench.ours(made["planned"], tmp / "out-bnoop", tool=baseline))


def same_layers(directories: Sequence[Path]) -> bool:
    def zips(d: Path) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in d.glob("layer-*.zip")}

    first = zips(directories[0])
    return all(zips(d) == first for d in directories[1:])


def bench_workload(
    workload: bb.Workload, *, rounds: int, workdir: Path, baseline: Path | None
) -> dict[str, Any]:
    target = get_target(workload.runtime, workload.architecture)
    bench = Bench(workload, target, workdir / workload.name)
    skipped = prepare(bench)
    if skipped is not None:
        return {"skipped": bb.redact(skipped)}
    python = find_target_python(target)
    made = projects(bench, python)
    try:
        manifest = first_builds(bench, made)
        recipe = recipe_inputs(bench, [p["name"] for p in manifest["provided"]])
        shutil.rmtree(bench.tmp / "uv-cache", ignore_errors=True)
        cold = recipe_once(bench, *recipe)
        wheels = bundled_wheels(bench.tmp / "cache", manifest)
        layer_zips = [bench.tmp / "out-cold" / x["file"] for x in manifest["layers"]]
        spec = floor_spec(layer_zips, wheels)
        (bench.tmp / "floor.json").write_text(json.dumps(spec), encoding="utf-8")
        if baseline is not None:
            for _ in range(2):
                bench.ours(made["planned"], bench.tmp / "out-bnoop", tool=baseline)
        for i in range(rounds):
            one_round(bench, made, recipe, baseline)
            bench.say(f"round {i + 1}/{rounds}: " + ", ".join(
                f"{k} {v[-1]:.2f}" for k, v in bench.times.items() if k != "cold"
            ))  # fmt: skip
    except bb.BenchError as exc:
        bench.say(f"skipped: {exc}")
        return {"skipped": bb.redact(str(exc))}
    times = {k: median(v) for k, v in bench.times.items()}
    times["recipe_cold_zip9"] = round(cold["uv"] + cold["zip9"], 4)
    zipped = sum(x["size_zipped"] for x in manifest["layers"])
    small = workload.name == "W1_api"
    return {
        "target": target.describe(),
        "compile_python": python,
        "notes": [bb.redact(n) for n in bench.notes],
        "layers": len(manifest["layers"]),
        "zipped": zipped,
        "unzipped": sum(x["size_unzipped"] for x in manifest["layers"]),
        "recipe_zip_bytes": {"-9": cold["size9"], "-6": cold["size6"]},
        "times_s": times,
        "runs_s": bench.times,
        "speedups": speedups(times),
        "aims": aims(times, zipped, small),
        "byte_identical": same_layers(
            [bench.tmp / d for d in ("out-cold", "out-warm", "out-plan", "out-noop")]
        ),
        "imports": import_measures(bench, made["planned"], baseline),
    }


def import_measures(bench: Bench, planned: Path, baseline: Path | None) -> dict[str, Any]:
    """Import times of `--help` and of the no-op (and of `--help` at the baseline)."""
    noop = ["-q", "build", str(planned), "-o", str(bench.tmp / "out-noop")]
    measures = {
        "help": import_times(bench, ["--help"], ROOT),
        "noop": import_times(bench, noop, ROOT),
    }
    if baseline is not None:
        measures["baseline_help"] = import_times(bench, ["--help"], baseline)
    return measures


def speedups(t: Mapping[str, float | None]) -> dict[str, float | None]:
    """How many times faster (recipe / ours, before / after) or how much of (x / y)."""
    return {
        "recipe9_over_plan": ratio(t.get("recipe_zip9"), t.get("plan")),
        "recipe6_over_plan": ratio(t.get("recipe_zip6"), t.get("plan")),
        "recipe9_over_warm": ratio(t.get("recipe_zip9"), t.get("warm")),
        "recipe6_over_warm": ratio(t.get("recipe_zip6"), t.get("warm")),
        "recipe_cold9_over_cold": ratio(t.get("recipe_cold_zip9"), t.get("cold")),
        "noop_over_plan": ratio(t.get("noop"), t.get("plan")),
        "verify_over_plan": ratio(t.get("verify"), t.get("plan")),
        "warm_over_plan": ratio(t.get("warm"), t.get("plan")),
        "compile_over_plan": ratio(t.get("compile"), t.get("plan")),
        "plan_over_floor": ratio(t.get("plan"), t.get("floor")),
        "base_warm_over_warm": ratio(t.get("base_warm"), t.get("warm")),
        "base_plan_over_plan": ratio(t.get("base_plan"), t.get("plan")),
        "base_noop_over_noop": ratio(t.get("base_noop"), t.get("noop")),
    }


# --------------------------------------------------------------------------------------------
# tables


def _s(x: Any) -> str:
    return "-" if x is None else f"{x:.2f}"


def _x(x: Any) -> str:
    return "-" if x is None else f"{x:.1f}x"


def _aim(entry: Mapping[str, Any]) -> str:
    if entry.get("ratio") is None:
        return "-"
    mark = {True: " met", False: " missed", None: ""}[entry.get("met")]
    return f"{entry['ratio']:.2f}{mark}"


def table_rows(results: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    header = [
        "workload", "MB zipped", "cold", "warm", "plan", "no-op", "verify", "compile",
        "uv+zip -9", "uv+zip -6", "floor", "-9 / plan", "-6 / plan", "no-op / plan",
        "warm / plan", "compile / plan", "plan / floor",
    ]  # fmt: skip
    rows = []
    for name, w in results.items():
        if "skipped" in w:
            reason = w["skipped"] if len(w["skipped"]) < 90 else w["skipped"][:87] + "..."
            rows.append([name, f"skipped: {reason}"] + [""] * (len(header) - 2))
            continue
        t, a = w["times_s"], w["aims"]
        rows.append(
            [name, f"{w['zipped'] / 1e6:.1f}", _s(t.get("cold")), _s(t.get("warm")),
             _s(t.get("plan")), _s(t.get("noop")), _s(t.get("verify")), _s(t.get("compile")),
             _s(t.get("recipe_zip9")), _s(t.get("recipe_zip6")), _s(t.get("floor")),
             _x(w["speedups"]["recipe9_over_plan"]), _x(w["speedups"]["recipe6_over_plan"]),
             _aim(a["noop_over_plan"]), _aim(a["warm_over_plan"]), _aim(a["compile_over_plan"]),
             _aim(a["plan_over_floor"])]
        )  # fmt: skip
    return header, rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--workloads", default=",".join(DEFAULT_SELECTION))
    parser.add_argument("--workloads-file", type=Path, default=bb.DEFAULT_WORKLOADS_FILE)
    parser.add_argument("--rounds", type=int, default=5, help="warm rounds (medians)")
    parser.add_argument("--baseline", help="a git ref to time warm, plan and no-op against")
    parser.add_argument("--workdir", type=Path, help="keep projects and caches here")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--show", action="store_true", help="only print the table of --out")
    args = parser.parse_args(argv)
    render: Callable[..., str] = bb.format_markdown_table if args.markdown else bb.format_text_table
    if args.show:
        print(render(*table_rows(json.loads(args.out.read_text(encoding="utf-8"))["workloads"])))
        return 0
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    for tool in ("uv", "zip"):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is not on PATH")
    available = bb.parse_workloads(json.loads(args.workloads_file.read_text(encoding="utf-8")))
    selected = bb.select_workloads(available, [w for w in args.workloads.split(",") if w])
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="speed-bench-") as scratch:
        workdir = args.workdir or Path(scratch)
        baseline = baseline_tool(args.baseline, workdir) if args.baseline else None
        compile_bytecode([ROOT / "hatch_lambda_layers", *([baseline] if baseline else [])])
        load = os.getloadavg()
        results = {
            w.name: bench_workload(w, rounds=args.rounds, workdir=workdir, baseline=baseline)
            for w in selected
        }
    document = {
        "benchmark": "build speed: lambda-layers build against uv pip install --target + zip -r",
        "command": "python benchmarks/speed_bench.py " + " ".join(argv or sys.argv[1:]),
        "machine": {
            **bb.machine_info(),
            "load_average_at_start": [round(x, 2) for x in load],
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "settings": {"rounds": args.rounds, "baseline": args.baseline},
        "total_s": round(time.perf_counter() - started, 1),
        "workloads": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(bb.redact(json.dumps(document, indent=1)) + "\n", encoding="utf-8")
    print(render(*table_rows(results)))
    print(f"\nwrote {args.out} in {document['total_s']}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
