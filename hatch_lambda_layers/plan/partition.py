"""Which packages share a layer. Pure, deterministic, independent of input order.

A layer is republished whenever any package in it changes version. With `r_i` the probability
that package `i` changes in a build, a layer costs its expected zipped bytes republished per
build, ``cost(L) = zipped(L) * (1 - prod_{i in L} (1 - r_i))``, and a plan the sum over its
layers. `partition` minimises that with at most `max_layers` layers, each within
`max_zipped_per_layer` when set, every pinned group together in its named layer (two pinned
groups never share one) and no package split. `solver` does the optimisation (exact up to
`solver.EXACT_UNITS` units, else a heuristic with a lower bound); this module turns packages
into its units, names the layers and honours a previous plan.

Honouring (`partition(..., previous)`): packages the previous assignment names stay in their
layers; the others are placed without moving them; names that are gone are dropped. Only limits
override it: a kept layer over the per-layer limit sheds its largest non-pinned packages, and
when more layers are kept than allowed the smallest non-pinned ones dissolve; what is shed is
placed like a new package. `replan` takes the fresh optimum only when it saves more than
`margin` (relative) against honouring.

Layer names: a pinned group's name; else the previous layer the new one overlaps most in bytes;
else the largest package's name, lowercased to ``[a-z0-9-]``, suffixed ``-2``, ``-3``... when
taken.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from packaging.utils import canonicalize_name

from ..errors import ConfigError, LimitError
from . import solver
from .solver import Infeasible, Unit

_MIB = 1024 * 1024


@dataclass(frozen=True)
class Item:
    """A package to place: zipped and unzipped size and P(its version changes in a build)."""

    name: str
    size_zipped: int
    size_unzipped: int
    change_rate: float
    # A direct dependency of the project: what a layer holding it is named after.
    direct: bool = False


@dataclass(frozen=True)
class Constraints:
    max_layers: int
    max_zipped_per_layer: int | None  # targets.DIRECT_UPLOAD_MAX for direct upload, None for S3
    # layer name -> packages kept together in that named layer
    pinned_groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    # What one more layer costs, in zipped bytes republished per build: every layer is an
    # artifact to publish, attach and keep, so a split must save more than this to pay.
    layer_overhead: float = 0.0


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
    the packages the previous plan does not fix); `lower_bound`: a bound on that optimum's
    `objective`."""

    layers: tuple[Layer, ...]
    expected_bytes: float
    single_layer_bytes: float
    exact: bool
    lower_bound: float | None
    layer_overhead: float = 0.0

    @property
    def objective(self) -> float:
        """What the partitioner minimised: bytes republished plus the overhead per layer."""
        return self.expected_bytes + self.layer_overhead * len(self.layers)

    def assignment(self) -> dict[str, str]:
        """package -> layer name."""
        return {p: layer.name for layer in self.layers for p in layer.packages}


def layer_cost(items_in_layer: Iterable[Item]) -> float:
    """Expected zipped bytes republished per build: size * (1 - prod(1 - rate))."""
    ordered = sorted(items_in_layer, key=lambda i: i.name)
    survive = 1.0
    for item in ordered:
        survive *= 1.0 - item.change_rate
    return sum(i.size_zipped for i in ordered) * (1.0 - survive)


def expected_bytes(layers: Iterable[Layer], items: Iterable[Item]) -> float:
    """Expected zipped bytes republished per build by a set of layers over `items`."""
    by_name = {i.name: i for i in items}
    total = 0.0
    for layer in sorted(layers, key=lambda x: x.name):
        missing = [p for p in layer.packages if p not in by_name]
        if missing:
            raise ValueError(f"layer {layer.name!r} names unknown packages: {', '.join(missing)}")
        total += layer_cost(by_name[p] for p in layer.packages)
    return total


def _mb(size: float) -> str:
    return f"{size:,.0f} bytes ({size / _MIB:.1f} MiB)"


# --------------------------------------------------------------------------- the problem


@dataclass(frozen=True)
class _Group:
    """Items placed together: one unit of the solver, with the layer name it must keep."""

    items: tuple[Item, ...]  # sorted by name
    anchor: str | None  # pinned group or kept layer

    def unit(self) -> Unit:
        return Unit(
            key=self.items[0].name if self.items else "",
            size=sum(i.size_zipped for i in self.items),
            hazard=sum((solver.hazard(i.change_rate) for i in self.items), 0.0),
            anchored=self.anchor is not None,
        )


def _group(items: Iterable[Item], anchor: str | None = None) -> _Group:
    return _Group(tuple(sorted(items, key=lambda i: i.name)), anchor)


@dataclass(frozen=True)
class _Problem:
    items: tuple[Item, ...]  # sorted by name
    k: int
    limit: int | None
    pinned: tuple[tuple[str, tuple[Item, ...]], ...]  # non-empty groups, sorted by name
    pinned_of: Mapping[str, str]  # item name -> pinned layer name
    overhead: float = 0.0  # Constraints.layer_overhead


