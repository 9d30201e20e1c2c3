"""PEP 751 ``pylock.toml`` -> a `DependencyGraph` for one target (pure: parsed TOML in), through
packaging's own `packaging.pylock` model.

A pylock file usually records no dependency edges (``uv export`` and ``pip lock`` write none).
Its graph then lists every selected package as a root with `edges_known` false, and the edges are
rebuilt from each wheel's METADATA (`edges.edges_from_metadata`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.pylock import (
    Package,
    PackageWheel,
    Pylock,
    PylockValidationError,
)
from packaging.utils import NormalizedName, canonicalize_name

from ..errors import LockError
from .graph import DependencyGraph, PinnedPackage, WheelLink

if TYPE_CHECKING:
    from ..targets import Target
from .edges import pruned
from .lockfields import (
    PYLOCK,
    UNKNOWN_VERSION,
    file_url,
    is_remote,
    same_version,
    sha256_of,
    url_filename,
)


def graph_from_pylock(
    data: Mapping[str, Any],
    target: Target,
    *,
    project_name: str,
    extras: Sequence[str] = (),
    base_dir: Path = Path(),
    file_name: str = PYLOCK,
) -> DependencyGraph:
    """The packages of a parsed PEP 751 lock selected for `target`.

    Selection follows the spec's installer steps (requires-python, environments, package
    markers with `extras` and the lock's default groups, one entry per name). It is written out
    here rather than calling `Pylock.select`, which keeps only the one wheel it would install on
    the running host; the pipeline needs every wheel to rank them for the Lambda target.
    """
    try:
        lock = Pylock.from_dict(data)
    except PylockValidationError as exc:
        raise LockError(f"{file_name}: {exc}; regenerate the lock file") from exc
    _check_coverage(lock, target, file_name)
    lock_env = _lock_environment(lock, target, extras, file_name)
    selected = _select(lock, lock_env, target, file_name)
    own = selected.pop(canonicalize_name(project_name), None)
    listed = frozenset(p.name for p in lock.packages)
    return _pylock_graph(
        _Selection(selected, listed, canonicalize_name(project_name), file_name), own, base_dir
    )


def _check_coverage(lock: Pylock, target: Target, file_name: str) -> None:
    """The lock's requires-python and environments must include `target`."""
    if lock.requires_python is not None and not lock.requires_python.contains(
        target.python_full_version, prereleases=True
    ):
        raise LockError(
            f"{file_name}: requires-python {str(lock.requires_python)!r} does not cover "
            f"{target.describe()} (Python {target.python_full_version}); the lock does not cover "
            f"the runtime: re-create it for that Python"
        )
    environment: dict[str, str] = dict(target.marker_environment)
    if lock.environments and not any(
        m.evaluate(dict(environment), context="requirement") for m in lock.environments
    ):
        shown = "; ".join(str(m) for m in lock.environments)
        raise LockError(
            f"{file_name}: its environments ({shown}) exclude {target.describe()}; the lock does "
            f"not cover the runtime: re-create it for that platform"
        )


def _lock_environment(
    lock: Pylock, target: Target, extras: Sequence[str], file_name: str
) -> dict[str, str | frozenset[str]]:
    """The marker environment for package markers: the target's, `extras`, default groups."""
    wanted_extras = frozenset(canonicalize_name(e) for e in extras)
    if lock.extras is not None:
        missing = sorted(wanted_extras - set(lock.extras))
        if missing:
            raise LockError(
                f"{file_name}: was not locked with extra {', '.join(map(repr, missing))} "
                f"(locked extras: {', '.join(lock.extras) or 'none'}); re-create it with them"
            )
    return {
        **target.marker_environment,
        "extras": wanted_extras,
        "dependency_groups": frozenset(lock.default_groups or ()),
    }


def _select(
    lock: Pylock, lock_env: dict[str, str | frozenset[str]], target: Target, file_name: str
) -> dict[NormalizedName, Package]:
    """name -> the one package entry whose marker holds; several for one name are an error."""
    selected: dict[NormalizedName, Package] = {}
    for index, package in enumerate(lock.packages):
        if package.marker is not None and not package.marker.evaluate(
            lock_env, context="lock_file"
        ):
            continue
        where = f"{file_name}: packages[{index}] ({package.name})"
        if package.requires_python is not None and not package.requires_python.contains(
            target.python_full_version, prereleases=True
        ):
            raise LockError(
                f"{where} requires Python {package.requires_python}, which excludes "
                f"{target.describe()}; the lock does not cover the runtime"
            )
        if package.name in selected:
            raise LockError(
                f"{where}: several entries for {package.name} apply on {target.describe()}; "
                f"regenerate the lock file"
            )
        selected[package.name] = package
    return selected


@dataclass(frozen=True)
class _Selection:
    """The packages selected for the target (name -> entry), every name the lock lists (in
    any environment), the project's name and the lock's file name."""

    selected: Mapping[NormalizedName, Package]
    listed: frozenset[NormalizedName]
    project: NormalizedName
    file_name: str


