"""Layers stay stable across builds: a dependency bump republishes only the layer that holds it,
in place and from fresh clones of a repository that commits lambda-layers.lock (offline: fixture
wheels on a local index, real `uv lock` and `uv build`)."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from hatch_lambda_layers import cli
from tests.localindex import LocalIndex, serve_index
from tests.wheelfactory import make_wheel

UV = shutil.which("uv")
GIT = shutil.which("git")
pytestmark = pytest.mark.skipif(UV is None or GIT is None, reason="needs uv and git")

# Eight packages for at most five layers, so packages must share layers; sizes differ a lot.
SIZES = {
    "bigmath": 900_000,
    "dataframes": 600_000,
    "plotting": 300_000,
    "netlib": 120_000,
    "parsers": 60_000,
    "colors": 20_000,
    "tinyutil": 8_000,
    "tick": 30_000,  # the volatile one
}


def _wheel(directory: Path, name: str, version: str) -> None:
    rng = random.Random(f"{name}-{version}")
    make_wheel(
        directory,
        name,
        version,
        {
            f"{name}/__init__.py": f"VERSION = {version!r}\n",
            f"{name}/blob.bin": rng.randbytes(SIZES[name]),  # incompressible: size is real
        },
    )


PYPROJECT = """
[build-system]
requires = ["hatchling", "hatch-lambda-layers"]
build-backend = "hatchling.build"

[project]
name = "stable-fn"
version = "1.0.0"
requires-python = ">=3.11"
dependencies = {deps}

[tool.hatch.build.targets.wheel]
packages = ["src/stable_fn"]

[tool.hatch.build.targets.wheel.hooks.lambda]