def _checked_items(items: Sequence[Item]) -> dict[str, Item]:
    """Canonical name -> item, sorted by name; ValueError for a bad rate, size or duplicate."""
    canonical: dict[str, Item] = {}
    for item in sorted(items, key=lambda i: i.name):
        if not 0.0 <= item.change_rate <= 1.0 or math.isnan(item.change_rate):
            raise ValueError(f"{item.name}: change rate {item.change_rate!r} is not in [0, 1]")
        if item.size_zipped < 0 or item.size_unzipped < 0:
            raise ValueError(f"{item.name}: negative size")
        key = canonicalize_name(item.name)
        if key in canonical:
            raise ValueError(f"package {item.name!r} is listed twice")
        canonical[key] = item
    return canonical


def _pinned_groups(
    constraints: Constraints, canonical: Mapping[str, Item]
) -> tuple[list[tuple[str, tuple[Item, ...]]], dict[str, str]]:
    """The pinned groups with the items present (non-empty, sorted by name), and canonical
    name -> group for every pinned name; ConfigError for a package pinned twice."""
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
    return pinned, pinned_of


def _check_sizes(
    items: Sequence[Item], pinned: Sequence[tuple[str, tuple[Item, ...]]], limit: int
) -> None:
    """LimitError for a package or pinned group over the per-layer limit."""
    too_big = [i for i in items if i.size_zipped > limit]
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


def _problem(items: Sequence[Item], constraints: Constraints) -> _Problem:
    if constraints.max_layers < 1:
        raise ConfigError(
            f"max-layers must be at least 1, got {constraints.max_layers}; "
            "set tool.lambda-layers.max-layers to 1-5"
        )
    canonical = _checked_items(items)
    pinned, pinned_of = _pinned_groups(constraints, canonical)
    if len(pinned) > constraints.max_layers:
        raise ConfigError(
            f"tool.lambda-layers.layers pins {len(pinned)} layers "
            f"({', '.join(g for g, _ in pinned)}) but max-layers is {constraints.max_layers}; "
            "merge pinned groups or raise tool.lambda-layers.max-layers"
        )
    ordered = tuple(canonical.values())
    limit = constraints.max_zipped_per_layer
    if limit is not None:
        _check_sizes(ordered, pinned, limit)
    return _Problem(
        items=ordered,
        k=constraints.max_layers,
        limit=limit,
        pinned=tuple(pinned),
        pinned_of={canonical[key].name: g for key, g in pinned_of.items() if key in canonical},
        overhead=_checked_overhead(constraints.layer_overhead),
    )


def _checked_overhead(value: float) -> float:
    if not (math.isfinite(value) and value >= 0.0):
        raise ValueError(f"layer overhead must be a finite number >= 0, got {value!r}")
    return float(value)


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


# --------------------------------------------------------------------------- layer names


_NAME_RE = re.compile(r"[^a-z0-9]+")


def _slug(name: str) -> str:
    return _NAME_RE.sub("-", name.lower()).strip("-") or "layer"


def _misnames(name: str, items: Iterable[Item], known: set[str]) -> bool:
    """Whether layer `name` names a package (its slug, perhaps with a ``-N`` suffix) among
    `known` (slugs of every package the plans know) that is not in `items`: a layer's name never
    promises a package it lacks. Names that name no package (chosen by hand) are kept."""
    slugs = {_slug(i.name) for i in items}
    for candidate in (name, re.sub(r"-\d+$", "", name)):
        if candidate in slugs:
            return False
        if candidate in known:
            return True
    return False


def _core(items: Sequence[Item]) -> Item:
    """What a layer is named after: its largest direct dependency, else its largest package."""
    return min(items, key=lambda i: (not i.direct, -i.size_zipped, i.name))


def _inherited_names(
    free: Sequence[tuple[tuple[Item, ...], int]],
    previous: Mapping[str, str],
    used: set[str],
    known: set[str],
) -> dict[int, str]:
    """Index of a free group -> the previous layer it overlaps most in bytes, when that name
    still names one of its packages (each old name goes to the largest overlap first; names in
    `used` are taken). Adds to `used`."""
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
        if index not in names and old not in used and not _misnames(old, free[index][0], known):
            names[index] = old
            used.add(old)
    return names


def _name_layers(
    groups: Sequence[_Group], previous: Mapping[str, str], pinned: Iterable[str] = ()
) -> tuple[Layer, ...]:
    """Names for groups: a pinned group's name; a kept layer's name while it still names one of
    its packages; else the previous layer the group overlaps most in bytes, on the same
    condition; else after its core package (`_core`). Every name is distinct."""
    fixed = set(pinned)
    known = {_slug(i.name) for g in groups for i in g.items} | {_slug(p) for p in previous}
    groups = [
        g
        if g.anchor is None or g.anchor in fixed or not _misnames(g.anchor, g.items, known)
        else _Group(g.items, None)
        for g in groups
    ]
    used = {g.anchor for g in groups if g.anchor is not None}
    free = [(g.items, sum(i.size_zipped for i in g.items)) for g in groups if g.anchor is None]
    free.sort(key=lambda g: (-g[1], g[0][0].name if g[0] else ""))
    names = _inherited_names(free, previous, used, known)
    reserved = used | set(previous.values())
    for index, (items, _) in enumerate(free):
        if index in names:
            continue
        base = _slug(_core(items).name)
        name, n = base, 1
        while name in reserved:
            n += 1
            name = f"{base}-{n}"
        names[index] = name
        reserved.add(name)
    layers = [
        Layer(g.anchor, tuple(sorted(i.name for i in g.items)))
        for g in groups
        if g.anchor is not None
    ]
    layers += [
        Layer(names[index], tuple(sorted(i.name for i in items)))
        for index, (items, _) in enumerate(free)
    ]
    return tuple(sorted(layers, key=lambda x: x.name))


