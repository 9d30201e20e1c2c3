"""The `lambda` build hook on the wheel target: `uv build`, `python -m build` and `pip wheel`
write the same artifacts as `hatch build -t lambda`, into `<output dir>/lambda/`.

Switch it with hatchling's own conventions: `enable-by-default = false` in
`[tool.hatch.build.targets.wheel.hooks.lambda]`, and `HATCH_BUILD_HOOK_ENABLE_LAMBDA=true`
to turn it on for one build (or `HATCH_BUILD_NO_HOOKS=true` to skip all hooks).
"""

from __future__ import annotations

from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

from .. import pipeline
from ..config import load_config
from ..errors import LambdaLayersError
from ..output import output_directory
from ..project import project_from_wheel_builder
from .reporter import HatchReporter, abort


class LambdaBuildHook(BuildHookInterface):  # type: ignore[misc,type-arg]
    PLUGIN_NAME = "lambda"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        if self.target_name != "wheel" or version == "editable":
            # Editable installs (uv sync, pip install -e) must stay fast and side-effect free.
            return
        try:
            project = project_from_wheel_builder(self.build_config.builder)
            config = load_config(self.root)
            pipeline.build(
                project,
                config,
                output_directory(self.directory),
                HatchReporter(self.app),
            )
        except LambdaLayersError as exc:
            abort(self.app, exc)
            raise
