"""`lambda-layers plan`: the text in plain words, the JSON against its published schema, and the
same figures before and after a build of the same inputs (fixture project, no network)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from hatch_lambda_layers import cli
from hatch_lambda_layers.manifest import Target
from hatch_lambda_layers.report.headroom import LimitUse
from hatch_lambda_layers.report.plan_model import (
    LayerRow,
    PackageRow,
    PlanOrigin,
    PlanReport,
)
from hatch_lambda_layers.report.plan_text import format_plan
from tests.projects import UV, Fixture, build, copy_project

pytestmark = [
    pytest.mark.skipif(UV is None, reason="uv is not installed (pip install uv)"),
    pytest.mark.usefixtures("isolated_cache"),
]

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "docs" / "plan.schema.json"
SOLVER_WORDS = ("heuristic", "lower bound", "expected bytes republished")


def _plan(project: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    capsys.readouterr()
    assert cli.main(["--quiet", "plan", str(project), *extra]) == 0
    return capsys.readouterr().out


def _plan_json(project: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_plan(project, capsys, "--format", "json"))
    return data


def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_plan_json_validates_against_the_published_schema(
    fixture: Fixture, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_project(fixture.project, tmp_path / "p")
    data = _plan_json(project, capsys)
    _validator().validate(data)
    assert data["schema_version"] == 1
    assert data["target"]["runtime"] == "python3.11"
    left_out = {x["name"]: x["reason"] for x in data["dependencies"]["left_out"]}
    assert left_out == {"cloudsdk": "provided", "sdkcore": "only needed by provided cloudsdk"}
    (shared,) = data["dependencies"]["shared_with_left_out"]
    assert shared["name"] == "textfmt"
    assert shared["needed_by"] == ["greet"]
    assert shared["also_needed_by"] == [{"name": "cloudsdk", "provided": True}]
    in_layers = {p["name"] for layer in data["layers"] for p in layer["packages"]}
    assert in_layers == {"greet", "textfmt", "nativeext"}
    assert data["limits"]["layers"]["used"] == len(data["layers"])
    assert data["limits"]["unzipped"]["max"] == 262_144_000
    assert data["plan"]["origin"] == {"kind": "fresh", "path": None}
    # The schema is strict: an undocumented field is an error.
    data["layers"][0]["surprise"] = 1
    assert not _validator().is_valid(data)


def _commit_lock_history(project: Path) -> None:
    """Eight commits of uv.lock in which textfmt's pin moves every time: lock-history rates with
    many decimals (greet: 0.2/9, textfmt: 7.2/9), as a real project's git history gives."""
    real = (project / "uv.lock").read_text()
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=project, env=env, check=True, capture_output=True)

    git("init", "-q")
    for n in range(8):
        text = re.sub(r'(name = "textfmt"\nversion = )"2\.1\.0"', rf'\1"2.0.{n}"', real)
        assert text != real
        (project / "uv.lock").write_text(text if n < 7 else real)
        git("add", "-A")
        git("commit", "-q", "-m", f"lock {n}")


def _without_origin(data: dict[str, Any]) -> dict[str, Any]:
    data = json.loads(json.dumps(data))
    del data["plan"]["origin"]
    return data


