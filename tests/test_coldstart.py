"""compile = "auto" end to end on the fixture project: the layers and the function zip carry the
bytecode of what the handler imports, and a Lambda-like run imports the handler without
compiling anything: the interpreter's own compile step is watched, every compiled module's
source is replaced by code that raises, and no file appears."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from hatch_lambda_layers import cli
from tests.lambdaemu import install_like_lambda
from tests.projects import Fixture, build, copy_project, provided_runtime, zip_names

pytestmark = pytest.mark.usefixtures("isolated_cache")

# Imports the handler the way Lambda's bootstrap does, with every compile of a source watched.
RUNNER = r"""
import importlib, importlib.machinery, json, sys
paths, handler, event, watched = json.loads(sys.argv[1])
stdlib = [p for p in sys.path if p and "site-packages" not in p and "dist-packages" not in p]
sys.path[:] = paths + stdlib
compiled = []
original = importlib.machinery.SourceFileLoader.source_to_code
def watch(self, data, path, *args, **kwargs):
    compiled.append(path)
    return original(self, data, path, *args, **kwargs)
importlib.machinery.SourceFileLoader.source_to_code = watch
module_name, _, attr = handler.rpartition(".")
result = getattr(importlib.import_module(module_name), attr)(event, None)
print(json.dumps({
    "result": result,
    "compiled": [p for p in compiled if p.startswith(watched)],
    "dont_write_bytecode": sys.flags.dont_write_bytecode,
}))
"""


def _configure(project: Path, extra: str) -> None:
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + textwrap.dedent(extra))


def _files(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()}


def _run_like_lambda(manifest: Path, root: Path, runtime: Path) -> dict[str, Any]:
    """Install like Lambda, replace every source that has bytecode by one that raises, import
    and call the handler; the runner's report (after checking that no file was written)."""
    install_like_lambda(manifest, root)
    data = json.loads(manifest.read_text())
    version = data["target"]["python_version"]
    tag = f"cpython-{version.replace('.', '')}"
    replaced = 0
    for source in root.rglob("*.py"):
        if (source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc").is_file():
            source.write_text(f"raise RuntimeError('the source of {source.name} was run')\n")
            replaced += 1
    assert replaced
    before = _files(root)
    paths = [
        str(root / "var" / "task"),
        str(root / "opt" / "python" / "lib" / f"python{version}" / "site-packages"),
        str(root / "opt" / "python"),
        str(runtime),
    ]
    argument = json.dumps([paths, data["functions"][0]["handler"], {"name": "pyc"}, str(root)])
    proc = subprocess.run(
        [sys.executable, "-S", "-I", "-c", RUNNER, argument],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=root / "var" / "task",
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert _files(root) == before, "the run wrote files: something was compiled"
    report: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return report


def test_auto_build_runs_like_lambda_without_compiling(fixture: Fixture, tmp_path: Path) -> None:
    if sys.version_info[:2] != (3, 11):
        pytest.skip("the fixture targets python3.11: the run needs this interpreter to be 3.11")
    project = copy_project(fixture.project, tmp_path / "p")
    _configure(project, 'compile = "auto"\n')
    assert build(project) == 0
    out = project / "dist" / "lambda"
    manifest = json.loads((out / "manifest.json").read_text())
    layer_names = [n for layer in manifest["layers"] for n in zip_names(out / layer["file"])]
    assert "python/greet/__pycache__/__init__.cpython-311.pyc" in layer_names
    assert "python/textfmt/__pycache__/__init__.cpython-311.pyc" in layer_names
    function_names = zip_names(out / manifest["functions"][0]["file"])
    assert "hello_fn/__pycache__/handler.cpython-311.pyc" in function_names
    runtime = provided_runtime(fixture, tmp_path / "runtime")
    report = _run_like_lambda(out / "manifest.json", tmp_path / "lambda", runtime)
    assert report["result"]["message"] == "HELLO PYC!"
    assert report["compiled"] == []
    assert report["dont_write_bytecode"] == 0


def test_plan_shows_the_closure_its_bytecode_and_the_import_trace(
    fixture: Fixture, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if sys.version_info[:2] != (3, 11):
        pytest.skip("the fixture targets python3.11: the trace needs a 3.11 interpreter")
    project = copy_project(fixture.project, tmp_path / "p")
    _configure(project, 'compile = "auto"\n')
    assert cli.main(["--quiet", "plan", str(project)]) == 0
    lines = capsys.readouterr().out.splitlines()
    bytecode = next(line for line in lines if line.startswith("bytecode ("))
    assert bytecode.startswith('bytecode (compile = "auto", CPython 3.11 at ')
    assert "checked against an import trace by python3.11" in bytecode
    function = next(line for line in lines if line.startswith("  function hello-fn"))
    # hello_fn, hello_fn.handler, greet, textfmt, nativeext: at init, all with bytecode
    assert "(hello_fn.handler.handler): imports 5 modules at init" in function
    assert "5 with bytecode" in function
    trace = next(line for line in lines if line.startswith("    import trace:"))
    assert trace.startswith(
        "    import trace: 5 modules at init; 0 missing from the static closure"
    )
    assert "    not on the build machine (stubbed): cloudsdk" in lines


def test_plan_without_compile_says_so(
    fixture: Fixture, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_project(fixture.project, tmp_path / "p")
    assert cli.main(["--quiet", "plan", str(project)]) == 0
    out = capsys.readouterr().out
    assert 'bytecode: none (compile = false); compile = "auto" ships it' in out
    assert "pruned (default-excludes)" in out  # the fixture wheels' WHEEL files
