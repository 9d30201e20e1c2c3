"""`publish` against a moto server on 127.0.0.1, reached over HTTP by real boto3 clients."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("boto3")
import boto3
from botocore.exceptions import ClientError

from hatch_lambda_layers import publish as pub
from hatch_lambda_layers.errors import PublishError, UsageError
from hatch_lambda_layers.publish import check
from hatch_lambda_layers.publish.description import describe, find_reusable, parse_content_hash
from hatch_lambda_layers.targets import DESCRIPTION_MAX
from tests.motoserver import moto_endpoint  # noqa: F401
from tests.publishkit import (
    ACCOUNT,
    ARCH,
    BUMPED,
    LAYERS,
    REGION,
    REGION2,
    RUNTIME,
    client,
    lam,
    make_function,
    make_manifest,
    quiet,
    read_published,
    versions_of,
)
from tests.publishkit import zip_bytes as _zip

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "deploy"
# --------------------------------------------------------------------------- pure helpers


def test_description_round_trips_and_fits() -> None:
    h = "sha256:" + "ab" * 32
    text = describe(h, 7, "a-project-with-a-long-name" * 5)
    assert len(text) <= DESCRIPTION_MAX
    assert parse_content_hash(text) == h
    assert parse_content_hash(describe(h, 3, "demo")) == h
    assert parse_content_hash("someone else's layer") is None
    assert parse_content_hash(None) is None
    with pytest.raises(PublishError, match="too long"):
        describe("sha256:" + "x" * 300, 1)


def test_find_reusable_takes_newest_compatible_version() -> None:
    h = "sha256:" + "cd" * 32

    def v(n: int, content: str, runtimes: list[str], archs: list[str]) -> dict[str, Any]:
        return {
            "Version": n,
            "LayerVersionArn": f"arn:l:{n}",
            "Description": describe(content, 1),
            "CompatibleRuntimes": runtimes,
            "CompatibleArchitectures": archs,
        }

    versions = [
        v(1, h, [RUNTIME], [ARCH]),
        v(2, h, [RUNTIME], ["x86_64"]),  # wrong architecture
        v(3, "sha256:other", [RUNTIME], [ARCH]),
        v(4, h, [], []),  # lists nothing: accepts any target
        v(5, h, ["python3.11"], [ARCH]),  # wrong runtime
    ]
    assert find_reusable(versions, h, RUNTIME, ARCH) == (4, "arn:l:4")
    assert find_reusable(versions[:3], h, RUNTIME, ARCH) == (1, "arn:l:1")
    assert find_reusable(versions, "sha256:nope", RUNTIME, ARCH) is None


def test_boto3_missing_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = make_manifest(tmp_path, LAYERS)
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(PublishError, match=r"pip install 'hatch-lambda-layers\[publish\]'"):
        pub.publish(manifest, [REGION], log=quiet)


def test_no_region_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--region"):
        pub.publish(make_manifest(tmp_path, LAYERS), [], log=quiet)


# --------------------------------------------------------------------------- against moto


@pytest.mark.usefixtures("moto_endpoint")
def test_first_publish_creates_every_layer_second_uploads_nothing(tmp_path: Path) -> None:
    manifest = make_manifest(tmp_path, LAYERS, license_info="MIT")
    first = pub.publish(manifest, [REGION], log=quiet)
    assert [x.name for x in first.layers] == list(LAYERS)
    assert all(x.uploaded and x.version == 1 for x in first.layers)
    assert [a.kind for a in first.actions] == ["publish"] * 3
    assert first.bytes_uploaded == sum(p.stat().st_size for p in tmp_path.glob("demo-*.zip"))
    for layer in first.layers:
        assert layer.arn == f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:{layer.name}:1"
        got = lam().get_layer_version(LayerName=layer.name, VersionNumber=1)
        assert parse_content_hash(got["Description"]) == layer.content_hash
        assert got["CompatibleRuntimes"] == [RUNTIME]
        assert got["CompatibleArchitectures"] == [ARCH]
        assert got["LicenseInfo"] == "MIT"
    record = read_published(manifest)
    assert record["complete"] is True
    assert [(x["region"], x["name"], x["version"]) for x in record["layers"]] == [
        (REGION, name, 1) for name in LAYERS
    ]

    second = pub.publish(manifest, [REGION], log=quiet)
    assert second.bytes_uploaded == 0
    assert [a.kind for a in second.actions] == ["reuse"] * 3
    assert [x.arn for x in second.layers] == [x.arn for x in first.layers]
    assert not any(x.uploaded for x in second.layers)
    # A no-change publish costs one ListLayerVersions page per layer, nothing else.
    assert second.api_calls == len(LAYERS)
    assert all(versions_of(name) == [1] for name in LAYERS)


@pytest.mark.usefixtures("moto_endpoint")
def test_dependency_bump_publishes_exactly_the_changed_layer(tmp_path: Path) -> None:
    first = pub.publish(make_manifest(tmp_path / "a", LAYERS), [REGION], log=quiet)
    bumped = make_manifest(tmp_path / "b", BUMPED, versions={"demo-volatile": 2})
    report = pub.publish(bumped, [REGION], log=quiet)
    kinds = {a.target: a.kind for a in report.actions}
    assert kinds == {"demo-stable": "reuse", "demo-mid": "reuse", "demo-volatile": "publish"}
    assert (
        report.bytes_uploaded
        == (tmp_path / "b")
        .joinpath(json.loads(bumped.read_text())["layers"][2]["file"])
        .stat()
        .st_size
    )
    assert versions_of("demo-volatile") == [1, 2]
    assert versions_of("demo-stable") == [1]
    assert versions_of("demo-mid") == [1]
    assert [x.arn for x in report.layers[:2]] == [x.arn for x in first.layers[:2]]
    assert report.layers[2].arn.endswith(":layer:demo-volatile:2")
    # Going back to the old dependency reuses version 1: every version is searched.
    again = pub.publish(tmp_path / "a" / "manifest.json", [REGION], log=quiet)
    assert again.bytes_uploaded == 0
    assert again.layers[2].arn == first.layers[2].arn


@pytest.mark.usefixtures("moto_endpoint")
def test_two_regions(tmp_path: Path) -> None:
    manifest = make_manifest(tmp_path, LAYERS)
    report = pub.publish(manifest, [REGION, REGION2], log=quiet)
    assert [(x.region, x.name) for x in report.layers] == [
        (r, n) for r in (REGION, REGION2) for n in LAYERS
    ]
    assert all(f":lambda:{x.region}:" in x.arn for x in report.layers)
    for region in (REGION, REGION2):
        assert all(versions_of(name, region) == [1] for name in LAYERS)
    # A region added later gets its layers; the others are reused.
    later = pub.publish(manifest, [REGION, REGION2, "us-west-2"], log=quiet)
    assert [a.kind for a in later.actions] == ["reuse"] * 6 + ["publish"] * 3


def _s3(region: str = REGION) -> Any:
    return client("s3", region)


@pytest.mark.usefixtures("moto_endpoint")
def test_big_zip_goes_through_s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = {"python/big.py": "x = 1\n" * 400}
    manifest = make_manifest(tmp_path, {"demo-small": LAYERS["demo-stable"], "demo-big": big})
    data = json.loads(manifest.read_text())["layers"]
    small_size, big_size = data[0]["size_zipped"], data[1]["size_zipped"]
    cap = (small_size + big_size) // 2
    monkeypatch.setattr(check, "DIRECT_UPLOAD_MAX", cap)
    assert small_size < cap < big_size
    for region in (REGION, REGION2):
        config = {} if region == "us-east-1" else {"LocationConstraint": region}
        _s3(region).create_bucket(Bucket=f"layers-{region}", CreateBucketConfiguration=config)
    report = pub.publish(manifest, [REGION, REGION2], s3_bucket="layers-{region}", log=quiet)
    assert report.bytes_uploaded == 2 * (small_size + big_size)
    key = f"demo-big/{data[1]['sha256']}.zip"
    for region in (REGION, REGION2):
        bucket = f"layers-{region}"
        assert _s3(region).head_object(Bucket=bucket, Key=key)["ContentLength"] == big_size
        keys = [o["Key"] for o in _s3(region).list_objects_v2(Bucket=bucket)["Contents"]]
        assert keys == [key]  # the small layer went directly
        got = lam(region).get_layer_version(LayerName="demo-big", VersionNumber=1)
        assert got["Content"]["CodeSha256"] == data[1]["code_sha256"]
    assert f"upload via s3://layers-{REGION2}/{key}" in report.actions[3].detail

    again = pub.publish(manifest, [REGION, REGION2], s3_bucket="layers-{region}", log=quiet)
    assert again.bytes_uploaded == 0
    assert [a.kind for a in again.actions] == ["reuse"] * 4


@pytest.mark.usefixtures("moto_endpoint")
def test_s3_object_left_by_a_failed_run_is_not_uploaded_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = make_manifest(tmp_path, {"demo-big": {"python/big.py": "y = 2\n" * 300}})
    monkeypatch.setattr(check, "DIRECT_UPLOAD_MAX", 10)
    _s3().create_bucket(Bucket="layer-bucket")
    counter = [0]
    with pytest.raises(PublishError, match="injected failure"):
        pub.publish(
            manifest,
            [REGION],
            s3_bucket="layer-bucket",
            session_factory=lambda r: _FailingSession(r, 1, counter),
            log=quiet,
        )
    assert read_published(manifest)["bytes_uploaded"] > 0
    dry = pub.publish(manifest, [REGION], s3_bucket="layer-bucket", dry_run=True, log=quiet)
    assert "already in s3://layer-bucket/demo-big/" in dry.actions[0].detail
    report = pub.publish(manifest, [REGION], s3_bucket="layer-bucket", log=quiet)
    assert report.bytes_uploaded == 0
    assert report.layers[0].uploaded
    assert versions_of("demo-big") == [1]


@pytest.mark.usefixtures("moto_endpoint")
def test_s3_bucket_in_another_region_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = make_manifest(tmp_path, LAYERS)
    monkeypatch.setattr(check, "DIRECT_UPLOAD_MAX", 10)
    _s3(REGION2).create_bucket(
        Bucket="far-bucket", CreateBucketConfiguration={"LocationConstraint": REGION2}
    )
    with pytest.raises(
        PublishError, match=f"'far-bucket' is in {REGION2}, not {REGION}: .*'{{region}}'"
    ):
        pub.publish(manifest, [REGION2, REGION], s3_bucket="far-bucket", log=quiet)
    # Every region is checked before anything is written, so REGION2 got nothing either.
    assert _s3(REGION2).list_objects_v2(Bucket="far-bucket").get("KeyCount") == 0
    assert all(versions_of(name, REGION2) == [] for name in LAYERS)


@pytest.mark.usefixtures("moto_endpoint")
def test_big_zip_without_usable_bucket_fails_before_any_upload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = make_manifest(tmp_path, LAYERS)
    sizes = sorted(x["size_zipped"] for x in json.loads(manifest.read_text())["layers"])
    monkeypatch.setattr(check, "DIRECT_UPLOAD_MAX", sizes[-1] - 1)  # only the last one is big
    with pytest.raises(PublishError, match="need --s3-bucket: demo-"):
        pub.publish(manifest, [REGION], log=quiet)
    with pytest.raises(PublishError, match="'no-such-bucket' cannot be used in us-east-1: 404"):
        pub.publish(manifest, [REGION], s3_bucket="no-such-bucket", log=quiet)
    assert all(versions_of(name) == [] for name in LAYERS)
    assert not (tmp_path / "published.json").exists()


@pytest.mark.usefixtures("moto_endpoint")
def test_zip_checks_run_before_any_call(tmp_path: Path) -> None:
    manifest = make_manifest(tmp_path, LAYERS)
    zips = sorted(tmp_path.glob("demo-*.zip"))
    zips[0].write_bytes(b"not the zip the manifest describes")
    zips[1].unlink()
    with pytest.raises(PublishError) as info:
        pub.publish(manifest, [REGION], log=quiet)
    message = str(info.value)
    assert zips[1].name in message
    assert "does not exist" in message
    assert zips[0].name in message
    assert "the manifest says" in message
    assert "\n" not in message
    assert all(versions_of(name) == [] for name in LAYERS)


def test_zip_named_outside_the_manifest_directory_is_refused_before_any_call(
    tmp_path: Path,
) -> None:
    """`../outside.zip` (or an absolute path) is refused even when that file exists and has the
    recorded sha256: publish reads nothing the manifest's directory does not hold."""
    dist = tmp_path / "dist"
    manifest = make_manifest(dist, LAYERS, functions={"api": {"app.py": "x"}})
    data = json.loads(manifest.read_text())
    first = data["layers"][0]["file"]
    (dist / first).rename(tmp_path / "outside.zip")
    data["layers"][0]["file"] = "../outside.zip"
    (dist / data["functions"][0]["file"]).rename(tmp_path / "code.zip")
    data["functions"][0]["file"] = str(tmp_path / "code.zip")
    manifest.write_text(json.dumps(data))
    sessions: list[str] = []

    def no_aws(region: str) -> Any:
        sessions.append(region)
        raise AssertionError("no AWS session may be opened")

    with pytest.raises(PublishError) as info:
        pub.publish(manifest, [REGION], function_name="api", session_factory=no_aws, log=quiet)
    message = str(info.value)
    assert "layer 'demo-stable' names '../outside.zip', which is not a plain file name" in message
    assert f"function 'api' names {str(tmp_path / 'code.zip')!r}" in message
    assert "\n" not in message
    assert sessions == []
    assert not (dist / "published.json").exists()


