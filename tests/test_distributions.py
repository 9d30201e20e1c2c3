"""Provided-package removal and wheel selection (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.utils import canonicalize_name

from hatch_lambda_layers.errors import NoCompatibleWheelError
from hatch_lambda_layers.resolve.graph import (
    PinnedPackage,
    WheelLink,
    graph_from_mapping,
    select_wheel,
    split_provided,
)
from hatch_lambda_layers.targets import get_target

GRAPH = graph_from_mapping(
    ["app-lib", "boto3", "requests"],
    {
        "app-lib": ("1.0", ["requests", "attrs"]),
        "requests": ("2.32", ["urllib3", "idna"]),
        "boto3": ("1.40", ["botocore", "s3transfer", "jmespath"]),
        "botocore": ("1.40", ["urllib3", "jmespath", "python-dateutil"]),
        "s3transfer": ("0.14", ["botocore"]),
        "python-dateutil": ("2.9", ["six"]),
        "jmespath": ("1.0", []),
        "six": ("1.17", []),
        "urllib3": ("2.5", []),
        "idna": ("3.10", []),
        "attrs": ("25.1", []),
    },
)


def test_provided_and_what_only_they_need_are_left_out() -> None:
    closure = split_provided(GRAPH, ["Boto3"])
    assert [p.name for p in closure.bundled] == ["app-lib", "attrs", "idna", "requests", "urllib3"]
    reasons = {x.name: x.reason for x in closure.left_out}
    assert reasons == {
        "boto3": "provided",
        "botocore": "only needed by provided boto3, s3transfer",
        "jmespath": "only needed by provided boto3, botocore",
        "python-dateutil": "only needed by provided botocore",
        "s3transfer": "only needed by provided boto3",
        "six": "only needed by provided python-dateutil",
    }
    # urllib3 is needed by botocore *and* by requests: it stays.
    assert "urllib3" not in reasons


def test_nothing_provided_bundles_the_whole_closure() -> None:
    closure = split_provided(GRAPH, [])
    assert len(closure.bundled) == len(GRAPH.packages)
    assert closure.left_out == ()


def test_a_provided_root_that_is_also_a_dependency_of_a_bundled_package_is_left_out() -> None:
    graph = graph_from_mapping(["a"], {"a": ("1", ["b"]), "b": ("1", ["c"]), "c": ("1", [])})
    closure = split_provided(graph, ["b"])
    assert [p.name for p in closure.bundled] == ["a"]
    assert {x.name for x in closure.left_out} == {"b", "c"}


names = st.sampled_from([f"p{i}" for i in range(8)])


@given(
    edges=st.dictionaries(names, st.lists(names, max_size=4), min_size=1),
    roots=st.lists(names, min_size=1, max_size=3),
    provided=st.lists(names, max_size=3),
)
def test_split_is_a_partition_of_the_reachable_closure(
    edges: dict[str, list[str]], roots: list[str], provided: list[str]
) -> None:
    packages = {
        n: ("1", edges.get(n, []))
        for n in {*edges, *roots, *(d for v in edges.values() for d in v)}
    }
    graph = graph_from_mapping(roots, packages)
    closure = split_provided(graph, provided)
    bundled = {p.name for p in closure.bundled}
    left = {x.name for x in closure.left_out}
    assert not bundled & left
    assert not bundled & {canonicalize_name(p) for p in provided}
    # Every dependency of a bundled package is bundled unless it is provided itself.
    for p in closure.bundled:
        for d in p.dependencies:
            assert d in bundled or d in {canonicalize_name(x) for x in provided}


def _pkg(*filenames: str) -> PinnedPackage:
    return PinnedPackage(
        name=canonicalize_name("numpy"),
        version="2.3.1",
        wheels=tuple(WheelLink(f, f"http://127.0.0.1:1/{f}", "0" * 64) for f in filenames),
    )


def test_select_wheel_takes_the_targets_most_preferred() -> None:
    pkg = _pkg(
        "numpy-2.3.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "numpy-2.3.1-cp311-abi3-manylinux_2_17_x86_64.whl",
        "numpy-2.3.1-py3-none-any.whl",
        "numpy-2.3.1-cp311-cp311-manylinux_2_17_aarch64.whl",
    )
    chosen = select_wheel(pkg, get_target("python3.11", "x86_64"))
    assert chosen.filename.startswith("numpy-2.3.1-cp311-cp311-manylinux_2_17_x86_64")
    arm = select_wheel(pkg, get_target("python3.11", "arm64"))
    assert "aarch64" in arm.filename


def test_a_release_needing_newer_glibc_is_refused_for_python311() -> None:
    """Recent numpy/pyarrow ship only manylinux_2_27/2_28 wheels for cp311: they cannot load on
    the python3.11 runtime's glibc 2.26, so the build must refuse them."""
    pkg = _pkg(
        "numpy-2.3.1-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
        "numpy-2.3.1-cp311-cp311-musllinux_1_2_x86_64.whl",
        "numpy-2.3.1-cp311-cp311-win_amd64.whl",
    )
    with pytest.raises(NoCompatibleWheelError) as info:
        select_wheel(pkg, get_target("python3.11", "x86_64"))
    message = str(info.value)
    assert "numpy 2.3.1 has no wheel for python3.11 x86_64" in message
    assert "manylinux_2_28_x86_64" in message
    assert "glibc <= 2.26" in message
    assert info.value.exit_code == 1
    # The same wheel loads on python3.12's glibc 2.34 ... if it were a cp312 wheel.
    assert select_wheel(
        _pkg("numpy-2.3.1-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl"),
        get_target("python3.12", "x86_64"),
    )


def test_sdist_only_package_says_so() -> None:
    pkg = PinnedPackage(name=canonicalize_name("legacy"), version="0.1", has_sdist=True)
    with pytest.raises(NoCompatibleWheelError, match=r"legacy 0\.1 .*only an sdist"):
        select_wheel(pkg, get_target("python3.12", "arm64"))
