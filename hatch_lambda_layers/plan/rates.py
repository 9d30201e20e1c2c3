"""Change rates: P(a package's version changes in a given build), each with its source. Pure.

Sources, strongest first (`RateEstimate.source` is exactly one of `SOURCES`):

* ``override``: `volatile` (rate `VOLATILE_RATE`) or `stable` (`STABLE_RATE`) in
  ``[tool.lambda-layers]``.
* ``lock-history``: consecutive revisions of the project's lock file in its git history.
* ``manifest-history``: the bounded rolling ``history`` of earlier manifests in the output
  directory (one entry per build that changed some version; see `next_history`).
* ``release-cadence``: how often the package released on the index in the last twelve months,
  turned into a probability per build (`cadence_rate`).
* ``unknown``: nothing known; `DEFAULT_RATE`.

Combination (`combine`), a Beta-Binomial update. An override wins outright. Otherwise the prior
mean `m` is the release-cadence rate when known, else `DEFAULT_RATE`. A history counts as
evidence once it holds at least `MIN_OBSERVATIONS` consecutive pairs of revisions in which the
package is present; the lock history is preferred to the manifest history (they overlap, so
they are never added together). With `c` changes in `n` observations the estimate is the
posterior mean ``(c + m * w) / (n + w)`` with `w = PRIOR_WEIGHT` pseudo-observations, and the
source is that history's. Histories with fewer observations are ignored and the prior is the
estimate, with the prior's source.

Observations are revisions that changed *something* (a lock commit, a build whose versions
differ from the previous one). Builds that change nothing republish nothing whatever the
layout, so rates conditional on "something changed" rank the layouts the same way and are not
diluted by repeated local rebuilds.

Release cadence counts only releases that would move a lock and that the target can load; when
the newest such release cannot be loaded by the target (`loadability_frozen`), the package is
frozen for it and its rate is the cadence floor.
"""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

if sys.version_info >= (3, 11):
    pass
else:  # pragma: no cover
    pass
if TYPE_CHECKING:
    from ..resolve.index import IndexFile


SOURCES = ("lock-history", "manifest-history", "release-cadence", "override", "unknown")


VOLATILE_RATE = 0.9


STABLE_RATE = 0.01


DEFAULT_RATE = 0.1


MIN_OBSERVATIONS = 5


PRIOR_WEIGHT = 2.0


HISTORY_LIMIT = 50


WINDOW_DAYS = 365.0


# Assumed days between builds when turning releases per day into a probability per build.
DEFAULT_BUILD_INTERVAL_DAYS = 7.0


@dataclass(frozen=True)
class RateEstimate:
    rate: float
    source: str


@dataclass(frozen=True, kw_only=True)
class Evidence:
    """What is known about how packages change (`evidence.gather_evidence` reads it): revisions of
    the lock file and of earlier builds (newest first, name -> version), and the upload times of
    releases that move a lock (`release_times`), as of `now`."""

    lock_history: tuple[Mapping[str, str], ...] = ()
    manifest_history: tuple[Mapping[str, str], ...] = ()
    upload_times: Mapping[str, tuple[datetime, ...]] = field(default_factory=dict)
    now: datetime


@dataclass(frozen=True)
class ChangeCounts:
    """In how many consecutive revision pairs a package was present, and changed version."""

    changes: int
    observations: int


HISTORY_SOURCES = ("lock-history", "manifest-history", "release-cadence")