def test_plan_figures_are_identical_before_and_after_a_build(
    fixture: Fixture, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """plan, build, plan (the build's plan file), plan (committed): only the origin differs."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    project = copy_project(fixture.project, tmp_path / "p")
    _commit_lock_history(project)
    before = _plan_json(project, capsys)
    sources = {p["change_source"] for layer in before["layers"] for p in layer["packages"]}
    assert sources == {"lock-history"}
    rates = [p["change_rate"] for layer in before["layers"] for p in layer["packages"]]
    assert any(r != round(r, 3) for r in rates)  # many decimals, as estimated
    assert all(r == round(r, 6) for r in rates)  # shown as the plan file records them
    assert build(project) == 0
    after = _plan_json(project, capsys)
    assert after["plan"]["origin"] == {
        "kind": "last-build",
        "path": "dist/lambda/lambda-layers.lock",
    }
    shutil.copy(project / "dist" / "lambda" / "lambda-layers.lock", project)
    committed = _plan_json(project, capsys)
    assert committed["plan"]["origin"] == {"kind": "committed", "path": "lambda-layers.lock"}
    assert _without_origin(after) == _without_origin(before)
    assert _without_origin(committed) == _without_origin(before)
    text_before = _plan(project, capsys)
    assert "Layer plan: the committed lambda-layers.lock" in text_before


def test_plan_text_speaks_plainly(
    fixture: Fixture, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_project(fixture.project, tmp_path / "p")
    # No per-layer overhead: the fixture's small packages get layers of their own.
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "layer-overhead = 0\n")
    text = _plan(project, capsys)
    assert (
        "textfmt 2.1.0: bundled because greet needs it (cloudsdk, provided, needs it too); "
        "add textfmt to provided if the runtime's copy will do"
    ) in text
    assert "Layer plan: planned afresh" in text
    assert re.search(r"changes in about 1 build in \d+; a change re-uploads [\d.]+ \w+", text)
    assert "1 package," in text
    assert "1 packages" not in text
    for word in SOLVER_WORDS:
        assert word not in text
    verbose = _plan(project, capsys, "--verbose")
    assert "expected bytes republished per build" in verbose
    assert "solver: exact optimum" in verbose
    assert build(project) == 0
    again = _plan(project, capsys)
    assert (
        "Layer plan: the plan the last build left in dist/lambda/lambda-layers.lock - "
        "not committed yet"
    ) in again


def _package(name: str, version: str, zipped: int) -> PackageRow:
    return PackageRow(
        name=name,
        version=version,
        size_zipped=zipped,
        size_unzipped=zipped * 3,
        change_rate=0.15,
        change_source="release-cadence",
        layer="demo-core",
        needed_by=("demo",),
    )


def test_plan_columns_hold_long_names_and_versions() -> None:
    packages = (
        _package("a", "1.0", 1_000_000),
        _package("certifi", "2026.10.19.post1+local.build.12345", 140_000),
        _package("a-rather-long-distribution-name-indeed", "0.1", 9_000),
    )
    report = PlanReport(
        project_name="demo",
        project_version="1.0",
        target=Target(
            runtime="python3.12", architecture="arm64", python_version="3.12", glibc="2.34"
        ),
        dependency_source="uv.lock",
        mode="layers",
        bundled=packages,
        left_out=(),
        shared=(),
        layers=(LayerRow("demo-core", packages, 1_149_000, 3_447_000, 0.386, 443_000.0),),
        functions=(),
        expected_bytes=443_000.0,
        single_layer_bytes=443_000.0,
        exact=True,
        lower_bound=None,
        limits=(LimitUse("layers", "layers per function", 1, 5, "layers", "1 built"),),
        external_layers=(),
        origin=PlanOrigin("fresh", None),
    )
    text = format_plan(report)
    rows = [line for line in text.splitlines() if " of builds" in line]
    assert len(rows) == 3
    # Every column starts at the same offset on every row, however long the cells.
    ends = {line.index(" of builds") for line in rows}
    assert len(ends) == 1
    assert "layer demo-core: 3 packages" in text
    assert "changes in about 1 build in 3" in text


def _add_config(project: Path, text: str) -> None:
    path = project / "pyproject.toml"
    path.write_text(path.read_text() + text)


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ('mode = "fat"\n', "No layers (mode = fat)"),
        (
            'external-layers = ["arn:aws:lambda:eu-west-1:123456789012:layer:ext:1"]\n',
            "+ 1 external",
        ),
        ('upload = "s3"\n', "no limit  (upload = s3)"),
    ],
)
def test_plan_for_other_settings_validates_and_reads(
    fixture: Fixture,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    setting: str,
    expected: str,
) -> None:
    project = copy_project(fixture.project, tmp_path / "p")
    _add_config(project, setting)
    _validator().validate(_plan_json(project, capsys))
    assert expected in _plan(project, capsys)
