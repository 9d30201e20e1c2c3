"""What `publish` was asked to do, validated before anything is read: pure data and parsing.

Every problem with the options is reported at once as a UsageError (exit status 2).

Functions are named on the command line as ``--function-name AWS_NAME`` (the manifest's function
of that name, or its only function) or ``--function-name MANIFEST_NAME=AWS_NAME`` (the manifest's
function MANIFEST_NAME deployed as the Lambda function AWS_NAME); repeat the flag for several.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ..errors import UsageError

__all__ = [
    "STATEMENT_PREFIX",
    "FunctionTarget",
    "PublishOptions",
    "Share",
    "StoreLocation",
    "parse_options",
    "parse_store_url",
]

# Lambda's and S3's own rules for the names the options carry (API references).
_REGION = re.compile(r"[a-z]{2}(-[a-z0-9]+)+-\d{1,2}")
_ACCOUNT = re.compile(r"\d{12}")
_ORGANIZATION = re.compile(r"o-[a-z0-9]{10,32}")
_ALIAS = re.compile(r"(?!\d+$)[a-zA-Z0-9_-]{1,128}")
_FUNCTION = re.compile(r"[a-zA-Z0-9_:.$-]{1,140}")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_PREFIX_PART = re.compile(r"[A-Za-z0-9!_.*'()-]+")

STATEMENT_PREFIX = "hatch-lambda-layers-"
"""Statement ids this tool gives the layer permissions it adds: the prefix and the principal."""


@dataclass(frozen=True)
class FunctionTarget:
    """A manifest function (None: the one named like `aws_name`, else the only one) and the
    Lambda function it is deployed as."""

    manifest_name: str | None
    aws_name: str

    @property
    def flag(self) -> str:
        """How the user wrote it."""
        if self.manifest_name is None:
            return self.aws_name
        return f"{self.manifest_name}={self.aws_name}"


@dataclass(frozen=True)
class Share:
    """`lambda:GetLayerVersion` granted to one account or every account of one organisation."""

    kind: Literal["account", "organization"]
    principal: str  # 12-digit account ID or o-... organisation ID

    @property
    def statement_id(self) -> str:
        return STATEMENT_PREFIX + self.principal


@dataclass(frozen=True)
class StoreLocation:
    """`s3://bucket/prefix`: where the shared layer store lives."""

    bucket: str
    prefix: str  # no leading or trailing "/", may be empty

    def key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")


@dataclass(frozen=True)
class PublishOptions:
    regions: tuple[str, ...]
    functions: tuple[FunctionTarget, ...] = ()
    alias: str | None = None
    snapstart: bool = False
    shares: tuple[Share, ...] = ()
    store: StoreLocation | None = None
    s3_bucket: str | None = None
    dry_run: bool = False
    max_parallel_regions: int = 4


def parse_store_url(url: str, problems: list[str]) -> StoreLocation | None:
    """`s3://bucket[/prefix]`, or None with the problem appended."""
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    parts = [p for p in prefix.split("/") if p]
    if (
        not url.startswith("s3://")
        or not _BUCKET.fullmatch(bucket)
        or any(p in (".", "..") or not _PREFIX_PART.fullmatch(p) for p in parts)
    ):
        problems.append(
            f"--store {url!r} is not s3://BUCKET/PREFIX (a valid bucket name, then an optional "
            "prefix of letters, digits and !_.*'()- separated by /)"
        )
        return None
    return StoreLocation(bucket, "/".join(parts))


def _function_targets(names: Sequence[str], problems: list[str]) -> tuple[FunctionTarget, ...]:
    targets: list[FunctionTarget] = []
    for flag in names:
        manifest_name, sep, aws_name = flag.rpartition("=")
        target = FunctionTarget(manifest_name if sep else None, aws_name)
        if (sep and not manifest_name) or not _FUNCTION.fullmatch(aws_name):
            problems.append(
                f"--function-name {flag!r} is not NAME or MANIFEST_FUNCTION=NAME "
                "(a Lambda function name or ARN)"
            )
            continue
        targets.append(target)
    seen: set[str] = set()
    for t in targets:
        if t.aws_name in seen:
            problems.append(f"--function-name names the Lambda function {t.aws_name!r} twice")
        seen.add(t.aws_name)
    return tuple(targets)


def _shares(
    accounts: Sequence[str], organizations: Sequence[str], problems: list[str]
) -> tuple[Share, ...]:
    shares: list[Share] = []
    for account in dict.fromkeys(accounts):
        if _ACCOUNT.fullmatch(account):
            shares.append(Share("account", account))
        else:
            problems.append(f"--share-with-account {account!r} is not a 12-digit AWS account ID")
    for org in dict.fromkeys(organizations):
        if _ORGANIZATION.fullmatch(org):
            shares.append(Share("organization", org))
        else:
            problems.append(
                f"--share-with-organization {org!r} is not an organization ID (o- followed by "
                "10 to 32 lower-case letters or digits)"
            )
    return tuple(shares)


def _check_version_flags(
    functions: Sequence[FunctionTarget], alias: str | None, snapstart: bool, problems: list[str]
) -> None:
    if alias is not None and not _ALIAS.fullmatch(alias):
        problems.append(
            f"--alias {alias!r} is not a Lambda alias name (letters, digits, '-' and '_', "
            "at most 128, not only digits)"
        )
    if alias is not None and not functions:
        problems.append("--alias needs --function-name: it names an alias of those functions")
    if snapstart and alias is None:
        problems.append(
            "--snapstart needs --alias: SnapStart runs only on published versions, and the "
            "alias is what keeps the published version in use"
        )


def parse_options(
    regions: Sequence[str],
    *,
    function_names: Sequence[str] = (),
    alias: str | None = None,
    snapstart: bool = False,
    share_accounts: Sequence[str] = (),
    share_organizations: Sequence[str] = (),
    store: str | None = None,
    s3_bucket: str | None = None,
    dry_run: bool = False,
    max_parallel_regions: int = 4,
) -> PublishOptions:
    """The validated options; a UsageError lists every problem at once."""
    problems: list[str] = []
    region_list = tuple(dict.fromkeys(regions))
    if not region_list:
        problems.append("publish needs at least one --region")
    problems.extend(
        f"--region {r!r} is not an AWS region name (like eu-west-1)"
        for r in region_list
        if not _REGION.fullmatch(r)
    )
    functions = _function_targets(function_names, problems)
    _check_version_flags(functions, alias, snapstart, problems)
    shares = _shares(share_accounts, share_organizations, problems)
    location = parse_store_url(store, problems) if store is not None else None
    if problems:
        raise UsageError(problems)
    return PublishOptions(
        regions=region_list,
        functions=functions,
        alias=alias,
        snapstart=snapstart,
        shares=shares,
        store=location,
        s3_bucket=s3_bucket,
        dry_run=dry_run,
        max_parallel_regions=max(1, max_parallel_regions),
    )
