"""Resolution for one Lambda target with resolvelib, when there is no lock file.

A version is a candidate when it has at least one wheel the target loads, that wheel is not
yanked (unless the requirement pins ``==`` that version), and its ``Requires-Python`` admits the
target's Python. A project that publishes no wheel at all (only sdists) has its sdists as
candidates instead, each built into a pure-Python wheel (`sdist`) for its metadata and for the
layer; a project with wheels never falls back to building one of its sdists.
Candidates come newest first; pre-releases only when a specifier asks for one.

Extras follow resolvelib's usual pattern: ``name[extra]`` is its own identifier whose candidate
depends on ``name==version`` plus the extra's requirements, so the base package and every extra
agree on one version. In the resulting graph the extras' dependencies belong to the base name.

A ``Requires-Python`` that only the wheel's metadata states (find-links files carry none on the
page) becomes a requirement on the virtual identifier ``<python>``, whose only candidate is the
target's interpreter; resolvelib then backtracks to an older version as with any conflict.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

from packaging.markers import Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.metadata import parse_email
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version
from resolvelib import AbstractProvider, BaseReporter, ResolutionImpossible, ResolutionTooDeep
from resolvelib import Resolver as _Resolver

from ..errors import ResolutionError
from .graph import DependencyGraph, PinnedPackage, WheelLink, wheel_tags_text
from .index import PackageIndex
from .pages import IndexFile, project_of

if TYPE_CHECKING:
    from resolvelib.structs import RequirementInformation

__all__ = ["ResolveTarget", "resolve"]

PYTHON = "<python>"
MAX_ROUNDS = 20_000
_TAGS_SHOWN = 6  # wheel tags listed in a no-usable-wheel explanation


class ResolveTarget(Protocol):
    """What resolution needs from :class:`hatch_lambda_layers.targets.Target`."""

    @property
    def marker_environment(self) -> Mapping[str, str]: ...

    @property
    def python_full_version(self) -> str: ...

    def wheel_rank(self, filename: str) -> int | None: ...

    def describe(self) -> str: ...

    def describe_platform(self) -> str: ...


def _identifier(name: str, extras: frozenset[NormalizedName]) -> str:
    return f"{name}[{','.join(sorted(extras))}]" if extras else name


@dataclass(frozen=True)
class _Requirement:
    name: NormalizedName  # PYTHON for the interpreter
    extras: frozenset[NormalizedName]
    specifier: SpecifierSet
    text: str  # for messages: name, extras and specifier as written, without the marker

    @property
    def identifier(self) -> str:
        return _identifier(self.name, self.extras)

    @property
    def pinned(self) -> bool:
        """``==X`` without wildcard or ``===X``: yanked files become acceptable (PEP 592)."""
        return any(
            s.operator == "===" or (s.operator == "==" and not s.version.endswith(".*"))
            for s in self.specifier
        )


@dataclass(frozen=True)
class _Candidate:
    name: NormalizedName
    version: Version
    extras: frozenset[NormalizedName] = frozenset()
    wheels: tuple[IndexFile, ...] = field(default=(), compare=False)
    sdist: IndexFile | None = field(default=None, compare=False)  # when it has no wheels

    @property
    def identifier(self) -> str:
        return _identifier(self.name, self.extras)

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


def _to_requirement(req: Requirement) -> _Requirement:
    extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
    return _Requirement(
        name=canonicalize_name(req.name),
        extras=frozenset(canonicalize_name(e) for e in req.extras),
        specifier=req.specifier,
        text=f"{req.name}{extras}{req.specifier}",
    )


def _parse_requirement(text: str, where: str) -> Requirement:
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        raise ResolutionError(f"invalid requirement {text!r} in {where}: {exc}") from exc
    if req.url:
        raise ResolutionError(
            f"{where} requires {text!r}, a direct URL; resolving needs a named requirement "
            f"from an index, or lock the project with `uv lock` first"
        )
    return req


def _python_ok(specifier: str | None, python: Version) -> bool:
    if not specifier:
        return True
    try:
        return SpecifierSet(specifier).contains(python, prereleases=True)
    except InvalidSpecifier:
        return True  # as pip does: an unreadable Requires-Python does not exclude the file


@dataclass
class _VersionInfo:
    """What the index offers for one version, before the requirements are applied."""

    wheels: list[IndexFile] = field(default_factory=list)
    compatible: list[IndexFile] = field(default_factory=list)
    python_excluded: list[IndexFile] = field(default_factory=list)
    sdists: list[IndexFile] = field(default_factory=list)


class _Provider(AbstractProvider[_Requirement, _Candidate, str]):
    def __init__(self, index: PackageIndex, target: ResolveTarget) -> None:
        self.index = index
        self.target = target
        self.python = Version(target.python_full_version)
        self._versions: dict[NormalizedName, dict[Version, _VersionInfo]] = {}
        self.sdist_only: dict[NormalizedName, bool] = {}
        self.dependencies: dict[_Candidate, tuple[_Requirement, ...]] = {}

    # -- index views

    def versions(self, name: NormalizedName) -> dict[Version, _VersionInfo]:
        known = self._versions.get(name)
        if known is not None:
            return known
        page = self.index.project_page(name)
        table: dict[Version, _VersionInfo] = defaultdict(_VersionInfo)
        has_sdist = False
        for file in page.files:
            if not file.is_wheel:
                sdist_version = _sdist_version(file.filename, name)
                if sdist_version is not None and _python_ok(file.requires_python, self.python):
                    table[sdist_version].sdists.append(file)
                has_sdist = has_sdist or project_of(file.filename) == name
                continue
            try:
                project, version, _, _ = parse_wheel_filename(file.filename)
            except InvalidWheelFilename:
                continue
            if project != name:
                continue
            info = table[version]
            info.wheels.append(file)
            if self.target.wheel_rank(file.filename) is None:
                continue
            if _python_ok(file.requires_python, self.python):
                info.compatible.append(file)
            else:
                info.python_excluded.append(file)
        self._versions[name] = dict(table)
        self.sdist_only[name] = has_sdist and not any(info.wheels for info in table.values())
        return self._versions[name]

    def _usable_files(self, info: _VersionInfo, allow_yanked: bool) -> list[IndexFile]:
        files = [f for f in info.compatible if allow_yanked or not f.yanked]
        return sorted(files, key=lambda f: (self.target.wheel_rank(f.filename) or 0, f.filename))

    # -- resolvelib's provider interface (called by keyword: the names must stay as they are)

    def identify(self, requirement_or_candidate: _Requirement | _Candidate) -> str:
        return requirement_or_candidate.identifier

    def get_preference(
        self,
        identifier: str,
        resolutions: Mapping[str, _Candidate],
        candidates: Mapping[str, Iterator[_Candidate]],
        information: Mapping[str, Iterator[RequirementInformation[_Requirement, _Candidate]]],
        backtrack_causes: Sequence[RequirementInformation[_Requirement, _Candidate]],
    ) -> tuple[bool, bool, bool, int, str]:
        requirements = [info.requirement for info in information[identifier]]
        caused = {cause.requirement.name for cause in backtrack_causes} | {
            cause.parent.name for cause in backtrack_causes if cause.parent is not None
        }
        count = sum(1 for _ in candidates[identifier])
        return (
            identifier != PYTHON,
            identifier.split("[", 1)[0] not in caused,
            not any(r.pinned for r in requirements),
            count,
            identifier,
        )

    def narrow_requirement_selection(
        self,
        identifiers: Iterable[str],
        resolutions: Mapping[str, _Candidate],
        candidates: Mapping[str, Iterator[_Candidate]],
        information: Mapping[str, Iterator[RequirementInformation[_Requirement, _Candidate]]],
        backtrack_causes: Sequence[RequirementInformation[_Requirement, _Candidate]],
    ) -> Iterable[str]:
        identifiers = list(identifiers)
        if PYTHON in identifiers:
            return [PYTHON]
        return identifiers

    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[_Requirement]],
        incompatibilities: Mapping[str, Iterator[_Candidate]],
    ) -> list[_Candidate]:
        reqs = list(requirements[identifier])
        bad = {c.version for c in incompatibilities[identifier]}
        if identifier == PYTHON:
            if self.python in bad or not all(
                r.specifier.contains(self.python, prereleases=True) for r in reqs
            ):
                return []
            return [_Candidate(name=NormalizedName(PYTHON), version=self.python)]
        name = reqs[0].name
        extras = reqs[0].extras
        allow_pre = any(r.specifier.prereleases for r in reqs)
        matches: list[_Candidate] = []
        versions = self.versions(name)
        sdist_only = not any(info.wheels for info in versions.values())
        for version, info in sorted(versions.items(), reverse=True):
            if version in bad or (version.is_prerelease and not allow_pre):
                continue
            if not all(r.specifier.contains(version, prereleases=True) for r in reqs):
                continue
            allow_yanked = any(r.pinned for r in reqs)
            files = self._usable_files(info, allow_yanked=allow_yanked)
            sdists = [f for f in info.sdists if allow_yanked or not f.yanked]
            if files:
                matches.append(_Candidate(name, version, extras, tuple(files)))
            elif sdist_only and sdists:
                matches.append(_Candidate(name, version, extras, sdist=sdists[0]))
        return matches

    def is_satisfied_by(self, requirement: _Requirement, candidate: _Candidate) -> bool:
        return requirement.specifier.contains(candidate.version, prereleases=True)

    def get_dependencies(self, candidate: _Candidate) -> list[_Requirement]:
        if candidate.name == PYTHON:
            return []
        known = self.dependencies.get(candidate)
        if known is not None:
            return list(known)
        metadata = self.index.metadata(
            candidate.wheels[0] if candidate.wheels else _sdist_of(candidate)
        )
        raw, _ = parse_email(metadata)
        where = f"{candidate.name} {candidate.version}"
        env = dict(self.target.marker_environment)
        deps: list[_Requirement] = []
        if candidate.extras:
            # The extra's own candidate: tie it to the base package at the same version.
            deps.append(
                _Requirement(
                    name=candidate.name,
                    extras=frozenset(),
                    specifier=SpecifierSet(f"=={candidate.version}"),
                    text=f"{candidate.name}=={candidate.version}",
                )
            )
        requires_python = raw.get("requires_python")
        if requires_python and not _python_ok(requires_python, self.python):
            deps.append(
                _Requirement(
                    name=NormalizedName(PYTHON),
                    extras=frozenset(),
                    specifier=SpecifierSet(requires_python),
                    text=f"Python {requires_python}",
                )
            )
        for text in raw.get("requires_dist", []):
            req = _parse_requirement(text, where)
            if req.marker is None or _applies(req.marker, env, candidate.extras, where):
                deps.append(_to_requirement(req))
        self.dependencies[candidate] = tuple(deps)
        _prefetch(self.index, [d.name for d in deps if d.name != PYTHON])
        return deps


def _applies(
    marker: Marker, env: Mapping[str, str], extras: frozenset[NormalizedName], where: str
) -> bool:
    """Base candidates take unconditional requirements; extra candidates only their extra's."""
    try:
        base = marker.evaluate({**env, "extra": ""})
        if not extras:
            return base
        return not base and any(marker.evaluate({**env, "extra": e}) for e in extras)
    except (UndefinedComparison, UndefinedEnvironmentName) as exc:
        raise ResolutionError(
            f"cannot evaluate the marker {str(marker)!r} of a requirement of {where}: {exc}"
        ) from exc


