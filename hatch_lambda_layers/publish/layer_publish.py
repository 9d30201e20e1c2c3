"""Finding the layer version that holds a content, and publishing one when none does.

PublishLayerVersion is not idempotent: sent twice, it creates two versions. So it is called
with botocore's retries off, and when a call fails in a way that may have taken effect (the
connection dropped, the answer timed out or was lost, the service failed or throttled), the
layer's versions are searched for the content hash before the call is made again: a version
the lost call created is found and used, never duplicated.
"""

from __future__ import annotations

import time
from typing import Any

from ..errors import PublishError
from ..manifest import LayerEntry
from .aws import aws_errors, explain, is_transient
from .check import Artifact
from .content import content_for
from .context import Context
from .description import describe, find_reusable
from .report import PublishedLayer

__all__ = ["PUBLISH_ATTEMPTS", "RETRY_DELAY", "find_existing", "publish_new_version"]

PUBLISH_ATTEMPTS = 3
RETRY_DELAY = 1.0  # seconds before looking for what a failed call did; doubles each time


def find_existing(
    ctx: Context, region: str, layer_name: str, content_hash: str
) -> tuple[int, str] | None:
    """The newest version of `layer_name` that carries `content_hash` for the build's target,
    paging only as far as needed: Lambda lists versions newest first, so an unchanged layer
    is answered by the first page."""
    client = ctx.aws.client(region, "lambda")
    target = ctx.manifest.target
    with aws_errors(region, f"listing versions of layer {layer_name!r}"):
        pages = client.get_paginator("list_layer_versions").paginate(LayerName=layer_name)
        for page in pages:
            found = find_reusable(
                page.get("LayerVersions", []), content_hash, target.runtime, target.architecture
            )
            if found is not None:
                return found
    return None


def _params(ctx: Context, entry: LayerEntry, layer_name: str, content: Any) -> dict[str, Any]:
    manifest = ctx.manifest
    params: dict[str, Any] = {
        "LayerName": layer_name,
        "Description": describe(entry.content_hash, entry.version, manifest.project_name),
        "Content": content,
        "CompatibleRuntimes": [manifest.target.runtime],
        "CompatibleArchitectures": [manifest.target.architecture],
    }
    if manifest.license_info:
        params["LicenseInfo"] = manifest.license_info
    return params


def publish_new_version(
    ctx: Context,
    region: str,
    entry: LayerEntry,
    artifact: Artifact,
    *,
    layer_name: str,
    s3_present: bool,
) -> PublishedLayer:
    """A new version of `layer_name` holding `entry`'s zip, its Description carrying the
    content hash; or, after a failed call that may have acted, the version it created."""
    from botocore.exceptions import BotoCoreError, ClientError

    content = content_for(
        ctx, region, artifact, present=s3_present, content_hash=entry.content_hash
    )
    params = _params(ctx, entry, layer_name, content)
    client = ctx.aws.client(region, "lambda", retries=False)
    sent = artifact.size if "ZipFile" in content else 0

    def layer(version: int, arn: str) -> PublishedLayer:
        return PublishedLayer(
            region, entry.name, version, arn, entry.content_hash, True, layer_name, "published"
        )

    for attempt in range(PUBLISH_ATTEMPTS):
        try:
            response = client.publish_layer_version(**params)
        except (ClientError, BotoCoreError) as exc:
            ctx.aws.uploaded(region, sent)
            if not is_transient(exc):
                raise PublishError(
                    f"publishing layer {layer_name!r} in {region} failed: {explain(exc)}"
                ) from exc
            time.sleep(RETRY_DELAY * 2**attempt)
            found = find_existing(ctx, region, layer_name, entry.content_hash)
            if found is not None:
                ctx.log(
                    f"[{region}] {entry.name}: PublishLayerVersion failed ({explain(exc)}) "
                    f"after creating {found[1]}; using it"
                )
                return layer(*found)
            if attempt + 1 == PUBLISH_ATTEMPTS:
                raise PublishError(
                    f"publishing layer {layer_name!r} in {region} failed {PUBLISH_ATTEMPTS} "
                    f"times: {explain(exc)}"
                ) from exc
            continue
        ctx.aws.uploaded(region, sent)
        return layer(int(response["Version"]), str(response["LayerVersionArn"]))
    raise AssertionError("unreachable")  # pragma: no cover
