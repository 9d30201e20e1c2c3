"""Replay real release histories against layer strategies: bytes republished over a year.

    python benchmarks/replay.py [RELEASES_JSON] [--out FILE] [--build-interval DAYS|matched]
                                [--pseudo-count W|cv] [--pin LAYER=PKG,PKG] [--markdown]
                                [--signals freeze|pins|both|none] [--index-facts FILE]

RELEASES_JSON defaults to ../shared/workloads/releases.json relative to the repository root;
results go to benchmarks/results/replay.json. See benchmarks/README.md for the method; in short:

* change rates are estimated only from the releases of the first twelve months (the training
  year), by release cadence (`history.cadence_rate`), as a project with no history would;
* the next twelve months are replayed: a build on every date on which any bundled package
  released, each package at the version current on that date; a layer is republished when any
  member's version changed since the previous build, costing its zipped size (wheel sizes);
* strategies: this project's partitioner (planned once at the start of the replay with
  max-layers 5 and the direct-upload limit, then honoured build after build as
  `lambda-layers.lock` is), one combined layer, the four largest packages alone and the rest
  together, and the hindsight optimum: the best fixed partition for the replay window, found
  by exact dynamic programming over all subsets (numpy).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hatch_lambda_layers.errors import LambdaLayersError, LimitError  # noqa: E402
from hatch_lambda_layers.plan import history  # noqa: E402
from hatch_lambda_layers.plan.partition import (  # noqa: E402
    DIRECT_UPLOAD_LIMIT,
    JOINT_PSEUDO_COUNT,
    Constraints,
    Item,
    partition,
)
from hatch_lambda_layers.resolve.graph import graph_from_mapping, split_provided  # noqa: E402

DEFAULT_RELEASES = ROOT.parent / "shared" / "workloads" / "releases.json"
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "replay.json"
MAX_LAYERS = 5
LARGEST_ALONE = 4
EXACT_HINDSIGHT_MAX = 20  # packages; 3**n work

# Dependency edges of the workloads' closures, from the packages' own metadata. Used only to
# leave out what the provided distributions alone need (W1: the runtime's boto3 takes botocore,
# s3transfer, python-dateutil and six with it). A releases file may instead give each package
# a "requires" list; packages neither lists keep no edges (and are then never left out).
EDGES: dict[str, tuple[str, ...]] = {
    "aws-lambda-powertools": ("jmespath", "typing-extensions"),
    "boto3": ("botocore", "jmespath", "s3transfer"),
    "botocore": ("jmespath", "python-dateutil", "urllib3"),
    "s3transfer": ("botocore",),
    "python-dateutil": ("six",),
    "pydantic": ("annotated-types", "pydantic-core", "typing-extensions", "typing-inspection"),
    "pydantic-core": ("typing-extensions",),
    "typing-inspection": ("typing-extensions",),
    "requests": ("certifi", "charset-normalizer", "idna", "urllib3"),
    "pandas": ("numpy", "python-dateutil", "pytz", "tzdata"),
    "scikit-learn": ("joblib", "narwhals", "numpy", "scipy", "threadpoolctl"),
    "scipy": ("numpy",),
}

BEFORE = "<before window>"


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Release:
    version: Version
    time: datetime
    size: int | None


@dataclass
class Package:
    name: str
    pinned: Version
    pinned_size: int
    releases: list[Release]

    def candidates(self) -> list[Release]:
        """Releases the replay may pick: those with a wheel the target loads."""
        return [r for r in self.releases if r.size is not None]

    def state_at(self, moment: datetime) -> tuple[str, int]:
        """(version, wheel size) current at `moment` (uploads strictly before it)."""
        cands = self.candidates()
        out = [r for r in cands if r.time < moment]
        if out:
            best = max(out, key=lambda r: r.version)
            assert best.size is not None
            return str(best.version), best.size
        if not cands:
            return str(self.pinned), self.pinned_size
        # An earlier version outside the data: its size is taken as the nearest known one.
        first = min(cands, key=lambda r: r.time)
        assert first.size is not None
        return BEFORE, first.size


@dataclass
class Workload:
    name: str
    packages: dict[str, Package]
    left_out: tuple[str, ...]


def load_workloads(data: Mapping[str, Any]) -> list[Workload]:
    workloads = []
    for wname, w in sorted(data.items()):
        if wname.startswith("_"):
            continue
        packages: dict[str, Package] = {}
        edges: dict[str, tuple[str, Sequence[str]]] = {}
        for pname, p in w["packages"].items():
            name = canonicalize_name(pname)
            releases = [
                Release(Version(r["version"]), parse_time(r["upload_time"]), r.get("wheel_size"))
                for r in p.get("releases", [])
            ]
            packages[name] = Package(name, Version(p["pinned"]), int(p["wheel_size"]), releases)
            edges[name] = (p["pinned"], p.get("requires", EDGES.get(name, ())))
        left_out: tuple[str, ...] = ()
        if w.get("provided"):
            graph = graph_from_mapping(w.get("requirements", []), edges)
            closure = split_provided(graph, w["provided"])
            left_out = tuple(sorted(x.name for x in closure.left_out))
        kept = {n: p for n, p in packages.items() if n not in left_out}
        workloads.append(Workload(wname, kept, left_out))
    return workloads


def window(data: Mapping[str, Any]) -> tuple[datetime, datetime, datetime]:
    """(training start, replay start, replay end) from `_about.window`, split in the middle."""
    about = str(data.get("_about", {}).get("window", ""))
    found = re.findall(r"\d{4}-\d{2}-\d{2}", about)
    if len(found) >= 2:
        start, end = (midnight(date.fromisoformat(x)) for x in found[:2])
    else:
        times = [
            parse_time(r["upload_time"])
            for w in data.values()
            if isinstance(w, Mapping) and "packages" in w
            for p in w["packages"].values()
            for r in p.get("releases", [])
        ]
        start, end = min(times), max(times) + timedelta(seconds=1)
    split = start + (end - start) / 2
    return start, midnight(split.date()), end


# --------------------------------------------------------------------------- the replay


@dataclass
class Timeline:
    names: list[str]  # canonical order
    dates: list[date]  # build dates in the replay window
    initial: dict[str, tuple[str, int]]  # state at the start of the replay
    states: list[dict[str, tuple[str, int]]]  # state after each build date


def timeline(w: Workload, split: datetime, end: datetime) -> Timeline:
    names = sorted(w.packages)
    days = sorted(
        {r.time.date() for p in w.packages.values() for r in p.releases if split <= r.time < end}
    )
    initial = {n: w.packages[n].state_at(split) for n in names}
    states = [
        {n: w.packages[n].state_at(midnight(d) + timedelta(days=1)) for n in names} for d in days
    ]
    return Timeline(names, days, initial, states)


@dataclass
class Outcome:
    bytes: float | None  # None: infeasible
    republished_layers: int = 0
    layers: list[list[str]] = field(default_factory=list)
    problem: str | None = None
    moves: int = 0  # packages moved between layers by honouring (limits)


def fixed_cost(tl: Timeline, blocks: Sequence[Sequence[str]], limit: int | None) -> Outcome:
    layers = [sorted(b) for b in blocks if b]
    total = 0
    count = 0
    for when, state in [("start", tl.initial), *zip(map(str, tl.dates), tl.states, strict=True)]:
        for block in layers:
            size = sum(state[n][1] for n in block)
            if limit is not None and size > limit:
                return Outcome(
                    None,
                    layers=layers,
                    problem=f"from {when}: layer "
                    f"{block[0] if len(block) == 1 else f'of {len(block)} packages'} "
                    f"is {size:,} bytes > {limit:,}",
                )
    previous = tl.initial
    for state in tl.states:
        for block in layers:
            if any(state[n][0] != previous[n][0] for n in block):
                total += sum(state[n][1] for n in block)
                count += 1
        previous = state
    return Outcome(float(total), count, layers)


def project_cost(
    tl: Timeline,
    rates: Mapping[str, float],
    limit: int | None,
    pinned: Mapping[str, tuple[str, ...]] | None = None,
    joint: history.ChangeHistory | None = None,
    pseudo_count: float = JOINT_PSEUDO_COUNT,
) -> tuple[Outcome, dict[str, Any]]:
    """Plan once at the start (`plan --update`), then honour the plan at every build. With
    `joint`, the partitioner's joint model sees that change history (`pseudo_count`)."""
    constraints = Constraints(MAX_LAYERS, limit, dict(pinned or {}))
    model: dict[str, Any] = {"history": joint, "pseudo_count": pseudo_count}

    def items(state: Mapping[str, tuple[str, int]]) -> list[Item]:
        return [Item(n, state[n][1], state[n][1], rates[n]) for n in tl.names]

    try:
        plan = partition(items(tl.initial), constraints, **model)
    except LimitError as exc:
        return Outcome(None, problem=f"at start: {exc}"), {}
    info = {
        "expected_bytes_per_build": plan.expected_bytes,
        "single_layer_expected": plan.single_layer_bytes,
        "exact": plan.exact,
        "lower_bound": plan.lower_bound,
    }
    layers = {layer.name: layer.packages for layer in plan.layers}
    first_layers = [list(p) for p in layers.values()]
    assignment = plan.assignment()
    previous = tl.initial
    total, count, moves = 0, 0, 0
    for day, state in zip(tl.dates, tl.states, strict=True):
        try:
            plan = partition(items(state), constraints, assignment, **model)
        except LimitError as exc:
            return Outcome(None, layers=first_layers, problem=f"from {day}: {exc}"), info
        new_assignment = plan.assignment()
        moves += sum(1 for n in tl.names if new_assignment[n] != assignment[n])
        for layer in plan.layers:
            changed = layers.get(layer.name) != layer.packages or any(
                state[n][0] != previous[n][0] for n in layer.packages
            )
            if changed:
                total += sum(state[n][1] for n in layer.packages)
                count += 1
        layers = {layer.name: layer.packages for layer in plan.layers}
        assignment = new_assignment
        previous = state
    return Outcome(float(total), count, first_layers, moves=moves), info


