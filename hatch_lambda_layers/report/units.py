"""Figures in plain words: sizes in decimal units, counts with the right plural, percentages and
how often something happens. Pure."""

from __future__ import annotations

_KB = 1_000
_MB = 1_000_000
_GB = 1_000_000_000
_ALMOST_ALWAYS = 0.95
_MOSTLY = 0.6
_ROUND_ABOVE = 20  # "1 build in N": above this, N keeps two significant digits
_TENTH = 0.1  # percentages below this are shown as "<0.1%"
_ONE_DECIMAL_BELOW = 10  # percentages below this keep one decimal


def human_bytes(n: float) -> str:
    """``812 bytes``, ``1.4 KB``, ``9.6 MB``, ``1.25 GB`` (decimal units, as `du --si`)."""
    size = abs(n)
    sign = "-" if n < 0 else ""
    if size < _KB:
        return f"{sign}{size:,.0f} bytes"
    if size < _MB:
        return f"{sign}{size / _KB:,.1f} KB"
    if size < _GB:
        return f"{sign}{size / _MB:,.1f} MB"
    return f"{sign}{size / _GB:,.2f} GB"


def signed_bytes(n: float) -> str:
    """A size change: ``+12.3 KB``, ``-1.0 MB``, ``no change`` for zero."""
    if n == 0:
        return "no change"
    return ("+" if n > 0 else "") + human_bytes(n)


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 package``, ``2 packages``, ``0 packages``."""
    return f"{count:,} {word if count == 1 else (words or word + 's')}"


def percent(rate: float) -> str:
    """A probability as a percentage a person reads: ``27%``, ``2.8%``, ``<0.1%``."""
    value = rate * 100
    if value == 0:
        return "0%"
    if value < _TENTH:
        return "<0.1%"
    if value < _ONE_DECIMAL_BELOW:
        return f"{value:.1f}%"
    return f"{value:.0f}%"


def _round_builds(n: float) -> int:
    whole = max(1, round(n))
    if whole <= _ROUND_ABOVE:
        return whole
    digits = len(str(whole)) - 2
    return round(whole, -digits)


def how_often(probability: float) -> str:
    """How often a thing with this per-build probability happens: ``almost every build``,
    ``about 7 builds in 10``, ``about 1 build in 7``, ``about 1 build in 140``, ``never``."""
    if probability <= 0:
        return "never"
    if probability >= _ALMOST_ALWAYS:
        return "almost every build"
    if probability > _MOSTLY:
        return f"about {round(probability * 10)} builds in 10"
    return f"about 1 build in {_round_builds(1 / probability)}"
