"""A build against a base build: `diff` (target first), the `report` model, its markdown for a
pull-request comment, and the `report` command."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from hatch_lambda_layers import cli
from hatch_lambda_layers.manifest import LayerEntry, Manifest, PackageEntry, Target, write_manifest
from hatch_lambda_layers.report.compare import build_report
from hatch_lambda_layers.report.diff import diff, format_diff, target_changes
from hatch_lambda_layers.report.markdown import MARKER, format_markdown
from tests.test_manifest import _layer, make_manifest


def _sized(layer: LayerEntry, zipped: int, unzipped: int, **sizes: tuple[int, int]) -> LayerEntry:
    """`layer` with these sizes, and (unzipped, zipped) sizes for the named packages."""
    packages = tuple(
        replace(p, size_unzipped=sizes[p.name][0], size_zipped=sizes[p.name][1], change_rate=0.2)
        if p.name in sizes
        else p
        for p in layer.packages
    )
    return replace(layer, size_zipped=zipped, size_unzipped=unzipped, packages=packages)


def _pair() -> tuple[Manifest, Manifest]:
    base = make_manifest(
        _sized(
            _layer("demo-big", "a" * 64, ("numpy", "2.0"), ("pandas", "2.2")),
            30_000_000,
            120_000_000,
            numpy=(40_000_000, 12_000_000),
        ),
        _layer("demo-small", "b" * 64, ("idna", "3.1")),
    )
    new = make_manifest(
        _sized(
            _layer("demo-big", "c" * 64, ("numpy", "2.1"), ("pandas", "2.2"), version=2),
            30_500_000,
            121_500_000,
            numpy=(41_500_000, 12_500_000),
        ),
        _layer("demo-small", "b" * 64, ("idna", "3.1")),
    )
    return (
        replace(base, limits=replace(base.limits, unzipped_total=120_300_020)),
        replace(new, limits=replace(new.limits, unzipped_total=121_800_020)),
    )


def test_diff_reports_a_change_of_target_first() -> None:
    old = make_manifest(_layer("demo-a", "a" * 64, ("numpy", "2.0")))
    new = replace(
        old,
        target=Target(
            runtime="python3.13", architecture="x86_64", python_version="3.13", glibc="2.34"
        ),
    )
    changes = target_changes(old, new)
    assert [(c.field, c.old, c.new) for c in changes] == [
        ("runtime", "python3.12", "python3.13"),
        ("architecture", "arm64", "x86_64"),
        ("python_version", "3.12", "3.13"),
    ]
    text = format_diff(diff(old, new), changes)
    first = text.splitlines()[0]
    assert first.startswith(
        "Target changed: runtime python3.12 -> python3.13, architecture arm64 -> x86_64, "
        "Python 3.12 -> 3.13"
    )
    assert "runtime and architecture set to match" in first
    assert target_changes(old, old) == ()
    assert not format_diff(diff(old, old)).startswith("Target")


def test_diff_command_says_the_target_changed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = make_manifest(_layer("demo-a", "a" * 64, ("numpy", "2.0")))
    glibc = replace(old.target, runtime="python3.11", python_version="3.11", glibc="2.26")
    write_manifest(tmp_path / "old.json", old)
    write_manifest(tmp_path / "new.json", replace(old, target=glibc))
    assert cli.main(["diff", str(tmp_path / "old.json"), str(tmp_path / "new.json")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Target changed: runtime python3.12 -> python3.11")
    assert "glibc 2.34 -> 2.26" in out[0]
    assert out[1] == "  demo-a: unchanged"


def test_report_model_counts_moves_and_uploads() -> None:
    base, new = _pair()
    report = build_report(new, base)
    status = {x.name: x.status for x in report.layers}
    assert status == {"demo-big": "changed", "demo-small": "unchanged"}
    (move,) = report.moves
    assert (move.name, move.layer, move.old_version, move.new_version) == (
        "numpy",
        "demo-big",
        "2.0",
        "2.1",
    )
    assert (move.delta_unzipped, move.delta_zipped) == (1_500_000, 500_000)
    # The function's zip is the same: only the changed layer is uploaded.
    assert report.upload_bytes == 30_500_000
    limits = {x.key: x for x in report.limits}
    assert limits["unzipped"].headroom == 262_144_000 - 121_800_020
    assert limits["zipped_layer"].used == 30_500_000
    assert limits["zipped_layer"].detail == "demo-big"
    changed_code = replace(new, functions=(replace(new.functions[0], sha256="cd" * 32),))
    assert build_report(changed_code, base).upload_bytes == 30_500_000 + 10
    first_deploy = build_report(new)
    assert first_deploy.upload_bytes == 30_500_000 + 100 + 10


def test_markdown_is_short_with_the_summary_first() -> None:
    base, new = _pair()
    text = format_markdown(build_report(new, base))
    lines = text.splitlines()
    assert lines[0] == MARKER
    assert lines[1] == "### Lambda artifacts: demo 1.0"
    assert "**1 of 2 layers change**; a deploy uploads **30.5 MB** (1 layer)." in text
    # Summary table and limits come before anything folded.
    first_details = text.index("<details>")
    assert text.index("| zipped, all layers | 30.0 MB | 30.5 MB | +500.0 KB |") < first_details
    assert text.index("| unzipped, function + layers | 120.3 MB | 121.8 MB | +1.5 MB |") < (
        first_details
    )
    assert text.index("| function + layers, unzipped | 121.8 MB | 262.1 MB |") < first_details
    assert "| numpy | demo-big | 2.0 | 2.1 | +1.5 MB | +500.0 KB |" in text
    assert text.count("<details>") == text.count("</details>") == 2
    assert len(lines) < 45
    # Every table row has as many cells as its header.
    for block in re.findall(r"(?:^\|.*\|\n)+", text, flags=re.MULTILINE):
        rows = block.splitlines()
        assert len({r.count(" | ") for r in rows if not r.startswith("|--")}) == 1


def test_markdown_leads_with_a_change_of_target() -> None:
    base, new = _pair()
    moved = replace(new, target=replace(new.target, architecture="x86_64"))
    text = format_markdown(build_report(moved, base))
    assert text.splitlines()[3].startswith("**Target changed: architecture arm64 -> x86_64")


def test_report_command_writes_markdown_and_html(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, new = _pair()
    write_manifest(tmp_path / "base.json", base)
    write_manifest(tmp_path / "new.json", new)
    args = [
        "report",
        "--base",
        str(tmp_path / "base.json"),
        "--manifest",
        str(tmp_path / "new.json"),
    ]
    assert cli.main(args) == 0
    assert capsys.readouterr().out.startswith(MARKER)
    assert cli.main([*args, "--format", "html", "-o", str(tmp_path / "r.html")]) == 0
    page = (tmp_path / "r.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "numpy" in page
    missing = [
        "report",
        "--base",
        str(tmp_path / "gone.json"),
        "--manifest",
        str(tmp_path / "new.json"),
    ]
    assert cli.main(missing) == 1
    err = capsys.readouterr().err
    error = err.splitlines()[-1]
    assert "gone.json" in error
    assert error.startswith("lambda-layers: error: ")
    with pytest.raises(SystemExit) as usage:
        cli.main(["report", "--format", "pdf"])
    assert usage.value.code == 2


def test_package_entry_without_zipped_size_counts_as_zero() -> None:
    base, new = _pair()
    old_layer = replace(
        base.layers[1], packages=(PackageEntry(name="idna", version="3.0", size_unzipped=10),)
    )
    report = build_report(new, replace(base, layers=(base.layers[0], old_layer)))
    idna = next(m for m in report.moves if m.name == "idna")
    assert idna.delta_zipped == 0  # base has size_zipped 0, new too
    assert idna.delta_unzipped == 150 - 10
