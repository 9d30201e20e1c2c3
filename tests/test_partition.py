"""The partitioner: exactness against brute force, limits, determinism, stickiness."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hatch_lambda_layers.errors import ConfigError, LimitError
from hatch_lambda_layers.plan import solver
from hatch_lambda_layers.plan.partition import (
    Constraints,
    Item,
    Layer,
    Plan,
    expected_bytes,
    layer_cost,
    partition,
    replan,
)
from hatch_lambda_layers.targets import DIRECT_UPLOAD_MAX

MB = 1_000_000
NAMES = [f"pkg-{c}" for c in "abcdefghijklmnopqrstuvwxyz"]


@contextmanager
def exact_up_to(n: int) -> Iterator[None]:
    """Lower the exact-solver threshold so that small instances take the heuristic path."""
    old = solver.EXACT_UNITS
    solver.EXACT_UNITS = n
    try:
        yield
    finally:
        solver.EXACT_UNITS = old


def set_partitions(n: int, k: int) -> Iterator[list[list[int]]]:
    """Every partition of range(n) into at most k blocks (restricted growth strings)."""

    def grow(i: int, blocks: list[list[int]]) -> Iterator[list[list[int]]]:
        if i == n:
            yield [list(b) for b in blocks]
            return
        for b in blocks:
            b.append(i)
            yield from grow(i + 1, blocks)
            b.pop()
        if len(blocks) < k:
            blocks.append([i])
            yield from grow(i + 1, blocks)
            blocks.pop()

    yield from grow(0, [])


def brute_force(items: Sequence[Item], c: Constraints) -> float | None:
    """Cheapest feasible plan (bytes republished plus the overhead per layer) by enumeration;
    None when nothing is feasible."""
    pinned_of = {p: g for g, ps in c.pinned_groups.items() for p in ps}
    best: float | None = None
    for blocks in set_partitions(len(items), c.max_layers):
        ok = True
        for block in blocks:
            groups = {pinned_of[items[i].name] for i in block if items[i].name in pinned_of}
            size = sum(items[i].size_zipped for i in block)
            if len(groups) > 1 or (
                c.max_zipped_per_layer is not None and size > c.max_zipped_per_layer
            ):
                ok = False
                break
        # members of one pinned group must share a block
        for group in c.pinned_groups.values():
            present = [i for i, it in enumerate(items) if it.name in group]
            if len({next(j for j, b in enumerate(blocks) if i in b) for i in present}) > 1:
                ok = False
        if not ok:
            continue
        cost = sum(layer_cost(items[i] for i in block) for block in blocks)
        cost += c.layer_overhead * len(blocks)
        best = cost if best is None else min(best, cost)
    return best


def check_plan(plan: Plan, items: Sequence[Item], c: Constraints) -> None:
    """Invariants every plan must satisfy."""
    names = [p for layer in plan.layers for p in layer.packages]
    assert sorted(names) == sorted(i.name for i in items), "every package in exactly one layer"
    assert len(plan.layers) <= c.max_layers
    assert len({layer.name for layer in plan.layers}) == len(plan.layers)
    sizes = {i.name: i.size_zipped for i in items}
    for layer in plan.layers:
        assert layer.packages == tuple(sorted(layer.packages))
        assert layer.packages, "no empty layers"
        if c.max_zipped_per_layer is not None:
            assert sum(sizes[p] for p in layer.packages) <= c.max_zipped_per_layer
    where = plan.assignment()
    for group, members in c.pinned_groups.items():
        present = [m for m in members if m in where]
        assert all(where[m] == group for m in present), "pinned group in its named layer"
    assert plan.expected_bytes == pytest.approx(expected_bytes(plan.layers, items))
    assert plan.single_layer_bytes == pytest.approx(layer_cost(items))
    for layer in plan.layers:
        assert layer.expected_bytes == pytest.approx(
            layer_cost(i for i in items if i.name in layer.packages)
        )
    assert plan.lower_bound is not None
    assert plan.lower_bound <= plan.objective * (1 + 1e-9)
    assert plan.objective == pytest.approx(
        plan.expected_bytes + c.layer_overhead * len(plan.layers)
    )
    assert [layer.name for layer in plan.layers] == sorted(layer.name for layer in plan.layers)


rates = st.one_of(
    st.sampled_from([0.0, 0.01, 0.05, 0.2, 0.5, 0.9, 1.0]),
    st.floats(min_value=0.0, max_value=1.0, allow_nan=False),
)
sizes = st.one_of(st.integers(0, 300_000), st.integers(1 * MB, 30 * MB))


@st.composite
def instances(
    draw: st.DrawFn, max_items: int = 7, pinned: bool = True
) -> tuple[list[Item], Constraints]:
    n = draw(st.integers(0, max_items))
    names = draw(st.permutations(NAMES))[:n]
    items = [Item(name, draw(sizes), draw(st.integers(0, 10**8)), draw(rates)) for name in names]
    limit = draw(st.sampled_from([None, 40 * MB, DIRECT_UPLOAD_MAX]))
    k = draw(st.integers(1, 5))
    groups: dict[str, tuple[str, ...]] = {}
    if pinned and n >= 2 and draw(st.booleans()):
        chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
        groups["Pinned_A"] = tuple(chosen)
        rest = [x for x in names if x not in chosen]
        if rest and k >= 2 and draw(st.booleans()):
            groups["grp-b"] = (rest[0], "not-installed")
    overhead = draw(st.sampled_from([0.0, 0.0, 0.0, 50_000.0, 2.0 * MB]))
    return items, Constraints(k, limit, groups, layer_overhead=overhead)


# --------------------------------------------------------------------------- costs


def test_layer_cost_is_size_times_probability_any_member_changes() -> None:
    items = [Item("a", 100, 0, 0.5), Item("b", 300, 0, 0.5)]
    assert layer_cost(items) == pytest.approx(400 * 0.75)
    assert layer_cost([Item("c", 10, 0, 0.0)]) == 0.0
    assert layer_cost([Item("c", 10, 0, 1.0), Item("d", 5, 0, 0.0)]) == 15.0
    layers = [Layer("x", ("a",)), Layer("y", ("b",))]
    assert expected_bytes(layers, items) == pytest.approx(50 + 150)


def test_volatile_giant_stays_alone_and_stable_packages_share() -> None:
    items = [
        Item("botocore", 16 * MB, 0, 0.95),
        Item("numpy", 16 * MB, 0, 0.1),
        Item("pandas", 12 * MB, 0, 0.1),
        Item("requests", 70_000, 0, 0.05),
        Item("tiny-volatile", 20_000, 0, 0.9),
    ]
    plan = partition(items, Constraints(2, DIRECT_UPLOAD_MAX))
    where = plan.assignment()
    assert plan.exact
    assert where["botocore"] != where["numpy"]
    assert where["numpy"] == where["pandas"]
    # even a rarely changing small package is cheaper in the layer republished anyway than
    # making the big stable layer 5 % more likely to change
    # joining the layer that changes every build costs the tiny package almost nothing extra
    assert where["tiny-volatile"] == where["botocore"]
    assert plan.expected_bytes < plan.single_layer_bytes


# --------------------------------------------------------------------------- exactness


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_exact_solver_agrees_with_brute_force(case: tuple[list[Item], Constraints]) -> None:
    items, c = case
    best = brute_force(items, c)
    if best is None:
        with pytest.raises(LimitError):
            partition(items, c)
        return
    plan = partition(items, c)
    check_plan(plan, items, c)
    assert plan.exact
    assert plan.objective == pytest.approx(best, rel=1e-9, abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(instances(max_items=9))
def test_heuristic_is_feasible_and_bounded(case: tuple[list[Item], Constraints]) -> None:
    items, c = case
    try:
        optimum = partition(items, c)
    except LimitError:
        return
    with exact_up_to(4):
        plan = partition(items, c)
    check_plan(plan, items, c)
    assert plan.lower_bound is not None
    assert plan.lower_bound <= optimum.objective * (1 + 1e-9) + 1e-6
    assert plan.objective >= optimum.objective * (1 - 1e-9) - 1e-6
    if plan.exact:  # few enough units after merging pinned groups
        assert plan.objective == pytest.approx(optimum.objective, rel=1e-9, abs=1e-6)


def test_heuristic_is_close_to_exact_on_random_instances() -> None:
    rng = random.Random(7)
    gaps = []
    for _ in range(25):
        items = [
            Item(
                f"p{i:02d}",
                rng.choice([rng.randint(10_000, 500_000), rng.randint(MB, 20 * MB)]),
                0,
                rng.choice([0.01, 0.05, 0.2, 0.5, 0.9, rng.random()]),
            )
            for i in range(10)
        ]
        c = Constraints(5, 40 * MB)
        try:
            exact = partition(items, c)
        except LimitError:
            continue
        with exact_up_to(5):
            heuristic = partition(items, c)
        gaps.append(heuristic.expected_bytes / exact.expected_bytes - 1)
    assert len(gaps) >= 15
    assert max(gaps) < 0.05
    assert sum(gaps) / len(gaps) < 0.01


# --------------------------------------------------------------------------- properties


@settings(max_examples=100, deadline=None)
@given(instances(max_items=9), st.randoms(use_true_random=False))
def test_deterministic_and_independent_of_input_order(
    case: tuple[list[Item], Constraints], rnd: random.Random
) -> None:
    items, c = case
    shuffled = list(items)
    rnd.shuffle(shuffled)
    try:
        first = partition(items, c)
    except LimitError as exc:
        failure = str(exc)
    else:
        assert partition(shuffled, c) == first
        assert partition(items, c) == first
        return
    with pytest.raises(LimitError) as again:
        partition(shuffled, c)
    assert str(again.value) == failure


@settings(max_examples=40, deadline=None)
@given(instances(max_items=16, pinned=False), st.randoms(use_true_random=False))
def test_heuristic_path_is_order_independent_and_never_worse_than_one_layer(
    case: tuple[list[Item], Constraints], rnd: random.Random
) -> None:
    items, c = case
    shuffled = list(items)
    rnd.shuffle(shuffled)
    with exact_up_to(6):
        try:
            plan = partition(items, c)
        except LimitError:
            return
        assert partition(shuffled, c) == plan
    check_plan(plan, items, c)
    fits_one = (
        c.max_zipped_per_layer is None
        or sum(i.size_zipped for i in items) <= c.max_zipped_per_layer
    )
    if fits_one:
        one_layer = plan.single_layer_bytes + (c.layer_overhead if items else 0.0)
        assert plan.objective <= one_layer * (1 + 1e-9) + 1e-6


@settings(max_examples=150, deadline=None)
@given(instances(max_items=9), st.data())
def test_stickiness_never_violates_a_limit(
    case: tuple[list[Item], Constraints], data: st.DataObject
) -> None:
    items, c = case
    layer_names = ["old-1", "old-2", "old-3", "Pinned_A", "old-4", "old-5", "old-6"]
    previous = {
        item.name: data.draw(st.sampled_from(layer_names))
        for item in items
        if data.draw(st.booleans())
    }
    previous["gone-package"] = "old-1"
    try:
        fresh = partition(items, c)
    except LimitError:
        with pytest.raises(LimitError):
            partition(items, c, previous)
        return
    plan = partition(items, c, previous)
    check_plan(plan, items, c)
    assert partition(list(reversed(items)), c, dict(reversed(list(previous.items())))) == plan
    # When the previous layers respect every limit, nobody they name moves.
    pinned_of = {p: g for g, ps in c.pinned_groups.items() for p in ps}
    kept: dict[str, int] = {}
    for item in items:
        layer = previous.get(item.name)
        if layer is not None and item.name not in pinned_of:
            kept[layer] = kept.get(layer, 0) + item.size_zipped
    respects = len(
        set(kept) | {g for g, ps in c.pinned_groups.items() if set(ps) & {i.name for i in items}}
    ) <= c.max_layers and all(
        c.max_zipped_per_layer is None
        or size + sum(i.size_zipped for i in items if pinned_of.get(i.name) == layer)
        <= c.max_zipped_per_layer
        for layer, size in kept.items()
    )
    if respects:
        where = plan.assignment()
        for name, layer in previous.items():
            if name in where and name not in pinned_of:
                assert where[name] == layer
    # re-planning with a zero margin is never worse than honouring or the fresh optimum
    again = replan(items, c, previous, margin=0.0)
    check_plan(again, items, c)
    assert again.objective <= plan.objective * (1 + 1e-9) + 1e-6
    assert again.objective == pytest.approx(min(plan.objective, fresh.objective))


# --------------------------------------------------------------------------- stickiness


def test_new_packages_join_without_moving_others_and_gone_ones_drop() -> None:
    items = [
        Item("numpy", 16 * MB, 0, 0.1),
        Item("pandas", 12 * MB, 0, 0.1),
        Item("pydantic", 500_000, 0, 0.5),
        Item("requests", 70_000, 0, 0.05),
    ]
    c = Constraints(5, DIRECT_UPLOAD_MAX)
    first = partition(items, c)
    previous = first.assignment()
    bumped = [*items[:3], Item("idna", 69_000, 0, 0.3)]  # requests gone, idna new
    plan = partition(bumped, c, previous)
    where = plan.assignment()
    for name in ("numpy", "pandas", "pydantic"):
        assert where[name] == previous[name]
    assert "requests" not in where
    assert "idna" in where
    # A rate change alone never reshuffles: honouring ignores what the fresh optimum would do.
    changed = [
        Item(i.name, i.size_zipped, 0, 0.99 if i.name == "numpy" else i.change_rate) for i in items
    ]
    assert partition(changed, c, previous).assignment() == previous


def test_layer_over_the_limit_sheds_its_largest_package() -> None:
    items = [
        Item("scipy", 34 * MB, 0, 0.1),
        Item("numpy", 16 * MB, 0, 0.1),
        Item("six", 10_000, 0, 0.0),
    ]
    previous = {"scipy": "science", "numpy": "science", "six": "science"}
    plan = partition(items, Constraints(5, None), previous)
    assert [layer.name for layer in plan.layers] == ["science"]
    grown = [Item("scipy", 40 * MB, 0, 0.1), *items[1:]]
    plan = partition(grown, Constraints(5, DIRECT_UPLOAD_MAX), previous)
    where = plan.assignment()
    assert where["numpy"] == "science"
    assert where["six"] == "science"
    assert where["scipy"] != "science"


def test_too_many_kept_layers_dissolves_the_smallest() -> None:
    items = [Item(n, s * MB, 0, 0.1) for n, s in [("a", 10), ("b", 8), ("c", 1), ("d", 6)]]
    previous = {"a": "la", "b": "lb", "c": "lc", "d": "ld"}
    plan = partition(items, Constraints(3, None), previous)
    where = plan.assignment()
    assert (where["a"], where["b"], where["d"]) == ("la", "lb", "ld")
    assert where["c"] in {"la", "lb", "ld"}


def test_replan_takes_the_fresh_plan_only_for_a_clear_saving() -> None:
    items = [Item("big-stable", 20 * MB, 0, 0.01), Item("small-hot", 100_000, 0, 0.9)]
    c = Constraints(5, None)
    together = {"big-stable": "deps", "small-hot": "deps"}
    sticky = partition(items, c, together)
    assert sticky.assignment() == together
    fresh = replan(items, c, together, margin=0.10)
    assert fresh.expected_bytes < sticky.expected_bytes * 0.9
    assert fresh.assignment()["big-stable"] != fresh.assignment()["small-hot"]
    assert "deps" in {layer.name for layer in fresh.layers}, "old name kept by overlap"
    # a small saving does not reshuffle
    mild = [Item("big-stable", 20 * MB, 0, 0.9), Item("small-hot", 100_000, 0, 0.1)]
    assert partition(mild, c).expected_bytes < partition(mild, c, together).expected_bytes
    assert replan(mild, c, together, margin=0.10).assignment() == together
    with pytest.raises(ConfigError):
        replan(items, c, together, margin=1.5)


# --------------------------------------------------------------------------- names and errors


def test_layer_names_pinned_kept_generated_sanitized_and_distinct() -> None:
    items = [
        Item("Zope.Interface", 5 * MB, 0, 0.9),
        Item("zope-interface-extra", 5 * MB, 0, 0.0),
        Item("numpy", 16 * MB, 0, 0.2),
        Item("pandas", 12 * MB, 0, 0.2),
    ]
    c = Constraints(5, None, {"Data_Stack": ("numpy", "Pandas")})
    plan = partition(items, c)
    names = {layer.name for layer in plan.layers}
    assert "Data_Stack" in names
    assert plan.assignment()["numpy"] == "Data_Stack"
    assert plan.assignment()["pandas"] == "Data_Stack"
    for name in names - {"Data_Stack"}:
        assert name.replace("-", "").isalnum()
        assert name == name.lower()
    assert "zope-interface" in names


def test_single_package_over_direct_limit_names_it_and_suggests_s3() -> None:
    items = [Item("pyarrow", 55_043_763, 0, 0.1), Item("six", 10_000, 0, 0.0)]
    with pytest.raises(LimitError) as info:
        partition(items, Constraints(5, DIRECT_UPLOAD_MAX))
    message = str(info.value)
    assert "pyarrow" in message
    assert "55,043,763" in message
    assert "52,428,800" in message
    assert 'upload = "s3"' in message
    assert partition(items, Constraints(5, None)).layers


def test_not_fitting_in_max_layers_says_so_with_sizes() -> None:
    items = [Item(f"p{i}", 30 * MB, 0, 0.1) for i in range(4)]
    with pytest.raises(LimitError) as info:
        partition(items, Constraints(2, DIRECT_UPLOAD_MAX))
    message = str(info.value)
    assert "max-layers is 2" in message
    assert "120,000,000" in message
    # three 30 MB packages cannot pair up under 50 MiB: 3 layers needed although 90 MB < 2 x 50 MiB
    with pytest.raises(LimitError, match="cannot be packed into 2 layers"):
        partition(items[:3], Constraints(2, DIRECT_UPLOAD_MAX))
    assert len(partition(items[:3], Constraints(3, DIRECT_UPLOAD_MAX)).layers) == 3


def test_heuristic_path_reports_infeasibility_too() -> None:
    items = [Item(f"p{i:02d}", 30 * MB, 0, 0.1) for i in range(14)]
    with pytest.raises(LimitError):
        partition(items, Constraints(5, DIRECT_UPLOAD_MAX))


def test_pinned_group_contradictions_are_config_errors() -> None:
    items = [Item(n, MB, 0, 0.1) for n in "abc"]
    with pytest.raises(ConfigError, match="max-layers is 1"):
        partition(items, Constraints(1, None, {"x": ("a",), "y": ("b",)}))
    with pytest.raises(ConfigError, match="already pinned"):
        partition(items, Constraints(3, None, {"x": ("a",), "y": ("a", "b")}))
    with pytest.raises(LimitError, match="pinned layer 'x'"):
        partition(
            [Item("a", 30 * MB, 0, 0.1), Item("b", 30 * MB, 0, 0.1)],
            Constraints(3, DIRECT_UPLOAD_MAX, {"x": ("a", "b")}),
        )


def test_large_instance_uses_heuristic_with_a_bound() -> None:
    rng = random.Random(3)
    items = [
        Item(f"dist-{i:03d}", rng.randint(5_000, 8 * MB), 0, rng.choice([0.01, 0.1, 0.4, 0.9]))
        for i in range(40)
    ]
    plan = partition(items, Constraints(5, DIRECT_UPLOAD_MAX))
    check_plan(plan, items, Constraints(5, DIRECT_UPLOAD_MAX))
    assert not plan.exact
    assert plan.lower_bound is not None
    assert 0 < plan.lower_bound <= plan.expected_bytes
    assert plan.expected_bytes <= plan.single_layer_bytes
    assert math.isfinite(plan.expected_bytes)


def test_empty_input() -> None:
    plan = partition([], Constraints(5, DIRECT_UPLOAD_MAX))
    assert plan.layers == ()
    assert plan.expected_bytes == 0.0
    assert plan.exact


# --------------------------------------------------------------------------- the cost


def subsets(items: Sequence[Item], data: st.DataObject) -> tuple[list[Item], list[Item]]:
    """Two disjoint random subsets of `items`."""
    side = [(i, data.draw(st.integers(0, 2))) for i in items]
    return [i for i, s in side if s == 1], [i for i, s in side if s == 2]


@settings(max_examples=200, deadline=None)
@given(instances(max_items=8, pinned=False), st.data())
def test_layer_cost_is_monotone_superadditive_and_bounded(
    case: tuple[list[Item], Constraints], data: st.DataObject
) -> None:
    items, _ = case
    a, b = subsets(items, data)
    extra = data.draw(st.lists(st.sampled_from(items), unique=True)) if items else []
    grown = a + [i for i in extra if i not in a]

    def size(layer: Sequence[Item]) -> int:
        return sum(i.size_zipped for i in layer)

    tol = 1e-9 * (1 + size(items))
    assert 0.0 <= layer_cost(a) <= size(a) + tol
    assert layer_cost(a) <= layer_cost(grown) + tol, "a member joining never makes it cheaper"
    if size(a) and size(grown):
        assert layer_cost(a) / size(a) <= layer_cost(grown) / size(grown) + 1e-9, "P grows"
    assert layer_cost(a + b) >= layer_cost(a) + layer_cost(b) - tol, "the heuristic's bound"
    for item in items:
        own = item.size_zipped * item.change_rate
        assert layer_cost([item]) == pytest.approx(own, rel=1e-6, abs=1e-6)


def test_solver_cost_is_the_layer_cost() -> None:
    items = [Item("a", 3 * MB, 0, 0.3), Item("b", MB, 0, 0.25), Item("c", 10, 0, 1.0)]
    for layer in ([items[0]], items[:2], items):
        total = sum(solver.hazard(i.change_rate) for i in layer)
        assert solver.block_cost(sum(i.size_zipped for i in layer), total) == pytest.approx(
            layer_cost(layer)
        )
    assert solver.hazard(1.0) == math.inf
    assert solver.hazard(0.0) == 0.0


# --------------------------------------------------------------------------- per-layer overhead


def test_a_small_project_gets_few_layers_and_a_large_one_still_splits() -> None:
    """Every layer costs an overhead: a 2 MB project is not split five ways to save a few
    hundred kilobytes per build, while a volatile giant still gets a layer of its own."""
    small = [
        Item("pydantic-core", 2_260_000, 0, 0.27),
        Item("pydantic", 490_000, 0, 0.2),
        Item("urllib3", 130_000, 0, 0.12),
        Item("certifi", 130_000, 0, 0.15),
        Item("charset-normalizer", 260_000, 0, 0.15),
        Item("requests", 70_000, 0, 0.1),
        Item("idna", 70_000, 0, 0.17),
    ]
    free = partition(small, Constraints(5, DIRECT_UPLOAD_MAX))
    assert len(free.layers) == 5
    costed = partition(small, Constraints(5, DIRECT_UPLOAD_MAX, layer_overhead=MB))
    assert len(costed.layers) <= 2
    assert costed.objective < free.expected_bytes + MB * len(free.layers)
    large = [
        Item("botocore", 16 * MB, 0, 0.95),
        Item("numpy", 16 * MB, 0, 0.1),
        Item("pandas", 12 * MB, 0, 0.1),
        Item("requests", 70_000, 0, 0.05),
    ]
    plan = partition(large, Constraints(5, DIRECT_UPLOAD_MAX, layer_overhead=MB))
    assert plan.assignment()["botocore"] != plan.assignment()["numpy"]


@settings(max_examples=60, deadline=None)
@given(instances(max_items=7))
def test_more_overhead_never_means_more_layers(case: tuple[list[Item], Constraints]) -> None:
    items, c = case
    try:
        cheap = partition(items, replace(c, layer_overhead=0.0))
        dear = partition(items, replace(c, layer_overhead=10.0 * MB))
    except LimitError:
        return
    assert len(dear.layers) <= len(cheap.layers)


# --------------------------------------------------------------------------- names


def test_layers_are_named_after_a_direct_dependency_they_hold() -> None:
    items = [
        Item("urllib3", 130_000, 0, 0.1),
        Item("requests", 70_000, 0, 0.1, direct=True),
        Item("idna", 70_000, 0, 0.1),
    ]
    plan = partition(items, Constraints(1, None))
    assert [layer.name for layer in plan.layers] == ["requests"]


def test_a_kept_layer_is_renamed_when_it_lost_the_package_it_was_named_after() -> None:
    """botocore went to `provided`: the layer called "botocore" must not keep that name, while
    a hand-chosen name and a name still true stay."""
    items = [Item("aws-xray-sdk", 300_000, 0, 0.1, direct=True), Item("wrapt", 80_000, 0, 0.1)]
    previous = {"botocore": "botocore", "aws-xray-sdk": "botocore", "wrapt": "misc"}
    plan = partition(items, Constraints(5, None), previous)
    where = plan.assignment()
    assert where["aws-xray-sdk"] == "aws-xray-sdk"
    assert where["wrapt"] == "misc"
    kept = partition(items, Constraints(5, None), {"aws-xray-sdk": "aws-xray-sdk-2"})
    assert kept.assignment()["aws-xray-sdk"] == "aws-xray-sdk-2"
