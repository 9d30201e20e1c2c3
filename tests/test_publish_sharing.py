"""Sharing layer versions with accounts and an organisation, idempotently, against a moto
server on 127.0.0.1 reached over HTTP by boto3. The race in which another runner adds the same
statement first uses the recorded fake of tests/lambdafakes.py: moto does not answer a
duplicate statement id with ResourceConflictException as Lambda does."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("boto3")

from hatch_lambda_layers import cli
from hatch_lambda_layers import publish as pub
from hatch_lambda_layers.errors import UsageError
from hatch_lambda_layers.publish.options import Share
from hatch_lambda_layers.publish.sharing import grants, policy_statements
from tests.lambdafakes import LambdaOverlay, OverlaySession
from tests.motoserver import moto_endpoint  # noqa: F401
from tests.publishkit import LAYERS, REGION, REGION2, lam, make_manifest, quiet, read_published

ACCOUNT_B, ACCOUNT_C = "210987654321", "111122223333"
ORG = "o-abcdefghij"


def _statements(arn: str, region: str = REGION) -> list[dict[str, Any]]:
    _, name, version = arn.rsplit(":", 2)
    policy = lam(region).get_layer_version_policy(LayerName=name, VersionNumber=int(version))
    return list(json.loads(policy["Policy"])["Statement"])


def test_grants_reads_statements_as_lambda_and_moto_write_them() -> None:
    account, org = Share("account", ACCOUNT_B), Share("organization", ORG)
    lambda_style = {
        "Sid": "someone-else",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_B}:root"},
        "Action": "lambda:GetLayerVersion",
        "Resource": "arn:aws:lambda:us-east-1:123456789012:layer:x:1",
    }
    org_style = {
        "Sid": "org",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "lambda:GetLayerVersion",
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG}},
    }
    assert grants([lambda_style], account)
    assert not grants([lambda_style], Share("account", ACCOUNT_C))
    assert grants([org_style], org)
    assert not grants([org_style], Share("organization", "o-zzzzzzzzzz"))
    assert not grants([{**lambda_style, "Action": "lambda:ListLayers"}], account)
    assert grants([{"Sid": account.statement_id}], account)
    document = json.dumps({"Version": "2012-10-17", "Statement": lambda_style})
    assert policy_statements(document) == [lambda_style]
    assert policy_statements(None) == []


@pytest.mark.usefixtures("moto_endpoint")
def test_shares_are_idempotent(tmp_path: Path) -> None:
    manifest = make_manifest(tmp_path, LAYERS)
    first = pub.publish(
        manifest,
        [REGION, REGION2],
        share_accounts=[ACCOUNT_B, ACCOUNT_B],
        share_organizations=[ORG],
        log=quiet,
    )
    assert [a.kind for a in first.actions].count("share") == 2 * len(LAYERS) * 2
    second = pub.publish(
        manifest,
        [REGION, REGION2],
        share_accounts=[ACCOUNT_B],
        share_organizations=[ORG],
        log=quiet,
    )
    assert "share" not in [a.kind for a in second.actions]
    assert all(not s.added for x in second.layers for s in x.shares)
    for layer in second.layers:
        statements = _statements(layer.arn, layer.region)
        assert sorted(s["Sid"] for s in statements) == [
            f"hatch-lambda-layers-{ACCOUNT_B}",
            f"hatch-lambda-layers-{ORG}",
        ]
    shares = read_published(manifest)["layers"][0]["shares"]
    assert shares == [
        {
            "principal": ACCOUNT_B,
            "statement_id": f"hatch-lambda-layers-{ACCOUNT_B}",
            "added": False,
        },
        {"principal": ORG, "statement_id": f"hatch-lambda-layers-{ORG}", "added": False},
    ]

    # A new account later: only its statements are added, on the versions already there.
    third = pub.publish(manifest, [REGION], share_accounts=[ACCOUNT_B, ACCOUNT_C], log=quiet)
    assert [a.kind for a in third.actions].count("share") == len(LAYERS)
    assert not any(x.uploaded for x in third.layers)
    for layer in third.layers:
        counts = Counter(s["Sid"] for s in _statements(layer.arn))
        assert counts[f"hatch-lambda-layers-{ACCOUNT_C}"] == 1
        assert all(n == 1 for n in counts.values())


@pytest.mark.usefixtures("moto_endpoint")
def test_statement_added_by_another_runner_meanwhile_is_not_an_error(tmp_path: Path) -> None:
    """RECORDED FAKE for ResourceConflictException (moto accepts duplicate statement ids):
    another runner adds the same statement between this run's policy read and its add."""
    manifest = make_manifest(tmp_path, {"demo-stable": LAYERS["demo-stable"]})
    pub.publish(manifest, [REGION], log=quiet)
    overlay = LambdaOverlay()

    def other_runner(params: dict[str, Any]) -> None:
        lam().add_layer_version_permission(**params)

    overlay.race = other_runner
    report = pub.publish(
        manifest,
        [REGION],
        share_accounts=[ACCOUNT_B],
        session_factory=lambda region: OverlaySession(region, overlay),
        log=quiet,
    )
    assert overlay.conflicts == 1
    assert report.layers[0].shares[0].added is False
    statements = _statements(report.layers[0].arn)
    assert [s["Sid"] for s in statements] == [f"hatch-lambda-layers-{ACCOUNT_B}"]


@pytest.mark.usefixtures("moto_endpoint")
def test_dry_run_says_which_shares_are_missing(tmp_path: Path) -> None:
    manifest = make_manifest(tmp_path, LAYERS)
    pub.publish(manifest, [REGION], share_accounts=[ACCOUNT_B], log=quiet)
    dry = pub.publish(
        manifest, [REGION], share_accounts=[ACCOUNT_B, ACCOUNT_C], dry_run=True, log=quiet
    )
    shares = [a.detail for a in dry.actions if a.kind == "share"]
    assert len(shares) == len(LAYERS)
    assert all(ACCOUNT_C in d for d in shares)
    assert all(len(_statements(x.arn)) == 1 for x in dry.layers)


def test_bad_principals_and_store_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = make_manifest(tmp_path, LAYERS)
    with pytest.raises(UsageError) as info:
        pub.publish(
            manifest,
            [REGION],
            share_accounts=["12345", "123456789012"],
            share_organizations=["org-1"],
            store="s3://Bad_Bucket/x",
            log=quiet,
        )
    message = str(info.value)
    assert "--share-with-account '12345' is not a 12-digit AWS account ID" in message
    assert "--share-with-organization 'org-1'" in message
    assert "--store 's3://Bad_Bucket/x'" in message
    argv = ["publish", str(manifest), "--region", REGION, "--share-with-account", "x"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "'x' is not a 12-digit AWS account ID" in err[0]
