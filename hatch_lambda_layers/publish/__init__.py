"""Publish a build's layers (and optionally point a function at them) with boto3.

Three phases, so that nothing is written when something is wrong:

1. *check* (:mod:`.check`, local, pure + file reads): every zip named by the manifest stays in
   the manifest's directory, exists and matches its sha256; zips over the direct-upload limit
   have an S3 bucket to go through; the function to update is known.
2. *plan* (:mod:`.plan`, read-only AWS calls, every region before any write): page through all
   versions of each layer name and look for one whose Description carries the same
   ``content_hash``; check the S3 bucket; read the function's CodeSha256 and layers.
   ``dry_run`` stops here.
3. *apply* (:mod:`.apply`): publish what no version carries, update the function's code only
   when its CodeSha256 differs, then its layers only when they differ, waiting for each update.

The content hash lives in the layer version's Description (:mod:`.description`), so the lookup
is also what makes a re-run after a failure finish the job without duplicate versions. Nothing
is ever deleted. ``published.json`` (:mod:`.record`) records what this run published, with
``"complete": false`` when the run failed part-way.

boto3 is imported lazily (:mod:`.aws`): it lives in the ``publish`` extra.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from ..errors import UsageError
from ..manifest import Manifest, read_manifest
from .apply import Progress, apply_region
from .aws import Aws, SessionFactory, default_session_factory, require_boto3
from .check import bucket_for, check_artifacts
from .plan import RegionPlan, plan_region
from .record import PUBLISHED_NAME, published_document, write_published
from .report import FunctionUpdate, PublishAction, PublishedLayer, PublishReport

__all__ = [
    "FunctionUpdate",
    "PublishAction",
    "PublishReport",
    "PublishedLayer",
    "SessionFactory",
    "publish",
]


def publish(
    manifest_path: Path,
    regions: Sequence[str],
    *,
    function_name: str | None = None,
    s3_bucket: str | None = None,
    dry_run: bool = False,
    session_factory: SessionFactory | None = None,
    log: Callable[[str], None] = print,
) -> PublishReport:
    """Publish the manifest's layers to every region (reusing versions with the same content),
    optionally pointing `function_name` at them and at its code; see the module docstring.

    `session_factory(region)` returns a boto3-Session-like object (default: a boto3 Session for
    that region, which finds credentials and endpoints the usual way). With `dry_run` only read
    calls are made; the report lists the planned actions and, as `layers`, the versions that
    would be reused. Raises PublishError (UsageError without regions, ManifestError for an
    unreadable manifest); every local problem is reported at once, before any AWS call.
    """
    manifest_path = Path(manifest_path)
    region_list = list(dict.fromkeys(regions))
    if not region_list:
        raise UsageError("publish needs at least one --region")
    require_boto3()
    manifest = read_manifest(manifest_path)
    artifacts = check_artifacts(
        manifest, manifest_path.parent, function_name=function_name, s3_bucket=s3_bucket
    )
    aws = Aws(session_factory or default_session_factory)
    plans = [
        plan_region(
            aws, manifest, region, artifacts, function_name, s3_bucket=bucket_for(s3_bucket, region)
        )
        for region in region_list
    ]
    if dry_run:
        return _dry_run_report(aws, plans, log)
    return _apply(aws, manifest, manifest_path, plans, log)


def _dry_run_report(
    aws: Aws, plans: Sequence[RegionPlan], log: Callable[[str], None]
) -> PublishReport:
    actions = tuple(a for p in plans for a in p.actions)
    for a in actions:
        log(f"[{a.region}] {a.target}: would {a.detail}")
    reused = tuple(s.existing for p in plans for s in p.layers if s.existing is not None)
    would_upload = sum(a.bytes for a in actions)
    log(f"dry run: {would_upload:,} bytes would be uploaded, {aws.api_calls} read calls made")
    return PublishReport(reused, actions, aws.api_calls, 0, True)


def _apply(
    aws: Aws,
    manifest: Manifest,
    manifest_path: Path,
    plans: Sequence[RegionPlan],
    log: Callable[[str], None],
) -> PublishReport:
    """Every region's plan in turn; published.json is written whether or not they all finish."""
    progress = Progress()
    try:
        for plan in plans:
            apply_region(aws, manifest, plan, progress, log)
    except BaseException:
        try:
            _record(aws, manifest, manifest_path, progress, complete=False)
        except OSError as exc:  # the publish error matters more than the record
            log(f"could not write {PUBLISHED_NAME} next to {str(manifest_path)!r}: {exc}")
        raise
    _record(aws, manifest, manifest_path, progress, complete=True)
    log(
        f"published {sum(x.uploaded for x in progress.layers)} layer version(s), reused "
        f"{sum(not x.uploaded for x in progress.layers)}; {aws.bytes_uploaded:,} bytes "
        f"uploaded in {aws.api_calls} API calls"
    )
    return PublishReport(
        tuple(progress.layers),
        tuple(progress.actions),
        aws.api_calls,
        aws.bytes_uploaded,
        False,
        tuple(progress.functions),
    )


def _record(
    aws: Aws, manifest: Manifest, manifest_path: Path, progress: Progress, *, complete: bool
) -> None:
    document = published_document(
        manifest,
        manifest_path,
        progress.layers,
        progress.functions,
        complete=complete,
        api_calls=aws.api_calls,
        bytes_uploaded=aws.bytes_uploaded,
    )
    write_published(manifest_path, document)
