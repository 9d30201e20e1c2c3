"""The HTML report's pictures as static SVG: the treemap of the function and its layers (each
package a rectangle, area by unzipped size, colour by change rate) and the budget bars (bytes
unzipped against 262,144,000, layer slots against 5). Layout is pure (`treemap_layout`); the
rest turns it into markup, every string escaped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from .colors import ARTIFACT_FILLS, FUNCTION_FILL, rate_bin
from .compare import BuildReport
from .headroom import LimitUse
from .treemap import Rect, squarify
from .units import human_bytes, percent
from .words import source_words

_CHAR = 6.3  # width of one 11px character, near enough to decide whether a label fits
_BAND = 20.0  # height of a group's title band
_PAD = 3.0
_MIN_BAND_W, _MIN_BAND_H = 90.0, 46.0
_LINE = 14.0
_BIG_W, _BIG_H = 160.0, 60.0  # tiles this large get bigger labels
_MIN_CHARS = 3


@dataclass(frozen=True)
class Tile:
    """A package's rectangle with its colours, label, second line and tooltip."""

    rect: Rect
    fill: str
    ink: str
    label: str
    sub: str
    tip: str


@dataclass(frozen=True)
class Group:
    """A function or layer's frame in the treemap, with its packages' tiles."""

    rect: Rect
    name: str
    sub: str
    changed: bool
    tiles: tuple[Tile, ...]


_Artifact = tuple[str, int, bool, list[tuple[Tile, int]]]


def _artifacts(report: BuildReport) -> list[_Artifact]:
    """(name, unzipped size, changed, [(tile without its rectangle, size)]) for each function
    and layer, in the report's order."""
    found: list[_Artifact] = []
    for fn in report.functions:
        tip = f"function {fn.name}: {human_bytes(fn.size_unzipped)} unzipped, your own code"
        tile = Tile(Rect(0, 0, 0, 0), FUNCTION_FILL, "#ffffff", fn.name, "", tip)
        changed = report.has_base and fn.changed
        found.append((f"function {fn.name}", fn.size_unzipped, changed, [(tile, fn.size_unzipped)]))
    for layer in report.layers:
        if layer.status == "removed":
            continue
        tiles: list[tuple[Tile, int]] = []
        for p in layer.packages:
            b = rate_bin(p.change_rate)
            rate = (
                "change rate not recorded"
                if p.change_rate is None
                else f"changes in {percent(p.change_rate)} of builds "
                f"({source_words(p.change_source)})"
            )
            tip = (
                f"{p.name} {p.version} in {layer.name}: {human_bytes(p.size_unzipped)} "
                f"unzipped, {human_bytes(p.size_zipped)} zipped; {rate}"
            )
            sub = f"{p.version} · {human_bytes(p.size_unzipped)}"
            tile = Tile(Rect(0, 0, 0, 0), b.fill, b.ink, p.name, sub, tip)
            tiles.append((tile, p.size_unzipped))
        found.append((layer.name, layer.size_unzipped, report.has_base and layer.uploads, tiles))
    return found


def treemap_layout(report: BuildReport, width: float, height: float) -> tuple[Group, ...]:
    """Groups (function, layers) tiled by unzipped size; inside each, its packages."""
    artifacts = _artifacts(report)
    outer = squarify([float(size) for _, size, _, _ in artifacts], Rect(0, 0, width, height))
    groups = []
    for (name, size, changed, tiles), rect in zip(artifacts, outer, strict=True):
        band = _BAND if rect.w >= _MIN_BAND_W and rect.h >= _MIN_BAND_H else 0.0
        inner = rect.inset(_PAD, band or _PAD, _PAD, _PAD)
        placed = squarify([float(n) for _, n in tiles], inner)
        groups.append(
            Group(
                rect=rect,
                name=name,
                sub=human_bytes(size),
                changed=changed,
                tiles=tuple(
                    Tile(r, t.fill, t.ink, t.label, t.sub, t.tip)
                    for (t, _), r in zip(tiles, placed, strict=True)
                ),
            )
        )
    return tuple(groups)


def _fit(text: str, width: float, size: float = 11) -> str:
    """`text` cut to fit `width` at font `size` (with an ellipsis), or "" when not even three
    characters fit."""
    room = int((width - 8) / (_CHAR * size / 11))
    if room >= len(text):
        return text
    return text[: room - 1] + "…" if room > _MIN_CHARS else ""


def _tile_svg(tile: Tile) -> str:
    r = tile.rect
    big = r.w >= _BIG_W and r.h >= _BIG_H
    size, line = (14.0, 18.0) if big else (11.0, _LINE)
    parts = [
        f'<g data-tip="{escape(tile.tip)}"><title>{escape(tile.tip)}</title>',
        f'<rect x="{r.x:.1f}" y="{r.y:.1f}" width="{r.w:.1f}" height="{r.h:.1f}" '
        f'fill="{tile.fill}" stroke="#ffffff" stroke-width="1"/>',
    ]
    label = _fit(tile.label, r.w, size) if r.h >= line + 2 else ""
    if label:
        parts.append(
            f'<text x="{r.x + 4:.1f}" y="{r.y + line - 1:.1f}" font-size="{size:g}" '
            f'fill="{tile.ink}">{escape(label)}</text>'
        )
        sub = _fit(tile.sub, r.w, size - 1) if r.h >= 2 * line + 2 else ""
        if sub:
            parts.append(
                f'<text x="{r.x + 4:.1f}" y="{r.y + 2 * line - 2:.1f}" font-size="{size - 1:g}" '
                f'fill="{tile.ink}" opacity="0.85">{escape(sub)}</text>'
            )
    return "".join(parts) + "</g>"


