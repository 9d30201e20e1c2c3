"""What verifying wheels costs: cold (first build: every member inflated and hashed) against
warm (the cached verdict: members copied raw, nothing inflated), and against re-hashing every
cached wheel on each build (what the cache's stat sidecar avoids).

    python benchmarks/verify_bench.py WHEEL_DIR [--repeat N]

For each ``*.whl`` in WHEEL_DIR (e.g. wheels from a warm ``$HATCH_LAMBDA_LAYERS_CACHE_DIR``):
``verify_wheel`` (cold), ``read_wheel`` with the verdict loaded from a cache (warm), and one
sha256 of the file (re-hash); best of N runs each, files in the page cache. Prints a table and
the totals, and writes them to `--out` (default benchmarks/results/verify.json).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hatch_lambda_layers.digests import file_sha256  # noqa: E402
from hatch_lambda_layers.layers.layout import LayoutOptions  # noqa: E402
from hatch_lambda_layers.layers.verdicts import verified_wheel  # noqa: E402
from hatch_lambda_layers.layers.verify import verify_wheel  # noqa: E402
from hatch_lambda_layers.layers.wheel import read_wheel  # noqa: E402


def best(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def measure(wheel: Path, cache: Path, repeat: int) -> tuple[float, float, float]:
    """(cold verify, warm read with the cached verdict, full re-hash) seconds for `wheel`."""
    digest = file_sha256(wheel)
    cold = best(lambda: verify_wheel(wheel), repeat)
    verified_wheel(wheel, sha256=digest, cache_dir=cache)

    def warm() -> object:
        verdict, cached = verified_wheel(wheel, sha256=digest, cache_dir=cache)
        assert cached
        return read_wheel(wheel, LayoutOptions(), verdict=verdict)

    return cold, best(warm, repeat), best(lambda: file_sha256(wheel), repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("wheels", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "verify.json")
    args = parser.parse_args()
    totals = [0.0, 0.0, 0.0]
    zipped = unzipped = 0
    rows: list[dict[str, object]] = []
    print("| wheel | MB zipped | MB unzipped | verify (cold) s | warm read s | re-hash s |")
    print("|---|--:|--:|--:|--:|--:|")
    with tempfile.TemporaryDirectory() as cache:
        for wheel in sorted(args.wheels.glob("*.whl")):
            size = wheel.stat().st_size
            with zipfile.ZipFile(wheel) as zf:
                inflated = sum(i.file_size for i in zf.infolist())
            figures = measure(wheel, Path(cache), args.repeat)
            totals = [t + f for t, f in zip(totals, figures, strict=True)]
            zipped, unzipped = zipped + size, unzipped + inflated
            cells = " | ".join(f"{f:.3f}" for f in figures)
            name = wheel.name.split("-")[0]
            print(f"| {name} | {size / 1e6:.1f} | {inflated / 1e6:.1f} | {cells} |")
            rows.append(
                {"wheel": wheel.name, "zipped": size, "unzipped": inflated}
                | dict(zip(("cold_s", "warm_s", "rehash_s"), figures, strict=True))
            )
    cells = " | ".join(f"**{t:.3f}**" for t in totals)
    print(f"| all | {zipped / 1e6:.1f} | {unzipped / 1e6:.1f} | {cells} |")
    summary = {"zipped": zipped, "unzipped": unzipped, "repeat": args.repeat}
    summary |= dict(zip(("cold_s", "warm_s", "rehash_s"), totals, strict=True))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"wheels": rows, "all": summary}, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