[tool.lambda-layers]
runtime = "python3.12"
architecture = "arm64"
handler = "stable_fn.handler"
volatile = ["tick"]
# Small fixture packages: no per-layer overhead, so the partition splits them by change rate.
layer-overhead = 0
"""


def _env(cache: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "UV_CACHE_DIR": str(cache / "uv"),
        "UV_NO_CONFIG": "1",
        "UV_PYTHON_DOWNLOADS": "never",
        # The CI recipe: uv build writes the Lambda artifacts when asked to.
        "HATCH_BUILD_HOOK_ENABLE_LAMBDA": "1",
    }
    env["HATCH_LAMBDA_LAYERS_CACHE_DIR"] = str(cache / "wheels")
    for key in ("UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_EXTRA_INDEX_URL", "UV_INDEX"):
        env.pop(key, None)
    return env


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, f"{cmd}: {proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _lock(project: Path, index: LocalIndex, env: dict[str, str], *upgrade: str) -> None:
    assert UV is not None
    extra = [a for name in upgrade for a in ("--upgrade-package", name)]
    _run([UV, "lock", "--default-index", index.url, "--no-progress", *extra], project, env)


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[tuple[Path, LocalIndex, dict[str, str]]]:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for name in SIZES:
        _wheel(wheels, name, "1.0.0")
    project = tmp_path / "repo"
    (project / "src" / "stable_fn").mkdir(parents=True)
    deps = json.dumps(sorted(SIZES))
    (project / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT.format(deps=deps)))
    (project / "src" / "stable_fn" / "__init__.py").write_text("def handler(e, c):\n    return 1\n")
    env = _env(tmp_path / "cache")
    with serve_index(wheels) as index:
        _lock(project, index, env)
        yield project, index, env


def _layers(manifest_path: Path) -> dict[str, dict[str, object]]:
    data = json.loads(manifest_path.read_text())
    return {layer["name"]: layer for layer in data["layers"]}


def _holder(layers: dict[str, dict[str, object]], package: str) -> str:
    return next(
        name
        for name, layer in layers.items()
        if any(p["name"] == package for p in layer["packages"])  # type: ignore[attr-defined]
    )


def test_bump_rebuilds_only_the_layer_holding_it(
    repo: tuple[Path, LocalIndex, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    project, index, env = repo
    monkeypatch.setenv("HATCH_LAMBDA_LAYERS_CACHE_DIR", env["HATCH_LAMBDA_LAYERS_CACHE_DIR"])
    assert cli.main(["--quiet", "build", str(project)]) == 0
    out = project / "dist" / "lambda"
    before = _layers(out / "manifest.json")
    assert 2 <= len(before) <= 5
    holder = _holder(before, "tick")
    # The volatile package does not drag big stable ones along.
    assert before[holder]["size_zipped"] < 200_000  # type: ignore[operator]
    stat_before = {n: (out / str(x["file"])).stat() for n, x in before.items()}

    _wheel(index.directory, "tick", "1.1.0")
    _lock(project, index, env, "tick")
    assert cli.main(["--quiet", "build", str(project)]) == 0
    after = _layers(out / "manifest.json")

    assert set(after) == set(before)
    for name, layer in after.items():
        old = before[name]
        if name == holder:
            assert layer["changed"] is True
            assert layer["version"] == 2
            assert layer["content_hash"] != old["content_hash"]
            assert layer["file"] != old["file"]
            assert not (out / str(old["file"])).exists()  # replaced, not piled up
        else:
            assert layer["changed"] is False
            assert layer["version"] == 1
            assert (layer["file"], layer["content_hash"], layer["sha256"]) == (
                old["file"],
                old["content_hash"],
                old["sha256"],
            )
            st = (out / str(layer["file"])).stat()
            # Untouched on disk: same inode, same modification time.
            assert (st.st_ino, st.st_mtime_ns) == (
                stat_before[name].st_ino,
                stat_before[name].st_mtime_ns,
            )


def test_fresh_clones_with_committed_plan_differ_only_in_the_bumped_layer(
    repo: tuple[Path, LocalIndex, dict[str, str]], tmp_path: Path
) -> None:
    project, index, env = repo
    assert UV is not None
    assert GIT is not None
    # plan --update writes lambda-layers.lock beside pyproject.toml; commit it with the lock.
    assert cli.main(["--quiet", "plan", str(project), "--update"]) == 0
    assert (project / "lambda-layers.lock").exists()
    git_env = {
        **env,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    _run([GIT, "init", "-q", "-b", "main"], project, git_env)
    (project / ".gitignore").write_text("dist/\n")
    _run([GIT, "add", "-A"], project, git_env)
    _run([GIT, "commit", "-qm", "before"], project, git_env)
    before_commit = _run([GIT, "rev-parse", "HEAD"], project, git_env).strip()

    _wheel(index.directory, "tick", "1.1.0")
    _lock(project, index, env, "tick")
    _run([GIT, "commit", "-qam", "bump tick"], project, git_env)

    manifests = {}
    for label, rev in (("a", before_commit), ("b", "main")):
        clone = tmp_path / f"clone-{label}"
        _run(
            [GIT, "clone", "-q", "--depth", "1", f"file://{project}", str(clone)], tmp_path, git_env
        )
        if rev != "main":
            _run([GIT, "fetch", "-q", "--depth", "1", "origin", rev], clone, git_env)
            _run([GIT, "checkout", "-q", rev], clone, git_env)
        # uv builds the sdist, then the wheel from the sdist: the build hook sees no git history
        # and no earlier dist/, only what the sdist carries.
        _run(
            [UV, "build", "--no-build-isolation", "--no-progress", "-o", str(clone / "dist")],
            clone,
            env,
        )
        manifests[label] = _layers(clone / "dist" / "lambda" / "manifest.json")

    a, b = manifests["a"], manifests["b"]
    assert set(a) == set(b)
    holder = _holder(a, "tick")
    assert _holder(b, "tick") == holder
    for name in a:
        if name == holder:
            assert a[name]["content_hash"] != b[name]["content_hash"]
            assert (a[name]["version"], b[name]["version"]) == (1, 2)
            assert (a[name]["changed"], b[name]["changed"]) == (False, True)
        else:
            assert (
                a[name]["file"],
                a[name]["content_hash"],
                a[name]["sha256"],
                a[name]["version"],
            ) == (
                b[name]["file"],
                b[name]["content_hash"],
                b[name]["sha256"],
                b[name]["version"],
            )
            assert a[name]["changed"] is False
            assert b[name]["changed"] is False
