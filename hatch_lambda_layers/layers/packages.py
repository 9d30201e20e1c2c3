"""Each bundled wheel as the entries it puts into a layer: placed by the layout rules the
configuration sets (or taken from the layout cache, `layoutcache`), checked
(`botocore-services`), then stripped and compiled when asked."""

from __future__ import annotations

import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..config import Config
from ..reporting import Reporter
from ..resolve.cache import default_cache_dir
from ..targets import Target
from .entries import PackageFiles
from .layout import LayoutOptions, check_botocore_services, known_botocore_services
from .layoutcache import LayoutCache, cached_layouts
from .transforms import transform_packages


def layout_options(config: Config) -> LayoutOptions:
    """How wheel members map onto a layer (or, in fat mode, onto the function zip's root)."""
    return LayoutOptions(
        prefix="" if config.mode == "fat" else "python/",
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


def _lay_out(paths: Sequence[Path], options: LayoutOptions) -> list[PackageFiles]:
    """Wheels not laid out before: verified (the verdict is cached by the wheel's sha256), then
    read. The reader and verifier are loaded only here."""
    from .verdicts import verified_wheels
    from .wheel import read_wheel

    verdicts = verified_wheels(paths)
    return [read_wheel(p, options, verdict=v) for p, v in zip(paths, verdicts, strict=True)]


def read_packages(
    wheels: Mapping[str, Path], config: Config, target: Target, reporter: Reporter
) -> tuple[PackageFiles, ...]:
    """The layer entries of every wheel in `wheels` (name -> path), in that order: from the
    layout cache for a wheel laid out before with these options, else read from the wheel,
    verified first (once: the verdict is cached by the wheel's sha256), and cached."""
    options = layout_options(config)
    paths = list(wheels.values())
    cache = LayoutCache(default_cache_dir(), options)
    found, digests = cached_layouts(cache, paths)
    todo = [i for i, package in enumerate(found) if package is None]
    if todo:
        laid_out = _lay_out([paths[i] for i in todo], options)
        for i, package in zip(todo, laid_out, strict=True):
            cache.store(digests[i], package)
            found[i] = package
    packages = tuple(p for p in found if p is not None)
    _check_botocore_services(config, packages)
    return transform_packages(packages, config, target, reporter)
