"""The ``[tool.lambda-layers]`` table of a project's pyproject.toml, as a frozen `Config`.

`parse_config` is pure: it checks every key strictly (a boolean is not an integer, a string is
not a list), collects every problem with its full key, and raises them all at once in one
`ConfigError`. `load_config` is the only function that touches the file system.
"""

from __future__ import annotations

from .keys import load_config, parse_config, pyproject_path
from .model import (
    DEFAULT_COMPILE_MARGIN,
    DEFAULT_EFS_MOUNT_PATH,
    DEFAULT_LAYER_OVERHEAD,
    TOOL_KEY,
    Compile,
    Config,
    FunctionConfig,
    LockKeyword,
    Mode,
    Upload,
)

__all__ = [
    "DEFAULT_COMPILE_MARGIN",
    "DEFAULT_EFS_MOUNT_PATH",
    "DEFAULT_LAYER_OVERHEAD",
    "TOOL_KEY",
    "Compile",
    "Config",
    "FunctionConfig",
    "LockKeyword",
    "Mode",
    "Upload",
    "load_config",
    "parse_config",
    "pyproject_path",
]