@dataclass(frozen=True)
class ChangeHistory:
    """Observed build intervals, oldest first: each the set of packages whose version changed in
    it (empty when none did). `packages`: the packages observed in every interval (canonical
    names); every change set is a subset. `source`: one of `HISTORY_SOURCES`. Names are
    canonicalized on construction."""

    intervals: tuple[frozenset[str], ...]
    packages: frozenset[str]
    source: str

    def __post_init__(self) -> None:
        if self.source not in HISTORY_SOURCES:
            raise ValueError(
                f"unknown change-history source {self.source!r}: use one of "
                + ", ".join(HISTORY_SOURCES)
            )
        packages = frozenset(str(canonicalize_name(p)) for p in self.packages)
        intervals = tuple(frozenset(str(canonicalize_name(p)) for p in i) for i in self.intervals)
        for index, changed in enumerate(intervals):
            stray = changed - packages
            if stray:
                raise ValueError(
                    f"interval {index} of the {self.source} history changes "
                    f"{', '.join(sorted(stray))}, not among the packages it covers"
                )
        object.__setattr__(self, "packages", packages)
        object.__setattr__(self, "intervals", intervals)

    @property
    def count(self) -> int:
        """Number of intervals."""
        return len(self.intervals)

    def changes(self, name: str) -> int:
        """In how many intervals `name` changed."""
        key = canonicalize_name(name)
        return sum(1 for changed in self.intervals if key in changed)

    def restricted(self, names: Iterable[str]) -> ChangeHistory:
        """The same intervals seen only through `names` (coverage and change sets cut to them)."""
        keep = frozenset(str(canonicalize_name(n)) for n in names) & self.packages
        return ChangeHistory(tuple(i & keep for i in self.intervals), keep, self.source)


def count_changes(history: Sequence[Mapping[str, str]]) -> dict[str, ChangeCounts]:
    """Per package (canonical name): changes and observations over consecutive revisions.

    `history` is newest first; a package counts in a pair only when present in both."""
    counts: dict[str, list[int]] = {}
    normalized = [{canonicalize_name(k): v for k, v in h.items()} for h in history]
    for newer, older in itertools.pairwise(normalized):
        for name in newer.keys() & older.keys():
            entry = counts.setdefault(name, [0, 0])
            entry[1] += 1
            entry[0] += newer[name] != older[name]
    return {name: ChangeCounts(c, n) for name, (c, n) in sorted(counts.items())}


def next_history(
    previous_history: Sequence[Mapping[str, str]],
    current_versions: Mapping[str, str],
    limit: int = HISTORY_LIMIT,
) -> tuple[dict[str, str], ...]:
    """The manifest's rolling history after this build: newest first, at most `limit` entries.

    A build whose versions equal the newest entry adds nothing (see the module docstring)."""

    def normalized(versions: Mapping[str, str]) -> dict[str, str]:
        return dict(sorted((str(canonicalize_name(k)), v) for k, v in versions.items()))

    current = normalized(current_versions)
    older = [normalized(entry) for entry in previous_history]
    entries = older if older and older[0] == current else [current, *older]
    return tuple(entries[: max(0, limit)])


def history_from_revisions(
    revisions: Sequence[Mapping[str, str]], source: str = "lock-history"
) -> ChangeHistory:
    """Intervals between consecutive revisions (newest first, as `read_lock_history` returns
    them and the manifest's ``history`` stores them): which packages' versions changed.

    Covers the packages present in every revision (so observed in every interval); a package
    added or removed within the history is left to the independent model."""
    normalized = [{canonicalize_name(k): v for k, v in r.items()} for r in revisions]
    if not normalized:
        return ChangeHistory((), frozenset(), source)
    covered = frozenset(set.intersection(*(set(r) for r in normalized)))
    intervals = [
        frozenset(n for n in covered if newer[n] != older[n])
        for newer, older in itertools.pairwise(normalized)
    ]
    return ChangeHistory(tuple(reversed(intervals)), covered, source)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def release_times(releases: Iterable[tuple[str, datetime | None]]) -> tuple[datetime, ...]:
    """Upload times of the releases that a lock following the newest version would pick up.

    `releases` are (version, upload time) pairs, e.g. one per file; a version's time is its
    earliest upload. Pre-releases, invalid versions and backports (a release below a version
    already out, like a 1.10.x fix after 2.0) are left out: they do not move a lock's pin."""
    first: dict[Version, datetime] = {}
    for raw, moment in releases:
        if moment is None:
            continue
        try:
            version = Version(raw)
        except InvalidVersion:
            continue
        if version.is_prerelease or version.is_devrelease:
            continue
        moment = _aware(moment)
        if version not in first or moment < first[version]:
            first[version] = moment
    kept: list[datetime] = []
    highest: Version | None = None
    for version, moment in sorted(first.items(), key=lambda vm: (vm[1], vm[0])):
        if highest is None or version > highest:
            highest = version
            kept.append(moment)
    return tuple(kept)


