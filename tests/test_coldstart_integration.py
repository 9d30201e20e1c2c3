"""Integration tier: the data workload (pandas, numpy, pyarrow 20, requests on python3.12) with
every file kept (``default-excludes = false``): ``compile = true`` is refused by the unzipped
limit, ``compile = "auto"`` builds under it, and the target's interpreter imports the handler
from the unpacked artifacts without compiling a module of them. Real packages from the index uv
is configured with; skips with a reason when uv, a CPython 3.12 or the index is missing."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from hatch_lambda_layers import cli
from hatch_lambda_layers.layers.interpreters import find_target_python
from hatch_lambda_layers.targets import UNZIPPED_MAX, get_target
from tests.lambdaemu import install_like_lambda
from tests.realindex import lock_from_index

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PYPROJECT = """
[project]
name = "datafn"
version = "0.1.0"
requires-python = ">=3.12"
dependencies = ["pandas", "numpy", "pyarrow==20.*", "requests"]

[tool.hatch.build.targets.wheel]
packages = ["datafn"]

[tool.uv]
environments = ["sys_platform == 'linux' and platform_machine == 'x86_64'"]

[tool.lambda-layers]
runtime = "python3.12"
handler = "datafn.handler.handler"
upload = "s3"
default-excludes = false
"""

HANDLER = """
import numpy as np
import pandas as pd
import pyarrow as pa
import requests


def handler(event, context):
    frame = pd.DataFrame({"x": np.arange(3)})
    return {"rows": pa.Table.from_pandas(frame).num_rows}
"""

# Imports and calls the handler with Lambda's import path, watching every compile of a source.
RUNNER = r"""
import importlib, importlib.machinery, json, sys
paths, handler, watched = json.loads(sys.argv[1])
stdlib = [p for p in sys.path if p and "site-packages" not in p and "dist-packages" not in p]
sys.path[:] = paths + stdlib
compiled = []
original = importlib.machinery.SourceFileLoader.source_to_code
def watch(self, data, path, *args, **kwargs):
    compiled.append(path)
    return original(self, data, path, *args, **kwargs)
importlib.machinery.SourceFileLoader.source_to_code = watch
module, _, attr = handler.rpartition(".")
result = getattr(importlib.import_module(module), attr)({}, None)
print(json.dumps({"result": result, "compiled": [p for p in compiled if p.startswith(watched)]}))
"""


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, str]:
    python = find_target_python(get_target("python3.12"))
    if python is None:
        pytest.skip("no CPython 3.12 here (pyenv or uv can add one)")
    root = tmp_path / "datafn"
    (root / "datafn").mkdir(parents=True)
    (root / "datafn" / "__init__.py").write_text("")
    (root / "datafn" / "handler.py").write_text(textwrap.dedent(HANDLER))
    (root / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT))
    lock_from_index(root, "--python", python)
    return root, python


def _compile(project: Path, setting: str) -> None:
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text().split("compile = ")[0]
    pyproject.write_text(f"{text}compile = {setting}\n")


def test_auto_fits_where_true_is_refused_and_imports_without_compiling(
    project: tuple[Path, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, python = project
    monkeypatch.setenv("HATCH_LAMBDA_LAYERS_CACHE_DIR", str(tmp_path / "cache"))
    _compile(root, "true")
    assert cli.main(["--quiet", "build", str(root)]) == 1
    err = capsys.readouterr().err
    assert "over Lambda's 262,144,000-byte limit" in err
    assert '(1) set compile = "auto"' in err  # the first way out is the one that works
    assert not (root / "dist" / "lambda" / "manifest.json").exists()

    _compile(root, '"auto"')
    assert cli.main(["--quiet", "build", str(root)]) == 0
    manifest_path = root / "dist" / "lambda" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    assert manifest["limits"]["unzipped_total"] <= UNZIPPED_MAX
    assert manifest["limits"]["ok"] is True

    lam = install_like_lambda(manifest_path, tmp_path / "lambda")
    paths = [str(lam / "var" / "task"), str(lam / "opt" / "python")]
    argument = json.dumps([paths, "datafn.handler.handler", str(lam)])
    proc = subprocess.run(
        [python, "-S", "-I", "-c", RUNNER, argument],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=lam / "var" / "task",
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["result"] == {"rows": 3}
    assert report["compiled"] == [], "modules the handler imports at init were compiled on import"
