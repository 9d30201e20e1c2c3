"""`lambda-layers`: plan, build, publish, diff, report. A thin layer over the pipeline.

Exit status: 0 success; 1 the work failed; 2 bad usage or configuration. Errors are one line on
stderr; `--verbose` adds the traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from . import __version__
from .errors import LambdaLayersError, UsageError

if TYPE_CHECKING:
    from .progress import TerminalProgress


class CliReporter:
    """Messages on stderr; the download and zip-writing progress line only when stderr is a
    terminal (erased before each message, drawn again by the next snapshot)."""

    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False) -> None:
        self._given = stream
        self._quiet = quiet
        self._progress: TerminalProgress | None = None

    @property
    def _stream(self) -> TextIO:
        # Looked up when used, so a redirected sys.stderr (tests, embedding) is honoured.
        return self._given if self._given is not None else sys.stderr

    def _say(self, message: str) -> None:
        if self._progress is not None:
            self._progress.clear()
        if not self._quiet:
            print(message, file=self._stream, flush=True)

    def info(self, message: str) -> None:
        self._say(message)

    def waiting(self, message: str) -> None:
        self._say(message + "...")

    def success(self, message: str) -> None:
        self._say(message)

    def warning(self, message: str) -> None:
        if self._progress is not None:
            self._progress.clear()
        print(f"warning: {message}", file=self._stream, flush=True)

    def _terminal_progress(self) -> TerminalProgress | None:
        if self._quiet:
            return None
        if self._progress is None:
            from .progress import TerminalProgress

            self._progress = TerminalProgress(self._stream)
        return self._progress

    def download_progress(self) -> Callable[..., None] | None:
        return self._terminal_progress()

    def write_progress(self) -> Callable[..., None] | None:
        return self._terminal_progress()


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"lambda-layers: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _add_plan(sub: Any) -> None:
    plan = sub.add_parser("plan", help="resolve and partition; print the layers and limits")
    plan.add_argument("project", nargs="?", default=".", help="project directory (default: .)")
    plan.add_argument(
        "--update", action="store_true", help="re-plan and rewrite lambda-layers.lock"
    )
    plan.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text for people (default), json for tools (schema: docs/plan-json.md)",
    )
    plan.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="also show the partitioner's figures (and tracebacks on errors)",
    )


def _add_report(sub: Any) -> None:
    report = sub.add_parser(
        "report", help="a build against a base build, as markdown (pull requests) or HTML"
    )
    report.add_argument(
        "--base", help="the base build's manifest.json (e.g. the main branch's); omit for none"
    )
    report.add_argument(
        "--manifest",
        default="dist/lambda/manifest.json",
        help="this build's manifest (default: dist/lambda/manifest.json)",
    )
    report.add_argument("--format", choices=("markdown", "html"), default="markdown")
    report.add_argument("-o", "--output", help="write to this file instead of stdout")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lambda-layers", description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--version", action="version", version=f"hatch-lambda-layers {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show tracebacks on errors")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only errors and results")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    _add_plan(sub)
    _add_build(sub)
    _add_publish(sub)
    diff = sub.add_parser(
        "diff", help="what changed between two manifests: the target, layers and packages"
    )
    diff.add_argument("old")
    diff.add_argument("new")
    _add_report(sub)
    return parser


def _add_build(sub: Any) -> None:
    build = sub.add_parser("build", help="write layer zips, function zips and manifest.json")
    build.add_argument("project", nargs="?", default=".", help="project directory (default: .)")
    build.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        help="the directory the artifacts go to (default: PROJECT/dist/lambda)",
    )
    build.add_argument(
        "--verify",
        action="store_true",
        help="re-hash every artifact and input before keeping it, instead of trusting "
        "unchanged sizes and modification times",
    )


def _add_publish(sub: Any) -> None:
    publish = sub.add_parser(
        "publish",
        help="publish changed layers, point functions and aliases at them "
        "(needs the publish extra)",
    )
    publish.add_argument("manifest", nargs="?", default="dist/lambda/manifest.json")
    publish.add_argument(
        "--region", action="append", required=True, help="repeat for several (run in parallel)"
    )
    publish.add_argument(
        "--function-name",
        action="append",
        default=[],
        metavar="[MANIFEST_FUNCTION=]NAME",
        help="also point this Lambda function at the layers and its code; repeat for several "
        "(api=prod-api deploys the manifest's function api as prod-api)",
    )
    publish.add_argument(
        "--alias",
        help="publish a version of each function when its code or layers changed and move "
        "(or create) this alias to it",
    )
    publish.add_argument(
        "--snapstart",
        action="store_true",
        help="turn on SnapStart for published versions and wait until the version is ready "
        "(needs --alias)",
    )
    publish.add_argument(
        "--share-with-account",
        action="append",
        default=[],
        metavar="ACCOUNT_ID",
        help="grant lambda:GetLayerVersion on each layer version to this account; repeatable",
    )
    publish.add_argument(
        "--share-with-organization",
        action="append",
        default=[],
        metavar="o-ID",
        help="grant lambda:GetLayerVersion on each layer version to every account of this "
        "organization",
    )
    publish.add_argument(
        "--store",
        metavar="s3://BUCKET/PREFIX",
        help="shared store: layers named by their content, published once per account and "
        "region across every pipeline that uses the store",
    )
    publish.add_argument("--s3-bucket", help="bucket (same region) for zips over 50 MiB")
    publish.add_argument("--dry-run", action="store_true", help="show what would change")


def _cmd_plan(args: argparse.Namespace, reporter: CliReporter) -> int:
    from . import pipeline
    from .assemble import planfile_for
    from .files import write_text_atomic
    from .output import OutputDirectory, output_directory
    from .plan.planfile import PLANFILE_NAME
    from .report.plan_json import dumps_plan
    from .report.plan_model import plan_report
    from .report.plan_text import format_plan
    from .workspace import load_build

    project, config = load_build(args.project)
    output = OutputDirectory(output_directory(project.root / "dist"))
    prepared = pipeline.prepare(
        project, config, reporter, output=output, replan=bool(args.update), trace_imports=True
    )
    report = plan_report(prepared, replanned=bool(args.update))
    if args.format == "json":
        print(dumps_plan(report))
    else:
        print(format_plan(report, verbose=bool(args.verbose)))
    if args.update:
        from .plan.planfile import dumps_planfile

        path = project.root / PLANFILE_NAME
        record = planfile_for(prepared, previous=output.previous)
        write_text_atomic(path, dumps_planfile(record))
        # JSON on stdout stays one document: the note goes to stderr then.
        print(f"wrote {path}", file=sys.stderr if args.format == "json" else sys.stdout)
    return 0


def _cmd_build(args: argparse.Namespace, reporter: CliReporter) -> int:
    from . import pipeline
    from .output import output_directory

    root = Path(args.project).resolve()
    out = Path(args.output) if args.output else output_directory(root / "dist")
    # Nothing changed since the last build: answered before hatch or any stage is loaded.
    result = pipeline.unchanged_build(root, out, reporter, verify=args.verify)
    if result is None:
        from .workspace import load_build

        project, config = load_build(args.project)
        out = Path(args.output) if args.output else output_directory(project.root / "dist")
        result = pipeline.build(project, config, out, reporter, verify=args.verify)
    print(result.manifest_path)
    return 0


def _cmd_publish(args: argparse.Namespace, reporter: CliReporter) -> int:
    from .publish import publish

    report = publish(
        Path(args.manifest),
        args.region,
        function_names=args.function_name,
        alias=args.alias,
        snapstart=args.snapstart,
        share_accounts=args.share_with_account,
        share_organizations=args.share_with_organization,
        store=args.store,
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
        return 0
    new = sum(1 for layer in report.layers if layer.uploaded)
    print(
        f"{new} layer versions published, {len(report.layers) - new} reused; "
        f"uploaded {report.bytes_uploaded:,} bytes in {report.api_calls} API calls"
    )
    for f in report.functions:
        if f.alias is not None:
            change = "moved to" if f.alias_moved else "stays on"
            print(f"{f.region} {f.name}: alias {f.alias} {change} version {f.version}")
    return 0


def _cmd_diff(args: argparse.Namespace, reporter: CliReporter) -> int:
    from . import manifest
    from .report.diff import diff, format_diff, target_changes

    old = manifest.read_manifest(args.old)
    new = manifest.read_manifest(args.new)
    print(format_diff(diff(old, new), target_changes(old, new)))
    return 0


def _cmd_report(args: argparse.Namespace, reporter: CliReporter) -> int:
    from . import manifest
    from .files import write_text_atomic
    from .report.compare import build_report

    new = manifest.read_manifest(args.manifest)
    base = manifest.read_manifest(args.base) if args.base else None
    model = build_report(new, base)
    if args.format == "html":
        from .report.html import format_html

        text = format_html(model)
    else:
        from .report.markdown import format_markdown

        text = format_markdown(model)
    if args.output:
        write_text_atomic(args.output, text)
        reporter.success(f"Wrote {args.output}")
    else:
        sys.stdout.write(text)
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, CliReporter], int]] = {
    "plan": _cmd_plan,
    "build": _cmd_build,
    "publish": _cmd_publish,
    "diff": _cmd_diff,
    "report": _cmd_report,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    reporter = CliReporter(quiet=args.quiet)
    try:
        return COMMANDS[args.command](args, reporter)
    except LambdaLayersError as exc:
        if args.verbose:
            import traceback

            traceback.print_exc()
        print(f"lambda-layers: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("lambda-layers: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`plan --format json | head`): like other Unix tools, stop
        # quietly. stdout is pointed at devnull so the interpreter's final flush cannot fail.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def run() -> NoReturn:
    raise SystemExit(main())


__all__ = ["UsageError", "main", "run"]
