"""Layers for functions that need different packages (`plan.functionsets`): pure, property-tested.

Every package lands in exactly one layer; each function attaches layers that hold all it needs,
at most `max_layers` of them; a layer holds only packages every function attaching it needs
unless merging was required to fit the slots; the result does not depend on input order; and
when every function needs everything, the plan is exactly `partition`'s.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hatch_lambda_layers.errors import LimitError
from hatch_lambda_layers.plan.functionsets import (
    FunctionPlan,
    closures_differ,
    function_sets,
    partition_functions,
)
from hatch_lambda_layers.plan.partition import Constraints, Item, partition
from hatch_lambda_layers.targets import DIRECT_UPLOAD_MAX

MB = 1_000_000


def _item(name: str, mb: float, rate: float = 0.1) -> Item:
    return Item(name, int(mb * MB), int(mb * 3 * MB), rate)


def _check(
    result: FunctionPlan, items: list[Item], needs: dict[str, frozenset[str]], k: int
) -> None:
    placed = [p for layer in result.plan.layers for p in layer.packages]
    assert sorted(placed) == sorted(i.name for i in items)  # each package exactly once
    holds = {x.name: set(x.packages) for x in result.plan.layers}
    assert len(holds) == len(result.plan.layers)  # names distinct
    for fn, need in needs.items():
        attached = result.attached[fn]
        assert len(attached) <= k
        assert need <= set().union(*(holds[x] for x in attached)) if attached else not need


# --------------------------------------------------------------------------- examples

API = frozenset({"pydantic", "pydantic-core", "typing-extensions", "annotated-types"})
WORKER = frozenset({"pandas", "numpy", "python-dateutil", "six", "pytz", "tzdata"})
AUTH = frozenset({"pyjwt"})
SIZES = {
    "pydantic": 1.5,
    "pydantic-core": 2.0,
    "typing-extensions": 0.05,
    "annotated-types": 0.02,
    "pandas": 14.0,
    "numpy": 7.0,
    "python-dateutil": 0.1,
    "six": 0.01,
    "pytz": 0.2,
    "tzdata": 0.15,
    "pyjwt": 0.03,
}


def test_three_functions_attach_only_their_own_layers() -> None:
    items = [_item(n, mb) for n, mb in sorted(SIZES.items())]
    needs = {"api": API, "worker": WORKER, "auth": AUTH}
    constraints = Constraints(5, DIRECT_UPLOAD_MAX, layer_overhead=0.0)
    result = partition_functions(items, constraints, needs)
    _check(result, items, needs, 5)
    holds = {x.name: set(x.packages) for x in result.plan.layers}
    for fn, need in needs.items():
        attached = set().union(*(holds[x] for x in result.attached[fn]))
        assert attached == need, fn  # nothing another function needs alone
    assert not set(result.attached["api"]) & set(result.attached["worker"])
    assert result.plan.exact is False
    assert result.plan.lower_bound is not None
    assert result.plan.lower_bound <= result.plan.objective + 1e-6


def test_shared_packages_go_to_shared_layers() -> None:
    needs = {
        "api": frozenset({"pydantic", "requests", "urllib3"}),
        "worker": frozenset({"pandas", "requests", "urllib3"}),
    }
    items = [_item(n, 1.0) for n in ("pandas", "pydantic", "requests", "urllib3")]
    result = partition_functions(items, Constraints(5, None, layer_overhead=500_000.0), needs)
    _check(result, items, needs, 5)
    shared = set(result.attached["api"]) & set(result.attached["worker"])
    assert shared
    holds = {x.name: set(x.packages) for x in result.plan.layers}
    assert set().union(*(holds[x] for x in shared)) == {"requests", "urllib3"}


def test_more_classes_than_slots_merge_the_cheapest_pair() -> None:
    """Six functions over subsets of four packages: a function in more than two classes gets
    them merged, and every function stays within two layers."""
    names = ["a", "b", "c", "d"]
    rng = random.Random(3)
    needs = {f"f{n}": frozenset(rng.sample(names, rng.randint(1, 4))) for n in range(6)} | {
        "all": frozenset(names)
    }
    items = [_item(n, 1.0 + i) for i, n in enumerate(names)]
    result = partition_functions(items, Constraints(2, None, layer_overhead=0.0), needs)
    _check(result, items, needs, 2)


def test_one_class_is_exactly_the_partition() -> None:
    items = [_item(n, mb) for n, mb in sorted(SIZES.items())]
    everything = frozenset(SIZES)
    constraints = Constraints(4, DIRECT_UPLOAD_MAX, layer_overhead=100_000.0)
    result = partition_functions(items, constraints, {"a": everything, "b": everything})
    assert result.plan == partition(items, constraints)
    assert result.attached["a"] == result.attached["b"] == tuple(x.name for x in result.plan.layers)
    assert not closures_differ({"a": everything}, sorted(SIZES))
    assert closures_differ({"a": everything, "b": AUTH}, sorted(SIZES))


def test_pinned_groups_stay_whole_across_functions() -> None:
    sets = function_sets(
        [_item(n, 1.0) for n in ("x", "y", "z")],
        {"f": frozenset({"x"}), "g": frozenset({"y"})},
        {"pinned": ("x", "y")},
    )
    assert sets["x"] == sets["y"] == frozenset({"f", "g"})
    assert sets["z"] == frozenset({"f", "g"})  # needed by none: goes with every function


def test_previous_names_are_kept_per_class() -> None:
    items = [_item(n, mb) for n, mb in sorted(SIZES.items())]
    needs = {"api": API, "worker": WORKER, "auth": AUTH}
    constraints = Constraints(5, DIRECT_UPLOAD_MAX, layer_overhead=0.0)
    first = partition_functions(items, constraints, needs)
    again = partition_functions(items, constraints, needs, first.plan.assignment())
    assert again.plan.assignment() == first.plan.assignment()
    assert again.attached == first.attached


def test_a_function_that_cannot_fit_its_classes_is_named() -> None:
    """Two slots: f's own packages need two layers of at most 50 MiB, and the package it
    shares with g a third."""
    items = [_item("own-a", 40.0), _item("own-b", 40.0), _item("shared", 40.0), _item("s", 1)]
    needs = {"f": frozenset({"own-a", "own-b", "shared"}), "g": frozenset({"shared", "s"})}
    with pytest.raises(LimitError, match="function f needs 3 layers"):
        partition_functions(items, Constraints(2, DIRECT_UPLOAD_MAX), needs)


# --------------------------------------------------------------------------- properties


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[Item], dict[str, frozenset[str]], int]:
    count = draw(st.integers(1, 9))
    names = [f"p{n}" for n in range(count)]
    items = [
        Item(
            name,
            draw(st.integers(1, 5_000_000)),
            draw(st.integers(1, 10_000_000)),
            draw(st.floats(0.0, 0.9)),
        )
        for name in names
    ]
    functions = draw(st.integers(1, 4))
    needs = {
        f"f{n}": frozenset(draw(st.lists(st.sampled_from(names), max_size=count)))
        for n in range(functions)
    }
    needs["f0"] = needs["f0"] | {names[0]}
    return items, needs, draw(st.integers(1, 5))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_every_function_gets_what_it_needs_within_its_slots(
    case: tuple[list[Item], dict[str, frozenset[str]], int],
) -> None:
    items, needs, k = case
    constraints = Constraints(k, None, layer_overhead=250_000.0)
    result = partition_functions(items, constraints, needs)
    _check(result, items, needs, k)
    # Deterministic and independent of input order.
    shuffled = list(reversed(items))
    reordered = dict(reversed(list(needs.items())))
    again = partition_functions(shuffled, constraints, reordered)
    assert again.plan.layers == result.plan.layers
    assert dict(again.attached) == dict(result.attached)
