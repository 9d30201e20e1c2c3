"""Integration tier: the HTML report for a real data workload (pandas, numpy and pyarrow for
python3.12), locked with `uv lock` against the user's configured index and built with
`lambda-layers build`, rendered by headless Chromium. The screenshot is the README's picture:
docs/report-treemap.png is rewritten when the rendering differs from it. Skips with a reason
when uv, Chromium or the index is missing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.chromium import CHROMIUM, decode_png, render
from tests.realindex import lock_from_index, unreachable

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
PICTURE = ROOT / "docs" / "report-treemap.png"

PYPROJECT = """
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "data-fn"
version = "1.0.0"
requires-python = ">=3.11"
dependencies = ["pandas", "numpy", "pyarrow"]

[tool.hatch.build.targets.wheel]
packages = ["src/data_fn"]

[tool.lambda-layers]
runtime = "python3.12"
handler = "data_fn.handler.handler"
# pyarrow alone is over 50 MiB zipped, and the three together over 262,144,000 bytes
# unzipped: publish through S3, strip debug symbols, leave out headers and test suites.
upload = "s3"
strip = true
exclude = ["pyarrow/include/", "pyarrow/src/", "**/tests/"]
"""

HANDLER = """
import pandas


def handler(event, context):
    return {"rows": len(pandas.DataFrame({"a": [1, 2, 3]}))}
"""


def _run(cmd: list[str], cwd: Path, timeout: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def data_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    project = tmp_path_factory.mktemp("data") / "data-fn"
    (project / "src" / "data_fn").mkdir(parents=True)
    (project / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT))
    (project / "src" / "data_fn" / "__init__.py").write_text("")
    (project / "src" / "data_fn" / "handler.py").write_text(HANDLER)
    # The running interpreter, so that uv never downloads one; the lock is universal anyway.
    lock_from_index(project, "--python", sys.executable)
    build = [sys.executable, "-m", "hatch_lambda_layers", "build", str(project)]
    proc = _run(build, project, 900)
    if proc.returncode != 0 and unreachable(proc):
        pytest.skip("package index unreachable for the wheels")
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"Lambda artifacts in dist/lambda: \d+ layers? ", proc.stderr), proc.stderr
    return project


def _same_pixels(a: bytes, b: bytes) -> bool:
    return decode_png(a).pixels == decode_png(b).pixels


def test_treemap_of_a_data_workload_is_the_readme_picture(
    data_project: Path, tmp_path: Path
) -> None:
    manifest = json.loads((data_project / "dist" / "lambda" / "manifest.json").read_text())
    names = {p["name"] for layer in manifest["layers"] for p in layer["packages"]}
    assert {"pandas", "numpy", "pyarrow"} <= names
    page = tmp_path / "report.html"
    report = [sys.executable, "-m", "hatch_lambda_layers", "report", "--format", "html"]
    proc = _run([*report, "-o", str(page)], data_project, 120)
    assert proc.returncode == 0, proc.stderr
    html = page.read_text()
    assert "pyarrow" in html
    assert "262,144,000" in html
    shot = tmp_path / "treemap.png"
    result = render(page, tmp_path / "profile", screenshot=shot, size="1280,1060")
    assert result.console == (), result.console
    image = decode_png(shot.read_bytes())
    assert len(image.colours()) > 50, "the screenshot is blank"
    data = shot.read_bytes()
    if not PICTURE.exists() or not _same_pixels(PICTURE.read_bytes(), data):
        PICTURE.parent.mkdir(exist_ok=True)
        PICTURE.write_bytes(data)
    assert os.path.getsize(PICTURE) > 0
