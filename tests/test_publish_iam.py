"""The IAM policies in examples/deploy/iam/ allow every call each documented flow makes: the
flows run against a moto server on 127.0.0.1 (over HTTP, with boto3) and every API call is
recorded and looked up in the flow's policy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("boto3")
pytest.importorskip("moto.server")
import boto3

from hatch_lambda_layers import publish as pub
from hatch_lambda_layers.publish import aws as aws_module
from tests.awsproxy import Aws, aws_fixture, serial_moto_fixture  # noqa: F401
from tests.lambdafakes import LambdaOverlay
from tests.publishkit import LAYERS, REGION, REGION2, client, make_function, make_manifest, quiet

IAM = Path(__file__).resolve().parents[1] / "examples" / "deploy" / "iam"
# IAM actions that authorise an API call of another name; calls that need no permission.
_ACTION_OF = {"s3:HeadBucket": "s3:ListBucket", "s3:HeadObject": "s3:GetObject"}
_FREE = {"sts:GetCallerIdentity"}


class Recorder:
    def __init__(self, overlay: LambdaOverlay | None = None) -> None:
        self.calls: set[str] = set()
        self.overlay = overlay

    def session(self, region: str) -> Any:
        recorder = self

        class Session:
            def client(self, service: str, **kwargs: Any) -> Any:
                made = boto3.session.Session(region_name=region).client(service, **kwargs)
                prefix = made.meta.service_model.signing_name

                def record(model: Any, **_: Any) -> None:
                    recorder.calls.add(f"{prefix}:{model.name}")

                made.meta.events.register("before-call", record)
                if recorder.overlay is not None and service == "lambda":
                    recorder.overlay.attach(made)
                return made

        return Session()

    def missing_from(self, policy: str) -> set[str]:
        document = json.loads((IAM / policy).read_text())
        allowed = {a for s in document["Statement"] for a in s["Action"]}
        needed = {_ACTION_OF.get(c, c) for c in self.calls} - _FREE
        return needed - allowed


def test_one_function_policy(aws: Aws, tmp_path: Path) -> None:
    make_function("my-function", {"app.py": "old"})
    manifest = make_manifest(tmp_path, LAYERS, functions={"api": {"app.py": "new"}})
    recorder = Recorder()
    for _ in range(2):
        pub.publish(
            manifest,
            [REGION],
            function_name="my-function",
            alias="live",
            session_factory=recorder.session,
            log=quiet,
        )
    assert "lambda:PublishVersion" in recorder.calls
    assert recorder.missing_from("one-function.json") == set()


def test_several_functions_policy(
    aws: Aws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SnapStart through the recorded fake of tests/lambdafakes.py (moto ignores it)."""
    monkeypatch.setattr(aws_module, "WAITER_DELAY", 0)
    make_function("orders-api", {"app.py": "old"})
    make_function("orders-worker", {"app.py": "old"})
    code = {"api": {"app.py": "a"}, "worker": {"w.py": "w"}}
    manifest = make_manifest(tmp_path, LAYERS, functions=code)
    recorder = Recorder(LambdaOverlay(pending_polls=1))
    pub.publish(
        manifest,
        [REGION],
        function_names=["api=orders-api", "worker=orders-worker"],
        alias="live",
        snapstart=True,
        session_factory=recorder.session,
        log=quiet,
    )
    assert recorder.missing_from("several-functions.json") == set()


def test_organization_policy(aws: Aws, tmp_path: Path) -> None:
    client("s3").create_bucket(Bucket="acme-lambda-layers")
    manifest = make_manifest(tmp_path, LAYERS)
    recorder = Recorder()
    for _ in range(2):
        pub.publish(
            manifest,
            [REGION, REGION2],
            store="s3://acme-lambda-layers/v1",
            share_organizations=["o-a1b2c3d4e5"],
            session_factory=recorder.session,
            log=quiet,
        )
    assert {"s3:PutObject", "s3:DeleteObject", "lambda:AddLayerVersionPermission"} <= recorder.calls
    assert recorder.missing_from("organization.json") == set()
