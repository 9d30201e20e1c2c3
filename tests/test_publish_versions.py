"""Function versions, aliases, SnapStart and several functions in one command, against a moto
server on 127.0.0.1 reached over HTTP by boto3. SnapStart is the one part moto does not do: those
tests lay the recorded fake of tests/lambdafakes.py over the real clients."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("boto3")

from hatch_lambda_layers import cli
from hatch_lambda_layers import publish as pub
from hatch_lambda_layers.errors import PublishError, UsageError
from hatch_lambda_layers.publish import aws as aws_module
from hatch_lambda_layers.publish.versions import AliasStep, VersionState, needs_version
from tests.lambdafakes import LambdaOverlay, OverlaySession
from tests.motoserver import moto_endpoint  # noqa: F401
from tests.publishkit import (
    BUMPED,
    LAYERS,
    REGION,
    lam,
    make_function,
    make_manifest,
    quiet,
    read_published,
)

CODE1 = {"app.py": "def handler(e, c): return 1\n"}
CODE2 = {"app.py": "def handler(e, c): return 2\n"}


def _alias(name: str = "demo-fn", alias: str = "live") -> str:
    return str(lam().get_alias(FunctionName=name, Name=alias)["FunctionVersion"])


def _versions(name: str = "demo-fn") -> list[str]:
    listed = lam().list_versions_by_function(FunctionName=name)["Versions"]
    return [v["Version"] for v in listed if v["Version"] != "$LATEST"]


def _kinds(report: pub.PublishReport) -> list[str]:
    return [a.kind for a in report.actions]


def test_needs_version_compares_code_layers_and_snapstart() -> None:
    wanted = VersionState("code", ("arn:1",), "PublishedVersions")
    same = AliasStep("live", "3", VersionState("code", ("arn:1",), "None"))
    assert needs_version(AliasStep("live", None, None), wanted, snapstart=False)
    assert not needs_version(same, wanted, snapstart=False)
    assert needs_version(same, wanted, snapstart=True)  # SnapStart asked for, not on version 3
    other_layers = AliasStep("live", "3", VersionState("code", ("arn:2",)))
    assert needs_version(other_layers, wanted, snapstart=False)
    old_code = AliasStep("live", "3", VersionState("old", ("arn:1",)))
    assert needs_version(old_code, wanted, snapstart=False)


@pytest.mark.usefixtures("moto_endpoint")
def test_version_and_alias_move_only_on_change(tmp_path: Path) -> None:
    make_function("demo-fn", {"app.py": "old"})
    first = make_manifest(tmp_path / "a", LAYERS, functions={"api": CODE1})
    dry = pub.publish(
        first, [REGION], function_name="demo-fn", alias="live", dry_run=True, log=quiet
    )
    assert _kinds(dry)[3:] == ["update-code", "update-layers", "publish-version"]
    assert "create alias live" in dry.actions[-1].detail
    assert _versions() == []
    report = pub.publish(first, [REGION], function_name="demo-fn", alias="live", log=quiet)
    assert _kinds(report)[-3:] == ["update-layers", "publish-version", "move-alias"]
    assert _alias() == "1"
    version = lam().get_function_configuration(FunctionName="demo-fn", Qualifier="1")
    fn = json.loads(first.read_text())["functions"][0]
    assert version["CodeSha256"] == fn["code_sha256"]
    assert [x["Arn"] for x in version["Layers"]] == [x.arn for x in report.layers]
    update = report.functions[0]
    assert (update.alias, update.version, update.version_published, update.alias_moved) == (
        "live",
        "1",
        True,
        True,
    )

    # No change: nothing published, nothing moved; read calls only.
    again = pub.publish(first, [REGION], function_name="demo-fn", alias="live", log=quiet)
    assert _kinds(again) == ["reuse"] * 3 + ["skip-code", "keep-alias"]
    assert again.api_calls == len(LAYERS) + 3  # + GetFunction, GetAlias, GetFunctionConfiguration
    assert _versions() == ["1"]
    assert _alias() == "1"
    assert again.functions[0].version_published is False
    assert again.functions[0].alias_moved is False
    record = read_published(first)["functions"][0]
    assert (record["alias"], record["version"], record["alias_moved"]) == ("live", "1", False)

    # A layer changes: new layer version, new function version, alias moved.
    bumped = make_manifest(
        tmp_path / "b", BUMPED, functions={"api": CODE1}, versions={"demo-volatile": 2}
    )
    third = pub.publish(bumped, [REGION], function_name="demo-fn", alias="live", log=quiet)
    assert _kinds(third) == [
        "reuse",
        "reuse",
        "publish",
        "skip-code",
        "update-layers",
        "publish-version",
        "move-alias",
    ]
    assert _alias() == "2"

    # Only the code changes: a version again.
    code = make_manifest(
        tmp_path / "c", BUMPED, functions={"api": CODE2}, versions={"demo-volatile": 2}
    )
    fourth = pub.publish(code, [REGION], function_name="demo-fn", alias="live", log=quiet)
    assert _kinds(fourth)[3:] == ["update-code", "publish-version", "move-alias"]
    assert _alias() == "3"
    assert _versions() == ["1", "2", "3"]


@pytest.mark.usefixtures("moto_endpoint")
def test_existing_alias_on_an_old_version_is_moved_and_a_rerun_after_a_kill_reuses_it(
    tmp_path: Path,
) -> None:
    make_function("demo-fn", {"app.py": "old"})
    lam().publish_version(FunctionName="demo-fn")
    lam().create_alias(FunctionName="demo-fn", Name="live", FunctionVersion="1")
    manifest = make_manifest(tmp_path, LAYERS, functions={"api": CODE1})
    # A run that updated the function but died before publishing a version: simulated by
    # pointing the function at the code and layers first, without --alias.
    pub.publish(manifest, [REGION], function_name="demo-fn", log=quiet)
    assert _versions() == ["1"]
    report = pub.publish(manifest, [REGION], function_name="demo-fn", alias="live", log=quiet)
    assert _kinds(report)[3:] == ["skip-code", "publish-version", "move-alias"]
    assert _alias() == "2"
    assert report.functions[0].alias_moved


@pytest.mark.usefixtures("moto_endpoint")
def test_several_functions_in_one_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_function("prod-api", {"app.py": "old"})
    make_function("prod-worker", {"app.py": "old"})
    worker_code = {"worker.py": "def handler(e, c): return 'w'\n"}
    manifest = make_manifest(tmp_path, LAYERS, functions={"api": CODE1, "worker": worker_code})
    argv = [
        "--quiet",
        "publish",
        str(manifest),
        "--region",
        REGION,
        "--function-name",
        "api=prod-api",
        "--function-name",
        "worker=prod-worker",
        "--alias",
        "live",
    ]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert f"{REGION} prod-api: alias live moved to version 1" in out
    assert f"{REGION} prod-worker: alias live moved to version 1" in out
    functions = {f["name"]: f for f in json.loads(manifest.read_text())["functions"]}
    layers = [x["arn"] for x in read_published(manifest)["layers"]]
    for aws_name, entry in (("prod-api", "api"), ("prod-worker", "worker")):
        config = lam().get_function_configuration(FunctionName=aws_name, Qualifier="live")
        assert config["CodeSha256"] == functions[entry]["code_sha256"]
        assert [x["Arn"] for x in config["Layers"]] == layers
    assert cli.main(argv) == 0
    assert "stays on version 1" in capsys.readouterr().out
    assert _versions("prod-api") == ["1"]
    assert _versions("prod-worker") == ["1"]


def test_function_mapping_and_version_flags_are_checked_at_once(tmp_path: Path) -> None:
    manifest = make_manifest(tmp_path, LAYERS, functions={"api": CODE1})
    with pytest.raises(UsageError) as info:
        pub.publish(
            manifest,
            [REGION, "Mars-1"],
            function_names=["=x", "a=prod", "b=prod"],
            alias="123",
            log=quiet,
        )
    message = str(info.value)
    for part in ("'Mars-1'", "'=x'", "names the Lambda function 'prod' twice", "--alias '123'"):
        assert part in message
    with pytest.raises(UsageError, match="--snapstart needs --alias"):
        pub.publish(manifest, [REGION], function_name="f", snapstart=True, log=quiet)
    with pytest.raises(UsageError, match="--alias needs --function-name"):
        pub.publish(manifest, [REGION], alias="live", log=quiet)
    old = make_manifest(tmp_path / "old", LAYERS, functions={"api": CODE1}, runtime="python3.11")
    with pytest.raises(UsageError, match=r"SnapStart for python3\.12 and later.*python3\.11"):
        pub.publish(old, [REGION], function_name="f", alias="live", snapstart=True, log=quiet)


@pytest.mark.usefixtures("moto_endpoint")
def test_unknown_manifest_function_in_a_mapping_is_named(tmp_path: Path) -> None:
    manifest = make_manifest(tmp_path, LAYERS, functions={"api": CODE1})
    with pytest.raises(PublishError) as info:
        pub.publish(manifest, [REGION], function_names=["web=prod-web"], log=quiet)
    assert "--function-name 'web=prod-web': the manifest has no function 'web' (it has api)" in str(
        info.value
    )


# ------------------------------------------------------------------ SnapStart (recorded fake)


@pytest.fixture
def overlay(monkeypatch: pytest.MonkeyPatch) -> LambdaOverlay:
    monkeypatch.setattr(aws_module, "WAITER_DELAY", 0)
    return LambdaOverlay(pending_polls=2)


@pytest.mark.usefixtures("moto_endpoint")
def test_snapstart_is_on_the_published_version(tmp_path: Path, overlay: LambdaOverlay) -> None:
    """RECORDED FAKE for SnapStart (moto ignores it): see tests/lambdafakes.py."""
    make_function("demo-fn", {"app.py": "old"})
    manifest = make_manifest(tmp_path, LAYERS, functions={"api": CODE1})

    def session(region: str) -> Any:
        return OverlaySession(region, overlay)

    dry = pub.publish(
        manifest,
        [REGION],
        function_name="demo-fn",
        alias="live",
        snapstart=True,
        dry_run=True,
        session_factory=session,
        log=quiet,
    )
    assert _kinds(dry)[-3:] == ["update-layers", "snapstart", "publish-version"]
    assert overlay.latest == {}
    report = pub.publish(
        manifest,
        [REGION],
        function_name="demo-fn",
        alias="live",
        snapstart=True,
        session_factory=session,
        log=quiet,
    )
    assert _kinds(report)[-4:] == ["update-layers", "snapstart", "publish-version", "move-alias"]
    assert overlay.latest == {"demo-fn": "PublishedVersions"}
    assert overlay.polls[("demo-fn", "1")] == overlay.pending_polls  # waited while Pending
    version = overlay.attach(lam()).get_function_configuration(
        FunctionName="demo-fn", Qualifier=_alias()
    )
    assert version["SnapStart"] == {"ApplyOn": "PublishedVersions", "OptimizationStatus": "On"}
    assert version["State"] == "Active"
    assert report.functions[0].snapstart == "PublishedVersions"
    assert read_published(manifest)["functions"][0]["snapstart"] == "PublishedVersions"

    again = pub.publish(
        manifest,
        [REGION],
        function_name="demo-fn",
        alias="live",
        snapstart=True,
        session_factory=session,
        log=quiet,
    )
    assert _kinds(again) == ["reuse"] * 3 + ["skip-code", "keep-alias"]
    assert _versions() == ["1"]


@pytest.mark.usefixtures("moto_endpoint")
def test_turning_snapstart_on_publishes_a_version_although_code_and_layers_match(
    tmp_path: Path, overlay: LambdaOverlay
) -> None:
    """RECORDED FAKE for SnapStart (moto ignores it): see tests/lambdafakes.py."""
    make_function("demo-fn", {"app.py": "old"})
    manifest = make_manifest(tmp_path, LAYERS, functions={"api": CODE1})

    def session(region: str) -> Any:
        return OverlaySession(region, overlay)

    pub.publish(
        manifest,
        [REGION],
        function_name="demo-fn",
        alias="live",
        session_factory=session,
        log=quiet,
    )
    assert _alias() == "1"
    report = pub.publish(
        manifest,
        [REGION],
        function_name="demo-fn",
        alias="live",
        snapstart=True,
        session_factory=session,
        log=quiet,
    )
    assert _kinds(report)[3:] == ["skip-code", "snapstart", "publish-version", "move-alias"]
    assert _alias() == "2"
    assert overlay.versions[("demo-fn", "1")] == "None"
    assert overlay.versions[("demo-fn", "2")] == "PublishedVersions"