def _group_svg(group: Group) -> str:
    r = group.rect
    stroke = "#e8590c" if group.changed else "#1d2330"
    parts = [
        f'<rect x="{r.x:.1f}" y="{r.y:.1f}" width="{r.w:.1f}" height="{r.h:.1f}" '
        f'fill="#1d2330" stroke="{stroke}" stroke-width="{3 if group.changed else 1}"/>'
    ]
    title = _fit(f"{group.name}  {group.sub}" + ("  (changed)" if group.changed else ""), r.w)
    if r.w >= _MIN_BAND_W and r.h >= _MIN_BAND_H and title:
        parts.append(
            f'<text x="{r.x + 5:.1f}" y="{r.y + 14:.1f}" font-size="12" font-weight="600" '
            f'fill="#ffffff">{escape(title)}</text>'
        )
    parts += [_tile_svg(t) for t in group.tiles]
    return "".join(parts)


def treemap_svg(report: BuildReport, width: int = 1200, height: int = 560) -> str:
    """The treemap as one SVG element, scaled to its container."""
    groups = treemap_layout(report, width, height)
    body = "".join(_group_svg(g) for g in groups)
    return (
        f'<svg viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Treemap of the function and its layers by unzipped size">{body}</svg>'
    )


def _segment(x: float, w: float, fill: str, tip: str, label: str) -> str:
    """One artifact's share of the budget bar, labelled when the label fits."""
    text = _fit(label, w)
    shown = (
        f'<text x="{x + 4:.2f}" y="35" font-size="11" fill="#ffffff">{escape(text)}</text>'
        if text
        else ""
    )
    return (
        f'<g data-tip="{escape(tip)}"><title>{escape(tip)}</title>'
        f'<rect x="{x:.2f}" y="18" width="{max(w, 0.0):.2f}" height="26" fill="{fill}" '
        f'stroke="#ffffff" stroke-width="0.5"/>{shown}</g>'
    )


def budget_svg(report: BuildReport, limits: Sequence[LimitUse], width: int = 1200) -> str:
    """The unzipped budget as one bar (the largest function and every layer against the limit)
    and the layer slots as boxes."""
    unzipped = next(x for x in limits if x.key == "unzipped")
    slots = next(x for x in limits if x.key == "layers")
    cap = float(max(unzipped.maximum or 1, unzipped.used))
    scale = width / cap
    parts = [f'<rect x="0" y="18" width="{width}" height="26" fill="#e9ecf1"/>']
    x = 0.0
    largest = max(report.functions, key=lambda f: f.size_unzipped, default=None)
    pieces: list[tuple[str, int, str]] = []
    if largest is not None:
        pieces.append((f"function {largest.name}", largest.size_unzipped, FUNCTION_FILL))
    layers = [x for x in report.layers if x.status != "removed"]
    for i, layer in enumerate(layers):
        pieces.append((layer.name, layer.size_unzipped, ARTIFACT_FILLS[i % len(ARTIFACT_FILLS)]))
    for name, size, fill in pieces:
        tip = f"{name}: {human_bytes(size)} unzipped"
        parts.append(_segment(x, size * scale, fill, tip, f"{name} {human_bytes(size)}"))
        x += size * scale
    left = (
        f"{human_bytes(unzipped.headroom or 0)} left"
        if unzipped.ok
        else f"over by {human_bytes(-(unzipped.headroom or 0))}"
    )
    parts.append(
        f'<text x="0" y="12" font-size="12" fill="#1d2330">Unzipped: '
        f"{escape(human_bytes(unzipped.used))} of {unzipped.maximum:,} bytes ({escape(left)})"
        "</text>"
    )
    parts.append(_slots_svg(slots, len(report.manifest.external_layers), width))
    return (
        f'<svg viewBox="0 0 {width} 96" role="img" aria-label="Size budget">{"".join(parts)}</svg>'
    )


def _slots_svg(slots: LimitUse, external: int, width: int) -> str:
    maximum = slots.maximum or 0
    built = slots.used - external
    parts = [
        f'<text x="0" y="66" font-size="12" fill="#1d2330">Layers: {slots.used} of {maximum} '
        f"({built} built, {external} external)</text>"
    ]
    box = 34
    for i in range(max(maximum, slots.used)):
        fill = "#3b5b92" if i < built else "#8e6bb0" if i < slots.used else "#ffffff"
        x = width - (max(maximum, slots.used) - i) * (box + 6)
        parts.append(
            f'<rect x="{x}" y="54" width="{box}" height="16" rx="3" fill="{fill}" '
            f'stroke="#5b6475" stroke-dasharray="{"" if i < slots.used else "3 2"}"/>'
        )
    return "".join(parts)
