"""Reliability of the output directory: hostile previous manifests, kills, races, and a directory
that cannot be written. Whatever happens, the manifest describes exactly the files present, and a
failing build leaves the previous artifacts as they were."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hatch_lambda_layers import cli
from hatch_lambda_layers.files import BuildLock
from tests.projects import UV, Fixture, build, copy_project, digests

pytestmark = [
    pytest.mark.skipif(UV is None, reason="uv is not installed (pip install uv)"),
    pytest.mark.usefixtures("isolated_cache"),
]


def out_dir(project: Path) -> Path:
    return project / "dist" / "lambda"


def assert_consistent(directory: Path) -> None:
    """The manifest lists exactly the zips present, each with its recorded sha256, and nothing
    of an interrupted build is left behind."""
    manifest = json.loads((directory / "manifest.json").read_text())
    listed = {x["file"]: x["sha256"] for x in manifest["layers"] + manifest["functions"]}
    present = {p.name for p in directory.glob("*.zip")}
    assert present == set(listed), (present, set(listed))
    for name, sha in listed.items():
        assert hashlib.sha256((directory / name).read_bytes()).hexdigest() == sha, name
    leftovers = [p.name for p in directory.iterdir() if p.name.startswith(".staging")]
    leftovers += [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]
    assert not leftovers, leftovers


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    """The one error line (warnings may come before it)."""
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert all(line.startswith("warning: ") for line in lines[:-1]), lines
    assert "Traceback" not in "".join(lines)
    return lines[-1]


def edit_manifest(directory: Path, change: object) -> None:
    path = directory / "manifest.json"
    data = json.loads(path.read_text())
    change(data)  # type: ignore[operator]
    path.write_text(json.dumps(data))


# --------------------------------------------------------------------------- hostile manifests


@pytest.mark.parametrize(
    "bad_name", ["../victim.txt", "/ABSOLUTE/victim.txt", "sub/../../victim.txt"]
)
def test_previous_manifest_naming_a_file_outside_is_refused(
    fixture: Fixture, tmp_path: Path, capsys: pytest.CaptureFixture[str], bad_name: str
) -> None:
    project = copy_project(fixture.project, tmp_path / "p")
    assert build(project) == 0
    out = out_dir(project)
    victim = project / "dist" / "victim.txt"
    victim.write_text("keep me")
    name = bad_name.replace("/ABSOLUTE", str(project / "dist"))

    def point_outside(data: dict[str, list[dict[str, object]]]) -> None:
        # A stale layer the next build would delete, and a reused one it would check.
        data["layers"].append({**data["layers"][0], "name": "gone", "file": name})
        data["layers"][0]["file"] = name

    edit_manifest(out, point_outside)
    before = digests(out)
    capsys.readouterr()
    assert build(project) == 1
    message = one_line_error(capsys)
    assert "manifest" in message
    assert "not a plain file name" in message
    assert victim.read_text() == "keep me"
    assert digests(out) == before


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("layers.0.name", 1, "layers[0].name must be a string"),
        ("layers.0.packages.0.change_rate", "often", "layers[0].packages[0].change_rate"),
        ("layers.0.sha256", "not-a-digest", "layers[0].sha256"),
        ("limits.layers_used", -1, "limits.layers_used"),
        ("history", [["not", "a", "mapping"]], "history"),
        ("functions", {"a": 1}, "functions must be an array"),
    ],
)
def test_malformed_previous_manifest_is_one_line_error(
    fixture: Fixture,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    field: str,
    value: object,
    expected: str,
) -> None:
    project = copy_project(fixture.project, tmp_path / "p")
    assert build(project) == 0
    out = out_dir(project)
    good = out / "good.json"
    shutil.copy(out / "manifest.json", good)

    def corrupt(data: dict[str, object]) -> None:
        *path, last = field.split(".")
        node: object = data
        for part in path:
            node = node[int(part)] if isinstance(node, list) else node[part]  # type: ignore[index]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value  # type: ignore[index]

    edit_manifest(out, corrupt)
    before = digests(out)
    capsys.readouterr()
    assert build(project) == 1
    message = one_line_error(capsys)
    assert "manifest.json" in message
    assert expected in message, message
    assert digests(out) == before
    # diff reads the same way: a one-line error, exit 1.
    assert cli.main(["diff", str(good), str(out / "manifest.json")]) == 1
    assert expected in one_line_error(capsys)


# --------------------------------------------------------------------------- kills and races


def _build_command(project: Path, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "hatch_lambda_layers",
        "-q",
        "build",
        str(project),
        "-o",
        str(out),
    ]


def test_killed_builds_never_leave_a_manifest_that_disagrees(
    fixture: Fixture, tmp_path: Path
) -> None:
    project = copy_project(fixture.project, tmp_path / "p")
    other = copy_project(fixture.project, tmp_path / "q")
    (other / "pyproject.toml").write_text(
        (other / "pyproject.toml").read_text() + 'exclude = ["textfmt/__init__.py"]\n'
    )
    out = tmp_path / "out"
    assert subprocess.run(_build_command(project, out), check=False).returncode == 0
    env = {**os.environ}
    started = time.monotonic()
    assert subprocess.run(_build_command(other, out), env=env, check=False).returncode == 0
    duration = time.monotonic() - started
    rng = random.Random(20261201)
    for attempt in range(8):
        source = (project, other)[attempt % 2]
        proc = subprocess.Popen(_build_command(source, out), env=env)
        time.sleep(rng.uniform(0.0, duration))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # Whatever point it died at, the manifest there agrees with the files it lists.
        manifest = json.loads((out / "manifest.json").read_text())
        for entry in manifest["layers"] + manifest["functions"]:
            data = (out / entry["file"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    assert subprocess.run(_build_command(project, out), check=False).returncode == 0
    assert_consistent(out)


def test_concurrent_builds_of_different_states_serialise(fixture: Fixture, tmp_path: Path) -> None:
    one = copy_project(fixture.project, tmp_path / "one")
    two = copy_project(fixture.project, tmp_path / "two")
    (two / "pyproject.toml").write_text(
        (two / "pyproject.toml").read_text() + 'exclude = ["textfmt/__init__.py"]\n'
    )
    out = tmp_path / "out"
    for _ in range(4):
        procs = [
            subprocess.Popen(_build_command(p, out), stderr=subprocess.PIPE, text=True)
            for p in (one, two)
        ]
        results = [(p.wait(), p.stderr.read() if p.stderr else "") for p in procs]
        assert all(code == 0 for code, _ in results), results
        assert_consistent(out)


def test_a_held_lock_makes_the_next_build_wait_then_name_the_holder(
    fixture: Fixture, tmp_path: Path
) -> None:
    project = copy_project(fixture.project, tmp_path / "p")
    out = tmp_path / "out"
    out.mkdir(parents=True)
    lock = BuildLock(out / ".build.lock")
    lock.acquire()
    try:
        env = {**os.environ, "HATCH_LAMBDA_LAYERS_LOCK_TIMEOUT": "1"}
        proc = subprocess.run(
            _build_command(project, tmp_path / "out"),
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        lock.release()
    assert proc.returncode == 1
    assert f"process {os.getpid()}" in proc.stderr
    assert "locked" in proc.stderr
    assert not (out / "manifest.json").exists()
    assert subprocess.run(_build_command(project, out), check=False).returncode == 0


def test_leftovers_of_a_killed_build_are_removed_by_the_next(
    fixture: Fixture, tmp_path: Path
) -> None:
    project = copy_project(fixture.project, tmp_path / "p")
    assert build(project) == 0
    out = out_dir(project)
    (out / ".staging-abc123").mkdir()
    (out / ".staging-abc123" / "layer-x.zip").write_bytes(b"half")
    (out / ".manifest.json.x1.tmp").write_text("{")
    (out / "layer-orphan-0123456789ab.zip").write_bytes(b"from a build killed after the move")
    (out / "notes.txt").write_text("a user's file stays")
    assert build(project) == 0
    assert_consistent(out)
    assert (out / "notes.txt").exists()


# --------------------------------------------------------------------------- unwritable output


def test_output_path_that_is_a_file_is_a_one_line_error(
    fixture: Fixture, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_project(fixture.project, tmp_path / "p")
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    capsys.readouterr()
    assert cli.main(["--quiet", "build", str(project), "-o", str(blocker)]) == 1
    assert str(blocker) in one_line_error(capsys)


@pytest.mark.parametrize(
    ("code", "hint"), [(errno.ENOSPC, "free some space"), (errno.EROFS, "build elsewhere")]
)
def test_full_or_read_only_disk_keeps_the_previous_build(
    fixture: Fixture,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    code: int,
    hint: str,
) -> None:
    """The disk fills up (or turns read-only) while a zip is written: simulated by making the
    zip writer's file creation fail with that errno, since a test cannot fill a real disk."""
    project = copy_project(fixture.project, tmp_path / "p")
    assert build(project) == 0
    out = out_dir(project)
    (project / "pyproject.toml").write_text(
        (project / "pyproject.toml").read_text() + 'exclude = ["textfmt/__init__.py"]\n'
    )
    before = digests(out)
    real_open = os.open

    def failing_open(
        path: str | os.PathLike[str], flags: int, mode: int = 0o777, **kwargs: int
    ) -> int:
        if str(path).endswith(".tmp") and flags & os.O_CREAT:
            raise OSError(code, os.strerror(code), str(path))
        return real_open(path, flags, mode, **kwargs)

    monkeypatch.setattr(os, "open", failing_open)
    capsys.readouterr()
    assert build(project) == 1
    message = one_line_error(capsys)
    assert hint in message
    assert "earlier artifacts are unchanged" in message
    assert digests(out) == before
    assert_consistent(out)
