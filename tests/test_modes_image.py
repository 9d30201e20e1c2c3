"""mode = "image", offline: the fixture project (real `uv lock` against wheels on 127.0.0.1)
written as a container build context, checked file by file, materialised as the Dockerfile's
COPY lines say and run like Lambda; reproducible across builds, and a dependency bump moves only
the layer that holds it. When buildah can run here (vfs storage), a real OCI build of the
context gives the same answers with real layer digests.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from hatch_lambda_layers import cli
from hatch_lambda_layers.layers.zipformat import MIN_EPOCH
from tests.lambdaemu import lambda_path, parse_dockerfile, run_image, run_in_root
from tests.localindex import serve_index
from tests.projects import UV, Fixture, build, copy_project, provided_runtime, uv_lock
from tests.wheelfactory import make_wheel

pytestmark = [
    pytest.mark.skipif(UV is None, reason="uv is not installed (pip install uv)"),
    pytest.mark.usefixtures("isolated_cache"),
]

BUILDAH = shutil.which("buildah")


def _image_project(fixture: Fixture, path: Path, extra: str = "") -> Path:
    project = copy_project(fixture.project, path)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text() + textwrap.dedent('mode = "image"\nlayer-overhead = 0\n' + extra)
    )
    return project


def _manifest(project: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((project / "dist/lambda/manifest.json").read_text())
    return data


def _tree(directory: Path) -> dict[str, tuple[int, int, str]]:
    """Every path below `directory`: (mode, mtime, sha256 of a file's bytes or '' for a
    directory)."""
    found: dict[str, tuple[int, int, str]] = {}
    for path in sorted(directory.rglob("*")):
        info = path.lstat()
        digest = "" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
        found[path.relative_to(directory).as_posix()] = (
            stat.S_IMODE(info.st_mode),
            int(info.st_mtime),
            digest,
        )
    return found


def test_image_context_is_the_plan_written_for_a_container_build(
    fixture: Fixture, tmp_path: Path
) -> None:
    project = _image_project(fixture, tmp_path / "p")
    assert build(project) == 0
    manifest = _manifest(project)
    image = manifest["image"]
    assert manifest["layers"] == []
    assert manifest["functions"] == []
    assert image["base"] == "public.ecr.aws/lambda/python:3.11-x86_64"
    assert image["platform"] == "linux/amd64"
    assert image["command"] == ["hello_fn.handler.handler"]
    context = project / "dist/lambda" / image["context"]
    dockerfile = (context / "Dockerfile").read_bytes()
    assert hashlib.sha256(dockerfile).hexdigest() == image["dockerfile_sha256"]
    args, copies, command = parse_dockerfile(dockerfile.decode())
    assert args == {"BASE_IMAGE": image["base"]}
    assert "FROM --platform=linux/amd64 ${BASE_IMAGE}" in dockerfile.decode()
    assert command == ["hello_fn.handler.handler"]
    # One COPY per image layer, in manifest order: the dependencies to /opt, the code last.
    layers = image["layers"]
    assert copies == [(x["dir"] + "/", x["destination"]) for x in layers]
    assert [x["destination"] for x in layers] == ["/opt/"] * (len(layers) - 1) + ["/var/task/"]
    assert len(layers) >= 3  # greet, textfmt, nativeext in two or more layers, then the code
    # Stability order: the chance that a layer changes never decreases along the COPY lines.
    chances = [_change_chance(x) for x in layers[:-1]]
    assert chances == sorted(chances)
    bundled = {p["name"] for x in layers for p in x["packages"]}
    assert bundled == {"greet", "textfmt", "nativeext"}
    for layer in layers[:-1]:
        files = [p for p in (context / layer["dir"]).rglob("*") if p.is_file()]
        assert len(files) == layer["files"]
        assert all(p.relative_to(context / layer["dir"]).parts[0] == "python" for p in files)
        assert sum(p.stat().st_size for p in files) == layer["size_unzipped"]
    assert sorted(p.name for p in (context / "function/hello_fn").iterdir()) == [
        "__init__.py",
        "handler.py",
    ]
    # Fixed modes and dates on every file and directory of the context.
    for name, (mode, mtime, digest) in _tree(context).items():
        assert mtime == MIN_EPOCH, name
        assert mode in ((0o755,) if not digest else (0o644, 0o755)), (name, oct(mode))
    assert manifest["limits"]["unzipped_max"] == 10 * 1024**3
    assert manifest["limits"]["unzipped_total"] == image["size_unzipped"]


def _change_chance(layer: dict[str, Any]) -> float:
    survive = 1.0
    for p in sorted(layer["packages"], key=lambda p: p["name"]):
        survive *= 1.0 - p["change_rate"]
    return 1.0 - survive


def test_image_layers_hold_what_the_layer_zips_hold(fixture: Fixture, tmp_path: Path) -> None:
    """The same plan and the same content: each image layer's content hash is the content
    hash of the layer zip of that name in mode = "layers"."""
    image = _image_project(fixture, tmp_path / "image")
    zips = copy_project(fixture.project, tmp_path / "zips")
    pyproject = zips / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "layer-overhead = 0\n")
    assert build(image) == 0
    assert build(zips) == 0
    from_image = {x["name"]: x["content_hash"] for x in _manifest(image)["image"]["layers"]}
    from_zips = {x["name"]: x["content_hash"] for x in _manifest(zips)["layers"]}
    assert from_image.pop("function")
    assert from_image == from_zips


def test_image_runs_its_handler_as_the_copy_lines_lay_it_out(
    fixture: Fixture, tmp_path: Path
) -> None:
    project = _image_project(fixture, tmp_path / "p")
    assert build(project) == 0
    context = project / "dist/lambda/image"
    runtime = provided_runtime(fixture, tmp_path / "runtime")
    result = run_image(
        context,
        tmp_path / "rootfs",
        {"name": "image"},
        python_version="3.11",
        runtime_dirs=[runtime],
    )
    assert result["result"] == {"message": "HELLO IMAGE!", "native": "native", "sdk": "1.40.0"}
    origins = result["origins"]
    assert "/rootfs/var/task/hello_fn/" in origins["hello_fn"]
    assert "/rootfs/opt/python/greet/" in origins["greet"]
    assert "/rootfs/opt/python/nativeext/" in origins["nativeext"]


def _bumped_index(fixture: Fixture, directory: Path) -> Path:
    """The fixture's wheels plus textfmt 2.2.0."""
    directory.mkdir()
    for wheel in fixture.wheels.glob("*.whl"):
        shutil.copy(wheel, directory)
    make_wheel(
        directory,
        "textfmt",
        "2.2.0",
        {"textfmt/__init__.py": "def shout(s):\n    return s.upper() + '!!'\n"},
    )
    return directory