@pytest.mark.usefixtures("moto_endpoint")
def test_function_gets_code_then_layers_in_manifest_order_then_external(tmp_path: Path) -> None:
    ext = lam().publish_layer_version(
        LayerName="vendor-extension", Content={"ZipFile": _zip({"extensions/x": "x"})}
    )["LayerVersionArn"]
    make_function("demo-fn", {"app.py": "def handler(e, c): return 0\n"})
    code = {"app.py": "def handler(e, c): return 1\n"}
    manifest = make_manifest(tmp_path, LAYERS, functions={"api": code}, external=[ext])

    report = pub.publish(manifest, [REGION], function_name="demo-fn", log=quiet)
    assert [a.kind for a in report.actions] == ["publish"] * 3 + ["update-code", "update-layers"]
    config = lam().get_function(FunctionName="demo-fn")["Configuration"]
    expected = [x.arn for x in report.layers] + [ext]
    assert [x["Arn"] for x in config["Layers"]] == expected
    fn = json.loads(manifest.read_text())["functions"][0]
    assert config["CodeSha256"] == fn["code_sha256"]
    assert report.functions == (
        pub.FunctionUpdate(REGION, "demo-fn", fn["code_sha256"], True, tuple(expected), True),
    )
    assert read_published(manifest)["functions"][0]["layers"] == expected

    again = pub.publish(manifest, [REGION], function_name="demo-fn", log=quiet)
    assert [a.kind for a in again.actions] == ["reuse"] * 3 + ["skip-code"]
    assert again.bytes_uploaded == 0
    assert again.api_calls == len(LAYERS) + 1  # + GetFunction; no update, so no waiting
    assert again.functions[0].code_updated is False
    assert again.functions[0].layers_updated is False

    # A dependency bump: only the layer ARN at its place in the list changes.
    bumped = make_manifest(
        tmp_path / "b",
        BUMPED,
        functions={"api": code},
        external=[ext],
        versions={"demo-volatile": 2},
    )
    third = pub.publish(bumped, [REGION], function_name="demo-fn", log=quiet)
    assert [a.kind for a in third.actions] == [
        "reuse",
        "reuse",
        "publish",
        "skip-code",
        "update-layers",
    ]
    config = lam().get_function(FunctionName="demo-fn")["Configuration"]
    assert [x["Arn"] for x in config["Layers"]] == [*expected[:2], third.layers[2].arn, ext]


