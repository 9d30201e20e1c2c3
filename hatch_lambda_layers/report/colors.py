"""Colours of the HTML report: change-rate bins for packages (blue: rarely changes, red: changes
in most builds; readable for the common colour-vision deficiencies) and a muted palette for the
artifacts in the budget bar. Pure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RateBin:
    """A range of change rates and the colours it is drawn with."""

    upper: float  # rates below this fall in the bin
    fill: str
    ink: str  # text colour readable on `fill`
    label: str


RATE_BINS: tuple[RateBin, ...] = (
    RateBin(0.02, "#4575b4", "#ffffff", "under 2%"),
    RateBin(0.05, "#91bfdb", "#10202e", "2-5%"),
    RateBin(0.10, "#e0f3f8", "#10202e", "5-10%"),
    RateBin(0.20, "#fee090", "#2e2410", "10-20%"),
    RateBin(0.40, "#fc8d59", "#2e1a10", "20-40%"),
    RateBin(float("inf"), "#d73027", "#ffffff", "40% or more"),
)
UNKNOWN_BIN = RateBin(float("nan"), "#c8c8c8", "#202020", "not recorded")
ARTIFACT_FILLS = ("#3b5b92", "#6b8cc7", "#4e9a8f", "#8e6bb0", "#b07d48", "#5f7d4e", "#7d7d7d")
FUNCTION_FILL = "#2f2f2f"


def rate_bin(rate: float | None) -> RateBin:
    """The bin of a change rate; `UNKNOWN_BIN` when the manifest records none."""
    if rate is None:
        return UNKNOWN_BIN
    return next(b for b in RATE_BINS if rate < b.upper)
