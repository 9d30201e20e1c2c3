"""Build speed and size: `lambda-layers build` against the `pip install --target` + `zip -r` recipe.

    python benchmarks/build_bench.py [--workloads W1_api,W5_data311,...] [--out FILE]
                                     [--repeat N] [--cold-repeat N] [--workloads-file FILE]
                                     [--markdown] [--show]

For each workload of ../shared/workloads/workloads.json (default: W1_api, W3_boto, W5_data311,
which fit in Lambda, and W2_data, which must not), in a temporary directory:

1. Pins for the target: `uv pip compile --only-binary :all:` for the runtime's Python and a
   manylinux platform (uv offers no manylinux_2_26, so glibc-2.26 runtimes resolve at 2_17),
   written as `[tool.uv] constraint-dependencies` of a throwaway project whose dependencies are
   the workload's requirements and whose `[tool.lambda-layers]` carries its runtime,
   architecture and provided packages; then `uv lock` (the index comes from uv's own config).
2. Ours: `python -m hatch_lambda_layers build` (the `lambda-layers` entry point without the
   shell shim) cold (empty HATCH_LAMBDA_LAYERS_CACHE_DIR), warm (same cache, fresh output dir),
   warm with the fresh `lambda-layers.lock` copied beside pyproject.toml (the steady state the
   tool asks for), and a no-change rebuild into the same output directory.
3. The recipe: `pip install --target python/ --platform manylinux2014_<arch> --implementation
   cp --python-version 3.X --only-binary=:all: <pins>` then `zip -r -q layer.zip python`, cold
   (fresh PIP_CACHE_DIR) and warm. The pins are `uv export`'s, markers evaluated for the target
   (pip evaluates them for the interpreter running it), minus the manifest's `provided` list
   ("like-for-like"); when that list is not empty a second variant installs everything. pip
   runs without this machine's pip.conf and with `--index-url` set to the lock's registry, so
   both tools download from the same index. When no manylinux2014 wheel exists for a pin, that
   is recorded and the recipe is re-run with every manylinux_2_X platform the runtime loads.

Times are medians (cold: --cold-repeat, default 1; warm: --repeat, default 3). Sizes are read
from the zips themselves. Results go to benchmarks/results/build.json and a table is printed.
Every command has a timeout; a workload whose pins or lock cannot be had (index unreachable)
is skipped with the reason recorded. Index host names are never written out: URLs in recorded
messages are redacted.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hatch_lambda_layers.resolve import locks  # noqa: E402
from hatch_lambda_layers.resolve.graph import split_provided  # noqa: E402
from hatch_lambda_layers.targets import Target, get_target  # noqa: E402

DEFAULT_WORKLOADS_FILE = ROOT.parent / "shared" / "workloads" / "workloads.json"
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "build.json"
DEFAULT_SELECTION = ("W1_api", "W3_boto", "W5_data311", "W2_data")
UNZIPPED_MAX = 262_144_000

# Per-command timeouts, seconds.
RESOLVE_TIMEOUT = 300
BUILD_TIMEOUT = 900
PIP_TIMEOUT = 900
ZIP_TIMEOUT = 600

# Highest manylinux_2_X that `uv pip compile --python-platform` offers, per glibc minor range:
# uv knows 2_17 and 2_28, 2_31 ... 2_40 (no 2_26), so the best platform not newer than the
# runtime's glibc is taken.
UV_MANYLINUX_MINORS = (17, 28, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40)

_URL_HOST = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s\"'<>]+")


# --------------------------------------------------------------------------------------------
# pure parts


class BenchError(Exception):
    """A step failed after the workload had started; recorded, and the next workload runs."""


@dataclass(frozen=True)
class Workload:
    name: str
    runtime: str
    architecture: str
    provided: tuple[str, ...]
    requirements: tuple[str, ...]


def parse_workloads(data: Mapping[str, Any]) -> dict[str, Workload]:
    """workloads.json's mapping into Workloads; a malformed entry names its key."""
    result: dict[str, Workload] = {}
    for name, entry in data.items():
        try:
            result[name] = Workload(
                name=name,
                runtime=str(entry["runtime"]),
                architecture=str(entry.get("architecture", "x86_64")),
                provided=tuple(str(p) for p in entry.get("provided", ())),
                requirements=tuple(str(r) for r in entry["requirements"]),
            )
        except (KeyError, TypeError) as exc:
            raise SystemExit(f"workloads: entry {name!r} lacks or mistypes {exc}") from None
    return result


def select_workloads(available: Mapping[str, Workload], names: Sequence[str]) -> list[Workload]:
    unknown = [n for n in names if n not in available]
    if unknown:
        raise SystemExit(
            f"--workloads: unknown {', '.join(unknown)}; choose from {', '.join(available)}"
        )
    return [available[n] for n in names]


def redact(text: str) -> str:
    """Replace the host of every URL in `text` (no index host name is ever written out)."""
    return _URL_HOST.sub(r"\1<host>", text)


