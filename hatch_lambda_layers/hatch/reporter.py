"""A pipeline reporter on hatchling's app display (what hatch and uv users see during builds):
messages as hatch shows them, progress as debug lines (hatch's display has no progress bar), and
the build's last line, the artifacts summary, as a success message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import LambdaLayersError


class HatchReporter:
    def __init__(self, app: Any) -> None:
        self._app = app

    def info(self, message: str) -> None:
        self._app.display_info(message)

    def waiting(self, message: str) -> None:
        self._app.display_waiting(message)

    def success(self, message: str) -> None:
        self._app.display_success(message)

    def warning(self, message: str) -> None:
        self._app.display_warning(message)

    def download_progress(self) -> Callable[..., None] | None:
        # hatch's display has no progress bar API; a line per finished wheel at debug level.
        def report(progress: Any) -> None:
            if progress.done_files and progress.current:
                self._app.display_debug(
                    f"fetched {progress.current} ({progress.done_files}/{progress.total_files})"
                )

        return report

    def write_progress(self) -> Callable[..., None] | None:
        def report(progress: Any) -> None:
            if progress.current:
                self._app.display_debug(
                    f"writing {progress.current} ({progress.done_files + 1}/{progress.total_files})"
                )

        return report


def abort(app: Any, error: LambdaLayersError) -> None:
    """One clear line and the contract's exit status, instead of a traceback."""
    app.abort(f"hatch-lambda-layers: {error}", code=error.exit_code)
