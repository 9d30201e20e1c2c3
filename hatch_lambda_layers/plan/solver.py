"""The optimisation behind the partitioner: the cheapest split of units into at most k blocks.

A `Unit` is what is never split (a package, a pinned group, a kept layer). It has a zipped size,
a hazard (``-log P(no member changes)``: hazards of independent members add up) and may be
anchored (carry a layer name; a block holds at most one anchored unit). A block costs
``size * (1 - exp(-hazard)) + overhead`` (`overhead`: what one more layer costs, the same for
every block), is feasible when its size is within `limit` (None: no limit), and a solution is a
set of at most `k` feasible blocks covering every unit.

`solve` is exact up to `EXACT_UNITS` units (dynamic programming over subsets); beyond that it
improves several starting solutions by local search and reports a lower bound on the optimum.
Pure and deterministic: ties are broken by unit index, and callers order units by `Unit.key`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from .packing import fits as _fits
from .packing import pack as _pack

# Largest instance solved exactly.
EXACT_UNITS = 12
# Size of the unit groups whose exact optima add up to the heuristic's lower bound.
BOUND_GROUP = 8


@dataclass(frozen=True)
class Unit:
    key: str  # orders units deterministically (the first member's name)
    size: int  # zipped bytes
    hazard: float  # sum of the members' -log(1 - rate)
    anchored: bool  # carries a layer name: at most one such unit per block


@dataclass(frozen=True)
class Solution:
    blocks: tuple[tuple[int, ...], ...]  # unit indexes, canonical order
    cost: float
    exact: bool
    lower_bound: float


class Infeasible(Exception):
    """No feasible solution; `proven` unless a search budget ran out first."""

    def __init__(self, proven: bool) -> None:
        super().__init__("infeasible")
        self.proven = proven


def hazard(rate: float) -> float:
    """-log(1 - rate): hazards add up where survival probabilities multiply."""
    return math.inf if rate >= 1.0 else -math.log1p(-rate)


def block_cost(size: int, hazard: float) -> float:
    """Expected bytes republished: size * P(any member changes)."""
    return size * -math.expm1(-hazard)


# (size, hazard, number of units) of a block
_Stats = tuple[int, float, int]
_EMPTY: _Stats = (0, 0.0, 0)


def _stats(units: Sequence[Unit], members: Iterable[int], skip: int = -1) -> _Stats:
    """Summary of the block `members` (without `skip`), summed in index order."""
    size, total, count = 0, 0.0, 0
    for i in sorted(members):
        if i != skip:
            size += units[i].size
            total += units[i].hazard
            count += 1
    return size, total, count


def _plus(stats: _Stats, u: Unit) -> _Stats:
    return stats[0] + u.size, stats[1] + u.hazard, stats[2] + 1


def _merged(a: _Stats, b: _Stats) -> _Stats:
    return a[0] + b[0], a[1] + b[1], a[2] + b[2]


def _cost(stats: _Stats, overhead: float) -> float:
    """A block's cost; an empty block is no layer and costs nothing."""
    return block_cost(stats[0], stats[1]) + overhead if stats[2] else 0.0


def _canonical(blocks: Iterable[Iterable[int]]) -> tuple[tuple[int, ...], ...]:
    return tuple(sorted(tuple(sorted(b)) for b in blocks if b))


def _cost_of(units: Sequence[Unit], blocks: Iterable[Iterable[int]], overhead: float) -> float:
    return sum(_cost(_stats(units, block), overhead) for block in blocks)


def _feasible_block(units: Sequence[Unit], block: Iterable[int], limit: int | None) -> bool:
    members = list(block)
    anchors = sum(1 for i in members if units[i].anchored)
    return _fits(sum(units[i].size for i in members), anchors, limit)


def solve(units: Sequence[Unit], k: int, limit: int | None, *, overhead: float = 0.0) -> Solution:
    """The cheapest solution (exact up to `EXACT_UNITS` units); raises `Infeasible`."""
    if len(units) <= EXACT_UNITS:
        return exact(units, k, limit, overhead=overhead)
    return _heuristic(units, k, limit, overhead)


# --------------------------------------------------------------------------- exact