def uv_python_platform(target: Target) -> str:
    """`uv pip compile --python-platform` value: the newest manylinux the runtime can load."""
    major, minor = target.glibc
    best = max(m for m in UV_MANYLINUX_MINORS if m <= minor)
    return f"{target.machine}-manylinux_{major}_{best}"


def pip_platforms(target: Target, *, widened: bool) -> list[str]:
    """`pip install --platform` values. Strict: manylinux2014 only, what AWS's instructions and
    most teams pass. Widened: every manylinux_2_X the runtime loads, newest first (pip 23 does
    not expand a manylinux_2_X platform to older ones by itself)."""
    strict = [f"manylinux2014_{target.machine}"]
    if not widened:
        return strict
    major, ceiling = target.glibc
    return [f"manylinux_{major}_{m}_{target.machine}" for m in range(ceiling, 16, -1)] + strict


def python_version_arg(target: Target) -> str:
    return f"{target.python_version[0]}.{target.python_version[1]}"


def parse_pins(text: str) -> list[str]:
    """`name==version` lines of a requirements file (comments, options and blanks skipped)."""
    pins: list[str] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        pins.append(line)
    return pins


def project_pyproject(
    workload: Workload, target: Target, constraints: Sequence[str], *, upload: str | None = None
) -> str:
    """pyproject.toml of the throwaway project (JSON strings are valid TOML basic strings)."""
    pkg = package_dir_name(workload)
    low = python_version_arg(target)
    high = f"{target.python_version[0]}.{target.python_version[1] + 1}"
    # The lock is narrowed to the target by `environments`; requires-python only has to admit
    # the interpreter running uv (else uv looks for, or downloads, a matching one).
    host = sys.version_info[:2]
    floor = "{}.{}".format(*min(tuple(target.python_version), (host[0], host[1])))
    environment = (
        f"sys_platform == 'linux' and platform_machine == '{target.machine}' and "
        f"python_full_version >= '{low}' and python_full_version < '{high}'"
    )
    return "\n".join(
        [
            "[project]",
            f"name = {json.dumps(project_name(workload))}",
            'version = "0.0.0"',
            f"requires-python = {json.dumps('>=' + floor)}",
            f"dependencies = {json.dumps(list(workload.requirements))}",
            "",
            "[tool.uv]",
            f"environments = {json.dumps([environment])}",
            f"constraint-dependencies = {json.dumps(list(constraints))}",
            "",
            "[tool.hatch.build.targets.wheel]",
            f"packages = {json.dumps([pkg])}",
            "",
            "[tool.lambda-layers]",
            f"runtime = {json.dumps(workload.runtime)}",
            f"architecture = {json.dumps(workload.architecture)}",
            f"handler = {json.dumps(pkg + '.handler.handler')}",
            f"provided = {json.dumps(list(workload.provided))}",
            *([f"upload = {json.dumps(upload)}"] if upload else []),
            "",
        ]
    )


def project_name(workload: Workload) -> str:
    return "bench-" + canonicalize_name(workload.name)


def package_dir_name(workload: Workload) -> str:
    return project_name(workload).replace("-", "_")


def recipe_pins(
    export_text: str, marker_environment: Mapping[str, str], drop: Iterable[str] = ()
) -> list[tuple[str, str]]:
    """(name, version) of `uv export` lines that apply on the target, minus `drop`.

    Markers are evaluated for the target here because pip evaluates them for the interpreter
    that runs it, not for `--python-version`."""
    dropped = {canonicalize_name(n) for n in drop}
    env = dict(marker_environment)
    pins: list[tuple[str, str]] = []
    for line in parse_pins(export_text):
        try:
            req = Requirement(line)
        except (InvalidRequirement, InvalidMarker) as exc:
            raise SystemExit(f"uv export: cannot read {line!r}: {exc}") from None
        if req.marker is not None and not Marker(str(req.marker)).evaluate(env):
            continue
        specs = list(req.specifier)
        if len(specs) != 1 or specs[0].operator != "==":
            raise SystemExit(f"uv export: {line!r} is not pinned to one version")
        if canonicalize_name(req.name) in dropped:
            continue
        pins.append((req.name, specs[0].version))
    return sorted(pins, key=lambda p: canonicalize_name(p[0]))


def version_differences(
    wanted: Mapping[str, str], got: Mapping[str, str]
) -> dict[str, dict[str, str | None]]:
    """Per canonical name where the two mappings disagree: {"wanted": v1, "got": v2}."""
    a = {canonicalize_name(k): v for k, v in wanted.items()}
    b = {canonicalize_name(k): v for k, v in got.items()}
    return {
        name: {"wanted": a.get(name), "got": b.get(name)}
        for name in sorted(a.keys() | b.keys())
        if a.get(name) != b.get(name)
    }


_DIST_INFO = re.compile(r"^(?P<name>.+?)-(?P<version>[^-]+)\.dist-info$")


