"""How close the partitioner's heuristic comes to the exact optimum, on random instances.

    python benchmarks/solver_quality.py [--instances N] [--seed S] [--threshold T]

Each instance has 8 to 11 packages (sizes from 10 kB to 20 MB, change rates from 0.01 to 0.9),
2 to 5 layers and no limit or a 40 MB one. It is solved exactly (dynamic programming, the
default up to `solver.EXACT_UNITS` units) and by the heuristic (the exact threshold lowered to
`--threshold`, so the heuristic path runs), and the gap and the heuristic's lower bound are
reported. Instances no plan fits are skipped.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hatch_lambda_layers.errors import LimitError
from hatch_lambda_layers.plan import solver
from hatch_lambda_layers.plan.partition import Constraints, Item, Plan, partition

MB = 1_000_000


def instance(rng: random.Random) -> tuple[list[Item], Constraints]:
    items = [
        Item(
            f"p{i:02d}",
            rng.choice([rng.randint(10_000, 500_000), rng.randint(MB, 20 * MB)]),
            0,
            rng.choice([0.01, 0.05, 0.1, 0.2, 0.5, 0.9, rng.random()]),
        )
        for i in range(rng.randint(8, 11))
    ]
    return items, Constraints(rng.randint(2, 5), rng.choice([None, 40 * MB]))


def heuristic(items: list[Item], constraints: Constraints, threshold: int) -> Plan:
    default = solver.EXACT_UNITS
    solver.EXACT_UNITS = threshold
    try:
        return partition(items, constraints)
    finally:
        solver.EXACT_UNITS = default


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--threshold", type=int, default=6)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    gaps: list[float] = []
    below: list[float] = []
    while len(gaps) < args.instances:
        items, constraints = instance(rng)
        try:
            best = partition(items, constraints).expected_bytes
        except LimitError:
            continue
        plan = heuristic(items, constraints, args.threshold)
        assert plan.lower_bound is not None
        gaps.append(plan.expected_bytes / best - 1 if best else 0.0)
        below.append(1 - plan.lower_bound / best if best else 0.0)
    optimal = sum(1 for g in gaps if g < 1e-9)
    print(
        f"{len(gaps)} instances: heuristic optimal in {optimal}, worst gap {max(gaps):.2%}, "
        f"mean gap {sum(gaps) / len(gaps):.3%}; lower bound {sum(below) / len(below):.1%} "
        f"below the optimum on average, {max(below):.1%} at worst"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
