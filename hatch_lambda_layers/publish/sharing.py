"""Sharing layer versions: `lambda:GetLayerVersion` for other accounts or a whole organisation,
added only when the version's policy does not grant it already.

The policy is read first (GetLayerVersionPolicy); a grant is present when a statement has this
tool's statement id for that principal, or allows `lambda:GetLayerVersion` to it whoever added
it. A grant added meanwhile by another runner makes AddLayerVersionPermission fail with
ResourceConflictException (the statement id exists): that counts as present, not as an error.
So a re-run adds nothing, and the policy holds one statement per principal.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..errors import PublishError
from .aws import aws_errors, error_code
from .context import Context
from .options import Share
from .report import PublishAction, PublishedLayer, ShareResult

__all__ = ["grants", "policy_statements", "share_layer"]

_ACTION = "lambda:GetLayerVersion"


def policy_statements(policy: str | None) -> list[Mapping[str, Any]]:
    """The statements of a layer version policy document (empty for none)."""
    if not policy:
        return []
    try:
        data = json.loads(policy)
    except ValueError as exc:
        raise PublishError(f"a layer version policy is not JSON: {exc}") from None
    statements = data.get("Statement", []) if isinstance(data, Mapping) else []
    if isinstance(statements, Mapping):
        statements = [statements]
    return [s for s in statements if isinstance(s, Mapping)]


def _values(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        return [v for item in value.values() for v in _values(item)]
    if isinstance(value, (list, tuple)):
        return [v for item in value for v in _values(item)]
    return [] if value is None else [str(value)]


def _allows_get(statement: Mapping[str, Any]) -> bool:
    actions = _values(statement.get("Action"))
    return statement.get("Effect", "Allow") == "Allow" and any(
        a in (_ACTION, "lambda:*", "*") for a in actions
    )


def _organization_of(statement: Mapping[str, Any]) -> list[str]:
    """The organisations a statement is limited to (Lambda writes `aws:PrincipalOrgID`)."""
    found = _values(statement.get("OrganizationId"))
    for operator in (statement.get("Condition") or {}).values():
        if isinstance(operator, Mapping):
            found += [
                v
                for k, item in operator.items()
                if k.lower() == "aws:principalorgid"
                for v in _values(item)
            ]
    return found


def grants(statements: Iterable[Mapping[str, Any]], share: Share) -> bool:
    """Whether the policy's statements already give `share` its grant."""
    for s in statements:
        if s.get("Sid") == share.statement_id:
            return True
        if not _allows_get(s):
            continue
        principals = _values(s.get("Principal"))
        if share.kind == "account":
            if any(
                p in (share.principal, f"arn:aws:iam::{share.principal}:root") for p in principals
            ):
                return True
        elif "*" in principals and share.principal in _organization_of(s):
            return True
    return False


def _read_policy(ctx: Context, region: str, layer: PublishedLayer) -> list[Mapping[str, Any]]:
    from botocore.exceptions import ClientError

    client = ctx.aws.client(region, "lambda")
    with aws_errors(region, f"reading the policy of {layer.arn}"):
        try:
            response = client.get_layer_version_policy(
                LayerName=layer.layer_name or layer.name, VersionNumber=layer.version
            )
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return []  # no policy yet
            raise
    return policy_statements(response.get("Policy"))


def _grant(ctx: Context, region: str, layer: PublishedLayer, share: Share) -> bool:
    """Add the statement; False when it turned out to be there already."""
    from botocore.exceptions import ClientError

    params: dict[str, Any] = {
        "LayerName": layer.layer_name or layer.name,
        "VersionNumber": layer.version,
        "StatementId": share.statement_id,
        "Action": _ACTION,
        "Principal": share.principal if share.kind == "account" else "*",
    }
    if share.kind == "organization":
        params["OrganizationId"] = share.principal
    client = ctx.aws.client(region, "lambda")
    with aws_errors(region, f"sharing {layer.arn} with {share.principal}"):
        try:
            client.add_layer_version_permission(**params)
        except ClientError as exc:
            if error_code(exc) == "ResourceConflictException":
                return False  # added by another runner since the policy was read
            raise
    return True


def share_layer(
    ctx: Context, region: str, layer: PublishedLayer, shares: Sequence[Share], *, write: bool
) -> tuple[tuple[ShareResult, ...], tuple[PublishAction, ...]]:
    """Grant every share missing from the version's policy (with `write`; else only say which
    would be added); the results and the actions taken."""
    if not shares:
        return (), ()
    statements = [] if layer.uploaded else _read_policy(ctx, region, layer)
    results: list[ShareResult] = []
    actions: list[PublishAction] = []
    for share in shares:
        added = False
        if not grants(statements, share):
            added = _grant(ctx, region, layer, share) if write else True
            if added:
                verb = "shared" if write else "would share"
                detail = f"{verb} {layer.arn} with {share.kind} {share.principal}"
                actions.append(PublishAction("share", region, layer.name, detail))
        results.append(ShareResult(share.principal, share.statement_id, added))
    return tuple(results), tuple(actions)
