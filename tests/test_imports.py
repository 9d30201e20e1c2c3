"""The static import reading: scans of sources and extension modules, module names, the closure
across the function and the layers, and the text hints pruning relies on (pure, no I/O)."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

import pytest

from hatch_lambda_layers.layers.imports import (
    UNPARSED,
    ModuleFile,
    ModuleScan,
    RawImport,
    import_closure,
    import_root_path,
    imported_modules,
    index_modules,
    module_name,
    reference_hints,
    resolve,
    scan_entry_points,
    scan_extension,
    scan_source,
)


def scan(text: str) -> ModuleScan:
    return scan_source(textwrap.dedent(text).encode())


EVERY_KIND = """
import os, json.decoder as jd
from . import sibling
from ..pkg.mod import name, other
try:
    import fast
except ImportError:
    import slow
if flag:
    import conditional
class Holder:
    import in_class_body
with ctx:
    from a import b
import importlib
plugin = importlib.import_module("plugins.csv")
rel = importlib.import_module(".codec", package="pkg.io")
mine = importlib.import_module(".local", __package__)
dunder = __import__("dunder_mod")

def later():
    import lazy
    from .sub import thing
    return importlib.import_module("lazy_plugin")

async def also_later():
    import async_lazy

if TYPE_CHECKING:
    import typing_only
if typing.TYPE_CHECKING:
    import typing_only_too
else:
    import runtime_branch
if __name__ == "__main__":
    import cli_only
