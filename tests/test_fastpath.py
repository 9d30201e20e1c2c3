"""A rebuild with nothing changed: answered from `.build-state.json` by a few `stat` calls,
writing nothing and loading no stage; any change of an input that decides the artifacts makes
it a real build again, and outputs that are not the files the last build wrote are rebuilt."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from hatch_lambda_layers import cli, fingerprint, pipeline
from hatch_lambda_layers.config import load_config
from hatch_lambda_layers.output import STATE_NAME
from hatch_lambda_layers.project import load_project
from tests.projects import UV, Fixture, copy_project, digests
from tests.wheelfactory import make_wheel

pytestmark = [
    pytest.mark.skipif(UV is None, reason="uv is not installed (pip install uv)"),
    pytest.mark.usefixtures("isolated_cache"),
]

NOTHING = "Nothing changed since the last build"


def _build(project: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    """stderr of one `lambda-layers build` (which must succeed)."""
    capsys.readouterr()
    assert cli.main(["build", str(project), *extra]) == 0
    return capsys.readouterr().err


def _snapshot(directory: Path) -> dict[str, tuple[int, int, int]]:
    """(inode, mtime_ns, size) of every file the build leaves, but the lock it takes."""
    return {
        p.name: (p.stat().st_ino, p.stat().st_mtime_ns, p.stat().st_size)
        for p in directory.iterdir()
        if p.is_file() and p.name != ".build.lock"
    }


@pytest.fixture
def built(fixture: Fixture, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A copy of the fixture project built twice: the second build is the no-op that settles
    the manifest (every layer unchanged), after which nothing is left to write."""
    project = copy_project(fixture.project, tmp_path / "p")
    assert NOTHING not in _build(project, capsys)
    assert NOTHING in _build(project, capsys)
    return project


