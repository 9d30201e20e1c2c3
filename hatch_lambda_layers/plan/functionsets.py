"""Layers for functions that need different packages. Pure and deterministic.

Each package belongs to the set of functions whose closure holds it. Packages of different sets
never share a layer, so a function attaches only layers that hold what it needs: the packages of
one set form a class, partitioned on its own (`partition.partition`). Every function attaches
the layers of each class its set is in, and must stay within `max_layers` (Lambda's five less
the external layers):

1. a pinned group (``[tool.lambda-layers.layers]``) is needed by every function that needs one
   of its packages, so it stays whole;
2. while a function would need more classes than slots, the two of its classes whose merging
   attaches the fewest unneeded bytes (unzipped, to the functions that gain them) are merged:
   the merged class is attached by the union of both sets;
3. every class gets the fewest layers it can be packed into, then one more layer at a time goes
   to the class where it saves the most (expected bytes republished plus the per-layer overhead)
   while every function of that class has a slot left.

When every function needs every package there is one class and this is exactly `partition`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from ..errors import ConfigError, LimitError
from .partition import Constraints, Item, Layer, Plan, layer_cost, partition
from .partition import replan as replan_partition

FunctionSet = frozenset[str]
# Savings below this many bytes per build are rounding, not a reason for one more layer.
_SAVING_MIN = 1e-6


@dataclass(frozen=True)
class FunctionPlan:
    """The plan, and per function the names of the layers it attaches (sorted)."""

    plan: Plan
    attached: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class _Class:
    """Packages attached by the same functions."""

    functions: FunctionSet
    items: tuple[Item, ...]  # sorted by name

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(sorted(self.functions))

    @property
    def unzipped(self) -> int:
        return sum(i.size_unzipped for i in self.items)


def function_sets(
    items: Sequence[Item],
    needs: Mapping[str, frozenset[str]],
    pinned: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, FunctionSet]:
    """package -> the functions that attach it: those that need it, or any package pinned with
    it (a package no function needs goes with every function)."""
    everyone = frozenset(needs)
    sets = {
        i.name: frozenset(f for f, need in needs.items() if i.name in need) or everyone
        for i in items
    }
    for members in (pinned or {}).values():
        present = [m for m in members if m in sets]
        union = frozenset().union(*(sets[m] for m in present)) if present else everyone
        for m in present:
            sets[m] = union
    return sets


def _classes(items: Sequence[Item], sets: Mapping[str, FunctionSet]) -> list[_Class]:
    grouped: dict[FunctionSet, list[Item]] = {}
    for item in sorted(items, key=lambda i: i.name):
        grouped.setdefault(sets[item.name], []).append(item)
    return sorted((_Class(fs, tuple(members)) for fs, members in grouped.items()), key=_order)


def _order(c: _Class) -> tuple[int, tuple[str, ...]]:
    return (-len(c.functions), c.key)


def _merge_cost(a: _Class, b: _Class) -> int:
    """Unzipped bytes attached to functions that do not need them, if `a` and `b` merge."""
    return a.unzipped * len(b.functions - a.functions) + b.unzipped * len(a.functions - b.functions)


def merge_classes(classes: Sequence[_Class], slots: int) -> list[_Class]:
    """Merge classes (step 2 of the module docstring) until no function is in more than
    `slots` of them."""
    result = sorted(classes, key=_order)
    while True:
        crowded = sorted(
            f
            for f in frozenset().union(*(c.functions for c in result))
            if sum(f in c.functions for c in result) > slots
        )
        if not crowded:
            return result
        mine = [c for c in result if crowded[0] in c.functions]
        pairs = [(a, b) for n, a in enumerate(mine) for b in mine[n + 1 :]]
        a, b = min(pairs, key=lambda p: (_merge_cost(*p), p[0].key, p[1].key))
        merged = _Class(
            a.functions | b.functions, tuple(sorted(a.items + b.items, key=lambda i: i.name))
        )
        result = sorted([c for c in result if c is not a and c is not b] + [merged], key=_order)


@dataclass(frozen=True)
class _Options:
    constraints: Constraints
    previous: Mapping[str, str] | None
    replan: bool
    margin: float


def _class_plans(c: _Class, options: _Options) -> list[Plan | None]:
    """The class's plan with 1 .. max_layers layers (None where none fits)."""
    names = {i.name for i in c.items}
    base = options.constraints
    pinned = {g: m for g, m in base.pinned_groups.items() if any(x in names for x in m)}
    previous = (
        {p: layer for p, layer in options.previous.items() if p in names}
        if options.previous
        else None
    )
    plans: list[Plan | None] = []
    for k in range(1, base.max_layers + 1):
        constraints = replace(base, max_layers=k, pinned_groups=pinned)
        try:
            if options.replan:
                plans.append(replan_partition(c.items, constraints, previous, options.margin))
            else:
                plans.append(partition(c.items, constraints, previous))
        except (LimitError, ConfigError):
            if k == base.max_layers:
                raise
            plans.append(None)
    return plans