def _subset_costs(units: Sequence[Unit], limit: int | None, overhead: float) -> list[float]:
    """Cost of every subset (bitmask) of `units` as one block; inf when infeasible."""
    full = (1 << len(units)) - 1
    size = [0] * (full + 1)
    total = [0.0] * (full + 1)
    anchors = [0] * (full + 1)
    cost = [math.inf] * (full + 1)
    cost[0] = 0.0
    for mask in range(1, full + 1):
        low = mask & -mask
        rest = mask ^ low
        u = units[low.bit_length() - 1]
        size[mask] = size[rest] + u.size
        total[mask] = total[rest] + u.hazard
        anchors[mask] = anchors[rest] + u.anchored
        if _fits(size[mask], anchors[mask], limit):
            cost[mask] = block_cost(size[mask], total[mask]) + overhead
    return cost


def _best_split(cost: Sequence[float], best: Sequence[float], s: int) -> tuple[float, int]:
    """min over blocks T holding the lowest unit of `s` of cost(T) + best(s - T); (value, T),
    T = 0 when `best[s]` itself (fewer blocks) is as good."""
    low = s & -s
    rest = s ^ low
    value, chosen = best[s], 0
    sub = rest
    while True:
        t = sub | low
        c = cost[t]
        if c < value:
            v = c + best[s ^ t]
            if v < value:
                value, chosen = v, t
        if sub == 0:
            return value, chosen
        sub = (sub - 1) & rest


def exact(units: Sequence[Unit], k: int, limit: int | None, *, overhead: float = 0.0) -> Solution:
    """Optimal solution by dynamic programming over subsets: `best_j(S)`, the cheapest split
    of `S` into at most `j` blocks, from `best_{j-1}`; about ``(k - 2) * 3**n / 2`` steps."""
    n = len(units)
    if n == 0:
        return Solution((), 0.0, True, 0.0)
    full = (1 << n) - 1
    cost = _subset_costs(units, limit, overhead)
    best = cost  # best splits into at most one block
    choices: list[list[int]] = []  # per level: the block holding the lowest unit, 0 = fewer
    top = min(k, n)
    for level in range(2, top + 1):
        targets: Iterable[int] = (full,) if level == top else range(1, full + 1)
        nxt = list(best)
        choice = [0] * (full + 1)
        for s in targets:
            nxt[s], choice[s] = _best_split(cost, best, s)
        choices.append(choice)
        best = nxt
    if math.isinf(best[full]):
        raise Infeasible(proven=True)
    masks: list[int] = []
    s = full
    for choice in reversed(choices):
        t = choice[s]
        if t:
            masks.append(t)
            s ^= t
    if s:
        masks.append(s)
    blocks = _canonical([i for i in range(n) if b >> i & 1] for b in masks)
    total = _cost_of(units, blocks, overhead)
    return Solution(blocks, total, True, total)


# --------------------------------------------------------------------------- local search