def test_second_build_writes_only_the_settled_manifest_then_nothing(
    fixture: Fixture, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_project(fixture.project, tmp_path / "p")
    out = project / "dist" / "lambda"
    _build(project, capsys)
    first = _snapshot(out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["fingerprint"].startswith("sha256:")
    assert all(layer["changed"] for layer in manifest["layers"])

    err = _build(project, capsys)
    assert f"{NOTHING}: kept 1 layer and 1 function" in err
    second = _snapshot(out)
    # The zips, the plan left to commit and the state are untouched; the manifest is rewritten
    # once, as any rebuild would leave it: nothing marked changed.
    assert {k: v for k, v in second.items() if k != "manifest.json"} == {
        k: v for k, v in first.items() if k != "manifest.json"
    }
    settled = json.loads((out / "manifest.json").read_text())
    assert settled == manifest | {
        "layers": [layer | {"changed": False} for layer in manifest["layers"]]
    }

    assert NOTHING in _build(project, capsys)
    assert _snapshot(out) == second


def test_no_op_loads_no_stage(built: Path) -> None:
    probe = (
        "import sys\n"
        "started = set(sys.modules)\n"  # what site loaded (a .pth may import zipfile, say)
        "import json\n"
        "from hatch_lambda_layers.cli import main\n"
        f"code = main(['build', {str(built)!r}])\n"
        "print(json.dumps([code, sorted(set(sys.modules) - started)]))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    code, modules = json.loads(run.stdout.splitlines()[-1])
    assert code == 0
    assert NOTHING in run.stderr
    heavy = (
        "hatch_lambda_layers.resolve",
        "hatch_lambda_layers.layers",
        "hatch_lambda_layers.plan",
        "hatch_lambda_layers.config",
        "hatch_lambda_layers.project",
        "hatch_lambda_layers.inputs",
        "hatch_lambda_layers.targets",
        "hatch_lambda_layers.report.plan_",
        "hatch_lambda_layers.report.compare",
        "hatch_lambda_layers.report.html",
        "urllib3",
        "packaging",
        "hatchling",
        "resolvelib",
        "zipfile",
        "tomllib",
    )
    assert [m for m in modules if m.startswith(heavy)] == []


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


CHANGES: dict[str, Callable[[Path], object]] = {
    "config": lambda p: _edit(
        p / "pyproject.toml",
        "[tool.lambda-layers]\n",
        ('[tool.lambda-layers]\nexclude = ["*.pyi"]\n'),
    ),
    "metadata": lambda p: _edit(p / "pyproject.toml", 'version = "0.1.0"', 'version = "0.1.1"'),
    "lock file": lambda p: (p / "uv.lock").write_text((p / "uv.lock").read_text() + "# x\n"),
    "plan file": lambda p: shutil.copy(
        p / "dist" / "lambda" / "lambda-layers.lock", p / "lambda-layers.lock"
    ),
    "source file": lambda p: _edit(
        p / "src" / "hello_fn" / "handler.py", "import greet", "import greet  # edited"
    ),
    "new source file": lambda p: (p / "src" / "hello_fn" / "extra.py").write_text("X = 1\n"),
    "file made executable": lambda p: (p / "src" / "hello_fn" / "handler.py").chmod(0o755),
    "gitignore": lambda p: (p / ".gitignore").write_text("*.log\n"),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_every_input_change_is_a_real_build(
    built: Path, change: str, capsys: pytest.CaptureFixture[str]
) -> None:
    CHANGES[change](built)
    assert NOTHING not in _build(built, capsys)
    assert NOTHING in _build(built, capsys)


def test_source_date_epoch_and_tool_version_are_inputs(
    built: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    err = _build(built, capsys)
    assert NOTHING not in err
    assert NOTHING in _build(built, capsys)
    monkeypatch.setattr(fingerprint, "__version__", "99.0.0")
    monkeypatch.setattr(fingerprint, "_TOOL", [])
    assert NOTHING not in _build(built, capsys)
    assert NOTHING in _build(built, capsys)
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert NOTHING not in _build(built, capsys)


def test_a_changed_zip_is_rebuilt_without_verify(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = built / "dist" / "lambda"
    good = digests(out)
    (zip_path,) = out.glob("layer-*.zip")
    with zip_path.open("ab") as fh:
        fh.write(b"tail")  # another size
    assert NOTHING not in _build(built, capsys)
    assert digests(out)[zip_path.name] == good[zip_path.name]

    os.utime(zip_path, ns=(0, 1_000_000_000))  # only the mtime: checked, intact, kept
    assert NOTHING in _build(built, capsys)
    # ...and its new stat facts recorded, so the next build need not hash it again.
    state = json.loads((out / STATE_NAME).read_text())
    assert state["outputs"][zip_path.name][1] == 1_000_000_000


def test_a_tampered_zip_with_its_size_and_mtime_is_caught(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = built / "dist" / "lambda"
    good = digests(out)
    (zip_path,) = out.glob("layer-*.zip")
    before = zip_path.stat()
    data = bytearray(zip_path.read_bytes())
    data[40] ^= 0xFF
    zip_path.write_bytes(bytes(data))
    os.utime(zip_path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert zip_path.stat().st_size == before.st_size
    # The inode's change time cannot be put back, and it too is checked; a state that also
    # records the tampered file's stat facts (as after a restore from a backup) is trusted...
    state_path = out / STATE_NAME
    state = json.loads(state_path.read_text())
    st = zip_path.stat()
    state["outputs"][zip_path.name][:4] = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
    state_path.write_text(json.dumps(state))
    assert NOTHING in _build(built, capsys)
    # ...unless --verify asks for every hash, which rebuilds the zip.
    assert NOTHING not in _build(built, capsys, "--verify")
    assert digests(out)[zip_path.name] == good[zip_path.name]
    assert NOTHING in _build(built, capsys, "--verify")


def test_a_removed_output_or_a_bad_state_is_a_real_build(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = built / "dist" / "lambda"
    (out / "lambda-layers.lock").unlink()
    assert NOTHING not in _build(built, capsys)
    assert (out / "lambda-layers.lock").is_file()
    for bad in ("not json", "{}", json.dumps({"format": 1, "outputs": {"../x": []}})):
        (out / STATE_NAME).write_text(bad)
        assert NOTHING not in _build(built, capsys)
    assert NOTHING in _build(built, capsys)


def test_the_hatch_path_checks_the_project_hatch_reads(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = load_project(built)
    out = built / "dist" / "lambda"
    result = pipeline.build(project, load_config(built), out)
    assert result.unchanged
    # A metadata hook (any metadata hatch computes) cannot be checked without hatch: the
    # command line then reads the project through hatch, and still writes nothing.
    pyproject = built / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n[tool.hatch.metadata.hooks.custom]\n")
    (built / "hatch_build.py").write_text(
        "from hatchling.metadata.plugin.interface import MetadataHookInterface\n\n"
        "class Hook(MetadataHookInterface):\n"
        "    def update(self, metadata):\n"
        "        pass\n"
    )
    assert NOTHING not in _build(built, capsys)
    before = _snapshot(out)
    assert pipeline.unchanged_build(built, out) is None
    assert NOTHING in _build(built, capsys)
    assert _snapshot(out) == before


def test_a_dynamic_version_file_is_an_input(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pyproject = built / "pyproject.toml"
    _edit(pyproject, 'version = "0.1.0"', 'dynamic = ["version"]')
    pyproject.write_text(
        pyproject.read_text() + '\n[tool.hatch.version]\npath = "src/hello_fn/__init__.py"\n'
    )
    init = built / "src" / "hello_fn" / "__init__.py"
    init.write_text('"""hello."""\n__version__ = "1.0"\n')
    assert NOTHING not in _build(built, capsys)
    assert NOTHING in _build(built, capsys)
    init.write_text('"""hello."""\n__version__ = "1.1"\n')
    assert NOTHING not in _build(built, capsys)
    manifest = json.loads((built / "dist" / "lambda" / "manifest.json").read_text())
    assert manifest["project"]["version"] == "1.1"


def test_without_a_lock_file_every_build_is_real(
    fixture: Fixture, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_project(fixture.project, tmp_path / "p")
    (project / "uv.lock").unlink()
    _edit(
        project / "pyproject.toml",
        "[tool.lambda-layers]\n",
        f'[tool.lambda-layers]\nindex-url = "{fixture.index.url}"\n',
    )
    _build(project, capsys)
    assert (
        json.loads((project / "dist" / "lambda" / "manifest.json").read_text())["fingerprint"]
        is None
    )
    assert NOTHING not in _build(project, capsys)


def test_same_inputs_same_fingerprint_anywhere(
    fixture: Fixture, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one = copy_project(fixture.project, tmp_path / "one")
    two = copy_project(fixture.project, tmp_path / "elsewhere" / "two")
    _build(one, capsys)
    _build(two, capsys)
    prints = [
        json.loads((p / "dist" / "lambda" / "manifest.json").read_text())["fingerprint"]
        for p in (one, two)
    ]
    assert prints[0] == prints[1]


def test_a_file_hatch_does_not_select_costs_one_check_through_hatch(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = built / "dist" / "lambda"
    before = _snapshot(out)
    (built / "NOTES.txt").write_text("not shipped\n")
    # The root's mtime moved: only hatch can tell that the selection did not change...
    assert pipeline.unchanged_build(built, out) is None
    assert NOTHING in _build(built, capsys)
    # ...and once it has, the record watches the directories as they are now.
    assert pipeline.unchanged_build(built, out) is not None
    assert {k: v for k, v in _snapshot(out).items() if k != STATE_NAME} == {
        k: v for k, v in before.items() if k != STATE_NAME
    }


def test_a_no_op_still_takes_the_lock_and_cleans_up(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = built / "dist" / "lambda"
    (out / ".staging-killed").mkdir()
    (out / ".manifest.json.x.tmp").write_text("half")
    (out / "layer-orphan-000000000000.zip").write_bytes(b"PK")
    assert NOTHING in _build(built, capsys)
    assert not (out / ".staging-killed").exists()
    assert not (out / ".manifest.json.x.tmp").exists()
    assert not (out / "layer-orphan-000000000000.zip").exists()
    assert (out / ".build.lock").read_text().startswith(f"{os.getpid()} on ")


def test_the_plan_file_name_is_the_planners() -> None:
    from hatch_lambda_layers.plan.planfile import PLANFILE_NAME

    assert fingerprint.PLANFILE == PLANFILE_NAME


def test_a_local_wheel_the_lock_names_is_an_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert UV is not None
    project = tmp_path / "lp"
    (project / "src" / "lpfn").mkdir(parents=True)
    (project / "src" / "lpfn" / "__init__.py").write_text("def handler(e, c):\n    return 1\n")
    make_wheel(project, "localpkg", "1.0", {"localpkg/__init__.py": "X = 1\n"})
    (project / "pyproject.toml").write_text(
        '[project]\nname = "lpfn"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
        'dependencies = ["localpkg"]\n\n'
        '[tool.uv.sources]\nlocalpkg = { path = "localpkg-1.0-py3-none-any.whl" }\n\n'
        '[tool.hatch.build.targets.wheel]\npackages = ["src/lpfn"]\n\n'
        '[tool.lambda-layers]\nruntime = "python3.11"\nhandler = "lpfn.handler"\n'
    )
    env = {**os.environ, "UV_NO_CONFIG": "1"}
    subprocess.run(
        [UV, "lock", "--offline", "--no-progress"], cwd=project, env=env, check=True, timeout=120
    )
    _build(project, capsys)
    assert NOTHING in _build(project, capsys)
    make_wheel(project, "localpkg", "1.0", {"localpkg/__init__.py": "X = 2\n"})
    assert NOTHING not in _build(project, capsys)


@pytest.mark.parametrize("mode", ["image", "efs"])
def test_image_and_efs_builds_are_always_rebuilt(
    fixture: Fixture, tmp_path: Path, capsys: pytest.CaptureFixture[str], mode: str
) -> None:
    """The recorded state covers zips only, not an image's build context: these modes never
    take the shortcut, so an artifact removed by hand comes back on the next build."""
    project = copy_project(fixture.project, tmp_path / "p")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + f'mode = "{mode}"\n')
    out = project / "dist" / "lambda"
    _build(project, capsys)
    assert not (out / STATE_NAME).exists()
    built = json.loads((out / "manifest.json").read_text())
    assert built["fingerprint"] is None
    artifact = out / ("image" if mode == "image" else built["efs"]["file"])
    shutil.rmtree(artifact) if artifact.is_dir() else artifact.unlink()
    assert NOTHING not in _build(project, capsys)
    assert artifact.exists()
