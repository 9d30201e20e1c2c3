from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hatch_lambda_layers.errors import ConfigError, LambdaLayersError, UnsafeWheelError
from hatch_lambda_layers.layers.layout import (
    ExcludePattern,
    LayoutOptions,
    botocore_services_problems,
    check_botocore_services,
    exclude_pattern_problems,
    known_botocore_services,
    layout_wheel,
    member_mode,
    place_member,
)

WHEEL = "demo-1.0-py3-none-any.whl"
REG = 0o100644 << 16
EXE = 0o100755 << 16
LINK = 0o120777 << 16


def target(member: str, options: LayoutOptions | None = None, attr: int = REG) -> str | None:
    return place_member(WHEEL, member, attr, options or LayoutOptions()).target


# ------------------------------------------------------------------ where members go


def test_root_members_go_under_python() -> None:
    assert target("demo/__init__.py") == "python/demo/__init__.py"
    assert target("six.py") == "python/six.py"
    assert target("demo/_speedups.cpython-312-x86_64-linux-gnu.so") == (
        "python/demo/_speedups.cpython-312-x86_64-linux-gnu.so"
    )


def test_data_purelib_and_platlib_go_under_python() -> None:
    assert target("demo-1.0.data/purelib/demo/extra.py") == "python/demo/extra.py"
    assert target("demo-1.0.data/platlib/demo/_c.so") == "python/demo/_c.so"


@pytest.mark.parametrize("scheme", ["scripts", "headers", "data"])
def test_other_data_schemes_are_dropped(scheme: str) -> None:
    placement = place_member(WHEEL, f"demo-1.0.data/{scheme}/x", REG, LayoutOptions())
    assert placement.target is None
    assert placement.dropped == f".data/{scheme}"


def test_unknown_data_scheme_is_an_error() -> None:
    with pytest.raises(LambdaLayersError, match=r'"demo-1.0.data/bogus/x"'):
        place_member(WHEEL, "demo-1.0.data/bogus/x", REG, LayoutOptions())


def test_fat_mode_prefix_is_empty() -> None:
    options = LayoutOptions(prefix="")
    assert target("demo/__init__.py", options) == "demo/__init__.py"
    assert target("demo-1.0.data/purelib/demo/a.py", options) == "demo/a.py"


def test_bad_prefix_rejected() -> None:
    with pytest.raises(ValueError, match="prefix"):
        LayoutOptions(prefix="../python/")
    with pytest.raises(ValueError, match="prefix"):
        LayoutOptions(prefix="python")


def test_directories_dropped() -> None:
    placement = place_member(WHEEL, "demo/", 0o40755 << 16, LayoutOptions())
    assert (placement.target, placement.dropped) == (None, "directory")
    assert not placement.kept


# ------------------------------------------------------------------ default excludes


@pytest.mark.parametrize(
    "member",
    [
        "demo/__pycache__/mod.cpython-312.pyc",
        "demo/__pycache__/notes.txt",
        "demo/legacy.pyc",
        "demo-1.0.dist-info/RECORD",
        "demo-1.0.dist-info/INSTALLER",
        "demo-1.0.dist-info/REQUESTED",
        "demo-1.0.dist-info/direct_url.json",
        "demo-1.0.dist-info/RECORD.jws",
    ],
)
def test_default_excludes(member: str) -> None:
    placement = place_member(WHEEL, member, REG, LayoutOptions())
    assert placement.target is None
    assert placement.dropped == "default-excludes"
    # switched off: kept
    assert target(member, LayoutOptions(default_excludes=False)) == "python/" + member


@pytest.mark.parametrize(
    "member",
    [
        "demo-1.0.dist-info/METADATA",
        "demo-1.0.dist-info/WHEEL",
        "demo-1.0.dist-info/entry_points.txt",
        "demo-1.0.dist-info/top_level.txt",
        "demo-1.0.dist-info/LICENSE",
        "demo-1.0.dist-info/licenses/LICENSE.txt",
        "demo/RECORD",  # only dist-info's RECORD is special
        "demo/pycache.py",
    ],
)
def test_default_excludes_keep(member: str) -> None:
    assert target(member) == "python/" + member


def test_pyc_kept_when_compiling() -> None:
    assert target("demo/legacy.pyc", LayoutOptions(compile=True)) == "python/demo/legacy.pyc"
    # __pycache__ from the wheel still goes: compiled bytecode is generated for the target
    assert target("demo/__pycache__/m.cpython-312.pyc", LayoutOptions(compile=True)) is None


