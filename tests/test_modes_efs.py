"""mode = "efs", offline: the fixture project's dependencies as one reproducible archive for an
EFS mount, function zips with the bootstrap that finds them, and an emulated run with the
archive extracted at a temporary mount path (through the bootstrap, and through PYTHONPATH).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import pytest

from hatch_lambda_layers.config import parse_config
from hatch_lambda_layers.errors import ConfigError
from hatch_lambda_layers.modes.efs import bootstrap_source
from tests.lambdaemu import run_efs
from tests.projects import UV, Fixture, build, copy_project, provided_runtime, zip_names
from tests.test_modes_image import bumped

pytestmark = [
    pytest.mark.skipif(UV is None, reason="uv is not installed (pip install uv)"),
    pytest.mark.usefixtures("isolated_cache"),
]


def _efs_project(fixture: Fixture, path: Path, extra: str = "") -> Path:
    project = copy_project(fixture.project, path)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + textwrap.dedent('mode = "efs"\n' + extra))
    return project


def _manifest(project: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((project / "dist/lambda/manifest.json").read_text())
    return data


def test_efs_archive_and_bootstrap_run_like_lambda(fixture: Fixture, tmp_path: Path) -> None:
    project = _efs_project(fixture, tmp_path / "p")
    assert build(project) == 0
    out = project / "dist/lambda"
    manifest = _manifest(project)
    efs = manifest["efs"]
    assert manifest["layers"] == []
    assert efs["mount_path"] == "/mnt/python"
    assert efs["pythonpath"] == "/mnt/python:/var/runtime"
    assert efs["handler"] == "lambda_layers_efs.handler"
    assert {p["name"] for p in efs["packages"]} == {"greet", "textfmt", "nativeext"}
    archive = out / efs["file"]
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == efs["sha256"]
    names = zip_names(archive)
    assert "greet/__init__.py" in names
    assert not any(n.startswith(("python/", "cloudsdk/", "sdkcore/")) for n in names)
    (function,) = manifest["functions"]
    assert function["handler"] == "hello_fn.handler.handler"
    assert "layers" not in function
    assert sorted(zip_names(out / function["file"])) == [
        "hello_fn/__init__.py",
        "hello_fn/handler.py",
        "lambda_layers_efs.py",
    ]
    with zipfile.ZipFile(out / function["file"]) as zf:
        source = zf.read("lambda_layers_efs.py").decode()
    assert source == bootstrap_source("/mnt/python", "hello_fn.handler.handler")
    # Limits count the function zip (with the bootstrap), not the dependencies on EFS.
    assert manifest["limits"]["unzipped_total"] == function["size_unzipped"]

    runtime = provided_runtime(fixture, tmp_path / "runtime")
    for pythonpath in (False, True):
        root = tmp_path / f"lambda-{pythonpath}"
        result = run_efs(
            out / "manifest.json",
            root,
            {"name": "efs"},
            runtime_dirs=[runtime],
            pythonpath=pythonpath,
        )
        assert result["result"] == {"message": "HELLO EFS!", "native": "native", "sdk": "1.40.0"}
        origins = result["origins"]
        assert f"{root}/mnt/python/greet/" in origins["greet"]
        assert f"{root}/var/task/hello_fn/" in origins["hello_fn"]
        assert str(runtime) in origins["cloudsdk"]


def test_bootstrap_puts_the_mount_right_after_the_function_code(tmp_path: Path) -> None:
    """The mount path goes where layers would be: after /var/task, before the runtime."""
    task, mount = tmp_path / "task", tmp_path / "mnt"
    task.mkdir()
    mount.mkdir()
    (task / "app.py").write_text("import sys\ndef handler(e, c):\n    return sys.path[:3]\n")
    (task / "lambda_layers_efs.py").write_text(bootstrap_source("/mnt/python", "app.handler"))
    code = (
        "import json, sys\n"
        f"sys.path[:0] = [{str(task)!r}, '/var/runtime']\n"
        "import lambda_layers_efs\n"
        "print(json.dumps(lambda_layers_efs.handler({}, None)))\n"
    )
    env = {"LAMBDA_TASK_ROOT": str(task), "LAMBDA_LAYERS_EFS_PATH": str(mount)}
    proc = subprocess.run(
        [sys.executable, "-S", "-I", "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={**os.environ, **env},
    )
    assert json.loads(proc.stdout) == [str(task), str(mount), "/var/runtime"]


def test_mount_path_is_configurable_and_the_archive_reproducible(
    fixture: Fixture, tmp_path: Path
) -> None:
    one = _efs_project(fixture, tmp_path / "one", 'efs-mount-path = "/mnt/deps/py"\n')
    two = _efs_project(fixture, tmp_path / "elsewhere" / "two", 'efs-mount-path = "/mnt/deps/py"\n')
    assert build(one) == 0
    assert build(two) == 0
    a, b = _manifest(one), _manifest(two)
    assert a["efs"]["mount_path"] == "/mnt/deps/py"
    assert a["efs"]["sha256"] == b["efs"]["sha256"]
    assert a["functions"][0]["sha256"] == b["functions"][0]["sha256"]
    result = run_efs(
        one / "dist/lambda/manifest.json",
        tmp_path / "lambda",
        {"name": "deps"},
        runtime_dirs=[provided_runtime(fixture, tmp_path / "runtime")],
    )
    assert "/mnt/deps/py/greet/" in result["origins"]["greet"]
    # Rebuilt in place: the archive is kept as it is.
    archive = one / "dist/lambda" / a["efs"]["file"]
    before = archive.stat().st_mtime_ns
    assert build(one) == 0
    again = _manifest(one)["efs"]
    assert again["changed"] is False
    assert again["version"] == 1
    assert archive.stat().st_mtime_ns == before

    with bumped(fixture, one, tmp_path):
        assert build(one) == 0
    after = _manifest(one)["efs"]
    assert after["changed"] is True
    assert after["version"] == 2
    assert after["file"] != a["efs"]["file"]
    assert not archive.exists()  # the superseded archive is removed with the commit


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            {"mode": "efs", "efs-mount-path": "/opt/python"},
            "tool.lambda-layers.efs-mount-path must be an absolute path under /mnt/",
        ),
        (
            {"mode": "efs", "efs-mount-path": "/mnt/../etc"},
            "tool.lambda-layers.efs-mount-path must be an absolute path under /mnt/",
        ),
        (
            {"mode": "efs", "efs-mount-path": "mnt/python"},
            "tool.lambda-layers.efs-mount-path must be an absolute path under /mnt/",
        ),
        (
            {"efs-mount-path": "/mnt/python"},
            'tool.lambda-layers.efs-mount-path applies only with mode = "efs", not "layers"',
        ),
        ({"mode": "efz"}, 'tool.lambda-layers.mode must be one of "layers", "fat", "image", "efs"'),
    ],
)
def test_efs_configuration_mistakes(table: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"runtime": "python3.12", **table})
    assert expected in str(caught.value)


def test_efs_mount_path_default_and_value() -> None:
    assert parse_config({"runtime": "python3.12", "mode": "efs"}).efs_mount_path == "/mnt/python"
    config = parse_config({"runtime": "python3.12", "mode": "efs", "efs-mount-path": "/mnt/a/b"})
    assert config.efs_mount_path == "/mnt/a/b"


def test_efs_needs_a_handler(
    fixture: Fixture, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _efs_project(fixture, tmp_path / "p")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('handler = "hello_fn.handler.handler"', ""))
    assert build(project) == 2
    assert 'tool.lambda-layers.handler is required with mode = "efs"' in capsys.readouterr().err
