"""Where progress goes: hatch's app display in the builder and hook, stderr in the CLI, nowhere in
library use. Every stage reports through this protocol and never prints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Reporter(Protocol):
    """Where progress goes: hatch's app display in the builder/hook, stderr in the CLI."""

    def info(self, message: str) -> None: ...
    def waiting(self, message: str) -> None: ...
    def success(self, message: str) -> None: ...
    def warning(self, message: str) -> None: ...
    def download_progress(self) -> Callable[..., None] | None: ...
    def write_progress(self) -> Callable[..., None] | None: ...


class SilentReporter:
    def info(self, message: str) -> None:
        pass

    def waiting(self, message: str) -> None:
        pass

    def success(self, message: str) -> None:
        pass

    def warning(self, message: str) -> None:
        pass

    def download_progress(self) -> Callable[..., None] | None:
        return None

    def write_progress(self) -> Callable[..., None] | None:
        return None
