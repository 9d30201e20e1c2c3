"""What to lock instead when a pinned release has no wheel the target can load: the newest
release that has one, and the constraint that makes a resolver pick it. `newest_loadable` is
pure (a project page in); `refusal_with_advice` asks the index once."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import Version

from ..errors import LambdaLayersError, NoCompatibleWheelError
from ..targets import Target
from .graph import PinnedPackage, wheel_tags_text
from .pages import IndexFile, ProjectPage

_TAGS_SHOWN = 6  # wheel tags listed in a refusal


@dataclass(frozen=True)
class Advice:
    release: Version  # the newest release with a wheel the target loads
    below: Version | None  # the first release after it: `name<below` picks `release`


def _python_ok(file: IndexFile, target: Target) -> bool:
    if file.requires_python is None:
        return True
    try:
        spec = SpecifierSet(file.requires_python)
    except InvalidSpecifier:
        return True
    return spec.contains(target.python_full_version, prereleases=True)


def _version(filename: str) -> Version | None:
    try:
        return parse_wheel_filename(filename)[1]
    except InvalidWheelFilename:
        return None


def newest_loadable(files: Iterable[IndexFile], target: Target) -> Advice | None:
    """The newest final release among `files` with a non-yanked wheel the target can load, and
    the first release after it; None when no release has one."""
    loadable: set[Version] = set()
    released: set[Version] = set()
    for file in files:
        version = _version(file.filename) if file.filename.endswith(".whl") else None
        if version is None or version.is_prerelease or version.is_devrelease:
            continue
        released.add(version)
        if (
            not file.yanked
            and _python_ok(file, target)
            and target.wheel_rank(file.filename) is not None
        ):
            loadable.add(version)
    if not loadable:
        return None
    best = max(loadable)
    later = [v for v in released if v > best]
    return Advice(best, min(later) if later else None)


def refusal_with_advice(
    package: PinnedPackage, target: Target, page: Callable[[str], ProjectPage]
) -> str:
    """Why `package` cannot be bundled for `target` and the release to lock instead, from its
    page on the index (asked once; without it, the generic advice)."""
    shown = ", ".join(sorted({wheel_tags_text(w) for w in package.wheels})[:_TAGS_SHOWN])
    existing = f"its wheels are tagged {shown}" if shown else "it has no wheels"
    head = f"{package.name} {package.version} has no wheel for {target.describe()}: {existing}"
    try:
        advice = newest_loadable(page(package.name).files, target)
    except LambdaLayersError:
        advice = None
        generic = (
            f"lock a release that ships one for {target.describe_platform()} (a constraint in "
            f'[tool.uv] constraint-dependencies), or set lock = "none" in [tool.lambda-layers]'
        )
        return f"{head}; {generic}"
    if advice is None:
        return f"{head}; no release of {package.name} on the index ships one"
    constraint = (
        f"{package.name}<{advice.below}"
        if advice.below is not None
        else f"{package.name}=={advice.release}"
    )
    return (
        f"{head}; the newest release that ships one is {advice.release}: add "
        f'"{constraint}" to [tool.uv] constraint-dependencies and run `uv lock`, or set '
        f'lock = "none" in [tool.lambda-layers] to resolve for the target'
    )


def refuse(
    packages: Iterable[PinnedPackage], target: Target, page: Callable[[str], ProjectPage]
) -> NoCompatibleWheelError:
    """One error for every package without a loadable wheel, each with its advice."""
    reasons = [refusal_with_advice(p, target, page) for p in packages]
    return NoCompatibleWheelError(" | ".join(reasons))