def _sdist_version(filename: str, name: NormalizedName) -> Version | None:
    """The version of `name` an sdist file name holds, or None when it is another project's
    or not an sdist name."""
    try:
        project, version = parse_sdist_filename(filename)
    except InvalidSdistFilename:
        return None
    return version if project == name else None


def _sdist_of(candidate: _Candidate) -> IndexFile:
    if candidate.sdist is None:
        raise ResolutionError(f"{candidate} has neither a wheel nor an sdist")
    return candidate.sdist


def _prefetch(index: PackageIndex, names: Sequence[str]) -> None:
    """Let an index that can fetch pages in the background (IndexClient) start on these."""
    hint = getattr(index, "prefetch", None)
    if callable(hint) and names:
        hint(names)


def _sdist_link(candidate: _Candidate, index: PackageIndex) -> WheelLink | None:
    """The sdist a candidate without wheels is built from, with its sha256 (downloaded and
    hashed when the index lists none)."""
    if candidate.sdist is None:
        return None
    link = candidate.sdist.link()
    return link if link.sha256 else replace(link, sha256=index.file_sha256(candidate.sdist))


def _links(candidate: _Candidate, index: PackageIndex) -> tuple[WheelLink, ...]:
    """The candidate's loadable wheels, best first; the best one always carries a sha256.

    An index that lists no hashes still yields a verifiable graph: the wheel the target will
    use (`select_wheel` picks the first by the same rank order) is hashed by downloading it.
    """
    links = [f.link() for f in candidate.wheels]
    if links and not links[0].sha256:
        links[0] = replace(links[0], sha256=index.file_sha256(candidate.wheels[0]))
    return tuple(links)


