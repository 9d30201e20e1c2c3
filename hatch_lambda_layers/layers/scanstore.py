"""Module scans (`imports.scan_source`, `imports.scan_extension`) and reference hints
(`imports.reference_hints`) read from the entries that hold them, in batches (one opening of
each wheel), and kept in the tool's cache per wheel.

A wheel's record, ``<cache>/imports/v1/<wheel sha256>.json``, maps its members to their scans
and to their hints (so a source is read and parsed once per wheel, ever). The
wheel's sha256 is the one its place in the download cache was verified against (or, for a wheel
elsewhere, computed), so a record never describes another wheel's bytes. Records are untrusted
input: one that does not read as a record is ignored and rebuilt. The function's own files are
scanned on every build (they are few, and change).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..files import write_text_atomic
from .entries import Entry, ZipSourceEntry
from .external import read_entries
from .imports import (
    ModuleScan,
    reference_hints,
    scan_entry_points,
    scan_extension,
    scan_source,
)
from .wheelhash import wheel_sha256

RECORD_VERSION = 1
ENTRY_POINTS = ".dist-info/entry_points.txt"


@dataclass
class _WheelRecord:
    """The scans and reference hints of one wheel's members."""

    path: Path | None  # where the record lives (None: not cached)
    scans: dict[str, ModuleScan] = field(default_factory=dict)
    hints: dict[str, frozenset[str]] = field(default_factory=dict)
    raw: dict[str, object] = field(default_factory=dict)  # scans as read, converted when asked
    dirty: bool = False

    def scan(self, member: str) -> ModuleScan | None:
        """The member's scan; a cached one that does not read as a scan counts as missing."""
        if member not in self.scans and member in self.raw:
            try:
                self.scans[member] = ModuleScan.from_json(self.raw.pop(member))
            except ValueError:
                return None
        return self.scans.get(member)

    def to_text(self) -> str:
        scans: dict[str, object] = {k: v.to_json() for k, v in self.scans.items()}
        return json.dumps(
            {
                "version": RECORD_VERSION,
                "scans": dict(sorted({**self.raw, **scans}.items())),
                "hints": {k: sorted(v) for k, v in sorted(self.hints.items())},
            },
            separators=(",", ":"),
        )


def _load_record(path: Path) -> _WheelRecord:
    record = _WheelRecord(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("version") != RECORD_VERSION:
            return record
        scans, hints = data.get("scans"), data.get("hints")
        if not isinstance(scans, dict) or not isinstance(hints, dict):
            return record
        record.raw = {str(k): v for k, v in scans.items()}
        record.hints = {str(k): _hint_set(v) for k, v in hints.items()}
    except (OSError, ValueError):
        return _WheelRecord(path)
    return record


def _hint_set(value: object) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("not a list of hints")
    return frozenset(str(v) for v in value)


class ScanStore:
    """Scans of entries, read in batches and cached per wheel under `cache_dir` (None: kept in
    memory for this build only). `save` writes the records that gained scans."""

    def __init__(self, cache_dir: Path | None) -> None:
        self._dir = cache_dir / "imports" / f"v{RECORD_VERSION}" if cache_dir else None
        self._records: dict[Path, _WheelRecord] = {}
        self._loose: dict[str, ModuleScan] = {}  # scans of entries that are not wheel members

    def _record(self, wheel: Path) -> _WheelRecord:
        if wheel not in self._records:
            path = self._dir / f"{wheel_sha256(wheel)}.json" if self._dir else None
            self._records[wheel] = _load_record(path) if path else _WheelRecord(None)
        return self._records[wheel]

    def _cached(self, entry: Entry) -> ModuleScan | None:
        if isinstance(entry, ZipSourceEntry):
            return self._record(entry.wheel_path).scan(entry.member)
        return self._loose.get(entry.path)

    def _remember(self, entry: Entry, scan: ModuleScan) -> None:
        if isinstance(entry, ZipSourceEntry):
            record = self._record(entry.wheel_path)
            record.scans[entry.member] = scan
            record.dirty = True
        else:
            self._loose[entry.path] = scan

    def scans(self, entries: Sequence[Entry]) -> dict[str, ModuleScan]:
        """Entry path -> scan of each entry (a ``.py`` source, an ``.so`` extension or a
        distribution's ``entry_points.txt``)."""
        result: dict[str, ModuleScan] = {}
        missing: list[Entry] = []
        for entry in entries:
            found = self._cached(entry)
            if found is None:
                missing.append(entry)
            else:
                result[entry.path] = found
        for entry, data in zip(missing, read_entries(missing), strict=True):
            if entry.path.endswith(".so"):
                scan = scan_extension(data)
            elif entry.path.endswith(ENTRY_POINTS):
                scan = scan_entry_points(data)
            else:
                scan = scan_source(data)
            self._remember(entry, scan)
            result[entry.path] = scan
        return result

    def hints(self, sources: Sequence[Entry]) -> dict[str, frozenset[str]]:
        """Entry path -> `imports.reference_hints` of each source (empty for most)."""
        result: dict[str, frozenset[str]] = {}
        unknown: list[Entry] = []
        for entry in sources:
            found = None
            if isinstance(entry, ZipSourceEntry):
                found = self._record(entry.wheel_path).hints.get(entry.member)
            if found is None:
                unknown.append(entry)
            else:
                result[entry.path] = found
        for entry, data in zip(unknown, read_entries(unknown), strict=True):
            hints = reference_hints(data)
            result[entry.path] = hints
            if isinstance(entry, ZipSourceEntry):
                record = self._record(entry.wheel_path)
                record.hints[entry.member] = hints
                record.dirty = True
        return result

    def save(self) -> None:
        """Write every wheel record that changed (atomically); a cache that cannot be written
        only costs the next build the same reading again."""
        for record in self._records.values():
            if record.path is None or not record.dirty:
                continue
            try:
                record.path.parent.mkdir(parents=True, exist_ok=True)
                write_text_atomic(record.path, record.to_text())
            except OSError:
                continue
            record.dirty = False


def entries_by_path(groups: Iterable[Iterable[Entry]]) -> Mapping[str, Entry]:
    """Path -> entry over several entry lists (the first holder of a path wins)."""
    found: dict[str, Entry] = {}
    for entries in groups:
        for entry in entries:
            found.setdefault(entry.path, entry)
    return found