def per_package_bound(tl: Timeline) -> float:
    """Every package in a layer of its own (unlimited layers): no fixed partition does better."""
    total = 0
    previous = tl.initial
    for state in tl.states:
        total += sum(state[n][1] for n in tl.names if state[n][0] != previous[n][0])
        previous = state
    return float(total)


def hindsight(tl: Timeline, limit: int | None, k: int = MAX_LAYERS) -> Outcome:
    """The best fixed partition into at most k layers for the replay, exactly.

    Every block's replay cost (its size at each build where a member changed) and feasibility
    (within the limit at every build) is tabulated for all 2**n subsets; then
    best_j(S) = min over blocks T holding the lowest member of S of cost(T) + best_{j-1}(S - T),
    each pair (S, T) visited once (3**n in all), vectorised over the subsets S that share T.
    Packages that never change are kept as individual packages: merging them is only safe
    when no limit binds, and n stays small enough without it."""
    import numpy as np

    n = len(tl.names)
    if n > EXACT_HINDSIGHT_MAX:
        return Outcome(None, problem=f"{n} packages: too many for the exact search")
    full = (1 << n) - 1
    masks = np.arange(full + 1, dtype=np.int64)

    def sums(sizes: Sequence[int]) -> Any:
        arr = np.zeros(1, dtype=np.int64)
        for s in sizes:
            arr = np.concatenate((arr, arr + s))
        return arr

    biggest = sums([tl.initial[x][1] for x in tl.names])
    cost = np.zeros(full + 1, dtype=np.float64)
    previous = tl.initial
    for state in tl.states:
        sizes = sums([state[x][1] for x in tl.names])
        biggest = np.maximum(biggest, sizes)
        changed = sum(1 << i for i, x in enumerate(tl.names) if state[x][0] != previous[x][0])
        if changed:
            cost += np.where((masks & changed) != 0, sizes, 0)
        previous = state
    feasible = np.ones(full + 1, dtype=bool) if limit is None else biggest <= limit
    block = np.where(feasible, cost, np.inf)
    block[0] = 0.0

    def submasks(m: int) -> Any:
        arr = np.zeros(1, dtype=np.int64)
        bit = 0
        while m >> bit:
            if m >> bit & 1:
                arr = np.concatenate((arr, arr | (1 << bit)))
            bit += 1
        return arr

    best = block.copy()
    choices = []
    feasible_blocks = [int(t) for t in np.nonzero(np.isfinite(block))[0] if t]
    for _ in range(2, min(k, n)):
        nxt = best.copy()
        choice = np.zeros(full + 1, dtype=np.int64)
        for t in feasible_blocks:
            low = t & -t
            rest = full & ~t & ~((low << 1) - 1)
            u = submasks(rest)
            s = u | t
            cand = block[t] + best[u]
            better = cand < nxt[s]
            if better.any():
                nxt[s[better]] = cand[better]
                choice[s[better]] = t
        choices.append(choice)
        best = nxt
    # Last level: only the full set.
    top_value, top_t = best[full], 0
    if k >= 2 and n >= 2:
        for t in feasible_blocks:
            if t & 1:
                v = block[t] + best[full ^ t]
                if v < top_value:
                    top_value, top_t = v, t
    if not math.isfinite(top_value):
        return Outcome(
            None, problem="no fixed partition into 5 layers fits the limit at every build"
        )
    picked = []
    s = full
    if top_t:
        picked.append(top_t)
        s ^= top_t
    for choice in reversed(choices):
        t = int(choice[s])
        if t:
            picked.append(t)
            s ^= t
    if s:
        picked.append(s)
    blocks = [[tl.names[i] for i in range(n) if b >> i & 1] for b in picked]
    outcome = fixed_cost(tl, blocks, limit)
    assert outcome.bytes is not None and abs(outcome.bytes - top_value) <= 1e-6 * (1 + top_value)
    return outcome


