"""Smoke tests of benchmarks/replay.py on a small synthetic history (no network)."""

from __future__ import annotations

import importlib.util
import itertools
import json
import math
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from hatch_lambda_layers.plan.rates import cadence_rate

ROOT = Path(__file__).resolve().parents[1]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("replay", ROOT / "benchmarks" / "replay.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["replay"] = module
    spec.loader.exec_module(module)
    return module


replay = _load()
data_module = sys.modules["replay_data"]

START = datetime(2022, 1, 1, tzinfo=timezone.utc)


def _releases(every_days: int, size: int, count: int, offset: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "version": f"1.{i}",
            "upload_time": (START + timedelta(days=offset + every_days * i)).isoformat(),
            "wheel_size": size,
        }
        for i in range(count)
    ]


def releases_json() -> dict[str, Any]:
    packages = {
        "big-stable": {
            "pinned": "1.1",
            "wheel_size": 20_000_000,
            "releases": _releases(300, 20_000_000, 3),
        },
        "big-hot": {
            "pinned": "1.60",
            "wheel_size": 9_000_000,
            "releases": _releases(12, 9_000_000, 60, 1),
        },
        "small-hot": {
            "pinned": "1.70",
            "wheel_size": 200_000,
            "releases": _releases(10, 200_000, 70, 2),
        },
        "tiny": {"pinned": "1.7", "wheel_size": 30_000, "releases": _releases(100, 30_000, 7, 3)},
        "medium": {
            "pinned": "1.12",
            "wheel_size": 3_000_000,
            "releases": _releases(60, 3_000_000, 12, 4),
        },
        "quiet": {"pinned": "1.0", "wheel_size": 50_000, "releases": []},
    }
    return {
        "_about": {"window": "releases with first upload in [2022-01-01, 2024-01-01)"},
        "WX_demo": {
            "runtime": "python3.12",
            "architecture": "x86_64",
            "requirements": sorted(packages),
            "provided": [],
            "packages": packages,
        },
    }


def set_partitions(items: list[str], k: int) -> Iterator[list[list[str]]]:
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for smaller in set_partitions(rest, k):
        for i in range(len(smaller)):
            yield [*smaller[:i], [first, *smaller[i]], *smaller[i + 1 :]]
        if len(smaller) < k:
            yield [[first], *smaller]


def test_window_and_timeline() -> None:
    data = releases_json()
    start, split, end = replay.window(data)
    assert (start, split, end) == (
        START,
        datetime(2023, 1, 1, tzinfo=timezone.utc),
        START.replace(year=2024),
    )
    (w,) = replay.load_workloads(data)
    tl = replay.timeline(w, split, end)
    assert tl.names == sorted(w.packages)
    assert len(tl.states) == len(tl.dates)
    assert all(changed for changed in tl.changed()), "a build only on days with a release"
    assert "quiet" not in set().union(*tl.changed())


@pytest.mark.parametrize("limit", [None, 25_000_000])
def test_hindsight_is_the_best_fixed_partition(limit: int | None) -> None:
    pytest.importorskip("numpy")
    data = releases_json()
    _, split, end = replay.window(data)
    (w,) = replay.load_workloads(data)
    tl = replay.timeline(w, split, end)
    for k in (1, 2, 3, 5):
        costs = [
            replay.fixed_cost(tl, blocks, limit).bytes for blocks in set_partitions(tl.names, k)
        ]
        feasible = [c for c in costs if c is not None]
        got = replay.hindsight(tl, limit, k)
        if not feasible:
            assert got.bytes is None
            continue
        assert got.bytes == pytest.approx(min(feasible))
        assert len(got.layers) <= k


def test_at_cadence_rescales_the_library_rate() -> None:
    now = datetime(2025, 1, 1, tzinfo=timezone.utc)
    times = [now - timedelta(days=9 * i + 1) for i in range(30)]
    weekly = cadence_rate(times, now)
    assert replay.at_cadence(weekly, 7.0) == weekly
    per_day = 30.5 / 365
    for days in (1.0, 3.4, 14.0):
        assert replay.at_cadence(weekly, days) == pytest.approx(-math.expm1(-per_day * days))


def test_frozen_at_reads_the_index_facts() -> None:
    (w,) = replay.load_workloads(releases_json())
    cutoff = datetime(2023, 1, 1, tzinfo=timezone.utc)
    rows = [["1.0", "2022-03-01T00:00:00+00:00", True], ["1.1", "2022-06-01T00:00:00+00:00", False]]
    facts = {"workloads": {"WX_demo": {"releases": {"medium": rows, "tiny": rows[:1]}}}}
    assert replay.frozen_at(facts, w, cutoff) == ["medium"]
    assert replay.frozen_at(facts, w, datetime(2022, 5, 1, tzinfo=timezone.utc)) == []
    assert replay.frozen_at(None, w, cutoff) == []
    rates = replay.estimate(w, START, cutoff, 7.0, ["medium"])
    assert rates["medium"] == cadence_rate((), cutoff)
    assert rates["small-hot"] > rates["tiny"] > rates["medium"]


def test_main_writes_every_strategy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("numpy")
    source = tmp_path / "releases.json"
    source.write_text(json.dumps(releases_json()))
    out = tmp_path / "replay.json"
    assert replay.main([str(source), "--out", str(out), "--signals", "none", "--markdown"]) == 0
    results = json.loads(out.read_text())
    entry = results["workloads"]["WX_demo"]
    b = {k: v["bytes"] for k, v in entry["modes"]["direct"]["strategies"].items()}
    assert b["hindsight"] <= b["project"] <= b["single"]
    # Without the per-layer overhead the plan is never worse than the four largest alone; with
    # it, it may trade bytes for fewer layers, never beyond one layer's bytes.
    assert b["project_no_overhead"] <= b["largest4"]
    assert b["project_no_overhead"] <= b["project"]
    assert entry["per_package_bound"] <= b["hindsight"]
    assert set(entry["sensitivity"]["direct"]) == {"1", "matched", "7", "14"}
    assert entry["sensitivity"]["direct"]["7"] == b["project_no_overhead"]
    assert set(entry["overhead"]["direct"]) == {"0", "250000", "500000", "1000000", "2000000"}
    printed = capsys.readouterr().out
    assert "| WX_demo | direct |" in printed
    assert "wrote" in printed
    assert not list(itertools.islice(tmp_path.glob("*index*"), 1)), "--signals none: no index"
