"""The HTML report's inline style sheet and script. The script only enhances (a tooltip that
follows the pointer); everything it shows is also in the SVG titles and the tables."""

from __future__ import annotations

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

STYLE = """
:root { color-scheme: light; --ink: #1d2330; --muted: #5b6475; --line: #d9dde5; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 48px; color: var(--ink); background: #f7f8fa;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
h1 { font-size: 22px; margin: 0 0 2px; }
h2 { font-size: 16px; margin: 28px 0 8px; }
.sub { color: var(--muted); margin: 0 0 16px; }
.alert { background: #fff3cd; border: 1px solid #e6c86e; padding: 8px 12px; border-radius: 6px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0 8px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px;
  min-width: 190px; }
.card b { display: block; font-size: 20px; }
.card span { color: var(--muted); font-size: 12px; }
figure { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 12px; }
figcaption { color: var(--muted); font-size: 12px; margin-top: 6px; }
svg { display: block; width: 100%; height: auto; }
svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
.legend { display: flex; flex-wrap: wrap; gap: 14px; margin: 8px 0 0; font-size: 12px;
  color: var(--muted); padding: 0; list-style: none; }
.legend i { display: inline-block; width: 14px; height: 14px; border-radius: 3px;
  vertical-align: -2px; margin-right: 5px; border: 1px solid rgba(0,0,0,.15); }
table { border-collapse: collapse; background: #fff; width: 100%; font-size: 13px; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left; }
th { background: #eef1f5; font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.layer td { background: #f3f5f9; font-weight: 600; }
.tag { font-size: 11px; padding: 1px 6px; border-radius: 9px; background: #e4e8ef; }
.tag.changed, .tag.added { background: #ffe1cc; }
.tag.removed { background: #f5d0d0; }
#tip { position: absolute; pointer-events: none; background: #1d2330; color: #fff;
  padding: 6px 9px; border-radius: 5px; font-size: 12px; max-width: 360px; }
"""

SCRIPT = """
(function () {
  var tip = document.getElementById("tip");
  if (!tip) { return; }
  var shown = document.querySelectorAll("[data-tip]");
  for (var i = 0; i < shown.length; i++) {
    (function (el) {
      var title = el.querySelector(":scope > title");
      if (title) { title.parentNode.removeChild(title); }
      el.addEventListener("mousemove", function (event) {
        tip.textContent = el.getAttribute("data-tip");
        tip.style.left = (event.pageX + 14) + "px";
        tip.style.top = (event.pageY + 14) + "px";
        tip.hidden = false;
      });
      el.addEventListener("mouseleave", function () { tip.hidden = true; });
    })(shown[i]);
  }
})();
"""
