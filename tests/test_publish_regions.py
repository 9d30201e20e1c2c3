"""Regions in parallel (a bounded number at a time), and a failure in one region that leaves
the others finished and recorded, against a moto server on 127.0.0.1 reached through proxies
(one per region, tests/awsproxy.py) by boto3 over HTTP."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("boto3")
pytest.importorskip("moto.server")

from hatch_lambda_layers import publish as pub
from hatch_lambda_layers.errors import RegionsFailedError
from hatch_lambda_layers.publish import aws as aws_module
from hatch_lambda_layers.publish.regions import run_per_region
from tests.awsproxy import Aws, AwsProxy, EndpointSession, Rule, aws_fixture, serial_moto_fixture  # noqa: F401
from tests.publishkit import (
    LAYERS,
    REGION,
    REGION2,
    make_manifest,
    quiet,
    read_published,
    versions_of,
)

LAYER_VERSIONS = r"/2018-10-31/layers/[^/?]+/versions"


def test_at_most_max_workers_regions_at_a_time() -> None:
    lock = threading.Lock()
    running, peak = [0], [0]

    def work(region: str) -> str:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        if region == "c":
            raise ValueError("c failed")
        return region.upper()

    outcomes = run_per_region(list("abcde"), work, max_workers=2)
    assert peak[0] == 2
    assert [(r, v) for r, v, _ in outcomes] == [
        ("a", "A"),
        ("b", "B"),
        ("c", None),
        ("d", "D"),
        ("e", "E"),
    ]
    assert str(outcomes[2][2]) == "c failed"


def test_regions_are_published_in_parallel(aws: Aws, tmp_path: Path) -> None:
    """The first request of one region is held until the other region has made one: run one
    region after the other, this would never happen."""
    second = AwsProxy(aws.server.url)
    try:
        held = aws.proxy.add(Rule("GET", LAYER_VERSIONS, "pause"))
        proxies = {REGION: aws.proxy, REGION2: second}

        def session(region: str) -> Any:
            return EndpointSession(region, proxies[region].url)

        def release_when_the_other_region_asks() -> None:
            held.held.wait(30)
            deadline = time.monotonic() + 20
            while not second.seen and time.monotonic() < deadline:
                time.sleep(0.02)
            overlapped.append(bool(second.seen))
            held.release.set()

        overlapped: list[bool] = []
        watcher = threading.Thread(target=release_when_the_other_region_asks)
        watcher.start()
        manifest = make_manifest(tmp_path, LAYERS)
        report = pub.publish(manifest, [REGION, REGION2], session_factory=session, log=quiet)
        watcher.join()
        assert overlapped == [True]
        assert [x.region for x in report.layers] == [REGION] * 3 + [REGION2] * 3
    finally:
        second.stop()


def test_failure_in_one_region_leaves_the_others_recorded_and_a_rerun_finishes(
    aws: Aws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(aws_module, "MAX_ATTEMPTS", 1)
    denied = b'{"__type": "AccessDeniedException", "Message": "not in this region"}'
    aws.proxy.add(Rule("POST", LAYER_VERSIONS, "reply", skip=1, status=403, body=denied))

    def session(region: str) -> Any:  # only REGION2 goes through the failing proxy
        return EndpointSession(region, aws.proxy.url if region == REGION2 else aws.server.url)

    manifest = make_manifest(tmp_path, LAYERS)
    with pytest.raises(RegionsFailedError) as info:
        pub.publish(manifest, [REGION, REGION2], session_factory=session, log=quiet)
    message = str(info.value)
    assert message.startswith(f"publish failed in {REGION2} (the other regions finished")
    assert "publishing layer 'demo-mid' in eu-west-1 failed: AccessDeniedException" in message
    record = read_published(manifest)
    assert record["complete"] is False
    assert record["regions"][REGION]["complete"] is True
    assert record["regions"][REGION2]["complete"] is False
    assert "AccessDeniedException" in record["regions"][REGION2]["error"]
    assert [(x["region"], x["name"]) for x in record["layers"]] == [
        *((REGION, n) for n in LAYERS),
        (REGION2, "demo-stable"),
    ]

    again = pub.publish(manifest, [REGION, REGION2], log=quiet)
    kinds = [(a.region, a.kind) for a in again.actions]
    assert kinds == [(REGION, "reuse")] * 3 + [(REGION2, "reuse")] + [(REGION2, "publish")] * 2
    for region in (REGION, REGION2):
        assert all(versions_of(name, region) == [1] for name in LAYERS)
    assert read_published(manifest)["complete"] is True
