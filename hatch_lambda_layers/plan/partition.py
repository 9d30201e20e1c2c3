"""Which packages share a layer: the partitioner. Pure, deterministic, independent of input order.

Objective
---------
A layer is republished whenever any package in it changes version. With `r_i` the estimated
probability that package `i` changes in a given build, a layer `L` costs, in expected zipped
bytes republished per build::

    cost(L) = zipped_size(L) * (1 - prod_{i in L} (1 - r_i))

and a plan costs the sum over its layers (the *independent model*: packages change
independently).

Joint model
-----------
With a change history (`history.ChangeHistory`: N observed build intervals, each the set of
packages that changed in it; `partition(..., history=)`) the probability is learnt jointly::

    P(L) = (N * f(L) + w * p_ind(L)) / (N + w)        p_ind(L) = 1 - prod_{i in L} (1 - r_i)

the posterior mean under a Beta prior with mean `p_ind(L)` and `w` pseudo-observations
(`pseudo_count`, default `JOINT_PSEUDO_COUNT` = 64), updated by the history's frequency `f(L)`
of intervals in which any member changed. Packages that change together (pydantic with
pydantic-core) then cost little more together than apart. `f` is the empirical frequency
smoothed so that each package's own probability is its rate estimate: with `u_L` the intervals
in which a member changed and `c_i` those in which `i` did,
``f(L) = 1 - (1 - u_L / N) * prod_{i in L} (1 - e_i)`` where the residual
``e_i = max(0, 1 - (1 - r_i) / (1 - c_i / N))`` makes ``f({i}) = r_i`` (when ``c_i / N <=
r_i``). The raw frequency ``u_L / N`` overfits: a group whose members happened not to change in
the history looks free, whatever their rates say (in the replay benchmark's cross-validation
it was worse than the independent model at every pseudo-count: mean 1.049-1.221 x hindsight
against 1.047); the smoothed one departs from the rates only where members changed *together*.

Members the history does not cover (not observed in every interval, or overridden) stay
independent: ``P(L) = 1 - (1 - P(L_covered)) * prod_{i uncovered} (1 - r_i)``. Without a
history, or with one covering none of the packages, this is the independent model exactly (the
same arithmetic). `P` is a mixture of two proper joint distributions (the smoothed empirical
one and the independent one), so it only grows when a member joins: a layer's cost is monotone
in its membership and superadditive (``cost(A | B) >= cost(A) + cost(B)`` for disjoint A, B),
which the heuristic's lower bound relies on.

The pseudo-count was chosen by two-fold cross-validation inside the *training* year of the
replay benchmark (`benchmarks/README.md`): plan from one half-year's rates and weekly history,
replay the other half against its hindsight optimum, for w in {0, 1, 2, 4, 8, 16, 32, 64}. No
pseudo-count beat the independent model by more than noise; 0-16 lost 0.1-0.5 % (a half-year's
co-changes are partly coincidences), 32 and 64 tied at its level, and ties go to the larger (closer
to the independent model). With 52 weekly intervals of release cadence the history then
weighs 45 %, enough to group packages that change together most of the time.

Constraints
-----------
We minimise the plan's cost subject to: at most `max_layers` layers; each layer's zipped size
at most `max_zipped_per_layer` (when set, i.e. direct upload); every pinned group together in
its named layer (other packages may join that layer, but two pinned groups never share one); a
package is never split.

Method
------
Packages are first turned into *units*: a pinned group (or, when honouring a previous plan, a
kept layer) is one *anchored* unit that carries its layer name; every other package is a unit of
its own. Then:

* up to `EXACT_UNITS` (12) units: exact dynamic programming over subsets. `best_k(S)`, the
  cheapest partition of the unit set `S` into at most `k` feasible blocks, is the minimum over the
  block `T` holding the lowest unit of `S` of `cost(T) + best_{k-1}(S - T)`; about
  `(k - 2) * 3**n / 2` steps (under a second for 12 units in CPython). The plan is optimal.
* beyond that, a heuristic with a reported lower bound. Starting points: (a) the exact optimum
  of the 12 largest units (anchored ones always included), the others inserted largest first
  where they add the least cost; (b) the best *contiguous* segmentation of the units sorted by
  change probability (a dynamic program, optimal among partitions whose layers are intervals
  of that order: like with like); (c) one combined layer; (d) the `k - 1` largest units alone
  and the rest together. Each is improved by local search (move one unit to another or a new layer,
  swap two units between layers, and with every slot used merge two layers while one unit
  leaves for a layer of its own) until no move helps; the cheapest wins. On 149 random
  instances of 8-11 units with the exact threshold lowered to 6 for comparison, it matched the
  optimum 147 times (worst gap 0.6 %); on the reference workloads (15 and 16 packages) it
  finds the optimum. Both solvers take any block cost, so they serve both models; under the
  joint model (100 random instances of 8-11 units, three families of packages changing
  together over 40 intervals, threshold lowered to 6) the heuristic matched the optimum 99
  times (worst gap 0.6 %). The lower
  bound is the sum of the exact optima of disjoint groups of units (the 12 largest, then groups
  of `BOUND_GROUP` in size order): restricting a feasible plan to a group is feasible for it,
  and a layer's cost is at least the sum of its parts' costs, so the optimum is at least that
  sum.

Stickiness
----------
`partition(items, constraints, previous)` *honours* a previous assignment (package -> layer name,
from `lambda-layers.lock`): packages it names stay in their layers, packages it does not name are
placed by the partitioner (joining a kept layer or forming a new one) without moving the others,
and names that are gone are dropped. Only limits override it: a kept layer over the per-layer
limit sheds its largest non-pinned packages until it fits, and when more layers are kept than
allowed the smallest non-pinned ones are dissolved; the shed packages are then placed like new
ones. `replan` computes the fresh optimum and takes it only when it saves more than `margin`
(relative) against the honoured plan, so a version bump never reshuffles stable layers.

Layer names: a pinned group's layer keeps the group's name; another layer keeps the name of the
previous layer it overlaps most (in bytes), else is named after its largest package, lowercased
to ``[a-z0-9-]`` and suffixed ``-2``, ``-3``... when taken.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from packaging.utils import canonicalize_name

from ..errors import ConfigError, LimitError
from .rates import ChangeHistory

DIRECT_UPLOAD_LIMIT = 52_428_800
# Largest instance solved exactly (units after merging pinned groups / kept layers).
EXACT_UNITS = 12
# Size of the unit groups whose exact optima add up to the heuristic's lower bound.
BOUND_GROUP = 8
# Node budget of the bin-packing search that proves a plan exists when the heuristics find none.
PACKING_NODES = 200_000
# Pseudo-count w of the joint model's shrinkage toward the independent model (module docstring).
JOINT_PSEUDO_COUNT = 64.0
_MIB = 1024 * 1024


@dataclass(frozen=True)
class Item:
    """A package to place: zipped and unzipped size and P(its version changes in a build)."""

    name: str
    size_zipped: int
    size_unzipped: int
    change_rate: float


@dataclass(frozen=True)
class Constraints:
    max_layers: int
    max_zipped_per_layer: int | None  # DIRECT_UPLOAD_LIMIT for upload = "direct", None for "s3"
    # layer name -> packages kept together in that named layer
    pinned_groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Layer:
    name: str
    packages: tuple[str, ...]  # sorted
    # Expected zipped bytes this layer republishes per build (set by the partitioner).
    expected_bytes: float = field(default=0.0, compare=False)


@dataclass(frozen=True)
class Plan:
    """Layers sorted by name. `expected_bytes`: expected zipped bytes republished per build;
    `single_layer_bytes`: the same for one combined layer (whether or not it fits the limits).
    `exact`: the plan is proven optimal for the problem solved (with `previous`, that is placing
    the packages the previous plan does not fix); `lower_bound`: a bound on that optimum."""

    layers: tuple[Layer, ...]
    expected_bytes: float
    single_layer_bytes: float
    exact: bool
    lower_bound: float | None
    # The change history the joint model used (None and 0: the independent model).
    history_source: str | None = None
    history_intervals: int = 0

    def assignment(self) -> dict[str, str]:
        """package -> layer name."""
        return {p: layer.name for layer in self.layers for p in layer.packages}


# --------------------------------------------------------------------------- costs


@dataclass(frozen=True)
class _Model:
    """How a layer is costed. `intervals` = N, the intervals of the change history (0: none, the
    independent model); `weight` = w, the pseudo-count of the shrinkage (module docstring).

    A block is summarised by (size, hazard of its members the history does not cover, hazard of
    those it covers, their residual hazard, bitmask of the intervals in which one changed)."""

    intervals: int = 0
    weight: float = JOINT_PSEUDO_COUNT

    def probability(self, hazard: float, chazard: float, ehazard: float, bits: int) -> float:
        free = -math.expm1(-hazard)
        if not bits and chazard == 0.0 and ehazard == 0.0:
            return free  # nothing covered, or covered members that never change: independent
        seen = bits.bit_count() / self.intervals
        empirical = seen + (1.0 - seen) * -math.expm1(-ehazard)
        independent = -math.expm1(-chazard)
        joint = (self.intervals * empirical + self.weight * independent) / (
            self.intervals + self.weight
        )
        return free + joint * math.exp(-hazard)  # 1 - (1 - free) * (1 - joint)

    def cost(self, size: int, hazard: float, chazard: float, ehazard: float, bits: int) -> float:
        return size * self.probability(hazard, chazard, ehazard, bits)


_INDEPENDENT = _Model()


def _check_weight(pseudo_count: float) -> float:
    if not (math.isfinite(pseudo_count) and pseudo_count >= 0.0):
        raise ValueError(f"pseudo_count must be a finite number >= 0, got {pseudo_count!r}")
    return float(pseudo_count)


def _history_bits(history: ChangeHistory | None) -> dict[str, int]:
    """Canonical name -> bitmask of the intervals in which it changed, for covered packages."""
    if history is None or history.count == 0:
        return {}
    bits = dict.fromkeys(history.packages, 0)
    for index, changed in enumerate(history.intervals):
        for name in changed:
            bits[name] |= 1 << index
    return bits


def _hazard(rate: float) -> float:
    """-log(1 - rate): hazards add up where survival probabilities multiply."""
    return math.inf if rate >= 1.0 else -math.log1p(-rate)


def layer_cost(
    items_in_layer: Iterable[Item],
    *,
    history: ChangeHistory | None = None,
    pseudo_count: float = JOINT_PSEUDO_COUNT,
) -> float:
    """Expected zipped bytes republished per build: size * P(any member changes).

    Without `history` (or with one covering none of the items): size * (1 - prod(1 - rate)).
    With it, P is the joint estimate of the module docstring."""
    ordered = sorted(items_in_layer, key=lambda i: i.name)
    weight = _check_weight(pseudo_count)
    bits_of = _history_bits(history)
    if history is None or not any(canonicalize_name(i.name) in bits_of for i in ordered):
        survive = 1.0
        for item in ordered:
            survive *= 1.0 - item.change_rate
        return sum(i.size_zipped for i in ordered) * (1.0 - survive)
    unit = _unit(ordered, None, bits_of, history.count)
    return _Model(history.count, weight).cost(*unit.stats)


def expected_bytes(
    layers: Iterable[Layer],
    items: Iterable[Item],
    *,
    history: ChangeHistory | None = None,
    pseudo_count: float = JOINT_PSEUDO_COUNT,
) -> float:
    """Expected zipped bytes republished per build by a set of layers over `items`."""
    by_name = {i.name: i for i in items}
    total = 0.0
    for layer in sorted(layers, key=lambda x: x.name):
        missing = [p for p in layer.packages if p not in by_name]
        if missing:
            raise ValueError(f"layer {layer.name!r} names unknown packages: {', '.join(missing)}")
        total += layer_cost(
            (by_name[p] for p in layer.packages), history=history, pseudo_count=pseudo_count
        )
    return total


def _mb(size: float) -> str:
    return f"{size:,.0f} bytes ({size / _MIB:.1f} MiB)"


# --------------------------------------------------------------------------- units and solver


@dataclass(frozen=True)
class _Unit:
    items: tuple[Item, ...]  # sorted by name
    anchor: str | None  # layer name this unit must keep (pinned group, kept layer)
    size: int
    hazard: float  # members the change history does not cover
    chazard: float  # members it covers
    ehazard: float  # their residual hazard (module docstring)
    bits: int  # intervals in which a covered member changed

    @property
    def stats(self) -> _Stats:
        return self.size, self.hazard, self.chazard, self.ehazard, self.bits

    @property
    def key(self) -> str:
        return self.items[0].name if self.items else ""


def _unit(
    items: Iterable[Item], anchor: str | None, bits_of: Mapping[str, int], intervals: int = 0
) -> _Unit:
    ordered = tuple(sorted(items, key=lambda i: i.name))
    hazard = chazard = ehazard = 0.0
    bits = 0
    for item in ordered:
        covered = bits_of.get(canonicalize_name(item.name))
        if covered is None:
            hazard += _hazard(item.change_rate)
        else:
            own = _hazard(item.change_rate)
            chazard += own
            seen = covered.bit_count()
            if seen < intervals:
                # residual: what the history's frequency leaves of the rate estimate
                ehazard += max(0.0, own + math.log1p(-seen / intervals))
            bits |= covered
    size = sum(i.size_zipped for i in ordered)
    return _Unit(ordered, anchor, size, hazard, chazard, ehazard, bits)


# (size, hazard, chazard, ehazard, bits) of a block
_Stats = tuple[int, float, float, float, int]
_EMPTY: _Stats = (0, 0.0, 0.0, 0.0, 0)


def _stats(units: Sequence[_Unit], members: Iterable[int], skip: int = -1) -> _Stats:
    """Summary of the block `members` (without `skip`), summed in index order."""
    size, hazard, chazard, ehazard, bits = 0, 0.0, 0.0, 0.0, 0
    for i in sorted(members):
        if i == skip:
            continue
        u = units[i]
        size += u.size
        hazard += u.hazard
        chazard += u.chazard
        ehazard += u.ehazard
        bits |= u.bits
    return size, hazard, chazard, ehazard, bits


def _plus(stats: _Stats, u: _Unit) -> _Stats:
    return (
        stats[0] + u.size,
        stats[1] + u.hazard,
        stats[2] + u.chazard,
        stats[3] + u.ehazard,
        stats[4] | u.bits,
    )


def _merged(a: _Stats, b: _Stats) -> _Stats:
    return a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3], a[4] | b[4]


@dataclass(frozen=True)
class _Solution:
    blocks: tuple[tuple[int, ...], ...]  # unit indexes, canonical order
    cost: float
    exact: bool
    lower_bound: float


class _Infeasible(Exception):
    def __init__(self, proven: bool) -> None:
        super().__init__("infeasible")
        self.proven = proven


def _canonical(blocks: Iterable[Iterable[int]]) -> tuple[tuple[int, ...], ...]:
    return tuple(sorted(tuple(sorted(b)) for b in blocks if b))


def _cost_of(model: _Model, units: Sequence[_Unit], blocks: Iterable[Iterable[int]]) -> float:
    return sum(model.cost(*_stats(units, block)) for block in blocks)


def _feasible_block(units: Sequence[_Unit], block: Iterable[int], limit: int | None) -> bool:
    members = list(block)
    anchors = sum(1 for i in members if units[i].anchor is not None)
    return anchors <= 1 and (limit is None or sum(units[i].size for i in members) <= limit)


def _exact(model: _Model, units: Sequence[_Unit], k: int, limit: int | None) -> _Solution:
    """Optimal partition of `units` into at most `k` feasible blocks (DP over subsets). Works
    for any cost of a block; here `model.cost` of its summary."""
    n = len(units)
    if n == 0:
        return _Solution((), 0.0, True, 0.0)
    full = (1 << n) - 1
    size = [0] * (full + 1)
    hazard = [0.0] * (full + 1)
    chazard = [0.0] * (full + 1)
    ehazard = [0.0] * (full + 1)
    bits = [0] * (full + 1)
    anchors = [0] * (full + 1)
    cost = [math.inf] * (full + 1)
    cost[0] = 0.0
    for mask in range(1, full + 1):
        low = mask & -mask
        i = low.bit_length() - 1
        rest = mask ^ low
        u = units[i]
        size[mask] = size[rest] + u.size
        hazard[mask] = hazard[rest] + u.hazard
        chazard[mask] = chazard[rest] + u.chazard
        ehazard[mask] = ehazard[rest] + u.ehazard
        bits[mask] = bits[rest] | u.bits
        anchors[mask] = anchors[rest] + (u.anchor is not None)
        if anchors[mask] <= 1 and (limit is None or size[mask] <= limit):
            cost[mask] = model.cost(
                size[mask], hazard[mask], chazard[mask], ehazard[mask], bits[mask]
            )
    best = cost  # best partitions into at most one block
    choices: list[list[int]] = []  # per level: the block holding the lowest unit, 0 = fewer
    top = min(k, n)
    for level in range(2, top + 1):
        targets: Iterable[int] = (full,) if level == top else range(1, full + 1)
        nxt = best[:]
        choice = [0] * (full + 1)
        for s in targets:
            low = s & -s
            rest = s ^ low
            value = best[s]
            chosen = 0
            sub = rest
            while True:
                t = sub | low
                c = cost[t]
                if c < value:
                    v = c + best[s ^ t]
                    if v < value:
                        value = v
                        chosen = t
                if sub == 0:
                    break
                sub = (sub - 1) & rest
            nxt[s] = value
            choice[s] = chosen
        choices.append(choice)
        best = nxt
    if math.isinf(best[full]):
        raise _Infeasible(proven=True)
    # Walk the choices back from the top level.
    blocks: list[int] = []
    s = full
    for choice in reversed(choices):
        t = choice[s]
        if t:
            blocks.append(t)
            s ^= t
    if s:
        blocks.append(s)
    result = _canonical([i for i in range(n) if b >> i & 1] for b in blocks)
    total = _cost_of(model, units, result)
    return _Solution(result, total, True, total)


class _State:
    """Blocks under local search, with their summaries and anchor counts kept up to date."""

    def __init__(
        self,
        model: _Model,
        units: Sequence[_Unit],
        k: int,
        limit: int | None,
        blocks: Iterable[Iterable[int]],
    ) -> None:
        self.model = model
        self.units = units
        self.k = k
        self.limit = limit
        self.members: list[list[int]] = [sorted(b) for b in _canonical(blocks)]
        self.where = [0] * len(units)
        self.stats: list[_Stats] = []
        self.anchors: list[int] = []
        for b, members in enumerate(self.members):
            for i in members:
                self.where[i] = b
        for b in range(len(self.members)):
            self._refresh(b)

    def _refresh(self, b: int) -> None:
        members = self.members[b]
        stats = _stats(self.units, members)
        anchors = sum(1 for i in members if self.units[i].anchor is not None)
        if b == len(self.stats):
            self.stats.append(stats)
            self.anchors.append(anchors)
        else:
            self.stats[b], self.anchors[b] = stats, anchors

    def _fits(self, size: int, anchors: int) -> bool:
        return anchors <= 1 and (self.limit is None or size <= self.limit)

    def _without(self, b: int, i: int) -> _Stats:
        # Recomputed rather than subtracted: the interval bitmask does not subtract, and an
        # infinite hazard (rate 1) would not either.
        return _stats(self.units, self.members[b], skip=i)

    def _cost(self, b: int) -> float:
        return self.model.cost(*self.stats[b])

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

    def improve(self, passes: int = 200) -> None:
        units = self.units
        cost = self.model.cost
        n = len(units)
        eps = 1e-12 * (1.0 + sum(u.size for u in units))
        for _ in range(passes):
            improved = False
            for i in range(n):
                a = self.where[i]
                ui = units[i]
                anchored_i = ui.anchor is not None
                rest_a = self._without(a, i)
                base_a = self._cost(a)
                best_delta = -eps
                best: tuple[str, int] | None = None
                # Move i to another block, or to a new one while slots remain.
                nonempty = sum(1 for m in self.members if m)
                targets = [b for b in range(len(self.members)) if b != a and self.members[b]]
                if nonempty < self.k and len(self.members[a]) > 1:
                    targets.append(len(self.members))
                for b in targets:
                    new = b == len(self.members)
                    stats_b = _EMPTY if new else self.stats[b]
                    if not self._fits(
                        stats_b[0] + ui.size, (0 if new else self.anchors[b]) + anchored_i
                    ):
                        continue
                    delta = (
                        cost(*rest_a)
                        + cost(*_plus(stats_b, ui))
                        - base_a
                        - (0.0 if new else self._cost(b))
                    )
                    if delta < best_delta:
                        best_delta, best = delta, ("move", b)
                # Swap i with a unit j of another block.
                for j in range(n):
                    b = self.where[j]
                    if b == a:
                        continue
                    uj = units[j]
                    anchored_j = uj.anchor is not None
                    if not self._fits(
                        rest_a[0] + uj.size, self.anchors[a] - anchored_i + anchored_j
                    ) or not self._fits(
                        self.stats[b][0] - uj.size + ui.size,
                        self.anchors[b] - anchored_j + anchored_i,
                    ):
                        continue
                    rest_b = self._without(b, j)
                    delta = (
                        cost(*_plus(rest_a, uj)) + cost(*_plus(rest_b, ui)) - base_a - self._cost(b)
                    )
                    if delta < best_delta:
                        best_delta, best = delta, ("swap", j)
                if best is None:
                    continue
                kind, target = best
                if kind == "move":
                    self._move(i, target)
                else:
                    b = self.where[target]
                    self._move(i, b)
                    self._move(target, a)
                self._compact()
                improved = True
            if not improved and not self._merge_and_split(eps):
                return

    def _merge_and_split(self, eps: float) -> bool:
        """Compound move for when every layer slot is used: merge two layers, and spend the
        freed slot on one unit split off into a layer of its own. Applies the best; True if any
        improves."""
        blocks = [b for b in range(len(self.members)) if self.members[b]]
        if len(blocks) < self.k or len(blocks) < 2:
            return False
        units = self.units
        cost = self.model.cost
        best_delta = -eps
        best: tuple[int, int, int] | None = None
        for x, a in enumerate(blocks):
            for b in blocks[x + 1 :]:
                together = _merged(self.stats[a], self.stats[b])
                if not self._fits(together[0], self.anchors[a] + self.anchors[b]):
                    continue
                merge = cost(*together) - self._cost(a) - self._cost(b)
                for i, u in enumerate(units):
                    c = self.where[i]
                    if c in (a, b):
                        rest = _stats(units, self.members[a] + self.members[b], skip=i)
                        before = cost(*together)
                    elif len(self.members[c]) > 1:
                        rest = self._without(c, i)
                        before = self._cost(c)
                    else:
                        continue
                    split = cost(*rest) + cost(*_plus(_EMPTY, u)) - before
                    if merge + split < best_delta:
                        best_delta, best = merge + split, (a, b, i)
        if best is None:
            return False
        a, b, i = best
        for j in list(self.members[b]):
            self._move(j, a)
        self._move(i, len(self.members))
        self._compact()
        return True

    def _compact(self) -> None:
        if all(self.members):
            return
        kept = _canonical(self.members)
        self.members = [list(b) for b in kept]
        self.stats, self.anchors = [], []
        for b, members in enumerate(self.members):
            for i in members:
                self.where[i] = b
            self._refresh(b)

    def blocks(self) -> tuple[tuple[int, ...], ...]:
        return _canonical(self.members)


def _greedy_insert(
    model: _Model,
    units: Sequence[_Unit],
    k: int,
    limit: int | None,
    blocks: Sequence[Sequence[int]],
    rest: Sequence[int],
) -> list[list[int]] | None:
    """Insert `rest` (in the given order) where each adds least cost; None when one cannot fit."""
    current = [list(b) for b in blocks]
    stats = [_stats(units, b) for b in current]
    anchors = [sum(1 for i in b if units[i].anchor is not None) for b in current]
    for i in rest:
        u = units[i]
        best: tuple[float, int] | None = None
        for b in range(len(current) + (1 if len(current) < k else 0)):
            new = b == len(current)
            before = _EMPTY if new else stats[b]
            anchor = (u.anchor is not None) + (0 if new else anchors[b])
            if anchor > 1 or (limit is not None and before[0] + u.size > limit):
                continue
            delta = model.cost(*_plus(before, u)) - (0.0 if new else model.cost(*before))
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
        anchors[b] += u.anchor is not None
    return current


def _contiguous(
    model: _Model, units: Sequence[_Unit], k: int, limit: int | None
) -> list[list[int]] | None:
    """Best partition into intervals of the change-probability order (optimal among those)."""
    alone = [model.probability(*u.stats[1:]) for u in units]
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
            c = _cost_of(model, units, [seg])
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


def _pack(units: Sequence[_Unit], k: int, limit: int | None) -> tuple[list[list[int]] | None, bool]:
    """Any feasible partition (depth-first bin packing, largest first); (None, proven) if none."""
    order = sorted(range(len(units)), key=lambda i: (-units[i].size, units[i].key))
    bins: list[list[int]] = []
    sizes: list[int] = []
    anchors: list[int] = []
    budget = [PACKING_NODES]

    def place(pos: int) -> bool:
        if pos == len(order):
            return True
        budget[0] -= 1
        if budget[0] < 0:
            return False
        u = units[order[pos]]
        tried: set[tuple[int, int]] = set()
        for b in range(len(bins) + (1 if len(bins) < k else 0)):
            new = b == len(bins)
            key = (0, 0) if new else (sizes[b], anchors[b])
            if key in tried:
                continue  # an equivalent bin was already tried
            tried.add(key)
            size = u.size + (0 if new else sizes[b])
            anchor = (u.anchor is not None) + (0 if new else anchors[b])
            if anchor > 1 or (limit is not None and size > limit):
                continue
            if new:
                bins.append([])
                sizes.append(0)
                anchors.append(0)
            bins[b].append(order[pos])
            sizes[b] = size
            anchors[b] = anchor
            if place(pos + 1):
                return True
            bins[b].pop()
            sizes[b] -= u.size
            anchors[b] -= u.anchor is not None
            if new:
                bins.pop()
                sizes.pop()
                anchors.pop()
        return False

    found = place(0)
    if found:
        return [list(b) for b in bins], True
    return None, budget[0] >= 0


def _heuristic(model: _Model, units: Sequence[_Unit], k: int, limit: int | None) -> _Solution:
    n = len(units)
    by_size = sorted(range(n), key=lambda i: (-units[i].size, units[i].key))
    core = [i for i in by_size if units[i].anchor is not None]
    core += [i for i in by_size if units[i].anchor is None][: max(0, EXACT_UNITS - len(core))]
    core.sort()
    core_solution = _exact(
        model, [units[i] for i in core], k, limit
    )  # infeasible here => everywhere
    in_core = set(core)
    # Lower bound: cost is superadditive over any grouping of the units (a layer's change
    # probability is at least that of its part in each group), and restricting a feasible plan
    # to a group is feasible for it, so OPT >= sum of the groups' optima. Groups: the core, then
    # the other units in size order, BOUND_GROUP at a time.
    others = [i for i in by_size if i not in in_core]
    lower = core_solution.cost
    for first in range(0, len(others), BOUND_GROUP):
        group = sorted(others[first : first + BOUND_GROUP])
        lower += _exact(model, [units[i] for i in group], k, limit).cost

    starts: list[list[list[int]]] = []
    core_blocks = [[core[j] for j in block] for block in core_solution.blocks]
    inserted = _greedy_insert(
        model, units, k, limit, core_blocks, [i for i in by_size if i not in in_core]
    )
    if inserted is not None:
        starts.append(inserted)
    contiguous = _contiguous(model, units, k, limit)
    if contiguous is not None:
        starts.append(contiguous)
    if _feasible_block(units, range(n), limit):
        starts.append([list(range(n))])
    largest = by_size[: k - 1]
    split = [[i] for i in largest] + [[i for i in range(n) if i not in set(largest)]]
    if all(_feasible_block(units, b, limit) for b in split if b):
        starts.append([b for b in split if b])
    if not starts:
        packed, proven = _pack(units, k, limit)
        if packed is None:
            raise _Infeasible(proven)
        starts.append(packed)

    best: tuple[float, tuple[tuple[int, ...], ...]] | None = None
    for start in starts:
        state = _State(model, units, k, limit, start)
        state.improve()
        blocks = state.blocks()
        candidate = (_cost_of(model, units, blocks), blocks)
        if best is None or candidate < best:
            best = candidate
    assert best is not None
    cost, blocks = best
    return _Solution(blocks, cost, False, min(lower, cost))


def _solve(model: _Model, units: Sequence[_Unit], k: int, limit: int | None) -> _Solution:
    if len(units) <= EXACT_UNITS:
        return _exact(model, units, k, limit)
    return _heuristic(model, units, k, limit)


# --------------------------------------------------------------------------- the problem


@dataclass(frozen=True)
class _Problem:
    items: tuple[Item, ...]  # sorted by name
    k: int
    limit: int | None
    pinned: tuple[tuple[str, tuple[Item, ...]], ...]  # non-empty groups, sorted by name
    pinned_of: Mapping[str, str]  # item name -> pinned layer name
    model: _Model = _INDEPENDENT
    bits_of: Mapping[str, int] = field(default_factory=dict)  # canonical name -> intervals
    history: ChangeHistory | None = None  # cut to the items; None when it covers none

    def unit(self, items: Iterable[Item], anchor: str | None = None) -> _Unit:
        return _unit(items, anchor, self.bits_of, self.model.intervals)


def _problem(
    items: Sequence[Item],
    constraints: Constraints,
    history: ChangeHistory | None = None,
    pseudo_count: float = JOINT_PSEUDO_COUNT,
) -> _Problem:
    weight = _check_weight(pseudo_count)
    if constraints.max_layers < 1:
        raise ConfigError(
            f"max-layers must be at least 1, got {constraints.max_layers}; "
            "set tool.lambda-layers.max-layers to 1-5"
        )
    limit = constraints.max_zipped_per_layer
    ordered = tuple(sorted(items, key=lambda i: i.name))
    canonical: dict[str, Item] = {}
    for item in ordered:
        if not 0.0 <= item.change_rate <= 1.0 or math.isnan(item.change_rate):
            raise ValueError(f"{item.name}: change rate {item.change_rate!r} is not in [0, 1]")
        if item.size_zipped < 0 or item.size_unzipped < 0:
            raise ValueError(f"{item.name}: negative size")
        key = canonicalize_name(item.name)
        if key in canonical:
            raise ValueError(f"package {item.name!r} is listed twice")
        canonical[key] = item
    pinned: list[tuple[str, tuple[Item, ...]]] = []
    pinned_of: dict[str, str] = {}
    for group in sorted(constraints.pinned_groups):
        members: list[Item] = []
        for raw in constraints.pinned_groups[group]:
            key = canonicalize_name(raw)
            if key in pinned_of and pinned_of[key] != group:
                raise ConfigError(
                    f"tool.lambda-layers.layers.{group} lists {raw!r}, already pinned to "
                    f"tool.lambda-layers.layers.{pinned_of[key]}; a package belongs to one layer"
                )
            pinned_of[key] = group
            if key in canonical and canonical[key] not in members:
                members.append(canonical[key])
        if members:
            pinned.append((group, tuple(sorted(members, key=lambda i: i.name))))
    if len(pinned) > constraints.max_layers:
        raise ConfigError(
            f"tool.lambda-layers.layers pins {len(pinned)} layers "
            f"({', '.join(g for g, _ in pinned)}) but max-layers is {constraints.max_layers}; "
            "merge pinned groups or raise tool.lambda-layers.max-layers"
        )
    if limit is not None:
        too_big = [i for i in ordered if i.size_zipped > limit]
        if too_big:
            listed = ", ".join(
                f"{i.name} is {_mb(i.size_zipped)}"
                for i in sorted(too_big, key=lambda i: -i.size_zipped)
            )
            raise LimitError(
                f"{listed} zipped, over the {_mb(limit)} per-layer limit of direct upload; "
                'set upload = "s3" in [tool.lambda-layers] to publish layers through S3'
            )
        for group, group_items in pinned:
            size = sum(i.size_zipped for i in group_items)
            if size > limit:
                raise LimitError(
                    f"pinned layer {group!r} ({', '.join(i.name for i in group_items)}) is "
                    f"{_mb(size)} zipped, over the {_mb(limit)} per-layer limit of direct "
                    f'upload; split tool.lambda-layers.layers.{group} or set upload = "s3"'
                )
    joint = history.restricted(canonical) if history is not None else None
    if joint is not None and (joint.count == 0 or not joint.packages):
        joint = None  # covers none of the items: the independent model, exactly
    return _Problem(
        items=ordered,
        k=constraints.max_layers,
        limit=limit,
        pinned=tuple(pinned),
        pinned_of={canonical[key].name: g for key, g in pinned_of.items() if key in canonical},
        model=_Model(joint.count, weight) if joint is not None else _INDEPENDENT,
        bits_of=_history_bits(joint),
        history=joint,
    )


def _infeasible_error(problem: _Problem, proven: bool) -> LimitError:
    assert problem.limit is not None
    total = sum(i.size_zipped for i in problem.items)
    need = max(1, math.ceil(total / problem.limit))
    largest = sorted(problem.items, key=lambda i: (-i.size_zipped, i.name))[:5]
    shown = ", ".join(f"{i.name} {i.size_zipped:,}" for i in largest)
    if need > problem.k:
        why = f"need at least {need} layers of at most {_mb(problem.limit)}"
    elif proven:
        why = f"cannot be packed into {problem.k} layers of at most {_mb(problem.limit)}"
    else:
        why = f"could not be packed into {problem.k} layers of at most {_mb(problem.limit)}"
    pinned = (
        f" with pinned layers {', '.join(g for g, _ in problem.pinned)}" if problem.pinned else ""
    )
    return LimitError(
        f"the bundled packages, {_mb(total)} zipped{pinned}, {why} but max-layers is "
        f"{problem.k} (largest zipped, bytes: {shown}); raise tool.lambda-layers.max-layers, "
        'list some in `provided`, or set upload = "s3"'
    )


_NAME_RE = re.compile(r"[^a-z0-9]+")


def _slug(name: str) -> str:
    return _NAME_RE.sub("-", name.lower()).strip("-") or "layer"


def _name_layers(
    problem: _Problem,
    groups: Sequence[tuple[str | None, tuple[Item, ...]]],
    previous: Mapping[str, str],
) -> tuple[Layer, ...]:
    """Names for (anchor, items) groups: the anchor; else the previous layer the group overlaps
    most in bytes; else after the largest package. Every name is distinct."""
    used = {anchor for anchor, _ in groups if anchor is not None}
    free = [
        (items, sum(i.size_zipped for i in items)) for anchor, items in groups if anchor is None
    ]
    free.sort(key=lambda g: (-g[1], g[0][0].name if g[0] else ""))
    names: dict[int, str] = {}
    pairs: list[tuple[int, str, int]] = []
    for index, (items, _) in enumerate(free):
        overlap: dict[str, int] = {}
        for item in items:
            old = previous.get(item.name)
            if old is not None:
                overlap[old] = overlap.get(old, 0) + item.size_zipped
        pairs += [(-bytes_, old, index) for old, bytes_ in overlap.items()]
    for _, old, index in sorted(pairs):
        if index not in names and old not in used:
            names[index] = old
            used.add(old)
    reserved = used | set(previous.values())
    for index, (items, _) in enumerate(free):
        if index in names:
            continue
        largest = min(items, key=lambda i: (-i.size_zipped, i.name))
        base = _slug(largest.name)
        name, n = base, 1
        while name in reserved:
            n += 1
            name = f"{base}-{n}"
        names[index] = name
        reserved.add(name)
    layers = [
        Layer(anchor, tuple(sorted(i.name for i in items)))
        for anchor, items in groups
        if anchor is not None
    ]
    layers += [
        Layer(names[index], tuple(sorted(i.name for i in items)))
        for index, (items, _) in enumerate(free)
    ]
    return tuple(sorted(layers, key=lambda x: x.name))


def _plan(problem: _Problem, units: Sequence[_Unit], previous: Mapping[str, str] | None) -> Plan:
    try:
        solution = _solve(problem.model, units, problem.k, problem.limit)
    except _Infeasible as exc:
        raise _infeasible_error(problem, exc.proven) from None
    groups: list[tuple[str | None, tuple[Item, ...]]] = []
    for block in solution.blocks:
        anchor = next((units[i].anchor for i in block if units[i].anchor is not None), None)
        groups.append((anchor, tuple(item for i in block for item in units[i].items)))
    weight = problem.model.weight
    by_name = {i.name: i for i in problem.items}
    layers = tuple(
        replace(
            layer,
            expected_bytes=layer_cost(
                (by_name[p] for p in layer.packages), history=problem.history, pseudo_count=weight
            ),
        )
        for layer in _name_layers(problem, groups, previous or {})
    )
    total = sum(layer.expected_bytes for layer in layers)
    return Plan(
        layers=layers,
        expected_bytes=total,
        single_layer_bytes=layer_cost(problem.items, history=problem.history, pseudo_count=weight),
        exact=solution.exact,
        lower_bound=total if solution.exact else min(solution.lower_bound, total),
        history_source=problem.history.source if problem.history is not None else None,
        history_intervals=problem.model.intervals,
    )


def _fresh_units(problem: _Problem) -> list[_Unit]:
    units = [problem.unit(members, group) for group, members in problem.pinned]
    units += [problem.unit([i]) for i in problem.items if i.name not in problem.pinned_of]
    return sorted(units, key=lambda u: u.key)


def _honoured_units(problem: _Problem, previous: Mapping[str, str]) -> list[_Unit]:
    """Kept layers as anchored units (shedding packages to respect the limits), the rest free."""
    old = {canonicalize_name(p): layer for p, layer in previous.items()}
    kept: dict[str, list[Item]] = {group: list(members) for group, members in problem.pinned}
    free: list[Item] = []
    for item in problem.items:
        if item.name in problem.pinned_of:
            continue
        layer = old.get(canonicalize_name(item.name))
        if layer is None:
            free.append(item)
        else:
            kept.setdefault(layer, []).append(item)
    pinned_names = {g for g, _ in problem.pinned}
    if problem.limit is not None:
        for layer in sorted(kept):
            members = kept[layer]
            size = sum(i.size_zipped for i in members)
            # Shed the largest non-pinned packages until the layer fits.
            for item in sorted(members, key=lambda i: (-i.size_zipped, i.name)):
                if size <= problem.limit:
                    break
                if item.name in problem.pinned_of:
                    continue
                members.remove(item)
                free.append(item)
                size -= item.size_zipped
    kept = {layer: members for layer, members in kept.items() if members}
    while len(kept) > problem.k:
        smallest = min(
            (layer for layer in kept if layer not in pinned_names),
            key=lambda x: (sum(i.size_zipped for i in kept[x]), x),
        )
        free += kept.pop(smallest)
    units = [problem.unit(members, layer) for layer, members in kept.items()]
    units += [problem.unit([i]) for i in free]
    return sorted(units, key=lambda u: u.key)


def partition(
    items: Sequence[Item],
    constraints: Constraints,
    previous: Mapping[str, str] | None = None,
    *,
    margin: float = 0.10,
    history: ChangeHistory | None = None,
    pseudo_count: float = JOINT_PSEUDO_COUNT,
) -> Plan:
    """The plan for `items`. Without `previous`, the optimum (exact up to EXACT_UNITS units).
    With `previous` (package -> layer name), honour it: see the module docstring. `margin` is
    accepted for symmetry with `replan`; honouring never re-plans, so it does not use it.
    With `history`, layers are costed by the joint model (module docstring) with
    `pseudo_count`; without it, by the independent model.

    Raises LimitError (with the sizes) when no plan fits, ConfigError when pinned groups
    contradict each other or max_layers."""
    del margin
    problem = _problem(items, constraints, history, pseudo_count)
    if not previous:
        return _plan(problem, _fresh_units(problem), None)
    try:
        return _plan(problem, _honoured_units(problem, previous), previous)
    except LimitError:
        # Keeping the old layers leaves no feasible place for the others: plan afresh (still
        # reusing the old names where layers overlap); raises if nothing fits at all.
        return _plan(problem, _fresh_units(problem), previous)


def replan(
    items: Sequence[Item],
    constraints: Constraints,
    previous: Mapping[str, str] | None,
    margin: float = 0.10,
    *,
    history: ChangeHistory | None = None,
    pseudo_count: float = JOINT_PSEUDO_COUNT,
) -> Plan:
    """The fresh optimum if it saves more than `margin` (relative) against honouring
    `previous`; otherwise the honoured plan. What `lambda-layers plan --update` uses. Both
    plans are costed by the same model (`history`, `pseudo_count` as for `partition`)."""
    if not 0.0 <= margin < 1.0:
        raise ConfigError(f"replan margin must be in [0, 1), got {margin!r}")
    problem = _problem(items, constraints, history, pseudo_count)
    if not previous:
        return _plan(problem, _fresh_units(problem), None)
    sticky = partition(items, constraints, previous, history=history, pseudo_count=pseudo_count)
    fresh = _plan(problem, _fresh_units(problem), previous)
    if fresh.expected_bytes < sticky.expected_bytes * (1.0 - margin):
        return fresh
    return sticky