class _Search:
    """Blocks under local search, with their summaries and anchor counts kept up to date."""

    def __init__(
        self,
        units: Sequence[Unit],
        k: int,
        limit: int | None,
        blocks: Iterable[Iterable[int]],
        overhead: float = 0.0,
    ) -> None:
        self.units = units
        self.k = k
        self.limit = limit
        self.overhead = overhead
        self.eps = 1e-12 * (1.0 + sum(u.size for u in units))
        self.members: list[list[int]] = []
        self.where = [0] * len(units)
        self.stats: list[_Stats] = []
        self.anchors: list[int] = []
        self._reset(_canonical(blocks))

    def _reset(self, blocks: Iterable[Iterable[int]]) -> None:
        self.members = [sorted(b) for b in blocks]
        self.stats, self.anchors = [], []
        for b, members in enumerate(self.members):
            for i in members:
                self.where[i] = b
            self._refresh(b)

    def _refresh(self, b: int) -> None:
        members = self.members[b]
        stats = _stats(self.units, members)
        anchors = sum(1 for i in members if self.units[i].anchored)
        if b == len(self.stats):
            self.stats.append(stats)
            self.anchors.append(anchors)
        else:
            self.stats[b], self.anchors[b] = stats, anchors

    def _fits(self, size: int, anchors: int) -> bool:
        return _fits(size, anchors, self.limit)

    def _without(self, b: int, i: int) -> _Stats:
        # Recomputed rather than subtracted: an infinite hazard (rate 1) does not subtract.
        return _stats(self.units, self.members[b], skip=i)

    def _block_cost(self, b: int) -> float:
        return _cost(self.stats[b], self.overhead)

    def _cost(self, stats: _Stats) -> float:
        return _cost(stats, self.overhead)

    def _move(self, i: int, b: int) -> None:
        a = self.where[i]
        self.members[a].remove(i)
        if b == len(self.members):
            self.members.append([])
        self.members[b].append(i)
        self.members[b].sort()
        self.where[i] = b
        self._refresh(a)
        self._refresh(b)

    def _compact(self) -> None:
        if not all(self.members):
            self._reset(_canonical(self.members))

    def blocks(self) -> tuple[tuple[int, ...], ...]:
        return _canonical(self.members)

    def improve(self, passes: int = 200) -> None:
        """Apply each unit's best move or swap until none helps, then try merge-and-split."""
        for _ in range(passes):
            improved = False
            for i in range(len(self.units)):
                best = self._best_step(i)
                if best is None:
                    continue
                kind, target = best
                a = self.where[i]
                if kind == "move":
                    self._move(i, target)
                else:
                    self._move(i, self.where[target])
                    self._move(target, a)
                self._compact()
                improved = True
            if not improved and not self._merge() and not self._merge_and_split():
                return

    def _best_step(self, i: int) -> tuple[str, int] | None:
        """The best improving step for unit `i`: ("move", block) or ("swap", unit)."""
        a = self.where[i]
        rest_a = self._without(a, i)
        base_a = self._block_cost(a)
        move = self._best_move(i, rest_a, base_a)
        swap = self._best_swap(i, rest_a, base_a)
        best_delta, best = -self.eps, None
        for delta, step in (move, swap):
            if step is not None and delta < best_delta:
                best_delta, best = delta, step
        return best

    def _best_move(
        self, i: int, rest_a: _Stats, base_a: float
    ) -> tuple[float, tuple[str, int] | None]:
        """Move `i` to another block, or to a new one while slots remain."""
        a, ui = self.where[i], self.units[i]
        targets = [b for b in range(len(self.members)) if b != a and self.members[b]]
        nonempty = sum(1 for m in self.members if m)
        if nonempty < self.k and len(self.members[a]) > 1:
            targets.append(len(self.members))
        best_delta, best = -self.eps, None
        for b in targets:
            new = b == len(self.members)
            stats_b = _EMPTY if new else self.stats[b]
            if not self._fits(stats_b[0] + ui.size, (0 if new else self.anchors[b]) + ui.anchored):
                continue
            before_b = 0.0 if new else self._block_cost(b)
            delta = self._cost(rest_a) + self._cost(_plus(stats_b, ui)) - base_a - before_b
            if delta < best_delta:
                best_delta, best = delta, ("move", b)
        return best_delta, best

    def _best_swap(
        self, i: int, rest_a: _Stats, base_a: float
    ) -> tuple[float, tuple[str, int] | None]:
        """Swap `i` with a unit `j` of another block."""
        a, ui = self.where[i], self.units[i]
        best_delta, best = -self.eps, None
        for j, uj in enumerate(self.units):
            b = self.where[j]
            if b == a:
                continue
            if not self._fits(
                rest_a[0] + uj.size, self.anchors[a] - ui.anchored + uj.anchored
            ) or not self._fits(
                self.stats[b][0] - uj.size + ui.size, self.anchors[b] - uj.anchored + ui.anchored
            ):
                continue
            rest_b = self._without(b, j)
            delta = (
                self._cost(_plus(rest_a, uj))
                + self._cost(_plus(rest_b, ui))
                - base_a
                - self._block_cost(b)
            )
            if delta < best_delta:
                best_delta, best = delta, ("swap", j)
        return best_delta, best

    def _merges(self) -> Iterator[tuple[int, int, _Stats, float]]:
        """Every pair of blocks that may merge: (a, b, their union, the cost change)."""
        blocks = [b for b in range(len(self.members)) if self.members[b]]
        for x, a in enumerate(blocks):
            for b in blocks[x + 1 :]:
                together = _merged(self.stats[a], self.stats[b])
                if self._fits(together[0], self.anchors[a] + self.anchors[b]):
                    delta = self._cost(together) - self._block_cost(a) - self._block_cost(b)
                    yield a, b, together, delta

    def _join(self, a: int, b: int) -> None:
        for j in list(self.members[b]):
            self._move(j, a)

    def _merge(self) -> bool:
        """Merge the two blocks whose union saves the most (with a per-layer overhead, fewer
        layers can be cheaper); True if a merge improved the solution."""
        best_delta, best = -self.eps, None
        for a, b, _, delta in self._merges():
            if delta < best_delta:
                best_delta, best = delta, (a, b)
        if best is None:
            return False
        self._join(*best)
        self._compact()
        return True

    def _merge_and_split(self) -> bool:
        """Compound move for when every slot is used: merge two blocks and spend the freed slot
        on one unit split off into a block of its own. Applies the best; True if one improves."""
        if sum(1 for m in self.members if m) < max(self.k, 2):
            return False
        best_delta, best = -self.eps, None
        for a, b, together, merge in self._merges():
            for i, split in self._splits(a, b, together):
                if merge + split < best_delta:
                    best_delta, best = merge + split, (a, b, i)
        if best is None:
            return False
        a, b, i = best
        self._join(a, b)
        self._move(i, len(self.members))
        self._compact()
        return True

    def _splits(self, a: int, b: int, together: _Stats) -> Iterable[tuple[int, float]]:
        """(unit, cost change) of splitting each unit off into a block of its own, with blocks
        `a` and `b` merged into `together`."""
        units = self.units
        for i, u in enumerate(units):
            c = self.where[i]
            if c in (a, b):
                rest = _stats(units, self.members[a] + self.members[b], skip=i)
                before = self._cost(together)
            elif len(self.members[c]) > 1:
                rest = self._without(c, i)
                before = self._block_cost(c)
            else:
                continue
            yield i, self._cost(rest) + self._cost(_plus(_EMPTY, u)) - before


