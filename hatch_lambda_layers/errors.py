"""One small error hierarchy. Every message quotes the offending input and says what to do.

``exit_code`` follows the CLI contract: 2 for bad usage or configuration, 1 when the work failed.
"""

from __future__ import annotations

from collections.abc import Sequence


class LambdaLayersError(Exception):
    """Base class: the work failed (exit status 1)."""

    exit_code = 1


class ConfigError(LambdaLayersError):
    """Bad configuration or usage (exit status 2). Carries every problem found at once."""

    exit_code = 2

    def __init__(self, problems: Sequence[str] | str) -> None:
        self.problems: tuple[str, ...] = (
            (problems,) if isinstance(problems, str) else tuple(problems)
        )
        if len(self.problems) == 1:
            message = self.problems[0]
        else:
            message = f"{len(self.problems)} configuration errors: " + "; ".join(self.problems)
        super().__init__(message)


class UsageError(ConfigError):
    """Bad command-line usage (exit status 2)."""


class LockError(LambdaLayersError):
    """A lock file cannot be read or does not cover the target."""


class ResolutionError(LambdaLayersError):
    """The requirements cannot be resolved for the target."""


class NoCompatibleWheelError(LambdaLayersError):
    """A pinned distribution has no wheel that the Lambda target can load."""


class FetchError(LambdaLayersError):
    """A download failed."""


class HashMismatchError(FetchError):
    """A downloaded file does not match the hash recorded for it."""


class UnsafeWheelError(LambdaLayersError):
    """A wheel holds a member that must never be extracted (traversal, absolute path, link)."""


class CorruptWheelError(LambdaLayersError):
    """A wheel's bytes disagree with what it declares (sizes, CRC-32, RECORD, METADATA)."""


class SdistBuildError(LambdaLayersError):
    """A source distribution could not be built into a pure-Python wheel."""


class LimitError(LambdaLayersError):
    """The artifacts would exceed a Lambda limit."""


class PublishError(LambdaLayersError):
    """Publishing to AWS failed."""


class StoreError(PublishError):
    """The shared layer store (``--store s3://...``) cannot be used or holds a bad record."""


class RegionsFailedError(PublishError):
    """Some regions failed while the others finished; every failure is in the message."""

    def __init__(self, failures: Sequence[tuple[str, str]]) -> None:
        self.failures: tuple[tuple[str, str], ...] = tuple(failures)
        regions = ", ".join(region for region, _ in self.failures)
        details = "; ".join(message for _, message in self.failures)
        super().__init__(
            f"publish failed in {regions} (the other regions finished and are recorded in "
            f"published.json; run the same command again to finish): {details}"
        )


class ManifestError(LambdaLayersError):
    """A manifest (or another record a build or a publish wrote) cannot be read."""
