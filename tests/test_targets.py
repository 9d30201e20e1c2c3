from __future__ import annotations

import dataclasses
import json
import platform
import sys
from pathlib import Path
from typing import Any

import packaging.markers
import packaging.tags
import pytest
from packaging.markers import Marker
from packaging.tags import Tag

from hatch_lambda_layers import targets as targets_module
from hatch_lambda_layers.errors import ConfigError
from hatch_lambda_layers.targets import ARCHITECTURES, RUNTIMES, Target, get_target

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "shared" / "lambda-platforms"
HOST_DESCRIBED_KEYS = {"platform_release", "platform_version"}
HOST_RUNTIME = f"python{sys.version_info[0]}.{sys.version_info[1]}"
ALL_TARGETS = [(runtime, arch) for runtime in RUNTIMES for arch in ARCHITECTURES]


def _reference(runtime: str, architecture: str) -> dict[str, Any]:
    path = REFERENCE_DIR / f"{runtime}-{architecture}.json"
    if not path.is_file():
        pytest.skip(f"reference data {path} is missing (expected ../shared beside the repo)")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _is_plain_linux(tag: str) -> bool:
    return tag.rsplit("-", 1)[-1].startswith("linux_")


def test_constants() -> None:
    assert RUNTIMES == ("python3.10", "python3.11", "python3.12", "python3.13", "python3.14")
    assert ARCHITECTURES == ("x86_64", "arm64")


@pytest.mark.parametrize(("runtime", "architecture"), ALL_TARGETS)
def test_tags_match_reference_without_linux_tags(runtime: str, architecture: str) -> None:
    reference = _reference(runtime, architecture)["compatible_tags"]
    expected = [tag for tag in reference if not _is_plain_linux(tag)]
    assert len(expected) < len(reference)  # the reference does carry linux_* tags
    assert [str(tag) for tag in get_target(runtime, architecture).tags] == expected


@pytest.mark.parametrize(("runtime", "architecture"), ALL_TARGETS)
def test_marker_environment_matches_reference(runtime: str, architecture: str) -> None:
    reference = _reference(runtime, architecture)["marker_environment"]
    target = get_target(runtime, architecture)
    env = dict(target.marker_environment)
    assert set(env) == set(reference)
    assert set(env) >= set(packaging.markers.default_environment())
    for key in set(reference) - HOST_DESCRIBED_KEYS:
        assert env[key] == reference[key], key
    for key in HOST_DESCRIBED_KEYS:
        assert env[key] == ""
    assert target.python_full_version == reference["python_full_version"]


@pytest.mark.parametrize(("runtime", "architecture"), ALL_TARGETS)
def test_target_facts(runtime: str, architecture: str) -> None:
    target = get_target(runtime, architecture)
    minor = int(runtime.split(".")[1])
    glibc = (2, 26) if minor <= 11 else (2, 34)
    machine = "aarch64" if architecture == "arm64" else "x86_64"

    assert target.python_version == (3, minor)
    assert target.abi == f"cp3{minor}"
    assert target.glibc == glibc
    assert target.machine == machine
    assert target.python_full_version.startswith(f"3.{minor}.")
    assert target.describe_platform() == f"manylinux_2_{glibc[1]}_{machine}"
    assert target.tags[0] == Tag(f"cp3{minor}", f"cp3{minor}", f"manylinux_2_{glibc[1]}_{machine}")
    assert target.tags[-1] == Tag("py30", "none", "any")

    platforms = {tag.platform for tag in target.tags}
    assert not any(p.startswith("linux_") for p in platforms)
    assert not any("musllinux" in p for p in platforms)
    assert all(p == "any" or p.endswith(f"_{machine}") for p in platforms)
    assert f"manylinux_2_{glibc[1] + 1}_{machine}" not in platforms
    assert f"manylinux_2_{glibc[1]}_{machine}" in platforms
    legacy = {
        p.removesuffix(f"_{machine}") for p in platforms if not p.startswith("manylinux_")
    } - {"any"}
    if machine == "x86_64":
        assert legacy == {"manylinux2014", "manylinux2010", "manylinux1"}
        assert "manylinux_2_5_x86_64" in platforms
    else:
        assert legacy == {"manylinux2014"}
        assert "manylinux_2_16_aarch64" not in platforms
        assert "manylinux_2_17_aarch64" in platforms

    assert len(set(target.tags)) == len(target.tags)
    for index, tag in enumerate(target.tags):
        assert target.tag_rank(tag) == index