# ------------------------------------------------------------------ user excludes


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("*.pyi", "demo/sub/types.pyi", True),
        ("*.pyi", "demo/sub/types.py", False),
        ("tests/", "demo/tests/test_a.py", True),
        ("tests/", "tests/conftest.py", True),
        ("tests/", "demo/tests", False),  # a file named tests is not a directory
        ("tests", "demo/tests", True),
        ("numpy/tests", "numpy/tests/deep/x.py", True),
        ("numpy/tests", "other/numpy/tests/x.py", False),  # a '/' inside anchors
        ("/six.py", "six.py", True),
        ("/six.py", "vendor/six.py", False),
        ("six.py", "vendor/six.py", True),
        ("demo/*.txt", "demo/a.txt", True),
        ("demo/*.txt", "demo/sub/a.txt", False),  # '*' stays within one component
        ("demo/**/*.txt", "demo/a.txt", True),
        ("demo/**/*.txt", "demo/x/y/a.txt", True),
        ("**/docs/", "a/b/docs/index.html", True),
        ("demo/**", "demo/x/y.py", True),
        ("demo/**", "demonstration/y.py", False),
        ("demo/**", "demo", False),
        ("test_?.py", "pkg/test_a.py", True),
        ("test_?.py", "pkg/test_ab.py", False),
        ("[!a]*.py", "pkg/b.py", True),
        ("[!a]*.py", "pkg/a.py", False),
        ("*.dist-info/licenses/", "demo-1.0.dist-info/licenses/LICENSE", True),
        ("Demo.py", "demo.py", False),  # case-sensitive, like Lambda's file system
    ],
)
def test_exclude_semantics(pattern: str, path: str, expected: bool) -> None:
    assert ExcludePattern.parse(pattern).matches(path) is expected


def test_exclude_is_relative_to_python_and_reports_pattern() -> None:
    options = LayoutOptions(exclude=("demo/tests/", "python/demo/a.py"))
    placement = place_member(WHEEL, "demo/tests/t.py", REG, options)
    assert placement.target is None
    assert placement.dropped == 'exclude "demo/tests/"'
    # patterns do not include the python/ prefix
    assert target("demo/a.py", options) == "python/demo/a.py"
    # .data/purelib members are matched by their import path too
    assert target("demo-1.0.data/purelib/demo/tests/t.py", options) is None


@pytest.mark.parametrize("pattern", ["", "   ", "/", "a//b", "../x", "a\\b"])
def test_invalid_patterns(pattern: str) -> None:
    problems = exclude_pattern_problems(["ok/", pattern])
    assert len(problems) == 1
    assert problems[0].startswith("tool.lambda-layers.exclude[1]")
    with pytest.raises(ConfigError, match=r"exclude\[0\]"):
        LayoutOptions(exclude=(pattern,))


# ------------------------------------------------------------------ botocore slimming

BOTO_MEMBERS = [
    "botocore/__init__.py",
    "botocore/data/endpoints.json",
    "botocore/data/partitions.json",
    "botocore/data/_retry.json",
    "botocore/data/s3/2006-03-01/service-2.json.gz",
    "botocore/data/dynamodb/2012-08-10/service-2.json.gz",
    "botocore/data/ec2/2016-11-15/service-2.json.gz",
    "boto3/data/s3/2006-03-01/resources-1.json",
    "boto3/data/ec2/2016-11-15/resources-1.json",
]


def test_botocore_services_slimming() -> None:
    options = LayoutOptions(botocore_services=frozenset({"s3", "dynamodb"}))
    kept = {m for m in BOTO_MEMBERS if target(m, options) is not None}
    assert kept == {
        "botocore/__init__.py",
        "botocore/data/endpoints.json",
        "botocore/data/partitions.json",
        "botocore/data/_retry.json",
        "botocore/data/s3/2006-03-01/service-2.json.gz",
        "botocore/data/dynamodb/2012-08-10/service-2.json.gz",
        "boto3/data/s3/2006-03-01/resources-1.json",
    }
    dropped = place_member(WHEEL, BOTO_MEMBERS[6], REG, options)
    assert dropped.dropped == "botocore-services"


def test_botocore_unset_keeps_everything() -> None:
    assert all(target(m) is not None for m in BOTO_MEMBERS)


def test_known_botocore_services() -> None:
    names = [*BOTO_MEMBERS, "x-1.0.data/purelib/botocore/data/sqs/2012/service-2.json"]
    assert known_botocore_services(names) == {"s3", "dynamodb", "ec2", "sqs"}


