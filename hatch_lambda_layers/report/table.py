"""Plain-text columns sized to their content, so long names and versions never break them."""

from __future__ import annotations

from collections.abc import Sequence


def columns(
    rows: Sequence[Sequence[str]], *, right: Sequence[int] = (), indent: str = ""
) -> list[str]:
    """Each row as one line: cells padded to the widest cell of their column, two spaces apart;
    the columns whose index is in `right` are right-aligned. Trailing spaces are dropped."""
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows if i < len(row)) for i in range(max(map(len, rows)))]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append((indent + "  ".join(cells)).rstrip())
    return lines
