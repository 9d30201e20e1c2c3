"""lambda-layers.lock: deterministic writing, round-trips, and errors that name the field."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hatch_lambda_layers.plan.partition import Constraints, Item, partition
from hatch_lambda_layers.plan.planfile import (
    PlanFile,
    PlanFileError,
    PlannedLayer,
    PlannedPackage,
    dumps_planfile,
    from_plan,
    loads_planfile,
    read_planfile,
    write_planfile,
)
from hatch_lambda_layers.plan.rates import SOURCES, RateEstimate

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def sample() -> PlanFile:
    items = [
        Item("numpy", 16_000_000, 0, 0.2),
        Item("pandas", 12_000_000, 0, 0.1),
        Item("pydantic-core", 2_000_000, 0, 0.6),
    ]
    rates = {
        "numpy": RateEstimate(0.2, "release-cadence"),
        "pandas": RateEstimate(0.1, "lock-history"),
        "pydantic-core": RateEstimate(0.6123456789, "override"),
    }
    plan = partition(items, Constraints(2, None))
    first = plan.layers[0].name
    return from_plan(
        plan, rates, runtime="python3.12", architecture="x86_64", records={first: (3, "sha256:ab")}
    )


def test_round_trip_and_assignment(tmp_path: Path) -> None:
    pf = sample()
    text = dumps_planfile(pf)
    assert text.startswith("# lambda-layers.lock")
    again = loads_planfile(text)
    assert again == pf
    assert dumps_planfile(again) == text
    assert again.assignment() == {p.name: layer.name for layer in pf.layers for p in layer.packages}
    assert again.rates()["pydantic-core"] == RateEstimate(0.612346, "override")
    first = pf.layers[0].name
    assert again.layer_record(first) == (3, "sha256:ab")
    assert again.layer_record(pf.layers[-1].name) is None
    assert again.layer_record("nope") is None
    path = tmp_path / "lambda-layers.lock"
    assert read_planfile(path) is None
    write_planfile(path, pf)
    assert read_planfile(path) == pf


def test_output_is_deterministic_whatever_the_order() -> None:
    a = PlanFile(
        runtime="python3.12",
        architecture="arm64",
        layers=(
            PlannedLayer(
                name="b",
                packages=(
                    PlannedPackage(name="y", rate=0.5, source="unknown"),
                    PlannedPackage(name="x", rate=1e-7, source="unknown"),
                ),
            ),
            PlannedLayer(
                name="a", packages=(PlannedPackage(name="z", rate=1.0, source="override"),)
            ),
        ),
    )
    b = PlanFile(runtime=a.runtime, architecture=a.architecture, layers=tuple(reversed(a.layers)))
    assert dumps_planfile(a) == dumps_planfile(b)
    text = dumps_planfile(a)
    assert text.index('name = "a"') < text.index('name = "b"')
    assert text.index('name = "x"') < text.index('name = "y"')


SURROGATES: tuple[Literal["Cs"]] = ("Cs",)
names = st.text(alphabet=st.characters(blacklist_categories=SURROGATES), min_size=1, max_size=12)
layer_names = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)


@given(
    st.lists(
        st.tuples(
            layer_names,
            st.lists(st.tuples(names, st.floats(0, 1), st.sampled_from(SOURCES)), max_size=4),
            st.one_of(st.none(), st.integers(1, 10**6)),
            st.one_of(st.none(), names),
        ),
        max_size=4,
        unique_by=lambda layer: layer[0],
    ),
    names,
)
def test_round_trip_property(raw: list[tuple], runtime: str) -> None:  # type: ignore[type-arg]
    seen: set[str] = set()
    layers = []
    for name, packages, version, content_hash in raw:
        kept = []
        for pname, rate, source in packages:
            if pname in seen:
                continue
            seen.add(pname)
            kept.append(PlannedPackage(name=pname, rate=round(rate, 6), source=source))
        layers.append(
            PlannedLayer(
                name=name,
                packages=tuple(sorted(kept, key=lambda p: p.name)),
                version=version,
                content_hash=content_hash,
            )
        )
    pf = PlanFile(
        runtime=runtime, architecture="x86_64", layers=tuple(sorted(layers, key=lambda x: x.name))
    )
    text = dumps_planfile(pf)
    tomllib.loads(text)  # valid TOML whatever the characters
    assert loads_planfile(text) == pf


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("version = [", "not valid TOML"),
        ('version = "1"', "`version` must be an integer"),
        ("version = 99\n[target]\nruntime='p'\narchitecture='a'", "newer hatch-lambda-layers"),
        ("version = 1", "[target]"),
        (
            "version = 1\n[target]\nruntime='p'\narchitecture='a'\n"
            "[[layers]]\nname='l'\npackages=[{name='x', rate=2.0, source='unknown'}]",
            "layers[0].packages[0]: `rate` must be a number from 0 to 1",
        ),
        (
            "version = 1\n[target]\nruntime='p'\narchitecture='a'\n"
            "[[layers]]\nname='l'\npackages=[{name='x', rate=0.5, source='guess'}]",
            "`source` must be one of",
        ),
        (
            "version = 1\n[target]\nruntime='p'\narchitecture='a'\n"
            "[[layers]]\nname='l'\npackages=[{name='x', rate=0.5, source='unknown'}]\n"
            "[[layers]]\nname='m'\npackages=[{name='x', rate=0.5, source='unknown'}]",
            "already in layer 'l'",
        ),
        (
            "version = 1\n[target]\nruntime='p'\narchitecture='a'\n"
            "[[layers]]\nname='l'\npackages=[]\n[[layers]]\nname='l'\npackages=[]",
            "appears twice",
        ),
    ],
)
def test_errors_name_the_field_and_the_fix(text: str, needle: str) -> None:
    with pytest.raises(PlanFileError) as info:
        loads_planfile(text, "proj/lambda-layers.lock")
    message = str(info.value)
    assert needle in message
    assert message.startswith("proj/lambda-layers.lock")
    assert info.value.exit_code == 2


@pytest.mark.parametrize("bad", ["../escape", "a/b", "..", "x" * 65, "sp ace", "dot.ted", "é"])
def test_layer_names_that_could_leave_a_directory_are_refused(bad: str) -> None:
    text = (
        "version = 1\n[target]\nruntime='p'\narchitecture='a'\n"
        f"[[layers]]\nname={json.dumps(bad)}\npackages=[]"
    )
    with pytest.raises(PlanFileError) as info:
        loads_planfile(text, "proj/lambda-layers.lock")
    assert str(info.value) == (
        "proj/lambda-layers.lock: layers[0]: `name` must be 1 to 64 letters, digits, '-' or '_' "
        f"(it becomes a file and a layer name), got {bad!r}; fix it or rewrite it with "
        "`lambda-layers plan --update`"
    )
    assert info.value.exit_code == 2


def test_from_plan_needs_a_rate_for_every_package() -> None:
    plan = partition([Item("a", 1, 0, 0.1)], Constraints(1, None))
    with pytest.raises(ValueError, match="no change rate for 'a'"):
        from_plan(plan, {}, runtime="python3.12", architecture="x86_64")