@pytest.mark.usefixtures("moto_endpoint")
def test_function_choice_and_runtime_are_checked(tmp_path: Path) -> None:
    two = make_manifest(
        tmp_path / "two", LAYERS, functions={"api": {"a.py": ""}, "worker": {"w.py": ""}}
    )
    with pytest.raises(PublishError, match="matches none of the manifest's functions api, worker"):
        pub.publish(two, [REGION], function_name="other", log=quiet)
    iam = client("iam")
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam().create_function(
        FunctionName="old-fn",
        Runtime="python3.11",
        Role=role,
        Handler="a.h",
        Code={"ZipFile": _zip({"a.py": ""})},
    )
    one = make_manifest(tmp_path / "one", LAYERS, functions={"api": {"a.py": "1"}})
    with pytest.raises(PublishError, match=r"runs python3\.11/x86_64 but the build targets"):
        pub.publish(one, [REGION], function_name="old-fn", log=quiet)
    assert all(versions_of(name) == [] for name in LAYERS)
    with pytest.raises(
        PublishError, match=r"reading function 'gone' in us-east-1 failed: ResourceNotFound"
    ):
        pub.publish(one, [REGION], function_name="gone", log=quiet)


class _FailingSession:
    """A real boto3 session whose Lambda client raises on the n-th PublishLayerVersion."""

    def __init__(self, region: str, fail_on: int, counter: list[int]) -> None:
        self._session = boto3.session.Session(region_name=region)
        self._fail_on, self._counter = fail_on, counter

    def client(self, service: str, **kwargs: Any) -> Any:
        real = self._session.client(service, **kwargs)
        return _FailingClient(real, self._fail_on, self._counter)


