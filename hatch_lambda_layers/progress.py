"""Progress of long work: the snapshots a download or the zip writing reports, and the one
self-rewriting line the CLI draws for them on a terminal (nothing when stderr is not one).
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO


@dataclass(frozen=True)
class FetchProgress:
    """A snapshot passed to the progress callback; ``total_bytes`` counts sizes known so far."""

    done_files: int
    total_files: int
    done_bytes: int
    total_bytes: int
    current: str


@dataclass(frozen=True)
class WriteProgress:
    """A snapshot of the zip writing: `current` is the artifact being written, `done_files`
    those finished before it (equal to `total_files` when all are written)."""

    done_files: int
    total_files: int
    current: str
    size_unzipped: int


class WriteTracker:
    """Counts the zips a build writes and reports each to `callback` (if any) as it starts."""

    def __init__(self, callback: Callable[..., None] | None, total: int) -> None:
        self._callback = callback
        self._total = total
        self._done = 0

    def start(self, name: str, size_unzipped: int) -> None:
        """Zip `name` is about to be written."""
        if self._callback is not None:
            self._callback(WriteProgress(self._done, self._total, name, size_unzipped))
        self._done += 1

    def finish(self) -> None:
        """Every zip is written: the status line goes away."""
        if self._callback is not None:
            self._callback(WriteProgress(self._total, self._total, "", 0))


class TerminalProgress:
    """One self-rewriting status line on stderr, drawn only when stderr is a terminal.

    Redraws at most ten times a second, and clears the line once every file is done.
    """

    def __init__(self, stream: IO[str] | None = None, *, min_interval: float = 0.1) -> None:
        self._stream = stream if stream is not None else sys.stderr
        try:
            self.enabled = bool(self._stream.isatty())
        except (AttributeError, ValueError):
            self.enabled = False
        self._min_interval = min_interval
        self._last = 0.0
        self._drawn = False
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Erase the status line (before a message is printed under it); the next snapshot
        draws it again."""
        with self._lock:
            if self._drawn:
                self._stream.write("\r\x1b[2K")
                self._stream.flush()
                self._drawn = False
                self._last = 0.0

    @staticmethod
    def render(progress: FetchProgress | WriteProgress, width: int = 80) -> str:
        def mib(n: int) -> str:
            return f"{n / 1048576:.1f} MiB"

        if isinstance(progress, WriteProgress):
            text = (
                f"Writing zip {progress.done_files + 1}/{progress.total_files}: "
                f"{progress.current} ({mib(progress.size_unzipped)} unzipped)"
            )
        else:
            text = (
                f"Downloading {progress.done_files}/{progress.total_files} wheels "
                f"({mib(progress.done_bytes)}/{mib(progress.total_bytes)}) {progress.current}"
            )
        return text if len(text) <= width else text[: max(width - 1, 0)] + "…"

    def __call__(self, progress: FetchProgress | WriteProgress) -> None:
        if not self.enabled:
            return
        finished = progress.done_files >= progress.total_files
        with self._lock:
            now = time.monotonic()
            if not finished and now - self._last < self._min_interval:
                return
            self._last = now
            width = shutil.get_terminal_size((80, 24)).columns - 1
            line = "" if finished else self.render(progress, width)
            self._stream.write("\r\x1b[2K" + line)
            self._stream.flush()
            self._drawn = bool(line)