# --------------------------------------------------------------------------- plans


def _plan(problem: _Problem, groups: Sequence[_Group], previous: Mapping[str, str] | None) -> Plan:
    try:
        solution = solver.solve(
            [g.unit() for g in groups], problem.k, problem.limit, overhead=problem.overhead
        )
    except Infeasible as exc:
        raise _infeasible_error(problem, exc.proven) from None
    merged = []
    for block in solution.blocks:
        anchor = next((groups[i].anchor for i in block if groups[i].anchor is not None), None)
        merged.append(_Group(tuple(item for i in block for item in groups[i].items), anchor))
    by_name = {i.name: i for i in problem.items}
    layers = tuple(
        replace(layer, expected_bytes=layer_cost(by_name[p] for p in layer.packages))
        for layer in _name_layers(merged, previous or {}, (g for g, _ in problem.pinned))
    )
    total = sum(layer.expected_bytes for layer in layers)
    objective = total + problem.overhead * len(layers)
    return Plan(
        layers=layers,
        expected_bytes=total,
        single_layer_bytes=layer_cost(problem.items),
        exact=solution.exact,
        lower_bound=objective if solution.exact else min(solution.lower_bound, objective),
        layer_overhead=problem.overhead,
    )


def _fresh_groups(problem: _Problem) -> list[_Group]:
    groups = [_group(members, group) for group, members in problem.pinned]
    groups += [_group([i]) for i in problem.items if i.name not in problem.pinned_of]
    return sorted(groups, key=lambda g: g.unit().key)


def _shed(problem: _Problem, members: list[Item], free: list[Item]) -> None:
    """Move the largest non-pinned `members` to `free` until the layer fits the limit."""
    assert problem.limit is not None
    size = sum(i.size_zipped for i in members)
    for item in sorted(members, key=lambda i: (-i.size_zipped, i.name)):
        if size <= problem.limit:
            return
        if item.name in problem.pinned_of:
            continue
        members.remove(item)
        free.append(item)
        size -= item.size_zipped


def _honoured_groups(problem: _Problem, previous: Mapping[str, str]) -> list[_Group]:
    """Kept layers as anchored groups (shedding packages to respect the limits), the rest free."""
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
    if problem.limit is not None:
        for layer in sorted(kept):
            _shed(problem, kept[layer], free)
    kept = {layer: members for layer, members in kept.items() if members}
    pinned_names = {g for g, _ in problem.pinned}
    while len(kept) > problem.k:
        smallest = min(
            (layer for layer in kept if layer not in pinned_names),
            key=lambda x: (sum(i.size_zipped for i in kept[x]), x),
        )
        free += kept.pop(smallest)
    groups = [_group(members, layer) for layer, members in kept.items()]
    groups += [_group([i]) for i in free]
    return sorted(groups, key=lambda g: g.unit().key)


def partition(
    items: Sequence[Item],
    constraints: Constraints,
    previous: Mapping[str, str] | None = None,
    *,
    margin: float = 0.10,
) -> Plan:
    """The plan for `items`. Without `previous`, the optimum (exact up to
    `solver.EXACT_UNITS` units). With `previous` (package -> layer name), honour it (module
    docstring). `margin` is accepted for symmetry with `replan`; honouring never re-plans.

    Raises LimitError (with the sizes) when no plan fits, ConfigError when pinned groups
    contradict each other or max_layers."""
    del margin
    problem = _problem(items, constraints)
    if not previous:
        return _plan(problem, _fresh_groups(problem), None)
    try:
        return _plan(problem, _honoured_groups(problem, previous), previous)
    except LimitError:
        # Keeping the old layers leaves no feasible place for the others: plan afresh (still
        # reusing the old names where layers overlap); raises if nothing fits at all.
        return _plan(problem, _fresh_groups(problem), previous)


def replan(
    items: Sequence[Item],
    constraints: Constraints,
    previous: Mapping[str, str] | None,
    margin: float = 0.10,
) -> Plan:
    """The fresh optimum if it saves more than `margin` (relative) against honouring
    `previous`; otherwise the honoured plan. What `lambda-layers plan --update` uses."""
    if not 0.0 <= margin < 1.0:
        raise ConfigError(f"replan margin must be in [0, 1), got {margin!r}")
    problem = _problem(items, constraints)
    if not previous:
        return _plan(problem, _fresh_groups(problem), None)
    sticky = partition(items, constraints, previous)
    fresh = _plan(problem, _fresh_groups(problem), previous)
    if fresh.objective < sticky.objective * (1.0 - margin):
        return fresh
    return sticky