# --------------------------------------------------------------------------- messages


def _who(parent: _Candidate | None) -> str:
    return "the project" if parent is None else f"{parent.name} {parent.version}"


def _explain(
    provider: _Provider, causes: Sequence[RequirementInformation[_Requirement, _Candidate]]
) -> str:
    """One package's part of the message: who asked for what, and why nothing fits."""
    asked = "; ".join(
        dict.fromkeys(
            f"{cause.requirement.text} required by {_who(cause.parent)}" for cause in causes
        )
    )
    name = causes[0].requirement.name
    if name == PYTHON:
        return f"{asked}, but the target runs Python {provider.python}"
    versions = provider.versions(name)
    if not versions:
        if provider.sdist_only.get(name):
            return (
                f"{asked}, but {name} publishes only source distributions and none of them "
                f"admits Python {provider.python}"
            )
        return f"{asked}, but no package named {name!r} was found on {provider.index.describe()}"
    loadable = sorted(
        (
            v
            for v, info in versions.items()
            if any(not f.yanked for f in (*info.compatible, *info.sdists))
        ),
        reverse=True,
    )
    if not loadable:
        return _why_no_wheel(provider, asked, name, versions)
    parents = {cause.parent for cause in causes if cause.parent is not None}
    if len(causes) > 1 or parents:
        return (
            f"{asked}, but no version of {name} satisfies all of them "
            f"(versions with a wheel for the target: {_list(loadable)})"
        )
    return f"{asked}, but the versions of {name} with a wheel for the target are {_list(loadable)}"


