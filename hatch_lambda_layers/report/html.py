"""The build report as one self-contained HTML page: headline figures, the budget bars, the
treemap and the tables. No network: inline style and script, a Content-Security-Policy that
forbids loading anything, system fonts. The tables need no script; the script only adds a
tooltip that follows the pointer. Pure: a `BuildReport` in, a string out."""

from __future__ import annotations

from html import escape

from .colors import RATE_BINS, UNKNOWN_BIN
from .compare import BuildReport, LayerDelta
from .diff import target_sentence
from .headroom import LimitUse
from .html_assets import CSP, SCRIPT, STYLE
from .svg import budget_svg, treemap_svg
from .units import human_bytes, percent, plural, signed_bytes
from .words import source_words, target_words


def _card(value: str, label: str) -> str:
    return f'<div class="card"><b>{escape(value)}</b><span>{escape(label)}</span></div>'


def _cards(report: BuildReport) -> str:
    limits = {x.key: x for x in report.limits}
    layers, unzipped = limits["layers"], limits["unzipped"]
    cards = [
        _card(f"{layers.used} of {layers.maximum}", "layers per function"),
        _card(
            human_bytes(unzipped.used),
            f"unzipped of {human_bytes(unzipped.maximum or 0)}, "
            f"{human_bytes(unzipped.headroom or 0)} left",
        ),
        _card(human_bytes(report.upload_bytes), "a deploy uploads (changed zips)"),
    ]
    zipped = limits["zipped_layer"]
    if zipped.maximum is not None:
        cards.append(
            _card(
                human_bytes(zipped.used), f"largest layer zipped, of {human_bytes(zipped.maximum)}"
            )
        )
    return f'<div class="cards">{"".join(cards)}</div>'


def _legend() -> str:
    items = [f'<li><i style="background:{b.fill}"></i>{escape(b.label)}</li>' for b in RATE_BINS]
    items.append(f'<li><i style="background:{UNKNOWN_BIN.fill}"></i>{UNKNOWN_BIN.label}</li>')
    return (
        '<ul class="legend"><li><b>Colour: how often the package changes</b></li>'
        + "".join(items)
        + '<li><i style="background:#ffffff;border:3px solid #e8590c"></i>layer re-uploaded</li>'
        "</ul>"
    )


def _limit_row(x: LimitUse) -> str:
    if x.unit == "layers":
        used, cap, left = str(x.used), str(x.maximum), str(x.headroom)
    else:
        used = f"{x.used:,}"
        cap = "none (upload = s3)" if x.maximum is None else f"{x.maximum:,}"
        left = "" if x.headroom is None else f"{x.headroom:,} ({percent(1 - (x.share or 0))} left)"
    return (
        f"<tr><td>{escape(x.label)}</td><td class=n>{used}</td><td class=n>{cap}</td>"
        f"<td class=n>{left}</td><td>{'ok' if x.ok else '<b>over</b>'}</td></tr>"
    )


def _limits_table(report: BuildReport) -> str:
    rows = "".join(_limit_row(x) for x in report.limits)
    return (
        "<table><thead><tr><th>limit</th><th class=n>used</th><th class=n>max</th>"
        f"<th class=n>headroom</th><th></th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _moves_table(report: BuildReport) -> str:
    if not report.moves:
        return "<p>No package moved version.</p>" if report.has_base else ""
    rows = "".join(
        f"<tr><td>{escape(m.name)}</td><td>{escape(m.layer)}</td>"
        f"<td>{escape(m.old_version or '-')}</td><td>{escape(m.new_version or '-')}</td>"
        f"<td class=n>{escape(signed_bytes(m.delta_unzipped))}</td>"
        f"<td class=n>{escape(signed_bytes(m.delta_zipped))}</td></tr>"
        for m in report.moves
    )
    return (
        "<table><thead><tr><th>package</th><th>layer</th><th>base</th><th>this build</th>"
        "<th class=n>unzipped</th><th class=n>zipped</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _layer_rows(layer: LayerDelta) -> str:
    head = (
        f'<tr class="layer"><td>{escape(layer.name)} '
        f'<span class="tag {layer.status}">{layer.status}</span></td>'
        f"<td>{'' if layer.version is None else f'v{layer.version}'}</td>"
        f"<td class=n>{escape(human_bytes(layer.size_zipped))}</td>"
        f"<td class=n>{escape(human_bytes(layer.size_unzipped))}</td><td></td></tr>"
    )
    rows = "".join(
        f"<tr><td>&nbsp;&nbsp;{escape(p.name)}</td><td>{escape(p.version)}</td>"
        f"<td class=n>{escape(human_bytes(p.size_zipped))}</td>"
        f"<td class=n>{escape(human_bytes(p.size_unzipped))}</td>"
        f"<td>{'' if p.change_rate is None else escape(percent(p.change_rate))} "
        f"{escape(source_words(p.change_source)) if p.change_rate is not None else ''}</td></tr>"
        for p in sorted(layer.packages, key=lambda p: (-p.size_unzipped, p.name))
    )
    return head + rows


def _artifacts_table(report: BuildReport) -> str:
    rows = "".join(_layer_rows(x) for x in report.layers)
    rows += "".join(
        f'<tr class="layer"><td>function {escape(f.name)} <span class="tag '
        f'{"changed" if f.changed else ""}">{"changed" if f.changed else "unchanged"}</span>'
        f"</td><td></td><td class=n>{escape(human_bytes(f.size_zipped))}</td>"
        f"<td class=n>{escape(human_bytes(f.size_unzipped))}</td><td></td></tr>"
        for f in report.functions
    )
    return (
        "<table><thead><tr><th>layer / package</th><th>version</th><th class=n>zipped</th>"
        "<th class=n>unzipped</th><th>changes in (estimated from)</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def format_html(report: BuildReport) -> str:
    """The whole page."""
    m = report.manifest
    title = f"{m.project_name} {m.project_version}: Lambda artifacts"
    alert = (
        f'<p class="alert">{escape(target_sentence(report.target_changes))}</p>'
        if report.target_changes
        else ""
    )
    compared = "against the base build" if report.has_base else "(no base build to compare with)"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{escape(title)}</title>
<style>{STYLE}</style>
</head>
<body>
<h1>{escape(title)}</h1>
<p class="sub">{escape(target_words(m.target))}; {plural(len(m.layers), "layer")}, \
{plural(len(m.functions), "function")} {compared}. {escape(m.generator)}</p>
{alert}
{_cards(report)}
<h2>Budget</h2>
<figure>{budget_svg(report, report.limits)}</figure>
<h2>What takes the space</h2>
<figure>{treemap_svg(report)}
<figcaption>Each rectangle is a package, its area its unzipped size; the dark frames are the
function and its layers.</figcaption>{_legend()}</figure>
<h2>Limits</h2>
{_limits_table(report)}
<h2>Package versions that moved</h2>
{_moves_table(report) or "<p>No base build to compare with.</p>"}
<h2>Layers and packages</h2>
{_artifacts_table(report)}
<div id="tip" hidden></div>
<script>{SCRIPT}</script>
</body>
</html>
"""