class _FailingClient:
    def __init__(self, real: Any, fail_on: int, counter: list[int]) -> None:
        self._real, self._fail_on, self._counter = real, fail_on, counter

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def publish_layer_version(self, **kwargs: Any) -> Any:
        self._counter[0] += 1
        if self._counter[0] == self._fail_on:
            raise ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": "injected\nfailure"}},
                "PublishLayerVersion",
            )
        return self._real.publish_layer_version(**kwargs)


@pytest.mark.usefixtures("moto_endpoint")
def test_failure_part_way_then_rerun_finishes_without_duplicates(tmp_path: Path) -> None:
    manifest = make_manifest(tmp_path, LAYERS)
    counter = [0]
    with pytest.raises(PublishError) as info:
        pub.publish(
            manifest,
            [REGION],
            session_factory=lambda r: _FailingSession(r, 2, counter),
            log=quiet,
        )
    assert str(info.value) == (
        "publishing layer 'demo-mid' in us-east-1 failed: AccessDeniedException: injected failure"
    )
    record = read_published(manifest)
    assert record["complete"] is False
    assert [x["name"] for x in record["layers"]] == ["demo-stable"]
    assert versions_of("demo-stable") == [1]
    assert versions_of("demo-mid") == []

    report = pub.publish(manifest, [REGION], log=quiet)
    assert [a.kind for a in report.actions] == ["reuse", "publish", "publish"]
    assert all(versions_of(name) == [1] for name in LAYERS)
    assert read_published(manifest)["complete"] is True


