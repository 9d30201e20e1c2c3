"""Replay real release histories against layer strategies: bytes republished over a year.

    python benchmarks/replay.py [RELEASES_JSON] [--out FILE] [--build-interval DAYS|matched]
                                [--pin LAYER=PKG,PKG] [--signals freeze|none]
                                [--index-facts FILE] [--markdown]

RELEASES_JSON defaults to ../shared/workloads/releases.json relative to the repository root;
results go to benchmarks/results/replay.json. Method: benchmarks/README.md. In short, change
rates come from the release cadence of the first twelve months only (as a project with no
history of its own gets them); the next twelve months are replayed, a build on every date on
which a bundled package released, and each strategy is charged the zipped size of every layer
it must republish. Strategies: this project's partitioner (planned once, then honoured at every
build as `lambda-layers.lock` is), one combined layer, the four largest packages alone and the
rest together, and the hindsight optimum (the best fixed partition for the replayed year).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from replay_data import (  # noqa: E402
    Timeline,
    Workload,
    frozen_at,
    load_index_facts,
    load_workloads,
    timeline,
    window,
)

from hatch_lambda_layers.config import DEFAULT_LAYER_OVERHEAD  # noqa: E402
from hatch_lambda_layers.errors import LimitError  # noqa: E402
from hatch_lambda_layers.plan.partition import Constraints, Item, partition  # noqa: E402
from hatch_lambda_layers.plan.rates import (  # noqa: E402
    BUILD_INTERVAL_DAYS,
    cadence_rate,
    release_times,
)
from hatch_lambda_layers.targets import DIRECT_UPLOAD_MAX  # noqa: E402

DEFAULT_RELEASES = ROOT.parent / "shared" / "workloads" / "releases.json"
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "replay.json"
# Facts from the index that releases.json lacks (which releases the target cannot load),
# fetched on the first run and cached there; not committed (see benchmarks/README.md).
DEFAULT_INDEX_FACTS = ROOT / "benchmarks" / "results" / "replay_index.json"
MAX_LAYERS = 5
LARGEST_ALONE = 4
EXACT_HINDSIGHT_MAX = 20  # packages; 3**n work
CADENCES = (("1", 1.0), ("matched", None), ("7", 7.0), ("14", 14.0))
# Per-layer overheads (bytes per build) replayed to show what the layer count trades for.
OVERHEADS = (0.0, 250_000.0, 500_000.0, 1_000_000.0, 2_000_000.0)


# --------------------------------------------------------------------------- strategies


@dataclass
class Outcome:
    bytes: float | None  # None: infeasible
    republished_layers: int = 0
    layers: list[list[str]] = field(default_factory=list)
    problem: str | None = None
    moves: int = 0  # packages moved between layers by honouring (limits)


def _over_limit(tl: Timeline, layers: Sequence[Sequence[str]], limit: int | None) -> str | None:
    """Where a layer first outgrows `limit`, or None."""
    for when, state in [("start", tl.initial), *zip(map(str, tl.dates), tl.states, strict=True)]:
        for block in layers:
            size = sum(state[n][1] for n in block)
            if limit is not None and size > limit:
                what = block[0] if len(block) == 1 else f"of {len(block)} packages"
                return f"from {when}: layer {what} is {size:,} bytes > {limit:,}"
    return None


def fixed_cost(tl: Timeline, blocks: Sequence[Sequence[str]], limit: int | None) -> Outcome:
    """A fixed partition replayed: each layer costs its size at every build where it changed."""
    layers = [sorted(b) for b in blocks if b]
    problem = _over_limit(tl, layers, limit)
    if problem is not None:
        return Outcome(None, layers=layers, problem=problem)
    total, count = 0, 0
    for state, changed in zip(tl.states, tl.changed(), strict=True):
        for block in layers:
            if changed.intersection(block):
                total += sum(state[n][1] for n in block)
                count += 1
    return Outcome(float(total), count, layers)


def project_cost(
    tl: Timeline,
    rates: Mapping[str, float],
    limit: int | None,
    pinned: Mapping[str, tuple[str, ...]] | None = None,
    overhead: float = 0.0,
) -> tuple[Outcome, dict[str, Any]]:
    """Plan once at the start (`plan --update`), then honour the plan at every build."""
    constraints = Constraints(MAX_LAYERS, limit, dict(pinned or {}), layer_overhead=overhead)

    def items(state: Mapping[str, tuple[str, int]]) -> list[Item]:
        return [Item(n, state[n][1], state[n][1], rates[n]) for n in tl.names]

    try:
        plan = partition(items(tl.initial), constraints)
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
    total, count, moves = 0, 0, 0
    for day, state, changed in zip(tl.dates, tl.states, tl.changed(), strict=True):
        try:
            plan = partition(items(state), constraints, assignment)
        except LimitError as exc:
            return Outcome(None, layers=first_layers, problem=f"from {day}: {exc}"), info
        new_assignment = plan.assignment()
        moves += sum(1 for n in tl.names if new_assignment[n] != assignment[n])
        for layer in plan.layers:
            if layers.get(layer.name) != layer.packages or changed.intersection(layer.packages):
                total += sum(state[n][1] for n in layer.packages)
                count += 1
        layers = {layer.name: layer.packages for layer in plan.layers}
        assignment = new_assignment
    return Outcome(float(total), count, first_layers, moves=moves), info


def per_package_bound(tl: Timeline) -> float:
    """Every package in a layer of its own (unlimited layers): no fixed partition does better."""
    return float(
        sum(
            sum(state[n][1] for n in changed)
            for state, changed in zip(tl.states, tl.changed(), strict=True)
        )
    )


def largest_alone(tl: Timeline) -> list[list[str]]:
    order = sorted(tl.names, key=lambda x: (-tl.initial[x][1], x))
    alone = order[:LARGEST_ALONE]
    return [[x] for x in alone] + [[x for x in tl.names if x not in alone]]


# --------------------------------------------------------------------------- hindsight


def _subset_sums(np: Any, sizes: Sequence[int]) -> Any:
    """sum of `sizes` over every subset (bitmask)."""
    arr = np.zeros(1, dtype=np.int64)
    for s in sizes:
        arr = np.concatenate((arr, arr + s))
    return arr


def _submasks(np: Any, m: int) -> Any:
    arr = np.zeros(1, dtype=np.int64)
    bit = 0
    while m >> bit:
        if m >> bit & 1:
            arr = np.concatenate((arr, arr | (1 << bit)))
        bit += 1
    return arr


def _block_table(np: Any, tl: Timeline, limit: int | None) -> Any:
    """Replay cost of every subset as one layer; inf when it outgrows `limit` at some build."""
    n = len(tl.names)
    masks = np.arange(1 << n, dtype=np.int64)
    biggest = _subset_sums(np, [tl.initial[x][1] for x in tl.names])
    cost = np.zeros(1 << n, dtype=np.float64)
    for state, changed in zip(tl.states, tl.changed(), strict=True):
        sizes = _subset_sums(np, [state[x][1] for x in tl.names])
        biggest = np.maximum(biggest, sizes)
        bits = sum(1 << i for i, x in enumerate(tl.names) if x in changed)
        if bits:
            cost += np.where((masks & bits) != 0, sizes, 0)
    feasible = np.ones(1 << n, dtype=bool) if limit is None else biggest <= limit
    block = np.where(feasible, cost, np.inf)
    block[0] = 0.0
    return block


def _best_partition(np: Any, block: Any, n: int, k: int) -> tuple[float, list[int]]:
    """best_j(S) = min over blocks T holding the lowest member of S of cost(T) + best_{j-1}(S - T),
    each (S, T) pair visited once, vectorised over the S sharing T; (cost, blocks) of the
    full set in at most k blocks."""
    full = (1 << n) - 1
    best = block.copy()
    choices = []
    feasible_blocks = [int(t) for t in np.nonzero(np.isfinite(block))[0] if t]
    for _ in range(2, min(k, n)):
        nxt = best.copy()
        choice = np.zeros(full + 1, dtype=np.int64)
        for t in feasible_blocks:
            low = t & -t
            u = _submasks(np, full & ~t & ~((low << 1) - 1))
            s = u | t
            cand = block[t] + best[u]
            better = cand < nxt[s]
            if better.any():
                nxt[s[better]] = cand[better]
                choice[s[better]] = t
        choices.append(choice)
        best = nxt
    top_value, top_t = float(best[full]), 0  # last level: only the full set
    if k >= 2 and n >= 2:
        for t in feasible_blocks:
            if t & 1 and block[t] + best[full ^ t] < top_value:
                top_value, top_t = float(block[t] + best[full ^ t]), t
    picked, s = [], full
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
    return top_value, picked


def hindsight(tl: Timeline, limit: int | None, k: int = MAX_LAYERS) -> Outcome:
    """The best fixed partition into at most k layers for the replay, exactly (numpy): every
    subset's replay cost and feasibility is tabulated, then a dynamic program over subsets
    (3**n work). Packages that never change are kept as individual packages."""
    import numpy as np

    n = len(tl.names)
    if n > EXACT_HINDSIGHT_MAX:
        return Outcome(None, problem=f"{n} packages: too many for the exact search")
    top_value, picked = _best_partition(np, _block_table(np, tl, limit), n, k)
    if not math.isfinite(top_value):
        return Outcome(
            None, problem="no fixed partition into 5 layers fits the limit at every build"
        )
    blocks = [[tl.names[i] for i in range(n) if b >> i & 1] for b in picked]
    outcome = fixed_cost(tl, blocks, limit)
    assert outcome.bytes is not None
    assert abs(outcome.bytes - top_value) <= 1e-6 * (1 + top_value)
    return outcome


# --------------------------------------------------------------------------- estimates


def training_releases(
    w: Workload, start: datetime, split: datetime, frozen: Sequence[str]
) -> dict[str, list[datetime]]:
    """Per package, the times of the releases in [start, split) that move a lock and have a
    wheel the target loads (`rates.release_times`); none for a `frozen` package."""
    out: dict[str, list[datetime]] = {}
    for name, p in sorted(w.packages.items()):
        pairs = [
            (str(r.version), r.time) for r in p.releases if r.size is not None and r.time < split
        ]
        times = [t for t in release_times(pairs) if t >= start]
        out[name] = [] if name in frozen else times
    return out


def at_cadence(rate: float, days: float) -> float:
    """A per-build probability at the tool's cadence (`BUILD_INTERVAL_DAYS`) turned into the
    probability for builds every `days` days under the same Poisson model."""
    if days == BUILD_INTERVAL_DAYS:
        return rate
    return -math.expm1(math.log1p(-rate) * days / BUILD_INTERVAL_DAYS)


def estimate(
    w: Workload, start: datetime, split: datetime, days: float, frozen: Sequence[str]
) -> dict[str, float]:
    """Release-cadence rates (`rates.cadence_rate`) from the training window [start, split)
    only, for builds every `days` days."""
    window_days = (split - start).total_seconds() / 86400
    return {
        name: at_cadence(cadence_rate(times, split, window_days=window_days), days)
        for name, times in training_releases(w, start, split, frozen).items()
    }


def training_interval(w: Workload, start: datetime, split: datetime) -> float:
    """Mean days between release dates in the training year: the cadence the replay builds at."""
    days = {
        r.time.date() for p in w.packages.values() for r in p.releases if start <= r.time < split
    }
    return (split - start).days / max(1, len(days))


# --------------------------------------------------------------------------- one workload


def run_mode(
    tl: Timeline,
    train: Timeline,
    rates: Mapping[str, float],
    limit: int | None,
    pinned: Mapping[str, tuple[str, ...]] | None = None,
) -> dict[str, Any]:
    """Every strategy on the replay `tl`, and the diagnostics. "project" plans as the tool does
    by default (with its per-layer overhead); "project_no_overhead" without it."""
    project, info = project_cost(tl, rates, limit, pinned, DEFAULT_LAYER_OVERHEAD)
    past = hindsight(train, limit)
    # Diagnostic only (it peeks): the partitioner fed each package's change frequency measured
    # in the replay window itself. What is left of the gap to hindsight is the model's (changes
    # taken as independent); the rest of the project's gap is the estimate's.
    counts = {n: sum(n in c for c in tl.changed()) for n in tl.names}
    measured = {n: counts[n] / max(1, len(tl.states)) for n in tl.names}
    outcomes = {
        "project": project,
        "project_no_overhead": project_cost(tl, rates, limit, pinned)[0],
        "single": fixed_cost(tl, [tl.names], limit),
        "largest4": fixed_cost(tl, largest_alone(tl), limit),
        "hindsight": hindsight(tl, limit),
        # Not a contender: the best fixed partition of the *training* year, replayed (perfect
        # knowledge of the past, joint changes included).
        "train_optimal": (
            fixed_cost(tl, past.layers, limit)
            if past.bytes is not None
            else Outcome(None, problem=f"training year: {past.problem}")
        ),
        "replay_rates": project_cost(tl, measured, limit, pinned, DEFAULT_LAYER_OVERHEAD)[0],
    }
    strategies = {
        k: {
            "bytes": o.bytes,
            "republished_layers": o.republished_layers,
            "layers": o.layers,
            "problem": o.problem,
            **({"moves": o.moves} if k == "project" else {}),
        }
        for k, o in outcomes.items()
    }
    return {"strategies": strategies, "plan": info}


@dataclass(frozen=True)
class Options:
    start: datetime
    split: datetime
    end: datetime
    build_interval: float | None  # None: matched to each workload's training year
    pinned: Mapping[str, tuple[str, ...]]
    facts: Any  # index facts, None: the loadability freeze is off


def run_workload(w: Workload, o: Options) -> dict[str, Any]:
    """The replay of one workload: direct upload, and S3 too when a strategy is infeasible."""
    frozen = frozen_at(o.facts, w, o.split)
    matched = training_interval(w, o.start, o.split)
    interval = matched if o.build_interval is None else o.build_interval
    rates = estimate(w, o.start, o.split, interval, frozen)
    tl = timeline(w, o.split, o.end)
    train = timeline(w, o.start, o.split)
    entry: dict[str, Any] = {
        "packages": len(tl.names),
        "left_out": list(w.left_out),
        "frozen": frozen,
        "builds": len(tl.dates),
        "build_interval_days": interval,
        "training_build_interval_days": matched,
        "rates": rates,
        "sizes_at_start": {n: tl.initial[n][1] for n in tl.names},
        "changes": {n: sum(n in c for c in tl.changed()) for n in tl.names},
        "per_package_bound": per_package_bound(tl),
        "modes": {"direct": run_mode(tl, train, rates, DIRECT_UPLOAD_MAX, o.pinned)},
        "sensitivity": {},
    }
    modes: list[tuple[str, int | None]] = [("direct", DIRECT_UPLOAD_MAX)]
    if any(s["bytes"] is None for s in entry["modes"]["direct"]["strategies"].values()):
        entry["modes"]["s3"] = run_mode(tl, train, rates, None, o.pinned)
        modes.append(("s3", None))
    entry["overhead"] = {
        mode: {
            str(int(lam)): _overhead_row(project_cost(tl, rates, limit, o.pinned, lam)[0])
            for lam in OVERHEADS
        }
        for mode, limit in modes
    }
    # How the project's figure moves with the build cadence the estimates assume.
    for mode, limit in modes:
        row = {}
        for label, days in CADENCES:
            est = estimate(w, o.start, o.split, matched if days is None else days, frozen)
            row[label] = project_cost(tl, est, limit, o.pinned)[0].bytes
        entry["sensitivity"][mode] = row
    return entry


def _overhead_row(outcome: Outcome) -> dict[str, Any]:
    return {
        "bytes": outcome.bytes,
        "layers": len(outcome.layers),
        "versions_published": outcome.republished_layers if outcome.bytes is not None else None,
    }


def report(name: str, entry: Mapping[str, Any]) -> None:
    """One line per upload mode, and the reason of every infeasible strategy."""
    for mode, m in entry["modes"].items():
        s = m["strategies"]
        b = {k: v["bytes"] for k, v in s.items()}
        print(
            f"{name:<12} {mode:<6} builds={entry['builds']:<4} "
            f"project={fmt(b['project'])}  single={fmt(b['single'])}  "
            f"largest4={fmt(b['largest4'])}  hindsight={fmt(b['hindsight'])}  "
            f"project/hindsight={ratio(b['project'], b['hindsight'])}  "
            f"project/largest4={ratio(b['project'], b['largest4'])}  "
            f"(train-optimal={fmt(b['train_optimal'])})"
        )
        for k, v in s.items():
            if v["problem"]:
                print(f"{'':<12} {'':<6} {k}: {v['problem'].splitlines()[0][:160]}")


def fmt(value: float | None) -> str:
    return "infeasible" if value is None else f"{value / 1e6:,.1f} MB"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return "n/a"
    if b == 0:
        return "1.000" if a == 0 else "inf"
    return f"{a / b:.3f}"


def mb(value: float | None) -> str:
    return "infeasible" if value is None else f"{value / 1e6:,.1f}"


# --------------------------------------------------------------------------- tables


def headline_table(results: Mapping[str, Any]) -> list[str]:
    """BENCHMARKS.md's table: MB republished over the replayed year, and the ratios."""
    lines = [
        "| workload | upload | builds | this project, MB (layers) | without the layer overhead "
        "| one layer | 4 largest + rest | hindsight optimum | one layer / this "
        "| 4 largest / this | this / hindsight |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for name, e in results["workloads"].items():
        for mode, m in e["modes"].items():
            b = {k: v["bytes"] for k, v in m["strategies"].items()}
            if b["project"] is None:
                continue
            count = len(m["strategies"]["project"]["layers"])
            free = m["strategies"]["project_no_overhead"]
            lines.append(
                f"| {name} | {mode} | {e['builds']} | {mb(b['project'])} ({count}) "
                f"| {mb(free['bytes'])} ({len(free['layers'])}) | {mb(b['single'])} "
                f"| {mb(b['largest4'])} | {mb(b['hindsight'])} "
                f"| {ratio(b['single'], b['project'])} | {ratio(b['largest4'], b['project'])} "
                f"| {ratio(b['project'], b['hindsight'])} |"
            )
    return lines


def diagnostics_table(results: Mapping[str, Any]) -> list[str]:
    """benchmarks/README.md's table: every strategy and diagnostic, MB."""
    lines = [
        "| workload | upload | this project | hindsight | train-year optimum "
        "| replay-window rates | one layer per package | moves |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for name, e in results["workloads"].items():
        for mode, m in e["modes"].items():
            s = m["strategies"]
            b = {k: v["bytes"] for k, v in s.items()}
            lines.append(
                f"| {name} | {mode} | {mb(b['project'])} | {mb(b['hindsight'])} "
                f"| {mb(b['train_optimal'])} | {mb(b['replay_rates'])} "
                f"| {mb(e['per_package_bound'])} | {s['project']['moves']} |"
            )
    return lines


def sensitivity_table(results: Mapping[str, Any]) -> list[str]:
    """benchmarks/README.md's table: the project's MB (ratio to hindsight) per assumed cadence."""
    lines = [
        "| workload | upload | 1 day | matched (days) | 7 days (default) | 14 days | hindsight |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]
    for name, e in results["workloads"].items():
        for mode, row in e["sensitivity"].items():
            h = e["modes"][mode]["strategies"]["hindsight"]["bytes"]
            cells = [f"{mb(row[k])} ({ratio(row[k], h)})" for k, _ in CADENCES]
            days = e["training_build_interval_days"]
            cells[1] = cells[1].replace(" (", f" [{days:.1f} d] (", 1)
            lines.append(f"| {name} | {mode} | " + " | ".join(cells) + f" | {mb(h)} |")
    return lines


def overhead_table(results: Mapping[str, Any]) -> list[str]:
    """The per-layer overhead's trade-off: layers at the start, MB republished over the year
    and layer versions published, for each overhead."""
    head = " | ".join(f"{lam / 1e6:g} MB" for lam in OVERHEADS)
    lines = [
        f"| workload | upload | {head} |",
        "|---|---|" + "--:|" * len(OVERHEADS),
    ]
    for name, e in results["workloads"].items():
        for mode, row in e.get("overhead", {}).items():
            cells = []
            for lam in OVERHEADS:
                r = row[str(int(lam))]
                cells.append(
                    "infeasible"
                    if r["bytes"] is None
                    else f"{r['layers']} layer{'' if r['layers'] == 1 else 's'}, "
                    f"{mb(r['bytes'])} MB, {r['versions_published']} v"
                )
            lines.append(f"| {name} | {mode} | " + " | ".join(cells) + " |")
    return lines


def markdown(results: Mapping[str, Any]) -> str:
    tables = (headline_table, diagnostics_table, sensitivity_table, overhead_table)
    return "\n\n".join("\n".join(t(results)) for t in tables)


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("releases", nargs="?", type=Path, default=DEFAULT_RELEASES)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--build-interval",
        default=str(BUILD_INTERVAL_DAYS),
        help="days between builds assumed by the cadence estimate (default: the tool's own, "
        f"{BUILD_INTERVAL_DAYS:g}); `matched`: the mean gap between release dates in the "
        "training year, the cadence the replay builds at",
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
        "--signals",
        choices=("freeze", "none"),
        default="freeze",
        help="freeze (default): apply the loadability freeze, as the tool does, from the "
        "index facts; none: release cadence alone (no index needed)",
    )
    parser.add_argument(
        "--index-facts",
        type=Path,
        default=DEFAULT_INDEX_FACTS,
        help="cache of the index facts the freeze needs (read when present, else fetched "
        "from the configured index and written there)",
    )
    parser.add_argument("--markdown", action="store_true", help="also print the tables")
    args = parser.parse_args(argv)
    args.pinned = {}
    for spec in args.pin:
        layer, sep, members = spec.partition("=")
        if not sep or not layer or not members:
            parser.error(f"--pin {spec!r}: expected LAYER=PKG,PKG")
        args.pinned[layer] = tuple(canonicalize_name(m) for m in members.split(",") if m)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    data = json.loads(args.releases.read_text(encoding="utf-8"))
    start, split, end = window(data)
    print(f"train [{start.date()}, {split.date()})  replay [{split.date()}, {end.date()})")
    workloads = load_workloads(data)
    facts = None
    if args.signals == "freeze":
        facts = load_index_facts(args.index_facts, workloads, split)
    interval = None if args.build_interval == "matched" else float(args.build_interval)
    options = Options(start, split, end, interval, args.pinned, facts)
    results: dict[str, Any] = {
        "releases": str(args.releases),
        "train": [str(start.date()), str(split.date())],
        "replay": [str(split.date()), str(end.date())],
        "max_layers": MAX_LAYERS,
        "pinned": args.pinned,
        "direct_limit": DIRECT_UPLOAD_MAX,
        "signals": ["freeze"] if facts is not None else [],
        "workloads": {},
    }
    for w in workloads:
        entry = run_workload(w, options)
        print(f"{w.name}: frozen for the target at the split: {entry['frozen'] or '-'}")
        report(w.name, entry)
        results["workloads"][w.name] = entry
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    if args.markdown:
        print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
