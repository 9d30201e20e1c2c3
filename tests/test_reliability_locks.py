"""Reliability against malformed lock files: every wrong type, bad hash, missing package or
undecodable byte is a one-line error naming the file and the field (exit 1), and the build
writes no artifact."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from hatch_lambda_layers import cli

SHA = "ab" * 32
FILES = "http://127.0.0.1:1/files"

PYPROJECT = """
[project]
name = "app"
version = "0.1.0"
dependencies = ["dep"]

[tool.lambda-layers]
runtime = "python3.12"
"""

UV_LOCK = f"""
version = 1
revision = 2
requires-python = ">=3.10"

[[package]]
name = "app"
version = "0.1.0"
source = {{ editable = "." }}
dependencies = [
    {{ name = "dep", marker = "python_version >= '3.8'" }},
]

[[package]]
name = "dep"
version = "1.0"
source = {{ registry = "http://127.0.0.1:1/simple" }}
sdist = {{ url = "{FILES}/dep-1.0.tar.gz", hash = "sha256:{SHA}", size = 10 }}
wheels = [
    {{ url = "{FILES}/dep-1.0-py3-none-any.whl", hash = "sha256:{SHA}", size = 10 }},
]
"""

PYLOCK = f"""
lock-version = "1.0"
created-by = "hand"
requires-python = ">=3.10"

[[packages]]
name = "dep"
version = "1.0"
dependencies = [{{ name = "helper" }}]
wheels = [
    {{ url = "{FILES}/dep-1.0-py3-none-any.whl", hashes = {{ sha256 = "{SHA}" }} }},
]

[[packages]]
name = "helper"
version = "2.0"
marker = "python_version >= '3.8'"
wheels = [
    {{ url = "{FILES}/helper-2.0-py3-none-any.whl", hashes = {{ sha256 = "{SHA}" }} }},
]
"""


def _project(root: Path, lock_name: str, lock_text: str | bytes) -> Path:
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT))
    lock = root / lock_name
    if isinstance(lock_text, bytes):
        lock.write_bytes(lock_text)
    else:
        lock.write_text(lock_text)
    return root


def _build_error(project: Path, capsys: pytest.CaptureFixture[str]) -> str:
    code = cli.main(["--quiet", "build", str(project)])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 1, lines
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0]
    out = project / "dist" / "lambda"
    assert not list(out.glob("*.zip"))
    assert not (out / "manifest.json").exists()
    return lines[0].removeprefix("lambda-layers: error: ")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "marker = \"python_version >= '3.8'\"",
            "marker = 5",
            "uv.lock: package app 0.1.0 (dependency dep): a marker must be a string, got 5",
        ),
        (
            'url = "http://127.0.0.1:1/files/dep-1.0-py3-none-any.whl"',
            "url = 7",
            "uv.lock: package dep 1.0 wheels[0]: `url` must be a string, got 7",
        ),
        (
            f'hash = "sha256:{SHA}", size = 10 }},\n]',
            'hash = "sha256:../../x", size = 10 },\n]',
            "uv.lock: package dep 1.0 wheel dep-1.0-py3-none-any.whl has sha256 '../../x', "
            "which is not a sha256 digest (64 hexadecimal digits)",
        ),
        (
            "size = 10 },\n]",
            'size = "big" },\n]',
            "uv.lock: package dep 1.0 wheels[0]: `size` must be an integer, got 'big'",
        ),
        (
            'requires-python = ">=3.10"',
            "requires-python = 3",
            "uv.lock: `requires-python` must be a string, got 3",
        ),
        (
            'source = { registry = "http://127.0.0.1:1/simple" }',
            'source = ["registry"]',
            "uv.lock: package dep 1.0: source must be a table, got ['registry']",
        ),
        (
            'dependencies = [\n    { name = "dep", marker = "python_version >= \'3.8\'" },\n]',
            'dependencies = { name = "dep" }',
            "uv.lock: package app 0.1.0: dependencies must be an array of tables",
        ),
        (
            '{ name = "dep", marker = "python_version >= \'3.8\'" }',
            '{ name = "dep", extra = "fast" }',
            "uv.lock: package app 0.1.0 (dependency dep): `extra` must be an array, got 'fast'",
        ),
        (
            'version = "1.0"\nsource',
            'version = "1.0"\nresolution-markers = [3]\nsource',
            "uv.lock: package dep 1.0: `resolution-markers[0]` must be a string, got 3",
        ),
    ],
)
def test_malformed_uv_lock_fields_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, expected: str
) -> None:
    assert old in UV_LOCK
    project = _project(tmp_path / "p", "uv.lock", UV_LOCK.replace(old, new, 1))
    assert _build_error(project, capsys).startswith(expected)


def test_uv_lock_that_is_not_utf8_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path / "p", "uv.lock", b"# caf\xe9\n" + UV_LOCK.encode())
    assert _build_error(project, capsys) == (
        f"{project / 'uv.lock'}: not UTF-8 text (byte 0xe9 at offset 5); a lock file is UTF-8 "
        "TOML: regenerate it"
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'dependencies = [{ name = "helper" }]',
            'dependencies = [{ name = "ghost" }]',
            "pylock.toml: package dep dependencies[0] is ghost, which the lock does not list; "
            "the lock is incomplete: re-create it",
        ),
        (
            f'hashes = {{ sha256 = "{SHA}" }} }},\n]\n\n[[packages]]',
            'hashes = { sha256 = "../../x" } },\n]\n\n[[packages]]',
            "pylock.toml: package dep 1.0 wheel dep-1.0-py3-none-any.whl has sha256 '../../x'",
        ),
        (
            "marker = \"python_version >= '3.8'\"",
            "marker = 5",
            "pylock.toml: Unexpected type int (expected str) in 'packages[1].marker'",
        ),
    ],
)
def test_malformed_pylock_fields_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, expected: str
) -> None:
    assert old in PYLOCK
    project = _project(tmp_path / "p", "pylock.toml", PYLOCK.replace(old, new, 1))
    assert _build_error(project, capsys).startswith(expected)
