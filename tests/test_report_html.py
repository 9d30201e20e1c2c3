"""The HTML report: self-contained, its tables readable without script, and rendered by headless
Chromium (from the system's packages) into a screenshot that is not blank, with no console
messages. Skips the rendering when Chromium is not installed."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from hatch_lambda_layers.manifest import Manifest, PackageEntry
from hatch_lambda_layers.report.colors import RATE_BINS
from hatch_lambda_layers.report.compare import build_report
from hatch_lambda_layers.report.html import format_html
from tests.chromium import CHROMIUM, decode_png, render
from tests.test_manifest import _layer, make_manifest

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"
)
RATES = (0.005, 0.03, 0.07, 0.15, 0.3, 0.8, None)


def _packages(prefix: str, count: int, scale: int) -> tuple[PackageEntry, ...]:
    return tuple(
        PackageEntry(
            name=f"{prefix}-{i}",
            version=f"1.{i}.0",
            size_unzipped=scale * (count - i) ** 2,
            size_zipped=scale * (count - i) ** 2 // 3,
            change_rate=RATES[i % len(RATES)],
            change_source="release-cadence" if i % len(RATES) != len(RATES) - 1 else "unknown",
        )
        for i in range(count)
    )


def _manifests() -> tuple[Manifest, Manifest]:
    layers = []
    for n, (prefix, count, scale) in enumerate((("num", 6, 900_000), ("web", 9, 60_000))):
        layer = _layer(f"demo-{prefix}", f"{n}" * 64)
        packages = _packages(prefix, count, scale)
        layers.append(
            replace(
                layer,
                packages=packages,
                size_unzipped=sum(p.size_unzipped for p in packages),
                size_zipped=sum(p.size_zipped for p in packages),
            )
        )
    new = make_manifest(*layers)
    total = sum(x.size_unzipped for x in layers) + 20
    new = replace(new, limits=replace(new.limits, unzipped_total=total))
    older = replace(layers[1].packages[0], version="1.0.0rc9", size_unzipped=1_000)
    base_layer = replace(
        layers[1], content_hash="sha256:" + "9" * 64, packages=(older, *layers[1].packages[1:])
    )
    return replace(new, layers=(layers[0], base_layer)), new


def _page(tmp_path: Path) -> Path:
    base, new = _manifests()
    path = tmp_path / "report.html"
    path.write_text(format_html(build_report(new, base)), encoding="utf-8")
    return path


def test_page_is_self_contained(tmp_path: Path) -> None:
    page = _page(tmp_path).read_text()
    assert "Content-Security-Policy" in page
    assert "default-src 'none'" in page
    assert not re.search(r"(src|href)=\"(?!data:|#)", page)
    assert "://" not in page.replace("http-equiv", "")
    assert "@import" not in page
    assert "url(" not in page


def test_tables_are_readable_without_script(tmp_path: Path) -> None:
    page = _page(tmp_path).read_text()
    static = re.sub(r"<script>.*?</script>", "", page, flags=re.DOTALL)
    tables = re.findall(r"<table>.*?</table>", static, flags=re.DOTALL)
    assert len(tables) == 3  # limits, package moves, layers and packages
    text = re.sub(r"<[^>]+>", " ", " ".join(tables))
    assert "262,144,000" in text
    assert "num-0" in text
    assert "web-8" in text
    assert "changed" in text
    # Every package rectangle carries its figures in an SVG title (a tooltip without script).
    assert len(re.findall(r"<title>(num|web)-\d", static)) == 15


@needs_chromium
def test_chromium_renders_a_treemap_without_console_errors(tmp_path: Path) -> None:
    page = _page(tmp_path)
    shot = tmp_path / "shot.png"
    result = render(page, tmp_path / "profile", screenshot=shot, size="1280,900")
    assert result.console == (), result.console
    image = decode_png(shot.read_bytes())
    assert (image.width, image.height) == (1280, 900)
    colours = image.colours()
    assert len(colours) > 50, "the screenshot is blank"
    shown = {bytes.fromhex(b.fill[1:]) for b in RATE_BINS} & colours
    assert len(shown) >= 5, "the treemap's rate colours are not on screen"
    # The script ran: it replaced the SVG titles with its own tooltip.
    dom = render(page, tmp_path / "profile", dump_dom=True).output
    assert "data-tip=" in dom
    assert not re.search(r"<title>(num|web)-\d", dom)


@needs_chromium
def test_console_errors_would_be_seen(tmp_path: Path) -> None:
    """The check above is not vacuous: a failing script shows up in the console lines."""
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><p>x</p><script>missing();</script>")
    result = render(page, tmp_path / "profile", screenshot=tmp_path / "bad.png", size="200,100")
    assert any("missing is not defined" in line for line in result.console)