def loadability_frozen(releases: Iterable[tuple[str, datetime | None, bool]]) -> bool:
    """Whether the newest release that would move a lock is one the target cannot load.

    `releases` are (version, upload time, loadable by the target) triples, e.g. one per file; a
    version is loadable when any of its files is. The lock-moving releases are found among *all*
    releases (`release_times`' rules: no pre-releases, no backports). True means the package
    moved on without this target (numpy and pyarrow after they dropped manylinux2014 wheels,
    for glibc 2.26): a lock for it stays behind, its pin frozen until a loadable release comes."""
    triples = list(releases)
    moving = release_times((raw, moment) for raw, moment, _ in triples)
    if not moving:
        return False
    newest = moving[-1]
    first: dict[Version, datetime] = {}
    usable: set[Version] = set()
    for raw, moment, loadable in triples:
        try:
            version = Version(raw)
        except InvalidVersion:
            continue
        if loadable:
            usable.add(version)
        if moment is not None and not (version.is_prerelease or version.is_devrelease):
            moment = _aware(moment)
            if version not in first or moment < first[version]:
                first[version] = moment
    at_newest = [v for v, m in first.items() if m == newest]
    return bool(at_newest) and max(at_newest) not in usable


def frozen_release_times(
    releases: Iterable[tuple[str, datetime | None, bool]],
) -> tuple[datetime, ...]:
    """`release_times` for a target, keeping what its unloadable releases tell (the
    loadability freeze; `releases` as for `loadability_frozen`).

    When the newest lock-moving release is one the target cannot load (`loadability_frozen`),
    no loadable release follows it, so none counts: the result is () and `cadence_rate` gives its floor (half a release a year), since the pin cannot move
    until a loadable release comes and the loadable releases before the run do not predict
    that. Otherwise the result is `release_times` of the loadable releases, as
    `release_times_from_files(files, loadable)` has always given (an unloadable release in the
    middle is simply skipped, as before). No constant is involved."""
    triples = list(releases)
    if loadability_frozen(triples):
        return ()
    usable: set[Version] = set()
    for raw, _, loadable in triples:
        try:
            if loadable:
                usable.add(Version(raw))
        except InvalidVersion:
            continue
    pairs: list[tuple[str, datetime | None]] = []
    for raw, moment, _ in triples:
        try:
            if Version(raw) in usable:
                pairs.append((raw, moment))
        except InvalidVersion:
            continue
    return release_times(pairs)


def exact_pins(requires_dist: Iterable[str]) -> frozenset[str]:
    """Canonical names a distribution pins exactly (``==X`` without wildcard, or ``===X``) in its
    Requires-Dist, leaving out requirements that apply only with an extra. Unparseable lines
    are skipped (the build reports them elsewhere)."""
    from packaging.requirements import InvalidRequirement, Requirement

    pinned: set[str] = set()
    for line in requires_dist:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if req.marker is not None and "extra" in str(req.marker):
            continue
        specs = list(req.specifier)
        if len(specs) == 1 and (
            specs[0].operator == "==="
            or (specs[0].operator == "==" and "*" not in specs[0].version)
        ):
            pinned.add(str(canonicalize_name(req.name)))
    return frozenset(pinned)


def requires_dist_of(metadata: str) -> tuple[str, ...]:
    """The Requires-Dist lines of a core-metadata text (METADATA or a PEP 658 sidecar)."""
    from email.parser import HeaderParser

    message = HeaderParser().parsestr(metadata)
    return tuple(message.get_all("Requires-Dist") or ())


