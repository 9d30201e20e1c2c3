"""Reliability of the wheel cache: what it hands out is what was verified. A wheel replaced in
the cache by other bytes (even of the same size, even with its mtime put back) is noticed,
reported and fetched again; a cache path that is a file is a configuration error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hatch_lambda_layers import cli
from hatch_lambda_layers.output import STATE_NAME
from tests.projects import UV, Fixture, copy_project

pytestmark = pytest.mark.skipif(UV is None, reason="uv is not installed (pip install uv)")


def _cached_wheel(cache: Path, filename: str) -> Path:
    (path,) = (cache / "wheels").rglob(filename)
    return path


def _manifest(project: Path) -> dict[str, object]:
    data = json.loads((project / "dist" / "lambda" / "manifest.json").read_text())
    assert isinstance(data, dict)
    return data


def _hashes(manifest: dict[str, object]) -> list[tuple[object, object]]:
    layers = manifest["layers"]
    assert isinstance(layers, list)
    return [(layer["file"], layer["sha256"]) for layer in layers]


def test_wheel_replaced_in_the_cache_by_same_size_bytes_is_fetched_again(
    fixture: Fixture,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("HATCH_LAMBDA_LAYERS_CACHE_DIR", str(cache))
    project = copy_project(fixture.project, tmp_path / "p")
    assert cli.main(["--quiet", "build", str(project)]) == 0
    first = _manifest(project)
    capfd.readouterr()

    # Same size, other bytes (still a valid zip would not matter: the digest differs), and the
    # mtime put back as it was.
    victim = _cached_wheel(cache, "greet-1.0.0-py3-none-any.whl")
    good = victim.read_bytes()
    before = victim.stat()
    victim.write_bytes(bytes(len(good)))
    os.utime(victim, ns=(before.st_atime_ns, before.st_mtime_ns))
    served = len(fixture.index.paths("/files/greet-1.0.0"))
    # Nothing else changed: without its record the rebuild cannot skip reading the wheels.
    (project / "dist" / "lambda" / STATE_NAME).unlink()

    # A separate process, so that the warning is read off its real stderr.
    run = subprocess.run(
        [sys.executable, "-m", "hatch_lambda_layers", "build", str(project)],
        env={**os.environ, "HATCH_LAMBDA_LAYERS_CACHE_DIR": str(cache)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    err = run.stderr
    assert (
        f"warning: the cached greet-1.0.0-py3-none-any.whl ({victim.parent}) is not the file "
        "that was stored (its sha256 or size changed): discarded, fetching it again"
    ) in err
    assert len(fixture.index.paths("/files/greet-1.0.0")) == served + 1
    assert victim.read_bytes() == good
    assert _hashes(_manifest(project)) == _hashes(first)


def test_cache_path_that_is_a_file_is_a_configuration_error(
    fixture: Fixture,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file")
    monkeypatch.setenv("HATCH_LAMBDA_LAYERS_CACHE_DIR", str(blocker))
    project = copy_project(fixture.project, tmp_path / "p")
    code = cli.main(["--quiet", "build", str(project)])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2
    assert lines == [
        f"lambda-layers: error: the cache directory {blocker} cannot be used: {blocker} is a "
        "file, not a directory; remove it or set HATCH_LAMBDA_LAYERS_CACHE_DIR to a directory"
    ]
    out = project / "dist" / "lambda"
    assert not list(out.glob("*.zip"))
    assert not (out / "manifest.json").exists()
