"""Integration tier: a real dependency that publishes only an sdist (docopt 0.6.2, setup.py
only), locked by `uv lock` against the user's configured index and built into a pure-Python
wheel by the build, then imported the way Lambda loads it. Skips with a reason when the index
cannot be reached."""

from __future__ import annotations

import textwrap
import zipfile
from pathlib import Path

import pytest

from hatch_lambda_layers import cli
from tests.lambdaemu import run_handler
from tests.realindex import lock_from_index

pytestmark = [pytest.mark.integration, pytest.mark.slow]


PYPROJECT = """
[project]
name = "docopt-app"
version = "0.1.0"
requires-python = "==3.11.*"
dependencies = ["docopt==0.6.2"]

[tool.hatch.build.targets.wheel]
packages = ["src/docopt_app"]

[tool.lambda-layers]
runtime = "python3.11"
handler = "docopt_app.handler.handler"
"""

HANDLER = """
import docopt


def handler(event, context):
    return docopt.docopt("Usage: app <name>", argv=[event["name"]])["<name>"]
"""


def test_sdist_only_dependency_from_the_real_index_is_built_and_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "p"
    (project / "src" / "docopt_app").mkdir(parents=True)
    (project / "src" / "docopt_app" / "__init__.py").write_text("")
    (project / "src" / "docopt_app" / "handler.py").write_text(HANDLER)
    (project / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT))
    lock_from_index(project)
    assert "wheels = [" not in (project / "uv.lock").read_text().split('name = "docopt"')[1]
    monkeypatch.setenv("HATCH_LAMBDA_LAYERS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HATCH_LAMBDA_LAYERS_SDIST_TIMEOUT", "300")
    assert cli.main(["--quiet", "build", str(project)]) == 0
    out = project / "dist" / "lambda"
    (layer,) = out.glob("layer-*.zip")
    with zipfile.ZipFile(layer) as zf:
        assert "python/docopt.py" in zf.namelist()
    result = run_handler(out / "manifest.json", tmp_path / "lambda", {"name": "world"})
    assert result["result"] == "world"
