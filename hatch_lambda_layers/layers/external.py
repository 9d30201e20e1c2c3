"""Running the external programs that `strip` and `compile` need: a clean child environment,
the host's machine, and reading many entries' bytes at once.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .entries import Entry, ZipSourceEntry, entry_bytes

Runner = Callable[..., "subprocess.CompletedProcess[Any]"]


SkipReporter = Callable[[str, str], None]  # (entry path, reason)


PROBE_TIMEOUT = 60


# Lambda architecture names against `platform.machine()` spellings.
HOST_MACHINES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}


def search_path(environ: Mapping[str, str]) -> str:
    return environ.get("PATH", os.defpath)


def child_env(environ: Mapping[str, str], **extra: str) -> dict[str, str]:
    """`environ` without PYTHON* variables (a stray PYTHONHOME or PYTHONPATH would change what
    the target interpreter runs), plus `extra`."""
    env = {k: v for k, v in environ.items() if not k.startswith("PYTHON")}
    env.update(extra)
    return env


def last_line(text: bytes | str | None) -> str:
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def read_entries(entries: Sequence[Entry]) -> list[bytes]:
    """The bytes of `entries`, opening each wheel once (`entry_bytes` reopens it per entry,
    which parses the central directory again for every member)."""
    by_wheel: dict[Path, list[int]] = {}
    result: list[bytes | None] = [None] * len(entries)
    for index, entry in enumerate(entries):
        if isinstance(entry, ZipSourceEntry):
            by_wheel.setdefault(entry.wheel_path, []).append(index)
        else:
            result[index] = entry_bytes(entry)
    for wheel_path, indexes in by_wheel.items():
        with zipfile.ZipFile(wheel_path) as zf:
            for index in indexes:
                member = entries[index]
                assert isinstance(member, ZipSourceEntry)
                result[index] = zf.read(member.member)
    return [data if data is not None else b"" for data in result]


def detect_host_machine() -> str | None:
    """The host's machine when it is Linux (the plain `strip` of other systems is not ELF's)."""
    if not sys.platform.startswith("linux"):
        return None
    return HOST_MACHINES.get(platform.machine().lower())