# --------------------------------------------------------------------------- starting points


def _greedy_insert(
    units: Sequence[Unit],
    k: int,
    limit: int | None,
    blocks: Sequence[Sequence[int]],
    rest: Sequence[int],
    *,
    overhead: float = 0.0,
) -> list[list[int]] | None:
    """Insert `rest` (in the given order) where each adds least cost; None when one cannot fit."""
    current = [list(b) for b in blocks]
    stats = [_stats(units, b) for b in current]
    anchors = [sum(1 for i in b if units[i].anchored) for b in current]
    for i in rest:
        u = units[i]
        best: tuple[float, int] | None = None
        for b in range(len(current) + (1 if len(current) < k else 0)):
            new = b == len(current)
            before = _EMPTY if new else stats[b]
            if not _fits(before[0] + u.size, u.anchored + (0 if new else anchors[b]), limit):
                continue
            delta = _cost(_plus(before, u), overhead) - _cost(before, overhead)
            if best is None or delta < best[0]:
                best = (delta, b)
        if best is None:
            return None
        b = best[1]
        if b == len(current):
            current.append([])
            stats.append(_EMPTY)
            anchors.append(0)
        current[b].append(i)
        stats[b] = _plus(stats[b], u)
        anchors[b] += u.anchored
    return current


def _contiguous(
    units: Sequence[Unit], k: int, limit: int | None, overhead: float = 0.0
) -> list[list[int]] | None:
    """Best split into intervals of the change-probability order (optimal among those)."""
    alone = [-math.expm1(-u.hazard) for u in units]
    order = sorted(range(len(units)), key=lambda i: (-alone[i], units[i].key))
    n = len(order)
    inf = math.inf
    # best[j][m]: cheapest split of the first m units into j intervals; cut[j][m]: last start
    best = [[inf] * (n + 1) for _ in range(k + 1)]
    cut = [[0] * (n + 1) for _ in range(k + 1)]
    best[0][0] = 0.0
    for m in range(1, n + 1):
        for start in range(m - 1, -1, -1):
            seg = order[start:m]
            if not _feasible_block(units, seg, limit):
                if limit is not None and sum(units[i].size for i in seg) > limit:
                    break  # longer intervals only grow
                continue
            c = _cost_of(units, [seg], overhead)
            for j in range(1, k + 1):
                if best[j - 1][start] + c < best[j][m]:
                    best[j][m] = best[j - 1][start] + c
                    cut[j][m] = start
    j = min(range(1, k + 1), key=lambda x: (best[x][n], x)) if n else 0
    if n and math.isinf(best[j][n]):
        return None
    blocks: list[list[int]] = []
    m = n
    while m > 0:
        start = cut[j][m]
        blocks.append(order[start:m])
        m, j = start, j - 1
    return blocks


