"""Report files (CSV, XLSX, HTML, JSON, GeoJSON) through the CLI, the star rating, and the
personal-data scan of every output."""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from adapters.stores.backend import DuckDBBackend
from adapters.stores.cli import main
from adapters.stores.projector import REPORTING, project
from adapters.stores.render import write_report
from adapters.stores.report_model import Period, Scope
from adapters.stores.report_stars import load_manual, stars
from adapters.stores.reports import REPORTS, build
from engine.idnumbers import find_unmasked_pii
from tests.stores import logfacts as lf

FORMATS = ("csv", "xlsx", "html", "json")


def output_text(path: Path) -> str:
    """Everything a reader of the file could see, as text (XLSX: every XML part)."""
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as z:
            return "\n".join(z.read(n).decode("utf-8") for n in z.namelist())
    return path.read_text(encoding="utf-8-sig")


@pytest.fixture(scope="module")
def world(demo_dir: Path) -> lf.World:
    return lf.world(lf.read_all(demo_dir / "log"))


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_every_report_in_every_format_via_the_cli(name: str, data_dir: Path, tmp_path: Path):
    for fmt in FORMATS:
        out = tmp_path / f"{name}.{fmt}"
        argv = ["report", name, "--data", str(data_dir), "--month", "2026-11", "--format", fmt,
                "--out", str(out)]  # fmt: skip
        assert main(argv) == 0
        text = output_text(out)
        assert find_unmasked_pii(text) == [], (name, fmt)
        if fmt == "json":
            doc = json.loads(text)
            assert (
                doc["type"] == "FeatureCollection" if name == "directory" else doc["report"] == name
            )
        elif fmt == "html":
            assert text.startswith("<!DOCTYPE html>") and "<table>" in text
        elif fmt == "csv":
            rows = list(csv.reader(text.splitlines()))
            assert any(
                "地区代码" in r or "站点编号" in r or "序号" in r or "工种" in r for r in rows
            )
        else:
            wb = load_workbook(out)
            assert wb.sheetnames and all(ws.max_row >= 5 for ws in wb.worksheets)
            assert all(ws.freeze_panes == "A6" for ws in wb.worksheets)
    assert (data_dir / "reporting.duckdb").exists()


def test_roster_files_carry_masked_ids_only(data_dir: Path, tmp_path: Path, world: lf.World):
    out = tmp_path / "roster.xlsx"
    assert (
        main(["report", "roster", "--data", str(data_dir), "--format", "xlsx", "--out", str(out)])
        == 0
    )
    ws = load_workbook(out).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    header_at = next(i for i, r in enumerate(rows) if r and r[0] == "序号")
    header = rows[header_at]
    body = [
        dict(zip(header, r, strict=True))
        for r in rows[header_at + 1 :]
        if r and isinstance(r[0], int)
    ]
    assert len(body) == len(world.hires)
    masked = {w.id_masked for w in world.workers.values()}
    assert {r["身份证号(脱敏)"] for r in body} <= masked
    assert all(isinstance(r["工资标准(元)"], float | int) for r in body)  # yuan as numbers


def test_the_scan_would_catch_a_leak(tmp_path: Path, data_dir: Path):
    """The PII assertion above can fail: a planted plain mobile and ID number are found."""
    store = DuckDBBackend(data_dir / "x.duckdb")
    project(store, REPORTING, data_dir / "log")
    rep = build("roster", store, Scope(period=Period.month("2026-11")))
    store.close()
    rep.sections[0].rows[0]["phone_masked"] = "13812341234"
    rep.sections[0].rows[1]["id_masked"] = "420602198001011234"
    for fmt in FORMATS:
        text = output_text(write_report(rep, fmt, tmp_path / f"leak.{fmt}"))
        assert set(find_unmasked_pii(text)) == {"13812341234", "420602198001011234"}, fmt