def largest_alone(tl: Timeline) -> list[list[str]]:
    order = sorted(tl.names, key=lambda x: (-tl.initial[x][1], x))
    alone = order[:LARGEST_ALONE]
    return [[x] for x in alone] + [[x for x in tl.names if x not in alone]]


# --------------------------------------------------------------------------- driver


# Facts from the index that releases.json lacks, fetched once and cached (reruns are offline):
# per workload, every release first uploaded before the replay starts with whether the target
# can load it (releases.json leaves out releases the target cannot load), and the Requires-Dist
# of each package's version current at the cut-offs the estimates use.
DEFAULT_INDEX_FACTS = ROOT / "benchmarks" / "results" / "replay_index.json"
FETCH_BUDGET_SECONDS = 300.0

# Set by main(): the facts in use (None: the two signals are off, as before), and which of the
# two signals ("freeze", "pins") apply.
FACTS: dict[str, Any] | None = None
SIGNALS: set[str] = set()


def fetch_index_facts(
    workloads: Sequence[Workload],
    data: Mapping[str, Any],
    cutoffs: Sequence[datetime],
    budget: float = FETCH_BUDGET_SECONDS,
) -> dict[str, Any]:
    """Read the facts from the index the user's configuration names (the tool's own client);
    only releases first uploaded before the last cut-off are kept, so the cache holds nothing
    of the replay window."""
    import time

    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    from hatch_lambda_layers.resolve import index, indexconfig
    from hatch_lambda_layers.targets import get_target

    deadline = time.monotonic() + budget
    client = index.IndexClient(indexconfig.discover_index_settings(None, Path.cwd()))
    last = max(cutoffs)
    pages: dict[str, Any] = {}
    facts: dict[str, Any] = {"cutoffs": [str(c.date()) for c in cutoffs], "workloads": {}}
    for w in workloads:
        spec = data[w.name]
        target = get_target(spec["runtime"], spec.get("architecture", "x86_64"))

        def loadable(f: Any, target: Any = target) -> bool:
            if not f.is_wheel or target.wheel_rank(f.filename) is None:
                return False
            try:
                return f.requires_python is None or SpecifierSet(f.requires_python).contains(
                    target.python_full_version, prereleases=True
                )
            except InvalidSpecifier:
                return True

        entry: dict[str, Any] = {"releases": {}, "requires_dist": {}}
        for name, p in sorted(w.packages.items()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"index facts: over {budget:g} s")
            if name not in pages:
                pages[name] = client.project_page(name)
            files = pages[name].files
            by_version: dict[str, list[Any]] = {}
            for f in files:
                version = index_version(f.filename)
                if version is None or not f.upload_time or f.yanked:
                    continue
                if not (Version(version).is_prerelease or Version(version).is_devrelease):
                    by_version.setdefault(version, []).append(f)
            rows = []
            for version, fs in sorted(by_version.items()):
                first = min(parse_time(f.upload_time) for f in fs)
                if first < last:
                    rows.append([version, first.isoformat(), any(loadable(f) for f in fs)])
            entry["releases"][name] = rows
            requires: dict[str, list[str]] = {}
            for cutoff in cutoffs:
                version, _ = p.state_at(cutoff)
                if version == BEFORE or version in requires:
                    continue
                wheels = [f for f in by_version.get(version, []) if loadable(f)]
                if not wheels:
                    continue
                best = min(wheels, key=lambda f: target.wheel_rank(f.filename))
                requires[version] = list(history.requires_dist_of(client.metadata(best)))
            entry["requires_dist"][name] = requires
        facts["workloads"][w.name] = entry
    return facts


