"""`hatch build -t lambda`: a thin adapter from hatchling's builder interface to the pipeline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hatchling.builders.plugin.interface import BuilderInterface

from ..errors import LambdaLayersError
from ..output import output_directory
from .reporter import HatchReporter, abort


class LambdaBuilder(BuilderInterface):  # type: ignore[misc,type-arg]
    """Writes layer zips, function zips and manifest.json into `<output dir>/lambda/`."""

    PLUGIN_NAME = "lambda"

    def get_version_api(self) -> dict[str, Callable[..., str]]:
        return {"standard": self.build_standard}

    def get_default_versions(self) -> list[str]:
        return ["standard"]

    def clean(self, directory: str, versions: list[str]) -> None:
        # Earlier artifacts are what publish compares against; a rebuild replaces them safely.
        pass

    def build_standard(self, directory: str, **build_data: Any) -> str:
        from .. import pipeline
        from ..config import load_config
        from ..project import make_wheel_builder, project_from_wheel_builder

        wheel_builder = make_wheel_builder(
            self.root, plugin_manager=self.plugin_manager, metadata=self.metadata, app=self.app
        )
        try:
            project = project_from_wheel_builder(wheel_builder)
            config = load_config(self.root)
            result = pipeline.build(
                project, config, output_directory(directory), HatchReporter(self.app)
            )
        except LambdaLayersError as exc:
            abort(self.app, exc)
            raise  # abort exits; this keeps type checkers and odd apps honest
        return str(result.manifest_path)
