"""default-excludes pruning: test suites, docs and examples, stubs and unread dist-info files,
kept wherever staying code refers to them, reported per rule; and the scans it reads cached."""

from __future__ import annotations

from pathlib import Path

import pytest

from hatch_lambda_layers.layers import scanstore
from hatch_lambda_layers.layers.entries import FileEntry, PackageFiles, entry_size
from hatch_lambda_layers.layers.layout import LayoutOptions
from hatch_lambda_layers.layers.prune import (
    RULE_DIST_INFO,
    RULE_DOCS,
    RULE_STUBS,
    RULE_TESTS,
    candidate_directory,
    file_rule,
    prune_packages,
)
from hatch_lambda_layers.layers.scanstore import ScanStore
from hatch_lambda_layers.layers.wheel import read_wheel
from tests.wheelfactory import make_wheel


@pytest.mark.parametrize(
    ("relpath", "expected"),
    [
        ("numpy/_core/tests/test_x.py", ("numpy/_core/tests", RULE_TESTS)),
        ("pandas/tests/io/data/file.csv", ("pandas/tests", RULE_TESTS)),
        ("scipy/linalg/tests/data/a.npz", ("scipy/linalg/tests", RULE_TESTS)),
        ("tornado/test/web_test.py", ("tornado/test", RULE_TESTS)),
        ("boto3/examples/s3.rst", ("boto3/examples", RULE_DOCS)),
        ("pkg/docs/index.rst", ("pkg/docs", RULE_DOCS)),
        ("tests/__init__.py", None),  # a top-level package, not a directory inside one
        ("numpy/testing/__init__.py", None),  # public API
        ("pkg/tests.py", None),  # a module, not a directory
        ("pkg-1.0.dist-info/tests/x", None),
    ],
)
def test_candidate_directory(relpath: str, expected: tuple[str, str] | None) -> None:
    assert candidate_directory(relpath) == expected


@pytest.mark.parametrize(
    ("relpath", "expected"),
    [
        ("numpy/__init__.pyi", RULE_STUBS),
        ("pkg/py.typed", None),
        ("pkg/conftest.py", RULE_TESTS),
        ("conftest.py", None),
        ("pkg-1.0.dist-info/WHEEL", RULE_DIST_INFO),
        ("pkg-1.0.dist-info/zip-safe", RULE_DIST_INFO),
        ("pkg-1.0.dist-info/METADATA", None),
        ("pkg-1.0.dist-info/entry_points.txt", None),
        ("pkg-1.0.dist-info/top_level.txt", None),
        ("pkg-1.0.dist-info/licenses/LICENSE", None),
        ("pkg-1.0.dist-info/LICENSE.txt", None),
        ("pkg/WHEEL", None),
    ],
)
def test_file_rule(relpath: str, expected: str | None) -> None:
    assert file_rule(relpath) == expected


def package(tmp_path: Path, name: str, files: dict[str, str]) -> PackageFiles:
    return read_wheel(make_wheel(tmp_path, name, "1.0", files), LayoutOptions())


@pytest.fixture
def packages(tmp_path: Path) -> list[PackageFiles]:
    return [
        package(
            tmp_path,
            "science",
            {
                "science/__init__.py": "from . import core\n",
                "science/core.py": "def f():\n    import os\n",
                "science/core.pyi": "def f() -> None: ...\n",
                "science/py.typed": "",
                "science/conftest.py": "from science.tests.helpers import fixture\n",
                "science/tests/__init__.py": "",
                "science/tests/helpers.py": "import science\n",
                "science/tests/data/big.bin": "x" * 5000,
                "science/sub/tests/test_sub.py": "import science.sub\n",
                "science/sub/__init__.py": "",
                "science-1.0.dist-info/entry_points.txt": "[x]\ny = science:f\n",
                "science-1.0.dist-info/top_level.txt": "science\n",
                "science-1.0.dist-info/licenses/LICENSE": "MIT\n",
            },
        ),
        package(
            tmp_path,
            "sdk",
            {
                "sdk/__init__.py": "",
                # imported: stays, and makes sdk/docs' own references count
                "sdk/resources.py": "def doc():\n    from .docs.docstring import Doc\n",
                "sdk/docs/__init__.py": "",
                "sdk/docs/docstring.py": "import os\nPATH = os.path.join('x', 'examples')\n",
                "sdk/examples/s3.rst": "example\n",  # read by sdk/docs as data
            },
        ),
        package(
            tmp_path,
            "testkit",
            {
                "testkit/__init__.py": "",
                # another package importing sdk's tests keeps them
                "testkit/runner.py": "import sdk.tests.fixtures\n",
                "testkit/tutorial/docs/guide.rst": "nothing in testkit names it\n",
            },
        ),
        package(tmp_path, "sdktests", {"sdk/tests/fixtures.py": "X = 1\n"}),
    ]


