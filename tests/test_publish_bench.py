"""Smoke test of benchmarks/fleet_bench.py on a tiny fleet: the store publishes each shared
layer once per region where, without it, every project publishes its own copy."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("boto3")
pytest.importorskip("moto.server")

ROOT = Path(__file__).resolve().parents[1]


def _load() -> ModuleType:
    path = ROOT / "benchmarks" / "fleet_bench.py"
    spec = importlib.util.spec_from_file_location("fleet_bench", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fleet_bench"] = module
    spec.loader.exec_module(module)
    return module


def test_fleet_benchmark_counts() -> None:
    fleet = _load()
    saved = dict(os.environ)
    try:
        data = fleet.run(2, ["us-east-1"], 0.0005)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    shared = len(fleet.POPULAR)
    without, with_store = data["without_store"], data["with_store"]
    assert without["first deploy"]["layer_versions_published"] == 2 * shared
    assert with_store["first deploy"]["layer_versions_published"] == shared
    assert with_store["first deploy"]["layer_versions_existing"] == shared
    assert with_store["no-change deploy"]["layer_versions_published"] == 0
    assert with_store["no-change deploy"]["bytes_uploaded"] == 0
    first_bytes = with_store["first deploy"]["bytes_uploaded"]
    assert first_bytes < without["first deploy"]["bytes_uploaded"]
