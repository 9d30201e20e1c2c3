"""End to end, without the network: fixture wheels on a local index, a real `uv lock` against it,
then `lambda-layers build`, hatchling's builder and the wheel build hook, and an emulated Lambda
run of the result.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import textwrap
import time
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from packaging.utils import parse_wheel_filename

from hatch_lambda_layers import cli
from hatch_lambda_layers.layers.elf import zip_elf_machines
from hatch_lambda_layers.targets import get_target
from tests.lambdaemu import run_handler
from tests.localindex import serve_index
from tests.projects import (
    UV,
    Fixture,
    build,
    copy_project,
    digests,
    provided_runtime,
    uv_lock,
    zip_names,
)
from tests.wheelfactory import make_elf, make_wheel

pytestmark = [
    pytest.mark.skipif(UV is None, reason="uv is not installed (pip install uv)"),
    pytest.mark.usefixtures("isolated_cache"),
]


def test_build_runs_like_lambda(fixture: Fixture, tmp_path: Path) -> None:
    project = copy_project(fixture.project, tmp_path / "p")
    assert build(project) == 0
    out = project / "dist" / "lambda"
    manifest = json.loads((out / "manifest.json").read_text())

    assert manifest["schema_version"] == 1
    assert manifest["target"] == {
        "runtime": "python3.11",
        "architecture": "x86_64",
        "python_version": "3.11",
        "glibc": "2.26",
    }
    provided = {p["name"]: p for p in manifest["provided"]}
    assert provided["cloudsdk"]["reason"] == "provided"
    assert provided["sdkcore"]["reason"] == "only needed by provided cloudsdk"
    bundled = {p["name"] for layer in manifest["layers"] for p in layer["packages"]}
    assert bundled == {"greet", "textfmt", "nativeext"}  # textfmt stays: greet needs it too
    assert 1 <= len(manifest["layers"]) <= 5
    for layer in manifest["layers"]:
        names = zip_names(out / layer["file"])
        assert names
        assert all(n.startswith("python/") for n in names)
        assert not any(n.startswith(("python/cloudsdk", "python/sdkcore")) for n in names)
        assert hashlib.sha256((out / layer["file"]).read_bytes()).hexdigest() == layer["sha256"]
    (function,) = manifest["functions"]
    assert sorted(zip_names(out / function["file"])) == [
        "hello_fn/__init__.py",
        "hello_fn/handler.py",
    ]
    assert manifest["limits"]["ok"] is True

    # The runtime stands in with the provided SDK, as /var/runtime holds boto3 on Lambda.
    runtime = provided_runtime(fixture, tmp_path / "runtime")
    result = run_handler(
        out / "manifest.json", tmp_path / "lambda", {"name": "world"}, runtime_dirs=[runtime]
    )
    assert result["result"] == {"message": "HELLO WORLD!", "native": "native", "sdk": "1.40.0"}
    origins = result["origins"]
    assert "/var/task/hello_fn/" in origins["hello_fn"]
    assert "/opt/python/greet/" in origins["greet"]
    assert "/opt/python/textfmt/" in origins["textfmt"]
    assert str(runtime) in origins["cloudsdk"]


def test_second_build_elsewhere_later_is_byte_identical(fixture: Fixture, tmp_path: Path) -> None:
    first = copy_project(fixture.project, tmp_path / "one")
    assert build(first) == 0
    time.sleep(1.1)
    second = copy_project(fixture.project, tmp_path / "elsewhere" / "two")
    assert build(second) == 0
    a, b = first / "dist" / "lambda", second / "dist" / "lambda"
    zips_a = {k: v for k, v in digests(a).items() if k.endswith(".zip")}
    zips_b = {k: v for k, v in digests(b).items() if k.endswith(".zip")}
    assert zips_a == zips_b
    assert len(zips_a) >= 2
    # Rebuilding in place changes nothing: same files, same versions, nothing marked changed.
    before = digests(a)
    assert build(first) == 0
    assert digests(a) == before | {"manifest.json": digests(a)["manifest.json"]}
    manifest = json.loads((a / "manifest.json").read_text())
    assert all(layer["changed"] is False and layer["version"] == 1 for layer in manifest["layers"])


def test_shared_objects_and_wheels_match_the_target(fixture: Fixture, tmp_path: Path) -> None:
    project = copy_project(fixture.project, tmp_path / "p")
    assert build(project) == 0
    out = project / "dist" / "lambda"
    manifest = json.loads((out / "manifest.json").read_text())
    machines: dict[str, str] = {}
    for layer in manifest["layers"]:
        machines.update(zip_elf_machines(out / layer["file"]))
    assert machines
    assert set(machines.values()) == {"x86_64"}
    # Every wheel the build used carries a tag of the target's list.
    target = get_target("python3.11", "x86_64")
    used = list(fixture.cache.rglob("*.whl"))
    assert used
    for wheel in used:
        _, _, _, tags = parse_wheel_filename(wheel.name)
        assert any(target.tag_rank(t) is not None for t in tags), wheel.name
    assert not any("aarch64" in w.name for w in used)


def _error_keeps_previous(
    project: Path, capsys: pytest.CaptureFixture[str], expected_status: int
) -> str:
    out = project / "dist" / "lambda"
    before = digests(out)
    capsys.readouterr()
    assert build(project) == expected_status
    err = capsys.readouterr().err
    assert digests(out) == before, "an earlier build's artifacts must stay intact"
    assert not [p for p in out.iterdir() if p.name.startswith(".staging")]
    # Warnings may come first (--quiet keeps them); the error itself is one line.
    lines = [line for line in err.splitlines() if line.strip()]
    assert all(line.startswith("warning: ") for line in lines[:-1]), err
    assert "Traceback" not in err
    return lines[-1]


def _build_fails_with_extra_wheel(
    fixture: Fixture,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    dependency: str,
    make: Callable[[Path], object],
    *,
    extra_dependencies: Sequence[str] = (),
) -> str:
    """A good build first; then add `dependency` (a wheel `make` writes) to the index and the
    project, re-lock, and check the rebuild fails with exit 1 leaving the first build intact."""
    wheels = tmp_path / "more-wheels"
    wheels.mkdir()
    for w in fixture.wheels.glob("*.whl"):
        shutil.copy(w, wheels)
    make(wheels)
    project = copy_project(fixture.project, tmp_path / "p")
    assert build(project) == 0
    with serve_index(wheels) as index:
        pyproject = project / "pyproject.toml"
        pyproject.write_text(
            pyproject.read_text().replace(
                '"cloudsdk"]',
                "".join(f', "{d}"' for d in ("cloudsdk", dependency, *extra_dependencies))[2:]
                + "]",
                1,
            )
        )
        uv_lock(project, index, tmp_path / "uv-cache")
        return _error_keeps_previous(project, capsys, 1)


def test_bad_config_is_exit_2_and_keeps_artifacts(
    fixture: Fixture, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_project(fixture.project, tmp_path / "p")
    assert build(project) == 0
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            'runtime = "python3.11"', 'runtime = "python3.11"\nmax-layers = 7\nrutime = 1'
        )
    )
    message = _error_keeps_previous(project, capsys, 2)
    assert "tool.lambda-layers.max-layers must be an integer from 1 to 5, got 7" in message
    assert "did you mean tool.lambda-layers.runtime" in message


def test_tampered_lock_hash_is_exit_1_and_keeps_artifacts(
    fixture: Fixture, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_project(fixture.project, tmp_path / "p")
    assert build(project) == 0
    lock = project / "uv.lock"
    text = lock.read_text()
    wheel = next(fixture.wheels.glob("greet-*.whl"))
    good = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert good in text
    lock.write_text(text.replace(good, "0" * 64))
    message = _error_keeps_previous(project, capsys, 1)
    assert "greet" in message
    assert "0" * 64 in message
    assert good in message


def test_wheel_with_parent_path_is_refused(
    fixture: Fixture, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = _build_fails_with_extra_wheel(
        fixture,
        tmp_path,
        capsys,
        "evil",
        lambda d: make_wheel(
            d, "evil", "1.0", {"evil/__init__.py": ""}, raw_members=[("../escape.py", b"x")]
        ),
    )
    assert "evil" in message
    assert "../escape.py" in message


def test_over_the_size_limit_names_the_largest_packages(
    fixture: Fixture, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 263 MB of zeros deflate to a few hundred KB: over 262,144,000 bytes unzipped.
    message = _build_fails_with_extra_wheel(
        fixture,
        tmp_path,
        capsys,
        "hugedata",
        lambda d: make_wheel(
            d,
            "hugedata",
            "3.0",
            {"hugedata/__init__.py": "", "hugedata/blob.bin": bytes(263_000_000)},
            compresslevel=1,
        ),
    )
    assert "262,144,000" in message
    assert "hugedata 3.0" in message
    assert "263.0 MB" in message


def test_a_lock_older_than_pyproject_is_refused(
    fixture: Fixture, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """pyproject.toml gained a dependency uv.lock does not pin: building from the stale lock
    would silently leave it out."""
    project = copy_project(fixture.project, tmp_path / "p")
    assert build(project) == 0
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"cloudsdk"]', '"cloudsdk", "absent"]', 1))
    message = _error_keeps_previous(project, capsys, 1)
    assert "uv.lock: does not pin absent, which the project requires" in message


def test_every_broken_limit_is_named_at_once_total_first(
    fixture: Fixture, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Over the unzipped total and over the direct-upload limit: both are named, the total
    first (upload = "s3" alone would not fix it), each with the ways out and figures."""

    def both(directory: Path) -> None:
        noise = random.Random(5).randbytes(56_000_000)  # does not compress: > 50 MiB zipped
        make_wheel(
            directory,
            "hugedata",
            "3.0",
            {"hugedata/__init__.py": "", "hugedata/noise.bin": noise},
            compression=zipfile.ZIP_STORED,
        )
        make_wheel(
            directory,
            "zerodata",
            "1.0",
            {"zerodata/__init__.py": "", "zerodata/blob.bin": bytes(210_000_000)},
            compresslevel=1,
        )

    message = _build_fails_with_extra_wheel(
        fixture, tmp_path, capsys, "hugedata", both, extra_dependencies=("zerodata",)
    )
    total_at, upload_at = message.index("262,144,000"), message.index("direct upload")
    assert message.startswith("lambda-layers: error: 2 Lambda limits broken")
    assert total_at < upload_at
    assert 'fits as mode = "image"' in message
    assert 'fits as mode = "efs" (function 0.0 MB of 262.1 MB, 266.0 MB of dependencies' in message
    assert "hugedata 3.0 56.0 MB" in message
    assert 'upload = "s3"' in message


