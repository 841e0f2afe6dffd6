"""Writing a `Report` as one self-contained HTML page with charts (inline SVG).

Owns: the HTML layout (title, scope, one table per section, notes) and the charts drawn
with matplotlib's object API (no pyplot, no global backend): grouped bars, wage ranges
(P10-P90 whiskers, P25-P75 boxes, median ticks) and a station scatter map.

Invariants:
- The page needs nothing external: charts are inline SVG, CSS is inline; every text value
  is HTML-escaped. SVG text stays text (`svg.fonttype = none`): glyph outlines would be
  runs of integers that the personal-data scanner could mistake for a mobile number;
  figures are under 1000 pt, so no coordinate has four integer digits either.
- Chart labels use Chinese only when a CJK font is installed; otherwise ASCII labels
  (column keys, codes), so matplotlib never meets a glyph it cannot draw.
- Deterministic output for the same report (fixed SVG hash salt, no dates in metadata).

Limits: a chart shows at most `MAX_CATEGORIES` categories (the table has all rows).
"""

from __future__ import annotations

import html
import io
import re
from functools import lru_cache
from typing import Any

from adapters.stores.render import header_lines, text_cell
from adapters.stores.report_model import Chart, Report, Section

MAX_CATEGORIES = 40
CJK_FAMILIES = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei", "SimHei", "Microsoft YaHei", "PingFang SC", "Sarasa Gothic SC",
)  # fmt: skip
NUMERIC = ("int", "fen", "ratio", "float")
_CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:24px;color:#222}
h1{font-size:22px}h2{font-size:18px;margin-top:28px}.meta{color:#555;margin:2px 0}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border:1px solid #bbb;padding:3px 7px}th{background:#ddebf7}
td.n{text-align:right;font-variant-numeric:tabular-nums}.chart svg{max-width:100%;height:auto}
.notes{color:#555;font-size:13px}
"""


@lru_cache(maxsize=1)
def cjk_font() -> str:
    """The family name of an installed CJK font, or "" when there is none."""
    try:
        from matplotlib import font_manager
    except ModuleNotFoundError:
        return ""
    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((fam for fam in CJK_FAMILIES if fam in names), "")


def _label(text: str, fallback: str) -> str:
    if cjk_font() or text.isascii():
        return text
    ascii_only = re.sub(r"[^\x20-\x7e]", "", text).strip()
    return ascii_only or fallback


def _categories(section: Section, chart: Chart) -> list[dict[str, Any]]:
    rows = [r for r in section.rows if r.get(chart.x) not in ("合计",)]
    return rows[:MAX_CATEGORIES]


def chart_svg(section: Section, chart: Chart, thresholds: list[float] | None = None) -> str:
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ModuleNotFoundError:  # the `charts` extra is not installed: tables only
        return ""

    rows = _categories(section, chart)
    if not rows:
        return ""
    headers = {c.key: c.header for c in section.columns}
    font = cjk_font()
    rc: dict[str, Any] = {"svg.hashsalt": "lingong", "svg.fonttype": "none"}
    if font:
        rc["font.family"] = [font, "DejaVu Sans"]
    with matplotlib.rc_context(rc):
        fig = Figure(figsize=(9, 4.2) if chart.kind != "scatter" else (7, 6), dpi=96)
        ax = fig.add_subplot()
        ax.set_title(chart.title_zh if font and chart.title_zh else chart.title)
        if chart.kind == "scatter":
            _scatter(ax, rows)
        else:
            labels = [_label(str(r.get(chart.x, "")), f"#{i + 1}") for i, r in enumerate(rows)]
            xs = list(range(len(rows)))
            if chart.kind == "range":
                _ranges(ax, rows, chart, xs)
            else:
                width = 0.8 / len(chart.y)
                for j, key in enumerate(chart.y):
                    vals = [float(r.get(key) or 0) for r in rows]
                    offset = [x - 0.4 + width * (j + 0.5) for x in xs]
                    ax.bar(offset, vals, width=width, label=_label(headers.get(key, key), key))
                if len(chart.y) > 1:
                    ax.legend(fontsize=8)
                for t in thresholds or []:
                    ax.axhline(t, color="#c00", linewidth=0.8, linestyle="--")
            ax.set_xticks(xs)
            ax.set_xticklabels(labels, rotation=45 if len(rows) > 6 else 0, ha="right", fontsize=8)
        fig.tight_layout()
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue()
    return svg[svg.index("<svg") :]


def _ranges(ax: Any, rows: list[dict[str, Any]], chart: Chart, xs: list[int]) -> None:
    p10, p25, p50, p75, p90 = chart.y
    for x, r in zip(xs, rows, strict=True):
        lo, q1, med, q3, hi = (float(r.get(k) or 0) / 100 for k in (p10, p25, p50, p75, p90))
        ax.vlines(x, lo, hi, color="#555", linewidth=1)
        ax.bar(x, q3 - q1, bottom=q1, width=0.5, color="#7aa6d6", edgecolor="#345")
        ax.hlines(med, x - 0.25, x + 0.25, color="#c00", linewidth=2)
    ax.set_ylabel("yuan / day" if not cjk_font() else "元/天")


def _scatter(ax: Any, rows: list[dict[str, Any]]) -> None:
    colors = {"hub": "#c00", "branch": "#e80", "post": "#27a"}
    for kind, color in colors.items():
        pts = [(r["lng"], r["lat"]) for r in rows if r.get("_kind") == kind]
        if pts:
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=24, color=color, label=kind)
    ax.set_xlabel("lng")
    ax.set_ylabel("lat")
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(fontsize=8)


def _table(section: Section) -> str:
    out = ["<table><thead><tr>"]
    out += [f"<th>{html.escape(c.header)}</th>" for c in section.columns]
    out.append("</tr></thead><tbody>")
    for row in section.rows:
        cells = []
        for c in section.columns:
            cls = ' class="n"' if c.kind in NUMERIC else ""
            cells.append(f"<td{cls}>{html.escape(text_cell(c, row.get(c.key)))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def to_html(report: Report) -> str:
    lines = header_lines(report)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{html.escape(lines[0])} {html.escape(report.scope.period.label)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(lines[0])}</h1>",
    ]
    parts += [f'<p class="meta">{html.escape(line)}</p>' for line in lines[1:]]
    thresholds = report.extra.get("thresholds")
    if report.empty:
        parts.append(f'<p class="empty"><strong>{html.escape(report.empty_text)}</strong></p>')
    for section in [] if report.empty else report.sections:
        parts.append(f"<h2>{html.escape(section.title)}（{len(section.rows)} 行）</h2>")
        if section.chart is not None:
            svg = chart_svg(section, section.chart, thresholds)
            if svg:
                parts.append(f'<div class="chart">{svg}</div>')
        parts.append(_table(section))
    if report.notes:
        parts.append('<div class="notes"><p>注：</p><ul>')
        parts += [f"<li>{html.escape(n)}</li>" for n in report.notes]
        parts.append("</ul></div>")
    parts.append("</body></html>\n")
    return "\n".join(parts)