def _allocate(
    classes: Sequence[_Class], plans: Sequence[Sequence[Plan | None]], slots: int
) -> list[int]:
    """How many layers each class may use (step 3): index into its plans."""
    chosen = [next(k for k, p in enumerate(ps) if p is not None) for ps in plans]
    used = _slots_used(classes, chosen)
    over = sorted(f for f, n in used.items() if n > slots)
    if over:
        raise LimitError(
            f"function {over[0]} needs {used[over[0]]} layers for its dependencies (packages "
            f"that other functions share with it sit in layers of their own), more than the "
            f"{slots} it may attach; give it fewer dependencies of its own, raise "
            f"tool.lambda-layers.max-layers or attach fewer external layers"
        )
    while True:
        best: tuple[float, int] | None = None
        for n, c in enumerate(classes):
            k = chosen[n]
            if k + 1 >= len(plans[n]) or any(used[f] >= slots for f in c.functions):
                continue
            now, more = plans[n][k], plans[n][k + 1]
            if now is None or more is None:
                continue
            saving = now.objective - more.objective
            if saving > _SAVING_MIN and (best is None or saving > best[0]):
                best = (saving, n)
        if best is None:
            return chosen
        chosen[best[1]] += 1
        used = _slots_used(classes, chosen)


def _slots_used(classes: Sequence[_Class], chosen: Sequence[int]) -> dict[str, int]:
    used: dict[str, int] = {}
    for c, k in zip(classes, chosen, strict=True):
        for f in c.functions:
            used[f] = used.get(f, 0) + k + 1
    return used


def _distinct(layers: Sequence[Layer], taken: set[str]) -> list[Layer]:
    """`layers` renamed ``<name>-2``, ``-3``... where another class took the name already."""
    result = []
    for layer in layers:
        name, n = layer.name, 1
        while name in taken:
            n += 1
            name = f"{layer.name}-{n}"
        taken.add(name)
        result.append(replace(layer, name=name))
    return result


def partition_functions(
    items: Sequence[Item],
    constraints: Constraints,
    needs: Mapping[str, frozenset[str]],
    previous: Mapping[str, str] | None = None,
    *,
    replan: bool = False,
    margin: float = 0.10,
) -> FunctionPlan:
    """The layers of `items` for functions with the closures `needs` (function -> package
    names), each function within `constraints.max_layers` (module docstring)."""
    sets = function_sets(items, needs, constraints.pinned_groups)
    classes = merge_classes(_classes(items, sets), constraints.max_layers)
    options = _Options(constraints, previous, replan, margin)
    if len(classes) == 1:
        if replan:
            single = replan_partition(items, constraints, previous, margin)
        else:
            single = partition(items, constraints, previous)
        return FunctionPlan(single, {f: tuple(x.name for x in single.layers) for f in needs})
    plans = [_class_plans(c, options) for c in classes]
    chosen = _allocate(classes, plans, constraints.max_layers)
    taken: set[str] = set()
    attached: dict[str, list[str]] = {f: [] for f in needs}
    layers: list[Layer] = []
    for c, ps, k in zip(classes, plans, chosen, strict=True):
        plan = ps[k]
        assert plan is not None
        named = _distinct(plan.layers, taken)
        layers += named
        for f in c.functions:
            attached.setdefault(f, []).extend(x.name for x in named)
    return FunctionPlan(
        _combined(items, layers, plans, constraints.layer_overhead),
        {f: tuple(sorted(names)) for f, names in sorted(attached.items())},
    )


def _combined(
    items: Sequence[Item],
    layers: Sequence[Layer],
    plans: Sequence[Sequence[Plan | None]],
    overhead: float,
) -> Plan:
    """One plan of every class's layers; not proven optimal (the classes and their budgets are
    chosen greedily), with a lower bound: each class alone with every slot."""
    bounds = [ps[-1].lower_bound if ps[-1] is not None else None for ps in plans]
    lower = None if any(b is None for b in bounds) else sum(b or 0.0 for b in bounds)
    ordered = tuple(sorted(layers, key=lambda x: x.name))
    expected = sum(x.expected_bytes for x in ordered)
    objective = expected + overhead * len(ordered)
    return Plan(
        layers=ordered,
        expected_bytes=expected,
        single_layer_bytes=layer_cost(items),
        exact=False,
        lower_bound=None if lower is None else min(lower, objective),
        layer_overhead=overhead,
    )


def closures_differ(needs: Mapping[str, frozenset[str]], bundled: Sequence[str]) -> bool:
    """Whether some function does not need every bundled package."""
    everything = frozenset(bundled)
    return any(not everything <= need for need in needs.values())


__all__ = [
    "FunctionPlan",
    "closures_differ",
    "function_sets",
    "merge_classes",
    "partition_functions",
]
