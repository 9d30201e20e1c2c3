"""compile = "auto": ranking modules by how likely the handler imports them, filling the budget,
and the plan's lines (pure)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hatch_lambda_layers.layers.budget import (
    RANK_INIT,
    RANK_LATER,
    RANK_PACKAGE,
    RANK_REST,
    BytecodeReport,
    Candidate,
    FunctionBytecode,
    TraceCheck,
    choose,
    describe,
    rank_modules,
)
from hatch_lambda_layers.layers.imports import Closure, ModuleFile
from hatch_lambda_layers.layers.prune import KeptDirectory, PruneReport, RuleSaving


def index(*rows: tuple[str, str]) -> dict[str, ModuleFile]:
    return {n: ModuleFile(n, f"python/{n.replace('.', '/')}.py", owner, False) for n, owner in rows}


def test_ranks_follow_the_closure_then_its_packages_then_the_rest() -> None:
    modules = index(
        ("app", "function api"),
        ("pandas", "pandas"),
        ("pandas.io", "pandas"),
        ("pandas.plotting", "pandas"),
        ("dateutil", "python-dateutil"),
        ("idle", "idle"),
    )
    closures = [
        Closure(init={"pandas": 1}, later=frozenset({"pandas.io", "dateutil"})),
        Closure(init={"pandas.io": 2}, later=frozenset()),  # a second handler imports it at init
    ]
    ranks = rank_modules(modules, closures, always=["app"])
    assert ranks == {
        "python/app.py": RANK_INIT,
        "python/pandas.py": RANK_INIT,
        "python/pandas/io.py": RANK_INIT,
        "python/pandas/plotting.py": RANK_PACKAGE,
        "python/dateutil.py": RANK_LATER,
        "python/idle.py": RANK_REST,
    }


def test_choose_fills_the_budget_in_rank_order() -> None:
    candidates = [
        Candidate("z_init.py", 40, RANK_INIT),
        Candidate("a_init.py", 30, RANK_INIT),
        Candidate("later.py", 50, RANK_LATER),
        Candidate("small_rest.py", 5, RANK_REST),
        Candidate("package.py", 20, RANK_PACKAGE),
    ]
    assert choose(candidates, 0) == frozenset()
    assert choose(candidates, 70) == {"a_init.py", "z_init.py"}
    # later.py (50) does not fit in what is left (30): smaller ones after it still do
    assert choose(candidates, 100) == {"a_init.py", "z_init.py", "package.py", "small_rest.py"}
    assert choose(candidates, 145) == {c.source for c in candidates}


@given(
    st.lists(
        st.tuples(st.integers(0, 1000), st.integers(0, 3)), min_size=0, max_size=40, unique=True
    ),
    st.integers(0, 5000),
)
def test_choose_never_exceeds_the_budget_and_prefers_likelier_modules(
    rows: list[tuple[int, int]], limit: int
) -> None:
    candidates = [Candidate(f"m{i}.py", size, rank) for i, (size, rank) in enumerate(rows)]
    chosen = choose(candidates, limit)
    assert sum(c.pyc_size for c in candidates if c.source in chosen) <= limit
    # A module left out never fits beside everything of a better rank that was chosen.
    for left in (c for c in candidates if c.source not in chosen):
        better = sum(c.pyc_size for c in candidates if c.source in chosen and c.rank <= left.rank)
        assert better + left.pyc_size > limit or left.pyc_size > limit
    assert choose(list(reversed(candidates)), limit) == chosen  # independent of input order


def report(**changes: object) -> BytecodeReport:
    fields: dict[str, object] = {
        "mode": "auto",
        "python": "CPython 3.12 at /usr/bin/python3.12",
        "candidates": 700,
        "chosen": 650,
        "chosen_bytes": 15_000_000,
        "all_bytes": 19_000_000,
        "budget": 15_500_000,
        "margin": 5_000_000,
        "by_rank": (
            (400, 400, 12_000_000),
            (100, 100, 2_000_000),
            (150, 150, 1_000_000),
            (50, 0, 0),
        ),
        "functions": (
            FunctionBytecode(
                function="api",
                handler="app.handler.handler",
                modules=400,
                source_bytes=11_000_000,
                compiled=400,
                pyc_bytes=12_000_000,
                later=100,
                check=TraceCheck(
                    traced=480,
                    missing=("dateutil", "dateutil.parser"),
                    extra=("urllib3.contrib.socks",),
                    stubbed=("boto3",),
                    missing_ranked_later=2,
                ),
            ),
        ),
        "closure_note": "static import closure, checked against an import trace by python3.12",
    }
    fields.update(changes)
    return BytecodeReport(**fields)  # type: ignore[arg-type]


def test_describe_says_per_function_what_the_closure_costs_and_gets() -> None:
    pruned = PruneReport(
        savings=(RuleSaving("test suites", 1200, 24_570_000, ("numpy", "pandas")),),
        kept=(KeptDirectory("boto3/docs", "docs and examples", "boto3/resources/factory.py"),),
    )
    lines = describe(report(), pruned)
    assert lines[0] == "pruned (default-excludes): 24.57 MB: test suites 24.57 MB (1200 files)"
    assert (
        lines[1]
        == "  kept boto3/docs/ (docs and examples): boto3/resources/factory.py refers to it"
    )
    assert lines[2] == (
        'bytecode (compile = "auto", CPython 3.12 at /usr/bin/python3.12): 650 of 700 modules, '
        "15.00 MB of 19.00 MB, budget 15.50 MB (limit less margin 5,000,000 bytes); static "
        "import closure, checked against an import trace by python3.12"
    )
    assert lines[3] == (
        "  by likelihood: imported at init 400/400, imported later 100/100, same package "
        "150/150, the rest 0/50"
    )
    assert lines[4] == (
        "  function api (app.handler.handler): imports 400 modules at init (11.00 MB source), "
        "400 with bytecode (12.00 MB); 100 more later"
    )
    assert lines[5] == (
        "    import trace: 480 modules at init; 2 missing from the static closure (dateutil, "
        "dateutil.parser); 2 of them ranked as imported later; 1 in it but not imported "
        "(urllib3.contrib.socks)"
    )
    assert lines[6] == "    not on the build machine (stubbed): boto3"


def test_describe_without_bytecode_or_with_a_failed_trace() -> None:
    assert describe(None, PruneReport((), ())) == [
        'bytecode: none (compile = false); compile = "auto" ships it for what the handlers '
        "import, within the size limit"
    ]
    failed = FunctionBytecode("api", None, 3, 300, 3, 330, 0, TraceCheck(0, (), (), error="boom"))
    lines = describe(report(mode="true", budget=None, functions=(failed,)))
    assert lines[0].startswith("bytecode (compile = true, CPython 3.12")
    assert "budget" not in lines[0]
    assert "by likelihood" not in "\n".join(lines)
    assert lines[1].startswith("  function api (no handler: every module of the function")
    assert lines[2] == "    import trace failed (boom): the static closure is used"