def test_describe() -> None:
    assert (
        get_target("python3.11").describe() == "python3.11 x86_64 (cp311, manylinux glibc <= 2.26)"
    )
    assert (
        get_target("python3.13", "arm64").describe()
        == "python3.13 arm64 (cp313, manylinux glibc <= 2.34)"
    )


def test_tag_rank_incompatible() -> None:
    target = get_target("python3.11", "x86_64")
    assert target.tag_rank(Tag("cp311", "cp311", "linux_x86_64")) is None
    assert target.tag_rank(Tag("cp312", "cp312", "manylinux_2_17_x86_64")) is None
    assert target.tag_rank(Tag("cp311", "cp311", "manylinux_2_28_x86_64")) is None
    assert target.tag_rank(Tag("cp311", "cp311", "musllinux_1_2_x86_64")) is None
    assert target.tag_rank(Tag("cp311", "cp311", "win_amd64")) is None


NUMPY_2_28 = "numpy-2.3.0-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl"


def test_wheel_rank_glibc_ceiling() -> None:
    assert get_target("python3.11").wheel_rank(NUMPY_2_28) is None
    assert get_target("python3.10").wheel_rank(NUMPY_2_28) is None
    # Same platform, the runtime's own ABI: the 2.34 ceiling admits it.
    numpy_312 = NUMPY_2_28.replace("cp311-cp311", "cp312-cp312")
    assert get_target("python3.12").wheel_rank(numpy_312) is not None
    # A cp311 wheel is not loadable on 3.12 (no abi3), whatever the platform.
    assert get_target("python3.12").wheel_rank(NUMPY_2_28) is None


def test_wheel_rank_prefers_best_tag_of_compressed_set() -> None:
    target = get_target("python3.11")
    name = "numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    rank = target.wheel_rank(name)
    assert rank == target.tag_rank(Tag("cp311", "cp311", "manylinux_2_17_x86_64"))
    assert rank is not None
    assert rank < target.tag_rank(Tag("cp311", "cp311", "manylinux2014_x86_64"))  # type: ignore[operator]


def test_wheel_rank_architecture() -> None:
    name = "numpy-1.26.4-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"
    assert get_target("python3.11", "x86_64").wheel_rank(name) is None
    assert get_target("python3.11", "arm64").wheel_rank(name) is not None