def dist_info_versions(names: Iterable[str]) -> dict[str, str]:
    """Installed distributions from `*.dist-info` directory names."""
    found: dict[str, str] = {}
    for n in names:
        m = _DIST_INFO.match(n)
        if m:
            found[canonicalize_name(m["name"])] = m["version"]
    return found


@dataclass(frozen=True)
class ZipStats:
    zipped: int
    unzipped: int
    files: int
    pyc_bytes: int = 0
    pyc_tags: tuple[str, ...] = ()  # e.g. cpython-311: the Python that compiled the bytecode


def zip_stats(paths: Iterable[Path]) -> ZipStats:
    zipped = unzipped = files = pyc = 0
    tags: set[str] = set()
    for path in paths:
        zipped += path.stat().st_size
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                files += 1
                unzipped += info.file_size
                if info.filename.endswith(".pyc"):
                    pyc += info.file_size
                    parts = info.filename.rsplit("/", 1)[-1].split(".")
                    if len(parts) >= 3:
                        tags.add(parts[-2])
    return ZipStats(
        zipped=zipped, unzipped=unzipped, files=files, pyc_bytes=pyc, pyc_tags=tuple(sorted(tags))
    )


def zip_entries(path: Path) -> dict[str, tuple[int, int]]:
    """A zip's file entries: name -> (CRC-32, size); zip metadata (timestamps) left aside."""
    with zipfile.ZipFile(path) as zf:
        return {i.filename: (i.CRC, i.file_size) for i in zf.infolist() if not i.is_dir()}


def entry_differences(
    first: Mapping[str, tuple[int, int]], second: Mapping[str, tuple[int, int]]
) -> dict[str, Any]:
    """How two zips' file entries differ, by content: counts and the differing files' suffixes."""
    changed = sorted(n for n in first.keys() & second.keys() if first[n] != second[n])
    kinds: dict[str, int] = {}
    for name in changed:
        suffix = Path(name).suffix or Path(name).name
        kinds[suffix] = kinds.get(suffix, 0) + 1
    return {
        "same_contents": not changed and first.keys() == second.keys(),
        "only_in_first": len(first.keys() - second.keys()),
        "only_in_second": len(second.keys() - first.keys()),
        "different": len(changed),
        "different_by_suffix": dict(sorted(kinds.items())),
    }


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_OVER = re.compile(r"unzip to ([\d,]+) bytes")
_LARGEST = re.compile(r"largest packages: ([^;]+)")


def limit_failure(stderr: str) -> dict[str, Any] | None:
    """The figures of our tool's unzipped-limit error, if `stderr` holds one."""
    m = _OVER.search(stderr)
    if m is None:
        return None
    largest = _LARGEST.search(stderr)
    return {
        "unzipped_total": int(m[1].replace(",", "")),
        "unzipped_max": UNZIPPED_MAX,
        "largest": largest[1].strip() if largest else None,
    }


def median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 3)


# --------------------------------------------------------------------------------------------
# tables


def _secs(x: Any) -> str:
    return "-" if x is None else f"{x:.2f}"


def _mb(x: Any) -> str:
    return "-" if x is None else f"{x / 1_000_000:,.1f}"


def _r(x: Any) -> str:
    return "-" if x is None else f"{x:.2f}"


def table_rows(results: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    header = [
        "workload",
        "ours cold s",
        "ours warm s",
        "ours warm+plan s",
        "ours rebuild s",
        "recipe cold s",
        "recipe warm s",
        "cold ratio",
        "warm ratio",
        "zipped MB ours / recipe",
        "unzipped MB ours / recipe",
        "files ours / recipe",
        "byte-identical ours / recipe",
    ]
    rows: list[list[str]] = []
    for name, w in results.items():
        if w.get("skipped"):
            rows.append([name, f"skipped: {w['skipped']}"] + [""] * (len(header) - 2))
            continue
        ours = w["ours"]
        rec = w["recipe"].get("like_for_like", {})
        o_size = ours.get("size") or {}
        r_size = rec.get("size") or {}
        rt = w.get("ratios", {})
        status = "" if ours.get("ok") else " (exit 1)"
        rows.append(
            [
                name + status,
                _secs(ours.get("cold_s")),
                _secs(ours.get("warm_s")),
                _secs(ours.get("warm_plan_s")),
                _secs(ours.get("rebuild_s")),
                _secs(rec.get("cold_s")),
                _secs(rec.get("warm_s")),
                _r(rt.get("cold_s")),
                _r(rt.get("warm_s")),
                f"{_mb(o_size.get('zipped'))} / {_mb(r_size.get('zipped'))}",
                f"{_mb(o_size.get('unzipped') or _failed_total(ours))}"
                f" / {_mb(r_size.get('unzipped'))}",
                f"{o_size.get('files', '-')} / {r_size.get('files', '-')}",
                f"{_yn(ours.get('byte_identical'))} / {_yn(rec.get('byte_identical'))}",
            ]
        )
    return header, rows


def _failed_total(ours: Mapping[str, Any]) -> int | None:
    """The unzipped total a failing build reported (directly, or with upload = "s3")."""
    for part in (ours, ours.get("with_upload_s3") or {}):
        figures = part.get("limit_failure")
        if figures:
            return int(figures["unzipped_total"])
    return None


def _yn(x: Any) -> str:
    return "-" if x is None else ("yes" if x else "no")


def format_text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def format_markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# running commands


@dataclass(frozen=True)
class Ran:
    argv: tuple[str, ...]
    seconds: float
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def last_line(self) -> str:
        lines = [ln for ln in (self.stderr or self.stdout).splitlines() if ln.strip()]
        return redact(lines[-1].strip()) if lines else f"exit status {self.returncode}"

    def error_lines(self) -> str:
        picked = [ln for ln in self.stderr.splitlines() if "ERROR" in ln or "error" in ln]
        return redact(" | ".join(picked[-3:]) if picked else self.last_line())


def run(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout: float) -> Ran:
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            list(argv),
            cwd=cwd,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Ran(tuple(argv), time.perf_counter() - start, -1, "", f"timed out after {timeout}s")
    return Ran(tuple(argv), time.perf_counter() - start, proc.returncode, proc.stdout, proc.stderr)


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SOURCE_DATE_EPOCH", None)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])]
    )
    return env


