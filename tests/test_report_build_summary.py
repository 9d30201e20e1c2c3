"""The line a build ends with, where people look: `uv build` (the wheel hook) and hatchling's
builder (what `hatch build -t lambda` runs) both say where the artifacts are and how big they
are. Offline: the fixture project, built without isolation in this environment."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.projects import UV, Fixture, copy_project

pytestmark = [
    pytest.mark.skipif(UV is None, reason="uv is not installed (pip install uv)"),
    pytest.mark.usefixtures("isolated_cache"),
]

SUMMARY = re.compile(
    r"Lambda artifacts in (?P<where>\S+): 3 layers [\d.]+ (bytes|KB), "
    r"1 function [\d.]+ (bytes|KB) \(manifest\.json\)"
)


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_hatchling_builder_ends_with_the_summary(fixture: Fixture, tmp_path: Path) -> None:
    project = copy_project(fixture.project, tmp_path / "p")
    cmd = [sys.executable, "-m", "hatchling", "build", "-t", "lambda", "-d", "out"]
    proc = _run(cmd, project, {**os.environ})
    assert proc.returncode == 0, proc.stderr
    found = SUMMARY.search(proc.stdout + proc.stderr)
    assert found, proc.stderr
    assert found["where"] == "out/lambda"


def test_uv_build_ends_with_the_summary(fixture: Fixture, tmp_path: Path) -> None:
    assert UV is not None
    project = copy_project(fixture.project, tmp_path / "p")
    env = {**os.environ, "UV_NO_CONFIG": "1", "HATCH_BUILD_HOOK_ENABLE_LAMBDA": "1"}
    cmd = [UV, "build", "--wheel", "--no-build-isolation", "--python", sys.executable]
    proc = _run([*cmd, "--out-dir", str(tmp_path / "dist"), "--no-progress"], project, env)
    assert proc.returncode == 0, proc.stderr
    found = SUMMARY.search(proc.stdout + proc.stderr)
    assert found, proc.stderr
    assert found["where"] == str(tmp_path / "dist" / "lambda")
