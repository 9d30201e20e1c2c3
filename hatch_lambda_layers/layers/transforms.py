"""`strip` and `compile` applied to every bundled package, with the strip tool and the target
interpreter looked up once."""

from __future__ import annotations

from collections.abc import Sequence

from ..config import Config
from ..reporting import Reporter
from ..targets import Target
from .entries import PackageFiles


def transform_packages(
    packages: Sequence[PackageFiles], config: Config, target: Target, reporter: Reporter
) -> tuple[PackageFiles, ...]:
    """`strip` and `compile`: the tool and the target interpreter are looked up once."""
    if not (config.strip or config.compile):
        return tuple(packages)
    from . import compile, interpreters, strip  # loaded only when a build strips or compiles

    def skipped(path: str, why: str) -> None:
        reporter.warning(f"{path}: {why}")

    result = list(packages)
    if config.strip:
        reporter.waiting("Stripping debug symbols from shared objects")
        tool = strip.find_strip_tool(target)
        result = [strip.strip_package(p, target, strip_tool=tool, on_skip=skipped) for p in result]
    if config.compile:
        python = interpreters.find_target_python(target)
        if python is None:
            raise interpreters.no_python_error(target)
        reporter.waiting(f"Compiling bytecode for {target.runtime} with {python}")
        root = compile.FUNCTION_INSTALL_ROOT if config.mode == "fat" else compile.LAYER_INSTALL_ROOT
        result = [
            compile.compile_package(p, target, python=python, install_root=root, on_skip=skipped)
            for p in result
        ]
    return tuple(result)