def pip_env(cache_dir: Path) -> dict[str, str]:
    """pip without this machine's pip.conf and PIP_* index settings (the lock's index is passed
    explicitly), its HTTP and wheel cache in `cache_dir`."""
    env = base_env()
    for key in list(env):
        if key in ("PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_NO_INDEX"):
            env.pop(key)
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_CACHE_DIR=str(cache_dir),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
        PIP_ROOT_USER_ACTION="ignore",
    )
    return env


def zip_command() -> tuple[list[str], str]:
    """`zip -r -q layer.zip python` when the zip binary exists, else Python's zipfile CLI."""
    if shutil.which("zip"):
        return ["zip", "-r", "-q", "layer.zip", "python"], "zip"
    return [sys.executable, "-m", "zipfile", "-c", "layer.zip", "python"], "python -m zipfile"


# --------------------------------------------------------------------------------------------
# one workload


@dataclass
class Context:
    workload: Workload
    target: Target
    tmp: Path
    project: Path
    cold_repeat: int
    warm_repeat: int
    recipe_python: str = sys.executable
    recipe_extra_args: tuple[str, ...] = ()
    pins: tuple[str, ...] = ()
    log: list[str] = field(default_factory=list)

    def say(self, message: str) -> None:
        line = f"[{self.workload.name}] {message}"
        self.log.append(line)
        print(line, file=sys.stderr, flush=True)


def write_project(ctx: Context, *, upload: str | None = None) -> None:
    text = project_pyproject(ctx.workload, ctx.target, ctx.pins, upload=upload)
    (ctx.project / "pyproject.toml").write_text(text, encoding="utf-8")


def prepare_project(ctx: Context) -> dict[str, Any] | str:
    """Pins, throwaway project and `uv lock`; a string is the reason to skip the workload."""
    wl, target = ctx.workload, ctx.target
    env = base_env()
    req_in = ctx.tmp / "requirements.in"
    req_in.write_text("\n".join(wl.requirements) + "\n", encoding="utf-8")
    uv_platform = uv_python_platform(target)
    compiled = run(
        [
            "uv", "pip", "compile", "--quiet", "--no-header", "--no-annotate",
            "--only-binary", ":all:",
            "--python-platform", uv_platform,
            "--python-version", python_version_arg(target),
            str(req_in),
        ],
        cwd=ctx.tmp, env=env, timeout=RESOLVE_TIMEOUT,
    )  # fmt: skip
    if not compiled.ok:
        return f"uv pip compile failed (index unreachable?): {compiled.error_lines()}"
    pins = parse_pins(compiled.stdout)
    ctx.project.mkdir()
    pkg = ctx.project / package_dir_name(wl)
    pkg.mkdir()
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "handler.py").write_text(
        "def handler(event, context):\n    return {'ok': True}\n", encoding="utf-8"
    )
    ctx.pins = tuple(pins)
    write_project(ctx)
    locked = run(
        ["uv", "lock", "--quiet", "--python", sys.executable],
        cwd=ctx.project,
        env=env,
        timeout=RESOLVE_TIMEOUT,
    )
    if not locked.ok:
        return f"uv lock failed: {locked.error_lines()}"
    ctx.say(f"locked {len(pins)} pins at {uv_platform}, uv lock {locked.seconds:.1f}s")
    return {
        "uv_python_platform": uv_platform,
        "pins": pins,
        "uv_pip_compile_s": round(compiled.seconds, 3),
        "uv_lock_s": round(locked.seconds, 3),
    }


