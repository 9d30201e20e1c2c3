"""How close a build stands to each Lambda limit: used, maximum and what is left. Pure; the
limits themselves come from `manifest.Limits` (written once, in `targets`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..manifest import Limits

LimitKey = Literal["layers", "unzipped", "zipped_layer"]


@dataclass(frozen=True)
class LimitUse:
    """One limit: `used` of `maximum` (None: the limit does not apply, e.g. the direct-upload
    cap with ``upload = "s3"``); `detail` says what the figure counts."""

    key: LimitKey
    label: str
    used: int
    maximum: int | None
    unit: Literal["layers", "bytes"]
    detail: str = ""

    @property
    def headroom(self) -> int | None:
        """What is left under the limit (negative when over it)."""
        return None if self.maximum is None else self.maximum - self.used

    @property
    def share(self) -> float | None:
        """`used` as a fraction of `maximum`."""
        return None if not self.maximum else self.used / self.maximum

    @property
    def ok(self) -> bool:
        """Within the limit (or no limit applies)."""
        return self.maximum is None or self.used <= self.maximum


def limit_uses(
    limits: Limits,
    *,
    external_layers: int,
    largest_layer: tuple[str, int] | None,
    image: bool = False,
) -> tuple[LimitUse, ...]:
    """The three limits a layer build meets: layers per function (external ones included),
    function plus layers unzipped, and the largest zipped layer against the direct-upload cap.
    `largest_layer` is (name, zipped bytes) of the biggest layer, None when there is none.
    A container `image` meets one: its size."""
    if image:
        return (
            LimitUse(
                "unzipped", "image, unzipped", limits.unzipped_total, limits.unzipped_max, "bytes"
            ),
        )
    built = limits.layers_used - external_layers
    layers_detail = f"{built} built" + (f" + {external_layers} external" if external_layers else "")
    name, zipped = largest_layer if largest_layer is not None else ("", 0)
    return (
        LimitUse(
            "layers",
            "layers per function",
            limits.layers_used,
            limits.layers_max,
            "layers",
            layers_detail,
        ),
        LimitUse(
            "unzipped",
            "function + layers, unzipped",
            limits.unzipped_total,
            limits.unzipped_max,
            "bytes",
        ),
        LimitUse(
            "zipped_layer",
            "largest layer, zipped (direct upload)",
            zipped,
            limits.zipped_layer_max,
            "bytes",
            name,
        ),
    )
