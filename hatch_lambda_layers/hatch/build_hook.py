"""The `lambda` build hook on the wheel target: `uv build`, `python -m build` and `pip wheel`
write the same artifacts as `hatch build -t lambda`, into `<output dir>/lambda/`, when the build
asks for them.

An ordinary install of the project (`pip install .`, `uv pip install .`, `uv sync
--no-editable`) also builds a wheel, so the hook writes nothing unless asked, and so can never
make such an install fail. A build asks by hatchling's own conventions:

- ``HATCH_BUILD_HOOK_ENABLE_LAMBDA=1`` (or ``HATCH_BUILD_HOOKS_ENABLE=1``) for one build, e.g.
  ``HATCH_BUILD_HOOK_ENABLE_LAMBDA=1 uv build`` in CI;
- ``HATCH_LAMBDA_LAYERS_OUTPUT_DIR=<dir>``, which says where the artifacts go (`pip wheel`);
- ``enable-by-default = true`` written in ``[tool.hatch.build.targets.wheel.hooks.lambda]``:
  every wheel build writes them (installs included).

Editable builds never run it.
"""

from __future__ import annotations

import os
from typing import Any

from hatchling.builders.config import env_var_enabled
from hatchling.builders.hooks.plugin.interface import BuildHookInterface

from ..errors import LambdaLayersError
from ..output import OUTPUT_DIR_ENV, output_directory
from .reporter import HatchReporter, abort

ENABLE_ENV = "HATCH_BUILD_HOOK_ENABLE_LAMBDA"
ALL_HOOKS_ENV = "HATCH_BUILD_HOOKS_ENABLE"


def asked(config: dict[str, Any], environ: os._Environ[str] | dict[str, str] = os.environ) -> bool:
    """Whether this wheel build asked for Lambda artifacts (see the module docstring). When the
    hook table sets `enable-by-default` at all, hatchling has decided already: it only runs the
    hook with `false` when the enabling variable is set."""
    if "enable-by-default" in config:
        return True
    if environ is os.environ:
        requested = env_var_enabled(ENABLE_ENV) or env_var_enabled(ALL_HOOKS_ENV)
    else:
        requested = any(environ.get(name) in {"1", "true"} for name in (ENABLE_ENV, ALL_HOOKS_ENV))
    return requested or bool(environ.get(OUTPUT_DIR_ENV, "").strip())


class LambdaBuildHook(BuildHookInterface):  # type: ignore[misc,type-arg]
    PLUGIN_NAME = "lambda"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        if not asked(self.config):
            self.app.display_debug(
                f"hatch-lambda-layers: no Lambda artifacts for this wheel; set {ENABLE_ENV}=1 "
                f"to write them"
            )
            return
        # Loaded only when a Lambda build is asked for: ordinary wheel builds stay light.
        from .. import pipeline
        from ..config import load_config
        from ..project import project_from_wheel_builder

        try:
            project = project_from_wheel_builder(self.build_config.builder)
            config = load_config(self.root)
            pipeline.build(
                project, config, output_directory(self.directory), HatchReporter(self.app)
            )
        except LambdaLayersError as exc:
            abort(self.app, exc)
            raise