def index_version(filename: str) -> str | None:
    from packaging.utils import parse_sdist_filename, parse_wheel_filename

    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[1])
        return str(parse_sdist_filename(filename)[1])
    except ValueError:
        return None


def exact_pins_at(w: Workload, cutoff: datetime) -> dict[str, frozenset[str]]:
    """Per bundled package, the bundled packages its version current at `cutoff` pins exactly
    (its Requires-Dist, `history.exact_pins`), as the tool reads them from the bundled wheels."""
    if FACTS is None or "pins" not in SIGNALS or w.name not in FACTS["workloads"]:
        return {}
    requires = FACTS["workloads"][w.name]["requires_dist"]
    pins = {}
    for name, p in w.packages.items():
        version, _ = p.state_at(cutoff)
        lines = requires.get(name, {}).get(version)
        if lines:
            found = history.exact_pins(lines) & set(w.packages)
            if found:
                pins[name] = found
    return pins


def is_frozen(w: Workload, name: str, cutoff: datetime) -> bool:
    """The loadability freeze (`history.loadability_frozen`) from the index's releases first
    uploaded before `cutoff`."""
    if FACTS is None or "freeze" not in SIGNALS or w.name not in FACTS["workloads"]:
        return False
    rows = FACTS["workloads"][w.name]["releases"].get(name, [])
    return history.loadability_frozen(
        (v, parse_time(t), ok) for v, t, ok in rows if parse_time(t) < cutoff
    )


