"""uv workspaces, offline: three members (fixture wheels on 127.0.0.1, one `uv lock` at the
root), built by `lambda-layers build` at the root with one plan and one output directory; each
member's function attaches only the layers of its own closure and runs like Lambda."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest

from hatch_lambda_layers import cli
from hatch_lambda_layers.plan.planfile import PLANFILE_NAME
from tests.lambdaemu import run_handler
from tests.projects import UV, Fixture, build, uv_lock

pytestmark = [
    pytest.mark.skipif(UV is None, reason="uv is not installed (pip install uv)"),
    pytest.mark.usefixtures("isolated_cache"),
]

ROOT = """
[tool.uv.workspace]
members = ["functions/*"]
"""

MEMBER = """
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "{name}"
version = "1.0.0"
requires-python = "==3.11.*"
dependencies = {dependencies}

[tool.hatch.build.targets.wheel]
packages = ["src/{module}"]

[tool.lambda-layers]
runtime = "{runtime}"
handler = "{module}.handler"
layer-overhead = 0
"""

HANDLER = """
import importlib


def handler(event, context):
    found = {{}}
    for name in ("greet", "textfmt", "nativeext"):
        try:
            importlib.import_module(name)
            found[name] = True
        except ImportError:
            found[name] = False
    return {{"member": "{name}", "found": found}}
"""

MEMBERS = {"api": ["greet"], "worker": ["nativeext"], "auth": ["textfmt"]}


def write_workspace(root: Path, runtimes: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text(textwrap.dedent(ROOT))
    for name, dependencies in MEMBERS.items():
        member = root / "functions" / name
        module = f"{name}_fn"
        (member / "src" / module).mkdir(parents=True)
        (member / "pyproject.toml").write_text(
            textwrap.dedent(MEMBER).format(
                name=f"{name}-fn",
                module=module,
                dependencies=json.dumps(dependencies),
                runtime=(runtimes or {}).get(name, "python3.11"),
            )
        )
        (member / "src" / module / "__init__.py").write_text(HANDLER.format(name=name))
    return root


@pytest.fixture(scope="module")
def workspace(fixture: Fixture, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_workspace(tmp_path_factory.mktemp("ws") / "monorepo")
    uv_lock(root, fixture.index, tmp_path_factory.mktemp("uv-cache"))
    return root


def _copy(workspace: Path, dest: Path) -> Path:
    shutil.copytree(workspace, dest, ignore=shutil.ignore_patterns("dist"))
    return dest


def _manifest(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / "dist/lambda/manifest.json").read_text())
    return data


def test_workspace_root_builds_every_member_with_one_plan(workspace: Path, tmp_path: Path) -> None:
    root = _copy(workspace, tmp_path / "monorepo")
    assert build(root) == 0
    manifest = _manifest(root)
    assert manifest["project"] == {"name": "monorepo", "version": "0"}
    assert not (root / "functions/api/dist").exists()  # one output directory, at the root
    assert (root / "dist/lambda" / PLANFILE_NAME).is_file()
    holds = {x["name"]: {p["name"] for p in x["packages"]} for x in manifest["layers"]}
    functions = {f["name"]: f for f in manifest["functions"]}
    assert set(functions) == {"api-fn", "worker-fn", "auth-fn"}
    attached = {
        name: set().union(*(holds[x] for x in f["layers"])) for name, f in functions.items()
    }
    assert attached == {
        "api-fn": {"greet", "textfmt"},
        "worker-fn": {"nativeext"},
        "auth-fn": {"textfmt"},
    }
    # textfmt is shared by the API and the authorizer: one layer both attach.
    (shared,) = set(functions["api-fn"]["layers"]) & set(functions["auth-fn"]["layers"])
    assert holds[shared] == {"textfmt"}
    assert not set(functions["worker-fn"]["layers"]) & set(functions["api-fn"]["layers"])
    for name, dependencies in MEMBERS.items():
        result = run_handler(
            root / "dist/lambda/manifest.json", tmp_path / name, {}, function=f"{name}-fn"
        )
        assert result["result"]["member"] == name
        found = {k for k, v in result["result"]["found"].items() if v}
        closure = {"api": {"greet", "textfmt"}}.get(name, set(dependencies))
        assert found == closure, name


def test_workspace_plan_and_rebuild_are_stable(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _copy(workspace, tmp_path / "monorepo")
    assert cli.main(["plan", str(root)]) == 0
    assert "api-fn" in capsys.readouterr().out
    assert build(root) == 0
    first = _manifest(root)
    assert build(root) == 0
    again = _manifest(root)
    assert [(x["name"], x["sha256"]) for x in again["layers"]] == [
        (x["name"], x["sha256"]) for x in first["layers"]
    ]
    assert not any(x["changed"] for x in again["layers"])


def test_members_must_agree_on_the_shared_plan(
    fixture: Fixture, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_workspace(tmp_path / "monorepo", runtimes={"worker": "python3.12"})
    assert build(root) == 2
    err = capsys.readouterr().err
    assert (
        'functions/worker/pyproject.toml: tool.lambda-layers.runtime is "python3.12" here but '
        '"python3.11" in functions/api/pyproject.toml' in err
    )


def test_a_member_without_a_table_is_not_built(workspace: Path, tmp_path: Path) -> None:
    root = _copy(workspace, tmp_path / "monorepo")
    pyproject = root / "functions/auth/pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(text[: text.index("[tool.lambda-layers]")])
    assert build(root) == 0
    assert {f["name"] for f in _manifest(root)["functions"]} == {"api-fn", "worker-fn"}


def test_a_member_builds_on_its_own_from_the_workspace_lock(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Built from its own directory (`lambda-layers build`, `hatch build -t lambda`, `uv
    build` there), a member is one project, pinned by the workspace's uv.lock."""
    root = _copy(workspace, tmp_path / "monorepo")
    member = root / "functions/auth"
    assert cli.main(["build", str(member)]) == 0
    assert "Reading uv.lock" in capsys.readouterr().err
    manifest = json.loads((member / "dist/lambda/manifest.json").read_text())
    assert {p["name"] for x in manifest["layers"] for p in x["packages"]} == {"textfmt"}
    assert [f["name"] for f in manifest["functions"]] == ["auth-fn"]
