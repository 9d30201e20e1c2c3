"""Where Lambda takes a zip from: the request itself, the --s3-bucket, or the shared store's
copy in the store bucket's region; uploading to S3 first when needed."""

from __future__ import annotations

import hashlib
from typing import Any

from ..errors import PublishError
from .aws import Aws, aws_errors
from .check import Artifact
from .context import Context

__all__ = ["content_for", "read_verified", "upload_s3"]


def upload_s3(aws: Aws, region: str, bucket: str, artifact: Artifact) -> None:
    """Put the zip at its S3 key; S3 checks the bytes against the zip's sha256."""
    s3 = aws.client(region, "s3")
    with (
        artifact.path.open("rb") as body,
        aws_errors(region, f"uploading {artifact.path.name} to s3://{bucket}/{artifact.s3_key}"),
    ):
        s3.put_object(
            Bucket=bucket,
            Key=artifact.s3_key,
            Body=body,
            ContentLength=artifact.size,
            ChecksumSHA256=artifact.code_sha256,  # S3 rejects the object if bytes differ
        )
    aws.uploaded(region, artifact.size)


def read_verified(artifact: Artifact) -> bytes:
    """The zip's bytes, refused if they no longer have the checked sha256."""
    data = artifact.path.read_bytes()
    if hashlib.sha256(data).hexdigest() != artifact.sha256:
        raise PublishError(f"zip {str(artifact.path)!r} changed while publishing; rebuild")
    return data


def content_for(
    ctx: Context,
    region: str,
    artifact: Artifact,
    *,
    present: bool,
    content_hash: str | None = None,
) -> dict[str, Any]:
    """The `Content`/`Code` parameters for `artifact` in `region`. A layer (`content_hash`
    given) published in the store bucket's region comes from the store's copy, kept there
    first; a zip over the direct-upload limit goes through --s3-bucket (`present`: already
    there); anything else is sent in the request."""
    store = ctx.store
    if store is not None and content_hash is not None and region == store.bucket_region:
        store.put_zip(content_hash, artifact)
        return {"S3Bucket": store.location.bucket, "S3Key": store.zip_key(content_hash)}
    if artifact.via_s3:
        bucket = ctx.s3_bucket(region)
        if bucket is None:  # planning refuses this; kept as a guard
            raise PublishError(f"{artifact.path.name} needs --s3-bucket in {region}")
        if not present:
            upload_s3(ctx.aws, region, bucket, artifact)
        return {"S3Bucket": bucket, "S3Key": artifact.s3_key}
    return {"ZipFile": read_verified(artifact)}
