"""Lambda's limits checked against a plan before anything is written, and against the written
zips after. Pure; the limits themselves are written once, in `targets`."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import LimitError
from ..layers.entries import PackageFiles
from ..manifest import LayerEntry, Limits
from ..targets import DIRECT_UPLOAD_MAX, LAYERS_MAX, UNZIPPED_MAX


def _mb(n: float) -> str:
    return f"{n / 1_000_000:,.1f} MB"


def _largest(packages: Sequence[PackageFiles], n: int = 5) -> str:
    top = sorted(packages, key=lambda p: (-p.size_unzipped, p.name))[:n]
    return ", ".join(f"{p.name} {p.version} {_mb(p.size_unzipped)}" for p in top)


def check_limits(
    *,
    layers_built: int,
    external_layers: int,
    packages: Sequence[PackageFiles],
    function_unzipped: int,
    direct_upload: bool,
) -> Limits:
    """The limits a planned build stands at; `LimitError` naming every one it breaks.

    The unzipped total is the bundled packages plus the largest function (each function is
    deployed with all the layers)."""
    layers_used = layers_built + external_layers
    total = sum(p.size_unzipped for p in packages) + function_unzipped
    problems: list[str] = []
    if layers_used > LAYERS_MAX:
        problems.append(
            f"{layers_used} layers ({layers_built} built + {external_layers} external) exceed "
            f"Lambda's {LAYERS_MAX}"
        )
    if total > UNZIPPED_MAX:
        problems.append(
            f"function plus layers unzip to {total:,} bytes ({_mb(total)}), over Lambda's "
            f"{UNZIPPED_MAX:,}-byte limit by {total - UNZIPPED_MAX:,}; largest packages: "
            f"{_largest(packages)}; add the ones the runtime or an external layer supplies to "
            f"tool.lambda-layers.provided, trim with exclude or botocore-services, or use a "
            f"container image"
        )
    if problems:
        raise LimitError("; ".join(problems))
    return Limits(
        layers_used=layers_used,
        layers_max=LAYERS_MAX,
        unzipped_total=total,
        unzipped_max=UNZIPPED_MAX,
        zipped_layer_max=DIRECT_UPLOAD_MAX if direct_upload else None,
        ok=True,
    )


def check_written(layers: Sequence[LayerEntry], limits: Limits) -> None:
    """Every written layer zip within the direct-upload limit (when it applies)."""
    cap = limits.zipped_layer_max
    for entry in layers:
        if cap is not None and entry.size_zipped > cap:
            raise LimitError(
                f"layer {entry.name} is {entry.size_zipped:,} bytes zipped, over the "
                f'{cap:,}-byte direct-upload limit; set upload = "s3" in [tool.lambda-layers] '
                f"or lower max-layers pressure with provided/exclude"
            )