def _ours_build(ctx: Context, cache: Path, out: Path) -> Ran:
    env = base_env()
    env["HATCH_LAMBDA_LAYERS_CACHE_DIR"] = str(cache)
    return run(
        [sys.executable, "-m", "hatch_lambda_layers", "-q", "build", str(ctx.project), "-o",
         str(out)],
        cwd=ctx.project, env=env, timeout=BUILD_TIMEOUT,
    )  # fmt: skip


def _layer_zips(out: Path) -> tuple[list[Path], dict[str, Any]]:
    data = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return [out / layer["file"] for layer in data["layers"]], data


def _failed_build(ctx: Context, ran: Ran, cache: Path, out: Path, tag: str) -> dict[str, Any]:
    """What a failing build reports, then one warm retry (same cache) for its time."""
    again = _ours_build(ctx, cache, ctx.tmp / f"ours-fail-warm-{tag}")
    return {
        "ok": ran.ok,
        "exit_code": ran.returncode,
        "cold_s": round(ran.seconds, 3),
        "warm_s": round(again.seconds, 3),
        "warm_exit_code": again.returncode,
        "error": ran.last_line(),
        "limit_failure": limit_failure(ran.stderr),
        "wrote_manifest": (out / "manifest.json").exists(),
    }


def run_ours(ctx: Context) -> dict[str, Any]:  # noqa: PLR0915  (one measurement script)
    result: dict[str, Any] = {"command": "python -m hatch_lambda_layers -q build PROJECT -o OUT"}
    cold: list[float] = []
    first_out: Path | None = None
    cache = ctx.tmp / "ours-cache-0"
    for i in range(ctx.cold_repeat):
        cache = ctx.tmp / f"ours-cache-{i}"
        out = ctx.tmp / f"ours-cold-{i}"
        ran = _ours_build(ctx, cache, out)
        ctx.say(f"ours cold #{i + 1}: {ran.seconds:.2f}s exit {ran.returncode}")
        if not ran.ok:
            result.update(_failed_build(ctx, ran, cache, out, "direct"))
            if 'upload = "s3"' in ran.stderr:
                # The direct-upload check fires first; the unzipped total needs upload = "s3".
                write_project(ctx, upload="s3")
                try:
                    cache, out = ctx.tmp / "ours-s3-cache", ctx.tmp / "ours-s3-cold"
                    again = _ours_build(ctx, cache, out)
                    ctx.say(f"ours cold, upload = s3: {again.seconds:.2f}s exit {again.returncode}")
                    result["with_upload_s3"] = _failed_build(ctx, again, cache, out, "s3")
                finally:
                    write_project(ctx)
            return result
        cold.append(ran.seconds)
        first_out = first_out or out
    assert first_out is not None
    zips, manifest = _layer_zips(first_out)
    fn_zips = [first_out / f["file"] for f in manifest["functions"]]

    warm: list[float] = []
    warm_out = ctx.tmp / "ours-warm-0"
    for j in range(ctx.warm_repeat):
        ran = _ours_build(ctx, cache, ctx.tmp / f"ours-warm-{j}")
        if not ran.ok:
            raise BenchError(f"warm build failed: {ran.last_line()}")
        warm.append(ran.seconds)
    rebuild: list[float] = []
    for _ in range(ctx.warm_repeat):
        ran = _ours_build(ctx, cache, warm_out)
        if not ran.ok:
            raise BenchError(f"rebuild failed: {ran.last_line()}")
        rebuild.append(ran.seconds)
    planfile = ctx.project / "lambda-layers.lock"
    shutil.copyfile(first_out / "lambda-layers.lock", planfile)
    warm_plan: list[float] = []
    try:
        for j in range(ctx.warm_repeat):
            ran = _ours_build(ctx, cache, ctx.tmp / f"ours-warm-plan-{j}")
            if not ran.ok:
                raise BenchError(f"warm build with lambda-layers.lock failed: {ran.last_line()}")
            warm_plan.append(ran.seconds)
    finally:
        planfile.unlink()
    ctx.say(
        f"ours warm {median(warm)}s, rebuild {median(rebuild)}s, warm+plan {median(warm_plan)}s"
    )

    def digests(out: Path) -> dict[str, str]:
        return {p.name: sha256_file(p) for p in _layer_zips(out)[0]}

    first = digests(first_out)
    identical = all(
        digests(ctx.tmp / name) == first
        for name in ["ours-warm-0", "ours-warm-plan-0"]
        + [f"ours-cold-{i}" for i in range(1, ctx.cold_repeat)]
    )
    stats = zip_stats(zips)
    result.update(
        ok=True,
        exit_code=0,
        cold_s=median(cold),
        warm_s=median(warm),
        rebuild_s=median(rebuild),
        warm_plan_s=median(warm_plan),
        runs_s={
            "cold": [round(x, 3) for x in cold],
            "warm": [round(x, 3) for x in warm],
            "rebuild": [round(x, 3) for x in rebuild],
            "warm_plan": [round(x, 3) for x in warm_plan],
        },
        layers=len(zips),
        size=asdict(stats),
        function_zip_bytes=sum(p.stat().st_size for p in fn_zips),
        manifest_unzipped_total=manifest["limits"]["unzipped_total"],
        byte_identical=identical,
        provided=[p["name"] for p in manifest["provided"]],
        versions={
            p["name"]: p["version"] for layer in manifest["layers"] for p in layer["packages"]
        },
    )
    return result


