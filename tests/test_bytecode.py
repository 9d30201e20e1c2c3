"""compile = true / "auto" through `layers.bytecode`: real bytecode from the running interpreter
(the targets here are its own version), cached and verified, chosen by the budget, and given to
the function's own files too."""

from __future__ import annotations

import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from hatch_lambda_layers.config import Config
from hatch_lambda_layers.layers import compile as compile_module
from hatch_lambda_layers.layers import interpreters, pyccache, trace
from hatch_lambda_layers.layers.budget import RANK_INIT, TraceCheck
from hatch_lambda_layers.layers.bytecode import BuildInputs, BytecodeResult, add_bytecode
from hatch_lambda_layers.layers.entries import (
    BytesEntry,
    Entry,
    FileEntry,
    PackageFiles,
    ZipSourceEntry,
    entries_content_hash,
    entry_bytes,
    entry_size,
)
from hatch_lambda_layers.layers.layout import LayoutOptions
from hatch_lambda_layers.layers.scanstore import ScanStore
from hatch_lambda_layers.layers.wheel import read_wheel
from hatch_lambda_layers.reporting import SilentReporter
from hatch_lambda_layers.targets import UNZIPPED_MAX, get_target
from tests.wheelfactory import make_wheel

RUNTIME = f"python{sys.version_info[0]}.{sys.version_info[1]}"
TAG = f"cpython-{sys.version_info[0]}{sys.version_info[1]}"
TARGET = get_target(RUNTIME)


class Warnings(SilentReporter):
    def __init__(self) -> None:
        self.seen: list[str] = []

    def warning(self, message: str) -> None:
        self.seen.append(message)


@pytest.fixture
def packages(tmp_path: Path) -> list[PackageFiles]:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    return [
        read_wheel(
            make_wheel(
                wheels,
                "webkit",
                "1.0",
                {
                    "webkit/__init__.py": "from .routing import route\n",
                    "webkit/routing.py": "def route():\n    from . import templates\n",
                    "webkit/templates.py": "NAME = 'templates'\n",
                    "webkit/admin.py": "X = 1\n",
                    "webkit/py2.py": "print 'old'\n",
                },
            ),
            LayoutOptions(compile=True),
        ),
        read_wheel(
            make_wheel(wheels, "unused", "1.0", {"unused/__init__.py": "Y = 2\n" * 200}),
            LayoutOptions(compile=True),
        ),
    ]


@pytest.fixture
def function(tmp_path: Path) -> dict[str, tuple[Entry, ...]]:
    src = tmp_path / "src" / "app"
    src.mkdir(parents=True)
    (src / "__init__.py").write_text("")
    (src / "handler.py").write_text("import webkit\n\ndef handler(e, c):\n    return 1\n")
    return {
        "api": (
            FileEntry("app/__init__.py", src / "__init__.py"),
            FileEntry("app/handler.py", src / "handler.py"),
        )
    }


def build(
    packages: list[PackageFiles],
    function: dict[str, tuple[Entry, ...]],
    cache: Path | None,
    *,
    reporter: SilentReporter | None = None,
    handler: str | None = "app.handler.handler",
    **config: object,
) -> BytecodeResult:
    inputs = BuildInputs(function, {"api": handler}, cache)
    settings = Config(runtime=RUNTIME, **config)  # type: ignore[arg-type]
    return add_bytecode(
        packages, inputs, settings, TARGET, reporter or SilentReporter(), store=ScanStore(cache)
    )


def paths(result: BytecodeResult) -> set[str]:
    found = {e.path for p in result.packages for e in p.entries}
    return found | {e.path for f in result.function_files.values() for e in f}


def test_compile_true_gives_every_source_and_the_function_bytecode(
    packages: list[PackageFiles], function: dict[str, tuple[Entry, ...]], tmp_path: Path
) -> None:
    reporter = Warnings()
    result = build(packages, function, tmp_path / "cache", reporter=reporter, compile=True)
    pycs = {p for p in paths(result) if p.endswith(".pyc")}
    assert pycs == {
        f"python/webkit/__pycache__/{m}.{TAG}.pyc" for m in ("__init__", "routing", "templates")
    } | {
        f"python/webkit/__pycache__/admin.{TAG}.pyc",
        f"python/unused/__pycache__/__init__.{TAG}.pyc",
        f"app/__pycache__/__init__.{TAG}.pyc",
        f"app/__pycache__/handler.{TAG}.pyc",
    }
    assert reporter.seen == [next(m for m in reporter.seen if m.startswith("python/webkit/py2.py"))]
    handler_pyc = next(
        e for e in result.function_files["api"] if e.path.endswith("handler." + TAG + ".pyc")
    )
    assert b"/var/task/app/handler.py" in entry_bytes(handler_pyc)
    layer_pyc = next(
        e
        for p in result.packages
        for e in p.entries
        if "routing" in e.path and e.path.endswith(".pyc")
    )
    assert b"/opt/python/webkit/routing.py" in entry_bytes(layer_pyc)
    report = result.report
    assert (report.mode, report.chosen, report.candidates, report.not_compiled) == ("true", 7, 7, 1)
    (fn,) = report.functions
    # app, app.handler, webkit, webkit.routing: at init; templates only later
    assert (fn.modules, fn.compiled, fn.later) == (4, 4, 1)


