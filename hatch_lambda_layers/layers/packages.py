"""Each bundled wheel as the entries it puts into a layer: placed by the layout rules the
configuration sets, checked (`botocore-services`), then stripped and compiled when asked."""

from __future__ import annotations

import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..config import Config
from ..reporting import Reporter
from ..targets import Target
from .entries import PackageFiles
from .layout import LayoutOptions, check_botocore_services, known_botocore_services
from .transforms import transform_packages
from .verdicts import verified_wheels
from .wheel import read_wheel


def layout_options(config: Config) -> LayoutOptions:
    """How wheel members map onto a layer (or, in fat mode, onto the function zip's root; in
    efs mode, onto the root of the archive extracted at the mount path)."""
    return LayoutOptions(
        prefix="" if config.mode in ("fat", "efs") else "python/",
        default_excludes=config.default_excludes,
        exclude=config.exclude,
        botocore_services=(
            None if config.botocore_services is None else frozenset(config.botocore_services)
        ),
        compile=config.compile,
    )


def _check_botocore_services(config: Config, packages: Sequence[PackageFiles]) -> None:
    if config.botocore_services is None:
        return
    names: set[str] = set()
    for pkg in packages:
        if pkg.name in ("botocore", "boto3"):
            with zipfile.ZipFile(pkg.wheel_path) as zf:
                names |= known_botocore_services(zf.namelist())
    if names:
        check_botocore_services(config.botocore_services, names)


def read_packages(
    wheels: Mapping[str, Path], config: Config, target: Target, reporter: Reporter
) -> tuple[PackageFiles, ...]:
    """The layer entries of every wheel in `wheels` (name -> path), in that order, each wheel
    verified first (once: the verdict is cached by the wheel's sha256)."""
    options = layout_options(config)
    paths = list(wheels.values())
    verdicts = verified_wheels(paths)
    packages = tuple(
        read_wheel(path, options, verdict=verdict)
        for path, verdict in zip(paths, verdicts, strict=True)
    )
    _check_botocore_services(config, packages)
    return transform_packages(packages, config, target, reporter)