@pytest.mark.usefixtures("moto_endpoint")
def test_dry_run_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_function("demo-fn", {"app.py": "old"})
    pub.publish(make_manifest(tmp_path / "a", LAYERS), [REGION], log=quiet)
    before = lam().get_function(FunctionName="demo-fn")["Configuration"]
    bumped = make_manifest(
        tmp_path / "b", BUMPED, functions={"api": {"app.py": "new"}}, versions={"demo-volatile": 2}
    )
    report = pub.publish(bumped, [REGION], function_name="demo-fn", dry_run=True)
    out = capsys.readouterr().out
    assert report.dry_run
    assert report.bytes_uploaded == 0
    assert [a.kind for a in report.actions] == [
        "reuse",
        "reuse",
        "publish",
        "update-code",
        "update-layers",
    ]
    assert "demo-volatile: would publish demo-volatile-" in out
    assert "demo-fn: would update code" in out
    assert "demo-volatile:<new>" in out
    assert f"{report.actions[2].bytes + report.actions[3].bytes:,} bytes would be uploaded" in out
    assert versions_of("demo-volatile") == [1]
    after = lam().get_function(FunctionName="demo-fn")["Configuration"]
    assert after["CodeSha256"] == before["CodeSha256"]
    assert not after.get("Layers")
    assert not (tmp_path / "b" / "published.json").exists()


@pytest.mark.usefixtures("moto_endpoint")
def test_missing_credentials_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(
        PublishError,
        match="listing versions of layer 'demo-stable' in us-east-1 failed: NoCredentialsError",
    ):
        pub.publish(make_manifest(tmp_path, LAYERS), [REGION], log=quiet)