def training_releases(w: Workload, start: datetime, split: datetime) -> dict[str, list[datetime]]:
    """Per package, the times of the releases in [start, split) that move a lock and have a
    wheel the target loads (`history.release_times`; nothing at or after `split`).

    With the index facts loaded (the default), two signals apply, both read only from before
    `split`: a package whose newest release the target cannot load is frozen (no times;
    `history.loadability_frozen`), and a package pinned exactly by another gains that one's
    times (`history.couple_release_times`, pins of the versions current at `split`)."""
    out: dict[str, list[datetime]] = {}
    for name, p in sorted(w.packages.items()):
        if is_frozen(w, name, split):
            out[name] = []
            continue
        pairs = [
            (str(r.version), r.time) for r in p.releases if r.size is not None and r.time < split
        ]
        out[name] = [t for t in history.release_times(pairs) if t >= start]
    pins = exact_pins_at(w, split)
    if pins:
        coupled = history.couple_release_times(out, pins)
        out = {n: list(t) for n, t in coupled.items()}
    return out


def window_days(start: datetime, split: datetime) -> float:
    return (split - start).total_seconds() / 86400


def estimate(
    w: Workload, start: datetime, split: datetime, interval: float
) -> dict[str, history.RateEstimate]:
    """Release-cadence rates from the training window [start, split) only."""
    days = window_days(start, split)
    return {
        name: history.RateEstimate(
            history.cadence_rate(times, split, window_days=days, build_interval_days=interval),
            "release-cadence",
        )
        for name, times in training_releases(w, start, split).items()
    }


def training_history(
    w: Workload, start: datetime, split: datetime, interval: float
) -> history.ChangeHistory:
    """The joint model's change history from the training window only: its releases bucketed
    into intervals of the assumed build cadence ending at `split` (`history_from_releases`, as
    `change_history_for_project` does for a project with no history of its own)."""
    return history.history_from_releases(
        training_releases(w, start, split),
        split,
        window_days=window_days(start, split),
        build_interval_days=interval,
    )


def training_interval(w: Workload, start: datetime, split: datetime) -> float:
    """Mean days between release dates in the training year: the cadence the replay builds at."""
    days = {
        r.time.date() for p in w.packages.values() for r in p.releases if start <= r.time < split
    }
    return (split - start).days / max(1, len(days))


def replay_history(tl: Timeline) -> history.ChangeHistory:
    """The replay window's own change history, one interval per build (diagnostics only: it
    peeks)."""
    sets = [
        frozenset(n for n in tl.names if prev[n][0] != cur[n][0])
        for prev, cur in zip([tl.initial, *tl.states], tl.states, strict=False)
    ]
    return history.ChangeHistory(tuple(sets), frozenset(tl.names), "release-cadence")


def run_mode(
    tl: Timeline,
    train: Timeline,
    rates: Mapping[str, float],
    limit: int | None,
    pinned: Mapping[str, tuple[str, ...]] | None = None,
    joint: history.ChangeHistory | None = None,
    pseudo_count: float = JOINT_PSEUDO_COUNT,
) -> dict[str, Any]:
    project, info = project_cost(tl, rates, limit, pinned)
    joint_outcome, joint_info = project_cost(tl, rates, limit, pinned, joint, pseudo_count)
    past = hindsight(train, limit)
    # Diagnostic only (it peeks): the partitioner fed each package's change frequency measured
    # in the replay window itself. What is left of the gap to hindsight is the model's (changes
    # taken as independent), the rest of the project's gap is the estimate's.
    changes = {n: 0 for n in tl.names}
    for prev, cur in zip([tl.initial, *tl.states], tl.states, strict=False):
        for n in tl.names:
            changes[n] += prev[n][0] != cur[n][0]
    measured = {n: changes[n] / max(1, len(tl.states)) for n in tl.names}
    oracle, _ = project_cost(tl, measured, limit, pinned)
    # Likewise for the joint model: the replay window's own builds as its history.
    joint_oracle, _ = project_cost(tl, measured, limit, pinned, replay_history(tl), pseudo_count)
    outcomes = {
        "project": project,
        "joint": joint_outcome,
        "single": fixed_cost(tl, [tl.names], limit),
        "largest4": fixed_cost(tl, largest_alone(tl), limit),
        "hindsight": hindsight(tl, limit),
        # Not a contender: the best fixed partition of the *training* year, replayed. It knows
        # the past perfectly (joint changes included), so it shows what estimating from the
        # past can reach at best.
        "train_optimal": (
            fixed_cost(tl, past.layers, limit)
            if past.bytes is not None
            else Outcome(None, problem=f"training year: {past.problem}")
        ),
        "replay_rates": oracle,
        "replay_history": joint_oracle,
    }
    return {
        "strategies": {
            k: {
                "bytes": o.bytes,
                "republished_layers": o.republished_layers,
                "layers": o.layers,
                "problem": o.problem,
                **({"moves": o.moves} if k in ("project", "joint") else {}),
            }
            for k, o in outcomes.items()
        },
        "plan": info,
        "joint_plan": joint_info,
    }


