"""Each bundled wheel as the entries it puts into a layer: placed by the layout rules the
configuration sets (or taken from the layout cache, `layoutcache`), checked
(`botocore-services`), pruned (``default-excludes``), stripped, and given bytecode (``compile``)
together with the function's own files."""

from __future__ import annotations

import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..config import Config
from ..reporting import Reporter
from ..resolve.cache import default_cache_dir
from ..targets import Target
from .budget import BytecodeReport
from .entries import Entry, PackageFiles
from .layout import LayoutOptions, check_botocore_services, known_botocore_services
from .layoutcache import LayoutCache, cached_layouts
from .prune import EMPTY_REPORT, PruneReport, prune_packages
from .scanstore import ScanStore
from .transforms import transform_packages


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
        compile=bool(config.compile),
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


def read_packages(wheels: Mapping[str, Path], config: Config) -> tuple[PackageFiles, ...]:
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
    return packages


@dataclass(frozen=True)
class Contents:
    """What the layers (and the function zips) hold: the packages' entries, each function's
    files (with their bytecode), what pruning left out, and what `compile` did."""

    packages: tuple[PackageFiles, ...]
    function_files: Mapping[str, tuple[Entry, ...]]
    pruned: PruneReport = EMPTY_REPORT
    bytecode: BytecodeReport | None = None


@dataclass(frozen=True)
class FunctionInputs:
    """The functions being built: each one's files and handler (``module.function``), the
    distributions left out as provided at run time, and whether to trace handler imports."""

    files: Mapping[str, Sequence[Entry]]
    handlers: Mapping[str, str | None]
    provided: Sequence[str] = ()
    trace: bool = False


def read_contents(
    wheels: Mapping[str, Path],
    functions: FunctionInputs,
    config: Config,
    target: Target,
    reporter: Reporter,
) -> Contents:
    """The layer entries of every wheel in `wheels` (name -> path), in that order, and the
    function files, pruned, stripped and compiled as configured."""
    packages = read_packages(wheels, config)
    prefix = layout_options(config).prefix
    store = ScanStore(default_cache_dir())
    pruned = EMPTY_REPORT
    if config.default_excludes:
        packages, pruned = prune_packages(
            packages, [e for f in functions.files.values() for e in f], store, prefix=prefix
        )
        if pruned.savings:
            rules = ", ".join(f"{s.rule} {s.bytes / 1e6:,.2f} MB" for s in pruned.savings)
            reporter.info(f"Pruned {pruned.bytes / 1e6:,.2f} MB ({rules})")
    packages = transform_packages(packages, config, target, reporter)
    files = {name: tuple(f) for name, f in functions.files.items()}
    contents = Contents(packages, files, pruned)
    if config.compile:
        from .bytecode import BuildInputs, add_bytecode
        from .trace import stub_roots

        inputs = BuildInputs(
            function_files=files,
            handlers=functions.handlers,
            cache_dir=default_cache_dir(),
            trace=functions.trace,
            provided=stub_roots(functions.provided),
        )
        result = add_bytecode(packages, inputs, config, target, reporter, store=store)
        done = result.report
        reporter.info(
            f"Bytecode for {done.chosen:,} of {done.candidates:,} modules "
            f"({done.chosen_bytes / 1e6:,.2f} MB; {done.cached_groups} of "
            f"{done.cached_groups + done.compiled_groups} groups from the cache)"
        )
        contents = Contents(result.packages, result.function_files, pruned, result.report)
    store.save()
    return contents
