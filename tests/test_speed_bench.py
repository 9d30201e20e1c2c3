"""Smoke tests of benchmarks/speed_bench.py's pure parts and of the raw-copy floor script (no
network: zips built here)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


sb = _load("speed_bench")


def test_import_total_sums_the_top_level_entries() -> None:
    stderr = "\n".join(
        [
            "import time: self [us] | cumulative | imported package",
            "import time:       100 |        100 |   _io",
            "import time:       200 |       1500 | site",
            "import time:        50 |         50 |     json.decoder",
            "import time:       300 |       2500 | hatch_lambda_layers.cli",
            "something else",
        ]
    )
    assert sb.import_total_us(stderr) == 4000


def test_aims_are_checked_against_their_bounds() -> None:
    times = {
        "plan": 0.4, "warm": 0.44, "noop": 0.03, "recipe_zip9": 20.0, "floor": 0.3,
        "compile": 0.9,
    }  # fmt: skip
    large = sb.aims(times, 76_000_000, small=False)
    assert large["noop_over_plan"] == {"ratio": 0.075, "bound": 0.1, "met": True}
    assert large["recipe9_over_plan"] == {"ratio": 50.0, "bound": 20.0, "met": True}
    assert large["plan_over_floor"] == {"ratio": 1.333, "bound": 1.5, "met": True}
    assert large["warm_over_plan"] == {"ratio": 1.1, "bound": 1.2, "met": True}
    assert large["compile_over_plan"] == {"ratio": 2.25, "bound": 1.5, "met": False}
    small = sb.aims({**times, "recipe_zip9": 2.0}, 4_500_000, small=True)
    assert small["recipe9_over_plan"] == {"ratio": 5.0, "bound": 10.0, "met": False}
    assert small["plan_over_floor"]["met"] is None
    assert sb.aims({"plan": 1.0}, 1, small=False)["noop_over_plan"]["met"] is None


def _wheel(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_the_floor_copies_the_same_members(tmp_path: Path) -> None:
    wheel = _wheel(
        tmp_path / "alpha-1.0-py3-none-any.whl",
        {
            "alpha/__init__.py": b"A = 1\n" * 50,
            "alpha-1.0.data/purelib/alpha_extra.py": b"B = 2\n",
            "alpha-1.0.dist-info/METADATA": b"Name: alpha\n",
        },
    )
    layer = _wheel(
        tmp_path / "layer-x.zip",
        {"python/alpha/__init__.py": b"A = 1\n" * 50, "python/alpha_extra.py": b"B = 2\n"},
    )
    spec = sb.floor_spec([layer], [wheel])
    assert [row[-1] for row in spec[0]["entries"]] == [
        "python/alpha/__init__.py",
        "python/alpha_extra.py",
    ]
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(sb.json.dumps(spec))
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "rawcopy_floor.py"), str(spec_path), str(out)],
        check=True,
        timeout=60,
    )
    with zipfile.ZipFile(out / "layer-x.zip") as copied, zipfile.ZipFile(layer) as original:
        assert copied.testzip() is None
        assert {i.filename: copied.read(i) for i in copied.infolist()} == {
            i.filename: original.read(i) for i in original.infolist()
        }