def test_unknown_botocore_service_message() -> None:
    known = {"s3", "s3control", "dynamodb", "ec2"}
    problems = botocore_services_problems(["s4", "s3", "zzz"], known)
    assert problems[0].startswith(
        'tool.lambda-layers.botocore-services names unknown service "s4"; known services '
        "include: s3"
    )
    assert '"zzz"' in problems[1]
    assert "dynamodb" in problems[1]  # no close match: lists known ones
    with pytest.raises(ConfigError) as info:
        check_botocore_services(["s4", "zzz"], known)
    assert len(info.value.problems) == 2
    check_botocore_services(["s3"], known)  # no error


# ------------------------------------------------------------------ modes


@pytest.mark.parametrize(
    ("member", "attr", "mode"),
    [
        ("demo/a.py", REG, 0o644),
        ("demo/a.py", 0, 0o644),
        ("demo/run.sh", EXE, 0o755),
        ("demo/run.sh", 0o100744 << 16, 0o755),
        ("demo/_c.cpython-312-x86_64-linux-gnu.so", REG, 0o755),
        ("demo.libs/libgfortran-abc.so.5.0.0", REG, 0o755),
        ("demo/also.sot", REG, 0o644),
    ],
)
def test_modes(member: str, attr: int, mode: int) -> None:
    assert member_mode(member, attr) == mode
    assert place_member(WHEEL, member, attr, LayoutOptions()).mode == mode


# ------------------------------------------------------------------ safety


@pytest.mark.parametrize(
    ("member", "attr", "why"),
    [
        ("../evil.py", REG, "'..' component"),
        ("demo/../../evil.py", REG, "'..' component"),
        ("/abs.py", REG, "absolute path"),
        ("C:/win.py", REG, "drive letter"),
        ("c:evil.py", REG, "drive letter"),
        ("demo\\..\\..\\evil.py", REG, "'..' component"),
        ("\\abs.py", REG, "absolute path"),
        ("demo/link", LINK, "symbolic link"),
        ("demo/fifo", 0o010644 << 16, "special file"),
        ("demo//x.py", REG, "empty or '.' component"),
        ("demo/./x.py", REG, "empty or '.' component"),
    ],
)
def test_unsafe_members_rejected(member: str, attr: int, why: str) -> None:
    with pytest.raises(UnsafeWheelError) as info:
        place_member(WHEEL, member, attr, LayoutOptions())
    message = str(info.value)
    assert WHEEL in message
    assert f'"{member}"' in message
    assert why in message


def test_unsafe_member_rejected_even_when_it_would_be_dropped() -> None:
    members = [("demo/a.py", REG), ("demo-1.0.data/scripts/../../../x", REG)]
    with pytest.raises(UnsafeWheelError, match="scripts"):
        layout_wheel(WHEEL, members, LayoutOptions(exclude=("*",)))
    with pytest.raises(UnsafeWheelError, match="symbolic link"):
        layout_wheel(WHEEL, [("demo/__pycache__/x.pyc", LINK)], LayoutOptions())


def test_backslash_without_traversal_is_allowed() -> None:
    assert target("demo/odd\\name.py") == "python/demo/odd\\name.py"


def test_duplicate_members_and_targets_rejected() -> None:
    with pytest.raises(UnsafeWheelError, match="twice"):
        layout_wheel(WHEEL, [("demo/a.py", REG), ("demo/a.py", REG)], LayoutOptions())
    with pytest.raises(UnsafeWheelError, match=r"python/demo/a\.py"):
        layout_wheel(
            WHEEL,
            [("demo/a.py", REG), ("demo-1.0.data/purelib/demo/a.py", REG)],
            LayoutOptions(),
        )


# ------------------------------------------------------------------ properties

_component = st.text(alphabet="abcXY_.-", min_size=1, max_size=6).filter(
    lambda s: s not in (".", "..")
)


@given(st.lists(_component, min_size=1, max_size=5))
def test_kept_targets_are_safe_and_prefixed(parts: list[str]) -> None:
    member = "/".join(parts)
    placement = place_member(WHEEL, member, REG, LayoutOptions(default_excludes=False))
    if placement.target is not None:
        assert placement.target.startswith("python/")
        assert ".." not in placement.target.split("/")
        assert placement.mode in (0o644, 0o755)


@given(st.lists(_component, min_size=1, max_size=5), _component)
def test_slashless_pattern_matches_basename_at_any_depth(parts: list[str], name: str) -> None:
    path = "/".join([*parts, name])
    pattern = ExcludePattern.parse(name.replace("[", "[[]"))
    assert pattern.matches(path)
