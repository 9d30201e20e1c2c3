"""Functions with their own dependencies in one project, offline (fixture wheels, real
`uv lock`): each attaches only the layers that hold its closure, the manifest lists them, and
each runs like Lambda with only those layers unpacked under /opt."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from hatch_lambda_layers import cli
from hatch_lambda_layers.config import parse_config
from hatch_lambda_layers.errors import ConfigError
from tests.lambdaemu import run_handler
from tests.projects import UV, Fixture, build, copy_project, provided_runtime, zip_names

pytestmark = [
    pytest.mark.skipif(UV is None, reason="uv is not installed (pip install uv)"),
    pytest.mark.usefixtures("isolated_cache"),
]

PROBE = """
import importlib


def handler(event, context):
    found = {}
    for name in ("greet", "textfmt", "nativeext"):
        try:
            importlib.import_module(name)
            found[name] = True
        except ImportError:
            found[name] = False
    return found
"""

FUNCTIONS = """
[tool.lambda-layers.functions.api]
handler = "hello_fn.probe.handler"
dependencies = ["greet"]

[tool.lambda-layers.functions.native]
handler = "hello_fn.probe.handler"
dependencies = ["nativeext"]

[tool.lambda-layers.functions.bare]
handler = "hello_fn.probe.handler"
dependencies = []
"""


def _project(fixture: Fixture, path: Path, functions: str = FUNCTIONS) -> Path:
    project = copy_project(fixture.project, path)
    (project / "src/hello_fn/probe.py").write_text(PROBE)
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text().replace('handler = "hello_fn.handler.handler"\n', "")
    pyproject.write_text(text + "layer-overhead = 0\n" + textwrap.dedent(functions))
    return project


def _manifest(project: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((project / "dist/lambda/manifest.json").read_text())
    return data


def test_each_function_attaches_only_its_closure(fixture: Fixture, tmp_path: Path) -> None:
    project = _project(fixture, tmp_path / "p")
    assert build(project) == 0
    manifest = _manifest(project)
    holds = {x["name"]: {p["name"] for p in x["packages"]} for x in manifest["layers"]}
    functions = {f["name"]: f for f in manifest["functions"]}
    attached = {
        name: set().union(*(holds[x] for x in f["layers"])) if f["layers"] else set()
        for name, f in functions.items()
    }
    assert attached == {"api": {"greet", "textfmt"}, "native": {"nativeext"}, "bare": set()}
    assert not set(functions["api"]["layers"]) & set(functions["native"]["layers"])
    # Each function's layers in manifest order.
    order = [x["name"] for x in manifest["layers"]]
    for f in functions.values():
        assert f["layers"] == [x for x in order if x in f["layers"]]
    expected = {
        "api": {"greet": True, "textfmt": True, "nativeext": False},
        "native": {"greet": False, "textfmt": False, "nativeext": True},
        "bare": {"greet": False, "textfmt": False, "nativeext": False},
    }
    runtime = provided_runtime(fixture, tmp_path / "runtime")
    for name, found in expected.items():
        result = run_handler(
            project / "dist/lambda/manifest.json",
            tmp_path / name,
            {},
            function=name,
            runtime_dirs=[runtime],
        )
        assert result["result"] == found, name
    # The limits record the largest function with its own layers.
    sizes = {x["name"]: x["size_unzipped"] for x in manifest["layers"]}
    largest = max(
        f["size_unzipped"] + sum(sizes[x] for x in f["layers"]) for f in functions.values()
    )
    assert manifest["limits"]["unzipped_total"] == largest


def test_a_function_without_dependencies_of_its_own_gets_every_layer(
    fixture: Fixture, tmp_path: Path
) -> None:
    project = _project(
        fixture,
        tmp_path / "p",
        """
        [tool.lambda-layers.functions.everything]
        handler = "hello_fn.probe.handler"

        [tool.lambda-layers.functions.native]
        handler = "hello_fn.probe.handler"
        dependencies = ["nativeext"]
        """,
    )
    assert build(project) == 0
    manifest = _manifest(project)
    functions = {f["name"]: f for f in manifest["functions"]}
    assert functions["everything"]["layers"] == [x["name"] for x in manifest["layers"]]
    shared = set(functions["native"]["layers"])
    holds = {x["name"]: {p["name"] for p in x["packages"]} for x in manifest["layers"]}
    assert set().union(*(holds[x] for x in shared)) == {"nativeext"}


def test_single_function_manifest_lists_every_layer(fixture: Fixture, tmp_path: Path) -> None:
    project = copy_project(fixture.project, tmp_path / "p")
    assert build(project) == 0
    manifest = _manifest(project)
    (function,) = manifest["functions"]
    assert function["layers"] == [x["name"] for x in manifest["layers"]]


def test_unknown_function_dependency_is_a_config_error(
    fixture: Fixture, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(
        fixture,
        tmp_path / "p",
        """
        [tool.lambda-layers.functions.api]
        handler = "hello_fn.probe.handler"
        dependencies = ["greet", "pyjwt"]
        """,
    )
    assert build(project) == 2
    err = capsys.readouterr().err
    assert 'tool.lambda-layers.functions.api.dependencies lists "pyjwt", which is not a ' in err
    assert "add it to [project] dependencies" in err


def test_function_dependencies_are_names() -> None:
    table = {
        "runtime": "python3.12",
        "functions": {"api": {"handler": "app.handler", "dependencies": ["PyJWT", "pydantic>=2"]}},
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(table)
    assert str(caught.value) == (
        'tool.lambda-layers.functions.api.dependencies[1] "pydantic>=2" is not a distribution '
        'name: write "pydantic"; its version and extras come from the project\'s dependencies '
        "and lock"
    )
    table["functions"] = {"api": {"handler": "app.handler", "dependencies": ["PyJWT"]}}
    (function,) = parse_config(table).functions
    assert function.dependencies == ("pyjwt",)


def test_plan_shows_which_layers_each_function_attaches(
    fixture: Fixture, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(fixture, tmp_path / "p")
    assert cli.main(["plan", str(project), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    functions = {f["name"]: f for f in report["functions"]}
    holds = {x["name"]: {p["name"] for p in x["packages"]} for x in report["layers"]}
    assert functions["bare"]["layers"] == []
    assert set().union(*(holds[x] for x in functions["native"]["layers"])) == {"nativeext"}
    assert cli.main(["plan", str(project)]) == 0
    text = capsys.readouterr().out
    assert "function bare: 3 files" in text
    assert "; attaches no layers" in text


def test_fat_zips_hold_only_each_functions_closure(fixture: Fixture, tmp_path: Path) -> None:
    project = _project(fixture, tmp_path / "p")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("layer-overhead = 0\n", 'mode = "fat"\n'))
    assert build(project) == 0
    out = project / "dist/lambda"
    functions = {f["name"]: f for f in _manifest(project)["functions"]}
    tops = {
        name: {n.split("/")[0] for n in zip_names(out / f["file"])} - {"hello_fn"}
        for name, f in functions.items()
    }
    assert {k: {n for n in v if "dist-info" not in n} for k, v in tops.items()} == {
        "api": {"greet", "textfmt"},
        "native": {"nativeext"},
        "bare": set(),
    }