@contextmanager
def bumped(fixture: Fixture, project: Path, tmp_path: Path) -> Iterator[None]:
    """textfmt 2.2.0 locked for `project`, its index served while the block runs."""
    with serve_index(_bumped_index(fixture, tmp_path / "bumped")) as index:
        uv_lock(project, index, tmp_path / "uv-cache", "--upgrade-package", "textfmt")
        yield


def test_image_is_reproducible_and_a_bump_moves_only_its_layer(
    fixture: Fixture, tmp_path: Path
) -> None:
    first = _image_project(fixture, tmp_path / "one")
    second = _image_project(fixture, tmp_path / "elsewhere" / "two")
    assert build(first) == 0
    assert build(second) == 0
    context_a, context_b = first / "dist/lambda/image", second / "dist/lambda/image"
    assert _tree(context_a) == _tree(context_b)
    before = {x["name"]: x for x in _manifest(first)["image"]["layers"]}
    assert before == {x["name"]: x for x in _manifest(second)["image"]["layers"]}
    assert all(x["version"] == 1 and x["changed"] for x in before.values())
    # Rebuilt in place: same context, nothing changed.
    assert build(first) == 0
    assert _tree(context_a) == _tree(context_b)
    assert not any(x["changed"] for x in _manifest(first)["image"]["layers"])

    with bumped(fixture, first, tmp_path):
        assert build(first) == 0
    after = {x["name"]: x for x in _manifest(first)["image"]["layers"]}
    assert after.keys() == before.keys()
    moved = sorted(n for n in after if after[n]["content_hash"] != before[n]["content_hash"])
    holder = next(n for n, x in before.items() if "textfmt" in {p["name"] for p in x["packages"]})
    assert moved == [holder]
    assert after[holder]["changed"]
    assert after[holder]["version"] == 2
    assert all(not x["changed"] and x["version"] == 1 for n, x in after.items() if n != holder)
    result = run_image(
        context_a,
        tmp_path / "rootfs",
        {"name": "bump"},
        python_version="3.11",
        runtime_dirs=[provided_runtime(fixture, tmp_path / "runtime")],
    )
    assert result["result"]["message"] == "HELLO BUMP!!"


