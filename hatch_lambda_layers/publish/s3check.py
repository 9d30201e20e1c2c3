"""Read-only S3 checks for zips over the direct-upload limit: the --s3-bucket is usable in a
region, and whether an earlier run already put a zip there."""

from __future__ import annotations

from ..errors import PublishError
from .aws import Aws, aws_errors, error_code, explain
from .check import Artifact

__all__ = ["already_in_s3", "check_bucket", "describe_source", "mib"]


def mib(size: int) -> str:
    return f"{size:,} bytes" if size < 1 << 20 else f"{size / (1 << 20):.1f} MiB"


def describe_source(artifact: Artifact, s3_bucket: str | None, present: bool) -> str:
    """How a zip reaches Lambda, for plan messages."""
    if not artifact.via_s3:
        return "direct upload"
    where = f"s3://{s3_bucket}/{artifact.s3_key}"
    return f"already in {where}" if present else f"upload via {where}"


def _s3_object_present(aws: Aws, region: str, bucket: str, artifact: Artifact) -> bool:
    """Whether an earlier run already uploaded this zip (keys carry the sha256)."""
    from botocore.exceptions import ClientError

    s3 = aws.client(region, "s3")
    with aws_errors(region, f"looking up s3://{bucket}/{artifact.s3_key}"):
        try:
            head = s3.head_object(Bucket=bucket, Key=artifact.s3_key, ChecksumMode="ENABLED")
        except ClientError as exc:
            if error_code(exc) in {"404", "NoSuchKey", "403", "AccessDenied"}:
                return False
            raise
    checksum = head.get("ChecksumSHA256")
    return bool(
        head.get("ContentLength") == artifact.size
        and (checksum is None or checksum == artifact.code_sha256)
    )


def already_in_s3(aws: Aws, region: str, s3_bucket: str | None, artifact: Artifact) -> bool:
    return bool(
        artifact.via_s3 and s3_bucket and _s3_object_present(aws, region, s3_bucket, artifact)
    )


def check_bucket(aws: Aws, region: str, bucket: str) -> None:
    """The bucket exists, is reachable, and lives in `region`."""
    from botocore.exceptions import BotoCoreError, ClientError

    s3 = aws.client(region, "s3")
    try:
        response = s3.head_bucket(Bucket=bucket)
    except (ClientError, BotoCoreError) as exc:
        raise PublishError(
            f"--s3-bucket {bucket!r} cannot be used in {region}: {explain(exc)}; create it in "
            f"{region} (Lambda reads zips from a bucket in its own region) or grant access to it"
        ) from exc
    located = response.get("BucketRegion") or (
        response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("x-amz-bucket-region")
    )
    if located and located != region:
        raise PublishError(
            f"--s3-bucket {bucket!r} is in {located}, not {region}: Lambda reads zips from a "
            "bucket in its own region; name one bucket per region with '{region}' in --s3-bucket"
        )
