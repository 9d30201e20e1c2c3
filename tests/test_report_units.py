"""Pure pieces of the reports: figures in words, the squarified treemap, who keeps a shared
dependency, the artifacts summary line and the progress lines."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from hatch_lambda_layers.progress import TerminalProgress, WriteProgress, WriteTracker
from hatch_lambda_layers.report.shared import Needer, shared_with_provided
from hatch_lambda_layers.report.summary import artifacts_summary
from hatch_lambda_layers.report.treemap import Rect, squarify
from hatch_lambda_layers.report.units import how_often, human_bytes, percent, plural, signed_bytes
from hatch_lambda_layers.resolve.graph import graph_from_mapping, split_provided
from tests.test_manifest import _layer, make_manifest


def test_figures_in_words() -> None:
    assert human_bytes(812) == "812 bytes"
    assert human_bytes(1_412) == "1.4 KB"
    assert human_bytes(9_626_180) == "9.6 MB"
    assert human_bytes(262_144_000) == "262.1 MB"
    assert human_bytes(1_250_000_000) == "1.25 GB"
    assert signed_bytes(12_300) == "+12.3 KB"
    assert signed_bytes(-1_000_000) == "-1.0 MB"
    assert signed_bytes(0) == "no change"
    assert plural(1, "package") == "1 package"
    assert plural(2, "package") == "2 packages"
    assert plural(0, "layer") == "0 layers"
    assert percent(0.271) == "27%"
    assert percent(0.028) == "2.8%"
    assert percent(0.0004) == "<0.1%"
    assert how_often(0.99) == "almost every build"
    assert how_often(0.7) == "about 7 builds in 10"
    assert how_often(1 / 7) == "about 1 build in 7"
    assert how_often(1 / 143) == "about 1 build in 140"
    assert how_often(0.0) == "never"


def test_squarify_matches_the_papers_example() -> None:
    rects = squarify([6, 6, 4, 3, 2, 2, 1], Rect(0, 0, 6, 4))
    assert [round(r.area, 9) for r in rects] == [6, 6, 4, 3, 2, 2, 1]
    assert rects[0] == Rect(0, 0, 3.0, 2.0)
    assert rects[1] == Rect(0, 2.0, 3.0, 2.0)


def _overlap(a: Rect, b: Rect) -> float:
    w = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    h = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    return max(0.0, w) * max(0.0, h)


@settings(max_examples=200, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=40),
    width=st.floats(min_value=10, max_value=2000),
    height=st.floats(min_value=10, max_value=2000),
)
def test_squarify_tiles_the_space_in_proportion(
    sizes: list[int], width: float, height: float
) -> None:
    space = Rect(0, 0, width, height)
    rects = squarify([float(s) for s in sizes], space)
    assert len(rects) == len(sizes)
    total = sum(sizes)
    eps = 1e-6 * width * height
    for size, r in zip(sizes, rects, strict=True):
        assert r.x >= -1e-6
        assert r.y >= -1e-6
        assert r.x + r.w <= width + 1e-6
        assert r.y + r.h <= height + 1e-6
        expected = 0.0 if total == 0 else space.area * size / total
        assert abs(r.area - expected) <= eps
    for a, b in itertools.combinations(rects, 2):
        assert _overlap(a, b) <= eps


def test_squarify_keeps_rectangles_near_square() -> None:
    rects = squarify([1.0] * 16, Rect(0, 0, 400, 400))
    assert all(max(r.w / r.h, r.h / r.w) < 1.5 for r in rects)


def test_shared_dependencies_name_who_keeps_them() -> None:
    graph = graph_from_mapping(
        ["aws-xray-sdk", "requests", "boto3"],
        {
            "aws-xray-sdk": ("2.14", ["botocore", "wrapt"]),
            "boto3": ("1.35.0", ["botocore", "s3transfer"]),
            "botocore": ("1.35.0", ["urllib3"]),
            "s3transfer": ("0.10", ["botocore"]),
            "requests": ("2.32", ["urllib3"]),
            "urllib3": ("2.2", []),
            "wrapt": ("1.16", []),
        },
    )
    closure = split_provided(graph, ["boto3"])
    shared = {s.name: s for s in shared_with_provided(graph, closure, "orders-api")}
    assert set(shared) == {"botocore"}
    assert shared["botocore"].needed_by == ("aws-xray-sdk",)
    assert shared["botocore"].also_needed_by == (
        Needer("boto3", provided=True),
        Needer("s3transfer", provided=False),
    )


def test_artifacts_summary_is_one_line(tmp_path: Path) -> None:
    manifest = make_manifest(_layer("demo-a", "a" * 64, ("numpy", "2.0")))
    line = artifacts_summary(manifest, tmp_path / "dist" / "lambda", cwd=tmp_path)
    assert line == "Lambda artifacts in dist/lambda: 1 layer 100 bytes, 1 function 10 bytes " + (
        "(manifest.json)"
    )
    elsewhere = artifacts_summary(manifest, tmp_path / "out", cwd=tmp_path / "project")
    assert f"in {tmp_path / 'out'}:" in elsewhere


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_zip_writing_shows_on_a_terminal_and_nowhere_else() -> None:
    tty = _Tty()
    progress = TerminalProgress(tty, min_interval=0)
    tracker = WriteTracker(progress, 2)
    tracker.start("layer demo-numpy", 40 * 1048576)
    assert "Writing zip 1/2: layer demo-numpy (40.0 MiB unzipped)" in tty.getvalue()
    progress.clear()
    assert tty.getvalue().endswith("\r\x1b[2K")
    tracker.start("function demo", 1000)
    tracker.finish()
    assert "Writing zip 2/2: function demo" in tty.getvalue()
    assert tty.getvalue().endswith("\r\x1b[2K")  # the line is gone once all are written
    pipe = io.StringIO()
    WriteTracker(TerminalProgress(pipe, min_interval=0), 1).start("layer x", 1)
    assert pipe.getvalue() == ""
    WriteTracker(None, 1).start("layer x", 1)  # no callback: nothing to report to
    assert TerminalProgress.render(WriteProgress(0, 1, "x" * 200, 0), width=40).endswith("…")
