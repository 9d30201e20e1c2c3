"""Issue 8, item 6: an answer to PublishLayerVersion lost after AWS acted never leads to a
second version with the same content, whether the run retries by itself or is run again.

AWS is a moto server on 127.0.0.1 behind a proxy (tests/awsproxy.py) that forwards the request,
lets the server act, and then closes the connection without the answer.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("boto3")
pytest.importorskip("moto.server")
from botocore.config import Config
from botocore.exceptions import BotoCoreError

from hatch_lambda_layers import publish as pub
from hatch_lambda_layers.errors import PublishError
from hatch_lambda_layers.publish import layer_publish
from tests.awsproxy import Aws, EndpointSession, Rule, aws_fixture, serial_moto_fixture  # noqa: F401
from tests.publishkit import LAYERS, REGION, make_manifest, quiet, read_published, versions_of
from tests.publishkit import zip_bytes as _zip

LAYER_VERSIONS = r"/2018-10-31/layers/[^/?]+/versions"


@pytest.fixture(autouse=True)
def _quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layer_publish, "RETRY_DELAY", 0.01)


def _posts(aws: Aws) -> list[str]:
    return [p for m, p in aws.proxy.seen if m == "POST" and re.match(LAYER_VERSIONS, p)]


def test_retry_after_a_lost_answer_finds_the_version_instead_of_publishing_again(
    aws: Aws, tmp_path: Path
) -> None:
    manifest = make_manifest(tmp_path, LAYERS)
    lost = aws.proxy.add(Rule("POST", LAYER_VERSIONS, "lose", skip=1))  # the second layer's
    logs: list[str] = []
    report = pub.publish(manifest, [REGION], session_factory=aws.session, log=logs.append)
    assert lost.matched == 1
    assert all(versions_of(name) == [1] for name in LAYERS)
    assert [x.uploaded for x in report.layers] == [True, True, True]
    assert len(_posts(aws)) == len(LAYERS)  # the lost call was not made again
    assert any("demo-mid: PublishLayerVersion failed" in m and "using it" in m for m in logs)
    assert read_published(manifest)["complete"] is True


def test_rerun_after_a_lost_answer_and_a_failed_run_publishes_nothing_twice(
    aws: Aws, tmp_path: Path
) -> None:
    """The answer is lost and the run then fails (its lookup is refused); the re-run finds the
    version by its content hash."""
    manifest = make_manifest(tmp_path, LAYERS)
    aws.proxy.add(Rule("POST", LAYER_VERSIONS, "lose"))
    denied = b'{"__type": "AccessDeniedException", "Message": "injected"}'
    # Let planning's three listings through, refuse the lookup after the lost answer.
    aws.proxy.add(Rule("GET", LAYER_VERSIONS, "reply", skip=3, status=403, body=denied))
    with pytest.raises(PublishError, match="listing versions of layer 'demo-stable'"):
        pub.publish(manifest, [REGION], session_factory=aws.session, log=quiet)
    assert versions_of("demo-stable") == [1]  # AWS acted although the run never heard
    assert read_published(manifest)["complete"] is False

    report = pub.publish(manifest, [REGION], log=quiet)  # straight to the server
    assert [a.kind for a in report.actions] == ["reuse", "publish", "publish"]
    assert all(versions_of(name) == [1] for name in LAYERS)
    assert read_published(manifest)["complete"] is True


def test_botocore_retries_alone_would_publish_twice(aws: Aws) -> None:
    """Why publish turns botocore's retries off for this one call: with them, the same lost
    answer makes a second version."""
    aws.proxy.add(Rule("POST", LAYER_VERSIONS, "lose"))
    config = Config(retries={"mode": "standard", "total_max_attempts": 3})
    lam = EndpointSession(REGION, aws.proxy.url).client("lambda", config=config)
    try:
        lam.publish_layer_version(LayerName="plain", Content={"ZipFile": _zip({"a.py": ""})})
    except BotoCoreError:  # pragma: no cover - botocore did not retry this error
        pytest.fail("botocore's standard mode is expected to retry a lost answer")
    assert versions_of("plain") == [1, 2]