# --------------------------------------------------------------------------- examples


_TF_MIRROR = """
provider_installation {
  filesystem_mirror {
    path    = "%s"
    include = ["registry.terraform.io/hashicorp/*"]
  }
  direct {
    exclude = ["registry.terraform.io/*/*"]
  }
}
"""


def _terraform(tmp_path: Path) -> tuple[str, Path, dict[str, str]]:
    """terraform, a copy of the example, and an environment using the offline provider."""
    terraform = shutil.which("terraform")
    plugins = Path("/opt/tf-plugins")
    if terraform is None or not plugins.is_dir():
        pytest.skip("terraform or its offline provider directory /opt/tf-plugins is missing")
    work = tmp_path / "terraform"
    shutil.copytree(EXAMPLES / "terraform", work)
    rc = tmp_path / "terraformrc"
    rc.write_text(_TF_MIRROR % plugins)  # links the provider instead of copying 700 MB
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "TF_CLI_CONFIG_FILE": str(rc),
        "TF_IN_AUTOMATION": "1",
    }
    init = [terraform, "init", "-backend=false", "-input=false", "-no-color"]
    done = subprocess.run(
        init, cwd=work, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return terraform, work, env


def test_terraform_example_validates(tmp_path: Path) -> None:
    terraform, work, env = _terraform(tmp_path)
    done = subprocess.run(
        [terraform, "validate", "-no-color"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success" in done.stdout


@pytest.mark.slow
@pytest.mark.usefixtures("moto_endpoint")
def test_terraform_example_applies_and_publish_reuses_its_layers(tmp_path: Path) -> None:
    """terraform apply against moto; a second plan is empty, and `publish` finds the versions
    Terraform created (same description) and uploads nothing."""
    terraform, work, env = _terraform(tmp_path)
    env.update({k: v for k, v in os.environ.items() if k.startswith("AWS_")})
    manifest = make_manifest(tmp_path / "dist", LAYERS, functions={"api": {"app.py": "x"}})
    iam = client("iam", REGION2)
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    variables = [f"-var=manifest_path={manifest}", f"-var=function_role_arn={role}"]
    for args in (["apply", "-auto-approve"], ["plan", "-detailed-exitcode"]):
        done = subprocess.run(
            [terraform, *args, "-input=false", "-no-color", *variables],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr  # plan: 0 means no changes
    config = lam(REGION2).get_function(FunctionName="my-function")["Configuration"]
    expected = [f"arn:aws:lambda:{REGION2}:{ACCOUNT}:layer:{n}:1" for n in LAYERS]
    assert [x["Arn"] for x in config["Layers"]] == expected
    report = pub.publish(manifest, [REGION2], function_name="my-function", log=quiet)
    assert report.bytes_uploaded == 0
    assert [a.kind for a in report.actions] == ["reuse"] * 3 + ["skip-code"]


def test_sam_parameters_script(tmp_path: Path) -> None:
    manifest = make_manifest(
        tmp_path, LAYERS, functions={"api": {"app.py": "x"}}, external=["arn:x:1"]
    )
    published = {
        "complete": True,
        "layers": [
            {"region": r, "name": n, "version": 1, "arn": f"arn:{r}:{n}:1"}
            for r in (REGION, REGION2)
            for n in reversed(list(LAYERS))  # the manifest's order decides, not this one
        ],
    }
    (tmp_path / "published.json").write_text(json.dumps(published))
    staged = tmp_path / "sam" / "build" / "function.zip"
    script = EXAMPLES / "sam" / "sam_params.py"
    done = subprocess.run(
        [
            sys.executable,
            str(script),
            str(manifest),
            "--region",
            REGION2,
            "--stage-code",
            str(staged),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == [
        "LayerArns=" + ",".join(f"arn:{REGION2}:{n}:1" for n in LAYERS) + ",arn:x:1",
        f"Runtime={RUNTIME}",
        f"Architecture={ARCH}",
        "Handler=app.handler",
    ]
    assert staged.read_bytes() == (tmp_path / "function-api.zip").read_bytes()
    published["complete"] = False
    (tmp_path / "published.json").write_text(json.dumps(published))
    failed = subprocess.run(
        [sys.executable, str(script), str(manifest), "--region", REGION2],
        capture_output=True,
        text=True,
        check=False,
    )
    assert failed.returncode != 0
    assert "unfinished publish" in failed.stderr
    # Another region failed, this one finished: its parameters are good.
    published["regions"] = {REGION: {"complete": False}, REGION2: {"complete": True}}
    (tmp_path / "published.json").write_text(json.dumps(published))
    finished = subprocess.run(
        [sys.executable, str(script), str(manifest), "--region", REGION2],
        capture_output=True,
        text=True,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr


_FAKE_CDK = {
    "constructs.py": "class Construct:\n    pass\n",
    "aws_cdk/__init__.py": """
import json, os
RECORD = []
class App:
    def synth(self):
        with open(os.environ["CDK_RECORD"], "w") as fh:
            json.dump(RECORD, fh)
class Stack:
    def __init__(self, scope, construct_id, **kwargs):
        pass
class RemovalPolicy:
    RETAIN = "retain"
class Duration:
    @staticmethod
    def seconds(n):
        return n
""",
    "aws_cdk/aws_lambda.py": """
from aws_cdk import RECORD
class ILayerVersion:
    pass
class RuntimeFamily:
    PYTHON = "python"
class Runtime:
    def __init__(self, name, family):
        self.name = name
class Architecture:
    ARM_64 = "arm64"
    X86_64 = "x86_64"
class Code:
    @staticmethod
    def from_asset(path):
        return path
class LayerVersion(ILayerVersion):
    def __init__(self, scope, cid, **kw):
        self.ref = kw["layer_version_name"]
        RECORD.append(["layer", cid, kw["code"], kw["compatible_runtimes"][0].name,
                       kw["compatible_architectures"], kw["description"]])
    @staticmethod
    def from_layer_version_arn(scope, cid, arn):
        layer = ILayerVersion()
        layer.ref = arn
        return layer
class Function:
    def __init__(self, scope, cid, **kw):
        RECORD.append(["function", kw["runtime"].name, kw["architecture"], kw["handler"],
                       kw["code"], [x.ref for x in kw["layers"]]])
""",
}


def test_cdk_app_reads_the_manifest(tmp_path: Path) -> None:
    """The CDK example run against a recording stand-in for aws_cdk (no CDK installed here)."""
    fake = tmp_path / "fake"
    for name, text in _FAKE_CDK.items():
        (fake / name).parent.mkdir(parents=True, exist_ok=True)
        (fake / name).write_text(text)
    dist = tmp_path / "dist"
    manifest = make_manifest(dist, LAYERS, functions={"api": {"app.py": "x"}}, external=["arn:x:1"])
    record = tmp_path / "record.json"
    env = {**os.environ, "PYTHONPATH": str(fake), "LAMBDA_MANIFEST": str(manifest)}
    env["CDK_RECORD"] = str(record)
    subprocess.run([sys.executable, str(EXAMPLES / "cdk" / "app.py")], env=env, check=True)
    entries = json.loads(manifest.read_text())
    got = json.loads(record.read_text())
    assert got[:3] == [
        [
            "layer",
            f"Layer-{x['name']}",
            str(dist / x["file"]),
            RUNTIME,
            [ARCH],
            describe(x["content_hash"], x["version"]),
        ]
        for x in entries["layers"]
    ]
    assert got[3] == [
        "function",
        RUNTIME,
        ARCH,
        "app.handler",
        str(dist / "function-api.zip"),
        [*LAYERS, "arn:x:1"],
    ]


def test_workflow_builds_then_publishes() -> None:
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load((EXAMPLES / "github-actions" / "deploy.yml").read_text())
    runs = [s.get("run", "") for s in workflow["jobs"]["deploy"]["steps"]]
    build = next(i for i, r in enumerate(runs) if r.strip() == "uv build")
    publish_steps = [
        i for i, r in enumerate(runs) if "lambda-layers publish dist/lambda/manifest.json" in r
    ]
    assert publish_steps
    assert min(publish_steps) > build
    assert "--dry-run" in runs[publish_steps[0]]
    assert "--dry-run" not in runs[publish_steps[-1]]
