"""The build report as markdown for a pull-request comment: one headline, a summary table and
the limits first; package moves and layers folded in ``<details>``. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from .compare import BuildReport, LayerDelta, PackageMove
from .diff import target_sentence
from .headroom import LimitUse
from .units import human_bytes, percent, plural, signed_bytes
from .words import and_list, target_words

MARKER = "<!-- lambda-layers report -->"


def _table(header: Sequence[str], align: str, rows: Sequence[Sequence[str]]) -> list[str]:
    """A markdown table; `align` has one letter per column: l(eft) or r(ight)."""
    rule = ["---:" if a == "r" else "---" for a in align]
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(rule) + "|",
        *("| " + " | ".join(_cell(c) for c in row) + " |" for row in rows),
    ]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _headline(report: BuildReport) -> str:
    uploads = [x for x in report.layers if x.uploads]
    functions = [f for f in report.functions if f.changed]
    what = and_list(
        [plural(len(uploads), "layer")] * bool(uploads)
        + [plural(len(functions), "function")] * bool(functions)
    )
    changed = (
        f"{len(uploads)} of {len(report.manifest.layers)} layers change"
        if report.has_base
        else f"{plural(len(report.manifest.layers), 'layer')} (no base build to compare with)"
    )
    upload = (
        f"a deploy uploads **{human_bytes(report.upload_bytes)}** ({what})"
        if what
        else "a deploy uploads **nothing**"
    )
    return f"**{changed}**; {upload}."


def _summary(report: BuildReport) -> list[str]:
    m = report.manifest
    new_count, new_zip, new_unzip = len(m.layers), report.zipped_total, report.unzipped_total
    if not report.has_base:
        rows = [
            ("layers", str(new_count)),
            ("zipped, all layers", human_bytes(new_zip)),
            ("unzipped, function + layers", human_bytes(new_unzip)),
        ]
        return _table(("", "this build"), "lr", rows)
    rows3 = [
        ("layers", str(report.base_layer_count), str(new_count), f"{_changed_count(report)}"),
        (
            "zipped, all layers",
            human_bytes(report.base_zipped_total),
            human_bytes(new_zip),
            signed_bytes(new_zip - report.base_zipped_total),
        ),
        (
            "unzipped, function + layers",
            human_bytes(report.base_unzipped_total),
            human_bytes(new_unzip),
            signed_bytes(new_unzip - report.base_unzipped_total),
        ),
    ]
    return _table(("", "base", "this build", "change"), "lrrr", rows3)


def _changed_count(report: BuildReport) -> str:
    counts = {s: sum(x.status == s for x in report.layers) for s in ("changed", "added", "removed")}
    parts = [f"{n} {s}" for s, n in counts.items() if n]
    return ", ".join(parts) or "none changed"


def _limit_row(limit: LimitUse) -> tuple[str, ...]:
    if limit.unit == "layers":
        return (limit.label, str(limit.used), str(limit.maximum), str(limit.headroom))
    if limit.maximum is None:
        return (limit.label, human_bytes(limit.used), "none (upload = s3)", "")
    headroom = human_bytes(limit.headroom or 0) if limit.ok else "**over**"
    left = f"{headroom} ({percent(1 - (limit.share or 0))} left)" if limit.ok else headroom
    return (limit.label, human_bytes(limit.used), human_bytes(limit.maximum), left)


def _limits(report: BuildReport) -> list[str]:
    rows = [_limit_row(x) for x in report.limits]
    return _table(("limit", "used", "max", "headroom"), "lrrr", rows)


def _version(version: str | None) -> str:
    return "—" if version is None else version


def _moves(moves: Sequence[PackageMove]) -> list[str]:
    rows = [
        (
            m.name,
            m.layer,
            _version(m.old_version),
            _version(m.new_version),
            signed_bytes(m.delta_unzipped),
            signed_bytes(m.delta_zipped),
        )
        for m in moves
    ]
    header = ("package", "layer", "base", "this build", "unzipped", "zipped")
    return _folded(f"{plural(len(moves), 'package')} moved version", _table(header, "llllrr", rows))


def _layer_row(x: LayerDelta) -> tuple[str, ...]:
    return (
        f"`{x.name}`",
        x.status,
        "" if x.version is None else f"v{x.version}",
        human_bytes(x.size_zipped),
        human_bytes(x.size_unzipped),
        signed_bytes(x.size_unzipped - x.base_unzipped),
        str(len(x.packages)),
    )


def _layers(report: BuildReport) -> list[str]:
    header = ("layer", "status", "version", "zipped", "unzipped", "unzipped change", "packages")
    rows = [_layer_row(x) for x in report.layers]
    rows += [
        (
            f"function `{f.name}`",
            "changed" if f.changed else "unchanged",
            "",
            human_bytes(f.size_zipped),
            human_bytes(f.size_unzipped),
            signed_bytes(f.size_unzipped - f.base_unzipped),
            "",
        )
        for f in report.functions
    ]
    title = f"Layers and functions: {_changed_count(report)}" if report.has_base else "Artifacts"
    return _folded(title, _table(header, "lllrrrr", rows))


def _folded(summary: str, body: list[str]) -> list[str]:
    return ["<details>", f"<summary>{summary}</summary>", "", *body, "", "</details>"]


def format_markdown(report: BuildReport) -> str:
    """The report as a pull-request comment (begins with `MARKER`, so a CI step can find and
    update its own comment)."""
    m = report.manifest
    lines = [
        MARKER,
        f"### Lambda artifacts: {m.project_name} {m.project_version}",
        "",
    ]
    if report.target_changes:
        lines += [f"**{target_sentence(report.target_changes)}**", ""]
    lines += [
        f"{_headline(report)} Target {target_words(m.target)}.",
        "",
        *_summary(report),
        "",
        *_limits(report),
        "",
    ]
    if report.moves:
        lines += [*_moves(report.moves), ""]
    lines += _layers(report)
    return "\n".join(lines) + "\n"
