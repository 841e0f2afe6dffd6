"""Writing a `Report` as CSV, XLSX or JSON (HTML is in `render_html.py`).

Owns: the file formats bureau staff and machines receive.
- CSV: UTF-8 with BOM (Excel opens it with Chinese intact), Chinese headers. A report of
  one section is one plain table; with several, each starts with a `# 标题` row and ends
  with an empty row. The notes (`注：...` rows, the code lists' versions among them)
  follow the tables. An empty period is three lines: title, scope, "本月无数据".
- XLSX (openpyxl): one sheet per section; title, scope and data position above the
  table; bold frozen header; yuan as `#,##0.00`, ratios as `0.0%`; notes below; a native
  Excel bar chart beside each section that has a chart hint (the HTML has it as SVG).
- JSON (UTF-8, no \\u escapes): {report, title, period, scope, position, empty, message,
  code_lists, sections[{key, title, columns, rows}], notes}; fen columns become `*_yuan`
  numbers. The directory's JSON is its GeoJSON
  FeatureCollection (RFC 7946).

Invariants: only the columns a section declares are written (hidden `_` keys never
leak); money is shown in yuan (fen / 100, two decimals); no personal data is added.
Limits: XLSX sheets up to 1,048,575 rows (Excel's limit); longer sections raise.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from adapters.stores.report_model import Chart, Column, Report, Section
from engine.reference import occupations, regions

FORMATS = ("csv", "xlsx", "html", "json", "geojson")
CODE_LISTS = {
    "occupations": {"edition": occupations.EDITION, "version": occupations.CODE_LIST_VERSION},
    "regions": {
        "standard": "GB/T 2260",
        "version": regions.REGION_LIST_VERSION,
        "as_of": regions.REGION_LIST_AS_OF,
    },
}
XLSX_MAX_ROWS = 1_048_575


def cell(col: Column, value: Any) -> Any:
    """The display value of a cell (yuan for fen; ratios stay fractions for XLSX)."""
    if col.kind == "fen":
        return round(int(value or 0) / 100, 2)
    return value


def text_cell(col: Column, value: Any) -> str:
    """The value as text (CSV, HTML)."""
    if col.kind == "fen":
        return f"{int(value or 0) / 100:.2f}"
    if col.kind == "ratio":
        return f"{float(value or 0) * 100:.1f}%"
    if col.kind == "float":
        return f"{float(value or 0):g}"
    return "" if value is None else str(value)


def header_lines(report: Report) -> list[str]:
    return [
        report.title,
        report.scope.describe(),
        f"数据截至事件日志序号 {report.position}（报表由事件日志投影生成，金额单位：元）",
    ]


def to_csv(report: Report) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    if report.empty:  # said plainly, not as a table of zeros
        w.writerow([report.title])
        w.writerow([report.scope.describe()])
        w.writerow([report.empty_text])
        return buf.getvalue()
    several = len(report.sections) > 1
    for section in report.sections:
        if several:
            w.writerow([f"# {section.title}"])
        w.writerow([c.header for c in section.columns])
        for row in section.rows:
            w.writerow([text_cell(c, row.get(c.key)) for c in section.columns])
        if several:
            w.writerow([])
    if report.notes:  # the definitions and the code lists' versions travel with the file
        w.writerow([])
        for note in report.notes:
            w.writerow([f"注：{note}"])
    return buf.getvalue()


def to_json_obj(report: Report) -> dict[str, Any]:
    if report.name == "directory" and "geojson" in report.extra:
        return report.extra["geojson"]

    def key(c: Column) -> str:
        return (
            c.key[: -len("_fen")] + "_yuan" if c.kind == "fen" and c.key.endswith("_fen") else c.key
        )

    sections = []
    for s in report.sections:
        sections.append(
            {
                "key": s.key,
                "title": s.title,
                "columns": [{"key": key(c), "header": c.header, "kind": c.kind} for c in s.columns],
                "rows": [{key(c): cell(c, r.get(c.key)) for c in s.columns} for r in s.rows],
            }
        )
    p = report.scope.period
    return {
        "report": report.name,
        "title": report.title,
        "period": {"from": _iso(p.first_day), "to": _iso(p.last_day), "label": p.label},
        "scope": {
            "region": report.scope.region,
            "station": report.scope.station,
            "level": report.scope.level,
        },  # fmt: skip
        "position": report.position,
        "empty": report.empty,
        "message": report.empty_text if report.empty else "",
        "code_lists": CODE_LISTS,
        "sections": sections,
        "notes": report.notes,
    }


def _iso(day: int) -> str:
    return f"{day // 10000:04d}-{day // 100 % 100:02d}-{day % 100:02d}"


def to_json(report: Report) -> str:
    return json.dumps(to_json_obj(report), ensure_ascii=False, indent=1) + "\n"


def _sheet_title(section: Section, used: set[str]) -> str:
    base = "".join(ch for ch in section.title if ch not in "[]:*?/\\")[:28] or section.key
    title, n = base, 2
    while title in used:
        title, n = f"{base}{n}", n + 1
    used.add(title)
    return title


def to_xlsx(report: Report, path: Path) -> None:
    """A write-only (streaming) workbook. openpyxl writes some 30,000-80,000 cells/s, so
    a 10,000-row roster takes a few seconds; CSV is the fast path for very long rosters."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    used: set[str] = set()
    bold, big = Font(bold=True), Font(bold=True, size=14)
    fill = PatternFill("solid", fgColor="DDEBF7")
    centre = Alignment(horizontal="center", wrap_text=True)
    formats = {"fen": "#,##0.00", "ratio": "0.0%", "float": "0.0###"}
    lines = header_lines(report)
    if report.empty:
        ws = wb.create_sheet(report.empty_text)
        ws.append([WriteOnlyCell(ws, value=report.title)])
        for line in [*lines[1:], report.empty_text]:
            ws.append([line])
        ws.freeze_panes = "A6"
    for section in [] if report.empty else report.sections:
        if len(section.rows) > XLSX_MAX_ROWS - 10:
            raise ValueError(f"section {section.key} has too many rows for one XLSX sheet")
        ws = wb.create_sheet(_sheet_title(section, used))
        for j, col in enumerate(section.columns, 1):  # widths must precede the rows
            sample = [len(text_cell(col, r.get(col.key))) for r in section.rows[:200]]
            width = max([len(col.header) * 2, *sample])
            ws.column_dimensions[get_column_letter(j)].width = min(40, max(8, width + 2))
        header_row = len(lines) + 2
        ws.freeze_panes = f"A{header_row + 1}"

        def styled(value: Any, _ws: Any = ws, **style: Any) -> WriteOnlyCell:
            c = WriteOnlyCell(_ws, value=value)
            for k, v in style.items():
                setattr(c, k, v)
            return c

        ws.append([styled(f"{lines[0]} — {section.title}", font=big)])
        for line in lines[1:]:
            ws.append([line])
        ws.append([])
        ws.append(
            [styled(c.header, font=bold, fill=fill, alignment=centre) for c in section.columns]
        )
        kinds = [(c.key, formats.get(c.kind), c) for c in section.columns]
        for row in section.rows:
            ws.append(
                [
                    styled(cell(c, row.get(key)), number_format=fmt)
                    if fmt
                    else cell(c, row.get(key))
                    for key, fmt, c in kinds
                ]
            )
        if report.notes:
            ws.append([])
            for note in report.notes:
                ws.append([f"注：{note}"])
        if section.chart is not None and section.rows:
            _xlsx_chart(ws, section, section.chart, header_row)
    wb.properties.title = report.title
    wb.properties.creator = "lingong"
    wb.save(path)


