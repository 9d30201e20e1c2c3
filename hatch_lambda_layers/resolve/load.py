"""From the project to verified wheels on disk: the dependency graph for the target (from the
lock, or resolved against the index) and the wheel of each bundled distribution, fetched into
the verified cache. The index client is shared: one per build, opened on first use."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Config
from ..errors import ConfigError, NoCompatibleWheelError, SdistBuildError
from ..progress import FetchProgress
from ..reporting import Reporter
from ..targets import Target
from .fetch import fetch_wheels
from .graph import DependencyGraph, PinnedPackage, WheelLink, select_wheel
from .http import local_path
from .indexconfig import IndexSettings
from .locks import read_lock, registry_urls

if TYPE_CHECKING:
    from .index import IndexClient
    from .sdist import SdistBuild

Progress = Callable[[FetchProgress], None] | None


class SharedIndex:
    """The build's one index client, opened on first use (a committed plan with a lock never
    needs one) and closed by `close`. Its settings: the remote registries the lock names, else
    the user's index configuration (tool table, pip and uv settings, environment)."""

    def __init__(self, config: Config, project_root: Path, lock_path: Path | None) -> None:
        self._config = config
        self._root = project_root
        self._lock_path = lock_path
        self._client: IndexClient | None = None

    def settings(self) -> IndexSettings:
        """The index settings; `ConfigError` when no index is configured anywhere."""
        from .indexconfig import discover_index_settings

        urls = registry_urls(self._lock_path) if self._lock_path is not None else ()
        if urls:
            return IndexSettings(index_urls=urls)
        return discover_index_settings(self._config, self._root)

    def get(self) -> IndexClient:
        """The client; `ConfigError` when no index is configured anywhere."""
        if self._client is None:
            from .index import IndexClient

            self._client = IndexClient(self.settings())
        return self._client

    def sdist_build(self, reporter: Reporter) -> SdistBuild:
        """How sdists are built: with the index settings when there are some, else with the
        installers' own configuration."""
        from .sdist import SdistBuild

        try:
            settings: IndexSettings | None = self.settings()
        except ConfigError:
            settings = None
        return SdistBuild(settings=settings, warn=reporter.warning)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def __enter__(self) -> SharedIndex:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def load_graph(
    *,
    project_name: str,
    requirements: Sequence[str],
    target: Target,
    lock_path: Path | None,
    index: SharedIndex,
    reporter: Reporter,
) -> DependencyGraph:
    """The project's runtime graph on `target`: read from the lock (edges rebuilt from METADATA
    for a pylock file that records none), or resolved against the index."""
    if lock_path is None:
        from .resolver import resolve

        reporter.info(f"Resolving {len(requirements)} requirements for {target.describe()}")
        return resolve(requirements, target, index.get())
    reporter.info(f"Reading {lock_path.name} for {target.describe()}")
    graph = read_lock(lock_path, target, project_name=project_name)
    if graph.edges_known:
        from .edges import check_lock_covers

        check_lock_covers(graph, target, requirements, project_name=project_name)
        return graph
    metadata = _metadata_for(
        graph.packages, target, reporter.download_progress(), index.sdist_build(reporter)
    )
    from .edges import edges_from_metadata

    return edges_from_metadata(graph, metadata, target, requirements, project_name=project_name)


def _metadata_for(
    packages: Sequence[PinnedPackage], target: Target, progress: Progress, sdists: SdistBuild
) -> dict[str, str]:
    """METADATA of each pinned wheel (built from the sdist for a package that has only one).
    Packages with neither (git, directories) have none; `edges_from_metadata` accepts that,
    and `select_wheel` reports them only if bundled."""
    from ..layers.wheel import read_metadata

    links = {p.name: select_wheel(p, target) for p in packages if p.wheels}
    paths = fetch_wheels(list(links.values()), progress=progress)
    metadata: dict[str, str] = {
        name: read_metadata(paths[link.filename]) for name, link in links.items()
    }
    for name, wheel in _built_from_sdists(packages, sdists).items():
        metadata[name] = read_metadata(wheel)
    return metadata


def _sdist_only(package: PinnedPackage) -> bool:
    return not package.wheels and package.sdist is not None


def _built_from_sdists(packages: Sequence[PinnedPackage], sdists: SdistBuild) -> dict[str, Path]:
    """name -> the wheel built from its sdist, for every package that publishes only one."""
    from .sdist import built_wheel

    return {
        p.name: built_wheel(p.sdist, sdists, allow_unhashed=local_path(p.sdist.url) is not None)
        for p in packages
        if p.sdist is not None and _sdist_only(p)
    }


def _links(
    packages: Sequence[PinnedPackage], target: Target, index: SharedIndex
) -> dict[str, WheelLink]:
    """Each package's wheel for `target`; one error for every package without one, each with
    the release to lock instead (the index asked once per such package)."""
    links: dict[str, WheelLink] = {}
    refused: list[PinnedPackage] = []
    for package in packages:
        try:
            links[package.name] = select_wheel(package, target)
        except NoCompatibleWheelError:
            refused.append(package)
    if refused:
        from .advice import refuse

        raise refuse(refused, target, lambda name: index.get().project_page(name))
    return links


def fetch_bundled(
    packages: Sequence[PinnedPackage], target: Target, reporter: Reporter, index: SharedIndex
) -> Mapping[str, Path]:
    """Package name -> its wheel for `target`, fetched into the verified cache, or built from
    the sdist of a package that publishes only one (pure-Python results only; the build
    requirements come from `index`'s settings)."""
    links = _links([p for p in packages if not _sdist_only(p)], target, index)
    reporter.waiting(f"Fetching {len(links)} wheels")
    paths = fetch_wheels(
        list(links.values()),
        progress=reporter.download_progress(),
        warn=reporter.warning,
        # uv records no hashes for wheels on local disk (find-links, path sources).
        allow_unhashed=all(w.sha256 or local_path(w.url) for w in links.values()),
    )
    wheels: dict[str, Path] = {name: paths[link.filename] for name, link in links.items()}
    built = [p for p in packages if _sdist_only(p)]
    if built:
        reporter.waiting(f"Building {len(built)} wheels from sdists")
    sdists = index.sdist_build(reporter) if built else None  # no index settings read otherwise
    for name, wheel in (_built_from_sdists(built, sdists) if sdists else {}).items():
        if target.wheel_rank(wheel.name) is None:
            raise SdistBuildError(
                f"the wheel built from the sdist of {name}, {wheel.name}, cannot be loaded by "
                f"{target.describe()}; lock a release that ships a wheel for it"
            )
        wheels[name] = wheel
    return {p.name: wheels[p.name] for p in packages}
