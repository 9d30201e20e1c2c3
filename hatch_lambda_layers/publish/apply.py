"""Phase 3, writes in one region: the layers (publishing what no version holds, through the
store when there is one), their shares, then each function's code, layers, version and alias,
each only when it differs.

Nothing is ever deleted. What is done is recorded in the region's :class:`Progress` as it
happens, so a failure part-way still leaves an accurate account of what exists.
"""

from __future__ import annotations

from dataclasses import replace

from .check import wanted_layers
from .context import Context
from .functions import apply_function
from .layer_publish import publish_new_version
from .plan import LayerStep, RegionPlan
from .report import FunctionUpdate, PublishAction, PublishedLayer
from .shared import publish_shared, record_found
from .sharing import share_layer

__all__ = ["Progress", "apply_region"]


class Progress:
    """What has been done so far in one region: what published.json records, complete or not."""

    def __init__(self, region: str) -> None:
        self.region = region
        self.layers: list[PublishedLayer] = []
        self.actions: list[PublishAction] = []
        self.functions: list[FunctionUpdate] = []
        self.error: str | None = None
        self.complete = False


def _layer(ctx: Context, region: str, step: LayerStep) -> tuple[PublishedLayer, str]:
    """The version this step ends with, and what to say about it."""
    if step.existing is not None and not step.needs_record:
        return step.existing, step.action.detail
    if step.existing is not None:
        layer = record_found(ctx, region, step, step.existing)
        return layer, f"reuse {layer.arn} ({layer.source})"
    if step.slot is not None:
        layer = publish_shared(ctx, region, step)
    else:
        layer = publish_new_version(
            ctx,
            region,
            step.entry,
            step.artifact,
            layer_name=step.layer_name,
            s3_present=step.s3_present,
        )
    verb = "published" if layer.source == "published" else f"reuse ({layer.source})"
    return layer, f"{verb} {layer.arn}"


def apply_region(ctx: Context, plan: RegionPlan, progress: Progress) -> None:
    """Carry out one region's plan: its layers in manifest order, then its functions."""
    region = plan.region

    def done(action: PublishAction, message: str | None = None) -> None:
        progress.actions.append(action)
        ctx.log(f"[{region}] {action.target}: {message or action.detail}")

    arns: list[str] = []
    for step in plan.layers:
        layer, message = _layer(ctx, region, step)
        kind = "publish" if layer.uploaded else "reuse"
        action = step.action
        if kind != action.kind:  # another runner published it meanwhile
            action = replace(action, kind=kind, detail=message, bytes=0)
        done(action, message)
        shares, actions = share_layer(ctx, region, layer, ctx.options.shares, write=True)
        for action in actions:
            done(action)
        layer = replace(layer, shares=shares)
        progress.layers.append(layer)
        arns.append(layer.arn)
    for function in plan.functions:
        entry = function.entry
        wanted = (
            wanted_layers(ctx.manifest, entry, arns)
            if entry is not None
            else (*arns, *ctx.manifest.external_layers)
        )
        progress.functions.append(apply_function(ctx, region, function, wanted, done))
    progress.complete = True
