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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Literal, get_args

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

if TYPE_CHECKING:
    from ..resolve.index import IndexFile

RateSource = Literal["lock-history", "manifest-history", "release-cadence", "override", "unknown"]
SOURCES: tuple[RateSource, ...] = get_args(RateSource)
Override = Literal["volatile", "stable"]

VOLATILE_RATE = 0.9
STABLE_RATE = 0.01
DEFAULT_RATE = 0.1
# Consecutive revision pairs a history needs before it counts as evidence.
MIN_OBSERVATIONS = 5
# Pseudo-observations of the prior in the posterior mean.
PRIOR_WEIGHT = 2.0
# Entries of the manifest's rolling history, and lock revisions read from git.
HISTORY_LIMIT = 50
# Days of release history `cadence_rate` counts.
WINDOW_DAYS = 365.0
# Assumed days between builds when turning releases per day into a probability per build.
BUILD_INTERVAL_DAYS = 7.0


@dataclass(frozen=True)
class RateEstimate:
    rate: float
    source: RateSource


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


# --------------------------------------------------------------------------- release cadence


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _first_uploads(releases: Iterable[tuple[str, datetime | None]]) -> dict[Version, datetime]:
    """Final release -> its earliest upload; pre-, dev- and invalid versions left out."""
    first: dict[Version, datetime] = {}
    for raw, uploaded in releases:
        if uploaded is None:
            continue
        try:
            version = Version(raw)
        except InvalidVersion:
            continue
        if version.is_prerelease or version.is_devrelease:
            continue
        moment = _aware(uploaded)
        if version not in first or moment < first[version]:
            first[version] = moment
    return first


def release_times(releases: Iterable[tuple[str, datetime | None]]) -> tuple[datetime, ...]:
    """Upload times of the releases that a lock following the newest version would pick up.

    `releases` are (version, upload time) pairs, e.g. one per file; a version's time is its
    earliest upload. Pre-releases, invalid versions and backports (a release below a version
    already out, like a 1.10.x fix after 2.0) are left out: they do not move a lock's pin."""
    kept: list[datetime] = []
    highest: Version | None = None
    for version, moment in sorted(_first_uploads(releases).items(), key=lambda vm: (vm[1], vm[0])):
        if highest is None or version > highest:
            highest = version
            kept.append(moment)
    return tuple(kept)


def _loadable_versions(releases: Iterable[tuple[str, datetime | None, bool]]) -> set[Version]:
    usable: set[Version] = set()
    for raw, _, loadable in releases:
        try:
            if loadable:
                usable.add(Version(raw))
        except InvalidVersion:
            continue
    return usable


def loadability_frozen(releases: Iterable[tuple[str, datetime | None, bool]]) -> bool:
    """Whether the newest release that would move a lock is one the target cannot load.

    `releases` are (version, upload time, loadable by the target) triples, e.g. one per file; a
    version is loadable when any of its files is. The lock-moving releases are found among *all*
    releases (`release_times`' rules: no pre-releases, no backports). True means the package
    moved on without this target (a release with wheels only for a newer glibc, say): a lock
    for it stays behind, its pin frozen until a loadable release comes."""
    triples = list(releases)
    moving = release_times((raw, moment) for raw, moment, _ in triples)
    if not moving:
        return False
    first = _first_uploads((raw, moment) for raw, moment, _ in triples)
    at_newest = [v for v, m in first.items() if m == moving[-1]]
    return bool(at_newest) and max(at_newest) not in _loadable_versions(triples)


def frozen_release_times(
    releases: Iterable[tuple[str, datetime | None, bool]],
) -> tuple[datetime, ...]:
    """`release_times` for a target (`releases` as for `loadability_frozen`): () when the
    package is frozen for it (`cadence_rate` then gives its floor, half a release a year: the
    pin cannot move until a loadable release comes), else `release_times` of the releases it
    can load (an unloadable release in the middle is skipped)."""
    triples = list(releases)
    if loadability_frozen(triples):
        return ()
    usable = _loadable_versions(triples)
    pairs: list[tuple[str, datetime | None]] = []
    for raw, moment, _ in triples:
        try:
            if Version(raw) in usable:
                pairs.append((raw, moment))
        except InvalidVersion:
            continue
    return release_times(pairs)


def _parse_time(text: str) -> datetime | None:
    try:
        return _aware(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None


def _file_version(filename: str) -> str | None:
    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[1])
        return str(parse_sdist_filename(filename)[1])
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None