def test_geojson_format_and_bad_usage(data_dir: Path, tmp_path: Path, capsys):
    out = tmp_path / "stations.geojson"
    assert (
        main(
            [
                "report",
                "directory",
                "--data",
                str(data_dir),
                "--format",
                "geojson",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert json.loads(out.read_text())["type"] == "FeatureCollection"
    bad = ["report", "wages", "--data", str(data_dir), "--format", "csv", "--out", str(out)]
    assert main([*bad, "--month", "2026-13"]) == 2
    assert main([*bad, "--region", "4x"]) == 2
    assert main([*bad[:4], "--format", "geojson", "--out", str(out)]) == 2
    assert "lingong report:" in capsys.readouterr().err


RULES = {
    "name": "test rules", "max_score": 100, "min_operating_days": 0,
    "classes": {"hub": "market", "branch": "market", "post": "post"},
    "levels": {
        "market": [{"min_score": 90, "stars": 5, "subsidy_yuan": 100000},
                   {"min_score": 80, "stars": 4, "subsidy_yuan": 80000},
                   {"min_score": 70, "stars": 3, "subsidy_yuan": 50000}],
        "post": [{"min_score": 90, "stars": 5, "subsidy_yuan": 30000},
                 {"min_score": 80, "stars": 4, "subsidy_yuan": 20000},
                 {"min_score": 70, "stars": 3, "subsidy_yuan": 10000}],
    },
    "data_items": [
        {"item": "placements", "label": "p", "kind": "linear", "points": 40, "full_at": {"market": 10, "post": 5}},
        {"item": "fill_rate", "label": "f", "kind": "ratio", "points": 20, "full_at": 1.0},
        {"item": "checkins", "label": "c", "kind": "linear", "points": 20, "full_at": {"market": 40, "post": 20}},
        {"item": "complaints_handled", "label": "h", "kind": "ratio", "points": 10, "full_at": 1.0, "if_none": 1.0},
        {"item": "wage_arrears", "label": "w", "kind": "penalty", "points": 10, "per_case": 5},
    ],
    "manual_items": [{"item": "site", "label": "场地", "points": 10}],
}  # fmt: skip


def expected_score(world: lf.World, sid: str, manual: float) -> float:
    cls = "market" if world.stations[sid].kind in ("hub", "branch") else "post"
    placements = sum(1 for h in world.hires.values() if world.jobs[h.job_id].station_id == sid)
    slots = sum(
        world.jobs[j].headcount for j in world.published_ms if world.jobs[j].station_id == sid
    )
    checkins = sum(1 for c in world.checkins if c.station_id == sid)
    mine = [c for c in world.complaint_filed.values()
            if c.hire_id and world.jobs[world.hires[c.hire_id].job_id].station_id == sid]  # fmt: skip
    closed = ("upheld", "dismissed", "resolved", "rejected")  # a case's closing steps too
    handled = sum(1 for c in mine if world.complaints[c.complaint_id] in closed)
    arrears = sum(
        1
        for c in mine
        if c.kind == "wage_arrears"
        and world.complaints[c.complaint_id] not in ("dismissed", "rejected")
    )
    score = 40 * min(1, placements / (10 if cls == "market" else 5))
    score += 20 * min(1.0, placements / slots if slots else 0.0)
    score += 20 * min(1, checkins / (40 if cls == "market" else 20))
    score += 10 * (handled / len(mine) if mine else 1.0)
    score += max(0.0, 10 - 5 * arrears)
    return round(min(100.0, score + manual), 1)


def test_stars_scores_levels_and_subsidies(data_dir: Path, tmp_path: Path, world: lf.World):
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(RULES), encoding="utf-8")
    sids = sorted(world.stations)
    manual = tmp_path / "manual.csv"
    manual.write_text(
        f"station_id,item,points\n{sids[0]},site,25\n{sids[1]},site,4\n", encoding="utf-8"
    )
    assert load_manual(manual) == [(sids[0], "site", 25.0), (sids[1], "site", 4.0)]
    store = DuckDBBackend(data_dir / "s.duckdb")
    project(store, REPORTING, data_dir / "log")
    scope = Scope(period=Period.month("2026-11"))
    rep = stars(store, scope, rules_path=rules, manual_path=manual)
    rows = {r["station_id"]: r for r in rep.sections[0].rows}
    assert set(rows) == set(sids)
    for sid in sids:
        man = {sids[0]: 10.0, sids[1]: 4.0}.get(sid, 0.0)  # capped at the item's 10 points
        r = rows[sid]
        assert r["score"] == expected_score(world, sid, man), sid
        cls = "market" if world.stations[sid].kind in ("hub", "branch") else "post"
        level = next((lv for lv in RULES["levels"][cls] if r["score"] >= lv["min_score"]), None)
        approved = world.station_status[sid] == "approved"
        assert r["subsidy_fen"] == (level["subsidy_yuan"] * 100 if level and approved else 0)
    default = stars(store, scope)  # the Quanzhou rules: half a year of service required
    assert all(r["subsidy_fen"] == 0 and r["note"] for r in default.sections[0].rows)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"station_id": sids[0], "item": "nope", "points": 1}]))
    with pytest.raises(ValueError, match="unknown item"):
        stars(store, scope, rules_path=rules, manual_path=bad)
    bad.write_text(json.dumps([{"station_id": "ST-nowhere", "item": "site", "points": 1}]))
    with pytest.raises(ValueError, match="unknown station"):
        stars(store, scope, rules_path=rules, manual_path=bad)
    store.close()


def test_html_charts_without_a_cjk_font(data_dir: Path, tmp_path: Path, monkeypatch):
    """With no CJK font installed, charts fall back to ASCII labels: matplotlib must not
    meet a glyph it lacks (that would be a warning, and warnings are errors here)."""
    import adapters.stores.render_html as rh

    monkeypatch.setattr(rh, "cjk_font", lambda: "")
    store = DuckDBBackend(data_dir / "h.duckdb")
    project(store, REPORTING, data_dir / "log")
    for name in ("supply-demand", "wages", "directory"):  # legends, ranges, scatter
        rep = build(name, store, Scope(period=Period.month("2026-11")))
        html = write_report(rep, "html", tmp_path / f"{name}.html").read_text(encoding="utf-8")
        charts = html.count("<svg")
        assert charts == sum(1 for s in rep.sections if s.chart is not None and s.rows), name
    store.close()