def _why_no_wheel(
    provider: _Provider, asked: str, name: str, versions: Mapping[Version, _VersionInfo]
) -> str:
    """Why none of `name`'s `versions` has a usable wheel: yanked, Python, or platform."""
    excluded_by_python = sorted(
        (v for v, info in versions.items() if info.python_excluded), reverse=True
    )
    yanked = sorted((v for v, info in versions.items() if info.compatible), reverse=True)
    if yanked:
        return (
            f"{asked}, but every {name} version with a wheel for the target is yanked "
            f"({_list(yanked)}); pin one with == to accept it anyway"
        )
    if excluded_by_python:
        return (
            f"{asked}, but every {name} wheel for the target requires a Python other than "
            f"{provider.python} (versions {_list(excluded_by_python)})"
        )
    tags = sorted({wheel_tags_text(f.link()) for info in versions.values() for f in info.wheels})
    shown = ", ".join(tags[:_TAGS_SHOWN])
    if len(tags) > _TAGS_SHOWN:
        shown += f" and {len(tags) - _TAGS_SHOWN} more"
    return (
        f"{asked}, but {name} has versions {_list(sorted(versions, reverse=True))} and "
        f"they ship no wheel for the target (their wheels: {shown}); a "
        f"{provider.target.describe_platform()} or pure-Python wheel is needed"
    )


def _list(versions: Sequence[Version], limit: int = 8) -> str:
    shown = ", ".join(str(v) for v in versions[:limit])
    return shown + (f" and {len(versions) - limit} more" if len(versions) > limit else "")


def _conflict_message(
    provider: _Provider,
    causes: Sequence[RequirementInformation[_Requirement, _Candidate]],
) -> str:
    by_name: dict[str, list[RequirementInformation[_Requirement, _Candidate]]] = {}
    for cause in causes:
        by_name.setdefault(cause.requirement.name, []).append(cause)
    parts = "; ".join(_explain(provider, group) for group in by_name.values())
    return f"cannot resolve the requirements for {provider.target.describe()}: {parts}"


# --------------------------------------------------------------------------- entry point


def resolve(
    requirements: Sequence[str], target: ResolveTarget, client: PackageIndex
) -> DependencyGraph:
    """Resolve ``requirements`` (PEP 508 strings) to a dependency graph for ``target``.

    Raises :class:`ResolutionError` with a readable explanation when no set of wheels works.
    """
    env = dict(target.marker_environment)
    roots: list[_Requirement] = []
    for text in requirements:
        req = _parse_requirement(text, "the project's dependencies")
        if req.marker is None or _applies(req.marker, env, frozenset(), "the project"):
            roots.append(_to_requirement(req))
    provider = _Provider(client, target)
    _prefetch(client, [r.name for r in roots])
    resolver: _Resolver[_Requirement, _Candidate, str] = _Resolver(provider, BaseReporter())
    try:
        result = resolver.resolve(roots, max_rounds=MAX_ROUNDS)
    except ResolutionImpossible as exc:
        raise ResolutionError(_conflict_message(provider, list(exc.causes))) from None
    except ResolutionTooDeep as exc:
        raise ResolutionError(
            f"resolution for {target.describe()} gave up after {exc.round_count} rounds; "
            f"narrow the version ranges of the project's dependencies or lock with `uv lock`"
        ) from None

    pins: dict[NormalizedName, _Candidate] = {}
    deps: dict[NormalizedName, set[NormalizedName]] = defaultdict(set)
    for identifier, candidate in result.mapping.items():
        if identifier == PYTHON:
            continue
        if not candidate.extras:
            pins[candidate.name] = candidate
        for dependency in provider.dependencies.get(candidate, ()):
            if dependency.name not in (PYTHON, candidate.name):
                deps[candidate.name].add(dependency.name)
    packages = tuple(
        PinnedPackage(
            name=name,
            version=str(candidate.version),
            wheels=_links(candidate, client),
            dependencies=tuple(sorted(deps[name])),
            has_sdist=candidate.sdist is not None,
            sdist=_sdist_link(candidate, client),
        )
        for name, candidate in sorted(pins.items())
    )
    return DependencyGraph(
        roots=tuple(sorted({r.name for r in roots})),
        packages=packages,
        source=f"resolved from {client.describe()}",
    )
