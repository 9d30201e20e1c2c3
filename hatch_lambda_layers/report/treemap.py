"""Squarified treemap layout (Bruls, Huizing and van Wijk, 2000), computed here so the HTML
report is static SVG. Pure: sizes and a rectangle in, one rectangle per size out, areas
proportional to the sizes and aspect ratios kept close to 1."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Rect:
    """An axis-aligned rectangle: top-left corner, width and height."""

    x: float
    y: float
    w: float
    h: float

    @property
    def area(self) -> float:
        return self.w * self.h

    def inset(self, left: float, top: float, right: float, bottom: float) -> Rect:
        """The rectangle shrunk by the given margins (never below zero size)."""
        w = max(0.0, self.w - left - right)
        h = max(0.0, self.h - top - bottom)
        return Rect(self.x + min(left, self.w), self.y + min(top, self.h), w, h)


def _worst(row: Sequence[float], side: float) -> float:
    """The largest aspect ratio among `row`'s areas laid out along a side of length `side`."""
    total = sum(row)
    if total <= 0 or side <= 0:
        return float("inf")
    return max(
        max(side * side * a / (total * total), total * total / (side * side * a)) for a in row
    )


def _lay_row(row: Sequence[float], space: Rect) -> tuple[list[Rect], Rect]:
    """Place `row` along the shorter side of `space`; returns its rectangles and what is left."""
    total = sum(row)
    rects = []
    if space.w >= space.h:  # a column at the left
        width = total / space.h if space.h else 0.0
        y = space.y
        for a in row:
            h = a / width if width else 0.0
            rects.append(Rect(space.x, y, width, h))
            y += h
        return rects, Rect(space.x + width, space.y, max(0.0, space.w - width), space.h)
    height = total / space.w if space.w else 0.0
    x = space.x
    for a in row:
        w = a / height if height else 0.0
        rects.append(Rect(x, space.y, w, height))
        x += w
    return rects, Rect(space.x, space.y + height, space.w, max(0.0, space.h - height))


def squarify(sizes: Sequence[float], space: Rect) -> list[Rect]:
    """One rectangle per size, in the order given, tiling `space`; areas are proportional to
    the sizes. Sizes of zero (or less) get an empty rectangle at the corner of `space`."""
    total = sum(s for s in sizes if s > 0)
    empty = Rect(space.x, space.y, 0.0, 0.0)
    result: list[Rect] = [empty] * len(sizes)
    if total <= 0 or space.area <= 0:
        return result
    scale = space.area / total
    order = sorted((i for i, s in enumerate(sizes) if s > 0), key=lambda i: (-sizes[i], i))
    areas = [sizes[i] * scale for i in order]
    placed: list[Rect] = []
    row: list[float] = []
    for area in areas:
        side = min(space.w, space.h)
        if not row or _worst([*row, area], side) <= _worst(row, side):
            row.append(area)
            continue
        rects, space = _lay_row(row, space)
        placed += rects
        row = [area]
    if row:
        placed += _lay_row(row, space)[0]
    for index, rect in zip(order, placed, strict=True):
        result[index] = rect
    return result