def test_bytecode_comes_from_the_cache_and_is_the_same_bytes(
    packages: list[PackageFiles],
    function: dict[str, tuple[Entry, ...]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fresh = build(packages, function, None, compile=True)
    cache = tmp_path / "cache"
    first = build(packages, function, cache, compile=True)
    assert (first.report.compiled_groups, first.report.cached_groups) == (3, 0)

    def never(*args: object, **kwargs: object) -> object:
        raise AssertionError("an unchanged package was compiled again")

    monkeypatch.setattr(compile_module, "compile_sources", never)
    second = build(packages, function, cache, compile=True)
    assert (second.report.compiled_groups, second.report.cached_groups) == (0, 3)
    for result in (first, second):
        assert [entries_content_hash(p.entries) for p in result.packages] == [
            entries_content_hash(p.entries) for p in fresh.packages
        ]
        assert entries_content_hash(result.function_files["api"]) == entries_content_hash(
            fresh.function_files["api"]
        )
    assert any(isinstance(e, ZipSourceEntry) for p in second.packages for e in p.entries), (
        "cached bytecode is copied from the record, not recompressed"
    )


@pytest.mark.parametrize("damage", ["pyc bytes", "index", "truncated"])
def test_a_damaged_cache_record_is_compiled_again(
    packages: list[PackageFiles],
    function: dict[str, tuple[Entry, ...]],
    tmp_path: Path,
    damage: str,
) -> None:
    cache = tmp_path / "cache"
    expected = build(packages, function, cache, compile=True)
    records = sorted((cache / "bytecode").rglob("*.zip"))
    assert len(records) == 3
    for record in records:
        if damage == "pyc bytes":
            _rewrite(record, lambda name, data: data[:-1] + bytes([data[-1] ^ 0xFF]), ".pyc")
        elif damage == "index":
            _rewrite(
                record, lambda name, data: data.replace(b'"version": 1', b'"version": 9'), ".json"
            )
        else:
            record.write_bytes(record.read_bytes()[: record.stat().st_size // 2])
    reporter = Warnings()
    again = build(packages, function, cache, reporter=reporter, compile=True)
    assert again.report.compiled_groups + again.report.cached_groups == 3
    assert again.report.compiled_groups >= 1
    if damage == "pyc bytes":
        assert any("did not verify; compiling it again" in m for m in reporter.seen)
    assert [entries_content_hash(p.entries) for p in again.packages] == [
        entries_content_hash(p.entries) for p in expected.packages
    ]


def _rewrite(record: Path, change: Callable[[str, bytes], bytes], suffix: str) -> None:
    """Rewrite a record as a well-formed zip (CRCs right) with `change` applied to the members
    whose names end with `suffix`: as if someone rewrote the cache, so that only what the
    record's index promises can tell."""
    with zipfile.ZipFile(record) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    with zipfile.ZipFile(record, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, change(name, data) if name.endswith(suffix) else data)


def test_record_key_depends_on_what_the_bytes_depend_on(packages: list[PackageFiles]) -> None:
    sources = [e for e in packages[0].entries if e.path.endswith(".py")]
    key = pyccache.record_key(sources, TARGET, "a70d0d0a", "/opt")
    assert key == pyccache.record_key(list(reversed(sources)), TARGET, "a70d0d0a", "/opt")
    assert key != pyccache.record_key(sources, TARGET, "a70d0d0a", "/var/task")
    assert key != pyccache.record_key(sources, TARGET, "cb0d0d0a", "/opt")
    assert key != pyccache.record_key(sources, get_target("python3.13"), "a70d0d0a", "/opt")
    assert key != pyccache.record_key(sources[1:], TARGET, "a70d0d0a", "/opt")


def test_auto_spends_the_budget_on_what_the_handler_imports_first(
    packages: list[PackageFiles], function: dict[str, tuple[Entry, ...]], tmp_path: Path
) -> None:
    full = build(packages, function, tmp_path / "cache", compile=True)
    init_paths = {
        "python/webkit/__init__.py",
        "python/webkit/routing.py",
        "app/__init__.py",
        "app/handler.py",
    }
    pyc_size = {
        e.path: entry_size(e)
        for e in [*(e for p in full.packages for e in p.entries), *full.function_files["api"]]
        if e.path.endswith(".pyc")
    }
    init_bytes = sum(pyc_size[compile_module.cache_path(p, TARGET)] for p in init_paths)
    base = sum(p.size_unzipped for p in packages) + sum(entry_size(e) for e in function["api"])
    margin = UNZIPPED_MAX - base - init_bytes  # a budget of exactly the closure's bytecode
    result = build(packages, function, tmp_path / "cache", compile="auto", compile_margin=margin)
    pycs = {p for p in paths(result) if p.endswith(".pyc")}
    assert pycs == {compile_module.cache_path(p, TARGET) for p in init_paths}
    report = result.report
    assert (report.mode, report.budget, report.chosen_bytes) == ("auto", init_bytes, init_bytes)
    assert report.by_rank[RANK_INIT][:2] == (4, 4)
    # The whole limit: everything fits, as with compile = true.
    everything = build(packages, function, tmp_path / "cache", compile="auto", compile_margin=0)
    assert paths(everything) == paths(full)


def test_auto_without_a_handler_starts_from_every_module_of_the_function(
    packages: list[PackageFiles], function: dict[str, tuple[Entry, ...]], tmp_path: Path
) -> None:
    result = build(packages, function, tmp_path / "cache", handler=None, compile="auto")
    (fn,) = result.report.functions
    assert fn.handler is None
    assert fn.modules == 4  # app, app.handler and what they import: webkit, webkit.routing


def test_no_interpreter_of_the_target_is_a_config_error(
    packages: list[PackageFiles],
    function: dict[str, tuple[Entry, ...]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hatch_lambda_layers.errors import ConfigError

    monkeypatch.setattr(interpreters, "find_target_python", lambda target: None)
    with pytest.raises(ConfigError, match=r"needs a Python .* interpreter"):
        build(packages, function, None, compile="auto")


def test_bytes_entry_pycs_without_a_cache(
    packages: list[PackageFiles], function: dict[str, tuple[Entry, ...]]
) -> None:
    result = build(packages, function, None, compile=True)
    pycs = [e for p in result.packages for e in p.entries if e.path.endswith(".pyc")]
    assert pycs
    assert all(isinstance(e, BytesEntry) for e in pycs)


def traced(
    packages: list[PackageFiles], function: dict[str, tuple[Entry, ...]], tmp_path: Path
) -> BytecodeResult:
    inputs = BuildInputs(function, {"api": "app.handler.handler"}, tmp_path / "cache", trace=True)
    settings = Config(runtime=RUNTIME, compile="auto")
    return add_bytecode(
        packages, inputs, settings, TARGET, SilentReporter(), store=ScanStore(tmp_path / "cache")
    )


def test_the_closure_is_checked_against_a_real_import(
    packages: list[PackageFiles], function: dict[str, tuple[Entry, ...]], tmp_path: Path
) -> None:
    if not trace.can_trace(TARGET):
        pytest.skip("this machine cannot load the target's extension modules")
    report = traced(packages, function, tmp_path).report
    assert (
        report.closure_note
        == f"static import closure, checked against an import trace by {RUNTIME}"
    )
    (fn,) = report.functions
    assert fn.check == TraceCheck(traced=4, missing=(), extra=())


def test_a_handler_that_fails_to_import_is_reported(
    packages: list[PackageFiles], function: dict[str, tuple[Entry, ...]], tmp_path: Path
) -> None:
    if not trace.can_trace(TARGET):
        pytest.skip("this machine cannot load the target's extension modules")
    handler = Path(str(function["api"][1].source))
    handler.write_text("import os\nTABLE = os.environ['NO_SUCH_VARIABLE_HERE']\n")
    (fn,) = traced(packages, function, tmp_path).report.functions
    assert fn.check is not None
    assert fn.check.error == "KeyError: 'NO_SUCH_VARIABLE_HERE'"


def test_without_a_machine_that_can_load_the_target_the_plan_says_so(
    packages: list[PackageFiles],
    function: dict[str, tuple[Entry, ...]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(trace, "can_trace", lambda target: False)
    report = traced(packages, function, tmp_path).report
    assert report.closure_note == (
        "static import closure only: this machine cannot load x86_64 extension modules, "
        "so no import trace"
    )
    assert report.functions[0].check is None


def test_stub_roots_guess_the_provided_import_names() -> None:
    assert trace.stub_roots(["boto3", "python-dateutil", "jmespath"]) == [
        "boto3",
        "dateutil",
        "jmespath",
        "python_dateutil",
    ]
