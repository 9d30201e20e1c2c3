"""The shared store's records and claims as data: parsing untrusted JSON, and the rule that says
when a claim is abandoned. Pure; the S3 calls live in :mod:`.store`.

A *record* says which layer version holds a content for one target, account and region. A
*claim* says that a runner is publishing that content there now: other runners wait for its
record instead of publishing a copy, until the claim's lease runs out (or, on the same host, its
process is gone); then one of them takes the claim over with a conditional write.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import StoreError

__all__ = [
    "LEASE_ENV",
    "Claim",
    "StoreRecord",
    "claim_abandoned",
    "lease_seconds",
    "pid_alive",
]

LEASE_ENV = "HATCH_LAMBDA_LAYERS_STORE_LEASE"
# Long enough for one PublishLayerVersion of the largest zip on a slow link: a base plus one
# second per megabyte.
_LEASE_BASE = 60.0
_LEASE_PER_BYTE = 1e-6

_LAYER_ARN = re.compile(
    r"arn:aws[a-z-]*:lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):layer:"
    r"(?P<name>[a-zA-Z0-9_-]{1,64}):(?P<version>\d+)"
)


def lease_seconds(size: int) -> float:
    """How long a claim to publish a zip of `size` bytes holds (``$HATCH_LAMBDA_LAYERS_STORE_LEASE``
    seconds when set)."""
    override = os.environ.get(LEASE_ENV)
    if override:
        try:
            return max(0.0, float(override))
        except ValueError:
            raise StoreError(f"{LEASE_ENV}={override!r} is not a number of seconds") from None
    return _LEASE_BASE + size * _LEASE_PER_BYTE


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _load(text: bytes, where: str) -> Mapping[str, Any]:
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise StoreError(f"{where} is not JSON ({exc}); delete it and publish again") from None
    if not isinstance(data, Mapping):
        raise StoreError(f"{where} is not a JSON object; delete it and publish again")
    return data


def _field(data: Mapping[str, Any], name: str, kind: type, where: str) -> Any:
    value = data.get(name)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise StoreError(
            f"{where}: field {name!r} is {value!r}, not a {kind.__name__}; "
            "delete the object and publish again"
        )
    return value


@dataclass(frozen=True)
class StoreRecord:
    """The layer version that holds `content_hash` for one target in one account and region."""

    arn: str
    content_hash: str
    runtime: str
    architecture: str
    published_by: str = ""

    @property
    def layer_name(self) -> str:
        return self.arn.rsplit(":", 2)[-2]

    @property
    def version(self) -> int:
        return int(self.arn.rsplit(":", 1)[-1])

    def to_json(self) -> bytes:
        data = {
            "schema_version": 1,
            "arn": self.arn,
            "layer_name": self.layer_name,
            "version": self.version,
            "content_hash": self.content_hash,
            "runtime": self.runtime,
            "architecture": self.architecture,
            "published_by": self.published_by,
        }
        return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()

    @classmethod
    def parse(
        cls, text: bytes, where: str, *, region: str, account: str, content_hash: str
    ) -> StoreRecord:
        """A record read from the store, refused unless it names a layer version of `account`
        in `region` holding `content_hash` (the store is shared: its objects are checked)."""
        data = _load(text, where)
        arn = _field(data, "arn", str, where)
        match = _LAYER_ARN.fullmatch(arn)
        if not match or match["region"] != region or match["account"] != account:
            raise StoreError(
                f"{where} names {arn!r}, not a layer version of account {account} in {region}; "
                "delete the object and publish again"
            )
        recorded = _field(data, "content_hash", str, where)
        if recorded != content_hash:
            raise StoreError(
                f"{where} records content_hash {recorded!r} under the key of {content_hash!r}; "
                "delete the object and publish again"
            )
        return cls(
            arn=arn,
            content_hash=recorded,
            runtime=str(data.get("runtime", "")),
            architecture=str(data.get("architecture", "")),
            published_by=str(data.get("published_by", "")),
        )


@dataclass(frozen=True)
class Claim:
    """A runner publishing a content now: who, and for how long the claim holds."""

    run: str
    host: str
    pid: int
    lease: float

    def to_json(self) -> bytes:
        data = {"run": self.run, "host": self.host, "pid": self.pid, "lease": self.lease}
        return (json.dumps(data, sort_keys=True) + "\n").encode()

    @classmethod
    def parse(cls, text: bytes, where: str) -> Claim:
        data = _load(text, where)
        lease = data.get("lease")
        if not isinstance(lease, (int, float)) or isinstance(lease, bool):
            raise StoreError(f"{where}: field 'lease' is {lease!r}, not a number of seconds")
        return cls(
            run=_field(data, "run", str, where),
            host=_field(data, "host", str, where),
            pid=_field(data, "pid", int, where),
            lease=float(lease),
        )

    def describe(self) -> str:
        return f"run {self.run} (process {self.pid} on {self.host.split('/')[0]})"


def claim_abandoned(claim: Claim, *, age: float, host: str, alive: bool | None = None) -> bool:
    """Whether another runner may take `claim` over: its lease ran out (`age` seconds by the
    store's clock), or it was made on this `host` by a process that no longer runs (`alive`,
    asked only then: None means ask :func:`pid_alive`)."""
    if age >= claim.lease:
        return True
    if claim.host != host:
        return False
    return not (pid_alive(claim.pid) if alive is None else alive)
