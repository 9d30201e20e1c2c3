"""The shared layer store in S3 (``--store s3://bucket/prefix``): its keys and its reads and
conditional writes. What to do with them is in :mod:`.shared`; the objects' formats are in
:mod:`.claims`.

Layout, under the prefix, per layer content (``<hex>``: the content_hash's digest)::

    layers/<hex>/layer.zip                                          the zip, kept once
    layers/<hex>/<runtime>-<arch>/<account>/<region>.json           the record: which version
    layers/<hex>/<runtime>-<arch>/<account>/<region>.claim          a runner publishing it now

Records and claims are created with ``If-None-Match: *`` and replaced only with ``If-Match``
on the ETag that was read, so of two runners writing the same key exactly one succeeds.
"""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from ..errors import StoreError
from ..manifest import Target
from .aws import Aws, aws_errors, error_code, explain
from .check import Artifact
from .claims import Claim, StoreRecord
from .naming import content_key
from .options import StoreLocation

__all__ = ["Slot", "Store", "host_identity"]

_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})
_LOST_RACE = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict"})


def host_identity() -> str:
    """This machine: its host name and, where Linux has one, its boot id (so that a claim from
    another machine with the same name, or from before a reboot, is not mistaken for ours)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot = ""
    return f"{socket.gethostname()}/{boot}" if boot else socket.gethostname()


@dataclass(frozen=True)
class Slot:
    """Where one content's record and claim live for one target, account and region."""

    region: str
    content_hash: str
    record_key: str
    claim_key: str


@dataclass(frozen=True)
class Read:
    body: bytes
    etag: str
    age: float  # seconds since the object was written, by the store's clock


