"""Publish a build's layers (and optionally point functions, versions and aliases at them) with
boto3.

Three phases, so that nothing is written when something is wrong:

1. *check* (:mod:`.options`, :mod:`.check`, local): the options are valid; every zip named by
   the manifest stays in the manifest's directory, exists and matches its sha256; zips over the
   direct-upload limit have an S3 bucket to go through; each function to update is known.
2. *plan* (:mod:`.plan`, read-only AWS calls, every region before any write, regions in
   parallel): find the version that holds each layer's content (the store's record, or a
   version whose Description carries the same ``content_hash``); check the S3 bucket; read
   each function's CodeSha256, layers and alias. ``dry_run`` stops here.
3. *apply* (:mod:`.apply`, regions in parallel, a bounded number at a time): publish what no
   version holds (:mod:`.layer_publish`, through the store's claims with :mod:`.shared`), grant
   the shares (:mod:`.sharing`), update each function's code and configuration when they differ,
   then publish a version and move the alias when the alias's version differs
   (:mod:`.versions`).

The content hash lives in the layer version's Description (:mod:`.description`), so the lookup
is also what makes a re-run after a failure (or a retry after a lost answer) finish the job
without duplicate versions. Nothing is ever deleted. ``published.json`` (:mod:`.record`) records
what each region did, with ``"complete": false`` when a region failed part-way; the regions that
finished are recorded all the same.

boto3 is imported lazily (:mod:`.aws`): it lives in the ``publish`` extra.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from ..errors import RegionsFailedError, UsageError
from ..manifest import read_manifest
from .apply import Progress, apply_region
from .aws import Aws, SessionFactory, default_session_factory, require_boto3
from .check import CheckedArtifacts, check_artifacts
from .context import Context
from .options import PublishOptions, parse_options
from .plan import RegionPlan, plan_region
from .record import PUBLISHED_NAME, published_document, store_summary, write_published
from .regions import MAX_PARALLEL_REGIONS, first_failure, run_per_region
from .report import (
    FunctionUpdate,
    PublishAction,
    PublishedLayer,
    PublishReport,
    RegionOutcome,
    ShareResult,
)
from .sharing import share_layer
from .store import Store

__all__ = [
    "FunctionUpdate",
    "PublishAction",
    "PublishReport",
    "PublishedLayer",
    "RegionOutcome",
    "SessionFactory",
    "ShareResult",
    "publish",
]

_SNAPSTART_MIN = (3, 12)  # SnapStart for Python: python3.12 and later


def publish(
    manifest_path: Path,
    regions: Sequence[str],
    *,
    function_name: str | None = None,
    function_names: Sequence[str] = (),
    alias: str | None = None,
    snapstart: bool = False,
    share_accounts: Sequence[str] = (),
    share_organizations: Sequence[str] = (),
    store: str | None = None,
    s3_bucket: str | None = None,
    dry_run: bool = False,
    session_factory: SessionFactory | None = None,
    log: Callable[[str], None] = print,
    max_parallel_regions: int = MAX_PARALLEL_REGIONS,
) -> PublishReport:
    """Publish the manifest's layers to every region (reusing versions with the same content),
    optionally pointing functions at them and at their code, publishing versions and moving an
    alias; see the module docstring and docs/deploy.md.

    `function_names` are ``NAME`` or ``MANIFEST_FUNCTION=NAME`` (`function_name` is one more).
    `store` is ``s3://bucket/prefix``. `session_factory(region)` returns a boto3-Session-like
    object (default: a boto3 Session for that region, which finds credentials and endpoints the
    usual way). With `dry_run` only read calls are made; the report lists the planned actions
    and, as `layers`, the versions that would be reused. Raises UsageError for bad options,
    PublishError when publishing fails (RegionsFailedError when some regions failed and the
    others finished); every local problem is reported at once, before any AWS call.
    """
    manifest_path = Path(manifest_path)
    names = [*([function_name] if function_name else []), *function_names]
    options = parse_options(
        regions,
        function_names=names,
        alias=alias,
        snapstart=snapstart,
        share_accounts=share_accounts,
        share_organizations=share_organizations,
        store=store,
        s3_bucket=s3_bucket,
        dry_run=dry_run,
        max_parallel_regions=max_parallel_regions,
    )
    require_boto3()
    manifest = read_manifest(manifest_path)
    _check_snapstart(options, manifest.target.python_version, manifest.target.runtime)
    artifacts = check_artifacts(
        manifest,
        manifest_path.parent,
        functions=options.functions,
        s3_bucket=options.s3_bucket,
        store=options.store is not None,
    )
    aws = Aws(session_factory or default_session_factory)
    opened = Store.open(aws, options.store, options.regions[0]) if options.store else None
    ctx = Context(aws, manifest, options, opened, log)
    plans = _plan(ctx, artifacts)
    if options.dry_run:
        return _dry_run_report(ctx, plans)
    return _apply(ctx, manifest_path, plans)


def _check_snapstart(options: PublishOptions, python_version: str, runtime: str) -> None:
    if not options.snapstart:
        return
    try:
        version = tuple(int(x) for x in python_version.split(".")[:2])
    except ValueError:
        version = (0, 0)
    if version < _SNAPSTART_MIN:
        raise UsageError(
            f"--snapstart: Lambda offers SnapStart for python3.12 and later; the manifest "
            f"targets {runtime}"
        )


def _plan(ctx: Context, artifacts: CheckedArtifacts) -> list[RegionPlan]:
    """Every region's plan (read calls only, regions in parallel); the first region's error
    in region order fails the run before anything is written."""
    outcomes = run_per_region(
        ctx.options.regions,
        lambda region: plan_region(ctx, region, artifacts),
        max_workers=ctx.options.max_parallel_regions,
    )
    failure = first_failure(outcomes)
    if failure is not None:
        raise failure
    return [plan for _, plan, _ in outcomes if plan is not None]


def _planned_shares(ctx: Context, plan: RegionPlan) -> list[PublishAction]:
    shares = ctx.options.shares
    actions: list[PublishAction] = []
    for step in plan.layers:
        if step.existing is not None:
            actions += share_layer(ctx, plan.region, step.existing, shares, write=False)[1]
        else:
            actions += [
                PublishAction(
                    "share", plan.region, step.entry.name, f"share it with {s.kind} {s.principal}"
                )
                for s in shares
            ]
    return actions


def _dry_run_report(ctx: Context, plans: Sequence[RegionPlan]) -> PublishReport:
    actions: list[PublishAction] = []
    for plan in plans:
        actions += [*(s.action for s in plan.layers), *_planned_shares(ctx, plan)]
        actions += [a for f in plan.functions for a in f.actions]
    for a in actions:
        ctx.log(f"[{a.region}] {a.target}: would {a.detail}")
    reused = tuple(s.existing for p in plans for s in p.layers if s.existing is not None)
    would_upload = sum(a.bytes for a in actions)
    aws = ctx.aws
    ctx.log(f"dry run: {would_upload:,} bytes would be uploaded, {aws.api_calls} read calls made")
    return PublishReport(reused, tuple(actions), aws.api_calls, 0, True)


def _apply(ctx: Context, manifest_path: Path, plans: Sequence[RegionPlan]) -> PublishReport:
    """Every region's plan, regions in parallel; published.json is written whether or not
    they all finish."""
    progress = {plan.region: Progress(plan.region) for plan in plans}
    by_region = {plan.region: plan for plan in plans}
    outcomes = run_per_region(
        list(by_region),
        lambda region: apply_region(ctx, by_region[region], progress[region]),
        max_workers=ctx.options.max_parallel_regions,
    )
    failures = [(region, exc) for region, _, exc in outcomes if exc is not None]
    for region, exc in failures:
        progress[region].error = str(exc)
    report = _report(ctx, list(progress.values()))
    try:
        _record(ctx, manifest_path, report)
    except OSError as exc:  # the publish error matters more than the record
        if not failures:
            raise
        ctx.log(f"could not write {PUBLISHED_NAME} next to {str(manifest_path)!r}: {exc}")
    if len(failures) == 1 and len(plans) == 1:
        raise failures[0][1]
    if failures:
        raise RegionsFailedError([(r, str(exc)) for r, exc in failures]) from failures[0][1]
    layers = report.layers
    ctx.log(
        f"published {sum(x.uploaded for x in layers)} layer version(s), reused "
        f"{sum(not x.uploaded for x in layers)}; {report.bytes_uploaded:,} bytes "
        f"uploaded in {report.api_calls} API calls"
    )
    return report


def _report(ctx: Context, progress: Sequence[Progress]) -> PublishReport:
    aws = ctx.aws
    outcomes = tuple(
        RegionOutcome(p.region, p.complete, p.error, aws.calls_in(p.region), aws.bytes_in(p.region))
        for p in progress
    )
    return PublishReport(
        tuple(x for p in progress for x in p.layers),
        tuple(a for p in progress for a in p.actions),
        aws.api_calls,
        aws.bytes_uploaded,
        False,
        tuple(f for p in progress for f in p.functions),
        outcomes,
    )


def _record(ctx: Context, manifest_path: Path, report: PublishReport) -> None:
    store = ctx.store
    summary = None
    if store is not None:
        summary = store_summary(
            store.location.url, store.account, store.bucket_region, report.layers
        )
    document = published_document(
        ctx.manifest,
        manifest_path,
        report.layers,
        report.functions,
        complete=all(r.complete for r in report.regions),
        api_calls=report.api_calls,
        bytes_uploaded=report.bytes_uploaded,
        regions=report.regions,
        store=summary,
    )
    write_published(manifest_path, document)