def _pylock_graph(selection: _Selection, own: Package | None, base_dir: Path) -> DependencyGraph:
    """The selected packages (the project's own entry, `own`, taken out) as a graph.

    Without recorded edges every package is a root and `edges_known` is false.
    """
    selected, file_name = selection.selected, selection.file_name
    has_edges = any(p.dependencies is not None for p in selected.values()) or (
        own is not None and own.dependencies is not None
    )
    packages: list[PinnedPackage] = []
    for _, package in sorted(selected.items(), key=lambda item: item[0]):
        deps = _pylock_edges(package, selection) if has_edges else ()
        packages.append(_pylock_package(package, deps, base_dir, file_name))
    if not has_edges:
        return DependencyGraph(
            roots=tuple(sorted(selected)),
            packages=tuple(packages),
            source=file_name,
            edges_known=False,
        )
    if own is not None and own.dependencies is not None:
        roots = _pylock_edges(own, selection)
        return pruned(DependencyGraph(roots=roots, packages=tuple(packages), source=file_name))
    # No entry for the project itself: the packages nothing else needs are its roots. A
    # dependency it shares with another package is then not a root; the pipeline can make
    # the roots exact with `with_project_roots` when it knows the project's requirements.
    needed = {d for p in packages for d in p.dependencies}
    roots = tuple(p.name for p in packages if p.name not in needed)
    return DependencyGraph(roots=roots, packages=tuple(packages), source=file_name)


def _pylock_edges(package: Package, selection: _Selection) -> tuple[NormalizedName, ...]:
    """The selected packages `package` depends on. A dependency on a package the lock does not
    list at all is an error; one listed only for other environments is not an edge here."""
    deps: set[NormalizedName] = set()
    for index, dep in enumerate(package.dependencies or ()):
        name = dep.get("name")
        where = f"{selection.file_name}: package {package.name} dependencies[{index}]"
        if not isinstance(name, str):
            raise LockError(f"{where}: `name` must be a string, got {name!r}; re-create the lock")
        canonical = canonicalize_name(name)
        if canonical not in selection.listed and canonical != selection.project:
            raise LockError(
                f"{where} is {name}, which the lock does not list; the lock is incomplete: "
                f"re-create it"
            )
        chosen = selection.selected.get(canonical)
        if chosen is None or canonical == selection.project:
            continue  # an entry for another environment
        version = dep.get("version")
        if (
            version is not None
            and chosen.version is not None
            and not same_version(str(chosen.version), version)
        ):
            continue  # refers to another fork's entry
        deps.add(canonical)
    return tuple(sorted(deps))


def _pylock_wheel(
    wheel: PackageWheel, package: Package, base_dir: Path, file_name: str
) -> WheelLink:
    filename = wheel.filename
    url = wheel.url if wheel.url else file_url(base_dir, wheel.path or filename)
    sha256 = sha256_of(
        wheel.hashes,
        file=file_name,
        package=f"{package.name} {package.version or UNKNOWN_VERSION}",
        filename=filename,
        remote=is_remote(url),
        lock="re-create the lock file with sha256 hashes",
    )
    return WheelLink(filename=filename, url=url, sha256=sha256, size=wheel.size)


def _pylock_package(
    package: Package, deps: Sequence[NormalizedName], base_dir: Path, file_name: str
) -> PinnedPackage:
    wheels = [_pylock_wheel(w, package, base_dir, file_name) for w in package.wheels or ()]
    has_sdist = package.sdist is not None
    sdist = _pylock_sdist(package, base_dir, file_name)
    archive = package.archive
    if archive is not None:
        location = archive.url or archive.path or ""
        filename = url_filename(location) if archive.url else Path(location).name
        if filename.endswith(".whl") and not archive.subdirectory:
            as_wheel = PackageWheel(
                name=filename,
                url=archive.url,
                path=archive.path,
                size=archive.size,
                hashes=archive.hashes,
            )
            wheels.append(_pylock_wheel(as_wheel, package, base_dir, file_name))
        else:
            has_sdist = True
    return PinnedPackage(
        name=package.name,
        version=str(package.version) if package.version is not None else UNKNOWN_VERSION,
        wheels=tuple(wheels),
        dependencies=tuple(deps),
        has_sdist=has_sdist,
        sdist=sdist,
    )


def _pylock_sdist(package: Package, base_dir: Path, file_name: str) -> WheelLink | None:
    """The package's `sdist` table as a link, when it says where the file is."""
    sdist = package.sdist
    if sdist is None or not (sdist.url or sdist.path):
        return None
    url = sdist.url or file_url(base_dir, sdist.path or "")
    filename = sdist.name or (url_filename(url) if sdist.url else Path(sdist.path or "").name)
    sha256 = sha256_of(
        sdist.hashes,
        file=file_name,
        package=f"{package.name} {package.version or UNKNOWN_VERSION}",
        filename=filename,
        remote=is_remote(url),
        lock="re-create the lock file with sha256 hashes",
        what="sdist",
    )
    return WheelLink(filename=filename, url=url, sha256=sha256, size=sdist.size)