def _hatchling_build(
    project: Path, target: str, out: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m hatchling build -t TARGET -d OUT` in this environment (no isolation)."""
    return subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", target, "-d", str(out)],
        cwd=project,
        env=env if env is not None else {**os.environ},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_hatchling_builder_and_wheel_hook_give_the_same_layers(
    fixture: Fixture, tmp_path: Path
) -> None:
    """`hatch build -t lambda` and `uv build` run hatchling's builder and the wheel hook; run both
    in this environment (no build isolation: the network is not needed) and compare hashes."""
    project = copy_project(fixture.project, tmp_path / "p")
    env = {**os.environ}
    a = _hatchling_build(project, "lambda", tmp_path / "a", env)
    assert a.returncode == 0, a.stdout + a.stderr
    assert UV is not None
    b = subprocess.run(
        [
            UV,
            "build",
            "--wheel",
            "--no-build-isolation",
            "--out-dir",
            str(tmp_path / "b"),
            "--no-progress",
        ],
        cwd=project,
        env={**env, "UV_NO_CONFIG": "1", "HATCH_BUILD_HOOK_ENABLE_LAMBDA": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert b.returncode == 0, b.stdout + b.stderr
    ma = json.loads((tmp_path / "a" / "lambda" / "manifest.json").read_text())
    mb = json.loads((tmp_path / "b" / "lambda" / "manifest.json").read_text())
    assert [(x["name"], x["content_hash"], x["sha256"]) for x in ma["layers"]] == [
        (x["name"], x["content_hash"], x["sha256"]) for x in mb["layers"]
    ]
    assert ma["functions"][0]["sha256"] == mb["functions"][0]["sha256"]
    assert list((tmp_path / "b").glob("hello_fn-0.1.0-*.whl"))


def test_editable_install_skips_the_hook(
    fixture: Fixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = copy_project(fixture.project, tmp_path / "p")
    from hatchling.builders.wheel import WheelBuilder

    monkeypatch.setenv("HATCH_BUILD_HOOK_ENABLE_LAMBDA", "1")
    # build() runs the build hooks (build_editable alone would not): editable skips ours,
    # a standard wheel runs it.
    (editable,) = WheelBuilder(str(project)).build(
        directory=str(tmp_path / "ed"), versions=["editable"]
    )
    assert Path(editable).exists()
    assert not (tmp_path / "ed" / "lambda").exists()
    (wheel,) = WheelBuilder(str(project)).build(
        directory=str(tmp_path / "std"), versions=["standard"]
    )
    assert Path(wheel).exists()
    assert (tmp_path / "std" / "lambda" / "manifest.json").exists()


def test_module_entry_point_and_exit_status(fixture: Fixture, tmp_path: Path) -> None:
    project = copy_project(fixture.project, tmp_path / "p")
    proc = subprocess.run(
        [sys.executable, "-m", "hatch_lambda_layers", "plan", str(project)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HATCH_LAMBDA_LAYERS_CACHE_DIR": str(fixture.cache)},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "layer hello-fn-" in proc.stdout
    assert "Limits:" in proc.stdout
    assert not (project / "dist").exists(), "plan writes nothing"
    bad = subprocess.run(
        [sys.executable, "-m", "hatch_lambda_layers", "build", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr


def test_locked_release_needing_newer_glibc_is_refused_at_build_time(
    fixture: Fixture, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Like numpy/pyarrow's recent cp311 releases: only manylinux_2_28 wheels, which cannot load
    on python3.11's glibc 2.26. uv locks them happily; the build must refuse them."""

    def releases(directory: Path) -> None:
        for version, tag in [
            ("2.1.0", "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"),
            ("2.2.6", "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"),
            ("2.3.0", "cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64"),
        ]:
            files: dict[str, bytes | str] = {
                "fastnum/__init__.py": "",
                "fastnum/_core.so": make_elf("x86_64"),
            }
            make_wheel(directory, "fastnum", version, files, tag=tag)

    message = _build_fails_with_extra_wheel(fixture, tmp_path, capsys, "fastnum", releases)
    assert "fastnum 2.3.0 has no wheel for python3.11 x86_64" in message
    assert "manylinux_2_28_x86_64" in message
    # One round: the newest release that loads, and the constraint that picks it.
    assert "the newest release that ships one is 2.2.6" in message
    assert '"fastnum<2.3.0"' in message


def test_hatchling_builder_reports_config_errors_in_one_line(
    fixture: Fixture, tmp_path: Path
) -> None:
    project = copy_project(fixture.project, tmp_path / "p")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('runtime = "python3.11"', 'runtime = "python3.9"')
    )
    proc = _hatchling_build(project, "lambda", tmp_path / "out")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert "tool.lambda-layers.runtime must be one of" in proc.stdout + proc.stderr
    assert 'got "python3.9"' in proc.stdout + proc.stderr


def _configure(project: Path, extra: str, *, drop_handler: bool = False) -> None:
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    if drop_handler:
        text = text.replace('handler = "hello_fn.handler.handler"\n', "")
    pyproject.write_text(text + textwrap.dedent(extra))


def test_fat_mode_puts_function_and_dependencies_at_the_zip_root(
    fixture: Fixture, tmp_path: Path
) -> None:
    project = copy_project(fixture.project, tmp_path / "p")
    _configure(project, 'mode = "fat"\n')
    assert build(project) == 0
    out = project / "dist" / "lambda"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["layers"] == []
    (function,) = manifest["functions"]
    names = zip_names(out / function["file"])
    assert "hello_fn/handler.py" in names
    assert "greet/__init__.py" in names
    assert not any(n.startswith(("python/", "cloudsdk/", "sdkcore/")) for n in names)
    runtime = provided_runtime(fixture, tmp_path / "runtime")
    result = run_handler(
        out / "manifest.json", tmp_path / "l", {"name": "fat"}, runtime_dirs=[runtime]
    )
    assert result["result"]["message"] == "HELLO FAT!"
    assert "/var/task/greet/" in result["origins"]["greet"]


def test_several_functions_share_the_layers(fixture: Fixture, tmp_path: Path) -> None:
    project = copy_project(fixture.project, tmp_path / "p")
    (project / "src" / "hello_fn" / "other.py").write_text(
        "def handler(e, c):\n    return 'other'\n"
    )
    _configure(
        project,
        """
        [tool.lambda-layers.functions.api]
        handler = "hello_fn.handler.handler"
        include = ["hello_fn/__init__.py", "hello_fn/handler.py"]

        [tool.lambda-layers.functions.worker]
        handler = "hello_fn.other.handler"
        include = ["hello_fn/__init__.py", "hello_fn/other.py"]
        """,
        drop_handler=True,
    )
    assert build(project) == 0
    out = project / "dist" / "lambda"
    manifest = json.loads((out / "manifest.json").read_text())
    functions = {f["name"]: f for f in manifest["functions"]}
    assert set(functions) == {"api", "worker"}
    assert sorted(zip_names(out / functions["worker"]["file"])) == [
        "hello_fn/__init__.py",
        "hello_fn/other.py",
    ]
    assert functions["worker"]["handler"] == "hello_fn.other.handler"
    result = run_handler(out / "manifest.json", tmp_path / "l", {}, function="worker")
    assert result["result"] == "other"


def test_functions_with_identical_zips_are_flagged(
    fixture: Fixture, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_project(fixture.project, tmp_path / "p")
    _configure(
        project,
        """
        [tool.lambda-layers.functions.api]
        handler = "hello_fn.handler.handler"

        [tool.lambda-layers.functions.worker]
        handler = "hello_fn.handler.handler"
        include = ["hello_fn/**"]

        [tool.lambda-layers.functions.slim]
        handler = "hello_fn.handler.handler"
        include = ["hello_fn/handler.py"]
        """,
        drop_handler=True,
    )
    capsys.readouterr()
    assert cli.main(["build", str(project)]) == 0
    err = capsys.readouterr().err
    assert "functions api, worker get identical zips" in err
    assert "slim" not in err.split("identical zips")[0]


def test_external_layers_take_slots(
    fixture: Fixture, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_project(fixture.project, tmp_path / "p")
    arns = [f"arn:aws:lambda:eu-west-1:123456789012:layer:ext{i}:1" for i in range(3)]
    _configure(project, f"external-layers = {json.dumps(arns)}\n")
    assert build(project) == 0
    manifest = json.loads((project / "dist" / "lambda" / "manifest.json").read_text())
    assert manifest["external_layers"] == arns
    assert len(manifest["layers"]) <= 2
    assert manifest["limits"]["layers_used"] == len(manifest["layers"]) + 3 <= 5
    capsys.readouterr()
    _configure(project, "max-layers = 3\n")
    assert build(project) == 2
    assert "max-layers" in capsys.readouterr().err


def test_compile_and_strip_through_the_build(fixture: Fixture, tmp_path: Path) -> None:
    """compile = true ships unchecked-hash bytecode made by a 3.11 interpreter (this one runs
    3.11 for the fixture's python3.11 target); the layers still run like Lambda."""
    if sys.version_info[:2] != (3, 11):
        pytest.skip("the fixture targets python3.11")
    project = copy_project(fixture.project, tmp_path / "p")
    _configure(project, "compile = true\nstrip = true\n")
    assert build(project) == 0
    out = project / "dist" / "lambda"
    manifest = json.loads((out / "manifest.json").read_text())
    names = [n for layer in manifest["layers"] for n in zip_names(out / layer["file"])]
    assert "python/greet/__pycache__/__init__.cpython-311.pyc" in names
    runtime = provided_runtime(fixture, tmp_path / "runtime")
    result = run_handler(
        out / "manifest.json", tmp_path / "l", {"name": "pyc"}, runtime_dirs=[runtime]
    )
    assert result["result"]["message"] == "HELLO PYC!"
    # The bytecode the layer ships is what Python loaded (its recorded path is Lambda's).
    pyc = tmp_path / "l" / "opt" / "python" / "greet" / "__pycache__" / "__init__.cpython-311.pyc"
    assert pyc.read_bytes()[4:8] == b"\x01\x00\x00\x00"  # unchecked-hash flags
    assert b"/opt/python/greet/__init__.py" in pyc.read_bytes()


def test_without_a_lock_resolves_against_the_configured_index(
    fixture: Fixture, tmp_path: Path
) -> None:
    project = copy_project(fixture.project, tmp_path / "p")
    (project / "uv.lock").unlink()
    _configure(project, f'index-url = "{fixture.index.url}"\n')
    assert build(project) == 0
    out = project / "dist" / "lambda"
    manifest = json.loads((out / "manifest.json").read_text())
    bundled = {p["name"]: p["version"] for layer in manifest["layers"] for p in layer["packages"]}
    assert bundled == {"greet": "1.0.0", "textfmt": "2.1.0", "nativeext": "0.5.0"}
    assert {p["name"] for p in manifest["provided"]} == {"cloudsdk", "sdkcore"}
    # The same packages as from the lock: the layers are byte-identical to a locked build.
    locked = copy_project(fixture.project, tmp_path / "locked")
    assert build(locked) == 0
    other = json.loads((locked / "dist" / "lambda" / "manifest.json").read_text())
    assert [x["content_hash"] for x in manifest["layers"]] == [
        x["content_hash"] for x in other["layers"]
    ]


def test_without_a_lock_each_index_page_is_fetched_once(fixture: Fixture, tmp_path: Path) -> None:
    """One index client serves resolution, metadata and release history: every project page
    and every metadata file is asked for once per build (a cold cache; wheels are downloaded
    once each too)."""
    project = copy_project(fixture.project, tmp_path / "p")
    (project / "uv.lock").unlink()
    _configure(project, f'index-url = "{fixture.index.url}"\n')
    seen = len(fixture.index.paths())
    assert build(project) == 0
    asked = fixture.index.paths()[seen:]
    pages = [p for p in asked if p.startswith("/simple/")]
    assert pages, "the build resolved against the index"
    assert len(pages) == len(set(pages)), sorted(pages)
    metadata = [p for p in asked if p.endswith(".metadata")]
    assert len(metadata) == len(set(metadata)), sorted(metadata)
    # Release history for every bundled package came from the same pages (no second pass).
    manifest = json.loads((project / "dist" / "lambda" / "manifest.json").read_text())
    sources = {p["change_source"] for layer in manifest["layers"] for p in layer["packages"]}
    assert sources <= {"release-cadence", "unknown"}


def test_hook_follows_hatchlings_enable_conventions(fixture: Fixture, tmp_path: Path) -> None:
    project = copy_project(fixture.project, tmp_path / "p")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            "[tool.hatch.build.targets.wheel.hooks.lambda]\n",
            "[tool.hatch.build.targets.wheel.hooks.lambda]\nenable-by-default = false\n",
        )
    )
    from hatchling.builders.wheel import WheelBuilder

    WheelBuilder(str(project)).build(directory=str(tmp_path / "off"), versions=["standard"])
    assert not (tmp_path / "off" / "lambda").exists()
    env = {**os.environ, "HATCH_BUILD_HOOK_ENABLE_LAMBDA": "true"}
    proc = _hatchling_build(project, "wheel", tmp_path / "on", env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "on" / "lambda" / "manifest.json").exists()


def test_pip_wheel_writes_where_the_environment_says(fixture: Fixture, tmp_path: Path) -> None:
    """pip builds into a temporary directory and keeps only the wheel: the artifacts go to
    HATCH_LAMBDA_LAYERS_OUTPUT_DIR instead."""
    project = copy_project(fixture.project, tmp_path / "p")
    out = tmp_path / "artifacts"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-build-isolation",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path / "wheels"),
            str(project),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HATCH_LAMBDA_LAYERS_OUTPUT_DIR": str(out)},
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert list((tmp_path / "wheels").glob("hello_fn-0.1.0-*.whl"))
    manifest = json.loads((out / "manifest.json").read_text())
    assert {p["name"] for x in manifest["layers"] for p in x["packages"]} == {
        "greet",
        "textfmt",
        "nativeext",
    }


def test_a_reader_that_stops_early_ends_the_command_quietly(
    fixture: Fixture, tmp_path: Path
) -> None:
    """`lambda-layers plan --format json | head -1`: the pipe closes before the plan is written;
    the command stops with status 1 and no traceback."""
    project = copy_project(fixture.project, tmp_path / "p")
    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is written
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "hatch_lambda_layers", "plan", "--format", "json", str(project)],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
            env={**os.environ, "HATCH_LAMBDA_LAYERS_CACHE_DIR": str(fixture.cache)},
            check=False,
        )
    finally:
        os.close(write)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "BrokenPipeError" not in proc.stderr
