"""The evidence change rates are estimated from, gathered by I/O: the lock file's revisions in
git, and each package's release history on an index (`releases` keeps that in the cache for a
day). With `releases`, the only I/O of the `plan` package; `rates` turns what it gathers into
estimates.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from packaging.utils import canonicalize_name

from ..errors import LambdaLayersError
from ..resolve.locks import pinned_versions
from .rates import DEFAULT_RATE, HISTORY_LIMIT, Evidence, release_times_from_files
from .releases import CachedReleases

if TYPE_CHECKING:
    from ..resolve.pages import ProjectPage


class ReleasePages(Protocol):
    """Where release history is read from: an index client, or `releases.CachedReleases`."""

    def project_page(self, name: str) -> ProjectPage: ...

    def describe(self) -> str: ...


GIT_TIMEOUT = 30.0

Runner = Callable[[Sequence[str]], str | None]
Warn = Callable[[str], None]


def _git(root: Path) -> Runner:
    def run(args: Sequence[str]) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(root), *args],
                capture_output=True,
                text=True,
                timeout=GIT_TIMEOUT,
                check=False,
                env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout if done.returncode == 0 else None

    return run


def read_lock_history(
    project_root: str | os.PathLike[str],
    lock_file: str,
    *,
    limit: int = HISTORY_LIMIT,
    runner: Runner | None = None,
) -> tuple[dict[str, str], ...]:
    """Versions pinned by each of the last `limit` commits touching `lock_file` (a path relative
    to `project_root`), newest first.

    Thin I/O around git (`git log --format=%H -n N -- <lock>`, `git show <commit>:./<lock>`).
    Returns () when the project is not in a git repository, git is missing, or the checkout is
    shallow with no such commits; revisions that do not parse are skipped."""
    run = runner if runner is not None else _git(Path(project_root))
    listing = run(["log", "--format=%H", "-n", str(limit), "--", lock_file])
    if not listing:
        return ()
    revisions: list[dict[str, str]] = []
    for commit in listing.split():
        text = run(["show", f"{commit}:./{lock_file}"])
        if text is None:
            continue
        try:
            revisions.append(pinned_versions(text))
        except ValueError:
            continue
    return tuple(revisions)


def upload_times_from_index(
    index: ReleasePages,
    names: Iterable[str],
    warn: Warn | None = None,
    *,
    loadable: Callable[[str], bool] | None = None,
) -> dict[str, tuple[datetime, ...]]:
    """Thin I/O: each project's page from `index`, reduced by `release_times_from_files`.

    With `loadable` (wheel filename -> whether the target loads it) only releases the target can
    load count, and a package whose newest release it cannot load is frozen (empty times). A
    project whose page cannot be read or carries no upload times is left out (its rate then
    falls back to the default), with a warning."""
    found: dict[str, tuple[datetime, ...]] = {}
    for name in sorted({canonicalize_name(n) for n in names}):
        try:
            times, dated = _reduced(index, name, loadable)
        except LambdaLayersError as exc:
            if warn is not None:
                warn(f"no release history for {name}: {exc}")
            continue
        frozen = loadable is not None and dated
        if times or frozen:
            found[name] = times
        elif warn is not None:
            warn(f"no upload times for {name} on {index.describe()}; assuming rate {DEFAULT_RATE}")
    return found


def _reduced(
    index: ReleasePages, name: str, loadable: Callable[[str], bool] | None
) -> tuple[tuple[datetime, ...], bool]:
    """The page's release times, and whether it carries upload times at all (memoised by the
    release cache when `index` is one)."""

    def reduce(page: ProjectPage) -> tuple[tuple[datetime, ...], bool]:
        dated = any(f.upload_time for f in page.files)
        return release_times_from_files(page.files, loadable), dated

    if isinstance(index, CachedReleases):
        return index.reduced(name, reduce)
    return reduce(index.project_page(name))


def gather_evidence(
    project_root: Path,
    names: Sequence[str],
    *,
    lock_path: Path | None,
    manifest_history: Sequence[Mapping[str, str]] = (),
    index: ReleasePages | None = None,
    loadable: Callable[[str], bool] | None = None,
    warn: Warn | None = None,
    now: datetime | None = None,
) -> Evidence:
    """Everything known about how `names` change: the lock file's git history (when the lock
    lies inside the project), the previous manifests' history, and release history from
    `index` (when given). Never fatal: what cannot be read is left out, with warnings."""
    lock_history: tuple[dict[str, str], ...] = ()
    if lock_path is not None and lock_path.is_relative_to(project_root):
        lock_history = read_lock_history(
            project_root, lock_path.relative_to(project_root).as_posix()
        )
    missing: list[str] = []
    upload_times: dict[str, tuple[datetime, ...]] = {}
    if index is not None and names:
        upload_times = upload_times_from_index(index, names, missing.append, loadable=loadable)
    if missing and warn is not None:
        warn(
            f"no release history for {len(missing)} of {len(names)} packages on "
            f"{index.describe() if index is not None else 'the index'}; their change rates use "
            f"the default prior"
        )
    return Evidence(
        lock_history=lock_history,
        manifest_history=tuple(manifest_history),
        upload_times=upload_times,
        now=now if now is not None else datetime.now(timezone.utc),
    )
