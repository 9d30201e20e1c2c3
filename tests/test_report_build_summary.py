"""Where people look: the line `uv build` (the wheel hook) and hatchling's builder (what `hatch
build -t lambda` runs) end with, saying where the artifacts are and how big they are; and the
pull-request report of the example CI workflow. Offline: the fixture project, built without
isolation in this environment."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hatch_lambda_layers.report.markdown import MARKER
from tests.projects import UV, Fixture, copy_project

pytestmark = [
    pytest.mark.skipif(UV is None, reason="uv is not installed (pip install uv)"),
    pytest.mark.usefixtures("isolated_cache"),
]

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "deploy" / "github-actions"
SUMMARY = re.compile(
    r"Lambda artifacts in (?P<where>\S+): \d+ layers? [\d.]+ (bytes|KB), "
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


def test_pull_request_workflow_steps_post_a_report(fixture: Fixture, tmp_path: Path) -> None:
    """examples/deploy/github-actions/report.yml, its run steps executed as written (with this
    checkout's lambda-layers): base and pull request built, the markdown and HTML written, the
    comment posted from the markdown file."""
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load((EXAMPLES / "report.yml").read_text())
    steps = {s["name"]: s for s in workflow["jobs"]["report"]["steps"] if "name" in s}
    copy_project(fixture.project, tmp_path / "base")
    head = copy_project(fixture.project, tmp_path / "head")
    (head / "src" / "hello_fn" / "handler.py").write_text("def handler(e, c):\n    return 2\n")
    env = {
        **os.environ,
        **workflow["jobs"]["report"]["env"],
        "LAMBDA_LAYERS": f"{sys.executable} -m hatch_lambda_layers",
    }
    for name in ("Build the base branch", "Build the pull request", "Write the report"):
        proc = _run(["bash", "-ec", steps[name]["run"]], tmp_path, env)
        assert proc.returncode == 0, name + proc.stderr
    text = (tmp_path / "lambda-report.md").read_text()
    assert text.startswith(MARKER)
    assert re.search(r"\*\*0 of \d+ layers? change\*\*; a deploy uploads", text), text
    assert "(1 function)" in text
    assert (tmp_path / "lambda-report.html").read_text().startswith("<!DOCTYPE html>")
    post = steps["Post the comment, or update the one posted before"]["run"]
    assert post.startswith("gh pr comment ")
    assert "--body-file lambda-report.md" in post
