"""Proof that a partition exists: depth-first bin packing, largest first, within a node budget.

The partitioner's heuristics start from solutions they build; when none of them is feasible,
`pack` looks for any split of the units into at most k blocks within the size limit, each with
at most one anchored unit. It either finds one, proves there is none, or runs out of budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

# Node budget of the search.
PACKING_NODES = 200_000


class Packable(Protocol):
    """What packing needs of a unit (`solver.Unit` is one)."""

    @property
    def key(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def anchored(self) -> bool: ...


def fits(size: int, anchors: int, limit: int | None) -> bool:
    """A block of `size` bytes with `anchors` anchored units is feasible."""
    return anchors <= 1 and (limit is None or size <= limit)


class _Packing:
    """Depth-first bin packing, largest first, within a node budget."""

    def __init__(self, units: Sequence[Packable], k: int, limit: int | None) -> None:
        self.units, self.k, self.limit = units, k, limit
        self.order = sorted(range(len(units)), key=lambda i: (-units[i].size, units[i].key))
        self.bins: list[list[int]] = []
        self.sizes: list[int] = []
        self.anchors: list[int] = []
        self.budget = PACKING_NODES

    def place(self, pos: int) -> bool:
        if pos == len(self.order):
            return True
        self.budget -= 1
        if self.budget < 0:
            return False
        u = self.units[self.order[pos]]
        tried: set[tuple[int, int]] = set()
        for b in range(len(self.bins) + (1 if len(self.bins) < self.k else 0)):
            new = b == len(self.bins)
            key = (0, 0) if new else (self.sizes[b], self.anchors[b])
            if key in tried:
                continue  # an equivalent bin was already tried
            tried.add(key)
            if not fits(u.size + key[0], u.anchored + key[1], self.limit):
                continue
            if new:
                self.bins.append([])
                self.sizes.append(0)
                self.anchors.append(0)
            self._add(b, pos, u, 1)
            if self.place(pos + 1):
                return True
            self._add(b, pos, u, -1)
            if new:
                self.bins.pop()
                self.sizes.pop()
                self.anchors.pop()
        return False

    def _add(self, b: int, pos: int, u: Packable, sign: int) -> None:
        if sign > 0:
            self.bins[b].append(self.order[pos])
        else:
            self.bins[b].pop()
        self.sizes[b] += sign * u.size
        self.anchors[b] += sign * u.anchored


def pack(
    units: Sequence[Packable], k: int, limit: int | None
) -> tuple[list[list[int]] | None, bool]:
    """Any feasible solution (bin packing); (None, proven) when none was found."""
    packing = _Packing(units, k, limit)
    if packing.place(0):
        return [list(b) for b in packing.bins], True
    return None, packing.budget >= 0
