"""`lambda-layers plan` as text, in plain words: what is bundled and left out and why, the
layers with what a routine dependency bump costs each, and how close the build is to each limit.
The partitioner's own figures (expected bytes, exact or heuristic, lower bound) appear only with
``verbose``. Pure: renders a `PlanReport`."""

from __future__ import annotations

from ..external_layers import ExternalSize
from ..layers.budget import describe
from .headroom import LimitUse
from .plan_model import LayerRow, PackageRow, PlanReport
from .table import columns
from .units import how_often, human_bytes, percent, plural
from .words import origin_words, shared_words, source_words, target_words


def _dependencies(report: PlanReport) -> list[str]:
    source = report.dependency_source or "the lock file"
    where = source if source.startswith("resolved") else f"from {source}"
    lines = [
        f"Dependencies {where}: {len(report.bundled)} bundled, {len(report.left_out)} left out"
    ]
    if report.left_out:
        lines.append("Left out (supplied at run time):")
        lines += columns([(x.name, x.version, x.reason) for x in report.left_out], indent="  ")
    if report.shared:
        lines.append("Bundled, though a left-out package needs it too:")
        lines += [f"  {shared_words(s, report.project_name)}" for s in report.shared]
    return lines


_HEADER = ("package", "version", "zipped", "unzipped", "changes in", "estimated from")


def _package_cells(p: PackageRow) -> tuple[str, ...]:
    return (
        p.name,
        p.version,
        human_bytes(p.size_zipped),
        human_bytes(p.size_unzipped),
        f"{percent(p.change_rate)} of builds",
        source_words(p.change_source),
    )


def _layer_head(layer: LayerRow, verbose: bool) -> list[str]:
    lines = [
        f"layer {layer.name}: {plural(len(layer.packages), 'package')}, "
        f"{human_bytes(layer.size_zipped)} zipped, {human_bytes(layer.size_unzipped)} unzipped",
        f"  changes in {how_often(layer.change_probability)}; a change re-uploads "
        f"{human_bytes(layer.size_zipped)}",
    ]
    if verbose:
        lines.append(
            f"  expected bytes republished per build: {layer.expected_bytes:,.0f} "
            f"(P(change) = {layer.change_probability:.6f})"
        )
    return lines


_NO_LAYERS = {
    "fat": "No layers (mode = fat): every function zip carries the dependencies:",
    "efs": "No layers (mode = efs): the dependencies go into one archive for an EFS mount:",
}


def _layers(report: PlanReport, verbose: bool) -> list[str]:
    if report.mode in ("fat", "efs"):
        lines = [_NO_LAYERS[report.mode]]
        rows = [_HEADER, *(_package_cells(p) for p in report.bundled)]
        return [*lines, *columns(rows, right=(2, 3, 4), indent="    "), ""]
    # One set of column widths for every layer's packages: the columns line up across layers.
    rows = [_package_cells(p) for layer in report.layers for p in layer.packages]
    header, *table = columns([_HEADER, *rows], right=(2, 3, 4), indent="    ")
    lines = [
        f"{plural(len(report.layers), 'layer')}. Routine dependency bumps make a build "
        f"re-upload about {human_bytes(report.expected_bytes)} of them on average "
        f"({human_bytes(report.single_layer_bytes)} if everything shared one layer).",
    ]
    start = 0
    for layer in report.layers:
        lines += ["", *_layer_head(layer, verbose), header]
        lines += table[start : start + len(layer.packages)]
        start += len(layer.packages)
    return [*lines, ""]


def _limit_cells(limit: LimitUse) -> tuple[str, ...]:
    if limit.unit == "layers":
        used, maximum = str(limit.used), str(limit.maximum)
        left = f"{plural(limit.headroom or 0, 'slot')} left" if limit.ok else "OVER"
    else:
        used, maximum = human_bytes(limit.used), human_bytes(limit.maximum or 0)
        left = f"{human_bytes(limit.headroom or 0)} left" if limit.ok else "OVER"
    if limit.maximum is None:
        return (limit.label, used, "", "no limit", "(upload = s3)")
    share = f" ({percent(limit.share or 0)} used)" if limit.unit == "bytes" else ""
    return (limit.label, used, "of", maximum, left + share, limit.detail)


def _external_words(size: ExternalSize) -> str:
    if size.unzipped is None:
        return f"external layer {size.arn}: size unknown ({size.note}), not counted"
    where = {"configuration": "as configured", "cache": "read before, cached"}.get(
        size.source, "read through the Lambda API"
    )
    return f"external layer {size.arn}: {human_bytes(size.unzipped)} unzipped ({where})"


def _limits(report: PlanReport) -> list[str]:
    return [
        "Limits:",
        *columns([_limit_cells(x) for x in report.limits], right=(1, 3), indent="  "),
    ]


def _solver(report: PlanReport) -> list[str]:
    kind = (
        "exact optimum"
        if report.exact
        else (f"heuristic plan, lower bound {report.lower_bound or 0:,.0f} bytes")
    )
    return [
        f"expected bytes republished per build: {report.expected_bytes:,.0f} "
        f"(one combined layer: {report.single_layer_bytes:,.0f}); solver: {kind}"
    ]


def format_plan(report: PlanReport, *, verbose: bool = False) -> str:
    """The plan as text; `verbose` adds the partitioner's own figures."""
    lines = [
        f"{report.project_name} {report.project_version} for {target_words(report.target)}",
        *_dependencies(report),
        "",
    ]
    if report.mode not in ("fat", "efs"):
        lines.append(origin_words(report.origin))
    lines += _layers(report, verbose)
    lines += [
        f"function {fn.name}: {plural(fn.files, 'file')}, {human_bytes(fn.size_unzipped)} unzipped"
        + ("" if fn.layers is None else f"; attaches {', '.join(fn.layers) or 'no layers'}")
        for fn in report.functions
    ]
    lines += [_external_words(x) for x in report.external_layers]
    lines += describe(report.bytecode, report.pruned)
    if verbose and report.mode not in ("fat", "efs"):
        lines += _solver(report)
    lines += _limits(report)
    return "\n".join(lines)