def left_out_names(ctx: Context, ours: Mapping[str, Any]) -> list[str]:
    """The manifest's `provided` list; when our build failed, the same split from the lock."""
    if ours.get("ok"):
        return list(ours["provided"])
    graph = locks.read_lock(
        ctx.project / "uv.lock", ctx.target, project_name=project_name(ctx.workload)
    )
    return [x.name for x in split_provided(graph, ctx.workload.provided).left_out]


def _recipe_once(
    ctx: Context,
    workdir: Path,
    cache: Path,
    requirements: Path,
    platforms: Sequence[str],
    *,
    index_args: Sequence[str],
) -> tuple[Ran, Ran | None]:
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    plat_args = [a for p in platforms for a in ("--platform", p)]
    pip = run(
        [
            ctx.recipe_python, "-m", "pip", "install", "--quiet", "--target", "python/",
            *ctx.recipe_extra_args,
            *plat_args, "--implementation", "cp",
            "--python-version", python_version_arg(ctx.target),
            "--only-binary=:all:", *index_args, "-r", str(requirements),
        ],
        cwd=workdir, env=pip_env(cache), timeout=PIP_TIMEOUT,
    )  # fmt: skip
    if not pip.ok:
        return pip, None
    argv, _ = zip_command()
    zipped = run(argv, cwd=workdir, env=base_env(), timeout=ZIP_TIMEOUT)
    return pip, zipped


def run_recipe_variant(
    ctx: Context, variant: str, pins: Sequence[tuple[str, str]], index_args: Sequence[str]
) -> dict[str, Any]:
    requirements = ctx.tmp / f"recipe-{variant}.txt"
    requirements.write_text("".join(f"{n}=={v}\n" for n, v in pins), encoding="utf-8")
    platforms = pip_platforms(ctx.target, widened=False)
    result: dict[str, Any] = {
        "requirements": len(pins),
        "zip_tool": zip_command()[1],
        "platforms": platforms,
    }

    def once(tag: str, cache: Path) -> tuple[Ran, Ran | None, Path]:
        workdir = ctx.tmp / f"recipe-{variant}-{tag}"
        pip, zipped = _recipe_once(
            ctx, workdir, cache, requirements, platforms, index_args=index_args
        )
        return pip, zipped, workdir

    cold: list[tuple[Ran, Ran]] = []
    kept: list[Path] = []
    cache = ctx.tmp / f"pip-cache-{variant}-0"
    for i in range(ctx.cold_repeat):
        cache = ctx.tmp / f"pip-cache-{variant}-{i}"
        pip, zipped, workdir = once(f"cold-{i}", cache)
        if not pip.ok and i == 0 and platforms == pip_platforms(ctx.target, widened=False):
            result["strict_platform_failure"] = pip.error_lines()
            ctx.say(f"recipe {variant}: manylinux2014 only fails: {pip.error_lines()[:160]}")
            platforms = pip_platforms(ctx.target, widened=True)
            result["platforms"] = platforms
            shutil.rmtree(cache, ignore_errors=True)
            pip, zipped, workdir = once(f"cold-{i}", cache)
        if not pip.ok or zipped is None or not zipped.ok:
            failed = zipped if pip.ok and zipped is not None else pip
            result.update(ok=False, error=failed.error_lines())
            ctx.say(f"recipe {variant} failed: {failed.error_lines()[:200]}")
            return result
        ctx.say(
            f"recipe {variant} cold #{i + 1}: pip {pip.seconds:.2f}s + zip {zipped.seconds:.2f}s"
        )
        cold.append((pip, zipped))
        kept.append(workdir)
    warm: list[tuple[Ran, Ran]] = []
    for j in range(ctx.warm_repeat):
        pip, zipped, workdir = once(f"warm-{j}", cache)
        if not pip.ok or zipped is None or not zipped.ok:
            failed = zipped if pip.ok and zipped is not None else pip
            result.update(ok=False, error=failed.error_lines())
            return result
        warm.append((pip, zipped))
        if j == 0:
            kept.append(workdir)
        else:
            shutil.rmtree(workdir / "python", ignore_errors=True)
    ctx.say(f"recipe {variant} warm {median([p.seconds + z.seconds for p, z in warm])}s")

    first, second = kept[0], kept[1] if len(kept) > 1 else None
    stats = zip_stats([first / "layer.zip"])
    installed = dist_info_versions(os.listdir(first / "python"))
    wanted = {str(canonicalize_name(n)): v for n, v in pins}
    result.update(
        ok=True,
        cold_s=median([p.seconds + z.seconds for p, z in cold]),
        warm_s=median([p.seconds + z.seconds for p, z in warm]),
        cold_pip_s=median([p.seconds for p, _ in cold]),
        warm_pip_s=median([p.seconds for p, _ in warm]),
        zip_s=median([z.seconds for _, z in [*cold, *warm]]),
        runs_s={
            "cold": [round(p.seconds + z.seconds, 3) for p, z in cold],
            "warm": [round(p.seconds + z.seconds, 3) for p, z in warm],
        },
        size=asdict(stats),
        over_unzipped_limit=stats.unzipped > UNZIPPED_MAX,
        installed_vs_pins=version_differences(wanted, installed),
    )
    if second is not None:
        a, b = first / "layer.zip", second / "layer.zip"
        result["byte_identical"] = sha256_file(a) == sha256_file(b)
        result["second_run_differences"] = entry_differences(zip_entries(a), zip_entries(b))
    for workdir in kept:
        shutil.rmtree(workdir / "python", ignore_errors=True)
    result["installed_versions"] = installed
    return result


