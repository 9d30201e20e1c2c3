"""Download progress: the snapshot a fetch reports, and the one self-rewriting line the CLI
draws for it on a terminal.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
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
        self._lock = threading.Lock()

    @staticmethod
    def render(progress: FetchProgress, width: int = 80) -> str:
        def mib(n: int) -> str:
            return f"{n / 1048576:.1f} MiB"

        text = (
            f"Downloading {progress.done_files}/{progress.total_files} wheels "
            f"({mib(progress.done_bytes)}/{mib(progress.total_bytes)}) {progress.current}"
        )
        return text if len(text) <= width else text[: max(width - 1, 0)] + "…"

    def __call__(self, progress: FetchProgress) -> None:
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
