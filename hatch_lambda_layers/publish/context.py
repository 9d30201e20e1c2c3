"""What every step of one publish run needs, in one frozen object."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..manifest import Manifest
from .aws import Aws
from .options import PublishOptions
from .store import Store

__all__ = ["Context", "Log"]

Log = Callable[[str], None]


@dataclass(frozen=True)
class Context:
    aws: Aws
    manifest: Manifest
    options: PublishOptions
    store: Store | None
    log: Log

    def s3_bucket(self, region: str) -> str | None:
        """The --s3-bucket for `region` (`{region}` in it stands for the region's name)."""
        bucket = self.options.s3_bucket
        return None if bucket is None else bucket.replace("{region}", region)