def _python_info(path: str) -> tuple[tuple[int, int], str] | None:
    """(major, minor) and pip version of an interpreter, or None when it cannot run pip."""
    probe = "import sys, pip; print(sys.version_info[0], sys.version_info[1], pip.__version__)"
    ran = run([path, "-c", probe], cwd=ROOT, env=base_env(), timeout=60)
    if not ran.ok:
        return None
    try:
        major, minor, pip_version = ran.stdout.split()
        return (int(major), int(minor)), pip_version
    except ValueError:
        return None


def _python_candidates(version: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    uv_found = run(
        ["uv", "python", "find", "--no-python-downloads", version],
        cwd=ROOT, env=base_env(), timeout=60,
    )  # fmt: skip
    if uv_found.ok and uv_found.stdout.strip():
        found.append((uv_found.stdout.strip().splitlines()[-1], "uv python find"))
    on_path = shutil.which(f"python{version}")
    if on_path:
        found.append((on_path, "PATH"))
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    pattern = f"{version}.*/bin/python{version}"
    found += [(str(c), "pyenv versions") for c in sorted((pyenv_root / "versions").glob(pattern))]
    return found


def recipe_interpreter(target: Target) -> dict[str, Any]:
    """The Python that runs the recipe's pip: the runtime's version when this machine has it
    (what a team's CI image uses, and what makes pip's bytecode match the runtime), else the
    benchmark's own with --ignore-requires-python (pip checks Requires-Python against the
    interpreter running it, whatever --python-version says)."""
    version = python_version_arg(target)
    for path, how in _python_candidates(version):
        info = _python_info(path)
        if info is not None and info[0] == tuple(target.python_version):
            return {
                "path": path,
                "found_by": how,
                "version": version,
                "pip": info[1],
                "extra_args": [],
            }
    info = _python_info(sys.executable)
    return {
        "path": sys.executable,
        "found_by": f"no python{version} here: the benchmark's own interpreter",
        "version": platform.python_version(),
        "pip": info[1] if info else "unknown",
        "extra_args": ["--ignore-requires-python"],
    }


def run_recipe(ctx: Context, ours: Mapping[str, Any]) -> dict[str, Any]:
    env = base_env()
    exported = run(
        ["uv", "export", "--quiet", "--no-hashes", "--format", "requirements-txt",
         "--no-emit-project"],
        cwd=ctx.project, env=env, timeout=RESOLVE_TIMEOUT,
    )  # fmt: skip
    if not exported.ok:
        return {"skipped": f"uv export failed: {exported.last_line()}"}
    registries = locks.registry_urls(ctx.project / "uv.lock")
    index_args: list[str] = []
    for i, url in enumerate(registries):
        index_args += ["--index-url" if i == 0 else "--extra-index-url", url]
    drop = left_out_names(ctx, ours)
    env_markers = ctx.target.marker_environment
    interpreter = recipe_interpreter(ctx.target)
    ctx.recipe_python = interpreter["path"]
    ctx.recipe_extra_args = tuple(interpreter["extra_args"])
    ctx.say(f"recipe runs pip on {interpreter['version']} ({interpreter['found_by']})")
    results: dict[str, Any] = {
        "interpreter": {k: v for k, v in interpreter.items() if k != "path"},
        "command": (
            "pip install --target python/ --platform PLATFORM --implementation cp "
            "--python-version X.Y --only-binary=:all: --index-url <lock registry> -r PINS"
            f" && zip -r -q layer.zip python  (zip tool: {zip_command()[1]})"
        ),
        "dropped_for_like_for_like": drop,
    }
    like = recipe_pins(exported.stdout, env_markers, drop)
    results["like_for_like"] = run_recipe_variant(ctx, "like", like, index_args)
    if drop:
        everything = recipe_pins(exported.stdout, env_markers)
        results["everything"] = run_recipe_variant(ctx, "all", everything, index_args)
    else:
        results["everything"] = "same as like_for_like (nothing provided)"
    return results


def bench_workload(workload: Workload, *, cold_repeat: int, warm_repeat: int) -> dict[str, Any]:
    target = get_target(workload.runtime, workload.architecture)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"build-bench-{workload.name}-") as tmp_name:
        tmp = Path(tmp_name)
        ctx = Context(workload, target, tmp, tmp / "project", cold_repeat, warm_repeat)
        prepared = prepare_project(ctx)
        base: dict[str, Any] = {
            "runtime": workload.runtime,
            "architecture": workload.architecture,
            "target": target.describe(),
            "provided": list(workload.provided),
            "requirements": list(workload.requirements),
        }
        if isinstance(prepared, str):
            ctx.say(f"skipped: {prepared}")
            return {**base, "skipped": prepared}
        try:
            ours = run_ours(ctx)
            recipe = run_recipe(ctx, ours)
        except BenchError as exc:
            ctx.say(f"skipped: {exc}")
            return {**base, "skipped": redact(str(exc))}
    like = recipe.get("like_for_like", {}) if isinstance(recipe, dict) else {}
    o_size = ours.get("size") or {}
    r_size = like.get("size") or {}
    ratios = {
        "cold_s": ratio(ours.get("cold_s"), like.get("cold_s")),
        "warm_s": ratio(ours.get("warm_s"), like.get("warm_s")),
        "warm_plan_s": ratio(ours.get("warm_plan_s"), like.get("warm_s")),
        "zipped": ratio(o_size.get("zipped"), r_size.get("zipped")),
        "unzipped": ratio(o_size.get("unzipped"), r_size.get("unzipped")),
        "unzipped_without_pyc": ratio(
            o_size.get("unzipped"),
            None if not r_size else r_size["unzipped"] - r_size["pyc_bytes"],
        ),
        "files": ratio(o_size.get("files"), r_size.get("files")),
    }
    differences: dict[str, Any] = {}
    if ours.get("ok") and like.get("ok"):
        differences = version_differences(ours["versions"], like["installed_versions"])
    return {
        **base,
        "lock": prepared,
        "ours": ours,
        "recipe": recipe,
        "ratios": ratios,
        "recipe_vs_ours_versions": differences,
        "workload_s": round(time.perf_counter() - started, 1),
    }


