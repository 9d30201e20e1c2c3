"""`lambda-layers`: plan, build, publish, diff. A thin layer over the pipeline.

Exit status: 0 success; 1 the work failed; 2 bad usage or configuration. Errors are one line on
stderr; `--verbose` adds the traceback.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from . import __version__, manifest, pipeline
from .config import load_config
from .errors import LambdaLayersError, UsageError
from .files import write_text_atomic
from .layers import entries
from .layers.budget import describe
from .layers.entries import entry_size
from .output import OutputDirectory, output_directory
from .plan.planfile import PLANFILE_NAME
from .project import load_project


class CliReporter:
    """Messages on stderr; the download progress line only when stderr is a terminal."""

    def __init__(self, stream: TextIO = sys.stderr, *, quiet: bool = False) -> None:
        self._stream = stream
        self._quiet = quiet

    def _say(self, message: str) -> None:
        if not self._quiet:
            print(message, file=self._stream, flush=True)

    def info(self, message: str) -> None:
        self._say(message)

    def waiting(self, message: str) -> None:
        self._say(message + "...")

    def success(self, message: str) -> None:
        self._say(message)

    def warning(self, message: str) -> None:
        print(f"warning: {message}", file=self._stream, flush=True)

    def download_progress(self) -> Callable[..., None] | None:
        if self._quiet:
            return None
        from .progress import TerminalProgress

        return TerminalProgress(self._stream)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"lambda-layers: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lambda-layers", description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--version", action="version", version=f"hatch-lambda-layers {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show tracebacks on errors")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only errors and results")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    plan = sub.add_parser("plan", help="resolve and partition; print the layers and limits")
    plan.add_argument("project", nargs="?", default=".", help="project directory (default: .)")
    plan.add_argument(
        "--update", action="store_true", help="re-plan and rewrite lambda-layers.lock"
    )

    build = sub.add_parser("build", help="write layer zips, function zips and manifest.json")
    build.add_argument("project", nargs="?", default=".", help="project directory (default: .)")
    build.add_argument(
        "-o",
        "--output",
        help="build output directory (default: PROJECT/dist); "
        "artifacts go to its lambda/ subdirectory",
    )

    publish = sub.add_parser("publish", help="publish changed layers (needs the publish extra)")
    publish.add_argument("manifest", nargs="?", default="dist/lambda/manifest.json")
    publish.add_argument("--region", action="append", required=True, help="repeat for several")
    publish.add_argument("--function-name", help="also point this function at the layers")
    publish.add_argument("--s3-bucket", help="bucket (same region) for zips over 50 MiB")
    publish.add_argument("--dry-run", action="store_true", help="show what would change")

    diff = sub.add_parser("diff", help="which layers and packages changed between two manifests")
    diff.add_argument("old")
    diff.add_argument("new")
    return parser


def _mb(n: float) -> str:
    return f"{n / 1_000_000:,.2f} MB"


def _source(source: str) -> str:
    return source if source.startswith("resolved") else f"from {source or 'the lock file'}"


def format_plan(prepared: pipeline.Prepared) -> str:
    by_name: dict[str, entries.PackageFiles] = {p.name: p for p in prepared.packages}
    plan = prepared.plan
    lines = [
        f"{prepared.project.name} {prepared.project.version} for {prepared.target.describe()}",
        f"dependencies ({_source(prepared.graph.source)}): "
        f"{len(prepared.packages)} bundled, {len(prepared.closure.left_out)} left out",
    ]
    lines += [f"  - {x.name} {x.version}: {x.reason}" for x in prepared.closure.left_out]
    for layer in plan.layers:
        pkgs = [by_name[n] for n in layer.packages]
        zipped = sum(p.size_zipped for p in pkgs)
        unzipped = sum(p.size_unzipped for p in pkgs)
        lines.append(
            f"layer {prepared.layer_names[layer.name]}: {len(pkgs)} packages, "
            f"{_mb(zipped)} zipped, {_mb(unzipped)} unzipped, "
            f"republished ~{_mb(layer.expected_bytes)} per build"
        )
        for p in sorted(pkgs, key=lambda p: (-p.size_zipped, p.name)):
            rate = prepared.rates[p.name]
            lines.append(
                f"    {p.name:<28} {p.version:<14} {_mb(p.size_zipped):>11} zipped  "
                f"change {rate.rate:6.1%} ({rate.source})"
            )
    fn_sizes = {n: sum(map(entry_size, f)) for n, f in prepared.function_files.items()}
    for name, size in sorted(fn_sizes.items()):
        lines.append(f"function {name}: {len(prepared.function_files[name])} files, {size:,} bytes")
    limits = prepared.limits
    lines.append(
        f"expected bytes republished per build: {_mb(plan.expected_bytes)} "
        f"(one combined layer: {_mb(plan.single_layer_bytes)})"
        + ("" if plan.exact else f"; heuristic plan, lower bound {_mb(plan.lower_bound or 0)}")
    )
    lines.append(
        f"limits: {limits.layers_used}/{limits.layers_max} layers "
        f"({len(prepared.config.external_layers)} external), "
        f"{limits.unzipped_total:,}/{limits.unzipped_max:,} bytes unzipped"
        + (
            f", each layer <= {limits.zipped_layer_max:,} bytes zipped (direct upload)"
            if limits.zipped_layer_max
            else ""
        )
    )
    if prepared.planfile_path is not None:
        lines.append(f"layer assignment honours {prepared.planfile_path}")
    lines += describe(prepared.bytecode, prepared.pruned)
    return "\n".join(lines)


def _cmd_plan(args: argparse.Namespace, reporter: CliReporter) -> int:
    project = load_project(args.project)
    config = load_config(project.root)
    output = OutputDirectory(output_directory(project.root / "dist"))
    prepared = pipeline.prepare(
        project, config, reporter, output=output, replan=bool(args.update), trace_imports=True
    )
    print(format_plan(prepared))
    if args.update:
        from .plan.planfile import dumps_planfile

        path = project.root / PLANFILE_NAME
        record = pipeline.planfile_for(prepared, previous=output.previous)
        write_text_atomic(path, dumps_planfile(record))
        print(f"wrote {path}")
    return 0


def _cmd_build(args: argparse.Namespace, reporter: CliReporter) -> int:
    project = load_project(args.project)
    config = load_config(project.root)
    out = Path(args.output) if args.output else project.root / "dist"
    result = pipeline.build(project, config, output_directory(out), reporter)
    print(result.manifest_path)
    return 0


def _cmd_publish(args: argparse.Namespace, reporter: CliReporter) -> int:
    from .publish import publish

    report = publish(
        Path(args.manifest),
        args.region,
        function_name=args.function_name,
        s3_bucket=args.s3_bucket,
        dry_run=args.dry_run,
        log=reporter.info,
    )
    if report.dry_run:
        planned = [a for a in report.actions if a.kind in ("publish", "update-code")]
        print(
            f"dry run: would publish {sum(a.kind == 'publish' for a in planned)} layer versions, "
            f"would upload {sum(a.bytes for a in planned):,} bytes; "
            f"{report.api_calls} read-only API calls made"
        )
    else:
        new = sum(1 for layer in report.layers if layer.uploaded)
        print(
            f"{new} layer versions published, {len(report.layers) - new} reused; "
            f"uploaded {report.bytes_uploaded:,} bytes in {report.api_calls} API calls"
        )
    return 0


def _cmd_diff(args: argparse.Namespace, reporter: CliReporter) -> int:
    old = manifest.read_manifest(args.old)
    new = manifest.read_manifest(args.new)
    print(manifest.format_diff(manifest.diff(old, new)))
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, CliReporter], int]] = {
    "plan": _cmd_plan,
    "build": _cmd_build,
    "publish": _cmd_publish,
    "diff": _cmd_diff,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    reporter = CliReporter(quiet=args.quiet)
    try:
        return COMMANDS[args.command](args, reporter)
    except LambdaLayersError as exc:
        if args.verbose:
            traceback.print_exc()
        print(f"lambda-layers: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("lambda-layers: interrupted", file=sys.stderr)
        return 130


def run() -> NoReturn:
    raise SystemExit(main())


__all__ = ["UsageError", "main", "run"]