# --------------------------------------------------------------------------- heuristic


def _core(units: Sequence[Unit], by_size: Sequence[int]) -> list[int]:
    """The anchored units and the largest others, `EXACT_UNITS` in all (index order)."""
    core = [i for i in by_size if units[i].anchored]
    core += [i for i in by_size if not units[i].anchored][: max(0, EXACT_UNITS - len(core))]
    return sorted(core)


def _lower_bound(
    units: Sequence[Unit], k: int, limit: int | None, core_cost: float, others: Sequence[int]
) -> float:
    """A bound on the optimum without the per-layer overhead: the cost is superadditive over
    any grouping of the units (a layer's change probability is at least that of its part in
    each group) and restricting a feasible solution to a group is feasible for it, so the
    optimum is at least the sum of the groups' optima (`core_cost`: the core's). Every
    solution has a layer, so the caller adds the overhead once. Groups: the core, then the
    others in size order, `BOUND_GROUP` at a time."""
    lower = core_cost
    for first in range(0, len(others), BOUND_GROUP):
        group = sorted(others[first : first + BOUND_GROUP])
        lower += exact([units[i] for i in group], k, limit).cost
    return lower


def _starts(
    units: Sequence[Unit],
    k: int,
    limit: int | None,
    core: Sequence[int],
    core_solution: Solution,
    *,
    overhead: float = 0.0,
) -> list[list[list[int]]]:
    """Starting solutions: the core's optimum with the others inserted largest first; the best
    contiguous split by change probability; one block; the k - 1 largest alone."""
    n = len(units)
    by_size = sorted(range(n), key=lambda i: (-units[i].size, units[i].key))
    in_core = set(core)
    starts: list[list[list[int]]] = []
    core_blocks = [[core[j] for j in block] for block in core_solution.blocks]
    rest = [i for i in by_size if i not in in_core]
    candidates = (
        _greedy_insert(units, k, limit, core_blocks, rest, overhead=overhead),
        _contiguous(units, k, limit, overhead),
    )
    starts += [start for start in candidates if start is not None]
    if _feasible_block(units, range(n), limit):
        starts.append([list(range(n))])
    largest = by_size[: k - 1]
    split = [[i] for i in largest] + [[i for i in range(n) if i not in set(largest)]]
    if all(_feasible_block(units, b, limit) for b in split if b):
        starts.append([b for b in split if b])
    return starts


def _heuristic(units: Sequence[Unit], k: int, limit: int | None, overhead: float) -> Solution:
    by_size = sorted(range(len(units)), key=lambda i: (-units[i].size, units[i].key))
    core = _core(units, by_size)
    # infeasible here => everywhere
    core_solution = exact([units[i] for i in core], k, limit, overhead=overhead)
    others = [i for i in by_size if i not in set(core)]
    core_cost = (
        core_solution.cost if not overhead else exact([units[i] for i in core], k, limit).cost
    )
    lower = _lower_bound(units, k, limit, core_cost, others) + overhead
    starts = _starts(units, k, limit, core, core_solution, overhead=overhead)
    if not starts:
        packed, proven = _pack(units, k, limit)
        if packed is None:
            raise Infeasible(proven)
        starts.append(packed)
    best: tuple[float, tuple[tuple[int, ...], ...]] | None = None
    for start in starts:
        search = _Search(units, k, limit, start, overhead)
        search.improve()
        blocks = search.blocks()
        candidate = (_cost_of(units, blocks, overhead), blocks)
        if best is None or candidate < best:
            best = candidate
    assert best is not None
    cost, blocks = best
    return Solution(blocks, cost, False, min(lower, cost))
