"""Integration tier: a bundled dependency that a provided package also needs. aws-xray-sdk needs
botocore; with `provided = ["boto3"]` botocore stays bundled because aws-xray-sdk needs it, and
the plan says so and who keeps it; adding botocore to `provided` leaves it out and cuts what a
build re-uploads. Real packages from the index configured for uv/pip; skips when unreachable."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from hatch_lambda_layers import cli
from tests.realindex import lock_from_index

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PYPROJECT = """
[project]
name = "tracedfn"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["aws-xray-sdk", "boto3"]

[tool.hatch.build.targets.wheel]
packages = ["tracedfn"]

[tool.lambda-layers]
runtime = "python3.12"
handler = "tracedfn.handler"
provided = ["boto3"]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "tracedfn"
    (root / "tracedfn").mkdir(parents=True)
    (root / "tracedfn" / "__init__.py").write_text("def handler(e, c):\n    return 1\n")
    (root / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT))
    lock_from_index(root)
    return root


def _plan(project: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    capsys.readouterr()
    assert cli.main(["--quiet", "plan", str(project), *extra]) == 0
    return capsys.readouterr().out


def test_a_dependency_a_provided_package_also_needs_is_explained(
    project: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HATCH_LAMBDA_LAYERS_CACHE_DIR", str(tmp_path / "cache"))
    text = _plan(project, capsys)
    line = next(x for x in text.splitlines() if x.strip().startswith("botocore "))
    print(line)  # quoted in the closing note
    assert "bundled because aws-xray-sdk needs it" in line
    assert "add botocore to provided if the runtime's copy will do" in line
    before: dict[str, Any] = json.loads(_plan(project, capsys, "--format", "json"))

    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('["boto3"]', '["boto3", "botocore"]'))
    after: dict[str, Any] = json.loads(_plan(project, capsys, "--format", "json"))
    bundled = {p["name"] for layer in after["layers"] for p in layer["packages"]}
    assert "botocore" not in bundled
    assert after["plan"]["expected_bytes_per_build"] < before["plan"]["expected_bytes_per_build"]
    print(
        f"re-uploaded per build: {before['plan']['expected_bytes_per_build']:,.0f} -> "
        f"{after['plan']['expected_bytes_per_build']:,.0f} bytes"
    )