def _tool_version(argv: Sequence[str]) -> str:
    ran = run(argv, cwd=ROOT, env=base_env(), timeout=60)
    return ran.stdout.strip().splitlines()[0] if ran.ok and ran.stdout.strip() else "unknown"


def machine_info() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "pip": _tool_version([sys.executable, "-m", "pip", "--version"]).split(" from ")[0],
        "uv": _tool_version(["uv", "--version"]),
        "zip_tool": zip_command()[1],
        "zip_version": _zip_version(),
        "hatch_lambda_layers_commit": _tool_version(
            ["git", "-C", str(ROOT), "describe", "--always", "--dirty"]
        ),
    }


def _zip_version() -> str | None:
    if not shutil.which("zip"):
        return None
    ran = run(["zip", "-v"], cwd=ROOT, env=base_env(), timeout=60)
    m = re.search(r"This is Zip (\S+)", ran.stdout)
    return m[1] if m else "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--workloads", default=",".join(DEFAULT_SELECTION))
    parser.add_argument("--workloads-file", type=Path, default=DEFAULT_WORKLOADS_FILE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--repeat", type=int, default=3, help="warm runs per measure (median)")
    parser.add_argument("--cold-repeat", type=int, default=1, help="cold runs (median)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument(
        "--show", action="store_true", help="only print the table of an existing --out file"
    )
    args = parser.parse_args(argv)
    render = format_markdown_table if args.markdown else format_text_table
    if args.show:
        shown = json.loads(args.out.read_text(encoding="utf-8"))
        print(render(*table_rows(shown["workloads"])))
        return 0
    if args.repeat < 1 or args.cold_repeat < 1:
        parser.error("--repeat and --cold-repeat must be at least 1")
    for tool in ("uv",):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is not on PATH; install it (pip install uv)")
    available = parse_workloads(json.loads(args.workloads_file.read_text(encoding="utf-8")))
    selected = select_workloads(available, [w for w in args.workloads.split(",") if w])

    started = time.perf_counter()
    results: dict[str, Any] = {}
    for wl in selected:
        results[wl.name] = bench_workload(wl, cold_repeat=args.cold_repeat, warm_repeat=args.repeat)
    document = {
        "benchmark": "build speed and size: lambda-layers build vs pip install --target + zip -r",
        "command": "python benchmarks/build_bench.py " + " ".join(argv or sys.argv[1:]),
        "machine": machine_info(),
        "settings": {"cold_repeat": args.cold_repeat, "warm_repeat": args.repeat},
        "total_s": round(time.perf_counter() - started, 1),
        "workloads": results,
    }
    text = redact(json.dumps(document, indent=1, sort_keys=False)) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(render(*table_rows(results)))
    print(f"\nwrote {args.out} in {document['total_s']}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