class Store:
    """The store for one run: the caller's account, the bucket's region, this run's identity."""

    def __init__(
        self, aws: Aws, location: StoreLocation, *, account: str, bucket_region: str
    ) -> None:
        self.aws = aws
        self.location = location
        self.account = account
        self.bucket_region = bucket_region
        self.run_id = uuid.uuid4().hex[:12]
        self.host = host_identity()

    @classmethod
    def open(cls, aws: Aws, location: StoreLocation, first_region: str) -> Store:
        """Find the account the credentials belong to and the bucket's region (read calls)."""
        with aws_errors(first_region, "finding the account of the credentials (sts)"):
            account = str(aws.client(first_region, "sts").get_caller_identity()["Account"])
        from botocore.exceptions import BotoCoreError, ClientError

        s3 = aws.client(first_region, "s3")
        try:
            head = s3.head_bucket(Bucket=location.bucket)
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(
                f"--store {location.url}: bucket {location.bucket!r} cannot be used: "
                f"{explain(exc)}; create it or grant s3:ListBucket on it"
            ) from exc
        headers = head.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        region = head.get("BucketRegion") or headers.get("x-amz-bucket-region") or first_region
        return cls(aws, location, account=account, bucket_region=str(region))

    # ------------------------------------------------------------------ keys

    def zip_key(self, content_hash: str) -> str:
        return self.location.key("layers", content_key(content_hash), "layer.zip")

    def slot(self, content_hash: str, target: Target, region: str) -> Slot:
        base = self.location.key(
            "layers",
            content_key(content_hash),
            f"{target.runtime}-{target.architecture}",
            self.account,
            region,
        )
        return Slot(region, content_hash, base + ".json", base + ".claim")

    def url(self, key: str) -> str:
        return f"s3://{self.location.bucket}/{key}"

    def claim(self, lease: float) -> Claim:
        return Claim(run=self.run_id, host=self.host, pid=os.getpid(), lease=lease)

    # ------------------------------------------------------------------ objects

    @property
    def _s3(self) -> Any:
        return self.aws.client(self.bucket_region, "s3")

    def read(self, key: str) -> Read | None:
        """The object at `key`, or None when there is none."""
        from botocore.exceptions import ClientError

        with aws_errors(self.bucket_region, f"reading {self.url(key)}"):
            try:
                response = self._s3.get_object(Bucket=self.location.bucket, Key=key)
            except ClientError as exc:
                if error_code(exc) in _MISSING:
                    return None
                raise
            body = response["Body"].read()
        return Read(body, str(response.get("ETag", "")), _age(response))

    def put(self, key: str, body: bytes, *, replace: str | None = None) -> bool:
        """Create `key` (or, with `replace`, overwrite the version whose ETag that is); False
        when another writer got there first."""
        from botocore.exceptions import ClientError

        condition = {"IfMatch": replace} if replace else {"IfNoneMatch": "*"}
        with aws_errors(self.bucket_region, f"writing {self.url(key)}"):
            try:
                self._s3.put_object(
                    Bucket=self.location.bucket,
                    Key=key,
                    Body=body,
                    ContentType="application/json",
                    **condition,
                )
            except ClientError as exc:
                if error_code(exc) in _LOST_RACE or (replace and error_code(exc) in _MISSING):
                    return False
                raise
        self.aws.uploaded(self.bucket_region, len(body))
        return True

    def release(self, slot: Slot) -> None:
        """Delete the slot's claim (after its record is written, or after a failure): runners
        that claim it next look for the record before they publish anything."""
        with aws_errors(self.bucket_region, f"deleting {self.url(slot.claim_key)}"):
            self._s3.delete_object(Bucket=self.location.bucket, Key=slot.claim_key)

    def read_record(self, slot: Slot) -> tuple[StoreRecord, str] | None:
        """The record in `slot` and its ETag, checked against the slot's account, region and
        content."""
        found = self.read(slot.record_key)
        if found is None:
            return None
        record = StoreRecord.parse(
            found.body,
            self.url(slot.record_key),
            region=slot.region,
            account=self.account,
            content_hash=slot.content_hash,
        )
        return record, found.etag

    def read_claim(self, slot: Slot) -> tuple[Claim, str, float] | None:
        found = self.read(slot.claim_key)
        if found is None:
            return None
        return Claim.parse(found.body, self.url(slot.claim_key)), found.etag, found.age

    def has_zip(self, content_hash: str) -> bool:
        from botocore.exceptions import ClientError

        key = self.zip_key(content_hash)
        with aws_errors(self.bucket_region, f"looking up {self.url(key)}"):
            try:
                self._s3.head_object(Bucket=self.location.bucket, Key=key)
            except ClientError as exc:
                if error_code(exc) in _MISSING:
                    return False
                raise
        return True

    def put_zip(self, content_hash: str, artifact: Artifact) -> None:
        """Keep the layer's zip under its content hash, unless it is there already."""
        if self.has_zip(content_hash):
            return
        key = self.zip_key(content_hash)
        with (
            artifact.path.open("rb") as body,
            aws_errors(self.bucket_region, f"uploading {artifact.path.name} to {self.url(key)}"),
        ):
            digest = hashlib.sha256()
            for chunk in iter(lambda: body.read(1 << 20), b""):
                digest.update(chunk)
            if digest.hexdigest() != artifact.sha256:
                raise StoreError(f"zip {str(artifact.path)!r} changed while publishing; rebuild")
            body.seek(0)
            self._put_zip_body(key, body, artifact)
        self.aws.uploaded(self.bucket_region, artifact.size)

    def _put_zip_body(self, key: str, body: Any, artifact: Artifact) -> None:
        from botocore.exceptions import ClientError

        try:
            self._s3.put_object(
                Bucket=self.location.bucket,
                Key=key,
                Body=body,
                ContentLength=artifact.size,
                ChecksumSHA256=artifact.code_sha256,  # S3 refuses bytes that differ
                IfNoneMatch="*",
            )
        except ClientError as exc:
            if error_code(exc) not in _LOST_RACE:  # another runner stored it meanwhile
                raise


def _age(response: Any) -> float:
    """Seconds between the object's LastModified and the response's Date (both the store's
    clock, so runners' clocks do not matter)."""
    modified = response.get("LastModified")
    date = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    if not isinstance(modified, datetime):
        return 0.0
    try:
        now = parsedate_to_datetime(date) if date else datetime.now(timezone.utc)
    except (TypeError, ValueError):
        now = datetime.now(timezone.utc)
    return max(0.0, (now - modified).total_seconds())
