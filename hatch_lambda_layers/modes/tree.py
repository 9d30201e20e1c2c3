"""Entries written out as a directory tree, reproducibly: the files a zip of the same entries
would hold, with their modes (0644/0755), every file and directory dated with the zips' one
timestamp (`SOURCE_DATE_EPOCH`, else 1980-01-01) and directories 0755. A container builder's COPY
keeps modes and dates, so the image layers it makes are the same on every machine.

Wheel members are decompressed from each wheel opened once, and checked against the sha256 the
verified wheel recorded for them while they are written.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from ..errors import LambdaLayersError
from ..layers.entries import (
    BytesEntry,
    Entry,
    FileEntry,
    ZipSourceEntry,
    checked_sorted,
    content_hash_of,
)
from ..layers.zipformat import CHUNK, resolve_epoch

DIRECTORY_MODE = 0o755


@dataclass(frozen=True)
class Tree:
    """What `write_tree` wrote."""

    content_hash: str  # what a zip of the same entries reports
    size_unzipped: int
    files: int


def write_tree(directory: Path, entries: Iterable[Entry], *, epoch: int | None = None) -> Tree:
    """Write `entries` below `directory` (created; it must not hold them already). Two entries
    with one path, or an unsafe path, are an error naming both sources (`checked_sorted`)."""
    ordered = checked_sorted(entries)
    stamp = resolve_epoch(epoch)
    directory.mkdir(parents=True, exist_ok=True)
    hashes: list[tuple[str, int, str]] = []
    size = 0
    with ExitStack() as stack:
        wheels: dict[Path, zipfile.ZipFile] = {}
        for entry in ordered:
            target = directory.joinpath(*entry.path.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(entry, ZipSourceEntry) and entry.wheel_path not in wheels:
                wheels[entry.wheel_path] = stack.enter_context(zipfile.ZipFile(entry.wheel_path))
            sha, written = _write_file(target, entry, wheels)
            os.chmod(target, entry.mode)
            os.utime(target, (stamp, stamp))
            hashes.append((entry.path, entry.mode, sha))
            size += written
    _date_directories(directory, stamp)
    return Tree(content_hash_of(hashes), size, len(ordered))


def _write_file(target: Path, entry: Entry, wheels: dict[Path, zipfile.ZipFile]) -> tuple[str, int]:
    """Write one entry's bytes to `target`; (sha256 hex, size)."""
    digest = hashlib.sha256()
    size = 0
    with target.open("wb") as out:
        for chunk in _chunks(entry, wheels):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    sha = digest.hexdigest()
    if isinstance(entry, ZipSourceEntry) and sha != entry.sha256:
        raise LambdaLayersError(
            f'wheel {entry.wheel_path.name}: member "{entry.member}" no longer has the sha256 '
            f"verified before; the cached wheel changed: delete it and build again"
        )
    return sha, size


def _chunks(entry: Entry, wheels: dict[Path, zipfile.ZipFile]) -> Iterable[bytes]:
    if isinstance(entry, BytesEntry):
        yield entry.data
    elif isinstance(entry, FileEntry):
        with entry.source_path.open("rb") as source:
            while chunk := source.read(CHUNK):
                yield chunk
    else:
        with wheels[entry.wheel_path].open(entry.member) as member:
            while chunk := member.read(CHUNK):
                yield chunk


def _date_directories(directory: Path, stamp: int) -> None:
    """Every directory below and at `directory`: mode 0755 and the one timestamp, deepest
    first (writing into a directory changes its date)."""
    found = [Path(root) for root, _, _ in os.walk(directory)]
    for path in sorted(found, key=lambda p: len(p.parts), reverse=True):
        os.chmod(path, DIRECTORY_MODE)
        os.utime(path, (stamp, stamp))