"""


def test_scan_reads_every_kind_of_import_and_when_it_runs() -> None:
    found = scan(EVERY_KIND)
    assert found.parsed
    by_name = {(i.level, i.module): i for i in found.imports}
    init = {k for k, v in by_name.items() if not v.later}
    later = {k for k, v in by_name.items() if v.later}
    assert init == {
        (0, "os"),
        (0, "json.decoder"),
        (1, ""),
        (2, "pkg.mod"),
        (0, "fast"),
        (0, "slow"),
        (0, "conditional"),
        (0, "in_class_body"),
        (0, "a"),
        (0, "importlib"),
        (0, "plugins.csv"),
        (0, "pkg.io.codec"),
        (1, "local"),
        (0, "dunder_mod"),
        (0, "runtime_branch"),
    }
    assert later == {
        (0, "lazy"),
        (1, "sub"),
        (0, "lazy_plugin"),
        (0, "async_lazy"),
        (0, "cli_only"),
    }
    assert by_name[(1, "")].names == ("sibling",)
    assert by_name[(2, "pkg.mod")].names == ("name", "other")
    assert not {"typing_only", "typing_only_too"} & {i.module for i in found.imports}


def test_scan_of_what_this_python_cannot_parse_has_no_imports() -> None:
    assert scan_source(b"print 'python 2'\n") == UNPARSED
    assert scan_source(b"\x00\x01 not text") == UNPARSED


def test_scan_round_trips_through_json_and_refuses_anything_else() -> None:
    found = scan("import a\nfrom .b import c\ndef f():\n    import d\n")
    assert ModuleScan.from_json(found.to_json()) == found
    for bad in [
        None,
        [],
        [[["x"]], True],
        [[[0, "a", ["b"], "no"]], True],
        [[[-1, "a", [], 0]], 1],
    ]:
        with pytest.raises(ValueError, match="not a"):
            ModuleScan.from_json(bad)


def test_extension_modules_name_what_they_import() -> None:
    binary = b"\x00\x7fELF\x00pandas._libs.tslibs.parsing\x00dateutil.parser\x00plain\x00e.g\x00"
    names = {i.module for i in scan_extension(binary).imports}
    assert {"pandas._libs.tslibs.parsing", "dateutil.parser", "e.g"} <= names
    assert "plain" not in names  # single words are too common to be read as imports
    assert all(i.later for i in scan_extension(binary).imports)


@pytest.mark.parametrize(
    ("relpath", "expected"),
    [
        ("pkg/__init__.py", ("pkg", True)),
        ("pkg/sub/mod.py", ("pkg.sub.mod", False)),
        ("top.py", ("top", False)),
        ("pkg/_speed.cpython-312-x86_64-linux-gnu.so", ("pkg._speed", False)),
        ("pkg/_abi.abi3.so", ("pkg._abi", False)),
        ("pkg/name.with.dots.py", None),
        ("pkg-1.0.dist-info/METADATA", None),
        ("pkg/data.json", None),
        ("__init__.py", None),
        ("my-pkg/mod.py", None),
    ],
)
def test_module_name(relpath: str, expected: tuple[str, bool] | None) -> None:
    assert module_name(relpath) == expected


def test_import_root_path() -> None:
    assert import_root_path("python/pkg/mod.py", "python/") == "pkg/mod.py"
    assert import_root_path("python/lib/python3.12/site-packages/pkg/m.py", "python/") == "pkg/m.py"
    assert import_root_path("pkg/mod.py", "") == "pkg/mod.py"
    assert import_root_path("other/pkg.py", "python/") is None


def test_index_follows_the_path_finder() -> None:
    index = index_modules(
        [
            ("", [("app/__init__.py", "fn"), ("app/handler.py", "fn"), ("shared.py", "fn")]),
            (
                "python/",
                [
                    ("python/shared/__init__.py", "lib"),  # the function's shared.py wins
                    ("python/lib/__init__.py", "lib"),
                    ("python/lib.py", "lib"),  # a package beats a module of the same name
                    ("python/lib/fast.py", "lib"),
                    ("python/lib/fast.cpython-312-x86_64-linux-gnu.so", "lib"),  # beats .py
                    ("python/lib/README.md", "lib"),
                ],
            ),
        ]
    )
    assert index["shared"].path == "shared.py"
    assert index["lib"].path == "python/lib/__init__.py"
    assert index["lib"].is_package
    assert index["lib.fast"].is_extension
    assert set(index) == {"app", "app.handler", "shared", "lib", "lib.fast"}


def module(name: str, *, package: bool = False) -> ModuleFile:
    return ModuleFile(name, name.replace(".", "/") + ".py", "x", package)


def test_resolve_relative_imports() -> None:
    inside = module("pkg.sub.mod")
    init = module("pkg.sub", package=True)
    assert resolve(RawImport(1, "", ("x",), False), inside) == "pkg.sub"
    assert resolve(RawImport(1, "", ("x",), False), init) == "pkg.sub"
    assert resolve(RawImport(2, "other", (), False), inside) == "pkg.other"
    assert resolve(RawImport(3, "", (), False), inside) is None  # above the top package
    assert resolve(RawImport(1, "x", (), False), module("top")) is None
    assert resolve(RawImport(0, "abs.mod", (), False), inside) == "abs.mod"


def test_imported_modules_include_every_package_on_the_way_and_submodules() -> None:
    index = {
        n: module(n, package=n in {"a", "a.b"}) for n in ["a", "a.b", "a.b.c", "a.b.d", "a.b.e"]
    }
    raw = RawImport(0, "a.b", ("c", "d", "not_a_module"), False)
    assert imported_modules(raw, module("x"), index) == ["a", "a.b", "a.b.c", "a.b.d"]
    assert imported_modules(RawImport(0, "a.b.e", (), False), module("x"), index) == [
        "a",
        "a.b",
        "a.b.e",
    ]
    assert imported_modules(RawImport(0, "os.path", (), False), module("x"), index) == []


SOURCES = {
    "app/__init__.py": "",
    "app/handler.py": "import lib.io\nfrom lib import util\nimport os\n"
    "def handler(e, c):\n    import lib.heavy\n",
    "lib/__init__.py": "from . import core\n",
    "lib/core.py": "from .native import speed\n",
    "lib/native.py": "",
    "lib/io.py": "",
    "lib/util.py": "",
    "lib/heavy.py": "import lib.heavier\n",
    "lib/heavier.py": "",
    "lib/unused.py": "import lib.io\n",
    "other/__init__.py": "",
}


def closure_of(sources: Mapping[str, str], roots: list[str]) -> tuple[dict[str, int], set[str]]:
    index = index_modules([("", [(p, p.split("/")[0]) for p in sources])])
    asked: list[list[str]] = []

    def scans(files: list[ModuleFile]) -> dict[str, ModuleScan]:
        asked.append([f.path for f in files])
        return {f.path: scan_source(sources[f.path].encode()) for f in files}

    result = import_closure(roots, index, scans)
    assert all(len(batch) == len(set(batch)) for batch in asked)
    return dict(result.init), set(result.later)


def test_closure_at_init_and_later() -> None:
    init, later = closure_of(SOURCES, ["app.handler"])
    assert init == {
        "app": 0,
        "app.handler": 0,
        "lib": 1,
        "lib.io": 1,
        "lib.util": 1,
        "lib.core": 2,
        "lib.native": 3,
    }
    assert later == {"lib.heavy", "lib.heavier"}  # everything reachable from a lazy import


def test_closure_of_a_handler_that_is_not_there_is_empty() -> None:
    assert closure_of(SOURCES, ["missing.handler"]) == ({}, set())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("import pkg.tests.util\n", {"import:tests", "string:tests"}),  # dots separate too
        ("from .tests import helper\n", {"import:tests"}),
        ("from . import tests\n", {"import:tests"}),
        ("from pkg import (\n    a,\n    tests,\n)\n", {"import:tests"}),
        ("importlib.import_module('pkg.docs.build')\n", {"import:docs", "string:docs"}),
        ("HERE = os.path.join(ROOT, 'examples')\n", {"string:examples"}),
        ("URL = 'https://example.org/docs/'\n", {"string:docs"}),
        ("run(tests=True)\n", set()),
        ("self.test(x)\n", set()),
        ("# the tests below\ndef latest(): pass\n", set()),
        ("pytest_plugins = []\nfrom doctest import x\n", set()),
    ],
)
def test_reference_hints(text: str, expected: set[str]) -> None:
    assert reference_hints(text.encode()) == expected


def test_entry_points_name_modules_a_plugin_loader_imports() -> None:
    text = (
        b"[console_scripts]\ntool = pkg.cli:main\n\n"
        b"[pkg.plugins]\nFast = pkg.fast.impl:Plugin [extra]\nbad = not a module\n"
    )
    assert {(i.module, i.later) for i in scan_entry_points(text).imports} == {
        ("pkg.cli", True),
        ("pkg.fast.impl", True),
    }
    assert scan_entry_points(b"no section\n") == UNPARSED