def couple_release_times(
    upload_times: Mapping[str, Sequence[datetime]],
    pins: Mapping[str, Iterable[str]],
) -> dict[str, tuple[datetime, ...]]:
    """Exact-pin coupling: when package A pins B exactly (`exact_pins`, e.g. pydantic pins
    pydantic-core), every release of A that moves a lock moves B too, so B's release times gain
    A's (sorted, de-duplicated). Applied until nothing changes, so chains (A pins B pins C)
    propagate. Only packages present in `upload_times` take part; the others are returned as
    given. The rate (`cadence_rate`) and the release-cadence history (`history_from_releases`)
    built from the result then see B change in every interval in which A did."""
    times = {str(canonicalize_name(k)): tuple(v) for k, v in upload_times.items()}
    edges = [
        (str(canonicalize_name(a)), str(canonicalize_name(b)))
        for a, bs in pins.items()
        for b in bs
        if canonicalize_name(a) != canonicalize_name(b)
    ]
    changed = True
    while changed:
        changed = False
        for a, b in edges:
            if a in times and b in times:
                merged = tuple(sorted(set(times[b]) | set(times[a])))
                if merged != times[b]:
                    times[b] = merged
                    changed = True
    return {name: times[str(canonicalize_name(name))] for name in upload_times}


def _parse_time(text: str) -> datetime | None:
    try:
        return _aware(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None


def release_times_from_files(
    files: Iterable[IndexFile],
    loadable: Callable[[str], bool] | None = None,
    *,
    freeze: bool = False,
) -> tuple[datetime, ...]:
    """`release_times` of a project page's files (PEP 691 ``upload-time``; filenames -> version).

    With `loadable` (wheel filename -> whether the target can load it, e.g.
    ``lambda f: target.wheel_rank(f) is not None``) only releases with such a wheel count: a
    release the target cannot use (say manylinux_2_28-only on Amazon Linux 2) never moves its
    pin, and counting it would call a package volatile that is frozen for this target.

    With `freeze` (and `loadable`), the unloadable releases are not simply dropped: when the
    newest release is one the target cannot load, the package is frozen for it
    (`frozen_release_times`)."""
    pairs: list[tuple[str, datetime | None]] = []
    triples: list[tuple[str, datetime | None, bool]] = []
    for f in files:
        if f.upload_time is None or f.yanked:
            continue
        ok = loadable is None or (f.filename.endswith(".whl") and loadable(f.filename))
        if freeze and loadable is not None:
            try:
                if f.filename.endswith(".whl"):
                    raw = str(parse_wheel_filename(f.filename)[1])
                else:
                    raw = str(parse_sdist_filename(f.filename)[1])
            except (InvalidWheelFilename, InvalidSdistFilename):
                continue
            triples.append((raw, _parse_time(f.upload_time), ok))
            continue
        if not ok:
            continue
        try:
            if f.filename.endswith(".whl"):
                version = str(parse_wheel_filename(f.filename)[1])
            else:
                version = str(parse_sdist_filename(f.filename)[1])
        except (InvalidWheelFilename, InvalidSdistFilename):
            continue
        pairs.append((version, _parse_time(f.upload_time)))
    if freeze and loadable is not None:
        return frozen_release_times(triples)
    return release_times(pairs)


def cadence_rate(
    upload_times: Sequence[datetime],
    now: datetime,
    *,
    window_days: float = WINDOW_DAYS,
    build_interval_days: float = DEFAULT_BUILD_INTERVAL_DAYS,
) -> float:
    """P(a new release lands between two builds), from the releases in the last `window_days`.

    Releases are taken as a Poisson process of rate ``(count + 0.5) / window_days`` per day (the
    half release keeps a quiet year from claiming "never"), so with builds every
    `build_interval_days` days: ``1 - exp(-rate * build_interval_days)``. Pass the times of
    releases that move a lock (`release_times`)."""
    if window_days <= 0 or build_interval_days <= 0:
        raise ValueError("window_days and build_interval_days must be positive")
    end = _aware(now)
    start = end - timedelta(days=window_days)
    count = sum(1 for t in upload_times if start < _aware(t) <= end)
    per_day = (count + 0.5) / window_days
    return -math.expm1(-per_day * build_interval_days)


def history_from_releases(
    upload_times: Mapping[str, Sequence[datetime]],
    now: datetime,
    *,
    window_days: float = WINDOW_DAYS,
    build_interval_days: float = DEFAULT_BUILD_INTERVAL_DAYS,
) -> ChangeHistory:
    """Release times bucketed into build intervals: the change history a project building every
    `build_interval_days` days over the last `window_days` would have seen.

    ``N = floor(window_days / build_interval_days)`` (at least 1) intervals of
    `build_interval_days` ending at `now`, oldest first; a package is in an interval's set when
    one of its `upload_times` (pass `release_times`: releases that move a lock) falls in it.
    Every package in `upload_times` is covered, including those with no release in the window."""
    if window_days <= 0 or build_interval_days <= 0:
        raise ValueError("window_days and build_interval_days must be positive")
    count = max(1, math.floor(window_days / build_interval_days))
    end = _aware(now)
    step = timedelta(days=build_interval_days)
    sets: list[set[str]] = [set() for _ in range(count)]
    for name, times in upload_times.items():
        key = canonicalize_name(name)
        for moment in times:
            back = (end - _aware(moment)) / step
            if 0 <= back < count:
                sets[count - 1 - math.floor(back)].add(key)
    covered = frozenset(canonicalize_name(n) for n in upload_times)
    return ChangeHistory(tuple(frozenset(s) for s in sets), covered, "release-cadence")


def combine(
    *,
    override: str | None = None,
    lock: ChangeCounts | None = None,
    manifest: ChangeCounts | None = None,
    cadence: float | None = None,
    min_observations: int = MIN_OBSERVATIONS,
    prior_weight: float = PRIOR_WEIGHT,
    default_rate: float = DEFAULT_RATE,
) -> RateEstimate:
    """One package's estimate from what is known about it (see the module docstring)."""
    if override == "volatile":
        return RateEstimate(VOLATILE_RATE, "override")
    if override == "stable":
        return RateEstimate(STABLE_RATE, "override")
    if override is not None:
        raise ValueError(f"unknown override {override!r}: use 'volatile' or 'stable'")
    prior, prior_source = (
        (min(1.0, max(0.0, cadence)), "release-cadence")
        if cadence is not None
        else (default_rate, "unknown")
    )
    for counts, source in ((lock, "lock-history"), (manifest, "manifest-history")):
        if counts is not None and counts.observations >= min_observations:
            rate = (counts.changes + prior * prior_weight) / (counts.observations + prior_weight)
            return RateEstimate(rate, source)
    return RateEstimate(prior, prior_source)


def estimate_rates(
    names: Iterable[str],
    *,
    lock_history: Sequence[Mapping[str, str]] = (),
    manifest_history: Sequence[Mapping[str, str]] = (),
    upload_times: Mapping[str, Sequence[datetime]] | None = None,
    now: datetime | None = None,
    volatile: Iterable[str] = (),
    stable: Iterable[str] = (),
    build_interval_days: float = DEFAULT_BUILD_INTERVAL_DAYS,
    pins: Mapping[str, Iterable[str]] | None = None,
) -> dict[str, RateEstimate]:
    """Estimates for `names` (keys as given) from every source; pure.

    `upload_times` maps package names to `release_times`; `now` is required with them.
    `pins` (package -> the packages it pins exactly, `exact_pins` of its Requires-Dist) couples
    the release times first (`couple_release_times`)."""
    if pins and upload_times:
        upload_times = couple_release_times(upload_times, pins)
    lock_counts = count_changes(lock_history)
    manifest_counts = count_changes(manifest_history)
    times = {canonicalize_name(k): v for k, v in (upload_times or {}).items()}
    if times and now is None:
        raise ValueError("estimate_rates needs `now` to use upload times")
    hot = {canonicalize_name(n) for n in volatile}
    cold = {canonicalize_name(n) for n in stable}
    result: dict[str, RateEstimate] = {}
    for name in names:
        key = canonicalize_name(name)
        override = "volatile" if key in hot else "stable" if key in cold else None
        cadence = None
        if key in times and now is not None:
            cadence = cadence_rate(times[key], now, build_interval_days=build_interval_days)
        result[name] = combine(
            override=override,
            lock=lock_counts.get(key),
            manifest=manifest_counts.get(key),
            cadence=cadence,
        )
    return result


def change_history(
    names: Iterable[str],
    *,
    lock_history: Sequence[Mapping[str, str]] = (),
    manifest_history: Sequence[Mapping[str, str]] = (),
    upload_times: Mapping[str, Sequence[datetime]] | None = None,
    now: datetime | None = None,
    volatile: Iterable[str] = (),
    stable: Iterable[str] = (),
    build_interval_days: float = DEFAULT_BUILD_INTERVAL_DAYS,
    pins: Mapping[str, Iterable[str]] | None = None,
    min_observations: int = MIN_OBSERVATIONS,
) -> ChangeHistory | None:
    """The joint change history of `names` from the same inputs as `estimate_rates`; pure.

    The first qualifying source of: lock history, manifest history (each with at least
    `min_observations` intervals), release cadence (`upload_times`, `now` required), cut to
    `names` minus the overridden packages; a source qualifies when it covers at least two of
    them. None when none does (the partitioner then uses the independent model). `pins`: as
    for `estimate_rates` (couples the release-cadence history)."""
    if pins and upload_times:
        upload_times = couple_release_times(upload_times, pins)
    hot_or_cold = {canonicalize_name(n) for n in (*volatile, *stable)}
    wanted = {canonicalize_name(n) for n in names} - hot_or_cold
    candidates: list[ChangeHistory] = []
    for revisions, source in (
        (lock_history, "lock-history"),
        (manifest_history, "manifest-history"),
    ):
        found = history_from_revisions(revisions, source).restricted(wanted)
        if found.count >= min_observations:
            candidates.append(found)
    if upload_times:
        if now is None:
            raise ValueError("change_history needs `now` to use upload times")
        candidates.append(
            history_from_releases(
                upload_times, now, build_interval_days=build_interval_days
            ).restricted(wanted)
        )
    return next((c for c in candidates if len(c.packages) >= 2), None)


def rates_from_evidence(
    names: Iterable[str],
    evidence: Evidence,
    *,
    volatile: Iterable[str] = (),
    stable: Iterable[str] = (),
) -> dict[str, RateEstimate]:
    """`estimate_rates` over gathered `Evidence`."""
    return estimate_rates(
        names,
        lock_history=evidence.lock_history,
        manifest_history=evidence.manifest_history,
        upload_times=evidence.upload_times,
        now=evidence.now,
        volatile=volatile,
        stable=stable,
    )


def choose_rates(
    names: Sequence[str],
    *,
    estimated: Mapping[str, RateEstimate],
    recorded: Mapping[str, RateEstimate],
    volatile: Iterable[str] = (),
    stable: Iterable[str] = (),
    replan: bool = False,
) -> dict[str, RateEstimate]:
    """Each package's rate: an override in the configuration wins; else the rate recorded in
    lambda-layers.lock (so a committed plan reproduces without the network), unless `replan`;
    else the fresh estimate. Every name needs an estimate unless it is overridden or recorded."""
    overrides = estimate_rates(names, volatile=volatile, stable=stable)
    result: dict[str, RateEstimate] = {}
    for name in names:
        if overrides[name].source == "override":
            result[name] = overrides[name]
        elif name in recorded and not replan:
            result[name] = recorded[name]
        else:
            result[name] = estimated[name]
    return result
