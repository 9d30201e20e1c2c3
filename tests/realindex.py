"""The integration tier's one way to lock a project against the real index: `uv lock` with the
index the user's uv/pip configuration names (this code names none), never downloading an
interpreter, bounded in time, and skipping with the reason when the index cannot be reached."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

UV = shutil.which("uv")

# What uv and pip print when the network, not the project, is the problem.
_UNREACHABLE = ("failed to fetch", "connect", "dns", "network", "timed out", "offline")


def unreachable(proc: subprocess.CompletedProcess[str]) -> bool:
    """Whether a failed uv/pip/build run failed for want of the index."""
    text = (proc.stdout + proc.stderr).lower()
    return any(s in text for s in _UNREACHABLE)


def lock_from_index(root: Path, *extra: str, timeout: int = 300) -> None:
    """`uv lock` in `root`: skips when uv is missing or the index is unreachable, fails the
    test on any other error (quoting uv)."""
    if UV is None:
        pytest.skip("uv is not installed (pip install uv)")
    proc = subprocess.run(
        [UV, "lock", "--no-progress", *extra],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
        check=False,
    )
    if proc.returncode != 0:
        if unreachable(proc):
            pytest.skip(f"package index unreachable: {proc.stderr.strip().splitlines()[-1:]}")
        raise AssertionError(f"uv lock failed: {proc.stderr.strip()[-500:]}")