def release_times_from_files(
    files: Iterable[IndexFile], loadable: Callable[[str], bool] | None = None
) -> tuple[datetime, ...]:
    """`release_times` of a project page's files (PEP 691 ``upload-time``; filenames -> version;
    yanked files left out).

    With `loadable` (wheel filename -> whether the target can load it, e.g.
    ``lambda f: target.wheel_rank(f) is not None``), `frozen_release_times`: only releases with
    such a wheel count (a release the target cannot use never moves its pin), and none when the
    newest release is one the target cannot load."""
    triples: list[tuple[str, datetime | None, bool]] = []
    for f in files:
        if f.upload_time is None or f.yanked:
            continue
        version = _file_version(f.filename)
        if version is None:
            continue
        ok = loadable is not None and f.filename.endswith(".whl") and loadable(f.filename)
        triples.append((version, _parse_time(f.upload_time), ok))
    if loadable is None:
        return release_times((version, moment) for version, moment, _ in triples)
    return frozen_release_times(triples)


def cadence_rate(
    upload_times: Sequence[datetime], now: datetime, *, window_days: float = WINDOW_DAYS
) -> float:
    """P(a new release lands between two builds), from the releases in the last `window_days`.

    Releases are taken as a Poisson process of rate ``(count + 0.5) / window_days`` per day (the
    half release keeps a quiet year from claiming "never"), so with builds every
    `BUILD_INTERVAL_DAYS` days: ``1 - exp(-rate * BUILD_INTERVAL_DAYS)``. Pass the times of
    releases that move a lock (`release_times`)."""
    if window_days <= 0:
        raise ValueError("window_days must be positive")
    end = _aware(now)
    start = end - timedelta(days=window_days)
    count = sum(1 for t in upload_times if start < _aware(t) <= end)
    per_day = (count + 0.5) / window_days
    return -math.expm1(-per_day * BUILD_INTERVAL_DAYS)


# --------------------------------------------------------------------------- combination


def combine(
    *,
    override: Override | None = None,
    lock: ChangeCounts | None = None,
    manifest: ChangeCounts | None = None,
    cadence: float | None = None,
) -> RateEstimate:
    """One package's estimate from what is known about it (see the module docstring)."""
    if override == "volatile":
        return RateEstimate(VOLATILE_RATE, "override")
    if override == "stable":
        return RateEstimate(STABLE_RATE, "override")
    if override is not None:
        raise ValueError(f"unknown override {override!r}: use 'volatile' or 'stable'")
    prior: float = DEFAULT_RATE
    prior_source: RateSource = "unknown"
    if cadence is not None:
        prior, prior_source = min(1.0, max(0.0, cadence)), "release-cadence"
    history: tuple[tuple[ChangeCounts | None, RateSource], ...] = (
        (lock, "lock-history"),
        (manifest, "manifest-history"),
    )
    for counts, source in history:
        if counts is not None and counts.observations >= MIN_OBSERVATIONS:
            rate = (counts.changes + prior * PRIOR_WEIGHT) / (counts.observations + PRIOR_WEIGHT)
            return RateEstimate(rate, source)
    return RateEstimate(prior, prior_source)


def _overrides(volatile: Iterable[str], stable: Iterable[str]) -> dict[str, Override]:
    """Canonical name -> override; `volatile` wins over `stable`."""
    found: dict[str, Override] = {canonicalize_name(n): "stable" for n in stable}
    found.update({canonicalize_name(n): "volatile" for n in volatile})
    return found


def rates_from_evidence(
    names: Iterable[str],
    evidence: Evidence,
    *,
    volatile: Iterable[str] = (),
    stable: Iterable[str] = (),
) -> dict[str, RateEstimate]:
    """Estimates for `names` (keys as given) from every source in `evidence` (`combine`)."""
    lock_counts = count_changes(evidence.lock_history)
    manifest_counts = count_changes(evidence.manifest_history)
    times = {canonicalize_name(k): v for k, v in evidence.upload_times.items()}
    overrides = _overrides(volatile, stable)
    result: dict[str, RateEstimate] = {}
    for name in names:
        key = canonicalize_name(name)
        result[name] = combine(
            override=overrides.get(key),
            lock=lock_counts.get(key),
            manifest=manifest_counts.get(key),
            cadence=cadence_rate(times[key], evidence.now) if key in times else None,
        )
    return result


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
    overrides = _overrides(volatile, stable)
    result: dict[str, RateEstimate] = {}
    for name in names:
        override = overrides.get(canonicalize_name(name))
        if override is not None:
            result[name] = combine(override=override)
        elif name in recorded and not replan:
            result[name] = recorded[name]
        else:
            result[name] = estimated[name]
    return result