CV_GRID = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)


def cross_validate(
    workloads: Sequence[Workload],
    start: datetime,
    split: datetime,
    interval: float | None,
    grid: Sequence[float] = CV_GRID,
) -> dict[str, Any]:
    """Choose the joint model's pseudo-count inside the training window only.

    Two folds: plan on one half of [start, split) (rates and change history from it alone) and
    replay the other half against its own hindsight optimum, both ways round, for every
    workload, with and without the direct-upload limit. The score of a pseudo-count is the mean
    of project / hindsight over those cells (cells where hindsight is infeasible or zero are
    skipped); the lowest wins, ties to the larger pseudo-count (closer to the independent
    model). `interval`: the assumed build cadence (None: `training_interval` of each training
    half). Nothing at or after `split` is read."""
    mid = midnight((start + (split - start) / 2).date())
    folds = (("first->second", start, mid, mid, split), ("second->first", mid, split, start, mid))
    cells: list[dict[str, Any]] = []
    for w in workloads:
        for fold, a, b, c, d in folds:
            test = timeline(w, c, d)
            days = interval if interval is not None else training_interval(w, a, b)
            rates = {n: e.rate for n, e in estimate(w, a, b, days).items()}
            joint = training_history(w, a, b, days)
            for mode, limit in (("direct", DIRECT_UPLOAD_LIMIT), ("s3", None)):
                best = hindsight(test, limit).bytes
                if not best:
                    continue
                independent = project_cost(test, rates, limit)[0].bytes
                ratios = {}
                for weight in grid:
                    got = project_cost(test, rates, limit, None, joint, weight)[0].bytes
                    ratios[str(weight)] = None if got is None else got / best
                cells.append(
                    {
                        "workload": w.name,
                        "fold": fold,
                        "mode": mode,
                        "independent": None if independent is None else independent / best,
                        "joint": ratios,
                    }
                )

    def mean(values: Sequence[float | None]) -> float:
        known = [v for v in values if v is not None]
        return sum(known) / len(known) if known else math.inf

    scores = {str(weight): mean([c["joint"][str(weight)] for c in cells]) for weight in grid}
    chosen = min(grid, key=lambda weight: (scores[str(weight)], -weight))
    return {
        "train_halves": [
            [str(start.date()), str(mid.date())],
            [str(mid.date()), str(split.date())],
        ],
        "grid": list(grid),
        "scores": scores,
        "independent_score": mean([c["independent"] for c in cells]),
        "chosen": chosen,
        "cells": cells,
    }


