"""Work on several regions at once, a bounded number at a time, each region's outcome kept
apart so that one failing does not stop the others."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["MAX_PARALLEL_REGIONS", "first_failure", "run_per_region"]

MAX_PARALLEL_REGIONS = 4

T = TypeVar("T")


def run_per_region(
    regions: Sequence[str],
    work: Callable[[str], T],
    *,
    max_workers: int = MAX_PARALLEL_REGIONS,
) -> list[tuple[str, T | None, BaseException | None]]:
    """`work(region)` for every region, at most `max_workers` at a time; per region, in the
    order given, its result or the exception it raised."""

    def guarded(region: str) -> tuple[str, T | None, BaseException | None]:
        try:
            return region, work(region), None
        except Exception as exc:  # kept per region; the caller decides what fails the run
            return region, None, exc

    if len(regions) <= 1 or max_workers <= 1:
        return [guarded(r) for r in regions]
    with ThreadPoolExecutor(max_workers=min(max_workers, len(regions))) as pool:
        return list(pool.map(guarded, regions))


def first_failure(
    outcomes: Sequence[tuple[str, T | None, BaseException | None]],
) -> BaseException | None:
    """The first region's exception, in region order."""
    return next((exc for _, _, exc in outcomes if exc is not None), None)