def test_wheel_rank_ordering_of_realistic_wheels() -> None:
    target = get_target("python3.12", "x86_64")
    specific = target.wheel_rank(
        "pydantic_core-2.20.1-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    )
    abi3 = target.wheel_rank("cryptography-43.0.0-cp39-abi3-manylinux_2_28_x86_64.whl")
    abi3_old = target.wheel_rank(
        "cryptography-43.0.0-cp37-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    )
    pure_platform = target.wheel_rank(
        "ruff-0.5.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    )
    pure = target.wheel_rank("requests-2.32.3-py3-none-any.whl")
    py2py3 = target.wheel_rank("six-1.16.0-py2.py3-none-any.whl")
    ranks = [specific, abi3, abi3_old, pure_platform, pure, py2py3]
    assert None not in ranks
    assert specific < abi3 < abi3_old < pure_platform < pure  # type: ignore[operator]
    assert py2py3 == pure
    # py3-none-any is among the very last tags: only the older pyXY-none-any follow it.
    assert pure is not None
    assert all(tag.platform == "any" for tag in target.tags[pure:])
    assert len(target.tags) - pure < 15


def test_wheel_rank_invalid_or_foreign() -> None:
    target = get_target("python3.11")
    assert target.wheel_rank("not-a-wheel.tar.gz") is None
    assert target.wheel_rank("requests-2.32.3.tar.gz") is None
    assert target.wheel_rank("bad-name-1.0-py3-none-any.whl") is None  # wrong number of parts
    assert target.wheel_rank("pkg-not_a_version-py3-none-any.whl") is None
    assert target.wheel_rank("pkg-1.0-cp311-cp311-win_amd64.whl") is None
    assert target.wheel_rank("pkg-1.0-cp311-cp311-macosx_11_0_arm64.whl") is None
    assert target.wheel_rank("pkg-1.0-cp311-cp311-linux_x86_64.whl") is None
    assert target.wheel_rank("pkg-1.0-cp311-cp311-musllinux_1_2_x86_64.whl") is None
    assert target.wheel_rank("pkg-1.0-py2-none-any.whl") is None


def test_marker_evaluation_uses_target() -> None:
    marker = Marker('python_version >= "3.12" and platform_machine == "aarch64"')
    assert marker.evaluate(dict(get_target("python3.12", "arm64").marker_environment))
    assert not marker.evaluate(dict(get_target("python3.12", "x86_64").marker_environment))
    assert not marker.evaluate(dict(get_target("python3.11", "arm64").marker_environment))
    assert Marker('sys_platform == "linux" and os_name == "posix"').evaluate(
        dict(get_target("python3.10").marker_environment)
    )


@pytest.mark.parametrize(
    ("runtime", "architecture", "bad"),
    [
        ("python3.9", "x86_64", "python3.9"),
        ("python3.11", "amd64", "amd64"),
        ("3.11", "x86_64", "3.11"),
        ("python3.11", "aarch64", "aarch64"),
    ],
)
def test_get_target_errors(runtime: str, architecture: str, bad: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        get_target(runtime, architecture)
    assert excinfo.value.exit_code == 2
    message = str(excinfo.value)
    assert repr(bad) in message
    valid = RUNTIMES if bad == runtime else ARCHITECTURES
    assert all(choice in message for choice in valid)


def test_get_target_reports_both_errors() -> None:
    with pytest.raises(ConfigError) as excinfo:
        get_target("python2.7", "amd64")
    assert len(excinfo.value.problems) == 2
    assert "'python2.7'" in str(excinfo.value)
    assert "'amd64'" in str(excinfo.value)


def test_target_is_immutable_and_hashable() -> None:
    target = get_target("python3.12", "arm64")
    with pytest.raises(dataclasses.FrozenInstanceError):
        target.runtime = "python3.13"  # type: ignore[misc]
    with pytest.raises(TypeError):
        target.marker_environment["python_version"] = "3.9"  # type: ignore[index]
    assert hash(target) == hash(get_target("python3.12", "arm64"))
    assert target == get_target("python3.12", "arm64")
    assert target != get_target("python3.12", "x86_64")


def test_nothing_is_read_from_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    def _forbidden(*args: object, **kwargs: object) -> Any:
        raise AssertionError("the target must not be read off the running interpreter")

    for module, name in [
        (packaging.tags, "sys_tags"),
        (packaging.tags, "platform_tags"),
        (packaging.tags, "interpreter_name"),
        (packaging.tags, "interpreter_version"),
        (packaging.markers, "default_environment"),
        (platform, "machine"),
        (platform, "release"),
        (platform, "version"),
        (platform, "python_version"),
        (platform, "libc_ver"),
    ]:
        monkeypatch.setattr(module, name, _forbidden)
        # Also catch names the module under test may have imported directly.
        if hasattr(targets_module, name):
            monkeypatch.setattr(targets_module, name, _forbidden)
    monkeypatch.setattr(sys, "version_info", (2, 7, 18, "final", 0))
    get_target.cache_clear()
    try:
        for runtime, architecture in ALL_TARGETS:
            target = get_target(runtime, architecture)
            assert isinstance(target, Target)
        # A runtime other than the one running these tests still gets its own tags.
        other = next(runtime for runtime in RUNTIMES if runtime != HOST_RUNTIME)
        target = get_target(other, "arm64")
        abi = "cp" + other.removeprefix("python").replace(".", "")
        assert target.tags[0] == Tag(abi, abi, f"manylinux_2_{target.glibc[1]}_aarch64")
        assert target.marker_environment["python_version"] == other.removeprefix("python")
        assert target.marker_environment["platform_machine"] == "aarch64"
    finally:
        get_target.cache_clear()


def test_python313_target_while_running_another_python() -> None:
    target = get_target("python3.13")
    assert {tag.interpreter for tag in target.tags if tag.abi == "cp313"} == {"cp313"}
    assert Tag("cp313", "cp313", "manylinux_2_34_x86_64") == target.tags[0]
    host_abi = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    if host_abi != "cp313":
        assert all(tag.abi != host_abi for tag in target.tags)