def fmt(value: float | None) -> str:
    return "infeasible" if value is None else f"{value / 1e6:,.1f} MB"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return "n/a"
    if b == 0:
        return "1.000" if a == 0 else "inf"
    return f"{a / b:.3f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("releases", nargs="?", type=Path, default=DEFAULT_RELEASES)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--build-interval",
        default=str(history.DEFAULT_BUILD_INTERVAL_DAYS),
        help="days between builds assumed by the cadence estimate (default: the tool's own "
        f"default, {history.DEFAULT_BUILD_INTERVAL_DAYS:g}); `matched`: the mean gap between "
        "release dates in the training year, the cadence the replay builds at",
    )
    parser.add_argument(
        "--pin",
        action="append",
        default=[],
        metavar="LAYER=PKG,PKG",
        help="a pinned group for this project's strategy, as [tool.lambda-layers.layers] "
        "would give (repeatable; packages a workload lacks are ignored)",
    )
    parser.add_argument(
        "--pseudo-count",
        default="cv",
        help="the joint model's pseudo-count; `cv` (default): chosen by two-fold "
        "cross-validation inside the training year (see cross_validate)",
    )
    parser.add_argument(
        "--markdown", action="store_true", help="also print the BENCHMARKS.md tables"
    )
    parser.add_argument(
        "--index-facts",
        type=Path,
        default=DEFAULT_INDEX_FACTS,
        help="cache of the index facts the two signals need (read when present, else fetched "
        "from the configured index and written there)",
    )
    parser.add_argument(
        "--signals",
        choices=("both", "freeze", "pins", "none"),
        default="freeze",
        help="which of the loadability freeze and the exact-pin coupling the estimates use "
        "(default freeze: cross-validation in the training year scores the coupling worse, see "
        "benchmarks/README.md; none: the figures before either)",
    )
    args = parser.parse_args(argv)
    pinned: dict[str, tuple[str, ...]] = {}
    for spec in args.pin:
        layer, sep, members = spec.partition("=")
        if not sep or not layer or not members:
            parser.error(f"--pin {spec!r}: expected LAYER=PKG,PKG")
        pinned[layer] = tuple(canonicalize_name(m) for m in members.split(",") if m)
    data = json.loads(args.releases.read_text(encoding="utf-8"))
    start, split, end = window(data)
    print(f"train [{start.date()}, {split.date()})  replay [{split.date()}, {end.date()})")
    workloads = load_workloads(data)
    global FACTS
    FACTS = None
    SIGNALS.clear()
    SIGNALS.update({"freeze", "pins"} if args.signals == "both" else {args.signals} - {"none"})
    if SIGNALS:
        if args.index_facts.is_file():
            FACTS = json.loads(args.index_facts.read_text(encoding="utf-8"))
        else:
            mid = midnight((start + (split - start) / 2).date())
            try:
                FACTS = fetch_index_facts(workloads, data, [mid, split])
            except (LambdaLayersError, OSError, TimeoutError) as exc:
                print(f"index facts unavailable ({exc}); the two signals are off")
            else:
                args.index_facts.parent.mkdir(parents=True, exist_ok=True)
                args.index_facts.write_text(
                    json.dumps(FACTS, indent=1, sort_keys=True) + "\n", encoding="utf-8"
                )
    for w in workloads:
        frozen = [n for n in sorted(w.packages) if is_frozen(w, n, split)]
        pins = {a: sorted(b) for a, b in sorted(exact_pins_at(w, split).items())}
        print(
            f"{w.name}: frozen for the target at the split: {frozen or '-'}; exact pins: {pins or '-'}"
        )
    fixed = None if args.build_interval == "matched" else float(args.build_interval)
    if args.pseudo_count == "cv":
        cv = cross_validate(workloads, start, split, fixed)
        weight = float(cv["chosen"])
        print(
            "pseudo-count by cross-validation in the training year: "
            + "  ".join(f"{k}: {v:.4f}" for k, v in cv["scores"].items())
            + f"  (independent: {cv['independent_score']:.4f}) -> {weight:g}"
        )
    else:
        cv, weight = None, float(args.pseudo_count)
    results: dict[str, Any] = {
        "releases": str(args.releases),
        "train": [str(start.date()), str(split.date())],
        "replay": [str(split.date()), str(end.date())],
        "max_layers": MAX_LAYERS,
        "pinned": pinned,
        "direct_limit": DIRECT_UPLOAD_LIMIT,
        "pseudo_count": weight,
        "signals": sorted(SIGNALS) if FACTS is not None else [],
        "cross_validation": cv,
        "workloads": {},
    }
    for w in workloads:
        matched = training_interval(w, start, split)
        interval = matched if args.build_interval == "matched" else float(args.build_interval)
        estimates = estimate(w, start, split, interval)
        rates = {n: e.rate for n, e in estimates.items()}
        joint = training_history(w, start, split, interval)
        tl = timeline(w, split, end)
        train = timeline(w, start, split)
        entry: dict[str, Any] = {
            "packages": len(tl.names),
            "left_out": list(w.left_out),
            "builds": len(tl.dates),
            "build_interval_days": interval,
            "training_build_interval_days": matched,
            "rates": rates,
            "training_history": {
                "intervals": joint.count,
                "changes": {n: joint.changes(n) for n in sorted(joint.packages)},
            },
            "sizes_at_start": {n: tl.initial[n][1] for n in tl.names},
            "changes": {
                n: sum(
                    1
                    for prev, cur in zip([tl.initial, *tl.states], tl.states, strict=False)
                    if prev[n][0] != cur[n][0]
                )
                for n in tl.names
            },
            "per_package_bound": per_package_bound(tl),
            "modes": {},
        }
        modes: list[tuple[str, int | None]] = [("direct", DIRECT_UPLOAD_LIMIT)]
        direct = run_mode(tl, train, rates, DIRECT_UPLOAD_LIMIT, pinned, joint, weight)
        entry["modes"]["direct"] = direct
        if any(s["bytes"] is None for s in direct["strategies"].values()):
            entry["modes"]["s3"] = run_mode(tl, train, rates, None, pinned, joint, weight)
            modes.append(("s3", None))
        # How the project's figures move with the build cadence the estimates assume.
        entry["sensitivity"] = {}
        entry["sensitivity_joint"] = {}
        for mode, limit in modes:
            row, joint_row = {}, {}
            for label, days in (("1", 1.0), ("matched", matched), ("7", 7.0), ("14", 14.0)):
                est = {n: e.rate for n, e in estimate(w, start, split, days).items()}
                outcome, _ = project_cost(tl, est, limit, pinned)
                row[label] = outcome.bytes
                past = training_history(w, start, split, days)
                outcome, _ = project_cost(tl, est, limit, pinned, past, weight)
                joint_row[label] = outcome.bytes
            entry["sensitivity"][mode] = row
            entry["sensitivity_joint"][mode] = joint_row
        # Diagnostic, reported after the choice and never used for it: the joint model's replay
        # figure at every pseudo-count of the cross-validation grid.
        entry["joint_by_pseudo_count"] = {
            mode: {
                str(w8): project_cost(tl, rates, limit, pinned, joint, w8)[0].bytes
                for w8 in CV_GRID
            }
            for mode, limit in modes
        }
        for mode, _ in modes:
            s = entry["modes"][mode]["strategies"]
            b = {k: v["bytes"] for k, v in s.items()}
            print(
                f"{w.name:<12} {mode:<6} builds={len(tl.dates):<4} "
                f"project={fmt(b['project'])}  single={fmt(b['single'])}  "
                f"largest4={fmt(b['largest4'])}  hindsight={fmt(b['hindsight'])}  "
                f"project/hindsight={ratio(b['project'], b['hindsight'])}  "
                f"project/largest4={ratio(b['project'], b['largest4'])}  "
                f"joint={fmt(b['joint'])}  "
                f"joint/hindsight={ratio(b['joint'], b['hindsight'])}  "
                f"joint/largest4={ratio(b['joint'], b['largest4'])}  "
                f"(train-optimal={fmt(b['train_optimal'])})"
            )
            for k, v in s.items():
                if v["problem"]:
                    print(f"{'':<12} {'':<6} {k}: {v['problem'].splitlines()[0][:160]}")
        results["workloads"][w.name] = entry
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    if args.markdown:
        print(markdown(results))
    return 0