def test_external_layers_are_refused_for_an_image(
    fixture: Fixture, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = "arn:aws:lambda:eu-west-1:123456789012:layer:tools:3"
    project = _image_project(fixture, tmp_path / "p", f'external-layers = ["{arn}"]\n')
    assert build(project) == 2
    err = capsys.readouterr().err
    assert 'tool.lambda-layers.external-layers cannot be used with mode = "image"' in err


# --------------------------------------------------------------------------- a real OCI build


class Buildah:
    """buildah with vfs storage of its own under `root`."""

    def __init__(self, root: Path) -> None:
        assert BUILDAH is not None
        self.base = [
            BUILDAH,
            "--root",
            str(root / "storage"),
            "--runroot",
            str(root / "run"),
            "--storage-driver",
            "vfs",
        ]

    def __call__(self, *args: str, timeout: int = 300) -> str:
        proc = subprocess.run(
            [*self.base, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, "BUILDAH_ISOLATION": "chroot"},
        )
        if proc.returncode != 0:
            raise AssertionError(f"buildah {' '.join(args)} failed:\n{proc.stderr}")
        return proc.stdout.strip()

    def build(self, context: Path, tag: str) -> list[str]:
        """Build the context FROM scratch (the AWS base image is not reachable offline: the
        COPY layers do not depend on it); the image's layer digests (diff IDs)."""
        self(
            "bud",
            "--layers",
            "--quiet",
            "--timestamp",
            "0",
            "--build-arg",
            "BASE_IMAGE=scratch",
            "-t",
            tag,
            str(context),
        )
        inspected = json.loads(self("inspect", "--type", "image", tag))
        diff_ids: list[str] = inspected["OCIv1"]["rootfs"]["diff_ids"]
        return diff_ids


@pytest.fixture
def buildah(tmp_path: Path) -> Buildah:
    if BUILDAH is None:
        pytest.skip("buildah is not installed (apt-get install buildah)")
    runner = Buildah(tmp_path / "buildah")
    try:
        runner("info", timeout=60)
    except (AssertionError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"buildah cannot run here: {exc}")
    return runner


def test_buildah_builds_the_context_with_stable_layer_digests(
    fixture: Fixture, tmp_path: Path, buildah: Buildah
) -> None:
    project = _image_project(fixture, tmp_path / "p")
    assert build(project) == 0
    context = project / "dist/lambda/image"
    layers = _manifest(project)["image"]["layers"]
    first = buildah.build(context, "localhost/hello:1")
    assert len(first) == len(layers)  # one image layer per COPY line
    # Another build elsewhere, from another copy of the project, gives the same digests.
    other = _image_project(fixture, tmp_path / "elsewhere" / "p")
    assert build(other) == 0
    assert Buildah(tmp_path / "buildah-2").build(other / "dist/lambda/image", "hello:2") == first

    # The built image's file system runs the handler with Lambda's import path.
    container = buildah("from", "--name", "hello-run", "localhost/hello:1")
    mounted = Path(buildah("mount", container))
    try:
        assert (mounted / "var/task/hello_fn/handler.py").is_file()
        tree = tmp_path / "root"
        shutil.copytree(mounted, tree, symlinks=True)
    finally:
        buildah("umount", container)
        buildah("rm", container)
    runtime = provided_runtime(fixture, tmp_path / "runtime")
    result = run_in_root(
        tree,
        "hello_fn.handler.handler",
        {"name": "oci"},
        python_version="3.11",
        runtime_dirs=[runtime],
    )
    assert result["result"]["message"] == "HELLO OCI!"
    assert lambda_path(tree, "3.11")[0] in result["origins"]["hello_fn"]

    # A bump moves the digest of the one layer that holds the package, and no other.
    with bumped(fixture, project, tmp_path):
        assert build(project) == 0
    after = _manifest(project)["image"]["layers"]
    digests = buildah.build(context, "localhost/hello:bumped")
    holder = next(
        n for n, x in enumerate(layers) if "textfmt" in {p["name"] for p in x["packages"]}
    )
    assert [x["name"] for x in after] == [x["name"] for x in layers]
    assert [n for n, (a, b) in enumerate(zip(first, digests, strict=True)) if a != b] == [holder]


def test_switching_modes_removes_the_other_modes_artifacts(
    fixture: Fixture, tmp_path: Path
) -> None:
    project = _image_project(fixture, tmp_path / "p")
    out = project / "dist/lambda"
    assert build(project) == 0
    assert (out / "image/Dockerfile").is_file()
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('mode = "image"', 'mode = "efs"'))
    assert build(project) == 0
    efs = _manifest(project)["efs"]["file"]
    assert not (out / "image").exists()
    assert (out / efs).is_file()
    pyproject.write_text(pyproject.read_text().replace('mode = "efs"', 'mode = "layers"'))
    assert build(project) == 0
    assert not (out / efs).exists()
    manifest = _manifest(project)
    assert "image" not in manifest
    assert "efs" not in manifest
    assert sorted(p.name for p in out.glob("*.zip")) == sorted(
        [x["file"] for x in manifest["layers"]] + [f["file"] for f in manifest["functions"]]
    )


def test_image_plan_json_validates_and_shows_the_image_limit(
    fixture: Fixture, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.test_report_plan import _validator

    project = _image_project(fixture, tmp_path / "p")
    assert cli.main(["plan", str(project), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    _validator().validate(report)
    assert report["mode"] == "image"
    assert list(report["limits"]) == ["unzipped"]
    assert report["limits"]["unzipped"]["max"] == 10 * 1024**3
