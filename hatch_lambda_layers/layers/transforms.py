"""`strip` applied to every bundled package, with the strip tool looked up once (bytecode is
added later, with the function's files: see `bytecode`)."""

from __future__ import annotations

from collections.abc import Sequence

from ..config import Config
from ..reporting import Reporter
from ..targets import Target
from .entries import PackageFiles


def transform_packages(
    packages: Sequence[PackageFiles], config: Config, target: Target, reporter: Reporter
) -> tuple[PackageFiles, ...]:
    """`strip`: the tool is looked up once."""
    if not config.strip:
        return tuple(packages)
    from . import strip  # loaded only when a build strips

    def skipped(path: str, why: str) -> None:
        reporter.warning(f"{path}: {why}")

    reporter.waiting("Stripping debug symbols from shared objects")
    tool = strip.find_strip_tool(target)
    return tuple(strip.strip_package(p, target, strip_tool=tool, on_skip=skipped) for p in packages)
