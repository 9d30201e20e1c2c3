"""The wheel build hook writes Lambda artifacts only when a build asks for them: ordinary installs
of the project never run a Lambda build, and so cannot fail because of one (even with a stale
lock), whichever front end builds the wheel."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from hatch_lambda_layers.hatch.build_hook import asked
from tests.projects import UV, Fixture, copy_project

pytestmark = pytest.mark.skipif(UV is None, reason="uv is not installed (pip install uv)")


def _stale(project: Path) -> Path:
    """The project with a dependency its uv.lock does not pin: a Lambda build would fail."""
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"cloudsdk"]', '"cloudsdk", "absent"]', 1))
    return project


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HATCH_BUILD_HOOK")}
    env.pop("HATCH_LAMBDA_LAYERS_OUTPUT_DIR", None)
    # A Lambda build would fill this wheel cache: it staying absent shows none ran.
    return {**env, "HATCH_LAMBDA_LAYERS_CACHE_DIR": str(tmp_path / "lambda-cache"), **extra}


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def _no_lambda_build(tmp_path: Path, project: Path) -> None:
    assert not (tmp_path / "lambda-cache").exists()
    assert not list(project.rglob("manifest.json"))
    assert not list(tmp_path.glob("**/lambda/manifest.json"))


def _venv_seeing_this_environment(path: Path) -> Path:
    """A virtual environment that sees this interpreter's packages (hatchling, the plugin), so
    front ends can build without isolation and without the network."""
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(path)
    return path / "bin" / "python"


def test_pip_install_does_not_build_layers(fixture: Fixture, tmp_path: Path) -> None:
    project = _stale(copy_project(fixture.project, tmp_path / "p"))
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation"]
    proc = _run([*pip, "--target", str(tmp_path / "t"), "."], project, _env(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "t" / "hello_fn" / "handler.py").exists()
    _no_lambda_build(tmp_path, project)


def test_uv_pip_install_does_not_build_layers(fixture: Fixture, tmp_path: Path) -> None:
    assert UV is not None
    project = _stale(copy_project(fixture.project, tmp_path / "p"))
    python = _venv_seeing_this_environment(tmp_path / "venv")
    args = [UV, "pip", "install", "--python", str(python), "--no-deps", "--no-build-isolation"]
    proc = _run([*args, "."], project, _env(tmp_path, UV_NO_CONFIG="1"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _no_lambda_build(tmp_path, project)


def test_uv_sync_no_editable_does_not_build_layers(fixture: Fixture, tmp_path: Path) -> None:
    assert UV is not None
    project = copy_project(fixture.project, tmp_path / "p")
    _venv_seeing_this_environment(tmp_path / "venv")
    env = _env(
        tmp_path,
        UV_NO_CONFIG="1",
        UV_PROJECT_ENVIRONMENT=str(tmp_path / "venv"),
        UV_CACHE_DIR=str(tmp_path / "uv-cache"),
    )
    args = [UV, "sync", "--no-editable", "--no-build-isolation", "--frozen", "--no-progress"]
    proc = _run(args, project, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _no_lambda_build(tmp_path, project)


def test_pip_wheel_without_asking_does_not_build_layers(fixture: Fixture, tmp_path: Path) -> None:
    project = _stale(copy_project(fixture.project, tmp_path / "p"))
    pip = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    proc = _run([*pip, "-w", str(tmp_path / "w"), "."], project, _env(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert list((tmp_path / "w").glob("hello_fn-*.whl"))
    _no_lambda_build(tmp_path, project)


def test_uv_build_when_asked_writes_the_artifacts(fixture: Fixture, tmp_path: Path) -> None:
    assert UV is not None
    project = copy_project(fixture.project, tmp_path / "p")
    env = _env(tmp_path, UV_NO_CONFIG="1", HATCH_BUILD_HOOK_ENABLE_LAMBDA="1")
    args = [UV, "build", "--wheel", "--no-build-isolation", "--no-progress", "-o", "out"]
    proc = _run(args, project, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (project / "out" / "lambda" / "manifest.json").exists()
    # Asked, a broken configuration is the error it should be.
    shutil.rmtree(project / "out")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('runtime = "python3.11"', 'runtime = "3.11"')
    )
    proc = _run(args, project, env)
    assert proc.returncode != 0
    assert "tool.lambda-layers.runtime must be one of" in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("config", "environ", "expected"),
    [
        ({}, {}, False),
        ({}, {"HATCH_BUILD_HOOK_ENABLE_LAMBDA": "1"}, True),
        ({}, {"HATCH_BUILD_HOOK_ENABLE_LAMBDA": "true"}, True),
        ({}, {"HATCH_BUILD_HOOK_ENABLE_LAMBDA": "0"}, False),
        ({}, {"HATCH_BUILD_HOOKS_ENABLE": "1"}, True),
        ({}, {"HATCH_LAMBDA_LAYERS_OUTPUT_DIR": "/tmp/x"}, True),
        ({"enable-by-default": True}, {}, True),
        # hatchling runs a hook with enable-by-default = false only when its variable is set.
        ({"enable-by-default": False}, {}, True),
    ],
)
def test_what_counts_as_asking(
    config: dict[str, object], environ: dict[str, str], expected: bool
) -> None:
    assert asked(config, environ) is expected