def markdown(results: Mapping[str, Any]) -> str:
    """The tables of BENCHMARKS.md's replay section, from a results dict."""

    def mb(value: float | None) -> str:
        return "infeasible" if value is None else f"{value / 1e6:,.1f}"

    lines = [
        "| workload | upload | builds | this project | one layer | 4 largest + rest "
        "| hindsight optimum | project / hindsight | project / 4 largest "
        "| joint model | joint / hindsight | joint / 4 largest "
        "| train-year optimum | project with replay-window rates "
        "| joint with replay-window history | one layer per package |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for name, e in results["workloads"].items():
        for mode, m in e["modes"].items():
            b = {k: v["bytes"] for k, v in m["strategies"].items()}
            lines.append(
                f"| {name} | {mode} | {e['builds']} | {mb(b['project'])} | {mb(b['single'])} "
                f"| {mb(b['largest4'])} | {mb(b['hindsight'])} "
                f"| {ratio(b['project'], b['hindsight'])} | {ratio(b['project'], b['largest4'])} "
                f"| {mb(b['joint'])} | {ratio(b['joint'], b['hindsight'])} "
                f"| {ratio(b['joint'], b['largest4'])} "
                f"| {mb(b['train_optimal'])} | {mb(b['replay_rates'])} "
                f"| {mb(b['replay_history'])} | {mb(e['per_package_bound'])} |"
            )
    lines += [
        "",
        "| workload | upload | model | 1 day | matched (days) | 7 days (default) | 14 days "
        "| hindsight |",
        "|---|---|---|--:|--:|--:|--:|--:|",
    ]
    for name, e in results["workloads"].items():
        for mode in e["sensitivity"]:
            h = e["modes"][mode]["strategies"]["hindsight"]["bytes"]
            for model, key in (("independent", "sensitivity"), ("joint", "sensitivity_joint")):
                row = e[key][mode]
                cells = [f"{mb(row[k])} ({ratio(row[k], h)})" for k in ("1", "matched", "7", "14")]
                days = e["training_build_interval_days"]
                cells[1] = cells[1].replace(" (", f" [{days:.1f} d] (", 1)
                lines.append(
                    f"| {name} | {mode} | {model} | " + " | ".join(cells) + f" | {mb(h)} |"
                )
    cv = results.get("cross_validation")
    grid = [str(x) for x in (cv["grid"] if cv else CV_GRID)]
    lines += [
        "",
        "| workload | upload | hindsight | " + " | ".join(f"w = {float(g):g}" for g in grid) + " |",
        "|---|---|--:|" + "--:|" * len(grid),
    ]
    for name, e in results["workloads"].items():
        for mode, row in e["joint_by_pseudo_count"].items():
            h = e["modes"][mode]["strategies"]["hindsight"]["bytes"]
            cells = [f"{mb(row[g])} ({ratio(row[g], h)})" for g in grid]
            lines.append(f"| {name} | {mode} | {mb(h)} | " + " | ".join(cells) + " |")
    if cv:
        grid = [str(x) for x in cv["grid"]]
        lines += [
            "",
            "| pseudo-count | independent | " + " | ".join(f"{float(g):g}" for g in grid) + " |",
            "|---|--:|" + "--:|" * len(grid),
            f"| mean project / hindsight | {cv['independent_score']:.4f} | "
            + " | ".join(f"{cv['scores'][g]:.4f}" for g in grid)
            + " |",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
