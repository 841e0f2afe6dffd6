"""Rendering a fairness audit: a text table, a PNG chart and a standalone HTML page.

Owns: `format_fairness` (the table for a terminal), `write_chart` (matplotlib, Agg
backend, no display needed) and `write_html` (one file with the table and the chart
embedded, for an auditor to archive or mail).

Invariants: renders exactly the figures of the `FairnessReport` it is given (no
recomputation); every text put into HTML is escaped.

Limits: the chart shows the two dimensions of the report (age band, priority group).
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from replay.fairness import FairnessReport, GroupRow

_TITLES = {"age_band": "age band", "priority_group": "priority group"}


def _ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def format_fairness(r: FairnessReport) -> str:
    lines = [
        f"fairness audit of {r.log}",
        f"  {r.decision_points} decision points sampled; {r.eligible_workers} workers eligible "
        f"at least once, {r.offered_workers} offered, {r.hired_workers} hired",
        f"  impact ratio = group rate / best group's rate (groups of >= {r.min_group}); "
        f"flagged below {r.threshold:g} (four-fifths rule)",
        "  the policy's older (大龄) and hardship (兜底) weights favour those groups on purpose; "
        "a flag on another group measures what that preference costs it",
    ]
    for dim, rows in r.dimensions.items():
        lines.append("")
        lines.append(
            f"  {_TITLES.get(dim, dim):<15} {'eligible':>8} {'offered':>8} {'hired':>7} "
            f"{'offer rate':>10} {'impact':>6} {'hire rate':>9} {'impact':>6}  flags"
        )
        for g in rows:
            lines.append(
                f"  {g.group:<15} {g.eligible:>8} {g.offered:>8} {g.hired:>7} "
                f"{g.offer_rate:>10.1%} {_ratio(g.offer_impact):>6} {g.hire_rate:>9.1%} "
                f"{_ratio(g.hire_impact):>6}  {'; '.join(g.flags)}"
            )
    lines.append("")
    lines.append(
        f"  aims: prioritised (older or priority group) offer rate / the rest's = "
        f"{_ratio(r.priority_offer_ratio)} (>= 1.00); lowest age-band impact = "
        f"{_ratio(r.min_age_impact)} (>= {r.threshold:.2f}): "
        + ("met" if r.aims_met else "NOT met")
    )
    for region, reason in r.exceptions.items():
        lines.append(f"  exception recorded with the policy of {region}: {reason}")
    if not r.passed:
        lines.append("  FAILED: the policy breaks the fairness aims and records no reason")
    for kind, path in r.files.items():
        lines.append(f"  {kind}: {path}")
    return "\n".join(lines)


def write_chart(r: FairnessReport, path: Path) -> Path:
    """Grouped bars of offer and hire rates per group, with the four-fifths lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dims = list(r.dimensions.items())
    fig, axes = plt.subplots(1, len(dims), figsize=(6 * len(dims), 4.2), squeeze=False)
    for ax, (dim, rows) in zip(axes[0], dims, strict=True):
        _panel(ax, dim, rows, r.threshold, r.min_group)
    fig.suptitle("Offer and hire rates among eligible workers (four-fifths rule)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _panel(ax, dim: str, rows: list[GroupRow], threshold: float, min_group: int) -> None:
    xs = list(range(len(rows)))
    width = 0.38
    offer = [g.offer_rate for g in rows]
    hire = [g.hire_rate for g in rows]
    ax.bar([x - width / 2 for x in xs], offer, width, label="offer rate", color="#4C72B0")
    ax.bar([x + width / 2 for x in xs], hire, width, label="hire rate", color="#55A868")
    big = [g for g in rows if g.eligible >= min_group]
    for values, color, what in ((offer, "#4C72B0", "offer"), (hire, "#55A868", "hire")):
        best = max((v for v, g in zip(values, rows, strict=True) if g in big), default=0.0)
        if best > 0:
            ax.axhline(
                best * threshold,
                color=color,
                linestyle="--",
                linewidth=1,
                label=f"{threshold:g} x best {what} rate",
            )
    for x, g in zip(xs, rows, strict=True):
        ax.annotate(
            f"n={g.eligible}",
            (x, 0),
            textcoords="offset points",
            xytext=(0, -24),
            ha="center",
            fontsize=8,
            annotation_clip=False,
        )
        if g.flags and g.eligible >= min_group:
            ax.annotate(
                "!",
                (x, max(g.offer_rate, g.hire_rate)),
                textcoords="offset points",
                xytext=(0, 4),
                ha="center",
                color="#C44E52",
                fontweight="bold",
            )
    ax.set_xticks(xs, [g.group for g in rows])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("share of eligible workers")
    ax.set_title(_TITLES.get(dim, dim))
    ax.legend(loc="upper right", fontsize=8)


def write_html(r: FairnessReport, path: Path, chart: Path | None) -> Path:
    """One standalone page: summary, one table per dimension, the chart embedded."""
    esc = html.escape
    parts = [
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>",
        "<title>lingong fairness audit</title><style>",
        "body{font-family:sans-serif;margin:2em;max-width:70em}"
        "table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}"
        "td:first-child,th:first-child,td:last-child{text-align:left}"
        "tr.flag td{background:#fde2e2}",
        "</style></head><body>",
        "<h1>Fairness audit (公平性审计)</h1>",
        f"<p>Log <code>{esc(r.log)}</code>: {r.decision_points} decision points sampled; "
        f"{r.eligible_workers} workers eligible at least once, {r.offered_workers} offered, "
        f"{r.hired_workers} hired.</p>",
        f"<p>Impact ratio = a group's rate / the best group's rate among groups of at least "
        f"{r.min_group} eligible workers; ratios below {r.threshold:g} are flagged "
        "(four-fifths rule). Gender, ethnicity and household registration are never "
        "recorded or used.</p>",
    ]
    for dim, rows in r.dimensions.items():
        parts.append(f"<h2>{esc(_TITLES.get(dim, dim))}</h2><table><tr>")
        heads = (
            "group",
            "eligible",
            "offered",
            "hired",
            "offer rate",
            "impact",
            "hire rate",
            "impact",
            "hired / offered",
            "flags",
        )
        parts.append("".join(f"<th>{h}</th>" for h in heads) + "</tr>")
        for g in rows:
            cls = " class='flag'" if g.flags and g.eligible >= r.min_group else ""
            cells = (
                g.group,
                g.eligible,
                g.offered,
                g.hired,
                f"{g.offer_rate:.1%}",
                _ratio(g.offer_impact),
                f"{g.hire_rate:.1%}",
                _ratio(g.hire_impact),
                f"{g.hire_per_offered:.1%}",
                "; ".join(g.flags),
            )
            parts.append(f"<tr{cls}>" + "".join(f"<td>{esc(str(c))}</td>" for c in cells) + "</tr>")
        parts.append("</table>")
    if chart is not None:
        data = base64.b64encode(chart.read_bytes()).decode("ascii")
        parts.append(f"<img alt='offer and hire rates' src='data:image/png;base64,{data}'>")
    parts.append("</body></html>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