def test_prune_drops_what_nothing_refers_to_and_reports_it(
    packages: list[PackageFiles], tmp_path: Path
) -> None:
    store = ScanStore(tmp_path / "cache")
    pruned, report = prune_packages(packages, [], store, prefix="python/")
    before = {e.path: e for p in packages for e in p.entries}
    after = {e.path for p in pruned for e in p.entries}
    dropped = set(before) - after
    assert dropped == {
        "python/science/core.pyi",
        "python/science/conftest.py",
        "python/science/tests/__init__.py",
        "python/science/tests/helpers.py",
        "python/science/tests/data/big.bin",
        "python/science/sub/tests/test_sub.py",
        "python/testkit/tutorial/docs/guide.rst",
        *(f"python/{n}-1.0.dist-info/WHEEL" for n in ("science", "sdk", "testkit", "sdktests")),
    }
    assert {
        "python/science/py.typed",
        "python/science-1.0.dist-info/METADATA",
        "python/science-1.0.dist-info/entry_points.txt",
        "python/science-1.0.dist-info/top_level.txt",
        "python/science-1.0.dist-info/licenses/LICENSE",
        "python/sdk/docs/docstring.py",
        "python/sdk/examples/s3.rst",
        "python/sdk/tests/fixtures.py",
    } <= after
    savings = {s.rule: s for s in report.savings}
    assert savings[RULE_TESTS].files == 5
    assert savings[RULE_TESTS].bytes == sum(
        entry_size(before[p]) for p in dropped if "/tests/" in p or p.endswith("conftest.py")
    )
    assert savings[RULE_STUBS].packages == ("science",)
    assert savings[RULE_DIST_INFO].files == 4
    assert report.bytes == sum(entry_size(before[p]) for p in dropped)
    assert {(k.directory, k.by) for k in report.kept} == {
        ("sdk/docs", "sdk/resources.py"),
        ("sdk/examples", "sdk/docs/docstring.py"),
        ("sdk/tests", "testkit/runner.py"),
    }
    for old, new in zip(packages, pruned, strict=True):
        assert new.size_unzipped == sum(entry_size(e) for e in new.entries)
        assert new.size_unzipped <= old.size_unzipped


def test_the_function_s_own_imports_keep_a_directory(
    packages: list[PackageFiles], tmp_path: Path
) -> None:
    handler = tmp_path / "handler.py"
    handler.write_text("from science.tests import helpers\n")
    function = [FileEntry("app/handler.py", handler)]
    pruned, report = prune_packages(packages, function, ScanStore(None), prefix="python/")
    after = {e.path for p in pruned for e in p.entries}
    assert "python/science/tests/helpers.py" in after
    assert ("science/tests", "app/handler.py") in {(k.directory, k.by) for k in report.kept}


def test_sources_are_read_and_parsed_once_per_wheel(
    packages: list[PackageFiles], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    store = ScanStore(cache)
    first = prune_packages(packages, [], store, prefix="python/")
    assert not (cache / "imports").exists()  # nothing is written before save()
    store.save()
    assert len(list((cache / "imports").rglob("*.json"))) == len(packages)

    def no_reading(entries: object) -> list[bytes]:
        if entries:
            raise AssertionError(f"read again: {entries}")
        return []

    monkeypatch.setattr(scanstore, "read_entries", no_reading)
    assert prune_packages(packages, [], ScanStore(cache), prefix="python/") == first


def test_a_corrupt_scan_record_is_read_again(packages: list[PackageFiles], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    store = ScanStore(cache)
    expected = prune_packages(packages, [], store, prefix="python/")
    store.save()
    for record in (cache / "imports").rglob("*.json"):
        record.write_text('{"version": 1, "scans": {"x": "not a scan"}, "hints": [1]}')
    assert prune_packages(packages, [], ScanStore(cache), prefix="python/") == expected


def test_default_excludes_false_turns_every_rule_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hatch_lambda_layers.config import Config
    from hatch_lambda_layers.layers.packages import FunctionInputs, read_contents
    from hatch_lambda_layers.reporting import SilentReporter
    from hatch_lambda_layers.targets import get_target

    monkeypatch.setenv("HATCH_LAMBDA_LAYERS_CACHE_DIR", str(tmp_path / "cache"))
    wheel = make_wheel(
        tmp_path,
        "science",
        "1.0",
        {"science/__init__.py": "", "science/tests/t.py": "", "science/a.pyi": ""},
    )
    inputs = FunctionInputs({}, {})
    target = get_target("python3.12")
    on = read_contents(
        {"science": wheel}, inputs, Config(runtime="python3.12"), target, SilentReporter()
    )
    off_config = Config(runtime="python3.12", default_excludes=False)
    off = read_contents({"science": wheel}, inputs, off_config, target, SilentReporter())
    assert {e.path for e in on.packages[0].entries} == {
        "python/science/__init__.py",
        "python/science-1.0.dist-info/METADATA",
    }
    assert {e.path for e in off.packages[0].entries} == {
        "python/science/__init__.py",
        "python/science/tests/t.py",
        "python/science/a.pyi",
        "python/science-1.0.dist-info/METADATA",
        "python/science-1.0.dist-info/WHEEL",
        "python/science-1.0.dist-info/RECORD",
    }
    assert [s.rule for s in on.pruned.savings] == [RULE_TESTS, RULE_STUBS, RULE_DIST_INFO]
    assert off.pruned.savings == ()


def test_an_entry_point_into_a_directory_keeps_it(tmp_path: Path) -> None:
    pkg = package(
        tmp_path,
        "plugged",
        {
            "plugged/__init__.py": "",
            "plugged/testing/__init__.py": "",
            "plugged/tests/plugin.py": "def load(): ...\n",
            "plugged-1.0.dist-info/entry_points.txt": (
                "[some.plugins]\nx = plugged.tests.plugin:load\n"
            ),
        },
    )
    pruned, report = prune_packages([pkg], [], ScanStore(None), prefix="python/")
    assert "python/plugged/tests/plugin.py" in {e.path for e in pruned[0].entries}
    assert [(k.directory, k.by) for k in report.kept] == [
        ("plugged/tests", "plugged-1.0.dist-info/entry_points.txt")
    ]