def _xlsx_chart(ws: Any, section: Section, chart: Chart, header_row: int) -> None:
    """A native Excel bar chart of the section's plotted columns (no image: Excel draws
    it with the workbook's fonts), anchored to the right of the table. Range charts plot
    the median; scatter charts (the directory map) are left to the HTML page."""
    from openpyxl.chart import BarChart, Reference

    keys = [c.key for c in section.columns]
    ys = [y for y in chart.y if y in keys]
    if chart.kind == "range":
        ys = [y for y in ys if y.startswith("p50")]
    if chart.kind not in ("bar", "range") or chart.x not in keys or not ys:
        return
    n = min(len([r for r in section.rows if r.get(chart.x) not in ("合计", "")]), 40)
    if n == 0:
        return
    bar = BarChart()
    bar.title = chart.title_zh or chart.title
    bar.height, bar.width = 9, 18
    first, last = header_row + 1, header_row + n
    for y in ys:
        col = keys.index(y) + 1
        bar.add_data(
            Reference(ws, min_col=col, min_row=header_row, max_row=last), titles_from_data=True
        )
    xcol = keys.index(chart.x) + 1
    bar.set_categories(Reference(ws, min_col=xcol, min_row=first, max_row=last))
    ws.add_chart(bar, f"{_col_letter(len(keys) + 2)}{header_row}")


def _col_letter(n: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(n)


def write_report(report: Report, fmt: str, out: str | Path) -> Path:
    """Write `report` as `fmt` to `out`; returns the path."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        path.write_text(to_csv(report), encoding="utf-8-sig", newline="")
    elif fmt == "xlsx":
        to_xlsx(report, path)
    elif fmt in ("json", "geojson"):
        if fmt == "geojson" and "geojson" not in report.extra:
            raise ValueError("only the directory report has a GeoJSON form")
        path.write_text(to_json(report), encoding="utf-8")
    elif fmt == "html":
        from adapters.stores.render_html import to_html

        path.write_text(to_html(report), encoding="utf-8")
    else:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    return path
